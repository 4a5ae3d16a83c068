//! Genesys REST: who am I, notification channels and subscriptions, the active conversations for the
//! catch-up, wrap-up code names.

use super::model::Media;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

/// A failed Genesys call, classified.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GenesysError {
    /// 401: the token expired or was revoked. The agent must sign in again.
    #[error("Genesys Cloud no longer accepts the sign-in ({0}); sign in again")]
    Unauthorized(String),
    /// 403: the user lacks a permission.
    #[error("Genesys Cloud refused the request: {0}")]
    Forbidden(String),
    /// 429: slow down.
    #[error("Genesys Cloud asks to slow down (retry in {} s)", retry_after.as_secs())]
    RateLimited { retry_after: Duration },
    /// 5xx, timeouts, resets.
    #[error("Genesys Cloud is unreachable or failing: {0}")]
    Transient(String),
    /// A response we did not expect.
    #[error("unexpected answer from Genesys Cloud: {0}")]
    Unexpected(String),
}

impl GenesysError {
    /// True when only a new sign-in helps.
    pub fn needs_sign_in(&self) -> bool {
        matches!(self, GenesysError::Unauthorized(_) | GenesysError::Forbidden(_))
    }

    /// How long to wait before the next try, when the server said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            GenesysError::RateLimited { retry_after } => Some(*retry_after),
            _ => None,
        }
    }
}

/// A channel: `{connectUri, id, expires}`.
#[derive(Debug, Clone)]
pub struct Channel {
    pub id: String,
    pub connect_uri: String,
    /// Expiry, ms since the epoch (0 when unparsable).
    pub expires_ms: i64,
}

/// The Genesys session: the REST client and the sign-in it carries. There is one per desk (or
/// engine run); a new sign-in changes it in place, so every holder uses the new token at once.
pub struct GenesysClient {
    http: reqwest::Client,
    /// The network layer the notification socket opens through (the same as `http`'s).
    network: crate::net::Network,
    api: String,
    token: RwLock<String>,
    /// The signed-in agent's user id and name (empty while signed out).
    user_id: RwLock<String>,
    user_name: RwLock<String>,
    /// When the token expires (ms since the epoch; 0: not known).
    expires_at_ms: AtomicI64,
}

impl std::fmt::Debug for GenesysClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token stays out of every log line.
        f.debug_struct("GenesysClient")
            .field("api", &self.api)
            .field("user_id", &self.user_id())
            .finish_non_exhaustive()
    }
}

const TIMEOUT: Duration = Duration::from_secs(15);

impl GenesysClient {
    /// A client for an API base with an access token.
    pub fn new(network: &crate::net::Network, api_base: &str, token: String) -> GenesysClient {
        GenesysClient {
            http: network.http(),
            network: network.clone(),
            api: api_base.trim_end_matches('/').to_string(),
            token: RwLock::new(token),
            user_id: RwLock::new(String::new()),
            user_name: RwLock::new(String::new()),
            expires_at_ms: AtomicI64::new(0),
        }
    }

    /// The network layer (for the notification socket).
    pub fn network(&self) -> &crate::net::Network {
        &self.network
    }

    /// Replaces the token (a sign-in, or a sign-out with an empty one).
    pub fn set_token(&self, token: String) {
        *self.token.write().unwrap_or_else(|e| e.into_inner()) = token;
    }

