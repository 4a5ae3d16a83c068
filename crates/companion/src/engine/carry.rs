//! Carries the caller's identification to the next agent: writes it on the conversation's customer
//! participant in Genesys, off the pop's path. Transient failures are retried a few times; a refusal
//! (the org does not allow it) is told to the agent once per run, never blocks anything, and the next
//! agent's companion simply searches.

use crate::error::ErrorCode;
use crate::events::{EngineEvent, EventSink};
use crate::genesys::identification::{self, Identification};
use crate::genesys::rest::{GenesysClient, GenesysError};
use crate::store::CustomerRef;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const TRIES: u32 = 3;

/// The writer of identifications.
pub(crate) struct Carrier {
    genesys: Arc<GenesysClient>,
    sink: Arc<dyn EventSink>,
    enabled: bool,
    refusal_told: AtomicBool,
}

impl Carrier {
    pub(crate) fn new(genesys: Arc<GenesysClient>, sink: Arc<dyn EventSink>, enabled: bool) -> Carrier {
        Carrier { genesys, sink, enabled, refusal_told: AtomicBool::new(false) }
    }

    /// Writes, in the background, that this agent identified the caller as `record_id`.
    pub(crate) fn carry(self: &Arc<Self>, to: CustomerRef, record_id: String) {
        if !self.enabled {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            let i = Identification { record_id, by: this.genesys.user_name() };
            let attributes = identification::attributes(&i);
            for attempt in 1..=TRIES {
                match this
                    .genesys
                    .write_attributes(to.media, &to.conversation_id, &to.participant_id, &attributes)
                    .await
                {
                    Ok(()) => {
                        tracing::info!(conversation = %to.conversation_id, "identification carried");
                        return;
                    }
                    Err(GenesysError::Forbidden(why)) => {
                        this.refused(&why);
                        return;
                    }
                    Err(e @ (GenesysError::Transient(_) | GenesysError::RateLimited { .. })) if attempt < TRIES => {
                        let wait = e.retry_after().unwrap_or(Duration::from_secs(2u64.pow(attempt)));
                        tokio::time::sleep(wait.min(Duration::from_secs(30))).await;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "the caller's identification could not be carried");
                        return;
                    }
                }
            }
        });
    }

    fn refused(&self, why: &str) {
        tracing::warn!(reason = why, "Genesys refused the identification attribute");
        if !self.refusal_told.swap(true, Ordering::SeqCst) {
            self.sink.emit(&EngineEvent::Problem {
                code: ErrorCode::IdentificationNotShared,
                message: format!(
                    "Genesys Cloud did not let the companion note the caller's record on the conversation ({why}). \
                     Your calls are not affected; after a transfer the next agent's companion searches again. \
                     Your Genesys admin can allow participant attribute updates for agents."
                ),
            });
        }
    }
}
