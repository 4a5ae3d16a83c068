//! What the desk tells the window, and the seam it goes through.

use super::board::CallCard;
use crate::error::UiError;
use crate::genesys::feed::ConnectionState;
use crate::signin::Cloud;
use crate::updates::Release;
use serde::Serialize;

/// A cloud's sign-in as the window shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInState {
    SignedOut,
    SigningIn,
    SignedIn,
}

/// One message to the window, tagged by `kind`. A call reaches the window only as `card` (the whole
/// card, to put in place of the window's copy).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeskEvent {
    /// A call card changed.
    Card(Box<CallCard>),
    /// The notification connection changed state.
    Connection { state: ConnectionState },
    /// A sign-in changed.
    SignIn { cloud: Cloud, state: SignInState },
    /// A sign-in runs out soon: sign in again before it does.
    SignInSoon { cloud: Cloud, expires_in_secs: u64 },
    /// Something went wrong that the agent should know about: `{code, message}`.
    Problem(UiError),
    /// The agent retried or discarded a queued disposition.
    OutboxChanged { interaction_id: String },
    /// The release feed announced a newer version.
    UpdateAvailable(Release),
    /// A read-back of interactions handled while the app was closed ended: the Sync view's figures.
    ReadBack { status: crate::store::ReadBackStatus },
}

/// Where the desk's events go (the Tauri shell emits them to the webview).
pub trait DeskSink: Send + Sync {
    /// Delivers one event; must not block.
    fn emit(&self, event: &DeskEvent);

    /// A call's pop arrived (its card, with the pop, was just emitted): the shell may raise a native
    /// notification. Nothing by default.
    fn popped(&self, _card: &CallCard) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::desk::board::CallCard;

    #[test]
    fn a_card_event_names_each_key_once() {
        // The envelope's `kind` must not meet a field of the card with the same name: the window would
        // read only one of them.
        let mut card = CallCard::new("c:p");
        card.segment_kind = crate::genesys::tracker::SegmentKind::Transfer;
        let text = serde_json::to_string(&DeskEvent::Card(Box::new(card))).unwrap();
        assert_eq!(text.matches("\"kind\"").count(), 1, "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!((v["kind"].as_str(), v["segment_kind"].as_str()), (Some("card"), Some("transfer")));
    }
}
