//! `kill -9` of the engine process at random moments — during start-up and sign-in, enqueues and
//! pushes — restarted each time, over a scenario of calls, emails, chats and messages: afterwards
//! every wrap-up submitted in Genesys during the scenario (read from the simulator, not from what the
//! engine acknowledged), including those of interactions that began and ended while no engine ran,
//! is in Salesforce exactly once, and the database passes `PRAGMA integrity_check`. `CRASH_KILLS` sets
//! how many kills (default 6; the long run is `scripts/crash-test.sh`).

use crate::common::*;
use companion::outbox::RowState;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn spawn_engine(sim: &cloud_sim::SimHandle, db: &Path) -> Child {
    let u = sim.urls();
    let sets = [
        format!("genesys.api_base={}", u.genesys_api),
        format!("genesys.login_base={}", u.genesys_login),
        format!("genesys.streaming_base={}", u.genesys_streaming),
        format!("salesforce.login_base={}", u.salesforce_login),
        format!("store.path={}", db.display()),
        "outbox.batch_window_secs=0".into(),
        "outbox.retry_initial_ms=100".into(),
        "outbox.retry_max_ms=500".into(),
        "genesys.reconnect_initial_ms=50".into(),
        r#"disposition.code_map={ "Sale" = "Completed", "Callback Requested" = "Pending Transfer", "Billing Question" = "Completed", "Technical Support" = "Completed", "Complaint" = "Completed", "Wrong Number" = "Failed" }"#.into(),
    ];
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_companion-under-test"));
    cmd.arg("run").arg("--auto-approve").arg("--log-dir").arg(db.with_file_name("logs"));
    for s in sets {
        cmd.arg("--set").arg(s);
    }
    cmd.env("COMPANION_CONFIG", "/nonexistent/config.toml")
        .env("COMPANION_MANAGED_CONFIG", "/nonexistent/managed.toml")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the engine starts")
}

