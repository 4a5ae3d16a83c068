//! Configuration, layered: compiled defaults < managed file (IT) < user file < `COMPANION_*`
//! environment < command-line `--set key=value`. Keys the managed file lists under `locked` cannot be
//! changed by later layers. A bad file stops the engine with an error naming the file, line and key.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// When the pop happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PopTrigger {
    /// As soon as the agent's phone rings (the answer is ready before they pick up).
    Alerting,
    /// When the agent answers.
    Connected,
}

/// Genesys Cloud.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GenesysConfig {
    /// Region domain, e.g. `mypurecloud.com`, `mypurecloud.ie`, `usw2.pure.cloud`.
    pub region: String,
    /// Explicit REST base (overrides the region).
    pub api_base: Option<String>,
    /// Explicit login base (overrides the region).
    pub login_base: Option<String>,
    /// Explicit streaming base (overrides the region).
    pub streaming_base: Option<String>,
    /// OAuth client id (Authorization Code + PKCE).
    pub client_id: String,
    /// Redirect URI registered on the OAuth client.
    pub redirect_uri: String,
    /// Silence on the socket after which it is treated as dead.
    pub silence_timeout_secs: u64,
    /// How often to send the application ping when nothing else was sent.
    pub ping_interval_secs: u64,
    /// First reconnect delay.
    pub reconnect_initial_ms: u64,
    /// Longest reconnect delay.
    pub reconnect_max_ms: u64,
    /// Re-subscribe this long before the channel's expiry.
    pub channel_renew_before_secs: u64,
    /// Warn the agent this long before the Genesys sign-in expires.
    pub sign_in_warning_secs: u64,
}

impl Default for GenesysConfig {
    fn default() -> Self {
        GenesysConfig {
            region: "mypurecloud.com".into(),
            api_base: None,
            login_base: None,
            streaming_base: None,
            client_id: "agent-companion".into(),
            redirect_uri: "http://127.0.0.1:8765/oauth/genesys".into(),
            silence_timeout_secs: 40,
            ping_interval_secs: 25,
            reconnect_initial_ms: 2_000,
            reconnect_max_ms: 90_000,
            channel_renew_before_secs: 3_600,
            sign_in_warning_secs: 900,
        }
    }
}

impl GenesysConfig {
    /// REST base URL.
    pub fn api(&self) -> String {
        self.api_base.clone().unwrap_or_else(|| format!("https://api.{}", self.region))
    }
    /// Login base URL.
    pub fn login(&self) -> String {
        self.login_base.clone().unwrap_or_else(|| format!("https://login.{}", self.region))
    }
    /// Streaming base URL.
    pub fn streaming(&self) -> String {
        self.streaming_base.clone().unwrap_or_else(|| format!("wss://streaming.{}", self.region))
    }
}

/// Salesforce.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SalesforceConfig {
    /// Login host: `https://login.salesforce.com`, `https://test.salesforce.com` or a My Domain.
    pub login_base: String,
    /// Instance URL; normally learnt from the token response.
    pub instance_url: Option<String>,
    /// REST API version, e.g. `62.0`.
    pub api_version: String,
    /// Connected app / external client app id.
    pub client_id: String,
    /// Redirect URI registered on the app.
    pub redirect_uri: String,
    /// Host for opening records in Lightning (derived from the instance when absent).
    pub lightning_host: Option<String>,
}

impl Default for SalesforceConfig {
    fn default() -> Self {
        SalesforceConfig {
            login_base: "https://login.salesforce.com".into(),
            instance_url: None,
            api_version: "62.0".into(),
            client_id: "agent-companion".into(),
            redirect_uri: "http://localhost:1717/OauthRedirect".into(),
            lightning_host: None,
        }
    }
}

/// Phone numbers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PhoneConfig {
    /// Country that national numbers are read in (ISO 3166 alpha-2).
    pub default_country: String,
}

impl Default for PhoneConfig {
    fn default() -> Self {
        PhoneConfig { default_country: "US".into() }
    }
}

/// The lookup cache.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheConfig {
    /// How long a found answer is kept.
    pub positive_ttl_secs: u64,
    /// How long "nobody has this number" is kept.
    pub negative_ttl_secs: u64,
    /// Past this age a cached answer is still used but checked again in the background.
    pub fresh_secs: u64,
    /// How often expired entries are purged.
    pub purge_interval_secs: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            positive_ttl_secs: 7 * 86_400,
            negative_ttl_secs: 3_600,
            fresh_secs: 4 * 3_600,
            purge_interval_secs: 600,
        }
    }
}

