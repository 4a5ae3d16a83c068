//! Sign-in and secrets: kept sign-ins, rotation kept at once, state checked, sign-out revokes, and no
//! token value in the database or the event stream after a full demo.

use crate::common::*;
use companion::auth::{self, AuthError, Browser, BrowserChoice, Callback, FollowRedirect};
use companion::config::{Config, NetworkConfig};
use companion::events::{EngineEvent, EventSink};
use companion::net::Network;
use companion::secrets::{self, MemoryOnly, SecretStore};
use companion::signin::{Cloud, Clouds, Prompt};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// Both clouds from what is kept alone (no browser): proves a kept sign-in was enough.
async fn kept_only(cfg: &Config, store: &Arc<dyn SecretStore>) -> Option<Clouds> {
    let clouds = Clouds::signed_out(cfg).unwrap();
    for cloud in [Cloud::Genesys, Cloud::Salesforce] {
        if !clouds.sign_in(cloud, cfg, store, Prompt::Never).await.unwrap() {
            return None;
        }
    }
    Some(clouds)
}

/// A browser whose redirect comes back with another state (a forged or stale answer).
struct ForgedState;

impl Browser for ForgedState {
    async fn authorize(&self, url: &reqwest::Url) -> Result<Callback, AuthError> {
        let network = Network::new(&NetworkConfig::default()).unwrap();
        let mut cb = FollowRedirect(auth::oauth_http(&network)?).authorize(url).await?;
        cb.state = Some("not-the-state-we-sent".into());
        Ok(cb)
    }
}

#[tokio::test]
async fn a_forged_state_is_rejected() {
    let sim = sim().await;
    let cfg = config_for(&sim, &[]);
    let network = Network::new(&cfg.network).unwrap();
    assert!(matches!(auth::genesys(&cfg.genesys, &network, &ForgedState).await, Err(AuthError::StateMismatch)));
    assert!(matches!(auth::salesforce(&cfg.salesforce, &network, &ForgedState).await, Err(AuthError::StateMismatch)));
}

#[tokio::test]
async fn kept_sign_ins_are_used_and_a_rotated_refresh_token_is_kept_at_once() {
    let sim = sim().await;
    settings(&sim, json!({"salesforce_refresh_rotation": true})).await;
    let cfg = config_for(&sim, &[]);
    let store: Arc<dyn SecretStore> = Arc::new(MemoryOnly::new("test"));
    let first = Clouds::connect(&cfg, &store, &BrowserChoice::Simulator).await.unwrap();
    let skey = secrets::key("salesforce", &cfg.salesforce.client_id, &cfg.salesforce.login_base);
    let rt1 = secrets::load(store.as_ref(), &skey).unwrap().unwrap().refresh_token.unwrap();
    drop(first);
    // Second start: no browser; the Salesforce refresh rotates, and the new token is kept.
    let second = kept_only(&cfg, &store).await.expect("the kept sign-ins are enough");
    let rt2 = secrets::load(store.as_ref(), &skey).unwrap().unwrap().refresh_token.unwrap();
    assert_ne!(rt1, rt2, "the rotated refresh token replaced the old one");
    second.salesforce.refresh_session().await.unwrap();
    let rt3 = secrets::load(store.as_ref(), &skey).unwrap().unwrap().refresh_token.unwrap();
    assert_ne!(rt2, rt3);
    // The old one is dead at Salesforce; the kept one works.
    let third = kept_only(&cfg, &store).await.expect("the kept sign-ins are enough");
    assert!(third.salesforce.refresh_session().await.is_ok());
}

