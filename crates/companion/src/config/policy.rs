//! IT's policy in the operating system's own channel, beside the managed TOML file: Group Policy and
//! Intune write `HKLM`/`HKCU\SOFTWARE\Policies\AgentCompanion\<section>` (templates in
//! `docs/policies/windows`), Jamf and other MDMs install a configuration profile whose payload macOS
//! keeps in `/Library/Managed Preferences/com.agentcompanion.desktop.plist` (example in
//! `docs/policies/macos`). Like every policy, each value set there is mandatory: the layer locks the
//! keys it sets. Keys this version does not know are ignored and reported, as in the managed file.
//!
//! The reading of each channel is behind [`PolicySource`], so how a policy combines with the other
//! layers is tested on every platform with a stand-in.

use super::schema::Config;
use std::path::{Path, PathBuf};

/// One registry value, as Group Policy writes it.
#[derive(Debug, Clone, PartialEq)]
pub enum RegistryValue {
    Dword(u32),
    Qword(u64),
    String(String),
    MultiString(Vec<String>),
}

/// A place IT sets policy in.
pub trait PolicySource: Send + Sync + std::fmt::Debug {
    /// Where it is read from, for messages (`HKLM\SOFTWARE\Policies\AgentCompanion`).
    fn origin(&self) -> String;
    /// The policy as `section.key` values in the configuration's shape (empty: no policy set), and the
    /// values that could not be used, with why.
    fn read(&self) -> Result<(toml::Table, Vec<String>), String>;
}

/// The type each key has in the schema (its default's JSON form).
fn schema_type(section: &str, key: &str) -> Option<serde_json::Value> {
    let defaults = serde_json::to_value(Config::default()).ok()?;
    defaults.get(section)?.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(k, v)| {
        let mut named = serde_json::Map::new();
        named.insert(k.clone(), v.clone());
        serde_json::Value::Object(named)
    })
}

/// Converts registry values (by section) to configuration values, by the type the schema gives each
/// key: a DWORD is a number or (0/1) a switch, a string a text or a number, a multi-string a list.
pub fn from_registry(sections: &[(String, Vec<(String, RegistryValue)>)]) -> (toml::Table, Vec<String>) {
    let mut table = toml::Table::new();
    let mut problems = vec![];
    for (section, values) in sections {
        let section_name = section.to_ascii_lowercase();
        for (name, value) in values {
            let shown = format!("{section}\\{name}");
            let Some(typed) = schema_type(&section_name, name) else {
                problems.push(format!("{shown}: not a setting of this version"));
                continue;
            };
            let (key, default) = typed
                .as_object()
                .and_then(|m| m.iter().next())
                .map(|(k, v)| (k.clone(), v.clone()))
                .unwrap_or_default();
            let converted = match (&default, value) {
                (serde_json::Value::Bool(_), RegistryValue::Dword(d)) => Some(toml::Value::Boolean(*d != 0)),
                (serde_json::Value::Number(n), RegistryValue::String(s)) if n.is_f64() => {
                    s.trim().parse().ok().map(toml::Value::Float)
                }
                (serde_json::Value::Number(_) | serde_json::Value::Null, RegistryValue::Dword(d)) => {
                    Some(toml::Value::Integer(*d as i64))
                }
                (serde_json::Value::Number(_) | serde_json::Value::Null, RegistryValue::Qword(q)) => {
                    i64::try_from(*q).ok().map(toml::Value::Integer)
                }
                (serde_json::Value::Number(_), RegistryValue::String(s)) => {
                    s.trim().parse().ok().map(toml::Value::Integer)
                }
                (serde_json::Value::String(_) | serde_json::Value::Null, RegistryValue::String(s)) => {
                    Some(toml::Value::String(s.clone()))
                }
                (serde_json::Value::Array(items), RegistryValue::MultiString(list)) => {
                    let numbers = items.first().is_some_and(|i| i.is_number());
                    if numbers {
                        list.iter()
                            .map(|s| s.trim().parse::<i64>().ok().map(toml::Value::Integer))
                            .collect::<Option<Vec<_>>>()
                            .map(toml::Value::Array)
                    } else {
                        Some(toml::Value::Array(list.iter().cloned().map(toml::Value::String).collect()))
                    }
                }
                _ => None,
            };
            match converted {
                Some(v) => {
                    table.entry(section_name.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
                    if let Some(toml::Value::Table(t)) = table.get_mut(&section_name) {
                        t.insert(key, v);
                    }
                }
                None => problems.push(format!("{shown}: a {} cannot set {section_name}.{key}", kind(value))),
            }
        }
    }
    (table, problems)
}

fn kind(v: &RegistryValue) -> &'static str {
    match v {
        RegistryValue::Dword(_) => "REG_DWORD",
        RegistryValue::Qword(_) => "REG_QWORD",
        RegistryValue::String(_) => "REG_SZ",
        RegistryValue::MultiString(_) => "REG_MULTI_SZ",
    }
}

