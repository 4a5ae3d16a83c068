//! Each module's error, classified for the window: one [`ErrorCode`] and a sentence.

use crate::engine::{PickError, StartError};
use crate::error::{ErrorCode, UiError};
use crate::outbox::OutboxError;
use crate::salesforce::errors::SfErrorKind;
use crate::salesforce::links::LinkError;
use crate::screenpop::manual::ManualSearchError;
use crate::signin::SignInError;
use crate::store::StoreError;

impl From<SignInError> for UiError {
    fn from(e: SignInError) -> Self {
        let code = match &e {
            SignInError::Auth(crate::auth::AuthError::Browser(_)) => ErrorCode::SignInIncomplete,
            SignInError::Auth(crate::auth::AuthError::Refused(_)) => ErrorCode::SignInRefused,
            SignInError::Genesys(g) if !g.needs_sign_in() => ErrorCode::GenesysUnreachable,
            _ => ErrorCode::SignInFailed,
        };
        UiError::new(code, e.to_string())
    }
}

impl From<StoreError> for UiError {
    fn from(e: StoreError) -> Self {
        UiError::new(ErrorCode::LocalStore, format!("the local database failed: {e}"))
    }
}

impl From<StartError> for UiError {
    fn from(e: StartError) -> Self {
        match e {
            StartError::NotSignedIn => UiError::new(ErrorCode::NotSignedIn, e.to_string()),
            StartError::Store(s) => s.into(),
        }
    }
}

impl From<OutboxError> for UiError {
    fn from(e: OutboxError) -> Self {
        let code = match e {
            OutboxError::NotFound(_) => ErrorCode::NotFound,
            OutboxError::WrongState { .. } => ErrorCode::WrongState,
            OutboxError::Incomplete => ErrorCode::Incomplete,
            OutboxError::Store(_) => ErrorCode::LocalStore,
        };
        UiError::new(code, e.to_string())
    }
}

impl From<PickError> for UiError {
    fn from(e: PickError) -> Self {
        let code = match e {
            PickError::NotARecordId(_) => ErrorCode::BadRecordId,
            PickError::UnknownCall(_) => ErrorCode::UnknownCall,
            PickError::Store(_) | PickError::Outbox(_) => ErrorCode::LocalStore,
        };
        UiError::new(code, e.to_string())
    }
}

impl From<LinkError> for UiError {
    fn from(e: LinkError) -> Self {
        let code = match e {
            LinkError::NotARecordId(_) => ErrorCode::BadRecordId,
            LinkError::NotHttps(_) | LinkError::BadHost(_) => ErrorCode::OpenRefused,
        };
        UiError::new(code, e.to_string())
    }
}

impl From<ManualSearchError> for UiError {
    fn from(e: ManualSearchError) -> Self {
        let code = match &e {
            ManualSearchError::TooShort | ManualSearchError::TooLong => ErrorCode::BadSearch,
            ManualSearchError::Salesforce(sf) => match sf.kind {
                SfErrorKind::Session => ErrorCode::SalesforceSignIn,
                _ => ErrorCode::SalesforceUnavailable,
            },
        };
        UiError::new(code, e.to_string())
    }
}
