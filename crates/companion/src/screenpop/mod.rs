//! The screen-pop resolver: an IVR-supplied record id first (validated), then the TTL cache
//! (stale-while-revalidate), then one escaped SOSL search shared by every concurrent lookup of the
//! customer's number or email address, within a time budget. Returned numbers and addresses are
//! re-checked after normalising both sides.

pub mod address;
pub mod cache;
mod candidate;
pub mod manual;

pub use candidate::Candidate;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::events::{EngineEvent, EventSink};
use crate::genesys::identification::{self, Identification};
use crate::genesys::segment::AddressKind;
use crate::phone::{self, NoNumber};
use crate::salesforce::errors::{SfError, SfErrorKind};
use crate::salesforce::{SalesforceClient, ids};
use address::CustomerKey;
use cache::LookupCache;
use phonenumber::country::Id as Country;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// What the pop shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PopOutcome {
    /// The IVR identified the caller, or (with `identified_by`) an earlier agent of the conversation did.
    /// `known`: the record as this desktop's cache already holds it for the caller's number (its name
    /// for the card; no request is made for it).
    Attribute {
        record_id: String,
        object: Option<String>,
        attribute: String,
        identified_by: Option<String>,
        #[serde(default)]
        known: Option<Candidate>,
    },
    /// One record.
    Single { candidate: Candidate },
    /// Several: the picker (ranked; the agent's earlier pick first).
    Multiple { candidates: Vec<Candidate> },
    /// Nobody has this number: manual search.
    NoMatch,
    /// Anonymous, withheld or unusable number.
    NoNumber { reason: NoNumber },
    /// The answer is not available in time or Salesforce failed: search by hand.
    Unavailable { code: String, reason: String },
}

impl PopOutcome {
    /// The outcome's short name, as the demo summary counts it.
    pub fn label(&self) -> &'static str {
        match self {
            PopOutcome::Attribute { identified_by: Some(_), .. } => "carried",
            PopOutcome::Attribute { .. } => "attribute",
            PopOutcome::Single { .. } => "single",
            PopOutcome::Multiple { .. } => "multiple",
            PopOutcome::NoMatch => "no_match",
            PopOutcome::NoNumber { .. } => "no_number",
            PopOutcome::Unavailable { .. } => "unavailable",
        }
    }
}

/// Where the answer came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PopSource {
    Attribute,
    Cache,
    Search,
    None,
}

/// The decision for one call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PopDecision {
    pub interaction_id: String,
    pub outcome: PopOutcome,
    pub source: PopSource,
    /// The customer's address the lookup used, normalised: a number in E.164 or a lower-cased email
    /// address (the key of the cache entry and of the agent's pick). Pops stored before emails were
    /// looked up name it `e164`.
    #[serde(alias = "e164")]
    pub address: Option<String>,
    /// Age of a cached answer.
    pub cache_age_secs: Option<u64>,
    /// Alerting frame received → decision, in microseconds.
    pub elapsed_us: u64,
    /// Of which the Salesforce request took (searches only).
    pub salesforce_us: Option<u64>,
}

/// What the resolver is asked.
#[derive(Debug, Clone)]
pub struct PopRequest {
    pub interaction_id: String,
    /// The customer's address from the media (number, email, or empty).
    pub ani: String,
    pub address_kind: AddressKind,
    pub attributes: BTreeMap<String, String>,
    /// The caller as this desktop identified them on an earlier segment of the same conversation
    /// (a transfer back), for when Genesys does not carry it.
    pub earlier: Option<Identification>,
    /// When the triggering frame arrived.
    pub received: Instant,
}

/// Counters for the status view and the demo summary.
#[derive(Debug, Default)]
pub struct ResolverStats {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub searches: AtomicU64,
    pub revalidations: AtomicU64,
}

/// Whether answers are cached (the seed design, for comparison, caches nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheMode {
    Persistent,
    Off,
}

/// Candidates found, and how long the Salesforce request took.
#[derive(Debug, Clone)]
struct Found {
    candidates: Vec<Candidate>,
    request_us: u64,
}

