//! The database file and its key: a plain file, or a SQLCipher one whose raw key lives in the OS
//! keychain; converting between the two in place.

use super::{Store, StoreError, connect, damaged};
use crate::secrets::{SecretStore, SecretStoreKind};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Where the database key is kept in the keychain.
const KEY_ENTRY: &str = "database-key";

/// A raw 256-bit SQLCipher key (64 hex digits), kept in the OS keychain and never shown.
#[derive(Clone)]
pub struct DatabaseKey(String);

impl std::fmt::Debug for DatabaseKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DatabaseKey(…)")
    }
}

impl DatabaseKey {
    /// The key the keychain holds, creating and saving one when asked and none is there.
    fn from_keychain(secrets: &dyn SecretStore, create: bool) -> Result<Option<DatabaseKey>, StoreError> {
        if let SecretStoreKind::MemoryOnly { reason } = secrets.kind() {
            return Err(StoreError::NoKeychain(reason));
        }
        let keychain = |e: crate::secrets::SecretError| StoreError::NoKeychain(e.to_string());
        if let Some(k) = secrets.get(KEY_ENTRY).map_err(keychain)?
            && k.len() == 64
            && k.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Ok(Some(DatabaseKey(k.to_ascii_lowercase())));
        }
        if !create {
            return Ok(None);
        }
        let bytes: [u8; 32] = rand::random();
        let key = DatabaseKey(bytes.iter().map(|b| format!("{b:02x}")).collect());
        secrets.set(KEY_ENTRY, &key.0).map_err(keychain)?;
        Ok(Some(key))
    }

    /// The `x'…'` form SQLCipher takes a raw key in (no key derivation at each open).
    pub(super) fn sql(&self) -> String {
        format!("x'{}'", self.0)
    }
}

/// Removes the database key from the keychain (`companion purge`, after the file is gone).
pub fn forget_key(secrets: &dyn SecretStore) -> Result<(), crate::secrets::SecretError> {
    secrets.delete(KEY_ENTRY)
}

/// True when this build can encrypt the database (SQLCipher).
pub const ENCRYPTION_AVAILABLE: bool = cfg!(feature = "encryption");

/// A database file and the key that opens it (none: a plain SQLite file).
#[derive(Debug, Clone)]
pub struct DbFile {
    pub path: PathBuf,
    pub(super) key: Option<DatabaseKey>,
}

impl DbFile {
    /// A plain, unencrypted database file.
    pub fn plain(path: impl Into<PathBuf>) -> DbFile {
        DbFile { path: path.into(), key: None }
    }

    /// The configured database: with `encrypt`, its key comes from the keychain (made on first use)
    /// and a plain file is encrypted in place; without, an encrypted file is decrypted in place with
    /// the keychain's key. `secrets` is only opened when a key is involved.
    pub fn configured(
        path: &Path,
        encrypt: bool,
        secrets: impl FnOnce() -> Arc<dyn SecretStore>,
    ) -> Result<DbFile, StoreError> {
        let encrypted = is_encrypted(path);
        if !encrypt && (!encrypted || !ENCRYPTION_AVAILABLE) {
            // A file that is not plain SQLite is reported as damaged when it is opened.
            return Ok(DbFile::plain(path));
        }
        if !ENCRYPTION_AVAILABLE {
            return Err(StoreError::EncryptionUnavailable("store.encrypt is on".into()));
        }
        let secrets = secrets();
        let key = if encrypt {
            DatabaseKey::from_keychain(secrets.as_ref(), true)?
        } else {
            // Decrypting is best effort: without a keychain or a key, the file is reported as it is.
            DatabaseKey::from_keychain(secrets.as_ref(), false).ok().flatten()
        };
        match (encrypt, encrypted, key) {
            (true, false, Some(key)) => {
                if path.exists() {
                    reencrypt(path, None, Some(&key))?;
                    tracing::info!("the local database was encrypted");
                }
                Ok(DbFile { path: path.into(), key: Some(key) })
            }
            (true, true, Some(key)) => Ok(DbFile { path: path.into(), key: Some(key) }),
            (false, true, Some(key)) => {
                reencrypt(path, Some(&key), None)?;
                tracing::info!("the local database was decrypted (store.encrypt is off)");
                Ok(DbFile::plain(path))
            }
            // Not plain SQLite and no key to try: damaged, or encrypted elsewhere.
            (false, _, _) => Ok(DbFile::plain(path)),
            (true, _, None) => Err(StoreError::NoKey { path: path.into() }),
        }
    }

