//! Today's calls as the History view shows them: each call's pop outcome, the record it was linked
//! to, and where its disposition is (queued, in Salesforce, needs attention).

use crate::genesys::tracker::Transition;
use crate::store::{Store, StoreError};
use serde::Serialize;

/// One call of the day.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HistoryRow {
    pub conversation_id: String,
    /// The caller's address as Genesys showed it.
    pub ani: Option<String>,
    pub started_ms: i64,
    pub stage: Option<Transition>,
    /// `single`, `multiple`, `no_match`, … (none when the call never popped).
    pub pop_outcome: Option<String>,
    /// The record the pop or the agent linked.
    pub record_id: Option<String>,
    /// The disposition code, when one is queued.
    pub disposition: Option<String>,
    /// `pending`, `delivered`, `needs_attention`, `discarded`; none without a disposition.
    pub delivery: Option<String>,
}

/// Calls first seen since `since_ms`, newest first (at most `limit`).
pub fn since(store: &Store, since_ms: i64, limit: usize) -> Result<Vec<HistoryRow>, StoreError> {
    let conn = store.background();
    let mut stmt = conn.prepare(
        "SELECT c.id, c.ani, c.first_seen_ms, c.stage, c.pop_outcome, c.pop_record,
                json_extract(o.payload, '$.code'), o.state
         FROM conversation c LEFT JOIN outbox o ON o.conversation_id = c.id
         WHERE c.first_seen_ms >= ?1 ORDER BY c.first_seen_ms DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(rusqlite::params![since_ms, limit as i64], |r| {
        Ok(HistoryRow {
            conversation_id: r.get(0)?,
            ani: r.get(1)?,
            started_ms: r.get(2)?,
            stage: r.get::<_, i64>(3).ok().and_then(Transition::from_stage),
            pop_outcome: r.get(4)?,
            record_id: r.get(5)?,
            disposition: r.get(6)?,
            delivery: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Local midnight of the day `now_ms` falls in, in ms since the epoch.
pub fn start_of_day_ms(now_ms: i64) -> i64 {
    use chrono::{Local, TimeZone};
    let now = Local.timestamp_millis_opt(now_ms).single().unwrap_or_else(Local::now);
    now.date_naive()
        .and_hms_opt(0, 0, 0)
        .and_then(|m| Local.from_local_datetime(&m).earliest())
        .map(|t| t.timestamp_millis())
        .unwrap_or(now_ms - 86_400_000)
}
