//! Helpers: a small simulator, tokens, PKCE, and a socket reader that skips heartbeats.

use base64::Engine;
use cloud_sim::config::PopulationConfig;
use cloud_sim::{SimConfig, SimHandle};
use futures_util::StreamExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// A simulator with a small population, quick to start.
pub async fn sim() -> SimHandle {
    sim_with(|_| {}).await
}

/// A small simulator with a tweak of the config.
pub async fn sim_with(f: impl FnOnce(&mut SimConfig)) -> SimHandle {
    let mut config = SimConfig {
        population: PopulationConfig {
            accounts: 40,
            contacts: 300,
            leads: 40,
            shared_numbers: 15,
            unknown_callers: 50,
        },
        ..SimConfig::default()
    };
    config.settings.quirks.repeat_rate = 0.0;
    config.settings.quirks.timed_out_agent_rate = 0.0;
    f(&mut config);
    SimHandle::start(config).await.expect("simulator starts")
}

/// A client that does not follow redirects (tests look at the 302 themselves).
pub fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// POSTs JSON to the control API and returns the JSON answer, asserting success.
pub async fn control(sim: &SimHandle, path: &str, body: Value) -> Value {
    let r = http().post(format!("{}{path}", sim.urls().control)).json(&body).send().await.unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
    r.json().await.unwrap()
}

/// PATCHes settings.
pub async fn settings(sim: &SimHandle, patch: Value) {
    let r = http().patch(format!("{}/_sim/settings", sim.urls().control)).json(&patch).send().await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
}

/// Advances the simulated clock.
pub async fn advance_clock(sim: &SimHandle, seconds: f64) {
    control(sim, "/_sim/clock/advance", json!({"seconds": seconds})).await;
}

/// A Genesys token for the first agent: (token, user id).
pub async fn genesys_token(sim: &SimHandle) -> (String, String) {
    let v = control(sim, "/_sim/tokens", json!({"cloud": "genesys"})).await;
    (v["access_token"].as_str().unwrap().into(), v["user_id"].as_str().unwrap().into())
}

/// A Genesys token for another agent.
pub async fn genesys_token_for(sim: &SimHandle, email: &str) -> (String, String) {
    let v = control(sim, "/_sim/tokens", json!({"cloud": "genesys", "user": email})).await;
    (v["access_token"].as_str().unwrap().into(), v["user_id"].as_str().unwrap().into())
}

/// A Salesforce session token.
pub async fn sf_token(sim: &SimHandle) -> String {
    let v = control(sim, "/_sim/tokens", json!({"cloud": "salesforce"})).await;
    v["access_token"].as_str().unwrap().into()
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    let verifier = format!("v3r1f13r-{}-abcdefghijklmnopqrstuvwxyz0123456789", std::process::id());
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// A query parameter of a URL.
pub fn query_param(url: &str, key: &str) -> Option<String> {
    reqwest::Url::parse(url).unwrap().query_pairs().find(|(k, _)| k == key).map(|(_, v)| v.into_owned())
}

/// A channel subscribed to the user's conversations, with its socket connected: (channel id, socket).
pub async fn subscribed_socket(sim: &SimHandle, token: &str, user_id: &str) -> (String, Ws) {
    let c = http();
    let ch: Value = c
        .post(format!("{}/api/v2/notifications/channels", sim.urls().genesys_api))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = ch["id"].as_str().unwrap().to_string();
    let r = c
        .put(format!("{}/api/v2/notifications/channels/{id}/subscriptions", sim.urls().genesys_api))
        .bearer_auth(token)
        .json(&json!([{"id": format!("v2.users.{user_id}.conversations")}]))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (ws, _) = tokio_tungstenite::connect_async(ch["connectUri"].as_str().unwrap()).await.unwrap();
    (id, ws)
}

/// The next frame that is not a heartbeat, as JSON; `None` on close or after the timeout.
pub async fn next_event(ws: &mut Ws, timeout: Duration) -> Option<Value> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next()).await.ok()??;
        match msg {
            Ok(Message::Text(t)) => {
                let v: Value = serde_json::from_str(t.as_str()).unwrap();
                if v["topicName"] == "channel.metadata" && v["eventBody"]["message"] == "WebSocket Heartbeat" {
                    continue;
                }
                return Some(v);
            }
            Ok(Message::Close(_)) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}

/// Places a call stepped by hand.
pub async fn manual_call(sim: &SimHandle, ani: &str) -> Value {
    control(sim, "/_sim/calls", json!({"ani": ani, "manual": true, "attributes": {"contact_id": "0038c00000000gIAAQ"}}))
        .await
}

/// The agent participant of a snapshot for a user (the latest one).
pub fn agent_of<'a>(conv: &'a Value, user_id: &str) -> &'a Value {
    conv["participants"]
        .as_array()
        .unwrap()
        .iter()
        .rfind(|p| p["purpose"] == "agent" && p["userId"] == user_id)
        .unwrap()
}

/// Sends a request and reads its JSON answer (any failure fails the test).
#[allow(async_fn_in_trait)]
pub trait FetchJson {
    async fn fetch_json(self) -> Value;
}

impl FetchJson for reqwest::RequestBuilder {
    async fn fetch_json(self) -> Value {
        self.send().await.unwrap().json().await.unwrap()
    }
}
