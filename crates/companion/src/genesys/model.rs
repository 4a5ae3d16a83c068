//! The conversation snapshot, read tolerantly: unknown fields are ignored, missing ones are empty, and
//! attribute values of any JSON type are kept as text.

use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

/// A conversation as the notification topic and `GET /api/v2/conversations` show it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConversationSnapshot {
    pub id: String,
    pub participants: Vec<Participant>,
}

/// One participant.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Participant {
    pub id: String,
    pub purpose: String,
    pub user_id: Option<String>,
    pub address: Option<String>,
    pub start_time: Option<String>,
    pub connected_time: Option<String>,
    pub end_time: Option<String>,
    pub wrapup_required: Option<bool>,
    pub wrapup: Option<Wrapup>,
    #[serde(deserialize_with = "text_map")]
    pub attributes: BTreeMap<String, String>,
    pub calls: Vec<CallMedia>,
}

/// A call leg of a participant.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct CallMedia {
    pub state: Option<String>,
    pub after_call_work: Option<AfterCallWork>,
    pub connected_time: Option<String>,
    pub disconnected_time: Option<String>,
    pub wrapup: Option<Wrapup>,
}

/// After-call work.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AfterCallWork {
    pub state: Option<String>,
}

/// The wrap-up in events: `{code, notes, tags, durationSeconds, endTime}`.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct Wrapup {
    pub code: Option<String>,
    pub notes: Option<String>,
    pub duration_seconds: Option<u64>,
    pub end_time: Option<String>,
}

fn text_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    let raw: Option<BTreeMap<String, serde_json::Value>> = Option::deserialize(d)?;
    Ok(raw
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| {
            let s = match v {
                serde_json::Value::String(s) => s,
                serde_json::Value::Null => String::new(),
                other => other.to_string(),
            };
            (k, s)
        })
        .collect())
}

impl ConversationSnapshot {
    /// This user's latest agent participant: an earlier one that timed out is ignored.
    pub fn agent_of(&self, user_id: &str) -> Option<&Participant> {
        self.participants
            .iter()
            .enumerate()
            .filter(|(_, p)| matches!(p.purpose.as_str(), "agent" | "user") && p.user_id.as_deref() == Some(user_id))
            .max_by(|(i, a), (j, b)| a.start_time.cmp(&b.start_time).then(i.cmp(j)))
            .map(|(_, p)| p)
    }

    /// The customer (or external) participant.
    pub fn customer(&self) -> Option<&Participant> {
        self.participants
            .iter()
            .find(|p| p.purpose == "customer")
            .or_else(|| self.participants.iter().find(|p| p.purpose == "external"))
    }
}

impl Participant {
    /// The wrap-up, on the participant or its call.
    pub fn wrapup(&self) -> Option<&Wrapup> {
        self.wrapup.as_ref().or_else(|| self.calls.iter().find_map(|c| c.wrapup.as_ref()))
    }
}
