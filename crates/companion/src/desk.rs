//! The agent's desk: everything the desktop window shows and does, with no window. The Tauri shell
//! forwards each command here in a line or two and emits [`DeskEvent`]s to the webview; tests drive
//! the same API directly.
//!
//! The desk signs in to each cloud on request (the system browser, or the simulator approving at once
//! in the demo), starts the engine as soon as both are signed in, keeps the calls of this session for
//! the call card and the picker, and turns every failure into a [`DeskError`] with a stable code and
//! a sentence for people.

use crate::auth::{Browser, Callback, FollowRedirect, SystemBrowser};
use crate::config::{self, LoadedConfig};
use crate::engine::{Cloud, Clouds, EngineHandle, EngineSetup, GenesysSession, PickError, SignInError};
use crate::events::{EngineEvent, EventSink};
use crate::genesys::feed::ConnectionState;
use crate::genesys::tracker::Transition;
use crate::history::HistoryRow;
use crate::outbox::{Disposition, DispositionSource, Outbox, OutboxError, OutboxRow, RowState};
use crate::salesforce::SalesforceClient;
use crate::salesforce::links::{self, LinkError};
use crate::screenpop::manual::{self, ManualSearchError};
use crate::screenpop::{Candidate, PopDecision, PopOutcome};
use crate::secrets::{SecretStore, SecretStoreKind};
use crate::status::StatusSnapshot;
use crate::store::{DbFile, Store, StoreError};
use crate::updates::{self, Release};
use serde::Serialize;
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How many calls the desk keeps for the window.
const BOARD_CALLS: usize = 30;
/// The longest note a wrap-up takes (the org's field holds more; a call note this long is a mistake).
pub const MAX_NOTES: usize = 4000;

/// A failure the window shows: a stable `code` for the UI and a sentence for the agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{message}")]
pub struct DeskError {
    pub code: &'static str,
    pub message: String,
}

impl DeskError {
    /// An error with a code and a sentence.
    pub fn new(code: &'static str, message: impl Into<String>) -> DeskError {
        DeskError { code, message: message.into() }
    }
}

impl From<SignInError> for DeskError {
    fn from(e: SignInError) -> Self {
        let code = match &e {
            SignInError::Auth(crate::auth::AuthError::Browser(_)) => "SIGN_IN_INCOMPLETE",
            SignInError::Auth(crate::auth::AuthError::Refused(_)) => "SIGN_IN_REFUSED",
            SignInError::Genesys(g) if !g.needs_sign_in() => "GENESYS_UNREACHABLE",
            _ => "SIGN_IN_FAILED",
        };
        DeskError::new(code, e.to_string())
    }
}

impl From<StoreError> for DeskError {
    fn from(e: StoreError) -> Self {
        DeskError::new("LOCAL_STORE", format!("the local database failed: {e}"))
    }
}

impl From<OutboxError> for DeskError {
    fn from(e: OutboxError) -> Self {
        let code = match e {
            OutboxError::NotFound(_) => "NOT_FOUND",
            OutboxError::WrongState { .. } => "WRONG_STATE",
            OutboxError::Incomplete => "INCOMPLETE",
            OutboxError::Store(_) => "LOCAL_STORE",
        };
        DeskError::new(code, e.to_string())
    }
}

impl From<PickError> for DeskError {
    fn from(e: PickError) -> Self {
        let code = match e {
            PickError::NotARecordId(_) => "BAD_RECORD_ID",
            PickError::UnknownCall(_) => "UNKNOWN_CALL",
            PickError::Store(_) | PickError::Outbox(_) => "LOCAL_STORE",
        };
        DeskError::new(code, e.to_string())
    }
}

impl From<LinkError> for DeskError {
    fn from(e: LinkError) -> Self {
        let code = match e {
            LinkError::NotARecordId(_) => "BAD_RECORD_ID",
            LinkError::NotHttps(_) | LinkError::BadHost(_) => "OPEN_REFUSED",
        };
        DeskError::new(code, e.to_string())
    }
}

impl From<ManualSearchError> for DeskError {
    fn from(e: ManualSearchError) -> Self {
        let code = match &e {
            ManualSearchError::TooShort | ManualSearchError::TooLong => "BAD_SEARCH",
            ManualSearchError::Salesforce(sf) => match sf.kind {
                crate::salesforce::errors::SfErrorKind::Session => "SALESFORCE_SIGN_IN",
                _ => "SALESFORCE_UNAVAILABLE",
            },
        };
        DeskError::new(code, e.to_string())
    }
}

