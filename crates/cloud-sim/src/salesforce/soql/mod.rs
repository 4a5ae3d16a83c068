//! SOQL, parsed for real for the shapes a CTI client uses: `SELECT fields FROM Object [WHERE …]
//! [ORDER BY …] [LIMIT n] [OFFSET n]`, with `=`, `!=`, `LIKE`, `IN`, `AND`, `OR`, `NOT`, parentheses,
//! and string literals that must escape `\' \\ \" \n \r \t`.

use super::schema::{self, ObjectDef};
use super::store::{FieldPath, Record, RecordStore, resolve_path};
use serde_json::Value;

mod lex;

use lex::malformed;
pub use lex::{QueryError, Token, tokenize};

/// A literal in a condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Num(f64),
    Bool(bool),
    Null,
}

/// A WHERE condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    Cmp { path: FieldPath, op: &'static str, value: Literal },
    Like { path: FieldPath, pattern: String, negated: bool },
    In { path: FieldPath, values: Vec<Literal>, negated: bool },
    And(Box<Cond>, Box<Cond>),
    Or(Box<Cond>, Box<Cond>),
    Not(Box<Cond>),
}

/// A cursor over tokens.
pub struct Parser<'a> {
    toks: &'a [Token],
    pos: usize,
}

impl<'a> Parser<'a> {
    /// A parser at the start of `toks`.
    pub fn new(toks: &'a [Token]) -> Parser<'a> {
        Parser { toks, pos: 0 }
    }

    /// The next token, without taking it.
    pub fn peek(&self) -> Option<&'a Token> {
        self.toks.get(self.pos)
    }

    /// True at the end.
    pub fn done(&self) -> bool {
        self.pos >= self.toks.len()
    }

