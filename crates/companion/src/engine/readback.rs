//! The read-back: at start, after every reconnect and periodically, the agent's own interactions of
//! the last `recovery.window_hours` are listed from Genesys, and every wrap-up not yet in the outbox is
//! queued, marked recovered, without a pop. A conversation is settled (not read again) only once its
//! wrap-ups are durably queued. A failed read stops the check where it is; the next attempt resumes
//! at the same page of the same interval, so nothing is skipped. Without the analytics permission the
//! check walks the call history instead, and says it could see calls only.

use super::capture::{Capture, Seen};
use crate::clock::SharedClock;
use crate::config::RecoveryConfig;
use crate::error::ErrorCode;
use crate::events::{EngineEvent, EventSink};
use crate::genesys::feed::ConnectionState;
use crate::genesys::history::{HistorySource, PastConversation};
use crate::genesys::model::ConversationSnapshot;
use crate::genesys::rest::{GenesysClient, GenesysError};
use crate::genesys::segment::{self, SegmentView, Transition};
use crate::outbox::OutboxError;
use crate::store::{Interactions, ReadBackOutcome, ReadBackRows, StageReached, Store};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// A reconnect starts a check only this long after the last one began: a storm of reconnects must not
/// spend the Genesys request budget the feed's own catch-up needs.
const MIN_GAP: Duration = Duration::from_secs(60);

/// How long a conversation the feed saw, and still owes a wrap-up of, is left to the feed's catch-up
/// before the read-back reads it itself (both reading it would spend the request budget twice).
const FEED_GRACE_MS: i64 = 5 * 60_000;

/// The permissions that let an agent's role run the analytics details query.
pub const ANALYTICS_PERMISSIONS: [&str; 2] =
    ["analytics:conversationDetail:view", "analytics:agentConversationDetail:view"];