/// Where the sign-in pages open.
#[derive(Debug, Clone)]
pub enum DeskBrowser {
    /// The system browser, with a loopback listener on each cloud's redirect URI.
    System { timeout: Duration },
    /// The simulator's sign-in pages approve at once: following the redirect is the whole sign-in.
    Simulator,
}

struct OneBrowser<'a>(&'a DeskBrowser, String);

impl Browser for OneBrowser<'_> {
    async fn authorize(&self, url: &reqwest::Url) -> Result<Callback, crate::auth::AuthError> {
        match self.0 {
            DeskBrowser::System { timeout } => {
                SystemBrowser { redirect_uri: self.1.clone(), timeout: *timeout }.authorize(url).await
            }
            DeskBrowser::Simulator => FollowRedirect(crate::auth::oauth_http()).authorize(url).await,
        }
    }
}

/// A cloud's sign-in as the window shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SignInState {
    SignedOut,
    SigningIn,
    SignedIn,
}

/// A disposition as the call card shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DispositionView {
    pub code: String,
    pub reason: String,
    pub record_id: Option<String>,
    /// `pending` ("queued"), `delivered` ("in Salesforce"), `needs_attention`, `discarded`.
    pub state: RowState,
}

/// One call of this session, as the card and the picker show it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallCard {
    pub conversation_id: String,
    pub ani: String,
    pub stage: Option<Transition>,
    pub pop: Option<PopDecision>,
    /// The record the agent picked (picker or manual search).
    pub chosen: Option<Candidate>,
    /// "Decide later": the picker was dismissed without a choice.
    pub deferred: bool,
    pub disposition: Option<DispositionView>,
}

/// What the window starts from; events keep it current.
#[derive(Debug, Clone, Serialize)]
pub struct DeskSnapshot {
    /// Running against the embedded simulator.
    pub demo: bool,
    pub genesys: SignInState,
    pub salesforce: SignInState,
    /// When the Genesys sign-in runs out (ms since the epoch), if known.
    pub genesys_expires_at_ms: Option<i64>,
    pub connection: ConnectionState,
    pub secrets: SecretStoreKind,
    /// Newest first.
    pub calls: Vec<CallCard>,
    /// The wrap-up codes the form offers.
    pub wrapup_codes: Vec<String>,
    /// Settings as IT and the user left them.
    pub settings: Vec<SettingView>,
    /// This program's version.
    pub version: &'static str,
    /// A newer release, when the feed announced one (never while IT turned notices off).
    pub update: Option<Release>,
}

/// One setting, with where it came from and whether IT locked it.
#[derive(Debug, Clone, Serialize)]
pub struct SettingView {
    pub key: String,
    pub value: String,
    pub layer: config::Layer,
    pub locked: bool,
}

/// The Sync view: the status snapshot and the parked dispositions.
#[derive(Debug, Clone, Serialize)]
pub struct SyncView {
    pub status: StatusSnapshot,
    pub attention: Vec<OutboxRow>,
    pub pending: Vec<OutboxRow>,
}

/// What the desk tells the window: `{"kind": "engine", "event": …}` (the engine's own events),
/// `{"kind": "card", …}`, `{"kind": "sign_in", …}`.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeskEvent {
    /// An engine event, as it happened.
    Engine(EngineEvent),
    /// A call card changed.
    Card(Box<CallCard>),
    /// A sign-in changed.
    SignIn { cloud: Cloud, state: SignInState },
    /// The agent retried or discarded a queued disposition.
    OutboxChanged { conversation_id: String },
    /// The release feed announced a newer version.
    UpdateAvailable(Release),
}

/// Where the desk's events go (the Tauri shell emits them to the webview).
pub trait DeskSink: Send + Sync {
    /// Delivers one event; must not block.
    fn emit(&self, event: &DeskEvent);
}

/// The calls of this session, kept from the engine's events.
struct Board {
    calls: Mutex<VecDeque<CallCard>>,
    out: Arc<dyn DeskSink>,
    /// The store's outbox, readable with or without a running engine.
    outbox: Arc<Outbox>,
}