    fn next(&mut self) -> Option<&'a Token> {
        let t = self.toks.get(self.pos);
        self.pos += 1;
        t
    }

    /// Takes the keyword if it is next.
    pub fn keyword(&mut self, kw: &str) -> bool {
        if matches!(self.peek(), Some(Token::Ident(s)) if s.eq_ignore_ascii_case(kw)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Takes the symbol if it is next.
    pub fn sym(&mut self, s: &str) -> bool {
        if matches!(self.peek(), Some(Token::Sym(x)) if *x == s) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// An identifier.
    pub fn ident(&mut self, what: &str) -> Result<&'a str, QueryError> {
        match self.next() {
            Some(Token::Ident(s)) => Ok(s),
            other => Err(malformed(format!("expected {what}, found {}", describe(other)))),
        }
    }

    /// A non-negative integer.
    pub fn integer(&mut self, what: &str) -> Result<usize, QueryError> {
        match self.next() {
            Some(Token::Num(n)) if *n >= 0.0 && n.fract() == 0.0 => Ok(*n as usize),
            other => Err(malformed(format!("expected {what}, found {}", describe(other)))),
        }
    }

    /// A comma-separated list of field paths, resolved on `obj`.
    pub fn field_list(&mut self, obj: &'static ObjectDef) -> Result<Vec<FieldPath>, QueryError> {
        let mut out = Vec::new();
        loop {
            let name = self.ident("a field name")?;
            out.push(resolve_path(obj, name).map_err(|m| QueryError { code: "INVALID_FIELD", message: m })?);
            if !self.sym(",") {
                return Ok(out);
            }
        }
    }

    /// A WHERE condition on `obj`.
    pub fn condition(&mut self, obj: &'static ObjectDef) -> Result<Cond, QueryError> {
        let mut left = self.conjunction(obj)?;
        while self.keyword("OR") {
            let right = self.conjunction(obj)?;
            left = Cond::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn conjunction(&mut self, obj: &'static ObjectDef) -> Result<Cond, QueryError> {
        let mut left = self.factor(obj)?;
        while self.keyword("AND") {
            let right = self.factor(obj)?;
            left = Cond::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn factor(&mut self, obj: &'static ObjectDef) -> Result<Cond, QueryError> {
        if self.keyword("NOT") {
            return Ok(Cond::Not(Box::new(self.factor(obj)?)));
        }
        if self.sym("(") {
            let c = self.condition(obj)?;
            if !self.sym(")") {
                return Err(malformed("expected ')'"));
            }
            return Ok(c);
        }
        let name = self.ident("a field name")?;
        let path = resolve_path(obj, name).map_err(|m| QueryError { code: "INVALID_FIELD", message: m })?;
        let negated = self.keyword("NOT");
        if self.keyword("LIKE") {
            return match self.literal()? {
                Literal::Str(pattern) => Ok(Cond::Like { path, pattern, negated }),
                _ => Err(malformed("LIKE needs a string")),
            };
        }
        if self.keyword("IN") {
            if !self.sym("(") {
                return Err(malformed("expected '(' after IN"));
            }
            let mut values = vec![self.literal()?];
            while self.sym(",") {
                values.push(self.literal()?);
            }
            if !self.sym(")") {
                return Err(malformed("expected ')' after IN list"));
            }
            return Ok(Cond::In { path, values, negated });
        }
        if negated {
            return Err(malformed("expected LIKE or IN after NOT"));
        }
        let op = match self.next() {
            Some(Token::Sym(s)) if ["=", "!=", "<", ">", "<=", ">="].contains(s) => *s,
            other => {
                return Err(malformed(format!("expected an operator, found {}", describe(other))));
            }
        };
        Ok(Cond::Cmp { path, op, value: self.literal()? })
    }

    fn literal(&mut self) -> Result<Literal, QueryError> {
        match self.next() {
            Some(Token::Str(s)) => Ok(Literal::Str(s.clone())),
            Some(Token::Num(n)) => Ok(Literal::Num(*n)),
            Some(Token::Ident(s)) if s.eq_ignore_ascii_case("null") => Ok(Literal::Null),
            Some(Token::Ident(s)) if s.eq_ignore_ascii_case("true") => Ok(Literal::Bool(true)),
            Some(Token::Ident(s)) if s.eq_ignore_ascii_case("false") => Ok(Literal::Bool(false)),
            other => Err(malformed(format!("expected a value, found {}", describe(other)))),
        }
    }
}

fn describe(t: Option<&Token>) -> String {
    match t {
        None => "end of query".into(),
        Some(Token::Ident(s)) => format!("'{s}'"),
        Some(Token::Str(s)) => format!("'{s}'"),
        Some(Token::Num(n)) => n.to_string(),
        Some(Token::Sym(s)) => format!("'{s}'"),
    }
}

fn like(pattern: &str, value: &str) -> bool {
    // % any run, _ one character, \% and \_ literal; case-insensitive.
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let v: Vec<char> = value.to_lowercase().chars().collect();
    fn go(p: &[char], v: &[char]) -> bool {
        match p.first() {
            None => v.is_empty(),
            Some('%') => (0..=v.len()).any(|k| go(&p[1..], &v[k..])),
            Some('_') => !v.is_empty() && go(&p[1..], &v[1..]),
            Some('\\') if p.len() > 1 => v.first() == Some(&p[1]) && go(&p[2..], &v[1..]),
            Some(c) => v.first() == Some(c) && go(&p[1..], &v[1..]),
        }
    }
    go(&p, &v)
}

fn compare(field: Option<&Value>, op: &str, lit: &Literal) -> bool {
    use std::cmp::Ordering;
    let ord = match (field, lit) {
        (None | Some(Value::Null), Literal::Null) => Some(Ordering::Equal),
        (None | Some(Value::Null), _) | (Some(_), Literal::Null) => None,
        (Some(Value::String(a)), Literal::Str(b)) => Some(a.to_lowercase().cmp(&b.to_lowercase())),
        (Some(Value::Number(a)), Literal::Num(b)) => a.as_f64().and_then(|a| a.partial_cmp(b)),
        (Some(Value::Bool(a)), Literal::Bool(b)) => Some(a.cmp(b)),
        (Some(Value::String(a)), Literal::Num(b)) => a.parse::<f64>().ok().and_then(|a| a.partial_cmp(b)),
        _ => None,
    };
    match op {
        "=" => ord == Some(Ordering::Equal),
        "!=" => ord != Some(Ordering::Equal),
        "<" => ord == Some(Ordering::Less),
        ">" => ord == Some(Ordering::Greater),
        "<=" => matches!(ord, Some(Ordering::Less | Ordering::Equal)),
        ">=" => matches!(ord, Some(Ordering::Greater | Ordering::Equal)),
        _ => false,
    }
}

impl Cond {
    /// Whether a record satisfies the condition.
    pub fn eval(&self, store: &RecordStore, rec: &Record) -> bool {
        match self {
            Cond::Cmp { path, op, value } => compare(store.path_value(rec, path), op, value),
            Cond::Like { path, pattern, negated } => {
                let hit = store.path_value(rec, path).and_then(Value::as_str).is_some_and(|v| like(pattern, v));
                hit != *negated
            }
            Cond::In { path, values, negated } => {
                let v = store.path_value(rec, path);
                values.iter().any(|l| compare(v, "=", l)) != *negated
            }
            Cond::And(a, b) => a.eval(store, rec) && b.eval(store, rec),
            Cond::Or(a, b) => a.eval(store, rec) || b.eval(store, rec),
            Cond::Not(a) => !a.eval(store, rec),
        }
    }
}

/// A parsed SELECT.
#[derive(Debug)]
pub struct Query {
    pub object: &'static ObjectDef,
    pub fields: Vec<FieldPath>,
    pub filter: Option<Cond>,
    pub order_by: Option<(FieldPath, bool)>,
    pub limit: Option<usize>,
    pub offset: usize,
}

/// Parses a SELECT statement.
pub fn parse(q: &str) -> Result<Query, QueryError> {
    let toks = tokenize(q)?;
    let mut p = Parser::new(&toks);
    if !p.keyword("SELECT") {
        return Err(malformed("unexpected token: expected SELECT"));
    }
    // The field list comes before FROM, so collect names first and resolve them once the object is known.
    let mut names = Vec::new();
    loop {
        names.push(p.ident("a field name")?.to_string());
        if !p.sym(",") {
            break;
        }
    }
    if !p.keyword("FROM") {
        return Err(malformed(format!("unexpected token: expected FROM, found {}", describe(p.peek()))));
    }
    let obj_name = p.ident("an object name")?;
    let object = schema::object(obj_name).ok_or_else(|| QueryError {
        code: "INVALID_TYPE",
        message: format!("sObject type '{obj_name}' is not supported."),
    })?;
    let fields = names
        .iter()
        .map(|n| resolve_path(object, n).map_err(|m| QueryError { code: "INVALID_FIELD", message: m }))
        .collect::<Result<Vec<_>, _>>()?;
    let filter = if p.keyword("WHERE") { Some(p.condition(object)?) } else { None };
    let mut order_by = None;
    if p.keyword("ORDER") {
        if !p.keyword("BY") {
            return Err(malformed("expected BY after ORDER"));
        }
        let name = p.ident("a field name")?;
        let path = resolve_path(object, name).map_err(|m| QueryError { code: "INVALID_FIELD", message: m })?;
        let desc = if p.keyword("DESC") {
            true
        } else {
            p.keyword("ASC");
            false
        };
        if p.keyword("NULLS") && !(p.keyword("FIRST") || p.keyword("LAST")) {
            return Err(malformed("expected FIRST or LAST after NULLS"));
        }
        order_by = Some((path, desc));
    }
    let limit = if p.keyword("LIMIT") { Some(p.integer("a LIMIT")?) } else { None };
    let offset = if p.keyword("OFFSET") { p.integer("an OFFSET")? } else { 0 };
    if !p.done() {
        return Err(malformed(format!("unexpected token: {}", describe(p.peek()))));
    }
    Ok(Query { object, fields, filter, order_by, limit, offset })
}

/// Escapes a value for a SOQL string literal (what a careful client does; used by tests).
pub fn escape_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out
}

/// The most rows a query answers in one response.
pub const MAX_ROWS: usize = 2000;

/// Runs a query over the store.
pub fn run(store: &RecordStore, q: &Query, version: &str) -> Value {
    let mut rows: Vec<&Record> = store
        .table(q.object)
        .map(|t| t.iter().filter(|r| q.filter.as_ref().is_none_or(|c| c.eval(store, r))).collect())
        .unwrap_or_default();
    if let Some((path, desc)) = &q.order_by {
        rows.sort_by(|a, b| {
            let key = |r: &Record| store.path_value(r, path).map(|v| v.to_string()).unwrap_or_default();
            let o = key(a).cmp(&key(b));
            if *desc { o.reverse() } else { o }
        });
    }
    let total = rows.len().saturating_sub(q.offset).min(q.limit.unwrap_or(usize::MAX));
    let records: Vec<Value> = rows
        .into_iter()
        .skip(q.offset)
        .take(q.limit.unwrap_or(usize::MAX).min(MAX_ROWS))
        .map(|r| store.project(q.object, r, &q.fields, version))
        .collect();
    serde_json::json!({"totalSize": total, "done": records.len() == total, "records": records})
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn phone_query_shape_parses() {
        let q = parse("SELECT Id, Name, Account.Name FROM Contact WHERE Phone = '(415) 555-1212' OR MobilePhone = '+14155551212' LIMIT 10").unwrap();
        assert_eq!(q.object.name, "Contact");
        assert_eq!(q.fields.len(), 3);
        assert_eq!(q.limit, Some(10));
    }

    #[test]
    fn unescaped_quote_is_malformed() {
        let e = parse("SELECT Id FROM Contact WHERE Phone = 'O'Brien'").unwrap_err();
        assert_eq!(e.code, "MALFORMED_QUERY");
        let e = parse("SELECT Id FROM Contact WHERE Phone = '1' OR Name = 'x").unwrap_err();
        assert_eq!(e.code, "MALFORMED_QUERY");
    }

    #[test]
    fn unknown_field_and_object() {
        assert_eq!(parse("SELECT Bogus FROM Contact").unwrap_err().code, "INVALID_FIELD");
        assert_eq!(parse("SELECT Id FROM Bogus").unwrap_err().code, "INVALID_TYPE");
    }

    #[test]
    fn like_patterns() {
        assert!(like("%555%", "(415) 555-1212"));
        assert!(like("o\\_b%", "o_brien"));
        assert!(!like("o\\_b%", "oxbrien"));
    }

    proptest! {
        /// Whatever a caller sends, an escaped literal parses back to exactly that text.
        #[test]
        fn escaped_literals_round_trip(s in ".{0,64}") {
            let q = format!("SELECT Id FROM Contact WHERE Phone = '{}'", escape_literal(&s));
            let parsed = parse(&q).unwrap();
            match parsed.filter {
                Some(Cond::Cmp { value: Literal::Str(got), .. }) => prop_assert_eq!(got, s),
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }
    }
}
