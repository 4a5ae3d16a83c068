//! The layers and how they combine: compiled defaults < managed file (IT) < user file < `COMPANION_*`
//! environment < command-line `--set key=value`, each key remembering the layer that set it, and keys
//! IT locked refusing every later layer.

use super::schema::Config;
use super::{ConfigError, Layer, LoadedConfig, validate::validate};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The inputs of a load.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// IT's managed file (may be absent).
    pub managed: Option<PathBuf>,
    /// The user's file (may be absent).
    pub user: Option<PathBuf>,
    /// Environment variables (all of them; only `COMPANION_*` are read).
    pub env: Vec<(String, String)>,
    /// `key=value` from the command line.
    pub flags: Vec<String>,
    /// The operating system's policy channel (registry policy, managed preferences), if any.
    pub policy: Option<std::sync::Arc<dyn super::policy::PolicySource>>,
}

/// Whether `COMPANION_MANAGED_CONFIG` may point the managed layer elsewhere. Only builds with the
/// simulator (tests, demos) allow it: in an installed build, anyone who can set an environment
/// variable could otherwise drop every lock IT set.
const MANAGED_PATH_FROM_ENV: bool = cfg!(feature = "demo");

/// Environment variables of the program itself, not configuration keys.
const RESERVED_ENV: [&str; 4] = ["COMPANION_CONFIG", "COMPANION_MANAGED_CONFIG", "COMPANION_LOG", "COMPANION_DATA_DIR"];

impl Sources {
    /// The standard places: the managed file of this OS, the user's config file, the process
    /// environment. `COMPANION_MANAGED_CONFIG` and `COMPANION_CONFIG` point elsewhere.
    pub fn standard(flags: Vec<String>, user_file: Option<PathBuf>) -> Sources {
        Sources::from_env(std::env::vars().collect(), flags, user_file, MANAGED_PATH_FROM_ENV)
    }

    /// [`Sources::standard`] from a given environment. `managed_from_env`: whether
    /// `COMPANION_MANAGED_CONFIG` may replace IT's file (builds with the simulator only).
    pub fn from_env(
        env: Vec<(String, String)>,
        flags: Vec<String>,
        user_file: Option<PathBuf>,
        managed_from_env: bool,
    ) -> Sources {
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| PathBuf::from(v));
        let redirected = get("COMPANION_MANAGED_CONFIG").filter(|_| managed_from_env);
        if !managed_from_env && get("COMPANION_MANAGED_CONFIG").is_some() {
            tracing::warn!("COMPANION_MANAGED_CONFIG is ignored: IT's managed file is read from its own place");
        }
        Sources {
            managed: redirected.or_else(|| Some(managed_path())),
            user: user_file
                .or_else(|| get("COMPANION_CONFIG"))
                .or_else(|| dirs::config_dir().map(|d| d.join(crate::APP_FOLDER).join("config.toml"))),
            env,
            flags,
            policy: super::policy::system_policy().map(std::sync::Arc::from),
        }
    }
}

/// Where IT puts the managed file on this OS.
pub fn managed_path() -> PathBuf {
    if cfg!(target_os = "windows") {
        std::env::var_os("ProgramData")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(r"C:\ProgramData"))
            .join("AgentCompanion")
            .join("managed.toml")
    } else if cfg!(target_os = "macos") {
        PathBuf::from("/Library/Application Support/AgentCompanion/managed.toml")
    } else {
        PathBuf::from("/etc/agent-companion/managed.toml")
    }
}

fn read_layer(path: &Path) -> Result<Option<toml::Table>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(ConfigError::Read { path: path.into(), source }),
    };
    let file_err = |e: toml::de::Error| ConfigError::File { path: path.into(), message: e.to_string() };
    let table: toml::Table = text.parse().map_err(file_err)?;
    // The file on its own against the schema (every key of a section defaults), so an error points into
    // this file. Its text is checked where it can be (the message then shows the line); a managed file's
    // `locked` list is not part of the schema, so that file is checked without it.
    if table.contains_key("locked") {
        let mut alone = table.clone();
        alone.remove("locked");
        toml::Value::Table(alone)
            .try_into::<Config>()
            .map_err(|e| ConfigError::File { path: path.into(), message: e.message().to_string() })?;
    } else {
        toml::from_str::<Config>(&text).map_err(file_err)?;
    }
    Ok(Some(table))
}

