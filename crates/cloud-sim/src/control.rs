//! The `/_sim/` control and inspection API (JSON): calls, scenarios, tokens, faults, settings, the
//! clock, and what each cloud holds.

use crate::config::Settings;
use crate::data::CallerKind;
use crate::faults::FaultSpec;
use crate::genesys::notifications;
use crate::ids;
use crate::salesforce;
use crate::scenario::{self, CallSpec, ScenarioSpec};
use crate::state::Shared;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::atomic::Ordering;

fn bad_request(message: impl std::fmt::Display) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": "bad_request", "message": message.to_string()}))).into_response()
}

fn not_found(message: &str) -> Response {
    (StatusCode::NOT_FOUND, Json(json!({"error": "not_found", "message": message}))).into_response()
}

fn body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Response> {
    let raw: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { bytes };
    serde_json::from_slice(raw).map_err(|e| bad_request(format!("invalid JSON body: {e}")))
}

pub(crate) fn router() -> Router<Shared> {
    Router::new()
        .route("/_sim/health", get(|| async { Json(json!({"ok": true})) }))
        .route("/_sim/urls", get(urls))
        .route("/_sim/population", get(population))
        .route("/_sim/genesys/users", get(genesys_users))
        .route("/_sim/genesys/wrapupcodes", get(genesys_wrapup_codes))
        .route("/_sim/genesys/conversations", get(genesys_conversations))
        .route("/_sim/calls", post(place_call))
        .route("/_sim/calls/{id}", get(get_call))
        .route("/_sim/calls/{id}/advance", post(advance_call))
        .route("/_sim/calls/{id}/hold", post(hold_call))
        .route("/_sim/scenario", post(start_scenario))
        .route("/_sim/scenario/{id}", get(get_scenario))
        .route("/_sim/tokens", post(mint_token))
        .route("/_sim/tokens/issued", get(issued_tokens))
        .route("/_sim/faults", get(list_faults).post(add_fault).delete(clear_faults))
        .route("/_sim/faults/{id}", delete(remove_fault))
        .route("/_sim/sockets/drop", post(drop_sockets))
        .route("/_sim/sockets/closing", post(closing_sockets))
        .route("/_sim/settings", get(get_settings).patch(patch_settings))
        .route("/_sim/clock", get(get_clock))
        .route("/_sim/clock/advance", post(advance_clock))
        .route("/_sim/stats", get(stats))
        .route("/_sim/stats/reset", post(reset_stats))
        .route("/_sim/salesforce/{object}", get(salesforce_records))
        .route("/_sim/updates/latest.json", get(latest_release).put(publish_release))
        .route(
            "/_sim/updates/reads",
            get(|State(state): State<Shared>| async move {
                Json(json!({"reads": state.release_reads.load(Ordering::Relaxed)}))
            }),
        )
        .fallback(|| async { not_found("no such control endpoint") })
}

async fn urls(State(state): State<Shared>) -> Response {
    Json(state.urls()).into_response()
}

/// `?kind=single&limit=10`.
#[derive(Debug, Deserialize)]
struct PopulationQuery {
    kind: Option<CallerKind>,
    limit: Option<usize>,
}

async fn population(State(state): State<Shared>, Query(q): Query<PopulationQuery>) -> Response {
    let p = &state.population;
    let callers: Vec<&crate::data::SeedCaller> =
        p.callers.iter().filter(|c| q.kind.is_none_or(|k| c.kind == k)).take(q.limit.unwrap_or(usize::MAX)).collect();
    Json(json!({
        "seed": p.seed,
        "counts": {"accounts": p.accounts.len(), "contacts": p.contacts.len(), "leads": p.leads.len(), "callers": p.callers.len()},
        "callers": callers,
    }))
    .into_response()
}

async fn genesys_users(State(state): State<Shared>) -> Response {
    Json(json!({"users": state.genesys().users})).into_response()
}

