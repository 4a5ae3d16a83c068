//! Salesforce REST as the engine uses it: the phone search behind the screen pop, with every failure
//! classified where it is understood.

pub mod errors;
pub mod ids;
pub mod sosl;

use crate::config::{SalesforceConfig, SearchObject};
use errors::SfError;
use serde_json::Value;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The org's API usage as the last `Sforce-Limit-Info` header said.
#[derive(Debug, Default)]
pub struct ApiUsage {
    pub used: AtomicU64,
    pub max: AtomicU64,
}

/// A signed-in Salesforce REST client.
#[derive(Debug)]
pub struct SalesforceClient {
    http: reqwest::Client,
    instance_url: String,
    version: String,
    token: RwLock<String>,
    /// Usage seen on responses.
    pub usage: ApiUsage,
    /// Requests sent.
    pub requests: AtomicU64,
}

impl SalesforceClient {
    /// A client for an instance with an access token.
    pub fn new(http: reqwest::Client, instance_url: &str, cfg: &SalesforceConfig, token: String) -> SalesforceClient {
        SalesforceClient {
            http,
            instance_url: instance_url.trim_end_matches('/').to_string(),
            version: format!("v{}", cfg.api_version),
            token: RwLock::new(token),
            usage: ApiUsage::default(),
            requests: AtomicU64::new(0),
        }
    }

    /// Replaces the access token (after a refresh or a new sign-in).
    pub fn set_token(&self, token: String) {
        *self.token.write().unwrap_or_else(|e| e.into_inner()) = token;
    }

    /// The instance URL.
    pub fn instance_url(&self) -> &str {
        &self.instance_url
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
        let url = format!("{}/services/data/{}{path}", self.instance_url, self.version);
        let token = self.token.read().unwrap_or_else(|e| e.into_inner()).clone();
        self.requests.fetch_add(1, Ordering::Relaxed);
        let resp = self
            .http
            .get(url)
            .query(query)
            .bearer_auth(token)
            .timeout(timeout)
            .send()
            .await
            .map_err(SfError::network)?;
        self.note_usage(resp.headers());
        let status = resp.status();
        let retry_after = errors::retry_after(resp.headers());
        let bytes = resp.bytes().await.map_err(SfError::network)?;
        if status.is_success() {
            serde_json::from_slice(&bytes)
                .map_err(|e| SfError::unexpected(format!("Salesforce answered something that is not JSON: {e}")))
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
        let q = sosl::phone_search(digits, objects);
        let v = self.get("/search/", &[("q", &q)], timeout).await?;
        Ok(v.get("searchRecords").and_then(Value::as_array).cloned().unwrap_or_default())
    }
}