    /// The file as it is now, with the keychain's key when it is encrypted; nothing is converted
    /// (for commands that run beside the app).
    pub fn existing(path: &Path, secrets: impl FnOnce() -> Arc<dyn SecretStore>) -> Result<DbFile, StoreError> {
        if !(ENCRYPTION_AVAILABLE && is_encrypted(path)) {
            return Ok(DbFile::plain(path));
        }
        match DatabaseKey::from_keychain(secrets().as_ref(), false)? {
            Some(key) => Ok(DbFile { path: path.into(), key: Some(key) }),
            None => Err(StoreError::NoKey { path: path.into() }),
        }
    }

    /// True when the file is opened with a key.
    pub fn is_encrypted(&self) -> bool {
        self.key.is_some()
    }

    /// Opens the store (see [`Store::open`]).
    pub fn open(&self) -> Result<Store, StoreError> {
        Store::open_file(self.clone())
    }

    /// A separate read-only connection (for `companion status` while the engine runs).
    pub fn reader(&self) -> Result<Connection, StoreError> {
        if !self.path.exists() {
            return Err(StoreError::Open {
                path: self.path.clone(),
                message: "no such file: the engine has not run yet".into(),
            });
        }
        let conn = connect(self, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        // A wrong key shows at the first read, not at the open.
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(())).map_err(|e| opened(self, e))?;
        Ok(conn)
    }
}

/// An existing, non-empty file that does not start with SQLite's plain header.
fn is_encrypted(path: &Path) -> bool {
    use std::io::Read;
    let mut header = [0u8; 16];
    match std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut header)) {
        Ok(()) => &header != b"SQLite format 3\0",
        Err(_) => false,
    }
}

/// Rewrites the file with another key (`None`: plain) through `sqlcipher_export`, then overwrites
/// the old file's bytes before the new one takes its place.
fn reencrypt(path: &Path, from: Option<&DatabaseKey>, to: Option<&DatabaseKey>) -> Result<(), StoreError> {
    let fail = |e: &dyn std::fmt::Display| StoreError::Migration { path: path.into(), message: e.to_string() };
    let next = sibling(path, "-rekey");
    let _ = std::fs::remove_file(&next);
    {
        // CREATE: an ATTACH opens its file with the main connection's flags.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE;
        let current = DbFile { path: path.into(), key: from.cloned() };
        let conn = connect(&current, flags)?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).map_err(|e| opened(&current, e))?;
        let target = to.map(DatabaseKey::sql).unwrap_or_default();
        conn.execute("ATTACH DATABASE ?1 AS rekeyed KEY ?2", rusqlite::params![next.to_string_lossy(), target])
            .map_err(|e| fail(&e))?;
        conn.query_row("SELECT sqlcipher_export('rekeyed')", [], |_| Ok(())).map_err(|e| fail(&e))?;
        // The export leaves out user_version, where the migrations record the schema's version.
        let version: i64 = conn.query_row("PRAGMA main.user_version", [], |r| r.get(0)).map_err(|e| fail(&e))?;
        conn.execute_batch(&format!("PRAGMA rekeyed.user_version = {version}; DETACH DATABASE rekeyed"))
            .map_err(|e| fail(&e))?;
    }
    let len = std::fs::metadata(path).map_err(|e| fail(&e))?.len();
    let zeros = vec![0u8; usize::try_from(len).unwrap_or(0)];
    std::fs::write(path, zeros).map_err(|e| fail(&e))?;
    std::fs::File::open(&next).and_then(|f| f.sync_all()).map_err(|e| fail(&e))?;
    std::fs::rename(&next, path).map_err(|e| fail(&e))?;
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(sibling(path, suffix));
    }
    Ok(())
}

/// SQLite's name for a file beside the database: `<path>-wal`, `<path>-shm`.
pub(super) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(suffix);
    PathBuf::from(name)
}

