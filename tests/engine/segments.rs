//! Every segment of a real call, against the simulator: blind and consult transfers, a conference,
//! a transfer back, a second call while the first is on hold, outbound calls and callbacks. Each of
//! an agent's segments pops once and its wrap-up reaches Salesforce once, next to the other agent's,
//! never over it; the caller's identification follows the call to the next agent.

use crate::common::*;
use cloud_sim::data::CallerKind;
use companion::events::EngineEvent;
use companion::genesys::segment::interaction_id;
use companion::genesys::tracker::SegmentKind;
use companion::screenpop::PopOutcome;
use serde_json::{Value, json};
use std::collections::HashMap;

pub(crate) const FAST: [&str; 3] = [
    "outbox.batch_window_secs=0",
    "task.enabled=true",
    // The simulated org's wrap-up codes onto its Disposition_Code__c picklist, as the demo maps them.
    r#"disposition.code_map={ "Sale" = "Completed", "Callback Requested" = "Pending Transfer", "Billing Question" = "Completed", "Technical Support" = "Completed", "Complaint" = "Completed", "Wrong Number" = "Failed" }"#,
];

/// An engine signed in as the seeded agent with this e-mail.
pub(crate) async fn agent(sim: &cloud_sim::SimHandle, email: &str, extra: &[&str]) -> (Running, tempfile::TempDir) {
    let mut flags: Vec<&str> = FAST.to_vec();
    flags.extend_from_slice(extra);
    let cfg = config_for(sim, &flags);
    let (dir, store) = temp_store();
    let users: Value =
        reqwest::get(format!("{}/_sim/genesys/users", sim.urls().control)).await.unwrap().json().await.unwrap();
    let user = users["users"].as_array().unwrap().iter().find(|u| u["email"] == email).unwrap().clone();
    let (id, name) = (user["id"].as_str().unwrap().to_string(), user["name"].as_str().unwrap().to_string());
    let run = start_engine_as(cfg, store, &id, &name, sim).await;
    (run, dir)
}

pub(crate) async fn place_flow(sim: &cloud_sim::SimHandle, flow: &str, ani: &str, extra: Value) -> Value {
    let mut spec = json!({"ani": ani, "manual": true, "flow": flow, "timed_out_agent": false,
                          "user": "alex.morgan@example.com", "second_user": "priya.natarajan@example.com"});
    if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        s.extend(e.clone());
    }
    control(sim, "/_sim/calls", spec).await
}

/// Steps the call once; false when it is over.
async fn advance(sim: &cloud_sim::SimHandle, cid: &str) -> bool {
    reqwest::Client::new()
        .post(format!("{}/_sim/calls/{cid}/advance", sim.urls().control))
        .send()
        .await
        .unwrap()
        .status()
        .is_success()
}

/// Steps the call to its end.
pub(crate) async fn finish(sim: &cloud_sim::SimHandle, cid: &str) {
    for _ in 0..40 {
        if !advance(sim, cid).await {
            return;
        }
    }
    panic!("the call did not end");
}