/// The screen pop.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PopConfig {
    /// When to pop.
    pub trigger: PopTrigger,
    /// How long a lookup may take before the agent is told to search by hand.
    pub lookup_budget_ms: u64,
    /// Customer participant attributes that may carry a Salesforce record id set by the IVR.
    pub attribute_keys: Vec<String>,
}

impl Default for PopConfig {
    fn default() -> Self {
        PopConfig {
            trigger: PopTrigger::Alerting,
            lookup_budget_ms: 3_000,
            attribute_keys: vec!["contact_id".into(), "sf_contact_id".into(), "SF_RecordId".into()],
        }
    }
}

/// One object searched by number.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SearchObject {
    /// sObject API name.
    pub name: String,
    /// Fields returned (phone fields among them, for the re-check; `Account.Name` allowed).
    pub fields: Vec<String>,
}

/// What the number search asks for.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SearchConfig {
    /// Objects and fields.
    pub objects: Vec<SearchObject>,
}

impl Default for SearchConfig {
    fn default() -> Self {
        let f = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        SearchConfig {
            objects: vec![
                SearchObject {
                    name: "Contact".into(),
                    fields: f(&[
                        "Id",
                        "Name",
                        "Phone",
                        "MobilePhone",
                        "HomePhone",
                        "OtherPhone",
                        "AssistantPhone",
                        "AccountId",
                        "Account.Name",
                        "LastActivityDate",
                    ]),
                },
                SearchObject {
                    name: "Lead".into(),
                    fields: f(&["Id", "Name", "Phone", "MobilePhone", "Company", "LastActivityDate"]),
                },
            ],
        }
    }
}

/// Local storage.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// Database file; the per-user data directory when absent.
    pub path: Option<PathBuf>,
    /// Hours of raw notification frames kept in the journal.
    pub journal_retention_hours: u64,
    /// Encrypt the database file (SQLCipher; the key lives in the OS keychain). Turning it on
    /// encrypts an existing file at the next start, turning it off decrypts it.
    pub encrypt: bool,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig { path: None, journal_retention_hours: 24, encrypt: false }
    }
}

/// The desktop app's place on the machine.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DesktopConfig {
    /// Start the app when the user logs in (an entry in the user's login items, added and removed by
    /// the app to match this key).
    pub autostart: bool,
}

/// Notices of new releases.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UpdatesConfig {
    /// Tell the agent when a newer release is published. IT sets this to false (and locks it) when
    /// its software distribution delivers updates: the app then never reads the feed.
    pub prompts: bool,
    /// The release manifest (Tauri's static updater JSON: `version`, `notes`, `pub_date`): https, or
    /// http on loopback. No feed, no checks.
    pub feed_url: Option<String>,
    /// How often the feed is read.
    pub check_interval_hours: u64,
}

impl Default for UpdatesConfig {
    fn default() -> Self {
        UpdatesConfig { prompts: true, feed_url: None, check_interval_hours: 24 }
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub genesys: GenesysConfig,
    pub salesforce: SalesforceConfig,
    pub phone: PhoneConfig,
    pub cache: CacheConfig,
    pub pop: PopConfig,
    pub search: SearchConfig,
    pub store: StoreConfig,
    pub disposition: DispositionConfig,
    pub task: TaskConfig,
    pub outbox: OutboxConfig,
    pub desktop: DesktopConfig,
    pub updates: UpdatesConfig,
}

/// How a disposition maps onto the org's log object (every org names things a little differently).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DispositionConfig {
    /// The sObject.
    pub object: String,
    /// The external-id field holding the conversation id (the upsert key).
    pub external_id_field: String,
    pub code_field: String,
    pub reason_field: String,
    pub timestamp_field: String,
    /// The lookup to the contact, when the org has one ("" for none).
    pub contact_field: String,
    /// The agent's extension ("" for none).
    pub agent_extension_field: String,
    /// Wrap-up code name → picklist value; unmapped names are sent as they are.
    pub code_map: BTreeMap<String, String>,
}

