//! The event feed and the tracker under socket drops, maintenance closes, duplicates, reordering and
//! expired sign-ins.

use crate::common::*;
use companion::events::EngineEvent;
use companion::genesys::feed::ConnectionState;
use companion::genesys::tracker::Transition;
use serde_json::json;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_200_call_scenario_with_socket_faults_pops_every_call_exactly_once() {
    let sim = sim().await;
    // Time runs 10× faster than life here (200 calls in under a minute for one agent), so Genesys'
    // per-minute request budget is scaled like it; running out of it is tested on its own
    // (`a_catch_up_refused_by_the_rate_limit_is_tried_again_without_waiting_for_a_reconnect`).
    settings(
        &sim,
        json!({"socket_closing_grace_ms": 150, "genesys_rate_limit_per_minute": 3000,
               "quirks": {"repeat_rate": 0.3, "timed_out_agent_rate": 0.15}}),
    )
    .await;
    let (_dir, store) = temp_store();
    let run = start_engine(config_for(&sim, &[]), store).await;
    for fault in [
        json!({"kind": "drop_socket", "rate": 0.01}),
        json!({"kind": "socket_closing", "rate": 0.01}),
        json!({"kind": "duplicate_frame", "rate": 0.05}),
        json!({"kind": "reorder_frame", "rate": 0.05}),
    ] {
        control(&sim, "/_sim/faults", fault).await;
    }
    let id = sim
        .start_scenario(cloud_sim::scenario::ScenarioSpec {
            calls: 200,
            rate_per_min: 240.0,
            speed: 10.0,
            abandon_rate: 0.0,
            seed: Some(7),
            ..Default::default()
        })
        .unwrap();
    eventually("the scenario to finish", 120, async || sim.scenario(&id).is_some_and(|p| p.done)).await;
    let cids = sim.scenario(&id).unwrap().conversation_ids;
    let placed: HashSet<String> = companion::demo::segments_of(&sim, &cids, &run.user).into_iter().collect();
    assert_eq!(placed.len(), 200);
    // (The checks below name the calls that did not pop, if any.)
    cloud_sim::wait::try_eventually(10, async || pops(&run.events).len() >= placed.len()).await;
    // A call pops only when the tracker announces its ringing, synchronously, before the pop starts:
    // one ringing announced per call means no second pop can be on its way.
    let mut ringing: HashMap<String, usize> = HashMap::new();
    for e in run.events.events() {
        if let EngineEvent::Call { interaction_id, transition: Transition::Alerting, .. } = e {
            *ringing.entry(interaction_id).or_default() += 1;
        }
    }
    let rang_twice: Vec<_> = ringing.iter().filter(|(_, n)| **n > 1).collect();
    assert!(rang_twice.is_empty(), "announced ringing twice: {rang_twice:?}");
    let mut per_call: HashMap<String, usize> = HashMap::new();
    for p in pops(&run.events) {
        *per_call.entry(p.interaction_id).or_default() += 1;
    }
    let missed: Vec<&String> = placed.iter().filter(|c| !per_call.contains_key(*c)).collect();
    assert!(missed.is_empty(), "missed calls: {missed:?}");
    let twice: Vec<_> = per_call.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "popped twice: {twice:?}");
    // The last wrap-ups may still be on their way (a reconnect's catch-up reads calls that ended
    // while the socket was down).
    let wrapups = || {
        run.events
            .events()
            .iter()
            .filter(|e| matches!(e, EngineEvent::Call { transition: Transition::WrapupSubmitted, .. }))
            .count()
    };
    if !cloud_sim::wait::try_eventually(15, async || wrapups() >= 200).await {
        // Name what is missing: each such segment's transitions as the engine saw them, and how the
        // Genesys API answered (a rate limit in a reconnect storm, an error on a read).
        let mut seen: HashMap<String, Vec<Transition>> = HashMap::new();
        for e in run.events.events() {
            if let EngineEvent::Call { interaction_id, transition, .. } = e {
                seen.entry(interaction_id).or_default().push(transition);
            }
        }
        let missing: Vec<_> = placed
            .iter()
            .filter(|id| !seen.get(*id).is_some_and(|t| t.contains(&Transition::WrapupSubmitted)))
            .map(|id| (id.clone(), seen.get(id).cloned().unwrap_or_default()))
            .collect();
        let endpoints = &sim.stats()["endpoints"];
        let genesys: Vec<_> = endpoints
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| k.starts_with("genesys_api"))
            .map(|(k, v)| format!("{k}: {}", v["by_status"]))
            .collect();
        panic!("{} wrap-ups of 200; missing: {missing:?}; Genesys API answers: {genesys:?}", wrapups());
    }
    // Every transition at most once per conversation.
    let mut seen = HashSet::new();
    for e in run.events.events() {
        if let EngineEvent::Call { interaction_id, transition, .. } = e {
            assert!(seen.insert((interaction_id.clone(), transition)), "{interaction_id} {transition:?} twice");
        }
    }
    let wrapped = seen.iter().filter(|(_, t)| *t == Transition::WrapupSubmitted).count();
    assert_eq!(wrapped, 200, "every wrap-up was seen");
    let reconnects = run
        .events
        .events()
        .iter()
        .filter(|e| matches!(e, EngineEvent::Connection { state: ConnectionState::Reconnecting { .. } }))
        .count();
    let faults = sim.stats()["sockets"]["opened"].as_u64().unwrap();
    assert!(
        faults > 3,
        "the faults did reconnect the feed ({faults} sockets opened, {reconnects} reconnecting states)"
    );
    run.engine.stop().await;
}

