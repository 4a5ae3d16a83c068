//! The local SQLite database: WAL, migrations that are only ever added, an integrity check at start,
//! and one long-lived connection per role. `cache_*` tables are disposable (rebuilt from Salesforce);
//! the rest is the agent's own state.

use rusqlite::{Connection, OpenFlags};
use rusqlite_migration::{M, Migrations};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// Why the store could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The directory or file could not be opened.
    #[error("cannot open the local database {path}: {message}")]
    Open { path: PathBuf, message: String },
    /// The file is not a database, or it failed its integrity check.
    #[error(
        "the local database {path} is damaged ({detail}). Quit the app, move the file aside and start again: the lookup cache rebuilds itself"
    )]
    Damaged { path: PathBuf, detail: String },
    /// A schema migration failed.
    #[error("cannot update the local database {path} to this version: {message}")]
    Migration { path: PathBuf, message: String },
    /// A statement failed.
    #[error("local database error: {0}")]
    Sql(#[from] rusqlite::Error),
}

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(
            "CREATE TABLE cache_lookup (
            e164 TEXT PRIMARY KEY,
            candidates TEXT NOT NULL,
            fetched_ms INTEGER NOT NULL,
            expires_ms INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX cache_lookup_expires ON cache_lookup(expires_ms);
        CREATE TABLE picker_choice (
            e164 TEXT PRIMARY KEY,
            record_id TEXT NOT NULL,
            chosen_ms INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE conversation (
            id TEXT PRIMARY KEY,
            stage INTEGER NOT NULL,
            ani TEXT,
            participant_id TEXT,
            first_seen_ms INTEGER NOT NULL,
            updated_ms INTEGER NOT NULL,
            pop_outcome TEXT,
            pop_record TEXT
        ) WITHOUT ROWID;
        CREATE INDEX conversation_updated ON conversation(updated_ms);
        CREATE TABLE journal (
            id INTEGER PRIMARY KEY,
            received_ms INTEGER NOT NULL,
            conversation_id TEXT,
            frame TEXT NOT NULL
        );
        CREATE INDEX journal_received ON journal(received_ms);
        CREATE TABLE status_kv (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            updated_ms INTEGER NOT NULL
        ) WITHOUT ROWID;",
        ),
        M::up(
            "CREATE TABLE outbox (
            conversation_id TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            payload TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'needs_attention', 'discarded')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_ms INTEGER NOT NULL,
            delivered_version INTEGER,
            salesforce_id TEXT,
            error_class TEXT,
            error_code TEXT,
            error_message TEXT,
            created_ms INTEGER NOT NULL,
            updated_ms INTEGER NOT NULL,
            delivered_ms INTEGER
        ) WITHOUT ROWID;
        CREATE INDEX outbox_due ON outbox(state, next_attempt_ms);
        CREATE TABLE outbox_event (
            id INTEGER PRIMARY KEY,
            conversation_id TEXT NOT NULL,
            at_ms INTEGER NOT NULL,
            kind TEXT NOT NULL,
            error_class TEXT,
            detail TEXT
        );
        CREATE INDEX outbox_event_at ON outbox_event(at_ms);
        ALTER TABLE conversation ADD COLUMN pop_us INTEGER;",
        ),
        M::up(
            "CREATE TABLE erasure_log (
            id INTEGER PRIMARY KEY,
            at_ms INTEGER NOT NULL,
            scope TEXT NOT NULL,
            removed TEXT NOT NULL
        );",
        ),
    ])
}

/// The database, with one long-lived connection per role: `conn` for the screen pop's hot path
/// (cache, picks), `background` for everything that may hold the database longer (call stages, the
/// journal, housekeeping, status), so a batch write never stands between a frame and its pop.
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    conn: Mutex<Connection>,
    background: Mutex<Connection>,
    outbox: Mutex<Connection>,
}

/// The default database file: `<data dir>/agent-companion/companion.db`.
pub fn default_path() -> PathBuf {
    dirs::data_local_dir().unwrap_or_else(std::env::temp_dir).join("agent-companion").join("companion.db")
}

fn damaged(path: &Path, e: &rusqlite::Error) -> bool {
    let _ = path;
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if matches!(f.code, rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt))
}

