//! Scenarios, placed calls, the control API, and the standalone binary.

use crate::common::*;
use cloud_sim::data::CallerKind;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

#[tokio::test]
async fn a_scenario_runs_every_call_to_its_wrapup() {
    let sim = sim().await;
    let (token, uid) = genesys_token(&sim).await;
    let (_, mut ws) = subscribed_socket(&sim, &token, &uid).await;
    let id =
        control(&sim, "/_sim/scenario", json!({"calls": 12, "rate_per_min": 600, "speed": 100, "abandon_rate": 0}))
            .await["id"]
            .as_str()
            .unwrap()
            .to_string();
    let mut progress = Value::Null;
    cloud_sim::wait::eventually("the scenario to finish", 15, async || {
        progress = http().get(format!("{}/_sim/scenario/{id}", sim.urls().control)).fetch_json().await;
        progress["done"] == true
    })
    .await;
    assert_eq!(progress["placed"], 12);
    let mut wrapped = std::collections::HashSet::new();
    while let Some(ev) = next_event(&mut ws, Duration::from_millis(500)).await {
        if agent_of(&ev["eventBody"], &uid).get("wrapup").is_some() {
            wrapped.insert(ev["eventBody"]["id"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(wrapped.len(), 12, "every call's wrap-up came over the socket");
    for cid in progress["conversation_ids"].as_array().unwrap() {
        let c: Value =
            http().get(format!("{}/_sim/calls/{}", sim.urls().control, cid.as_str().unwrap())).fetch_json().await;
        assert_eq!(c["phase"], "done");
        assert!(c["call"]["caller_kind"].is_string());
    }
}

#[test]
fn callers_repeat_at_the_requested_share() {
    use rand::SeedableRng;
    let pop = cloud_sim::data::Population::generate(1, &cloud_sim::config::PopulationConfig::default());
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let mut history = vec![];
    let mut repeats = 0;
    for _ in 0..2000 {
        let (i, _) = cloud_sim::scenario::choose_caller(&mut rng, &pop.callers, &history, 0.7);
        if history.contains(&i) {
            repeats += 1;
        }
        history.push(i);
    }
    assert!((1300..=1500).contains(&repeats), "{repeats}");
}

#[tokio::test]
async fn the_same_seed_places_the_same_callers() {
    let mut anis = vec![];
    for _ in 0..2 {
        let sim = sim().await;
        let id = control(&sim, "/_sim/scenario", json!({"calls": 8, "rate_per_min": 6000, "speed": 1000, "seed": 9}))
            .await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let mut p = Value::Null;
        cloud_sim::wait::eventually("8 calls placed", 4, async || {
            p = http().get(format!("{}/_sim/scenario/{id}", sim.urls().control)).fetch_json().await;
            p["placed"] == 8
        })
        .await;
        let mut these = vec![];
        for cid in p["conversation_ids"].as_array().unwrap() {
            let c: Value =
                http().get(format!("{}/_sim/calls/{}", sim.urls().control, cid.as_str().unwrap())).fetch_json().await;
            let customer = c["conversation"]["participants"][0].clone();
            these.push(customer["address"].as_str().unwrap().to_string());
        }
        anis.push(these);
    }
    assert_eq!(anis[0], anis[1]);
}

#[tokio::test]
async fn manual_calls_step_and_stop() {
    let sim = sim().await;
    let placed = manual_call(&sim, "tel:+14155550123").await;
    let cid = placed["conversation_id"].as_str().unwrap();
    let mut phases = vec![];
    for _ in 0..3 {
        let v = control(&sim, &format!("/_sim/calls/{cid}/advance"), json!({})).await;
        phases.push(v["phase"].as_str().unwrap().to_string());
    }
    assert_eq!(phases, ["connected", "after_call_work", "done"]);
    let r = http().post(format!("{}/_sim/calls/{cid}/advance", sim.urls().control)).send().await.unwrap();
    assert_eq!(r.status(), 409);
    let r = http().post(format!("{}/_sim/calls/nope/advance", sim.urls().control)).send().await.unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn abandoned_calls_end_while_ringing() {
    let sim = sim().await;
    let placed =
        control(&sim, "/_sim/calls", json!({"ani": "tel:+14155550123", "manual": true, "abandon": true})).await;
    let cid = placed["conversation_id"].as_str().unwrap();
    let v = control(&sim, &format!("/_sim/calls/{cid}/advance"), json!({})).await;
    assert_eq!(v["phase"], "done");
    let agent =
        v["conversation"]["participants"].as_array().unwrap().iter().find(|p| p["purpose"] == "agent").unwrap().clone();
    assert!(agent.get("connectedTime").is_none());
    assert_eq!(agent["wrapupRequired"], false);
}

#[tokio::test]
async fn the_control_api_refuses_bad_input_clearly() {
    let sim = sim().await;
    let c = http();
    let post = |path: &str, body: &'static str| {
        c.post(format!("{}{path}", sim.urls().control)).header("content-type", "application/json").body(body).send()
    };
    for (path, body) in [
        ("/_sim/calls", "{"),
        ("/_sim/calls", r#"{"ani": "tel:+1", "bogus": 1}"#),
        ("/_sim/calls", r#"{"ani": "tel:+1", "user": "nobody@example.com"}"#),
        ("/_sim/scenario", r#"{"calls": 0}"#),
        ("/_sim/scenario", r#"{"speed": -1}"#),
        ("/_sim/tokens", r#"{"cloud": "azure"}"#),
        ("/_sim/clock/advance", r#"{"seconds": -5}"#),
    ] {
        let r = post(path, body).await.unwrap();
        assert_eq!(r.status(), 400, "{path} {body}");
        let v: Value = r.json().await.unwrap();
        assert!(!v["message"].as_str().unwrap().is_empty());
    }
    let r = c
        .patch(format!("{}/_sim/settings", sim.urls().control))
        .json(&json!({"no_such_setting": 1}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let huge = "9".repeat(20_000);
    let r = c.post(format!("{}/_sim/calls", sim.urls().control)).json(&json!({"ani": huge})).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let r = c.get(format!("{}/_sim/salesforce/Nope", sim.urls().control)).send().await.unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn the_population_endpoint_lists_callers_by_kind() {
    let sim = sim().await;
    let v: Value = http().get(format!("{}/_sim/population?kind=shared&limit=3", sim.urls().control)).fetch_json().await;
    let callers = v["callers"].as_array().unwrap();
    assert_eq!(callers.len(), 3);
    for c in callers {
        assert_eq!(c["kind"], "shared");
        assert!(c["expected"].as_array().unwrap().len() >= 2);
    }
    assert_eq!(sim.population().callers_of(CallerKind::Anonymous).count(), 6);
    let contacts: Value = http()
        .get(format!("{}/_sim/salesforce/Contact?Id={}", sim.urls().control, sim.population().contacts[0].id))
        .fetch_json()
        .await;
    assert_eq!(contacts["totalSize"], 1);
}

/// Kills the child when the test ends, however it ends.
struct Child(std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_binary_prints_its_urls_and_stays_up() {
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_cloud-sim"))
            .args(["--seed", "42", "--contacts", "200"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let urls: Value = serde_json::from_str(&line).unwrap();
    let keys: Vec<&str> = urls.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 6);
    for k in ["genesys_api", "genesys_login", "genesys_streaming", "salesforce", "salesforce_login", "control"] {
        assert!(urls[k].as_str().unwrap().contains("127.0.0.1:"), "{k}");
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let health: Value = rt.block_on(async {
        reqwest::get(format!("{}/_sim/health", urls["control"].as_str().unwrap())).await.unwrap().json().await.unwrap()
    });
    assert_eq!(health["ok"], true);
    assert!(child.0.try_wait().unwrap().is_none(), "still running after answering");
}

#[test]
fn the_binary_refuses_a_non_loopback_address() {
    let out = Command::new(env!("CARGO_BIN_EXE_cloud-sim")).args(["--bind", "0.0.0.0"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
}
