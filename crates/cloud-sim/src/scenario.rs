//! Placing calls: one call with chosen timing (or stepped by hand), and scenarios that place many
//! calls at a rate with a repeat-caller distribution, as a contact center sees them.

use crate::data::{CallerKind, SeedCaller};
use crate::genesys::conversation::{AgentLeg, Conversation, Direction, Media, Wrapup};
use crate::genesys::flow::{self, Flow, Timing};
use crate::genesys::notifications::publish_conversation;
use crate::ids;
use crate::state::Shared;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::Duration;
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
}

const NOTES: &[&str] = &[
    "Customer asked about the last invoice; explained the late fee.",
    "Updated the delivery address. Wants a call back Friday.",
    "Reset the portal password; customer confirmed access.",
    "Complaint about wait time — offered a credit.",
    "Interested in the premium plan, sent the brochure.",
    "",
];

fn random_wrapup(state: &Shared, spec: Option<&WrapupSpec>, queue_id: Option<&str>) -> Wrapup {
    let gs = state.genesys();
    let mut rng = state.rng();
    let code = match spec.and_then(|s| s.code.clone()) {
        Some(c) => gs.wrapup_codes.iter().find(|w| w.id == c || w.name == c).map(|w| w.id.clone()).unwrap_or(c),
        None => gs.codes_for_queue(queue_id).choose(&mut *rng).map(|w| w.id.clone()).unwrap_or_default(),
    };
    let notes = spec
        .and_then(|s| s.notes.clone())
        .unwrap_or_else(|| NOTES.choose(&mut *rng).copied().unwrap_or("").to_string());
    Wrapup { code, notes, tags: vec![], duration_seconds: None }
}

fn find_user(gs: &crate::genesys::GenesysState, u: &str) -> Result<crate::genesys::GenesysUser, PlaceError> {
    gs.users.iter().find(|x| x.id == u || x.email == u).cloned().ok_or_else(|| PlaceError::UnknownUser(u.into()))
}