/// IT's file, if it is there and only IT could have written it, without the keys this version does
/// not know (returned): a policy written for a newer version must not stop an older one.
fn read_managed(path: &Path) -> Result<Option<(toml::Table, Vec<String>)>, ConfigError> {
    if !path.exists() {
        return Ok(None);
    }
    if let Err(why) = only_its_owner_writes(path) {
        return Err(ConfigError::Insecure { path: path.into(), why });
    }
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
    let mut table: toml::Table =
        text.parse().map_err(|e: toml::de::Error| ConfigError::File { path: path.into(), message: e.to_string() })?;
    let unknown = strip_unknown(&mut table);
    let mut alone = table.clone();
    alone.remove("locked");
    toml::Value::Table(alone)
        .try_into::<Config>()
        .map_err(|e| ConfigError::File { path: path.into(), message: e.message().to_string() })?;
    Ok(Some((table, unknown)))
}

/// Removes the sections and keys the schema does not have (and `locked` entries naming them);
/// returns their names.
fn strip_unknown(table: &mut toml::Table) -> Vec<String> {
    let defaults = serde_json::to_value(Config::default()).unwrap_or_default();
    let mut unknown: Vec<String> = vec![];
    table.retain(|section, value| {
        if section == "locked" {
            return true;
        }
        let Some(known) = defaults.get(section).and_then(|d| d.as_object()) else {
            unknown.push(section.to_string());
            return false;
        };
        if let toml::Value::Table(keys) = value {
            keys.retain(|k, _| {
                let ok = known.contains_key(k);
                if !ok {
                    unknown.push(format!("{section}.{k}"));
                }
                ok
            });
        }
        true
    });
    if let Some(toml::Value::Array(list)) = table.get_mut("locked") {
        list.retain(|item| {
            let Some(key) = item.as_str() else { return true };
            let ok = is_section(key) || known_key(key);
            if !ok {
                unknown.push(format!("locked: {key}"));
            }
            ok
        });
    }
    unknown
}

/// The managed file and its directory may be written by root or the user running the app (who could
/// change their own files anyway) and by no one else: on a shared host, a file another user can write
/// would let them lock every agent's sign-in to a server of theirs.
#[cfg(unix)]
fn only_its_owner_writes(path: &Path) -> Result<(), String> {
    use std::os::unix::fs::MetadataExt;
    let me = rustix::process::getuid().as_raw();
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    for (what, p) in [("the file", path), ("its folder", dir)] {
        let m = std::fs::metadata(p).map_err(|e| format!("{what} cannot be checked ({e})"))?;
        if m.uid() != 0 && m.uid() != me {
            return Err(format!("{what} belongs to another user (uid {})", m.uid()));
        }
        let sticky_dir = m.is_dir() && m.mode() & 0o1000 != 0;
        if m.mode() & 0o022 != 0 && !sticky_dir {
            return Err(format!("{what} can be changed by other users (mode {:o})", m.mode() & 0o7777));
        }
    }
    Ok(())
}

/// Windows and others: not checked here yet (see docs/security.md).
#[cfg(not(unix))]
fn only_its_owner_writes(_path: &Path) -> Result<(), String> {
    Ok(())
}

/// Every leaf of a table with its path (the parts kept apart: a map key such as a disposition code
/// may itself contain a dot).
fn leaves(prefix: &[String], t: &toml::Table, out: &mut Vec<(Vec<String>, toml::Value)>) {
    for (k, v) in t {
        let mut path = prefix.to_vec();
        path.push(k.clone());
        match v {
            toml::Value::Table(inner) if !inner.is_empty() => leaves(&path, inner, out),
            other => out.push((path, other.clone())),
        }
    }
}

