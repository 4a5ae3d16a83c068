//! The `conversation` table's one owner: every call this desktop saw, its furthest stage, its pop and
//! the record linked to it. Nothing else in the crate writes SQL for this table.

use crate::genesys::tracker::Transition;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

/// One call as the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallRecord {
    pub conversation_id: String,
    /// The furthest stage seen.
    pub stage: Option<Transition>,
    /// The caller's address as Genesys gave it.
    pub ani: Option<String>,
    pub first_seen_ms: i64,
    pub updated_ms: i64,
    /// `single`, `multiple`, `no_match`, … (none before the pop).
    pub pop_outcome: Option<String>,
    /// The record the pop found or the agent picked.
    pub pop_record: Option<String>,
    /// The pop's duration (µs).
    pub pop_us: Option<i64>,
}

/// A call with the code and delivery state of its disposition, when one is queued.
#[derive(Debug, Clone, PartialEq)]
pub struct CallWithDisposition {
    pub call: CallRecord,
    pub code: Option<String>,
    /// `pending`, `delivered`, `needs_attention`, `discarded`.
    pub delivery: Option<String>,
}

/// The table's operations, on any connection of the store (a transaction derefs to one).
#[derive(Debug, Clone, Copy)]
pub struct Conversations<'c>(&'c Connection);

const COLUMNS: &str = "id, stage, ani, first_seen_ms, updated_ms, pop_outcome, pop_record, pop_us";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CallRecord> {
    Ok(CallRecord {
        conversation_id: r.get(0)?,
        stage: Transition::from_stage(r.get(1)?),
        ani: r.get(2)?,
        first_seen_ms: r.get(3)?,
        updated_ms: r.get(4)?,
        pop_outcome: r.get(5)?,
        pop_record: r.get(6)?,
        pop_us: r.get(7)?,
    })
}

