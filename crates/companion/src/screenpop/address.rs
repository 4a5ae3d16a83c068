//! What the pop looks a customer up by: a phone number (calls, callbacks, SMS, WhatsApp) or an email
//! address (emails, and chats or web messaging whose flow named one), and the one key the cache and the
//! agent's picks use for it.

use crate::genesys::segment::AddressKind;
use crate::phone::{CallerNumber, NoNumber};
use phonenumber::country::Id as Country;
use std::collections::BTreeMap;

/// The longest email address accepted (RFC 5321's path limit).
const MAX_EMAIL: usize = 254;

/// A customer's address, normalised.
#[derive(Debug, Clone, PartialEq)]
pub enum CustomerKey {
    Phone(CallerNumber),
    /// Lower-cased, without `mailto:`.
    Email(String),
}

impl CustomerKey {
    /// The key answers and picks are stored under: the E.164 number, or the address (an `@` tells
    /// them apart: no number has one).
    pub fn key(&self) -> String {
        match self {
            CustomerKey::Phone(n) => n.e164.clone(),
            CustomerKey::Email(e) => e.clone(),
        }
    }

    /// The customer's key: the media's address, else the first address the flow set in one of
    /// `attribute_keys` (an `@` makes it an email address, anything else is read as a number).
    pub fn find(
        address: &str,
        kind: AddressKind,
        attributes: &BTreeMap<String, String>,
        attribute_keys: &[String],
        country: Country,
    ) -> Result<CustomerKey, NoNumber> {
        let from_media = match kind {
            AddressKind::Phone => CallerNumber::parse(address, country).map(CustomerKey::Phone),
            AddressKind::Email => email(address).map(CustomerKey::Email),
            AddressKind::None => Err(NoNumber::Empty),
        };
        match from_media {
            Ok(key) => Ok(key),
            // A withheld number stays withheld: the flow's data does not override the network's.
            Err(NoNumber::Withheld) => Err(NoNumber::Withheld),
            Err(reason) => attribute_keys
                .iter()
                .filter_map(|k| attributes.get(k).map(|v| v.trim()).filter(|v| !v.is_empty()))
                .find_map(|v| {
                    if v.contains('@') {
                        email(v).ok().map(CustomerKey::Email)
                    } else {
                        CallerNumber::parse(v, country).ok().map(CustomerKey::Phone)
                    }
                })
                .ok_or(reason),
        }
    }
}

/// An email address as the lookup uses it: trimmed, without `mailto:`, lower-cased, one `@` with text
/// on both sides and a dot in the domain, no spaces or control characters.
pub fn email(raw: &str) -> Result<String, NoNumber> {
    let t = raw.trim();
    let t = t.strip_prefix("mailto:").unwrap_or(t);
    if t.is_empty() {
        return Err(NoNumber::Empty);
    }
    let lower = t.to_lowercase();
    let valid = lower.len() <= MAX_EMAIL
        && !lower.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | ',' | ';'))
        && lower.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
    if valid { Ok(lower) } else { Err(NoNumber::Unparsable) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn emails_are_normalised_and_junk_is_refused() {
        assert_eq!(email(" mailto:Ada.Lovelace@Example.COM ").unwrap(), "ada.lovelace@example.com");
        for bad in ["", "ada", "ada@", "@example.com", "ada@example", "a b@example.com", "a@b@example.com", "<a@b.c>"] {
            assert!(email(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_chat_without_an_address_uses_the_flows_attributes_and_a_withheld_number_stays_withheld() {
        let keys = vec!["context.email".to_string(), "context.phoneNumber".to_string()];
        let a = attrs(&[("context.phoneNumber", "(415) 555-0100"), ("context.email", "Ada@Example.com")]);
        let k = CustomerKey::find("", AddressKind::None, &a, &keys, Country::US).unwrap();
        assert_eq!(k.key(), "ada@example.com");
        let a = attrs(&[("context.phoneNumber", "(415) 555-0100")]);
        let k = CustomerKey::find("", AddressKind::None, &a, &keys, Country::US).unwrap();
        assert_eq!(k.key(), "+14155550100");
        assert_eq!(CustomerKey::find("", AddressKind::None, &attrs(&[]), &keys, Country::US), Err(NoNumber::Empty));
        let withheld = CustomerKey::find("tel:anonymous", AddressKind::Phone, &a, &keys, Country::US);
        assert_eq!(withheld, Err(NoNumber::Withheld));
    }

    proptest! {
        #[test]
        fn email_parsing_never_panics_and_what_it_accepts_is_lower_case_with_one_at(s in ".{0,300}") {
            if let Ok(e) = email(&s) {
                prop_assert_eq!(e.matches('@').count(), 1);
                prop_assert_eq!(e.to_lowercase(), e.clone());
                prop_assert!(e.len() <= MAX_EMAIL);
            }
        }
    }
}
