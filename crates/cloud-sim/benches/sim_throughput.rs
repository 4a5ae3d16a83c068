//! How many requests per second the simulator serves on this machine: SOSL phone searches and
//! 200-record sObject Collections upserts, from concurrent keep-alive clients in the same process
//! (so client and server share the cores: the figures are a floor for the server alone).
//!
//! `cargo bench -p cloud-sim --bench sim_throughput` (env: `BENCH_SECS`, default 5; `BENCH_CLIENTS`, default 8).

use cloud_sim::{SimConfig, SimHandle, sosl_escape_term};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn env_num(key: &str, default: u64) -> u64 {
    std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

struct Run {
    requests: u64,
    errors: u64,
    secs: f64,
    latencies_us: Vec<u64>,
}

impl Run {
    fn pct(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies_us.len() - 1) as f64 * p).round() as usize;
        self.latencies_us[i] as f64 / 1000.0
    }
}

async fn drive<F, Fut>(clients: u64, secs: u64, make: F) -> Run
where
    F: Fn(u64, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let make = Arc::new(make);
    let stop = Arc::new(AtomicBool::new(false));
    let errors = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (make, stop, errors) = (make.clone(), stop.clone(), errors.clone());
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                if !make(c, n).await {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
                lat.push(t.elapsed().as_micros() as u64);
                n += 1;
            }
            lat
        }));
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies_us = Vec::new();
    for t in tasks {
        latencies_us.extend(t.await.expect("client task"));
    }
    let secs = start.elapsed().as_secs_f64();
    latencies_us.sort_unstable();
    Run { requests: latencies_us.len() as u64, errors: errors.load(Ordering::Relaxed), secs, latencies_us }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let secs = env_num("BENCH_SECS", 5);
    let clients = env_num("BENCH_CLIENTS", 8);
    let mut config = SimConfig::default();
    config.settings.salesforce_daily_api_max = u64::MAX / 2;
    let sim = SimHandle::start(config).await.expect("simulator starts");
    let http = reqwest::Client::builder().pool_max_idle_per_host(64).build().expect("client");
    let token: String = {
        let v: Value = http
            .post(format!("{}/_sim/tokens", sim.urls().control))
            .json(&json!({"cloud": "salesforce"}))
            .send()
            .await
            .expect("mint")
            .json()
            .await
            .expect("json");
        v["access_token"].as_str().expect("token").to_string()
    };
    let numbers: Arc<Vec<String>> = Arc::new(
        sim.population()
            .callers
            .iter()
            .filter_map(|c| c.e164.as_deref())
            .map(|e| e.trim_start_matches('+').to_string())
            .collect(),
    );
    let base = sim.urls().salesforce.clone();

    let search = {
        let (http, token, base, numbers) = (http.clone(), token.clone(), base.clone(), numbers.clone());
        drive(clients, secs, move |c, n| {
            let (http, token, base) = (http.clone(), token.clone(), base.clone());
            let number = numbers[((c * 7919 + n * 104_729) as usize) % numbers.len()].clone();
            async move {
                let q = format!(
                    "FIND {{{}}} IN PHONE FIELDS RETURNING Contact(Id, Name, Phone, MobilePhone, AccountId, Account.Name), Lead(Id, Name, Phone, Company)",
                    sosl_escape_term(&number)
                );
                let r = http.get(format!("{base}/services/data/v62.0/search/")).query(&[("q", q)]).bearer_auth(&token).send().await;
                match r {
                    Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                    _ => false,
                }
            }
        })
        .await
    };

    let upsert = {
        let (http, token, base) = (http.clone(), token.clone(), base.clone());
        drive(clients, secs, move |c, n| {
            let (http, token, base) = (http.clone(), token.clone(), base.clone());
            async move {
                // Half the batches create new records, half update the previous batch's.
                let batch = if n % 2 == 0 { n } else { n - 1 };
                let records: Vec<Value> = (0..200)
                    .map(|i| {
                        json!({"attributes": {"type": "Disposition_Log__c"}, "Interaction_ID__c": format!("bench-{c}-{batch}-{i}"),
                               "Disposition_Code__c": "Completed", "Disposition_Reason__c": "Benchmark disposition",
                               "Timestamp__c": "2026-11-21T14:20:35.000Z"})
                    })
                    .collect();
                let r = http
                    .patch(format!("{base}/services/data/v62.0/composite/sobjects/Disposition_Log__c/Interaction_ID__c"))
                    .bearer_auth(&token)
                    .json(&json!({"allOrNone": false, "records": records}))
                    .send()
                    .await;
                match r {
                    Ok(r) if r.status().is_success() => r.json::<Vec<Value>>().await.is_ok_and(|v| v.iter().all(|x| x["success"] == true)),
                    _ => false,
                }
            }
        })
        .await
    };

    println!(
        "cloud-sim throughput: {clients} clients, {secs} s each, 2 worker threads, client and server in one process"
    );
    println!();
    println!("| request | requests/s | records/s | p50 ms | p99 ms | errors |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (name, run, per) in [("SOSL phone search", &search, 1u64), ("Collections upsert, 200 records", &upsert, 200)] {
        let rps = run.requests as f64 / run.secs;
        println!(
            "| {name} | {:.0} | {:.0} | {:.2} | {:.2} | {} |",
            rps,
            rps * per as f64,
            run.pct(0.5),
            run.pct(0.99),
            run.errors
        );
    }
    sim.shutdown().await;
}
