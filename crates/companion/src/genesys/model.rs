//! The conversation snapshot, read tolerantly: unknown fields are ignored, missing ones are empty, and
//! attribute values of any JSON type are kept as text.

use serde::{Deserialize, Deserializer, Serialize};
use std::collections::BTreeMap;

/// A conversation as the notification topic and `GET /api/v2/conversations` show it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConversationSnapshot {
    pub id: String,
    pub participants: Vec<Participant>,
    pub recent_transfers: Vec<RecentTransfer>,
}

/// An entry of `recentTransfers`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct RecentTransfer {
    /// pending | active | complete | canceled | failed | timeout | unknown
    pub state: Option<String>,
    /// attended | unattended
    pub transfer_type: Option<String>,
    pub initiator: Option<UserRef>,
    pub destination: Option<UserRef>,
}

/// `{userId}` in a transfer.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserRef {
    pub user_id: Option<String>,
}

/// One participant.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Participant {
    pub id: String,
    pub purpose: String,
    pub user_id: Option<String>,
    pub name: Option<String>,
    pub queue_id: Option<String>,
    /// On a consult leg: the participant being transferred.
    pub consult_participant_id: Option<String>,
    pub address: Option<String>,
    pub start_time: Option<String>,
    pub connected_time: Option<String>,
    pub end_time: Option<String>,
    pub wrapup_required: Option<bool>,
    pub wrapup: Option<Wrapup>,
    #[serde(deserialize_with = "text_map")]
    pub attributes: BTreeMap<String, String>,
    pub calls: Vec<Communication>,
    pub callbacks: Vec<Communication>,
    pub chats: Vec<Communication>,
    pub emails: Vec<Communication>,
    pub messages: Vec<Communication>,
    /// Media the companion does not handle: listed as such, never tracked as a call.
    pub videos: Vec<Communication>,
    pub screenshares: Vec<Communication>,
    pub cobrowsesessions: Vec<Communication>,
    pub social_expressions: Vec<Communication>,
}

/// The media of a communication. `Other` is a video, screen share, co-browse or social expression:
/// shown in the list of interactions as not handled, never popped and never queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Media {
    #[default]
    Call,
    Callback,
    Chat,
    Email,
    Message,
    Other,
}

impl Media {
    /// The path segment of the per-media endpoints (`/api/v2/conversations/{media}/…`).
    pub fn path(self) -> &'static str {
        match self {
            Media::Call => "calls",
            Media::Callback => "callbacks",
            Media::Chat => "chats",
            Media::Email => "emails",
            Media::Message => "messages",
            Media::Other => "",
        }
    }

    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Media::Call => "call",
            Media::Callback => "callback",
            Media::Chat => "chat",
            Media::Email => "email",
            Media::Message => "message",
            Media::Other => "other",
        }
    }

    /// From the stored name (rows from before media were recorded are calls).
    pub fn parse(s: &str) -> Media {
        [Media::Callback, Media::Chat, Media::Email, Media::Message, Media::Other]
            .into_iter()
            .find(|m| m.as_str() == s)
            .unwrap_or(Media::Call)
    }

    /// The companion pops it and queues its wrap-up.
    pub fn is_handled(self) -> bool {
        self != Media::Other
    }
}

/// One communication of a participant: a `calls[]`, `callbacks[]`, `chats[]`, `emails[]` or
/// `messages[]` entry (each has fields the others lack; absent ones read as empty).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Communication {
    pub id: Option<String>,
    pub state: Option<String>,
    pub initial_state: Option<String>,
    /// inbound | outbound
    pub direction: Option<String>,
    pub held: Option<bool>,
    pub disconnect_type: Option<String>,
    pub after_call_work: Option<AfterCallWork>,
    pub connected_time: Option<String>,
    pub disconnected_time: Option<String>,
    pub wrapup: Option<Wrapup>,
    /// The far end of a call (`addressNormalized`: `tel:+1…`).
    pub other: Option<Address>,
    /// A callback's numbers to call.
    pub callback_numbers: Vec<String>,
    /// A message's channel: `sms`, `whatsapp`, `webmessaging`, `facebook`, … (`messages[].type`).
    #[serde(rename = "type")]
    pub message_type: Option<String>,
    /// A message's addresses (the customer's number for SMS and WhatsApp).
    pub from_address: Option<Address>,
    pub to_address: Option<Address>,
    /// An email's subject.
    pub subject: Option<String>,
}

/// An address of a call's end.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Address {
    pub address_normalized: Option<String>,
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
    /// This user's agent participants, in the order they started.
    pub fn agents_of<'a>(&'a self, user_id: &'a str) -> impl Iterator<Item = &'a Participant> + 'a {
        let mut mine: Vec<(usize, &Participant)> = self
            .participants
            .iter()
            .enumerate()
            .filter(|(_, p)| matches!(p.purpose.as_str(), "agent" | "user") && p.user_id.as_deref() == Some(user_id))
            .collect();
        mine.sort_by(|(i, a), (j, b)| a.start_time.cmp(&b.start_time).then(i.cmp(j)));
        mine.into_iter().map(|(_, p)| p)
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
    /// The participant's communication: the latest entry of the first media list that has one.
    pub fn communication(&self) -> Option<(Media, &Communication)> {
        [
            (Media::Call, &self.calls),
            (Media::Callback, &self.callbacks),
            (Media::Chat, &self.chats),
            (Media::Email, &self.emails),
            (Media::Message, &self.messages),
            (Media::Other, &self.videos),
            (Media::Other, &self.screenshares),
            (Media::Other, &self.cobrowsesessions),
            (Media::Other, &self.social_expressions),
        ]
        .into_iter()
        .find_map(|(m, list)| list.last().map(|c| (m, c)))
    }

    /// The wrap-up, on the participant or its communication.
    pub fn wrapup(&self) -> Option<&Wrapup> {
        self.wrapup.as_ref().or_else(|| self.communication().and_then(|(_, c)| c.wrapup.as_ref()))
    }

    /// The agent answered.
    pub fn answered(&self) -> bool {
        self.connected_time.is_some() || self.communication().is_some_and(|(_, c)| c.connected_time.is_some())
    }
}