impl Board {
    fn update(&self, id: &str, ani: Option<&str>, f: impl FnOnce(&mut CallCard)) -> CallCard {
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        let idx = match calls.iter().position(|c| c.conversation_id == id) {
            Some(i) => i,
            None => {
                calls.push_front(CallCard {
                    conversation_id: id.to_string(),
                    ani: ani.unwrap_or_default().to_string(),
                    stage: None,
                    pop: None,
                    chosen: None,
                    deferred: false,
                    disposition: None,
                });
                calls.truncate(BOARD_CALLS);
                0
            }
        };
        let card = &mut calls[idx];
        if card.ani.is_empty()
            && let Some(a) = ani
        {
            card.ani = a.to_string();
        }
        f(card);
        card.clone()
    }

    fn get(&self, id: &str) -> Option<CallCard> {
        self.calls.lock().unwrap_or_else(|e| e.into_inner()).iter().find(|c| c.conversation_id == id).cloned()
    }

    fn card_changed(&self, card: &CallCard) {
        self.out.emit(&DeskEvent::Card(Box::new(card.clone())));
    }
}

impl EventSink for Board {
    fn emit(&self, event: &EngineEvent) {
        self.out.emit(&DeskEvent::Engine(event.clone()));
        let card = match event {
            EngineEvent::Call { conversation_id, transition, ani, .. } => {
                Some(self.update(conversation_id, Some(ani), |c| {
                    c.stage = Some(c.stage.map_or(*transition, |s| s.max(*transition)))
                }))
            }
            EngineEvent::Pop(d) => Some(self.update(&d.conversation_id, None, |c| c.pop = Some((**d).clone()))),
            EngineEvent::DispositionQueued { conversation_id, .. }
            | EngineEvent::DispositionDelivered { conversation_id, .. } => {
                let row = self.outbox.get(conversation_id).ok().flatten();
                let delivered = matches!(event, EngineEvent::DispositionDelivered { .. });
                Some(self.update(conversation_id, None, |c| {
                    if let Some(r) = row {
                        c.disposition = Some(DispositionView {
                            code: r.disposition.code,
                            reason: r.disposition.reason,
                            record_id: r.disposition.contact_id,
                            state: if delivered { RowState::Delivered } else { r.state },
                        });
                    }
                }))
            }
            _ => None,
        };
        if let Some(card) = card {
            self.card_changed(&card);
        }
    }
}

/// How the desk starts.
#[derive(Debug, Clone)]
pub struct DeskOptions {
    /// The configuration in force.
    pub loaded: LoadedConfig,
    pub browser: DeskBrowser,
    /// Sign in with kept sign-ins at start (never opens a browser by itself).
    pub resume: bool,
}

struct Clients {
    engine: Option<EngineHandle>,
    genesys: Option<GenesysSession>,
    salesforce: Option<Arc<SalesforceClient>>,
    genesys_state: SignInState,
    salesforce_state: SignInState,
    wrapup_codes: Vec<String>,
}

/// The running desk.
pub struct DeskHandle {
    loaded: LoadedConfig,
    config: Arc<config::Config>,
    store: Arc<Store>,
    secrets: Arc<dyn SecretStore>,
    browser: DeskBrowser,
    board: Arc<Board>,
    clients: tokio::sync::Mutex<Clients>,
    /// Records the agent's searches offered, so a pick from them is known.
    searched: Mutex<Vec<Candidate>>,
    demo: bool,
    /// The newest release the feed announced, and the task reading the feed.
    update: Arc<Mutex<Option<Release>>>,
    update_checks: Option<tokio::task::JoinHandle<()>>,
}

impl DeskHandle {
    /// Opens the store and, when asked, resumes kept sign-ins (starting the engine if both work).
    pub async fn start(
        opts: DeskOptions,
        secrets: Arc<dyn SecretStore>,
        out: Arc<dyn DeskSink>,
    ) -> Result<DeskHandle, DeskError> {
        let config = Arc::new(opts.loaded.config.clone());
        let path = config.store.path.clone().unwrap_or_else(crate::store::default_path);
        let key_secrets = secrets.clone();
        let store = Arc::new(DbFile::configured(&path, config.store.encrypt, || key_secrets)?.open()?);
        let outbox = Arc::new(Outbox::new(store.clone(), Arc::new(crate::clock::SystemClock)));
        let board = Arc::new(Board { calls: Mutex::new(VecDeque::new()), out, outbox });
        let wrapup_codes = config.disposition.code_map.keys().cloned().collect();
        let update = Arc::new(Mutex::new(None));
        let update_checks = spawn_update_checks(&config.updates, update.clone(), board.out.clone());
        let desk = DeskHandle {
            update,
            update_checks,
            demo: matches!(opts.browser, DeskBrowser::Simulator),
            loaded: opts.loaded,
            config,
            store,
            secrets,
            browser: opts.browser,
            board,
            searched: Mutex::new(vec![]),
            clients: tokio::sync::Mutex::new(Clients {
                engine: None,
                genesys: None,
                salesforce: None,
                genesys_state: SignInState::SignedOut,
                salesforce_state: SignInState::SignedOut,
                wrapup_codes,
            }),
        };
        if opts.resume {
            for cloud in [Cloud::Genesys, Cloud::Salesforce] {
                if let Err(e) = desk.connect(cloud, false).await {
                    tracing::warn!(error = %e, ?cloud, "a kept sign-in could not be used");
                }
            }
        }
        Ok(desk)
    }