type LookupResult = Result<Found, SfError>;

/// The resolver.
pub struct Resolver {
    cache: LookupCache,
    salesforce: Arc<SalesforceClient>,
    config: Arc<Config>,
    country: Country,
    clock: SharedClock,
    sink: Arc<dyn EventSink>,
    mode: CacheMode,
    inflight: Mutex<HashMap<String, watch::Receiver<Option<LookupResult>>>>,
    /// Searches that outlive their pop (they still fill the cache): a stop waits for them, so no
    /// answer is written after the engine stopped (after an erasure, say).
    background: tokio_util::task::TaskTracker,
    pub stats: ResolverStats,
}

/// A search that outlives the agent's budget still fills the cache, within this limit.
const SEARCH_TIMEOUT: Duration = Duration::from_secs(15);

/// Longest attribute value considered as a record id.
const MAX_ATTRIBUTE: usize = 64;

impl Resolver {
    /// A resolver.
    pub fn new(
        cache: LookupCache,
        salesforce: Arc<SalesforceClient>,
        config: Arc<Config>,
        clock: SharedClock,
        sink: Arc<dyn EventSink>,
        mode: CacheMode,
    ) -> Resolver {
        let country = phone::country(&config.phone.default_country).unwrap_or(Country::US);
        Resolver {
            cache,
            salesforce,
            config,
            country,
            clock,
            sink,
            mode,
            inflight: Mutex::new(HashMap::new()),
            background: tokio_util::task::TaskTracker::new(),
            stats: ResolverStats::default(),
        }
    }

    /// The cache.
    pub fn cache(&self) -> &LookupCache {
        &self.cache
    }

    /// The record as the cache holds it for this customer, if it does (one local read, no request).
    fn known_record(&self, req: &PopRequest, record_id: &str) -> Option<Candidate> {
        if self.mode != CacheMode::Persistent {
            return None;
        }
        let who = self.customer_key(req).ok()?;
        let hit = self.cache.get(&who.key(), self.clock.now_ms()).ok()??;
        hit.candidates.into_iter().find(|c| c.id == record_id)
    }

    /// Whom to look up: the media's address, else one the flow set in an attribute.
    fn customer_key(&self, req: &PopRequest) -> Result<CustomerKey, NoNumber> {
        CustomerKey::find(
            &req.ani,
            req.address_kind,
            &req.attributes,
            &self.config.pop.address_attributes,
            self.country,
        )
    }

    fn attribute_id(&self, attributes: &BTreeMap<String, String>) -> Option<(String, String)> {
        self.config.pop.attribute_keys.iter().find_map(|k| {
            let v = attributes.get(k)?.trim();
            if v.len() > MAX_ATTRIBUTE {
                return None;
            }
            ids::to_id18(v).map(|id| (id, k.clone()))
        })
    }

