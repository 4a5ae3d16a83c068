//! Phone numbers: whatever Genesys or Salesforce hold, normalised to E.164 with libphonenumber's
//! metadata. Anonymous, withheld and unparsable numbers are outcomes, not errors.

use phonenumber::country::Id as Country;
use phonenumber::{Mode, PhoneNumber};
use serde::Serialize;
use std::str::FromStr;

/// Longer inputs are not phone numbers; they are refused before parsing.
const MAX_INPUT: usize = 64;

/// Why a caller has no usable number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoNumber {
    /// No address at all.
    Empty,
    /// The network says anonymous, restricted, private, withheld or unavailable.
    Withheld,
    /// Something that is not a valid number.
    Unparsable,
}

/// The result of normalising an address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Normalized {
    /// A valid number in E.164 (`+14155551212`).
    E164(String),
    /// No number to look up.
    NoNumber(NoNumber),
}

/// Parses a country code such as `US` or `gb`.
pub fn country(code: &str) -> Option<Country> {
    Country::from_str(&code.trim().to_ascii_uppercase()).ok()
}

const WITHHELD: [&str; 8] =
    ["anonymous", "restricted", "private", "withheld", "unavailable", "unknown", "blocked", "anonymous caller"];

/// The user part of a `tel:` or `sip:` address, or the text itself.
fn strip_scheme(raw: &str) -> &str {
    let s = raw.trim();
    let lower_starts = |p: &str| s.get(..p.len()).is_some_and(|x| x.eq_ignore_ascii_case(p));
    let s = if lower_starts("tel:") {
        &s[4..]
    } else if lower_starts("sip:") || lower_starts("sips:") {
        let rest = &s[s.find(':').map_or(0, |i| i + 1)..];
        rest.split('@').next().unwrap_or(rest)
    } else {
        s
    };
    // Parameters such as `;ext=12` or `;phone-context=` follow the number.
    s.split(';').next().unwrap_or(s).trim()
}

/// Normalises an address (`tel:+1…`, `sip:+1…@host`, `(415) 555-1212`, `anonymous`) to E.164.
/// National forms are read in `default_country`.
pub fn normalize(raw: &str, default_country: Country) -> Normalized {
    if raw.len() > MAX_INPUT * 4 {
        return Normalized::NoNumber(NoNumber::Unparsable);
    }
    let s = strip_scheme(raw);
    if s.is_empty() || s == "+" {
        return Normalized::NoNumber(NoNumber::Empty);
    }
    let lower = s.to_ascii_lowercase();
    if WITHHELD.iter().any(|w| lower == *w || lower.starts_with(w)) {
        return Normalized::NoNumber(NoNumber::Withheld);
    }
    if s.len() > MAX_INPUT || !s.chars().any(|c| c.is_ascii_digit()) {
        return Normalized::NoNumber(NoNumber::Unparsable);
    }
    match parse_valid(s, default_country) {
        Some(n) => Normalized::E164(n.format().mode(Mode::E164).to_string()),
        None => Normalized::NoNumber(NoNumber::Unparsable),
    }
}

fn parse_valid(s: &str, default_country: Country) -> Option<PhoneNumber> {
    // Salesforce users type extensions in many ways; the number is what comes before them.
    let lower = s.to_ascii_lowercase();
    let cut = [" ext", "ext.", "ext ", " x", "x", "#"]
        .iter()
        .filter_map(|m| lower.find(m))
        .filter(|&i| i > 0)
        .min()
        .unwrap_or(s.len());
    let s = s[..cut].trim();
    // Only the characters a phone number is written with.
    if !s.chars().all(|c| c.is_ascii_digit() || " +-().\u{a0}/".contains(c)) {
        return None;
    }
    // An international number is parsed without a default region: phonenumber 0.3 applies the
    // default region's national prefix to it otherwise (with US, `+49 151…` loses its `1`).
    let region = (!s.starts_with('+')).then_some(default_country);
    let n = phonenumber::parse(region, s).ok()?;
    // Metadata lags new number ranges: a number of plausible length in a known country still counts.
    let digits = n.code().value().to_string().len() + n.national().value().to_string().len();
    let known_code = phonenumber::metadata::DATABASE.by_code(&n.code().value()).is_some_and(|m| !m.is_empty());
    let plausible = known_code && (8..=15).contains(&digits);
    (phonenumber::is_valid(&n) || plausible).then_some(n)
}

/// A caller's number, parsed once: its E.164 form (the cache key), its national significant digits
/// (what a phone search sends, since every stored format has them in common) and its country (the
/// first region a stored national form is read in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallerNumber {
    pub e164: String,
    pub national: String,
    pub country: Option<Country>,
}

impl CallerNumber {
    /// Parses a caller's address; a withheld, empty or unparsable one says why there is no number.
    pub fn parse(raw: &str, default_country: Country) -> Result<CallerNumber, NoNumber> {
        match normalize(raw, default_country) {
            Normalized::E164(e164) => Ok(CallerNumber::from_e164(e164)),
            Normalized::NoNumber(reason) => Err(reason),
        }
    }

