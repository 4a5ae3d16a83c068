//! Salesforce REST as the engine uses it: the phone search behind the screen pop, with every failure
//! classified where it is understood.

pub mod errors;
pub mod ids;
pub mod links;
pub mod query;

use crate::config::{SalesforceConfig, SearchObject};
use errors::SfError;
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// The org's API usage as the last `Sforce-Limit-Info` header said.
#[derive(Debug, Default)]
pub struct ApiUsage {
    pub used: AtomicU64,
    pub max: AtomicU64,
}

/// What a refresh needs: the token endpoint, the app, and the refresh token (replaced at once when
/// the org rotates it, and handed to `persist` so the keychain has the new one before it is used).
pub struct Refresh {
    pub token_url: String,
    pub client_id: String,
    pub refresh_token: std::sync::Mutex<String>,
    pub persist: Option<PersistRefreshToken>,
}

/// Called with a rotated refresh token, before it is used.
pub type PersistRefreshToken = std::sync::Arc<dyn Fn(&str) + Send + Sync>;

impl std::fmt::Debug for Refresh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Refresh")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// The Salesforce session: the REST client, the org's instance and the sign-in it carries. There is
/// one per desk (or engine run); a new sign-in changes it in place, so the resolver, the pusher and
/// the desk's searches all use it at once. Its `Debug` leaves the tokens out.
pub struct SalesforceClient {
    http: reqwest::Client,
    instance_url: RwLock<String>,
    version: String,
    token: RwLock<String>,
    /// Usage seen on responses.
    pub usage: ApiUsage,
    /// Requests sent.
    pub requests: AtomicU64,
    refresh: RwLock<Option<Arc<Refresh>>>,
}

impl std::fmt::Debug for SalesforceClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SalesforceClient")
            .field("instance_url", &self.instance_url())
            .field("version", &self.version)
            .field("signed_in", &self.is_signed_in())
            .finish_non_exhaustive()
    }
}

impl SalesforceClient {
    /// A client for an instance with an access token.
    pub fn new(http: reqwest::Client, instance_url: &str, cfg: &SalesforceConfig, token: String) -> SalesforceClient {
        SalesforceClient {
            http,
            instance_url: RwLock::new(instance_url.trim_end_matches('/').to_string()),
            version: format!("v{}", cfg.api_version),
            token: RwLock::new(token),
            usage: ApiUsage::default(),
            requests: AtomicU64::new(0),
            refresh: RwLock::new(None),
        }
    }

    /// Lets the client refresh its session with a refresh token.
    pub fn with_refresh(self, refresh: Refresh) -> SalesforceClient {
        *self.refresh.write().unwrap_or_else(|e| e.into_inner()) = Some(Arc::new(refresh));
        self
    }

    /// A sign-in: the org's instance, the access token, and the refresh token when there is one.
    pub fn signed_in(&self, instance_url: &str, token: String, refresh: Option<Refresh>) {
        *self.instance_url.write().unwrap_or_else(|e| e.into_inner()) = instance_url.trim_end_matches('/').to_string();
        self.set_token(token);
        *self.refresh.write().unwrap_or_else(|e| e.into_inner()) = refresh.map(Arc::new);
    }