#[tokio::test]
async fn a_revoked_sign_in_stops_the_feed_with_sign_in_again() {
    let sim = sim().await;
    let (_dir, store) = temp_store();
    let run = start_engine(config_for(&sim, &[]), store).await;
    // Signing out revokes the token; the socket is told so.
    run.signed.genesys.sign_out().await.unwrap();
    let mut conn = run.engine.connection();
    let state = tokio::time::timeout(
        Duration::from_secs(5),
        conn.wait_for(|s| matches!(s, ConnectionState::SignInRequired { .. })),
    )
    .await
    .expect("sign in again")
    .unwrap()
    .clone();
    assert!(matches!(state, ConnectionState::SignInRequired { .. }));
    run.engine.stop().await;
}

#[tokio::test]
async fn an_expired_token_at_reconnect_asks_for_sign_in_and_keeps_calls() {
    let sim = sim().await;
    settings(&sim, json!({"genesys_token_lifetime_secs": 600})).await;
    let (_dir, store) = temp_store();
    let run = start_engine(config_for(&sim, &[]), store).await;
    let call = place(&sim, "tel:+14155550199", json!({})).await;
    eventually("the pop", 5, async || pops(&run.events).iter().any(|p| p.interaction_id == call.id)).await;
    control(&sim, "/_sim/clock/advance", json!({"seconds": 601})).await;
    control(&sim, "/_sim/sockets/drop", json!({})).await;
    let mut conn = run.engine.connection();
    let got = tokio::time::timeout(
        Duration::from_secs(5),
        conn.wait_for(|s| matches!(s, ConnectionState::SignInRequired { .. })),
    )
    .await;
    assert!(got.is_ok(), "sign in again after the token expired");
    // What was tracked is still in the store.
    let kept = companion::store::Interactions::on(&run.engine.store().conn()).get(&call.id).unwrap().unwrap();
    assert_eq!(kept.stage, Some(Transition::Alerting));
    run.engine.stop().await;
}