#[tokio::test]
async fn sign_out_revokes_and_forgets_and_a_revoked_kept_token_means_a_new_sign_in() {
    let sim = sim().await;
    let cfg = config_for(&sim, &[]);
    let store: Arc<dyn SecretStore> = Arc::new(MemoryOnly::new("test"));
    let clouds = Clouds::connect(&cfg, &store, &BrowserChoice::Simulator).await.unwrap();
    // Another session holding the same kept sign-ins: it sees what the revocation did at the clouds.
    let observer = kept_only(&cfg, &store).await.unwrap();
    assert!(clouds.sign_out(Cloud::Genesys, &cfg, store.as_ref()).await.unwrap());
    assert!(observer.genesys.me().await.is_err(), "the Genesys token is revoked");
    assert!(clouds.genesys.user_id().is_none(), "and forgotten here");
    assert!(clouds.sign_out(Cloud::Salesforce, &cfg, store.as_ref()).await.unwrap());
    assert!(observer.salesforce.refresh_session().await.is_err(), "the refresh token is revoked");
    assert!(!clouds.salesforce.is_signed_in());
    assert!(!clouds.sign_out(Cloud::Genesys, &cfg, store.as_ref()).await.unwrap(), "nothing left to sign out of");
    // Nothing kept: connecting needs the browser again.
    assert!(kept_only(&cfg, &store).await.is_none());
    // A kept Genesys token revoked elsewhere: a new sign-in, not an error.
    let clouds = Clouds::connect(&cfg, &store, &BrowserChoice::Simulator).await.unwrap();
    clouds.genesys.sign_out().await.unwrap();
    let again = Clouds::signed_out(&cfg).unwrap();
    assert!(again.sign_in(Cloud::Genesys, &cfg, &store, Prompt::IfNeeded(&BrowserChoice::Simulator)).await.unwrap());
    assert!(again.sign_in(Cloud::Salesforce, &cfg, &store, Prompt::Never).await.unwrap());
}

/// Every event, as the JSON the CLI would print.
#[derive(Default)]
struct JsonCapture(Mutex<String>);

impl EventSink for JsonCapture {
    fn emit(&self, event: &EngineEvent) {
        let mut s = self.0.lock().unwrap();
        s.push_str(&serde_json::to_string(event).unwrap());
        s.push('\n');
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_or_caller_data_reaches_the_database_events_or_diagnostics_after_a_full_demo() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let capture = Arc::new(JsonCapture::default());
    let opts = companion::demo::DemoOptions { calls: 20, rate_per_min: 600.0, speed: 60.0, ..Default::default() };
    let report = companion::demo::run_on_sim(&sim, &opts, dir.path(), Some(capture.clone())).await.unwrap();
    assert_eq!(report.missed_segments(), 0);
    let issued: Value =
        reqwest::get(format!("{}/_sim/tokens/issued", sim.urls().control)).await.unwrap().json().await.unwrap();
    let tokens: Vec<String> = ["genesys", "salesforce_sessions", "salesforce_refresh"]
        .iter()
        .flat_map(|k| issued[k].as_array().unwrap().iter().map(|t| t.as_str().unwrap().to_string()))
        .collect();
    assert!(tokens.len() >= 3, "{issued}");
    let mut files = vec![];
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let p = entry.unwrap().path();
        files.push((p.display().to_string(), std::fs::read(&p).unwrap()));
    }
    assert!(files.iter().any(|(n, _)| n.ends_with("companion.db")));
    let events = capture.0.lock().unwrap().clone();
    // The diagnostics bundle: ids only.
    let u = sim.urls();
    let flags = vec![
        format!("genesys.api_base={}", u.genesys_api),
        format!("genesys.login_base={}", u.genesys_login),
        format!("genesys.streaming_base={}", u.genesys_streaming),
        format!("salesforce.login_base={}", u.salesforce_login),
    ];
    let loaded = companion::config::load(&companion::config::Sources { flags, ..Default::default() }).unwrap();
    let db = dir.path().join("companion.db");
    let file = companion::store::DbFile::plain(&db);
    let bundle = companion::diagnostics::bundle(Some(&file), &loaded, Value::Null).unwrap().to_string();
    assert!(bundle.contains(&report.pops[0].interaction_id), "the bundle has the calls' ids");
    for p in &report.pops {
        if let Some(e164) = &p.address {
            assert!(!bundle.contains(e164.trim_start_matches('+')), "a caller's number is in the bundle");
        }
        if let companion::screenpop::PopOutcome::Single { candidate } = &p.outcome {
            assert!(!bundle.contains(&candidate.name), "a contact's name is in the bundle");
        }
    }
    for note in ["invoice", "delivery address", "portal password", "premium plan"] {
        assert!(!bundle.contains(note), "a disposition's notes are in the bundle");
    }
    let files_and_bundle: Vec<(String, Vec<u8>)> =
        files.iter().cloned().chain(std::iter::once(("diagnostics bundle".to_string(), bundle.into_bytes()))).collect();
    let files = files_and_bundle;
    for t in &tokens {
        // The opaque part of a Salesforce session is after the org id; Genesys tokens are opaque whole.
        let secret = t.rsplit('!').next().unwrap();
        for (name, bytes) in &files {
            assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "a token value is in {name}");
        }
        assert!(!events.contains(secret), "a token value is in the event stream");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rotating_log_files_carry_no_token() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let u = sim.urls().clone();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_companion-under-test"))
        .args(["run", "--auto-approve", "--log-dir"])
        .arg(&logs)
        .args(["--set", &format!("genesys.api_base={}", u.genesys_api)])
        .args(["--set", &format!("genesys.login_base={}", u.genesys_login)])
        .args(["--set", &format!("genesys.streaming_base={}", u.genesys_streaming)])
        .args(["--set", &format!("salesforce.login_base={}", u.salesforce_login)])
        .args(["--set", &format!("store.path={}", dir.path().join("c.db").display())])
        .args(["--set", "outbox.batch_window_secs=0"])
        .env("COMPANION_LOG", "debug")
        .env("COMPANION_CONFIG", "/nonexistent/config.toml")
        .env("COMPANION_MANAGED_CONFIG", "/nonexistent/managed.toml")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let id = sim
        .start_scenario(cloud_sim::scenario::ScenarioSpec {
            calls: 8,
            rate_per_min: 600.0 / 60.0,
            speed: 60.0,
            abandon_rate: 0.0,
            ..Default::default()
        })
        .unwrap();
    eventually("the scenario", 60, async || sim.scenario(&id).is_some_and(|p| p.done)).await;
    // The engine logs each pop as it happens: wait for the last one in the file, not a fixed time.
    let placed = sim.scenario(&id).unwrap().placed as usize;
    let read_logs = || {
        std::fs::read_dir(&logs)
            .map(|d| d.filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok()).collect::<String>())
            .unwrap_or_default()
    };
    eventually("every pop in the log files", 30, async || read_logs().matches(" pop").count() >= placed).await;
    let _ = child.kill();
    let _ = child.wait();
    let issued: Value =
        reqwest::get(format!("{}/_sim/tokens/issued", sim.urls().control)).await.unwrap().json().await.unwrap();
    let mut text = String::new();
    for e in std::fs::read_dir(&logs).unwrap() {
        text.push_str(&std::fs::read_to_string(e.unwrap().path()).unwrap());
    }
    assert!(text.contains("notification feed") && text.contains("pop"), "the log has the engine's story");
    for k in ["genesys", "salesforce_sessions", "salesforce_refresh"] {
        for t in issued[k].as_array().unwrap() {
            let secret = t.as_str().unwrap().rsplit('!').next().unwrap();
            assert!(!text.contains(secret), "a {k} token is in the log files");
        }
    }
}