fn set_path(t: &mut toml::Table, path: &[String], value: toml::Value) {
    let Some((last, parents)) = path.split_last() else { return };
    let mut cur = t;
    for p in parents {
        let entry = cur.entry(p.clone()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        let toml::Value::Table(next) = entry else { return };
        cur = next;
    }
    cur.insert(last.clone(), value);
}

/// The schema's keys: every leaf of the defaults, with optional keys (absent by default) and maps
/// included, read from the JSON form, where a missing value is a `null` leaf.
fn schema_keys() -> &'static [String] {
    static KEYS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        fn walk(prefix: &str, v: &serde_json::Value, out: &mut Vec<String>) {
            match v {
                serde_json::Value::Object(m) if !m.is_empty() => {
                    for (k, inner) in m {
                        let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                        walk(&key, inner, out);
                    }
                }
                _ => out.push(prefix.to_string()),
            }
        }
        let mut out = vec![];
        walk("", &serde_json::to_value(Config::default()).unwrap_or_default(), &mut out);
        out
    })
}

/// The type a key has in the schema (its default's JSON form), if it is a key.
fn schema_value(key: &str) -> Option<serde_json::Value> {
    let defaults = serde_json::to_value(Config::default()).ok()?;
    key.split('.').try_fold(defaults, |v, p| v.get(p).cloned())
}

pub(super) fn known_key(key: &str) -> bool {
    schema_keys().iter().any(|k| k == key)
}

/// Whether a name is a whole section (`genesys`), which `locked` may name.
fn is_section(key: &str) -> bool {
    schema_value(key).is_some_and(|v| v.is_object()) && !key.contains('.')
}

/// Reads an override's text as the type the key has: text keys take it verbatim, others as a TOML
/// literal (numbers, booleans, arrays).
fn parse_scalar(key: &str, raw: &str) -> toml::Value {
    let is_text = schema_value(key).is_none_or(|v| v.is_string() || v.is_null());
    if is_text {
        return toml::Value::String(raw.to_string());
    }
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()))
}

/// Checks one overridden key on its own, so the error names the variable or flag that set it.
fn check_override(key: &str, value: &toml::Value, origin: &str) -> Result<(), ConfigError> {
    let mut t = toml::Table::new();
    set_path(&mut t, &key.split('.').map(str::to_string).collect::<Vec<_>>(), value.clone());
    toml::Value::Table(t)
        .try_into::<Config>()
        .map(|_| ())
        .map_err(|e| ConfigError::Override { origin: origin.to_string(), message: format!("{key}: {}", e.message()) })
}

