//! The caller's identification, carried on the conversation: when an agent identifies the caller, the
//! companion writes the record id and the agent's name on the customer participant's attributes, so
//! the companion of the next agent (after a transfer or a consult) pops that record at once.

use crate::salesforce::ids;
use std::collections::BTreeMap;

/// The attribute holding the record id.
pub const RECORD_ATTRIBUTE: &str = "companion_record_id";
/// The attribute holding the name of the agent who identified the caller.
pub const BY_ATTRIBUTE: &str = "companion_identified_by";
/// Longest name kept (a name is shown on a card, never trusted for more).
const MAX_NAME: usize = 120;

/// Who identified the caller as which record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identification {
    /// A validated 18-character Salesforce id.
    pub record_id: String,
    pub by: String,
}

/// The identification in a participant's attributes, when its record id is a well-formed id.
pub fn read(attributes: &BTreeMap<String, String>) -> Option<Identification> {
    let record_id = ids::to_id18(attributes.get(RECORD_ATTRIBUTE)?.trim())?;
    let by: String = attributes.get(BY_ATTRIBUTE).map(|b| b.trim()).unwrap_or("").chars().take(MAX_NAME).collect();
    Some(Identification { record_id, by })
}

/// The attributes that carry an identification.
pub fn attributes(i: &Identification) -> BTreeMap<String, String> {
    BTreeMap::from([
        (RECORD_ATTRIBUTE.to_string(), i.record_id.clone()),
        (BY_ATTRIBUTE.to_string(), i.by.chars().take(MAX_NAME).collect()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_well_formed_record_id_is_read_and_names_are_capped() {
        let i = Identification { record_id: "0038c00000000gIAAQ".into(), by: "A".repeat(500) };
        let back = read(&attributes(&i)).unwrap();
        assert_eq!(back.record_id, i.record_id);
        assert_eq!(back.by.len(), MAX_NAME);
        let forged = BTreeMap::from([(RECORD_ATTRIBUTE.to_string(), "javascript:alert(1)".to_string())]);
        assert_eq!(read(&forged), None);
        assert_eq!(read(&BTreeMap::new()), None);
    }
}
