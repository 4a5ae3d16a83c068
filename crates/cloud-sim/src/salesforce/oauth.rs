//! Salesforce login host: authorize, token (authorization code + PKCE, refresh with optional
//! rotation) and revoke. Token responses carry no `expires_in`: a 401 tells the client.

use super::AuthCode;
use super::RefreshToken;
use crate::http::oauth_error;
use crate::ids;
use crate::pkce::{self, AuthorizeQuery};
use crate::state::Shared;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use base64::Engine;
use serde_json::{Value, json};
use std::collections::HashMap;

/// `GET /services/oauth2/authorize`: approves at once as the org's agent user and redirects back.
pub async fn authorize(State(state): State<Shared>, Query(q): Query<AuthorizeQuery>) -> Response {
    let auth = match q.check(&state.config.salesforce_clients, false) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let now = state.clock.now_ms();
    let code = format!("aPrx{}", ids::token(&mut *state.rng(), 60));
    let mut sf = state.sf_write();
    let user_id = sf.user_id.clone();
    sf.codes.insert(
        code.clone(),
        AuthCode {
            client_id: auth.client_id.into(),
            redirect_uri: auth.redirect_uri.into(),
            challenge: auth.challenge.into(),
            user_id,
            expires_ms: now + 900_000,
        },
    );
    auth.approve(&code)
}

fn token_response(state: &Shared, access: &str, refresh: Option<&str>, user_id: &str, now: i64) -> Value {
    let urls = state.urls();
    let org = state.sf_read().org_id.clone();
    let sig = base64::engine::general_purpose::STANDARD.encode(format!("{access}:{now}").as_bytes());
    let mut body = json!({
        "access_token": access,
        "signature": sig,
        "scope": "refresh_token api",
        "instance_url": urls.salesforce,
        "id": format!("{}/id/{org}/{user_id}", urls.salesforce_login),
        "token_type": "Bearer",
        "issued_at": now.to_string(),
    });
    if let Some(r) = refresh {
        body["refresh_token"] = json!(r);
    }
    body
}

/// `POST /services/oauth2/token`.
pub async fn token(State(state): State<Shared>, Form(f): Form<HashMap<String, String>>) -> Response {
    let get = |k: &str| f.get(k).map(String::as_str);
    let now = state.clock.now_ms();
    let rotation = state.settings().salesforce_refresh_rotation;
    match get("grant_type") {
        Some("authorization_code") => {
            let mut sf = state.sf_write();
            let Some(code) = get("code").and_then(|c| sf.codes.remove(c)) else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "invalid authorization code");
            };
            if code.expires_ms <= now {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "expired authorization code");
            }
            if get("client_id") != Some(code.client_id.as_str()) {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_client_id", "client identifier invalid");
            }
            if get("redirect_uri") != Some(code.redirect_uri.as_str()) {
                return oauth_error(
                    StatusCode::BAD_REQUEST,
                    "redirect_uri_mismatch",
                    "redirect_uri must match configuration",
                );
            }
            if let Err(e) = pkce::verify(&code.challenge, get("code_verifier")) {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", &e.to_string());
            }
            let (access_suffix, refresh) = {
                let mut rng = state.rng();
                (ids::token(&mut *rng, 96), format!("5Aep{}", ids::token(&mut *rng, 83)))
            };
            sf.refresh_tokens.insert(
                refresh.clone(),
                RefreshToken { user_id: code.user_id.clone(), client_id: code.client_id.clone(), revoked: false },
            );
            let access = sf.issue_session(access_suffix, &code.user_id, now, Some(refresh.clone()));
            drop(sf);
            Json(token_response(&state, &access, Some(&refresh), &code.user_id, now)).into_response()
        }
        Some("refresh_token") => {
            let mut sf = state.sf_write();
            let Some(presented) = get("refresh_token") else {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "refresh_token is required");
            };
            let rt = match sf.refresh_tokens.get(presented) {
                Some(rt) if !rt.revoked => rt.clone(),
                _ => {
                    return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", "expired access/refresh token");
                }
            };
            if get("client_id") != Some(rt.client_id.as_str()) {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_client_id", "client identifier invalid");
            }
            let (access_suffix, next) = {
                let mut rng = state.rng();
                (ids::token(&mut *rng, 96), format!("5Aep{}", ids::token(&mut *rng, 83)))
            };
            let new_refresh = if rotation {
                if let Some(old) = sf.refresh_tokens.get_mut(presented) {
                    old.revoked = true;
                }
                sf.refresh_tokens.insert(next.clone(), RefreshToken { revoked: false, ..rt.clone() });
                Some(next)
            } else {
                None
            };
            let family = new_refresh.clone().unwrap_or_else(|| presented.to_string());
            let access = sf.issue_session(access_suffix, &rt.user_id, now, Some(family));
            drop(sf);
            Json(token_response(&state, &access, new_refresh.as_deref(), &rt.user_id, now)).into_response()
        }
        Some(_) => oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type", "grant type not supported"),
        None => oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "grant_type is required"),
    }
}

/// `POST /services/oauth2/revoke` with `token=…` (an access or a refresh token; revoking a refresh
/// token revokes the sessions it issued).
pub async fn revoke(State(state): State<Shared>, Form(f): Form<HashMap<String, String>>) -> Response {
    let Some(token) = f.get("token") else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request", "token is required");
    };
    let mut sf = state.sf_write();
    if let Some(s) = sf.sessions.get_mut(token).filter(|s| !s.revoked) {
        s.revoked = true;
        return StatusCode::OK.into_response();
    }
    if let Some(rt) = sf.refresh_tokens.get_mut(token).filter(|r| !r.revoked) {
        rt.revoked = true;
        for s in sf.sessions.values_mut().filter(|s| s.refresh.as_deref() == Some(token.as_str())) {
            s.revoked = true;
        }
        return StatusCode::OK.into_response();
    }
    oauth_error(StatusCode::BAD_REQUEST, "invalid_token", "invalid token")
}

/// `GET /id/{org}/{user}`: the identity URL of the token response.
pub async fn identity(
    State(state): State<Shared>,
    axum::extract::Path((org, user)): axum::extract::Path<(String, String)>,
    headers: axum::http::HeaderMap,
) -> Response {
    let now = state.clock.now_ms();
    let session_secs = state.settings().salesforce_session_secs as i64;
    let sf = state.sf_read();
    let valid = crate::http::bearer(&headers)
        .and_then(|t| sf.sessions.get(t))
        .filter(|s| !s.revoked && !s.forced_expired && now < s.issued_ms + session_secs * 1000)
        .is_some_and(|s| s.user_id == user && sf.org_id == org);
    if !valid {
        return (StatusCode::FORBIDDEN, "Bad_OAuth_Token").into_response();
    }
    let base = &state.urls().salesforce;
    Json(json!({
        "id": format!("{}/id/{org}/{user}", state.urls().salesforce_login),
        "user_id": user, "organization_id": org, "username": "agent@example.com.sim", "display_name": "Sim Agent",
        "email": "agent@example.com", "active": true, "user_type": "STANDARD", "language": "en_US", "locale": "en_US",
        "urls": {"rest": format!("{base}/services/data/v{{version}}/"), "query": format!("{base}/services/data/v{{version}}/query/"),
                 "search": format!("{base}/services/data/v{{version}}/search/"), "sobjects": format!("{base}/services/data/v{{version}}/sobjects/")},
    }))
    .into_response()
}