    /// Forgets the sign-in here (revocation is the caller's).
    pub fn signed_out(&self) {
        self.set_token(String::new());
        *self.refresh.write().unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// The refresh token, if the session has one (to revoke it).
    pub fn refresh_token(&self) -> Option<String> {
        let r = self.refresh.read().unwrap_or_else(|e| e.into_inner()).clone();
        r.map(|r| r.refresh_token.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }

    /// Whether the session holds a token.
    pub fn is_signed_in(&self) -> bool {
        !self.token.read().unwrap_or_else(|e| e.into_inner()).is_empty()
    }

    /// The current access token (to revoke it).
    pub(crate) fn access_token(&self) -> String {
        self.token.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Gets a new access token with the refresh token (once); the rotated refresh token, if any,
    /// replaces the old one at once. A refusal is a `Session` error: the agent signs in again.
    pub async fn refresh_session(&self) -> Result<(), SfError> {
        let refresh = self.refresh.read().unwrap_or_else(|e| e.into_inner()).clone();
        let Some(r) = refresh else {
            return Err(SfError {
                kind: errors::SfErrorKind::Session,
                status: None,
                code: "NO_REFRESH_TOKEN".into(),
                message: "sign in to Salesforce again".into(),
                retry_after: None,
            });
        };
        let refresh_token = r.refresh_token.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.as_str()),
            ("client_id", r.client_id.as_str()),
        ];
        let resp = self
            .http
            .post(&r.token_url)
            .form(&form)
            .timeout(Duration::from_secs(15))
            .send()
            .await
            .map_err(SfError::network)?;
        let status = resp.status().as_u16();
        let v: Value = resp.json().await.unwrap_or(Value::Null);
        match (status, v.get("access_token").and_then(Value::as_str)) {
            (200, Some(token)) => {
                self.set_token(token.to_string());
                if let Some(rotated) = v.get("refresh_token").and_then(Value::as_str) {
                    *r.refresh_token.lock().unwrap_or_else(|e| e.into_inner()) = rotated.to_string();
                    if let Some(persist) = &r.persist {
                        persist(rotated);
                    }
                }
                Ok(())
            }
            (400 | 401, _) => Err(SfError {
                kind: errors::SfErrorKind::Session,
                status: Some(status),
                code: v.get("error").and_then(Value::as_str).unwrap_or("invalid_grant").to_string(),
                message: v
                    .get("error_description")
                    .and_then(Value::as_str)
                    .unwrap_or("the refresh was refused")
                    .to_string(),
                retry_after: None,
            }),
            // The login host failing is not a refusal: try again later.
            _ => Err(SfError::from_response(status, None, v.to_string().as_bytes())),
        }
    }

    /// Upserts up to 200 records of one object on an external-id field in one call; returns the
    /// per-record results, in order.
    pub async fn upsert_collection(
        &self,
        object: &str,
        external_id_field: &str,
        records: Vec<Value>,
        timeout: Duration,
    ) -> Result<Vec<Value>, SfError> {
        let url = format!(
            "{}/services/data/{}/composite/sobjects/{object}/{external_id_field}",
            self.instance_url(),
            self.version
        );
        let body = serde_json::json!({"allOrNone": false, "records": records});
        let bytes = self.send(self.http.patch(url).json(&body), timeout).await?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Array(results)) if results.len() == body["records"].as_array().map_or(0, Vec::len) => Ok(results),
            _ => Err(SfError::unexpected(
                "Salesforce answered the batch with something other than one result per record".into(),
            )),
        }
    }

    /// The org's API usage last seen: (used, max).
    pub fn api_usage(&self) -> (u64, u64) {
        (self.usage.used.load(Ordering::Relaxed), self.usage.max.load(Ordering::Relaxed))
    }

    /// Replaces the access token (after a refresh or a new sign-in).
    pub fn set_token(&self, token: String) {
        *self.token.write().unwrap_or_else(|e| e.into_inner()) = token;
    }

    /// The instance URL.
    pub fn instance_url(&self) -> String {
        self.instance_url.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn note_usage(&self, headers: &reqwest::header::HeaderMap) {
        if let Some((used, max)) =
            headers.get("sforce-limit-info").and_then(|v| v.to_str().ok()).and_then(errors::parse_limit_info)
        {
            self.usage.used.store(used, Ordering::Relaxed);
            self.usage.max.store(max, Ordering::Relaxed);
        }
    }

    /// GETs a data path (`/search/?q=…`) and returns its JSON.
    async fn get(&self, path: &str, query: &[(&str, &str)], timeout: Duration) -> Result<Value, SfError> {
        let url = format!("{}/services/data/{}{path}", self.instance_url(), self.version);
        let bytes = self.send(self.http.get(url).query(query), timeout).await?;
        serde_json::from_slice(&bytes)
            .map_err(|e| SfError::unexpected(format!("Salesforce answered something that is not JSON: {e}")))
    }

    /// Sends a data request with the session, notes the org's API usage, and returns the body of a
    /// success or the classified failure.
    async fn send(&self, rb: reqwest::RequestBuilder, timeout: Duration) -> Result<Vec<u8>, SfError> {
        let token = self.token.read().unwrap_or_else(|e| e.into_inner()).clone();
        self.requests.fetch_add(1, Ordering::Relaxed);
        let resp = rb.bearer_auth(token).timeout(timeout).send().await.map_err(SfError::network)?;
        self.note_usage(resp.headers());
        let status = resp.status();
        let retry_after = errors::retry_after(resp.headers());
        // Cut off or oversized: unexpected, which is tried again (never parked).
        let bytes = crate::http_body::read_capped(resp, crate::http_body::MAX_CLOUD_BODY)
            .await
            .map_err(|e| SfError::unexpected(format!("Salesforce's answer could not be read: {e}")))?;
        if status.is_success() {
            Ok(bytes.to_vec())
        } else {
            Err(SfError::from_response(status.as_u16(), retry_after, &bytes))
        }
    }

    /// Runs a SOSL phone search for the given digits over the configured objects; returns the records.
    pub async fn search_phone(
        &self,
        digits: &str,
        objects: &[SearchObject],
        timeout: Duration,
    ) -> Result<Vec<Value>, SfError> {
        let q = query::phone_search(digits, objects);
        let v = self.get("/search/", &[("q", &q)], timeout).await?;
        Ok(v.get("searchRecords").and_then(Value::as_array).cloned().unwrap_or_default())
    }

    /// Runs a SOSL email search for an address over the configured objects; returns the records.
    pub async fn search_email(
        &self,
        address: &str,
        objects: &[SearchObject],
        timeout: Duration,
    ) -> Result<Vec<Value>, SfError> {
        let q = query::email_search(address, objects);
        let v = self.get("/search/", &[("q", &q)], timeout).await?;
        Ok(v.get("searchRecords").and_then(Value::as_array).cloned().unwrap_or_default())
    }

    /// Runs a SOSL search (text from [`query`]); returns the records.
    pub async fn search(&self, sosl: &str, timeout: Duration) -> Result<Vec<Value>, SfError> {
        let v = self.get("/search/", &[("q", sosl)], timeout).await?;
        Ok(v.get("searchRecords").and_then(Value::as_array).cloned().unwrap_or_default())
    }

    /// Runs a SOQL query (text from [`query`]); returns its records.
    pub async fn query(&self, soql: &str, timeout: Duration) -> Result<Vec<Value>, SfError> {
        let v = self.get("/query/", &[("q", soql)], timeout).await?;
        Ok(v.get("records").and_then(Value::as_array).cloned().unwrap_or_default())
    }
}
