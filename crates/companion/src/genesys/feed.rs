//! The notification feed: channel, subscription, socket; a watchdog for silence; the application
//! ping; `socket_closing` handled make-before-break; reconnects with capped, jittered back-off; renewal
//! before the channel's 24 h expiry; a REST catch-up after every (re)connect; and a stop with a
//! "sign in again" state on 401/403 or a revoked token. The connection state is a watchable value.

use super::backoff::backoff;
use super::model::ConversationSnapshot;
use super::rest::{Channel, GenesysClient, GenesysError};
use futures_util::{SinkExt, StreamExt};
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{Notify, mpsc, watch};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

/// Frames larger than this are refused (a conversation snapshot is a few KB).
pub const MAX_FRAME: usize = 1 << 20;

/// The state of the event feed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ConnectionState {
    /// Setting up the first connection.
    Connecting,
    /// Events are flowing.
    Connected { channel_id: String },
    /// Lost; trying again.
    Reconnecting { attempt: u32, retry_in_ms: u64, reason: String },
    /// Only a new sign-in helps; queued work is kept.
    SignInRequired { reason: String },
    /// Stopped on request.
    Stopped,
}

/// Where a snapshot came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Socket,
    CatchUp,
}

/// What the feed delivers.
#[derive(Debug, Clone)]
pub enum FeedEvent {
    /// A conversation snapshot.
    Snapshot(FeedItem),
    /// A conversation event that could not be read (ignored; said once, never a panic).
    Malformed { error: String },
    /// The catch-up after a (re)connect is complete: these conversations are active. A tracked call
    /// not among them ended while the socket was down.
    CaughtUp { active: Vec<String> },
    /// An ended conversation's state was read (its snapshot came just before), or Genesys no longer
    /// knows it: only a wrap-up still owed in after-call work can follow.
    Ended {
        conversation_id: String,
        /// Genesys no longer knows it (rather than: no longer lists it as active).
        gone: bool,
    },
}

/// A conversation snapshot from the feed, read into its typed form at the edge.
#[derive(Debug, Clone)]
pub struct FeedItem {
    pub snapshot: ConversationSnapshot,
    /// When the frame arrived: the start of the pop latency.
    pub received: Instant,
    pub source: Source,
    /// The raw frame, for the journal (socket frames only).
    pub raw: Option<String>,
}

impl FeedItem {
    /// Reads a conversation body (an event's `eventBody`, or a REST conversation).
    pub fn read(body: Value, received: Instant, source: Source, raw: Option<String>) -> FeedEvent {
        match serde_json::from_value::<ConversationSnapshot>(body) {
            Ok(snapshot) => FeedEvent::Snapshot(FeedItem { snapshot, received, source, raw }),
            Err(e) => FeedEvent::Malformed { error: e.to_string() },
        }
    }
}

/// Tunables of the feed.
#[derive(Debug, Clone)]
pub struct FeedSettings {
    pub user_id: String,
    pub silence_timeout: Duration,
    pub ping_interval: Duration,
    pub reconnect_initial: Duration,
    pub reconnect_max: Duration,
    pub renew_before: Duration,
}

impl FeedSettings {
    /// From the Genesys configuration.
    pub fn from_config(cfg: &crate::config::GenesysConfig, user_id: String) -> FeedSettings {
        FeedSettings {
            user_id,
            silence_timeout: Duration::from_secs(cfg.silence_timeout_secs),
            ping_interval: Duration::from_secs(cfg.ping_interval_secs.max(1)),
            reconnect_initial: Duration::from_millis(cfg.reconnect_initial_ms),
            reconnect_max: Duration::from_millis(cfg.reconnect_max_ms),
            renew_before: Duration::from_secs(cfg.channel_renew_before_secs),
        }
    }

    fn topic(&self) -> String {
        format!("v2.users.{}.conversations", self.user_id)
    }
}

/// The running feed.
pub struct FeedHandle {
    state: watch::Receiver<ConnectionState>,
    stop: Arc<Notify>,
    task: Option<JoinHandle<()>>,
}

