//! Start-up configuration and the runtime-adjustable settings of the simulator.

use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr};

/// The six listeners, each on its own port (0 picks a free one).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Ports {
    /// `api.<domain>`: Genesys REST.
    pub genesys_api: u16,
    /// `login.<domain>`: Genesys OAuth.
    pub genesys_login: u16,
    /// `streaming.<domain>`: the notification WebSocket.
    pub genesys_streaming: u16,
    /// The Salesforce instance (`instance_url`).
    pub salesforce: u16,
    /// `login.salesforce.com` or a My Domain login host.
    pub salesforce_login: u16,
    /// The `/_sim/` control and inspection API.
    pub control: u16,
}

impl Ports {
    /// Six consecutive ports from `base` (0 keeps every port ephemeral).
    pub fn from_base(base: u16) -> Ports {
        if base == 0 {
            return Ports::default();
        }
        Ports {
            genesys_api: base,
            genesys_login: base + 1,
            genesys_streaming: base + 2,
            salesforce: base + 3,
            salesforce_login: base + 4,
            control: base + 5,
        }
    }
}

/// Sizes of the seeded population.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PopulationConfig {
    /// Accounts.
    pub accounts: usize,
    /// Contacts with a number of their own.
    pub contacts: usize,
    /// Leads.
    pub leads: usize,
    /// Numbers shared by 2–8 contacts each.
    pub shared_numbers: usize,
    /// Callers that Salesforce does not know.
    pub unknown_callers: usize,
}

impl Default for PopulationConfig {
    fn default() -> Self {
        PopulationConfig { accounts: 400, contacts: 4000, leads: 600, shared_numbers: 150, unknown_callers: 1500 }
    }
}

/// An OAuth client registered with one of the clouds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OAuthClient {
    /// `client_id`.
    pub client_id: String,
    /// Redirect URIs accepted, compared exactly.
    pub redirect_uris: Vec<String>,
}

/// Everything fixed at start.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Seed of the data generator and of every random choice.
    pub seed: u64,
    /// Address to bind; must be a loopback address.
    pub bind: IpAddr,
    /// Listener ports.
    pub ports: Ports,
    /// Population sizes.
    pub population: PopulationConfig,
    /// Genesys OAuth clients.
    pub genesys_clients: Vec<OAuthClient>,
    /// Salesforce connected apps.
    pub salesforce_clients: Vec<OAuthClient>,
    /// Settings that can also be changed at run time.
    pub settings: Settings,
    /// HTTPS and WSS on the cloud-facing listeners, with URLs on this host name (None: plain HTTP on
    /// the bound address).
    pub tls: Option<crate::tls::SimTls>,
}

/// The client id both clouds accept out of the box.
pub const DEFAULT_CLIENT_ID: &str = "agent-companion";

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 42,
            bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            ports: Ports::default(),
            population: PopulationConfig::default(),
            genesys_clients: vec![OAuthClient {
                client_id: DEFAULT_CLIENT_ID.into(),
                // The app's default redirect URI and its fallback ports (a shared host).
                redirect_uris: (8765..=8774)
                    .flat_map(|p| {
                        [format!("http://127.0.0.1:{p}/oauth/genesys"), format!("http://localhost:{p}/oauth/genesys")]
                    })
                    .collect(),
            }],
            salesforce_clients: vec![OAuthClient {
                client_id: DEFAULT_CLIENT_ID.into(),
                redirect_uris: (1717..=1726)
                    .flat_map(|p| {
                        [format!("http://localhost:{p}/OauthRedirect"), format!("http://127.0.0.1:{p}/OauthRedirect")]
                    })
                    .collect(),
            }],
            settings: Settings::default(),
            tls: None,
        }
    }
}

/// Behaviour that tests and scripts can change at run time through `PATCH /_sim/settings`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Genesys access token lifetime (the OAuth client's setting: 300 to 172800 s).
    pub genesys_token_lifetime_secs: u64,
    /// Salesforce session lifetime; token responses do not say it, a 401 does.
    pub salesforce_session_secs: u64,
    /// Each Salesforce refresh returns a new refresh token and invalidates the old one.
    pub salesforce_refresh_rotation: bool,
    /// The org's rolling daily API allocation.
    pub salesforce_daily_api_max: u64,
    /// Seconds before a record created through the API becomes visible to SOSL (SOQL sees it at once).
    pub salesforce_index_delay_secs: u64,
    /// Genesys requests allowed per token per minute before 429.
    pub genesys_rate_limit_per_minute: u32,
    /// Seconds between heartbeats on the notification socket.
    pub heartbeat_secs: f64,
    /// Milliseconds between `v2.system.socket_closing` and the socket actually closing.
    pub socket_closing_grace_ms: u64,
    /// Channel lifetime; re-subscribing extends it.
    pub channel_lifetime_secs: u64,
    /// Realistic oddities of the conversation feed.
    pub quirks: Quirks,
    /// Validation rules that make writes fail per record.
    pub validation_rules: Vec<ValidationRule>,
    /// Permissions the agents' role lacks (e.g. `conversation:participant:wrapup`): requests that need
    /// one are refused with 403.
    pub genesys_denied_permissions: Vec<String>,
    /// The org refuses participant attribute writes from the agents' clients (403).
    pub genesys_attribute_writes_refused: bool,
    /// How long after a change the analytics details query shows it (its data latency, in the
    /// simulator's clock).
    pub analytics_latency_ms: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            genesys_token_lifetime_secs: 86_400,
            salesforce_session_secs: 7_200,
            salesforce_refresh_rotation: false,
            salesforce_daily_api_max: 100_000,
            salesforce_index_delay_secs: 0,
            genesys_rate_limit_per_minute: 300,
            heartbeat_secs: 30.0,
            socket_closing_grace_ms: 60_000,
            channel_lifetime_secs: 86_400,
            quirks: Quirks::default(),
            validation_rules: Vec::new(),
            genesys_denied_permissions: Vec::new(),
            genesys_attribute_writes_refused: false,
            analytics_latency_ms: 1_000,
        }
    }
}

/// Oddities the real feed shows, on by default.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Quirks {
    /// Share of snapshots sent twice.
    pub repeat_rate: f64,
    /// Share of calls that first alert another agent participant of the same user, which times out.
    pub timed_out_agent_rate: f64,
}

impl Default for Quirks {
    fn default() -> Self {
        Quirks { repeat_rate: 0.2, timed_out_agent_rate: 0.1 }
    }
}

/// A switchable Salesforce validation rule: a write of `object` fails with
/// `FIELD_CUSTOM_VALIDATION_EXCEPTION` when the condition holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidationRule {
    /// The sObject, e.g. `Disposition_Log__c`.
    pub object: String,
    /// The field the rule looks at.
    pub field: String,
    /// `required` (fails when the field is missing or blank) or `reject_value` (fails when it equals `value`)
    /// or `reject_containing` (fails when it contains `value`).
    pub when: RuleCondition,
    /// The value for `reject_value` / `reject_containing`.
    #[serde(default)]
    pub value: Option<String>,
    /// Salesforce's message, as an admin would have written it.
    #[serde(default = "default_rule_message")]
    pub message: String,
}

fn default_rule_message() -> String {
    "This record failed a validation rule.".into()
}

/// When a [`ValidationRule`] fires.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RuleCondition {
    /// The field is missing or blank.
    Required,
    /// The field equals the value.
    RejectValue,
    /// The field contains the value.
    RejectContaining,
}
