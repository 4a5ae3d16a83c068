//! Notification channels, subscriptions and the streaming WebSocket. Events are sent only to sockets
//! that are connected at that moment: nothing is replayed, as in the real service.

use super::{Caller, GenesysState};
use crate::clock::iso;
use crate::faults::FrameFault;
use crate::http::genesys_error;
use crate::ids;
use crate::state::{Shared, SimState};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{TimeZone, Utc};
use futures_util::{SinkExt, StreamExt};
use rand::Rng;
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;
use tokio::sync::mpsc;

mod socket;

pub use socket::socket;
pub(crate) use socket::{
    close_sockets_for_maintenance, drop_sockets, publish_conversation, reap_expired, revoke_channels_of_token,
};

/// Channels per user and OAuth client.
pub const MAX_CHANNELS: usize = 20;
/// Topics per channel.
pub const MAX_TOPICS: usize = 1000;

/// What the socket task is told to do.
#[derive(Debug)]
pub enum Outbound {
    /// Send a text frame.
    Frame(String),
    /// Send a close frame with this reason, then end.
    Close(String),
    /// End without a close frame (a dropped connection).
    Drop,
}

/// The connected socket of a channel.
#[derive(Debug)]
pub struct SocketSlot {
    pub id: u64,
    pub tx: mpsc::UnboundedSender<Outbound>,
}

/// A notification channel.
#[derive(Debug)]
pub struct Channel {
    pub id: String,
    pub user_id: String,
    pub client_id: String,
    pub token: String,
    pub created_ms: i64,
    pub expires_ms: i64,
    pub topics: Vec<String>,
    pub socket: Option<SocketSlot>,
    /// A frame held back by the reorder fault, sent after the next one.
    held: Option<String>,
}

impl Channel {
    fn send(&self, out: Outbound) -> bool {
        self.socket.as_ref().is_some_and(|s| s.tx.send(out).is_ok())
    }

    fn json(&self, streaming_base: &str) -> Value {
        json!({
            "connectUri": format!("{streaming_base}/channels/{}", self.id),
            "id": self.id,
            "expires": Utc.timestamp_millis_opt(self.expires_ms).single().map(iso),
        })
    }
}

fn envelope(topic: &str, body: Value) -> String {
    json!({"topicName": topic, "version": "2", "eventBody": body, "metadata": {"CorrelationId": crate::http::correlation_id()}})
        .to_string()
}

fn heartbeat() -> String {
    json!({"topicName": "channel.metadata", "eventBody": {"message": "WebSocket Heartbeat"}}).to_string()
}

fn pong() -> String {
    json!({"topicName": "channel.metadata", "eventBody": {"message": "pong"}}).to_string()
}

/// `POST /api/v2/notifications/channels`.
pub async fn create_channel(State(state): State<Shared>, Extension(caller): Extension<Caller>) -> Response {
    let now = state.clock.now_ms();
    let lifetime = state.settings().channel_lifetime_secs as i64 * 1000;
    let mut gs = state.genesys();
    let mine: Vec<usize> = gs
        .channels
        .iter()
        .enumerate()
        .filter(|(_, c)| c.user_id == caller.user_id && c.client_id == caller.client_id)
        .map(|(i, _)| i)
        .collect();
    if mine.len() >= MAX_CHANNELS {
        // The 21st evicts the oldest, unconnected first.
        let victim = mine
            .iter()
            .copied()
            .min_by_key(|&i| (gs.channels[i].socket.is_some(), gs.channels[i].created_ms))
            .expect("at least one channel");
        let old = gs.channels.remove(victim);
        old.send(Outbound::Close("channel removed: channel limit reached".into()));
    }
    let id = ids::channel_id(&mut *state.rng());
    let ch = Channel {
        id,
        user_id: caller.user_id.clone(),
        client_id: caller.client_id.clone(),
        token: caller.token.clone(),
        created_ms: now,
        expires_ms: now + lifetime,
        topics: Vec::new(),
        socket: None,
        held: None,
    };
    let body = ch.json(&state.urls().genesys_streaming);
    gs.channels.push(ch);
    Json(body).into_response()
}

/// `GET /api/v2/notifications/channels`.
pub async fn list_channels(State(state): State<Shared>, Extension(caller): Extension<Caller>) -> Response {
    let gs = state.genesys();
    let base = &state.urls().genesys_streaming;
    let entities: Vec<Value> = gs
        .channels
        .iter()
        .filter(|c| c.user_id == caller.user_id && c.client_id == caller.client_id)
        .map(|c| c.json(base))
        .collect();
    Json(json!({"entities": entities})).into_response()
}