impl FeedHandle {
    /// Starts the feed; snapshots go to `out`.
    pub fn start(rest: Arc<GenesysClient>, settings: FeedSettings, out: mpsc::Sender<FeedEvent>) -> FeedHandle {
        Self::start_with(rest, settings, out, Arc::new(watch::channel(ConnectionState::Connecting).0))
    }

    /// Starts the feed reporting into an existing state (a restart after a new sign-in keeps one
    /// watchable connection state for the whole engine).
    pub fn start_with(
        rest: Arc<GenesysClient>,
        settings: FeedSettings,
        out: mpsc::Sender<FeedEvent>,
        state: Arc<watch::Sender<ConnectionState>>,
    ) -> FeedHandle {
        state.send_replace(ConnectionState::Connecting);
        let rx = state.subscribe();
        let stop = Arc::new(Notify::new());
        let task = tokio::spawn(run(Feed { rest, settings, out, state, stop: stop.clone() }));
        FeedHandle { state: rx, stop, task: Some(task) }
    }

    /// True once the feed has ended (stopped, or waiting for a new sign-in).
    pub fn is_finished(&self) -> bool {
        self.task.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// The connection state, to watch.
    pub fn state(&self) -> watch::Receiver<ConnectionState> {
        self.state.clone()
    }

    /// Stops the feed and waits for it (bounded).
    pub async fn stop(mut self) {
        self.stop.notify_one();
        if let Some(t) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(5), t).await.is_err()
        {
            tracing::warn!("the notification feed did not stop in 5 s");
        }
    }
}

impl Drop for FeedHandle {
    fn drop(&mut self) {
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}

struct Feed {
    rest: Arc<GenesysClient>,
    settings: FeedSettings,
    out: mpsc::Sender<FeedEvent>,
    state: Arc<watch::Sender<ConnectionState>>,
    stop: Arc<Notify>,
}

type Ws = crate::net::socket::Socket;

/// The longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

struct Session {
    channel: Channel,
    ws: Ws,
    /// A catch-up that failed (a 429 in a reconnect storm, an outage): tried again at this time,
    /// since nothing else would ever read what happened while the socket was down.
    catch_up_due: Option<(Instant, u32)>,
}

/// Why the socket loop ended.
enum Exit {
    Stop,
    /// The server announced maintenance: connect anew, then drop this socket.
    SocketClosing,
    /// The socket is gone or silent.
    Dead(String),
    /// The channel is close to expiry: re-subscribe.
    Renew,
    /// The token was revoked.
    Revoked,
    /// The consumer went away.
    Closed,
}

impl Feed {
    fn set(&self, s: ConnectionState) {
        self.state.send_replace(s);
    }

    async fn connect(&self) -> Result<Session, GenesysError> {
        let channel = self.rest.create_channel().await?;
        self.rest.subscribe(&channel.id, &[self.settings.topic()]).await?;
        // The channel names the socket; it must be Genesys' own (wss), like every host a token reaches.
        crate::hosts::check(crate::hosts::CloudHosts::Genesys, &channel.connect_uri, true)
            .map_err(|e| GenesysError::Unexpected(format!("the notification channel's socket: {e}")))?;
        let ws = tokio::time::timeout(
            Duration::from_secs(15),
            self.rest.network().open_socket(&channel.connect_uri, socket_limits()),
        )
        .await
        .map_err(|_| GenesysError::Transient("the notification socket did not open in 15 s".into()))?
        .map_err(|e| GenesysError::Transient(format!("the notification socket did not open: {e}")))?;
        Ok(Session { channel, ws, catch_up_due: None })
    }

    /// Sends the active conversations, since nothing that happened while disconnected is replayed.
    async fn catch_up(&self) -> Result<(), GenesysError> {
        let mut active = vec![];
        for body in self.rest.active_conversations().await? {
            if let Some(id) = body.get("id").and_then(Value::as_str) {
                active.push(id.to_string());
            }
            if self.out.send(FeedItem::read(body, Instant::now(), Source::CatchUp, None)).await.is_err() {
                return Ok(());
            }
        }
        let _ = self.out.send(FeedEvent::CaughtUp { active }).await;
        Ok(())
    }