    /// Signs in to a cloud through the browser (or resumes its kept sign-in).
    pub async fn sign_in(&self, cloud: Cloud) -> Result<SignInState, DeskError> {
        self.connect(cloud, true).await
    }

    async fn connect(&self, cloud: Cloud, interactive: bool) -> Result<SignInState, DeskError> {
        self.set_state(cloud, SignInState::SigningIn).await;
        let result = self.connect_inner(cloud, interactive).await;
        let state = match &result {
            Ok(true) => SignInState::SignedIn,
            _ => {
                let c = self.clients.lock().await;
                let signed = match cloud {
                    Cloud::Genesys => c.genesys.is_some(),
                    Cloud::Salesforce => c.salesforce.is_some(),
                };
                if signed { SignInState::SignedIn } else { SignInState::SignedOut }
            }
        };
        self.set_state(cloud, state).await;
        result.map(|_| state)
    }

    async fn connect_inner(&self, cloud: Cloud, interactive: bool) -> Result<bool, DeskError> {
        let redirect = match cloud {
            Cloud::Genesys => self.config.genesys.redirect_uri.clone(),
            Cloud::Salesforce => self.config.salesforce.redirect_uri.clone(),
        };
        let browser = OneBrowser(&self.browser, redirect);
        let browser = interactive.then_some(&browser);
        match cloud {
            Cloud::Genesys => {
                let Some(session) = Clouds::genesys(&self.config, &self.secrets, browser).await? else {
                    return Ok(false);
                };
                let codes = session.client.wrapup_codes().await.ok();
                let mut c = self.clients.lock().await;
                if let Some(codes) = codes.filter(|c| !c.is_empty()) {
                    let mut names: Vec<String> = codes.into_iter().map(|(_, n)| n).collect();
                    names.sort();
                    names.dedup();
                    c.wrapup_codes = names;
                }
                if let Some(e) = c.engine.as_mut() {
                    e.genesys_renewed(&session);
                }
                c.genesys = Some(session);
            }
            Cloud::Salesforce => {
                let Some(client) = Clouds::salesforce(&self.config, &self.secrets, browser).await? else {
                    return Ok(false);
                };
                let mut c = self.clients.lock().await;
                // A running engine keeps its client; it takes the new session over.
                if let Some(e) = &c.engine {
                    e.salesforce_renewed(&client);
                }
                c.salesforce = Some(client);
            }
        }
        self.ensure_engine().await?;
        Ok(true)
    }

    async fn ensure_engine(&self) -> Result<(), DeskError> {
        let mut c = self.clients.lock().await;
        if c.engine.is_some() {
            return Ok(());
        }
        let (Some(g), Some(s)) = (c.genesys.clone(), c.salesforce.clone()) else { return Ok(()) };
        let clouds =
            Clouds { genesys: g.client, salesforce: s, user_id: g.user_id, genesys_expires_at_ms: g.expires_at_ms };
        let engine =
            EngineHandle::start(EngineSetup::new(self.config.clone(), self.store.clone(), clouds, self.board.clone()))?;
        c.engine = Some(engine);
        Ok(())
    }

    async fn set_state(&self, cloud: Cloud, state: SignInState) {
        let mut c = self.clients.lock().await;
        let slot = match cloud {
            Cloud::Genesys => &mut c.genesys_state,
            Cloud::Salesforce => &mut c.salesforce_state,
        };
        if *slot != state {
            *slot = state;
            self.board.out.emit(&DeskEvent::SignIn { cloud, state });
        }
    }

