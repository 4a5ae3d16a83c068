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

mod names;
mod number;

use names::{COMPANY_A, COMPANY_B, FIRST, INDUSTRY, LAST, TITLES};
pub use number::Number;
use number::random_number;

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
