//! The one list of error codes the window (and `companion`'s JSON output) can branch on, and the error
//! every desk command and engine problem reaches the UI as: `{code, message}`. Each module keeps its
//! own typed error; this is where they are classified for people.

use serde::{Deserialize, Serialize};

/// What went wrong, in a form a program can switch on. Serialised as `SCREAMING_SNAKE_CASE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    /// The app is still starting; try again.
    Starting,
    /// The configuration could not be read or is invalid.
    Config,
    /// The demo (embedded simulator) could not start, or this build has none.
    DemoFailed,
    /// The browser step of a sign-in did not complete.
    SignInIncomplete,
    /// The identity provider refused the sign-in.
    SignInRefused,
    /// A sign-in failed for another reason.
    SignInFailed,
    /// Genesys Cloud could not be reached during a sign-in.
    GenesysUnreachable,
    /// Both clouds must be signed in first.
    NotSignedIn,
    /// Salesforce must be signed in (again) first.
    SalesforceSignIn,
    /// Salesforce did not answer or failed.
    SalesforceUnavailable,
    /// The local database failed.
    LocalStore,
    /// No such queued disposition.
    NotFound,
    /// The disposition is not in a state that allows this.
    WrongState,
    /// A disposition was missing a field.
    Incomplete,
    /// Not a valid Salesforce record id, or not one offered for this call.
    BadRecordId,
    /// No such call is shown.
    UnknownCall,
    /// A search term that is too short or too long.
    BadSearch,
    /// A wrap-up with no valid code or too long notes.
    BadWrapup,
    /// A link that is not https on the org's host is never opened.
    OpenRefused,
    /// The browser could not be opened.
    OpenFailed,
    /// The diagnostics bundle could not be written.
    ExportFailed,
    /// A conversation event that could not be read was ignored.
    MalformedEvent,
    /// A wrap-up could not be written to the outbox.
    DispositionNotQueued,
    /// Salesforce refused a disposition: it needs someone to look.
    DispositionNeedsAttention,
    /// The org's daily API allowance is spent: delivery waits.
    SalesforceAllocationSpent,
    /// Genesys refused to keep the caller's identification on the conversation: the next agent
    /// searches again.
    IdentificationNotShared,
    /// Genesys did not take the wrap-up set in the companion (it still goes to Salesforce).
    WrapupNotApplied,
    /// The read-back of interactions handled while the app was closed cannot see everything (the
    /// role may read calls only), or failed and will be tried again.
    ReadBackIncomplete,
}

/// An error as the window shows it: a code to branch on and a sentence for the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct UiError {
    pub code: ErrorCode,
    pub message: String,
}

impl UiError {
    /// An error with a code and a sentence.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> UiError {
        UiError { code, message: message.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_reach_the_window_as_screaming_snake_case() {
        let e = UiError::new(ErrorCode::BadRecordId, "`x` is not a Salesforce record id");
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"code": "BAD_RECORD_ID", "message": "`x` is not a Salesforce record id"})
        );
        assert_eq!(serde_json::to_value(ErrorCode::SalesforceSignIn).unwrap(), "SALESFORCE_SIGN_IN");
    }
}
