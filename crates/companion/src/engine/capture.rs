//! A wrap-up submitted in Genesys, queued as a disposition: the one way from a segment's wrap-up to an
//! outbox row, whether the companion saw it happen (live) or read it back afterwards (recovered).

use super::wrapup_codes::WrapupCodes;
use crate::clock::SharedClock;
use crate::genesys::identification;
use crate::genesys::model::Wrapup;
use crate::genesys::rest::GenesysClient;
use crate::genesys::segment::SegmentView;
use crate::outbox::{Disposition, DispositionSource, Outbox, OutboxError};
use crate::store::{Interactions, Store};
use std::sync::Arc;

/// How the wrap-up reached the companion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Seen {
    /// On the feed: queued unless it is the companion's own answer coming back, or the same answer
    /// seen again.
    Live,
    /// Read back after the fact: queued only if nothing is queued for the segment yet.
    Recovered,
}

/// What queues Genesys wrap-ups.
#[derive(Clone)]
pub(super) struct Capture {
    pub genesys: Arc<GenesysClient>,
    pub codes: Arc<WrapupCodes>,
    pub outbox: Arc<Outbox>,
    pub store: Arc<Store>,
    pub clock: SharedClock,
}

impl Capture {
    /// Queues a segment's wrap-up: the code's name, the notes, the customer's record (the pop's or the
    /// agent's pick, else the identification an agent carried on the call). The durable write is off
    /// the async workers. `Ok(None)`: nothing new to queue.
    pub async fn queue(&self, v: &SegmentView, w: &Wrapup, seen: Seen) -> Result<Option<(i64, String)>, OutboxError> {
        let now = self.clock.now_ms();
        let code = self.codes.name_of(&self.genesys, w.code.as_deref().unwrap_or(""), now).await;
        let timestamp = w.end_time.clone().unwrap_or_else(|| {
            chrono::DateTime::from_timestamp_millis(now)
                .unwrap_or_default()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        });
        let carried = identification::read(&v.attributes).map(|i| i.record_id);
        let d = Disposition {
            interaction_id: v.interaction_id.clone(),
            conversation_id: v.conversation_id.clone(),
            kind: v.kind,
            code: if code.is_empty() { "Unspecified".into() } else { code },
            reason: w.notes.clone().unwrap_or_default(),
            timestamp,
            duration_secs: w.duration_seconds,
            contact_id: None,
            account_id: None,
            agent_extension: None,
            source: DispositionSource::Genesys,
            media: v.media,
            channel: v.channel.clone(),
            recovered: seen == Seen::Recovered,
        };
        let (outbox, store) = (self.outbox.clone(), self.store.clone());
        tokio::task::spawn_blocking(move || {
            let popped = Interactions::on(&store.background()).get(&d.interaction_id).ok().flatten();
            let contact_id = popped.and_then(|c| c.pop_record).or(carried);
            let d = Disposition { contact_id, ..d };
            let version = match seen {
                Seen::Live => outbox.enqueue_from_genesys(&d)?,
                Seen::Recovered => outbox.enqueue_if_absent(&d)?,
            };
            Ok(version.map(|v| (v, d.code)))
        })
        .await
        .unwrap_or(Err(OutboxError::Incomplete))
    }
}
