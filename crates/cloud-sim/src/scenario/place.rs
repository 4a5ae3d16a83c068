//! Placing one call: its agent legs and plan, then its task, which takes the plan's steps in time.

use super::{CallSpec, PlaceError, PlacedCall, PlacedLeg, WrapupSpec};
use crate::data::CallerKind;
use crate::genesys::conversation::{AgentLeg, Channel, Conversation, Direction, Media, Wrapup};
use crate::genesys::flow::{self, Flow, Timing};
use crate::genesys::notifications::publish_conversation;
use crate::ids;
use crate::state::Shared;
use rand::Rng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::time::Duration;
use tokio::sync::mpsc;

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
            None => gs.next_user(&user.id).clone(),
        };
        (user, second, gs.queues[0].clone())
    };
    if spec.flow.needs_second_agent() && second.id == user.id {
        return Err(PlaceError::SameAgent);
    }
    let outbound = spec.flow == Flow::Outbound;
    if matches!(spec.flow, Flow::Outbound | Flow::Callback) && spec.channel != Channel::Voice {
        return Err(PlaceError::NotVoice);
    }
    let media = if spec.flow == Flow::Callback { Media::Callback } else { spec.channel.media() };
    // A web chat or web messaging carries no address: the form's details land in attributes.
    let mut attributes = spec.attributes.clone();
    if matches!(spec.channel, Channel::Chat | Channel::WebMessaging) && !spec.ani.is_empty() {
        let key = if spec.ani.contains('@') { "context.email" } else { "context.phoneNumber" };
        attributes.entry(key.to_string()).or_insert_with(|| spec.ani.trim_start_matches("tel:").to_string());
    }
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
            message_type: spec.channel.message_type(),
            subject: (media == Media::Email).then(|| "Question about my last invoice".to_string()),
            end_ms: None,
            ani: spec.ani.clone(),
            dnis: "tel:+18005550100".into(),
            customer_name: spec.customer_name.clone().unwrap_or_else(|| "Unknown".into()),
            customer_participant_id,
            customer_call_id: ids::uuid(&mut *rng),
            ivr_participant_id: ids::uuid(&mut *rng),
            acd_participant_id: ids::uuid(&mut *rng),
            queue_id: queue.id.clone(),
            queue_name: queue.name.clone(),
            attributes,
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
