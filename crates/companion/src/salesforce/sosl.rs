//! Building SOSL safely: the search term is escaped for SOSL before it is URL-encoded, and the field
//! and object names come only from validated configuration.

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
    let returning: Vec<String> = objects.iter().map(|o| format!("{}({})", o.name, o.fields.join(", "))).collect();
    format!("FIND {{{}}} IN PHONE FIELDS RETURNING {}", escape(term), returning.join(", "))
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
}