async fn genesys_wrapup_codes(State(state): State<Shared>) -> Response {
    Json(json!({"codes": state.genesys().wrapup_codes})).into_response()
}

async fn genesys_conversations(State(state): State<Shared>) -> Response {
    let gs = state.genesys();
    let list: Vec<Value> = gs
        .conversation_order
        .iter()
        .filter_map(|id| gs.conversations.get(id))
        .map(|c| json!({"id": c.id, "phase": c.phase(), "ani": c.ani, "users": c.users(), "revision": c.revision}))
        .collect();
    Json(json!({"conversations": list})).into_response()
}

async fn place_call(State(state): State<Shared>, bytes: axum::body::Bytes) -> Response {
    let spec: CallSpec = match body(&bytes) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match scenario::place_call(&state, spec, None, Vec::new()) {
        Ok(p) => (StatusCode::CREATED, Json(p)).into_response(),
        Err(e) => bad_request(e),
    }
}

async fn get_call(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    match scenario::call_json(&state, &id) {
        Some(v) => Json(v).into_response(),
        None => not_found("no such call"),
    }
}

async fn advance_call(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    if state.calls.get(&id).is_none() {
        return not_found("no such call");
    }
    if !state.calls.advance(&id) {
        return (StatusCode::CONFLICT, Json(json!({"error": "finished", "message": "the call is over"})))
            .into_response();
    }
    // Let the call's task take the step before answering, so the caller sees the new phase.
    let before = state.genesys().conversations.get(&id).map(|c| c.revision);
    for _ in 0..100 {
        let now = state.genesys().conversations.get(&id).map(|c| c.revision);
        if now != before {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    match scenario::call_json(&state, &id) {
        Some(v) => Json(v).into_response(),
        None => not_found("no such call"),
    }
}

/// `POST /_sim/calls/{id}/hold` with `{"held": true|false, "participant_id"?: …}`: the agent puts the
/// caller on hold (or takes them off it); the newest connected agent leg when no participant is named.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HoldSpec {
    held: bool,
    #[serde(default)]
    participant_id: Option<String>,
}

async fn hold_call(State(state): State<Shared>, Path(id): Path<String>, bytes: axum::body::Bytes) -> Response {
    let spec: HoldSpec = match body(&bytes) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let mut gs = state.genesys();
    let Some(c) = gs.conversations.get_mut(&id) else {
        return not_found("no such call");
    };
    let leg = c.legs.iter_mut().rev().find(|l| {
        l.visible
            && l.connected_ms.is_some()
            && l.disconnected_ms.is_none()
            && spec.participant_id.as_ref().is_none_or(|p| *p == l.participant_id)
    });
    let Some(leg) = leg else {
        return (
            StatusCode::CONFLICT,
            Json(json!({"error": "not_connected", "message": "no connected agent leg to hold"})),
        )
            .into_response();
    };
    leg.held = spec.held;
    c.revision += 1;
    crate::genesys::notifications::publish_conversation(&state, &mut gs, &id);
    drop(gs);
    match scenario::call_json(&state, &id) {
        Some(v) => Json(v).into_response(),
        None => not_found("no such call"),
    }
}

async fn start_scenario(State(state): State<Shared>, bytes: axum::body::Bytes) -> Response {
    let spec: ScenarioSpec = match body(&bytes) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match scenario::start_scenario(&state, spec) {
        Ok(id) => (StatusCode::CREATED, Json(json!({"id": id}))).into_response(),
        Err(e) => bad_request(e),
    }
}

async fn get_scenario(State(state): State<Shared>, Path(id): Path<String>) -> Response {
    match state.calls.scenario(&id) {
        Some(p) => Json(p).into_response(),
        None => not_found("no such scenario"),
    }
}

/// `POST /_sim/tokens`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MintRequest {
    cloud: String,
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    lifetime_secs: Option<u64>,
}

