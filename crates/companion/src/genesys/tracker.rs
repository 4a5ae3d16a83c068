//! The conversation tracker: snapshots in (repeated, reordered, overlapping with the REST catch-up),
//! each transition of this agent's call out exactly once per conversation.

use super::model::{ConversationSnapshot, Participant, Wrapup};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// A stage of the agent's call, in the order they happen.
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
    const ALL: [Transition; 5] = [
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

/// What a snapshot says of this agent's call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallView {
    pub conversation_id: String,
    pub agent_participant_id: String,
    /// The customer's address (`tel:+1…`), as Genesys gave it.
    pub ani: String,
    /// The customer participant's attributes (IVR data).
    pub attributes: BTreeMap<String, String>,
    pub wrapup: Option<Wrapup>,
    /// The furthest stage this snapshot shows.
    pub stage: Transition,
    /// The agent answered.
    pub answered: bool,
    /// After-call work applies.
    pub after_call_work: bool,
}

/// Reads this agent's call out of a snapshot; `None` when the agent is not in it.
pub fn view(snap: &ConversationSnapshot, user_id: &str) -> Option<CallView> {
    let agent = snap.agent_of(user_id)?;
    let customer = snap.customer();
    let call = agent.calls.first();
    let state = call.and_then(|c| c.state.as_deref()).map(str::to_ascii_lowercase);
    let answered = agent.connected_time.is_some() || call.is_some_and(|c| c.connected_time.is_some());
    let acw_state = call.and_then(|c| c.after_call_work.as_ref()).and_then(|a| a.state.as_deref()).unwrap_or("");
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
    Some(CallView {
        conversation_id: snap.id.clone(),
        agent_participant_id: agent.id.clone(),
        ani: customer.and_then(|c: &Participant| c.address.clone()).unwrap_or_default(),
        attributes: customer.map(|c| c.attributes.clone()).unwrap_or_default(),
        wrapup,
        stage,
        answered,
        after_call_work,
    })
}

/// A transition to announce.
#[derive(Debug, Clone, PartialEq)]
pub struct Emitted {
    pub transition: Transition,
    /// Not seen itself: implied by a later stage (a missed frame).
    pub inferred: bool,
    pub view: CallView,
}

/// How many conversations the tracker remembers before it forgets the oldest finished ones (a desk
/// handles a few hundred a day; the memory stays bounded however long the app runs).
pub const REMEMBERED: usize = 10_000;
const PRUNE_BATCH: usize = 1_000;

/// Per-conversation memory of what was announced.
#[derive(Debug, Default)]
pub struct Tracker {
    user_id: String,
    /// Highest stage announced per conversation, whether more can come, and when it was last touched
    /// (a sequence number).
    stages: HashMap<String, (Transition, bool, u64)>,
    touched: u64,
}

impl Tracker {
    /// A tracker for one agent.
    pub fn new(user_id: impl Into<String>) -> Tracker {
        Tracker { user_id: user_id.into(), stages: HashMap::new(), touched: 0 }
    }

    /// Restores what was announced before a restart, so a call never pops twice.
    pub fn restore(&mut self, id: String, stage: Transition) {
        self.touched += 1;
        let open = stage != Transition::WrapupSubmitted;
        let e = self.stages.entry(id).or_insert((stage, open, self.touched));
        if stage > e.0 {
            *e = (stage, open, self.touched);
        }
        self.prune();
    }

    /// Past [`REMEMBERED`] conversations, forgets the longest untouched finished ones (never one that
    /// may still move on): a frame for a call finished thousands of calls ago does not come.
    fn prune(&mut self) {
        // In batches, so the pop's path pays for a sort once per thousand new calls, not on each.
        if self.stages.len() <= REMEMBERED + PRUNE_BATCH {
            return;
        }
        let mut finished: Vec<(u64, String)> =
            self.stages.iter().filter(|(_, (_, open, _))| !open).map(|(id, (_, _, t))| (*t, id.clone())).collect();
        finished.sort_unstable();
        let excess = self.stages.len() - REMEMBERED;
        for (_, id) in finished.into_iter().take(excess) {
            self.stages.remove(&id);
        }
    }

