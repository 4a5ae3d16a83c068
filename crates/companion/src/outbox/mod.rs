//! The durable outbox: one row per conversation, written in one `synchronous=FULL` transaction before
//! the disposition is acknowledged; a later edit replaces the pending payload (versioned) or, after
//! delivery, is delivered again as an update. Rows leave only by delivery or by an explicit, recorded
//! discard.

mod genesys_wrapup;
pub mod mapping;
pub mod pusher;
mod rows;

pub use genesys_wrapup::{GenesysWrapupState, GenesysWrapups};
use rows::list_where;
pub use rows::{FailureEvent, OutboxRows, depth, list};

use crate::clock::SharedClock;
use crate::genesys::model::Media;
use crate::genesys::segment::SegmentKind;
use crate::store::{Store, StoreError};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use tokio::sync::Notify;

/// Where a disposition came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DispositionSource {
    /// The wrap-up the agent submitted in Genesys Cloud.
    Genesys,
    /// Set by the agent in the companion.
    Agent,
}

/// A wrap-up disposition, as queued: one per segment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Disposition {
    /// The segment (`{conversation}:{participant}`); the outbox's key.
    pub interaction_id: String,
    /// The Genesys conversation, for reports that group by it and for the one-record-per-conversation
    /// mode.
    pub conversation_id: String,
    /// How the segment reached the agent (inbound, transfer, outbound, …).
    #[serde(default)]
    pub kind: SegmentKind,
    /// The wrap-up code's name (mapped to the org's picklist when sent).
    pub code: String,
    /// Reason or notes.
    pub reason: String,
    /// When the disposition was final, ISO-8601.
    pub timestamp: String,
    pub duration_secs: Option<u64>,
    /// The Salesforce record of the caller, when the pop or the picker resolved it.
    pub contact_id: Option<String>,
    pub account_id: Option<String>,
    pub agent_extension: Option<String>,
    pub source: DispositionSource,
    /// The media of the interaction (rows queued before media were recorded read as calls).
    #[serde(default)]
    pub media: Media,
    /// A message's channel (`sms`, `whatsapp`, `webmessaging`, …).
    #[serde(default)]
    pub channel: Option<String>,
    /// Read back from Genesys after the fact (the app was closed or down when it was wrapped up).
    #[serde(default)]
    pub recovered: bool,
}

impl Disposition {
    /// What the media field of the record says: the channel of a message, else the media.
    pub fn media_label(&self) -> &str {
        match (&self.media, self.channel.as_deref()) {
            (Media::Message, Some(c)) if !c.is_empty() => c,
            (m, _) => m.as_str(),
        }
    }
}

/// When a write replaces what a row holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Write {
    Always,
    UnlessSame,
    IfAbsent,
}

/// The state of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum RowState {
    Pending,
    Delivered,
    NeedsAttention,
    Discarded,
}

impl RowState {
    fn as_str(self) -> &'static str {
        match self {
            RowState::Pending => "pending",
            RowState::Delivered => "delivered",
            RowState::NeedsAttention => "needs_attention",
            RowState::Discarded => "discarded",
        }
    }

    /// From the stored text.
    pub fn parse(s: &str) -> Option<RowState> {
        [RowState::Pending, RowState::Delivered, RowState::NeedsAttention, RowState::Discarded]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}

/// A row as `companion queue list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxRow {
    pub interaction_id: String,
    pub version: i64,
    pub state: RowState,
    pub attempts: i64,
    pub next_attempt_ms: i64,
    pub salesforce_id: Option<String>,
    pub error_class: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub updated_ms: i64,
    pub disposition: Disposition,
}

/// The outcome of a push for one row.
#[derive(Debug, Clone)]
pub enum Settlement {
    Delivered { id: String, version: i64, salesforce_id: Option<String> },
    Retry { id: String, version: i64, next_ms: i64, class: String, code: String, message: String },
    Postpone { id: String, version: i64, next_ms: i64 },
    Park { id: String, version: i64, class: String, code: String, message: String },
}

/// A row due for delivery.
#[derive(Debug, Clone)]
pub struct DueRow {
    pub version: i64,
    pub attempts: i64,
    /// Since when it has been due.
    pub due_ms: i64,
    pub disposition: Disposition,
}

/// Why an outbox operation failed.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("no queued disposition for conversation {0}")]
    NotFound(String),
    #[error("the disposition of {id} is {state:?}: {why}")]
    WrongState { id: String, state: RowState, why: &'static str },
    #[error("a disposition needs a conversation id and a code")]
    Incomplete,
}

