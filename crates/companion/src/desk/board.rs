//! The board: the calls of this session, one [`CallCard`] each — the one model of a call the window
//! renders. Engine events change cards here, and each change reaches the window once, as the whole
//! card (`{"kind": "card", …}`), which the window puts in place of its copy.

use super::events::{DeskEvent, DeskSink};
use crate::events::{EngineEvent, EventSink};
use crate::genesys::model::Media;
use crate::genesys::segment::conversation_of;
use crate::genesys::tracker::{SegmentKind, Transition};
use crate::outbox::{Outbox, RowState};
use crate::screenpop::{Candidate, PopDecision, PopOutcome};
use crate::store::{Draft, Drafts, Interactions, Store, StoreError};
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

/// How many calls the desk keeps for the window.
const BOARD_CALLS: usize = 30;

/// A disposition as the call card shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DispositionView {
    pub code: String,
    pub reason: String,
    pub record_id: Option<String>,
    /// `pending` ("queued"), `delivered` ("in Salesforce"), `needs_attention`, `discarded`.
    pub state: RowState,
}

/// One interaction (this agent's segment of a conversation) of this session, as the card and the
/// picker show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallCard {
    pub interaction_id: String,
    pub conversation_id: String,
    /// How it reached the agent: inbound, transfer, consult, transfer back, outbound, callback. (Not
    /// `kind`: the window's events are tagged by `kind`.)
    pub segment_kind: SegmentKind,
    /// Call, callback, chat, email, message; `other` is shown as not handled (video, co-browse, …).
    pub media: Media,
    /// A message's channel (`sms`, `whatsapp`, `webmessaging`, …).
    pub channel: Option<String>,
    pub ani: String,
    pub stage: Option<Transition>,
    pub pop: Option<PopDecision>,
    /// The record the agent picked (picker or manual search).
    pub chosen: Option<Candidate>,
    /// "Decide later": the picker was dismissed without a choice.
    pub deferred: bool,
    pub disposition: Option<DispositionView>,
    /// The wrap-up codes the segment's queue allows (empty until Genesys answered: the org's list).
    pub codes: Vec<String>,
    /// The caller is on hold.
    pub held: bool,
    /// What the agent typed in the wrap-up form and has not submitted.
    pub draft: Option<Draft>,
}

impl CallCard {
    pub(super) fn new(id: &str) -> CallCard {
        CallCard {
            interaction_id: id.to_string(),
            conversation_id: conversation_of(id).to_string(),
            segment_kind: SegmentKind::Inbound,
            media: Media::Call,
            channel: None,
            ani: String::new(),
            stage: None,
            pop: None,
            chosen: None,
            deferred: false,
            disposition: None,
            codes: Vec::new(),
            held: false,
            draft: None,
        }
    }

    /// The record linked to the call: the agent's pick, else the single match.
    pub fn linked(&self) -> Option<&Candidate> {
        self.chosen.as_ref().or(match self.pop.as_ref().map(|p| &p.outcome) {
            Some(PopOutcome::Single { candidate }) => Some(candidate),
            _ => None,
        })
    }

    /// The record the IVR or an earlier agent of the call identified, when the pop came from them.
    pub fn identified_record(&self) -> Option<&str> {
        match self.pop.as_ref().map(|p| &p.outcome) {
            Some(PopOutcome::Attribute { record_id, .. }) => Some(record_id),
            _ => None,
        }
    }

    /// The records offered for this call by its pop.
    pub fn offered(&self) -> Vec<Candidate> {
        match self.pop.as_ref().map(|p| &p.outcome) {
            Some(PopOutcome::Multiple { candidates }) => candidates.clone(),
            Some(PopOutcome::Single { candidate }) => vec![candidate.clone()],
            _ => vec![],
        }
    }
}

/// The calls of this session, kept from the engine's events and the agent's actions.
pub(super) struct Board {
    calls: Mutex<VecDeque<CallCard>>,
    pub(super) out: Arc<dyn DeskSink>,
    /// The store's outbox, readable with or without a running engine.
    pub(super) outbox: Arc<Outbox>,
}

impl Board {
    pub(super) fn new(out: Arc<dyn DeskSink>, outbox: Arc<Outbox>) -> Board {
        Board { calls: Mutex::new(VecDeque::new()), out, outbox }
    }

    /// Changes a call's card (creating it first, newest first) and sends the window the new card.
    pub(super) fn change(&self, id: &str, f: impl FnOnce(&mut CallCard)) -> CallCard {
        let card = {
            let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
            let idx = match calls.iter().position(|c| c.interaction_id == id) {
                Some(i) => i,
                None => {
                    calls.push_front(CallCard::new(id));
                    calls.truncate(BOARD_CALLS);
                    0
                }
            };
            f(&mut calls[idx]);
            calls[idx].clone()
        };
        self.out.emit(&DeskEvent::Card(Box::new(card.clone())));
        card
    }

    /// Changes a card without telling the window (what the window itself sent, like a draft).
    pub(super) fn quietly(&self, id: &str, f: impl FnOnce(&mut CallCard)) {
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = calls.iter_mut().find(|c| c.interaction_id == id) {
            f(c);
        }
    }

