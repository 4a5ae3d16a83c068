//! What the local store says, readable while the engine runs: the snapshot behind
//! `companion status`, the desktop's Sync view and the diagnostics export.

use crate::outbox::OutboxRows;
use crate::screenpop::cache::CacheRows;
use crate::store::{DbFile, Interactions, Journal, StoreError, status_value};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The status snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct StatusSnapshot {
    /// The feed's last known state (JSON of the connection state), and when it was recorded.
    pub connection: Option<Value>,
    pub connection_updated_ms: Option<i64>,
    /// Cache entries with candidates / without.
    pub cache_positive: u64,
    pub cache_negative: u64,
    /// Calls tracked in the retention window, and their pops by outcome.
    pub calls: u64,
    pub pops: BTreeMap<String, u64>,
    /// Journal frames kept.
    pub journal_frames: u64,
    /// The outbox by state.
    pub queue: BTreeMap<String, u64>,
    /// Age of the oldest pending disposition, seconds.
    pub oldest_pending_secs: Option<u64>,
    /// When a push last succeeded (ms since the epoch).
    pub last_push_ms: Option<i64>,
    /// Failures of the last 24 h by class, with the latest message of each.
    pub recent_errors: BTreeMap<String, ErrorCount>,
    /// The org's API usage last seen.
    pub api_usage: Option<Value>,
    /// Cache hits and misses of the engine's current run, and the ratio.
    pub cache_hits: Option<u64>,
    pub cache_misses: Option<u64>,
    pub cache_hit_ratio: Option<f64>,
    /// Pop latency over the last 500 pops, ms.
    pub pop_ms_p50: Option<f64>,
    pub pop_ms_p99: Option<f64>,
    /// The database file and its size.
    pub database: String,
    pub database_bytes: u64,
    /// The last read-back of interactions handled while the app was closed, with how many wrap-ups it
    /// recovered (none before the first check).
    pub readback: Option<crate::store::ReadBackStatus>,
}

/// Failures of one class.
#[derive(Debug, Clone, Serialize)]
pub struct ErrorCount {
    pub count: u64,
    pub latest: String,
}

