//! Interactions handled while the app was closed: read back from Genesys at start, queued once
//! (marked recovered, never popped), resumed after a failed read without skipping, and reported as
//! partial when the role may read calls only — with nothing marked done that was not queued.

use crate::common::*;
use crate::segments::{FAST, agent, finish, place_flow, pops_of, segment_ids, single_caller};
use companion::events::EngineEvent;
use companion::store::{ReadBackOutcome, ReadBackRows};
use serde_json::{Value, json};

/// Places and finishes interactions while no companion runs; returns (conversation, segment) ids.
async fn handled_while_closed(
    sim: &cloud_sim::SimHandle,
    user: &str,
    specs: &[(&str, String)],
) -> Vec<(String, String)> {
    let mut out = vec![];
    for (channel, address) in specs {
        let placed = place_flow(sim, "plain", address, json!({"channel": channel})).await;
        let cid = placed["conversation_id"].as_str().unwrap().to_string();
        finish(sim, &cid).await;
        out.push((cid, segment_ids(&placed, user).remove(0)));
    }
    out
}

fn readback(run: &Running) -> Option<companion::store::ReadBackStatus> {
    ReadBackRows::on(&run.engine.store().background()).status().unwrap()
}

fn settled(run: &Running, cid: &str) -> bool {
    ReadBackRows::on(&run.engine.store().background()).settled(cid).unwrap()
}

