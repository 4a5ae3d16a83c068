//! SOSL, parsed for real: `FIND {term} [IN ALL|NAME|EMAIL|PHONE|SIDEBAR FIELDS]
//! [RETURNING Object[(fields [WHERE …] [LIMIT n])], …] [LIMIT n]`.
//!
//! Inside the braces the reserved characters `? & | ! { } [ ] ( ) ^ ~ * : \ " ' + -` must be
//! backslash-escaped, or the search is refused with `MALFORMED_SEARCH`, as Salesforce does. Unescaped
//! `*` and `?` are SOSL's wildcards and stay legal.

use super::schema::{self, ObjectDef};
use super::soql::{self, Cond, Parser, Token};
use super::store::{FieldPath, Record, RecordStore, phone_digits, phone_matches};
use serde_json::{Value, json};

/// Characters that must be escaped inside `FIND {…}`.
pub const RESERVED: &[char] =
    &['?', '&', '|', '!', '{', '}', '[', ']', '(', ')', '^', '~', '*', ':', '\\', '"', '\'', '+', '-'];

/// The most rows a search returns.
pub const MAX_ROWS: usize = 2000;

/// Which fields the term is looked for in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    All,
    Name,
    Email,
    Phone,
}

/// One word of the term.
#[derive(Debug, Clone, PartialEq)]
pub struct Word {
    /// Lower-cased text without wildcards.
    pub text: String,
    /// Ends with `*` (prefix match).
    pub prefix: bool,
}

/// One object of RETURNING.
#[derive(Debug)]
pub struct Returning {
    pub object: &'static ObjectDef,
    pub fields: Vec<FieldPath>,
    pub filter: Option<Cond>,
    pub limit: Option<usize>,
}

/// A parsed search.
#[derive(Debug)]
pub struct Search {
    /// The term as the search sees it, unescaped.
    pub term: String,
    pub words: Vec<Word>,
    pub scope: Scope,
    pub returning: Vec<Returning>,
    pub limit: Option<usize>,
}

/// A refused search.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct SearchError {
    /// `MALFORMED_SEARCH`, `INVALID_FIELD` or `INVALID_TYPE`.
    pub code: &'static str,
    /// The message.
    pub message: String,
}

fn malformed(m: impl Into<String>) -> SearchError {
    SearchError { code: "MALFORMED_SEARCH", message: m.into() }
}

impl From<soql::QueryError> for SearchError {
    fn from(e: soql::QueryError) -> Self {
        let code = if e.code == "MALFORMED_QUERY" { "MALFORMED_SEARCH" } else { e.code };
        SearchError { code, message: e.message }
    }
}