impl From<rusqlite::Error> for OutboxError {
    fn from(e: rusqlite::Error) -> Self {
        OutboxError::Store(StoreError::Sql(e))
    }
}

/// The outbox.
#[derive(Debug)]
pub struct Outbox {
    pub(crate) store: Arc<Store>,
    clock: SharedClock,
    wake: Arc<Notify>,
}

fn record_event(
    conn: &rusqlite::Connection,
    id: &str,
    at: i64,
    kind: &str,
    class: Option<&str>,
    detail: Option<&str>,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO outbox_event(interaction_id, at_ms, kind, error_class, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![id, at, kind, class, detail])?;
    Ok(())
}

impl Outbox {
    /// The outbox over a store.
    pub fn new(store: Arc<Store>, clock: SharedClock) -> Outbox {
        Outbox { store, clock, wake: Arc::new(Notify::new()) }
    }

    /// Signalled on every enqueue or retry, so the pusher wakes at once.
    pub fn wake_signal(&self) -> Arc<Notify> {
        self.wake.clone()
    }

    /// Writes a disposition durably; returns its version. A pending row's payload is replaced; a
    /// delivered row goes back to pending and is delivered again as an update. One set in the
    /// companion is also to be applied in Genesys.
    pub fn enqueue(&self, d: &Disposition) -> Result<i64, OutboxError> {
        self.write(d, Write::Always).map(|v| v.expect("an unconditional write has a version"))
    }

    /// Queues the wrap-up seen in Genesys, unless the row already holds the same answer (the
    /// companion's own, applied there and coming back; or the same wrap-up read twice). Returns the
    /// version, or `None` when nothing changed.
    pub fn enqueue_from_genesys(&self, d: &Disposition) -> Result<Option<i64>, OutboxError> {
        self.write(d, Write::UnlessSame)
    }

    /// Queues a wrap-up read back after the fact, only if nothing is queued for the segment: whatever
    /// the companion queued live (the agent's own answer above all) stands.
    pub fn enqueue_if_absent(&self, d: &Disposition) -> Result<Option<i64>, OutboxError> {
        self.write(d, Write::IfAbsent)
    }

    fn write(&self, d: &Disposition, how: Write) -> Result<Option<i64>, OutboxError> {
        if d.interaction_id.trim().is_empty() || d.code.trim().is_empty() {
            return Err(OutboxError::Incomplete);
        }
        let now = self.clock.now_ms();
        let payload = serde_json::to_string(d).expect("dispositions serialize");
        let mut conn = self.store.outbox();
        // IMMEDIATE: this transaction reads then writes; a deferred one could not upgrade to a write
        // after another connection's commit, and would fail at once instead of waiting its turn.
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let existing: Option<(i64, String, String)> = tx
            .query_row(
                "SELECT version, state, payload FROM outbox WHERE interaction_id = ?1",
                [&d.interaction_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let same_answer = |old: &str| {
            serde_json::from_str::<Disposition>(old)
                .is_ok_and(|old| old.code == d.code && old.reason.trim() == d.reason.trim())
        };
        match (how, &existing) {
            (Write::IfAbsent, Some(_)) => return Ok(None),
            (Write::UnlessSame, Some((_, _, old))) if same_answer(old) => return Ok(None),
            _ => {}
        }
        let version = existing.as_ref().map_or(1, |(v, _, _)| v + 1);
        // The companion's own answer goes to Genesys too; one that came from Genesys does not go back.
        let genesys = (d.source == DispositionSource::Agent).then_some("pending");
        tx.execute(
            "INSERT INTO outbox(interaction_id, version, payload, state, attempts, next_attempt_ms, created_ms, updated_ms,
               genesys_wrapup, genesys_next_ms)
             VALUES (?1, ?2, ?3, 'pending', 0, ?4, ?4, ?4, ?5, ?4)
             ON CONFLICT(interaction_id) DO UPDATE SET version = excluded.version, payload = excluded.payload, state = 'pending',
               attempts = 0, next_attempt_ms = excluded.next_attempt_ms, error_class = NULL, error_code = NULL, error_message = NULL,
               updated_ms = excluded.updated_ms, genesys_wrapup = excluded.genesys_wrapup,
               genesys_next_ms = excluded.genesys_next_ms, genesys_error = NULL",
            params![d.interaction_id, version, payload, now, genesys],
        )?;
        let kind = match existing.as_ref().map(|(_, s, _)| s.as_str()) {
            None => "enqueued",
            Some("delivered") => "edited_after_delivery",
            Some(_) => "edited",
        };
        record_event(&tx, &d.interaction_id, now, kind, None, Some(&format!("version {version}")))?;
        tx.commit()?;
        drop(conn);
        self.wake.notify_one();
        Ok(Some(version))
    }

    /// Up to `limit` rows due now, oldest first.
    pub fn due(&self, limit: usize) -> Result<Vec<DueRow>, OutboxError> {
        let now = self.clock.now_ms();
        let conn = self.store.outbox();
        let mut stmt = conn.prepare_cached(
            "SELECT version, attempts, payload, next_attempt_ms FROM outbox WHERE state = 'pending' AND next_attempt_ms <= ?1 ORDER BY next_attempt_ms, created_ms LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![now, limit as i64], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, String>(2)?, r.get::<_, i64>(3)?))
        })?;
        let mut out = vec![];
        for row in rows {
            let (version, attempts, payload, due_ms) = row?;
            match serde_json::from_str(&payload) {
                Ok(disposition) => out.push(DueRow { version, attempts, due_ms, disposition }),
                Err(e) => tracing::error!(error = %e, "an outbox payload could not be read"),
            }
        }
        Ok(out)
    }

