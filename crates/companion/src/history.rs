//! Today's calls as the History view shows them: each call's pop outcome, the record it was linked
//! to, and where its disposition is (queued, in Salesforce, needs attention).

use crate::genesys::tracker::{SegmentKind, Transition};
use crate::store::{CallWithDisposition, Interactions, Store, StoreError};
use serde::Serialize;

/// One call of the day.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HistoryRow {
    pub interaction_id: String,
    /// How it reached the agent (`inbound`, `transfer`, `outbound`, …).
    pub kind: SegmentKind,
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
    let rows = Interactions::on(&conn).since_with_disposition(since_ms, limit)?;
    Ok(rows
        .into_iter()
        .map(|CallWithDisposition { call: c, code: disposition, delivery }| HistoryRow {
            interaction_id: c.interaction_id,
            kind: c.kind,
            ani: c.ani,
            started_ms: c.first_seen_ms,
            stage: c.stage,
            pop_outcome: c.pop_outcome,
            record_id: c.pop_record,
            disposition,
            delivery,
        })
        .collect())
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
