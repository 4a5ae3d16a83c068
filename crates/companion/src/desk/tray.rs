//! What the tray and the native notification say: derived from the desk's state, with no window.

use super::events::SignInState;
use crate::genesys::feed::ConnectionState;
use crate::screenpop::{PopDecision, PopOutcome};
use serde::Serialize;

/// What the tray shows, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TrayState {
    /// Dispositions are parked and need someone to look.
    NeedsAttention {
        items: u64,
    },
    SignedOut,
    Reconnecting,
    Connected,
}

impl TrayState {
    /// From the sign-ins, the connection and the parked dispositions.
    pub fn of(genesys: SignInState, salesforce: SignInState, connection: &ConnectionState, parked: u64) -> TrayState {
        if parked > 0 {
            return TrayState::NeedsAttention { items: parked };
        }
        if genesys != SignInState::SignedIn
            || salesforce != SignInState::SignedIn
            || matches!(connection, ConnectionState::SignInRequired { .. })
        {
            return TrayState::SignedOut;
        }
        match connection {
            ConnectionState::Connected { .. } => TrayState::Connected,
            _ => TrayState::Reconnecting,
        }
    }

    /// For the tooltip.
    pub fn label(&self) -> String {
        match self {
            TrayState::NeedsAttention { items: 1 } => "1 disposition needs attention".into(),
            TrayState::NeedsAttention { items } => format!("{items} dispositions need attention"),
            TrayState::SignedOut => "signed out".into(),
            TrayState::Reconnecting => "reconnecting".into(),
            TrayState::Connected => "connected".into(),
        }
    }
}

/// The notification for a pop: a title and one line. Names, account names and a lead's company come
/// from the CRM (a web-to-lead form lets anyone set them), and notification servers may render markup
/// in the body (the freedesktop spec allows it; KDE does): the body's `&`, `<` and `>` are escaped,
/// so a hostile name shows as the characters it is, never as a link or an image. The title (the
/// spec's summary) is plain text by definition and is shown as it is.
pub fn pop_headline(d: &PopDecision) -> (String, String) {
    let (title, body) = headline_text(d);
    (title, escape_markup(&body))
}

/// Text for a notification server that may read markup.
pub fn escape_markup(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn headline_text(d: &PopDecision) -> (String, String) {
    let number = d.address.clone().unwrap_or_else(|| "a withheld number".into());
    match &d.outcome {
        PopOutcome::Single { candidate } => (
            format!("Call from {}", candidate.name),
            candidate.account_name.clone().map(|a| format!("{a} · {number}")).unwrap_or(number),
        ),
        PopOutcome::Multiple { candidates } => {
            (format!("Call from {number}"), format!("{} matching records: pick one", candidates.len()))
        }
        PopOutcome::Attribute { known: Some(c), identified_by, .. } => (
            format!("Call from {}", c.name),
            match identified_by {
                Some(by) => format!("Identified by {by} earlier in the call"),
                None => "Identified by the IVR".into(),
            },
        ),
        PopOutcome::Attribute { identified_by: Some(by), .. } => {
            (format!("Caller identified by {by}"), "Open the card to see the record".into())
        }
        PopOutcome::Attribute { .. } => ("Call identified by the IVR".into(), "Open the card to see the record".into()),
        PopOutcome::NoMatch => (format!("Call from {number}"), "No record has this number: search or create".into()),
        PopOutcome::NoNumber { .. } => ("Call from a withheld number".into(), "Search by name or email".into()),
        PopOutcome::Unavailable { reason, .. } => (format!("Call from {number}"), reason.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tray_shows_the_worst_state() {
        let on = SignInState::SignedIn;
        let connected = ConnectionState::Connected { channel_id: "c".into() };
        assert_eq!(TrayState::of(on, on, &connected, 0), TrayState::Connected);
        assert_eq!(TrayState::of(on, on, &connected, 2), TrayState::NeedsAttention { items: 2 });
        assert_eq!(TrayState::of(on, SignInState::SignedOut, &connected, 0), TrayState::SignedOut);
        let lost = ConnectionState::Reconnecting { attempt: 1, retry_in_ms: 10, reason: "x".into() };
        assert_eq!(TrayState::of(on, on, &lost, 0), TrayState::Reconnecting);
        assert_eq!(
            TrayState::of(on, on, &ConnectionState::SignInRequired { reason: "x".into() }, 0),
            TrayState::SignedOut
        );
        assert_eq!(TrayState::NeedsAttention { items: 1 }.label(), "1 disposition needs attention");
    }

    #[test]
    fn a_hostile_name_in_a_notification_is_text_not_markup() {
        let candidate = crate::screenpop::Candidate {
            id: "00Q8c00000000gIAAQ".into(),
            object: "Lead".into(),
            name: "<a href=\"https://evil.example\">Click</a> <img src=x>".into(),
            account_name: Some("Acme & <b>Co</b>".into()),
            account_id: None,
            matched_field: "Phone".into(),
            matched_value: "+14155550100".into(),
            exact_format: true,
            last_activity: None,
        };
        let d = PopDecision {
            interaction_id: "c1".into(),
            outcome: PopOutcome::Single { candidate },
            source: crate::screenpop::PopSource::Search,
            address: Some("+14155550100".into()),
            cache_age_secs: None,
            elapsed_us: 1,
            salesforce_us: None,
        };
        let (title, body) = pop_headline(&d);
        assert!(!body.contains('<'), "{body}");
        assert_eq!(body, "Acme &amp; &lt;b&gt;Co&lt;/b&gt; · +14155550100");
        // The summary is plain text to every server: shown as the characters it is.
        assert_eq!(title, "Call from <a href=\"https://evil.example\">Click</a> <img src=x>");
    }
}