impl<'c> Conversations<'c> {
    /// The table on this connection.
    pub fn on(conn: &'c Connection) -> Conversations<'c> {
        Conversations(conn)
    }

    /// A stage reached: the call is created at its first stage; a stage never goes back.
    pub fn record_stage(
        &self,
        id: &str,
        stage: Transition,
        ani: Option<&str>,
        participant_id: Option<&str>,
        now_ms: i64,
    ) -> rusqlite::Result<()> {
        self.0
            .prepare_cached(
                "INSERT INTO conversation(id, stage, ani, participant_id, first_seen_ms, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?5)
                 ON CONFLICT(id) DO UPDATE SET stage = max(stage, excluded.stage), ani = coalesce(ani, excluded.ani),
                   participant_id = coalesce(excluded.participant_id, participant_id), updated_ms = excluded.updated_ms",
            )?
            .execute(params![id, stage as i64, ani, participant_id, now_ms])?;
        Ok(())
    }

    /// The pop's outcome, its record (if one was found) and its duration. The call's first stage is
    /// written before its pop (the engine orders the two), so this is an update.
    pub fn record_pop(
        &self,
        id: &str,
        outcome: &str,
        record: Option<&str>,
        pop_us: i64,
        now_ms: i64,
    ) -> rusqlite::Result<bool> {
        let n = self
            .0
            .prepare_cached(
                "UPDATE conversation SET pop_outcome = ?2, pop_record = ?3, pop_us = ?4, updated_ms = ?5 WHERE id = ?1",
            )?
            .execute(params![id, outcome, record, pop_us, now_ms])?;
        Ok(n == 1)
    }

    /// The agent linked a record to the call; false when no such call is kept.
    pub fn link_record(&self, id: &str, record_id: &str, now_ms: i64) -> rusqlite::Result<bool> {
        let n = self.0.execute(
            "UPDATE conversation SET pop_record = ?2, updated_ms = ?3 WHERE id = ?1",
            params![id, record_id, now_ms],
        )?;
        Ok(n == 1)
    }

    /// One call.
    pub fn get(&self, id: &str) -> rusqlite::Result<Option<CallRecord>> {
        self.0
            .prepare_cached(&format!("SELECT {COLUMNS} FROM conversation WHERE id = ?1"))?
            .query_row([id], row)
            .optional()
    }

    /// The furthest stage of every call updated since `since_ms` (to restore the tracker at start).
    pub fn stages_since(&self, since_ms: i64) -> rusqlite::Result<Vec<(String, Transition)>> {
        let mut stmt = self.0.prepare("SELECT id, stage FROM conversation WHERE updated_ms > ?1")?;
        let rows = stmt.query_map([since_ms], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        let mut out = vec![];
        for r in rows {
            let (id, stage) = r?;
            if let Some(t) = Transition::from_stage(stage) {
                out.push((id, t));
            }
        }
        Ok(out)
    }

    /// The most recently updated calls, newest first.
    pub fn recent(&self, limit: usize) -> rusqlite::Result<Vec<CallRecord>> {
        self.0
            .prepare(&format!("SELECT {COLUMNS} FROM conversation ORDER BY updated_ms DESC LIMIT ?1"))?
            .query_map([limit as i64], row)?
            .collect()
    }

    /// Calls first seen since `since_ms`, newest first, with the code and delivery state of their
    /// disposition when one is queued.
    pub fn since_with_disposition(&self, since_ms: i64, limit: usize) -> rusqlite::Result<Vec<CallWithDisposition>> {
        let mut stmt = self.0.prepare(
            "SELECT c.id, c.stage, c.ani, c.first_seen_ms, c.updated_ms, c.pop_outcome, c.pop_record, c.pop_us,
                    json_extract(o.payload, '$.code'), o.state
             FROM conversation c LEFT JOIN outbox o ON o.conversation_id = c.id
             WHERE c.first_seen_ms >= ?1 ORDER BY c.first_seen_ms DESC LIMIT ?2",
        )?;
        stmt.query_map(params![since_ms, limit as i64], |r| {
            Ok(CallWithDisposition { call: row(r)?, code: r.get(8)?, delivery: r.get(9)? })
        })?
        .collect()
    }

    /// How many calls are kept.
    pub fn count(&self) -> rusqlite::Result<u64> {
        self.0.query_row("SELECT count(*) FROM conversation", [], |r| r.get::<_, i64>(0)).map(|n| n as u64)
    }

    /// How many calls popped with each outcome.
    pub fn pop_outcomes(&self) -> rusqlite::Result<Vec<(String, u64)>> {
        self.0
            .prepare(
                "SELECT pop_outcome, count(*) FROM conversation WHERE pop_outcome IS NOT NULL GROUP BY pop_outcome",
            )?
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)))?
            .collect()
    }

    /// The durations (µs) of the most recent pops.
    pub fn recent_pop_us(&self, limit: usize) -> rusqlite::Result<Vec<i64>> {
        self.0
            .prepare("SELECT pop_us FROM conversation WHERE pop_us IS NOT NULL ORDER BY updated_ms DESC LIMIT ?1")?
            .query_map([limit as i64], |r| r.get(0))?
            .collect()
    }

    /// Every call with a caller address: `(id, address)`.
    pub fn addresses(&self) -> rusqlite::Result<Vec<(String, String)>> {
        self.0
            .prepare("SELECT id, ani FROM conversation WHERE ani IS NOT NULL")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect()
    }

    /// Forgets one call; returns the rows removed.
    pub fn delete(&self, id: &str) -> rusqlite::Result<usize> {
        self.0.execute("DELETE FROM conversation WHERE id = ?1", [id])
    }

    /// Unlinks a record from every call that named it; returns the calls changed.
    pub fn unlink_record(&self, record_id: &str) -> rusqlite::Result<usize> {
        self.0.execute("UPDATE conversation SET pop_record = NULL WHERE pop_record = ?1", [record_id])
    }

    /// Forgets calls not updated since `before_ms`; returns how many.
    pub fn purge_before(&self, before_ms: i64) -> rusqlite::Result<usize> {
        self.0.execute("DELETE FROM conversation WHERE updated_ms < ?1", [before_ms])
    }

    /// Forgets every call; returns how many.
    pub fn delete_all(&self) -> rusqlite::Result<usize> {
        self.0.execute("DELETE FROM conversation", [])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn a_stage_never_goes_back_and_the_pop_lands_on_the_call() {
        let store = Store::in_memory().unwrap();
        let conn = store.background();
        let calls = Conversations::on(&conn);
        calls.record_stage("c1", Transition::Alerting, Some("+15551230001"), Some("p1"), 10).unwrap();
        assert!(calls.record_pop("c1", "single", Some("0038c00000000gIAAQ"), 1500, 11).unwrap());
        calls.record_stage("c1", Transition::Disconnected, None, None, 12).unwrap();
        // A late duplicate of an earlier stage (REST catch-up) changes nothing.
        calls.record_stage("c1", Transition::Connected, Some("+15559999999"), None, 13).unwrap();
        let c = calls.get("c1").unwrap().unwrap();
        assert_eq!(c.stage, Some(Transition::Disconnected));
        assert_eq!(c.ani.as_deref(), Some("+15551230001"));
        assert_eq!(
            (c.pop_outcome.as_deref(), c.pop_record.as_deref(), c.pop_us),
            (Some("single"), Some("0038c00000000gIAAQ"), Some(1500))
        );
        assert_eq!(c.first_seen_ms, 10);
        // A pop for a call that was never recorded is refused, not invented.
        assert!(!calls.record_pop("nope", "single", None, 1, 14).unwrap());
        assert!(!calls.link_record("nope", "0038c00000000gIAAQ", 14).unwrap());
        assert_eq!(calls.stages_since(0).unwrap(), vec![("c1".to_string(), Transition::Disconnected)]);
        assert_eq!(calls.purge_before(13).unwrap(), 0);
        assert_eq!(calls.purge_before(14).unwrap(), 1);
        assert_eq!(calls.count().unwrap(), 0);
    }
}
