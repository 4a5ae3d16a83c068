//! The diagnostics bundle a supervisor or IT sends to support: status, configuration with the layer
//! of each key, the doctor's findings (the caller runs them), recent outbox failures and the last
//! calls' outcomes — with ids kept and everything else about callers left out: no numbers, names,
//! notes, Salesforce field values or tokens.

use crate::config::LoadedConfig;
use crate::outbox::OutboxRows;
use crate::status::StatusSnapshot;
use crate::store::{DbFile, Interactions, StoreError};
use serde_json::{Value, json};

/// Salesforce's messages quote the values they refused (a picklist value, the agent's notes in a
/// "data value too large"): only the fields they name are kept, the rest is cut.
fn redact_message(m: &str) -> String {
    let fields: Vec<&str> = m
        .split(|c: char| c.is_whitespace() || c == ':' || c == ',' || c == '[' || c == ']')
        .filter(|w| is_api_name(w))
        .collect();
    if fields.is_empty() { "[…]".to_string() } else { format!("{}: […]", fields.join(", ")) }
}

/// A custom field or object API name (`Disposition_Reason__c`): the org's schema, not a value.
fn is_api_name(w: &str) -> bool {
    w.contains("__")
        && w.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Builds the bundle from the database file (read-only; `None` where the app has not run yet) and the
/// loaded configuration.
pub fn bundle(db: Option<&DbFile>, loaded: &LoadedConfig, doctor: Value) -> Result<Value, StoreError> {
    let origins: serde_json::Map<String, Value> = loaded.origins.iter().map(|(k, l)| (k.clone(), json!(l))).collect();
    // The configuration holds no secrets (a proxy's password is masked); code maps are the org's
    // picklist names, not customer data.
    let mut config = serde_json::to_value(&loaded.config).expect("config serializes");
    if let Some(p) = loaded.config.network.proxy.as_deref() {
        config["network"]["proxy"] = json!(crate::net::proxy::redact(p));
    }
    let mut out = json!({
        "generated_at": chrono::Utc::now().to_rfc3339(),
        "app_version": env!("CARGO_PKG_VERSION"),
        "os": std::env::consts::OS,
        "doctor": doctor,
        "config": config,
        "config_origins": origins,
        "locked": loaded.locked,
        "ignored_managed_keys": loaded.ignored,
        "database": if db.is_some() { "present" } else { "not created yet (the app has not run for this user)" },
    });
    if let Some(db) = db {
        let (status, failures, calls) = from_database(db)?;
        out["status"] = serde_json::to_value(redacted(&status)).expect("status serializes");
        out["outbox_failures"] = json!(failures);
        out["recent_calls"] = json!(calls);
    }
    Ok(out)
}

/// The newest log files' last lines (logs hold ids, never tokens or caller data): up to
/// `LOG_FILES` files, each cut to its last `LOG_BYTES`.
pub fn recent_logs(dir: &std::path::Path) -> Value {
    let mut files: Vec<(std::time::SystemTime, std::path::PathBuf)> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "log"))
                .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
                .collect()
        })
        .unwrap_or_default();
    files.sort_by_key(|f| std::cmp::Reverse(f.0));
    let logs: Vec<Value> = files
        .into_iter()
        .take(LOG_FILES)
        .filter_map(|(_, path)| {
            let bytes = std::fs::read(&path).ok()?;
            let tail = &bytes[bytes.len().saturating_sub(LOG_BYTES)..];
            let text = String::from_utf8_lossy(tail);
            // A cut first line is dropped.
            let text = if bytes.len() > LOG_BYTES { text.split_once('\n').map_or("", |(_, rest)| rest) } else { &text };
            Some(json!({"file": path.file_name()?.to_string_lossy(), "text": text}))
        })
        .collect();
    json!({"dir": dir.display().to_string(), "files": logs})
}

const LOG_FILES: usize = 3;
const LOG_BYTES: usize = 512 << 10;

type FromDatabase = (StatusSnapshot, Vec<Value>, Vec<Value>);

fn from_database(db: &DbFile) -> Result<FromDatabase, StoreError> {
    let status = crate::status::read(db)?;
    let conn = db.reader()?;
    let failures: Vec<Value> = OutboxRows::on(&conn)
        .recent_failures(100)?
        .into_iter()
        .map(|f| {
            let code = f.detail.as_deref().and_then(|d| d.split(':').next()).unwrap_or("").to_string();
            json!({
                "interaction_id": f.interaction_id, "at_ms": f.at_ms, "kind": f.kind, "class": f.class, "code": code,
                "message": f.detail.as_deref().and_then(|d| d.split_once(": ")).map(|(_, m)| redact_message(m)),
            })
        })
        .collect();
    // Ids and outcomes only: the caller's address stays out.
    let calls: Vec<Value> = Interactions::on(&conn)
        .recent(200)?
        .into_iter()
        .map(|c| {
            json!({
                "interaction_id": c.interaction_id, "stage": c.stage.map(|s| s as i64), "pop_outcome": c.pop_outcome,
                "pop_record": c.pop_record, "pop_us": c.pop_us, "updated_ms": c.updated_ms,
            })
        })
        .collect();
    Ok((status, failures, calls))
}

