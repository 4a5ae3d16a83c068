//! The configuration's schema: every section and key with its default. The list of keys that
//! overrides and `locked` may name is derived from this (see `layers::known_key`), never kept by hand.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

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
    /// Ports tried, in order, when `redirect_uri`'s port is taken (another user's sign-in on a shared
    /// host): the same URI on each of these must be registered on the OAuth client too.
    pub redirect_fallback_ports: Vec<u16>,
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
    /// Apply a wrap-up set in the companion in Genesys too (needs `conversation:participant:wrapup`),
    /// so the agent enters it once.
    pub apply_wrapups: bool,
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
            redirect_fallback_ports: (8766..=8774).collect(),
            silence_timeout_secs: 40,
            ping_interval_secs: 25,
            reconnect_initial_ms: 2_000,
            reconnect_max_ms: 90_000,
            channel_renew_before_secs: 3_600,
            sign_in_warning_secs: 900,
            apply_wrapups: true,
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
    /// Ports tried, in order, when `redirect_uri`'s port is taken (another user's sign-in on a shared
    /// host): the same URI on each of these must be a callback URL of the app too.
    pub redirect_fallback_ports: Vec<u16>,
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
            redirect_fallback_ports: (1718..=1726).collect(),
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
    /// When the agent identifies the caller, write the record id (and the agent's name) on the
    /// conversation's customer participant, so the next agent's companion pops it at once.
    pub carry_identification: bool,
    /// Customer participant attributes where a flow puts the customer's email address or number,
    /// for chats and messaging channels whose media carries none (web chat's `context.*` fields).
    pub address_attributes: Vec<String>,
}

impl Default for PopConfig {
    fn default() -> Self {
        PopConfig {
            trigger: PopTrigger::Alerting,
            lookup_budget_ms: 3_000,
            attribute_keys: vec!["contact_id".into(), "sf_contact_id".into(), "SF_RecordId".into()],
            carry_identification: true,
            address_attributes: vec![
                "context.email".into(),
                "context.phoneNumber".into(),
                "customerEmail".into(),
                "customerPhone".into(),
            ],
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
                        "Email",
                        "AccountId",
                        "Account.Name",
                        "LastActivityDate",
                    ]),
                },
                SearchObject {
                    name: "Lead".into(),
                    fields: f(&["Id", "Name", "Phone", "MobilePhone", "Email", "Company", "LastActivityDate"]),
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
    /// Hours of raw notification frames kept in the journal (and of calls kept in the history).
    pub journal_retention_hours: u64,
    /// Days a delivered or discarded disposition (its notes, contact, history) and an agent's pick for
    /// a number are kept on this machine. Undelivered dispositions are never purged.
    pub retention_days: u64,
    /// Encrypt the database file (SQLCipher; the key lives in the OS keychain). Turning it on
    /// encrypts an existing file at the next start, turning it off decrypts it.
    pub encrypt: bool,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig { path: None, journal_retention_hours: 24, retention_days: 30, encrypt: false }
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
    pub recovery: RecoveryConfig,
    pub network: NetworkConfig,
}

/// How the app reaches the clouds in a corporate network. Every HTTP request and the notification
/// socket go through the same proxy and trust these settings describe (`net`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetworkConfig {
    /// The proxy for every connection, `http://host:port` or `http://user:password@host:port` (Basic
    /// sign-in). Unset: the system's settings, when `system_proxy` is true.
    pub proxy: Option<String>,
    /// Hosts reached without `proxy` (`NO_PROXY` syntax: `.corp.example`, `10.0.0.0/8`, `localhost`).
    pub no_proxy: Vec<String>,
    /// Without `proxy`: follow `HTTPS_PROXY`/`ALL_PROXY`/`NO_PROXY` and the OS's proxy settings
    /// (Windows Internet settings, macOS network settings). A PAC script is not evaluated.
    pub system_proxy: bool,
    /// PEM files of certificate authorities to trust beside the system's trust store, e.g. a
    /// TLS-inspecting proxy's CA where it is not deployed to the trust store.
    pub extra_ca_files: Vec<PathBuf>,
}

impl Default for NetworkConfig {
    fn default() -> Self {
        NetworkConfig { proxy: None, no_proxy: vec![], system_proxy: true, extra_ca_files: vec![] }
    }
}

/// The read-back of interactions handled while the app was closed, crashed or offline.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecoveryConfig {
    /// Read back at start, after every reconnect and every `interval_minutes`.
    pub enabled: bool,
    /// How far back (hours, 1 to 744: the analytics query takes up to 31 days).
    pub window_hours: u32,
    /// Between two checks while running.
    pub interval_minutes: u32,
}

impl Default for RecoveryConfig {
    fn default() -> Self {
        RecoveryConfig { enabled: true, window_hours: 24, interval_minutes: 10 }
    }
}

/// What one log record stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordPer {
    /// One record per agent segment (`{conversation}:{participant}`): after a transfer, each agent's
    /// disposition and Task stay.
    Segment,
    /// One record per conversation (the seed design): every segment writes the same record, the last
    /// one delivered wins.
    Conversation,
}

/// How a disposition maps onto the org's log object (every org names things a little differently).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DispositionConfig {
    /// The sObject.
    pub object: String,
    /// What a record (and its Task) stands for: `segment` or `conversation`.
    pub record_per: RecordPer,
    /// The external-id field holding the interaction id (the upsert key).
    pub external_id_field: String,
    /// The field holding the Genesys conversation id, for reports that group by it ("" for none).
    /// Written in `segment` mode; in `conversation` mode the key already is the conversation id.
    pub conversation_field: String,
    pub code_field: String,
    pub reason_field: String,
    pub timestamp_field: String,
    /// The lookup to the contact, when the org has one ("" for none).
    pub contact_field: String,
    /// The agent's extension ("" for none).
    pub agent_extension_field: String,
    /// The interaction's media (`call`, `callback`, `chat`, `email`, or a message's channel such as
    /// `sms`) ("" for none).
    pub media_field: String,
    /// Wrap-up code name → picklist value; unmapped names are sent as they are.
    pub code_map: BTreeMap<String, String>,
}

impl Default for DispositionConfig {
    fn default() -> Self {
        DispositionConfig {
            object: "Disposition_Log__c".into(),
            record_per: RecordPer::Segment,
            external_id_field: "Interaction_ID__c".into(),
            conversation_field: "Conversation_ID__c".into(),
            code_field: "Disposition_Code__c".into(),
            reason_field: "Disposition_Reason__c".into(),
            timestamp_field: "Timestamp__c".into(),
            contact_field: "Contact__c".into(),
            agent_extension_field: String::new(),
            media_field: "Media__c".into(),
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
