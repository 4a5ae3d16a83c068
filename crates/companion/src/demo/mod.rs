//! The reference run: the simulator in-process, a sign-in against it (authorization code + PKCE, the
//! simulator approving at once), the engine, and a seeded scenario of calls. `companion demo` prints
//! it; the benchmarks measure it, with the cache and without (the seed design).

use crate::config::{self, Config, Sources};
use crate::engine::{EngineHandle, EngineSetup, StartError};
use crate::events::{EngineEvent, EventSink};
use crate::genesys::feed::ConnectionState;
use crate::genesys::segment::{SegmentKind, interaction_id};
use crate::outbox::RowState;
use crate::screenpop::{CacheMode, PopDecision, PopSource};
use crate::signin::{Clouds, SignInError};
use crate::store::Store;
use cloud_sim::scenario::ScenarioSpec;
use cloud_sim::{Channel, Flow};
use cloud_sim::{SimConfig, SimHandle};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::Duration;

mod mix;

pub use mix::{plain_mix, reference_channels, reference_mix, scenario_spec, voice_only};

/// Why the demo could not run.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error("the simulator could not start: {0}")]
    Simulator(String),
    #[error("{0}")]
    Config(#[from] config::ConfigError),
    #[error("{0}")]
    Store(#[from] crate::store::StoreError),
    #[error("{0}")]
    SignIn(#[from] SignInError),
    #[error("{0}")]
    Start(#[from] StartError),
    #[error("{0}")]
    Other(String),
}

/// What to run.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub calls: u32,
    pub seed: u64,
    /// Calls per minute of wall time.
    pub rate_per_min: f64,
    /// How much faster than life each call runs.
    pub speed: f64,
    pub cache_mode: CacheMode,
    /// Where the database goes (a temporary directory, removed afterwards, when absent).
    pub data_dir: Option<PathBuf>,
    /// Extra `key=value` configuration.
    pub flags: Vec<String>,
    /// The mix of interactions (weights per flow).
    pub flows: BTreeMap<Flow, u32>,
    /// The channels of inbound interactions (weights).
    pub channels: BTreeMap<Channel, u32>,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            calls: 40,
            seed: 42,
            rate_per_min: 240.0,
            speed: 30.0,
            cache_mode: CacheMode::Persistent,
            data_dir: None,
            flags: vec![],
            flows: reference_mix(),
            channels: reference_channels(),
        }
    }
}

/// What happened.
#[derive(Debug, Clone)]
pub struct DemoReport {
    /// Conversations placed.
    pub conversations: usize,
    /// The segments of this agent the simulator placed (interaction ids): each should pop once.
    pub segments: Vec<String>,
    /// The kind of each segment the engine saw.
    pub kinds: HashMap<String, SegmentKind>,
    pub pops: Vec<PopDecision>,
    /// Salesforce requests per endpoint, as the simulator counted them.
    pub sf_endpoints: BTreeMap<String, u64>,
    pub cache_hits: u64,
    pub cache_misses: u64,
    /// Segments with a disposition in the outbox.
    pub queued: Vec<String>,
    /// The outbox by state at the end.
    pub depth: BTreeMap<RowState, u64>,
    /// Log records in Salesforce per interaction id.
    pub crm: HashMap<String, u64>,
}

struct Collect {
    pops: Mutex<Vec<PopDecision>>,
    kinds: Mutex<HashMap<String, SegmentKind>>,
    forward: Option<Arc<dyn EventSink>>,
}

impl EventSink for Collect {
    fn emit(&self, event: &EngineEvent) {
        match event {
            EngineEvent::Pop(d) => self.pops.lock().unwrap_or_else(|e| e.into_inner()).push((**d).clone()),
            EngineEvent::Call { interaction_id, kind, .. } => {
                self.kinds.lock().unwrap_or_else(|e| e.into_inner()).entry(interaction_id.clone()).or_insert(*kind);
            }
            _ => {}
        }
        if let Some(f) = &self.forward {
            f.emit(event);
        }
    }
}

