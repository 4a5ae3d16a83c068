//! The records Salesforce holds, their indexes (phone digits, external ids), reads that project
//! field paths the way the REST API nests relationships, and writes with Salesforce's validation.

use super::schema::{self, FieldDef, FieldType, ObjectDef};
use crate::clock::sf_datetime;
use crate::config::{RuleCondition, ValidationRule};
use crate::ids;
use chrono::{TimeZone, Utc};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

mod coerce;
mod paths;

use coerce::blank;
pub use coerce::coerce;
pub use paths::{FieldPath, resolve_path};

/// One stored record.
#[derive(Debug, Clone)]
pub struct Record {
    /// Field values by API name.
    pub fields: Map<String, Value>,
    /// Simulated time from which SOSL can see it (SOQL sees it at once).
    pub searchable_at_ms: i64,
}

impl Record {
    /// The record id.
    pub fn id(&self) -> &str {
        self.fields.get("Id").and_then(Value::as_str).unwrap_or("")
    }

    /// A field as text.
    pub fn text(&self, field: &str) -> Option<&str> {
        self.fields.get(field).and_then(Value::as_str)
    }
}

/// All records of one object.
#[derive(Debug, Default)]
pub struct Table {
    pub records: HashMap<String, Record>,
    /// Ids in creation order.
    pub order: Vec<String>,
    ext_index: HashMap<(&'static str, String), Vec<String>>,
}

impl Table {
    /// Records in creation order.
    pub fn iter(&self) -> impl Iterator<Item = &Record> {
        self.order.iter().filter_map(|id| self.records.get(id))
    }
}

/// The digits a phone value is searched by: extension cut off, formatting and trunk zeros removed.
pub fn phone_digits(raw: &str) -> String {
    let lower = raw.to_ascii_lowercase();
    let cut = ["ext", "x", "#", ";", ","].iter().filter_map(|m| lower.find(m)).min().unwrap_or(lower.len());
    let digits: String = lower[..cut].chars().filter(char::is_ascii_digit).collect();
    digits.trim_start_matches('0').to_string()
}

/// How SOSL matches a searched number against a stored one: one digit string is a suffix of the
/// other and the shorter has at least 7 digits (or they are equal). Over-matching across countries is
/// possible, as with the real service: clients re-check.
pub fn phone_matches(term: &str, stored: &str) -> bool {
    if term.is_empty() || stored.is_empty() {
        return false;
    }
    let (short, long) = if term.len() <= stored.len() { (term, stored) } else { (stored, term) };
    if short.len() < 7 { short == long } else { long.ends_with(short) }
}

fn index_key(digits: &str) -> Option<&str> {
    (digits.len() >= 7).then(|| &digits[digits.len() - 7..])
}

/// A failure of one record: `{statusCode, message, fields}` in collections, `{errorCode, …}` alone.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordError {
    pub status_code: &'static str,
    pub message: String,
    pub fields: Vec<String>,
}