/// Classifies an error from the first statements on a connection.
pub(super) fn opened(db: &DbFile, e: rusqlite::Error) -> StoreError {
    if damaged(&e) {
        if db.key.is_some() {
            StoreError::NoKey { path: db.path.clone() }
        } else {
            StoreError::Damaged { path: db.path.clone(), detail: e.to_string() }
        }
    } else {
        StoreError::Sql(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(not(feature = "encryption"))]
    #[test]
    fn asking_for_encryption_without_sqlcipher_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let secrets = || -> Arc<dyn SecretStore> { panic!("the keychain is not asked") };
        let e = DbFile::configured(&dir.path().join("c.db"), true, secrets).unwrap_err();
        assert!(matches!(e, StoreError::EncryptionUnavailable(_)), "{e:?}");
        assert!(e.to_string().contains("encryption` feature"), "{e}");
    }

    #[cfg(feature = "encryption")]
    mod encryption {
        use super::*;
        use crate::secrets::MemoryOnly;

        fn in_memory_keychain() -> Arc<dyn SecretStore> {
            Arc::new(MemoryOnly::standing_in_for_keychain())
        }

        const NUMBER: &str = "+14155550123";
        const NAME: &str = "Ada Lovelace";

        fn put_caller(store: &Store) {
            store
                .conn()
                .execute(
                    "INSERT INTO cache_lookup(e164, candidates, fetched_ms, expires_ms) VALUES (?1, ?2, 1, 9)",
                    rusqlite::params![NUMBER, format!("[{{\"name\":\"{NAME}\"}}]")],
                )
                .unwrap();
        }

        fn caller_count(store: &Store) -> i64 {
            store.conn().query_row("SELECT count(*) FROM cache_lookup WHERE e164 = ?1", [NUMBER], |r| r.get(0)).unwrap()
        }

        fn raw_bytes(path: &Path) -> Vec<u8> {
            let mut all = std::fs::read(path).unwrap();
            all.extend(std::fs::read(sibling(path, "-wal")).unwrap_or_default());
            all
        }

        fn contains(hay: &[u8], needle: &str) -> bool {
            hay.windows(needle.len()).any(|w| w == needle.as_bytes())
        }

        #[test]
        fn an_encrypted_database_shows_nothing_in_its_bytes_and_opens_only_with_its_key() {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("companion.db");
            let keychain = in_memory_keychain();
            let store = DbFile::configured(&path, true, || keychain.clone()).unwrap().open().unwrap();
            put_caller(&store);
            let bytes = raw_bytes(&path);
            assert!(bytes.len() > 4096);
            for plain in ["SQLite format 3", &NUMBER[1..], NAME, "cache_lookup"] {
                assert!(!contains(&bytes, plain), "{plain} is readable in the file");
            }
            drop(store);
            // The key is in the keychain: the next start opens the file.
            let again = DbFile::configured(&path, true, || keychain.clone()).unwrap().open().unwrap();
            assert_eq!(caller_count(&again), 1);
            let reader = DbFile::existing(&path, || keychain.clone()).unwrap();
            assert!(reader.is_encrypted());
            assert_eq!(crate::status::read(&reader).unwrap().database, path.display().to_string());
            drop(again);
            // Another keychain (another user, a reimaged machine) has no key for it.
            let other = in_memory_keychain();
            assert!(matches!(DbFile::existing(&path, || other.clone()), Err(StoreError::NoKey { .. })));
            let e = DbFile::configured(&path, true, || other.clone()).unwrap().open().unwrap_err();
            assert!(matches!(e, StoreError::NoKey { .. }), "{e:?}");
            assert!(e.to_string().contains("move the file aside"));
        }

        #[test]
        fn turning_encryption_on_then_off_converts_the_file_and_keeps_its_rows() {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("companion.db");
            let keychain = in_memory_keychain();
            let plain = Store::open(&path).unwrap();
            put_caller(&plain);
            drop(plain);
            assert!(contains(&raw_bytes(&path), &NUMBER[1..]));
            let encrypted = DbFile::configured(&path, true, || keychain.clone()).unwrap().open().unwrap();
            assert_eq!(caller_count(&encrypted), 1);
            drop(encrypted);
            let bytes = raw_bytes(&path);
            assert!(!contains(&bytes, &NUMBER[1..]) && !contains(&bytes, "SQLite format 3"));
            assert!(!sibling(&path, "-rekey").exists());
            let decrypted = DbFile::configured(&path, false, || keychain.clone()).unwrap();
            assert!(!decrypted.is_encrypted());
            assert_eq!(caller_count(&decrypted.open().unwrap()), 1);
            assert!(contains(&raw_bytes(&path), "SQLite format 3"));
        }

        #[test]
        fn encryption_without_a_keychain_is_refused() {
            let dir = tempfile::tempdir().unwrap();
            let memory: Arc<dyn SecretStore> = Arc::new(MemoryOnly::new("no Secret Service on this desktop"));
            let e = DbFile::configured(&dir.path().join("c.db"), true, || memory).unwrap_err();
            assert!(matches!(e, StoreError::NoKeychain(_)), "{e:?}");
            assert!(e.to_string().contains("no Secret Service"), "{e}");
        }
    }
}