pub(crate) fn segment_ids(placed: &Value, user_email_id: &str) -> Vec<String> {
    let cid = placed["conversation_id"].as_str().unwrap();
    placed["legs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["user_id"] == user_email_id)
        .map(|l| interaction_id(cid, l["participant_id"].as_str().unwrap()))
        .collect()
}

pub(crate) fn pops_of(run: &Running, id: &str) -> Vec<companion::screenpop::PopDecision> {
    pops(&run.events).into_iter().filter(|p| p.interaction_id == id).collect()
}

fn kind_of(run: &Running, id: &str) -> Option<SegmentKind> {
    run.events.events().into_iter().find_map(|e| match e {
        EngineEvent::Call { interaction_id, kind, .. } if interaction_id == id => Some(kind),
        _ => None,
    })
}

pub(crate) async fn tasks(sim: &cloud_sim::SimHandle) -> HashMap<String, Vec<Value>> {
    let v: Value =
        reqwest::get(format!("{}/_sim/salesforce/Task", sim.urls().control)).await.unwrap().json().await.unwrap();
    let mut out: HashMap<String, Vec<Value>> = HashMap::new();
    for r in v["records"].as_array().unwrap() {
        if let Some(k) = r["Genesys_Conversation_Id__c"].as_str() {
            out.entry(k.to_string()).or_default().push(r.clone());
        }
    }
    out
}

pub(crate) fn single_caller(sim: &cloud_sim::SimHandle, skip: usize) -> (String, String) {
    let c = sim.population().callers_of(CallerKind::Single).nth(skip).unwrap();
    (c.ani.clone(), c.expected[0].clone())
}

/// Both agents' wrap-ups of one conversation are in Salesforce, each once, side by side.
async fn both_delivered(sim: &cloud_sim::SimHandle, a: &Running, b: &Running, ids: [&str; 2], cid: &str) {
    for run in [a, b] {
        run.engine.flush_outbox();
    }
    let arrived = cloud_sim::wait::try_eventually(20, async || {
        let crm = crm(sim).await;
        ids.iter().all(|id| crm.get(*id).is_some_and(|r| r.len() == 1))
    })
    .await;
    assert!(
        arrived,
        "both agents' dispositions in Salesforce; outboxes: {:?} / {:?}; events: {:?}",
        a.engine.outbox().list(None, 10).unwrap(),
        b.engine.outbox().list(None, 10).unwrap(),
        b.events.events()
    );
    let crm = crm(sim).await;
    for id in ids {
        assert_eq!(crm[id].len(), 1, "{id} exactly once");
        assert_eq!(crm[id][0]["Conversation_ID__c"], cid, "a report can group the segments by conversation");
    }
    let tasks = tasks(sim).await;
    for id in ids {
        assert_eq!(tasks.get(id).map(Vec::len), Some(1), "each agent's Task stays: {id}");
        assert_eq!(tasks[id][0]["CallObject"], cid);
    }
}

#[tokio::test]
async fn a_blind_transfer_pops_once_for_each_agent_carries_the_pick_and_keeps_both_wrapups() {
    let sim = sim().await;
    let (a, _da) = agent(&sim, "alex.morgan@example.com", &[]).await;
    let (b, _db) = agent(&sim, "priya.natarajan@example.com", &[]).await;
    let (ani, record) = single_caller(&sim, 0);
    let placed = place_flow(&sim, "blind_transfer", &ani, json!({})).await;
    let cid = placed["conversation_id"].as_str().unwrap().to_string();
    let a_id = segment_ids(&placed, &a.user).remove(0);
    let b_id = segment_ids(&placed, &b.user).remove(0);
    eventually("A's pop", 10, async || pops_of(&a, &a_id).len() == 1).await;
    assert!(matches!(&pops_of(&a, &a_id)[0].outcome, PopOutcome::Single { candidate } if candidate.id == record));
    // A's companion notes the caller on the conversation before the caller moves on.
    eventually("the identification on the conversation", 10, async || {
        let v: Value =
            reqwest::get(format!("{}/_sim/calls/{cid}", sim.urls().control)).await.unwrap().json().await.unwrap();
        v["conversation"]["participants"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["purpose"] == "customer" && p["attributes"]["companion_record_id"] == record.as_str())
    })
    .await;
    finish(&sim, &cid).await;
    eventually("B's pop", 10, async || pops_of(&b, &b_id).len() == 1).await;
    let b_pop = &pops_of(&b, &b_id)[0];
    match &b_pop.outcome {
        PopOutcome::Attribute { record_id, identified_by: Some(by), .. } => {
            assert_eq!(record_id, &record);
            assert_eq!(by, "Alex Morgan", "the card says who identified the caller");
        }
        other => panic!("B should pop A's identification at once, got {other:?}"),
    }
    assert_eq!(kind_of(&b, &b_id), Some(SegmentKind::Transfer));
    assert_eq!(kind_of(&a, &a_id), Some(SegmentKind::Inbound));
    both_delivered(&sim, &a, &b, [&a_id, &b_id], &cid).await;
    let crm = crm(&sim).await;
    assert_eq!(crm[&b_id][0]["Contact__c"], record.as_str(), "B's disposition is linked to the carried record");
    assert_eq!(pops_of(&a, &a_id).len(), 1);
    assert_eq!(pops_of(&b, &b_id).len(), 1);
    assert!(pops(&a.events).iter().all(|p| p.interaction_id == a_id), "A never pops B's segment");
    assert_eq!(count(&sim, SEARCH), 1, "B did not search: the pick followed the call");
    a.engine.stop().await;
    b.engine.stop().await;
}

#[tokio::test]
async fn a_consult_and_a_conference_each_keep_both_agents_wrapups() {
    let sim = sim().await;
    let (a, _da) = agent(&sim, "alex.morgan@example.com", &[]).await;
    let (b, _db) = agent(&sim, "priya.natarajan@example.com", &[]).await;
    for (i, flow) in ["consult_transfer", "conference"].into_iter().enumerate() {
        let (ani, _) = single_caller(&sim, i + 1);
        let placed = place_flow(&sim, flow, &ani, json!({})).await;
        let cid = placed["conversation_id"].as_str().unwrap().to_string();
        let a_id = segment_ids(&placed, &a.user).remove(0);
        let b_id = segment_ids(&placed, &b.user).remove(0);
        finish(&sim, &cid).await;
        both_delivered(&sim, &a, &b, [&a_id, &b_id], &cid).await;
        assert_eq!(kind_of(&b, &b_id), Some(SegmentKind::Consult), "{flow}");
        assert_eq!((pops_of(&a, &a_id).len(), pops_of(&b, &b_id).len()), (1, 1), "{flow}");
    }
    a.engine.stop().await;
    b.engine.stop().await;
}

#[tokio::test]
async fn a_transfer_back_is_a_second_segment_that_pops_and_is_wrapped_up_on_its_own() {
    let sim = sim().await;
    let (a, _da) = agent(&sim, "alex.morgan@example.com", &[]).await;
    let (ani, record) = single_caller(&sim, 3);
    let placed = place_flow(&sim, "transfer_back", &ani, json!({})).await;
    let cid = placed["conversation_id"].as_str().unwrap().to_string();
    let mine = segment_ids(&placed, &a.user);
    assert_eq!(mine.len(), 2, "two participants of the same agent");
    finish(&sim, &cid).await;
    a.engine.flush_outbox();
    eventually("both of A's segments in Salesforce", 20, async || {
        let crm = crm(&sim).await;
        mine.iter().all(|id| crm.get(id).is_some_and(|r| r.len() == 1))
    })
    .await;
    assert_eq!(pops_of(&a, &mine[0]).len(), 1);
    assert_eq!(pops_of(&a, &mine[1]).len(), 1, "the transfer back pops again");
    assert_eq!(kind_of(&a, &mine[1]), Some(SegmentKind::TransferBack));
    assert!(
        matches!(&pops_of(&a, &mine[1])[0].outcome, PopOutcome::Attribute { record_id, identified_by: Some(_), known: Some(c), .. }
            if *record_id == record && c.id == record),
        "the caller is already known, by name from this desktop's cache: {:?}",
        pops_of(&a, &mine[1])
    );
    a.engine.stop().await;
}

#[tokio::test]
async fn a_second_call_while_the_first_is_on_hold_pops_and_both_wrapups_arrive() {
    let sim = sim().await;
    let (a, _da) = agent(&sim, "alex.morgan@example.com", &[]).await;
    let (first_ani, _) = single_caller(&sim, 4);
    let (second_ani, _) = single_caller(&sim, 5);
    let first = place_flow(&sim, "plain", &first_ani, json!({})).await;
    let c1 = first["conversation_id"].as_str().unwrap().to_string();
    advance(&sim, &c1).await; // connected
    control(&sim, &format!("/_sim/calls/{c1}/hold"), json!({"held": true})).await;
    let second = place_flow(&sim, "plain", &second_ani, json!({})).await;
    let c2 = second["conversation_id"].as_str().unwrap().to_string();
    let (id1, id2) = (segment_ids(&first, &a.user).remove(0), segment_ids(&second, &a.user).remove(0));
    eventually("both pops", 10, async || pops_of(&a, &id1).len() == 1 && pops_of(&a, &id2).len() == 1).await;
    finish(&sim, &c2).await;
    control(&sim, &format!("/_sim/calls/{c1}/hold"), json!({"held": false})).await;
    finish(&sim, &c1).await;
    a.engine.flush_outbox();
    eventually("both wrap-ups in Salesforce", 20, async || {
        let crm = crm(&sim).await;
        [&id1, &id2].iter().all(|id| crm.get(*id).is_some_and(|r| r.len() == 1))
    })
    .await;
    assert_eq!((pops_of(&a, &id1).len(), pops_of(&a, &id2).len()), (1, 1));
    a.engine.stop().await;
}

#[tokio::test]
async fn outbound_calls_and_callbacks_pop_the_dialled_party_and_are_logged_as_outbound() {
    let sim = sim().await;
    let (a, _da) = agent(&sim, "alex.morgan@example.com", &[]).await;
    for (i, (flow, kind)) in
        [("outbound", SegmentKind::Outbound), ("callback", SegmentKind::Callback)].into_iter().enumerate()
    {
        let (ani, record) = single_caller(&sim, 6 + i);
        let placed = place_flow(&sim, flow, &ani, json!({})).await;
        let cid = placed["conversation_id"].as_str().unwrap().to_string();
        let id = segment_ids(&placed, &a.user).remove(0);
        eventually("the pop", 10, async || pops_of(&a, &id).len() == 1).await;
        assert!(
            matches!(&pops_of(&a, &id)[0].outcome, PopOutcome::Single { candidate } if candidate.id == record),
            "{flow} pops the customer's record: {:?}",
            pops_of(&a, &id)
        );
        assert_eq!(kind_of(&a, &id), Some(kind));
        finish(&sim, &cid).await;
        a.engine.flush_outbox();
        eventually("the Task", 20, async || tasks(&sim).await.get(&id).is_some_and(|t| t.len() == 1)).await;
        assert_eq!(tasks(&sim).await[&id][0]["CallType"], "Outbound", "{flow}");
        assert_eq!(crm(&sim).await[&id].len(), 1);
    }
    a.engine.stop().await;
}

#[tokio::test]
async fn a_refused_attribute_write_is_told_once_and_the_next_agent_searches() {
    let sim = sim().await;
    settings(&sim, json!({"genesys_attribute_writes_refused": true})).await;
    let (a, _da) = agent(&sim, "alex.morgan@example.com", &[]).await;
    let (b, _db) = agent(&sim, "priya.natarajan@example.com", &[]).await;
    let (ani, record) = single_caller(&sim, 8);
    let placed = place_flow(&sim, "blind_transfer", &ani, json!({})).await;
    let cid = placed["conversation_id"].as_str().unwrap().to_string();
    let b_id = segment_ids(&placed, &b.user).remove(0);
    let refused = || {
        a.events
            .events()
            .into_iter()
            .filter(|e| {
                matches!(e, EngineEvent::Problem { code: companion::error::ErrorCode::IdentificationNotShared, .. })
            })
            .count()
    };
    eventually("the notice", 10, async || refused() == 1).await;
    finish(&sim, &cid).await;
    eventually("B's pop", 10, async || pops_of(&b, &b_id).len() == 1).await;
    assert!(
        matches!(&pops_of(&b, &b_id)[0].outcome, PopOutcome::Single { candidate } if candidate.id == record),
        "B finds the caller by number"
    );
    assert_eq!(refused(), 1, "told once, not on every call");
    a.engine.stop().await;
    b.engine.stop().await;
}

#[tokio::test]
async fn a_transfer_back_remembers_the_caller_on_this_desktop_when_genesys_keeps_nothing() {
    let sim = sim().await;
    settings(&sim, json!({"genesys_attribute_writes_refused": true})).await;
    let (a, _da) = agent(&sim, "alex.morgan@example.com", &[]).await;
    let (ani, record) = single_caller(&sim, 10);
    let placed = place_flow(&sim, "transfer_back", &ani, json!({})).await;
    let cid = placed["conversation_id"].as_str().unwrap().to_string();
    let mine = segment_ids(&placed, &a.user);
    finish(&sim, &cid).await;
    eventually("the second pop", 10, async || pops_of(&a, &mine[1]).len() == 1).await;
    assert!(
        matches!(&pops_of(&a, &mine[1])[0].outcome, PopOutcome::Attribute { record_id, identified_by: Some(_), .. } if *record_id == record),
        "{:?}",
        pops_of(&a, &mine[1])
    );
    assert_eq!(count(&sim, SEARCH), 1, "no second search for a caller this desktop already identified");
    a.engine.stop().await;
}

#[tokio::test]
async fn the_one_record_per_conversation_mode_writes_the_conversations_record() {
    let sim = sim().await;
    let mode = ["disposition.record_per=conversation"];
    let (a, _da) = agent(&sim, "alex.morgan@example.com", &mode).await;
    let (b, _db) = agent(&sim, "priya.natarajan@example.com", &mode).await;
    let (ani, _) = single_caller(&sim, 9);
    let placed = place_flow(&sim, "blind_transfer", &ani, json!({})).await;
    let cid = placed["conversation_id"].as_str().unwrap().to_string();
    finish(&sim, &cid).await;
    for run in [&a, &b] {
        run.engine.flush_outbox();
    }
    eventually("both agents' deliveries", 20, async || {
        [&a, &b]
            .iter()
            .all(|r| r.engine.outbox().depth().unwrap().get(&companion::outbox::RowState::Delivered) == Some(&1))
    })
    .await;
    let crm = crm(&sim).await;
    assert_eq!(crm.get(&cid).map(Vec::len), Some(1), "one record for the conversation, as the seed design wrote");
    a.engine.stop().await;
    b.engine.stop().await;
}

fn agent_disposition(id: &str, cid: &str, code: &str, notes: &str) -> companion::outbox::Disposition {
    companion::outbox::Disposition {
        interaction_id: id.into(),
        conversation_id: cid.into(),
        kind: SegmentKind::Inbound,
        code: code.into(),
        reason: notes.into(),
        timestamp: "2026-12-02T10:00:00.000Z".into(),
        duration_secs: None,
        contact_id: None,
        account_id: None,
        agent_extension: None,
        source: companion::outbox::DispositionSource::Agent,
        media: companion::genesys::model::Media::Call,
        channel: None,
        recovered: false,
    }
}

async fn genesys_wrapup_of(sim: &cloud_sim::SimHandle, cid: &str, pid: &str) -> Value {
    let v: Value =
        reqwest::get(format!("{}/_sim/calls/{cid}", sim.urls().control)).await.unwrap().json().await.unwrap();
    v["conversation"]["participants"].as_array().unwrap().iter().find(|p| p["id"] == pid).unwrap()["wrapup"].clone()
}

#[tokio::test]
async fn a_wrapup_set_in_the_companion_is_applied_in_genesys_once_and_not_queued_again() {
    let sim = sim().await;
    let (a, _da) = agent(&sim, "alex.morgan@example.com", &[]).await;
    let (ani, _) = single_caller(&sim, 11);
    let placed = place_flow(&sim, "plain", &ani, json!({"skip_wrapup": true})).await;
    let cid = placed["conversation_id"].as_str().unwrap().to_string();
    let pid = placed["agent_participant_id"].as_str().unwrap().to_string();
    let id = interaction_id(&cid, &pid);
    // The form offers the queue's codes, not the org's.
    eventually("the queue's codes", 10, async || {
        a.events.events().iter().any(|e| matches!(e, EngineEvent::WrapupCodes { interaction_id, codes }
            if *interaction_id == id && codes.iter().any(|c| c == "Technical Support") && !codes.iter().any(|c| c == "Sale")))
    })
    .await;
    advance(&sim, &cid).await; // connected
    // Set during the call: Genesys takes it once after-call work begins.
    a.engine.set_disposition(agent_disposition(&id, &cid, "Technical Support", "Reset the router")).unwrap();
    advance(&sim, &cid).await; // the caller hangs up: after-call work
    eventually("the wrap-up in Genesys", 10, async || genesys_wrapup_of(&sim, &cid, &pid).await.is_object()).await;
    let w = genesys_wrapup_of(&sim, &cid, &pid).await;
    assert_eq!(w["notes"], "Reset the router");
    a.engine.flush_outbox();
    eventually("the disposition in Salesforce", 10, async || crm(&sim).await.get(&id).is_some_and(|r| r.len() == 1))
        .await;
    // Genesys shows it back: the same answer is not queued again.
    eventually("the wrap-up seen back", 10, async || {
        a.events.events().iter().any(|e| matches!(e, EngineEvent::Call { interaction_id, transition: companion::genesys::tracker::Transition::WrapupSubmitted, .. } if *interaction_id == id))
    })
    .await;
    let row = a.engine.outbox().get(&id).unwrap().unwrap();
    assert_eq!((row.version, row.disposition.source), (1, companion::outbox::DispositionSource::Agent));
    assert_eq!(crm(&sim).await[&id][0]["Disposition_Reason__c"], "Reset the router");
    a.engine.stop().await;
}

#[tokio::test]
async fn without_the_wrapup_permission_the_agent_is_told_once_and_genesys_entry_wins() {
    let sim = sim().await;
    settings(&sim, json!({"genesys_denied_permissions": ["conversation:participant:wrapup"]})).await;
    let (a, _da) = agent(&sim, "alex.morgan@example.com", &[]).await;
    let (ani, _) = single_caller(&sim, 12);
    let placed = place_flow(&sim, "plain", &ani, json!({"skip_wrapup": true})).await;
    let cid = placed["conversation_id"].as_str().unwrap().to_string();
    let pid = placed["agent_participant_id"].as_str().unwrap().to_string();
    let id = interaction_id(&cid, &pid);
    advance(&sim, &cid).await;
    advance(&sim, &cid).await; // after-call work
    a.engine.set_disposition(agent_disposition(&id, &cid, "Completed", "from the companion")).unwrap();
    let told = || {
        a.events
            .events()
            .iter()
            .filter(|e| matches!(e, EngineEvent::Problem { code: companion::error::ErrorCode::WrapupNotApplied, .. }))
            .count()
    };
    eventually("the notice", 10, async || told() == 1).await;
    // The agent enters another wrap-up in Genesys: the later answer is the one Salesforce keeps.
    advance(&sim, &cid).await;
    eventually("Genesys's wrap-up queued", 10, async || {
        a.engine
            .outbox()
            .get(&id)
            .unwrap()
            .is_some_and(|r| r.disposition.source == companion::outbox::DispositionSource::Genesys)
    })
    .await;
    a.engine.flush_outbox();
    eventually("in Salesforce", 10, async || {
        crm(&sim).await.get(&id).is_some_and(|r| r.len() == 1 && r[0]["Disposition_Reason__c"] != "from the companion")
    })
    .await;
    assert_eq!(told(), 1);
    a.engine.stop().await;
}

#[tokio::test]
async fn doctor_says_whether_the_agents_role_may_apply_wrapups() {
    let sim = sim().await;
    let cfg = config_for(&sim, &[]);
    let signed = sign_in(&cfg).await;
    let check = companion::doctor::genesys_permission_check(&cfg, &signed.genesys).await.unwrap();
    assert!(check.is_ok(), "{check:?}");
    settings(&sim, json!({"genesys_denied_permissions": ["conversation:participant:wrapup"]})).await;
    let check = companion::doctor::genesys_permission_check(&cfg, &signed.genesys).await.unwrap();
    assert!(!check.is_ok());
    assert!(check.fix.as_deref().unwrap().contains("genesys.apply_wrapups"), "{check:?}");
    let off = config_for(&sim, &["genesys.apply_wrapups=false"]);
    assert!(
        companion::doctor::genesys_permission_check(&off, &signed.genesys).await.is_none(),
        "turned off: nothing to check"
    );
}
