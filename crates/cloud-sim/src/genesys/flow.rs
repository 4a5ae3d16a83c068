//! What happens to a conversation, step by step: a plain inbound call, blind and consult transfers, a
//! conference, a transfer back to the first agent, an outbound call and a callback. Each flow becomes a
//! plan of timed steps over the conversation's agent legs (legs 0, 1, 2 in the order they alert).

use serde::{Deserialize, Serialize};

/// The kinds of interaction the simulator places.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Flow {
    /// Inbound: IVR, queue, one agent.
    #[default]
    Plain,
    /// The first agent transfers the caller to the second without speaking to them first.
    BlindTransfer,
    /// The first agent consults the second (the caller on hold), then hands the caller over.
    ConsultTransfer,
    /// The first agent brings the second in, both talk to the caller, the first leaves.
    Conference,
    /// First agent → second agent → back to the first (a new participant of the same user).
    TransferBack,
    /// The agent dials the customer.
    Outbound,
    /// A callback the customer requested, offered to the agent from the queue.
    Callback,
}

impl Flow {
    /// Every flow, for listings.
    pub const ALL: [Flow; 7] = [
        Flow::Plain,
        Flow::BlindTransfer,
        Flow::ConsultTransfer,
        Flow::Conference,
        Flow::TransferBack,
        Flow::Outbound,
        Flow::Callback,
    ];

    /// How many agent legs the flow uses.
    pub fn legs(self) -> usize {
        match self {
            Flow::Plain | Flow::Outbound | Flow::Callback => 1,
            Flow::BlindTransfer | Flow::ConsultTransfer | Flow::Conference => 2,
            Flow::TransferBack => 3,
        }
    }

    /// Whether the flow needs a second agent.
    pub fn needs_second_agent(self) -> bool {
        self.legs() > 1
    }
}

/// One change to the conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The leg starts alerting (or dialling).
    Alert(usize),
    /// The alerting leg times out.
    TimeOut(usize),
    /// The leg is answered.
    Connect(usize),
    /// The leg is put on hold (true) or taken off it.
    Hold(usize, bool),
    /// The leg leaves with this `disconnectType`; after-call work when it was answered.
    Disconnect(usize, &'static str),
    /// `from` hands the caller to `to` (alerting it if not yet), recorded in `recentTransfers`.
    Transfer { from: usize, to: usize, attended: bool },
    /// The customer hangs up: every leg still on the call ends (`peer`).
    CustomerHangup,
    /// The customer hangs up while it rings: nothing else happens.
    Abandon,
    /// The leg's agent enters the wrap-up.
    Wrapup(usize),
}

/// Actions taken together, `after_ms` after the previous step.
#[derive(Debug, Clone)]
pub struct Step {
    pub after_ms: u64,
    pub actions: Vec<Action>,
}

/// The timing of one interaction.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub ring_ms: u64,
    pub talk_ms: u64,
    pub acw_ms: u64,
}