/// Escapes text for use inside `FIND {…}` (what a careful client does; used by tests).
pub fn escape_term(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        if RESERVED.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Reads the term between the braces; returns it unescaped, its words, and the byte offset after `}`.
fn read_term(q: &str, open: usize) -> Result<(String, Vec<Word>, usize), SearchError> {
    let mut term = String::new();
    let mut words: Vec<Word> = Vec::new();
    let mut current = String::new();
    let mut prefix = false;
    let flush = |current: &mut String, prefix: &mut bool, words: &mut Vec<Word>| {
        if !current.is_empty() || *prefix {
            words.push(Word { text: current.to_lowercase(), prefix: *prefix });
        }
        current.clear();
        *prefix = false;
    };
    let mut it = q[open + 1..].char_indices();
    while let Some((i, c)) = it.next() {
        let at = open + 1 + i;
        match c {
            '}' => {
                flush(&mut current, &mut prefix, &mut words);
                return Ok((term, words, at + 1));
            }
            '\\' => match it.next() {
                Some((_, e)) if RESERVED.contains(&e) => {
                    term.push(e);
                    current.push(e);
                }
                Some((_, e)) => {
                    return Err(malformed(format!("Invalid escape sequence '\\{e}' in search term")));
                }
                None => return Err(malformed("unterminated escape in search term")),
            },
            '*' | '?' => {
                term.push(c);
                prefix = true;
            }
            c if RESERVED.contains(&c) => {
                return Err(malformed(format!("line 1:{at} no viable alternative at character '{c}'")));
            }
            c if c.is_whitespace() => {
                term.push(c);
                flush(&mut current, &mut prefix, &mut words);
            }
            c => {
                if prefix {
                    // A wildcard in the middle of a word: treat the rest as a new fragment of the prefix.
                    prefix = false;
                }
                term.push(c);
                current.push(c);
            }
        }
    }
    Err(malformed("No search term found. The search term must be enclosed in braces."))
}

/// Parses a SOSL search.
pub fn parse(q: &str) -> Result<Search, SearchError> {
    let trimmed = q.trim_start();
    let lead = q.len() - trimmed.len();
    if !trimmed.get(..4).is_some_and(|w| w.eq_ignore_ascii_case("FIND")) {
        return Err(malformed("unexpected token: expected FIND"));
    }
    let after_find = &trimmed[4..];
    let open_rel = after_find.find(|c: char| !c.is_whitespace()).filter(|&i| after_find[i..].starts_with('{'));
    let Some(open_rel) = open_rel else {
        return Err(malformed("No search term found. The search term must be enclosed in braces."));
    };
    let open = lead + 4 + open_rel;
    let (term, words, after) = read_term(q, open)?;
    let significant: usize = words.iter().map(|w| w.text.chars().count()).sum();
    if significant < 2 {
        return Err(malformed("search term must be longer than one character"));
    }
    let toks = soql::tokenize(&q[after..]).map_err(SearchError::from)?;
    let mut p = Parser::new(&toks);
    let mut scope = Scope::All;
    if p.keyword("IN") {
        let s = p.ident("ALL, NAME, EMAIL, PHONE or SIDEBAR")?;
        scope = match s.to_ascii_uppercase().as_str() {
            "ALL" | "SIDEBAR" => Scope::All,
            "NAME" => Scope::Name,
            "EMAIL" => Scope::Email,
            "PHONE" => Scope::Phone,
            other => return Err(malformed(format!("unexpected token: {other}"))),
        };
        if !p.keyword("FIELDS") {
            return Err(malformed("expected FIELDS"));
        }
    }
    let mut returning = Vec::new();
    if p.keyword("RETURNING") {
        loop {
            let name = p.ident("an object name")?;
            let object = schema::object(name).ok_or_else(|| SearchError {
                code: "INVALID_TYPE",
                message: format!("sObject type '{name}' is not supported."),
            })?;
            let mut r = Returning { object, fields: vec![FieldPath::Field("Id")], filter: None, limit: None };
            if p.sym("(") {
                r.fields = p.field_list(object)?;
                if p.keyword("WHERE") {
                    r.filter = Some(p.condition(object)?);
                }
                if p.keyword("LIMIT") {
                    r.limit = Some(p.integer("a LIMIT")?);
                }
                if !p.sym(")") {
                    return Err(malformed(format!("expected ')' after the fields of {}", object.name)));
                }
            }
            returning.push(r);
            if !p.sym(",") {
                break;
            }
        }
    } else {
        for name in ["Account", "Contact", "Lead"] {
            let object = schema::object(name).expect("known object");
            returning.push(Returning { object, fields: vec![FieldPath::Field("Id")], filter: None, limit: None });
        }
    }
    let limit = if p.keyword("LIMIT") { Some(p.integer("a LIMIT")?) } else { None };
    if !p.done() {
        let what = match p.peek() {
            Some(Token::Ident(s)) => s.clone(),
            Some(t) => format!("{t:?}"),
            None => String::new(),
        };
        return Err(malformed(format!("unexpected token: '{what}'")));
    }
    Ok(Search { term, words, scope, returning, limit })
}

/// Builds a search from plain text (`parameterizedSearch`: no SOSL syntax, nothing to escape).
pub fn plain(text: &str, scope: Scope, returning: Vec<Returning>, limit: Option<usize>) -> Search {
    let words = text
        .split_whitespace()
        .map(|w| {
            let prefix = w.ends_with('*');
            Word { text: w.trim_end_matches('*').to_lowercase(), prefix }
        })
        .collect();
    Search { term: text.to_string(), words, scope, returning, limit }
}

fn word_matches(w: &Word, value: &str) -> bool {
    let v = value.to_lowercase();
    if v == w.text {
        return true;
    }
    v.split(|c: char| !(c.is_alphanumeric() || c == '@' || c == '.' || c == '_'))
        .flat_map(|tok| std::iter::once(tok).chain(tok.split('@')).chain(tok.split(['.', '@'])))
        .any(|tok| if w.prefix { tok.starts_with(&w.text) } else { tok == w.text })
}

fn text_match(s: &Search, obj: &ObjectDef, rec: &Record) -> bool {
    let mut fields: Vec<&str> = Vec::new();
    match s.scope {
        Scope::Name => fields.extend(obj.name_fields),
        Scope::Email => fields.extend(obj.email_fields),
        Scope::All => {
            fields.extend(obj.name_fields);
            fields.extend(obj.email_fields);
            fields.extend(obj.text_fields);
        }
        Scope::Phone => {}
    }
    let words_hit = !s.words.is_empty()
        && s.words.iter().all(|w| fields.iter().any(|f| rec.text(f).is_some_and(|v| word_matches(w, v))));
    if words_hit {
        return true;
    }
    if matches!(s.scope, Scope::All) {
        let digits = phone_digits(&s.term);
        return digits.len() >= 2
            && obj.phone_fields.iter().any(|f| rec.text(f).is_some_and(|v| phone_matches(&digits, &phone_digits(v))));
    }
    false
}

/// Runs a search; `now_ms` hides records that are not indexed yet.
pub fn run(store: &RecordStore, s: &Search, now_ms: i64, version: &str) -> Value {
    let overall = s.limit.unwrap_or(MAX_ROWS).min(MAX_ROWS);
    let mut out = Vec::new();
    // Phone numbers and whole email addresses are found through the search index; words are scanned.
    let phone_hits = match s.scope {
        Scope::Phone => Some(store.phone_candidates(&phone_digits(&s.term))),
        Scope::Email => store.email_candidates(&s.term),
        _ => None,
    };
    for r in &s.returning {
        if out.len() >= overall {
            break;
        }
        let per = r.limit.unwrap_or(usize::MAX);
        let visible =
            |rec: &&Record| rec.searchable_at_ms <= now_ms && r.filter.as_ref().is_none_or(|c| c.eval(store, rec));
        let matched: Vec<&Record> = match &phone_hits {
            Some(hits) => {
                let mut v: Vec<&Record> =
                    hits.iter().filter(|(o, _)| *o == r.object.name).map(|(_, rec)| *rec).filter(visible).collect();
                // Creation order, as a scan would find them.
                if let Some(t) = store.table(r.object) {
                    let pos = |rec: &Record| t.order.iter().position(|id| id == rec.id()).unwrap_or(usize::MAX);
                    v.sort_by_key(|rec| pos(rec));
                }
                v
            }
            None => store
                .table(r.object)
                .map(|t| t.iter().filter(visible).filter(|rec| text_match(s, r.object, rec)).collect())
                .unwrap_or_default(),
        };
        for rec in matched.into_iter().take(per) {
            if out.len() >= overall {
                break;
            }
            out.push(store.project(r.object, rec, &r.fields, version));
        }
    }
    json!({"searchRecords": out})
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_documented_shape_parses() {
        let s = parse("FIND {4155551212} IN PHONE FIELDS RETURNING Contact(Id, Name, Phone, MobilePhone, AccountId, Account.Name), Lead(Id, Name, Phone, Company)").unwrap();
        assert_eq!(s.scope, Scope::Phone);
        assert_eq!(s.returning.len(), 2);
        assert_eq!(s.returning[0].fields.len(), 6);
        assert_eq!(s.term, "4155551212");
    }

    #[test]
    fn unescaped_reserved_characters_are_refused() {
        for bad in [
            "FIND {+14155551212} IN PHONE FIELDS",
            "FIND {415-555-1212}",
            "FIND {a} b} IN ALL FIELDS",
            "FIND {x'y}",
            "FIND {(415)}",
        ] {
            let e = parse(bad).unwrap_err();
            assert_eq!(e.code, "MALFORMED_SEARCH", "{bad}");
        }
    }

    #[test]
    fn escaped_reserved_characters_are_accepted() {
        let s = parse(r"FIND {\+1 \(415\) 555\-1212} IN PHONE FIELDS RETURNING Contact(Id)").unwrap();
        assert_eq!(s.term, "+1 (415) 555-1212");
    }

    #[test]
    fn missing_braces_and_short_terms() {
        assert_eq!(parse("FIND 4155551212").unwrap_err().code, "MALFORMED_SEARCH");
        assert_eq!(parse("FIND {a}").unwrap_err().code, "MALFORMED_SEARCH");
        assert_eq!(parse("FIND {ab").unwrap_err().code, "MALFORMED_SEARCH");
        assert_eq!(parse("FIND {ab} RETURNING Nope(Id)").unwrap_err().code, "INVALID_TYPE");
        assert_eq!(parse("FIND {ab} RETURNING Contact(Nope)").unwrap_err().code, "INVALID_FIELD");
    }

    proptest! {
        /// Any text, escaped, parses back to itself and never escapes the braces.
        #[test]
        fn escaped_terms_round_trip(s in "[^\\s]{2,40}") {
            let q = format!("FIND {{{}}} IN PHONE FIELDS RETURNING Contact(Id)", escape_term(&s));
            let parsed = parse(&q).unwrap();
            prop_assert_eq!(parsed.term, s);
            prop_assert_eq!(parsed.returning.len(), 1);
        }

        /// Arbitrary input never panics the parser.
        #[test]
        fn parser_never_panics(s in ".{0,200}") {
            let _ = parse(&s);
            let _ = parse(&format!("FIND {{{s}}} IN PHONE FIELDS"));
        }
    }
}