/// Opens a connection with the pragmas every role uses.
fn connect(path: &Path, flags: OpenFlags) -> Result<Connection, StoreError> {
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| StoreError::Open { path: path.into(), message: e.to_string() })?;
    let setup = || -> rusqlite::Result<()> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Deleted content is overwritten, so an erased number does not linger in free pages.
        conn.pragma_update(None, "secure_delete", "ON")?;
        Ok(())
    };
    setup().map_err(|e| {
        if damaged(path, &e) {
            StoreError::Damaged { path: path.into(), detail: e.to_string() }
        } else {
            StoreError::Sql(e)
        }
    })?;
    Ok(conn)
}

impl Store {
    /// Opens (creating if needed) the database: WAL, migrations, integrity check.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Open { path: path.into(), message: e.to_string() })?;
        }
        let mut conn = connect(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_URI,
        )?;
        let as_damaged = |e: rusqlite::Error| {
            if damaged(path, &e) {
                StoreError::Damaged { path: path.into(), detail: e.to_string() }
            } else {
                StoreError::Sql(e)
            }
        };
        let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0)).map_err(as_damaged)?;
        if !mode.eq_ignore_ascii_case("wal") && !path.to_string_lossy().contains("mode=memory") {
            tracing::warn!(mode, "SQLite did not switch to WAL");
        }
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(as_damaged)?;
        let check: String = conn.query_row("PRAGMA quick_check", [], |r| r.get(0)).map_err(as_damaged)?;
        if check != "ok" {
            return Err(StoreError::Damaged { path: path.into(), detail: check });
        }
        migrations()
            .to_latest(&mut conn)
            .map_err(|e| StoreError::Migration { path: path.into(), message: e.to_string() })?;
        let background = connect(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_URI)?;
        background.pragma_update(None, "synchronous", "NORMAL")?;
        // The outbox's own connection: every commit reaches the disk before it is acknowledged.
        let outbox = connect(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_URI)?;
        outbox.pragma_update(None, "synchronous", "FULL")?;
        Ok(Store {
            path: path.into(),
            conn: Mutex::new(conn),
            background: Mutex::new(background),
            outbox: Mutex::new(outbox),
        })
    }

    /// A private in-memory database shared by the store's connections (tests).
    pub fn in_memory() -> Result<Store, StoreError> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        Store::open(Path::new(&format!("file:companion-mem-{}-{n}?mode=memory&cache=shared", std::process::id())))
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The hot-path connection (cache, picks).
    pub fn conn(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The outbox's connection (`synchronous=FULL`: a disposition is on disk once its write returns).
    pub fn outbox(&self) -> MutexGuard<'_, Connection> {
        self.outbox.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The background connection (call stages, journal, housekeeping, status).
    pub fn background(&self) -> MutexGuard<'_, Connection> {
        self.background.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A separate read-only connection (for `companion status` while the engine runs).
    pub fn reader(path: &Path) -> Result<Connection, StoreError> {
        if !path.exists() {
            return Err(StoreError::Open {
                path: path.into(),
                message: "no such file: the engine has not run yet".into(),
            });
        }
        connect(path, OpenFlags::SQLITE_OPEN_READ_ONLY)
    }

    /// Records a status value (read by `companion status`).
    pub fn set_status(&self, key: &str, value: &str, now_ms: i64) -> Result<(), StoreError> {
        self.background().execute(
            "INSERT INTO status_kv(key, value, updated_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_ms = excluded.updated_ms",
            rusqlite::params![key, value, now_ms],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        migrations().validate().unwrap();
    }

    #[test]
    fn opens_twice_and_keeps_data() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub").join("c.db");
        Store::open(&p).unwrap().set_status("k", "v", 1).unwrap();
        let s = Store::open(&p).unwrap();
        let v: String = s.conn().query_row("SELECT value FROM status_kv WHERE key='k'", [], |r| r.get(0)).unwrap();
        assert_eq!(v, "v");
        let r = Store::reader(&p).unwrap();
        let n: i64 = r.query_row("SELECT count(*) FROM status_kv", [], |r| r.get(0)).unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn a_damaged_file_gets_a_clear_message() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("c.db");
        std::fs::write(&p, b"this is not a database, it is a shopping list. ".repeat(200)).unwrap();
        let e = Store::open(&p).unwrap_err();
        assert!(matches!(e, StoreError::Damaged { .. }), "{e:?}");
        assert!(e.to_string().contains("move the file aside"));
    }
}
