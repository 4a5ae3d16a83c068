//! What a snapshot says of this agent's segments: one per agent participant of the user (a transfer
//! back to the same agent is a new participant, so a new segment), each with its stage, kind, customer
//! address and wrap-up.

use super::model::{ConversationSnapshot, Media, Participant, Wrapup};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A stage of a segment, in the order they happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Transition {
    Alerting = 1,
    Connected = 2,
    Disconnected = 3,
    AfterCallWork = 4,
    WrapupSubmitted = 5,
}

impl Transition {
    pub(super) const ALL: [Transition; 5] = [
        Transition::Alerting,
        Transition::Connected,
        Transition::Disconnected,
        Transition::AfterCallWork,
        Transition::WrapupSubmitted,
    ];

    /// From the stored number.
    pub fn from_stage(n: i64) -> Option<Transition> {
        Transition::ALL.into_iter().find(|t| *t as i64 == n)
    }
}

/// How the segment reached this agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SegmentKind {
    /// Routed to the agent (queue or direct).
    #[default]
    Inbound,
    /// Handed over by another agent (blind or consult transfer).
    Transfer,
    /// The agent was consulted (the caller waits; may become a transfer or a conference).
    Consult,
    /// Back to this agent after it left them: a new segment of the same agent.
    TransferBack,
    /// The agent dialled the customer.
    Outbound,
    /// A callback the customer asked for.
    Callback,
}

impl SegmentKind {
    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            SegmentKind::Inbound => "inbound",
            SegmentKind::Transfer => "transfer",
            SegmentKind::Consult => "consult",
            SegmentKind::TransferBack => "transfer_back",
            SegmentKind::Outbound => "outbound",
            SegmentKind::Callback => "callback",
        }
    }

    /// From the stored name (an unknown one reads as inbound: rows written before kinds existed).
    pub fn parse(s: &str) -> SegmentKind {
        [
            SegmentKind::Transfer,
            SegmentKind::Consult,
            SegmentKind::TransferBack,
            SegmentKind::Outbound,
            SegmentKind::Callback,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
        .unwrap_or(SegmentKind::Inbound)
    }

    /// The agent placed the call (the customer is the dialled party).
    pub fn is_outbound(self) -> bool {
        matches!(self, SegmentKind::Outbound | SegmentKind::Callback)
    }
}

/// What kind of address the customer's is: how the pop looks it up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AddressKind {
    /// A phone number (`tel:+1…`): calls, callbacks, SMS, WhatsApp.
    #[default]
    Phone,
    /// An email address.
    Email,
    /// None in the media (a chat, web messaging, social): the flow's attributes may name one.
    None,
}

/// The key of a segment: `{conversation id}:{participant id}`. Globally unique; the conversation id
/// is read back from it by [`conversation_of`].
pub fn interaction_id(conversation_id: &str, participant_id: &str) -> String {
    format!("{conversation_id}:{participant_id}")
}

/// The conversation of an interaction id (rows written before segments existed are keyed by the
/// conversation id alone).
pub fn conversation_of(interaction_id: &str) -> &str {
    interaction_id.split_once(':').map_or(interaction_id, |(c, _)| c)
}

/// One segment as a snapshot shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SegmentView {
    /// The key everything local is stored under.
    pub interaction_id: String,
    pub conversation_id: String,
    /// The agent participant now carrying the segment (after an alert that timed out and rang again,
    /// a later participant than the one in the key).
    pub participant_id: String,
    /// The communication id, for the per-media wrap-up endpoint.
    pub communication_id: Option<String>,
    /// The customer participant (where the caller's identification is carried).
    pub customer_participant_id: Option<String>,
    pub media: Media,
    pub kind: SegmentKind,
    /// The customer's address: the caller's or dialled number (`tel:+1…`), the sender's email, the
    /// SMS or WhatsApp number; empty where the media carries none.
    pub ani: String,
    pub address_kind: AddressKind,
    /// A message's channel (`sms`, `whatsapp`, `webmessaging`, …).
    pub channel: Option<String>,
    /// The customer participant's attributes (IVR data, and what other agents' companions wrote).
    pub attributes: BTreeMap<String, String>,
    pub queue_id: Option<String>,
    pub wrapup: Option<Wrapup>,
    /// The furthest stage this snapshot shows.
    pub stage: Transition,
    /// The agent answered.
    pub answered: bool,
    /// After-call work applies.
    pub after_call_work: bool,
    /// On hold now.
    pub held: bool,
}