/// Places a call to an agent and drives it through its life on its own task.
pub(crate) fn place_call(
    state: &Shared,
    spec: CallSpec,
    kind: Option<CallerKind>,
    expected: Vec<String>,
) -> Result<PlacedCall, PlaceError> {
    if spec.ani.len() > 16 * 1024 {
        return Err(PlaceError::AniTooLong);
    }
    let now = state.clock.now_ms();
    let quirk_rate = state.settings().quirks.timed_out_agent_rate.clamp(0.0, 1.0);
    let (user, second, queue) = {
        let gs = state.genesys();
        let user = match spec.user.as_deref() {
            None => gs.users[0].clone(),
            Some(u) => find_user(&gs, u)?,
        };
        let second = match spec.second_user.as_deref() {
            Some(u) => find_user(&gs, u)?,
            None => {
                let i = gs.users.iter().position(|x| x.id == user.id).unwrap_or(0);
                gs.users[(i + 1) % gs.users.len()].clone()
            }
        };
        (user, second, gs.queues[0].clone())
    };
    if spec.flow.needs_second_agent() && second.id == user.id {
        return Err(PlaceError::SameAgent);
    }
    let outbound = spec.flow == Flow::Outbound;
    let media = if spec.flow == Flow::Callback { Media::Callback } else { Media::Call };
    let queue_id = (!outbound).then(|| queue.id.clone());
    // The wrap-ups the simulated agents will enter (none when the client submits them).
    let planned = |n: usize| -> Vec<Option<Wrapup>> {
        (0..n)
            .map(|_| (!spec.skip_wrapup).then(|| random_wrapup(state, spec.wrapup.as_ref(), queue_id.as_deref())))
            .collect()
    };
    let wrapups = planned(3);
    let (placed, conv) = {
        let mut rng = state.rng();
        let earlier = !outbound && spec.timed_out_agent.unwrap_or_else(|| rng.random_bool(quirk_rate));
        let leg = |rng: &mut ChaCha8Rng, who: &crate::genesys::GenesysUser, wrapup: Option<Wrapup>| AgentLeg {
            participant_id: ids::uuid(rng),
            call_id: ids::uuid(rng),
            user_id: who.id.clone(),
            user_name: who.name.clone(),
            purpose: if outbound { "user" } else { "agent" },
            direction: if outbound || media == Media::Callback { Direction::Outbound } else { Direction::Inbound },
            initial_state: if outbound { "dialing" } else { "alerting" },
            queue_id: queue_id.clone(),
            visible: false,
            alert_ms: now,
            connected_ms: None,
            held: false,
            disconnected_ms: None,
            disconnect_type: None,
            acw_start_ms: None,
            acw_end_ms: None,
            wrapup: None,
            planned_wrapup: wrapup,
            consult_participant_id: None,
            attributes: BTreeMap::new(),
        };
        let mut legs = vec![];
        if earlier {
            legs.push(leg(&mut rng, &user, None));
        }
        let who = match spec.flow {
            Flow::TransferBack => vec![&user, &second, &user],
            f if f.needs_second_agent() => vec![&user, &second],
            _ => vec![&user],
        };
        for (i, w) in who.into_iter().enumerate() {
            legs.push(leg(&mut rng, w, wrapups[i].clone()));
        }
        legs[0].visible = true;
        let customer_participant_id = ids::uuid(&mut *rng);
        let first = usize::from(earlier);
        if matches!(spec.flow, Flow::ConsultTransfer | Flow::Conference) {
            legs[first + 1].consult_participant_id = Some(customer_participant_id.clone());
        }
        let timing = Timing { ring_ms: spec.ring_ms, talk_ms: spec.talk_ms, acw_ms: spec.acw_ms };
        let conv = Conversation {
            id: ids::uuid(&mut *rng),
            start_ms: now,
            direction: if outbound { Direction::Outbound } else { Direction::Inbound },
            media,
            ani: spec.ani.clone(),
            dnis: "tel:+18005550100".into(),
            customer_name: spec.customer_name.clone().unwrap_or_else(|| "Unknown".into()),
            customer_participant_id,
            customer_call_id: ids::uuid(&mut *rng),
            ivr_participant_id: ids::uuid(&mut *rng),
            acd_participant_id: ids::uuid(&mut *rng),
            queue_id: queue.id.clone(),
            queue_name: queue.name.clone(),
            attributes: spec.attributes.clone(),
            plan: flow::plan(spec.flow, timing, earlier, spec.abandon),
            attributes_on_answer: spec.attributes_on_answer.clone(),
            next_step: 0,
            legs,
            recent_transfers: vec![],
            customer_end_ms: None,
            revision: 1,
        };
        let placed = PlacedCall {
            conversation_id: conv.id.clone(),
            agent_participant_id: conv.legs[first].participant_id.clone(),
            legs: conv.legs[first..]
                .iter()
                .map(|l| PlacedLeg {
                    participant_id: l.participant_id.clone(),
                    communication_id: l.call_id.clone(),
                    user_id: l.user_id.clone(),
                })
                .collect(),
            timed_out_participant_id: earlier.then(|| conv.legs[0].participant_id.clone()),
            flow: spec.flow,
            customer_participant_id: conv.customer_participant_id.clone(),
            user_id: user.id.clone(),
            caller_kind: kind,
            expected,
        };
        (placed, conv)
    };
    let id = conv.id.clone();
    let mut gs = state.genesys();
    gs.conversation_order.push(id.clone());
    gs.conversations.insert(id.clone(), conv);
    publish_conversation(state, &mut gs, &id);
    drop(gs);
    let (tx, rx) = mpsc::unbounded_channel();
    state.calls.calls.lock().unwrap_or_else(|e| e.into_inner()).insert(id.clone(), (placed.clone(), tx));
    tokio::spawn(drive(state.clone(), id, spec.manual, rx));
    Ok(placed)
}

