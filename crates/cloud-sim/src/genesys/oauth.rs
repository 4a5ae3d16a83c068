//! Genesys login host: `GET /oauth/authorize` and `POST /oauth/token` (authorization code + PKCE S256).
//! A PKCE client gets no refresh token, as in the real cloud.

use crate::http::oauth_error;
use crate::ids;
use crate::pkce::{self, AuthorizeQuery};
use crate::state::Shared;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use serde_json::json;
use std::collections::HashMap;

use super::AuthCode;

/// Approves at once as the seeded agent (no login page) and redirects back with `code` and `state`.
pub async fn authorize(State(state): State<Shared>, Query(q): Query<AuthorizeQuery>) -> Response {
    let auth = match q.check(&state.config.genesys_clients, true) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let now = state.clock.now_ms();
    let mut gs = state.genesys();
    let user_id = match q.login_hint.as_deref() {
        Some(h) => match gs.users.iter().find(|u| u.email == h || u.id == h) {
            Some(u) => u.id.clone(),
            None => return auth.error("access_denied", "unknown user"),
        },
        None => gs.users[0].id.clone(),
    };
    let code = ids::token(&mut *state.rng(), 40);
    gs.codes.insert(
        code.clone(),
        AuthCode {
            client_id: auth.client_id.into(),
            redirect_uri: auth.redirect_uri.into(),
            challenge: auth.challenge.into(),
            user_id,
            expires_ms: now + 600_000,
        },
    );
    auth.approve(&code)
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
