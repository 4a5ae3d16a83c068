//! Notification channels, subscriptions and the streaming socket.

use crate::common::*;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

const WAIT: Duration = Duration::from_secs(5);

async fn create_channel(sim: &cloud_sim::SimHandle, token: &str) -> Value {
    http()
        .post(format!("{}/api/v2/notifications/channels", sim.urls().genesys_api))
        .bearer_auth(token)
        .fetch_json()
        .await
}

#[tokio::test]
async fn a_channel_has_the_documented_shape_and_lifetime() {
    let sim = sim().await;
    let (token, _) = genesys_token(&sim).await;
    let ch = create_channel(&sim, &token).await;
    let id = ch["id"].as_str().unwrap();
    assert!(id.starts_with("streaming-"), "{id}");
    assert_eq!(ch["connectUri"], format!("{}/channels/{id}", sim.urls().genesys_streaming));
    let expires = chrono::DateTime::parse_from_rfc3339(ch["expires"].as_str().unwrap()).unwrap();
    let hours = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_minutes() as f64 / 60.0;
    assert!((23.9..=24.1).contains(&hours), "{hours}");
    let head = |id: String| {
        http().head(format!("{}/api/v2/notifications/channels/{id}", sim.urls().genesys_api)).bearer_auth(&token).send()
    };
    assert_eq!(head(id.into()).await.unwrap().status(), 200);
    assert_eq!(head("streaming-0-nope".into()).await.unwrap().status(), 404);
    let list: Value = http()
        .get(format!("{}/api/v2/notifications/channels", sim.urls().genesys_api))
        .bearer_auth(&token)
        .fetch_json()
        .await;
    assert_eq!(list["entities"][0]["id"], id);
}