    /// Connects with back-off until it works, the sign-in is refused, or a stop.
    async fn establish(&self, mut attempt: u32, mut reason: String) -> Option<Session> {
        loop {
            if attempt > 0 {
                let asked = None;
                let delay = backoff(
                    attempt,
                    self.settings.reconnect_initial,
                    self.settings.reconnect_max,
                    asked,
                    &mut rand::rng(),
                );
                self.set(ConnectionState::Reconnecting {
                    attempt,
                    retry_in_ms: delay.as_millis() as u64,
                    reason: reason.clone(),
                });
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = self.stop.notified() => return None,
                }
            }
            let result = tokio::select! {
                r = self.connect() => r,
                _ = self.stop.notified() => return None,
            };
            match result {
                Ok(mut s) => {
                    self.set(ConnectionState::Connected { channel_id: s.channel.id.clone() });
                    if let Err(e) = self.catch_up().await {
                        if e.needs_sign_in() {
                            self.set(ConnectionState::SignInRequired { reason: e.to_string() });
                            return None;
                        }
                        tracing::warn!(error = %e, "catch-up after connect failed; events still flow, it is tried again");
                        s.catch_up_due = Some((self.catch_up_retry_at(1, &e), 1));
                    }
                    return Some(s);
                }
                Err(e) if e.needs_sign_in() => {
                    self.set(ConnectionState::SignInRequired { reason: e.to_string() });
                    return None;
                }
                Err(e) => {
                    if let Some(wait) = e.retry_after() {
                        // Honour the server's pace before the next back-off step, in full: retrying a
                        // rate limit sooner only spends the budget the catch-up needs (capped against a
                        // nonsensical answer).
                        tokio::select! {
                            _ = tokio::time::sleep(wait.min(MAX_RETRY_AFTER)) => {}
                            _ = self.stop.notified() => return None,
                        }
                    }
                    attempt += 1;
                    reason = e.to_string();
                }
            }
        }
    }

    /// When a failed catch-up is tried again: back-off from the reconnect settings, never sooner than
    /// the server asked.
    fn catch_up_retry_at(&self, attempt: u32, e: &GenesysError) -> Instant {
        let delay = backoff(
            attempt,
            self.settings.reconnect_initial,
            self.settings.reconnect_max,
            e.retry_after(),
            &mut rand::rng(),
        );
        Instant::now() + delay
    }

    /// Tries an owed catch-up again when it is due; `Some` ends the socket loop (a revoked sign-in).
    async fn retry_catch_up(&self, s: &mut Session) -> Option<Exit> {
        let (at, attempt) = s.catch_up_due?;
        if Instant::now() < at {
            return None;
        }
        match self.catch_up().await {
            Ok(()) => s.catch_up_due = None,
            Err(e) if e.needs_sign_in() => return Some(Exit::Revoked),
            Err(e) => {
                tracing::warn!(error = %e, attempt, "catch-up failed again; it is tried again");
                s.catch_up_due = Some((self.catch_up_retry_at(attempt + 1, &e), attempt + 1));
            }
        }
        None
    }