/// The configuration for a running simulator: its base URLs plus the given flags; no files are read,
/// so a demo runs the same on every machine.
pub fn config_for(sim: &SimHandle, flags: &[String]) -> Result<Config, config::ConfigError> {
    Ok(loaded_config_for(sim, flags)?.config)
}

/// [`config_for`], with where each key came from.
pub fn loaded_config_for(sim: &SimHandle, flags: &[String]) -> Result<config::LoadedConfig, config::ConfigError> {
    let u = sim.urls();
    let mut all = vec![
        // The simulated org's wrap-up codes, mapped onto its Disposition_Code__c picklist.
        r#"disposition.code_map={ "Sale" = "Completed", "Callback Requested" = "Pending Transfer", "Billing Question" = "Completed", "Technical Support" = "Completed", "Complaint" = "Completed", "Wrong Number" = "Failed" }"#.to_string(),
        format!("genesys.api_base={}", u.genesys_api),
        format!("genesys.login_base={}", u.genesys_login),
        format!("genesys.streaming_base={}", u.genesys_streaming),
        format!("salesforce.login_base={}", u.salesforce_login),
        // The simulator's release feed: empty until someone publishes a release through `/_sim/updates`.
        format!("updates.feed_url={}/_sim/updates/latest.json", u.control),
    ];
    all.extend(flags.iter().cloned());
    config::load(&Sources { flags: all, ..Default::default() })
}

/// The embedded simulator behind the desktop demo, with its own data directory.
pub struct DemoCloud {
    pub sim: SimHandle,
    /// Where the demo's database lives.
    pub dir: PathBuf,
    temporary: bool,
}

impl DemoCloud {
    /// Starts the simulator on loopback ports of its own.
    pub async fn start(seed: u64, data_dir: Option<PathBuf>) -> Result<DemoCloud, DemoError> {
        let sim = SimHandle::start(SimConfig { seed, ..SimConfig::default() })
            .await
            .map_err(|e| DemoError::Simulator(e.to_string()))?;
        let temporary = data_dir.is_none();
        let dir = data_dir.unwrap_or_else(|| {
            std::env::temp_dir().join(format!("agent-companion-demo-{}-{}", std::process::id(), rand::random::<u32>()))
        });
        std::fs::create_dir_all(&dir).map_err(|e| DemoError::Other(format!("cannot create {}: {e}", dir.display())))?;
        Ok(DemoCloud { sim, dir, temporary })
    }

    /// The configuration for the desk: the simulator's URLs, the demo's database, then `flags`.
    pub fn config(&self, flags: &[String]) -> Result<config::LoadedConfig, DemoError> {
        // A name of its own, so `--demo --data-dir` pointed at a real data directory never writes
        // simulated calls into the agent's database.
        let mut all = vec![format!("store.path={}", self.dir.join("companion-demo.db").display())];
        all.extend(flags.iter().cloned());
        Ok(loaded_config_for(&self.sim, &all)?)
    }

    /// Starts a stream of interactions of the reference mix at a pace people can follow; returns the
    /// scenario id.
    pub fn start_calls(&self, calls: u32, rate_per_min: f64, speed: f64, seed: u64) -> Result<String, DemoError> {
        let spec = scenario_spec(calls, rate_per_min, speed, seed, reference_mix(), reference_channels());
        self.sim.start_scenario(spec).map_err(|e| DemoError::Other(e.to_string()))
    }