#[tokio::test]
async fn subscriptions_replace_add_list_clear_and_check_permissions() {
    let sim = sim().await;
    let (token, uid) = genesys_token(&sim).await;
    let (_, other_uid) = genesys_token_for(&sim, "mia.chen@example.com").await;
    let ch = create_channel(&sim, &token).await;
    let url = format!(
        "{}/api/v2/notifications/channels/{}/subscriptions",
        sim.urls().genesys_api,
        ch["id"].as_str().unwrap()
    );
    let mine = format!("v2.users.{uid}.conversations");
    let r: Value = http().put(&url).bearer_auth(&token).json(&json!([{"id": mine}])).fetch_json().await;
    assert_eq!(r["entities"], json!([{"id": mine, "state": "Permitted"}]));
    // Another agent's conversations: 403 for the whole request, or Rejected with ignoreErrors.
    let theirs = format!("v2.users.{other_uid}.conversations");
    let r = http().post(&url).bearer_auth(&token).json(&json!([{"id": theirs}])).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let r: Value = http()
        .post(format!("{url}?ignoreErrors=true"))
        .bearer_auth(&token)
        .json(&json!([{"id": theirs}, {"id": format!("v2.users.{other_uid}.presence")}]))
        .fetch_json()
        .await;
    let states: Vec<(&str, &str)> = r["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["id"].as_str().unwrap(), e["state"].as_str().unwrap()))
        .collect();
    assert!(states.contains(&(mine.as_str(), "Permitted")));
    assert!(states.contains(&(theirs.as_str(), "Rejected")));
    let r = http().post(&url).bearer_auth(&token).json(&json!([{"id": "v2.bogus"}])).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let listed: Value = http().get(&url).bearer_auth(&token).fetch_json().await;
    assert_eq!(listed["entities"].as_array().unwrap().len(), 2);
    assert_eq!(http().delete(&url).bearer_auth(&token).send().await.unwrap().status(), 204);
    let listed: Value = http().get(&url).bearer_auth(&token).fetch_json().await;
    assert_eq!(listed["entities"], json!([]));
    // The 1000-topic limit.
    let many: Vec<Value> =
        (0..1001).map(|i| json!({"id": format!("v2.users.00000000-0000-4000-8000-{i:012}.presence")})).collect();
    let r = http().put(&url).bearer_auth(&token).json(&many).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let r = http().put(&url).bearer_auth(&token).json(&many[..1000]).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn conversation_events_arrive_as_full_snapshots_in_the_envelope() {
    let sim = sim().await;
    let (token, uid) = genesys_token(&sim).await;
    let (_, mut ws) = subscribed_socket(&sim, &token, &uid).await;
    let placed = manual_call(&sim, "tel:+14155550123").await;
    let ev = next_event(&mut ws, WAIT).await.expect("alerting event");
    assert_eq!(ev["topicName"], format!("v2.users.{uid}.conversations"));
    assert_eq!(ev["version"], "2");
    assert!(ev["metadata"]["CorrelationId"].is_string());
    let body = &ev["eventBody"];
    assert_eq!(body["id"], placed["conversation_id"]);
    let agent = agent_of(body, &uid);
    assert_eq!(agent["calls"][0]["state"], "alerting");
    assert_eq!(agent["calls"][0]["direction"], "inbound");
    assert!(agent.get("state").is_none(), "no participant-level state on this topic");
    let customer = body["participants"].as_array().unwrap().iter().find(|p| p["purpose"] == "customer").unwrap();
    assert_eq!(customer["calls"][0]["self"]["addressNormalized"], "tel:+14155550123");
    let cid = placed["conversation_id"].as_str().unwrap();
    let mut states = vec![];
    for _ in 0..3 {
        control(&sim, &format!("/_sim/calls/{cid}/advance"), json!({})).await;
        let ev = next_event(&mut ws, WAIT).await.unwrap();
        let a = agent_of(&ev["eventBody"], &uid).clone();
        states.push((
            a["calls"][0]["state"].as_str().unwrap().to_string(),
            a["calls"][0]["afterCallWork"]["state"].as_str().unwrap_or("").to_string(),
            a.get("wrapup").is_some(),
        ));
    }
    assert_eq!(
        states,
        [
            ("connected".into(), "unknown".into(), false),
            ("disconnected".into(), "pending".into(), false),
            ("disconnected".into(), "complete".into(), true)
        ]
    );
}

#[tokio::test]
async fn heartbeats_and_application_ping() {
    let sim = sim_with(|c| c.settings.heartbeat_secs = 0.2).await;
    let (token, uid) = genesys_token(&sim).await;
    let (_, mut ws) = subscribed_socket(&sim, &token, &uid).await;
    let msg = tokio::time::timeout(WAIT, ws.next()).await.unwrap().unwrap().unwrap();
    let v: Value = serde_json::from_str(msg.to_text().unwrap()).unwrap();
    assert_eq!(v, json!({"topicName": "channel.metadata", "eventBody": {"message": "WebSocket Heartbeat"}}));
    ws.send(Message::Text(r#"{"message":"ping"}"#.into())).await.unwrap();
    let pong = next_event(&mut ws, WAIT).await.unwrap();
    assert_eq!(pong, json!({"topicName": "channel.metadata", "eventBody": {"message": "pong"}}));
}

#[tokio::test]
async fn a_second_socket_kicks_the_first() {
    let sim = sim().await;
    let (token, uid) = genesys_token(&sim).await;
    let (id, mut first) = subscribed_socket(&sim, &token, &uid).await;
    let uri = format!("{}/channels/{id}", sim.urls().genesys_streaming);
    let (mut second, _) = tokio_tungstenite::connect_async(&uri).await.unwrap();
    assert!(next_event(&mut first, WAIT).await.is_none(), "the first socket is closed");
    manual_call(&sim, "tel:+14155550123").await;
    assert!(next_event(&mut second, WAIT).await.is_some());
}

#[tokio::test]
async fn nothing_is_replayed_after_a_reconnect() {
    let sim = sim().await;
    let (token, uid) = genesys_token(&sim).await;
    let (id, ws) = subscribed_socket(&sim, &token, &uid).await;
    drop(ws);
    cloud_sim::wait::eventually("the server to see the socket close", 5, async || sim.stats()["sockets"]["open"] == 0)
        .await;
    let placed = manual_call(&sim, "tel:+14155550123").await;
    let cid = placed["conversation_id"].as_str().unwrap();
    let (mut ws, _) =
        tokio_tungstenite::connect_async(format!("{}/channels/{id}", sim.urls().genesys_streaming)).await.unwrap();
    control(&sim, &format!("/_sim/calls/{cid}/advance"), json!({})).await;
    let ev = next_event(&mut ws, WAIT).await.unwrap();
    assert_eq!(
        agent_of(&ev["eventBody"], &uid)["calls"][0]["state"],
        "connected",
        "the alerting event was not replayed"
    );
}

#[tokio::test]
async fn socket_closing_then_close() {
    let sim = sim().await;
    let (token, uid) = genesys_token(&sim).await;
    let (_, mut ws) = subscribed_socket(&sim, &token, &uid).await;
    let r = control(&sim, "/_sim/sockets/closing", json!({"grace_ms": 100})).await;
    assert_eq!(r["sockets"], 1);
    let ev = next_event(&mut ws, WAIT).await.unwrap();
    assert_eq!(ev["topicName"], "v2.system.socket_closing");
    assert!(next_event(&mut ws, WAIT).await.is_none());
}

#[tokio::test]
async fn dropped_sockets_end_without_a_close_frame() {
    let sim = sim().await;
    let (token, uid) = genesys_token(&sim).await;
    let (_, mut ws) = subscribed_socket(&sim, &token, &uid).await;
    control(&sim, "/_sim/sockets/drop", json!({})).await;
    let end = tokio::time::timeout(WAIT, ws.next()).await.unwrap();
    assert!(!matches!(end, Some(Ok(Message::Close(_)))), "{end:?}");
}

#[tokio::test]
async fn channels_expire_after_24_hours_unless_resubscribed() {
    let sim = sim().await;
    let t = control(&sim, "/_sim/tokens", json!({"cloud": "genesys", "lifetime_secs": 172_800})).await;
    let (token, uid) = (t["access_token"].as_str().unwrap().to_string(), t["user_id"].as_str().unwrap().to_string());
    let (id, mut ws) = subscribed_socket(&sim, &token, &uid).await;
    let head = || {
        http().head(format!("{}/api/v2/notifications/channels/{id}", sim.urls().genesys_api)).bearer_auth(&token).send()
    };
    advance_clock(&sim, 20.0 * 3600.0).await;
    // Re-subscribing extends the channel by another 24 h.
    let url = format!("{}/api/v2/notifications/channels/{id}/subscriptions", sim.urls().genesys_api);
    http()
        .put(&url)
        .bearer_auth(&token)
        .json(&json!([{"id": format!("v2.users.{uid}.conversations")}]))
        .send()
        .await
        .unwrap();
    advance_clock(&sim, 20.0 * 3600.0).await;
    assert_eq!(head().await.unwrap().status(), 200);
    advance_clock(&sim, 5.0 * 3600.0).await;
    assert_eq!(head().await.unwrap().status(), 404);
    assert!(next_event(&mut ws, WAIT).await.is_none(), "the socket of an expired channel is closed");
}

#[tokio::test]
async fn the_21st_channel_evicts_the_oldest_unconnected_one() {
    let sim = sim().await;
    let (token, uid) = genesys_token(&sim).await;
    let (connected, _ws) = subscribed_socket(&sim, &token, &uid).await;
    let mut ids = vec![];
    for _ in 0..19 {
        ids.push(create_channel(&sim, &token).await["id"].as_str().unwrap().to_string());
    }
    create_channel(&sim, &token).await;
    let list: Value = http()
        .get(format!("{}/api/v2/notifications/channels", sim.urls().genesys_api))
        .bearer_auth(&token)
        .fetch_json()
        .await;
    let listed: Vec<&str> = list["entities"].as_array().unwrap().iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(listed.len(), 20);
    assert!(listed.contains(&connected.as_str()), "the connected channel survives");
    assert!(!listed.contains(&ids[0].as_str()), "the oldest unconnected one went");
}

#[tokio::test]
async fn revoking_the_token_tells_the_socket() {
    let sim = sim().await;
    let (token, uid) = genesys_token(&sim).await;
    let (id, mut ws) = subscribed_socket(&sim, &token, &uid).await;
    http().delete(format!("{}/api/v2/tokens/me", sim.urls().genesys_api)).bearer_auth(&token).send().await.unwrap();
    let ev = next_event(&mut ws, WAIT).await.unwrap();
    assert_eq!(ev["topicName"], format!("v2.system.token_revoked.{id}"));
    assert_eq!(ev["eventBody"]["reason"], "user_tokens_revoked");
    assert!(next_event(&mut ws, WAIT).await.is_none());
}

#[tokio::test]
async fn quirks_repeat_snapshots_and_an_earlier_agent_times_out() {
    let sim = sim_with(|c| c.settings.quirks.repeat_rate = 1.0).await;
    let (token, uid) = genesys_token(&sim).await;
    let (_, mut ws) = subscribed_socket(&sim, &token, &uid).await;
    let placed =
        control(&sim, "/_sim/calls", json!({"ani": "tel:+14155550123", "manual": true, "timed_out_agent": true})).await;
    let a = next_event(&mut ws, WAIT).await.unwrap();
    let b = next_event(&mut ws, WAIT).await.unwrap();
    assert_eq!(a["eventBody"], b["eventBody"], "the same snapshot twice");
    let agents: Vec<&Value> =
        a["eventBody"]["participants"].as_array().unwrap().iter().filter(|p| p["purpose"] == "agent").collect();
    assert_eq!(agents.len(), 1);
    assert_eq!(agents[0]["calls"][0]["state"], "alerting");
    let earlier_pid = agents[0]["id"].clone();
    control(&sim, &format!("/_sim/calls/{}/advance", placed["conversation_id"].as_str().unwrap()), json!({})).await;
    let c = next_event(&mut ws, WAIT).await.unwrap();
    let agents: Vec<&Value> = c["eventBody"]["participants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["purpose"] == "agent" && p["userId"] == uid.as_str())
        .collect();
    assert_eq!(agents.len(), 2);
    assert_eq!(agents[0]["id"], earlier_pid);
    assert_eq!(agents[0]["calls"][0]["state"], "disconnected");
    assert_eq!(agents[0]["calls"][0]["disconnectType"], "timeout");
    assert_eq!(agents[1]["calls"][0]["state"], "alerting");
    assert_eq!(agents[1]["id"], placed["agent_participant_id"]);
}

#[tokio::test]
async fn frame_faults_duplicate_and_reorder() {
    let sim = sim().await;
    let (token, uid) = genesys_token(&sim).await;
    let (_, mut ws) = subscribed_socket(&sim, &token, &uid).await;
    control(&sim, "/_sim/faults", json!({"kind": "reorder_frame", "count": 1})).await;
    let placed = manual_call(&sim, "tel:+14155550123").await;
    let cid = placed["conversation_id"].as_str().unwrap();
    control(&sim, &format!("/_sim/calls/{cid}/advance"), json!({})).await;
    let first = next_event(&mut ws, WAIT).await.unwrap();
    let second = next_event(&mut ws, WAIT).await.unwrap();
    assert_eq!(agent_of(&first["eventBody"], &uid)["calls"][0]["state"], "connected", "the later snapshot came first");
    assert_eq!(agent_of(&second["eventBody"], &uid)["calls"][0]["state"], "alerting");
    control(&sim, "/_sim/faults", json!({"kind": "duplicate_frame", "count": 1})).await;
    control(&sim, &format!("/_sim/calls/{cid}/advance"), json!({})).await;
    let a = next_event(&mut ws, WAIT).await.unwrap();
    let b = next_event(&mut ws, WAIT).await.unwrap();
    assert_eq!(a["eventBody"], b["eventBody"]);
}
