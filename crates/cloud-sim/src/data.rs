//! The seeded population: accounts, contacts and leads with phone numbers stored the way people type
//! them, and the callers the scenario driver can place (known, shared, unknown, anonymous, and
//! IVR-identified). The same seed gives the same data.

use crate::config::PopulationConfig;
use crate::ids;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, HashSet};

const FIRST: &[&str] = &[
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Carlos",
    "Karen",
    "Daniel",
    "Lisa",
    "Matthew",
    "Nancy",
    "Anthony",
    "Betty",
    "Mark",
    "Sandra",
    "Hiroshi",
    "Ashley",
    "Steven",
    "Kimberly",
    "Andrew",
    "Emily",
    "Paul",
    "Donna",
    "Joshua",
    "Michelle",
    "Kenneth",
    "Carol",
    "Oliver",
    "Amelia",
    "Lukas",
    "Emma",
    "Léa",
    "Hugo",
    "Chloé",
    "Zoë",
    "Siobhán",
    "Noah",
    "Aroha",
    "Wei",
];
const LAST: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sanchez",
    "Clark",
    "Ramirez",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Müller",
    "Schmidt",
    "Dubois",
    "Lefèvre",
    "O'Brien",
    "Nguyen",
    "Tanaka",
    "Kowalski",
    "Rossi",
    "Van der Berg",
    "Smith-Jones",
    "McAllister",
];
const COMPANY_A: &[&str] = &[
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Wonka",
    "Hooli",
    "Vandelay",
    "Soylent",
    "Tyrell",
    "Cyberdyne",
    "Aperture",
    "Black Mesa",
    "Gringotts",
    "Monarch",
    "Pied Piper",
    "Massive Dynamic",
    "Oceanic",
    "Dunder Mifflin",
];
const COMPANY_B: &[&str] = &[
    "Corp",
    "Inc.",
    "LLC",
    "Ltd",
    "GmbH",
    "Industries",
    "Holdings",
    "Group",
    "& Sons",
    "Logistics",
    "Health",
    "Foods",
];
const INDUSTRY: &[&str] =
    &["Retail", "Healthcare", "Manufacturing", "Finance", "Technology", "Energy", "Hospitality", "Education"];
const TITLES: &[&str] =
    &["", "Owner", "Office Manager", "Director of Operations", "Accounts Payable", "IT Manager", "CEO", "Buyer"];
const US_AREAS: &[&str] = &[
    "212", "213", "305", "312", "404", "415", "512", "617", "646", "702", "713", "718", "206", "303", "480", "503",
    "614", "704", "858", "919", "602", "615", "720", "773",
];

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

