//! Screen pops through the whole engine: hostile input, single-flight, budget, IVR ids.

use crate::common::*;
use companion::screenpop::{PopOutcome, PopSource};
use serde_json::json;

#[tokio::test]
async fn hostile_anis_and_attributes_never_break_a_search_or_pop_a_forged_id() {
    let sim = sim().await;
    let (_dir, store) = temp_store();
    let run = start_engine(config_for(&sim, &[]), store).await;
    let huge = "9".repeat(10 * 1024);
    let anis = [
        "tel:+1415555?&|!{}[]()^~*:\\\"'+-1212",
        "FIND {x} IN ALL FIELDS RETURNING User(Id)",
        "tel:+1 (415) 555-2671' OR Name != '",
        "tel:+14155552671\nX-Injected: 1",
        huge.as_str(),
        "javascript:alert(document.cookie)",
        "tel:Zwölf Achtzehn",
        "sip:\"><script>alert(1)</script>@evil",
        "tel:+1 (415) 555-2671",
    ];
    let forged_ids = [
        "javascript:alert(1)//",
        "003' OR 'a'='a",
        "0038c00000000gIAAA",
        "003\n8c00000000gI",
        &"0".repeat(10_000),
        "https://evil.example/003",
    ];
    let mut ids = vec![];
    for (i, ani) in anis.iter().enumerate() {
        let attr = forged_ids[i % forged_ids.len()];
        ids.push(place(&sim, ani, json!({"contact_id": attr, "sf_contact_id": attr})).await);
    }
    eventually("every hostile call to pop", 10, async || pops(&run.events).len() == anis.len()).await;
    for p in pops(&run.events) {
        assert!(!matches!(p.outcome, PopOutcome::Attribute { .. }), "a forged id popped: {p:?}");
        if let PopOutcome::Unavailable { code, .. } = &p.outcome {
            panic!("a hostile value broke the lookup: {code}");
        }
    }
    let stats = sim.stats();
    let by_status = &stats["endpoints"][SEARCH]["by_status"];
    assert!(by_status.get("400").is_none(), "no malformed search was sent: {by_status}");
    run.engine.stop().await;
}

#[tokio::test]
async fn an_ivr_identified_caller_pops_without_a_search() {
    let sim = sim().await;
    let (_dir, store) = temp_store();
    let run = start_engine(config_for(&sim, &[]), store).await;
    let contact = sim.population().contacts[3].id.clone();
    place(&sim, "tel:+14155550111", json!({"contact_id": &contact[..15]})).await;
    eventually("the pop", 5, async || pops(&run.events).len() == 1).await;
    let p = &pops(&run.events)[0];
    assert_eq!(p.source, PopSource::Attribute);
    assert!(matches!(&p.outcome, PopOutcome::Attribute { record_id, .. } if *record_id == contact));
    assert_eq!(count(&sim, SEARCH), 0);
    run.engine.stop().await;
}

#[tokio::test]
async fn concurrent_calls_from_one_number_share_one_search_and_repeats_hit_the_cache() {
    let sim = sim().await;
    let (_dir, store) = temp_store();
    let run = start_engine(config_for(&sim, &[]), store).await;
    // Slow searches, so the two lookups overlap.
    control(&sim, "/_sim/faults", json!({"kind": "latency", "latency_ms": 300, "service": "salesforce", "count": 1}))
        .await;
    let caller = sim.population().callers_of(cloud_sim::data::CallerKind::Single).next().unwrap().clone();
    place(&sim, &caller.ani, json!({})).await;
    place(&sim, &caller.ani, json!({})).await;
    eventually("both pops", 5, async || pops(&run.events).len() == 2).await;
    assert_eq!(count(&sim, SEARCH), 1, "one search for two concurrent lookups");
    for p in pops(&run.events) {
        assert!(matches!(&p.outcome, PopOutcome::Single { candidate } if candidate.id == caller.expected[0]), "{p:?}");
    }
    place(&sim, &caller.ani, json!({})).await;
    eventually("the third pop", 5, async || pops(&run.events).len() == 3).await;
    assert_eq!(pops(&run.events)[2].source, PopSource::Cache);
    assert_eq!(count(&sim, SEARCH), 1, "a repeat caller costs no API call");
    run.engine.stop().await;
}

#[tokio::test]
async fn a_slow_salesforce_gives_search_manually_in_budget_and_fills_the_cache_later() {
    let sim = sim().await;
    let (_dir, store) = temp_store();
    let run = start_engine(config_for(&sim, &["pop.lookup_budget_ms=300"]), store).await;
    control(&sim, "/_sim/faults", json!({"kind": "latency", "latency_ms": 1200, "service": "salesforce", "count": 1}))
        .await;
    let caller = sim.population().callers_of(cloud_sim::data::CallerKind::Shared).next().unwrap().clone();
    place(&sim, &caller.ani, json!({})).await;
    eventually("the pop", 5, async || pops(&run.events).len() == 1).await;
    let p = &pops(&run.events)[0];
    assert!(matches!(&p.outcome, PopOutcome::Unavailable { code, .. } if code == "LOOKUP_TIMEOUT"), "{p:?}");
    assert!(p.elapsed_us < 1_000_000, "answered within the budget, not after the search: {} µs", p.elapsed_us);
    let e164 = caller.e164.clone().unwrap();
    eventually("the late answer to reach the cache", 10, async || {
        run.engine.resolver().cache().get(&e164, chrono::Utc::now().timestamp_millis()).ok().flatten().is_some()
    })
    .await;
    place(&sim, &caller.ani, json!({})).await;
    eventually("the second pop", 5, async || pops(&run.events).len() == 2).await;
    let p = &pops(&run.events)[1];
    assert_eq!(p.source, PopSource::Cache, "the late answer was kept");
    assert!(matches!(&p.outcome, PopOutcome::Multiple { candidates } if candidates.len() == caller.expected.len()));
    run.engine.stop().await;
}

#[tokio::test]
async fn salesforce_failures_become_search_manually_with_the_reason() {
    let sim = sim().await;
    let (_dir, store) = temp_store();
    let run = start_engine(config_for(&sim, &[]), store).await;
    control(&sim, "/_sim/faults", json!({"kind": "limit_exceeded", "service": "salesforce", "count": 1})).await;
    place(&sim, "tel:+14155550177", json!({})).await;
    eventually("the pop", 5, async || pops(&run.events).len() == 1).await;
    match &pops(&run.events)[0].outcome {
        PopOutcome::Unavailable { code, reason } => {
            assert_eq!(code, "REQUEST_LIMIT_EXCEEDED");
            assert!(reason.contains("allowance"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    run.engine.stop().await;
}
