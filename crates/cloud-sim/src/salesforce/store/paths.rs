//! Field paths (`Name`, `Account.Name`) resolved against the schema, and records projected along them
//! the way the REST API nests relationships.

use super::super::schema::{self, FieldType, ObjectDef};
use super::{Record, RecordStore};
use serde_json::{Map, Value, json};

/// A field path in a query or a RETURNING clause, resolved against the schema.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldPath {
    /// A field of the record.
    Field(&'static str),
    /// A field of a related record: `Account.Name`.
    Related { reference: &'static str, relationship: &'static str, targets: &'static [&'static str], field: String },
}

/// Resolves `Name` or `Account.Name` on an object, or says which column does not exist.
pub fn resolve_path(obj: &'static ObjectDef, path: &str) -> Result<FieldPath, String> {
    let no_column = || {
        format!(
            "No such column '{path}' on entity '{}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name.",
            obj.name
        )
    };
    match path.split_once('.') {
        None => obj.field(path).map(|f| FieldPath::Field(f.name)).ok_or_else(no_column),
        Some((rel, sub)) => {
            let def = obj
                .relationship(rel)
                .ok_or_else(|| format!("Didn't understand relationship '{rel}' in field path."))?;
            let FieldType::Reference { to, relationship } = def.ty else {
                return Err(no_column());
            };
            if sub.contains('.') {
                return Err(format!(
                    "Relationship paths deeper than one level are not supported by the simulator: '{path}'"
                ));
            }
            let known = to.iter().filter_map(|t| schema::object(t)).any(|o| o.field(sub).is_some());
            if !known {
                return Err(format!("No such column '{sub}' on entity '{}'.", to[0]));
            }
            Ok(FieldPath::Related { reference: def.name, relationship, targets: to, field: sub.to_string() })
        }
    }
}

/// The `attributes` of a record in responses.
pub fn attributes(obj: &str, id: &str, version: &str) -> Value {
    json!({"type": obj, "url": format!("/services/data/{version}/sobjects/{obj}/{id}")})
}

impl RecordStore {
    /// A record as the REST API returns it for the given field paths.
    pub fn project(&self, obj: &ObjectDef, rec: &Record, paths: &[FieldPath], version: &str) -> Value {
        let mut out = Map::new();
        out.insert("attributes".into(), attributes(obj.name, rec.id(), version));
        for p in paths {
            match p {
                FieldPath::Field(f) => {
                    out.insert((*f).to_string(), rec.fields.get(*f).cloned().unwrap_or(Value::Null));
                }
                FieldPath::Related { reference, relationship, field, .. } => {
                    let related = rec.text(reference).and_then(|id| self.get(id));
                    match related {
                        None => {
                            out.entry(relationship.to_string()).or_insert(Value::Null);
                        }
                        Some((robj, r)) => {
                            let entry = out
                                .entry(relationship.to_string())
                                .or_insert_with(|| json!({"attributes": attributes(robj.name, r.id(), version)}));
                            if let Some(m) = entry.as_object_mut() {
                                let fname = robj.field(field).map(|f| f.name).unwrap_or(field.as_str());
                                m.insert(fname.to_string(), r.fields.get(fname).cloned().unwrap_or(Value::Null));
                            }
                        }
                    }
                }
            }
        }
        Value::Object(out)
    }

    /// A field value along a path, for WHERE and ORDER BY.
    pub fn path_value<'a>(&'a self, rec: &'a Record, path: &FieldPath) -> Option<&'a Value> {
        match path {
            FieldPath::Field(f) => rec.fields.get(*f),
            FieldPath::Related { reference, field, .. } => {
                let (robj, r) = self.get(rec.text(reference)?)?;
                r.fields.get(robj.field(field)?.name)
            }
        }
    }
}
