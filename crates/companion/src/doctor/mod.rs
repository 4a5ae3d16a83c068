//! `companion doctor`: checks the configuration (and says which layer set each key), the network
//! layer, the keychain, the local database, that every configured endpoint answers (the notification
//! socket opened for real), and the clock; prints what to fix. One report, for people or as JSON for
//! scripts, with an exit code that tells warnings from failures.

mod genesys;
mod network;

pub use genesys::{genesys_permission_check, notification_channel_check, readback_permission_check};
pub use network::{endpoint_checks, network_check};

use crate::config::{Layer, LoadedConfig};
use crate::secrets::SecretStoreKind;
use crate::store::{DbFile, StoreError};
use serde::Serialize;
use std::path::Path;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Ok,
    /// Works, with less than it could (no keychain, a newer policy's keys ignored, a lock overridden).
    Warning,
    /// Does not work as configured.
    Failure,
}

/// One check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub severity: Severity,
    /// What was found.
    pub detail: String,
    /// What to do about it, when not ok.
    pub fix: Option<String>,
}

impl Check {
    pub fn is_ok(&self) -> bool {
        self.severity == Severity::Ok
    }
}

fn check(name: impl Into<String>, ok: bool, detail: impl Into<String>, fix: Option<String>) -> Check {
    let severity = if ok { Severity::Ok } else { Severity::Failure };
    Check { name: name.into(), severity, detail: detail.into(), fix: if ok { None } else { fix } }
}

fn warning(name: impl Into<String>, detail: impl Into<String>, fix: Option<String>) -> Check {
    Check { name: name.into(), severity: Severity::Warning, detail: detail.into(), fix }
}

/// What `doctor` checked: as one user (their keychain, database and sign-in too) or for the machine
/// (configuration, network and endpoints only: safe to run as SYSTEM or root from a deployment tool).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    Machine,
    User,
}

/// The JSON report's shape; raised when a field changes meaning or goes away.
pub const REPORT_FORMAT: u32 = 1;

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub format: u32,
    pub app_version: &'static str,
    pub scope: Scope,
    /// The worst severity found: `ok`, `warning` or `failure`.
    pub result: Severity,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn new(scope: Scope, checks: Vec<Check>) -> Report {
        let result = checks.iter().map(|c| c.severity).max().unwrap_or(Severity::Ok);
        Report { format: REPORT_FORMAT, app_version: env!("CARGO_PKG_VERSION"), scope, result, checks }
    }

    /// 0 everything ok, 1 warnings only, 2 a failure (3, a configuration that cannot be read, is the
    /// caller's: no report is made then).
    pub fn exit_code(&self) -> u8 {
        match self.result {
            Severity::Ok => 0,
            Severity::Warning => 1,
            Severity::Failure => 2,
        }
    }
}

/// The exit code of a `doctor` whose configuration could not be read.
pub const EXIT_CONFIG_UNREADABLE: u8 = 3;

/// The configuration: where each non-default key came from, locks, refused overrides.
pub fn config_checks(l: &LoadedConfig) -> Vec<Check> {
    let mut out = vec![];
    let set: Vec<String> = l
        .origins
        .iter()
        .filter(|(_, layer)| **layer != Layer::Default)
        .map(|(k, layer)| format!("{k} ({layer:?})"))
        .collect();
    out.push(check(
        "configuration",
        true,
        if set.is_empty() { "all defaults".to_string() } else { format!("set: {}", set.join(", ")) },
        None,
    ));
    if !l.locked.is_empty() {
        out.push(check("locked by IT", true, l.locked.join(", "), None));
    }
    for (key, layer) in &l.refused {
        out.push(warning(
            format!("override of {key}"),
            format!("the {layer:?} layer tried to change a key IT locked; the managed value is used"),
            Some(format!("remove {key} from the {layer:?} layer, or ask IT")),
        ));
    }
    if !l.ignored.is_empty() {
        out.push(warning(
            "managed keys this version does not know",
            format!("ignored: {}", l.ignored.join(", ")),
            Some("a policy for a newer version: update Agent Companion, or remove the keys from the policy".into()),
        ));
    }
    out
}

/// The keychain.
pub fn keychain_check(kind: SecretStoreKind) -> Check {
    match kind {
        SecretStoreKind::Keychain => check("keychain", true, "the OS keychain keeps the sign-ins", None),
        SecretStoreKind::MemoryOnly { reason } => warning(
            "keychain",
            reason,
            Some("on Linux, run inside a desktop session with a Secret Service (GNOME Keyring, KWallet); otherwise sign in after every start".into()),
        ),
    }
}

/// The local database as it is now (`file`: [`DbFile::existing`]), and whether it is encrypted as
/// `store.encrypt` asks.
/// The database cannot even be placed (no per-user data folder).
pub fn no_store_check(why: &str) -> Check {
    check("database", false, why, Some("set store.path, or run the app as a user with a home folder".into()))
}

/// The database: there, openable with its key, encrypted as configured.
pub fn store_check(path: &Path, file: Result<DbFile, StoreError>, encrypt: bool) -> Check {
    if encrypt && !crate::store::ENCRYPTION_AVAILABLE {
        return check(
            "database",
            false,
            "store.encrypt is on, but this build has no database encryption",
            Some("install a build with the `encryption` feature, or turn store.encrypt off".into()),
        );
    }
    if !path.exists() {
        return check(
            "database",
            true,
            format!("{} does not exist yet; it is created on first run", path.display()),
            None,
        );
    }
    let integrity = file.and_then(|f| {
        let ok: String = f.reader()?.query_row("PRAGMA quick_check", [], |r| r.get(0))?;
        Ok((f.is_encrypted(), ok))
    });
    let state = |encrypted: bool| match (encrypted, encrypt) {
        (true, _) => "encrypted",
        (false, true) => "not encrypted yet (the app encrypts it at its next start)",
        (false, false) => "not encrypted",
    };
    match integrity {
        Ok((encrypted, ok)) if ok == "ok" => check(
            "database",
            true,
            format!("{} passes its integrity check; {}", path.display(), state(encrypted)),
            None,
        ),
        Ok((_, detail)) => check(
            "database",
            false,
            format!("{} fails its integrity check: {detail}", path.display()),
            Some(format!("quit the app, move {} aside and start again", path.display())),
        ),
        Err(e) => check(
            "database",
            false,
            e.to_string(),
            Some(format!("quit the app, move {} aside and start again", path.display())),
        ),
    }
}

/// A table for people: one line per check, then what to fix.
pub fn render(checks: &[Check]) -> String {
    let width = checks.iter().map(|c| c.name.chars().count()).max().unwrap_or(0);
    let mut s = String::new();
    for c in checks {
        let mark = match c.severity {
            Severity::Ok => "ok  ",
            Severity::Warning => "WARN",
            Severity::Failure => "FAIL",
        };
        s.push_str(&format!("{mark} {:<width$}  {}\n", c.name, c.detail));
    }
    let fixes: Vec<&Check> = checks.iter().filter(|c| c.fix.is_some()).collect();
    if !fixes.is_empty() {
        s.push_str("\nWhat to fix:\n");
        for c in fixes {
            s.push_str(&format!("- {}: {}\n", c.name, c.fix.as_deref().unwrap_or("")));
        }
    }
    s
}