/// This agent's segments in a snapshot, oldest first. An unanswered participant followed by another
/// of the same agent (an alert that timed out and rang again) is one segment with it, so it pops once.
pub fn views(snap: &ConversationSnapshot, user_id: &str) -> Vec<SegmentView> {
    if snap.id.is_empty() {
        return vec![];
    }
    let mine: Vec<&Participant> = snap.agents_of(user_id).collect();
    let mut out = vec![];
    let mut carried_key: Option<String> = None;
    let mut answered_before = false;
    for (i, agent) in mine.iter().enumerate() {
        let key = carried_key.take().unwrap_or_else(|| agent.id.clone());
        let superseded = i + 1 < mine.len() && !agent.answered();
        if superseded {
            carried_key = Some(key);
            continue;
        }
        let kind = kind_of(snap, agent, user_id, answered_before);
        answered_before |= agent.answered();
        out.push(view_of(snap, agent, key, kind));
    }
    out
}

fn kind_of(snap: &ConversationSnapshot, agent: &Participant, user_id: &str, answered_before: bool) -> SegmentKind {
    let comm = agent.communication();
    if comm.is_some_and(|(m, _)| m == Media::Callback) {
        return SegmentKind::Callback;
    }
    let direction = comm.and_then(|(_, c)| c.direction.as_deref()).unwrap_or("");
    let initial = comm.and_then(|(_, c)| c.initial_state.as_deref()).unwrap_or("");
    if direction.eq_ignore_ascii_case("outbound") && (agent.purpose == "user" || initial == "dialing") {
        return SegmentKind::Outbound;
    }
    if agent.consult_participant_id.is_some() {
        return SegmentKind::Consult;
    }
    if answered_before {
        return SegmentKind::TransferBack;
    }
    let transferred_to_me = snap
        .recent_transfers
        .iter()
        .any(|t| t.destination.as_ref().and_then(|d| d.user_id.as_deref()) == Some(user_id));
    let another_agent_first = snap.participants.iter().any(|p| {
        p.purpose == "agent" && p.user_id.as_deref() != Some(user_id) && p.answered() && p.start_time < agent.start_time
    });
    if transferred_to_me || another_agent_first { SegmentKind::Transfer } else { SegmentKind::Inbound }
}

/// The customer's address and what kind it is, by media: a call's or callback's number; an email's
/// sender (the customer participant's `address`); an SMS or WhatsApp number (the customer's
/// `fromAddress`, or the agent's `toAddress` for one the agent sent); nothing for chats and other
/// messaging channels, whose ids are not contact details.
fn customer_address(snap: &ConversationSnapshot, agent: &Participant, kind: SegmentKind) -> (String, AddressKind) {
    let Some((media, comm)) = agent.communication() else {
        return (call_address(snap, agent, kind), AddressKind::Phone);
    };
    let customer = snap.customer();
    match media {
        Media::Call | Media::Callback => (call_address(snap, agent, kind), AddressKind::Phone),
        Media::Email => {
            let from_customer = customer.and_then(|c| c.address.clone()).filter(|a| a.contains('@'));
            let addr = from_customer.or_else(|| {
                let ours =
                    if comm.direction.as_deref() == Some("outbound") { &comm.to_address } else { &comm.from_address };
                ours.as_ref().and_then(|a| a.address_normalized.clone())
            });
            (addr.unwrap_or_default(), AddressKind::Email)
        }
        Media::Message if is_phone_channel(comm.message_type.as_deref()) => {
            let theirs = customer.and_then(|c| c.messages.last()).and_then(|m| m.from_address.as_ref());
            let addr = theirs
                .or(comm.to_address.as_ref().filter(|_| comm.direction.as_deref() == Some("outbound")))
                .and_then(|a| a.address_normalized.clone())
                .or_else(|| customer.and_then(|c| c.address.clone()))
                .filter(|a| !a.is_empty())
                .map(|a| tel(&a));
            (addr.unwrap_or_default(), AddressKind::Phone)
        }
        Media::Chat | Media::Message | Media::Other => (String::new(), AddressKind::None),
    }
}