/// The plan of a flow. Leg 0 is already alerting when the plan starts (or, with `earlier`, an earlier
/// leg that times out before leg 0 alerts: then the flow's legs are numbered from 1). `abandon`: the
/// caller hangs up while it rings.
pub fn plan(flow: Flow, t: Timing, earlier: bool, abandon: bool) -> Vec<Step> {
    use Action::*;
    // Events at absolute offsets, ordered into steps; each agent's wrap-up comes `acw_ms` after its end.
    let o = usize::from(earlier);
    let mut at: Vec<(u64, Action)> = vec![];
    let mut now = 0u64;
    if earlier {
        now += t.ring_ms / 2;
        at.push((now, TimeOut(0)));
        at.push((now, Alert(o)));
    }
    if abandon {
        at.push((now + t.ring_ms, Abandon));
        return steps(at);
    }
    let (a, b, a2) = (o, o + 1, o + 2);
    now += t.ring_ms;
    at.push((now, Connect(a)));
    match flow {
        Flow::Plain | Flow::Outbound | Flow::Callback => {
            now += t.talk_ms;
            at.push((now, CustomerHangup));
            at.push((now + t.acw_ms, Wrapup(a)));
        }
        Flow::BlindTransfer => {
            now += t.talk_ms / 2;
            at.push((now, Transfer { from: a, to: b, attended: false }));
            at.push((now + t.acw_ms, Wrapup(a)));
            now += t.ring_ms;
            at.push((now, Connect(b)));
            now += t.talk_ms / 2;
            at.push((now, CustomerHangup));
            at.push((now + t.acw_ms, Wrapup(b)));
        }
        Flow::ConsultTransfer => {
            now += t.talk_ms / 3;
            at.push((now, Hold(a, true)));
            at.push((now, Alert(b)));
            now += t.ring_ms;
            at.push((now, Connect(b)));
            now += t.talk_ms / 3;
            at.push((now, Transfer { from: a, to: b, attended: true }));
            at.push((now + t.acw_ms, Wrapup(a)));
            now += t.talk_ms / 3;
            at.push((now, CustomerHangup));
            at.push((now + t.acw_ms, Wrapup(b)));
        }
        Flow::Conference => {
            now += t.talk_ms / 3;
            at.push((now, Alert(b)));
            now += t.ring_ms;
            at.push((now, Connect(b)));
            now += t.talk_ms / 3;
            at.push((now, Disconnect(a, "client")));
            at.push((now + t.acw_ms, Wrapup(a)));
            now += t.talk_ms / 3;
            at.push((now, CustomerHangup));
            at.push((now + t.acw_ms, Wrapup(b)));
        }
        Flow::TransferBack => {
            now += t.talk_ms / 3;
            at.push((now, Transfer { from: a, to: b, attended: false }));
            at.push((now + t.acw_ms, Wrapup(a)));
            now += t.ring_ms;
            at.push((now, Connect(b)));
            // The first agent has wrapped up the first segment before the caller comes back.
            now += (t.talk_ms / 3).max(t.acw_ms + 1);
            at.push((now, Transfer { from: b, to: a2, attended: false }));
            at.push((now + t.acw_ms, Wrapup(b)));
            now += t.ring_ms;
            at.push((now, Connect(a2)));
            now += t.talk_ms / 3;
            at.push((now, CustomerHangup));
            at.push((now + t.acw_ms, Wrapup(a2)));
        }
    }
    steps(at)
}

fn steps(mut at: Vec<(u64, Action)>) -> Vec<Step> {
    at.sort_by_key(|(t, _)| *t);
    let mut out: Vec<Step> = vec![];
    let mut last = 0u64;
    for (t, action) in at {
        match out.last_mut() {
            Some(s) if t == last => s.actions.push(action),
            _ => {
                out.push(Step { after_ms: t - last, actions: vec![action] });
                last = t;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timing = Timing { ring_ms: 1_000, talk_ms: 9_000, acw_ms: 2_000 };

    #[test]
    fn every_leg_is_answered_and_wrapped_up_once() {
        for flow in Flow::ALL {
            for earlier in [false, true] {
                let p = plan(flow, T, earlier, false);
                let actions: Vec<Action> = p.iter().flat_map(|s| s.actions.clone()).collect();
                let o = usize::from(earlier);
                for leg in o..o + flow.legs() {
                    let wraps = actions.iter().filter(|a| **a == Action::Wrapup(leg)).count();
                    let connects = actions.iter().filter(|a| **a == Action::Connect(leg)).count();
                    assert_eq!((wraps, connects), (1, 1), "{flow:?} leg {leg}");
                }
                assert_eq!(actions.iter().filter(|a| **a == Action::CustomerHangup).count(), 1, "{flow:?}");
            }
        }
    }

    #[test]
    fn an_abandoned_call_only_rings() {
        let p = plan(Flow::Plain, T, false, true);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].actions, [Action::Abandon]);
    }
}
