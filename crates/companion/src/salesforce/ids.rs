//! Salesforce record ids: 15 or 18 characters of `[A-Za-z0-9]`, the 18-character form carrying a
//! case-safe checksum. A value that is not one (an IVR attribute, a search result field) is never
//! turned into a URL or a query.

const CHECKSUM_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

fn checksum(id15: &str) -> String {
    id15.as_bytes()
        .chunks(5)
        .map(|chunk| {
            let bits = chunk
                .iter()
                .enumerate()
                .filter(|(_, b)| b.is_ascii_uppercase())
                .fold(0usize, |acc, (i, _)| acc | (1 << i));
            CHECKSUM_ALPHABET[bits] as char
        })
        .collect()
}

/// The 18-character form of a well-formed id, or `None`.
pub fn to_id18(s: &str) -> Option<String> {
    if !(s.len() == 15 || s.len() == 18) || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return None;
    }
    let sum = checksum(&s[..15]);
    match s.len() {
        15 => Some(format!("{s}{sum}")),
        _ if s[15..] == sum => Some(s.to_string()),
        _ => None,
    }
}

/// The object a record id belongs to, for the key prefixes the app pops.
pub fn object_of(id: &str) -> Option<&'static str> {
    match id.get(..3)? {
        "003" => Some("Contact"),
        "00Q" => Some("Lead"),
        "001" => Some("Account"),
        "500" => Some("Case"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_ids() {
        assert_eq!(to_id18("0038c00000000gI").as_deref(), Some("0038c00000000gIAAQ"));
        assert!(to_id18("0038c00000000gIAAQ").is_some());
        assert!(to_id18("0038c00000000gIAAA").is_none(), "wrong checksum");
        for bad in ["", "N/A", "javascript:alert(1)//", "003 8c00000000gI", "0038c00000000gI\n", "0038c00000000gIAAQ0"]
        {
            assert!(to_id18(bad).is_none(), "{bad:?}");
        }
        assert_eq!(object_of("0038c00000000gIAAQ"), Some("Contact"));
    }

    proptest! {
        #[test]
        fn only_alphanumeric_15_or_18_pass(s in ".{0,40}") {
            if let Some(id) = to_id18(&s) {
                prop_assert_eq!(id.len(), 18);
                prop_assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));
                prop_assert_eq!(to_id18(&id[..15]), Some(id.clone()));
            }
        }
    }
}
