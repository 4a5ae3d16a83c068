//! Genesys REST on one participant: its wrap-up codes (the queue's), its wrap-up (read, set through the
//! participant or the per-media communication endpoint) and attribute writes.

use super::Caller;
use super::api::not_found;
use super::conversation::{Conversation, Wrapup};
use super::notifications;
use crate::clock::iso;
use crate::http::genesys_error;
use crate::state::Shared;
use axum::Extension;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{TimeZone, Utc};
use serde::Deserialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const WRAPUP_PERMISSION: &str = "conversation:participant:wrapup";

fn bad_request(message: &str) -> Response {
    genesys_error(StatusCode::BAD_REQUEST, "bad.request", message)
}

fn not_authorized(message: &str) -> Response {
    genesys_error(StatusCode::FORBIDDEN, "not.authorized", message)
}

/// The conversation, when the caller has (had) a participant in it.
fn visible_to<'a>(gs: &'a super::GenesysState, caller: &Caller, cid: &str) -> Result<&'a Conversation, Response> {
    gs.conversations.get(cid).filter(|c| c.involves_user(&caller.user_id)).ok_or_else(|| not_found("conversation"))
}

/// The caller's own agent participant.
fn own_participant(state: &Shared, caller: &Caller, cid: &str, pid: &str) -> Result<(), Response> {
    let gs = state.genesys();
    match visible_to(&gs, caller, cid)?.agent_participant_of(&caller.user_id, pid) {
        Some(true) => Ok(()),
        Some(false) => Err(not_authorized("You are not authorized to access this participant.")),
        None => Err(not_found("participant")),
    }
}

/// `GET /api/v2/conversations/{cid}/participants/{pid}/wrapupcodes`: the codes of the queue that
/// routed the participant (every code for one no queue routed).
pub async fn wrapup_codes(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path((cid, pid)): Path<(String, String)>,
) -> Response {
    if let Err(r) = own_participant(&state, &caller, &cid, &pid) {
        return r;
    }
    let gs = state.genesys();
    let queue = gs.conversations[&cid].leg(&pid).and_then(|l| l.queue_id.clone());
    let codes: Vec<Value> =
        gs.codes_for_queue(queue.as_deref()).into_iter().map(|c| json!({"id": c.id, "name": c.name})).collect();
    Json(codes).into_response()
}

/// `GET /api/v2/conversations/{cid}/participants/{pid}/wrapup`.
pub async fn wrapup(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path((cid, pid)): Path<(String, String)>,
) -> Response {
    if let Err(r) = own_participant(&state, &caller, &cid, &pid) {
        return r;
    }
    let gs = state.genesys();
    match gs.conversations[&cid].leg(&pid).and_then(|l| l.wrapup.as_ref()) {
        Some((w, end)) => Json(json!({
            "code": w.code, "notes": w.notes, "tags": w.tags, "durationSeconds": w.duration_seconds,
            "endTime": Utc.timestamp_millis_opt(*end).single().map(iso),
        }))
        .into_response(),
        None => not_found("wrapup"),
    }
}

/// Applies a wrap-up to the caller's participant in after-call work, with a code its queue allows.
fn apply_wrapup(state: &Shared, cid: &str, pid: &str, communication: Option<&str>, w: Wrapup) -> Response {
    let now = state.clock.now_ms();
    let mut gs = state.genesys();
    let queue = gs.conversations.get(cid).and_then(|c| c.leg(pid)).and_then(|l| l.queue_id.clone());
    let Some(code) =
        gs.codes_for_queue(queue.as_deref()).into_iter().find(|c| c.id == w.code || c.name == w.code).cloned()
    else {
        return bad_request("The wrap-up code is not valid for this participant.");
    };
    let Some(c) = gs.conversations.get_mut(cid) else {
        return not_found("conversation");
    };
    let Some(i) = c.legs.iter().position(|l| l.visible && l.participant_id == pid) else {
        return not_found("participant");
    };
    if communication.is_some_and(|id| c.legs[i].call_id != id) {
        return not_found("communication");
    }
    if !c.legs[i].in_after_call_work() {
        return genesys_error(
            StatusCode::BAD_REQUEST,
            "conversation.error.wrapup.not.allowed",
            "The participant is not in after-call work.",
        );
    }
    c.submit_wrapup(i, now, Wrapup { code: code.id, ..w });
    c.revision += 1;
    notifications::publish_conversation(state, &mut gs, cid);
    StatusCode::ACCEPTED.into_response()
}

/// Body of `PATCH /api/v2/conversations/{cid}/participants/{pid}`.
#[derive(Debug, Deserialize)]
pub struct ParticipantPatch {
    wrapup: Option<Wrapup>,
}

/// `PATCH /api/v2/conversations/{cid}/participants/{pid}` with `{"wrapup": {code, notes}}`.
pub async fn patch(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path((cid, pid)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    if let Err(r) = own_participant(&state, &caller, &cid, &pid) {
        return r;
    }
    let patch: ParticipantPatch = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => return bad_request(&format!("The request could not be understood: {e}")),
    };
    let Some(wrapup) = patch.wrapup else {
        return bad_request("Only the wrapup of a participant can be changed here.");
    };
    apply_wrapup(&state, &cid, &pid, None, wrapup)
}