    /// Signs out of a cloud: revoked there, forgotten here. Queued work stays queued.
    pub async fn sign_out(&self, cloud: Cloud) -> Result<SignInState, DeskError> {
        Clouds::sign_out(&self.config, self.secrets.as_ref(), cloud).await?;
        {
            let mut c = self.clients.lock().await;
            match cloud {
                Cloud::Genesys => {
                    c.genesys = None;
                    if let Some(e) = c.engine.as_mut() {
                        e.genesys_signed_out().await;
                    }
                }
                Cloud::Salesforce => {
                    if let Some(e) = &c.engine {
                        e.resolver().salesforce().set_token(String::new());
                    }
                    c.salesforce = None;
                }
            }
        }
        self.set_state(cloud, SignInState::SignedOut).await;
        Ok(SignInState::SignedOut)
    }

    /// What the window starts from.
    pub async fn snapshot(&self) -> DeskSnapshot {
        let c = self.clients.lock().await;
        let connection = c.engine.as_ref().map(|e| e.connection().borrow().clone()).unwrap_or(ConnectionState::Stopped);
        DeskSnapshot {
            demo: self.demo,
            genesys: c.genesys_state,
            salesforce: c.salesforce_state,
            genesys_expires_at_ms: c.genesys.as_ref().and_then(|g| g.expires_at_ms),
            connection,
            secrets: self.secrets.kind(),
            calls: self.board.calls.lock().unwrap_or_else(|e| e.into_inner()).iter().cloned().collect(),
            wrapup_codes: c.wrapup_codes.clone(),
            settings: self.settings(),
            version: VERSION,
            update: self.update.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        }
    }

    fn settings(&self) -> Vec<SettingView> {
        let value = toml::Value::try_from(&self.loaded.config).unwrap_or(toml::Value::Table(Default::default()));
        let mut out: Vec<SettingView> = self
            .loaded
            .origins
            .keys()
            .chain(self.loaded.locked.iter())
            .filter_map(|key| {
                let mut v = &value;
                for part in key.split('.') {
                    v = v.get(part)?;
                }
                Some(SettingView {
                    key: key.clone(),
                    value: match v {
                        toml::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    },
                    layer: self.loaded.origin(key),
                    locked: self.loaded.is_locked(key),
                })
            })
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        out.dedup_by(|a, b| a.key == b.key);
        out
    }

    async fn with_engine<T>(&self, f: impl FnOnce(&EngineHandle) -> Result<T, DeskError>) -> Result<T, DeskError> {
        let c = self.clients.lock().await;
        let e = c
            .engine
            .as_ref()
            .ok_or_else(|| DeskError::new("NOT_SIGNED_IN", "sign in to Genesys Cloud and Salesforce first"))?;
        f(e)
    }

    /// The agent picked the caller's record (picker or search result).
    pub async fn pick(&self, conversation_id: &str, record_id: &str) -> Result<CallCard, DeskError> {
        let candidate = self.known_candidate(conversation_id, record_id)?;
        self.with_engine(|e| Ok(e.pick(conversation_id, record_id)?)).await?;
        let card = self.board.update(conversation_id, None, |c| {
            c.chosen = Some(candidate);
            c.deferred = false;
        });
        self.board.card_changed(&card);
        Ok(card)
    }

    /// The record must be one the pop or a search offered for this call.
    fn known_candidate(&self, conversation_id: &str, record_id: &str) -> Result<Candidate, DeskError> {
        let id = crate::salesforce::ids::to_id18(record_id).ok_or_else(|| {
            DeskError::new(
                "BAD_RECORD_ID",
                format!("`{}` is not a Salesforce record id", record_id.chars().take(40).collect::<String>()),
            )
        })?;
        let card = self
            .board
            .get(conversation_id)
            .ok_or_else(|| DeskError::new("UNKNOWN_CALL", format!("no call {conversation_id} is shown")))?;
        let offered = match card.pop.map(|p| p.outcome) {
            Some(PopOutcome::Multiple { candidates }) => candidates,
            Some(PopOutcome::Single { candidate }) => vec![candidate],
            _ => vec![],
        };
        offered
            .into_iter()
            .chain(self.searched.lock().unwrap_or_else(|e| e.into_inner()).iter().cloned())
            .find(|c| c.id == id)
            .ok_or_else(|| DeskError::new("BAD_RECORD_ID", "that record was not offered for this call"))
    }