#[tokio::test]
async fn a_restart_does_not_pop_the_same_call_again() {
    let sim = sim().await;
    let (_dir, store) = temp_store();
    let cfg = config_for(&sim, &[]);
    let run = start_engine(cfg.clone(), store.clone()).await;
    let call = place(&sim, "tel:+14155550123", json!({})).await;
    eventually("the pop", 5, async || pops(&run.events).len() == 1).await;
    run.engine.stop().await;
    // Same store, new engine: the catch-up sees the still-ringing call again.
    let catch_ups = count(&sim, ACTIVE_CONVERSATIONS);
    let again = start_engine(cfg, store).await;
    eventually("the new engine's catch-up", 5, async || count(&sim, ACTIVE_CONVERSATIONS) > catch_ups).await;
    control(&sim, &format!("/_sim/calls/{}/advance", call.cid), json!({})).await;
    eventually("the connected transition", 5, async || {
        again.events.events().iter().any(|e| matches!(e, EngineEvent::Call { transition: Transition::Connected, .. }))
    })
    .await;
    assert!(pops(&again.events).is_empty(), "no second pop after a restart");
    // The tracker announced no ringing (a pop starts only from that), so none is on its way either.
    let rang =
        again.events.events().iter().any(|e| matches!(e, EngineEvent::Call { transition: Transition::Alerting, .. }));
    assert!(!rang, "the restored call is not announced as ringing again");
    again.engine.stop().await;
}

#[tokio::test]
async fn the_connected_trigger_pops_on_answer() {
    let sim = sim().await;
    let (_dir, store) = temp_store();
    let run = start_engine(config_for(&sim, &["pop.trigger=connected"]), store).await;
    let call = place(&sim, "tel:+14155550123", json!({})).await;
    let announced = |t: Transition| {
        run.events.events().iter().position(|e| matches!(e, EngineEvent::Call { transition, .. } if *transition == t))
    };
    eventually("the ringing announced", 5, async || announced(Transition::Alerting).is_some()).await;
    assert!(pops(&run.events).is_empty(), "no pop while it rings");
    control(&sim, &format!("/_sim/calls/{}/advance", call.cid), json!({})).await;
    eventually("the pop on answer", 5, async || pops(&run.events).len() == 1).await;
    let first_pop = run.events.events().iter().position(|e| matches!(e, EngineEvent::Pop(_))).unwrap();
    assert!(first_pop > announced(Transition::Connected).unwrap(), "the pop came after the answer, not the ringing");
    run.engine.stop().await;
}

#[tokio::test]
async fn a_new_genesys_sign_in_resumes_the_feed_without_losing_calls() {
    let sim = sim().await;
    settings(&sim, json!({"genesys_token_lifetime_secs": 600})).await;
    let (_dir, store) = temp_store();
    let cfg = config_for(&sim, &[]);
    let mut run = start_engine(cfg.clone(), store).await;
    // 600 s of sign-in is inside the 15-minute warning: the agent is told at once.
    eventually("the sign-in warning", 5, async || {
        run.events.events().iter().any(
            |e| matches!(e, EngineEvent::SignInSoon { cloud: companion::signin::Cloud::Genesys, expires_in_secs } if *expires_in_secs <= 600),
        )
    })
    .await;
    let call = place(&sim, "tel:+14155550142", json!({})).await;
    eventually("the pop", 5, async || pops(&run.events).len() == 1).await;
    control(&sim, "/_sim/clock/advance", json!({"seconds": 601})).await;
    control(&sim, "/_sim/sockets/drop", json!({})).await;
    let mut conn = run.engine.connection();
    let asked = tokio::time::timeout(
        Duration::from_secs(5),
        conn.wait_for(|s| matches!(s, ConnectionState::SignInRequired { .. })),
    )
    .await
    .is_ok();
    assert!(asked, "sign in again");
    // The call moves on while the agent signs in again.
    control(&sim, &format!("/_sim/calls/{}/advance", call.cid), json!({})).await;
    let again = sign_in(&cfg).await;
    let user = again.user_id().unwrap();
    let token = control(&sim, "/_sim/tokens", json!({"cloud": "genesys", "user": user})).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    // The engine shares the session: a new sign-in in it is enough, and the feed starts again.
    run.signed.genesys.signed_in(token, user, "Alex Morgan".into(), None);
    run.engine.genesys_signed_in();
    eventually("the connected transition after the new sign-in", 10, async || {
        run.events.events().iter().any(|e| matches!(e, EngineEvent::Call { transition: Transition::Connected, .. }))
    })
    .await;
    assert_eq!(pops(&run.events).len(), 1, "the call was not popped again");
    run.engine.stop().await;
}

