//! Every Salesforce query text the app sends, SOSL and SOQL, is written here and nowhere else: a
//! searched term is escaped for SOSL before it is URL-encoded, record ids are validated before they
//! are quoted, and field and object names come only from validated configuration or constants.

use crate::config::SearchObject;

/// Characters that must be backslash-escaped inside `FIND {…}`.
pub const RESERVED: &[char] =
    &['?', '&', '|', '!', '{', '}', '[', ']', '(', ')', '^', '~', '*', ':', '\\', '"', '\'', '+', '-'];

/// Escapes text for use inside the braces of `FIND {…}`.
pub fn escape(term: &str) -> String {
    let mut out = String::with_capacity(term.len() * 2);
    for c in term.chars() {
        if RESERVED.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `FIND {digits} IN PHONE FIELDS RETURNING Contact(…), Lead(…)`.
pub fn phone_search(term: &str, objects: &[SearchObject]) -> String {
    scoped_search(term, "PHONE", objects)
}

/// `FIND {address} IN EMAIL FIELDS RETURNING Contact(…), Lead(…)`.
pub fn email_search(address: &str, objects: &[SearchObject]) -> String {
    scoped_search(address, "EMAIL", objects)
}

fn scoped_search(term: &str, scope: &str, objects: &[SearchObject]) -> String {
    let returning: Vec<String> = objects.iter().map(|o| format!("{}({})", o.name, o.fields.join(", "))).collect();
    format!("FIND {{{}}} IN {scope} FIELDS RETURNING {}", escape(term), returning.join(", "))
}

/// The fields the agent's own search shows for a contact.
const CONTACT_FIELDS: &str = "Id, Name, Email, Phone, MobilePhone, AccountId, Account.Name, LastActivityDate";

/// `FIND {term} IN ALL FIELDS RETURNING Contact(…), Lead(…), Account(…)`: the agent's search by name,
/// email or account number.
pub fn text_search(term: &str, limit: usize) -> String {
    format!(
        "FIND {{{}}} IN ALL FIELDS RETURNING Contact({CONTACT_FIELDS} LIMIT {limit}), Lead(Id, Name, Email, Phone, Company, LastActivityDate LIMIT {limit}), Account(Id, Name, AccountNumber LIMIT 5)",
        escape(term)
    )
}

/// The contacts of some accounts. `None` when an id is not a valid record id (nothing typed ever
/// reaches the query text).
pub fn contacts_of_accounts(account_ids: &[String], limit: usize) -> Option<String> {
    let ids: Option<Vec<String>> =
        account_ids.iter().map(|id| crate::salesforce::ids::to_id18(id).map(|i| format!("'{i}'"))).collect();
    Some(format!("SELECT {CONTACT_FIELDS} FROM Contact WHERE AccountId IN ({}) LIMIT {limit}", ids?.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reserved_character_is_escaped() {
        let hostile = "?&|!{}[]()^~*:\\\"'+-";
        let escaped = escape(hostile);
        assert_eq!(escaped.chars().filter(|c| *c == '\\').count(), hostile.chars().count() + 1);
        assert_eq!(escape("+1 (415)"), "\\+1 \\(415\\)");
    }

    #[test]
    fn a_hostile_term_stays_inside_the_braces_and_an_id_list_takes_only_ids() {
        let q = text_search("O'Brien} IN ALL FIELDS RETURNING User(Id", 25);
        assert!(
            q.starts_with("FIND {O\\'Brien\\} IN ALL FIELDS RETURNING User\\(Id} IN ALL FIELDS RETURNING Contact("),
            "{q}"
        );
        assert_eq!(contacts_of_accounts(&["001000000000001AAA' OR Name != '".into()], 5), None);
        let ok = contacts_of_accounts(&["0018c00000000gIAAQ".into()], 5).unwrap();
        assert!(ok.ends_with("WHERE AccountId IN ('0018c00000000gIAAQ') LIMIT 5"), "{ok}");
    }
}
