//! The local SQLite database: WAL, migrations that are only ever added, an integrity check at start,
//! and one long-lived connection per role. `cache_*` tables are disposable (rebuilt from Salesforce);
//! the rest is the agent's own state.

mod drafts;
mod file;
mod interactions;
mod journal;
mod readback;

pub use drafts::{Draft, Drafts};
use file::opened;
pub use file::{DatabaseKey, DbFile, ENCRYPTION_AVAILABLE, forget_key};
pub use interactions::{CallRecord, CallWithDisposition, CustomerRef, Interactions, PopWritten, StageReached};
pub use journal::Journal;
pub use readback::{ReadBackOutcome, ReadBackRows, ReadBackStatus};
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
    /// No per-user data directory to keep the database in.
    #[error("there is no per-user data folder to keep the local database in (is HOME set?); set store.path")]
    NoDataDir,
    /// A background database task stopped before it finished (a panic or a shutdown).
    #[error("a background database task stopped: {0}")]
    Worker(String),
    /// A statement failed.
    #[error("local database error: {0}")]
    Sql(#[from] rusqlite::Error),
    /// `store.encrypt` is on and this build has no SQLCipher.
    #[error(
        "{0}, but this build of Agent Companion has no database encryption (it is built with the `encryption` feature)"
    )]
    EncryptionUnavailable(String),
    /// The database key cannot be kept: encryption needs the OS keychain.
    #[error("the local database is to be encrypted, and its key needs the OS keychain: {0}")]
    NoKeychain(String),
    /// The file is encrypted and the keychain holds no key (or the wrong one) for it.
    #[error(
        "the local database {path} is encrypted and this keychain has no key that opens it. Quit the app, move the file aside and start again: the lookup cache rebuilds itself, queued dispositions in that file are lost"
    )]
    NoKey { path: PathBuf },
}

/// The schema's history: one file per step, applied in order; a step is only ever added, never edited
/// (a file that shipped is how every installed database got where it is).
fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("migrations/0001_cache_calls_journal_status.sql")),
        M::up(include_str!("migrations/0002_outbox.sql")),
        M::up(include_str!("migrations/0003_erasure_log.sql")),
        M::up(include_str!("migrations/0004_interaction_segments.sql")),
        M::up(include_str!("migrations/0005_readback.sql")),
    ])
}

/// The database, with one long-lived connection per role: `conn` for the screen pop's hot path
/// (cache, picks), `background` for everything that may hold the database longer (call stages, the
/// journal, housekeeping, status), so a batch write never stands between a frame and its pop.
#[derive(Debug)]
pub struct Store {
    file: DbFile,
    conn: Mutex<Connection>,
    background: Mutex<Connection>,
    outbox: Mutex<Connection>,
}

/// The default database file: `<per-user data dir>/agent-companion/companion.db`. Without a per-user
/// data directory there is no private place for it: a shared one such as `/tmp` is never used.
pub fn default_path() -> Result<PathBuf, StoreError> {
    let data = dirs::data_local_dir().ok_or(StoreError::NoDataDir)?;
    let path = data.join(crate::APP_FOLDER).join("companion.db");
    adopt_legacy_database(&path, &data.join(crate::LEGACY_DATA_FOLDER).join("companion.db"));
    Ok(path)
}

/// The folder the window keeps its data and cache in (inside the app's own folder).
pub fn webview_dir() -> Option<PathBuf> {
    dirs::data_local_dir().map(|d| d.join(crate::APP_FOLDER).join("webview"))
}

/// Moves a database from the folder older versions used (Windows and macOS) to `path`, once: only
/// when there is none at `path` yet. A failure leaves it where it was, and says so.
pub fn adopt_legacy_database(path: &Path, legacy: &Path) {
    if path == legacy || path.exists() || !legacy.exists() {
        return;
    }
    let moved = (|| -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            crate::private_files::dir(dir)?;
        }
        for suffix in ["", "-wal", "-shm"] {
            let (from, to) = (with_suffix(legacy, suffix), with_suffix(path, suffix));
            if from.exists() {
                std::fs::rename(&from, &to)?;
            }
        }
        Ok(())
    })();
    match moved {
        Ok(()) => {
            tracing::info!(from = %legacy.display(), to = %path.display(), "the local database moved to the app's folder")
        }
        Err(e) => {
            tracing::warn!(error = %e, from = %legacy.display(), "the local database could not be moved to the app's folder")
        }
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

pub(crate) fn damaged(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if matches!(f.code, rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt))
}

