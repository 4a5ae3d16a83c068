//! The board: the calls of this session, one [`CallCard`] each — the one model of a call the window
//! renders. Engine events change cards here, and each change reaches the window once, as the whole
//! card (`{"kind": "card", …}`), which the window puts in place of its copy.

use super::events::{DeskEvent, DeskSink};
use crate::events::{EngineEvent, EventSink};
use crate::genesys::segment::conversation_of;
use crate::genesys::tracker::{SegmentKind, Transition};
use crate::outbox::{Outbox, RowState};
use crate::screenpop::{Candidate, PopDecision, PopOutcome};
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
    /// How it reached the agent: inbound, transfer, consult, transfer back, outbound, callback.
    pub kind: SegmentKind,
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
}

impl CallCard {
    fn new(id: &str) -> CallCard {
        CallCard {
            interaction_id: id.to_string(),
            conversation_id: conversation_of(id).to_string(),
            kind: SegmentKind::Inbound,
            ani: String::new(),
            stage: None,
            pop: None,
            chosen: None,
            deferred: false,
            disposition: None,
            codes: Vec::new(),
        }
    }

    /// The record linked to the call: the agent's pick, else the single match.
    pub fn linked(&self) -> Option<&Candidate> {
        self.chosen.as_ref().or(match self.pop.as_ref().map(|p| &p.outcome) {
            Some(PopOutcome::Single { candidate }) => Some(candidate),
            _ => None,
        })
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
            EngineEvent::Call { interaction_id, conversation_id, kind, transition, ani, .. } => {
                self.change(interaction_id, |c| {
                    if c.ani.is_empty() {
                        c.ani = ani.clone();
                    }
                    c.conversation_id = conversation_id.clone();
                    c.kind = *kind;
                    c.stage = Some(c.stage.map_or(*transition, |s| s.max(*transition)));
                });
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
            EngineEvent::CacheRevalidated { .. } => {}
        }
    }
}