    /// When the next pending row is due, if any.
    pub fn next_due_ms(&self) -> Result<Option<i64>, OutboxError> {
        Ok(self.store.outbox().query_row(
            "SELECT min(next_attempt_ms) FROM outbox WHERE state = 'pending'",
            [],
            |r| r.get(0),
        )?)
    }

    /// Marks a row delivered, unless it was edited since `version` was sent (then the edit goes next).
    pub fn delivered(&self, id: &str, version: i64, salesforce_id: Option<&str>) -> Result<bool, OutboxError> {
        let s = Settlement::Delivered { id: id.into(), version, salesforce_id: salesforce_id.map(str::to_string) };
        Ok(self.settle(std::slice::from_ref(&s))?[0])
    }

    /// Schedules another try.
    pub fn retry_later(
        &self,
        id: &str,
        version: i64,
        next_ms: i64,
        class: &str,
        code: &str,
        message: &str,
    ) -> Result<(), OutboxError> {
        let s = Settlement::Retry {
            id: id.into(),
            version,
            next_ms,
            class: class.into(),
            code: code.into(),
            message: message.into(),
        };
        self.settle(&[s]).map(|_| ())
    }

    /// Postpones a row without counting an attempt (signed out, allocation spent).
    pub fn postpone(&self, id: &str, version: i64, next_ms: i64) -> Result<(), OutboxError> {
        self.settle(&[Settlement::Postpone { id: id.into(), version, next_ms }]).map(|_| ())
    }

    /// Parks a row that cannot succeed as it is, with Salesforce's own message.
    pub fn park(&self, id: &str, version: i64, class: &str, code: &str, message: &str) -> Result<(), OutboxError> {
        let s = Settlement::Park {
            id: id.into(),
            version,
            class: class.into(),
            code: code.into(),
            message: message.into(),
        };
        self.settle(&[s]).map(|_| ())
    }

    /// Records the outcomes of a push in one durable transaction (one disk sync per batch, not per
    /// row). A row edited since its version was sent is left for the edit. Returns, per item, whether
    /// it applied.
    pub fn settle(&self, items: &[Settlement]) -> Result<Vec<bool>, OutboxError> {
        let now = self.clock.now_ms();
        let mut conn = self.store.outbox();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut applied = Vec::with_capacity(items.len());
        for item in items {
            let n = match item {
                Settlement::Delivered { id, version, salesforce_id } => {
                    let n = tx.prepare_cached(
                        "UPDATE outbox SET state = 'delivered', delivered_version = version, salesforce_id = coalesce(?3, salesforce_id), delivered_ms = ?4,
                           updated_ms = ?4, error_class = NULL, error_code = NULL, error_message = NULL
                         WHERE interaction_id = ?1 AND version = ?2 AND state = 'pending'",
                    )?
                    .execute(params![id, version, salesforce_id, now])?;
                    if n == 1 {
                        record_event(&tx, id, now, "delivered", None, salesforce_id.as_deref())?;
                    }
                    n
                }
                Settlement::Retry { id, version, next_ms, class, code, message } => {
                    let n = tx.prepare_cached(
                        "UPDATE outbox SET attempts = attempts + 1, next_attempt_ms = ?3, error_class = ?4, error_code = ?5, error_message = ?6, updated_ms = ?7
                         WHERE interaction_id = ?1 AND version = ?2 AND state = 'pending'",
                    )?
                    .execute(params![id, version, next_ms, class, code, message, now])?;
                    if n == 1 {
                        record_event(&tx, id, now, "failed", Some(class), Some(&format!("{code}: {message}")))?;
                    }
                    n
                }
                Settlement::Postpone { id, version, next_ms } => tx
                    .prepare_cached("UPDATE outbox SET next_attempt_ms = ?3 WHERE interaction_id = ?1 AND version = ?2 AND state = 'pending'")?
                    .execute(params![id, version, next_ms])?,
                Settlement::Park { id, version, class, code, message } => {
                    let n = tx.prepare_cached(
                        "UPDATE outbox SET state = 'needs_attention', attempts = attempts + 1, error_class = ?3, error_code = ?4, error_message = ?5, updated_ms = ?6
                         WHERE interaction_id = ?1 AND version = ?2 AND state = 'pending'",
                    )?
                    .execute(params![id, version, class, code, message, now])?;
                    if n == 1 {
                        record_event(&tx, id, now, "parked", Some(class), Some(&format!("{code}: {message}")))?;
                    }
                    n
                }
            };
            applied.push(n == 1);
        }
        tx.commit()?;
        Ok(applied)
    }

