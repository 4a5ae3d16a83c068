//! A JSON body turned into typed field values, or the whole request refused, as Salesforce's
//! deserializer does.

use super::super::schema::{FieldType, ObjectDef};
use super::RequestError;
use crate::clock::sf_datetime;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::{Map, Value, json};

/// Turns a JSON body into typed field values, or fails the whole request as Salesforce's
/// deserializer does.
pub fn coerce(obj: &ObjectDef, body: &Map<String, Value>) -> Result<Map<String, Value>, RequestError> {
    let mut out = Map::new();
    for (k, v) in body {
        if k == "attributes" {
            continue;
        }
        let Some(def) = obj.field(k) else {
            return Err(RequestError {
                error_code: "INVALID_FIELD",
                message: format!("No such column '{k}' on sobject of type {}", obj.name),
            });
        };
        let bad = |what: &str| RequestError {
            error_code: "JSON_PARSER_ERROR",
            message: format!(
                "Cannot deserialize instance of {what} from {} value {v} for field {}",
                json_kind(v),
                def.name
            ),
        };
        let value = match (&def.ty, v) {
            (_, Value::Null) => Value::Null,
            (FieldType::Checkbox, Value::Bool(_)) => v.clone(),
            (FieldType::Checkbox, _) => return Err(bad("boolean")),
            (FieldType::Number, Value::Number(_)) => v.clone(),
            (FieldType::Number, Value::String(s)) => {
                s.trim().parse::<f64>().map(|n| json!(n)).map_err(|_| bad("double"))?
            }
            (FieldType::Number, _) => return Err(bad("double")),
            (FieldType::DateTime, Value::String(s)) => Value::String(parse_datetime(s).ok_or_else(|| bad("datetime"))?),
            (FieldType::DateTime, _) => return Err(bad("datetime")),
            (FieldType::Date, Value::String(s)) => {
                NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| bad("date"))?;
                v.clone()
            }
            (FieldType::Date, _) => return Err(bad("date")),
            (_, Value::String(_)) => v.clone(),
            (_, Value::Number(n)) => Value::String(n.to_string()),
            (_, Value::Bool(b)) => Value::String(b.to_string()),
            (_, _) => return Err(bad("text")),
        };
        out.insert(def.name.to_string(), value);
    }
    Ok(out)
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "VALUE_STRING",
        Value::Number(_) => "VALUE_NUMBER",
        Value::Bool(_) => "VALUE_BOOLEAN",
        Value::Array(_) => "START_ARRAY",
        Value::Object(_) => "START_OBJECT",
        Value::Null => "VALUE_NULL",
    }
}

/// Accepts ISO-8601 with `Z` or an offset, and Salesforce's `+0000` form; stores Salesforce's form.
pub fn parse_datetime(s: &str) -> Option<String> {
    let parsed =
        DateTime::parse_from_rfc3339(s).ok().or_else(|| DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z").ok())?;
    Some(sf_datetime(parsed.with_timezone(&Utc)))
}

pub(super) fn blank(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => true,
        Some(Value::String(s)) => s.trim().is_empty(),
        _ => false,
    }
}
