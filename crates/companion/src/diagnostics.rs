//! The diagnostics bundle a supervisor or IT sends to support: status, configuration with the layer
//! of each key, the doctor's findings (the caller runs them), recent outbox failures and the last
//! calls' outcomes — with ids kept and everything else about callers left out: no numbers, names,
//! notes, Salesforce field values or tokens.

use crate::config::LoadedConfig;
use crate::status::StatusSnapshot;
use crate::store::{Conversations, DbFile, StoreError};
use serde_json::{Value, json};

/// Salesforce messages can quote the values they refused; keep the code, reduce the text to its words.
fn redact_message(m: &str) -> String {
    m.split_whitespace()
        .map(|w| if w.chars().any(|c| c.is_ascii_digit()) || w.contains('@') || w.len() > 24 { "[…]" } else { w })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Builds the bundle from a database file (read-only) and the loaded configuration.
pub fn bundle(db: &DbFile, loaded: &LoadedConfig, status: &StatusSnapshot, doctor: Value) -> Result<Value, StoreError> {
    let conn = db.reader()?;
    let failures: Vec<Value> = conn
        .prepare("SELECT conversation_id, at_ms, kind, error_class, detail FROM outbox_event WHERE error_class IS NOT NULL ORDER BY id DESC LIMIT 100")?
        .query_map([], |r| {
            let detail: Option<String> = r.get(4)?;
            let code = detail.as_deref().and_then(|d| d.split(':').next()).unwrap_or("").to_string();
            Ok(json!({
                "conversation_id": r.get::<_, String>(0)?, "at_ms": r.get::<_, i64>(1)?, "kind": r.get::<_, String>(2)?,
                "class": r.get::<_, String>(3)?, "code": code,
                "message": detail.as_deref().and_then(|d| d.split_once(": ")).map(|(_, m)| redact_message(m)),
            }))
        })?
        .collect::<Result<_, _>>()?;
    // Ids and outcomes only: the caller's address stays out.
    let calls: Vec<Value> = Conversations::on(&conn)
        .recent(200)?
        .into_iter()
        .map(|c| {
            json!({
                "conversation_id": c.conversation_id, "stage": c.stage.map(|s| s as i64), "pop_outcome": c.pop_outcome,
                "pop_record": c.pop_record, "pop_us": c.pop_us, "updated_ms": c.updated_ms,
            })
        })
        .collect();
    let origins: serde_json::Map<String, Value> = loaded.origins.iter().map(|(k, l)| (k.clone(), json!(l))).collect();
    // The configuration holds no secrets; code maps are the org's picklist names, not customer data.
    let config = serde_json::to_value(&loaded.config).expect("config serializes");
    Ok(json!({
        "generated_at": chrono::Utc::now().to_rfc3339(),
        "app_version": env!("CARGO_PKG_VERSION"),
        "os": std::env::consts::OS,
        "status": status,
        "doctor": doctor,
        "config": config,
        "config_origins": origins,
        "locked": loaded.locked,
        "outbox_failures": failures,
        "recent_calls": calls,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_keep_their_words_not_the_values() {
        assert_eq!(
            redact_message(
                "Disposition_Code__c: bad value for restricted picklist field: Sideways 415-555-1212 jane@example.com"
            ),
            "Disposition_Code__c: bad value for restricted picklist field: Sideways […] […]"
        );
    }
}