    /// The highest stage announced for a conversation.
    pub fn stage(&self, id: &str) -> Option<Transition> {
        self.stages.get(id).map(|(t, _, _)| *t)
    }

    /// Conversations whose call may still move on (not wrapped up, not ended without after-call work).
    pub fn open(&self) -> Vec<String> {
        self.stages.iter().filter(|(_, (_, open, _))| *open).map(|(id, _)| id.clone()).collect()
    }

    /// Marks a conversation as finished (Genesys no longer knows it).
    pub fn close(&mut self, id: &str) {
        if let Some(e) = self.stages.get_mut(id) {
            e.1 = false;
        }
    }

    /// Number of conversations in memory.
    pub fn len(&self) -> usize {
        self.stages.len()
    }

    /// True when no conversation is tracked.
    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// Takes a snapshot; returns the transitions not announced before, in order.
    pub fn observe(&mut self, snap: &ConversationSnapshot) -> Vec<Emitted> {
        let Some(v) = view(snap, &self.user_id) else { return vec![] };
        if snap.id.is_empty() {
            return vec![];
        }
        let prev = self.stage(&snap.id);
        if prev.is_some_and(|p| p >= v.stage) {
            return vec![];
        }
        let from = prev.map_or(0, |p| p as i64);
        let mut out = vec![];
        for t in Transition::ALL.into_iter().filter(|t| (*t as i64) > from && *t <= v.stage) {
            let applies = match t {
                Transition::Connected => v.answered,
                Transition::AfterCallWork => v.after_call_work,
                _ => true,
            };
            if applies {
                out.push(Emitted { transition: t, inferred: t != v.stage, view: v.clone() });
            }
        }
        let open = match v.stage {
            Transition::WrapupSubmitted => false,
            Transition::Disconnected => v.after_call_work,
            _ => true,
        };
        self.touched += 1;
        self.stages.insert(snap.id.clone(), (v.stage, open, self.touched));
        self.prune();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const ME: &str = "u-1";

    fn snap(state: &str, acw: Option<&str>, connected: bool, wrapup: bool) -> ConversationSnapshot {
        let mut agent = json!({"id": "p-agent", "purpose": "agent", "userId": ME, "startTime": "2026-01-01T00:00:01Z",
            "calls": [{"state": state}], "wrapupRequired": connected});
        if connected {
            agent["connectedTime"] = json!("2026-01-01T00:00:05Z");
        }
        if let Some(a) = acw {
            agent["calls"][0]["afterCallWork"] = json!({"state": a});
        }
        if wrapup {
            agent["wrapup"] = json!({"code": "c-1", "notes": "n"});
        }
        let v = json!({"id": "conv-1", "participants": [
            {"id": "p-cust", "purpose": "customer", "address": "tel:+14155552671", "attributes": {"contact_id": "0038c00000000gIAAQ"}},
            agent]});
        serde_json::from_value(v).unwrap()
    }

    fn life() -> Vec<ConversationSnapshot> {
        vec![
            snap("alerting", None, false, false),
            snap("connected", None, true, false),
            snap("disconnected", Some("pending"), true, false),
            snap("disconnected", Some("complete"), true, true),
        ]
    }

    fn transitions(t: &mut Tracker, snaps: &[ConversationSnapshot]) -> Vec<(Transition, bool)> {
        snaps.iter().flat_map(|s| t.observe(s)).map(|e| (e.transition, e.inferred)).collect()
    }

    #[test]
    fn memory_stays_bounded_and_only_finished_calls_are_forgotten() {
        let mut t = Tracker::new(ME);
        t.restore("still-ringing".into(), Transition::Alerting);
        let calls = REMEMBERED + PRUNE_BATCH;
        for i in 0..calls {
            t.restore(format!("done-{i}"), Transition::WrapupSubmitted);
        }
        assert_eq!(t.len(), REMEMBERED);
        assert_eq!(t.stage("still-ringing"), Some(Transition::Alerting), "a call that may move on is kept");
        assert_eq!(t.stage("done-0"), None, "the oldest finished ones go first");
        assert!(t.stage(&format!("done-{}", calls - 1)).is_some());
    }

    #[test]
    fn a_call_in_order() {
        let mut t = Tracker::new(ME);
        let got = transitions(&mut t, &life());
        assert_eq!(
            got,
            [
                (Transition::Alerting, false),
                (Transition::Connected, false),
                (Transition::Disconnected, true),
                (Transition::AfterCallWork, false),
                (Transition::WrapupSubmitted, false)
            ]
        );
    }

    #[test]
    fn a_missed_alerting_frame_is_inferred() {
        let mut t = Tracker::new(ME);
        let got = transitions(&mut t, &life()[1..2]);
        assert_eq!(got, [(Transition::Alerting, true), (Transition::Connected, false)]);
    }

    #[test]
    fn an_abandoned_call_has_no_connected_or_wrapup() {
        let mut t = Tracker::new(ME);
        let got =
            transitions(&mut t, &[snap("alerting", None, false, false), snap("disconnected", None, false, false)]);
        assert_eq!(got, [(Transition::Alerting, false), (Transition::Disconnected, false)]);
    }

    #[test]
    fn the_latest_agent_participant_counts() {
        // An earlier participant of the same user that timed out must not end the call.
        let v = json!({"id": "conv-2", "participants": [
            {"id": "c", "purpose": "customer", "address": "tel:+14155552671"},
            {"id": "a1", "purpose": "agent", "userId": ME, "startTime": "2026-01-01T00:00:01Z", "calls": [{"state": "disconnected", "disconnectType": "timeout"}]},
            {"id": "a2", "purpose": "agent", "userId": ME, "startTime": "2026-01-01T00:00:09Z", "calls": [{"state": "alerting"}]},
            {"id": "o", "purpose": "agent", "userId": "someone-else", "startTime": "2026-01-01T00:00:10Z", "calls": [{"state": "connected"}]}]});
        let s: ConversationSnapshot = serde_json::from_value(v).unwrap();
        let mut t = Tracker::new(ME);
        let e = t.observe(&s);
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].transition, Transition::Alerting);
        assert_eq!(e[0].view.agent_participant_id, "a2");
    }

    #[test]
    fn a_restart_does_not_announce_again() {
        let mut t = Tracker::new(ME);
        t.restore("conv-1".into(), Transition::Connected);
        let got = transitions(&mut t, &life());
        assert_eq!(
            got,
            [
                (Transition::Disconnected, true),
                (Transition::AfterCallWork, false),
                (Transition::WrapupSubmitted, false)
            ]
        );
    }

    #[test]
    fn other_agents_calls_and_junk_are_ignored() {
        let mut t = Tracker::new("someone-else-entirely");
        assert!(transitions(&mut t, &life()).is_empty());
        let junk: ConversationSnapshot = serde_json::from_value(json!({"participants": "nope"})).unwrap_or_default();
        assert!(t.observe(&junk).is_empty());
    }

    proptest! {
        /// Whatever order, duplication or overlap the feed produces, each transition is announced at
        /// most once, in stage order, and the last one is the furthest stage seen.
        #[test]
        fn duplicates_and_reordering_announce_each_transition_once(order in proptest::collection::vec(0usize..4, 1..20)) {
            let snaps = life();
            let seq: Vec<ConversationSnapshot> = order.iter().map(|&i| snaps[i].clone()).collect();
            let mut t = Tracker::new(ME);
            let got: Vec<Transition> = transitions(&mut t, &seq).into_iter().map(|(x, _)| x).collect();
            let mut sorted = got.clone();
            sorted.sort();
            sorted.dedup();
            prop_assert_eq!(&got, &sorted, "in order, no repeats");
            let furthest = order.iter().map(|&i| [Transition::Alerting, Transition::Connected, Transition::AfterCallWork, Transition::WrapupSubmitted][i]).max().unwrap();
            prop_assert_eq!(got.last().copied(), Some(furthest));
            prop_assert_eq!(got.first().copied(), Some(Transition::Alerting), "every call pops");
        }
    }
}
