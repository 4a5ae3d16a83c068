//! The segment tracker: snapshots in (repeated, reordered, overlapping with the REST catch-up), each
//! transition of each of this agent's segments out exactly once.

use super::model::ConversationSnapshot;
use super::segment::views;
pub use super::segment::{SegmentKind, SegmentView, Transition};
use std::collections::HashMap;

/// A transition to announce.
#[derive(Debug, Clone, PartialEq)]
pub struct Emitted {
    pub transition: Transition,
    /// Not seen itself: implied by a later stage (a missed frame).
    pub inferred: bool,
    pub view: SegmentView,
}

/// How many segments the tracker remembers before it forgets the oldest finished ones (a desk
/// handles a few hundred a day; the memory stays bounded however long the app runs).
pub const REMEMBERED: usize = 10_000;
const PRUNE_BATCH: usize = 1_000;

/// What was announced of one segment.
#[derive(Debug, Clone)]
struct Seen {
    stage: Transition,
    /// More can come (not wrapped up, not ended without after-call work).
    open: bool,
    /// When it was last touched (a sequence number).
    touched: u64,
    conversation_id: String,
    held: bool,
    /// Reads of its conversation after Genesys stopped listing it as active (see `close_conversation`).
    ended_reads: u8,
}

/// How many reads of an ended conversation a segment still in after-call work waits for its wrap-up
/// (the agent may wrap up after the read; a lost frame would otherwise lose the wrap-up).
const ENDED_READS_FOR_WRAPUP: u8 = 5;

/// Per-segment memory of what was announced.
#[derive(Debug, Default)]
pub struct Tracker {
    user_id: String,
    /// By interaction id.
    stages: HashMap<String, Seen>,
    touched: u64,
    /// Holds put on or taken off since the last [`Tracker::take_held_changes`].
    held_changes: Vec<(String, bool)>,
}

impl Tracker {
    /// A tracker for one agent.
    pub fn new(user_id: impl Into<String>) -> Tracker {
        Tracker { user_id: user_id.into(), stages: HashMap::new(), touched: 0, held_changes: vec![] }
    }