/// Messaging channels whose address is a phone number.
fn is_phone_channel(t: Option<&str>) -> bool {
    t.is_some_and(|t| t.eq_ignore_ascii_case("sms") || t.eq_ignore_ascii_case("whatsapp"))
}

/// A call's customer: the far end of the agent's call (the dialled party of an outbound call), the
/// customer participant's address, or a callback's first number.
fn call_address(snap: &ConversationSnapshot, agent: &Participant, kind: SegmentKind) -> String {
    let customer = snap.customer();
    let far_end = agent.communication().and_then(|(_, c)| c.other.as_ref()).and_then(|o| o.address_normalized.clone());
    let number = |c: &Participant| {
        c.address
            .clone()
            .filter(|a| !a.is_empty())
            .or_else(|| c.communication().and_then(|(_, m)| m.callback_numbers.first().cloned()).map(|n| tel(&n)))
    };
    let from_agent = agent.communication().and_then(|(_, c)| c.callback_numbers.first().cloned()).map(|n| tel(&n));
    let found = if kind.is_outbound() {
        far_end.or_else(|| customer.and_then(number)).or(from_agent)
    } else {
        customer.and_then(number).or(from_agent).or(far_end)
    };
    found.unwrap_or_default()
}

/// A bare number as a `tel:` address.
fn tel(n: &str) -> String {
    if n.contains(':') { n.to_string() } else { format!("tel:{n}") }
}

fn view_of(snap: &ConversationSnapshot, agent: &Participant, key: String, kind: SegmentKind) -> SegmentView {
    let customer = snap.customer();
    let comm = agent.communication();
    let (ani, address_kind) = customer_address(snap, agent, kind);
    let state = comm.and_then(|(_, c)| c.state.as_deref()).map(str::to_ascii_lowercase);
    let answered = agent.answered();
    let acw_state = comm.and_then(|(_, c)| c.after_call_work.as_ref()).and_then(|a| a.state.as_deref()).unwrap_or("");
    let wrapup = agent.wrapup().cloned();
    let after_call_work =
        matches!(acw_state, "pending" | "complete") || (answered && agent.wrapup_required == Some(true));
    let ended = match state.as_deref() {
        Some("disconnected" | "terminated") => true,
        Some(_) => false,
        None => agent.end_time.is_some(),
    };
    let stage = if wrapup.is_some() {
        Transition::WrapupSubmitted
    } else if ended && after_call_work {
        Transition::AfterCallWork
    } else if ended {
        Transition::Disconnected
    } else if state.as_deref() == Some("connected") || (state.is_none() && answered) {
        Transition::Connected
    } else {
        Transition::Alerting
    };
    SegmentView {
        interaction_id: interaction_id(&snap.id, &key),
        conversation_id: snap.id.clone(),
        participant_id: agent.id.clone(),
        communication_id: comm.and_then(|(_, c)| c.id.clone()),
        customer_participant_id: customer.map(|c| c.id.clone()).filter(|id| !id.is_empty()),
        media: comm.map_or(Media::Call, |(m, _)| m),
        kind,
        ani,
        address_kind,
        channel: comm.and_then(|(_, c)| c.message_type.clone()).map(|t| t.to_ascii_lowercase()),
        attributes: customer.map(|c| c.attributes.clone()).unwrap_or_default(),
        queue_id: agent.queue_id.clone(),
        wrapup,
        stage,
        answered,
        after_call_work,
        held: comm.and_then(|(_, c)| c.held).unwrap_or(false),
    }
}