    /// The cards of interactions still open when the app last ran (ringing, talking or in after-call
    /// work, touched since `since_ms`), with their pop, disposition and draft: after a restart the
    /// agent finds them as they left them. Called before the window asks for its snapshot.
    pub(super) fn restore(&self, store: &Store, since_ms: i64) -> Result<usize, StoreError> {
        let conn = store.background();
        let open = Interactions::on(&conn).open_since(since_ms)?;
        let drafts = Drafts::on(&conn);
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        let n = open.len();
        for (record, pop) in open {
            let id = record.interaction_id.clone();
            if calls.iter().any(|c| c.interaction_id == id) {
                continue;
            }
            let mut card = CallCard::new(&id);
            card.conversation_id = record.conversation_id;
            card.segment_kind = record.kind;
            card.media = record.media;
            card.ani = record.ani.unwrap_or_default();
            card.stage = record.stage;
            card.pop = pop.and_then(|j| serde_json::from_str(&j).ok());
            card.draft = drafts.get(&id)?;
            card.disposition = self.disposition(&id, false);
            calls.push_front(card);
        }
        calls.truncate(BOARD_CALLS);
        Ok(n)
    }

    /// A call's card.
    pub(super) fn get(&self, id: &str) -> Option<CallCard> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).iter().find(|c| c.interaction_id == id).cloned()
    }

    /// Every card, newest first.
    pub(super) fn all(&self) -> Vec<CallCard> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).iter().cloned().collect()
    }

    /// The disposition as the outbox holds it now.
    pub(super) fn disposition(&self, id: &str, delivered: bool) -> Option<DispositionView> {
        let row = self.outbox.get(id).ok().flatten()?;
        Some(DispositionView {
            code: row.disposition.code,
            reason: row.disposition.reason,
            record_id: row.disposition.contact_id,
            state: if delivered { RowState::Delivered } else { row.state },
        })
    }
}

impl EventSink for Board {
    fn emit(&self, event: &EngineEvent) {
        match event {
            EngineEvent::Call { interaction_id, conversation_id, kind, media, channel, transition, ani, .. } => {
                self.change(interaction_id, |c| {
                    if c.ani.is_empty() {
                        c.ani = ani.clone();
                    }
                    c.conversation_id = conversation_id.clone();
                    c.segment_kind = *kind;
                    c.media = *media;
                    c.channel = channel.clone();
                    if *transition > Transition::Connected {
                        c.held = false;
                    }
                    c.stage = Some(c.stage.map_or(*transition, |s| s.max(*transition)));
                });
            }
            EngineEvent::Held { interaction_id, held } => {
                self.change(interaction_id, |c| c.held = *held);
            }
            EngineEvent::WrapupCodes { interaction_id, codes } => {
                self.change(interaction_id, |c| c.codes = codes.clone());
            }
            EngineEvent::Pop(d) => {
                let card = self.change(&d.interaction_id, |c| c.pop = Some((**d).clone()));
                self.out.popped(&card);
            }
            EngineEvent::DispositionQueued { interaction_id, .. }
            | EngineEvent::DispositionDelivered { interaction_id, .. } => {
                let delivered = matches!(event, EngineEvent::DispositionDelivered { .. });
                if let Some(view) = self.disposition(interaction_id, delivered) {
                    self.change(interaction_id, |c| c.disposition = Some(view));
                }
            }
            EngineEvent::Connection { state } => self.out.emit(&DeskEvent::Connection { state: state.clone() }),
            EngineEvent::SignInSoon { cloud, expires_in_secs } => {
                self.out.emit(&DeskEvent::SignInSoon { cloud: *cloud, expires_in_secs: *expires_in_secs })
            }
            EngineEvent::Problem { code, message } => {
                self.out.emit(&DeskEvent::Problem(crate::error::UiError::new(*code, message.clone())))
            }
            EngineEvent::ReadBack { status } => self.out.emit(&DeskEvent::ReadBack { status: status.clone() }),
            // Recovered wrap-ups get no card (nothing to pop); the Sync view counts them.
            EngineEvent::CacheRevalidated { .. } | EngineEvent::DispositionRecovered { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{PopWritten, StageReached};

    struct Quiet;
    impl DeskSink for Quiet {
        fn emit(&self, _: &DeskEvent) {}
    }

    #[test]
    fn an_open_interaction_comes_back_after_a_restart_with_its_pop_and_draft() {
        let store = Arc::new(Store::in_memory().unwrap());
        {
            let conn = store.background();
            let rows = Interactions::on(&conn);
            for (id, stage) in [("c:open", Transition::AfterCallWork), ("c:done", Transition::WrapupSubmitted)] {
                let reached = StageReached {
                    interaction_id: id,
                    conversation_id: "c",
                    participant_id: "p",
                    customer_participant_id: None,
                    communication_id: None,
                    media: Media::Call,
                    kind: SegmentKind::Consult,
                    stage,
                    ani: "tel:+14155550100",
                };
                rows.record_stage(reached, 10).unwrap();
            }
            let pop = serde_json::json!({"interaction_id": "c:open", "outcome": {"kind": "no_match"}, "source": "search",
                "e164": "+14155550100", "cache_age_secs": null, "elapsed_us": 900, "salesforce_us": 800});
            let json = pop.to_string();
            rows.record_pop(
                "c:open",
                PopWritten { outcome: "no_match", record: None, pop_us: 900, json: &json, address: None },
                11,
            )
            .unwrap();
            Drafts::on(&conn)
                .save("c:open", &Draft { code: "Completed".into(), notes: "half typed".into() }, 12)
                .unwrap();
        }
        let outbox = Arc::new(Outbox::new(store.clone(), Arc::new(crate::clock::SystemClock)));
        let board = Board::new(Arc::new(Quiet), outbox);
        board.restore(&store, 0).unwrap();
        let cards = board.all();
        assert_eq!(cards.len(), 1, "a wrapped-up interaction is not brought back");
        let c = &cards[0];
        assert_eq!((c.segment_kind, c.stage), (SegmentKind::Consult, Some(Transition::AfterCallWork)));
        assert_eq!(c.draft.as_ref().map(|d| d.notes.as_str()), Some("half typed"));
        assert!(matches!(c.pop.as_ref().map(|p| &p.outcome), Some(PopOutcome::NoMatch)));
    }
}
