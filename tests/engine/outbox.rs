//! Dispositions through the outbox and the pusher, against the simulator's Salesforce.

use crate::common::*;
use companion::outbox::pusher::PusherState;
use companion::outbox::{Disposition, DispositionSource, RowState};
use serde_json::{Value, json};
use std::time::Duration;

const FAST: [&str; 5] = [
    "outbox.batch_window_secs=0",
    "outbox.retry_initial_ms=50",
    "outbox.retry_max_ms=400",
    "outbox.budget_backoff_secs=1",
    r#"disposition.code_map={ "Sale" = "Completed", "Callback Requested" = "Pending Transfer", "Billing Question" = "Completed", "Technical Support" = "Completed", "Complaint" = "Completed", "Wrong Number" = "Failed" }"#,
];

const COMPOSITE: &str = "salesforce PATCH /services/data/{v}/composite/sobjects/{object}/{field}";

pub(crate) fn disposition(id: &str, code: &str, reason: &str) -> Disposition {
    Disposition {
        interaction_id: id.into(),

        conversation_id: String::new(),

        kind: Default::default(),
        code: code.into(),
        reason: reason.into(),
        timestamp: "2026-11-21T14:20:35.000Z".into(),
        duration_secs: Some(60),
        contact_id: None,
        account_id: None,
        agent_extension: None,
        source: DispositionSource::Agent,
        media: companion::genesys::model::Media::Call,
        channel: None,
        recovered: false,
    }
}

