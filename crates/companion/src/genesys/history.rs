//! The agent's past interactions, for the read-back of what was handled while the companion was
//! closed. Two lists, one per what the role may read:
//! - `POST /api/v2/analytics/conversations/details/query` (analytics:conversationDetail:view or
//!   analytics:agentConversationDetail:view): every media, and which of the agent's participants
//!   carry a wrap-up code, so only conversations with a wrap-up still to queue are read one by one;
//! - `GET /api/v2/conversations/calls/history` (no permission): calls only, without wrap-ups, so every
//!   call not yet settled is read.
//!
//! The wrap-up itself, the attributes and the ids the outbox needs come from
//! `GET /api/v2/conversations/{id}`, read into the same snapshot model as the feed's events.

use super::rest::{GenesysClient, GenesysError};
use serde_json::{Value, json};

/// The analytics query's largest page.
pub const ANALYTICS_PAGE: u32 = 100;
/// The call history's largest page.
pub const HISTORY_PAGE: u32 = 50;

/// Which list the read-back walks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HistorySource {
    /// The analytics details query: every media.
    Analytics,
    /// The user's call history: calls only.
    CallHistory,
}

/// One of the agent's past conversations, as a list shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct PastConversation {
    pub conversation_id: String,
    /// The conversation is over (analytics: `conversationEnd`; the call history lists only past calls).
    pub ended: bool,
    /// How many of the agent's participants have a wrap-up code; `None` when the list does not say.
    pub wrapups: Option<usize>,
}

/// A page of the list.
#[derive(Debug, Clone)]
pub struct HistoryPage {
    pub conversations: Vec<PastConversation>,
    /// Another page follows.
    pub more: bool,
}

/// An ISO-8601 interval `from/to` (ms since the epoch).
fn interval(from_ms: i64, to_ms: i64) -> String {
    let iso = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    };
    format!("{}/{}", iso(from_ms), iso(to_ms))
}

impl GenesysClient {
    /// A page (from 1) of the user's conversations started in `[from_ms, to_ms)`, oldest first.
    pub async fn past_conversations(
        &self,
        source: HistorySource,
        from_ms: i64,
        to_ms: i64,
        page: u32,
    ) -> Result<HistoryPage, GenesysError> {
        let user = self.user_id().ok_or_else(|| GenesysError::Unauthorized("not signed in".into()))?;
        match source {
            HistorySource::Analytics => {
                let body = json!({
                    "interval": interval(from_ms, to_ms),
                    "order": "asc",
                    "orderBy": "conversationStart",
                    "paging": {"pageSize": ANALYTICS_PAGE, "pageNumber": page},
                    "segmentFilters": [{"type": "and", "predicates": [
                        {"type": "dimension", "dimension": "userId", "operator": "matches", "value": user}
                    ]}],
                });
                let v = self
                    .send(reqwest::Method::POST, "/api/v2/analytics/conversations/details/query", Some(body))
                    .await?;
                Ok(read_details(&v, &user, page))
            }
            HistorySource::CallHistory => {
                let path = format!(
                    "/api/v2/conversations/calls/history?pageSize={HISTORY_PAGE}&pageNumber={page}&interval={}",
                    url::form_urlencoded::byte_serialize(interval(from_ms, to_ms).as_bytes()).collect::<String>()
                );
                let v = self.send(reqwest::Method::GET, &path, None).await?;
                Ok(read_history(&v, page))
            }
        }
    }
}

/// The analytics answer: `{conversations:[{conversationId, conversationEnd, participants:[{userId,
/// purpose, sessions:[{segments:[{wrapUpCode}]}]}]}], totalHits}`.
pub fn read_details(v: &Value, user_id: &str, page: u32) -> HistoryPage {
    let list = v.get("conversations").and_then(Value::as_array).cloned().unwrap_or_default();
    let conversations = list
        .iter()
        .filter_map(|c| {
            let id = c.get("conversationId")?.as_str()?.to_string();
            let wrapups = c
                .get("participants")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|p| p.get("userId").and_then(Value::as_str) == Some(user_id))
                .filter(|p| {
                    let segments = p
                        .get("sessions")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .flat_map(|s| s.get("segments").and_then(Value::as_array).into_iter().flatten());
                    segments.into_iter().any(|seg| seg.get("wrapUpCode").and_then(Value::as_str).is_some())
                })
                .count();
            Some(PastConversation {
                conversation_id: id,
                ended: c.get("conversationEnd").and_then(Value::as_str).is_some(),
                wrapups: Some(wrapups),
            })
        })
        .collect();
    let total = v.get("totalHits").and_then(Value::as_u64).unwrap_or(0);
    HistoryPage { conversations, more: u64::from(page) * u64::from(ANALYTICS_PAGE) < total && !list.is_empty() }
}

/// The call history's answer: `{entities:[{id, startTime, …}], pageCount}`.
pub fn read_history(v: &Value, page: u32) -> HistoryPage {
    let list = v.get("entities").and_then(Value::as_array).cloned().unwrap_or_default();
    let conversations = list
        .iter()
        .filter_map(|c| {
            Some(PastConversation { conversation_id: c.get("id")?.as_str()?.to_string(), ended: true, wrapups: None })
        })
        .collect();
    let page_count = v.get("pageCount").and_then(Value::as_u64);
    let more = match page_count {
        Some(n) => u64::from(page) < n,
        None => list.len() as u64 >= u64::from(HISTORY_PAGE),
    };
    HistoryPage { conversations, more: more && !list.is_empty() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_details_page_counts_only_this_users_wrapped_participants() {
        let v = json!({"totalHits": 150, "conversations": [
            {"conversationId": "c1", "conversationEnd": "2026-12-01T10:00:00.000Z", "participants": [
                {"userId": "me", "purpose": "agent", "sessions": [{"segments": [{"segmentType": "alert"}]}]},
                {"userId": "me", "purpose": "agent", "sessions": [{"segments": [{"segmentType": "wrapup", "wrapUpCode": "w1"}]}]},
                {"userId": "other", "purpose": "agent", "sessions": [{"segments": [{"wrapUpCode": "w2"}]}]}
            ]},
            {"conversationId": "c2", "participants": []},
            {"participants": []}
        ]});
        let p = read_details(&v, "me", 1);
        assert_eq!(p.conversations.len(), 2);
        assert_eq!(
            p.conversations[0],
            PastConversation { conversation_id: "c1".into(), ended: true, wrapups: Some(1) }
        );
        assert!(!p.conversations[1].ended);
        assert!(p.more, "100 of 150");
        assert!(!read_details(&v, "me", 2).more);
        let h = read_history(&json!({"entities": [{"id": "c9"}], "pageCount": 1}), 1);
        assert_eq!((h.conversations.len(), h.more), (1, false));
    }
}
