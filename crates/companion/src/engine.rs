//! The engine: feed → tracker → resolver → event sink, with the journal and the housekeeping. It owns
//! its tasks and outlives any window.

use crate::clock::SharedClock;
use crate::config::{Config, PopTrigger};
use crate::events::{EngineEvent, EventSink};
use crate::genesys::feed::{ConnectionState, FeedEvent, FeedHandle, FeedItem, FeedSettings, Source};
use crate::genesys::model::ConversationSnapshot;
use crate::genesys::rest::GenesysClient;
use crate::genesys::tracker::{Emitted, Tracker, Transition};
use crate::outbox::pusher::{PusherHandle, PusherState};
use crate::outbox::{Disposition, DispositionSource, Outbox, OutboxError};
use crate::phone::Normalized;
use crate::salesforce::SalesforceClient;
use crate::screenpop::cache::LookupCache;
use crate::screenpop::{CacheMode, PopRequest, Resolver};
use crate::store::{Store, StoreError};
use rusqlite::params;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::RwLock;
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

/// Signed-in clients of both clouds.
#[derive(Clone)]
pub struct Clouds {
    pub genesys: Arc<GenesysClient>,
    pub salesforce: Arc<SalesforceClient>,
    /// The agent's Genesys user id.
    pub user_id: String,
    /// When the Genesys sign-in expires (ms since the epoch), if Genesys said.
    pub genesys_expires_at_ms: Option<i64>,
}

/// Why signing in to the clouds failed.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("sign-in failed: {0}")]
    Auth(#[from] crate::auth::AuthError),
    #[error("{0}")]
    Genesys(#[from] crate::genesys::rest::GenesysError),
    #[error("Salesforce gave no instance URL and none is configured")]
    NoInstance,
    #[error("not signed in")]
    NotSignedIn,
}

/// A working Genesys sign-in.
#[derive(Clone)]
pub struct GenesysSession {
    pub client: Arc<GenesysClient>,
    /// The agent's Genesys user id.
    pub user_id: String,
    /// When the token expires (ms since the epoch), if Genesys said.
    pub expires_at_ms: Option<i64>,
}

/// One of the two clouds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cloud {
    Genesys,
    Salesforce,
}

