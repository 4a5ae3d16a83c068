//! PKCE (RFC 7636) checks shared by both clouds' token endpoints, and the redirect back to the client.

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
