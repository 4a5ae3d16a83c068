//! Wrap up once: a disposition the agent sets in the companion is applied in Genesys too, with the
//! code's id from the queue's list, as soon as the segment is in after-call work. The queue of work is
//! the outbox row's Genesys side (durable: a restart picks it up). A refusal (the role lacks
//! `conversation:participant:wrapup`) is told once and never blocks the Salesforce delivery. The
//! permission is `WRAPUP_PERMISSION`; `companion doctor` checks it.

/// The permission applying a wrap-up needs.
pub const WRAPUP_PERMISSION: &str = "conversation:participant:wrapup";

use super::wrapup_codes::WrapupCodes;
use crate::clock::SharedClock;
use crate::error::ErrorCode;
use crate::events::{EngineEvent, EventSink};
use crate::genesys::rest::{GenesysClient, GenesysError};
use crate::genesys::tracker::Transition;
use crate::outbox::{Disposition, GenesysWrapupState, Outbox};
use crate::store::{Interactions, Store};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// How often the pending ones are looked at (a cheap indexed query).
const POLL: Duration = Duration::from_secs(1);

pub(super) struct GenesysWrapupSync {
    /// `genesys.apply_wrapups`: when off, nothing is sent and each one is closed as such.
    pub enabled: bool,
    pub outbox: Arc<Outbox>,
    pub store: Arc<Store>,
    pub genesys: Arc<GenesysClient>,
    pub codes: Arc<WrapupCodes>,
    pub sink: Arc<dyn EventSink>,
    pub clock: SharedClock,
}

/// What to do with one pending wrap-up.
enum Step {
    Apply(crate::genesys::rest::WrapupTarget),
    Later,
    Settle(GenesysWrapupState, &'static str),
}

impl GenesysWrapupSync {
    pub(super) async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut refusal_told = false;
        loop {
            let (outbox, now) = (self.outbox.clone(), self.clock.now_ms());
            let due = tokio::task::spawn_blocking(move || outbox.genesys_wrapups(|g| g.due(now, 20)))
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_default();
            for (version, d) in due {
                if let Some(why) = self.one(version, &d).await
                    && !refusal_told
                {
                    refusal_told = true;
                    self.sink.emit(&EngineEvent::Problem {
                        code: ErrorCode::WrapupNotApplied,
                        message: format!(
                            "Genesys Cloud did not take the wrap-up set here ({why}); it still goes to Salesforce. \
                             Enter it in Genesys too, or ask your Genesys admin for the \
                             conversation:participant:wrapup permission."
                        ),
                    });
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(POLL) => {}
                _ = stop.changed() => return,
            }
        }
    }

    /// Applies one; returns the refusal's reason when the role may not.
    async fn one(&self, version: i64, d: &Disposition) -> Option<String> {
        let store = self.store.clone();
        let id = d.interaction_id.clone();
        let found = tokio::task::spawn_blocking(move || Interactions::on(&store.background()).wrapup_target(&id))
            .await
            .ok()
            .and_then(Result::ok)
            .flatten();
        let step = match found {
            _ if !self.enabled => {
                Step::Settle(GenesysWrapupState::Closed, "applying wrap-ups in Genesys is turned off")
            }
            None => Step::Settle(GenesysWrapupState::Closed, "no Genesys segment is known for it"),
            Some((_, Some(Transition::WrapupSubmitted))) => {
                Step::Settle(GenesysWrapupState::Closed, "Genesys already has a wrap-up for this segment")
            }
            Some((_, Some(Transition::Disconnected))) => {
                Step::Settle(GenesysWrapupState::Closed, "the segment has no after-call work in Genesys")
            }
            Some((target, Some(Transition::AfterCallWork))) => Step::Apply(target),
            Some(_) => Step::Later,
        };
        let now = self.clock.now_ms();
        let (result, refusal) = match step {
            Step::Later => (Err((now + POLL.as_millis() as i64, None)), None),
            Step::Settle(state, why) => (Ok((state, Some(why.to_string()))), None),
            Step::Apply(target) => {
                let code_id = match self.codes.id_of(&d.code) {
                    Some(id) => Some(id),
                    None => {
                        if let Ok(list) =
                            self.genesys.participant_wrapup_codes(&target.conversation_id, &target.participant_id).await
                        {
                            self.codes.remember(&list);
                        }
                        self.codes.id_of(&d.code)
                    }
                };
                match code_id {
                    None => {
                        (Ok((GenesysWrapupState::Closed, Some(format!("Genesys has no code named {}", d.code)))), None)
                    }
                    Some(code_id) => match self.genesys.apply_wrapup(&target, &code_id, &d.reason).await {
                        Ok(()) => (Ok((GenesysWrapupState::Applied, None)), None),
                        Err(GenesysError::Forbidden(why)) => {
                            (Ok((GenesysWrapupState::Refused, Some(why.clone()))), Some(why))
                        }
                        // A 400: the segment is not (or no longer) in after-call work.
                        Err(GenesysError::Unexpected(why)) => (Ok((GenesysWrapupState::Closed, Some(why))), None),
                        Err(e) => {
                            let wait = e.retry_after().unwrap_or(Duration::from_secs(5));
                            (Err((now + wait.as_millis() as i64, Some(e.to_string()))), None)
                        }
                    },
                }
            }
        };
        let (outbox, id) = (self.outbox.clone(), d.interaction_id.clone());
        let _ = tokio::task::spawn_blocking(move || {
            outbox.genesys_wrapups(|g| match result {
                Ok((state, why)) => g.settle(&id, version, state, why.as_deref()).map(|_| ()),
                Err((next_ms, why)) => g.later(&id, version, next_ms, why.as_deref()),
            })
        })
        .await;
        refusal
    }
}