#[tokio::test]
async fn a_failed_read_of_an_ended_call_is_retried_at_the_next_catch_up_and_its_wrapup_arrives() {
    let sim = sim().await;
    let (_dir, store) = temp_store();
    let cfg = config_for(&sim, &[]);
    let mut run = start_engine(cfg.clone(), store).await;
    let call = answered_then_wrapped_while_the_feed_is_down(&sim, &mut run, "tel:+14155550142").await;
    // The first read of the ended call fails.
    control(
        &sim,
        "/_sim/faults",
        json!({"kind": "server_error", "service": "genesys_api", "method": "GET", "path_contains": call.cid, "status": 503, "count": 1}),
    )
    .await;
    let wrapped = || {
        run.events
            .events()
            .iter()
            .any(|e| matches!(e, EngineEvent::Call { transition: Transition::WrapupSubmitted, .. }))
    };
    run.engine.genesys_signed_in();
    eventually("the failed read", 10, async || count(&sim, "genesys_api GET /api/v2/conversations/{id}") >= 1).await;
    assert!(!wrapped(), "the read failed: nothing to announce yet");
    // The next catch-up (the socket drops and comes back) reads it again.
    control(&sim, "/_sim/sockets/drop", json!({})).await;
    eventually("the wrap-up after the second read", 10, async || wrapped()).await;
    eventually("the disposition queued", 10, async || run.engine.outbox().get(&call.id).unwrap().is_some()).await;
    run.engine.stop().await;
}

#[tokio::test]
async fn a_catch_up_refused_by_the_rate_limit_is_tried_again_without_waiting_for_a_reconnect() {
    let sim = sim().await;
    let (_dir, store) = temp_store();
    let cfg = config_for(&sim, &[]);
    let mut run = start_engine(cfg.clone(), store).await;
    let call = answered_then_wrapped_while_the_feed_is_down(&sim, &mut run, "tel:+14155550143").await;
    // The reconnect's catch-up (its read of the active conversations) meets the rate limit, as in a
    // reconnect storm.
    control(
        &sim,
        "/_sim/faults",
        json!({"kind": "rate_limit", "service": "genesys_api", "method": "GET", "path_contains": "/api/v2/conversations", "retry_after_secs": 1, "count": 1}),
    )
    .await;
    let sockets = sim.stats()["sockets"]["opened"].as_u64().unwrap();
    run.engine.genesys_signed_in();
    eventually("the refused catch-up", 10, async || {
        sim.stats()["endpoints"][ACTIVE_CONVERSATIONS]["by_status"]["429"].as_u64().unwrap_or(0) >= 1
    })
    .await;
    // No socket drop, no reconnect: the owed catch-up alone brings the wrap-up.
    eventually("the wrap-up from the catch-up tried again", 15, async || {
        run.events
            .events()
            .iter()
            .any(|e| matches!(e, EngineEvent::Call { transition: Transition::WrapupSubmitted, .. }))
    })
    .await;
    eventually("the disposition queued", 10, async || run.engine.outbox().get(&call.id).unwrap().is_some()).await;
    assert_eq!(sim.stats()["sockets"]["opened"].as_u64().unwrap(), sockets + 1, "one socket: the reconnect's own");
    run.engine.stop().await;
}

/// A call popped and answered; then the feed goes down while it ends and is wrapped up in Genesys.
async fn answered_then_wrapped_while_the_feed_is_down(
    sim: &cloud_sim::SimHandle,
    run: &mut Running,
    ani: &str,
) -> Placed {
    let call = place(sim, ani, json!({})).await;
    eventually("the pop", 5, async || pops(&run.events).len() == 1).await;
    control(sim, &format!("/_sim/calls/{}/advance", call.cid), json!({})).await; // answered
    eventually("the answer", 5, async || {
        run.events.events().iter().any(|e| matches!(e, EngineEvent::Call { transition: Transition::Connected, .. }))
    })
    .await;
    run.engine.genesys_signed_out().await;
    control(sim, &format!("/_sim/calls/{}/advance", call.cid), json!({})).await;
    control(sim, &format!("/_sim/calls/{}/advance", call.cid), json!({})).await;
    call
}
