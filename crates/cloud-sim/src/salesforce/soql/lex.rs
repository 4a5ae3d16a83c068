//! SOQL's tokens: names, string literals with Salesforce's escapes, numbers and operators, and the
//! error every parse failure is reported with.

/// A lexical token.
#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    /// A name or keyword.
    Ident(String),
    /// A string literal, unescaped.
    Str(String),
    /// A number.
    Num(f64),
    /// Punctuation and operators.
    Sym(&'static str),
}

/// A parse error with Salesforce's code.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct QueryError {
    /// `MALFORMED_QUERY`, `INVALID_FIELD`, `INVALID_TYPE`.
    pub code: &'static str,
    /// The message.
    pub message: String,
}

pub(super) fn malformed(m: impl Into<String>) -> QueryError {
    QueryError { code: "MALFORMED_QUERY", message: m.into() }
}

/// Splits SOQL text into tokens.
pub fn tokenize(s: &str) -> Result<Vec<Token>, QueryError> {
    let mut out = Vec::new();
    let cs: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' {
            let mut lit = String::new();
            i += 1;
            loop {
                let Some(&c) = cs.get(i) else {
                    return Err(malformed("unexpected end of query: unterminated string literal"));
                };
                match c {
                    '\'' => {
                        i += 1;
                        break;
                    }
                    '\\' => {
                        let Some(&e) = cs.get(i + 1) else {
                            return Err(malformed("unterminated escape in string literal"));
                        };
                        let unescaped = match e {
                            '\'' => '\'',
                            '"' => '"',
                            '\\' => '\\',
                            'n' => '\n',
                            'r' => '\r',
                            't' => '\t',
                            'b' => '\u{8}',
                            'f' => '\u{c}',
                            '%' | '_' => {
                                lit.push('\\');
                                e
                            }
                            other => {
                                return Err(malformed(format!(
                                    "Invalid string literal: illegal escape sequence '\\{other}'"
                                )));
                            }
                        };
                        lit.push(unescaped);
                        i += 2;
                    }
                    '\n' | '\r' => return Err(malformed("line break inside a string literal")),
                    c => {
                        lit.push(c);
                        i += 1;
                    }
                }
            }
            out.push(Token::Str(lit));
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < cs.len() && (cs[i].is_ascii_alphanumeric() || cs[i] == '_' || cs[i] == '.') {
                i += 1;
            }
            out.push(Token::Ident(cs[start..i].iter().collect()));
        } else if c.is_ascii_digit() || (c == '-' && cs.get(i + 1).is_some_and(char::is_ascii_digit)) {
            let start = i;
            i += 1;
            while i < cs.len() && (cs[i].is_ascii_digit() || cs[i] == '.') {
                i += 1;
            }
            let text: String = cs[start..i].iter().collect();
            out.push(Token::Num(text.parse().map_err(|_| malformed(format!("bad number {text}")))?));
        } else {
            let two: String = cs[i..(i + 2).min(cs.len())].iter().collect();
            let sym = match two.as_str() {
                "!=" => Some("!="),
                "<>" => Some("!="),
                "<=" => Some("<="),
                ">=" => Some(">="),
                _ => None,
            };
            if let Some(s) = sym {
                out.push(Token::Sym(s));
                i += 2;
                continue;
            }
            let s = match c {
                '(' => "(",
                ')' => ")",
                ',' => ",",
                '=' => "=",
                '<' => "<",
                '>' => ">",
                other => return Err(malformed(format!("unexpected character '{other}'"))),
            };
            out.push(Token::Sym(s));
            i += 1;
        }
    }
    Ok(out)
}
