//! Scenarios: many calls at a rate, with a repeat-caller distribution and a mix of flows, as a
//! contact center sees them.

use super::{CallSpec, ScenarioProgress, place_call};
use crate::data::{CallerKind, SeedCaller};
use crate::genesys::conversation::Channel;
use crate::genesys::flow::Flow;
use crate::ids;
use crate::state::Shared;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

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
    /// Weights of the channels of inbound interactions (`{"voice": 70, "email": 10, "chat": 5,
    /// "sms": 10, "whatsapp": 5}`); voice only when empty. Outbound calls and callbacks are voice. An
    /// email or chat comes from a seeded contact's address; an SMS or WhatsApp from the caller's number.
    pub channels: BTreeMap<Channel, u32>,
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
            channels: BTreeMap::new(),
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

fn agent_name(state: &Shared, user: &str) -> Option<String> {
    state.genesys().users.iter().find(|x| x.id == user || x.email == user).map(|x| x.name.clone())
}

/// Chooses the flow of the next call by the mix's weights.
pub fn choose_flow(rng: &mut impl Rng, weights: &BTreeMap<Flow, u32>) -> Flow {
    choose_weighted(rng, weights).unwrap_or(Flow::Plain)
}

/// Chooses a key by weight; `None` when no weight is above 0.
fn choose_weighted<K: Copy>(rng: &mut impl Rng, weights: &BTreeMap<K, u32>) -> Option<K> {
    let total: u64 = weights.values().map(|w| u64::from(*w)).sum();
    if total == 0 {
        return None;
    }
    let mut roll = rng.random_range(0..total);
    for (k, w) in weights {
        if roll < u64::from(*w) {
            return Some(*k);
        }
        roll -= u64::from(*w);
    }
    None
}

/// The customer of a non-voice interaction: for an email or a chat, a seeded contact's address (the
/// caller's own record when it has exactly one), so a correct pop offers that contact; for an SMS,
/// WhatsApp or web messaging, the caller's number.
fn customer_for(
    state: &Shared,
    rng: &mut impl Rng,
    channel: Channel,
    caller: &SeedCaller,
) -> (String, String, Vec<String>, BTreeMap<String, String>) {
    match channel {
        Channel::Email | Channel::Chat => {
            let contacts = &state.population.contacts;
            let own = match caller.expected.as_slice() {
                [one] => contacts.iter().find(|c| &c.id == one),
                _ => None,
            };
            let contact = own.or_else(|| contacts.choose(rng));
            match contact {
                Some(c) => {
                    (c.email.clone(), format!("{} {}", c.first_name, c.last_name), vec![c.id.clone()], BTreeMap::new())
                }
                None => (String::new(), caller.name.clone(), vec![], BTreeMap::new()),
            }
        }
        _ => (caller.ani.clone(), caller.name.clone(), caller.expected.clone(), caller.attributes.clone()),
    }
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
        let channel = if matches!(flow, Flow::Outbound | Flow::Callback) {
            Channel::Voice
        } else {
            choose_weighted(&mut rng, &spec.channels).unwrap_or(Channel::Voice)
        };
        let (ani, customer_name, expected, attributes) = customer_for(&state, &mut rng, channel, caller);
        let receives = flow.needs_second_agent() && rng.random_bool(spec.receive_share);
        // Receiving: the other agent has the caller first, then hands them to the scenario's agent.
        let (user, second_user) = if receives {
            let me = spec.user.clone().unwrap_or_else(|| state.genesys().users[0].id.clone());
            let other = spec.second_user.clone().unwrap_or_else(|| state.genesys().next_user(&me).id.clone());
            (Some(other), Some(me))
        } else {
            (spec.user.clone(), spec.second_user.clone())
        };
        let mut attributes_on_answer = BTreeMap::new();
        if let (true, Some(keys), [record]) = (receives, &spec.carry_keys, expected.as_slice()) {
            let by = user.as_deref().and_then(|u| agent_name(&state, u)).unwrap_or_default();
            attributes_on_answer.insert(keys.record.clone(), record.clone());
            attributes_on_answer.insert(keys.by.clone(), by);
        }
        let call = CallSpec {
            ani,
            attributes,
            user,
            customer_name: Some(customer_name),
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
            channel,
        };
        let kind = if channel.media() == crate::genesys::conversation::Media::Call || expected.len() != 1 {
            caller.kind
        } else {
            CallerKind::Single
        };
        match place_call(&state, call, Some(kind), expected) {
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