    /// Stops the simulator and removes a temporary data directory.
    pub async fn stop(self) {
        self.sim.shutdown().await;
        if self.temporary {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Runs the demo; events also go to `forward` as they happen.
pub async fn run(opts: DemoOptions, forward: Option<Arc<dyn EventSink>>) -> Result<DemoReport, DemoError> {
    if opts.calls == 0 || opts.rate_per_min <= 0.0 || opts.speed <= 0.0 {
        return Err(DemoError::Other("calls, rate and speed must be above 0".into()));
    }
    let sim = SimHandle::start(SimConfig { seed: opts.seed, ..SimConfig::default() })
        .await
        .map_err(|e| DemoError::Simulator(e.to_string()))?;
    let temp = opts
        .data_dir
        .is_none()
        .then(|| std::env::temp_dir().join(format!("companion-demo-{}-{}", std::process::id(), rand::random::<u32>())));
    let dir = opts.data_dir.clone().or(temp.clone()).expect("one of them");
    let result = run_on_sim(&sim, &opts, &dir, forward).await;
    sim.shutdown().await;
    if let Some(t) = temp {
        let _ = std::fs::remove_dir_all(t);
    }
    result
}

/// Runs the demo against a simulator the caller started, keeping the database in `dir`.
pub async fn run_on_sim(
    sim: &SimHandle,
    opts: &DemoOptions,
    dir: &std::path::Path,
    forward: Option<Arc<dyn EventSink>>,
) -> Result<DemoReport, DemoError> {
    let mut cfg = config_for(sim, &opts.flags)?;
    cfg.store.path = Some(dir.join("companion.db"));
    let cfg = Arc::new(cfg);
    let store = Arc::new(Store::open(cfg.store.path.as_deref().expect("set above"))?);
    let clouds = Clouds::simulated(&cfg).await?;
    let me = clouds.user_id().unwrap_or_default();
    let sink = Arc::new(Collect { pops: Mutex::new(vec![]), kinds: Mutex::new(HashMap::new()), forward });
    let engine = EngineHandle::start(EngineSetup {
        cache_mode: opts.cache_mode,
        ..EngineSetup::new(cfg, store, clouds, sink.clone())
    })?;
    // (The borrow `wait_for` returns must not outlive this line: it would block the feed's updates.)
    let connected = tokio::time::timeout(
        Duration::from_secs(15),
        engine.connection().wait_for(|s| matches!(s, ConnectionState::Connected { .. })),
    )
    .await
    .is_ok_and(|r| r.is_ok());
    if !connected {
        engine.stop().await;
        return Err(DemoError::Other("the notification feed did not connect in 15 s".into()));
    }
    let spec = ScenarioSpec {
        user: Some(me.clone()),
        ..scenario_spec(
            opts.calls,
            opts.rate_per_min / opts.speed,
            opts.speed,
            opts.seed,
            opts.flows.clone(),
            opts.channels.clone(),
        )
    };
    let scenario = sim.start_scenario(spec).map_err(|e| DemoError::Other(e.to_string()))?;
    let deadline =
        tokio::time::Instant::now() + Duration::from_secs_f64(opts.calls as f64 * 60.0 / opts.rate_per_min + 120.0);
    loop {
        tokio::time::sleep(Duration::from_millis(50)).await;
        let progress = sim.scenario(&scenario).unwrap_or_default();
        if progress.done {
            let expected = segments_of(sim, &progress.conversation_ids, &me);
            let pops = sink.pops.lock().unwrap_or_else(|e| e.into_inner());
            if expected.iter().all(|id| pops.iter().any(|p| &p.interaction_id == id)) {
                break;
            }
        }
        if tokio::time::Instant::now() > deadline {
            break;
        }
    }
    // Then let the outbox drain: every wrap-up submitted in Genesys queued, nothing pending.
    let cids = sim.scenario(&scenario).unwrap_or_default().conversation_ids;
    let wrapped = wrapped_in_genesys(sim, &cids, &me);
    let drain_deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let depth = engine.outbox().depth().unwrap_or_default();
        let pending = depth.get(&RowState::Pending).copied().unwrap_or(0);
        let all_queued = wrapped.iter().all(|id| engine.outbox().get(id).ok().flatten().is_some());
        if (pending == 0 && all_queued) || tokio::time::Instant::now() > drain_deadline {
            break;
        }
        engine.flush_outbox();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let conversation_ids = sim.scenario(&scenario).unwrap_or_default().conversation_ids;
    let segments = segments_of(sim, &conversation_ids, &me);
    let stats = sim.stats();
    let queued: Vec<String> =
        engine.outbox().list(None, usize::MAX).unwrap_or_default().into_iter().map(|r| r.interaction_id).collect();
    let depth = engine.outbox().depth().unwrap_or_default();
    let crm = crm_records(sim).await?;
    let (hits, misses) =
        (engine.resolver().stats.hits.load(Ordering::Relaxed), engine.resolver().stats.misses.load(Ordering::Relaxed));
    engine.stop().await;
    let sf_endpoints = stats["endpoints"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| k.strip_prefix("salesforce ").map(|e| (e.to_string(), v["count"].as_u64().unwrap_or(0))))
        .collect();
    let pops = sink.pops.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let kinds = sink.kinds.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Ok(DemoReport {
        conversations: conversation_ids.len(),
        segments,
        kinds,
        pops,
        sf_endpoints,
        cache_hits: hits,
        cache_misses: misses,
        queued,
        depth,
        crm,
    })
}

/// This agent's segments of the placed conversations, as interaction ids: one per agent participant
/// of the agent that rang (a caller who hung up while another agent's phone rang never reached this
/// one); an alert that timed out and rang again is one segment, keyed by the first alert.
pub fn segments_of(sim: &SimHandle, conversation_ids: &[String], me: &str) -> Vec<String> {
    let mut out = vec![];
    for cid in conversation_ids {
        let Some(placed) = sim.placed_call(cid) else { continue };
        let shown = sim.shown_participants(cid);
        let rang = |pid: &str| shown.iter().any(|p| p == pid);
        for (i, leg) in placed.legs.iter().enumerate().filter(|(_, l)| l.user_id == me && rang(&l.participant_id)) {
            let key = match (&placed.timed_out_participant_id, i) {
                (Some(earlier), 0) => earlier,
                _ => &leg.participant_id,
            };
            out.push(interaction_id(cid, key));
        }
    }
    out
}

/// The segments of `me` with a wrap-up submitted in Genesys, as the simulator holds the conversations
/// now, read through the companion's own segment model: what must reach Salesforce.
pub fn wrapped_in_genesys(sim: &SimHandle, conversation_ids: &[String], me: &str) -> Vec<String> {
    conversation_ids
        .iter()
        .filter_map(|cid| sim.conversation(cid))
        .filter_map(|v| serde_json::from_value::<crate::genesys::model::ConversationSnapshot>(v).ok())
        .flat_map(|snap| crate::genesys::segment::views(&snap, me))
        .filter(|s| s.wrapup.is_some() && s.media.is_handled())
        .map(|s| s.interaction_id)
        .collect()
}

/// How many log records Salesforce holds per interaction id (read from the simulator, not the engine).
async fn crm_records(sim: &SimHandle) -> Result<HashMap<String, u64>, DemoError> {
    let url = format!("{}/_sim/salesforce/Disposition_Log__c", sim.urls().control);
    let v: Value = reqwest::get(url)
        .await
        .and_then(|r| r.error_for_status())
        .map_err(|e| DemoError::Other(e.to_string()))?
        .json()
        .await
        .map_err(|e| DemoError::Other(e.to_string()))?;
    let mut out = HashMap::new();
    for r in v["records"].as_array().into_iter().flatten() {
        if let Some(id) = r["Interaction_ID__c"].as_str() {
            *out.entry(id.to_string()).or_default() += 1;
        }
    }
    Ok(out)
}

/// `{p50, p99, n}` in milliseconds.
pub fn percentiles_ms(mut us: Vec<u64>) -> Value {
    if us.is_empty() {
        return json!({"p50": null, "p99": null, "n": 0});
    }
    us.sort_unstable();
    let at = |p: f64| (us[((us.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0 * 1000.0).round() / 1000.0;
    json!({"p50": at(0.5), "p99": at(0.99), "n": us.len()})
}

impl DemoReport {
    /// Pop latencies of one source, in µs.
    pub fn latencies(&self, source: PopSource) -> Vec<u64> {
        self.pops.iter().filter(|p| p.source == source).map(|p| p.elapsed_us).collect()
    }

    /// Engine time on cache misses, beyond the Salesforce request, in µs.
    pub fn miss_overhead(&self) -> Vec<u64> {
        self.pops.iter().filter_map(|p| p.salesforce_us.map(|sf| p.elapsed_us.saturating_sub(sf))).collect()
    }

    /// Salesforce requests in all.
    pub fn sf_calls(&self) -> u64 {
        self.sf_endpoints.values().sum()
    }

    /// The summary line: `{"summary": {...}}`.
    pub fn summary(&self) -> Value {
        let mut by_outcome: BTreeMap<&str, u64> =
            ["attribute", "carried", "single", "multiple", "no_match", "no_number", "unavailable"]
                .iter()
                .map(|k| (*k, 0))
                .collect();
        let mut per_call: HashMap<&str, u32> = HashMap::new();
        for p in &self.pops {
            *by_outcome.entry(p.outcome.label()).or_default() += 1;
            *per_call.entry(p.interaction_id.as_str()).or_default() += 1;
        }
        let calls = self.conversations as u64;
        let mut by_kind: BTreeMap<&str, u64> = [
            SegmentKind::Inbound,
            SegmentKind::Transfer,
            SegmentKind::Consult,
            SegmentKind::TransferBack,
            SegmentKind::Outbound,
            SegmentKind::Callback,
        ]
        .iter()
        .map(|k| (k.as_str(), 0))
        .collect();
        for id in &self.segments {
            if let Some(k) = self.kinds.get(id) {
                *by_kind.entry(k.as_str()).or_default() += 1;
            }
        }
        let handled = self.segments.len() as u64;
        let lookups = self.cache_hits + self.cache_misses;
        let round3 = |x: f64| (x * 1000.0).round() / 1000.0;
        json!({"summary": {
            "calls": calls,
            "segments": {"total": handled, "by_kind": by_kind},
            "pops": by_outcome,
            "pop_ms": {"hit": percentiles_ms(self.latencies(PopSource::Cache)), "miss": percentiles_ms(self.latencies(PopSource::Search))},
            "sf_api_calls": {"total": self.sf_calls(), "by_endpoint": self.sf_endpoints,
                             "per_segment": if handled > 0 { round3(self.sf_calls() as f64 / handled as f64) } else { 0.0 }},
            "cache_hit_ratio": if lookups > 0 { round3(self.cache_hits as f64 / lookups as f64) } else { 0.0 },
            "missed_segments": self.missed_segments(),
            "duplicate_pops": per_call.values().filter(|n| **n > 1).count(),
            "dispositions": {
                "enqueued": self.queued.len(),
                "delivered": self.depth.get(&RowState::Delivered).copied().unwrap_or(0),
                "needs_attention": self.depth.get(&RowState::NeedsAttention).copied().unwrap_or(0),
                "pending": self.depth.get(&RowState::Pending).copied().unwrap_or(0),
            },
            "crm_records": self.queued.iter().filter(|c| self.crm.contains_key(*c)).count(),
            "crm_duplicates": self.crm.values().filter(|n| **n > 1).count(),
            "lost": self.lost(),
        }})
    }

    /// Queued dispositions that are not in Salesforce and not parked or discarded on purpose.
    pub fn lost(&self) -> usize {
        let parked = self.depth.get(&RowState::NeedsAttention).copied().unwrap_or(0) as usize;
        self.queued.iter().filter(|c| !self.crm.contains_key(*c)).count().saturating_sub(parked)
    }

    /// Segments of this agent that never popped.
    pub fn missed_segments(&self) -> usize {
        self.segments.iter().filter(|c| !self.pops.iter().any(|p| &p.interaction_id == *c)).count()
    }
}
