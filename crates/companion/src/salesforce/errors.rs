//! Salesforce failures, classified where they are understood: retry it, sign in again, slow down, or
//! needs a person.

use serde::Serialize;
use std::time::Duration;

/// What to do about a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SfErrorKind {
    /// 5xx, timeouts, resets, 429, concurrent-request limits: try again with back-off.
    Transient,
    /// The session expired or was revoked: refresh once, else the agent signs in again.
    Session,
    /// The org's daily API allocation is spent: long back-off, tell someone.
    Budget,
    /// Bad data or org configuration (validation, unknown field, API disabled): a person must act.
    Permanent,
}

/// A failed Salesforce call.
#[derive(Debug, Clone, thiserror::Error, Serialize)]
#[error("{message} ({code})")]
pub struct SfError {
    pub kind: SfErrorKind,
    /// HTTP status, when there was a response.
    pub status: Option<u16>,
    /// Salesforce's `errorCode`, or a code of ours for network failures.
    pub code: String,
    /// Salesforce's own message.
    pub message: String,
    /// Retry-After, when given.
    #[serde(skip)]
    pub retry_after: Option<Duration>,
}

impl SfError {
    /// A failure before any response.
    pub fn network(e: reqwest::Error) -> SfError {
        let code = if e.is_timeout() { "TIMEOUT" } else { "NETWORK" };
        SfError {
            kind: SfErrorKind::Transient,
            status: None,
            code: code.into(),
            // Without the URL: a search's URL carries the number or the agent's search text.
            message: format!("could not reach Salesforce: {}", crate::net::explain(&e.without_url())),
            retry_after: None,
        }
    }

    /// A response we cannot read.
    pub fn unexpected(message: String) -> SfError {
        SfError {
            kind: SfErrorKind::Transient,
            status: None,
            code: "UNEXPECTED_RESPONSE".into(),
            message,
            retry_after: None,
        }
    }

    /// Classifies an error response from its status and body.
    pub fn from_response(status: u16, retry_after: Option<Duration>, body: &[u8]) -> SfError {
        let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
        let first =
            parsed.as_ref().and_then(|v| v.as_array().and_then(|a| a.first()).cloned().or_else(|| Some(v.clone())));
        let code = first.as_ref().and_then(|f| f.get("errorCode").and_then(|c| c.as_str())).unwrap_or("").to_string();
        let message = first
            .as_ref()
            .and_then(|f| f.get("message").and_then(|c| c.as_str()))
            .map(str::to_string)
            .unwrap_or_else(|| format!("Salesforce answered HTTP {status}"));
        let kind = match (status, code.as_str()) {
            (401, _) if message.contains("not valid for use with the REST API") => SfErrorKind::Permanent,
            (401, _) => SfErrorKind::Session,
            (403, "REQUEST_LIMIT_EXCEEDED") if message.starts_with("ConcurrentRequests") => SfErrorKind::Transient,
            (403, "REQUEST_LIMIT_EXCEEDED") => SfErrorKind::Budget,
            (429, _) | (500..=599, _) => SfErrorKind::Transient,
            _ => SfErrorKind::Permanent,
        };
        let code = if code.is_empty() { format!("HTTP_{status}") } else { code };
        SfError { kind, status: Some(status), code, message, retry_after }
    }
}

/// `Retry-After` in seconds.
pub fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// `api-usage=used/max`, tolerant of other `key=value` parts.
pub fn parse_limit_info(v: &str) -> Option<(u64, u64)> {
    v.split([';', ',']).find_map(|part| {
        let (k, val) = part.trim().split_once('=')?;
        if k.trim() != "api-usage" {
            return None;
        }
        let (u, m) = val.trim().split_once('/')?;
        Some((u.trim().parse().ok()?, m.trim().parse().ok()?))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_the_documented_failures() {
        let k = |s: u16, body: &str| SfError::from_response(s, None, body.as_bytes()).kind;
        assert_eq!(
            k(401, r#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#),
            SfErrorKind::Session
        );
        assert_eq!(
            k(
                401,
                r#"[{"message":"This session is not valid for use with the REST API","errorCode":"INVALID_SESSION_ID"}]"#
            ),
            SfErrorKind::Permanent
        );
        assert_eq!(
            k(403, r#"[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#),
            SfErrorKind::Budget
        );
        assert_eq!(
            k(
                403,
                r#"[{"message":"ConcurrentRequests (Concurrent API Requests) Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#
            ),
            SfErrorKind::Transient
        );
        assert_eq!(k(503, "<html>maintenance</html>"), SfErrorKind::Transient);
        assert_eq!(k(429, ""), SfErrorKind::Transient);
        let e = SfError::from_response(400, None, br#"[{"message":"bad","errorCode":"MALFORMED_SEARCH"}]"#);
        assert_eq!((e.kind, e.code.as_str(), e.message.as_str()), (SfErrorKind::Permanent, "MALFORMED_SEARCH", "bad"));
    }

    #[test]
    fn limit_info_is_parsed_tolerantly() {
        assert_eq!(parse_limit_info("api-usage=25/15000"), Some((25, 15000)));
        assert_eq!(parse_limit_info("per-app-api-usage=2/250(appName=x); api-usage=18/5000"), Some((18, 5000)));
        assert_eq!(parse_limit_info("garbage"), None);
    }
}