/// Why a check stopped.
#[derive(Debug, thiserror::Error)]
enum CheckError {
    #[error("{0}")]
    Genesys(#[from] GenesysError),
    #[error("the wrap-up could not be queued: {0}")]
    Outbox(#[from] OutboxError),
    #[error("the local database: {0}")]
    Store(#[from] rusqlite::Error),
}

/// Where a check is: kept across a failure, so the next attempt resumes here.
#[derive(Debug, Clone)]
struct Cursor {
    source: HistorySource,
    from_ms: i64,
    to_ms: i64,
    page: u32,
    /// Why the check cannot see everything.
    partial: Option<String>,
}

/// The read-back task.
pub(super) struct ReadBack {
    pub genesys: Arc<GenesysClient>,
    pub capture: Capture,
    pub store: Arc<Store>,
    pub sink: Arc<dyn EventSink>,
    pub clock: SharedClock,
    pub config: RecoveryConfig,
    pub connection: watch::Receiver<ConnectionState>,
}

impl ReadBack {
    pub(super) async fn run(mut self, mut stop: watch::Receiver<bool>) {
        if !self.config.enabled {
            return;
        }
        let interval = Duration::from_secs(u64::from(self.config.interval_minutes) * 60);
        let mut cursor: Option<Cursor> = None;
        let mut failures: u32 = 0;
        let mut checked_channel: Option<String> = None;
        let mut told_partial = false;
        let mut last_start: Option<tokio::time::Instant> = None;
        loop {
            // A check runs once connected (a new channel: the start, or a reconnect), every
            // `interval`, and again soon after a failure.
            let retry_in = (failures > 0).then(|| Duration::from_secs(1u64 << failures.min(8)).min(interval));
            let wait = retry_in.unwrap_or(interval);
            let connected = |s: &ConnectionState| matches!(s, ConnectionState::Connected { .. });
            let spaced = last_start.is_none_or(|t| t.elapsed() >= MIN_GAP) || failures > 0;
            let fresh_channel = spaced
                && match &*self.connection.borrow() {
                    ConnectionState::Connected { channel_id } => checked_channel.as_ref() != Some(channel_id),
                    _ => false,
                };
            if !fresh_channel {
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    changed = self.connection.changed() => if changed.is_err() { return },
                    _ = stop.changed() => return,
                }
                if !connected(&self.connection.borrow()) {
                    continue;
                }
            }
            if let ConnectionState::Connected { channel_id } = &*self.connection.borrow() {
                checked_channel = Some(channel_id.clone());
            }
            last_start = Some(tokio::time::Instant::now());
            let result = tokio::select! {
                r = self.check(&mut cursor) => r,
                _ = stop.changed() => return,
            };
            match result {
                Ok(partial) => {
                    failures = 0;
                    cursor = None;
                    if let (Some(why), false) = (partial, told_partial) {
                        told_partial = true;
                        self.sink.emit(&EngineEvent::Problem { code: ErrorCode::ReadBackIncomplete, message: why });
                    }
                }
                Err(e) => {
                    failures += 1;
                    tracing::warn!(error = %e, failures, "the read-back stopped; it resumes where it stopped");
                    if failures == 3 {
                        self.sink.emit(&EngineEvent::Problem {
                            code: ErrorCode::ReadBackIncomplete,
                            message: format!(
                                "interactions handled while the app was closed could not be checked ({e}); trying again"
                            ),
                        });
                    }
                }
            }
            self.report();
        }
    }

    /// One check, from the cursor (a new one when none). `Ok(Some(why))`: complete for what it could
    /// see, but it could not see everything.
    async fn check(&self, cursor: &mut Option<Cursor>) -> Result<Option<String>, CheckError> {
        let now = self.clock.now_ms();
        let window_ms = i64::from(self.config.window_hours) * 3_600_000;
        let cur = cursor.get_or_insert_with(|| Cursor {
            source: HistorySource::Analytics,
            from_ms: now - window_ms,
            to_ms: now,
            page: 1,
            partial: None,
        });
        self.with_rows(|r| r.started(cur.source, self.config.window_hours, now))?;
        let user = self.genesys.user_id().unwrap_or_default();
        loop {
            let page = match self.genesys.past_conversations(cur.source, cur.from_ms, cur.to_ms, cur.page).await {
                Ok(p) => p,
                Err(GenesysError::Forbidden(why)) if cur.source == HistorySource::Analytics => {
                    tracing::info!(%why, "no analytics permission: reading back the call history instead");
                    cur.partial = Some(format!(
                        "only calls handled while the app was closed can be recovered: the agents' role lacks {} (or {})",
                        ANALYTICS_PERMISSIONS[0], ANALYTICS_PERMISSIONS[1]
                    ));
                    cur.source = HistorySource::CallHistory;
                    cur.page = 1;
                    continue;
                }
                Err(e) => return Err(self.failed(cur, e.into())),
            };
            for past in &page.conversations {
                if let Err(e) = self.settle(past, &user).await {
                    return Err(self.failed(cur, e));
                }
            }
            if !page.more {
                break;
            }
            cur.page += 1;
        }
        let outcome = if cur.partial.is_some() { ReadBackOutcome::Partial } else { ReadBackOutcome::Complete };
        let done = self.clock.now_ms();
        self.with_rows(|r| {
            r.finished(outcome, cur.source, cur.partial.as_deref(), done)?;
            // A settled conversation older than the window is no longer listed.
            r.purge_before(cur.from_ms - 86_400_000).map(|_| ())
        })?;
        Ok(cur.partial.clone())
    }

    fn failed(&self, cur: &Cursor, e: CheckError) -> CheckError {
        let detail = format!("stopped at page {} ({e}); it resumes there", cur.page);
        let _ = self.with_rows(|r| r.finished(ReadBackOutcome::Failed, cur.source, Some(&detail), self.clock.now_ms()));
        e
    }

    /// Reads one past conversation (unless there is nothing to learn from it) and queues every
    /// wrap-up of this agent not yet queued; settles it once nothing is left to queue.
    async fn settle(&self, past: &PastConversation, user: &str) -> Result<(), CheckError> {
        let id = past.conversation_id.as_str();
        // A live one is the feed's; the next check sees it ended. So is one the feed saw lately.
        let recent = self.clock.now_ms() - FEED_GRACE_MS;
        if !past.ended || self.with_rows(|r| Ok(r.settled(id)? || r.feed_owes(id, recent)?))? {
            return Ok(());
        }
        if let Some(wrapups) = past.wrapups {
            // Analytics says how many wrap-ups there are: none yet, or all queued, needs no read.
            if wrapups == 0 {
                return Ok(());
            }
            if self.with_rows(|r| r.queued_in(id))? >= wrapups as u64 {
                return self.with_rows(|r| r.settle(id, self.clock.now_ms()));
            }
        }
        let Some(body) = self.genesys.conversation(id).await? else {
            // Genesys no longer knows it: there is nothing more to read.
            return self.with_rows(|r| r.settle(id, self.clock.now_ms()));
        };
        let snap: ConversationSnapshot = match serde_json::from_value(body) {
            Ok(s) => s,
            Err(e) => {
                self.sink.emit(&EngineEvent::Problem {
                    code: ErrorCode::MalformedEvent,
                    message: format!("a past conversation could not be read ({e}); it is read again at the next check"),
                });
                return Ok(());
            }
        };
        let mut open = false;
        for v in segment::views(&snap, user) {
            if !v.media.is_handled() {
                continue;
            }
            match &v.wrapup {
                Some(w) => {
                    if let Some((_, code)) = self.capture.queue(&v, w, Seen::Recovered).await? {
                        self.recorded(&v)?;
                        self.sink.emit(&EngineEvent::DispositionRecovered {
                            interaction_id: v.interaction_id.clone(),
                            code,
                            media: v.media,
                        });
                    }
                }
                // Still ringing, talking or in after-call work: the wrap-up is yet to come.
                None => open |= v.stage < Transition::Disconnected || v.stage == Transition::AfterCallWork,
            }
        }
        if !open {
            self.with_rows(|r| r.settle(id, self.clock.now_ms()))?;
        }
        Ok(())
    }

    /// The recovered segment in the history (never popped).
    fn recorded(&self, v: &SegmentView) -> Result<(), CheckError> {
        let conn = self.store.background();
        let reached = StageReached::of(v, Transition::WrapupSubmitted);
        let record = crate::genesys::identification::read(&v.attributes).map(|i| i.record_id);
        Interactions::on(&conn).record_recovered(reached, record.as_deref(), self.clock.now_ms())?;
        Ok(())
    }

    fn with_rows<T>(&self, f: impl FnOnce(ReadBackRows<'_>) -> rusqlite::Result<T>) -> Result<T, CheckError> {
        let conn = self.store.background();
        Ok(f(ReadBackRows::on(&conn))?)
    }

    /// Tells the window the figures of the check that just ended.
    fn report(&self) {
        match self.with_rows(|r| r.status()) {
            Ok(Some(status)) => self.sink.emit(&EngineEvent::ReadBack { status }),
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "could not read the read-back status"),
        }
    }
}
