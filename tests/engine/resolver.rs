//! The resolver on its own, with an injected clock: TTLs, stale-while-revalidate, remembered picks,
//! the re-check of returned numbers.

use crate::common::*;
use cloud_sim::data::CallerKind;
use companion::clock::{ManualClock, SharedClock};
use companion::events::{EngineEvent, Recorder};
use companion::screenpop::cache::LookupCache;
use companion::screenpop::{CacheMode, PopOutcome, PopRequest, PopSource, Resolver};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

async fn resolver(sim: &cloud_sim::SimHandle, clock: SharedClock, mode: CacheMode) -> (Arc<Resolver>, Arc<Recorder>) {
    let cfg = config_for(sim, &["cache.fresh_secs=60", "cache.positive_ttl_secs=600", "cache.negative_ttl_secs=120"]);
    let signed = sign_in(&cfg).await;
    let (_dir, store) = temp_store();
    std::mem::forget(_dir);
    let events = Arc::new(Recorder::default());
    let cache = LookupCache::new(store, 600, 120);
    (Arc::new(Resolver::new(cache, signed.salesforce, Arc::new(cfg), clock, events.clone(), mode)), events)
}

fn req(ani: &str) -> PopRequest {
    PopRequest {
        interaction_id: "c".into(),
        ani: ani.into(),
        address_kind: companion::genesys::segment::AddressKind::Phone,
        attributes: BTreeMap::new(),
        earlier: None,
        received: Instant::now(),
    }
}

#[tokio::test]
async fn ttls_and_stale_while_revalidate_without_sleeping() {
    let sim = sim().await;
    let clock = ManualClock::at(1_000_000);
    let (r, events) = resolver(&sim, clock.clone(), CacheMode::Persistent).await;
    let known = sim.population().callers_of(CallerKind::Single).next().unwrap().clone();
    let unknown = sim.population().callers_of(CallerKind::Unknown).next().unwrap().clone();
    assert_eq!(r.resolve(req(&known.ani)).await.source, PopSource::Search);
    assert_eq!(r.resolve(req(&unknown.ani)).await.outcome, PopOutcome::NoMatch);
    assert_eq!(count(&sim, SEARCH), 2);
    clock.advance_ms(30_000);
    assert_eq!(r.resolve(req(&known.ani)).await.source, PopSource::Cache);
    assert_eq!(r.resolve(req(&unknown.ani)).await.source, PopSource::Cache);
    assert_eq!(count(&sim, SEARCH), 2, "fresh hits cost nothing");
    // Past freshness: answered from the cache at once, checked again in the background.
    clock.advance_ms(40_000);
    let d = r.resolve(req(&known.ani)).await;
    assert_eq!(d.source, PopSource::Cache);
    assert_eq!(d.cache_age_secs, Some(70));
    eventually("the background check", 5, async || {
        events.events().iter().any(|e| matches!(e, EngineEvent::CacheRevalidated { changed: false }))
    })
    .await;
    assert_eq!(count(&sim, SEARCH), 3);
    // The negative entry expires at 120 s; the positive one lives on.
    clock.advance_ms(60_000);
    assert_eq!(r.resolve(req(&unknown.ani)).await.source, PopSource::Search);
    assert_eq!(r.resolve(req(&known.ani)).await.source, PopSource::Cache);
    // Purge on schedule removes what expired.
    clock.advance_ms(10_000_000);
    assert!(r.cache().purge_expired(clock_now(&clock)).unwrap() >= 2);
}

fn clock_now(c: &ManualClock) -> i64 {
    use companion::clock::Clock;
    c.now_ms()
}

#[tokio::test]
async fn the_agents_pick_ranks_first_next_time() {
    let sim = sim().await;
    let (r, _) = resolver(&sim, ManualClock::at(0), CacheMode::Persistent).await;
    let shared = sim.population().callers_of(CallerKind::Shared).next().unwrap().clone();
    let PopOutcome::Multiple { candidates } = r.resolve(req(&shared.ani)).await.outcome else {
        panic!("expected the picker")
    };
    assert_eq!(candidates.len(), shared.expected.len());
    let e164 = shared.e164.clone().unwrap();
    let last = candidates.last().unwrap().id.clone();
    r.remember_choice(&e164, &last);
    let PopOutcome::Multiple { candidates } = r.resolve(req(&shared.ani)).await.outcome else {
        panic!("expected the picker")
    };
    assert_eq!(candidates[0].id, last);
}

#[tokio::test]
async fn returned_numbers_are_rechecked_and_tell_how_they_matched() {
    let sim = sim().await;
    let (r, _) = resolver(&sim, ManualClock::at(0), CacheMode::Persistent).await;
    for caller in sim.population().callers_of(CallerKind::Single).take(60).cloned().collect::<Vec<_>>() {
        match r.resolve(req(&caller.ani)).await.outcome {
            PopOutcome::Single { candidate } => {
                assert_eq!(candidate.id, caller.expected[0]);
                assert!(candidate.matched_field.contains("Phone"));
                assert_eq!(candidate.exact_format, candidate.matched_value.trim() == caller.e164.as_deref().unwrap());
            }
            other => panic!("{}: {other:?}", caller.ani),
        }
    }
}

#[tokio::test]
async fn the_seed_design_searches_every_time() {
    let sim = sim().await;
    let (r, _) = resolver(&sim, ManualClock::at(0), CacheMode::Off).await;
    let caller = sim.population().callers_of(CallerKind::Single).next().unwrap().clone();
    for _ in 0..3 {
        assert_eq!(r.resolve(req(&caller.ani)).await.source, PopSource::Search);
    }
    assert_eq!(count(&sim, SEARCH), 3);
}
