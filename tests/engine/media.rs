//! Chats, emails and messages: each pops the customer's record by the address its media carries (the
//! email's sender, the SMS number, the chat form's details), through the same cache, and its wrap-up
//! reaches Salesforce once with the media recorded. A video is listed as not handled, never popped.

use crate::common::*;
use crate::segments::{agent, finish, place_flow, pops_of, segment_ids, single_caller, tasks};
use companion::events::EngineEvent;
use companion::genesys::model::Media;
use companion::screenpop::PopOutcome;
use serde_json::json;

#[tokio::test]
async fn a_chat_an_email_and_an_sms_each_pop_the_right_record_and_deliver_their_wrapup() {
    let sim = sim().await;
    let (a, _da) = agent(&sim, "alex.morgan@example.com", &[]).await;
    let contact = sim.population().contacts.iter().find(|c| c.account_id.is_some()).unwrap().clone();
    let (sms_number, sms_record) = single_caller(&sim, 3);
    let cases = [
        ("email", contact.email.to_uppercase(), contact.id.clone(), Media::Email, "email"),
        ("chat", contact.email.clone(), contact.id.clone(), Media::Chat, "chat"),
        ("sms", sms_number.clone(), sms_record.clone(), Media::Message, "sms"),
    ];
    for (channel, address, record, media, label) in cases {
        let placed = place_flow(&sim, "plain", &address, json!({"channel": channel})).await;
        let cid = placed["conversation_id"].as_str().unwrap().to_string();
        let id = segment_ids(&placed, &a.user).remove(0);
        eventually("the pop", 10, async || pops_of(&a, &id).len() == 1).await;
        let pop = &pops_of(&a, &id)[0];
        assert!(
            matches!(&pop.outcome, PopOutcome::Single { candidate } if candidate.id == record),
            "{channel} pops the customer's record: {pop:?}"
        );
        let seen_media = a.events.events().into_iter().find_map(|e| match e {
            EngineEvent::Call { interaction_id, media, .. } if interaction_id == id => Some(media),
            _ => None,
        });
        assert_eq!(seen_media, Some(media), "{channel} is tracked as a {media:?}, not as a call");
        finish(&sim, &cid).await;
        a.engine.flush_outbox();
        eventually("the disposition", 20, async || crm(&sim).await.get(&id).is_some_and(|r| r.len() == 1)).await;
        let rec = &crm(&sim).await[&id][0];
        assert_eq!(rec["Media__c"], label, "the media is recorded");
        assert_eq!(rec["Contact__c"], record.as_str(), "linked to the popped record");
    }
    // The same email address again is answered from the cache: no second search.
    let searches = count(&sim, SEARCH);
    let placed = place_flow(&sim, "plain", &contact.email, json!({"channel": "email"})).await;
    let id = segment_ids(&placed, &a.user).remove(0);
    eventually("the second pop", 10, async || pops_of(&a, &id).len() == 1).await;
    assert_eq!(count(&sim, SEARCH), searches, "the email's answer came from the cache");
    assert!(tasks(&sim).await.is_empty() || tasks(&sim).await.values().all(|t| t.len() == 1));
    a.engine.stop().await;
}

#[tokio::test]
async fn a_web_message_without_a_form_address_asks_for_a_search_and_an_outbound_chat_is_refused_by_the_simulator() {
    let sim = sim().await;
    let (a, _da) = agent(&sim, "alex.morgan@example.com", &[]).await;
    // Web messaging carries an opaque id: with no address in the flow's data there is nothing to look up.
    let placed = place_flow(&sim, "plain", "", json!({"channel": "web_messaging"})).await;
    let id = segment_ids(&placed, &a.user).remove(0);
    eventually("the pop", 10, async || pops_of(&a, &id).len() == 1).await;
    assert!(matches!(pops_of(&a, &id)[0].outcome, PopOutcome::NoNumber { .. }), "{:?}", pops_of(&a, &id));
    let r = reqwest::Client::new()
        .post(format!("{}/_sim/calls", sim.urls().control))
        .json(&json!({"ani": "a@b.com", "flow": "outbound", "channel": "email"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    a.engine.stop().await;
}
