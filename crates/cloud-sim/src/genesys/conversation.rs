//! A simulated conversation: a customer, the IVR and queue, and every agent participant (segment) it
//! reaches — transfers, consults, conferences and transfers back add participants, as in Genesys
//! Cloud — moved along by a plan of steps. The snapshots are in `snapshot.rs`.

use super::flow::{Action, Step};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where a conversation is in its life, as the control API reports it (the newest agent leg's view).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// An agent participant is alerting that will time out (another one follows).
    EarlierAlerting,
    /// An agent's phone is ringing (or dialling, for an outbound call).
    Alerting,
    /// An agent and the customer are talking.
    Connected,
    /// The newest agent leg ended; after-call work is pending.
    AfterCallWork,
    /// Every wrap-up is in, or the caller gave up while it rang.
    Done,
}

/// Inbound or outbound, as `calls[].direction` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

impl Direction {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }
}

/// The media of the conversation: which list of each participant holds its entry (`calls[]`,
/// `callbacks[]`, `chats[]`, `emails[]`, `messages[]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Media {
    Call,
    Callback,
    Chat,
    Email,
    Message,
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
        }
    }

    /// Analytics' `mediaType`.
    pub fn analytics_type(self) -> &'static str {
        match self {
            Media::Call => "voice",
            Media::Callback => "callback",
            Media::Chat => "chat",
            Media::Email => "email",
            Media::Message => "message",
        }
    }
}

/// What a test or scenario asks for: the media, and a message's channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// A voice call (or a callback, by the flow).
    #[default]
    Voice,
    /// A web chat: no address in the media; the customer's details in `context.*` attributes.
    Chat,
    /// An email: the customer participant's `address` is the sender.
    Email,
    /// An SMS: `messages[].type = sms`, the number in `fromAddress`.
    Sms,
    /// WhatsApp: like SMS.
    Whatsapp,
    /// Web messaging: the customer is an opaque id; details in attributes.
    WebMessaging,
}

impl Channel {
    /// The conversation's media.
    pub fn media(self) -> Media {
        match self {
            Channel::Voice => Media::Call,
            Channel::Chat => Media::Chat,
            Channel::Email => Media::Email,
            Channel::Sms | Channel::Whatsapp | Channel::WebMessaging => Media::Message,
        }
    }

    /// `messages[].type`.
    pub fn message_type(self) -> Option<&'static str> {
        match self {
            Channel::Sms => Some("sms"),
            Channel::Whatsapp => Some("whatsapp"),
            Channel::WebMessaging => Some("webmessaging"),
            _ => None,
        }
    }
}

/// The wrap-up an agent assigns.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Wrapup {
    /// The wrap-up code id.
    pub code: String,
    /// Free text.
    #[serde(default)]
    pub notes: String,
    /// Tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Seconds spent in wrap-up.
    #[serde(default, rename = "durationSeconds")]
    pub duration_seconds: Option<u64>,
}

/// One agent participant: one segment of one agent.
#[derive(Debug, Clone)]
pub struct AgentLeg {
    pub participant_id: String,
    /// The communication id (`calls[].id` or `callbacks[].id`), used by the per-media wrap-up endpoint.
    pub call_id: String,
    pub user_id: String,
    pub user_name: String,
    /// `agent` for ACD and transferred legs, `user` for a call the agent placed.
    pub purpose: &'static str,
    pub direction: Direction,
    /// `alerting`, or `dialing` for an outbound call.
    pub initial_state: &'static str,
    /// The queue that routed it, if any.
    pub queue_id: Option<String>,
    /// Alerted yet (a leg exists in snapshots from its first alert on).
    pub visible: bool,
    pub alert_ms: i64,
    pub connected_ms: Option<i64>,
    pub held: bool,
    pub disconnected_ms: Option<i64>,
    pub disconnect_type: Option<&'static str>,
    pub acw_start_ms: Option<i64>,
    pub acw_end_ms: Option<i64>,
    pub wrapup: Option<(Wrapup, i64)>,
    /// The wrap-up this simulated agent will enter (none: it comes through the API, or never).
    pub planned_wrapup: Option<Wrapup>,
    /// For a consult leg: the participant being transferred (the customer).
    pub consult_participant_id: Option<String>,
    pub attributes: BTreeMap<String, String>,
}

impl AgentLeg {
    /// After-call work is pending: ended after an answer, no wrap-up yet.
    pub fn in_after_call_work(&self) -> bool {
        self.acw_start_ms.is_some() && self.wrapup.is_none()
    }

