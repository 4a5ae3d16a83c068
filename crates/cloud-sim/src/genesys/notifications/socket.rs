//! The streaming WebSocket: one socket per channel, heartbeats and pongs, events published to the
//! sockets connected at that moment, frame faults, maintenance closes, revoked and expired channels.

use super::*;

/// `GET /channels/{id}` on the streaming host: the WebSocket (no auth header; the channel id is the secret).
pub async fn socket(State(state): State<Shared>, Path(id): Path<String>, ws: WebSocketUpgrade) -> Response {
    reap_expired(&state);
    let (socket_id, rx) = {
        let mut gs = state.genesys();
        let socket_id = gs.next_socket_id;
        gs.next_socket_id += 1;
        let Some(ch) = gs.channels.iter_mut().find(|c| c.id == id) else {
            return (StatusCode::NOT_FOUND, "channel not found").into_response();
        };
        let (tx, rx) = mpsc::unbounded_channel();
        // One socket per channel: a second one kicks the first off.
        if let Some(old) = ch.socket.replace(SocketSlot { id: socket_id, tx }) {
            let _ = old.tx.send(Outbound::Close("another connection was opened on this channel".into()));
        }
        (socket_id, rx)
    };
    state.stats.socket_opened();
    let heartbeat_every = Duration::from_secs_f64(state.settings().heartbeat_secs.max(0.01));
    ws.on_upgrade(move |ws| run_socket(state, id, socket_id, ws, rx, heartbeat_every))
}