async fn mint_token(State(state): State<Shared>, bytes: axum::body::Bytes) -> Response {
    let req: MintRequest = match body(&bytes) {
        Ok(r) => r,
        Err(r) => return r,
    };
    let now = state.clock.now_ms();
    match req.cloud.as_str() {
        "genesys" => {
            let lifetime = req.lifetime_secs.unwrap_or_else(|| state.settings().genesys_token_lifetime_secs);
            let mut gs = state.genesys();
            let user = match req.user.as_deref() {
                None => gs.users[0].clone(),
                Some(u) => match gs.users.iter().find(|x| x.id == u || x.email == u) {
                    Some(x) => x.clone(),
                    None => return bad_request(format!("unknown Genesys user: {u}")),
                },
            };
            let token = gs.issue_token(&mut *state.rng(), &user.id, crate::config::DEFAULT_CLIENT_ID, now, lifetime);
            Json(json!({"access_token": token, "token_type": "bearer", "expires_in": lifetime, "user_id": user.id, "user_email": user.email}))
                .into_response()
        }
        "salesforce" => {
            if req.lifetime_secs.is_some() {
                return bad_request(
                    "Salesforce sessions have no lifetime of their own: set salesforce_session_secs in /_sim/settings",
                );
            }
            let suffix = ids::token(&mut *state.rng(), 96);
            let mut sf = state.sf_write();
            let user_id = sf.user_id.clone();
            let token = sf.issue_session(suffix, &user_id, now, None);
            Json(json!({"access_token": token, "token_type": "Bearer", "instance_url": state.urls().salesforce, "user_id": user_id}))
                .into_response()
        }
        other => bad_request(format!("cloud must be genesys or salesforce, not {other}")),
    }
}

/// Every token value issued so far (for tests that prove no token leaks into files or logs).
async fn issued_tokens(State(state): State<Shared>) -> Response {
    let genesys: Vec<String> = state.genesys().tokens.keys().cloned().collect();
    let sf = state.sf_read();
    let sessions: Vec<String> = sf.sessions.keys().cloned().collect();
    let refresh: Vec<String> = sf.refresh_tokens.keys().cloned().collect();
    Json(json!({"genesys": genesys, "salesforce_sessions": sessions, "salesforce_refresh": refresh})).into_response()
}

async fn list_faults(State(state): State<Shared>) -> Response {
    Json(json!({"faults": state.faults().list()})).into_response()
}

async fn add_fault(State(state): State<Shared>, bytes: axum::body::Bytes) -> Response {
    let spec: FaultSpec = match body(&bytes) {
        Ok(s) => s,
        Err(r) => return r,
    };
    match state.faults().add(spec) {
        Ok(id) => (StatusCode::CREATED, Json(json!({"id": id}))).into_response(),
        Err(e) => bad_request(e),
    }
}

async fn clear_faults(State(state): State<Shared>) -> Response {
    let n = state.faults().remove(None);
    Json(json!({"removed": n})).into_response()
}

async fn remove_fault(State(state): State<Shared>, Path(id): Path<u64>) -> Response {
    match state.faults().remove(Some(id)) {
        0 => not_found("no such fault"),
        n => Json(json!({"removed": n})).into_response(),
    }
}

/// Which sockets a socket action applies to.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct SocketAction {
    #[serde(default)]
    user: Option<String>,
    #[serde(default)]
    grace_ms: Option<u64>,
}

async fn drop_sockets(State(state): State<Shared>, bytes: axum::body::Bytes) -> Response {
    let a: SocketAction = match body(&bytes) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let n = notifications::drop_sockets(&state, a.user.as_deref());
    Json(json!({"sockets": n})).into_response()
}

async fn closing_sockets(State(state): State<Shared>, bytes: axum::body::Bytes) -> Response {
    let a: SocketAction = match body(&bytes) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let grace = a.grace_ms.unwrap_or_else(|| state.settings().socket_closing_grace_ms);
    let n = notifications::close_sockets_for_maintenance(&state, a.user.as_deref(), grace);
    Json(json!({"sockets": n})).into_response()
}