    async fn pump(&self, s: &mut Session) -> Exit {
        let mut last_seen = Instant::now();
        let mut last_sent = Instant::now();
        let mut tick = tokio::time::interval(Duration::from_millis(250).min(self.settings.silence_timeout / 4));
        loop {
            tokio::select! {
                msg = s.ws.next() => {
                    let received = Instant::now();
                    match msg {
                        Some(Ok(Message::Text(t))) => {
                            last_seen = received;
                            if let Some(exit) = self.frame(t.as_str(), received).await {
                                return exit;
                            }
                        }
                        Some(Ok(Message::Close(_))) | None => return Exit::Dead("the server closed the socket".into()),
                        Some(Err(e)) => return Exit::Dead(format!("socket error: {e}")),
                        Some(Ok(_)) => last_seen = received,
                    }
                }
                _ = tick.tick() => {
                    if last_seen.elapsed() > self.settings.silence_timeout {
                        return Exit::Dead(format!("no frame for {} s", self.settings.silence_timeout.as_secs()));
                    }
                    if last_sent.elapsed() >= self.settings.ping_interval {
                        last_sent = Instant::now();
                        if s.ws.send(Message::Text(r#"{"message":"ping"}"#.into())).await.is_err() {
                            return Exit::Dead("the socket refused a ping".into());
                        }
                    }
                    if let Some(exit) = self.retry_catch_up(s).await {
                        return exit;
                    }
                    let renew_at = s.channel.expires_ms - self.settings.renew_before.as_millis() as i64;
                    if s.channel.expires_ms > 0 && chrono::Utc::now().timestamp_millis() >= renew_at {
                        return Exit::Renew;
                    }
                }
                _ = self.stop.notified() => return Exit::Stop,
            }
        }
    }

    /// Handles one text frame; `Some` ends the socket loop.
    async fn frame(&self, text: &str, received: Instant) -> Option<Exit> {
        if text.len() > MAX_FRAME {
            tracing::warn!(bytes = text.len(), "refused an oversized notification frame");
            return None;
        }
        let Ok(v) = serde_json::from_str::<Value>(text) else {
            tracing::warn!("ignored a notification frame that is not JSON");
            return None;
        };
        let topic = v.get("topicName").and_then(Value::as_str).unwrap_or("");
        if topic == "v2.system.socket_closing" {
            return Some(Exit::SocketClosing);
        }
        if topic.starts_with("v2.system.token_revoked") {
            return Some(Exit::Revoked);
        }
        if topic.starts_with("v2.system.no_longer_subscribed") {
            return Some(Exit::Dead("no longer subscribed".into()));
        }
        if topic == self.settings.topic() {
            let body = v.get("eventBody").cloned().unwrap_or(Value::Null);
            let event = FeedItem::read(body, received, Source::Socket, Some(text.to_string()));
            if self.out.send(event).await.is_err() {
                return Some(Exit::Closed);
            }
        }
        None
    }
}

/// The socket's limits: a conversation event is a few KiB; nothing past 1 MiB is read into memory.
fn socket_limits() -> tokio_tungstenite::tungstenite::protocol::WebSocketConfig {
    tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
        .max_message_size(Some(MAX_FRAME))
        .max_frame_size(Some(MAX_FRAME))
}

async fn run(feed: Feed) {
    let Some(mut session) = feed.establish(0, String::new()).await else { return finish(&feed) };
    loop {
        match feed.pump(&mut session).await {
            Exit::Stop | Exit::Closed => {
                close(&mut session.ws).await;
                feed.set(ConnectionState::Stopped);
                return;
            }
            Exit::Revoked => {
                feed.set(ConnectionState::SignInRequired { reason: "the Genesys Cloud sign-in was revoked".into() });
                return;
            }
            Exit::Renew => match feed.rest.subscribe(&session.channel.id, &[feed.settings.topic()]).await {
                Ok(()) => session.channel.expires_ms = chrono::Utc::now().timestamp_millis() + 24 * 3_600_000,
                Err(e) if e.needs_sign_in() => {
                    feed.set(ConnectionState::SignInRequired { reason: e.to_string() });
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "channel renewal failed; connecting a new channel");
                    match feed.establish(1, e.to_string()).await {
                        Some(s) => session = s,
                        None => return finish(&feed),
                    }
                }
            },
            Exit::SocketClosing => {
                // Make before break: the old socket stays until the new one is up.
                match feed.establish(0, String::new()).await {
                    Some(s) => {
                        let mut old = std::mem::replace(&mut session, s);
                        close(&mut old.ws).await;
                    }
                    None => return finish(&feed),
                }
            }
            Exit::Dead(reason) => match feed.establish(1, reason).await {
                Some(s) => session = s,
                None => return finish(&feed),
            },
        }
    }
}

/// Sends a close frame without waiting long for the server's answer.
async fn close(ws: &mut Ws) {
    let _ = tokio::time::timeout(Duration::from_millis(500), ws.close(None)).await;
}

fn finish(feed: &Feed) {
    // A sign-in problem keeps its state; otherwise the feed was stopped.
    if !matches!(*feed.state.borrow(), ConnectionState::SignInRequired { .. }) {
        feed.set(ConnectionState::Stopped);
    }
}
