//! The Genesys Cloud side: OAuth on the login host, REST on the API host, notifications on the
//! streaming host, and the conversations the scenario driver places.

pub mod api;
pub mod conversation;
pub mod flow;
pub mod history;
pub mod notifications;
pub mod oauth;
pub mod participants;
pub mod snapshot;

use crate::http::{bearer, genesys_error, genesys_rate_limited};
use crate::ids;
use crate::state::{Shared, SimState};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use conversation::Conversation;
use notifications::Channel;
use rand::Rng;
use serde::Serialize;
use std::collections::HashMap;

/// A seeded agent.
#[derive(Debug, Clone, Serialize)]
pub struct GenesysUser {
    /// User id (UUID).
    pub id: String,
    /// Display name.
    pub name: String,
    /// E-mail, also the login hint.
    pub email: String,
    /// Station extension.
    pub extension: String,
}

/// A wrap-up code of the org.
#[derive(Debug, Clone, Serialize)]
pub struct WrapupCode {
    /// Code id (UUID).
    pub id: String,
    /// Display name.
    pub name: String,
}

/// An ACD queue.
#[derive(Debug, Clone, Serialize)]
pub struct Queue {
    /// Queue id.
    pub id: String,
    /// Queue name.
    pub name: String,
    /// The wrap-up codes its agents may use (ids).
    pub wrapup_code_ids: Vec<String>,
}

/// An issued access token.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub user_id: String,
    pub client_id: String,
    pub expires_ms: i64,
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

/// Requests seen in the current minute for one token.
#[derive(Debug, Clone, Copy)]
struct RateWindow {
    start_ms: i64,
    count: u32,
}

/// Everything the Genesys side holds.
pub struct GenesysState {
    pub org_id: String,
    pub users: Vec<GenesysUser>,
    pub wrapup_codes: Vec<WrapupCode>,
    pub queues: Vec<Queue>,
    pub tokens: HashMap<String, AccessToken>,
    pub codes: HashMap<String, AuthCode>,
    pub channels: Vec<Channel>,
    pub conversations: HashMap<String, Conversation>,
    /// Conversation ids in creation order.
    pub conversation_order: Vec<String>,
    rate: HashMap<String, RateWindow>,
    pub next_socket_id: u64,
}

const AGENTS: [(&str, &str); 6] = [
    ("Alex Morgan", "alex.morgan"),
    ("Priya Natarajan", "priya.natarajan"),
    ("Jonas Weber", "jonas.weber"),
    ("Chloé Martin", "chloe.martin"),
    ("Sam O'Neill", "sam.oneill"),
    ("Mia Chen", "mia.chen"),
];

/// Wrap-up codes of a typical contact center. The first four match the default
/// `Disposition_Code__c` picklist; the rest need mapping, as in a real org.
pub const WRAPUP_CODE_NAMES: [&str; 10] = [
    "Completed",
    "Pending Transfer",
    "Abandoned",
    "Failed",
    "Sale",
    "Callback Requested",
    "Billing Question",
    "Technical Support",
    "Complaint",
    "Wrong Number",
];

/// The seeded queues and the wrap-up codes each allows (Genesys assigns codes per queue).
const QUEUE_CODES: [(&str, &[&str]); 3] = [
    (
        "Customer Service",
        &[
            "Completed",
            "Pending Transfer",
            "Abandoned",
            "Failed",
            "Callback Requested",
            "Technical Support",
            "Complaint",
            "Wrong Number",
        ],
    ),
    ("Billing", &["Completed", "Pending Transfer", "Failed", "Billing Question", "Complaint"]),
    ("Sales", &["Completed", "Sale", "Pending Transfer", "Callback Requested", "Wrong Number"]),
];

impl GenesysState {
    /// The codes an agent of this queue may use; every code for an interaction no queue routed.
    pub fn codes_for_queue(&self, queue_id: Option<&str>) -> Vec<&WrapupCode> {
        match queue_id.and_then(|q| self.queues.iter().find(|x| x.id == q)) {
            Some(q) => self.wrapup_codes.iter().filter(|c| q.wrapup_code_ids.contains(&c.id)).collect(),
            None => self.wrapup_codes.iter().collect(),
        }
    }

