//! Phone numbers of several countries, and the ways people type them into Salesforce.

use super::names::US_AREAS;
use rand::Rng;
use rand::seq::IndexedRandom;
use serde::Serialize;

/// A phone number: country calling code and national significant number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct Number {
    /// Country calling code, e.g. `1`, `44`.
    pub cc: &'static str,
    /// National significant number (no trunk prefix).
    pub nsn: String,
}

impl Number {
    /// `+14155551212`.
    pub fn e164(&self) -> String {
        format!("+{}{}", self.cc, self.nsn)
    }

    /// The number written the way a person might have typed it into Salesforce.
    pub fn formatted(&self, rng: &mut impl Rng, allow_extension: bool) -> String {
        let n = &self.nsn;
        match self.cc {
            "1" => {
                let (a, b, c) = (&n[0..3], &n[3..6], &n[6..10]);
                match rng.random_range(0..8) {
                    0 => format!("({a}) {b}-{c}"),
                    1 => format!("{a}-{b}-{c}"),
                    2 => format!("+1 {a} {b} {c}"),
                    3 if allow_extension => format!("{a}.{b}.{c} ext {}", rng.random_range(2..400)),
                    4 => format!("1-{a}-{b}-{c}"),
                    5 => format!("{a}{b}{c}"),
                    6 if allow_extension => {
                        format!("({a}) {b}-{c} x{}", rng.random_range(100..999))
                    }
                    _ => format!("+1{a}{b}{c}"),
                }
            }
            "44" => {
                let mobile = n.starts_with('7');
                let (a, b) = if mobile { (&n[0..4], &n[4..]) } else { (&n[0..2], &n[2..]) };
                match rng.random_range(0..3) {
                    0 => format!("0{a} {} {}", &b[..b.len() - 4], &b[b.len() - 4..]),
                    1 => format!("+44 {a} {} {}", &b[..b.len() - 4], &b[b.len() - 4..]),
                    _ => format!("+44{n}"),
                }
            }
            "49" => {
                let split = if n.starts_with('1') { 3 } else { 2 };
                match rng.random_range(0..3) {
                    0 => format!("0{} {}", &n[..split], &n[split..]),
                    1 => format!("+49 {} {}", &n[..split], &n[split..]),
                    _ => format!("+49 ({}) {}", &n[..split], &n[split..]),
                }
            }
            "33" => {
                let pairs: Vec<&str> = (1..n.len()).step_by(2).map(|i| &n[i..(i + 2).min(n.len())]).collect();
                match rng.random_range(0..3) {
                    0 => format!("0{} {}", &n[..1], pairs.join(" ")),
                    1 => format!("+33 {} {}", &n[..1], pairs.join(" ")),
                    _ => format!("0{n}"),
                }
            }
            _ => {
                let mobile = n.starts_with('4');
                match (mobile, rng.random_range(0..2)) {
                    (true, 0) => format!("0{} {} {}", &n[0..3], &n[3..6], &n[6..]),
                    (false, 0) => format!("(0{}) {} {}", &n[0..1], &n[1..5], &n[5..]),
                    _ => format!("+61 {} {} {}", &n[0..1], &n[1..5], &n[5..]),
                }
            }
        }
    }
}

fn digits(rng: &mut impl Rng, n: usize) -> String {
    (0..n).map(|_| char::from(b'0' + rng.random_range(0..10u8))).collect()
}

pub(super) fn random_number(rng: &mut impl Rng) -> Number {
    match rng.random_range(0..100) {
        0..70 => {
            let area = US_AREAS.choose(rng).expect("non-empty");
            let exch = loop {
                let e = rng.random_range(200..1000);
                if e % 100 != 11 && e != 555 {
                    break e;
                }
            };
            Number { cc: "1", nsn: format!("{area}{exch}{}", digits(rng, 4)) }
        }
        70..80 => {
            let nsn = if rng.random_bool(0.5) {
                format!("20{}{}", rng.random_range(3..9), digits(rng, 7))
            } else {
                format!("7{}{}", rng.random_range(4..10), digits(rng, 8))
            };
            Number { cc: "44", nsn }
        }
        80..87 => {
            let nsn = if rng.random_bool(0.5) {
                format!("{}{}", ["30", "89", "40"].choose(rng).expect("non-empty"), digits(rng, 7))
            } else {
                format!("{}{}", ["151", "160", "170", "176"].choose(rng).expect("non-empty"), digits(rng, 8))
            };
            Number { cc: "49", nsn }
        }
        87..94 => Number { cc: "33", nsn: format!("{}{}", rng.random_range(1..8), digits(rng, 8)) },
        _ => {
            let nsn = if rng.random_bool(0.5) {
                format!("4{}", digits(rng, 8))
            } else {
                format!("{}{}", ["2", "3", "7", "8"].choose(rng).expect("non-empty"), digits(rng, 8))
            };
            Number { cc: "61", nsn }
        }
    }
}
