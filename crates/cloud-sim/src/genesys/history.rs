//! The agent's past interactions: the analytics conversation details query (every media, wrap-up
//! codes per segment, no attributes, data shown `analytics_latency_ms` after it happened, pages of at
//! most 100, an interval of at most 31 days) and the user's call history (calls only, no wrap-ups,
//! pages of at most 50, no permission needed).

use super::Caller;
use super::conversation::{AgentLeg, Conversation, Media};
use crate::clock::iso;
use crate::http::genesys_error;
use crate::state::Shared;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

/// The permissions either of which lets a role run the details query.
pub const ANALYTICS_PERMISSIONS: [&str; 2] =
    ["analytics:conversationDetail:view", "analytics:agentConversationDetail:view"];
const MAX_INTERVAL_MS: i64 = 31 * 86_400_000;

fn ts(ms: i64) -> String {
    iso(Utc.timestamp_millis_opt(ms).single().unwrap_or_else(Utc::now))
}

fn bad(message: &str) -> Response {
    genesys_error(StatusCode::BAD_REQUEST, "bad.request", message)
}

/// `from/to` in ISO-8601 → ms.
fn parse_interval(s: &str) -> Option<(i64, i64)> {
    let (a, b) = s.split_once('/')?;
    let from = DateTime::parse_from_rfc3339(a).ok()?.timestamp_millis();
    let to = DateTime::parse_from_rfc3339(b).ok()?.timestamp_millis();
    (from < to).then_some((from, to))
}

/// The details query's body (what the simulator reads of it).
#[derive(Debug, Deserialize)]
pub struct DetailsQuery {
    interval: Option<String>,
    #[serde(default)]
    paging: Option<PagingSpec>,
    #[serde(default, rename = "segmentFilters")]
    segment_filters: Vec<Filter>,
    #[serde(default)]
    order: Option<String>,
}

#[derive(Debug, Deserialize)]
struct PagingSpec {
    #[serde(rename = "pageSize")]
    page_size: Option<u32>,
    #[serde(rename = "pageNumber")]
    page_number: Option<u32>,
}

#[derive(Debug, Deserialize)]
struct Filter {
    #[serde(default)]
    predicates: Vec<Predicate>,
}

#[derive(Debug, Deserialize)]
struct Predicate {
    dimension: Option<String>,
    value: Option<String>,
}

/// `POST /api/v2/analytics/conversations/details/query`.
pub async fn details_query(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Json(q): Json<DetailsQuery>,
) -> Response {
    let denied = &state.settings().genesys_denied_permissions;
    if ANALYTICS_PERMISSIONS.iter().all(|p| denied.iter().any(|d| d == p)) {
        return genesys_error(
            StatusCode::FORBIDDEN,
            "missing.any.permissions",
            "Unable to perform the requested action. You must have at least one of the following permissions assigned: [analytics:conversationDetail:view, analytics:agentConversationDetail:view]",
        );
    }
    let Some((from, to)) = q.interval.as_deref().and_then(parse_interval) else {
        return bad("interval must be two ISO-8601 instants, start/end, start before end");
    };
    if to - from > MAX_INTERVAL_MS {
        return bad("The interval may not exceed 31 days.");
    }
    let size = q.paging.as_ref().and_then(|p| p.page_size).unwrap_or(25);
    let number = q.paging.as_ref().and_then(|p| p.page_number).unwrap_or(1);
    if !(1..=100).contains(&size) || number == 0 {
        return bad("paging.pageSize must be between 1 and 100, paging.pageNumber at least 1");
    }
    let user = q
        .segment_filters
        .iter()
        .flat_map(|f| &f.predicates)
        .find(|p| p.dimension.as_deref() == Some("userId"))
        .and_then(|p| p.value.clone());
    // An agent's permission shows their own conversations only.
    let user = user.unwrap_or_else(|| caller.user_id.clone());
    let visible_until = state.clock.now_ms() - state.settings().analytics_latency_ms as i64;
    let gs = state.genesys();
    let mut matching: Vec<&Conversation> = gs
        .conversations
        .values()
        .filter(|c| c.start_ms >= from && c.start_ms < to && c.start_ms <= visible_until)
        .filter(|c| c.legs.iter().any(|l| l.visible && l.user_id == user && l.alert_ms <= visible_until))
        .collect();
    matching.sort_by(|a, b| a.start_ms.cmp(&b.start_ms).then(a.id.cmp(&b.id)));
    if q.order.as_deref() == Some("desc") {
        matching.reverse();
    }
    let total = matching.len();
    let page: Vec<Value> = matching
        .iter()
        .skip(((number - 1) * size) as usize)
        .take(size as usize)
        .map(|c| details(c, visible_until))
        .collect();
    if page.is_empty() {
        return Json(json!({"totalHits": total})).into_response();
    }
    Json(json!({"conversations": page, "totalHits": total})).into_response()
}

