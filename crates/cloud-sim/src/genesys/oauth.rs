//! Genesys login host: `GET /oauth/authorize` and `POST /oauth/token` (authorization code + PKCE S256).
//! A PKCE client gets no refresh token, as in the real cloud.

use crate::http::{html_page, oauth_error};
use crate::ids;
use crate::pkce::{self, redirect_with};
use crate::state::Shared;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;

use super::AuthCode;

/// Query of the authorize request.
#[derive(Debug, Deserialize)]
pub struct AuthorizeQuery {
    client_id: Option<String>,
    response_type: Option<String>,
    redirect_uri: Option<String>,
    code_challenge: Option<String>,
    code_challenge_method: Option<String>,
    state: Option<String>,
    /// Simulator extension: which seeded agent "signs in" (e-mail or user id); the first agent otherwise.
    login_hint: Option<String>,
}

/// Approves at once as the seeded agent (no login page) and redirects back with `code` and `state`.
pub async fn authorize(State(state): State<Shared>, Query(q): Query<AuthorizeQuery>) -> Response {
    let Some(client_id) = q.client_id.as_deref() else {
        return html_page(StatusCode::BAD_REQUEST, "Invalid request", "client_id is required.");
    };
    let Some(client) = state.config.genesys_clients.iter().find(|c| c.client_id == client_id) else {
        return html_page(StatusCode::BAD_REQUEST, "Invalid client", "Unknown client_id.");
    };
    let Some(redirect_uri) = q.redirect_uri.as_deref() else {
        return html_page(StatusCode::BAD_REQUEST, "Invalid request", "redirect_uri is required.");
    };
    if !client.redirect_uris.iter().any(|u| u == redirect_uri) {
        return html_page(
            StatusCode::BAD_REQUEST,
            "Invalid redirect",
            "redirect_uri does not match the OAuth client's configuration.",
        );
    }
    let st = q.state.as_deref().unwrap_or("");
    let err = |error: &str, desc: &str| {
        let mut pairs = vec![("error", error), ("error_description", desc)];
        if !st.is_empty() {
            pairs.push(("state", st));
        }
        redirect_with(redirect_uri, &pairs)
    };
    if q.response_type.as_deref() != Some("code") {
        return err("unsupported_response_type", "response_type must be code");
    }
    let challenge = match q.code_challenge.as_deref() {
        Some(c) if pkce::is_valid_challenge(c) => c.to_owned(),
        _ => return err("invalid_request", "code_challenge is required (PKCE)"),
    };
    if q.code_challenge_method.as_deref() != Some("S256") {
        return err("invalid_request", "code_challenge_method must be S256");
    }
    let now = state.clock.now_ms();
    let code = {
        let mut gs = state.genesys();
        let user_id = match q.login_hint.as_deref() {
            Some(h) => match gs.users.iter().find(|u| u.email == h || u.id == h) {
                Some(u) => u.id.clone(),
                None => return err("access_denied", "unknown user"),
            },
            None => gs.users[0].id.clone(),
        };
        let code = ids::token(&mut *state.rng(), 40);
        gs.codes.insert(
            code.clone(),
            AuthCode {
                client_id: client_id.into(),
                redirect_uri: redirect_uri.into(),
                challenge,
                user_id,
                expires_ms: now + 600_000,
            },
        );
        code
    };
    let mut pairs = vec![("code", code.as_str())];
    if !st.is_empty() {
        pairs.push(("state", st));
    }
    redirect_with(redirect_uri, &pairs)
}

/// `POST /oauth/token`, form-encoded.
pub async fn token(State(state): State<Shared>, Form(f): Form<HashMap<String, String>>) -> Response {
    let get = |k: &str| f.get(k).map(String::as_str);
    match get("grant_type") {
        Some("authorization_code") => {}
        Some("refresh_token") => {
            return oauth_error(
                StatusCode::BAD_REQUEST,
                "invalid_grant",
                "Refresh tokens are not issued to public (PKCE) clients",
            );
        }
        Some(_) => {
            return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "Unsupported grant type");
        }
        None => {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "grant_type is required");
        }
    }
    let now = state.clock.now_ms();
    let lifetime = state.settings().genesys_token_lifetime_secs;
    let mut gs = state.genesys();
    let Some(code) = get("code").and_then(|c| gs.codes.remove(c)) else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Invalid or already used authorization code");
    };
    if code.expires_ms <= now {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "Authorization code expired");
    }
    if get("client_id") != Some(code.client_id.as_str()) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "client_id does not match the authorization request",
        );
    }
    if get("redirect_uri") != Some(code.redirect_uri.as_str()) {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            "redirect_uri does not match the authorization request",
        );
    }
    if let Err(e) = pkce::verify(&code.challenge, get("code_verifier")) {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", &e.to_string());
    }
    let token = gs.issue_token(&mut *state.rng(), &code.user_id, &code.client_id, now, lifetime);
    Json(json!({"access_token": token, "token_type": "bearer", "expires_in": lifetime})).into_response()
}