    /// "Decide later": the call stays unresolved; its disposition is still queued when it comes.
    pub fn defer(&self, conversation_id: &str) -> Result<CallCard, DeskError> {
        if self.board.get(conversation_id).is_none() {
            return Err(DeskError::new("UNKNOWN_CALL", format!("no call {conversation_id} is shown")));
        }
        let card = self.board.update(conversation_id, None, |c| c.deferred = true);
        self.board.card_changed(&card);
        Ok(card)
    }

    /// Searches Salesforce by name, email or account number.
    pub async fn search(&self, term: &str) -> Result<Vec<Candidate>, DeskError> {
        let sf = self.salesforce().await?;
        let found = manual::search(&sf, term).await?;
        let mut searched = self.searched.lock().unwrap_or_else(|e| e.into_inner());
        searched.extend(found.iter().cloned());
        let excess = searched.len().saturating_sub(200);
        searched.drain(..excess);
        Ok(found)
    }

    async fn salesforce(&self) -> Result<Arc<SalesforceClient>, DeskError> {
        let c = self.clients.lock().await;
        let signed_in =
            c.salesforce.as_ref().ok_or_else(|| DeskError::new("SALESFORCE_SIGN_IN", "sign in to Salesforce first"))?;
        // The running engine's client holds the session (a later sign-in is adopted into it).
        Ok(c.engine.as_ref().map(|e| e.resolver().salesforce().clone()).unwrap_or_else(|| signed_in.clone()))
    }

    /// Queues the agent's wrap-up for a call: durable before this returns ("queued").
    pub async fn submit_wrapup(
        &self,
        conversation_id: &str,
        code: &str,
        notes: &str,
        record_id: Option<&str>,
    ) -> Result<CallCard, DeskError> {
        let code = code.trim();
        let known = self.clients.lock().await.wrapup_codes.iter().any(|c| c == code);
        if code.is_empty() || !known {
            return Err(DeskError::new("BAD_WRAPUP", "choose a disposition code from the list"));
        }
        if notes.chars().count() > MAX_NOTES {
            return Err(DeskError::new("BAD_WRAPUP", format!("notes are at most {MAX_NOTES} characters")));
        }
        let card = self
            .board
            .get(conversation_id)
            .ok_or_else(|| DeskError::new("UNKNOWN_CALL", format!("no call {conversation_id} is shown")))?;
        // The record already linked (the agent's pick, or the single match), unless another is named.
        let current = card.chosen.clone().or(match card.pop.as_ref().map(|p| &p.outcome) {
            Some(PopOutcome::Single { candidate }) => Some(candidate.clone()),
            _ => None,
        });
        let picked = match record_id.filter(|r| !r.is_empty()) {
            Some(r) => Some(self.known_candidate(conversation_id, r)?),
            None => None,
        }
        .filter(|p| current.as_ref().is_none_or(|c| c.id != p.id));
        let linked = picked.clone().or(current);
        let d = Disposition {
            conversation_id: conversation_id.to_string(),
            code: code.to_string(),
            reason: notes.trim().to_string(),
            timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            duration_secs: None,
            contact_id: linked.as_ref().map(|c| c.id.clone()),
            account_id: linked.as_ref().and_then(|c| c.account_id.clone()),
            agent_extension: None,
            source: DispositionSource::Agent,
        };
        if let Some(p) = &picked {
            self.with_engine(|e| Ok(e.pick(conversation_id, &p.id)?)).await?;
        }
        self.with_engine(|e| Ok(e.set_disposition(d.clone())?)).await?;
        // The engine's DispositionQueued event updates the card; this reply carries it too.
        let card = self.board.update(conversation_id, None, |c| {
            if let Some(p) = picked {
                c.chosen = Some(p);
            }
            c.disposition = Some(DispositionView {
                code: d.code.clone(),
                reason: d.reason.clone(),
                record_id: d.contact_id.clone(),
                state: RowState::Pending,
            });
        });
        self.board.card_changed(&card);
        Ok(card)
    }

    /// The https URL of a record on the org's host, built from a validated id.
    pub async fn record_url(&self, record_id: &str) -> Result<String, DeskError> {
        let sf = self.salesforce().await?;
        Ok(links::record_url(&self.config.salesforce, sf.instance_url(), record_id)?)
    }