    /// The current token.
    pub(crate) fn token(&self) -> String {
        self.token.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A sign-in that works: its token, whose it is (id and name), and until when.
    pub fn signed_in(&self, token: String, user_id: String, user_name: String, expires_at_ms: Option<i64>) {
        self.set_token(token);
        *self.user_id.write().unwrap_or_else(|e| e.into_inner()) = user_id;
        *self.user_name.write().unwrap_or_else(|e| e.into_inner()) = user_name;
        self.expires_at_ms.store(expires_at_ms.unwrap_or(0), Ordering::Relaxed);
    }

    /// Forgets the sign-in here (revocation is the caller's).
    pub fn signed_out(&self) {
        self.signed_in(String::new(), String::new(), String::new(), None);
    }

    /// The signed-in agent's name, as Genesys has it.
    pub fn user_name(&self) -> String {
        self.user_name.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The signed-in agent's user id.
    pub fn user_id(&self) -> Option<String> {
        Some(self.user_id.read().unwrap_or_else(|e| e.into_inner()).clone()).filter(|u| !u.is_empty())
    }

    /// When the sign-in runs out (ms since the epoch), if Genesys said.
    pub fn expires_at_ms(&self) -> Option<i64> {
        Some(self.expires_at_ms.load(Ordering::Relaxed)).filter(|e| *e > 0)
    }

    pub(super) async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, GenesysError> {
        let token = self.token.read().unwrap_or_else(|e| e.into_inner()).clone();
        let mut rb = self.http.request(method, format!("{}{path}", self.api)).bearer_auth(token).timeout(TIMEOUT);
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let resp = rb.send().await.map_err(|e| GenesysError::Transient(crate::net::explain(&e.without_url())))?;
        let status = resp.status().as_u16();
        let retry =
            resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
        let bytes = crate::http_body::read_capped(resp, crate::http_body::MAX_CLOUD_BODY)
            .await
            .map_err(|e| GenesysError::Transient(format!("the answer could not be read: {e}")))?;
        let message = || {
            serde_json::from_slice::<Value>(&bytes)
                .ok()
                .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_else(|| format!("HTTP {status}"))
        };
        match status {
            200..=299 if bytes.is_empty() => Ok(Value::Null),
            200..=299 => serde_json::from_slice(&bytes).map_err(|e| GenesysError::Unexpected(e.to_string())),
            401 => Err(GenesysError::Unauthorized(message())),
            403 => Err(GenesysError::Forbidden(message())),
            429 => Err(GenesysError::RateLimited { retry_after: Duration::from_secs(retry.unwrap_or(5)) }),
            500..=599 => Err(GenesysError::Transient(message())),
            _ => Err(GenesysError::Unexpected(message())),
        }
    }

    /// `GET /api/v2/users/me` → the user id.
    pub async fn me(&self) -> Result<(String, String), GenesysError> {
        let v = self.send(reqwest::Method::GET, "/api/v2/users/me", None).await?;
        let id =
            v.get("id").and_then(Value::as_str).ok_or_else(|| GenesysError::Unexpected("users/me has no id".into()))?;
        Ok((id.to_string(), v.get("name").and_then(Value::as_str).unwrap_or("").to_string()))
    }

    /// `DELETE /api/v2/tokens/me`: signs out (revokes the token).
    pub async fn sign_out(&self) -> Result<(), GenesysError> {
        self.send(reqwest::Method::DELETE, "/api/v2/tokens/me", None).await.map(|_| ())
    }

    /// Creates a notification channel.
    pub async fn create_channel(&self) -> Result<Channel, GenesysError> {
        let v = self.send(reqwest::Method::POST, "/api/v2/notifications/channels", None).await?;
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let (Some(id), Some(connect_uri)) = (s("id"), s("connectUri")) else {
            return Err(GenesysError::Unexpected("channel without id or connectUri".into()));
        };
        let expires_ms = s("expires")
            .and_then(|e| chrono::DateTime::parse_from_rfc3339(&e).ok())
            .map_or(0, |t| t.timestamp_millis());
        Ok(Channel { id, connect_uri, expires_ms })
    }

    /// Replaces the channel's topics; fails unless every topic is permitted.
    pub async fn subscribe(&self, channel_id: &str, topics: &[String]) -> Result<(), GenesysError> {
        let body = Value::Array(topics.iter().map(|t| json!({"id": t})).collect());
        let v = self
            .send(
                reqwest::Method::PUT,
                &format!("/api/v2/notifications/channels/{channel_id}/subscriptions"),
                Some(body),
            )
            .await?;
        let rejected: Vec<&str> = v
            .get("entities")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|e| e.get("state").and_then(Value::as_str).is_some_and(|s| s != "Permitted"))
            .filter_map(|e| e.get("id").and_then(Value::as_str))
            .collect();
        if rejected.is_empty() {
            Ok(())
        } else {
            Err(GenesysError::Forbidden(format!("topics rejected: {}", rejected.join(", "))))
        }
    }

    /// One conversation, ended or not; `None` when Genesys does not know it (or no longer shows it).
    pub async fn conversation(&self, id: &str) -> Result<Option<Value>, GenesysError> {
        if !is_path_id(id) {
            return Ok(None);
        }
        match self.send(reqwest::Method::GET, &format!("/api/v2/conversations/{id}"), None).await {
            Ok(v) => Ok(Some(v)),
            Err(GenesysError::Unexpected(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Merges string attributes into a participant of a conversation
    /// (`PATCH /api/v2/conversations/{media}/{cid}/participants/{pid}/attributes`; chats have no
    /// per-media variant and use `/api/v2/conversations/{cid}/participants/{pid}/attributes`).
    pub async fn write_attributes(
        &self,
        media: Media,
        conversation_id: &str,
        participant_id: &str,
        attributes: &BTreeMap<String, String>,
    ) -> Result<(), GenesysError> {
        if !is_path_id(conversation_id) || !is_path_id(participant_id) {
            return Err(GenesysError::Unexpected("not a Genesys conversation or participant id".into()));
        }
        let path = match media {
            Media::Chat | Media::Other => {
                format!("/api/v2/conversations/{conversation_id}/participants/{participant_id}/attributes")
            }
            _ => format!(
                "/api/v2/conversations/{}/{conversation_id}/participants/{participant_id}/attributes",
                media.path()
            ),
        };
        self.send(reqwest::Method::PATCH, &path, Some(json!({ "attributes": attributes }))).await.map(|_| ())
    }

    /// The wrap-up codes a participant may use (its queue's): (id, name). Needs no permission.
    pub async fn participant_wrapup_codes(
        &self,
        conversation_id: &str,
        participant_id: &str,
    ) -> Result<Vec<(String, String)>, GenesysError> {
        if !is_path_id(conversation_id) || !is_path_id(participant_id) {
            return Err(GenesysError::Unexpected("not a Genesys conversation or participant id".into()));
        }
        let path = format!("/api/v2/conversations/{conversation_id}/participants/{participant_id}/wrapupcodes");
        let v = self.send(reqwest::Method::GET, &path, None).await?;
        Ok(v.as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| Some((e.get("id")?.as_str()?.to_string(), e.get("name")?.as_str()?.to_string())))
            .collect())
    }

    /// Applies the agent's wrap-up to their communication
    /// (`POST /api/v2/conversations/{media}/{cid}/participants/{pid}/communications/{commId}/wrapup`,
    /// permission `conversation:participant:wrapup`).
    pub async fn apply_wrapup(&self, to: &WrapupTarget, code_id: &str, notes: &str) -> Result<(), GenesysError> {
        let ids = [&to.conversation_id, &to.participant_id, &to.communication_id];
        if !ids.iter().all(|i| is_path_id(i)) {
            return Err(GenesysError::Unexpected("not a Genesys conversation, participant or communication id".into()));
        }
        let path = format!(
            "/api/v2/conversations/{}/{}/participants/{}/communications/{}/wrapup",
            to.media.path(),
            to.conversation_id,
            to.participant_id,
            to.communication_id
        );
        self.send(reqwest::Method::POST, &path, Some(json!({"code": code_id, "notes": notes}))).await.map(|_| ())
    }

    /// Whether the signed-in user holds a permission in any division
    /// (`GET /api/v2/authorization/divisionspermitted/paged/me?permission=…`, needs no permission).
    pub async fn has_permission(&self, permission: &str) -> Result<bool, GenesysError> {
        if !permission.bytes().all(|b| b.is_ascii_alphanumeric() || b == b':' || b == b'_') {
            return Err(GenesysError::Unexpected("not a permission name".into()));
        }
        let path = format!("/api/v2/authorization/divisionspermitted/paged/me?permission={permission}&pageSize=1");
        let v = self.send(reqwest::Method::GET, &path, None).await?;
        Ok(v.get("entities").and_then(Value::as_array).is_some_and(|e| !e.is_empty()))
    }

    /// The org's wrap-up codes: (id, name).
    pub async fn wrapup_codes(&self) -> Result<Vec<(String, String)>, GenesysError> {
        let mut out = vec![];
        for page in 1..=20 {
            let v = self
                .send(
                    reqwest::Method::GET,
                    &format!("/api/v2/routing/wrapupcodes?pageSize=100&pageNumber={page}"),
                    None,
                )
                .await?;
            let entities = v.get("entities").and_then(Value::as_array).cloned().unwrap_or_default();
            out.extend(
                entities
                    .iter()
                    .filter_map(|e| Some((e.get("id")?.as_str()?.to_string(), e.get("name")?.as_str()?.to_string()))),
            );
            if entities.is_empty() || v.get("nextUri").and_then(Value::as_str).is_none() {
                break;
            }
        }
        Ok(out)
    }

    /// Every active conversation of the user (all pages).
    pub async fn active_conversations(&self) -> Result<Vec<Value>, GenesysError> {
        let mut out = vec![];
        for page in 1..=50 {
            let v = self
                .send(reqwest::Method::GET, &format!("/api/v2/conversations?pageSize=100&pageNumber={page}"), None)
                .await?;
            let entities = v.get("entities").and_then(Value::as_array).cloned().unwrap_or_default();
            let done = entities.is_empty() || v.get("nextUri").and_then(Value::as_str).is_none();
            out.extend(entities);
            if done {
                break;
            }
        }
        Ok(out)
    }
}

/// Where a segment's wrap-up is applied in Genesys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrapupTarget {
    pub media: Media,
    pub conversation_id: String,
    pub participant_id: String,
    pub communication_id: String,
}

/// Ids come from Genesys events; anything else is refused before it reaches a URL.
fn is_path_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}
