//! The Salesforce side: OAuth on the login host, REST on the instance (search, query, upsert,
//! collections, limits), with the org's daily API budget and `Sforce-Limit-Info` on every response.

pub mod api;
pub mod oauth;
pub mod schema;
pub mod soql;
pub mod sosl;
pub mod store;

use crate::data::Population;
use crate::http::{bearer, sf_error};
use crate::ids;
use crate::state::Shared;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{Map, Value, json};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use store::RecordStore;

/// An access token (a session).
#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: String,
    pub issued_ms: i64,
    pub revoked: bool,
    /// Set by the token-expiry fault.
    pub forced_expired: bool,
    /// The refresh token it came from, so revoking that revokes this.
    pub refresh: Option<String>,
}

/// A refresh token.
#[derive(Debug, Clone)]
pub struct RefreshToken {
    pub user_id: String,
    pub client_id: String,
    pub revoked: bool,
}

/// An authorization code waiting for its PKCE exchange.
#[derive(Debug, Clone)]
pub struct AuthCode {
    pub client_id: String,
    pub redirect_uri: String,
    pub challenge: String,
    pub user_id: String,
    pub expires_ms: i64,
}

/// Everything the Salesforce side holds.
pub struct SalesforceState {
    pub org_id: String,
    pub user_id: String,
    pub store: RecordStore,
    pub sessions: HashMap<String, Session>,
    pub refresh_tokens: HashMap<String, RefreshToken>,
    pub codes: HashMap<String, AuthCode>,
    /// API requests counted against the daily allocation.
    pub api_used: AtomicU64,
}

impl SalesforceState {
    /// The org with the seeded accounts, contacts and leads.
    pub fn seeded(pop: &Population) -> SalesforceState {
        let mut store = RecordStore::default();
        let account = schema::object("Account").expect("schema");
        let contact = schema::object("Contact").expect("schema");
        let lead = schema::object("Lead").expect("schema");
        for a in &pop.accounts {
            store.insert_seeded(account, a.fields());
        }
        for c in &pop.contacts {
            store.insert_seeded(contact, c.fields());
        }
        for l in &pop.leads {
            store.insert_seeded(lead, l.fields());
        }
        store.set_sequence(pop.next_sequence());
        SalesforceState {
            org_id: ids::salesforce_id("00D", 7_000_001),
            user_id: ids::salesforce_id("005", 7_000_001),
            store,
            sessions: HashMap::new(),
            refresh_tokens: HashMap::new(),
            codes: HashMap::new(),
            api_used: AtomicU64::new(0),
        }
    }

    /// A new session token in the real shape (`<org id>!<opaque>`).
    pub fn issue_session(&mut self, token_suffix: String, user_id: &str, now: i64, refresh: Option<String>) -> String {
        let token = format!("{}!{token_suffix}", &self.org_id[..15]);
        self.sessions.insert(
            token.clone(),
            Session { user_id: user_id.into(), issued_ms: now, revoked: false, forced_expired: false, refresh },
        );
        token
    }
}

/// A data request that passed the gate, and the API version its path named.
#[derive(Debug, Clone)]
pub struct SfCaller {
    pub version: String,
}

/// True for `vNN.N`.
pub fn valid_version(v: &str) -> bool {
    v.strip_prefix('v').and_then(|r| r.split_once('.')).is_some_and(|(a, b)| {
        !a.is_empty() && !b.is_empty() && a.bytes().all(|c| c.is_ascii_digit()) && b.bytes().all(|c| c.is_ascii_digit())
    })
}

/// The `INVALID_SESSION_ID` 401 with `WWW-Authenticate: Token`.
pub fn invalid_session(message: &str) -> Response {
    let mut r = sf_error(StatusCode::UNAUTHORIZED, "INVALID_SESSION_ID", message);
    r.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Token"));
    r
}

/// Middleware for `/services/data/vNN.N/…`: version check, session check, the daily budget, and
/// `Sforce-Limit-Info` on every authenticated response.
pub(crate) async fn data_gate(State(state): State<Shared>, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let Some(rest) = path.strip_prefix("/services/data/") else {
        return next.run(req).await;
    };
    let version = rest.split('/').next().unwrap_or("").to_string();
    if !valid_version(&version) {
        return sf_error(StatusCode::NOT_FOUND, "NOT_FOUND", "The requested resource does not exist");
    }
    let now = state.clock.now_ms();
    let settings = state.settings();
    let max = settings.salesforce_daily_api_max;
    let caller = {
        let sf = state.sf_read();
        let Some(token) = bearer(req.headers()) else {
            return invalid_session("Session expired or invalid");
        };
        match sf.sessions.get(token) {
            Some(s)
                if !s.revoked
                    && !s.forced_expired
                    && now < s.issued_ms + settings.salesforce_session_secs as i64 * 1000 =>
            {
                SfCaller { version: version.clone() }
            }
            _ => return invalid_session("Session expired or invalid"),
        }
    };
    let used = {
        let sf = state.sf_read();
        let prev = sf.api_used.load(Ordering::Relaxed);
        if prev >= max {
            let mut r = sf_error(StatusCode::FORBIDDEN, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.");
            add_limit_info(&mut r, prev, max);
            return r;
        }
        sf.api_used.fetch_add(1, Ordering::Relaxed) + 1
    };
    req.extensions_mut().insert(caller);
    let mut resp = next.run(req).await;
    add_limit_info(&mut resp, used, max);
    resp
}

fn add_limit_info(resp: &mut Response, used: u64, max: u64) {
    if let Ok(v) = HeaderValue::from_str(&format!("api-usage={used}/{max}")) {
        resp.headers_mut().insert("Sforce-Limit-Info", v);
    }
}

/// Expires a Salesforce session at once (fault injection).
pub(crate) fn expire_session(state: &Shared, token: &str) {
    if let Some(s) = state.sf_write().sessions.get_mut(token) {
        s.forced_expired = true;
    }
}

/// The records of an object as the control API shows them.
pub(crate) fn dump(state: &Shared, object: &str, filters: &HashMap<String, String>) -> Option<Value> {
    let obj = schema::object(object)?;
    let sf = state.sf_read();
    let records: Vec<Value> = sf
        .store
        .table(obj)
        .map(|t| {
            t.iter()
                .filter(|r| {
                    filters.iter().all(|(k, v)| {
                        r.fields.get(k).is_some_and(|x| match x {
                            Value::String(s) => s == v,
                            other => serde_json::from_str::<Value>(v).is_ok_and(|p| &p == other),
                        })
                    })
                })
                .map(|r| {
                    let mut m: Map<String, Value> = Map::new();
                    m.insert("attributes".into(), json!({"type": obj.name}));
                    m.extend(r.fields.clone());
                    Value::Object(m)
                })
                .collect()
        })
        .unwrap_or_default();
    Some(json!({"totalSize": records.len(), "records": records}))
}
