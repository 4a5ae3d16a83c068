//! The agent's own search when the number found nobody: a name, an email address or an account
//! number, typed into the no-match screen and run as one escaped SOSL search (plus, for an account
//! number, one SOQL query for that account's contacts).

use super::Candidate;
use crate::salesforce::errors::SfError;
use crate::salesforce::{SalesforceClient, ids};
use serde_json::Value;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);
const CONTACT_FIELDS: &str = "Id, Name, Email, Phone, MobilePhone, AccountId, Account.Name, LastActivityDate";
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
    let returning = format!(
        "Contact({CONTACT_FIELDS} LIMIT {MAX_RESULTS}), Lead(Id, Name, Email, Phone, Company, LastActivityDate LIMIT {MAX_RESULTS}), Account(Id, Name, AccountNumber LIMIT 5)"
    );
    let records = sf.search_text(term, &returning, TIMEOUT).await?;
    let lower = term.to_lowercase();
    let mut out: Vec<Candidate> = vec![];
    let mut accounts: Vec<(String, String)> = vec![];
    for r in &records {
        match object(r) {
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
    if !accounts.is_empty() {
        // Ids are validated above; nothing typed reaches the query text.
        let list: Vec<String> = accounts.iter().map(|(id, _)| format!("'{id}'")).collect();
        let soql = format!(
            "SELECT {CONTACT_FIELDS} FROM Contact WHERE AccountId IN ({}) LIMIT {MAX_RESULTS}",
            list.join(", ")
        );
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

fn object(r: &Value) -> &str {
    r.get("attributes").and_then(|a| a.get("type")).and_then(Value::as_str).unwrap_or("")
}

fn text(r: &Value, k: &str) -> Option<String> {
    r.get(k).and_then(Value::as_str).map(str::to_string)
}

/// A result, saying what matched.
fn candidate(r: &Value, lower: &str, account_number: Option<String>) -> Option<Candidate> {
    let id = ids::to_id18(&text(r, "Id")?)?;
    let name = text(r, "Name").unwrap_or_default();
    let email = text(r, "Email");
    let (matched_field, matched_value) = if let Some(n) = account_number {
        ("AccountNumber".to_string(), n)
    } else if let Some(e) = email.filter(|e| e.to_lowercase().contains(lower)) {
        ("Email".to_string(), e)
    } else if name.to_lowercase().split_whitespace().any(|w| lower.split_whitespace().any(|t| w.starts_with(t))) {
        ("Name".to_string(), name.clone())
    } else {
        ("Other".to_string(), String::new())
    };
    let account_name = r.get("Account").and_then(|a| a.get("Name")).and_then(Value::as_str).map(str::to_string);
    Some(Candidate {
        id,
        object: object(r).to_string(),
        name,
        account_name: account_name.or_else(|| text(r, "Company")),
        account_id: text(r, "AccountId").and_then(|a| ids::to_id18(&a)),
        matched_field,
        matched_value,
        exact_format: true,
        last_activity: text(r, "LastActivityDate"),
    })
}
