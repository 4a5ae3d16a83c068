//! The processor: typed snapshots from the feed go through the tracker; each stage a segment (this
//! agent's part of a conversation) reaches is announced once, recorded in the `interaction` table,
//! starts the pop at the configured trigger, and a submitted wrap-up is queued in the outbox.

use super::capture::{Capture, Seen};
use super::carry::Carrier;
use super::journal::Frame;
use super::wrapup_codes::WrapupCodes;
use crate::clock::SharedClock;
use crate::config::PopTrigger;
use crate::error::ErrorCode;
use crate::events::{EngineEvent, EventSink};
use crate::genesys::feed::{FeedEvent, FeedItem, Source};
use crate::genesys::identification::Identification;
use crate::genesys::rest::GenesysClient;
use crate::genesys::tracker::{Emitted, SegmentKind, SegmentView, Tracker, Transition};
use crate::screenpop::{PopOutcome, PopRequest, Resolver};
use crate::store::{CustomerRef, Interactions, PopWritten, StageReached, Store};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::task::TaskTracker;

pub(super) struct Processor {
    pub tracker: Tracker,
    pub genesys: Arc<GenesysClient>,
    pub codes: Arc<WrapupCodes>,
    pub capture: Capture,
    /// Conversations read one by one after a reconnect come back here.
    pub refetch: mpsc::Sender<FeedEvent>,
    pub resolver: Arc<Resolver>,
    pub store: Arc<Store>,
    pub sink: Arc<dyn EventSink>,
    pub clock: SharedClock,
    pub trigger: PopTrigger,
    pub journal: mpsc::Sender<Frame>,
    pub carrier: Arc<Carrier>,
    /// The writes each event starts (stage, pop, wrap-up): a stop waits for them, so nothing lands in
    /// the store after the engine stopped.
    pub inflight: TaskTracker,
}

impl Processor {
    pub(super) async fn run(mut self, mut feed: mpsc::Receiver<FeedEvent>, mut refetched: mpsc::Receiver<FeedEvent>) {
        loop {
            let event = tokio::select! {
                event = feed.recv() => match event {
                    Some(e) => e,
                    None => break,
                },
                Some(event) = refetched.recv() => event,
            };
            match event {
                FeedEvent::Snapshot(item) => self.snapshot(item),
                FeedEvent::Malformed { error } => self.sink.emit(&EngineEvent::Problem {
                    code: ErrorCode::MalformedEvent,
                    message: format!("ignored a conversation event that could not be read: {error}"),
                }),
                FeedEvent::CaughtUp { active } => self.fetch_ended(&active),
                FeedEvent::Ended { conversation_id, gone } => self.tracker.close_conversation(&conversation_id, gone),
            }
        }
        self.inflight.close();
        self.inflight.wait().await;
    }

    /// A conversation with a tracked segment that is not active any more ended while the socket was
    /// down: read its final state, so that its last transitions (the wrap-ups above all) are not lost.
    /// It is closed only once that read succeeded (or Genesys no longer knows it): a failed read is
    /// tried again a few times with back-off, then left open for the next catch-up (or the read-back).
    fn fetch_ended(&mut self, active: &[String]) {
        let ended: Vec<String> =
            self.tracker.open_conversations().into_iter().filter(|id| !active.contains(id)).take(200).collect();
        for id in ended {
            let (genesys, tx) = (self.genesys.clone(), self.refetch.clone());
            tokio::spawn(async move {
                // A transient failure is tried again at once with back-off (the socket may stay up for
                // hours: the next catch-up could be far); a sign-in problem waits for the next one.
                for attempt in 0u32..6 {
                    match genesys.conversation(&id).await {
                        Ok(Some(body)) => {
                            let _ =
                                tx.send(FeedItem::read(body, std::time::Instant::now(), Source::CatchUp, None)).await;
                            let _ = tx.send(FeedEvent::Ended { conversation_id: id, gone: false }).await;
                            return;
                        }
                        Ok(None) => {
                            let _ = tx.send(FeedEvent::Ended { conversation_id: id, gone: true }).await;
                            return;
                        }
                        Err(e) if e.needs_sign_in() => break,
                        Err(e) => {
                            tracing::warn!(error = %e, attempt, "could not read an ended conversation; trying again");
                            let wait = e.retry_after().unwrap_or(std::time::Duration::from_millis(500 << attempt));
                            tokio::time::sleep(wait.min(std::time::Duration::from_secs(30))).await;
                        }
                    }
                }
                tracing::warn!("an ended conversation could not be read; it is read again at the next catch-up");
            });
        }
    }

    fn snapshot(&mut self, item: FeedItem) {
        if let (Some(raw), Source::Socket) = (item.raw, item.source) {
            // The journal is for support: when it falls behind, frames are dropped, never the pop.
            let _ = self.journal.try_send((self.clock.now_ms(), item.snapshot.id.clone(), raw));
        }
        for e in self.tracker.observe(&item.snapshot) {
            self.announce(&e, item.received);
        }
        for (interaction_id, held) in self.tracker.take_held_changes() {
            self.sink.emit(&EngineEvent::Held { interaction_id, held });
        }
    }

