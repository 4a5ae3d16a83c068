//! A simulator, a signed-in engine on a temporary store, and an event recorder.

use cloud_sim::config::PopulationConfig;
use cloud_sim::{SimConfig, SimHandle};
use companion::config::{self, Config, Sources};
use companion::engine::{EngineHandle, EngineSetup};
use companion::events::{EngineEvent, Recorder};
use companion::genesys::feed::ConnectionState;
use companion::screenpop::PopDecision;
use companion::signin::Clouds;
use companion::store::Store;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

pub async fn sim() -> SimHandle {
    SimHandle::start(sim_config()).await.unwrap()
}

/// The tests' simulator: a small population.
pub fn sim_config() -> SimConfig {
    SimConfig {
        population: PopulationConfig {
            accounts: 60,
            contacts: 600,
            leads: 60,
            shared_numbers: 30,
            unknown_callers: 120,
        },
        ..SimConfig::default()
    }
}

/// The configuration for a simulator, with quick reconnects, plus extra `key=value` flags.
pub fn config_for(sim: &SimHandle, extra: &[&str]) -> Config {
    let u = sim.urls();
    let mut flags = vec![
        format!("genesys.api_base={}", u.genesys_api),
        format!("genesys.login_base={}", u.genesys_login),
        format!("genesys.streaming_base={}", u.genesys_streaming),
        format!("salesforce.login_base={}", u.salesforce_login),
        "genesys.reconnect_initial_ms=50".into(),
        "genesys.reconnect_max_ms=400".into(),
        "genesys.silence_timeout_secs=3".into(),
    ];
    flags.extend(extra.iter().map(|s| s.to_string()));
    config::load(&Sources { flags, ..Default::default() }).unwrap().config
}

pub async fn sign_in(cfg: &Config) -> Clouds {
    Clouds::simulated(cfg).await.unwrap()
}

pub struct Running {
    pub engine: EngineHandle,
    pub events: Arc<Recorder>,
    pub signed: Clouds,
    /// The signed-in agent's Genesys user id.
    pub user: String,
}

pub async fn start_engine(cfg: Config, store: Arc<Store>) -> Running {
    let signed = sign_in(&cfg).await;
    run_signed(cfg, store, signed).await
}

/// An engine signed in to Genesys as another seeded agent (a token the simulator mints for them).
pub async fn start_engine_as(cfg: Config, store: Arc<Store>, user_id: &str, name: &str, sim: &SimHandle) -> Running {
    let signed = sign_in(&cfg).await;
    let token = control(sim, "/_sim/tokens", json!({"cloud": "genesys", "user": user_id})).await["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    signed.genesys.signed_in(token, user_id.to_string(), name.to_string(), None);
    run_signed(cfg, store, signed).await
}

/// Starts the engine on signed-in clouds and waits for its feed to connect.
async fn run_signed(cfg: Config, store: Arc<Store>, signed: Clouds) -> Running {
    let events = Arc::new(Recorder::default());
    let engine = EngineHandle::start(EngineSetup::new(Arc::new(cfg), store, signed.clone(), events.clone())).unwrap();
    let mut conn = engine.connection();
    let ok = tokio::time::timeout(
        Duration::from_secs(10),
        conn.wait_for(|s| matches!(s, ConnectionState::Connected { .. })),
    )
    .await
    .is_ok();
    assert!(ok, "the feed connects");
    let user = signed.user_id().unwrap();
    Running { engine, events, signed, user }
}

pub fn temp_store() -> (tempfile::TempDir, Arc<Store>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(&dir.path().join("c.db")).unwrap());
    (dir, store)
}

pub fn pops(events: &Recorder) -> Vec<PopDecision> {
    events.events().into_iter().filter_map(|e| if let EngineEvent::Pop(p) = e { Some(*p) } else { None }).collect()
}

pub use cloud_sim::wait::eventually;

pub async fn control(sim: &SimHandle, path: &str, body: Value) -> Value {
    let r = reqwest::Client::new().post(format!("{}{path}", sim.urls().control)).json(&body).send().await.unwrap();
    assert!(r.status().is_success(), "{path} {}", r.status());
    r.json().await.unwrap()
}

pub async fn settings(sim: &SimHandle, patch: Value) {
    let r = reqwest::Client::new()
        .patch(format!("{}/_sim/settings", sim.urls().control))
        .json(&patch)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
}

/// Requests the simulator counted for an endpoint key (`salesforce GET /services/data/{v}/search`).
pub fn count(sim: &SimHandle, key: &str) -> u64 {
    sim.stats()["endpoints"][key]["count"].as_u64().unwrap_or(0)
}

pub const SEARCH: &str = "salesforce GET /services/data/{v}/search";

/// The catch-up's read of the agent's active conversations.
pub const ACTIVE_CONVERSATIONS: &str = "genesys_api GET /api/v2/conversations";

/// A call placed by hand: its conversation (to step it) and this agent's segment (what pops and is
/// queued).
pub struct Placed {
    pub cid: String,
    pub id: String,
}

/// Places a call stepped by hand (no earlier alert that times out, so the segment is the first agent
/// participant).
pub async fn place(sim: &SimHandle, ani: &str, attributes: Value) -> Placed {
    let v = control(
        sim,
        "/_sim/calls",
        json!({"ani": ani, "attributes": attributes, "manual": true, "timed_out_agent": false}),
    )
    .await;
    let cid = v["conversation_id"].as_str().unwrap().to_string();
    let id = companion::genesys::segment::interaction_id(&cid, v["agent_participant_id"].as_str().unwrap());
    Placed { cid, id }
}

/// Log records in the simulator's Salesforce, per interaction id.
pub async fn crm(sim: &cloud_sim::SimHandle) -> HashMap<String, Vec<Value>> {
    let v: Value = reqwest::get(format!("{}/_sim/salesforce/Disposition_Log__c", sim.urls().control))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut out: HashMap<String, Vec<Value>> = HashMap::new();
    for r in v["records"].as_array().unwrap() {
        out.entry(r["Interaction_ID__c"].as_str().unwrap().to_string()).or_default().push(r.clone());
    }
    out
}