/// `HEAD /api/v2/notifications/channels/{id}`: 200 while the channel exists, 404 once it is gone.
pub async fn head_channel(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    reap_expired(&state);
    let gs = state.genesys();
    if gs.channels.iter().any(|c| c.id == id) {
        StatusCode::OK.into_response()
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}

/// `?ignoreErrors=true`.
#[derive(Debug, Deserialize)]
pub struct SubscribeQuery {
    #[serde(rename = "ignoreErrors", default)]
    ignore_errors: bool,
}

/// One entry of a subscription body.
#[derive(Debug, Deserialize)]
pub struct TopicRef {
    id: String,
}

enum TopicCheck {
    Permitted,
    Forbidden,
    Invalid,
}

/// User topics the simulator knows. The conversation topics are the agent's own; presence and routing
/// status of other users are allowed, as for a supervisor.
const USER_TOPICS: [&str; 7] =
    ["conversations", "conversations.calls", "presence", "routingStatus", "conversationsummary", "activity", "station"];

fn check_topic(topic: &str, user_id: &str) -> TopicCheck {
    let Some(rest) = topic.strip_prefix("v2.users.") else {
        return TopicCheck::Invalid;
    };
    let Some((uid, tail)) = rest.split_once('.') else {
        return TopicCheck::Invalid;
    };
    let uid_ok = uid.len() == 36 && uid.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    if !uid_ok || !USER_TOPICS.contains(&tail) {
        return TopicCheck::Invalid;
    }
    if uid == user_id || !tail.starts_with("conversations") { TopicCheck::Permitted } else { TopicCheck::Forbidden }
}

#[derive(Clone, Copy)]
enum SubOp {
    Replace,
    Add,
}

fn owned_channel<'a>(gs: &'a mut GenesysState, id: &str, caller: &Caller) -> Result<&'a mut Channel, Response> {
    gs.channels
        .iter_mut()
        .find(|c| c.id == id && c.user_id == caller.user_id)
        .ok_or_else(|| genesys_error(StatusCode::NOT_FOUND, "not.found", "The channel was not found."))
}

fn subscriptions_body(ch: &Channel, rejected: &[(String, &str)]) -> Value {
    let mut entities: Vec<Value> = ch.topics.iter().map(|t| json!({"id": t, "state": "Permitted"})).collect();
    entities.extend(rejected.iter().map(|(t, why)| json!({"id": t, "state": "Rejected", "rejectionReason": why})));
    json!({"entities": entities})
}

async fn subscribe(
    state: Shared,
    caller: Caller,
    id: String,
    q: SubscribeQuery,
    body: axum::body::Bytes,
    op: SubOp,
) -> Response {
    let topics: Vec<TopicRef> = match serde_json::from_slice(&body) {
        Ok(t) => t,
        Err(e) => {
            return genesys_error(
                StatusCode::BAD_REQUEST,
                "bad.request",
                &format!("The request could not be understood: {e}"),
            );
        }
    };
    let mut permitted = Vec::new();
    let mut rejected = Vec::new();
    for t in topics {
        match check_topic(&t.id, &caller.user_id) {
            TopicCheck::Permitted => permitted.push(t.id),
            TopicCheck::Forbidden if q.ignore_errors => {
                rejected.push((t.id, "Missing permission to subscribe to this topic"))
            }
            TopicCheck::Invalid if q.ignore_errors => rejected.push((t.id, "Invalid topic")),
            TopicCheck::Forbidden => {
                return genesys_error(
                    StatusCode::FORBIDDEN,
                    "missing.permissions",
                    &format!("Unable to subscribe to topic {}", t.id),
                );
            }
            TopicCheck::Invalid => {
                return genesys_error(StatusCode::BAD_REQUEST, "invalid.value", &format!("Invalid topic {}", t.id));
            }
        }
    }
    let now = state.clock.now_ms();
    let lifetime = state.settings().channel_lifetime_secs as i64 * 1000;
    reap_expired(&state);
    let mut gs = state.genesys();
    let ch = match owned_channel(&mut gs, &id, &caller) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let mut next = match op {
        SubOp::Replace => Vec::new(),
        SubOp::Add => ch.topics.clone(),
    };
    for t in permitted {
        if !next.contains(&t) {
            next.push(t);
        }
    }
    if next.len() > MAX_TOPICS {
        return genesys_error(
            StatusCode::BAD_REQUEST,
            "bad.request",
            &format!("A channel can hold at most {MAX_TOPICS} topics; this request would make {}.", next.len()),
        );
    }
    ch.topics = next;
    ch.expires_ms = now + lifetime;
    Json(subscriptions_body(ch, &rejected)).into_response()
}

/// `PUT …/subscriptions`: replaces the topic list.
pub async fn put_subscriptions(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(q): Query<SubscribeQuery>,
    body: axum::body::Bytes,
) -> Response {
    subscribe(state, caller, id, q, body, SubOp::Replace).await
}

/// `POST …/subscriptions`: adds topics.
pub async fn post_subscriptions(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
    Query(q): Query<SubscribeQuery>,
    body: axum::body::Bytes,
) -> Response {
    subscribe(state, caller, id, q, body, SubOp::Add).await
}

/// `GET …/subscriptions`.
pub async fn get_subscriptions(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let mut gs = state.genesys();
    match owned_channel(&mut gs, &id, &caller) {
        Ok(ch) => Json(subscriptions_body(ch, &[])).into_response(),
        Err(r) => r,
    }
}

/// `DELETE …/subscriptions`: clears the topic list.
pub async fn delete_subscriptions(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let mut gs = state.genesys();
    match owned_channel(&mut gs, &id, &caller) {
        Ok(ch) => {
            ch.topics.clear();
            StatusCode::NO_CONTENT.into_response()
        }
        Err(r) => r,
    }
}