/// Loads and checks the configuration.
pub fn load(sources: &Sources) -> Result<LoadedConfig, ConfigError> {
    let mut merged = toml::Table::new();
    let mut origins = BTreeMap::new();
    let mut locked: Vec<String> = vec![];
    let mut refused = vec![];
    let mut apply = |layer: Layer,
                     table: toml::Table,
                     merged: &mut toml::Table,
                     origins: &mut BTreeMap<String, Layer>,
                     locked: &[String]| {
        let mut keys = vec![];
        leaves(&[], &table, &mut keys);
        for (path, v) in keys {
            let k = path.join(".");
            if layer > Layer::Policy && locked.iter().any(|l| k == *l || k.starts_with(&format!("{l}."))) {
                refused.push((k, layer));
                continue;
            }
            set_path(merged, &path, v);
            origins.insert(k, layer);
        }
    };
    let mut ignored = vec![];
    if let Some(path) = &sources.managed
        && let Some((mut t, unknown)) = read_managed(path)?
    {
        for key in &unknown {
            tracing::warn!(key, "the managed configuration names a key this version does not know; it is ignored");
        }
        ignored = unknown;
        if let Some(l) = t.remove("locked") {
            let list = l.as_array().ok_or_else(|| ConfigError::File {
                path: path.clone(),
                message: "`locked` must be an array of keys".into(),
            })?;
            for item in list {
                let key = item.as_str().ok_or_else(|| ConfigError::File {
                    path: path.clone(),
                    message: "`locked` entries must be strings".into(),
                })?;
                locked.push(key.to_string());
            }
        }
        apply(Layer::Managed, t, &mut merged, &mut origins, &locked);
    }
    if let Some(policy) = &sources.policy {
        let origin = policy.origin();
        let bad = |message: String| ConfigError::Policy { origin: origin.clone(), message };
        let (mut t, problems) = policy.read().map_err(bad)?;
        let unknown = strip_unknown(&mut t);
        toml::Value::Table(t.clone()).try_into::<Config>().map_err(|e| bad(e.message().to_string()))?;
        for problem in problems.iter().chain(&unknown) {
            tracing::warn!(%origin, problem, "a policy value is ignored");
        }
        ignored.extend(problems.into_iter().chain(unknown).map(|p| format!("policy: {p}")));
        // A policy is mandatory: every key it sets is locked.
        let mut keys = vec![];
        leaves(&[], &t, &mut keys);
        for (path, _) in &keys {
            let key = path.join(".");
            if !locked.contains(&key) {
                locked.push(key);
            }
        }
        apply(Layer::Policy, t, &mut merged, &mut origins, &locked);
    }
    if let Some(path) = &sources.user
        && let Some(mut t) = read_layer(path)?
    {
        if t.remove("locked").is_some() {
            return Err(ConfigError::File {
                path: path.clone(),
                message: "`locked` belongs in the managed file only".into(),
            });
        }
        apply(Layer::User, t, &mut merged, &mut origins, &locked);
    }
    let mut env_table = toml::Table::new();
    for (name, value) in &sources.env {
        let Some(rest) = name.strip_prefix("COMPANION_") else { continue };
        if RESERVED_ENV.contains(&name.as_str()) {
            continue;
        }
        let key = rest.to_ascii_lowercase().replace("__", ".");
        if !known_key(&key) {
            return Err(ConfigError::Override {
                origin: format!("environment variable {name}"),
                message: format!("no configuration key {key}"),
            });
        }
        let value = parse_scalar(&key, value);
        check_override(&key, &value, &format!("environment variable {name}"))?;
        set_path(&mut env_table, &key.split('.').map(str::to_string).collect::<Vec<_>>(), value);
    }
    apply(Layer::Environment, env_table, &mut merged, &mut origins, &locked);
    let mut flag_table = toml::Table::new();
    for flag in &sources.flags {
        let Some((key, value)) = flag.split_once('=') else {
            return Err(ConfigError::Override {
                origin: format!("--set {flag}"),
                message: "expected key=value".into(),
            });
        };
        let key = key.trim();
        if !known_key(key) {
            return Err(ConfigError::Override {
                origin: format!("--set {flag}"),
                message: format!("no configuration key {key}"),
            });
        }
        let value = parse_scalar(key, value.trim());
        check_override(key, &value, &format!("--set {flag}"))?;
        set_path(&mut flag_table, &key.split('.').map(str::to_string).collect::<Vec<_>>(), value);
    }
    apply(Layer::CommandLine, flag_table, &mut merged, &mut origins, &locked);
    let mut config: Config = toml::Value::Table(merged).try_into().map_err(|e: toml::de::Error| {
        let key = origins
            .iter()
            .rev()
            .find(|(k, _)| e.message().contains(k.rsplit('.').next().unwrap_or("")))
            .map(|(k, l)| (k.clone(), *l));
        match key {
            Some((k, l)) => ConfigError::Invalid { key: k, layer: l, message: e.message().to_string() },
            None => {
                ConfigError::Override { origin: "environment or command line".into(), message: e.message().to_string() }
            }
        }
    })?;
    // Per-user variables in paths, from the process's environment as the sources carry it.
    let var = |name: &str| sources.env.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone());
    super::expand::expand_paths(&mut config, &var).map_err(|(key, message)| ConfigError::Invalid {
        layer: origins.get(&key).copied().unwrap_or(Layer::Default),
        key,
        message,
    })?;
    let loaded = LoadedConfig { config, origins, locked, refused, ignored };
    validate(&loaded)?;
    Ok(loaded)
}