    fn state_of(conn: &rusqlite::Connection, id: &str) -> Result<RowState, OutboxError> {
        let s: Option<String> =
            conn.query_row("SELECT state FROM outbox WHERE interaction_id = ?1", [id], |r| r.get(0)).optional()?;
        s.and_then(|s| RowState::parse(&s)).ok_or_else(|| OutboxError::NotFound(id.to_string()))
    }

    /// Tries a parked (or waiting) row again now.
    pub fn retry_now(&self, id: &str, who: &str) -> Result<(), OutboxError> {
        let now = self.clock.now_ms();
        let conn = self.store.outbox();
        match Self::state_of(&conn, id)? {
            RowState::Pending | RowState::NeedsAttention => {}
            state => {
                return Err(OutboxError::WrongState {
                    id: id.into(),
                    state,
                    why: "only pending or parked dispositions can be retried",
                });
            }
        }
        conn.execute(
            "UPDATE outbox SET state = 'pending', next_attempt_ms = ?2, updated_ms = ?2 WHERE interaction_id = ?1",
            params![id, now],
        )?;
        record_event(&conn, id, now, "retried", None, Some(who))?;
        drop(conn);
        self.wake.notify_one();
        Ok(())
    }

    /// Gives up on a row that was not delivered; the discard is recorded with who and why.
    pub fn discard(&self, id: &str, who: &str, why: &str) -> Result<(), OutboxError> {
        let now = self.clock.now_ms();
        let conn = self.store.outbox();
        match Self::state_of(&conn, id)? {
            RowState::Pending | RowState::NeedsAttention => {}
            state => {
                return Err(OutboxError::WrongState {
                    id: id.into(),
                    state,
                    why: "delivered or discarded dispositions cannot be discarded",
                });
            }
        }
        conn.execute(
            "UPDATE outbox SET state = 'discarded', updated_ms = ?2 WHERE interaction_id = ?1",
            params![id, now],
        )?;
        record_event(&conn, id, now, "discarded", None, Some(&format!("{who}: {why}")))?;
        Ok(())
    }

    /// Rows, optionally of one state, newest first.
    pub fn list(&self, state: Option<RowState>, limit: usize) -> Result<Vec<OutboxRow>, OutboxError> {
        list(&self.store.outbox(), state, limit)
    }

    /// One conversation's row.
    pub fn get(&self, id: &str) -> Result<Option<OutboxRow>, OutboxError> {
        Ok(list_where(&self.store.outbox(), Some(id), None, 1)?.pop())
    }

    /// Counts by state.
    pub fn depth(&self) -> Result<BTreeMap<RowState, u64>, OutboxError> {
        depth(&self.store.outbox())
    }

    /// Forgets dispositions that are settled (delivered or discarded) and untouched since `before_ms`,
    /// with their history: their notes are the agent's record of a customer, kept only as long as IT
    /// says. Pending and parked rows are never purged. Returns the dispositions removed.
    pub fn purge_settled_before(&self, before_ms: i64) -> Result<usize, OutboxError> {
        let mut conn = self.store.outbox();
        let tx = conn.transaction()?;
        tx.execute(
            "DELETE FROM outbox_event WHERE interaction_id IN
               (SELECT interaction_id FROM outbox WHERE state IN ('delivered', 'discarded') AND updated_ms < ?1)",
            [before_ms],
        )?;
        let n = tx
            .execute("DELETE FROM outbox WHERE state IN ('delivered', 'discarded') AND updated_ms < ?1", [before_ms])?;
        tx.commit()?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests;
