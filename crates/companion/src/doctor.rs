//! `companion doctor`: checks the configuration (and says which layer set each key), the keychain,
//! the local database, that every configured endpoint answers, and the clock; prints what to fix.

use crate::config::{Layer, LoadedConfig};
use crate::genesys::rest::GenesysClient;
use crate::secrets::SecretStoreKind;
use crate::store::{DbFile, StoreError};
use serde::Serialize;
use std::path::Path;
use std::time::Duration;

/// One check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: String,
    pub ok: bool,
    /// What was found.
    pub detail: String,
    /// What to do about it, when not ok.
    pub fix: Option<String>,
}

fn check(name: impl Into<String>, ok: bool, detail: impl Into<String>, fix: Option<String>) -> Check {
    Check { name: name.into(), ok, detail: detail.into(), fix: if ok { None } else { fix } }
}

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
        out.push(check(
            format!("override of {key}"),
            false,
            format!("the {layer:?} layer tried to change a key IT locked; the managed value is used"),
            Some(format!("remove {key} from the {layer:?} layer, or ask IT")),
        ));
    }
    out
}

/// The keychain.
pub fn keychain_check(kind: SecretStoreKind) -> Check {
    match kind {
        SecretStoreKind::Keychain => check("keychain", true, "the OS keychain keeps the sign-ins", None),
        SecretStoreKind::MemoryOnly { reason } => check(
            "keychain",
            false,
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

/// Whether a URL answers over HTTP (any status is an answer); the server's clock from `Date`.
async fn reach(http: &reqwest::Client, url: &str) -> Result<Option<chrono::DateTime<chrono::Utc>>, String> {
    let r = http.get(url).send().await.map_err(|e| {
        let mut s = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(inner) = src {
            s.push_str(": ");
            s.push_str(&inner.to_string());
            src = inner.source();
        }
        s
    })?;
    Ok(r.headers()
        .get(reqwest::header::DATE)
        .and_then(|d| d.to_str().ok())
        .and_then(|d| chrono::DateTime::parse_from_rfc2822(d).ok())
        .map(|d| d.with_timezone(&chrono::Utc)))
}

/// The layer that decided a value named by `a / b` keys: the first of them set anywhere but the defaults.
fn setter(l: &LoadedConfig, keys: &str) -> Layer {
    keys.split(" / ").map(|k| l.origin(k.trim())).find(|layer| *layer != Layer::Default).unwrap_or(Layer::Default)
}

/// Every configured endpoint, and the clock against the servers'.
pub async fn endpoint_checks(l: &LoadedConfig) -> Vec<Check> {
    let c = &l.config;
    let http = match reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .redirect(reqwest::redirect::Policy::none())
        .build()
    {
        Ok(h) => h,
        Err(e) => {
            let detail = format!("no HTTPS client could be made ({e})");
            return vec![check("endpoints", false, detail, Some("reinstall Agent Companion".into()))];
        }
    };
    let streaming = c.genesys.streaming().replacen("wss://", "https://", 1).replacen("ws://", "http://", 1);
    let mut targets = vec![
        ("Genesys API", "genesys.api_base / genesys.region", c.genesys.api()),
        ("Genesys login", "genesys.login_base / genesys.region", c.genesys.login()),
        ("Genesys notifications", "genesys.streaming_base / genesys.region", streaming),
        ("Salesforce login", "salesforce.login_base", c.salesforce.login_base.clone()),
    ];
    if let Some(i) = &c.salesforce.instance_url {
        targets.push(("Salesforce instance", "salesforce.instance_url", i.clone()));
    }
    if let Some(feed) = c.updates.feed_url.as_ref().filter(|_| c.updates.prompts) {
        targets.push(("Release feed", "updates.feed_url", feed.clone()));
    }
    let mut out = vec![];
    let mut skew: Option<i64> = None;
    for (name, key, url) in targets {
        match reach(&http, &url).await {
            Ok(date) => {
                if let (Some(d), None) = (date, skew) {
                    skew = Some((chrono::Utc::now() - d).num_seconds());
                }
                out.push(check(name, true, format!("{url} answers"), None));
            }
            Err(e) => out.push(check(
                name,
                false,
                format!("{url}: {e}"),
                Some(format!("check {key} (set by the {:?} layer), the network, proxy and firewall", setter(l, key))),
            )),
        }
    }
    match skew {
        Some(s) if s.abs() > 60 => out.push(check(
            "clock",
            false,
            format!("this machine's clock is {s} s off the servers'"),
            Some("turn on automatic time (NTP): sign-ins and expiry warnings depend on it".into()),
        )),
        Some(s) => out.push(check("clock", true, format!("within {} s of the servers'", s.abs()), None)),
        None => out.push(check("clock", true, "not compared (no server answered with a date)", None)),
    }
    out
}

/// A table for people: one line per check, then what to fix.
/// What the signed-in agent's Genesys role allows the companion to do: apply wrap-ups (when
/// `genesys.apply_wrapups` is on). None when nobody is signed in on this desktop (the check needs a
/// kept sign-in) or applying is turned off. Participant attribute writes (the identification carried
/// to the next agent) name no permission in the API: the app reports the first refusal.
pub async fn genesys_permission_check(cfg: &crate::config::Config, genesys: &GenesysClient) -> Option<Check> {
    if !cfg.genesys.apply_wrapups || genesys.user_id().is_none() {
        return None;
    }
    let permission = crate::engine::WRAPUP_PERMISSION;
    Some(match genesys.has_permission(permission).await {
        Ok(true) => {
            check("Genesys: wrap-ups set here are applied in Genesys", true, format!("the role has {permission}"), None)
        }
        Ok(false) => check(
            "Genesys: wrap-ups set here are applied in Genesys",
            false,
            format!(
                "the agent's role lacks {permission}: a wrap-up set in the companion reaches Salesforce but not Genesys"
            ),
            Some(format!("grant {permission} to the agents' role, or set genesys.apply_wrapups = false")),
        ),
        Err(e) => check("Genesys: wrap-up permission", false, format!("could not be read: {e}"), None),
    })
}

/// Whether the read-back of interactions handled while the app was closed can see every media (the
/// analytics details query needs either analytics permission; without one it reads the call history,
/// calls only). `None` when the read-back is off or nobody is signed in.
pub async fn readback_permission_check(cfg: &crate::config::Config, genesys: &GenesysClient) -> Option<Check> {
    if !cfg.recovery.enabled || genesys.user_id().is_none() {
        return None;
    }
    let name = "Genesys: interactions handled while the app was closed";
    let [detail_view, agent_view] = crate::engine::ANALYTICS_PERMISSIONS;
    let mut missing = true;
    for p in [detail_view, agent_view] {
        match genesys.has_permission(p).await {
            Ok(true) => {
                missing = false;
                break;
            }
            Ok(false) => {}
            Err(e) => return Some(check(name, false, format!("the permission could not be read: {e}"), None)),
        }
    }
    Some(if missing {
        check(
            name,
            false,
            format!(
                "the role has neither {detail_view} nor {agent_view}: only calls are recovered, not chats, emails or messages"
            ),
            Some(format!("grant {agent_view} to the agents' role")),
        )
    } else {
        check(name, true, format!("every media is read back ({} h)", cfg.recovery.window_hours), None)
    })
}

pub fn render(checks: &[Check]) -> String {
    let width = checks.iter().map(|c| c.name.chars().count()).max().unwrap_or(0);
    let mut s = String::new();
    for c in checks {
        s.push_str(&format!("{} {:<width$}  {}\n", if c.ok { "ok  " } else { "FAIL" }, c.name, c.detail));
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