    fn announce(&self, e: &Emitted, received: std::time::Instant) {
        let v = &e.view;
        self.sink.emit(&EngineEvent::Call {
            interaction_id: v.interaction_id.clone(),
            conversation_id: v.conversation_id.clone(),
            kind: v.kind,
            media: v.media,
            channel: v.channel.clone(),
            transition: e.transition,
            ani: v.ani.clone(),
            inferred: e.inferred,
        });
        // The stage is written off the async workers; the pop starts at once and records its outcome
        // after the stage is in (one writer order: the call exists before its pop lands on it).
        let stage_written = self.record_stage(v, e.transition);
        if !v.media.is_handled() {
            // A video, screen share or co-browse: listed (the event above), never popped or queued.
            return;
        }
        if e.transition == Transition::Alerting {
            self.queue_codes(v);
        }
        let pops = match self.trigger {
            PopTrigger::Alerting => e.transition == Transition::Alerting,
            PopTrigger::Connected => e.transition == Transition::Connected,
        };
        if pops {
            self.pop(v, received, stage_written);
        } else if e.transition == Transition::WrapupSubmitted {
            // The disposition reads the pop's record: let the stage land first.
            self.capture(v, stage_written);
        }
    }

    /// The wrap-up codes this segment's queue allows, for the form (and for naming codes). A segment
    /// no queue routed (an outbound call) offers the org's list.
    fn queue_codes(&self, v: &SegmentView) {
        let Some(queue) = v.queue_id.clone() else { return };
        let (genesys, codes, sink, now) =
            (self.genesys.clone(), self.codes.clone(), self.sink.clone(), self.clock.now_ms());
        let (id, conversation, participant) =
            (v.interaction_id.clone(), v.conversation_id.clone(), v.participant_id.clone());
        tokio::spawn(async move {
            if let Some(names) = codes.for_queue(&genesys, &queue, &conversation, &participant, now).await {
                sink.emit(&EngineEvent::WrapupCodes { interaction_id: id, codes: names });
            }
        });
    }

    fn record_stage(&self, v: &SegmentView, stage: Transition) -> JoinHandle<()> {
        let (store, now, v) = (self.store.clone(), self.clock.now_ms(), v.clone());
        self.inflight.spawn_blocking(move || {
            let conn = store.background();
            let reached = StageReached::of(&v, stage);
            if let Err(err) = Interactions::on(&conn).record_stage(reached, now) {
                tracing::warn!(error = %err, "could not record the segment's stage");
            }
        })
    }

    fn pop(&self, v: &SegmentView, received: std::time::Instant, stage_written: JoinHandle<()>) {
        let mut req = PopRequest {
            interaction_id: v.interaction_id.clone(),
            ani: v.ani.clone(),
            address_kind: v.address_kind,
            attributes: v.attributes.clone(),
            earlier: None,
            received,
        };
        let (resolver, sink, store, clock, carrier) =
            (self.resolver.clone(), self.sink.clone(), self.store.clone(), self.clock.clone(), self.carrier.clone());
        let (kind, conversation_id, my_name) = (v.kind, v.conversation_id.clone(), self.genesys.user_name());
        let customer = v.customer_participant_id.clone().map(|participant_id| CustomerRef {
            conversation_id: v.conversation_id.clone(),
            media: v.media,
            participant_id,
        });
        self.inflight.spawn(async move {
            if kind == SegmentKind::TransferBack {
                // Back to this desktop: what it identified on the earlier segment, should Genesys not carry it.
                let (store, id) = (store.clone(), req.interaction_id.clone());
                req.earlier = tokio::task::spawn_blocking(move || {
                    Interactions::on(&store.background()).record_in_conversation(&conversation_id, &id).ok().flatten()
                })
                .await
                .ok()
                .flatten()
                .map(|record_id| Identification { record_id, by: my_name });
            }
            let decision = resolver.resolve(req).await;
            // Ids and outcomes only: no numbers or names in the logs.
            tracing::info!(conversation = %decision.interaction_id, outcome = decision.outcome.label(), elapsed_us = decision.elapsed_us, "pop");
            sink.emit(&EngineEvent::Pop(Box::new(decision.clone())));
            let _ = stage_written.await;
            let record = match &decision.outcome {
                PopOutcome::Single { candidate } => Some(candidate.id.clone()),
                PopOutcome::Attribute { record_id, .. } => Some(record_id.clone()),
                _ => None,
            };
            // One match identifies the caller: the next agent need not search.
            if let (PopOutcome::Single { candidate }, Some(to)) = (&decision.outcome, customer) {
                carrier.carry(to, candidate.id.clone());
            }
            let _ = tokio::task::spawn_blocking(move || {
                let conn = store.background();
                let json = serde_json::to_string(&decision).unwrap_or_default();
                let pop = PopWritten {
                    outcome: decision.outcome.label(),
                    record: record.as_deref(),
                    pop_us: decision.elapsed_us as i64,
                    json: &json,
                    address: decision.address.as_deref(),
                };
                let r = Interactions::on(&conn).record_pop(&decision.interaction_id, pop, clock.now_ms());
                if let Err(e) = r {
                    tracing::warn!(error = %e, "could not record the pop");
                }
            })
            .await;
        });
    }

    /// Queues the wrap-up submitted in Genesys, once the stage is recorded (the disposition reads the
    /// pop's record).
    fn capture(&self, v: &SegmentView, stage_written: JoinHandle<()>) {
        let Some(w) = v.wrapup.clone() else { return };
        let (capture, sink, v) = (self.capture.clone(), self.sink.clone(), v.clone());
        self.inflight.spawn(async move {
            let _ = stage_written.await;
            match capture.queue(&v, &w, Seen::Live).await {
                Ok(Some((version, code))) => {
                    sink.emit(&EngineEvent::DispositionQueued { interaction_id: v.interaction_id, code, version })
                }
                // The companion's own wrap-up, applied in Genesys and seen coming back: already queued.
                Ok(None) => {}
                Err(e) => sink.emit(&EngineEvent::Problem {
                    code: ErrorCode::DispositionNotQueued,
                    message: format!("the wrap-up of {} could not be queued: {e}", v.interaction_id),
                }),
            }
        });
    }
}
