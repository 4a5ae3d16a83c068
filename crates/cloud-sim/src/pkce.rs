//! PKCE (RFC 7636) checks shared by both clouds' token endpoints, and the redirect back to the client.

use crate::config::OAuthClient;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// The S256 challenge of a verifier.
pub fn s256_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A verifier is 43–128 characters of `[A-Za-z0-9-._~]`.
pub fn is_valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b))
}

/// A challenge is the 43-character base64url of a SHA-256.
pub fn is_valid_challenge(c: &str) -> bool {
    c.len() == 43 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Why a code exchange was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PkceError {
    /// No verifier, or not of the allowed shape.
    #[error("code_verifier is missing or malformed")]
    Malformed,
    /// The verifier does not hash to the challenge of the authorization request.
    #[error("invalid code verifier")]
    Mismatch,
}

/// Checks a verifier against the stored challenge.
pub fn verify(challenge: &str, verifier: Option<&str>) -> Result<(), PkceError> {
    let v = verifier.filter(|v| is_valid_verifier(v)).ok_or(PkceError::Malformed)?;
    if s256_challenge(v) == challenge { Ok(()) } else { Err(PkceError::Mismatch) }
}

/// The checked parts of an authorization request.
#[derive(Debug, Clone, Copy)]
pub struct Authorize<'a> {
    pub client_id: &'a str,
    pub redirect_uri: &'a str,
    pub challenge: &'a str,
    state: &'a str,
}

/// The query of an authorization request, as both clouds take it.
#[derive(Debug, serde::Deserialize)]
pub struct AuthorizeQuery {
    pub client_id: Option<String>,
    pub response_type: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub state: Option<String>,
    /// Simulator extension: which seeded user "signs in".
    pub login_hint: Option<String>,
}

impl AuthorizeQuery {
    /// Checks the client and its exact redirect URI first (a failure is shown in the browser, never
    /// redirected), then the response type and the PKCE challenge (a failure goes back to the client
    /// with `error` and `state`). `method_required`: Genesys wants `code_challenge_method=S256`
    /// spelled out; Salesforce assumes it.
    pub fn check<'a>(&'a self, clients: &[OAuthClient], method_required: bool) -> Result<Authorize<'a>, Response> {
        let bad = |text: &str| crate::http::html_page(StatusCode::BAD_REQUEST, "Invalid authorization request", text);
        let client_id = self.client_id.as_deref().ok_or_else(|| bad("client_id is required."))?;
        let client =
            clients.iter().find(|c| c.client_id == client_id).ok_or_else(|| bad("client identifier invalid"))?;
        let redirect_uri = self
            .redirect_uri
            .as_deref()
            .filter(|r| client.redirect_uris.iter().any(|u| u == r))
            .ok_or_else(|| bad("redirect_uri must match the OAuth client's configuration."))?;
        let auth = Authorize { client_id, redirect_uri, challenge: "", state: self.state.as_deref().unwrap_or("") };
        if self.response_type.as_deref() != Some("code") {
            return Err(auth.error("unsupported_response_type", "response_type must be code"));
        }
        let challenge = self
            .code_challenge
            .as_deref()
            .filter(|c| is_valid_challenge(c))
            .ok_or_else(|| auth.error("invalid_request", "code_challenge is required (PKCE S256)"))?;
        match self.code_challenge_method.as_deref() {
            Some("S256") => {}
            None if !method_required => {}
            _ => return Err(auth.error("invalid_request", "code_challenge_method must be S256")),
        }
        Ok(Authorize { challenge, ..auth })
    }
}

impl Authorize<'_> {
    /// Back to the client with an error.
    pub fn error(&self, error: &str, description: &str) -> Response {
        let mut pairs = vec![("error", error), ("error_description", description)];
        if !self.state.is_empty() {
            pairs.push(("state", self.state));
        }
        redirect_with(self.redirect_uri, &pairs)
    }

    /// Back to the client with the code.
    pub fn approve(&self, code: &str) -> Response {
        let mut pairs = vec![("code", code)];
        if !self.state.is_empty() {
            pairs.push(("state", self.state));
        }
        redirect_with(self.redirect_uri, &pairs)
    }
}

/// A 302 to `redirect_uri` with the given query pairs appended.
pub fn redirect_with(redirect_uri: &str, pairs: &[(&str, &str)]) -> Response {
    let Ok(mut url) = reqwest::Url::parse(redirect_uri) else {
        return crate::http::html_page(
            StatusCode::BAD_REQUEST,
            "Invalid redirect",
            "The redirect_uri is not a valid URL.",
        );
    };
    {
        let mut q = url.query_pairs_mut();
        for (k, v) in pairs {
            q.append_pair(k, v);
        }
    }
    (StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b() {
        assert_eq!(
            s256_challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn verifier_rules() {
        assert_eq!(verify("x", None), Err(PkceError::Malformed));
        assert_eq!(verify("x", Some("short")), Err(PkceError::Malformed));
        let v = "a".repeat(43);
        assert_eq!(verify(&s256_challenge(&v), Some(&v)), Ok(()));
        assert_eq!(verify(&s256_challenge(&v), Some(&"b".repeat(43))), Err(PkceError::Mismatch));
    }
}