    /// Nothing more will happen to this leg.
    pub fn finished(&self) -> bool {
        self.disconnected_ms.is_some() && !self.in_after_call_work()
    }

    fn end(&mut self, now: i64, kind: &'static str) {
        if self.disconnected_ms.is_some() || !self.visible {
            return;
        }
        self.disconnected_ms = Some(now);
        self.disconnect_type = Some(kind);
        self.held = false;
        if self.connected_ms.is_some() {
            self.acw_start_ms = Some(now);
        }
    }
}

/// An entry of `recentTransfers`.
#[derive(Debug, Clone)]
pub struct Transfer {
    pub id: String,
    /// pending | active | complete | canceled | failed | timeout
    pub state: &'static str,
    /// attended | unattended
    pub transfer_type: &'static str,
    pub initiator_user_id: String,
    pub destination_user_id: String,
    pub issued_ms: i64,
}

/// A conversation between a customer and the seeded agents.
#[derive(Debug, Clone)]
pub struct Conversation {
    pub id: String,
    pub start_ms: i64,
    pub direction: Direction,
    pub media: Media,
    /// A message's channel (`sms`, `whatsapp`, `webmessaging`).
    pub message_type: Option<&'static str>,
    /// An email's subject.
    pub subject: Option<String>,
    /// When the conversation ended (every leg finished), for analytics and its data latency.
    pub end_ms: Option<i64>,
    /// The customer's address as Genesys shows it (`tel:+1…`, `sip:anonymous@…`, or anything a test
    /// sends): the caller of an inbound call, the dialled party of an outbound one.
    pub ani: String,
    pub dnis: String,
    pub customer_name: String,
    pub customer_participant_id: String,
    pub customer_call_id: String,
    pub ivr_participant_id: String,
    pub acd_participant_id: String,
    pub queue_id: String,
    pub queue_name: String,
    /// The customer participant's attributes (the IVR's data, and whatever clients write).
    pub attributes: BTreeMap<String, String>,
    /// Written on the customer when the first agent answers (what that agent's desktop writes).
    pub attributes_on_answer: BTreeMap<String, String>,
    /// Agent participants, in the order they were created.
    pub legs: Vec<AgentLeg>,
    pub recent_transfers: Vec<Transfer>,
    pub customer_end_ms: Option<i64>,
    /// What happens next, and when.
    pub plan: Vec<Step>,
    pub next_step: usize,
    /// Snapshot counter, for tests that look at ordering.
    pub revision: u64,
}

impl Conversation {
    /// True until every wrap-up is in (or the caller abandoned).
    pub fn is_active(&self) -> bool {
        self.customer_end_ms.is_none() || self.legs.iter().any(|l| l.visible && !l.finished())
    }

    /// The user has (had) a visible participant here.
    pub fn involves_user(&self, user_id: &str) -> bool {
        self.legs.iter().any(|l| l.visible && l.user_id == user_id)
    }

    /// The users to notify: everyone with a visible participant.
    pub fn users(&self) -> Vec<String> {
        let mut users: Vec<String> = self.legs.iter().filter(|l| l.visible).map(|l| l.user_id.clone()).collect();
        users.sort();
        users.dedup();
        users
    }

    /// A visible leg by participant id.
    pub fn leg(&self, participant_id: &str) -> Option<&AgentLeg> {
        self.legs.iter().find(|l| l.visible && l.participant_id == participant_id)
    }

    /// A visible leg by participant id, to change.
    pub fn leg_mut(&mut self, participant_id: &str) -> Option<&mut AgentLeg> {
        self.legs.iter_mut().find(|l| l.visible && l.participant_id == participant_id)
    }

    /// The phase the control API reports.
    pub fn phase(&self) -> Phase {
        if !self.is_active() {
            return Phase::Done;
        }
        let Some(last) = self.legs.iter().rev().find(|l| l.visible) else {
            return Phase::Alerting;
        };
        if last.disconnected_ms.is_none() && last.connected_ms.is_none() {
            let times_out = self.plan[self.next_step..]
                .iter()
                .flat_map(|s| &s.actions)
                .any(|a| matches!(a, Action::TimeOut(i) if self.legs[*i].participant_id == last.participant_id));
            return if times_out { Phase::EarlierAlerting } else { Phase::Alerting };
        }
        if last.disconnected_ms.is_none() {
            return Phase::Connected;
        }
        if self.legs.iter().any(AgentLeg::in_after_call_work) {
            return Phase::AfterCallWork;
        }
        Phase::Connected
    }

