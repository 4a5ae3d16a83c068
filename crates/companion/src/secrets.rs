//! Where sign-ins are kept: the OS keychain (Secret Service on Linux, Keychain on macOS, Credential
//! Manager on Windows) through `keyring`; where no keychain answers, in memory only, and the app says
//! so. Never in SQLite, configuration files, logs or diagnostics.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// The keychain service name.
pub const SERVICE: &str = "agent-companion";

/// Windows Credential Manager refuses secrets longer than this (bytes).
pub const MAX_SECRET: usize = 2_560;

/// Why a secret could not be kept or read.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the keychain refused: {0}")]
    Keychain(String),
    #[error("the sign-in is {0} bytes; the keychain takes at most {MAX_SECRET}")]
    TooLarge(usize),
}

/// Where secrets live.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SecretStoreKind {
    /// The OS keychain.
    Keychain,
    /// This process's memory only: gone when it exits.
    MemoryOnly { reason: String },
}

/// A place for secrets.
pub trait SecretStore: Send + Sync {
    fn get(&self, key: &str) -> Result<Option<String>, SecretError>;
    fn set(&self, key: &str, value: &str) -> Result<(), SecretError>;
    fn delete(&self, key: &str) -> Result<(), SecretError>;
    fn kind(&self) -> SecretStoreKind;
}

/// The OS keychain.
#[derive(Debug)]
pub struct Keychain;

fn entry(key: &str) -> Result<keyring::Entry, SecretError> {
    keyring::Entry::new(SERVICE, key).map_err(|e| SecretError::Keychain(e.to_string()))
}

impl SecretStore for Keychain {
    fn get(&self, key: &str) -> Result<Option<String>, SecretError> {
        match entry(key)?.get_password() {
            Ok(v) => Ok(Some(v)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(SecretError::Keychain(e.to_string())),
        }
    }

    fn set(&self, key: &str, value: &str) -> Result<(), SecretError> {
        if value.len() > MAX_SECRET {
            return Err(SecretError::TooLarge(value.len()));
        }
        entry(key)?.set_password(value).map_err(|e| SecretError::Keychain(e.to_string()))
    }

    fn delete(&self, key: &str) -> Result<(), SecretError> {
        match entry(key)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(SecretError::Keychain(e.to_string())),
        }
    }

    fn kind(&self) -> SecretStoreKind {
        SecretStoreKind::Keychain
    }
}

/// Memory only, for machines without a keychain (and for tests).
#[derive(Debug, Default)]
pub struct MemoryOnly {
    reason: String,
    map: Mutex<HashMap<String, String>>,
    /// Reports itself as the OS keychain (tests and benchmarks of what needs one).
    as_keychain: bool,
}

impl MemoryOnly {
    /// A memory store, with the reason there is no keychain.
    pub fn new(reason: impl Into<String>) -> MemoryOnly {
        MemoryOnly { reason: reason.into(), map: Mutex::new(HashMap::new()), as_keychain: false }
    }

    /// A memory store standing in for the OS keychain, for tests and benchmarks only.
    #[doc(hidden)]
    pub fn standing_in_for_keychain() -> MemoryOnly {
        MemoryOnly { as_keychain: true, ..MemoryOnly::new("") }
    }
}

impl SecretStore for MemoryOnly {
    fn get(&self, key: &str) -> Result<Option<String>, SecretError> {
        Ok(self.map.lock().unwrap_or_else(|e| e.into_inner()).get(key).cloned())
    }

    fn set(&self, key: &str, value: &str) -> Result<(), SecretError> {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).insert(key.into(), value.into());
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), SecretError> {
        self.map.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
        Ok(())
    }

    fn kind(&self) -> SecretStoreKind {
        if self.as_keychain {
            return SecretStoreKind::Keychain;
        }
        SecretStoreKind::MemoryOnly { reason: self.reason.clone() }
    }
}