impl Default for DispositionConfig {
    fn default() -> Self {
        DispositionConfig {
            object: "Disposition_Log__c".into(),
            external_id_field: "Interaction_ID__c".into(),
            code_field: "Disposition_Code__c".into(),
            reason_field: "Disposition_Reason__c".into(),
            timestamp_field: "Timestamp__c".into(),
            contact_field: "Contact__c".into(),
            agent_extension_field: String::new(),
            code_map: BTreeMap::new(),
        }
    }
}

/// The optional call Task, upserted on its own external-id field so it stays idempotent.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TaskConfig {
    pub enabled: bool,
    pub external_id_field: String,
    pub status: String,
    pub priority: String,
    /// The subject starts with this, followed by the disposition code.
    pub subject_prefix: String,
}

impl Default for TaskConfig {
    fn default() -> Self {
        TaskConfig {
            enabled: false,
            external_id_field: "Genesys_Conversation_Id__c".into(),
            status: "Completed".into(),
            priority: "Normal".into(),
            subject_prefix: "Call".into(),
        }
    }
}

/// The outbox and its pusher.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboxConfig {
    /// Records per sObject Collections request (at most 200).
    pub batch_size: usize,
    /// First retry delay after a transient failure.
    pub retry_initial_ms: u64,
    /// Longest retry delay.
    pub retry_max_ms: u64,
    /// Wait after the org's daily API allocation ran out.
    pub budget_backoff_secs: u64,
    /// Above this share of the daily allocation used, pushes are spaced by `budget_spacing_secs`.
    pub budget_slowdown_ratio: f64,
    pub budget_spacing_secs: u64,
    /// The pusher looks for due rows at least this often.
    pub poll_secs: u64,
    /// A disposition waits up to this long for others to share its API call (a full batch goes at once).
    pub batch_window_secs: u64,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        OutboxConfig {
            batch_size: 200,
            retry_initial_ms: 2_000,
            retry_max_ms: 600_000,
            budget_backoff_secs: 900,
            budget_slowdown_ratio: 0.9,
            budget_spacing_secs: 60,
            poll_secs: 30,
            batch_window_secs: 30,
        }
    }
}

/// Where a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    Default,
    Managed,
    User,
    Environment,
    CommandLine,
}

/// A configuration that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// A file could not be read.
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file is not valid TOML or has an unknown key or a wrong type (the message names line and key).
    #[error("configuration file {path}: {message}")]
    File { path: PathBuf, message: String },
    /// An environment variable or flag is malformed or names an unknown key.
    #[error("{origin}: {message}")]
    Override { origin: String, message: String },
    /// A value is well-formed but not acceptable.
    #[error("configuration key {key} ({layer:?} layer): {message}")]
    Invalid { key: String, layer: Layer, message: String },
}

/// The configuration in force, where each key came from, and which keys IT locked.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub config: Config,
    pub origins: BTreeMap<String, Layer>,
    pub locked: Vec<String>,
    /// Changes that were refused because the key is locked: (key, layer that tried).
    pub refused: Vec<(String, Layer)>,
}

impl LoadedConfig {
    /// True when IT locked this key (or a section containing it).
    pub fn is_locked(&self, key: &str) -> bool {
        self.locked.iter().any(|l| key == l || key.starts_with(&format!("{l}.")))
    }

    /// Which layer set a key.
    pub fn origin(&self, key: &str) -> Layer {
        self.origins.get(key).copied().unwrap_or(Layer::Default)
    }
}

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
}

/// Environment variables of the program itself, not configuration keys.
const RESERVED_ENV: [&str; 4] = ["COMPANION_CONFIG", "COMPANION_MANAGED_CONFIG", "COMPANION_LOG", "COMPANION_DATA_DIR"];