async fn alex(sim: &cloud_sim::SimHandle) -> String {
    let users: Value =
        reqwest::get(format!("{}/_sim/genesys/users", sim.urls().control)).await.unwrap().json().await.unwrap();
    let u = users["users"].as_array().unwrap().iter().find(|u| u["email"] == "alex.morgan@example.com").unwrap();
    u["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn an_app_closed_for_a_stretch_of_calls_recovers_all_of_them_at_start_once() {
    let sim = sim().await;
    settings(&sim, json!({"analytics_latency_ms": 0})).await;
    let me = alex(&sim).await;
    let contact = sim.population().contacts[5].clone();
    let specs = [
        ("voice", single_caller(&sim, 1).0),
        ("email", contact.email.clone()),
        ("sms", single_caller(&sim, 2).0),
        ("voice", single_caller(&sim, 4).0),
    ];
    let closed = handled_while_closed(&sim, &me, &specs).await;
    let (a, dir) = agent(&sim, "alex.morgan@example.com", &[]).await;
    a.engine.flush_outbox();
    let all_in = cloud_sim::wait::try_eventually(20, async || {
        let crm = crm(&sim).await;
        closed.iter().all(|(_, id)| crm.get(id).is_some_and(|r| r.len() == 1))
    })
    .await;
    assert!(all_in, "every wrap-up of the closed stretch is in Salesforce; events: {:?}", a.events.events());
    for (_, id) in &closed {
        assert!(pops_of(&a, id).is_empty(), "a recovered interaction is not popped");
        assert!(a.engine.outbox().get(id).unwrap().unwrap().disposition.recovered, "marked recovered");
    }
    eventually("the check's status", 10, async || {
        readback(&a).is_some_and(|s| s.outcome == ReadBackOutcome::Complete && s.recovered == 4)
    })
    .await;
    assert!(closed.iter().all(|(cid, _)| settled(&a, cid)));
    let recovered_events =
        a.events.events().into_iter().filter(|e| matches!(e, EngineEvent::DispositionRecovered { .. })).count();
    assert_eq!(recovered_events, 4);
    let store = a.engine.store().clone();
    a.engine.stop().await;
    // A second start reads nothing again and queues nothing twice.
    let reads_before = count(&sim, "genesys_api GET /api/v2/conversations/{id}");
    let b = run_again(&sim, store).await;
    eventually("the second check", 10, async || {
        readback(&b).is_some_and(|s| s.outcome == ReadBackOutcome::Complete && s.finished_ms.is_some())
    })
    .await;
    assert_eq!(count(&sim, "genesys_api GET /api/v2/conversations/{id}"), reads_before, "settled: not read again");
    let crm = crm(&sim).await;
    assert!(closed.iter().all(|(_, id)| crm[id].len() == 1), "still exactly once");
    b.engine.stop().await;
    drop(dir);
}

/// The engine again, on the same store, as the same agent.
async fn run_again(sim: &cloud_sim::SimHandle, store: std::sync::Arc<companion::store::Store>) -> Running {
    let me = alex(sim).await;
    let cfg = config_for(sim, &FAST);
    start_engine_as(cfg, store, &me, "Alex Morgan", sim).await
}

#[tokio::test]
async fn a_read_back_that_fails_half_way_resumes_without_skipping() {
    let sim = sim().await;
    settings(&sim, json!({"analytics_latency_ms": 0})).await;
    let me = alex(&sim).await;
    let specs: Vec<(&str, String)> = (0..3).map(|i| ("voice", single_caller(&sim, 10 + i).0)).collect();
    let closed = handled_while_closed(&sim, &me, &specs).await;
    // The second conversation's read fails three times: the check stops there and resumes there.
    control(
        &sim,
        "/_sim/faults",
        json!({"kind": "server_error", "service": "genesys_api", "method": "GET",
               "path_contains": format!("/api/v2/conversations/{}", closed[1].0), "count": 3}),
    )
    .await;
    let (a, _dir) = agent(&sim, "alex.morgan@example.com", &[]).await;
    eventually("a failed check is recorded", 10, async || {
        readback(&a).is_some_and(|s| s.outcome == ReadBackOutcome::Failed)
    })
    .await;
    assert!(!settled(&a, &closed[1].0), "the conversation that could not be read is not marked done");
    a.engine.flush_outbox();
    let all_in = cloud_sim::wait::try_eventually(40, async || {
        let crm = crm(&sim).await;
        closed.iter().all(|(_, id)| crm.get(id).is_some_and(|r| r.len() == 1))
    })
    .await;
    assert!(all_in, "nothing skipped: {:?}", readback(&a));
    eventually("complete", 10, async || readback(&a).is_some_and(|s| s.outcome == ReadBackOutcome::Complete)).await;
    a.engine.stop().await;
}

#[tokio::test]
async fn without_the_analytics_permission_calls_are_recovered_the_rest_is_reported_and_not_marked_done() {
    let sim = sim().await;
    settings(
        &sim,
        json!({"analytics_latency_ms": 0, "genesys_denied_permissions":
            ["analytics:conversationDetail:view", "analytics:agentConversationDetail:view"]}),
    )
    .await;
    let me = alex(&sim).await;
    let contact = sim.population().contacts[7].clone();
    let specs = [("voice", single_caller(&sim, 20).0), ("email", contact.email.clone())];
    let closed = handled_while_closed(&sim, &me, &specs).await;
    let (a, _dir) = agent(&sim, "alex.morgan@example.com", &[]).await;
    a.engine.flush_outbox();
    eventually("the call is recovered", 20, async || crm(&sim).await.get(&closed[0].1).is_some_and(|r| r.len() == 1))
        .await;
    eventually("the check says it could see calls only", 10, async || {
        readback(&a).is_some_and(|s| s.outcome == ReadBackOutcome::Partial)
    })
    .await;
    let status = readback(&a).unwrap();
    assert!(status.detail.as_deref().unwrap_or("").contains("analytics:conversationDetail:view"), "{status:?}");
    let told = a
        .events
        .events()
        .into_iter()
        .any(|e| matches!(e, EngineEvent::Problem { code: companion::error::ErrorCode::ReadBackIncomplete, .. }));
    assert!(told, "the agent is told once");
    assert!(!crm(&sim).await.contains_key(&closed[1].1), "the email was not seen");
    assert!(!settled(&a, &closed[1].0), "and is not marked done");
    let store = a.engine.store().clone();
    a.engine.stop().await;
    // Once IT grants the permission, the next start recovers the email too.
    settings(&sim, json!({"genesys_denied_permissions": []})).await;
    let b = run_again(&sim, store).await;
    b.engine.flush_outbox();
    eventually("the email is recovered", 20, async || crm(&sim).await.get(&closed[1].1).is_some_and(|r| r.len() == 1))
        .await;
    assert_eq!(crm(&sim).await[&closed[0].1].len(), 1);
    b.engine.stop().await;
}

#[tokio::test]
async fn doctor_says_whether_every_media_can_be_read_back() {
    let sim = sim().await;
    let cfg = config_for(&sim, &[]);
    let signed = sign_in(&cfg).await;
    let check = companion::doctor::readback_permission_check(&cfg, &signed.genesys).await.unwrap();
    assert!(check.is_ok(), "{check:?}");
    settings(
        &sim,
        json!({"genesys_denied_permissions": ["analytics:conversationDetail:view", "analytics:agentConversationDetail:view"]}),
    )
    .await;
    let check = companion::doctor::readback_permission_check(&cfg, &signed.genesys).await.unwrap();
    assert!(!check.is_ok() && check.detail.contains("only calls"), "{check:?}");
    let off = config_for(&sim, &["recovery.enabled=false"]);
    assert!(companion::doctor::readback_permission_check(&off, &signed.genesys).await.is_none());
}