/// The status as the bundle carries it: the latest error message of each class cut like the rest.
fn redacted(status: &StatusSnapshot) -> StatusSnapshot {
    let mut s = status.clone();
    for e in s.recent_errors.values_mut() {
        e.latest = redact_message(&e.latest);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_keep_the_fields_they_name_not_the_values() {
        assert_eq!(
            redact_message(
                "Disposition_Code__c: bad value for restricted picklist field: Sideways 415-555-1212 jane@example.com"
            ),
            "Disposition_Code__c: […]"
        );
        assert_eq!(
            redact_message("Disposition_Reason__c: data value too large: customer wants a refund for the blue sofa"),
            "Disposition_Reason__c: […]"
        );
        assert_eq!(redact_message("Refunds need a case number."), "[…]");
    }

    #[test]
    fn a_bundle_made_after_failing_records_holds_none_of_their_values() {
        use crate::outbox::{Disposition, DispositionSource, Outbox};
        let dir = tempfile::tempdir().unwrap();
        let store = std::sync::Arc::new(crate::store::Store::open(&dir.path().join("c.db")).unwrap());
        let outbox = Outbox::new(store.clone(), std::sync::Arc::new(crate::clock::SystemClock));
        let notes = "customer wants a refund for the blue sofa, call back on 415-555-0199";
        for (id, code, message) in [
            ("c-long", "STRING_TOO_LONG", format!("Disposition_Reason__c: data value too large: {notes}")),
            (
                "c-pick",
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                "Disposition_Code__c: bad value for restricted picklist field: Sideways".to_string(),
            ),
        ] {
            outbox
                .enqueue(&Disposition {
                    interaction_id: id.into(),

                    conversation_id: String::new(),

                    kind: Default::default(),
                    code: "Sideways".into(),
                    reason: notes.into(),
                    timestamp: "2026-12-01T10:00:00Z".into(),
                    duration_secs: None,
                    contact_id: None,
                    account_id: None,
                    agent_extension: None,
                    source: DispositionSource::Agent,
                    media: crate::genesys::model::Media::Call,
                    channel: None,
                    recovered: false,
                })
                .unwrap();
            outbox.park(id, 1, "needs_attention", code, &message).unwrap();
        }
        let loaded = crate::config::load(&crate::config::Sources::default()).unwrap();
        let status = crate::status::read(store.file()).unwrap();
        let shown =
            status.recent_errors.values().any(|e| e.latest.contains("Sideways") || e.latest.contains("blue sofa"));
        assert!(shown, "the local Sync view shows Salesforce's own message");
        let text = bundle(Some(store.file()), &loaded, Value::Null).unwrap().to_string();
        for value in ["blue sofa", "refund", "415-555-0199", "Sideways"] {
            assert!(!text.contains(value), "the bundle holds `{value}`");
        }
        assert!(text.contains("STRING_TOO_LONG") && text.contains("Disposition_Reason__c"), "but says what failed");
    }

    #[test]
    fn a_bundle_is_made_before_any_database_exists_and_masks_the_proxy_password() {
        let flags = vec!["network.proxy=http://agent:hunter2@proxy.corp:3128".to_string()];
        let loaded = crate::config::load(&crate::config::Sources { flags, ..Default::default() }).unwrap();
        let b = bundle(None, &loaded, Value::Null).unwrap();
        assert!(b["database"].as_str().unwrap().contains("not created yet"));
        assert!(b.get("status").is_none());
        let text = b.to_string();
        assert!(!text.contains("hunter2") && text.contains("proxy.corp:3128"), "{}", b["config"]["network"]);
    }

    #[test]
    fn the_logs_carried_are_the_newest_files_tails() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("companion.2026-12-01.log"), "old line\n").unwrap();
        let big = format!("{}\nlast line\n", "x".repeat(LOG_BYTES + 10));
        std::fs::write(dir.path().join("companion.2026-12-02.log"), big).unwrap();
        std::fs::write(dir.path().join("notes.txt"), "not a log").unwrap();
        let logs = recent_logs(dir.path());
        let files = logs["files"].as_array().unwrap();
        assert_eq!(files.len(), 2);
        let newest = files.iter().find(|f| f["file"] == "companion.2026-12-02.log").unwrap();
        assert_eq!(newest["text"], "last line\n", "cut to the tail, without the cut line");
        assert!(!logs.to_string().contains("not a log"));
    }
}
