//! A disposition as the org's records: the log object, and the optional call Task. In `segment` mode
//! each agent's segment is its own record (keyed `{conversation}:{participant}`, with the conversation
//! id in its own field); in `conversation` mode every segment writes the conversation's one record.

use super::Disposition;
use crate::config::{DispositionConfig, RecordPer, TaskConfig};
use crate::genesys::model::Media;
use crate::salesforce::ids;
use serde_json::{Map, Value, json};

/// The upsert key of the disposition's records.
pub fn record_key<'d>(cfg: &DispositionConfig, d: &'d Disposition) -> &'d str {
    match cfg.record_per {
        RecordPer::Segment => &d.interaction_id,
        // Rows queued before segments existed carry no conversation id: their key was it.
        RecordPer::Conversation if !d.conversation_id.is_empty() => &d.conversation_id,
        RecordPer::Conversation => &d.interaction_id,
    }
}

/// The `Disposition_Log__c` record (field names from configuration).
pub fn disposition_record(cfg: &DispositionConfig, d: &Disposition) -> Value {
    let mut m = Map::new();
    m.insert("attributes".into(), json!({"type": cfg.object}));
    m.insert(cfg.external_id_field.clone(), json!(record_key(cfg, d)));
    if cfg.record_per == RecordPer::Segment && !cfg.conversation_field.is_empty() && !d.conversation_id.is_empty() {
        m.insert(cfg.conversation_field.clone(), json!(d.conversation_id));
    }
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
    if !cfg.media_field.is_empty() {
        m.insert(cfg.media_field.clone(), json!(d.media_label()));
    }
    if let (false, Some(ext)) = (cfg.agent_extension_field.is_empty(), d.agent_extension.as_deref()) {
        m.insert(cfg.agent_extension_field.clone(), json!(ext));
    }
    Value::Object(m)
}

/// The activity `Task`, upserted on its external-id field. `TaskSubtype` is create-only in Salesforce,
/// and a retried upsert may be an update, so it is never sent; `Type` marks the activity instead
/// (`Call` with the call fields for calls and callbacks, `Email` for emails, `Other` for chats and
/// messages).
pub fn task_record(cfg: &TaskConfig, mapping: &DispositionConfig, d: &Disposition) -> Value {
    let code = mapping.code_map.get(&d.code).cloned().unwrap_or_else(|| d.code.clone());
    let mut m = Map::new();
    m.insert("attributes".into(), json!({"type": "Task"}));
    m.insert(cfg.external_id_field.clone(), json!(record_key(mapping, d)));
    let is_call = matches!(d.media, Media::Call | Media::Callback);
    let subject = if is_call {
        format!("{} — {code}", cfg.subject_prefix)
    } else {
        format!("{} ({}) — {code}", cfg.subject_prefix, d.media_label())
    };
    m.insert("Subject".into(), json!(subject));
    m.insert("Status".into(), json!(cfg.status));
    m.insert("Priority".into(), json!(cfg.priority));
    let activity = match d.media {
        Media::Call | Media::Callback => "Call",
        Media::Email => "Email",
        _ => "Other",
    };
    m.insert("Type".into(), json!(activity));
    if is_call {
        m.insert("CallType".into(), json!(if d.kind.is_outbound() { "Outbound" } else { "Inbound" }));
        m.insert("CallDisposition".into(), json!(code));
        let call = if d.conversation_id.is_empty() { &d.interaction_id } else { &d.conversation_id };
        m.insert("CallObject".into(), json!(call));
        if let Some(s) = d.duration_secs {
            m.insert("CallDurationInSeconds".into(), json!(s));
        }
    }
    m.insert("Description".into(), json!(d.reason));
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
    use crate::genesys::segment::SegmentKind;
    use crate::outbox::DispositionSource;

    fn d(contact: Option<&str>) -> Disposition {
        Disposition {
            interaction_id: "conv-1:p-1".into(),
            conversation_id: "conv-1".into(),
            kind: SegmentKind::Inbound,
            code: "Sale".into(),
            reason: "Upgraded".into(),
            timestamp: "2026-11-21T14:20:35.000Z".into(),
            duration_secs: Some(95),
            contact_id: contact.map(str::to_string),
            account_id: None,
            agent_extension: Some("4101".into()),
            source: DispositionSource::Genesys,
            media: crate::genesys::model::Media::Call,
            channel: None,
            recovered: false,
        }
    }

    #[test]
    fn maps_fields_codes_and_only_valid_contact_ids() {
        let mut cfg = DispositionConfig::default();
        cfg.code_map.insert("Sale".into(), "Completed".into());
        let r = disposition_record(&cfg, &d(Some("0038c00000000gI")));
        assert_eq!(r["Interaction_ID__c"], "conv-1:p-1", "one record per segment");
        assert_eq!(r["Conversation_ID__c"], "conv-1", "a report can group by the conversation");
        assert_eq!(r["Disposition_Code__c"], "Completed");
        assert_eq!(r["Contact__c"], "0038c00000000gIAAQ");
        assert_eq!(r["attributes"]["type"], "Disposition_Log__c");
        assert!(r.get("Agent_Extension__c").is_none(), "not configured");
        let r = disposition_record(&cfg, &d(Some("javascript:alert(1)")));
        assert!(r.get("Contact__c").is_none());
        let t = task_record(&TaskConfig::default(), &cfg, &d(Some("0038c00000000gI")));
        assert_eq!(t["Genesys_Conversation_Id__c"], "conv-1:p-1");
        assert_eq!(t["CallObject"], "conv-1");
        assert_eq!(t["CallType"], "Inbound");
        assert_eq!(t["CallDisposition"], "Completed");
        assert_eq!(t["WhoId"], "0038c00000000gIAAQ");
        assert_eq!(t["ActivityDate"], "2026-11-21");
        assert!(t.get("TaskSubtype").is_none());
    }

    #[test]
    fn the_seed_mode_writes_one_record_per_conversation_and_outbound_is_logged_as_such() {
        let cfg = DispositionConfig { record_per: RecordPer::Conversation, ..DispositionConfig::default() };
        let r = disposition_record(&cfg, &d(None));
        assert_eq!(r["Interaction_ID__c"], "conv-1");
        assert!(r.get("Conversation_ID__c").is_none(), "the key already is the conversation");
        let outbound = Disposition { kind: SegmentKind::Outbound, ..d(None) };
        let t = task_record(&TaskConfig::default(), &cfg, &outbound);
        assert_eq!(
            (t["Genesys_Conversation_Id__c"].as_str(), t["CallType"].as_str()),
            (Some("conv-1"), Some("Outbound"))
        );
        // A row queued before segments existed: its key was the conversation id, and stays so.
        let old = Disposition { interaction_id: "conv-0".into(), conversation_id: String::new(), ..d(None) };
        assert_eq!(disposition_record(&cfg, &old)["Interaction_ID__c"], "conv-0");
        assert_eq!(disposition_record(&DispositionConfig::default(), &old)["Interaction_ID__c"], "conv-0");
    }
}