#[tokio::test]
async fn an_outage_at_start_keeps_the_kept_sign_in_and_a_failed_revocation_still_signs_out_here() {
    let sim = sim().await;
    let cfg = config_for(&sim, &[]);
    let store: Arc<dyn SecretStore> = Arc::new(MemoryOnly::new("test"));
    Clouds::connect(&cfg, &store, &BrowserChoice::Simulator).await.unwrap();
    let skey = secrets::key("salesforce", &cfg.salesforce.client_id, &cfg.salesforce.login_base);
    // Salesforce's login host is down at start: resuming fails, and the refresh token is kept.
    let fault = json!({"kind": "server_error", "service": "salesforce_login", "status": 503, "rate": 1.0});
    control(&sim, "/_sim/faults", fault).await;
    let clouds = Clouds::signed_out(&cfg).unwrap();
    let e = clouds.sign_in(Cloud::Salesforce, &cfg, &store, Prompt::Never).await.unwrap_err();
    assert!(matches!(e, companion::signin::SignInError::Salesforce(_)), "{e}");
    assert!(
        secrets::load(store.as_ref(), &skey).unwrap().and_then(|s| s.refresh_token).is_some(),
        "an outage is not a refusal: the kept sign-in stays"
    );
    // The revocation cannot reach Salesforce either: signed out here all the same, and said.
    let e = clouds.sign_out(Cloud::Salesforce, &cfg, store.as_ref()).await.unwrap_err();
    assert!(e.to_string().contains("signed out on this machine"), "{e}");
    assert!(secrets::load(store.as_ref(), &skey).unwrap().is_none(), "forgotten here");
    assert!(!clouds.salesforce.is_signed_in());
}