/// Opens a connection with the key (first, as SQLCipher requires) and the pragmas every role uses.
pub(crate) fn connect(db: &DbFile, flags: OpenFlags) -> Result<Connection, StoreError> {
    let path = db.path.as_path();
    let conn = Connection::open_with_flags(path, flags)
        .map_err(|e| StoreError::Open { path: path.into(), message: e.to_string() })?;
    let setup = || -> rusqlite::Result<()> {
        if let Some(key) = &db.key {
            // Hex digits only: nothing to escape.
            conn.execute_batch(&format!("PRAGMA key = \"{}\";", key.sql()))?;
        }
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Deleted content is overwritten, so an erased number does not linger in free pages.
        conn.pragma_update(None, "secure_delete", "ON")?;
        Ok(())
    };
    setup().map_err(|e| opened(db, e))?;
    Ok(conn)
}

impl Store {
    /// Opens (creating if needed) a plain database: WAL, migrations, integrity check.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        Store::open_file(DbFile::plain(path))
    }

    pub(super) fn open_file(file: DbFile) -> Result<Store, StoreError> {
        let path = file.path.as_path();
        // The agent's alone: the folder 0700, the file 0600 before SQLite opens it (its -wal and -shm
        // take the database file's permissions).
        if !path.to_string_lossy().starts_with("file:") {
            let private =
                |r: std::io::Result<()>| r.map_err(|e| StoreError::Open { path: path.into(), message: e.to_string() });
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                private(crate::private_files::dir(dir))?;
            }
            private(crate::private_files::file(path))?;
            for suffix in ["-wal", "-shm"] {
                let sibling = file::sibling(path, suffix);
                if sibling.exists() {
                    private(crate::private_files::file(&sibling))?;
                }
            }
        }
        let mut conn = connect(
            &file,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_URI,
        )?;
        let as_damaged = |e: rusqlite::Error| opened(&file, e);
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
        let background = connect(&file, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_URI)?;
        background.pragma_update(None, "synchronous", "NORMAL")?;
        // The outbox's own connection: every commit reaches the disk before it is acknowledged.
        let outbox = connect(&file, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_URI)?;
        outbox.pragma_update(None, "synchronous", "FULL")?;
        Ok(Store { file, conn: Mutex::new(conn), background: Mutex::new(background), outbox: Mutex::new(outbox) })
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
        &self.file.path
    }

    /// The database file and its key.
    pub fn file(&self) -> &DbFile {
        &self.file
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

    /// A separate read-only connection to a plain database file.
    pub fn reader(path: &Path) -> Result<Connection, StoreError> {
        DbFile::plain(path).reader()
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

/// A status value and when it was written, on any connection (the status report's read-only one).
pub fn status_value(conn: &Connection, key: &str) -> Result<Option<(String, i64)>, StoreError> {
    use rusqlite::OptionalExtension;
    Ok(conn
        .query_row("SELECT value, updated_ms FROM status_kv WHERE key = ?1", [key], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
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

    #[cfg(unix)]
    #[test]
    fn the_database_its_wal_and_its_folder_are_private_to_the_user() {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("agent-companion");
        let p = dir.join("companion.db");
        // An earlier version left the file readable by others: it is closed at the next start.
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let store = Store::open(&p).unwrap();
        store.set_status("k", "v", 1).unwrap();
        assert_eq!(mode(&dir), 0o700);
        for f in [p.clone(), file::sibling(&p, "-wal"), file::sibling(&p, "-shm")] {
            assert!(f.exists(), "{}", f.display());
            assert_eq!(mode(&f), 0o600, "{}", f.display());
        }
        drop(store);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        Store::open(&p).unwrap();
        assert_eq!(mode(&p), 0o600);
    }

    #[test]
    fn a_database_in_the_old_folder_moves_once_to_the_apps_folder() {
        let root = tempfile::tempdir().unwrap();
        let legacy = root.path().join("agent-companion/companion.db");
        let path = root.path().join("AgentCompanion/companion.db");
        std::fs::create_dir_all(legacy.parent().unwrap()).unwrap();
        drop(Store::open(&legacy).unwrap());
        adopt_legacy_database(&path, &legacy);
        assert!(path.exists() && !legacy.exists());
        // Once: a database already at the new place is never replaced.
        std::fs::create_dir_all(legacy.parent().unwrap()).unwrap();
        std::fs::write(&legacy, b"older").unwrap();
        adopt_legacy_database(&path, &legacy);
        assert!(legacy.exists(), "left alone");
        assert_ne!(std::fs::read(&path).unwrap(), b"older");
    }
}