    /// Decides the pop for a call.
    pub async fn resolve(self: &Arc<Self>, req: PopRequest) -> PopDecision {
        let decision =
            |outcome: PopOutcome, source: PopSource, address: Option<String>, age: Option<u64>| PopDecision {
                interaction_id: req.interaction_id.clone(),
                outcome,
                source,
                address,
                cache_age_secs: age,
                elapsed_us: req.received.elapsed().as_micros() as u64,
                salesforce_us: None,
            };
        // An agent's identification beats the IVR's guess: it is what a person confirmed.
        let carried = self
            .config
            .pop
            .carry_identification
            .then(|| identification::read(&req.attributes).map(|i| (i, identification::RECORD_ATTRIBUTE.to_string())))
            .flatten()
            .or_else(|| req.earlier.clone().map(|i| (i, "this desktop".to_string())));
        let identified = carried
            .map(|(i, attribute)| (i.record_id, attribute, Some(i.by)))
            .or_else(|| self.attribute_id(&req.attributes).map(|(id, attribute)| (id, attribute, None)));
        if let Some((record_id, attribute, identified_by)) = identified {
            let object = ids::object_of(&record_id).map(str::to_string);
            let known = self.known_record(&req, &record_id);
            let outcome = PopOutcome::Attribute { record_id, object, attribute, identified_by, known };
            return decision(outcome, PopSource::Attribute, None, None);
        }
        let who = match self.customer_key(&req) {
            Ok(k) => k,
            Err(reason) => return decision(PopOutcome::NoNumber { reason }, PopSource::None, None, None),
        };
        let key = who.key();
        let now = self.clock.now_ms();
        if self.mode == CacheMode::Persistent {
            match self.cache.get(&key, now) {
                Ok(Some(hit)) => {
                    self.stats.hits.fetch_add(1, Ordering::Relaxed);
                    let age_ms = (now - hit.fetched_ms).max(0);
                    if age_ms > self.config.cache.fresh_secs as i64 * 1000 {
                        self.revalidate(&who);
                    }
                    let outcome = self.outcome(&key, hit.candidates);
                    return decision(outcome, PopSource::Cache, Some(key), Some((age_ms / 1000) as u64));
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "cache read failed; searching"),
            }
        }
        self.stats.misses.fetch_add(1, Ordering::Relaxed);
        let budget = Duration::from_millis(self.config.pop.lookup_budget_ms).saturating_sub(req.received.elapsed());
        let mut rx = self.lookup_shared(&who);
        let waited = tokio::time::timeout(budget, rx.wait_for(Option::is_some)).await;
        let result = match waited {
            Ok(Ok(r)) => r.clone().expect("waited for Some"),
            Ok(Err(_)) => Err(SfError::unexpected("the lookup stopped".into())),
            Err(_) => {
                let reason = format!("still looking after {} ms: search by hand", self.config.pop.lookup_budget_ms);
                return decision(
                    PopOutcome::Unavailable { code: "LOOKUP_TIMEOUT".into(), reason },
                    PopSource::Search,
                    Some(key),
                    None,
                );
            }
        };
        match result {
            Ok(found) => {
                let outcome = self.outcome(&key, found.candidates);
                PopDecision {
                    salesforce_us: Some(found.request_us),
                    ..decision(outcome, PopSource::Search, Some(key), None)
                }
            }
            Err(e) => {
                let reason = match e.kind {
                    SfErrorKind::Session => "Salesforce needs you to sign in again: search by hand".to_string(),
                    SfErrorKind::Budget => {
                        "the Salesforce API allowance for today is used up: search by hand".to_string()
                    }
                    _ => format!("Salesforce did not answer ({}): search by hand", e.message),
                };
                decision(PopOutcome::Unavailable { code: e.code, reason }, PopSource::Search, Some(key), None)
            }
        }
    }

    /// Ranks candidates into an outcome: the agent's earlier pick first, then the most recent activity.
    fn outcome(&self, key: &str, mut candidates: Vec<Candidate>) -> PopOutcome {
        match candidates.len() {
            0 => PopOutcome::NoMatch,
            1 => PopOutcome::Single { candidate: candidates.remove(0) },
            _ => {
                let chosen =
                    if self.mode == CacheMode::Persistent { self.cache.choice(key).ok().flatten() } else { None };
                candidates.sort_by(|a, b| {
                    let pick = |c: &Candidate| chosen.as_deref() != Some(c.id.as_str());
                    pick(a)
                        .cmp(&pick(b))
                        .then_with(|| b.last_activity.cmp(&a.last_activity))
                        .then_with(|| a.name.cmp(&b.name))
                });
                PopOutcome::Multiple { candidates }
            }
        }
    }

    /// Starts (or joins) the search for a customer.
    fn lookup_shared(self: &Arc<Self>, who: &CustomerKey) -> watch::Receiver<Option<LookupResult>> {
        let key = who.key();
        let mut map = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(rx) = map.get(&key) {
            return rx.clone();
        }
        let (tx, rx) = watch::channel(None);
        map.insert(key.clone(), rx.clone());
        let this = self.clone();
        let who = who.clone();
        self.background.spawn(async move {
            let result = this.search(&who).await;
            // Waiters first; the cache write is off their path. The number stays in flight until the
            // answer is in the cache, so nobody searches it again meanwhile.
            let _ = tx.send(Some(result.clone()));
            if let (Ok(found), CacheMode::Persistent) = (&result, this.mode)
                && let Err(e) = this.cache.put(&key, &found.candidates, this.clock.now_ms())
            {
                tracing::warn!(error = %e, "cache write failed");
            }
            this.inflight.lock().unwrap_or_else(|e| e.into_inner()).remove(&key);
        });
        rx
    }

