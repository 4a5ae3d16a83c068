//! The engine: feed → tracker → resolver → event sink, the outbox's pusher, the journal and the
//! housekeeping. It owns its tasks and outlives any window. It holds the clouds' sessions, not copies
//! of them: a sign-in elsewhere (the desk) is seen here at once.

mod capture;
mod carry;
mod genesys_wrapup;
mod housekeeping;
mod journal;
mod processor;
mod readback;
mod wrapup_codes;

pub use genesys_wrapup::WRAPUP_PERMISSION;
pub use housekeeping::purge;
pub use readback::ANALYTICS_PERMISSIONS;
pub use wrapup_codes::WrapupCodes;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::events::EventSink;
use crate::genesys::feed::{ConnectionState, FeedEvent, FeedHandle, FeedSettings};
use crate::genesys::tracker::Tracker;
use crate::outbox::pusher::{PusherHandle, PusherState};
use crate::outbox::{Disposition, DispositionSource, Outbox, OutboxError, RowState};
use crate::screenpop::cache::LookupCache;
use crate::screenpop::{CacheMode, Resolver};
use crate::signin::Clouds;
use crate::store::{Interactions, Store, StoreError};
use carry::Carrier;
use housekeeping::Housekeeping;
use processor::Processor;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// Why a pick was refused.
#[derive(Debug, thiserror::Error)]
pub enum PickError {
    #[error("`{0}` is not a Salesforce record id")]
    NotARecordId(String),
    #[error("no call {0} is known")]
    UnknownCall(String),
    #[error("{0}")]
    Store(#[from] StoreError),
    #[error("{0}")]
    Outbox(#[from] OutboxError),
}

impl From<rusqlite::Error> for PickError {
    fn from(e: rusqlite::Error) -> Self {
        PickError::Store(StoreError::Sql(e))
    }
}

/// Why the engine did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("sign in to Genesys Cloud first")]
    NotSignedIn,
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// What the engine needs to run.
pub struct EngineSetup {
    pub config: Arc<Config>,
    pub store: Arc<Store>,
    /// The clouds' sessions (Genesys signed in), shared with whoever signs in again.
    pub clouds: Clouds,
    pub sink: Arc<dyn EventSink>,
    pub clock: SharedClock,
    /// `Persistent` in the product; `Off` reproduces the seed design for comparisons.
    pub cache_mode: CacheMode,
    /// The store's outbox (the desk shares its own, so the Sync view's retry wakes this pusher).
    pub outbox: Arc<Outbox>,
    /// The wrap-up codes (the desk shares its own, so the form and the engine agree).
    pub wrapup_codes: Arc<WrapupCodes>,
}

impl EngineSetup {
    /// The usual setup for signed-in clouds: the wall clock, the persistent cache, a new outbox and
    /// code list.
    pub fn new(config: Arc<Config>, store: Arc<Store>, clouds: Clouds, sink: Arc<dyn EventSink>) -> EngineSetup {
        let clock: SharedClock = Arc::new(crate::clock::SystemClock);
        let fallback = config.disposition.code_map.keys().cloned().collect();
        EngineSetup {
            outbox: Arc::new(Outbox::new(store.clone(), clock.clone())),
            wrapup_codes: Arc::new(WrapupCodes::with_fallback(fallback)),
            config,
            store,
            clouds,
            sink,
            clock,
            cache_mode: CacheMode::Persistent,
        }
    }
}

/// The running engine.
pub struct EngineHandle {
    feed: Option<FeedHandle>,
    /// Kept so the tracker's channel outlives a feed that stopped for a new sign-in.
    feed_tx: Option<mpsc::Sender<FeedEvent>>,
    feed_state: Arc<watch::Sender<ConnectionState>>,
    feed_settings: FeedSettings,
    clouds: Clouds,
    pusher: Option<PusherHandle>,
    outbox: Arc<Outbox>,
    connection: watch::Receiver<ConnectionState>,
    tasks: Vec<JoinHandle<()>>,
    stop: watch::Sender<bool>,
    resolver: Arc<Resolver>,
    store: Arc<Store>,
    carrier: Arc<Carrier>,
}

impl EngineHandle {
    /// Starts the feed and the engine's tasks.
    pub fn start(setup: EngineSetup) -> Result<EngineHandle, StartError> {
        crate::phone::warm();
        let EngineSetup { config, store, clouds, sink, clock, cache_mode, outbox, wrapup_codes } = setup;
        let user_id = clouds.user_id().ok_or(StartError::NotSignedIn)?;
        let cache = LookupCache::new(store.clone(), config.cache.positive_ttl_secs, config.cache.negative_ttl_secs);
        let resolver = Arc::new(Resolver::new(
            cache,
            clouds.salesforce.clone(),
            config.clone(),
            clock.clone(),
            sink.clone(),
            cache_mode,
        ));
        let mut tracker = Tracker::new(user_id.clone());
        let retention_ms = config.store.journal_retention_hours as i64 * 3_600_000;
        let seen = Interactions::on(&store.background())
            .stages_since(clock.now_ms() - retention_ms)
            .map_err(StoreError::Sql)?;
        for (id, conversation_id, stage) in seen {
            tracker.restore(id, conversation_id, stage);
        }
        let carrier = Arc::new(Carrier::new(clouds.genesys.clone(), sink.clone(), config.pop.carry_identification));
        let pusher =
            PusherHandle::start(outbox.clone(), clouds.salesforce.clone(), config.clone(), clock.clone(), sink.clone());
        let (items_tx, items_rx) = mpsc::channel::<FeedEvent>(1024);
        let feed_settings = FeedSettings::from_config(&config.genesys, user_id);
        let feed_state = Arc::new(watch::channel(ConnectionState::Connecting).0);
        let feed =
            FeedHandle::start_with(clouds.genesys.clone(), feed_settings.clone(), items_tx.clone(), feed_state.clone());
        let connection = feed.state();
        let (stop, stop_rx) = watch::channel(false);
        let (journal_tx, journal_rx) = mpsc::channel(4096);
        let (refetch_tx, refetch_rx) = mpsc::channel::<FeedEvent>(256);
        let wrapup_sync = genesys_wrapup::GenesysWrapupSync {
            enabled: config.genesys.apply_wrapups,
            outbox: outbox.clone(),
            store: store.clone(),
            genesys: clouds.genesys.clone(),
            codes: wrapup_codes.clone(),
            sink: sink.clone(),
            clock: clock.clone(),
        };
        let capture = capture::Capture {
            genesys: clouds.genesys.clone(),
            codes: wrapup_codes.clone(),
            outbox: outbox.clone(),
            store: store.clone(),
            clock: clock.clone(),
        };
        let readback = readback::ReadBack {
            genesys: clouds.genesys.clone(),
            capture: capture.clone(),
            store: store.clone(),
            sink: sink.clone(),
            clock: clock.clone(),
            config: config.recovery.clone(),
            connection: connection.clone(),
        };
        let processor = Processor {
            tracker,
            genesys: clouds.genesys.clone(),
            codes: wrapup_codes,
            capture,
            refetch: refetch_tx,
            resolver: resolver.clone(),
            store: store.clone(),
            sink: sink.clone(),
            clock: clock.clone(),
            trigger: config.pop.trigger,
            journal: journal_tx,
            carrier: carrier.clone(),
            inflight: tokio_util::task::TaskTracker::new(),
        };
        let housekeeping = Housekeeping {
            resolver: resolver.clone(),
            genesys: clouds.genesys.clone(),
            salesforce: clouds.salesforce.clone(),
            store: store.clone(),
            clock: clock.clone(),
            config,
            sink: sink.clone(),
            outbox: outbox.clone(),
        };
        let tasks = vec![
            tokio::spawn(processor.run(items_rx, refetch_rx)),
            tokio::spawn(housekeeping::watch_connection(
                connection.clone(),
                sink,
                store.clone(),
                clock,
                stop_rx.clone(),
            )),
            tokio::spawn(journal::write(store.clone(), journal_rx)),
            tokio::spawn(wrapup_sync.run(stop_rx.clone())),
            tokio::spawn(readback.run(stop_rx.clone())),
            tokio::spawn(housekeeping.run(stop_rx)),
        ];
        Ok(EngineHandle {
            feed: Some(feed),
            feed_tx: Some(items_tx),
            feed_state,
            feed_settings,
            clouds,
            pusher: Some(pusher),
            outbox,
            connection,
            tasks,
            stop,
            resolver,
            store,
            carrier,
        })
    }

    /// The connection state, to watch.
    pub fn connection(&self) -> watch::Receiver<ConnectionState> {
        self.connection.clone()
    }

    /// The resolver (for counters).
    pub fn resolver(&self) -> &Arc<Resolver> {
        &self.resolver
    }

    /// The store.
    pub fn store(&self) -> &Arc<Store> {
        &self.store
    }

    /// The outbox (queue list, retry, discard).
    pub fn outbox(&self) -> &Arc<Outbox> {
        &self.outbox
    }

    /// The pusher's state, to watch.
    pub fn pusher(&self) -> Option<tokio::sync::watch::Receiver<PusherState>> {
        self.pusher.as_ref().map(PusherHandle::state)
    }

    /// Tells the pusher to look for due rows now (after a Salesforce sign-in).
    pub fn wake_pusher(&self) {
        if let Some(p) = &self.pusher {
            p.wake();
        }
    }

    /// The agent signed in to Genesys again (the session already holds the new token): a feed that
    /// stopped for the sign-in starts again. Calls tracked so far, and everything queued, are kept.
    pub fn genesys_signed_in(&mut self) {
        if self.feed.as_ref().is_none_or(FeedHandle::is_finished)
            && let Some(tx) = &self.feed_tx
        {
            self.feed = Some(FeedHandle::start_with(
                self.clouds.genesys.clone(),
                self.feed_settings.clone(),
                tx.clone(),
                self.feed_state.clone(),
            ));
        }
    }

    /// The agent signed out of Genesys: the feed stops and says a sign-in is needed; tracked calls
    /// and queued work are kept for the next sign-in.
    pub async fn genesys_signed_out(&mut self) {
        if let Some(f) = self.feed.take() {
            f.stop().await;
        }
        self.feed_state.send_replace(ConnectionState::SignInRequired { reason: "signed out of Genesys Cloud".into() });
    }

    /// Sends what is queued now, without waiting for the batch window.
    pub fn flush_outbox(&self) {
        if let Some(p) = &self.pusher {
            p.flush();
        }
    }

    /// The agent picks the caller's record (picker, or manual search): the segment's record, remembered
    /// for the caller's number (`e164`, as the pop read it), carried on the conversation for the next
    /// agent, and the contact of the segment's disposition, also when it is already queued.
    pub fn pick(&self, interaction_id: &str, record_id: &str, e164: Option<&str>) -> Result<(), PickError> {
        let id = crate::salesforce::ids::to_id18(record_id)
            .ok_or_else(|| PickError::NotARecordId(record_id.chars().take(40).collect()))?;
        let now = self.resolver.clock_now();
        let customer = {
            let conn = self.store.background();
            let rows = Interactions::on(&conn);
            if !rows.link_record(interaction_id, &id, now)? {
                return Err(PickError::UnknownCall(interaction_id.to_string()));
            }
            rows.customer_of(interaction_id)?
        };
        if let Some(to) = customer {
            self.carrier.carry(to, id.clone());
        }
        if let Some(e164) = e164 {
            self.resolver.remember_choice(e164, &id);
        }
        // A disposition already queued (and not yet delivered) gets the contact too.
        if let Some(row) = self.outbox.get(interaction_id)?
            && matches!(row.state, RowState::Pending | RowState::NeedsAttention)
            && row.disposition.contact_id.as_deref() != Some(id.as_str())
        {
            self.outbox.enqueue(&Disposition { contact_id: Some(id), ..row.disposition })?;
        }
        Ok(())
    }

    /// The agent sets (or changes) the disposition of a call in the companion.
    pub fn set_disposition(&self, d: Disposition) -> Result<i64, OutboxError> {
        self.outbox.enqueue(&Disposition { source: DispositionSource::Agent, ..d })
    }

    /// Stops everything, bounded in time.
    pub async fn stop(mut self) {
        if let Some(f) = self.feed.take() {
            f.stop().await;
        }
        // The tracker's channel closes with the last sender.
        self.feed_tx.take();
        if let Some(p) = self.pusher.take() {
            p.stop().await;
        }
        let _ = self.stop.send(true);
        for t in self.tasks.drain(..) {
            // The processor and the journal end when the feed's channel closes.
            if tokio::time::timeout(Duration::from_secs(5), t).await.is_err() {
                tracing::warn!("an engine task did not stop in time");
            }
        }
        self.resolver.drain(Duration::from_secs(5)).await;
    }
}

impl Drop for EngineHandle {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}