/// The release feed the desktop app checks (Tauri's static updater manifest); 404 until one is published.
async fn latest_release(State(state): State<Shared>) -> Response {
    state.release_reads.fetch_add(1, Ordering::Relaxed);
    match state.release.read().unwrap_or_else(|e| e.into_inner()).clone() {
        Some(m) => Json(m).into_response(),
        None => not_found("no release published"),
    }
}

async fn publish_release(State(state): State<Shared>, bytes: axum::body::Bytes) -> Response {
    let manifest: Value = match body(&bytes) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !manifest.get("version").is_some_and(Value::is_string) {
        return bad_request("a release manifest needs a \"version\" string");
    }
    *state.release.write().unwrap_or_else(|e| e.into_inner()) = Some(manifest.clone());
    Json(manifest).into_response()
}

async fn get_settings(State(state): State<Shared>) -> Response {
    Json(state.settings()).into_response()
}

fn merge(into: &mut Value, patch: Value) {
    match (into, patch) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                match a.get_mut(&k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge(slot, v),
                    _ => {
                        a.insert(k, v);
                    }
                }
            }
        }
        (slot, v) => *slot = v,
    }
}

async fn patch_settings(State(state): State<Shared>, bytes: axum::body::Bytes) -> Response {
    let patch: Value = match body(&bytes) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if !patch.is_object() {
        return bad_request("the body must be a JSON object of settings to change");
    }
    let mut current = serde_json::to_value(state.settings()).expect("settings serialize");
    merge(&mut current, patch);
    let next: Settings = match serde_json::from_value(current) {
        Ok(s) => s,
        Err(e) => return bad_request(format!("invalid settings: {e}")),
    };
    if next.heartbeat_secs.is_nan()
        || next.heartbeat_secs <= 0.0
        || next.genesys_token_lifetime_secs == 0
        || next.channel_lifetime_secs == 0
    {
        return bad_request("heartbeat_secs, genesys_token_lifetime_secs and channel_lifetime_secs must be above 0");
    }
    *state.settings.write().unwrap_or_else(|e| e.into_inner()) = next.clone();
    Json(next).into_response()
}

async fn get_clock(State(state): State<Shared>) -> Response {
    Json(json!({"now": crate::clock::iso(state.clock.now()), "offset_ms": state.clock.offset_ms()})).into_response()
}

/// `{"seconds": N}` or `{"ms": N}`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Advance {
    #[serde(default)]
    seconds: Option<f64>,
    #[serde(default)]
    ms: Option<i64>,
}

async fn advance_clock(State(state): State<Shared>, bytes: axum::body::Bytes) -> Response {
    let a: Advance = match body(&bytes) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let ms = match (a.seconds, a.ms) {
        (Some(s), None) if s >= 0.0 && s.is_finite() => (s * 1000.0) as i64,
        (None, Some(m)) if m >= 0 => m,
        _ => return bad_request("give one of seconds or ms, not negative"),
    };
    state.clock.advance_ms(ms);
    notifications::reap_expired(&state);
    get_clock(State(state)).await
}

pub(crate) fn stats_json(state: &Shared) -> Value {
    let mut v = state.stats.to_json();
    let max = state.settings().salesforce_daily_api_max;
    let used = state.sf_read().api_used.load(Ordering::Relaxed);
    v["salesforce_api_usage"] = json!({"used": used, "max": max});
    v
}

async fn stats(State(state): State<Shared>) -> Response {
    Json(stats_json(&state)).into_response()
}

async fn reset_stats(State(state): State<Shared>) -> Response {
    state.stats.reset();
    Json(stats_json(&state)).into_response()
}

async fn salesforce_records(
    State(state): State<Shared>,
    Path(object): Path<String>,
    Query(filters): Query<HashMap<String, String>>,
) -> Response {
    match salesforce::dump(&state, &object, &filters) {
        Some(v) => Json(v).into_response(),
        None => not_found("no such sObject"),
    }
}