async fn run_socket(
    state: Shared,
    channel_id: String,
    socket_id: u64,
    ws: WebSocket,
    mut rx: mpsc::UnboundedReceiver<Outbound>,
    heartbeat_every: Duration,
) {
    let (mut sink, mut stream) = ws.split();
    let mut beat = tokio::time::interval_at(tokio::time::Instant::now() + heartbeat_every, heartbeat_every);
    loop {
        tokio::select! {
            out = rx.recv() => match out {
                Some(Outbound::Frame(text)) => {
                    if sink.send(Message::Text(text.into())).await.is_err() { break; }
                    state.stats.frame_sent();
                }
                Some(Outbound::Close(reason)) => {
                    let _ = sink.send(Message::Close(Some(CloseFrame { code: 1000, reason: reason.into() }))).await;
                    break;
                }
                Some(Outbound::Drop) | None => break,
            },
            _ = beat.tick() => {
                let held = flush_held(&state, &channel_id, socket_id);
                if let Some(h) = held
                    && sink.send(Message::Text(h.into())).await.is_err() { break; }
                if sink.send(Message::Text(heartbeat().into())).await.is_err() { break; }
            }
            incoming = stream.next() => match incoming {
                Some(Ok(Message::Text(t))) => {
                    let is_ping = serde_json::from_str::<Value>(t.as_str()).ok().and_then(|v| v.get("message").and_then(Value::as_str).map(|m| m == "ping")).unwrap_or(false);
                    if is_ping && sink.send(Message::Text(pong().into())).await.is_err() { break; }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    let mut gs = state.genesys();
    if let Some(ch) = gs.channels.iter_mut().find(|c| c.id == channel_id)
        && ch.socket.as_ref().is_some_and(|s| s.id == socket_id)
    {
        ch.socket = None;
    }
    state.stats.socket_closed();
}

fn flush_held(state: &SimState, channel_id: &str, socket_id: u64) -> Option<String> {
    let mut gs = state.genesys();
    let ch = gs.channels.iter_mut().find(|c| c.id == channel_id)?;
    if ch.socket.as_ref().is_some_and(|s| s.id == socket_id) { ch.held.take() } else { None }
}

/// Sends the conversation's snapshot to every connected channel subscribed to it.
pub(crate) fn publish_conversation(state: &Shared, gs: &mut GenesysState, conv_id: &str) {
    let Some(conv) = gs.conversations.get(conv_id) else {
        return;
    };
    // Every agent on the conversation sees it on their own topic.
    let users = conv.users();
    let full = conv.snapshot();
    let flat = conv.calls_snapshot();
    for uid in users {
        let repeat = {
            let p = state.settings().quirks.repeat_rate.clamp(0.0, 1.0);
            state.rng().random_bool(p)
        };
        publish(state, gs, &format!("v2.users.{uid}.conversations"), full.clone(), repeat);
        publish(state, gs, &format!("v2.users.{uid}.conversations.calls"), flat.clone(), repeat);
    }
}

fn publish(state: &Shared, gs: &mut GenesysState, topic: &str, body: Value, repeat: bool) {
    if !gs.channels.iter().any(|c| c.socket.is_some() && c.topics.iter().any(|t| t == topic)) {
        return;
    }
    let frame = envelope(topic, body);
    let grace = state.settings().socket_closing_grace_ms;
    for ch in gs.channels.iter_mut().filter(|c| c.socket.is_some() && c.topics.iter().any(|t| t == topic)) {
        let fault = {
            let mut rng = state.rng();
            state.faults().on_frame(&mut *rng)
        };
        let mut frames = vec![frame.clone()];
        if repeat || fault.duplicate {
            frames.push(frame.clone());
        }
        if fault.reorder && ch.held.is_none() {
            ch.held = frames.pop();
        } else if let Some(h) = ch.held.take() {
            frames.push(h);
        }
        for f in frames {
            ch.send(Outbound::Frame(f));
        }
        apply_socket_fault(state, ch, fault, grace);
    }
}

fn apply_socket_fault(state: &Shared, ch: &mut Channel, fault: FrameFault, grace_ms: u64) {
    if fault.drop_socket {
        ch.send(Outbound::Drop);
    } else if fault.socket_closing {
        announce_closing(state, ch, grace_ms);
    }
}

fn announce_closing(state: &Shared, ch: &Channel, grace_ms: u64) {
    let Some(slot) = &ch.socket else { return };
    let body = json!({"channelId": ch.id, "message": "The service is closing this socket for maintenance."});
    ch.send(Outbound::Frame(envelope("v2.system.socket_closing", body)));
    let (state, channel_id, socket_id) = (state.clone(), ch.id.clone(), slot.id);
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(grace_ms)).await;
        let gs = state.genesys();
        if let Some(ch) =
            gs.channels.iter().find(|c| c.id == channel_id && c.socket.as_ref().is_some_and(|s| s.id == socket_id))
        {
            ch.send(Outbound::Close("socket closing for maintenance".into()));
        }
    });
}

/// Drops the connected sockets (of one user, or all) without a close frame. Returns how many.
pub(crate) fn drop_sockets(state: &Shared, user_id: Option<&str>) -> usize {
    let gs = state.genesys();
    gs.channels.iter().filter(|c| user_id.is_none_or(|u| c.user_id == u)).filter(|c| c.send(Outbound::Drop)).count()
}

/// Sends `v2.system.socket_closing` to the connected sockets and closes them after the grace period.
pub(crate) fn close_sockets_for_maintenance(state: &Shared, user_id: Option<&str>, grace_ms: u64) -> usize {
    let gs = state.genesys();
    let mut n = 0;
    for ch in gs.channels.iter().filter(|c| c.socket.is_some() && user_id.is_none_or(|u| c.user_id == u)) {
        announce_closing(state, ch, grace_ms);
        n += 1;
    }
    n
}

/// Tells the channels created with a revoked token, then closes them.
pub(crate) fn revoke_channels_of_token(state: &SimState, gs: &mut GenesysState, token: &str) {
    let org = gs.org_id.clone();
    for ch in gs.channels.iter().filter(|c| c.token == token) {
        let body = json!({
            "channelId": ch.id, "systemTopicType": "token_revoked", "correlationId": crate::http::correlation_id(),
            "organizationId": org, "userId": ch.user_id, "oauthClientId": ch.client_id,
            "reason": "user_tokens_revoked", "message": "The token used to create this channel was revoked.", "data": {},
        });
        ch.send(Outbound::Frame(envelope(&format!("v2.system.token_revoked.{}", ch.id), body)));
        ch.send(Outbound::Close("token revoked".into()));
    }
    gs.channels.retain(|c| c.token != token);
    let _ = state;
}

/// Removes expired channels, closing their sockets.
pub(crate) fn reap_expired(state: &SimState) {
    let now = state.clock.now_ms();
    let mut gs = state.genesys();
    for ch in gs.channels.iter().filter(|c| c.expires_ms <= now) {
        ch.send(Outbound::Close("channel expired".into()));
    }
    gs.channels.retain(|c| c.expires_ms > now);
}