    /// The seeded org: agents, queues and wrap-up codes.
    pub fn seeded(rng: &mut impl Rng) -> GenesysState {
        let org_id = ids::uuid(rng);
        let users = AGENTS
            .iter()
            .enumerate()
            .map(|(i, (name, login))| GenesysUser {
                id: ids::uuid(rng),
                name: (*name).into(),
                email: format!("{login}@example.com"),
                extension: format!("{}", 4101 + i),
            })
            .collect();
        let wrapup_codes: Vec<WrapupCode> =
            WRAPUP_CODE_NAMES.iter().map(|n| WrapupCode { id: ids::uuid(rng), name: (*n).into() }).collect();
        let ids_of = |names: &[&str]| -> Vec<String> {
            wrapup_codes.iter().filter(|c| names.contains(&c.name.as_str())).map(|c| c.id.clone()).collect()
        };
        let queues = QUEUE_CODES
            .iter()
            .map(|(n, codes)| Queue { id: ids::uuid(rng), name: (*n).into(), wrapup_code_ids: ids_of(codes) })
            .collect();
        GenesysState {
            org_id,
            users,
            wrapup_codes,
            queues,
            tokens: HashMap::new(),
            codes: HashMap::new(),
            channels: Vec::new(),
            conversations: HashMap::new(),
            conversation_order: Vec::new(),
            rate: HashMap::new(),
            next_socket_id: 1,
        }
    }

    /// The seeded agent after this one (id or e-mail): the default second agent of a transfer.
    pub fn next_user(&self, user: &str) -> &GenesysUser {
        let i = self.users.iter().position(|x| x.id == user || x.email == user).unwrap_or(0);
        &self.users[(i + 1) % self.users.len()]
    }

    /// A user by id.
    pub fn user(&self, id: &str) -> Option<&GenesysUser> {
        self.users.iter().find(|u| u.id == id)
    }

    /// Issues an access token for a user.
    pub fn issue_token(
        &mut self,
        rng: &mut impl Rng,
        user_id: &str,
        client_id: &str,
        now_ms: i64,
        lifetime_secs: u64,
    ) -> String {
        let token = ids::token(rng, 64);
        self.tokens.insert(
            token.clone(),
            AccessToken {
                user_id: user_id.into(),
                client_id: client_id.into(),
                expires_ms: now_ms + (lifetime_secs as i64) * 1000,
                revoked: false,
            },
        );
        token
    }
}

/// The caller of an authenticated Genesys request.
#[derive(Debug, Clone)]
pub struct Caller {
    pub token: String,
    pub user_id: String,
    pub client_id: String,
    pub expires_ms: i64,
}

/// Middleware for the API host: correlation and rate-limit headers, bearer check, the per-token
/// 300-per-minute budget. The authenticated caller goes into the request extensions.
pub(crate) async fn api_gate(State(state): State<Shared>, mut req: Request, next: Next) -> Response {
    let now = state.clock.now_ms();
    let allowed = state.settings().genesys_rate_limit_per_minute;
    let token = bearer(req.headers()).map(str::to_owned);
    let (outcome, count, reset_secs) = {
        let mut gs = state.genesys();
        let outcome = match token.as_deref() {
            None => Err(genesys_error(
                StatusCode::UNAUTHORIZED,
                "authentication.required",
                "No authentication bearer token specified in authorization header.",
            )),
            Some(t) => match gs.tokens.get(t) {
                Some(at) if !at.revoked && at.expires_ms > now => Ok(Caller {
                    token: t.to_owned(),
                    user_id: at.user_id.clone(),
                    client_id: at.client_id.clone(),
                    expires_ms: at.expires_ms,
                }),
                _ => Err(genesys_error(StatusCode::UNAUTHORIZED, "bad.credentials", "Invalid login credentials.")),
            },
        };
        let key = token.clone().unwrap_or_default();
        let w = gs.rate.entry(key).or_insert(RateWindow { start_ms: now, count: 0 });
        if now - w.start_ms >= 60_000 {
            *w = RateWindow { start_ms: now, count: 0 };
        }
        w.count += 1;
        let reset = ((w.start_ms + 60_000 - now).max(0) + 999) / 1000;
        (outcome, w.count, reset as u64)
    };
    let mut resp = match outcome {
        Err(r) => r,
        Ok(_) if count > allowed => genesys_rate_limited(reset_secs.max(1)),
        Ok(caller) => {
            req.extensions_mut().insert(caller);
            next.run(req).await
        }
    };
    add_inin_headers(&mut resp, count, allowed, reset_secs);
    resp
}

/// `ININ-Correlation-Id` and the `inin-ratelimit-*` headers.
pub(crate) fn add_inin_headers(resp: &mut Response, count: u32, allowed: u32, reset_secs: u64) {
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&crate::http::correlation_id()) {
        h.insert("ININ-Correlation-Id", v);
    }
    h.insert("inin-ratelimit-count", HeaderValue::from(count));
    h.insert("inin-ratelimit-allowed", HeaderValue::from(allowed));
    h.insert("inin-ratelimit-reset", HeaderValue::from(reset_secs));
}

/// Expires a Genesys token at once (fault injection).
pub(crate) fn expire_token(state: &SimState, token: &str) {
    let now = state.clock.now_ms();
    if let Some(t) = state.genesys().tokens.get_mut(token) {
        t.expires_ms = t.expires_ms.min(now);
    }
}
