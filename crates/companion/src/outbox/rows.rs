//! The outbox's rows read and erased over any connection: the status report and the CLI read them
//! beside a running engine (a read-only connection), an erasure inside its own transaction.

use super::{OutboxError, OutboxRow, RowState};
use rusqlite::params;
use std::collections::BTreeMap;

/// One failed delivery attempt, as the history keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct FailureEvent {
    pub interaction_id: String,
    pub at_ms: i64,
    pub kind: String,
    pub class: String,
    /// `CODE: message` as Salesforce said it.
    pub detail: Option<String>,
}

/// The outbox's rows on any connection: the status report's read-only one, an erasure's transaction
/// (a transaction derefs to a connection).
#[derive(Debug, Clone, Copy)]
pub struct OutboxRows<'c>(&'c rusqlite::Connection);

impl<'c> OutboxRows<'c> {
    /// The rows on this connection.
    pub fn on(conn: &'c rusqlite::Connection) -> OutboxRows<'c> {
        OutboxRows(conn)
    }

    /// The dispositions whose payload names a record (by its 18- or 15-character id).
    pub fn mentioning(&self, id18: &str) -> rusqlite::Result<Vec<String>> {
        let id15 = id18.get(..15).unwrap_or(id18);
        self.0
            .prepare("SELECT interaction_id FROM outbox WHERE payload LIKE ?1 OR payload LIKE ?2")?
            .query_map(rusqlite::params![format!("%{id18}%"), format!("%{id15}%")], |r| r.get(0))?
            .collect()
    }

    /// How many of these dispositions are not delivered yet (pending or parked).
    pub fn undelivered_among(&self, ids: &[String]) -> rusqlite::Result<u64> {
        let mut stmt = self.0.prepare_cached(
            "SELECT count(*) FROM outbox WHERE interaction_id = ?1 AND state IN ('pending', 'needs_attention')",
        )?;
        let mut n = 0u64;
        for id in ids {
            n += stmt.query_row([id], |r| r.get::<_, i64>(0))? as u64;
        }
        Ok(n)
    }

    /// How many dispositions are not delivered yet.
    pub fn undelivered(&self) -> rusqlite::Result<u64> {
        self.0
            .query_row("SELECT count(*) FROM outbox WHERE state IN ('pending', 'needs_attention')", [], |r| {
                r.get::<_, i64>(0)
            })
            .map(|n| n as u64)
    }

    /// Erases dispositions and their history; returns (dispositions, history rows) removed.
    pub fn erase(&self, ids: &[String]) -> rusqlite::Result<(usize, usize)> {
        let (mut rows, mut events) = (0, 0);
        for id in ids {
            events += self.0.execute("DELETE FROM outbox_event WHERE interaction_id = ?1", [id])?;
            rows += self.0.execute("DELETE FROM outbox WHERE interaction_id = ?1", [id])?;
        }
        Ok((rows, events))
    }

    /// When the oldest pending disposition was queued (ms), if one is.
    pub fn oldest_pending_ms(&self) -> rusqlite::Result<Option<i64>> {
        self.0.query_row("SELECT min(created_ms) FROM outbox WHERE state = 'pending'", [], |r| r.get(0))
    }

    /// Failures since `since_ms` by class: (class, how many, the latest one's detail).
    pub fn failures_by_class(&self, since_ms: i64) -> rusqlite::Result<Vec<(String, u64, String)>> {
        self.0
            .prepare(
                "SELECT error_class, count(*), (SELECT detail FROM outbox_event e2 WHERE e2.error_class = e.error_class ORDER BY id DESC LIMIT 1)
                 FROM outbox_event e WHERE error_class IS NOT NULL AND at_ms > ?1 GROUP BY error_class",
            )?
            .query_map([since_ms], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64, r.get::<_, Option<String>>(2)?.unwrap_or_default()))
            })?
            .collect()
    }

    /// The latest failures, newest first: (conversation id, at ms, kind, class, detail).
    pub fn recent_failures(&self, limit: usize) -> rusqlite::Result<Vec<FailureEvent>> {
        self.0
            .prepare(
                "SELECT interaction_id, at_ms, kind, error_class, detail FROM outbox_event WHERE error_class IS NOT NULL ORDER BY id DESC LIMIT ?1",
            )?
            .query_map([limit as i64], |r| {
                Ok(FailureEvent {
                    interaction_id: r.get(0)?,
                    at_ms: r.get(1)?,
                    kind: r.get(2)?,
                    class: r.get(3)?,
                    detail: r.get(4)?,
                })
            })?
            .collect()
    }

    /// Erases every disposition and its history; returns (dispositions, history rows) removed.
    pub fn erase_all(&self) -> rusqlite::Result<(usize, usize)> {
        let events = self.0.execute("DELETE FROM outbox_event", [])?;
        Ok((self.0.execute("DELETE FROM outbox", [])?, events))
    }
}

/// Rows of an outbox table, on any connection (the CLI reads while the engine runs).
pub fn list(conn: &rusqlite::Connection, state: Option<RowState>, limit: usize) -> Result<Vec<OutboxRow>, OutboxError> {
    list_where(conn, None, state, limit)
}

pub(super) fn list_where(
    conn: &rusqlite::Connection,
    id: Option<&str>,
    state: Option<RowState>,
    limit: usize,
) -> Result<Vec<OutboxRow>, OutboxError> {
    let mut stmt = conn.prepare_cached(
        "SELECT interaction_id, version, state, attempts, next_attempt_ms, salesforce_id, error_class, error_code, error_message, updated_ms, payload
         FROM outbox WHERE (?1 IS NULL OR state = ?1) AND (?3 IS NULL OR interaction_id = ?3) ORDER BY updated_ms DESC LIMIT ?2",
    )?;
    // A row whose state or payload cannot be read (written by a newer version) is left out.
    let rows = stmt.query_map(params![state.map(RowState::as_str), limit.min(i64::MAX as usize) as i64, id], |r| {
        let state = RowState::parse(&r.get::<_, String>(2)?);
        let disposition = serde_json::from_str(&r.get::<_, String>(10)?).ok();
        let (Some(state), Some(disposition)) = (state, disposition) else { return Ok(None) };
        Ok(Some(OutboxRow {
            interaction_id: r.get(0)?,
            version: r.get(1)?,
            state,
            attempts: r.get(3)?,
            next_attempt_ms: r.get(4)?,
            salesforce_id: r.get(5)?,
            error_class: r.get(6)?,
            error_code: r.get(7)?,
            error_message: r.get(8)?,
            updated_ms: r.get(9)?,
            disposition,
        }))
    })?;
    let mut out = vec![];
    for row in rows {
        out.extend(row?);
    }
    Ok(out)
}

/// Counts by state, on any connection.
pub fn depth(conn: &rusqlite::Connection) -> Result<BTreeMap<RowState, u64>, OutboxError> {
    let mut stmt = conn.prepare("SELECT state, count(*) FROM outbox GROUP BY state")?;
    let mut out = BTreeMap::new();
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
        let (s, n) = row?;
        if let Some(state) = RowState::parse(&s) {
            out.insert(state, n as u64);
        }
    }
    Ok(out)
}