/// Takes the conversation's steps in time (or on `advance` when manual). A step that waits for a
/// wrap-up this simulated agent does not enter waits for it to come through the API.
async fn drive(state: Shared, id: String, manual: bool, mut advance: mpsc::UnboundedReceiver<()>) {
    loop {
        let (index, wait, waits_for_person, queue) = {
            let gs = state.genesys();
            let Some(c) = gs.conversations.get(&id) else { return };
            let Some(step) = c.pending_step() else { break };
            let waiting = c.waits_for_wrapup();
            (c.next_step, step.after_ms, manual || waiting.is_some(), waiting.and_then(|i| c.legs[i].queue_id.clone()))
        };
        if waits_for_person {
            // Step on request; meanwhile notice a wrap-up that arrived through the API.
            match tokio::time::timeout(Duration::from_millis(200), advance.recv()).await {
                Ok(Some(())) => {}
                Ok(None) => break,
                Err(_) => continue,
            }
        } else {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
                got = advance.recv() => if got.is_none() { break },
            }
        }
        // A manual step out of after-call work with no wrap-up planned picks one, as an agent would.
        let fallback = random_wrapup(&state, None, queue.as_deref());
        let now = state.clock.now_ms();
        let mut gs = state.genesys();
        let Some(c) = gs.conversations.get_mut(&id) else {
            return;
        };
        if c.next_step != index {
            continue;
        }
        c.step(now, || fallback.clone());
        publish_conversation(&state, &mut gs, &id);
    }
    let mut calls = state.calls.calls.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, tx)) = calls.get_mut(&id) {
        // Keep the record for inspection; a closed switch tells `advance` the call is over.
        let (closed, _) = mpsc::unbounded_channel();
        *tx = closed;
    }
}

/// `POST /_sim/scenario`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScenarioSpec {
    /// How many calls.
    pub calls: u32,
    /// Calls per minute (before `speed`).
    pub rate_per_min: f64,
    /// Seed of the caller choice; the simulator's seed when absent.
    pub seed: Option<u64>,
    /// The agent (user id or e-mail).
    pub user: Option<String>,
    /// Share of calls from someone who already called in this scenario.
    pub repeat_share: f64,
    /// Mean ringing, talk and after-call-work times in ms (before `speed`).
    pub ring_ms: u64,
    pub talk_ms: u64,
    pub acw_ms: u64,
    /// Time compression: 10 runs ten times faster than life.
    pub speed: f64,
    /// Share of calls abandoned while ringing.
    pub abandon_rate: f64,
    /// Leave every call in after-call work (the client submits wrap-ups).
    pub skip_wrapup: bool,
    /// Weights of the flows in the mix (`{"plain": 80, "blind_transfer": 10, …}`); plain calls only
    /// when empty.
    pub flows: BTreeMap<Flow, u32>,
    /// The second agent of transfers, consults and conferences; the next seeded agent when absent.
    pub second_user: Option<String>,
    /// Share of transfers, consults and conferences in which the scenario's agent is the one who
    /// receives the caller (the other agent answers first).
    pub receive_share: f64,
    /// When set, the other agent's desktop, answering first, writes the caller's record (for callers
    /// with exactly one record) under these attribute names: what a companion on that desktop does.
    pub carry_keys: Option<CarryKeys>,
}

/// The attribute names under which an agent's desktop carries the caller's identification.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CarryKeys {
    pub record: String,
    pub by: String,
}

impl Default for ScenarioSpec {
    fn default() -> Self {
        ScenarioSpec {
            calls: 20,
            rate_per_min: 12.0,
            seed: None,
            user: None,
            repeat_share: 0.6,
            ring_ms: 4_000,
            talk_ms: 45_000,
            acw_ms: 15_000,
            speed: 1.0,
            abandon_rate: 0.02,
            skip_wrapup: false,
            flows: BTreeMap::new(),
            second_user: None,
            receive_share: 0.0,
            carry_keys: None,
        }
    }
}

/// Why a scenario was refused.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// A parameter out of range.
    #[error("{0}")]
    Invalid(&'static str),
    /// No such agent.
    #[error("unknown agent: {0}")]
    UnknownUser(String),
}

