//! `companion purge`: every local trace of the user, for an uninstall or a shared machine's hand-over:
//! the sign-ins (revoked at the clouds first, then deleted from the keychain), the database and its
//! key, the logs, the user's configuration file, the webview's data and cache, the login item.
//! Undelivered wrap-ups stop it unless they are explicitly given up: nothing is lost silently.

use crate::APP_IDENTIFIER;
use crate::config::Config;
use crate::secrets::SecretStore;
use crate::signin::{Cloud, Clouds};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What happened to one trace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "detail")]
pub enum Outcome {
    Removed,
    /// Nothing was there.
    Absent,
    /// Removed here, but something could not be done (a revocation while offline).
    RemovedWithNote(String),
    Failed(String),
}

/// One trace and what became of it.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub what: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}

/// Why the purge did not start.
#[derive(Debug, thiserror::Error)]
pub enum PurgeError {
    #[error(
        "{0} wrap-up(s) have not reached Salesforce yet: start Agent Companion to deliver them, or purge with --discard-undelivered to give them up"
    )]
    Undelivered(u64),
    #[error(
        "the database at {path} cannot be read ({reason}), so whether wrap-ups are still undelivered is unknown: purge with --discard-undelivered to remove it anyway"
    )]
    Unreadable { path: String, reason: String },
}

/// The folders the webview keeps data and cache in (where the app's folder does not hold them), and
/// older versions' folders, per OS.
pub fn webview_dirs() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = [dirs::data_local_dir(), dirs::data_dir(), dirs::cache_dir(), dirs::config_dir()]
        .into_iter()
        .flatten()
        .map(|d| d.join(APP_IDENTIFIER))
        .collect();
    out.extend(crate::store::webview_dir());
    // A cache the webview may keep under the app's folder name.
    out.extend(dirs::cache_dir().map(|d| d.join(crate::APP_FOLDER)));
    // The data folder older versions used on Windows and macOS (now `APP_FOLDER`).
    if crate::APP_FOLDER != crate::LEGACY_DATA_FOLDER
        && let Some(d) = dirs::data_local_dir()
    {
        out.push(d.join(crate::LEGACY_DATA_FOLDER));
    }
    if cfg!(target_os = "macos")
        && let Some(home) = dirs::home_dir()
    {
        out.push(home.join("Library/WebKit").join(APP_IDENTIFIER));
        out.push(home.join("Library/Saved Application State").join(format!("{APP_IDENTIFIER}.savedState")));
    }
    out.sort();
    out.dedup();
    out
}

/// The database file and the files SQLite keeps beside it.
fn database_files(db: &Path) -> Vec<PathBuf> {
    ["", "-wal", "-shm", "-journal"]
        .iter()
        .map(|suffix| {
            let mut name = db.as_os_str().to_owned();
            name.push(suffix);
            PathBuf::from(name)
        })
        .collect()
}

fn remove(path: &Path) -> Outcome {
    let result = if path.is_dir() { std::fs::remove_dir_all(path) } else { std::fs::remove_file(path) };
    match result {
        Ok(()) => Outcome::Removed,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Outcome::Absent,
        Err(e) => Outcome::Failed(e.to_string()),
    }
}

/// Removes a folder the app owns by name; a configured path elsewhere loses only the app's files.
fn remove_owned(steps: &mut Vec<Step>, what: &str, path: &Path) {
    steps.push(Step { what: format!("{what} ({})", path.display()), outcome: remove(path) });
}

/// How many wrap-ups are still undelivered in the database, if it can be read.
fn undelivered(db: &Path, secrets: &Arc<dyn SecretStore>) -> Result<u64, PurgeError> {
    let unreadable = |reason: String| PurgeError::Unreadable { path: db.display().to_string(), reason };
    let file = crate::store::DbFile::existing(db, || secrets.clone()).map_err(|e| unreadable(e.to_string()))?;
    let conn = file.reader().map_err(|e| unreadable(e.to_string()))?;
    crate::outbox::OutboxRows::on(&conn).undelivered().map_err(|e| unreadable(e.to_string()))
}

/// Where the user's things are.
#[derive(Debug, Clone)]
pub struct Places {
    /// The database (`store.path` or the default).
    pub database: PathBuf,
    /// Whether `database` is in the app's own folder (then the whole folder goes).
    pub database_in_own_folder: bool,
    pub logs: Option<PathBuf>,
    pub user_config: Option<PathBuf>,
}