/// The keychain when it answers within a few seconds (a missing session bus can otherwise stall for
/// the D-Bus timeout), memory only otherwise.
pub fn open() -> Box<dyn SecretStore> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let probe = || -> Result<(), SecretError> {
            let key = format!("probe-{}", std::process::id());
            Keychain.set(&key, "probe")?;
            let back = Keychain.get(&key)?;
            Keychain.delete(&key)?;
            if back.as_deref() == Some("probe") {
                Ok(())
            } else {
                Err(SecretError::Keychain("it did not return what was stored".into()))
            }
        };
        let _ = tx.send(probe());
    });
    match rx.recv_timeout(Duration::from_secs(3)) {
        Ok(Ok(())) => Box::new(Keychain),
        Ok(Err(e)) => {
            Box::new(MemoryOnly::new(format!("no keychain is available ({e}); sign-ins are kept in memory only")))
        }
        Err(_) => Box::new(MemoryOnly::new("the keychain did not answer; sign-ins are kept in memory only")),
    }
}

/// A kept sign-in.
#[derive(Clone, Serialize, Deserialize, Default, PartialEq)]
pub struct StoredSignIn {
    #[serde(default)]
    pub access_token: Option<String>,
    #[serde(default)]
    pub expires_at_ms: Option<i64>,
    #[serde(default)]
    pub refresh_token: Option<String>,
    #[serde(default)]
    pub instance_url: Option<String>,
}

impl std::fmt::Debug for StoredSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredSignIn")
            .field("access_token", &self.access_token.as_ref().map(|_| "…"))
            .field("expires_at_ms", &self.expires_at_ms)
            .field("refresh_token", &self.refresh_token.as_ref().map(|_| "…"))
            .field("instance_url", &self.instance_url)
            .finish()
    }
}

/// The key of a cloud's sign-in: cloud, client id and login host, so two orgs never collide.
pub fn key(cloud: &str, client_id: &str, login: &str) -> String {
    let host = reqwest::Url::parse(login)
        .ok()
        .and_then(|u| u.host_str().map(|h| format!("{h}{}", u.port().map(|p| format!(":{p}")).unwrap_or_default())));
    format!("{cloud}:{client_id}@{}", host.unwrap_or_else(|| login.to_string()))
}

/// Reads a kept sign-in (an unreadable one counts as none).
pub fn load(store: &dyn SecretStore, key: &str) -> Result<Option<StoredSignIn>, SecretError> {
    Ok(store.get(key)?.and_then(|v| serde_json::from_str(&v).ok()))
}

/// Keeps a sign-in.
pub fn save(store: &dyn SecretStore, key: &str, s: &StoredSignIn) -> Result<(), SecretError> {
    store.set(key, &serde_json::to_string(s).expect("sign-ins serialize"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_round_trip_and_keys() {
        let m = MemoryOnly::new("test");
        let k = key("salesforce", "agent-companion", "https://acme.my.salesforce.com");
        assert_eq!(k, "salesforce:agent-companion@acme.my.salesforce.com");
        assert_eq!(load(&m, &k).unwrap(), None);
        let s = StoredSignIn {
            refresh_token: Some("5Aep-secret".into()),
            instance_url: Some("https://x".into()),
            ..Default::default()
        };
        save(&m, &k, &s).unwrap();
        assert_eq!(load(&m, &k).unwrap(), Some(s.clone()));
        assert!(!format!("{s:?}").contains("5Aep-secret"), "secrets stay out of debug output");
        m.delete(&k).unwrap();
        assert_eq!(load(&m, &k).unwrap(), None);
        assert!(matches!(m.kind(), SecretStoreKind::MemoryOnly { .. }));
    }

    #[test]
    fn the_keychain_round_trip_with_keyrings_mock() {
        keyring::set_default_credential_builder(keyring::mock::default_credential_builder());
        // The mock keeps nothing between entries, so test one entry's life.
        let e = keyring::Entry::new(SERVICE, "k").unwrap();
        e.set_password("v").unwrap();
        assert_eq!(e.get_password().unwrap(), "v");
        assert!(
            Keychain.set("big", &"x".repeat(MAX_SECRET + 1)).is_err(),
            "the Windows size limit is enforced everywhere"
        );
    }
}