impl Sources {
    /// The standard places: the managed file of this OS, the user's config file, the process
    /// environment. `COMPANION_MANAGED_CONFIG` and `COMPANION_CONFIG` point elsewhere.
    pub fn standard(flags: Vec<String>, user_file: Option<PathBuf>) -> Sources {
        let env: Vec<(String, String)> = std::env::vars().collect();
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| PathBuf::from(v));
        Sources {
            managed: get("COMPANION_MANAGED_CONFIG").or_else(|| Some(managed_path())),
            user: user_file
                .or_else(|| get("COMPANION_CONFIG"))
                .or_else(|| dirs::config_dir().map(|d| d.join("agent-companion").join("config.toml"))),
            env,
            flags,
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

/// The shape of a configuration file, for checking one file on its own so that errors point into it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // read only for validation
struct FileShape {
    locked: Option<Vec<String>>,
    genesys: Option<GenesysConfig>,
    salesforce: Option<SalesforceConfig>,
    phone: Option<PhoneConfig>,
    cache: Option<CacheConfig>,
    pop: Option<PopConfig>,
    search: Option<SearchConfig>,
    store: Option<StoreConfig>,
    disposition: Option<DispositionConfig>,
    task: Option<TaskConfig>,
    outbox: Option<OutboxConfig>,
    desktop: Option<DesktopConfig>,
    updates: Option<UpdatesConfig>,
}

fn read_layer(path: &Path) -> Result<Option<toml::Table>, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(ConfigError::Read { path: path.into(), source }),
    };
    let file_err = |e: toml::de::Error| ConfigError::File { path: path.into(), message: e.to_string() };
    toml::from_str::<FileShape>(&text).map_err(file_err)?;
    Ok(Some(text.parse().map_err(file_err)?))
}

fn leaves(prefix: &str, t: &toml::Table, out: &mut Vec<String>) {
    for (k, v) in t {
        let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
        match v {
            toml::Value::Table(inner) => leaves(&key, inner, out),
            _ => out.push(key),
        }
    }
}

fn set_path(t: &mut toml::Table, key: &str, value: toml::Value) {
    let mut parts = key.split('.').peekable();
    let mut cur = t;
    while let Some(p) = parts.next() {
        if parts.peek().is_none() {
            cur.insert(p.to_string(), value);
            return;
        }
        let entry = cur.entry(p.to_string()).or_insert_with(|| toml::Value::Table(toml::Table::new()));
        if !entry.is_table() {
            *entry = toml::Value::Table(toml::Table::new());
        }
        cur = entry.as_table_mut().expect("just made a table");
    }
}

fn get_path<'a>(t: &'a toml::Table, key: &str) -> Option<&'a toml::Value> {
    let mut cur: &toml::Value = t.get(key.split('.').next()?)?;
    for p in key.split('.').skip(1) {
        cur = cur.as_table()?.get(p)?;
    }
    Some(cur)
}

/// Reads an override's text as the type the key has: text keys take it verbatim, others as a TOML
/// literal (numbers, booleans, arrays).
fn parse_scalar(key: &str, raw: &str) -> toml::Value {
    let defaults = toml::Table::try_from(Config::default()).expect("defaults serialize");
    let is_text = get_path(&defaults, key).is_none_or(toml::Value::is_str);
    if is_text {
        return toml::Value::String(raw.to_string());
    }
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()))
}

fn known_key(key: &str) -> bool {
    let defaults = toml::Table::try_from(Config::default()).expect("defaults serialize");
    let mut all = vec![];
    leaves("", &defaults, &mut all);
    // Optional keys are absent from the defaults' serialization.
    let optional = [
        "genesys.api_base",
        "genesys.login_base",
        "genesys.streaming_base",
        "salesforce.instance_url",
        "salesforce.lightning_host",
        "store.path",
        "disposition.code_map",
        "updates.feed_url",
    ];
    all.iter().any(|k| k == key) || optional.contains(&key)
}