    /// The new-contact page, prefilled with the caller's number.
    pub async fn new_contact_url(&self, conversation_id: &str) -> Result<String, DeskError> {
        let sf = self.salesforce().await?;
        let e164 = self.board.get(conversation_id).and_then(|c| c.pop).and_then(|p| p.e164);
        Ok(links::new_contact_url(&self.config.salesforce, sf.instance_url(), e164.as_deref())?)
    }

    /// The Sync view.
    pub fn sync(&self) -> Result<SyncView, DeskError> {
        let status = crate::status::read(self.store.file())?;
        let conn = self.store.background();
        let attention = crate::outbox::list(&conn, Some(RowState::NeedsAttention), 100)?;
        let pending = crate::outbox::list(&conn, Some(RowState::Pending), 100)?;
        Ok(SyncView { status, attention, pending })
    }

    /// Sends a parked disposition again.
    pub async fn retry(&self, conversation_id: &str) -> Result<(), DeskError> {
        self.board.outbox.retry_now(conversation_id, "agent (desktop)")?;
        self.board.out.emit(&DeskEvent::OutboxChanged { conversation_id: conversation_id.to_string() });
        if let Some(e) = &self.clients.lock().await.engine {
            e.wake_pusher();
        }
        Ok(())
    }

    /// Gives up on a parked disposition, on the record.
    pub fn discard(&self, conversation_id: &str) -> Result<(), DeskError> {
        self.board.outbox.discard(conversation_id, "agent (desktop)", "discarded from the Sync view")?;
        self.board.out.emit(&DeskEvent::OutboxChanged { conversation_id: conversation_id.to_string() });
        Ok(())
    }

    /// Today's calls.
    pub fn history(&self) -> Result<Vec<HistoryRow>, DeskError> {
        let now = chrono::Utc::now().timestamp_millis();
        Ok(crate::history::since(&self.store, crate::history::start_of_day_ms(now), 500)?)
    }

    /// Writes the redacted diagnostics bundle into `dir`; returns the file.
    pub async fn export_diagnostics(&self, dir: &std::path::Path) -> Result<PathBuf, DeskError> {
        let status = crate::status::read(self.store.file())?;
        let mut checks = crate::doctor::config_checks(&self.loaded);
        checks.push(crate::doctor::keychain_check(self.secrets.kind()));
        checks.push(crate::doctor::store_check(
            self.store.path(),
            Ok(self.store.file().clone()),
            self.config.store.encrypt,
        ));
        let bundle = crate::diagnostics::bundle(
            self.store.file(),
            &self.loaded,
            &status,
            serde_json::to_value(&checks).unwrap_or_default(),
        )?;
        let name = format!("agent-companion-diagnostics-{}.json", chrono::Local::now().format("%Y%m%d-%H%M%S"));
        let path = dir.join(name);
        std::fs::create_dir_all(dir)
            .and_then(|_| std::fs::write(&path, serde_json::to_vec_pretty(&bundle).unwrap_or_default()))
            .map_err(|e| DeskError::new("EXPORT_FAILED", format!("cannot write {}: {e}", path.display())))?;
        Ok(path)
    }

    /// The call shown for an id.
    pub fn call(&self, conversation_id: &str) -> Option<CallCard> {
        self.board.get(conversation_id)
    }

    /// Sends queued dispositions now instead of at the end of the batch window.
    pub async fn flush_outbox(&self) {
        if let Some(e) = &self.clients.lock().await.engine {
            e.flush_outbox();
        }
    }

    /// Stops the engine, bounded in time.
    pub async fn stop(&self) {
        if let Some(t) = &self.update_checks {
            t.abort();
        }
        if let Some(e) = self.clients.lock().await.engine.take() {
            e.stop().await;
        }
    }
}

impl Drop for DeskHandle {
    fn drop(&mut self) {
        if let Some(t) = &self.update_checks {
            t.abort();
        }
    }
}