    /// Restores what was announced before a restart, so a segment never pops twice.
    pub fn restore(&mut self, interaction_id: String, conversation_id: String, stage: Transition) {
        self.touched += 1;
        let seen = Seen {
            stage,
            open: stage != Transition::WrapupSubmitted,
            touched: self.touched,
            conversation_id,
            held: false,
            ended_reads: 0,
        };
        let e = self.stages.entry(interaction_id).or_insert_with(|| seen.clone());
        if stage > e.stage {
            *e = seen;
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
            self.stages.iter().filter(|(_, s)| !s.open).map(|(id, s)| (s.touched, id.clone())).collect();
        finished.sort_unstable();
        let excess = self.stages.len() - REMEMBERED;
        for (_, id) in finished.into_iter().take(excess) {
            self.stages.remove(&id);
        }
    }

    /// The highest stage announced for a segment.
    pub fn stage(&self, interaction_id: &str) -> Option<Transition> {
        self.stages.get(interaction_id).map(|s| s.stage)
    }

    /// Conversations with a segment that may still move on (not wrapped up, not ended without
    /// after-call work), each once.
    pub fn open_conversations(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.stages.values().filter(|s| s.open).map(|s| s.conversation_id.clone()).collect();
        ids.sort();
        ids.dedup();
        ids
    }

    /// Marks the segments of a conversation Genesys no longer lists as active finished, once its last
    /// state was read. A segment in after-call work stays open for a few more reads (at the next
    /// catch-ups): its wrap-up may come after the read, and the frame announcing it may be lost.
    /// `gone`: Genesys no longer knows the conversation at all; everything closes.
    pub fn close_conversation(&mut self, conversation_id: &str, gone: bool) {
        for s in self.stages.values_mut().filter(|s| s.conversation_id == conversation_id) {
            s.ended_reads = s.ended_reads.saturating_add(1);
            let owes_wrapup = s.stage == Transition::AfterCallWork && s.ended_reads < ENDED_READS_FOR_WRAPUP;
            if gone || !owes_wrapup {
                s.open = false;
            }
        }
    }

    /// The holds put on or taken off since the last call: `(interaction id, on hold)`.
    pub fn take_held_changes(&mut self) -> Vec<(String, bool)> {
        std::mem::take(&mut self.held_changes)
    }

    /// Number of segments in memory.
    pub fn len(&self) -> usize {
        self.stages.len()
    }

    /// True when no segment is tracked.
    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// Takes a snapshot; returns the transitions not announced before, in order, segment by segment.
    pub fn observe(&mut self, snap: &ConversationSnapshot) -> Vec<Emitted> {
        let mut out = vec![];
        for v in views(snap, &self.user_id) {
            let prev = self.stages.get(&v.interaction_id).map(|s| (s.stage, s.held));
            let live = matches!(v.stage, Transition::Alerting | Transition::Connected);
            if let Some((stage, held)) = prev
                && held != (v.held && live)
                && v.stage >= stage
            {
                self.held_changes.push((v.interaction_id.clone(), v.held && live));
                if let Some(s) = self.stages.get_mut(&v.interaction_id) {
                    s.held = v.held && live;
                }
            }
            let prev = prev.map(|(stage, _)| stage);
            if prev.is_some_and(|p| p >= v.stage) {
                continue;
            }
            let from = prev.map_or(0, |p| p as i64);
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
            let held = v.held && matches!(v.stage, Transition::Alerting | Transition::Connected);
            let ended_reads = self.stages.get(&v.interaction_id).map_or(0, |s| s.ended_reads);
            let seen = Seen {
                stage: v.stage,
                open,
                touched: self.touched,
                conversation_id: v.conversation_id.clone(),
                held,
                ended_reads,
            };
            self.stages.insert(v.interaction_id.clone(), seen);
        }
        self.prune();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::genesys::model::Media;
    use crate::genesys::segment::views;
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
        t.restore("still-ringing".into(), "c".into(), Transition::Alerting);
        let calls = REMEMBERED + PRUNE_BATCH;
        for i in 0..calls {
            t.restore(format!("done-{i}"), format!("c-{i}"), Transition::WrapupSubmitted);
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
        assert_eq!(e[0].view.participant_id, "a2");
        assert_eq!(e[0].view.interaction_id, "conv-2:a1", "the segment keeps the key of the alert that rang first");
    }

    #[test]
    fn a_restart_does_not_announce_again() {
        let mut t = Tracker::new(ME);
        t.restore("conv-1:p-agent".into(), "conv-1".into(), Transition::Connected);
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

    fn agent(id: &str, user: &str, start: &str, state: &str, extra: serde_json::Value) -> serde_json::Value {
        let mut p = json!({"id": id, "purpose": "agent", "userId": user, "startTime": start,
            "calls": [{"state": state, "direction": "inbound", "initialState": "alerting"}]});
        if state != "alerting" {
            p["connectedTime"] = json!(start);
            p["calls"][0]["connectedTime"] = json!(start);
        }
        if let (Some(p), Some(e)) = (p.as_object_mut(), extra.as_object()) {
            p.extend(e.clone());
        }
        p
    }

    fn conv(agents: Vec<serde_json::Value>, transfers: serde_json::Value) -> ConversationSnapshot {
        let mut ps = vec![json!({"id": "cust", "purpose": "customer", "address": "tel:+14155552671"})];
        ps.extend(agents);
        serde_json::from_value(json!({"id": "c", "participants": ps, "recentTransfers": transfers})).unwrap()
    }

    #[test]
    fn a_transfer_back_is_a_new_segment_that_pops_again() {
        let mut t = Tracker::new(ME);
        let first = agent("a1", ME, "2026-01-01T00:00:01Z", "disconnected", json!({"wrapup": {"code": "x"}}));
        let other = agent("b", "u-2", "2026-01-01T00:00:05Z", "disconnected", json!({}));
        let back = agent("a2", ME, "2026-01-01T00:00:09Z", "alerting", json!({}));
        let snap = conv(vec![first.clone(), other.clone()], json!([]));
        let got: Vec<(String, Transition)> =
            t.observe(&snap).into_iter().map(|e| (e.view.interaction_id, e.transition)).collect();
        assert!(got.contains(&("c:a1".into(), Transition::WrapupSubmitted)));
        let e = t.observe(&conv(vec![first, other, back], json!([])));
        assert_eq!(e.len(), 1, "only the new segment moves: {e:?}");
        assert_eq!((e[0].transition, e[0].view.interaction_id.as_str()), (Transition::Alerting, "c:a2"));
        assert_eq!(e[0].view.kind, SegmentKind::TransferBack);
    }

    #[test]
    fn kinds_transfer_consult_outbound_and_callback() {
        let me = |extra| agent("m", ME, "2026-01-01T00:00:09Z", "alerting", extra);
        let by_transfer = conv(
            vec![agent("o", "u-2", "2026-01-01T00:00:01Z", "disconnected", json!({})), me(json!({}))],
            json!([{"state": "complete", "transferType": "unattended", "destination": {"userId": ME}}]),
        );
        assert_eq!(views(&by_transfer, ME)[0].kind, SegmentKind::Transfer);
        let consult = conv(vec![me(json!({"consultParticipantId": "cust"}))], json!([]));
        assert_eq!(views(&consult, ME)[0].kind, SegmentKind::Consult);
        let outbound = conv(
            vec![me(
                json!({"purpose": "user", "calls": [{"state": "dialing", "direction": "outbound", "initialState": "dialing",
                "other": {"addressNormalized": "tel:+14155550199"}}]}),
            )],
            json!([]),
        );
        let v = &views(&outbound, ME)[0];
        assert_eq!((v.kind, v.ani.as_str()), (SegmentKind::Outbound, "tel:+14155550199"), "pops on the dialled party");
        let callback: ConversationSnapshot = serde_json::from_value(json!({"id": "c", "participants": [
            {"id": "cust", "purpose": "customer", "callbacks": [{"state": "connected", "callbackNumbers": ["+14155550188"]}]},
            {"id": "m", "purpose": "agent", "userId": ME, "callbacks": [{"id": "cb-1", "state": "alerting", "direction": "outbound", "callbackNumbers": ["+14155550188"]}]}]}))
        .unwrap();
        let v = &views(&callback, ME)[0];
        assert_eq!((v.kind, v.ani.as_str(), v.media), (SegmentKind::Callback, "tel:+14155550188", Media::Callback));
        assert_eq!(v.communication_id.as_deref(), Some("cb-1"));
    }

    #[test]
    fn a_hold_is_reported_when_it_starts_and_ends() {
        let mut t = Tracker::new(ME);
        let talking = |held: bool| {
            let mut a = agent("m", ME, "2026-01-01T00:00:01Z", "connected", json!({}));
            a["calls"][0]["held"] = json!(held);
            conv(vec![a], json!([]))
        };
        t.observe(&talking(false));
        assert!(t.take_held_changes().is_empty());
        t.observe(&talking(true));
        t.observe(&talking(true));
        assert_eq!(t.take_held_changes(), [("c:m".to_string(), true)], "once, however often it is repeated");
        t.observe(&talking(false));
        assert_eq!(t.take_held_changes(), [("c:m".to_string(), false)]);
    }

    #[test]
    fn another_agents_segment_is_not_mine() {
        let snap = conv(vec![agent("o", "u-2", "2026-01-01T00:00:01Z", "connected", json!({}))], json!([]));
        assert!(views(&snap, ME).is_empty());
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

    #[test]
    fn a_conversation_read_while_its_wrapup_is_owed_stays_open_for_the_next_catch_ups() {
        let life = life();
        let mut t = Tracker::new(ME);
        for s in &life[..3] {
            t.observe(s);
        }
        // Not active any more, read in after-call work: the wrap-up may still come.
        for _ in 1..ENDED_READS_FOR_WRAPUP {
            t.close_conversation("conv-1", false);
            assert_eq!(t.open_conversations(), vec!["conv-1".to_string()]);
        }
        t.close_conversation("conv-1", false);
        assert!(t.open_conversations().is_empty(), "not read for ever");
        let mut gone = Tracker::new(ME);
        for s in &life[..3] {
            gone.observe(s);
        }
        gone.close_conversation("conv-1", true);
        assert!(gone.open_conversations().is_empty(), "Genesys no longer knows it");
        // A wrap-up that arrives anyway is still announced once.
        let e = t.observe(&life[3]);
        assert_eq!(e.iter().filter(|e| e.transition == Transition::WrapupSubmitted).count(), 1);
    }
}
