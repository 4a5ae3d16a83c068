//! The read-back's tables' one owner: conversations settled (read after they ended, every wrap-up of
//! this agent queued), the last check's status, and how many wrap-ups were recovered.

use crate::genesys::history::HistorySource;
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

/// How the last check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadBackOutcome {
    Running,
    /// Every interaction of the window was seen.
    Complete,
    /// Some media could not be seen (the role may read calls only).
    Partial,
    /// A read failed; the check resumes where it stopped.
    Failed,
}

impl ReadBackOutcome {
    fn as_str(self) -> &'static str {
        match self {
            ReadBackOutcome::Running => "running",
            ReadBackOutcome::Complete => "complete",
            ReadBackOutcome::Partial => "partial",
            ReadBackOutcome::Failed => "failed",
        }
    }

    fn parse(s: &str) -> ReadBackOutcome {
        match s {
            "complete" => ReadBackOutcome::Complete,
            "partial" => ReadBackOutcome::Partial,
            "failed" => ReadBackOutcome::Failed,
            _ => ReadBackOutcome::Running,
        }
    }
}

/// The last check, as the Sync view and `companion status` show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReadBackStatus {
    pub started_ms: i64,
    pub finished_ms: Option<i64>,
    pub outcome: ReadBackOutcome,
    pub source: HistorySource,
    pub window_hours: u32,
    /// Why it is partial or failed.
    pub detail: Option<String>,
    /// Wrap-ups recovered, among the dispositions kept.
    pub recovered: u64,
    /// Of which are still to reach Salesforce.
    pub recovered_pending: u64,
}

/// The tables' operations, on any connection of the store.
#[derive(Debug, Clone, Copy)]
pub struct ReadBackRows<'c>(&'c Connection);

impl<'c> ReadBackRows<'c> {
    /// The tables on this connection.
    pub fn on(conn: &'c Connection) -> ReadBackRows<'c> {
        ReadBackRows(conn)
    }

    /// The conversation was read after it ended and nothing of it is left to queue.
    pub fn settled(&self, conversation_id: &str) -> rusqlite::Result<bool> {
        self.0
            .prepare_cached("SELECT 1 FROM readback_settled WHERE conversation_id = ?1")?
            .query_row([conversation_id], |_| Ok(()))
            .optional()
            .map(|r| r.is_some())
    }

    /// Marks a conversation settled (only once its wrap-ups are durably queued).
    pub fn settle(&self, conversation_id: &str, now_ms: i64) -> rusqlite::Result<()> {
        self.0
            .prepare_cached("INSERT OR REPLACE INTO readback_settled(conversation_id, settled_ms) VALUES (?1, ?2)")?
            .execute(params![conversation_id, now_ms])?;
        Ok(())
    }

    /// How many dispositions are queued for a conversation's segments.
    pub fn queued_in(&self, conversation_id: &str) -> rusqlite::Result<u64> {
        self.0
            .prepare_cached("SELECT count(*) FROM outbox WHERE json_extract(payload, '$.conversation_id') = ?1")?
            .query_row([conversation_id], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
    }

    /// The feed still owes a wrap-up of this conversation: the companion saw one of its segments, that
    /// segment is not wrapped up, and it moved since `since_ms`. (The feed's catch-up reads such a
    /// conversation when it ends; the read-back takes it over once it has been quiet longer.)
    pub fn feed_owes(&self, conversation_id: &str, since_ms: i64) -> rusqlite::Result<bool> {
        self.0
            .prepare_cached(
                "SELECT 1 FROM interaction WHERE conversation_id = ?1 AND stage < ?2 AND updated_ms >= ?3 LIMIT 1",
            )?
            .query_row(
                params![conversation_id, crate::genesys::segment::Transition::WrapupSubmitted as i64, since_ms],
                |_| Ok(()),
            )
            .optional()
            .map(|r| r.is_some())
    }

    /// Forgets settled conversations older than the window (they are no longer listed).
    pub fn purge_before(&self, before_ms: i64) -> rusqlite::Result<usize> {
        self.0.execute("DELETE FROM readback_settled WHERE settled_ms < ?1", [before_ms])
    }

    /// Records that a check started.
    pub fn started(&self, source: HistorySource, window_hours: u32, now_ms: i64) -> rusqlite::Result<()> {
        self.0.execute(
            "INSERT INTO readback_status(id, started_ms, finished_ms, outcome, source, window_hours, detail)
             VALUES (1, ?1, NULL, 'running', ?2, ?3, NULL)
             ON CONFLICT(id) DO UPDATE SET started_ms = excluded.started_ms, finished_ms = NULL, outcome = 'running',
               source = excluded.source, window_hours = excluded.window_hours, detail = NULL",
            params![now_ms, source_name(source), window_hours],
        )?;
        Ok(())
    }

    /// Records how the check ended.
    pub fn finished(
        &self,
        outcome: ReadBackOutcome,
        source: HistorySource,
        detail: Option<&str>,
        now_ms: i64,
    ) -> rusqlite::Result<()> {
        self.0.execute(
            "UPDATE readback_status SET finished_ms = ?1, outcome = ?2, source = ?3, detail = ?4 WHERE id = 1",
            params![now_ms, outcome.as_str(), source_name(source), detail],
        )?;
        Ok(())
    }

    /// The last check, with the recovered counts (none before the first check).
    pub fn status(&self) -> rusqlite::Result<Option<ReadBackStatus>> {
        let row = self
            .0
            .query_row(
                "SELECT started_ms, finished_ms, outcome, source, window_hours, detail FROM readback_status WHERE id = 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Option<i64>>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, i64>(4)?,
                        r.get::<_, Option<String>>(5)?,
                    ))
                },
            )
            .optional()?;
        let Some((started_ms, finished_ms, outcome, source, window_hours, detail)) = row else { return Ok(None) };
        let (recovered, recovered_pending) = self.0.query_row(
            "SELECT count(*), coalesce(sum(state IN ('pending', 'needs_attention')), 0) FROM outbox
             WHERE json_extract(payload, '$.recovered') = 1",
            [],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
        )?;
        Ok(Some(ReadBackStatus {
            started_ms,
            finished_ms,
            outcome: ReadBackOutcome::parse(&outcome),
            source: if source == "call_history" { HistorySource::CallHistory } else { HistorySource::Analytics },
            window_hours: window_hours as u32,
            detail,
            recovered,
            recovered_pending,
        }))
    }
}

fn source_name(s: HistorySource) -> &'static str {
    match s {
        HistorySource::Analytics => "analytics",
        HistorySource::CallHistory => "call_history",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn settling_is_remembered_and_the_status_keeps_the_last_check() {
        let store = Store::in_memory().unwrap();
        let conn = store.background();
        let rows = ReadBackRows::on(&conn);
        assert_eq!(rows.status().unwrap(), None);
        assert!(!rows.settled("c1").unwrap());
        rows.settle("c1", 10).unwrap();
        assert!(rows.settled("c1").unwrap());
        rows.started(HistorySource::Analytics, 24, 100).unwrap();
        assert_eq!(rows.status().unwrap().unwrap().outcome, ReadBackOutcome::Running);
        rows.finished(ReadBackOutcome::Partial, HistorySource::CallHistory, Some("calls only"), 200).unwrap();
        let s = rows.status().unwrap().unwrap();
        assert_eq!(
            (s.outcome, s.source, s.finished_ms, s.recovered),
            (ReadBackOutcome::Partial, HistorySource::CallHistory, Some(200), 0)
        );
        assert_eq!(rows.purge_before(11).unwrap(), 1);
        assert!(!rows.settled("c1").unwrap());
    }
}