    /// The next step, if the plan has one.
    pub fn pending_step(&self) -> Option<&Step> {
        self.plan.get(self.next_step)
    }

    /// The leg whose wrap-up the next step waits for, when this simulated agent enters none (it comes
    /// through the API, or never).
    pub fn waits_for_wrapup(&self) -> Option<usize> {
        self.pending_step()?.actions.iter().find_map(|a| match a {
            Action::Wrapup(i) if self.legs[*i].wrapup.is_none() && self.legs[*i].planned_wrapup.is_none() => Some(*i),
            _ => None,
        })
    }

    /// Takes the next step of the plan. `fallback` is the wrap-up entered when a step waits for one
    /// that was not planned (a manual step out of after-call work). Returns false when the plan is over.
    pub fn step(&mut self, now: i64, fallback: impl Fn() -> Wrapup) -> bool {
        let Some(step) = self.plan.get(self.next_step).cloned() else {
            return false;
        };
        self.next_step += 1;
        for action in step.actions {
            self.apply(now, action, &fallback);
        }
        self.revision += 1;
        self.note_end(now);
        true
    }

    /// Records when the conversation ended, the first time it is seen over.
    fn note_end(&mut self, now: i64) {
        if self.end_ms.is_none() && !self.is_active() {
            self.end_ms = Some(now);
        }
    }

    fn apply(&mut self, now: i64, action: Action, fallback: &impl Fn() -> Wrapup) {
        match action {
            Action::Alert(i) => {
                let l = &mut self.legs[i];
                l.visible = true;
                l.alert_ms = now;
            }
            Action::TimeOut(i) => self.legs[i].end(now, "timeout"),
            Action::Connect(i) => {
                let first_answer = !self.legs.iter().any(|l| l.connected_ms.is_some());
                let l = &mut self.legs[i];
                if l.visible && l.disconnected_ms.is_none() {
                    l.connected_ms = Some(now);
                    if first_answer {
                        let written = std::mem::take(&mut self.attributes_on_answer);
                        self.attributes.extend(written);
                    }
                }
            }
            Action::Hold(i, held) => self.legs[i].held = held,
            Action::Disconnect(i, kind) => self.legs[i].end(now, kind),
            Action::Transfer { from, to, attended } => {
                let id = format!("{}-t{}", self.id, self.recent_transfers.len() + 1);
                let (initiator, destination) = (self.legs[from].user_id.clone(), self.legs[to].user_id.clone());
                self.recent_transfers.push(Transfer {
                    id,
                    state: "complete",
                    transfer_type: if attended { "attended" } else { "unattended" },
                    initiator_user_id: initiator,
                    destination_user_id: destination,
                    issued_ms: now,
                });
                self.legs[from].end(now, if attended { "transfer.consult" } else { "transfer" });
                if !self.legs[to].visible {
                    self.apply(now, Action::Alert(to), fallback);
                }
            }
            Action::CustomerHangup => {
                for l in self.legs.iter_mut().filter(|l| l.visible) {
                    l.end(now, "peer");
                }
                self.customer_end_ms.get_or_insert(now);
            }
            Action::Abandon => {
                if self.legs.iter().any(|l| l.connected_ms.is_some()) {
                    return;
                }
                for l in self.legs.iter_mut().filter(|l| l.visible) {
                    l.end(now, "peer");
                }
                self.customer_end_ms.get_or_insert(now);
                // Nothing else happens to a call nobody answered.
                self.next_step = self.plan.len();
            }
            Action::Wrapup(i) => {
                if self.legs[i].in_after_call_work() {
                    let w = self.legs[i].planned_wrapup.clone().unwrap_or_else(fallback);
                    self.submit_wrapup(i, now, w);
                }
            }
        }
    }

    /// Records an agent's wrap-up and ends that leg's after-call work.
    pub fn submit_wrapup(&mut self, leg: usize, now: i64, mut w: Wrapup) {
        let l = &mut self.legs[leg];
        let start = l.acw_start_ms.unwrap_or(now);
        if w.duration_seconds.is_none() {
            w.duration_seconds = Some(((now - start).max(0) / 1000) as u64);
        }
        l.wrapup = Some((w, now));
        l.acw_end_ms = Some(now);
        self.note_end(now);
    }

    /// The index of a visible leg of `user_id` with this participant id: `Some(true)` when it is the
    /// user's own, `Some(false)` when it is another agent's.
    pub fn agent_participant_of(&self, user_id: &str, participant_id: &str) -> Option<bool> {
        self.leg(participant_id).map(|l| l.user_id == user_id)
    }
}