    fn revalidate(self: &Arc<Self>, who: &CustomerKey) {
        self.stats.revalidations.fetch_add(1, Ordering::Relaxed);
        let before = self.cache.get(&who.key(), self.clock.now_ms()).ok().flatten().map(|c| c.candidates);
        let mut rx = self.lookup_shared(who);
        let sink = self.sink.clone();
        tokio::spawn(async move {
            // The borrow of the watched value is dropped before the sink runs.
            let changed = match rx.wait_for(Option::is_some).await {
                Ok(r) => match r.as_ref() {
                    Some(Ok(after)) => Some(before.as_ref() != Some(&after.candidates)),
                    _ => None,
                },
                Err(_) => None,
            };
            if let Some(changed) = changed {
                sink.emit(&EngineEvent::CacheRevalidated { changed });
            }
        });
    }

    /// One SOSL search (phone fields for a number, email fields for an address), re-checked.
    async fn search(&self, who: &CustomerKey) -> LookupResult {
        self.stats.searches.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let objects = &self.config.search.objects;
        let records = match who {
            CustomerKey::Phone(n) => self.salesforce.search_phone(&n.national, objects, SEARCH_TIMEOUT).await?,
            CustomerKey::Email(e) => self.salesforce.search_email(e, objects, SEARCH_TIMEOUT).await?,
        };
        let request_us = started.elapsed().as_micros() as u64;
        let candidates: Vec<Candidate> = records.iter().filter_map(|r| self.recheck(r, who)).collect();
        Ok(Found { candidates, request_us })
    }

    /// Keeps a search result only if one of its phone (or email) fields is really the customer's.
    fn recheck(&self, r: &Value, who: &CustomerKey) -> Option<Candidate> {
        let object = candidate::object_of(r);
        let fields = &self.config.search.objects.iter().find(|o| o.name == object)?.fields;
        let field_kind = match who {
            CustomerKey::Phone(_) => "Phone",
            CustomerKey::Email(_) => "Email",
        };
        let (matched_field, matched_value) =
            fields.iter().filter(|f| f.contains(field_kind) && !f.contains('.')).find_map(|f| {
                let v = r.get(f.as_str())?.as_str()?;
                let same = match who {
                    CustomerKey::Phone(n) => n.matches(v, self.country),
                    CustomerKey::Email(e) => address::email(v).is_ok_and(|stored| stored == *e),
                };
                same.then(|| (f.clone(), v.to_string()))
            })?;
        let exact_format = matched_value.trim() == who.key();
        Candidate::from_record(r, matched_field, matched_value, exact_format)
    }

    /// The Salesforce client.
    pub fn salesforce(&self) -> &Arc<SalesforceClient> {
        &self.salesforce
    }

    /// Waits (at most `limit`) for the searches still running to write their answers; none starts
    /// afterwards.
    pub async fn drain(&self, limit: Duration) {
        self.background.close();
        if tokio::time::timeout(limit, self.background.wait()).await.is_err() {
            tracing::warn!("a background search did not finish in time");
        }
    }

    /// The resolver's clock, now.
    pub fn clock_now(&self) -> i64 {
        self.clock.now_ms()
    }

    /// The country national numbers are read in.
    pub fn country(&self) -> Country {
        self.country
    }

    /// Remembers the agent's pick for a number.
    pub fn remember_choice(&self, key: &str, record_id: &str) {
        if let Err(e) = self.cache.remember_choice(key, record_id, self.clock.now_ms()) {
            tracing::warn!(error = %e, "could not remember the pick");
        }
    }
}