fn pending(run: &Running) -> u64 {
    run.engine.outbox().depth().unwrap().get(&RowState::Pending).copied().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_disposition_reaches_salesforce_once_through_faults() {
    let sim = sim().await;
    let (_dir, store) = temp_store();
    let run = start_engine(config_for(&sim, &FAST), store).await;
    for fault in [
        json!({"kind": "server_error", "path_contains": "/composite/", "rate": 0.25}),
        json!({"kind": "html_server_error", "path_contains": "/composite/", "rate": 0.1, "status": 502}),
        json!({"kind": "rate_limit", "path_contains": "/composite/", "rate": 0.1, "retry_after_secs": 1}),
        json!({"kind": "reset_after_write", "path_contains": "/composite/", "rate": 0.15}),
        json!({"kind": "concurrent_limit", "path_contains": "/composite/", "rate": 0.05}),
        json!({"kind": "token_expired", "path_contains": "/composite/", "count": 1}),
    ] {
        control(&sim, "/_sim/faults", fault).await;
    }
    let id = sim
        .start_scenario(cloud_sim::scenario::ScenarioSpec {
            calls: 40,
            rate_per_min: 600.0,
            speed: 40.0,
            abandon_rate: 0.0,
            seed: Some(11),
            ..Default::default()
        })
        .unwrap();
    eventually("the scenario to finish", 60, async || sim.scenario(&id).is_some_and(|p| p.done)).await;
    let placed = companion::demo::segments_of(&sim, &sim.scenario(&id).unwrap().conversation_ids, &run.user);
    let queued = || run.engine.outbox().list(None, 1000).unwrap().len();
    eventually("every wrap-up queued", 10, async || queued() == placed.len()).await;
    let problems: Vec<_> = run
        .events
        .events()
        .into_iter()
        .filter(|e| matches!(e, companion::events::EngineEvent::Problem { .. }))
        .collect();
    assert_eq!(queued(), placed.len(), "every wrap-up is queued; problems: {problems:?}");
    eventually("the queue to drain through the faults", 60, async || pending(&run) == 0).await;
    let records = crm(&sim).await;
    for c in &placed {
        assert_eq!(records.get(c).map(Vec::len), Some(1), "conversation {c} must be in Salesforce exactly once");
    }
    let depth = run.engine.outbox().depth().unwrap();
    assert_eq!(depth.get(&RowState::Delivered).copied(), Some(placed.len() as u64), "{depth:?}");
    let requests = count(&sim, COMPOSITE);
    assert!(
        requests < 150,
        "back-off keeps the requests down: {requests} batch requests for {} dispositions",
        placed.len()
    );
    run.engine.stop().await;
}

#[tokio::test]
async fn permanent_failures_are_parked_with_salesforces_message_then_retried_or_discarded() {
    let sim = sim().await;
    let (_dir, store) = temp_store();
    let run = start_engine(config_for(&sim, &FAST), store).await;
    settings(
        &sim,
        json!({"validation_rules": [{"object": "Disposition_Log__c", "field": "Disposition_Reason__c", "when": "reject_containing", "value": "REFUND", "message": "Refunds need a case number."}]}),
    )
    .await;
    for (id, reason) in [("c-ok", "fine"), ("c-bad", "REFUND please"), ("c-bad2", "REFUND again")] {
        run.engine.set_disposition(disposition(id, "Completed", reason)).unwrap();
    }
    eventually("the batch", 10, async || pending(&run) == 0).await;
    let parked = run.engine.outbox().list(Some(RowState::NeedsAttention), 10).unwrap();
    assert_eq!(parked.len(), 2);
    assert!(parked.iter().all(|r| r.error_message.as_deref() == Some("Refunds need a case number.")));
    assert!(parked.iter().all(|r| r.error_code.as_deref() == Some("FIELD_CUSTOM_VALIDATION_EXCEPTION")));
    // Parked rows are not retried by themselves: the next push carries only the new row, and the
    // parked ones keep their attempts.
    let attempts = |id: &str| run.engine.outbox().get(id).unwrap().unwrap().attempts;
    let (before, tried) = (count(&sim, COMPOSITE), (attempts("c-bad"), attempts("c-bad2")));
    run.engine.set_disposition(disposition("c-next", "Completed", "fine")).unwrap();
    eventually("the next push", 10, async || pending(&run) == 0).await;
    assert_eq!(count(&sim, COMPOSITE), before + 1, "one push, for the new row only");
    assert_eq!((attempts("c-bad"), attempts("c-bad2")), tried, "parked rows are not retried by themselves");
    assert_eq!(run.engine.outbox().list(Some(RowState::NeedsAttention), 10).unwrap().len(), 2);
    settings(&sim, json!({"validation_rules": []})).await;
    run.engine.outbox().retry_now("c-bad", "test supervisor").unwrap();
    run.engine.outbox().discard("c-bad2", "test supervisor", "duplicate").unwrap();
    wait_crm(&sim, "c-bad").await;
    let records = crm(&sim).await;
    assert!(records.contains_key("c-ok") && records.contains_key("c-bad") && !records.contains_key("c-bad2"));
    run.engine.stop().await;
}

async fn wait_crm(sim: &cloud_sim::SimHandle, id: &str) {
    eventually(&format!("{id} in Salesforce"), 10, async || crm(sim).await.contains_key(id)).await;
}

#[tokio::test]
async fn a_whole_batch_refusal_is_split_to_park_only_the_bad_record() {
    let sim = sim().await;
    let (_dir, store) = temp_store();
    let run =
        start_engine(config_for(&sim, &["outbox.batch_window_secs=2", "outbox.retry_initial_ms=50"]), store).await;
    run.engine.set_disposition(disposition("b-1", "Completed", "a")).unwrap();
    let mut bad = disposition("b-2", "Completed", "b");
    bad.timestamp = "yesterday afternoon".into();
    run.engine.set_disposition(bad).unwrap();
    run.engine.set_disposition(disposition("b-3", "Failed", "c")).unwrap();
    run.engine.flush_outbox();
    eventually("the batch", 10, async || pending(&run) == 0).await;
    let parked = run.engine.outbox().list(Some(RowState::NeedsAttention), 10).unwrap();
    assert_eq!(parked.iter().map(|r| r.interaction_id.as_str()).collect::<Vec<_>>(), ["b-2"]);
    assert_eq!(parked[0].error_code.as_deref(), Some("JSON_PARSER_ERROR"));
    let records = crm(&sim).await;
    assert!(records.contains_key("b-1") && records.contains_key("b-3"));
    run.engine.stop().await;
}

#[tokio::test]
async fn an_edit_after_delivery_updates_the_same_record() {
    let sim = sim().await;
    let (_dir, store) = temp_store();
    let run = start_engine(config_for(&sim, &FAST), store).await;
    run.engine.set_disposition(disposition("e-1", "Completed", "first")).unwrap();
    eventually("delivery", 10, async || run.engine.outbox().depth().unwrap().get(&RowState::Delivered) == Some(&1))
        .await;
    run.engine.set_disposition(disposition("e-1", "Failed", "second thoughts")).unwrap();
    eventually("the update", 10, async || pending(&run) == 0).await;
    let records = crm(&sim).await;
    assert_eq!(records["e-1"].len(), 1);
    assert_eq!(records["e-1"][0]["Disposition_Code__c"], "Failed");
    assert_eq!(records["e-1"][0]["Disposition_Reason__c"], "second thoughts");
    run.engine.stop().await;
}

#[tokio::test]
async fn signed_out_the_queue_holds_and_drains_after_signing_in_again() {
    let sim = sim().await;
    let (_dir, store) = temp_store();
    let run = start_engine(config_for(&sim, &FAST), store).await;
    // The session expires and the refresh is refused: only a new sign-in helps.
    control(&sim, "/_sim/faults", json!({"kind": "token_expired", "path_contains": "/composite/", "count": 1})).await;
    control(
        &sim,
        "/_sim/faults",
        json!({"kind": "invalid_grant", "service": "salesforce_login", "path_contains": "/token", "count": 1}),
    )
    .await;
    run.engine.set_disposition(disposition("s-1", "Completed", "x")).unwrap();
    let mut state = run.engine.pusher().unwrap();
    let held = tokio::time::timeout(
        Duration::from_secs(10),
        state.wait_for(|s| matches!(s, PusherState::SignInRequired { .. })),
    )
    .await
    .is_ok();
    assert!(held, "the pusher holds and asks for a sign-in");
    assert_eq!(pending(&run), 1, "nothing lost, nothing parked");
    let token = salesforce_token(&sim).await;
    run.signed.salesforce.set_token(token);
    run.engine.wake_pusher();
    eventually("the drain after sign-in", 10, async || pending(&run) == 0).await;
    assert_eq!(crm(&sim).await["s-1"].len(), 1);
    run.engine.stop().await;
}

async fn salesforce_token(sim: &cloud_sim::SimHandle) -> String {
    control(sim, "/_sim/tokens", json!({"cloud": "salesforce"})).await["access_token"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn a_spent_allocation_waits_and_keeps_everything() {
    let sim = sim().await;
    let (_dir, store) = temp_store();
    let run = start_engine(config_for(&sim, &FAST), store).await;
    let used = sim.stats()["salesforce_api_usage"]["used"].as_u64().unwrap();
    settings(&sim, json!({"salesforce_daily_api_max": used})).await;
    run.engine.set_disposition(disposition("l-1", "Completed", "x")).unwrap();
    let mut state = run.engine.pusher().unwrap();
    let limited = tokio::time::timeout(
        Duration::from_secs(10),
        state.wait_for(|s| matches!(s, PusherState::BudgetLimited { .. })),
    )
    .await
    .is_ok();
    assert!(limited);
    assert_eq!(pending(&run), 1);
    settings(&sim, json!({"salesforce_daily_api_max": 100_000})).await;
    eventually("the drain once the allocation is back", 10, async || pending(&run) == 0).await;
    assert_eq!(crm(&sim).await["l-1"].len(), 1);
    run.engine.stop().await;
}

#[tokio::test]
async fn the_optional_call_task_is_upserted_beside_the_log_record() {
    let sim = sim().await;
    let (_dir, store) = temp_store();
    let mut flags = FAST.to_vec();
    flags.push("task.enabled=true");
    let run = start_engine(config_for(&sim, &flags), store).await;
    let contact = sim.population().contacts[0].id.clone();
    let mut d = disposition("t-1", "Sale", "Upgraded to premium");
    d.contact_id = Some(contact.clone());
    run.engine.set_disposition(d.clone()).unwrap();
    eventually("delivery", 10, async || pending(&run) == 0).await;
    // Delivered twice (an edit): still one Task.
    d.reason = "Upgraded to premium, annual plan".into();
    run.engine.set_disposition(d).unwrap();
    eventually("the update", 10, async || pending(&run) == 0).await;
    let v: Value =
        reqwest::get(format!("{}/_sim/salesforce/Task", sim.urls().control)).await.unwrap().json().await.unwrap();
    let tasks = v["records"].as_array().unwrap();
    assert_eq!(tasks.len(), 1);
    let t = &tasks[0];
    assert_eq!(t["Genesys_Conversation_Id__c"], "t-1");
    assert_eq!(t["CallType"], "Inbound");
    assert_eq!(t["CallDisposition"], "Completed");
    assert_eq!(t["WhoId"], contact.as_str());
    assert_eq!(t["Description"], "Upgraded to premium, annual plan");
    assert_eq!(crm(&sim).await["t-1"][0]["Contact__c"], contact.as_str());
    run.engine.stop().await;
}

#[tokio::test]
async fn near_the_end_of_the_allocation_pushes_are_spaced_out() {
    let sim = sim().await;
    let (_dir, store) = temp_store();
    let mut flags = FAST.to_vec();
    flags.push("outbox.budget_spacing_secs=60");
    let run = start_engine(config_for(&sim, &flags), store).await;
    // Use up most of the allocation first.
    let token = salesforce_token(&sim).await;
    for _ in 0..50 {
        reqwest::Client::new()
            .get(format!("{}/services/data/v62.0/limits", sim.urls().salesforce))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
    }
    let used = sim.stats()["salesforce_api_usage"]["used"].as_u64().unwrap();
    settings(&sim, json!({"salesforce_daily_api_max": used + 4})).await;
    run.engine.set_disposition(disposition("n-1", "Completed", "x")).unwrap();
    eventually("the first push", 10, async || pending(&run) == 0).await;
    let pushes = count(&sim, COMPOSITE);
    run.engine.set_disposition(disposition("n-2", "Completed", "y")).unwrap();
    let mut state = run.engine.pusher().unwrap();
    let spaced = tokio::time::timeout(
        Duration::from_secs(5),
        state.wait_for(|s| matches!(s, PusherState::BudgetLimited { .. })),
    )
    .await
    .ok()
    .and_then(Result::ok)
    .map(|s| s.clone());
    // The pusher says when it tries next: about a minute out, not now.
    let Some(PusherState::BudgetLimited { until_ms, .. }) = spaced else {
        panic!("the pusher slows down above 90 % of the allocation")
    };
    let wait_ms = until_ms - chrono::Utc::now().timestamp_millis();
    assert!(wait_ms > 50_000, "the next push waits about 60 s, not {wait_ms} ms");
    assert_eq!(count(&sim, COMPOSITE), pushes, "nothing was pushed since");
    assert_eq!(pending(&run), 1, "the second disposition waits its turn, kept");
    run.engine.stop().await;
}

#[tokio::test]
async fn the_agents_pick_is_the_contact_of_the_disposition() {
    let sim = sim().await;
    let (_dir, store) = temp_store();
    let run = start_engine(config_for(&sim, &FAST), store).await;
    let shared = sim.population().callers_of(cloud_sim::data::CallerKind::Shared).next().unwrap().clone();
    let call = place(&sim, &shared.ani, json!({})).await;
    eventually("the picker", 5, async || pops(&run.events).len() == 1).await;
    let chosen = shared.expected.last().unwrap().clone();
    let address = pops(&run.events)[0].address.clone();
    run.engine.pick(&call.id, &chosen, address.as_deref()).unwrap();
    for _ in 0..3 {
        control(&sim, &format!("/_sim/calls/{}/advance", call.cid), json!({})).await;
    }
    eventually("the wrap-up's delivery", 10, async || {
        run.engine.outbox().depth().unwrap().get(&RowState::Delivered) == Some(&1)
    })
    .await;
    assert_eq!(crm(&sim).await[&call.id][0]["Contact__c"], chosen.as_str());
    // The pick is remembered for the number: first in the picker next time.
    place(&sim, &shared.ani, json!({})).await;
    eventually("the second picker", 5, async || pops(&run.events).len() == 2).await;
    match &pops(&run.events)[1].outcome {
        companion::screenpop::PopOutcome::Multiple { candidates } => assert_eq!(candidates[0].id, chosen),
        other => panic!("{other:?}"),
    }
    assert!(run.engine.pick(&call.id, "javascript:alert(1)", None).is_err(), "only a record id can be picked");
    run.engine.stop().await;
}
