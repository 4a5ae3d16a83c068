//! The agent's own search when the number found nobody: a name, an email address or an account
//! number, typed into the no-match screen and run as one escaped SOSL search (plus, for an account
//! number, one SOQL query for that account's contacts).

use super::Candidate;
use super::candidate::{object_of, text};
use crate::salesforce::errors::SfError;
use crate::salesforce::{SalesforceClient, ids, query};
use serde_json::Value;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);
const MAX_RESULTS: usize = 25;

/// Why a search was not run or failed.
#[derive(Debug, thiserror::Error)]
pub enum ManualSearchError {
    #[error("type at least 2 letters or digits to search")]
    TooShort,
    #[error("a search is at most 80 characters")]
    TooLong,
    #[error("{0}")]
    Salesforce(#[from] SfError),
}

/// Searches contacts and leads by name or email, and contacts of accounts by account number.
pub async fn search(sf: &SalesforceClient, term: &str) -> Result<Vec<Candidate>, ManualSearchError> {
    let term = term.trim();
    if term.chars().filter(|c| c.is_alphanumeric()).count() < 2 {
        return Err(ManualSearchError::TooShort);
    }
    if term.chars().count() > 80 {
        return Err(ManualSearchError::TooLong);
    }
    let records = sf.search(&query::text_search(term, MAX_RESULTS), TIMEOUT).await?;
    let lower = term.to_lowercase();
    let mut out: Vec<Candidate> = vec![];
    let mut accounts: Vec<(String, String)> = vec![];
    for r in &records {
        match object_of(r) {
            "Account" => {
                if let (Some(id), Some(number)) =
                    (text(r, "Id").and_then(|i| ids::to_id18(&i)), text(r, "AccountNumber"))
                    && number.to_lowercase().contains(&lower)
                {
                    accounts.push((id, number));
                }
            }
            _ => out.extend(candidate(r, &lower, None)),
        }
    }
    let account_ids: Vec<String> = accounts.iter().map(|(id, _)| id.clone()).collect();
    if let Some(soql) = query::contacts_of_accounts(&account_ids, MAX_RESULTS).filter(|_| !accounts.is_empty()) {
        for r in sf.query(&soql, TIMEOUT).await? {
            let number = text(&r, "AccountId")
                .and_then(|a| ids::to_id18(&a))
                .and_then(|a| accounts.iter().find(|(id, _)| *id == a).map(|(_, n)| n.clone()));
            if let Some(c) = candidate(&r, &lower, number)
                && !out.iter().any(|o| o.id == c.id)
            {
                out.push(c);
            }
        }
    }
    out.sort_by(|a, b| b.last_activity.cmp(&a.last_activity).then_with(|| a.name.cmp(&b.name)));
    out.truncate(MAX_RESULTS);
    Ok(out)
}

/// A result, saying what matched.
fn candidate(r: &Value, lower: &str, account_number: Option<String>) -> Option<Candidate> {
    let name = text(r, "Name").unwrap_or_default();
    let (matched_field, matched_value) = if let Some(n) = account_number {
        ("AccountNumber".to_string(), n)
    } else if let Some(e) = text(r, "Email").filter(|e| e.to_lowercase().contains(lower)) {
        ("Email".to_string(), e)
    } else if name.to_lowercase().split_whitespace().any(|w| lower.split_whitespace().any(|t| w.starts_with(t))) {
        ("Name".to_string(), name)
    } else {
        ("Other".to_string(), String::new())
    };
    Candidate::from_record(r, matched_field, matched_value, true)
}