/// Checks one overridden key on its own, so the error names the variable or flag that set it.
fn check_override(key: &str, value: &toml::Value, origin: &str) -> Result<(), ConfigError> {
    let mut t = toml::Table::new();
    set_path(&mut t, key, value.clone());
    toml::Value::Table(t)
        .try_into::<FileShape>()
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
        leaves("", &table, &mut keys);
        for k in keys {
            if layer > Layer::Managed && locked.iter().any(|l| k == *l || k.starts_with(&format!("{l}."))) {
                refused.push((k, layer));
                continue;
            }
            let v = get_path(&table, &k).expect("leaf exists").clone();
            set_path(merged, &k, v);
            origins.insert(k, layer);
        }
    };
    if let Some(path) = &sources.managed
        && let Some(mut t) = read_layer(path)?
    {
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
                // Every section of the configuration is a table in the defaults' serialization.
                let section = toml::Table::try_from(Config::default())
                    .expect("defaults serialize")
                    .get(key)
                    .is_some_and(toml::Value::is_table);
                if !section && !known_key(key) {
                    return Err(ConfigError::File {
                        path: path.clone(),
                        message: format!("`locked` names an unknown key: {key}"),
                    });
                }
                locked.push(key.to_string());
            }
        }
        apply(Layer::Managed, t, &mut merged, &mut origins, &locked);
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
        set_path(&mut env_table, &key, value);
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
        set_path(&mut flag_table, key, value);
    }
    apply(Layer::CommandLine, flag_table, &mut merged, &mut origins, &locked);
    let config: Config = toml::Value::Table(merged).try_into().map_err(|e: toml::de::Error| {
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
    let loaded = LoadedConfig { config, origins, locked, refused };
    validate(&loaded)?;
    Ok(loaded)
}

fn is_identifier_path(s: &str) -> bool {
    let ident = |p: &str| {
        let mut cs = p.chars();
        cs.next().is_some_and(|c| c.is_ascii_alphabetic()) && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    !s.is_empty() && s.len() <= 80 && s.split('.').count() <= 2 && s.split('.').all(ident)
}

fn validate(l: &LoadedConfig) -> Result<(), ConfigError> {
    let c = &l.config;
    let bad = |key: &str, message: String| ConfigError::Invalid { key: key.into(), layer: l.origin(key), message };
    if crate::phone::country(&c.phone.default_country).is_none() {
        return Err(bad(
            "phone.default_country",
            format!("`{}` is not an ISO 3166 country code such as US or GB", c.phone.default_country),
        ));
    }
    let v = &c.salesforce.api_version;
    if !v.split_once('.').is_some_and(|(a, b)| {
        !a.is_empty() && !b.is_empty() && a.bytes().all(|x| x.is_ascii_digit()) && b.bytes().all(|x| x.is_ascii_digit())
    }) {
        return Err(bad("salesforce.api_version", format!("`{v}` is not a version such as 62.0")));
    }
    let urls = [
        ("genesys.api_base", Some(c.genesys.api()), &["http", "https"][..]),
        ("genesys.login_base", Some(c.genesys.login()), &["http", "https"][..]),
        ("genesys.streaming_base", Some(c.genesys.streaming()), &["ws", "wss"][..]),
        ("genesys.redirect_uri", Some(c.genesys.redirect_uri.clone()), &["http", "https"][..]),
        ("salesforce.login_base", Some(c.salesforce.login_base.clone()), &["http", "https"][..]),
        ("salesforce.instance_url", c.salesforce.instance_url.clone(), &["http", "https"][..]),
        ("salesforce.redirect_uri", Some(c.salesforce.redirect_uri.clone()), &["http", "https"][..]),
    ];
    for (key, url, schemes) in urls {
        let Some(url) = url else { continue };
        match reqwest::Url::parse(&url) {
            Ok(u) if schemes.contains(&u.scheme()) && u.host().is_some() => {}
            _ => return Err(bad(key, format!("`{url}` is not a {} URL", schemes.join(" or ")))),
        }
    }
    if let Some(feed) = &c.updates.feed_url
        && let Err(e) = crate::updates::feed_url(feed)
    {
        return Err(bad("updates.feed_url", e.to_string()));
    }
    if c.genesys.region.is_empty()
        || !c.genesys.region.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '.' || ch == '-')
    {
        return Err(bad(
            "genesys.region",
            format!("`{}` is not a region domain such as mypurecloud.com", c.genesys.region),
        ));
    }
    for (key, value) in [
        ("cache.positive_ttl_secs", c.cache.positive_ttl_secs),
        ("cache.negative_ttl_secs", c.cache.negative_ttl_secs),
        ("cache.purge_interval_secs", c.cache.purge_interval_secs),
        ("pop.lookup_budget_ms", c.pop.lookup_budget_ms),
        ("genesys.silence_timeout_secs", c.genesys.silence_timeout_secs),
        ("genesys.reconnect_initial_ms", c.genesys.reconnect_initial_ms),
        ("store.journal_retention_hours", c.store.journal_retention_hours),
        ("updates.check_interval_hours", c.updates.check_interval_hours),
    ] {
        if value == 0 {
            return Err(bad(key, "must be above 0".into()));
        }
    }
    if c.genesys.reconnect_max_ms < c.genesys.reconnect_initial_ms {
        return Err(bad("genesys.reconnect_max_ms", "must be at least genesys.reconnect_initial_ms".into()));
    }
    if !(1..=200).contains(&c.outbox.batch_size) {
        return Err(bad("outbox.batch_size", "must be between 1 and 200 (the sObject Collections limit)".into()));
    }
    if c.outbox.retry_initial_ms == 0 || c.outbox.retry_max_ms < c.outbox.retry_initial_ms {
        return Err(bad("outbox.retry_max_ms", "retry delays must be above 0, the longest at least the first".into()));
    }
    if !(0.0..=1.0).contains(&c.outbox.budget_slowdown_ratio) {
        return Err(bad("outbox.budget_slowdown_ratio", "must be a share between 0 and 1".into()));
    }
    let d = &c.disposition;
    for (key, v, optional) in [
        ("disposition.object", &d.object, false),
        ("disposition.external_id_field", &d.external_id_field, false),
        ("disposition.code_field", &d.code_field, false),
        ("disposition.reason_field", &d.reason_field, false),
        ("disposition.timestamp_field", &d.timestamp_field, false),
        ("disposition.contact_field", &d.contact_field, true),
        ("disposition.agent_extension_field", &d.agent_extension_field, true),
        ("task.external_id_field", &c.task.external_id_field, false),
    ] {
        if !(optional && v.is_empty()) && (!is_identifier_path(v) || v.contains('.')) {
            return Err(bad(key, format!("`{v}` is not an API name")));
        }
    }
    if c.search.objects.is_empty() {
        return Err(bad("search.objects", "at least one object must be searched".into()));
    }
    for o in &c.search.objects {
        if !is_identifier_path(&o.name) || o.name.contains('.') {
            return Err(bad("search.objects", format!("`{}` is not an sObject API name", o.name)));
        }
        if !o.fields.iter().any(|f| f == "Id") {
            return Err(bad("search.objects", format!("the fields of {} must include Id", o.name)));
        }
        if let Some(f) = o.fields.iter().find(|f| !is_identifier_path(f)) {
            return Err(bad(
                "search.objects",
                format!("`{f}` is not a field name (letters, digits, _ and one optional relationship dot)"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> PathBuf {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn defaults_load_and_derive_urls_from_the_region() {
        let l = load(&Sources::default()).unwrap();
        assert_eq!(l.config.genesys.api(), "https://api.mypurecloud.com");
        assert_eq!(l.config.genesys.streaming(), "wss://streaming.mypurecloud.com");
        assert_eq!(l.origin("pop.trigger"), Layer::Default);
    }

    #[test]
    fn layers_override_in_order_and_locks_hold() {
        let dir = tempfile::tempdir().unwrap();
        let managed = write(
            &dir,
            "managed.toml",
            "locked = [\"pop.trigger\", \"salesforce\"]\n[pop]\ntrigger = \"connected\"\n[salesforce]\nlogin_base = \"https://acme.my.salesforce.com\"\n[cache]\nnegative_ttl_secs = 600\n",
        );
        let user = write(
            &dir,
            "user.toml",
            "[pop]\ntrigger = \"alerting\"\nlookup_budget_ms = 1500\n[cache]\nnegative_ttl_secs = 900\n",
        );
        let sources = Sources {
            managed: Some(managed),
            user: Some(user),
            env: vec![
                ("COMPANION_CACHE__NEGATIVE_TTL_SECS".into(), "1200".into()),
                ("COMPANION_SALESFORCE__API_VERSION".into(), "61.0".into()),
                ("PATH".into(), "/bin".into()),
            ],
            flags: vec!["pop.lookup_budget_ms=2500".into()],
        };
        let l = load(&sources).unwrap();
        assert_eq!(l.config.pop.trigger, PopTrigger::Connected, "locked by IT");
        assert_eq!(l.config.salesforce.login_base, "https://acme.my.salesforce.com");
        assert_eq!(l.config.salesforce.api_version, "62.0", "the whole section is locked");
        assert_eq!(l.config.cache.negative_ttl_secs, 1200);
        assert_eq!(l.origin("cache.negative_ttl_secs"), Layer::Environment);
        assert_eq!(l.config.pop.lookup_budget_ms, 2500);
        assert_eq!(l.origin("pop.lookup_budget_ms"), Layer::CommandLine);
        assert!(l.is_locked("salesforce.api_version"));
        assert!(l.refused.contains(&("pop.trigger".into(), Layer::User)));
        assert!(l.refused.contains(&("salesforce.api_version".into(), Layer::Environment)));
    }

    #[test]
    fn the_shipped_managed_example_loads_and_locks_autostart_and_update_notices() {
        let dir = tempfile::tempdir().unwrap();
        let managed = write(&dir, "managed.toml", include_str!("../../../docs/managed.example.toml"));
        // An agent tries to turn the login item off and the notices on, by file and by flag.
        let user = write(&dir, "user.toml", "[desktop]\nautostart = false\n[updates]\nprompts = true\n");
        let sources = Sources {
            managed: Some(managed),
            user: Some(user),
            env: vec![("COMPANION_UPDATES__FEED_URL".into(), "https://updates.example.com/latest.json".into())],
            flags: vec!["desktop.autostart=false".into()],
        };
        let l = load(&sources).unwrap();
        assert!(l.config.desktop.autostart);
        assert!(!l.config.updates.prompts);
        assert_eq!(l.config.updates.feed_url, None, "the whole updates section is locked");
        assert_eq!(l.origin("desktop.autostart"), Layer::Managed);
        assert!(l.is_locked("updates.prompts") && l.is_locked("desktop.autostart"));
        for refused in [
            ("desktop.autostart".to_string(), Layer::User),
            ("desktop.autostart".to_string(), Layer::CommandLine),
            ("updates.prompts".to_string(), Layer::User),
            ("updates.feed_url".to_string(), Layer::Environment),
        ] {
            assert!(l.refused.contains(&refused), "{refused:?} in {:?}", l.refused);
        }
    }

    #[test]
    fn an_insecure_release_feed_is_refused() {
        let e = load(&Sources {
            flags: vec!["updates.feed_url=http://updates.example.com/x.json".into()],
            ..Default::default()
        })
        .unwrap_err()
        .to_string();
        assert!(e.contains("updates.feed_url") && e.contains("https"), "{e}");
    }

    #[test]
    fn a_bad_file_names_the_file_the_line_and_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let user = write(&dir, "user.toml", "[pop]\nlookup_budget_ms = 100\ntrigerr = \"alerting\"\n");
        let e = load(&Sources { user: Some(user.clone()), ..Default::default() }).unwrap_err().to_string();
        assert!(e.contains(&user.display().to_string()), "{e}");
        assert!(e.contains("line 3"), "{e}");
        assert!(e.contains("trigerr"), "{e}");
        let user = write(&dir, "user2.toml", "[cache]\npositive_ttl_secs = \"a week\"\n");
        let e = load(&Sources { user: Some(user), ..Default::default() }).unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("positive_ttl_secs"), "{e}");
        let user = write(&dir, "user3.toml", "[pop\n");
        assert!(load(&Sources { user: Some(user), ..Default::default() }).is_err());
    }

    #[test]
    fn bad_values_and_overrides_are_refused_clearly() {
        let env = |k: &str, v: &str| Sources { env: vec![(k.into(), v.into())], ..Default::default() };
        let e = load(&env("COMPANION_PHONE__DEFAULT_COUNTRY", "Atlantis")).unwrap_err().to_string();
        assert!(e.contains("phone.default_country") && e.contains("Environment"), "{e}");
        let e = load(&env("COMPANION_NOPE", "1")).unwrap_err().to_string();
        assert!(e.contains("COMPANION_NOPE"), "{e}");
        let e = load(&Sources { flags: vec!["genesys.api_base=ftp://x".into()], ..Default::default() })
            .unwrap_err()
            .to_string();
        assert!(e.contains("genesys.api_base"), "{e}");
        let e = load(&Sources { flags: vec!["pop.trigger=sometimes".into()], ..Default::default() })
            .unwrap_err()
            .to_string();
        assert!(e.contains("trigger"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let user =
            write(&dir, "u.toml", "[[search.objects]]\nname = \"Contact\"\nfields = [\"Id\", \"Name) , User(Id\"]\n");
        let e = load(&Sources { user: Some(user), ..Default::default() }).unwrap_err().to_string();
        assert!(e.contains("search.objects"), "{e}");
    }
}
