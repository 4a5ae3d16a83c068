//! What the window reads in one go: the snapshot it starts from, the Settings list and the Sync view.

use super::board::CallCard;
use super::events::SignInState;
use crate::config::{self, LoadedConfig};
use crate::genesys::feed::ConnectionState;
use crate::outbox::OutboxRow;
use crate::secrets::SecretStoreKind;
use crate::status::StatusSnapshot;
use crate::updates::Release;
use serde::Serialize;

/// What the window starts from; events keep it current.
#[derive(Debug, Clone, Serialize)]
pub struct DeskSnapshot {
    /// Running against the embedded simulator.
    pub demo: bool,
    pub genesys: SignInState,
    pub salesforce: SignInState,
    /// When the Genesys sign-in runs out (ms since the epoch), if known.
    pub genesys_expires_at_ms: Option<i64>,
    pub connection: ConnectionState,
    pub secrets: SecretStoreKind,
    /// Newest first.
    pub calls: Vec<CallCard>,
    /// The wrap-up codes the form offers.
    pub wrapup_codes: Vec<String>,
    /// Settings as IT and the user left them.
    pub settings: Vec<SettingView>,
    /// This program's version.
    pub version: &'static str,
    /// A newer release, when the feed announced one (never while IT turned notices off).
    pub update: Option<Release>,
}

/// One setting, with where it came from and whether IT locked it.
#[derive(Debug, Clone, Serialize)]
pub struct SettingView {
    pub key: String,
    pub value: String,
    pub layer: config::Layer,
    pub locked: bool,
}

/// Every key not at its default, and every locked key, with its layer; sorted by key.
pub fn settings(loaded: &LoadedConfig) -> Vec<SettingView> {
    let value = toml::Value::try_from(&loaded.config).unwrap_or(toml::Value::Table(Default::default()));
    let mut out: Vec<SettingView> = loaded
        .origins
        .keys()
        .chain(loaded.locked.iter())
        .filter_map(|key| {
            let mut v = &value;
            for part in key.split('.') {
                v = v.get(part)?;
            }
            Some(SettingView {
                key: key.clone(),
                value: match v {
                    // A proxy's password is IT's, not the agent's to read.
                    toml::Value::String(s) if key == "network.proxy" => crate::net::proxy::redact(s),
                    toml::Value::String(s) => s.clone(),
                    other => other.to_string(),
                },
                layer: loaded.origin(key),
                locked: loaded.is_locked(key),
            })
        })
        .collect();
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out.dedup_by(|a, b| a.key == b.key);
    out
}

/// The Sync view: the status snapshot and the parked dispositions.
#[derive(Debug, Clone, Serialize)]
pub struct SyncView {
    pub status: StatusSnapshot,
    pub attention: Vec<OutboxRow>,
    pub pending: Vec<OutboxRow>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_settings_view_shows_the_proxy_without_its_password() {
        let flags = vec!["network.proxy=http://agent:hunter2@proxy.corp:3128".to_string()];
        let loaded = config::load(&config::Sources { flags, ..Default::default() }).unwrap();
        let proxy = settings(&loaded).into_iter().find(|s| s.key == "network.proxy").unwrap();
        assert!(proxy.value.contains("proxy.corp:3128") && !proxy.value.contains("hunter2"), "{}", proxy.value);
    }
}
