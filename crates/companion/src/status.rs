//! What the local store says, readable while the engine runs: the snapshot behind
//! `companion status`, the desktop's Sync view and the diagnostics export.

use crate::store::{Store, StoreError};
use rusqlite::OptionalExtension;
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

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
    /// The database file and its size.
    pub database: String,
    pub database_bytes: u64,
}

/// Reads the snapshot from a database file (read-only connection).
pub fn read(path: &Path) -> Result<StatusSnapshot, StoreError> {
    let conn = Store::reader(path)?;
    let (connection, connection_updated_ms) = conn
        .query_row("SELECT value, updated_ms FROM status_kv WHERE key = 'connection'", [], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })
        .optional()?
        .map(|(v, t)| (serde_json::from_str(&v).ok(), Some(t)))
        .unwrap_or((None, None));
    let (cache_positive, cache_negative): (i64, i64) = conn.query_row(
        "SELECT coalesce(sum(candidates != '[]'), 0), coalesce(sum(candidates = '[]'), 0) FROM cache_lookup",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let calls: i64 = conn.query_row("SELECT count(*) FROM conversation", [], |r| r.get(0))?;
    let mut pops = BTreeMap::new();
    let mut stmt = conn
        .prepare("SELECT pop_outcome, count(*) FROM conversation WHERE pop_outcome IS NOT NULL GROUP BY pop_outcome")?;
    for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
        let (k, n) = row?;
        pops.insert(k, n as u64);
    }
    let journal_frames: i64 = conn.query_row("SELECT count(*) FROM journal", [], |r| r.get(0))?;
    let database_bytes = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    Ok(StatusSnapshot {
        connection,
        connection_updated_ms,
        cache_positive: cache_positive as u64,
        cache_negative: cache_negative as u64,
        calls: calls as u64,
        pops,
        journal_frames: journal_frames as u64,
        database: path.display().to_string(),
        database_bytes,
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
        let rows = [
            ("Connection", format!("{state} (since {when})")),
            ("Calls (retention window)", self.calls.to_string()),
            ("Pops", pops),
            ("Cache", format!("{} numbers with records, {} without", self.cache_positive, self.cache_negative)),
            ("Journal", format!("{} frames", self.journal_frames)),
            ("Database", format!("{} ({} KiB)", self.database, self.database_bytes / 1024)),
        ];
        let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        rows.iter().map(|(k, v)| format!("{k:<width$}  {v}\n")).collect()
    }
}