/// The analytics details query (as the agent) shows every one of these conversations ended: its data
/// latency has passed.
async fn analytics_shows_ended(sim: &cloud_sim::SimHandle, user: &str, conversations: &[String]) -> bool {
    let token = control(sim, "/_sim/tokens", json!({"cloud": "genesys", "user": user})).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let now = chrono::Utc::now();
    let interval = format!(
        "{}/{}",
        (now - chrono::Duration::hours(2)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        (now + chrono::Duration::minutes(1)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    );
    let mut ended = std::collections::HashSet::new();
    for page in 1..=20 {
        let v: serde_json::Value = reqwest::Client::new()
            .post(format!("{}/api/v2/analytics/conversations/details/query", sim.urls().genesys_api))
            .bearer_auth(&token)
            .json(&json!({"interval": interval, "paging": {"pageSize": 100, "pageNumber": page},
                          "segmentFilters": [{"type": "and", "predicates": [{"dimension": "userId", "value": user}]}]}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let list = v["conversations"].as_array().cloned().unwrap_or_default();
        for c in &list {
            if c.get("conversationEnd").is_some() {
                ended.insert(c["conversationId"].as_str().unwrap_or("").to_string());
            }
        }
        if list.len() < 100 {
            break;
        }
    }
    conversations.iter().all(|c| ended.contains(c))
}

/// Kills the child with SIGKILL (std's `kill` is SIGKILL on Unix) and reaps it.
fn kill_9(mut child: Child) {
    let _ = child.kill();
    let _ = child.wait();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_random_moments_loses_nothing_and_duplicates_nothing() {
    let kills: usize = std::env::var("CRASH_KILLS").ok().and_then(|v| v.parse().ok()).unwrap_or(6);
    let sim = sim().await;
    // Slow pushes, so that kills also land while a batch is in flight.
    control(
        &sim,
        "/_sim/faults",
        json!({"kind": "latency", "latency_ms": 40, "path_contains": "/composite/", "rate": 1.0}),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("companion.db");
    let calls = (kills as u32 * 12).max(60);
    let sockets = |sim: &cloud_sim::SimHandle| sim.stats()["sockets"]["opened"].as_u64().unwrap_or(0);
    // Each engine is killed a random while after it connected: a loaded machine starts slowly.
    let connected_child = |sim: &cloud_sim::SimHandle| {
        let before = sockets(sim);
        let child = spawn_engine(sim, &db);
        (child, before)
    };
    let (first, before) = connected_child(&sim);
    eventually("the first engine to connect", 60, async || sockets(&sim) > before).await;
    let id = sim
        .start_scenario(cloud_sim::scenario::ScenarioSpec {
            calls,
            rate_per_min: 900.0 / 40.0,
            speed: 40.0,
            abandon_rate: 0.0,
            seed: Some(5),
            channels: companion::demo::reference_channels(),
            ..Default::default()
        })
        .unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(99);
    let mut early_kills = 0;
    tokio::time::sleep(Duration::from_millis(rng.random_range(300..1500))).await;
    kill_9(first);
    for _ in 1..kills {
        // Down for a while, as a desktop that reboots: some interactions begin and end meanwhile.
        tokio::time::sleep(Duration::from_millis(rng.random_range(0..2000))).await;
        let (child, before) = connected_child(&sim);
        if rng.random_bool(0.35) {
            // During start-up: opening the store, signing in, subscribing, the first catch-up.
            early_kills += 1;
            tokio::time::sleep(Duration::from_millis(rng.random_range(5..400))).await;
        } else {
            eventually("the engine to connect", 60, async || sockets(&sim) > before).await;
            tokio::time::sleep(Duration::from_millis(rng.random_range(300..1500))).await;
        }
        kill_9(child);
    }
    // A run that is killed too once the scenario is over; interactions it did not see are left to
    // the next start, as on an agent's desktop closed before the shift ends.
    let child = spawn_engine(&sim, &db);
    eventually("the scenario to finish", 120, async || sim.scenario(&id).is_some_and(|p| p.done)).await;
    kill_9(child);
    let conversations = sim.scenario(&id).unwrap().conversation_ids;
    let user = sim.placed_call(&conversations[0]).unwrap().user_id;
    eventually("the analytics data to show every conversation ended", 30, async || {
        analytics_shows_ended(&sim, &user, &conversations).await
    })
    .await;
    // The next start, left to finish its work.
    let started_ms = chrono::Utc::now().timestamp_millis();
    let child = spawn_engine(&sim, &db);
    // Drained: the engine is connected, its read-back since this start is complete, nothing is
    // pending, and the number of queued dispositions has stopped growing.
    let snapshot = |db: &Path| -> Option<(bool, u64, u64)> {
        let conn = companion::store::Store::reader(db).ok()?;
        let connected: String =
            conn.query_row("SELECT value FROM status_kv WHERE key = 'connection'", [], |r| r.get(0)).ok()?;
        let read_back = companion::store::ReadBackRows::on(&conn).status().ok()??;
        let checked =
            read_back.started_ms >= started_ms && read_back.outcome == companion::store::ReadBackOutcome::Complete;
        let depth = companion::outbox::depth(&conn).ok()?;
        Some((
            connected.contains("\"connected\"") && checked,
            depth.values().sum(),
            depth.get(&RowState::Pending).copied().unwrap_or(0),
        ))
    };
    let mut ok = false;
    let mut last_total = None;
    let mut stable = 0;
    for _ in 0..600 {
        match snapshot(&db) {
            Some((true, total, 0)) if total > 0 && last_total == Some(total) => {
                stable += 1;
                if stable >= 4 {
                    ok = true;
                    break;
                }
            }
            Some((_, total, _)) => {
                last_total = Some(total);
                stable = 0;
            }
            None => stable = 0,
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    kill_9(child);
    if !ok {
        let mut logs = String::new();
        for e in std::fs::read_dir(db.with_file_name("logs")).into_iter().flatten() {
            logs.push_str(&std::fs::read_to_string(e.unwrap().path()).unwrap_or_default());
        }
        let tail: Vec<&str> = logs.lines().rev().take(30).collect();
        panic!(
            "the outbox did not drain after the last restart: {:?}\nlast log lines:\n{}",
            snapshot(&db),
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }

    let conn = companion::store::Store::reader(&db).unwrap();
    let check: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");
    let rows = companion::outbox::list(&conn, None, usize::MAX).unwrap();
    assert!(!rows.is_empty(), "some dispositions were acknowledged");
    let records = crm(&sim).await;
    let submitted = companion::demo::wrapped_in_genesys(&sim, &conversations, &user);
    let lost: Vec<&String> = submitted.iter().filter(|i| !records.contains_key(*i)).collect();
    let twice: Vec<&String> = submitted.iter().filter(|i| records.get(*i).is_some_and(|r| r.len() > 1)).collect();
    let recovered = rows.iter().filter(|r| r.disposition.recovered).count();
    eprintln!(
        "{kills} kills ({early_kills} during start-up and sign-in): lost {} of {} wrap-ups submitted in Genesys, {} twice; {recovered} recovered by a read-back",
        lost.len(),
        submitted.len(),
        twice.len()
    );
    assert!(lost.is_empty() && twice.is_empty(), "lost {lost:?}; twice {twice:?}");
    for r in &rows {
        assert_eq!(r.state, RowState::Delivered, "{}: {:?} {:?}", r.interaction_id, r.state, r.error_message);
        assert_eq!(
            records.get(&r.interaction_id).map(Vec::len),
            Some(1),
            "{} must be in Salesforce exactly once",
            r.interaction_id
        );
    }
    eprintln!("{} kills; {} of {calls} calls' dispositions acknowledged and delivered once each", kills, rows.len());
}