    /// From a number already in E.164 (a cache key, a pop's number).
    pub fn from_e164(e164: String) -> CallerNumber {
        let parsed = phonenumber::parse(None, &e164).ok();
        let national = parsed
            .as_ref()
            .map(|n| n.national().value().to_string())
            .unwrap_or_else(|| e164.trim_start_matches('+').to_string());
        let country = parsed.and_then(|n| n.country().id());
        CallerNumber { e164, national, country }
    }

    /// Whether a stored value (typed by a person, any format) is this number. National forms are read
    /// in the caller's country first, then in the default country.
    pub fn matches(&self, stored: &str, default_country: Country) -> bool {
        // Cheap first: the stored digits must contain the caller's last seven digits, or parsing is moot.
        let tail = &self.e164[self.e164.len().saturating_sub(7)..];
        let digits: String = stored.chars().filter(char::is_ascii_digit).collect();
        if !digits.contains(tail) {
            return false;
        }
        let mut regions: Vec<Country> = self.country.into_iter().collect();
        if !regions.contains(&default_country) {
            regions.push(default_country);
        }
        regions.into_iter().any(|r| matches!(normalize(stored, r), Normalized::E164(e) if e == self.e164))
    }
}

/// Loads libphonenumber's metadata now (about 160 ms the first time) so the first call does not pay.
pub fn warm() {
    let _ = normalize("+14155552671", Country::US);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn e(s: &str) -> Normalized {
        Normalized::E164(s.into())
    }

    #[test]
    fn genesys_and_salesforce_forms() {
        let us = Country::US;
        for raw in [
            "tel:+14155552671",
            "+1 415 555 2671",
            "(415) 555-2671",
            "415.555.2671 ext 3",
            "1-415-555-2671",
            "sip:+14155552671@10.0.0.1;user=phone",
            "4155552671 x204",
        ] {
            assert_eq!(normalize(raw, us), e("+14155552671"), "{raw}");
        }
        assert_eq!(normalize("020 7946 0123", Country::GB), e("+442079460123"));
        assert_eq!(normalize("+44 20 7946 0123", us), e("+442079460123"));
        // International numbers keep every digit whatever the default country.
        assert_eq!(normalize("tel:+4915133868426", us), e("+4915133868426"));
        assert_eq!(normalize("+49 170 1234567", us), e("+491701234567"));
        for de in ["0151 33868426", "+49 151 33868426", "+49 (151) 33868426"] {
            assert!(CallerNumber::from_e164("+4915133868426".into()).matches(de, us), "{de}");
        }
    }

    #[test]
    fn no_number_outcomes() {
        let us = Country::US;
        assert_eq!(normalize("", us), Normalized::NoNumber(NoNumber::Empty));
        assert_eq!(normalize("tel:", us), Normalized::NoNumber(NoNumber::Empty));
        for w in ["sip:anonymous@anonymous.invalid", "tel:anonymous", "Restricted", "tel:Unavailable", "PRIVATE"] {
            assert_eq!(normalize(w, us), Normalized::NoNumber(NoNumber::Withheld), "{w}");
        }
        for bad in [
            "javascript:alert(1)",
            "12",
            "+1 (415) 555-2671'; DROP TABLE",
            "{4155552671}",
            &"9".repeat(10_000),
            "sip:+@192.0.2.10",
        ] {
            assert!(matches!(normalize(bad, us), Normalized::NoNumber(_)), "{bad}");
        }
    }

    #[test]
    fn stored_national_forms_match_in_the_callers_country() {
        let london = CallerNumber::from_e164("+442079460123".into());
        assert!(london.matches("020 7946 0123", Country::US));
        let sf = CallerNumber::parse("(415) 555-2671", Country::US).unwrap();
        assert!(sf.matches("+1 415 555 2671", Country::US));
        assert!(!sf.matches("(415) 555-2672", Country::US));
        assert_eq!(london.national, "2079460123");
        assert_eq!(london.country, Some(Country::GB));
        assert_eq!(CallerNumber::parse("anonymous", Country::US), Err(NoNumber::Withheld));
    }

    proptest! {
        /// Any input gives an outcome, never a panic, and an E.164 result is always `+` and digits.
        #[test]
        fn normalize_is_total(s in ".{0,80}") {
            if let Normalized::E164(n) = normalize(&s, Country::US) {
                prop_assert!(n.starts_with('+') && n[1..].chars().all(|c| c.is_ascii_digit()));
            }
        }

        /// Formatting a valid US number any common way normalises back to the same E.164.
        #[test]
        fn formats_round_trip(area in prop::sample::select(vec!["212", "415", "617", "312"]), ex in 200u32..999, sub in 0u32..10_000, style in 0usize..5) {
            prop_assume!(ex % 100 != 11);
            let (a, b, c) = (area.to_string(), ex.to_string(), format!("{sub:04}"));
            let typed = match style {
                0 => format!("({a}) {b}-{c}"),
                1 => format!("{a}.{b}.{c}"),
                2 => format!("+1 {a} {b} {c}"),
                3 => format!("tel:+1{a}{b}{c}"),
                _ => format!("1-{a}-{b}-{c} ext 12"),
            };
            let want = format!("+1{a}{b}{c}");
            match normalize(&typed, Country::US) {
                Normalized::E164(n) => prop_assert_eq!(n, want),
                Normalized::NoNumber(_) => {} // libphonenumber may hold a generated exchange invalid
            }
        }
    }
}