/// Reads the snapshot from a database file (read-only connection).
pub fn read(db: &DbFile) -> Result<StatusSnapshot, StoreError> {
    let path = db.path.as_path();
    let conn = db.reader()?;
    let (connection, connection_updated_ms) = status_value(&conn, "connection")?
        .map(|(v, t)| (serde_json::from_str(&v).ok(), Some(t)))
        .unwrap_or((None, None));
    let cache = CacheRows::on(&conn).size()?;
    let conversations = Interactions::on(&conn);
    let calls = conversations.count()?;
    let pops: BTreeMap<String, u64> = conversations.pop_outcomes()?.into_iter().collect();
    let journal_frames = Journal::on(&conn).count()?;
    let now = chrono::Utc::now().timestamp_millis();
    let queue = crate::outbox::depth(&conn)
        .map_err(|e| match e {
            crate::outbox::OutboxError::Store(s) => s,
            other => StoreError::Open { path: path.into(), message: other.to_string() },
        })?
        .into_iter()
        .map(|(k, v)| {
            (serde_json::to_value(k).ok().and_then(|x| x.as_str().map(str::to_string)).unwrap_or_default(), v)
        })
        .collect();
    let outbox = OutboxRows::on(&conn);
    let oldest = outbox.oldest_pending_ms()?;
    let kv = |k: &str| -> Result<Option<String>, StoreError> { Ok(status_value(&conn, k)?.map(|(v, _)| v)) };
    let last_push_ms = kv("last_push_ms")?.and_then(|v| v.parse().ok());
    let api_usage = kv("api_usage")?.and_then(|v| serde_json::from_str(&v).ok());
    let cache_stats: Option<Value> = kv("cache_stats")?.and_then(|v| serde_json::from_str(&v).ok());
    let cache_hits = cache_stats.as_ref().and_then(|c| c["hits"].as_u64());
    let cache_misses = cache_stats.as_ref().and_then(|c| c["misses"].as_u64());
    let cache_hit_ratio = match (cache_hits, cache_misses) {
        (Some(h), Some(m)) if h + m > 0 => Some((h as f64 / (h + m) as f64 * 1000.0).round() / 1000.0),
        _ => None,
    };
    let recent_errors = outbox
        .failures_by_class(now - 86_400_000)?
        .into_iter()
        .map(|(class, count, latest)| (class, ErrorCount { count, latest }))
        .collect();
    let mut lat = conversations.recent_pop_us(500)?;
    lat.sort_unstable();
    let pct = |p: f64| (!lat.is_empty()).then(|| lat[((lat.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0);
    let database_bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let readback = crate::store::ReadBackRows::on(&conn).status()?;
    Ok(StatusSnapshot {
        connection,
        connection_updated_ms,
        cache_positive: cache.positive,
        cache_negative: cache.negative,
        calls,
        pops,
        journal_frames,
        queue,
        oldest_pending_secs: oldest.map(|o| ((now - o).max(0) / 1000) as u64),
        last_push_ms,
        recent_errors,
        api_usage,
        cache_hits,
        cache_misses,
        cache_hit_ratio,
        pop_ms_p50: pct(0.5),
        pop_ms_p99: pct(0.99),
        database: path.display().to_string(),
        database_bytes,
        readback,
    })
}

impl StatusSnapshot {
    /// A table for people.
    pub fn to_table(&self) -> String {
        let state = self.connection.as_ref().and_then(|c| c.get("state")).and_then(Value::as_str).unwrap_or("unknown");
        let when = self
            .connection_updated_ms
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M:%S").to_string())
            .unwrap_or_else(|| "never".into());
        let pops = if self.pops.is_empty() {
            "none".to_string()
        } else {
            self.pops.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
        };
        let fmt_time = |ms: Option<i64>| {
            ms.and_then(chrono::DateTime::from_timestamp_millis)
                .map(|t| t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_else(|| "never".into())
        };
        let queue = if self.queue.is_empty() {
            "empty".to_string()
        } else {
            self.queue.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
        };
        let errors = if self.recent_errors.is_empty() {
            "none in 24 h".to_string()
        } else {
            self.recent_errors
                .iter()
                .map(|(k, e)| format!("{k} ×{} (latest: {})", e.count, e.latest))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let usage = self
            .api_usage
            .as_ref()
            .map(|u| format!("{} of {} today", u["used"], u["max"]))
            .unwrap_or_else(|| "not seen yet".into());
        let latency = match (self.pop_ms_p50, self.pop_ms_p99) {
            (Some(a), Some(b)) => format!("p50 {a:.2} ms, p99 {b:.2} ms"),
            _ => "no pops yet".into(),
        };
        let readback = match &self.readback {
            None => "not checked yet".to_string(),
            Some(r) => {
                let what = match r.outcome {
                    crate::store::ReadBackOutcome::Running => "running".to_string(),
                    crate::store::ReadBackOutcome::Complete => "saw everything".to_string(),
                    crate::store::ReadBackOutcome::Partial | crate::store::ReadBackOutcome::Failed => {
                        format!("incomplete: {}", r.detail.as_deref().unwrap_or("unknown reason"))
                    }
                };
                format!(
                    "{} recovered ({} still to deliver); last check {} over {} h: {what}",
                    r.recovered,
                    r.recovered_pending,
                    fmt_time(r.finished_ms.or(Some(r.started_ms))),
                    r.window_hours
                )
            }
        };
        let rows = [
            ("Connection", format!("{state} (since {when})")),
            ("Handled while closed", readback),
            ("Dispositions", queue),
            ("Oldest pending", self.oldest_pending_secs.map(|s| format!("{s} s")).unwrap_or_else(|| "none".into())),
            ("Last push", fmt_time(self.last_push_ms)),
            ("Errors", errors),
            ("Salesforce API", usage),
            ("Pop latency", latency),
            ("Calls (retention window)", self.calls.to_string()),
            ("Pops", pops),
            (
                "Cache",
                format!(
                    "{} numbers with records, {} without; hit ratio {}",
                    self.cache_positive,
                    self.cache_negative,
                    self.cache_hit_ratio
                        .map(|r| format!("{:.0} %", r * 100.0))
                        .unwrap_or_else(|| "not measured yet".into())
                ),
            ),
            ("Journal", format!("{} frames", self.journal_frames)),
            ("Database", format!("{} ({} KiB)", self.database, self.database_bytes / 1024)),
        ];
        let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        rows.iter().map(|(k, v)| format!("{k:<width$}  {v}\n")).collect()
    }
}