/// Converts a managed-preferences dictionary (sections as dictionaries) to configuration values; the
/// profile's own `Payload…` keys are not settings.
pub fn from_plist(value: &plist::Value) -> Result<toml::Table, String> {
    fn convert(v: &plist::Value) -> Option<toml::Value> {
        Some(match v {
            plist::Value::Boolean(b) => toml::Value::Boolean(*b),
            plist::Value::Integer(i) => toml::Value::Integer(i.as_signed()?),
            plist::Value::Real(f) => toml::Value::Float(*f),
            plist::Value::String(s) => toml::Value::String(s.clone()),
            plist::Value::Array(a) => toml::Value::Array(a.iter().map(convert).collect::<Option<Vec<_>>>()?),
            plist::Value::Dictionary(d) => toml::Value::Table(
                d.iter()
                    .filter(|(k, _)| !k.starts_with("Payload"))
                    .map(|(k, v)| Some((k.clone(), convert(v)?)))
                    .collect::<Option<_>>()?,
            ),
            _ => return None,
        })
    }
    match convert(value) {
        Some(toml::Value::Table(t)) => Ok(t),
        _ => Err("the managed preferences are not a dictionary of settings".into()),
    }
}

/// macOS managed preferences: the machine's file, then the user's (`/Library/Managed Preferences/<user>/…`).
#[derive(Debug, Clone)]
pub struct ManagedPreferences {
    pub files: Vec<PathBuf>,
}

impl ManagedPreferences {
    pub fn standard() -> ManagedPreferences {
        let domain = format!("{}.plist", crate::APP_IDENTIFIER);
        let root = Path::new("/Library/Managed Preferences");
        let mut files = vec![root.join(&domain)];
        if let Ok(user) = std::env::var("USER") {
            files.insert(0, root.join(user).join(&domain));
        }
        ManagedPreferences { files }
    }
}

impl PolicySource for ManagedPreferences {
    fn origin(&self) -> String {
        self.files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", ")
    }

    fn read(&self) -> Result<(toml::Table, Vec<String>), String> {
        let mut merged = toml::Table::new();
        for file in &self.files {
            if !file.exists() {
                continue;
            }
            let value = plist::Value::from_file(file).map_err(|e| format!("{}: {e}", file.display()))?;
            for (section, values) in from_plist(&value).map_err(|e| format!("{}: {e}", file.display()))? {
                match (merged.get_mut(&section), values) {
                    (Some(toml::Value::Table(into)), toml::Value::Table(from)) => into.extend(from),
                    (_, v) => {
                        merged.insert(section, v);
                    }
                }
            }
        }
        Ok((merged, vec![]))
    }
}

/// The operating system's policy channel on this machine, if it has one.
pub fn system_policy() -> Option<Box<dyn PolicySource>> {
    #[cfg(windows)]
    {
        Some(Box::new(super::policy_windows::RegistryPolicy))
    }
    #[cfg(target_os = "macos")]
    {
        Some(Box::new(ManagedPreferences::standard()))
    }
    #[cfg(not(any(windows, target_os = "macos")))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_values_take_the_type_the_schema_gives_their_key() {
        let sections = vec![
            (
                "Network".to_string(),
                vec![
                    ("Proxy".to_string(), RegistryValue::String("http://proxy.corp:3128".into())),
                    ("No_Proxy".to_string(), RegistryValue::MultiString(vec![".corp.example".into()])),
                    ("system_proxy".to_string(), RegistryValue::Dword(0)),
                ],
            ),
            (
                "genesys".to_string(),
                vec![(
                    "redirect_fallback_ports".to_string(),
                    RegistryValue::MultiString(vec!["9001".into(), "9002".into()]),
                )],
            ),
            (
                "store".to_string(),
                vec![
                    ("encrypt".to_string(), RegistryValue::Dword(1)),
                    ("retention_days".to_string(), RegistryValue::Dword(14)),
                ],
            ),
            (
                "pop".to_string(),
                vec![
                    ("smarter".to_string(), RegistryValue::Dword(1)),
                    ("trigger".to_string(), RegistryValue::Dword(3)),
                ],
            ),
        ];
        let (t, problems) = from_registry(&sections);
        assert_eq!(t["network"]["proxy"].as_str(), Some("http://proxy.corp:3128"));
        assert_eq!(t["network"]["no_proxy"].as_array().unwrap().len(), 1);
        assert_eq!(t["network"]["system_proxy"].as_bool(), Some(false));
        assert_eq!(t["genesys"]["redirect_fallback_ports"].as_array().unwrap()[1].as_integer(), Some(9002));
        assert_eq!(t["store"]["encrypt"].as_bool(), Some(true));
        assert_eq!(t["store"]["retention_days"].as_integer(), Some(14));
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].contains("pop\\smarter") && problems[1].contains("REG_DWORD cannot set pop.trigger"),
            "{problems:?}"
        );
    }
}
