//! The interaction mixes of the reference run: flows, channels, and the scenario that places them.

use crate::genesys::identification;
use cloud_sim::scenario::{CarryKeys, ScenarioSpec};
use cloud_sim::{Channel, Flow};
use std::collections::BTreeMap;

/// The reference mix: mostly plain inbound calls, with transfers, consults, a conference share,
/// transfers back, outbound calls and callbacks, as a service desk sees them.
pub fn reference_mix() -> BTreeMap<Flow, u32> {
    BTreeMap::from([
        (Flow::Plain, 64),
        (Flow::BlindTransfer, 9),
        (Flow::ConsultTransfer, 6),
        (Flow::Conference, 3),
        (Flow::TransferBack, 4),
        (Flow::Outbound, 9),
        (Flow::Callback, 5),
    ])
}

/// The reference channels of inbound interactions: mostly voice, with emails, chats, SMS and WhatsApp.
pub fn reference_channels() -> BTreeMap<Channel, u32> {
    BTreeMap::from([
        (Channel::Voice, 70),
        (Channel::Email, 10),
        (Channel::Chat, 6),
        (Channel::Sms, 9),
        (Channel::Whatsapp, 5),
    ])
}

/// Voice only (the channels of the first benchmarks).
pub fn voice_only() -> BTreeMap<Channel, u32> {
    BTreeMap::from([(Channel::Voice, 1)])
}

/// Plain inbound calls only (the mix of the first benchmarks).
pub fn plain_mix() -> BTreeMap<Flow, u32> {
    BTreeMap::from([(Flow::Plain, 1)])
}

/// A scenario with the demo's mix: in half of the transfers the demo's agent receives the caller,
/// and the other agent's desktop carries the identification as a companion there would.
pub fn scenario_spec(
    calls: u32,
    rate_per_min: f64,
    speed: f64,
    seed: u64,
    flows: BTreeMap<Flow, u32>,
    channels: BTreeMap<Channel, u32>,
) -> ScenarioSpec {
    ScenarioSpec {
        calls,
        rate_per_min,
        seed: Some(seed),
        speed,
        flows,
        channels,
        receive_share: 0.5,
        carry_keys: Some(CarryKeys {
            record: identification::RECORD_ATTRIBUTE.into(),
            by: identification::BY_ATTRIBUTE.into(),
        }),
        ..ScenarioSpec::default()
    }
}