/// Body of the per-media wrap-up: `{code, name, notes, tags, durationSeconds, endTime, provisional}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CommunicationWrapup {
    code: Option<String>,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    tags: Vec<String>,
    duration_seconds: Option<u64>,
}

/// `POST /api/v2/conversations/{media}/{cid}/participants/{pid}/communications/{commId}/wrapup`
/// (`conversation:participant:wrapup`), empty answer.
pub async fn post_communication_wrapup(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path((media, cid, pid, communication)): Path<(String, String, String, String)>,
    body: axum::body::Bytes,
) -> Response {
    if let Err(r) = own_participant(&state, &caller, &cid, &pid) {
        return r;
    }
    if state.genesys().conversations.get(&cid).is_none_or(|c| c.media.path() != media) {
        return not_found("conversation");
    }
    if state.settings().genesys_denied_permissions.iter().any(|p| p == WRAPUP_PERMISSION) {
        return genesys_error(
            StatusCode::FORBIDDEN,
            "missing.permissions",
            &format!(
                "Unable to perform the requested action. You are missing the following permission(s): [{WRAPUP_PERMISSION}]"
            ),
        );
    }
    let w: CommunicationWrapup = match serde_json::from_slice(&body) {
        Ok(w) => w,
        Err(e) => return bad_request(&format!("The request could not be understood: {e}")),
    };
    let Some(code) = w.code.filter(|c| !c.is_empty()) else {
        return bad_request("A wrap-up code is required.");
    };
    let wrapup = Wrapup { code, notes: w.notes, tags: w.tags, duration_seconds: w.duration_seconds };
    apply_wrapup(&state, &cid, &pid, Some(&communication), wrapup)
}

/// `?permission=…&pageSize=…`.
#[derive(Debug, Deserialize)]
pub struct PermittedQuery {
    permission: String,
}

/// `GET /api/v2/authorization/divisionspermitted/paged/me?permission=…`: the divisions where the caller
/// holds the permission (the home division, unless the role lacks it), no permission needed.
pub async fn divisions_permitted(
    State(state): State<Shared>,
    axum::extract::Query(q): axum::extract::Query<PermittedQuery>,
) -> Response {
    let denied = state.settings().genesys_denied_permissions.contains(&q.permission);
    let org = state.genesys().org_id.clone();
    let entities = if denied { vec![] } else { vec![json!({"id": org, "name": "Home", "homeDivision": true})] };
    Json(json!({"entities": entities, "pageSize": 1, "pageNumber": 1, "total": entities.len()})).into_response()
}

/// Body of the attribute write.
#[derive(Debug, Deserialize)]
pub struct AttributesPatch {
    attributes: BTreeMap<String, String>,
}

/// `PATCH /api/v2/conversations[/{media}]/{cid}/participants/{pid}/attributes`: merges string
/// attributes into any participant of a conversation the caller is on (the customer's, typically).
async fn patch_attributes_of(
    state: Shared,
    caller: Caller,
    media: Option<String>,
    cid: String,
    pid: String,
    body: &[u8],
) -> Response {
    {
        let gs = state.genesys();
        let c = match visible_to(&gs, &caller, &cid) {
            Ok(c) => c,
            Err(r) => return r,
        };
        if media.is_some_and(|m| m != c.media.path()) {
            return not_found("conversation");
        }
    }
    if state.settings().genesys_attribute_writes_refused {
        return not_authorized("You are not authorized to update the attributes of this participant.");
    }
    let patch: AttributesPatch = match serde_json::from_slice(body) {
        Ok(p) => p,
        Err(e) => return bad_request(&format!("The request could not be understood: {e}")),
    };
    let mut gs = state.genesys();
    let Some(c) = gs.conversations.get_mut(&cid) else {
        return not_found("conversation");
    };
    if c.customer_participant_id == pid {
        c.attributes.extend(patch.attributes);
    } else if let Some(l) = c.leg_mut(&pid) {
        l.attributes.extend(patch.attributes);
    } else {
        return not_found("participant");
    }
    c.revision += 1;
    notifications::publish_conversation(&state, &mut gs, &cid);
    StatusCode::ACCEPTED.into_response()
}

/// `PATCH /api/v2/conversations/{media}/{cid}/participants/{pid}/attributes`.
pub async fn patch_media_attributes(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path((media, cid, pid)): Path<(String, String, String)>,
    body: axum::body::Bytes,
) -> Response {
    patch_attributes_of(state, caller, Some(media), cid, pid, &body).await
}

/// `PATCH /api/v2/conversations/{cid}/participants/{pid}/attributes`.
pub async fn patch_attributes(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Path((cid, pid)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Response {
    patch_attributes_of(state, caller, None, cid, pid, &body).await
}
