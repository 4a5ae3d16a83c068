//! Pieces every listener shares: which service a request reached, the error bodies of each cloud,
//! bearer tokens, and the per-connection abort switch used to simulate a reset after the write.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::Arc;
use tokio::sync::Notify;

/// The six listeners.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Service {
    /// Genesys REST.
    GenesysApi,
    /// Genesys OAuth.
    GenesysLogin,
    /// Genesys notification WebSocket.
    GenesysStreaming,
    /// Salesforce instance.
    Salesforce,
    /// Salesforce OAuth.
    SalesforceLogin,
    /// The `/_sim/` API.
    Control,
}

impl Service {
    /// Every service, in the order of the start-up line.
    pub const ALL: [Service; 6] = [
        Service::GenesysApi,
        Service::GenesysLogin,
        Service::GenesysStreaming,
        Service::Salesforce,
        Service::SalesforceLogin,
        Service::Control,
    ];

    /// The key used in the start-up line and in stats.
    pub fn key(self) -> &'static str {
        match self {
            Service::GenesysApi => "genesys_api",
            Service::GenesysLogin => "genesys_login",
            Service::GenesysStreaming => "genesys_streaming",
            Service::Salesforce => "salesforce",
            Service::SalesforceLogin => "salesforce_login",
            Service::Control => "control",
        }
    }

    /// True for the Genesys side.
    pub fn is_genesys(self) -> bool {
        matches!(self, Service::GenesysApi | Service::GenesysLogin | Service::GenesysStreaming)
    }
}

/// Lets a handler or middleware drop the TCP connection it arrived on.
#[derive(Clone, Debug)]
pub struct ConnAbort(pub Arc<Notify>);

/// A Genesys error body `{message, code, status, contextId, details, errors}`.
pub fn genesys_error(status: StatusCode, code: &str, message: &str) -> Response {
    let context = correlation_id();
    let body = json!({
        "message": message,
        "code": code,
        "status": status.as_u16(),
        "contextId": context,
        "details": [],
        "errors": [],
    });
    (status, axum::Json(body)).into_response()
}

/// The documented Genesys 429 with `Retry-After`.
pub fn genesys_rate_limited(retry_after_secs: u64) -> Response {
    let mut r = genesys_error(
        StatusCode::TOO_MANY_REQUESTS,
        "too.many.requests.retry.after",
        &format!("Rate limit exceeded the maximum. Retry the request in [{retry_after_secs}] seconds"),
    );
    r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
    r
}

/// A Salesforce REST error: an array of `{message, errorCode}`.
pub fn sf_error(status: StatusCode, error_code: &str, message: &str) -> Response {
    (status, axum::Json(json!([{ "message": message, "errorCode": error_code }]))).into_response()
}

/// A Salesforce REST error naming fields.
pub fn sf_error_fields(status: StatusCode, error_code: &str, message: &str, fields: &[&str]) -> Response {
    (status, axum::Json(json!([{ "message": message, "errorCode": error_code, "fields": fields }]))).into_response()
}

/// An OAuth 2.0 error body, as both clouds' token endpoints answer.
pub fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    (status, axum::Json(json!({ "error": error, "error_description": description }))).into_response()
}

/// A small HTML page (authorize errors are shown to a person in a browser, never redirected).
pub fn html_page(status: StatusCode, title: &str, text: &str) -> Response {
    let body = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title></head><body><h1>{t}</h1><p>{x}</p></body></html>",
        t = html_escape(title),
        x = html_escape(text)
    );
    (status, [(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

/// Escapes text for HTML.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The bearer token of a request, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token.trim()).filter(|t| !t.is_empty())
}

/// A fresh correlation id (not seeded: it only labels traffic).
pub fn correlation_id() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static SEQ: AtomicU64 = AtomicU64::new(1);
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        n.wrapping_mul(2_654_435_761) as u32,
        n & 0xffff,
        n & 0xfff,
        (n >> 12) & 0xfff,
        n
    )
}