impl Places {
    pub fn of(cfg: &Config, user_config: Option<PathBuf>) -> Result<Places, crate::store::StoreError> {
        let default = crate::store::default_path()?;
        let database = cfg.store.path.clone().unwrap_or_else(|| default.clone());
        Ok(Places {
            database_in_own_folder: database == default,
            database,
            logs: crate::logs::default_dir(),
            user_config,
        })
    }
}

/// Purges everything of the user. `discard_undelivered`: go on though wrap-ups would be lost.
pub async fn purge(
    cfg: &Config,
    places: &Places,
    secrets: Arc<dyn SecretStore>,
    discard_undelivered: bool,
) -> Result<Vec<Step>, PurgeError> {
    if places.database.exists() && !discard_undelivered {
        match undelivered(&places.database, &secrets)? {
            0 => {}
            n => return Err(PurgeError::Undelivered(n)),
        }
    }
    let mut steps = vec![];
    // Sign-ins: revoked at the cloud where it answers; deleted from the keychain whatever it says.
    match Clouds::signed_out(cfg) {
        Ok(clouds) => {
            for cloud in [Cloud::Genesys, Cloud::Salesforce] {
                let what = format!("{cloud:?} sign-in (keychain)");
                let outcome = match clouds.sign_out(cloud, cfg, secrets.as_ref()).await {
                    Ok(true) => Outcome::Removed,
                    Ok(false) => Outcome::Absent,
                    Err(e) => Outcome::RemovedWithNote(e.to_string()),
                };
                steps.push(Step { what, outcome });
            }
        }
        Err(e) => steps.push(Step { what: "sign-ins".into(), outcome: Outcome::Failed(e.to_string()) }),
    }
    // The database, then its key (a key without its file opens nothing, and the reverse is unreadable).
    if places.database_in_own_folder {
        let folder = places.database.parent().unwrap_or(Path::new(".")).to_path_buf();
        remove_owned(&mut steps, "local database", &folder);
    } else {
        for f in database_files(&places.database) {
            let outcome = remove(&f);
            if outcome != Outcome::Absent {
                steps.push(Step { what: format!("local database ({})", f.display()), outcome });
            }
        }
    }
    let key = match crate::store::forget_key(secrets.as_ref()) {
        Ok(()) => Outcome::Removed,
        Err(e) => Outcome::Failed(e.to_string()),
    };
    steps.push(Step { what: "database key (keychain)".into(), outcome: key });
    if let Some(logs) = &places.logs {
        // The logs folder, and its parent when nothing else is left in it (`…/agent-companion/logs`).
        remove_owned(&mut steps, "logs", logs);
        if let Some(parent) = logs.parent() {
            let _ = std::fs::remove_dir(parent);
        }
    }
    if let Some(file) = &places.user_config {
        remove_owned(&mut steps, "your configuration file", file);
        if let Some(parent) = file.parent() {
            let _ = std::fs::remove_dir(parent);
        }
    }
    for dir in webview_dirs() {
        let outcome = remove(&dir);
        if outcome != Outcome::Absent {
            steps.push(Step { what: format!("window data ({})", dir.display()), outcome });
        }
    }
    let login_item = match crate::autostart::apply(false, Path::new("agent-companion")) {
        Ok(crate::autostart::AutostartChange::Removed) => Outcome::Removed,
        Ok(_) => Outcome::Absent,
        Err(e) => Outcome::Failed(e.to_string()),
    };
    steps.push(Step { what: "start at login".into(), outcome: login_item });
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_goes_with_the_files_sqlite_keeps_beside_it() {
        let files = database_files(Path::new("/data/c.db"));
        assert_eq!(files[0], Path::new("/data/c.db"));
        assert!(files.contains(&PathBuf::from("/data/c.db-wal")) && files.contains(&PathBuf::from("/data/c.db-shm")));
    }

    #[test]
    fn the_webview_folders_are_named_after_the_app() {
        let named = |d: &PathBuf| {
            let s = d.to_string_lossy().into_owned();
            s.contains(APP_IDENTIFIER)
                || s.ends_with(crate::LEGACY_DATA_FOLDER)
                || s.ends_with(crate::APP_FOLDER)
                || s.ends_with("webview")
        };
        assert!(webview_dirs().iter().all(named));
    }
}
