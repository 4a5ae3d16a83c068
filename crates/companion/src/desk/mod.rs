//! The agent's desk: everything the desktop window shows and does, with no window. The Tauri shell
//! forwards each command here in a line or two and emits [`DeskEvent`]s to the webview; tests drive
//! the same API directly.
//!
//! The desk holds one session per cloud ([`Clouds`]), one outbox, one wrap-up code list and the board
//! of call cards; the engine it starts once both clouds are signed in shares all four. Every failure
//! becomes a [`UiError`]: a code from [`ErrorCode`] and a sentence for people.

mod board;
mod errors;
mod events;
mod tray;
mod view;

pub use board::{CallCard, DispositionView};
pub use events::{DeskEvent, DeskSink, SignInState};
pub use tray::{TrayState, pop_headline};
pub use view::{DeskSnapshot, SettingView, SyncView};

use crate::auth::BrowserChoice;
use crate::config::{self, LoadedConfig};
use crate::engine::{EngineHandle, EngineSetup, WrapupCodes};
use crate::error::{ErrorCode, UiError};
use crate::genesys::feed::ConnectionState;
use crate::history::HistoryRow;
use crate::outbox::{Disposition, DispositionSource, Outbox, RowState};
use crate::salesforce::SalesforceClient;
use crate::salesforce::links;
use crate::screenpop::Candidate;
use crate::screenpop::manual;
use crate::secrets::SecretStore;
use crate::signin::{Cloud, Clouds, Prompt};
use crate::store::{DbFile, Draft, Drafts, Store, StoreError};
use crate::updates::Release;
use board::Board;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// The longest note a wrap-up takes (the org's field holds more; a call note this long is a mistake).
pub const MAX_NOTES: usize = 4000;

/// This program's version (the workspace shares one).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// How the desk starts.
#[derive(Debug, Clone)]
pub struct DeskOptions {
    /// The configuration in force.
    pub loaded: LoadedConfig,
    /// Where sign-in pages open.
    pub browser: BrowserChoice,
    /// Sign in with kept sign-ins at start (never opens a browser by itself).
    pub resume: bool,
}

struct Signed {
    engine: Option<EngineHandle>,
    genesys: SignInState,
    salesforce: SignInState,
}