/// A conversation as the details query shows it, as of `until`.
fn details(c: &Conversation, until: i64) -> Value {
    let media = c.media.analytics_type();
    let mut participants = vec![json!({
        "participantId": c.customer_participant_id, "participantName": c.customer_name,
        "purpose": if c.direction == super::conversation::Direction::Outbound && c.media == Media::Call { "external" } else { "customer" },
        "sessions": [{"mediaType": media, "sessionId": c.customer_call_id, "direction": c.direction.as_str(),
            "segments": [{"segmentStart": ts(c.start_ms), "segmentType": "interact"}]}],
    })];
    participants.extend(c.legs.iter().filter(|l| l.visible && l.alert_ms <= until).map(|l| agent(c, l, until)));
    let mut v = json!({
        "conversationId": c.id,
        "conversationStart": ts(c.start_ms),
        "originatingDirection": c.direction.as_str(),
        "divisionIds": [],
        "participants": participants,
    });
    if let Some(end) = c.end_ms.filter(|e| *e <= until) {
        v["conversationEnd"] = json!(ts(end));
    }
    v
}

fn agent(c: &Conversation, l: &AgentLeg, until: i64) -> Value {
    let seen = |ms: Option<i64>| ms.filter(|m| *m <= until);
    let mut segments = vec![];
    let answered = seen(l.connected_ms);
    let alert_end = answered.or(seen(l.disconnected_ms));
    let mut alert = json!({"segmentStart": ts(l.alert_ms), "segmentType": "alert", "queueId": l.queue_id});
    if let Some(e) = alert_end {
        alert["segmentEnd"] = json!(ts(e));
    }
    segments.push(alert);
    if let Some(start) = answered {
        let mut talk = json!({"segmentStart": ts(start), "segmentType": "interact", "queueId": l.queue_id});
        if let Some(e) = seen(l.disconnected_ms) {
            talk["segmentEnd"] = json!(ts(e));
            talk["disconnectType"] = json!(l.disconnect_type.unwrap_or("endpoint"));
        }
        segments.push(talk);
    }
    if let Some((w, at)) = l.wrapup.as_ref().filter(|(_, at)| *at <= until) {
        let start = l.acw_start_ms.unwrap_or(*at);
        segments.push(json!({"segmentStart": ts(start), "segmentEnd": ts(*at), "segmentType": "wrapup",
            "queueId": l.queue_id, "wrapUpCode": w.code, "wrapUpNote": w.notes}));
    }
    json!({
        "participantId": l.participant_id, "participantName": l.user_name, "purpose": l.purpose, "userId": l.user_id,
        "sessions": [{"mediaType": c.media.analytics_type(), "sessionId": l.call_id, "direction": l.direction.as_str(),
            "segments": segments}],
    })
}

/// `?pageSize=…&pageNumber=…&interval=…`.
#[derive(Debug, Deserialize)]
pub struct HistoryQuery {
    #[serde(rename = "pageSize")]
    page_size: Option<u32>,
    #[serde(rename = "pageNumber")]
    page_number: Option<u32>,
    interval: Option<String>,
}

/// `GET /api/v2/conversations/calls/history`: the caller's past calls (voice and callbacks), newest
/// first, without wrap-ups.
pub async fn call_history(
    State(state): State<Shared>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<HistoryQuery>,
) -> Response {
    let size = q.page_size.unwrap_or(25);
    let number = q.page_number.unwrap_or(1);
    if !(1..=50).contains(&size) || number == 0 {
        return bad("pageSize must be between 1 and 50, pageNumber at least 1");
    }
    let interval = match q.interval.as_deref() {
        Some(i) => match parse_interval(i) {
            Some(iv) => Some(iv),
            None => return bad("interval must be two ISO-8601 instants, start/end"),
        },
        None => None,
    };
    let gs = state.genesys();
    let mut calls: Vec<&Conversation> = gs
        .conversations
        .values()
        .filter(|c| matches!(c.media, Media::Call | Media::Callback) && c.involves_user(&caller.user_id))
        .filter(|c| !c.is_active())
        .filter(|c| interval.is_none_or(|(from, to)| c.start_ms >= from && c.start_ms < to))
        .collect();
    calls.sort_by(|a, b| b.start_ms.cmp(&a.start_ms).then(a.id.cmp(&b.id)));
    let total = calls.len();
    let page_count = total.div_ceil(size as usize).max(1);
    let entities: Vec<Value> = calls
        .iter()
        .skip(((number - 1) * size) as usize)
        .take(size as usize)
        .map(|c| {
            let mine = c.legs.iter().filter(|l| l.visible && l.user_id == caller.user_id);
            json!({
                "id": c.id, "direction": c.direction.as_str(), "startTime": ts(c.start_ms),
                "missedCall": !c.legs.iter().any(|l| l.user_id == caller.user_id && l.connected_ms.is_some()),
                "participants": mine.map(|l| json!({"purpose": l.purpose, "ani": c.ani, "dnis": c.dnis,
                    "user": {"id": l.user_id, "name": l.user_name}})).collect::<Vec<_>>(),
                "selfUri": format!("/api/v2/conversations/calls/{}", c.id),
            })
        })
        .collect();
    Json(json!({"entities": entities, "pageSize": size, "pageNumber": number, "total": total, "pageCount": page_count}))
        .into_response()
}
