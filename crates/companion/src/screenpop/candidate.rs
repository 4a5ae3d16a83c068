//! A Salesforce record offered for a call, and the one mapping from a record as Salesforce returns it
//! (search or query JSON) to that.

use crate::salesforce::ids;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A record that matched the caller (by number, or by the agent's search).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// 18-character record id.
    pub id: String,
    /// `Contact`, `Lead`, …
    pub object: String,
    pub name: String,
    pub account_name: Option<String>,
    pub account_id: Option<String>,
    /// Which field matched (`MobilePhone`).
    pub matched_field: String,
    /// The value as stored in Salesforce.
    pub matched_value: String,
    /// True when the stored value was already E.164; false when it matched after normalising.
    pub exact_format: bool,
    pub last_activity: Option<String>,
}

/// A record's object name (`attributes.type`).
pub(crate) fn object_of(r: &Value) -> &str {
    r.get("attributes").and_then(|a| a.get("type")).and_then(Value::as_str).unwrap_or("")
}

/// A text field of a record.
pub(crate) fn text(r: &Value, k: &str) -> Option<String> {
    r.get(k).and_then(Value::as_str).map(str::to_string)
}

impl Candidate {
    /// A record with a valid id, saying which field matched and how. The account's name comes from the
    /// `Account` relationship, or a lead's `Company`.
    pub fn from_record(
        r: &Value,
        matched_field: String,
        matched_value: String,
        exact_format: bool,
    ) -> Option<Candidate> {
        let account_name = r
            .get("Account")
            .and_then(|a| a.get("Name"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| text(r, "Company"));
        Some(Candidate {
            id: ids::to_id18(&text(r, "Id")?)?,
            object: object_of(r).to_string(),
            name: text(r, "Name").unwrap_or_default(),
            account_name,
            account_id: text(r, "AccountId").and_then(|a| ids::to_id18(&a)),
            matched_field,
            matched_value,
            exact_format,
            last_activity: text(r, "LastActivityDate"),
        })
    }
}