/// The running desk.
pub struct DeskHandle {
    loaded: LoadedConfig,
    config: Arc<config::Config>,
    store: Arc<Store>,
    secrets: Arc<dyn SecretStore>,
    browser: BrowserChoice,
    clouds: Clouds,
    wrapup_codes: Arc<WrapupCodes>,
    board: Arc<Board>,
    signed: tokio::sync::Mutex<Signed>,
    /// Records the agent's searches offered, so a pick from them is known.
    searched: Mutex<Vec<Candidate>>,
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
    ) -> Result<DeskHandle, UiError> {
        let config = Arc::new(opts.loaded.config.clone());
        let path = match config.store.path.clone() {
            Some(p) => p,
            None => crate::store::default_path()?,
        };
        let key_secrets = secrets.clone();
        let store = Arc::new(DbFile::configured(&path, config.store.encrypt, || key_secrets)?.open()?);
        let outbox = Arc::new(Outbox::new(store.clone(), Arc::new(crate::clock::SystemClock)));
        let board = Arc::new(Board::new(out, outbox));
        // Interactions still open when the app closed come back with their drafts.
        let since = chrono::Utc::now().timestamp_millis() - config.store.journal_retention_hours as i64 * 3_600_000;
        if let Err(e) = board.restore(&store, since) {
            tracing::warn!(error = %e, "the open interactions could not be restored");
        }
        let update = Arc::new(Mutex::new(None));
        let clouds = Clouds::signed_out(&config)?;
        let update_checks = {
            let (slot, out) = (update.clone(), board.out.clone());
            crate::updates::spawn_checks(&config.updates, clouds.network.clone(), VERSION, move |release| {
                *slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(release.clone());
                out.emit(&DeskEvent::UpdateAvailable(release));
            })
        };
        let desk = DeskHandle {
            update,
            update_checks,
            clouds,
            wrapup_codes: Arc::new(WrapupCodes::with_fallback(config.disposition.code_map.keys().cloned().collect())),
            loaded: opts.loaded,
            config,
            store,
            secrets,
            browser: opts.browser,
            board,
            searched: Mutex::new(vec![]),
            signed: tokio::sync::Mutex::new(Signed {
                engine: None,
                genesys: SignInState::SignedOut,
                salesforce: SignInState::SignedOut,
            }),
        };
        if opts.resume {
            for cloud in [Cloud::Genesys, Cloud::Salesforce] {
                if let Err(e) = desk.connect(cloud, Prompt::Never).await {
                    tracing::warn!(error = %e, ?cloud, "a kept sign-in could not be used");
                }
            }
        }
        Ok(desk)
    }

    /// Signs in to a cloud: the kept sign-in if it still works, else the browser. Asked while already
    /// signed in, it signs in again through the browser (the Genesys sign-in runs out and has no
    /// refresh token: "Sign in again" renews it).
    pub async fn sign_in(&self, cloud: Cloud) -> Result<SignInState, UiError> {
        let browser = self.browser.clone();
        let prompt = if self.is_signed_in(cloud) { Prompt::Always(&browser) } else { Prompt::IfNeeded(&browser) };
        self.connect(cloud, prompt).await
    }

    async fn connect(&self, cloud: Cloud, prompt: Prompt<'_>) -> Result<SignInState, UiError> {
        self.set_state(cloud, SignInState::SigningIn).await;
        let result = self.clouds.sign_in(cloud, &self.config, &self.secrets, prompt).await;
        let state = if self.is_signed_in(cloud) { SignInState::SignedIn } else { SignInState::SignedOut };
        self.set_state(cloud, state).await;
        result?;
        if state == SignInState::SignedIn {
            self.signed_in(cloud).await?;
        }
        Ok(state)
    }

    fn is_signed_in(&self, cloud: Cloud) -> bool {
        match cloud {
            Cloud::Genesys => self.clouds.genesys.user_id().is_some(),
            Cloud::Salesforce => self.clouds.salesforce.is_signed_in(),
        }
    }

    /// After a sign-in: the code list is read, a running engine resumes, or one starts once both
    /// clouds are in.
    async fn signed_in(&self, cloud: Cloud) -> Result<(), UiError> {
        if cloud == Cloud::Genesys {
            self.wrapup_codes.load(&self.clouds.genesys, chrono::Utc::now().timestamp_millis()).await;
        }
        let mut s = self.signed.lock().await;
        if let Some(e) = s.engine.as_mut() {
            match cloud {
                Cloud::Genesys => e.genesys_signed_in(),
                Cloud::Salesforce => e.wake_pusher(),
            }
            return Ok(());
        }
        if self.is_signed_in(Cloud::Genesys) && self.is_signed_in(Cloud::Salesforce) {
            let setup = EngineSetup {
                outbox: self.board.outbox.clone(),
                wrapup_codes: self.wrapup_codes.clone(),
                ..EngineSetup::new(self.config.clone(), self.store.clone(), self.clouds.clone(), self.board.clone())
            };
            s.engine = Some(EngineHandle::start(setup)?);
        }
        Ok(())
    }

    async fn set_state(&self, cloud: Cloud, state: SignInState) {
        let mut s = self.signed.lock().await;
        let slot = match cloud {
            Cloud::Genesys => &mut s.genesys,
            Cloud::Salesforce => &mut s.salesforce,
        };
        if *slot != state {
            *slot = state;
            self.board.out.emit(&DeskEvent::SignIn { cloud, state });
        }
    }

    /// Signs out of a cloud: revoked there, forgotten here. Queued work stays queued.
    pub async fn sign_out(&self, cloud: Cloud) -> Result<SignInState, UiError> {
        // Forgotten here even when the cloud could not be told; that is then said.
        let result = self.clouds.sign_out(cloud, &self.config, self.secrets.as_ref()).await;
        if cloud == Cloud::Genesys
            && let Some(e) = self.signed.lock().await.engine.as_mut()
        {
            e.genesys_signed_out().await;
        }
        self.set_state(cloud, SignInState::SignedOut).await;
        result?;
        Ok(SignInState::SignedOut)
    }

    fn connection(s: &Signed) -> ConnectionState {
        s.engine.as_ref().map(|e| e.connection().borrow().clone()).unwrap_or(ConnectionState::Stopped)
    }

    /// What the window starts from.
    pub async fn snapshot(&self) -> DeskSnapshot {
        let s = self.signed.lock().await;
        DeskSnapshot {
            demo: self.browser.is_simulated(),
            genesys: s.genesys,
            salesforce: s.salesforce,
            genesys_expires_at_ms: self.clouds.genesys.expires_at_ms(),
            connection: Self::connection(&s),
            secrets: self.secrets.kind(),
            calls: self.board.all(),
            wrapup_codes: self.wrapup_codes.names(),
            settings: view::settings(&self.loaded),
            version: VERSION,
            update: self.update.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        }
    }

    async fn with_engine<T>(&self, f: impl FnOnce(&EngineHandle) -> Result<T, UiError>) -> Result<T, UiError> {
        let s = self.signed.lock().await;
        let e = s
            .engine
            .as_ref()
            .ok_or_else(|| UiError::new(ErrorCode::NotSignedIn, "sign in to Genesys Cloud and Salesforce first"))?;
        f(e)
    }

    fn card(&self, interaction_id: &str) -> Result<CallCard, UiError> {
        self.board
            .get(interaction_id)
            .ok_or_else(|| UiError::new(ErrorCode::UnknownCall, format!("no call {interaction_id} is shown")))
    }

    /// The agent picked the caller's record (picker or search result). The card changes (and reaches
    /// the window) before this returns.
    pub async fn pick(&self, interaction_id: &str, record_id: &str) -> Result<(), UiError> {
        let candidate = self.known_candidate(interaction_id, record_id)?;
        let address = self.card(interaction_id)?.pop.and_then(|p| p.address);
        self.with_engine(|e| Ok(e.pick(interaction_id, &candidate.id, address.as_deref())?)).await?;
        self.board.change(interaction_id, |c| {
            c.chosen = Some(candidate);
            c.deferred = false;
        });
        Ok(())
    }

    /// The record must be one the pop or a search offered for this call.
    fn known_candidate(&self, interaction_id: &str, record_id: &str) -> Result<Candidate, UiError> {
        let id = crate::salesforce::ids::to_id18(record_id).ok_or_else(|| {
            UiError::new(
                ErrorCode::BadRecordId,
                format!("`{}` is not a Salesforce record id", record_id.chars().take(40).collect::<String>()),
            )
        })?;
        let card = self.card(interaction_id)?;
        card.offered()
            .into_iter()
            .chain(self.searched.lock().unwrap_or_else(|e| e.into_inner()).iter().cloned())
            .find(|c| c.id == id)
            .ok_or_else(|| UiError::new(ErrorCode::BadRecordId, "that record was not offered for this call"))
    }

    /// "Decide later": the call stays unresolved; its disposition is still queued when it comes.
    pub fn defer(&self, interaction_id: &str) -> Result<(), UiError> {
        self.card(interaction_id)?;
        self.board.change(interaction_id, |c| c.deferred = true);
        Ok(())
    }

    /// Searches Salesforce by name, email or account number.
    pub async fn search(&self, term: &str) -> Result<Vec<Candidate>, UiError> {
        let sf = self.salesforce()?;
        let found = manual::search(&sf, term).await?;
        let mut searched = self.searched.lock().unwrap_or_else(|e| e.into_inner());
        searched.extend(found.iter().cloned());
        let excess = searched.len().saturating_sub(200);
        searched.drain(..excess);
        Ok(found)
    }

    fn salesforce(&self) -> Result<Arc<SalesforceClient>, UiError> {
        if !self.clouds.salesforce.is_signed_in() {
            return Err(UiError::new(ErrorCode::SalesforceSignIn, "sign in to Salesforce first"));
        }
        Ok(self.clouds.salesforce.clone())
    }

    /// Queues the agent's wrap-up for a call: durable before this returns ("queued"); the card says so.
    pub async fn submit_wrapup(
        &self,
        interaction_id: &str,
        code: &str,
        notes: &str,
        record_id: Option<&str>,
    ) -> Result<(), UiError> {
        let code = code.trim();
        let card = self.card(interaction_id)?;
        // The queue's codes once Genesys named them; the org's until then.
        let offered =
            if card.codes.is_empty() { self.wrapup_codes.offers(code) } else { card.codes.iter().any(|c| c == code) };
        if code.is_empty() || !offered {
            return Err(UiError::new(ErrorCode::BadWrapup, "choose a disposition code from the list"));
        }
        if notes.chars().count() > MAX_NOTES {
            return Err(UiError::new(ErrorCode::BadWrapup, format!("notes are at most {MAX_NOTES} characters")));
        }
        // The record already linked (the agent's pick, or the single match), unless another is named.
        let current = card.linked().cloned();
        let picked = match record_id.filter(|r| !r.is_empty()) {
            Some(r) => Some(self.known_candidate(interaction_id, r)?),
            None => None,
        }
        .filter(|p| current.as_ref().is_none_or(|c| c.id != p.id));
        let linked = picked.clone().or(current);
        // A caller the IVR or an earlier agent identified is linked by the record id alone.
        let contact_id = linked.as_ref().map(|c| c.id.clone()).or_else(|| card.identified_record().map(str::to_string));
        let d = Disposition {
            interaction_id: interaction_id.to_string(),
            conversation_id: card.conversation_id.clone(),
            kind: card.segment_kind,
            code: code.to_string(),
            reason: notes.trim().to_string(),
            timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            duration_secs: None,
            contact_id,
            account_id: linked.as_ref().and_then(|c| c.account_id.clone()),
            agent_extension: None,
            source: DispositionSource::Agent,
            media: card.media,
            channel: card.channel.clone(),
            recovered: false,
        };
        let address = card.pop.as_ref().and_then(|p| p.address.clone());
        self.with_engine(|e| {
            if let Some(p) = &picked {
                e.pick(interaction_id, &p.id, address.as_deref())?;
            }
            Ok(e.set_disposition(d.clone())?)
        })
        .await?;
        // Submitted: the draft has served.
        if let Err(e) = Drafts::on(&self.store.background()).forget(interaction_id) {
            tracing::warn!(error = %e, "a submitted draft could not be forgotten");
        }
        // One change of the card: the pick (if any), the disposition as the outbox now holds it.
        let queued = self.board.disposition(interaction_id, false);
        self.board.change(interaction_id, |c| {
            c.draft = None;
            if let Some(p) = picked {
                c.chosen = Some(p);
            }
            if queued.is_some() {
                c.disposition = queued;
            }
        });
        Ok(())
    }

    /// Keeps what the agent typed in an interaction's wrap-up form, so it survives a new pop and a
    /// restart.
    pub fn save_draft(&self, interaction_id: &str, code: &str, notes: &str) -> Result<(), UiError> {
        self.card(interaction_id)?;
        if notes.chars().count() > MAX_NOTES || code.chars().count() > 200 {
            return Err(UiError::new(ErrorCode::BadWrapup, format!("notes are at most {MAX_NOTES} characters")));
        }
        let draft = Draft { code: code.trim().to_string(), notes: notes.to_string() };
        Drafts::on(&self.store.background())
            .save(interaction_id, &draft, chrono::Utc::now().timestamp_millis())
            .map_err(StoreError::Sql)?;
        self.board.quietly(interaction_id, |c| {
            c.draft = Some(draft).filter(|d| !d.code.is_empty() || !d.notes.trim().is_empty())
        });
        Ok(())
    }

    /// The https URL of a record on the org's host, built from a validated id.
    pub async fn record_url(&self, record_id: &str) -> Result<String, UiError> {
        let sf = self.salesforce()?;
        Ok(links::record_url(&self.config.salesforce, &sf.instance_url(), record_id)?)
    }

    /// The new-contact page, prefilled with the customer's number or email address.
    pub async fn new_contact_url(&self, interaction_id: &str) -> Result<String, UiError> {
        let sf = self.salesforce()?;
        let address = self.board.get(interaction_id).and_then(|c| c.pop).and_then(|p| p.address);
        Ok(links::new_contact_url(&self.config.salesforce, &sf.instance_url(), address.as_deref())?)
    }

    /// The Sync view.
    pub fn sync(&self) -> Result<SyncView, UiError> {
        let status = crate::status::read(self.store.file())?;
        let outbox = &self.board.outbox;
        let attention = outbox.list(Some(RowState::NeedsAttention), 100)?;
        let pending = outbox.list(Some(RowState::Pending), 100)?;
        Ok(SyncView { status, attention, pending })
    }

    /// Sends a parked disposition again (the shared outbox wakes the pusher).
    pub fn retry(&self, interaction_id: &str) -> Result<(), UiError> {
        self.board.outbox.retry_now(interaction_id, "agent (desktop)")?;
        self.board.out.emit(&DeskEvent::OutboxChanged { interaction_id: interaction_id.to_string() });
        Ok(())
    }

    /// Gives up on a parked disposition, on the record.
    pub fn discard(&self, interaction_id: &str) -> Result<(), UiError> {
        self.board.outbox.discard(interaction_id, "agent (desktop)", "discarded from the Sync view")?;
        self.board.out.emit(&DeskEvent::OutboxChanged { interaction_id: interaction_id.to_string() });
        Ok(())
    }

    /// Today's calls.
    pub fn history(&self) -> Result<Vec<HistoryRow>, UiError> {
        let now = chrono::Utc::now().timestamp_millis();
        Ok(crate::history::since(&self.store, crate::history::start_of_day_ms(now), 500)?)
    }

    /// Writes the redacted diagnostics bundle into `dir`; returns the file.
    pub async fn export_diagnostics(&self, dir: &std::path::Path) -> Result<PathBuf, UiError> {
        let mut checks = crate::doctor::config_checks(&self.loaded);
        checks.push(crate::doctor::keychain_check(self.secrets.kind()));
        checks.push(crate::doctor::store_check(
            self.store.path(),
            Ok(self.store.file().clone()),
            self.config.store.encrypt,
        ));
        let mut bundle = crate::diagnostics::bundle(
            Some(self.store.file()),
            &self.loaded,
            serde_json::to_value(&checks).unwrap_or_default(),
        )?;
        if let Some(dir) = crate::logs::default_dir() {
            bundle["logs"] = crate::diagnostics::recent_logs(&dir);
        }
        let name = format!("agent-companion-diagnostics-{}.json", chrono::Local::now().format("%Y%m%d-%H%M%S"));
        let path = dir.join(name);
        std::fs::create_dir_all(dir)
            .and_then(|_| crate::private_files::write(&path, &serde_json::to_vec_pretty(&bundle).unwrap_or_default()))
            .map_err(|e| UiError::new(ErrorCode::ExportFailed, format!("cannot write {}: {e}", path.display())))?;
        Ok(path)
    }

    /// The call shown for an id.
    pub fn call(&self, interaction_id: &str) -> Option<CallCard> {
        self.board.get(interaction_id)
    }

    /// Sends queued dispositions now instead of at the end of the batch window.
    pub async fn flush_outbox(&self) {
        if let Some(e) = &self.signed.lock().await.engine {
            e.flush_outbox();
        }
    }

    /// The tray's state now.
    pub async fn tray_state(&self) -> TrayState {
        let parked =
            self.board.outbox.depth().ok().and_then(|d| d.get(&RowState::NeedsAttention).copied()).unwrap_or(0);
        let s = self.signed.lock().await;
        TrayState::of(s.genesys, s.salesforce, &Self::connection(&s), parked)
    }

    /// Stops the engine, bounded in time.
    pub async fn stop(&self) {
        if let Some(t) = &self.update_checks {
            t.abort();
        }
        if let Some(e) = self.signed.lock().await.engine.take() {
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
