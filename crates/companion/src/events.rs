//! The event bus: every domain event leaves the engine through one [`EventSink`]. The desktop app
//! implements it with `AppHandle::emit`; the CLI prints JSON lines.

use crate::genesys::feed::ConnectionState;
use crate::genesys::model::Media;
use crate::genesys::tracker::{SegmentKind, Transition};
use crate::screenpop::PopDecision;
use serde::Serialize;
use std::io::Write;
use std::sync::Mutex;

/// Something that happened in the engine.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EngineEvent {
    /// The notification connection changed state.
    Connection { state: ConnectionState },
    /// A call moved to a new stage (each once per conversation).
    Call {
        interaction_id: String,
        conversation_id: String,
        /// How the segment reached the agent.
        kind: SegmentKind,
        media: Media,
        /// A message's channel (`sms`, `whatsapp`, …).
        channel: Option<String>,
        transition: Transition,
        /// The customer's address as Genesys showed it.
        ani: String,
        /// True when the stage was not seen itself but implied by a later one.
        inferred: bool,
    },
    /// The caller was put on hold, or taken off it.
    Held { interaction_id: String, held: bool },
    /// The wrap-up codes the segment's queue allows (names, sorted).
    WrapupCodes { interaction_id: String, codes: Vec<String> },
    /// The screen-pop decision for a call.
    Pop(Box<PopDecision>),
    /// A disposition was written to the outbox (durably): "queued".
    DispositionQueued { interaction_id: String, code: String, version: i64 },
    /// A disposition reached Salesforce: "in Salesforce".
    DispositionDelivered { interaction_id: String, salesforce_id: Option<String> },
    /// A sign-in runs out soon: ask the agent to sign in again before it does.
    SignInSoon { cloud: crate::signin::Cloud, expires_in_secs: u64 },
    /// A wrap-up submitted in Genesys while the companion did not see it (closed, crashed, offline)
    /// was read back and queued: no pop, no card.
    DispositionRecovered { interaction_id: String, code: String, media: Media },
    /// A read-back of the agent's past interactions ended (the Sync view's figures).
    ReadBack { status: crate::store::ReadBackStatus },
    /// A cached answer was checked again in the background.
    CacheRevalidated { changed: bool },
    /// Something went wrong that the user should know about.
    Problem { code: crate::error::ErrorCode, message: String },
}

/// Where events go.
pub trait EventSink: Send + Sync {
    /// Delivers one event. Must not block for long: it runs on the engine's tasks.
    fn emit(&self, event: &EngineEvent);
}

/// Prints each event as one JSON line on stdout.
#[derive(Debug, Default)]
pub struct JsonLines {
    out: Mutex<()>,
}

impl EventSink for JsonLines {
    fn emit(&self, event: &EngineEvent) {
        let _guard = self.out.lock().unwrap_or_else(|e| e.into_inner());
        if let Ok(line) = serde_json::to_string(event) {
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "{line}");
            let _ = stdout.flush();
        }
    }
}

/// Sends events to several sinks.
pub struct Fanout(pub Vec<std::sync::Arc<dyn EventSink>>);

impl EventSink for Fanout {
    fn emit(&self, event: &EngineEvent) {
        for s in &self.0 {
            s.emit(event);
        }
    }
}

/// Keeps every event (tests).
#[derive(Debug, Default)]
pub struct Recorder {
    events: Mutex<Vec<EngineEvent>>,
}

impl Recorder {
    /// Everything emitted so far.
    pub fn events(&self) -> Vec<EngineEvent> {
        self.events.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl EventSink for Recorder {
    fn emit(&self, event: &EngineEvent) {
        self.events.lock().unwrap_or_else(|e| e.into_inner()).push(event.clone());
    }
}