impl Clouds {
    /// Signs out of a cloud: the token is revoked there, and forgotten here. Returns whether a kept
    /// sign-in was found.
    pub async fn sign_out(
        cfg: &Config,
        secrets: &dyn crate::secrets::SecretStore,
        cloud: Cloud,
    ) -> Result<bool, SignInError> {
        use crate::secrets::{key, load};
        let k = match cloud {
            Cloud::Genesys => key("genesys", &cfg.genesys.client_id, &cfg.genesys.login()),
            Cloud::Salesforce => key("salesforce", &cfg.salesforce.client_id, &cfg.salesforce.login_base),
        };
        let Some(kept) = load(secrets, &k).ok().flatten() else { return Ok(false) };
        match cloud {
            Cloud::Genesys => {
                if let Some(t) = kept.access_token {
                    let client = GenesysClient::new(reqwest::Client::new(), &cfg.genesys.api(), t);
                    match client.sign_out().await {
                        Ok(()) | Err(crate::genesys::rest::GenesysError::Unauthorized(_)) => {}
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            Cloud::Salesforce => {
                if let Some(t) = kept.refresh_token.or(kept.access_token) {
                    crate::auth::salesforce_revoke(&cfg.salesforce, &t).await?;
                }
            }
        }
        let _ = secrets.delete(&k);
        Ok(true)
    }

    /// Uses the kept sign-ins when they still work (a Genesys token not about to expire; a Salesforce
    /// refresh token that still refreshes), signs in through the browsers otherwise, and keeps the new
    /// sign-ins in `secrets`. A rotated Salesforce refresh token is kept at once.
    pub async fn connect(
        cfg: &Config,
        secrets: Arc<dyn crate::secrets::SecretStore>,
        genesys_browser: &impl crate::auth::Browser,
        salesforce_browser: &impl crate::auth::Browser,
    ) -> Result<Clouds, SignInError> {
        let g = Clouds::genesys(cfg, &secrets, Some(genesys_browser)).await?.ok_or(SignInError::NotSignedIn)?;
        let salesforce =
            Clouds::salesforce(cfg, &secrets, Some(salesforce_browser)).await?.ok_or(SignInError::NotSignedIn)?;
        Ok(Clouds { genesys: g.client, salesforce, user_id: g.user_id, genesys_expires_at_ms: g.expires_at_ms })
    }

    /// The Genesys half of [`Clouds::connect`]: the kept sign-in when it still works, else the browser
    /// (when one is given; `None` means "only if no one has to act").
    pub async fn genesys(
        cfg: &Config,
        secrets: &Arc<dyn crate::secrets::SecretStore>,
        browser: Option<&impl crate::auth::Browser>,
    ) -> Result<Option<GenesysSession>, SignInError> {
        use crate::secrets::{StoredSignIn, key, load, save};
        let now = chrono::Utc::now().timestamp_millis();
        let gkey = key("genesys", &cfg.genesys.client_id, &cfg.genesys.login());
        let kept = load(secrets.as_ref(), &gkey)
            .ok()
            .flatten()
            .filter(|s| s.access_token.is_some() && s.expires_at_ms.is_some_and(|e| e > now + 60_000));
        let (sign_in, fresh) = match (kept, browser) {
            (Some(s), _) => (s, false),
            (None, None) => return Ok(None),
            (None, Some(b)) => {
                let g = crate::auth::genesys(&cfg.genesys, b).await?;
                let s = StoredSignIn {
                    access_token: Some(g.access_token),
                    expires_at_ms: g.expires_in_secs.map(|e| now + e as i64 * 1000),
                    ..Default::default()
                };
                if let Err(e) = save(secrets.as_ref(), &gkey, &s) {
                    tracing::warn!(error = %e, "the Genesys sign-in could not be kept in the keychain");
                }
                (s, true)
            }
        };
        let client = Arc::new(GenesysClient::new(
            reqwest::Client::new(),
            &cfg.genesys.api(),
            sign_in.access_token.clone().unwrap_or_default(),
        ));
        match client.me().await {
            Ok((user_id, _)) => Ok(Some(GenesysSession { client, user_id, expires_at_ms: sign_in.expires_at_ms })),
            Err(e) if e.needs_sign_in() && !fresh => {
                // The kept token was revoked elsewhere: forget it and sign in again.
                let _ = secrets.delete(&gkey);
                Box::pin(Clouds::genesys(cfg, secrets, browser)).await
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The Salesforce half of [`Clouds::connect`]: the kept refresh token when it still refreshes,
    /// else the browser (when one is given).
    pub async fn salesforce(
        cfg: &Config,
        secrets: &Arc<dyn crate::secrets::SecretStore>,
        browser: Option<&impl crate::auth::Browser>,
    ) -> Result<Option<Arc<SalesforceClient>>, SignInError> {
        use crate::secrets::{StoredSignIn, key, load, save};
        let http = reqwest::Client::new();
        let skey = key("salesforce", &cfg.salesforce.client_id, &cfg.salesforce.login_base);
        let token_url = format!("{}/services/oauth2/token", cfg.salesforce.login_base.trim_end_matches('/'));
        let persist = {
            let (secrets, skey) = (secrets.clone(), skey.clone());
            Arc::new(move |rotated: &str| {
                if let Ok(Some(mut s)) = load(secrets.as_ref(), &skey) {
                    s.refresh_token = Some(rotated.to_string());
                    if let Err(e) = save(secrets.as_ref(), &skey, &s) {
                        tracing::warn!(error = %e, "the rotated Salesforce refresh token could not be kept");
                    }
                }
            }) as crate::salesforce::PersistRefreshToken
        };
        let refresh_with = |refresh_token: String| crate::salesforce::Refresh {
            token_url: token_url.clone(),
            client_id: cfg.salesforce.client_id.clone(),
            refresh_token: std::sync::Mutex::new(refresh_token),
            persist: Some(persist.clone()),
        };
        let kept = load(secrets.as_ref(), &skey)
            .ok()
            .flatten()
            .filter(|s| s.refresh_token.is_some() && s.instance_url.is_some());
        if let Some(s) = kept {
            let instance = cfg.salesforce.instance_url.clone().or(s.instance_url.clone()).unwrap_or_default();
            let client = SalesforceClient::new(http.clone(), &instance, &cfg.salesforce, String::new())
                .with_refresh(refresh_with(s.refresh_token.clone().unwrap_or_default()));
            if client.refresh_session().await.is_ok() {
                return Ok(Some(Arc::new(client)));
            }
            let _ = secrets.delete(&skey);
        }
        let Some(browser) = browser else { return Ok(None) };
        let s = crate::auth::salesforce(&cfg.salesforce, browser).await?;
        let instance = cfg.salesforce.instance_url.clone().or(s.instance_url.clone()).ok_or(SignInError::NoInstance)?;
        let mut client = SalesforceClient::new(http, &instance, &cfg.salesforce, s.access_token);
        if let Some(rt) = s.refresh_token {
            let kept = StoredSignIn {
                refresh_token: Some(rt.clone()),
                instance_url: Some(instance.clone()),
                ..Default::default()
            };
            if let Err(e) = save(secrets.as_ref(), &skey, &kept) {
                tracing::warn!(error = %e, "the Salesforce sign-in could not be kept in the keychain");
            }
            client = client.with_refresh(refresh_with(rt));
        }
        Ok(Some(Arc::new(client)))
    }

    /// Signs in to Genesys Cloud and Salesforce (each through its browser) and builds the clients.
    pub async fn sign_in(
        cfg: &Config,
        genesys_browser: &impl crate::auth::Browser,
        salesforce_browser: &impl crate::auth::Browser,
    ) -> Result<Clouds, SignInError> {
        let g = crate::auth::genesys(&cfg.genesys, genesys_browser).await?;
        let s = crate::auth::salesforce(&cfg.salesforce, salesforce_browser).await?;
        let http = reqwest::Client::new();
        let genesys = Arc::new(GenesysClient::new(http.clone(), &cfg.genesys.api(), g.access_token));
        let (user_id, _) = genesys.me().await?;
        let instance = cfg.salesforce.instance_url.clone().or(s.instance_url).ok_or(SignInError::NoInstance)?;
        let mut client = SalesforceClient::new(http, &instance, &cfg.salesforce, s.access_token);
        if let Some(refresh_token) = s.refresh_token {
            client = client.with_refresh(crate::salesforce::Refresh {
                token_url: format!("{}/services/oauth2/token", cfg.salesforce.login_base.trim_end_matches('/')),
                client_id: cfg.salesforce.client_id.clone(),
                refresh_token: std::sync::Mutex::new(refresh_token),
                persist: None,
            });
        }
        let genesys_expires_at_ms = g.expires_in_secs.map(|s| chrono::Utc::now().timestamp_millis() + s as i64 * 1000);
        Ok(Clouds { genesys, salesforce: Arc::new(client), user_id, genesys_expires_at_ms })
    }
}

/// What the engine needs to run.
pub struct EngineSetup {
    pub config: Arc<Config>,
    pub store: Arc<Store>,
    pub genesys: Arc<GenesysClient>,
    pub salesforce: Arc<SalesforceClient>,
    /// The signed-in agent's Genesys user id.
    pub user_id: String,
    pub sink: Arc<dyn EventSink>,
    pub clock: SharedClock,
    /// `Persistent` in the product; `Off` reproduces the seed design for comparisons.
    pub cache_mode: CacheMode,
    /// When the Genesys token expires (ms since the epoch), when known: the agent is warned ahead.
    pub genesys_expires_at_ms: Option<i64>,
}

/// Wrap-up code names by id, read from Genesys and refreshed when an unknown code shows up.
#[derive(Debug, Default)]
pub struct WrapupCodes {
    by_id: RwLock<HashMap<String, String>>,
    last_load_ms: std::sync::atomic::AtomicI64,
    /// One load at a time; the others wait for it and read its result.
    loading: tokio::sync::Mutex<()>,
}

impl WrapupCodes {
    /// The name for a code from an event: by id first, then as a name; unknown codes are kept as they are.
    pub async fn name_of(&self, genesys: &GenesysClient, code: &str, now_ms: i64) -> String {
        let lookup = |m: &HashMap<String, String>| {
            m.get(code).cloned().or_else(|| m.values().find(|n| n.as_str() == code).cloned())
        };
        if let Some(n) = lookup(&self.by_id.read().unwrap_or_else(|e| e.into_inner())) {
            return n;
        }
        // At most one reload a minute, however many unknown codes arrive.
        let _one_at_a_time = self.loading.lock().await;
        if let Some(n) = lookup(&self.by_id.read().unwrap_or_else(|e| e.into_inner())) {
            return n;
        }
        let last = self.last_load_ms.load(std::sync::atomic::Ordering::Relaxed);
        if last == 0 || now_ms - last >= 60_000 {
            self.last_load_ms.store(now_ms, std::sync::atomic::Ordering::Relaxed);
            match genesys.wrapup_codes().await {
                Ok(list) => *self.by_id.write().unwrap_or_else(|e| e.into_inner()) = list.into_iter().collect(),
                Err(e) => tracing::warn!(error = %e, "could not read the wrap-up codes"),
            }
            if let Some(n) = lookup(&self.by_id.read().unwrap_or_else(|e| e.into_inner())) {
                return n;
            }
        }
        code.to_string()
    }
}

impl EngineSetup {
    /// The usual setup for signed-in clouds: the wall clock and the persistent cache.
    pub fn new(config: Arc<Config>, store: Arc<Store>, clouds: Clouds, sink: Arc<dyn EventSink>) -> EngineSetup {
        EngineSetup {
            config,
            store,
            genesys: clouds.genesys,
            salesforce: clouds.salesforce,
            user_id: clouds.user_id,
            sink,
            clock: Arc::new(crate::clock::SystemClock),
            cache_mode: CacheMode::Persistent,
            genesys_expires_at_ms: clouds.genesys_expires_at_ms,
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
    genesys: Arc<GenesysClient>,
    genesys_expires_ms: Arc<std::sync::atomic::AtomicI64>,
    pusher: Option<PusherHandle>,
    outbox: Arc<Outbox>,
    connection: watch::Receiver<ConnectionState>,
    tasks: Vec<JoinHandle<()>>,
    stop: watch::Sender<bool>,
    resolver: Arc<Resolver>,
    store: Arc<Store>,
}

impl EngineHandle {
    /// Starts the feed and the engine's tasks.
    pub fn start(setup: EngineSetup) -> Result<EngineHandle, StoreError> {
        crate::phone::warm();
        let EngineSetup { config, store, genesys, salesforce, user_id, sink, clock, cache_mode, genesys_expires_at_ms } =
            setup;
        let genesys_expires_ms = Arc::new(std::sync::atomic::AtomicI64::new(genesys_expires_at_ms.unwrap_or(0)));
        let cache = LookupCache::new(store.clone(), config.cache.positive_ttl_secs, config.cache.negative_ttl_secs);
        let resolver =
            Arc::new(Resolver::new(cache, salesforce.clone(), config.clone(), clock.clone(), sink.clone(), cache_mode));
        let mut tracker = Tracker::new(user_id.clone());
        let retention_ms = config.store.journal_retention_hours as i64 * 3_600_000;
        {
            let conn = store.background();
            let mut stmt = conn.prepare("SELECT id, stage FROM conversation WHERE updated_ms > ?1")?;
            let rows =
                stmt.query_map([clock.now_ms() - retention_ms], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
            for row in rows {
                let (id, stage) = row?;
                if let Some(t) = Transition::from_stage(stage) {
                    tracker.restore(id, t);
                }
            }
        }
        let outbox = Arc::new(Outbox::new(store.clone(), clock.clone()));
        let pusher =
            PusherHandle::start(outbox.clone(), salesforce.clone(), config.clone(), clock.clone(), sink.clone());
        let (items_tx, items_rx) = mpsc::channel::<FeedEvent>(1024);
        let feed_settings = FeedSettings::from_config(&config.genesys, user_id);
        let feed_state = Arc::new(watch::channel(ConnectionState::Connecting).0);
        let feed = FeedHandle::start_with(genesys.clone(), feed_settings.clone(), items_tx.clone(), feed_state.clone());
        let connection = feed.state();
        let (stop, stop_rx) = watch::channel(false);
        let (journal_tx, journal_rx) = mpsc::unbounded_channel();
        let (refetch_tx, refetch_rx) = mpsc::channel::<FeedItem>(256);
        let processor = Processor {
            tracker,
            genesys: genesys.clone(),
            codes: Arc::new(WrapupCodes::default()),
            outbox: outbox.clone(),
            refetch: refetch_tx,
            resolver: resolver.clone(),
            store: store.clone(),
            sink: sink.clone(),
            clock: clock.clone(),
            trigger: config.pop.trigger,
            journal: journal_tx,
        };
        let sink_for_expiry = sink.clone();
        let tasks = vec![
            tokio::spawn(processor.run(items_rx, refetch_rx)),
            tokio::spawn(watch_connection(connection.clone(), sink, store.clone(), clock.clone(), stop_rx.clone())),
            tokio::spawn(write_journal(store.clone(), journal_rx)),
            tokio::spawn(housekeeping(
                resolver.clone(),
                salesforce.clone(),
                store.clone(),
                clock,
                config,
                stop_rx.clone(),
                (genesys_expires_ms.clone(), sink_for_expiry),
            )),
        ];
        Ok(EngineHandle {
            feed: Some(feed),
            feed_tx: Some(items_tx),
            feed_state,
            feed_settings,
            genesys,
            genesys_expires_ms,
            pusher: Some(pusher),
            outbox,
            connection,
            tasks,
            stop,
            resolver,
            store,
        })
    }

    /// The connection state, to watch.
    pub fn connection(&self) -> watch::Receiver<ConnectionState> {
        self.connection.clone()
    }

    /// The resolver (for the agent's picks and counters).
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

    /// Tells the pusher to look for due rows now (after a sign-in or a retry).
    pub fn wake_pusher(&self) {
        if let Some(p) = &self.pusher {
            p.wake();
        }
    }

    /// The agent signed in to Genesys again: the new token is used at once, and a feed that stopped
    /// for the sign-in starts again. Calls tracked so far, and everything queued, are kept.
    pub fn genesys_signed_in(&mut self, access_token: String, expires_at_ms: Option<i64>) {
        self.genesys.set_token(access_token);
        self.genesys_expires_ms.store(expires_at_ms.unwrap_or(0), std::sync::atomic::Ordering::Relaxed);
        if self.feed.as_ref().is_none_or(FeedHandle::is_finished)
            && let Some(tx) = &self.feed_tx
        {
            self.feed = Some(FeedHandle::start_with(
                self.genesys.clone(),
                self.feed_settings.clone(),
                tx.clone(),
                self.feed_state.clone(),
            ));
        }
    }

    /// The agent signed out of Genesys: the feed stops and says a sign-in is needed; tracked calls
    /// and queued work are kept for the next sign-in.
    pub async fn genesys_signed_out(&mut self) {
        self.genesys.set_token(String::new());
        if let Some(f) = self.feed.take() {
            f.stop().await;
        }
        self.feed_state.send_replace(ConnectionState::SignInRequired { reason: "signed out of Genesys Cloud".into() });
    }

    /// A new Genesys sign-in from the desk: as [`EngineHandle::genesys_signed_in`].
    pub fn genesys_renewed(&mut self, s: &GenesysSession) {
        self.genesys_signed_in(s.client.token(), s.expires_at_ms);
    }

    /// A new Salesforce sign-in from the desk: its session replaces the old one everywhere.
    pub fn salesforce_renewed(&self, newer: &SalesforceClient) {
        self.resolver.salesforce().adopt(newer);
        self.wake_pusher();
    }

    /// Sends what is queued now, without waiting for the batch window.
    pub fn flush_outbox(&self) {
        if let Some(p) = &self.pusher {
            p.flush();
        }
    }

    /// The agent picks the caller's record (picker, or manual search): remembered for the number, and
    /// the contact of the call's disposition, also when it is already queued.
    pub fn pick(&self, conversation_id: &str, record_id: &str) -> Result<(), PickError> {
        let id = crate::salesforce::ids::to_id18(record_id)
            .ok_or_else(|| PickError::NotARecordId(record_id.chars().take(40).collect()))?;
        let ani: Option<String> = self
            .store
            .background()
            .query_row("SELECT ani FROM conversation WHERE id = ?1", [conversation_id], |r| r.get(0))
            .map_err(|_| PickError::UnknownCall(conversation_id.to_string()))?;
        let now = self.resolver.clock_now();
        self.store.background().execute(
            "UPDATE conversation SET pop_record = ?2, updated_ms = ?3 WHERE id = ?1",
            params![conversation_id, id, now],
        )?;
        if let Some(Normalized::E164(e164)) =
            ani.as_deref().map(|a| crate::phone::normalize(a, self.resolver.country()))
        {
            self.resolver.remember_choice(&e164, &id);
        }
        // A disposition already queued (and not yet delivered) gets the contact too.
        if let Some(row) = self.outbox.get(conversation_id)?
            && matches!(row.state, crate::outbox::RowState::Pending | crate::outbox::RowState::NeedsAttention)
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
    }
}

impl Drop for EngineHandle {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

struct Processor {
    tracker: Tracker,
    genesys: Arc<GenesysClient>,
    codes: Arc<WrapupCodes>,
    outbox: Arc<Outbox>,
    /// Conversations fetched one by one after a reconnect come back here.
    refetch: mpsc::Sender<FeedItem>,
    resolver: Arc<Resolver>,
    store: Arc<Store>,
    sink: Arc<dyn EventSink>,
    clock: SharedClock,
    trigger: PopTrigger,
    journal: mpsc::UnboundedSender<(i64, String, String)>,
}

impl Processor {
    async fn run(mut self, mut feed: mpsc::Receiver<FeedEvent>, mut refetched: mpsc::Receiver<FeedItem>) {
        loop {
            tokio::select! {
                event = feed.recv() => match event {
                    Some(FeedEvent::Snapshot(item)) => self.snapshot(item),
                    Some(FeedEvent::CaughtUp { active }) => self.fetch_ended(&active),
                    None => return,
                },
                Some(item) = refetched.recv() => self.snapshot(item),
            }
        }
    }

    /// A tracked call that is not active any more ended while the socket was down: read its final
    /// state, so that its last transitions (the wrap-up above all) are not lost.
    fn fetch_ended(&mut self, active: &[String]) {
        let ended: Vec<String> = self.tracker.open().into_iter().filter(|id| !active.contains(id)).take(200).collect();
        for id in ended {
            let (genesys, tx) = (self.genesys.clone(), self.refetch.clone());
            self.tracker.close(&id);
            tokio::spawn(async move {
                match genesys.conversation(&id).await {
                    Ok(Some(body)) => {
                        let _ = tx
                            .send(FeedItem {
                                body,
                                received: std::time::Instant::now(),
                                source: Source::CatchUp,
                                raw: None,
                            })
                            .await;
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "could not read an ended conversation"),
                }
            });
        }
    }

    fn snapshot(&mut self, item: FeedItem) {
        let snap: ConversationSnapshot = match serde_json::from_value(item.body) {
            Ok(s) => s,
            Err(e) => {
                self.sink.emit(&EngineEvent::Problem {
                    code: "MALFORMED_EVENT",
                    message: format!("ignored a conversation event that could not be read: {e}"),
                });
                return;
            }
        };
        if let (Some(raw), Source::Socket) = (item.raw, item.source) {
            let _ = self.journal.send((self.clock.now_ms(), snap.id.clone(), raw));
        }
        for e in self.tracker.observe(&snap) {
            self.announce(&e, item.received);
        }
    }

    fn announce(&self, e: &Emitted, received: std::time::Instant) {
        let v = &e.view;
        self.sink.emit(&EngineEvent::Call {
            conversation_id: v.conversation_id.clone(),
            transition: e.transition,
            ani: v.ani.clone(),
            inferred: e.inferred,
        });
        let pops = match self.trigger {
            PopTrigger::Alerting => e.transition == Transition::Alerting,
            PopTrigger::Connected => e.transition == Transition::Connected,
        };
        if pops {
            let req = PopRequest {
                conversation_id: v.conversation_id.clone(),
                ani: v.ani.clone(),
                attributes: v.attributes.clone(),
                received,
            };
            let (resolver, sink, store, clock) =
                (self.resolver.clone(), self.sink.clone(), self.store.clone(), self.clock.clone());
            tokio::spawn(async move {
                let decision = resolver.resolve(req).await;
                // Ids and outcomes only: no numbers or names in the logs.
                tracing::info!(conversation = %decision.conversation_id, outcome = decision.outcome.label(), elapsed_us = decision.elapsed_us, "pop");
                sink.emit(&EngineEvent::Pop(Box::new(decision.clone())));
                let record = match &decision.outcome {
                    crate::screenpop::PopOutcome::Single { candidate } => Some(candidate.id.clone()),
                    crate::screenpop::PopOutcome::Attribute { record_id, .. } => Some(record_id.clone()),
                    _ => None,
                };
                // An upsert: the stage's own write may not have happened yet. Off the async workers.
                let _ = tokio::task::spawn_blocking(move || {
                    let r = store.background().execute(
                        "INSERT INTO conversation(id, stage, first_seen_ms, updated_ms, pop_outcome, pop_record, pop_us) VALUES (?1, 1, ?4, ?4, ?2, ?3, ?5)
                         ON CONFLICT(id) DO UPDATE SET pop_outcome = excluded.pop_outcome, pop_record = excluded.pop_record, pop_us = excluded.pop_us, updated_ms = excluded.updated_ms",
                        params![decision.conversation_id, decision.outcome.label(), record, clock.now_ms(), decision.elapsed_us as i64],
                    );
                    if let Err(e) = r {
                        tracing::warn!(error = %e, "could not record the pop");
                    }
                })
                .await;
            });
        }
        // After the pop has started, and off the async workers, so the pop never waits for this write.
        let (store, now) = (self.store.clone(), self.clock.now_ms());
        let (id, stage, ani, participant) =
            (v.conversation_id.clone(), e.transition as i64, v.ani.clone(), v.agent_participant_id.clone());
        let wrapped = e.transition == Transition::WrapupSubmitted;
        let stage_written = tokio::task::spawn_blocking(move || {
            let r = store.background().execute(
                "INSERT INTO conversation(id, stage, ani, participant_id, first_seen_ms, updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?5)
                 ON CONFLICT(id) DO UPDATE SET stage = max(stage, excluded.stage), ani = coalesce(ani, excluded.ani),
                   participant_id = excluded.participant_id, updated_ms = excluded.updated_ms",
                params![id, stage, ani, participant, now],
            );
            if let Err(err) = r {
                tracing::warn!(error = %err, "could not record the call's stage");
            }
        });
        if wrapped {
            // The disposition reads the pop's record: let the stage land first.
            self.capture(v, Some(stage_written));
        }
    }
}

impl Processor {
    /// Queues the wrap-up submitted in Genesys: the code's name, the notes, the caller's record.
    fn capture(&self, v: &crate::genesys::tracker::CallView, after: Option<tokio::task::JoinHandle<()>>) {
        let Some(w) = v.wrapup.clone() else { return };
        let (genesys, codes, outbox, store, sink, clock) = (
            self.genesys.clone(),
            self.codes.clone(),
            self.outbox.clone(),
            self.store.clone(),
            self.sink.clone(),
            self.clock.clone(),
        );
        let conversation_id = v.conversation_id.clone();
        tokio::spawn(async move {
            if let Some(a) = after {
                let _ = a.await;
            }
            let code = codes.name_of(&genesys, w.code.as_deref().unwrap_or(""), clock.now_ms()).await;
            let timestamp = w.end_time.clone().unwrap_or_else(|| {
                chrono::DateTime::from_timestamp_millis(clock.now_ms())
                    .unwrap_or_default()
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
            });
            let d = Disposition {
                conversation_id: conversation_id.clone(),
                code: if code.is_empty() { "Unspecified".into() } else { code.clone() },
                reason: w.notes.unwrap_or_default(),
                timestamp,
                duration_secs: w.duration_seconds,
                contact_id: None,
                account_id: None,
                agent_extension: None,
                source: DispositionSource::Genesys,
            };
            // The caller's record (from the pop or the agent's pick), then the durable write: both off
            // the async workers, so no pop waits behind a disk sync.
            let queued = {
                let (outbox, d) = (outbox.clone(), d.clone());
                tokio::task::spawn_blocking(move || {
                    let contact_id: Option<String> = store
                        .background()
                        .query_row("SELECT pop_record FROM conversation WHERE id = ?1", [&d.conversation_id], |r| {
                            r.get(0)
                        })
                        .ok()
                        .flatten();
                    outbox.enqueue(&Disposition { contact_id, ..d })
                })
                .await
            };
            match queued.unwrap_or(Err(OutboxError::Incomplete)) {
                Ok(version) => sink.emit(&EngineEvent::DispositionQueued { conversation_id, code: d.code, version }),
                Err(e) => sink.emit(&EngineEvent::Problem {
                    code: "DISPOSITION_NOT_QUEUED",
                    message: format!("the wrap-up of {conversation_id} could not be queued: {e}"),
                }),
            }
        });
    }
}

async fn watch_connection(
    mut rx: watch::Receiver<ConnectionState>,
    sink: Arc<dyn EventSink>,
    store: Arc<Store>,
    clock: SharedClock,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let state = rx.borrow_and_update().clone();
        tracing::info!(?state, "notification feed");
        sink.emit(&EngineEvent::Connection { state: state.clone() });
        if let Ok(json) = serde_json::to_string(&state) {
            let _ = store.set_status("connection", &json, clock.now_ms());
        }
        tokio::select! {
            changed = rx.changed() => if changed.is_err() { return },
            _ = stop.changed() => {
                // The feed's last word (stopped) may still be on its way.
                let state = rx.borrow().clone();
                if let Ok(json) = serde_json::to_string(&state) {
                    let _ = store.set_status("connection", &json, clock.now_ms());
                }
                return;
            }
        }
    }
}

/// Writes raw frames in small batches, off the pop's path.
async fn write_journal(store: Arc<Store>, mut rx: mpsc::UnboundedReceiver<(i64, String, String)>) {
    let mut batch = Vec::with_capacity(64);
    while rx.recv_many(&mut batch, 256).await > 0 {
        let (store, frames) = (store.clone(), std::mem::take(&mut batch));
        let written = tokio::task::spawn_blocking(move || {
            let mut conn = store.background();
            let tx = conn.transaction()?;
            {
                let mut stmt =
                    tx.prepare_cached("INSERT INTO journal(received_ms, conversation_id, frame) VALUES (?1, ?2, ?3)")?;
                for (ms, id, frame) in &frames {
                    stmt.execute(params![ms, id, frame])?;
                }
            }
            tx.commit()
        })
        .await;
        if let Ok(Err(e)) = written {
            tracing::warn!(error = %e, "journal write failed");
        }
    }
}

/// Purges expired cache entries, old journal frames and old conversations on schedule.
async fn housekeeping(
    resolver: Arc<Resolver>,
    salesforce: Arc<SalesforceClient>,
    store: Arc<Store>,
    clock: SharedClock,
    config: Arc<Config>,
    mut stop: watch::Receiver<bool>,
    (genesys_expires_ms, sink): (Arc<std::sync::atomic::AtomicI64>, Arc<dyn EventSink>),
) {
    let mut warned_for = 0i64;
    let purge_every = config.cache.purge_interval_secs as i64 * 1000;
    let retention_ms = config.store.journal_retention_hours as i64 * 3_600_000;
    let mut last_purge = i64::MIN / 2;
    loop {
        let now = clock.now_ms();
        // Genesys gives a desktop app no refresh token: say so before the sign-in runs out.
        let expires = genesys_expires_ms.load(std::sync::atomic::Ordering::Relaxed);
        let warn_before = config.genesys.sign_in_warning_secs as i64 * 1000;
        if expires > 0 && expires != warned_for && expires - now <= warn_before {
            warned_for = expires;
            sink.emit(&EngineEvent::SignInSoon {
                cloud: "genesys",
                expires_in_secs: ((expires - now).max(0) / 1000) as u64,
            });
        }
        let (resolver2, salesforce2, store2) = (resolver.clone(), salesforce.clone(), store.clone());
        let purge_now = now - last_purge >= purge_every;
        if purge_now {
            last_purge = now;
        }
        // Off the async workers: a purge can delete many rows.
        let result = tokio::task::spawn_blocking(move || {
            if purge_now {
                purge(&resolver2, &store2, now, retention_ms)?;
            }
            record_stats(&resolver2, &salesforce2, &store2, now)
        })
        .await;
        if let Ok(Err(e)) = result {
            tracing::warn!(error = %e, "housekeeping failed");
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(30)) => {}
            _ = stop.changed() => {
                let _ = record_stats(&resolver, &salesforce, &store, clock.now_ms());
                return;
            }
        }
    }
}

/// Counters for the status snapshot: cache hits and misses, the org's API usage last seen.
fn record_stats(resolver: &Resolver, salesforce: &SalesforceClient, store: &Store, now: i64) -> Result<(), StoreError> {
    use std::sync::atomic::Ordering::Relaxed;
    let (hits, misses) = (resolver.stats.hits.load(Relaxed), resolver.stats.misses.load(Relaxed));
    store.set_status("cache_stats", &format!("{{\"hits\":{hits},\"misses\":{misses}}}"), now)?;
    let (used, max) = salesforce.api_usage();
    if max > 0 {
        store.set_status("api_usage", &format!("{{\"used\":{used},\"max\":{max}}}"), now)?;
    }
    Ok(())
}

/// One housekeeping pass; returns (cache entries, journal frames) removed.
pub fn purge(resolver: &Resolver, store: &Store, now_ms: i64, retention_ms: i64) -> Result<(usize, usize), StoreError> {
    let cache = resolver.cache().purge_expired(now_ms)?;
    let conn = store.background();
    let journal = conn.execute("DELETE FROM journal WHERE received_ms < ?1", [now_ms - retention_ms])?;
    conn.execute("DELETE FROM conversation WHERE updated_ms < ?1", [now_ms - retention_ms])?;
    Ok((cache, journal))
}
