//! A disposition as the org's records: the log object, and the optional call Task.

use super::Disposition;
use crate::config::{DispositionConfig, TaskConfig};
use crate::salesforce::ids;
use serde_json::{Map, Value, json};

/// The `Disposition_Log__c` record (field names from configuration).
pub fn disposition_record(cfg: &DispositionConfig, d: &Disposition) -> Value {
    let mut m = Map::new();
    m.insert("attributes".into(), json!({"type": cfg.object}));
    m.insert(cfg.external_id_field.clone(), json!(d.conversation_id));
    let code = cfg.code_map.get(&d.code).cloned().unwrap_or_else(|| d.code.clone());
    m.insert(cfg.code_field.clone(), json!(code));
    m.insert(cfg.reason_field.clone(), json!(d.reason));
    m.insert(cfg.timestamp_field.clone(), json!(d.timestamp));
    // Only a well-formed contact id is sent; anything else would fail the record.
    if let Some(id) = d.contact_id.as_deref().and_then(ids::to_id18).filter(|id| ids::object_of(id) == Some("Contact"))
        && !cfg.contact_field.is_empty()
    {
        m.insert(cfg.contact_field.clone(), json!(id));
    }
    if let (false, Some(ext)) = (cfg.agent_extension_field.is_empty(), d.agent_extension.as_deref()) {
        m.insert(cfg.agent_extension_field.clone(), json!(ext));
    }
    Value::Object(m)
}

/// The call `Task`, upserted on its external-id field. `TaskSubtype` is create-only in Salesforce, and a
/// retried upsert may be an update, so it is never sent; `Type = Call` marks the activity instead.
pub fn task_record(cfg: &TaskConfig, mapping: &DispositionConfig, d: &Disposition) -> Value {
    let code = mapping.code_map.get(&d.code).cloned().unwrap_or_else(|| d.code.clone());
    let mut m = Map::new();
    m.insert("attributes".into(), json!({"type": "Task"}));
    m.insert(cfg.external_id_field.clone(), json!(d.conversation_id));
    m.insert("Subject".into(), json!(format!("{} — {code}", cfg.subject_prefix)));
    m.insert("Status".into(), json!(cfg.status));
    m.insert("Priority".into(), json!(cfg.priority));
    m.insert("Type".into(), json!("Call"));
    m.insert("CallType".into(), json!("Inbound"));
    m.insert("CallDisposition".into(), json!(code));
    m.insert("CallObject".into(), json!(d.conversation_id));
    m.insert("Description".into(), json!(d.reason));
    if let Some(s) = d.duration_secs {
        m.insert("CallDurationInSeconds".into(), json!(s));
    }
    if let Some(id) = d
        .contact_id
        .as_deref()
        .and_then(ids::to_id18)
        .filter(|id| matches!(ids::object_of(id), Some("Contact" | "Lead")))
    {
        m.insert("WhoId".into(), json!(id));
    }
    if let Some(id) = d.account_id.as_deref().and_then(ids::to_id18) {
        m.insert("WhatId".into(), json!(id));
    }
    if let Some(date) = d.timestamp.get(..10) {
        m.insert("ActivityDate".into(), json!(date));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outbox::DispositionSource;

    fn d(contact: Option<&str>) -> Disposition {
        Disposition {
            conversation_id: "conv-1".into(),
            code: "Sale".into(),
            reason: "Upgraded".into(),
            timestamp: "2026-11-21T14:20:35.000Z".into(),
            duration_secs: Some(95),
            contact_id: contact.map(str::to_string),
            account_id: None,
            agent_extension: Some("4101".into()),
            source: DispositionSource::Genesys,
        }
    }

    #[test]
    fn maps_fields_codes_and_only_valid_contact_ids() {
        let mut cfg = DispositionConfig::default();
        cfg.code_map.insert("Sale".into(), "Completed".into());
        let r = disposition_record(&cfg, &d(Some("0038c00000000gI")));
        assert_eq!(r["Interaction_ID__c"], "conv-1");
        assert_eq!(r["Disposition_Code__c"], "Completed");
        assert_eq!(r["Contact__c"], "0038c00000000gIAAQ");
        assert_eq!(r["attributes"]["type"], "Disposition_Log__c");
        assert!(r.get("Agent_Extension__c").is_none(), "not configured");
        let r = disposition_record(&cfg, &d(Some("javascript:alert(1)")));
        assert!(r.get("Contact__c").is_none());
        let t = task_record(&TaskConfig::default(), &cfg, &d(Some("0038c00000000gI")));
        assert_eq!(t["Genesys_Conversation_Id__c"], "conv-1");
        assert_eq!(t["CallDisposition"], "Completed");
        assert_eq!(t["WhoId"], "0038c00000000gIAAQ");
        assert_eq!(t["ActivityDate"], "2026-11-21");
        assert!(t.get("TaskSubtype").is_none());
    }
}
