//! The simulator's shared state: one value behind an `Arc`, handed to every handler.

use crate::clock::SimClock;
use crate::config::{Settings, SimConfig};
use crate::data::Population;
use crate::faults::FaultBook;
use crate::genesys::GenesysState;
use crate::salesforce::SalesforceState;
use crate::scenario::CallRegistry;
use crate::server::SimUrls;
use crate::stats::Stats;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Shared state of one simulator.
pub(crate) struct SimState {
    pub clock: SimClock,
    pub config: SimConfig,
    pub settings: RwLock<Settings>,
    pub rng: Mutex<ChaCha8Rng>,
    pub genesys: Mutex<GenesysState>,
    pub salesforce: RwLock<SalesforceState>,
    pub faults: Mutex<FaultBook>,
    pub stats: Stats,
    pub population: Population,
    pub calls: CallRegistry,
    pub urls: OnceLock<SimUrls>,
    /// The desktop app's release manifest (`/_sim/updates/latest.json`), once one is published.
    pub release: RwLock<Option<serde_json::Value>>,
    /// How many times the release feed was read.
    pub release_reads: std::sync::atomic::AtomicU64,
}

pub(crate) type Shared = Arc<SimState>;

impl SimState {
    pub fn new(config: SimConfig) -> SimState {
        let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
        let population = Population::generate(config.seed, &config.population);
        let genesys = GenesysState::seeded(&mut rng);
        let salesforce = SalesforceState::seeded(&population);
        SimState {
            clock: SimClock::default(),
            settings: RwLock::new(config.settings.clone()),
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(config.seed ^ 0x5eed_cafe)),
            genesys: Mutex::new(genesys),
            salesforce: RwLock::new(salesforce),
            faults: Mutex::new(FaultBook::default()),
            stats: Stats::default(),
            population,
            calls: CallRegistry::default(),
            urls: OnceLock::new(),
            release: RwLock::new(None),
            release_reads: Default::default(),
            config,
        }
    }

    pub fn settings(&self) -> Settings {
        self.settings.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn rng(&self) -> MutexGuard<'_, ChaCha8Rng> {
        self.rng.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn genesys(&self) -> MutexGuard<'_, GenesysState> {
        self.genesys.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn sf_read(&self) -> RwLockReadGuard<'_, SalesforceState> {
        self.salesforce.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn sf_write(&self) -> RwLockWriteGuard<'_, SalesforceState> {
        self.salesforce.write().unwrap_or_else(|e| e.into_inner())
    }

    pub fn faults(&self) -> MutexGuard<'_, FaultBook> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn urls(&self) -> &SimUrls {
        self.urls.get().expect("urls are set before the listeners accept")
    }
}