const KIND_WEIGHTS: [(CallerKind, u32); 7] = [
    (CallerKind::Single, 45),
    (CallerKind::Shared, 10),
    (CallerKind::Lead, 5),
    (CallerKind::Unknown, 15),
    (CallerKind::Anonymous, 4),
    (CallerKind::Ivr, 18),
    (CallerKind::IvrBadId, 3),
];

/// Chooses the next caller: a repeat caller with `repeat_share` (the more recent, the likelier),
/// otherwise a new one by the kind weights.
pub fn choose_caller<'a>(
    rng: &mut impl Rng,
    callers: &'a [SeedCaller],
    history: &[usize],
    repeat_share: f64,
) -> (usize, &'a SeedCaller) {
    if !history.is_empty() && rng.random_bool(repeat_share.clamp(0.0, 1.0)) {
        let recent = &history[history.len().saturating_sub(50)..];
        let i = recent
            [recent.len() - 1 - (rng.random_range(0.0f64..1.0).powi(2) * recent.len() as f64) as usize % recent.len()];
        return (i, &callers[i]);
    }
    let total: u32 = KIND_WEIGHTS.iter().map(|(_, w)| w).sum();
    let mut roll = rng.random_range(0..total);
    let kind = KIND_WEIGHTS
        .iter()
        .find(|(_, w)| {
            if roll < *w {
                true
            } else {
                roll -= w;
                false
            }
        })
        .map(|(k, _)| *k)
        .unwrap_or(CallerKind::Single);
    let of_kind: Vec<usize> = callers.iter().enumerate().filter(|(_, c)| c.kind == kind).map(|(i, _)| i).collect();
    let i = of_kind.choose(rng).copied().unwrap_or(0);
    (i, &callers[i])
}

/// The seeded agent after `user` (id or e-mail), as the default second agent.
fn next_agent(state: &Shared, user: &str) -> String {
    let gs = state.genesys();
    let i = gs.users.iter().position(|x| x.id == user || x.email == user).unwrap_or(0);
    gs.users[(i + 1) % gs.users.len()].id.clone()
}

fn agent_name(state: &Shared, user: &str) -> Option<String> {
    state.genesys().users.iter().find(|x| x.id == user || x.email == user).map(|x| x.name.clone())
}

/// Chooses the flow of the next call by the mix's weights.
pub fn choose_flow(rng: &mut impl Rng, weights: &BTreeMap<Flow, u32>) -> Flow {
    let total: u64 = weights.values().map(|w| u64::from(*w)).sum();
    if total == 0 {
        return Flow::Plain;
    }
    let mut roll = rng.random_range(0..total);
    for (flow, w) in weights {
        if roll < u64::from(*w) {
            return *flow;
        }
        roll -= u64::from(*w);
    }
    Flow::Plain
}

/// Starts a scenario on its own task; returns its id.
pub(crate) fn start_scenario(state: &Shared, spec: ScenarioSpec) -> Result<String, ScenarioError> {
    if spec.calls == 0 || spec.calls > 100_000 {
        return Err(ScenarioError::Invalid("calls must be between 1 and 100000"));
    }
    if !(spec.rate_per_min > 0.0 && spec.rate_per_min <= 1_000_000.0) {
        return Err(ScenarioError::Invalid("rate_per_min must be above 0"));
    }
    if !(spec.speed > 0.0 && spec.speed <= 10_000.0) {
        return Err(ScenarioError::Invalid("speed must be above 0 and at most 10000"));
    }
    if ![spec.repeat_share, spec.abandon_rate, spec.receive_share].iter().all(|s| (0.0..=1.0).contains(s)) {
        return Err(ScenarioError::Invalid("repeat_share, abandon_rate and receive_share are shares between 0 and 1"));
    }
    for u in spec.user.iter().chain(&spec.second_user) {
        if !state.genesys().users.iter().any(|x| &x.id == u || &x.email == u) {
            return Err(ScenarioError::UnknownUser(u.clone()));
        }
    }
    if !spec.flows.is_empty() && spec.flows.values().map(|w| u64::from(*w)).sum::<u64>() == 0 {
        return Err(ScenarioError::Invalid("flows needs at least one weight above 0"));
    }
    let id = ids::uuid(&mut *state.rng());
    state
        .calls
        .scenarios
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id.clone(), ScenarioProgress { id: id.clone(), calls: spec.calls, ..Default::default() });
    tokio::spawn(run_scenario(state.clone(), id.clone(), spec));
    Ok(id)
}

