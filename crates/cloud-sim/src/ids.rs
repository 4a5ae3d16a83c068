//! Identifiers in the shapes the clouds use: Salesforce 15/18-character record ids (with the real
//! case-safe checksum), Genesys UUIDs and notification channel ids.

use rand::Rng;

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const CHECKSUM_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

/// Builds an 18-character Salesforce id from a 3-character key prefix and a sequence number.
pub fn salesforce_id(prefix: &str, seq: u64) -> String {
    debug_assert_eq!(prefix.len(), 3);
    // prefix (3) + instance "8c" (2) + 10 base-62 digits of the sequence = 15 characters.
    let mut body = [b'0'; 10];
    let mut n = seq;
    for slot in body.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    let mut id = String::with_capacity(18);
    id.push_str(prefix);
    id.push_str("8c");
    id.push_str(std::str::from_utf8(&body).expect("base62 is ascii"));
    let suffix = checksum(&id);
    id.push_str(&suffix);
    id
}

/// The 3-character case-safe suffix of a 15-character id.
pub fn checksum(id15: &str) -> String {
    let bytes = id15.as_bytes();
    let mut out = String::with_capacity(3);
    for chunk in bytes.chunks(5).take(3) {
        let mut bits = 0usize;
        for (i, b) in chunk.iter().enumerate() {
            if b.is_ascii_uppercase() {
                bits |= 1 << i;
            }
        }
        out.push(CHECKSUM_ALPHABET[bits] as char);
    }
    out
}

/// True for a well-formed 15- or 18-character id (an 18-character one must carry the right checksum).
pub fn is_salesforce_id(s: &str) -> bool {
    if !(s.len() == 15 || s.len() == 18) || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    s.len() == 15 || checksum(&s[..15]) == s[15..]
}

/// The 18-character form of a well-formed id (15-character ids get their checksum added).
pub fn to_id18(s: &str) -> Option<String> {
    if !is_salesforce_id(s) {
        return None;
    }
    if s.len() == 18 {
        return Some(s.to_string());
    }
    Some(format!("{s}{}", checksum(s)))
}

/// A random (v4-shaped) UUID drawn from the given generator, so seeded runs give the same ids.
pub fn uuid(rng: &mut impl Rng) -> String {
    let mut b: [u8; 16] = rng.random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &h[0..8], &h[8..12], &h[12..16], &h[16..20], &h[20..32])
}

/// A notification channel id such as `streaming-0-k2j4…`: not a UUID.
pub fn channel_id(rng: &mut impl Rng) -> String {
    const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let tail: String = (0..26).map(|_| ALNUM[rng.random_range(0..ALNUM.len())] as char).collect();
    format!("streaming-{}-{tail}", rng.random_range(0..4))
}

/// An opaque bearer token.
pub fn token(rng: &mut impl Rng, len: usize) -> String {
    (0..len).map(|_| BASE62[rng.random_range(0..62)] as char).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_checksum() {
        // No uppercase letters: every chunk maps to 'A'.
        assert_eq!(checksum("003000000000001"), "AAA");
        // Uppercase in positions 1 and 5 of the first chunk... bits 0b00001 → 'B'.
        assert_eq!(checksum("A0000000000000a"), "BAA");
        let id = salesforce_id("003", 12345);
        assert_eq!(id.len(), 18);
        assert!(is_salesforce_id(&id));
        assert!(is_salesforce_id(&id[..15]));
        assert_eq!(to_id18(&id[..15]).as_deref(), Some(id.as_str()));
    }

    #[test]
    fn rejects_bad_ids() {
        for s in ["", "003", "javascript:alert", "003000000000000XYZ", "003 00000000000", "0038c0000003D7yAAE "] {
            assert!(!is_salesforce_id(s), "{s}");
        }
    }

    #[test]
    fn checksum_detects_case_change() {
        let id = to_id18("0038c00000ABCDE").unwrap();
        let lowered = format!("0038c00000abcde{}", &id[15..]);
        assert!(is_salesforce_id(&id));
        assert!(!is_salesforce_id(&lowered));
    }
}
