//! Outbox benchmarks, with the DESIGN targets: durable enqueue of one disposition (p99 ≤ 10 ms), and
//! draining against the simulator with a 50 ms round trip (≥ 5,000 dispositions per minute).
//!
//! `cargo bench -p companion --bench outbox` (env: `BENCH_ENQUEUES`, default 2000; `BENCH_DRAIN`,
//! default 10000).

#[path = "measure.rs"]
mod measure;
use cloud_sim::{SimConfig, SimHandle};
use companion::clock::{SharedClock, SystemClock};
use companion::events::Recorder;
use companion::outbox::pusher::PusherHandle;
use companion::outbox::{Disposition, DispositionSource, Outbox, RowState};
use companion::signin::Clouds;
use measure::{env_num, pct, verdict};
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn disposition(i: u64, prefix: &str) -> Disposition {
    Disposition {
        interaction_id: format!("{prefix}-{i:08}"),

        conversation_id: String::new(),

        kind: Default::default(),
        code: "Completed".into(),
        reason: "Customer asked about the last invoice; explained the late fee.".into(),
        timestamp: "2026-11-21T14:20:35.000Z".into(),
        duration_secs: Some(180),
        contact_id: None,
        account_id: None,
        agent_extension: None,
        source: DispositionSource::Genesys,
        media: companion::genesys::model::Media::Call,
        channel: None,
        recovered: false,
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let enqueues = env_num("BENCH_ENQUEUES", 2000);
    let drain = env_num("BENCH_DRAIN", 10_000);
    let dir = std::env::temp_dir().join(format!("companion-outbox-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let clock: SharedClock = Arc::new(SystemClock);

    // Durable enqueue: one synchronous=FULL transaction per disposition, on this machine's disk.
    let store = Arc::new(measure::open_store(&dir.join("enqueue.db")));
    let outbox = Outbox::new(store, clock.clone());
    let mut lat = Vec::with_capacity(enqueues as usize);
    for i in 0..enqueues {
        let t = Instant::now();
        outbox.enqueue(&disposition(i, "enq")).expect("enqueue");
        lat.push(t.elapsed().as_micros() as u64);
    }

    // Drain at a 50 ms round trip.
    let sim = SimHandle::start(SimConfig::default()).await.expect("simulator");
    let cfg = companion::demo::config_for(&sim, &["outbox.batch_window_secs=0".into()]).expect("config");
    let clouds = Clouds::simulated(&cfg).await.expect("sign-in");
    let client = reqwest::Client::new();
    for body in [json!({"kind": "latency", "latency_ms": 50, "service": "salesforce", "rate": 1.0})] {
        client.post(format!("{}/_sim/faults", sim.urls().control)).json(&body).send().await.expect("fault");
    }
    let store = Arc::new(measure::open_store(&dir.join("drain.db")));
    let outbox = Arc::new(Outbox::new(store, clock.clone()));
    for i in 0..drain {
        outbox.enqueue(&disposition(i, "drain")).expect("enqueue");
    }
    let start = Instant::now();
    let pusher = PusherHandle::start(
        outbox.clone(),
        clouds.salesforce.clone(),
        Arc::new(cfg),
        clock,
        Arc::new(Recorder::default()),
    );
    loop {
        let pending = outbox.depth().expect("depth").get(&RowState::Pending).copied().unwrap_or(0);
        if pending == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let secs = start.elapsed().as_secs_f64();
    pusher.stop().await;
    let delivered = outbox.depth().expect("depth").get(&RowState::Delivered).copied().unwrap_or(0);
    let requests = sim.stats()["endpoints"]["salesforce PATCH /services/data/{v}/composite/sobjects/{object}/{field}"]
        ["count"]
        .as_u64()
        .unwrap_or(0);
    sim.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);

    let per_min = delivered as f64 / secs * 60.0;
    let (p50, p99) = (pct(lat.clone(), 0.5) / 1000.0, pct(lat, 0.99) / 1000.0);
    println!("| measure | value | target | |");
    println!("|---|---:|---|---|");
    println!(
        "| durable enqueue of one disposition, p50 / p99 ({enqueues} enqueues) | {p50:.2} / {p99:.2} ms | p99 ≤ 10 ms | {} |",
        verdict(p99 <= 10.0)
    );
    println!(
        "| outbox drain at 50 ms round trip ({delivered} dispositions, {requests} requests, {secs:.1} s) | {per_min:.0} per minute | ≥ 5,000 per minute | {} |",
        verdict(per_min >= 5000.0)
    );
}