impl RecordError {
    fn new(code: &'static str, message: impl Into<String>, fields: &[&str]) -> RecordError {
        RecordError {
            status_code: code,
            message: message.into(),
            fields: fields.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// The collection-result form.
    pub fn collection_json(&self) -> Value {
        json!({"statusCode": self.status_code, "message": self.message, "fields": self.fields})
    }
}

/// A failure of the whole request (a body that does not deserialize: unknown field, wrong JSON type).
#[derive(Debug, Clone, PartialEq)]
pub struct RequestError {
    pub error_code: &'static str,
    pub message: String,
}

/// What a write should do.
#[derive(Debug, Clone)]
pub enum WriteTarget {
    /// Insert a new record.
    Create,
    /// Update this record.
    Update(String),
}

/// A write that passed validation, ready to apply.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub target: WriteTarget,
    pub values: Map<String, Value>,
}

/// Everything Salesforce stores.
#[derive(Debug, Default)]
pub struct RecordStore {
    pub tables: HashMap<&'static str, Table>,
    phone_index: HashMap<String, Vec<(&'static str, String)>>,
    /// Lower-cased email addresses, as the search index finds a whole address at once.
    email_index: HashMap<String, Vec<(&'static str, String)>>,
    seq: u64,
    autonumber: u64,
}

impl RecordStore {
    /// A table (empty when nothing was ever written).
    pub fn table(&self, obj: &ObjectDef) -> Option<&Table> {
        self.tables.get(obj.name)
    }

    /// A record by id, any object.
    pub fn get(&self, id: &str) -> Option<(&'static ObjectDef, &Record)> {
        let id18 = ids::to_id18(id)?;
        let obj = schema::object_of_id(&id18)?;
        self.tables.get(obj.name)?.records.get(&id18).map(|r| (obj, r))
    }

    /// Ids whose external-id field holds this value.
    pub fn find_by_external(&self, obj: &ObjectDef, field: &'static str, value: &str) -> Vec<String> {
        self.tables
            .get(obj.name)
            .and_then(|t| t.ext_index.get(&(field, value.to_string())))
            .cloned()
            .unwrap_or_default()
    }

    /// Records of the given objects whose phone fields match the searched digits.
    pub fn phone_candidates(&self, digits: &str) -> Vec<(&'static str, &Record)> {
        let mut out = Vec::new();
        let mut push = |obj: &'static str, id: &String| {
            if let Some(r) = self.tables.get(obj).and_then(|t| t.records.get(id))
                && !out.iter().any(|(o, x): &(&str, &Record)| *o == obj && x.id() == r.id())
            {
                out.push((obj, r));
            }
        };
        match index_key(digits) {
            Some(k) => {
                for (obj, id) in self.phone_index.get(k).into_iter().flatten() {
                    push(obj, id);
                }
            }
            None => {
                // Short terms: scan (rare, and cheap at the simulator's sizes).
                for (name, table) in &self.tables {
                    for id in &table.order {
                        push(name, id);
                    }
                }
            }
        }
        out.retain(|(obj, r)| {
            schema::object(obj)
                .map(|def| {
                    def.phone_fields.iter().any(|f| r.text(f).is_some_and(|v| phone_matches(digits, &phone_digits(v))))
                })
                .unwrap_or(false)
        });
        out
    }

    /// Records whose email fields hold this whole address (any case); `None` when the term is not a
    /// whole address (a word or a wildcard), which the search then scans for.
    pub fn email_candidates(&self, term: &str) -> Option<Vec<(&'static str, &Record)>> {
        let t = term.trim().to_lowercase();
        if !t.contains('@') || t.contains('*') || t.contains(' ') {
            return None;
        }
        let hits = self.email_index.get(&t).into_iter().flatten();
        Some(hits.filter_map(|(obj, id)| self.tables.get(obj)?.records.get(id).map(|r| (*obj, r))).collect())
    }

    /// Keeps a record in (or takes it out of) the search indexes: its phone numbers and email addresses.
    fn index_search(&mut self, obj: &'static ObjectDef, rec: &Record, add: bool) {
        for f in obj.email_fields {
            let Some(v) = rec.text(f).map(|v| v.trim().to_lowercase()).filter(|v| !v.is_empty()) else { continue };
            let entry = self.email_index.entry(v).or_default();
            let item = (obj.name, rec.id().to_string());
            if add {
                if !entry.contains(&item) {
                    entry.push(item);
                }
            } else {
                entry.retain(|x| x != &item);
            }
        }
        for f in obj.phone_fields {
            let Some(v) = rec.text(f) else { continue };
            let d = phone_digits(v);
            let Some(k) = index_key(&d) else { continue };
            let entry = self.phone_index.entry(k.to_string()).or_default();
            let item = (obj.name, rec.id().to_string());
            if add {
                if !entry.contains(&item) {
                    entry.push(item);
                }
            } else {
                entry.retain(|x| x != &item);
            }
        }
    }

    fn index_external(&mut self, obj: &'static ObjectDef, rec: &Record, add: bool) {
        let table = self.tables.entry(obj.name).or_default();
        for f in obj.fields.iter().filter(|f| f.external_id) {
            let Some(v) = rec.text(f.name) else { continue };
            let entry = table.ext_index.entry((f.name, v.to_string())).or_default();
            if add {
                entry.push(rec.id().to_string());
            } else {
                entry.retain(|x| x != rec.id());
            }
        }
    }

    /// Checks a write against access, references, uniqueness, required fields and validation rules.
    pub fn prepare(
        &self,
        obj: &'static ObjectDef,
        target: WriteTarget,
        values: Map<String, Value>,
        rules: &[ValidationRule],
    ) -> Result<Prepared, RecordError> {
        let existing = match &target {
            WriteTarget::Update(id) => self.tables.get(obj.name).and_then(|t| t.records.get(id)),
            WriteTarget::Create => None,
        };
        let creating = existing.is_none();
        for (name, v) in &values {
            let def: &FieldDef = obj.field(name).expect("coerced names are known");
            if (creating && !def.createable) || (!creating && !def.updateable) {
                return Err(RecordError::new(
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    format!(
                        "Unable to create/update fields: {name}. Please check the security settings of this field and verify that it is read/write for your profile or permission set."
                    ),
                    &[def.name],
                ));
            }
            let Value::String(s) = v else { continue };
            match def.ty {
                FieldType::Text(max) | FieldType::LongText(max) if s.chars().count() > max => {
                    return Err(RecordError::new(
                        "STRING_TOO_LONG",
                        format!(
                            "{}: data value too large: {}... (max length={max})",
                            def.name,
                            s.chars().take(20).collect::<String>()
                        ),
                        &[def.name],
                    ));
                }
                FieldType::Phone if s.chars().count() > 40 => {
                    return Err(RecordError::new(
                        "STRING_TOO_LONG",
                        format!("{}: data value too large (max length=40)", def.name),
                        &[def.name],
                    ));
                }
                FieldType::Email if !is_email(s) => {
                    return Err(RecordError::new(
                        "INVALID_EMAIL_ADDRESS",
                        format!("{}: invalid email address: {s}", def.name),
                        &[def.name],
                    ));
                }
                FieldType::Picklist { values: allowed, restricted: true } if !allowed.contains(&s.as_str()) => {
                    return Err(RecordError::new(
                        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                        format!("{}: bad value for restricted picklist field: {s}", def.name),
                        &[def.name],
                    ));
                }
                FieldType::Reference { to, .. } => {
                    let Some(id18) = ids::to_id18(s) else {
                        return Err(RecordError::new(
                            "MALFORMED_ID",
                            format!("{}: id value of incorrect type: {s}", def.name),
                            &[def.name],
                        ));
                    };
                    let ok = self.get(&id18).is_some_and(|(o, _)| to.contains(&o.name));
                    if !ok {
                        return Err(RecordError::new(
                            "INVALID_CROSS_REFERENCE_KEY",
                            format!("invalid cross reference id: {s}"),
                            &[def.name],
                        ));
                    }
                }
                _ => {}
            }
            if def.unique {
                let clash = self
                    .find_by_external(obj, def.name, s)
                    .into_iter()
                    .find(|id| existing.is_none_or(|r| r.id() != id));
                if let Some(other) = clash {
                    return Err(RecordError::new(
                        "DUPLICATE_VALUE",
                        format!("duplicate value found: {} duplicates value on record with id: {other}", def.name),
                        &[def.name],
                    ));
                }
            }
        }
        let merged =
            |name: &str| -> Option<&Value> { values.get(name).or_else(|| existing.and_then(|r| r.fields.get(name))) };
        let missing: Vec<&str> =
            obj.fields.iter().filter(|f| f.required && blank(merged(f.name))).map(|f| f.name).collect();
        if !missing.is_empty() {
            return Err(RecordError::new(
                "REQUIRED_FIELD_MISSING",
                format!("Required fields are missing: [{}]", missing.join(", ")),
                &missing,
            ));
        }
        for rule in rules.iter().filter(|r| r.object.eq_ignore_ascii_case(obj.name)) {
            let v = merged(&rule.field).and_then(|v| match v {
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            });
            let fires = match rule.when {
                RuleCondition::Required => v.as_deref().is_none_or(|s| s.trim().is_empty()),
                RuleCondition::RejectValue => v.is_some() && v == rule.value,
                RuleCondition::RejectContaining => {
                    v.as_deref().zip(rule.value.as_deref()).is_some_and(|(s, needle)| s.contains(needle))
                }
            };
            if fires {
                return Err(RecordError::new(
                    "FIELD_CUSTOM_VALIDATION_EXCEPTION",
                    rule.message.clone(),
                    &[rule.field.as_str()],
                ));
            }
        }
        let target = match existing {
            Some(r) => WriteTarget::Update(r.id().to_string()),
            None => WriteTarget::Create,
        };
        Ok(Prepared { target, values })
    }

    /// Applies a prepared write. Returns the id and whether it was created.
    pub fn apply(&mut self, obj: &'static ObjectDef, p: Prepared, now_ms: i64, index_delay_ms: i64) -> (String, bool) {
        let now = sf_datetime(Utc.timestamp_millis_opt(now_ms).single().unwrap_or_else(Utc::now));
        match p.target {
            WriteTarget::Create => {
                self.seq += 1;
                let id = ids::salesforce_id(obj.prefix, self.seq);
                let mut fields = Map::new();
                fields.insert("Id".into(), json!(id));
                for (k, v) in p.values {
                    fields.insert(k, normalise_reference(v));
                }
                fields.insert("CreatedDate".into(), json!(now));
                fields.insert("LastModifiedDate".into(), json!(now));
                if obj.field("Processed_Flag__c").is_some() && !fields.contains_key("Processed_Flag__c") {
                    fields.insert("Processed_Flag__c".into(), json!(false));
                }
                if obj.name == "Lead" && blank(fields.get("Status")) {
                    fields.insert("Status".into(), json!("Open - Not Contacted"));
                }
                if obj.name == "Disposition_Log__c" {
                    self.autonumber += 1;
                    fields.insert("Name".into(), json!(format!("DL-{:06}", self.autonumber)));
                }
                let mut rec = Record { fields, searchable_at_ms: now_ms + index_delay_ms };
                compute_name(obj, &mut rec);
                self.index_search(obj, &rec, true);
                self.index_external(obj, &rec, true);
                let table = self.tables.entry(obj.name).or_default();
                table.order.push(id.clone());
                table.records.insert(id.clone(), rec);
                (id, true)
            }
            WriteTarget::Update(id) => {
                let Some(old) = self.tables.get(obj.name).and_then(|t| t.records.get(&id)).cloned() else {
                    return (id, false);
                };
                self.index_search(obj, &old, false);
                self.index_external(obj, &old, false);
                let mut rec = old;
                for (k, v) in p.values {
                    rec.fields.insert(k, normalise_reference(v));
                }
                rec.fields.insert("LastModifiedDate".into(), json!(now));
                compute_name(obj, &mut rec);
                self.index_search(obj, &rec, true);
                self.index_external(obj, &rec, true);
                self.tables.entry(obj.name).or_default().records.insert(id.clone(), rec);
                (id, false)
            }
        }
    }

    /// Inserts a seeded record as it is (ids already assigned), keeping the indexes.
    pub fn insert_seeded(&mut self, obj: &'static ObjectDef, fields: Map<String, Value>) {
        let mut rec = Record { fields, searchable_at_ms: i64::MIN };
        compute_name(obj, &mut rec);
        self.index_search(obj, &rec, true);
        self.index_external(obj, &rec, true);
        let table = self.tables.entry(obj.name).or_default();
        table.order.push(rec.id().to_string());
        table.records.insert(rec.id().to_string(), rec);
    }

    /// Where the id sequence of API-created records starts (above every seeded one).
    pub fn set_sequence(&mut self, seq: u64) {
        self.seq = seq;
    }
}

fn normalise_reference(v: Value) -> Value {
    match &v {
        Value::String(s) if ids::is_salesforce_id(s) && s.len() == 15 => json!(ids::to_id18(s)),
        _ => v,
    }
}

fn compute_name(obj: &ObjectDef, rec: &mut Record) {
    if matches!(obj.name, "Contact" | "Lead") {
        let first = rec.text("FirstName").unwrap_or("").trim().to_string();
        let last = rec.text("LastName").unwrap_or("").trim().to_string();
        let name = if first.is_empty() { last } else { format!("{first} {last}") };
        rec.fields.insert("Name".into(), json!(name));
    }
}

fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.contains(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::coerce::parse_datetime;
    use super::*;

    #[test]
    fn digits_drop_formatting_extensions_and_trunk_zeros() {
        assert_eq!(phone_digits("(415) 555-1212"), "4155551212");
        assert_eq!(phone_digits("415.555.1212 ext 3"), "4155551212");
        assert_eq!(phone_digits("+1 415 555 1212 x204"), "14155551212");
        assert_eq!(phone_digits("020 7946 0123"), "2079460123");
        assert_eq!(phone_digits("+44 (0)20 7946 0123"), "4402079460123");
    }

    #[test]
    fn suffix_matching() {
        assert!(phone_matches("14155551212", "4155551212"));
        assert!(phone_matches("442079460123", "2079460123"));
        assert!(!phone_matches("4155551212", "4155551213"));
        assert!(!phone_matches("123", "5123"));
        assert!(phone_matches("123", "123"));
    }

    #[test]
    fn datetime_forms() {
        assert_eq!(parse_datetime("2026-11-21T14:20:35Z").as_deref(), Some("2026-11-21T14:20:35.000+0000"));
        assert_eq!(parse_datetime("2026-11-21T15:20:35.5+01:00").as_deref(), Some("2026-11-21T14:20:35.500+0000"));
        assert_eq!(parse_datetime("2026-11-21T14:20:35.000+0000").as_deref(), Some("2026-11-21T14:20:35.000+0000"));
        assert!(parse_datetime("yesterday").is_none());
    }
}
