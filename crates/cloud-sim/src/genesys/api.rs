//! Genesys REST on the API host: who am I, tokens, conversations and the org's wrap-up codes
//! (participants' wrap-up and attributes are in `participants.rs`).

use super::Caller;
use super::notifications;
use crate::clock::iso;
use crate::http::genesys_error;
use crate::state::Shared;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{TimeZone, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

pub(super) fn not_found(what: &str) -> Response {
    genesys_error(StatusCode::NOT_FOUND, "not.found", &format!("The requested {what} was not found."))
}

/// `GET /api/v2/users/me`.
pub async fn users_me(State(state): State<Shared>, Extension(caller): Extension<Caller>) -> Response {
    let gs = state.genesys();
    let Some(u) = gs.user(&caller.user_id) else {
        return not_found("user");
    };
    Json(json!({
        "id": u.id, "name": u.name, "email": u.email, "username": u.email, "state": "active",
        "division": {"id": gs.org_id, "name": "Home"}, "chat": {"jabberId": format!("{}@example.orgspan.com", u.id)},
        "addresses": [{"display": u.extension, "mediaType": "PHONE", "type": "WORK", "extension": u.extension}],
        "version": 1, "acdAutoAnswer": false, "selfUri": format!("/api/v2/users/{}", u.id),
    }))
    .into_response()
}

/// `GET /api/v2/tokens/me`: what the token is and when it expires.
pub async fn tokens_me(State(state): State<Shared>, Extension(caller): Extension<Caller>) -> Response {
    let gs = state.genesys();
    let expires = Utc.timestamp_millis_opt(caller.expires_ms).single().map(iso);
    Json(json!({
        "organization": {"id": gs.org_id},
        "homeOrganization": {"id": gs.org_id},
        "authorizedScope": ["conversations", "notifications", "users:readonly", "routing"],
        "OAuthClient": {"id": caller.client_id, "name": "Agent Companion"},
        "dateTokenExpires": expires,
    }))
    .into_response()
}

/// `DELETE /api/v2/tokens/me`: signs the token out; its channels hear `token_revoked`.
pub async fn delete_tokens_me(State(state): State<Shared>, Extension(caller): Extension<Caller>) -> Response {
    let mut gs = state.genesys();
    if let Some(t) = gs.tokens.get_mut(&caller.token) {
        t.revoked = true;
    }
    notifications::revoke_channels_of_token(&state, &mut gs, &caller.token);
    StatusCode::NO_CONTENT.into_response()
}

/// Paging query.
#[derive(Debug, Deserialize)]
pub struct Paging {
    #[serde(rename = "pageSize")]
    page_size: Option<usize>,
    #[serde(rename = "pageNumber")]
    page_number: Option<usize>,
}

fn page<T: Clone>(items: &[T], p: &Paging, base: &str) -> (Vec<T>, Value) {
    let size = p.page_size.unwrap_or(25).clamp(1, 500);
    let number = p.page_number.unwrap_or(1).max(1);
    let total = items.len();
    let page_count = total.div_ceil(size).max(1);
    let slice = items.iter().skip((number - 1) * size).take(size).cloned().collect();
    let uri = |n: usize| format!("{base}?pageSize={size}&pageNumber={n}");
    let mut meta = json!({
        "pageSize": size, "pageNumber": number, "total": total, "pageCount": page_count,
        "firstUri": uri(1), "selfUri": uri(number), "lastUri": uri(page_count),
    });
    if number < page_count {
        meta["nextUri"] = json!(uri(number + 1));
    }
    if number > 1 {
        meta["previousUri"] = json!(uri(number - 1));
    }
    (slice, meta)
}

/// `GET /api/v2/conversations`: the caller's active conversations.
pub async fn conversations(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Query(p): Query<Paging>,
) -> Response {
    let gs = state.genesys();
    let active: Vec<Value> = gs
        .conversation_order
        .iter()
        .filter_map(|id| gs.conversations.get(id))
        .filter(|c| c.is_active() && c.involves_user(&caller.user_id))
        .map(|c| {
            let mut s = c.snapshot();
            s["selfUri"] = json!(format!("/api/v2/conversations/{}", c.id));
            s
        })
        .collect();
    let (entities, mut meta) = page(&active, &p, "/api/v2/conversations");
    meta["entities"] = Value::Array(entities);
    Json(meta).into_response()
}

/// `GET /api/v2/conversations/{id}`.
pub async fn conversation(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path(id): Path<String>,
) -> Response {
    let gs = state.genesys();
    match gs.conversations.get(&id).filter(|c| c.involves_user(&caller.user_id)) {
        Some(c) => {
            let mut s = c.snapshot();
            s["selfUri"] = json!(format!("/api/v2/conversations/{}", c.id));
            Json(s).into_response()
        }
        None => not_found("conversation"),
    }
}

/// `GET /api/v2/routing/wrapupcodes` (paged).
pub async fn wrapup_codes(State(state): State<Shared>, Query(p): Query<Paging>) -> Response {
    let gs = state.genesys();
    let codes: Vec<Value> = gs
        .wrapup_codes
        .iter()
        .map(|c| {
            json!({"id": c.id, "name": c.name, "dateCreated": "2024-01-15T09:00:00.000Z",
                   "createdBy": "system", "selfUri": format!("/api/v2/routing/wrapupcodes/{}", c.id)})
        })
        .collect();
    let (entities, mut meta) = page(&codes, &p, "/api/v2/routing/wrapupcodes");
    meta["entities"] = Value::Array(entities);
    Json(meta).into_response()
}