fn random_number(rng: &mut impl Rng) -> Number {
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

/// A seeded account.
#[derive(Debug, Clone, Serialize)]
pub struct SeedAccount {
    pub id: String,
    pub name: String,
    pub phone: String,
    pub account_number: String,
    pub industry: String,
}

impl SeedAccount {
    /// The Salesforce fields.
    pub fn fields(&self) -> Map<String, Value> {
        let v = json!({"Id": self.id, "Name": self.name, "Phone": self.phone, "AccountNumber": self.account_number, "Industry": self.industry,
                       "CreatedDate": "2024-03-01T09:00:00.000+0000", "LastModifiedDate": "2025-06-01T09:00:00.000+0000"});
        v.as_object().cloned().unwrap_or_default()
    }
}

/// A seeded contact.
#[derive(Debug, Clone, Serialize)]
pub struct SeedContact {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub title: String,
    pub account_id: Option<String>,
    /// `(field, value as typed)`.
    pub phones: Vec<(&'static str, String)>,
    pub last_activity: String,
}

impl SeedContact {
    /// The Salesforce fields.
    pub fn fields(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("Id".into(), json!(self.id));
        m.insert("FirstName".into(), json!(self.first_name));
        m.insert("LastName".into(), json!(self.last_name));
        m.insert("Email".into(), json!(self.email));
        if !self.title.is_empty() {
            m.insert("Title".into(), json!(self.title));
        }
        m.insert("AccountId".into(), json!(self.account_id));
        for (f, v) in &self.phones {
            m.insert((*f).into(), json!(v));
        }
        m.insert("LastActivityDate".into(), json!(self.last_activity));
        m.insert("CreatedDate".into(), json!("2024-03-01T09:00:00.000+0000"));
        m.insert("LastModifiedDate".into(), json!("2025-06-01T09:00:00.000+0000"));
        m
    }
}

/// A seeded lead.
#[derive(Debug, Clone, Serialize)]
pub struct SeedLead {
    pub id: String,
    pub first_name: String,
    pub last_name: String,
    pub company: String,
    pub phone: String,
    pub email: String,
}

impl SeedLead {
    /// The Salesforce fields.
    pub fn fields(&self) -> Map<String, Value> {
        let v = json!({"Id": self.id, "FirstName": self.first_name, "LastName": self.last_name, "Company": self.company,
                       "Phone": self.phone, "Email": self.email, "Status": "Open - Not Contacted",
                       "CreatedDate": "2025-01-10T09:00:00.000+0000", "LastModifiedDate": "2025-06-01T09:00:00.000+0000"});
        v.as_object().cloned().unwrap_or_default()
    }
}

/// What kind of caller this is, and so what a correct screen pop finds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallerKind {
    /// One contact has this number.
    Single,
    /// 2–8 contacts share this number.
    Shared,
    /// A lead has this number.
    Lead,
    /// Salesforce does not know the number.
    Unknown,
    /// Withheld or anonymous.
    Anonymous,
    /// The IVR identified the caller: `contact_id` is a valid id.
    Ivr,
    /// The IVR set `contact_id` to something that is not an id; the number is known.
    IvrBadId,
}

/// A caller the scenario can place.
#[derive(Debug, Clone, Serialize)]
pub struct SeedCaller {
    pub kind: CallerKind,
    /// The customer's address as Genesys shows it.
    pub ani: String,
    /// E.164, when there is a number.
    pub e164: Option<String>,
    /// Name shown on the customer participant.
    pub name: String,
    /// Participant attributes the IVR set.
    pub attributes: BTreeMap<String, String>,
    /// The records a correct pop offers.
    pub expected: Vec<String>,
}

/// The whole seeded world.
#[derive(Debug, Clone, Serialize)]
pub struct Population {
    pub seed: u64,
    pub accounts: Vec<SeedAccount>,
    pub contacts: Vec<SeedContact>,
    pub leads: Vec<SeedLead>,
    pub callers: Vec<SeedCaller>,
}

const PHONE_FIELDS: [&str; 3] = ["Phone", "MobilePhone", "HomePhone"];

impl Population {
    /// Generates the population for a seed.
    pub fn generate(seed: u64, cfg: &PopulationConfig) -> Population {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut used: HashSet<Number> = HashSet::new();
        let mut fresh = |rng: &mut ChaCha8Rng| loop {
            let n = random_number(rng);
            if used.insert(n.clone()) {
                break n;
            }
        };
        let mut seq = 1u64;
        let mut next_id = |prefix: &str| {
            seq += 1;
            ids::salesforce_id(prefix, seq)
        };
        let accounts: Vec<SeedAccount> = (0..cfg.accounts)
            .map(|i| {
                let n = fresh(&mut rng);
                let phone = n.formatted(&mut rng, false);
                SeedAccount {
                    id: next_id("001"),
                    name: format!(
                        "{} {}",
                        COMPANY_A.choose(&mut rng).expect("non-empty"),
                        COMPANY_B.choose(&mut rng).expect("non-empty")
                    ),
                    phone,
                    account_number: format!("ACC-{:06}", 100_000 + i),
                    industry: INDUSTRY.choose(&mut rng).expect("non-empty").to_string(),
                }
            })
            .collect();
        let mut contacts: Vec<SeedContact> = Vec::new();
        let mut callers: Vec<SeedCaller> = Vec::new();
        let person = |rng: &mut ChaCha8Rng| {
            let first = FIRST.choose(rng).expect("non-empty").to_string();
            let last = LAST.choose(rng).expect("non-empty").to_string();
            (first, last)
        };
        let email_of = |first: &str, last: &str, i: usize| {
            let clean = |s: &str| s.to_lowercase().chars().filter(char::is_ascii_alphanumeric).collect::<String>();
            format!("{}.{}{}@example.com", clean(first), clean(last), i)
        };
        for i in 0..cfg.contacts {
            let (first, last) = person(&mut rng);
            let mut phones = Vec::new();
            for (k, f) in PHONE_FIELDS.iter().enumerate() {
                let p = [0.8, 0.55, 0.1][k];
                if rng.random_bool(p) || (k == 2 && phones.is_empty()) {
                    let n = fresh(&mut rng);
                    let typed = n.formatted(&mut rng, *f == "Phone");
                    phones.push((*f, typed, n));
                }
            }
            let id = next_id("003");
            let account_id = (!accounts.is_empty() && rng.random_bool(0.85))
                .then(|| accounts[rng.random_range(0..accounts.len())].id.clone());
            let (field, _, n) = phones.choose(&mut rng).expect("at least one phone").clone();
            let _ = field;
            callers.push(SeedCaller {
                kind: CallerKind::Single,
                ani: format!("tel:{}", n.e164()),
                e164: Some(n.e164()),
                name: format!("{} {}", first.to_uppercase(), last.to_uppercase()),
                attributes: BTreeMap::new(),
                expected: vec![id.clone()],
            });
            let month = rng.random_range(1..=12);
            let day = rng.random_range(1..=28);
            contacts.push(SeedContact {
                id,
                email: email_of(&first, &last, i),
                first_name: first,
                last_name: last,
                title: TITLES.choose(&mut rng).expect("non-empty").to_string(),
                account_id,
                phones: phones.into_iter().map(|(f, t, _)| (f, t)).collect(),
                last_activity: format!("2026-{month:02}-{day:02}"),
            });
        }
        // Shared numbers: a switchboard or a household, each contact typing it their own way.
        for s in 0..cfg.shared_numbers {
            let n = fresh(&mut rng);
            let size = rng.random_range(2..=8);
            let account_id = (!accounts.is_empty()).then(|| accounts[rng.random_range(0..accounts.len())].id.clone());
            let mut expected = Vec::new();
            for j in 0..size {
                let (first, last) = person(&mut rng);
                let id = next_id("003");
                let field = if rng.random_bool(0.7) { "Phone" } else { "OtherPhone" };
                let typed = n.formatted(&mut rng, field == "Phone");
                let month = rng.random_range(1..=12);
                contacts.push(SeedContact {
                    id: id.clone(),
                    email: email_of(&first, &last, 100_000 + s * 10 + j),
                    first_name: first,
                    last_name: last,
                    title: TITLES.choose(&mut rng).expect("non-empty").to_string(),
                    account_id: account_id.clone(),
                    phones: vec![(field, typed)],
                    last_activity: format!("2026-{month:02}-{:02}", rng.random_range(1..=28)),
                });
                expected.push(id);
            }
            callers.push(SeedCaller {
                kind: CallerKind::Shared,
                ani: format!("tel:{}", n.e164()),
                e164: Some(n.e164()),
                name: "WIRELESS CALLER".into(),
                attributes: BTreeMap::new(),
                expected,
            });
        }
        let leads: Vec<SeedLead> = (0..cfg.leads)
            .map(|i| {
                let (first, last) = person(&mut rng);
                let n = fresh(&mut rng);
                let lead = SeedLead {
                    id: next_id("00Q"),
                    email: email_of(&first, &last, 200_000 + i),
                    company: format!(
                        "{} {}",
                        COMPANY_A.choose(&mut rng).expect("non-empty"),
                        COMPANY_B.choose(&mut rng).expect("non-empty")
                    ),
                    phone: n.formatted(&mut rng, false),
                    first_name: first,
                    last_name: last,
                };
                callers.push(SeedCaller {
                    kind: CallerKind::Lead,
                    ani: format!("tel:{}", n.e164()),
                    e164: Some(n.e164()),
                    name: "CALLER".into(),
                    attributes: BTreeMap::new(),
                    expected: vec![lead.id.clone()],
                });
                lead
            })
            .collect();
        for _ in 0..cfg.unknown_callers {
            let n = fresh(&mut rng);
            callers.push(SeedCaller {
                kind: CallerKind::Unknown,
                ani: format!("tel:{}", n.e164()),
                e164: Some(n.e164()),
                name: "UNKNOWN".into(),
                attributes: BTreeMap::new(),
                expected: vec![],
            });
        }
        for ani in [
            "sip:anonymous@anonymous.invalid",
            "tel:anonymous",
            "",
            "tel:Restricted",
            "sip:+@192.0.2.10",
            "tel:Unavailable",
        ] {
            callers.push(SeedCaller {
                kind: CallerKind::Anonymous,
                ani: ani.into(),
                e164: None,
                name: "Anonymous".into(),
                attributes: BTreeMap::new(),
                expected: vec![],
            });
        }
        // IVR-identified callers: every fifth single-number contact verified in the IVR, some of them
        // calling from a number Salesforce does not have; a few IVR flows set a value that is no id.
        let singles: Vec<usize> =
            callers.iter().enumerate().filter(|(_, c)| c.kind == CallerKind::Single).map(|(i, _)| i).collect();
        for (k, &i) in singles.iter().enumerate().filter(|(k, _)| k % 5 == 0) {
            let base = callers[i].clone();
            let contact = base.expected[0].clone();
            if k % 50 == 0 {
                let mut attributes = BTreeMap::new();
                attributes
                    .insert("contact_id".to_string(), ["N/A", "", "0030000000BAD", "unknown"][k / 50 % 4].to_string());
                callers.push(SeedCaller { kind: CallerKind::IvrBadId, attributes, ..base });
                continue;
            }
            let id = if k % 3 == 0 { contact[..15].to_string() } else { contact.clone() };
            let mut attributes = BTreeMap::new();
            attributes.insert("contact_id".to_string(), id);
            attributes.insert("account_verified".to_string(), "true".to_string());
            attributes.insert("ivr.language".to_string(), "en-US".to_string());
            let (ani, e164) = if k % 4 == 0 {
                let n = fresh(&mut rng);
                (format!("tel:{}", n.e164()), Some(n.e164()))
            } else {
                (base.ani.clone(), base.e164.clone())
            };
            callers.push(SeedCaller {
                kind: CallerKind::Ivr,
                ani,
                e164,
                name: base.name,
                attributes,
                expected: vec![contact],
            });
        }
        Population { seed, accounts, contacts, leads, callers }
    }

    /// The id sequence value above every seeded record.
    pub fn next_sequence(&self) -> u64 {
        (self.accounts.len() + self.contacts.len() + self.leads.len()) as u64 + 10
    }

    /// Callers of one kind.
    pub fn callers_of(&self, kind: CallerKind) -> impl Iterator<Item = &SeedCaller> {
        self.callers.iter().filter(move |c| c.kind == kind)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_data() {
        let cfg = PopulationConfig { accounts: 20, contacts: 100, leads: 10, shared_numbers: 5, unknown_callers: 10 };
        let a = Population::generate(7, &cfg);
        let b = Population::generate(7, &cfg);
        assert_eq!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&b).unwrap());
        let c = Population::generate(8, &cfg);
        assert_ne!(serde_json::to_string(&a).unwrap(), serde_json::to_string(&c).unwrap());
    }

    #[test]
    fn every_kind_is_present() {
        let p = Population::generate(42, &PopulationConfig::default());
        for k in [
            CallerKind::Single,
            CallerKind::Shared,
            CallerKind::Lead,
            CallerKind::Unknown,
            CallerKind::Anonymous,
            CallerKind::Ivr,
            CallerKind::IvrBadId,
        ] {
            assert!(p.callers_of(k).next().is_some(), "{k:?}");
        }
        for c in p.callers_of(CallerKind::Shared) {
            assert!((2..=8).contains(&c.expected.len()));
        }
        for c in p.callers_of(CallerKind::Ivr) {
            assert!(ids::is_salesforce_id(&c.attributes["contact_id"]));
        }
    }
}
