//! Placing calls: one call with chosen timing (or stepped by hand), and scenarios that place many
//! calls at a rate with a repeat-caller distribution, as a contact center sees them.

mod mix;
mod place;

pub(crate) use mix::start_scenario;
pub use mix::{CarryKeys, ScenarioError, ScenarioSpec, choose_caller, choose_flow};
pub(crate) use place::place_call;

use crate::data::CallerKind;
use crate::genesys::conversation::Channel;
use crate::genesys::flow::Flow;
use crate::state::Shared;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use tokio::sync::mpsc;

/// The wrap-up a simulated agent enters in Genesys.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WrapupSpec {
    /// A wrap-up code id or name; a random code when absent.
    #[serde(default)]
    pub code: Option<String>,
    /// Notes.
    #[serde(default)]
    pub notes: Option<String>,
}

/// `POST /_sim/calls`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallSpec {
    /// The customer's address (`tel:+14155551212`, `sip:anonymous@…`, or anything at all).
    pub ani: String,
    /// Participant data the IVR set on the customer.
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
    /// The agent (user id or e-mail); the first seeded agent when absent.
    #[serde(default)]
    pub user: Option<String>,
    /// The caller's name on the customer participant.
    #[serde(default)]
    pub customer_name: Option<String>,
    /// The wrap-up entered in Genesys at the end of after-call work (random when absent).
    #[serde(default)]
    pub wrapup: Option<WrapupSpec>,
    /// Leave the call in after-call work: the wrap-up comes from the participant PATCH, or never.
    #[serde(default)]
    pub skip_wrapup: bool,
    /// Ringing time.
    #[serde(default = "default_ring")]
    pub ring_ms: u64,
    /// Talk time.
    #[serde(default = "default_talk")]
    pub talk_ms: u64,
    /// After-call work time.
    #[serde(default = "default_acw")]
    pub acw_ms: u64,
    /// Steps only on `POST /_sim/calls/{id}/advance`.
    #[serde(default)]
    pub manual: bool,
    /// The caller hangs up while it rings.
    #[serde(default)]
    pub abandon: bool,
    /// Alert an earlier agent participant first, which times out; by the quirk rate when absent
    /// (inbound flows only).
    #[serde(default)]
    pub timed_out_agent: Option<bool>,
    /// What happens: a plain inbound call, a transfer, a consult, a conference, a transfer back, an
    /// outbound call or a callback.
    #[serde(default)]
    pub flow: Flow,
    /// Voice (default), chat, email, sms, whatsapp or web_messaging. For a chat or web messaging the
    /// `ani` goes in the customer's `context.email` or `context.phoneNumber` attribute, as a web chat
    /// form sets it.
    #[serde(default)]
    pub channel: Channel,
    /// The second agent of a transfer, consult or conference (user id or e-mail); the next seeded
    /// agent when absent.
    #[serde(default)]
    pub second_user: Option<String>,
    /// Attributes written on the customer participant when the first agent answers: what that agent's
    /// desktop writes (e.g. the record it identified), for the next agent to find.
    #[serde(default)]
    pub attributes_on_answer: BTreeMap<String, String>,
}

fn default_ring() -> u64 {
    2_000
}
fn default_talk() -> u64 {
    8_000
}
fn default_acw() -> u64 {
    3_000
}

impl CallSpec {
    /// A call from this number with default timing.
    pub fn from_ani(ani: impl Into<String>) -> CallSpec {
        CallSpec {
            ani: ani.into(),
            attributes: BTreeMap::new(),
            user: None,
            customer_name: None,
            wrapup: None,
            skip_wrapup: false,
            ring_ms: default_ring(),
            talk_ms: default_talk(),
            acw_ms: default_acw(),
            manual: false,
            abandon: false,
            timed_out_agent: None,
            flow: Flow::Plain,
            second_user: None,
            attributes_on_answer: BTreeMap::new(),
            channel: Channel::Voice,
        }
    }
}

/// One agent participant of a placed call.
#[derive(Debug, Clone, Serialize)]
pub struct PlacedLeg {
    pub participant_id: String,
    /// The communication id (`calls[].id` / `callbacks[].id`).
    pub communication_id: String,
    pub user_id: String,
}

/// What the simulator knows of a placed call.
#[derive(Debug, Clone, Serialize)]
pub struct PlacedCall {
    pub conversation_id: String,
    /// The first agent participant of the flow (after an earlier one that timed out, if any).
    pub agent_participant_id: String,
    /// Every agent participant the flow uses, in the order they alert (the timed-out one excluded).
    pub legs: Vec<PlacedLeg>,
    /// An earlier participant of the first agent that alerted and timed out, if any.
    pub timed_out_participant_id: Option<String>,
    pub flow: Flow,
    pub customer_participant_id: String,
    pub user_id: String,
    /// For scenario calls: which kind of caller, and which records a correct pop offers.
    pub caller_kind: Option<CallerKind>,
    pub expected: Vec<String>,
}

/// Progress of a scenario.
#[derive(Debug, Clone, Serialize, Default)]
pub struct ScenarioProgress {
    pub id: String,
    pub calls: u32,
    pub placed: u32,
    pub finished: u32,
    pub done: bool,
    pub conversation_ids: Vec<String>,
}

/// Placed calls, their step switches, and running scenarios.
#[derive(Debug, Default)]
pub struct CallRegistry {
    calls: Mutex<HashMap<String, (PlacedCall, mpsc::UnboundedSender<()>)>>,
    scenarios: Mutex<HashMap<String, ScenarioProgress>>,
}

impl CallRegistry {
    /// A placed call.
    pub fn get(&self, id: &str) -> Option<PlacedCall> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).get(id).map(|(c, _)| c.clone())
    }

    /// Steps a call; false when it is unknown or finished.
    pub fn advance(&self, id: &str) -> bool {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).get(id).is_some_and(|(_, tx)| tx.send(()).is_ok())
    }

    /// A scenario's progress.
    pub fn scenario(&self, id: &str) -> Option<ScenarioProgress> {
        self.scenarios.lock().unwrap_or_else(|e| e.into_inner()).get(id).cloned()
    }

    fn update_scenario(&self, id: &str, f: impl FnOnce(&mut ScenarioProgress)) {
        if let Some(p) = self.scenarios.lock().unwrap_or_else(|e| e.into_inner()).get_mut(id) {
            f(p);
        }
    }
}

/// Why a call could not be placed.
#[derive(Debug, thiserror::Error)]
pub enum PlaceError {
    /// No such agent.
    #[error("unknown agent: {0}")]
    UnknownUser(String),
    /// A transfer, consult or conference to the agent who has the call.
    #[error("the second agent must be another agent than the first")]
    SameAgent,
    /// The ANI is unreasonably large.
    #[error("the ani is longer than 16 KiB")]
    AniTooLong,
    /// Outbound calls and callbacks are voice.
    #[error("an outbound call or a callback is a voice interaction; its channel must be voice")]
    NotVoice,
}

/// The JSON of a placed call with its current snapshot.
pub(crate) fn call_json(state: &Shared, id: &str) -> Option<Value> {
    let placed = state.calls.get(id)?;
    let gs = state.genesys();
    let conv = gs.conversations.get(id)?;
    Some(json!({"call": placed, "phase": conv.phase(), "conversation": conv.snapshot()}))
}