async fn run_scenario(state: Shared, id: String, spec: ScenarioSpec) {
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed.unwrap_or(state.config.seed).wrapping_add(0x5ce0));
    let callers = &state.population.callers;
    let mut history: Vec<usize> = Vec::new();
    let scale = |ms: u64, rng: &mut ChaCha8Rng| -> u64 {
        ((ms as f64) * rng.random_range(0.5..1.5) / spec.speed).max(1.0) as u64
    };
    let mut placed_ids = Vec::new();
    for _ in 0..spec.calls {
        let (i, caller) = choose_caller(&mut rng, callers, &history, spec.repeat_share);
        history.push(i);
        let flow = choose_flow(&mut rng, &spec.flows);
        let receives = flow.needs_second_agent() && rng.random_bool(spec.receive_share);
        // Receiving: the other agent has the caller first, then hands them to the scenario's agent.
        let (user, second_user) = if receives {
            let me = spec.user.clone().unwrap_or_else(|| state.genesys().users[0].id.clone());
            let other = spec.second_user.clone().unwrap_or_else(|| next_agent(&state, &me));
            (Some(other), Some(me))
        } else {
            (spec.user.clone(), spec.second_user.clone())
        };
        let mut attributes_on_answer = BTreeMap::new();
        if let (true, Some(keys), [record]) = (receives, &spec.carry_keys, caller.expected.as_slice()) {
            let by = user.as_deref().and_then(|u| agent_name(&state, u)).unwrap_or_default();
            attributes_on_answer.insert(keys.record.clone(), record.clone());
            attributes_on_answer.insert(keys.by.clone(), by);
        }
        let call = CallSpec {
            ani: caller.ani.clone(),
            attributes: caller.attributes.clone(),
            user,
            customer_name: Some(caller.name.clone()),
            wrapup: None,
            skip_wrapup: spec.skip_wrapup,
            ring_ms: scale(spec.ring_ms, &mut rng),
            talk_ms: scale(spec.talk_ms, &mut rng),
            acw_ms: scale(spec.acw_ms, &mut rng),
            manual: false,
            abandon: flow != Flow::Outbound && rng.random_bool(spec.abandon_rate),
            timed_out_agent: None,
            flow,
            second_user,
            attributes_on_answer,
        };
        match place_call(&state, call, Some(caller.kind), caller.expected.clone()) {
            Ok(p) => {
                placed_ids.push(p.conversation_id.clone());
                state.calls.update_scenario(&id, |s| {
                    s.placed += 1;
                    s.conversation_ids.push(p.conversation_id);
                });
            }
            Err(e) => tracing::warn!(error = %e, "scenario could not place a call"),
        }
        let mean_gap_s = 60.0 / spec.rate_per_min / spec.speed;
        let gap = -mean_gap_s * (1.0 - rng.random_range(0.0f64..1.0)).ln();
        tokio::time::sleep(Duration::from_secs_f64(gap.min(3600.0))).await;
    }
    // Wait for the placed calls to finish (wrap-up in, or abandoned), checking a few times a second.
    loop {
        let finished = {
            let gs = state.genesys();
            placed_ids.iter().filter(|c| gs.conversations.get(*c).is_none_or(|c| !c.is_active())).count() as u32
        };
        state.calls.update_scenario(&id, |s| s.finished = finished);
        if finished as usize == placed_ids.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    state.calls.update_scenario(&id, |s| s.done = true);
}

/// The JSON of a placed call with its current snapshot.
pub(crate) fn call_json(state: &Shared, id: &str) -> Option<Value> {
    let placed = state.calls.get(id)?;
    let gs = state.genesys();
    let conv = gs.conversations.get(id)?;
    Some(json!({"call": placed, "phase": conv.phase(), "conversation": conv.snapshot()}))
}