/// This program's version (the workspace shares one).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Reads the release feed at start and then every `check_interval_hours`, announcing a newer release
/// once. No task at all when notices are off or no feed is set.
fn spawn_update_checks(
    cfg: &config::UpdatesConfig,
    slot: Arc<Mutex<Option<Release>>>,
    out: Arc<dyn DeskSink>,
) -> Option<tokio::task::JoinHandle<()>> {
    if !cfg.prompts || cfg.feed_url.is_none() {
        return None;
    }
    let cfg = cfg.clone();
    let every = Duration::from_secs(cfg.check_interval_hours.saturating_mul(3_600));
    Some(tokio::spawn(async move {
        let http = reqwest::Client::new();
        loop {
            match updates::check(&http, &cfg, VERSION).await {
                Ok(Some(release)) => {
                    let mut known = slot.lock().unwrap_or_else(|e| e.into_inner());
                    if known.as_ref() != Some(&release) {
                        *known = Some(release.clone());
                        drop(known);
                        tracing::info!(version = %release.version, "a newer release is published");
                        out.emit(&DeskEvent::UpdateAvailable(release));
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::info!(error = %e, retryable = e.is_retryable(), "release feed not read"),
            }
            tokio::time::sleep(every).await;
        }
    }))
}

/// What the tray shows, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum TrayState {
    /// Dispositions are parked and need someone to look.
    NeedsAttention {
        items: u64,
    },
    SignedOut,
    Reconnecting,
    Connected,
}

impl TrayState {
    /// From the sign-ins, the connection and the parked dispositions.
    pub fn of(genesys: SignInState, salesforce: SignInState, connection: &ConnectionState, parked: u64) -> TrayState {
        if parked > 0 {
            return TrayState::NeedsAttention { items: parked };
        }
        if genesys != SignInState::SignedIn
            || salesforce != SignInState::SignedIn
            || matches!(connection, ConnectionState::SignInRequired { .. })
        {
            return TrayState::SignedOut;
        }
        match connection {
            ConnectionState::Connected { .. } => TrayState::Connected,
            _ => TrayState::Reconnecting,
        }
    }

    /// For the tooltip.
    pub fn label(&self) -> String {
        match self {
            TrayState::NeedsAttention { items: 1 } => "1 disposition needs attention".into(),
            TrayState::NeedsAttention { items } => format!("{items} dispositions need attention"),
            TrayState::SignedOut => "signed out".into(),
            TrayState::Reconnecting => "reconnecting".into(),
            TrayState::Connected => "connected".into(),
        }
    }
}

impl DeskHandle {
    /// The tray's state now.
    pub async fn tray_state(&self) -> TrayState {
        let parked = crate::outbox::depth(&self.store.background())
            .ok()
            .and_then(|d| d.get(&RowState::NeedsAttention).copied())
            .unwrap_or(0);
        let c = self.clients.lock().await;
        let connection = c.engine.as_ref().map(|e| e.connection().borrow().clone()).unwrap_or(ConnectionState::Stopped);
        TrayState::of(c.genesys_state, c.salesforce_state, &connection, parked)
    }
}

/// The notification for a pop: a title and one line.
pub fn pop_headline(d: &PopDecision) -> (String, String) {
    let number = d.e164.clone().unwrap_or_else(|| "a withheld number".into());
    match &d.outcome {
        PopOutcome::Single { candidate } => (
            format!("Call from {}", candidate.name),
            candidate.account_name.clone().map(|a| format!("{a} · {number}")).unwrap_or(number),
        ),
        PopOutcome::Multiple { candidates } => {
            (format!("Call from {number}"), format!("{} matching records: pick one", candidates.len()))
        }
        PopOutcome::Attribute { .. } => ("Call identified by the IVR".into(), "Open the card to see the record".into()),
        PopOutcome::NoMatch => (format!("Call from {number}"), "No record has this number: search or create".into()),
        PopOutcome::NoNumber { .. } => ("Call from a withheld number".into(), "Search by name or email".into()),
        PopOutcome::Unavailable { reason, .. } => (format!("Call from {number}"), reason.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tray_shows_the_worst_state() {
        let on = SignInState::SignedIn;
        let connected = ConnectionState::Connected { channel_id: "c".into() };
        assert_eq!(TrayState::of(on, on, &connected, 0), TrayState::Connected);
        assert_eq!(TrayState::of(on, on, &connected, 2), TrayState::NeedsAttention { items: 2 });
        assert_eq!(TrayState::of(on, SignInState::SignedOut, &connected, 0), TrayState::SignedOut);
        let lost = ConnectionState::Reconnecting { attempt: 1, retry_in_ms: 10, reason: "x".into() };
        assert_eq!(TrayState::of(on, on, &lost, 0), TrayState::Reconnecting);
        assert_eq!(
            TrayState::of(on, on, &ConnectionState::SignInRequired { reason: "x".into() }, 0),
            TrayState::SignedOut
        );
        assert_eq!(TrayState::NeedsAttention { items: 1 }.label(), "1 disposition needs attention");
    }
}
