//! `companion`: the headless engine. `demo` runs everything against the embedded simulator; `run`
//! against the configured clouds; `status` reads the local store.

use clap::{Parser, Subcommand};
use companion::auth::{self, FollowRedirect, SystemBrowser};
use companion::clock::SystemClock;
use companion::config::{self, Config, Sources};
use companion::demo::DemoOptions;
use companion::engine::{Cloud, Clouds, EngineHandle, EngineSetup};
use companion::events::{EngineEvent, EventSink, JsonLines};
use companion::genesys::feed::ConnectionState;
use companion::logs;
use companion::screenpop::{PopDecision, PopOutcome, PopSource};
use companion::store::{self, DbFile};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

/// Agent Companion's engine, without the window.
#[derive(Debug, Parser)]
#[command(name = "companion", version)]
struct Cli {
    /// The user configuration file (default: the per-user config directory).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    /// Override a configuration key: `--set pop.trigger=connected` (repeatable).
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    set: Vec<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start the simulator in-process, sign in against it, run a scenario and print every pop.
    Demo {
        /// Calls to place.
        #[arg(long, default_value_t = 40)]
        calls: u32,
        /// Seed of the simulated world and of the scenario.
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Calls per minute of wall time.
        #[arg(long, default_value_t = 240.0)]
        rate: f64,
        /// How much faster than life each call runs.
        #[arg(long, default_value_t = 30.0)]
        speed: f64,
        /// Print engine events as JSON lines.
        #[arg(long)]
        json: bool,
        /// Keep the database here (default: a temporary directory, removed at the end).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Run the engine against the configured clouds (real ones, or a standalone simulator).
    Run {
        /// The identity providers approve without a person (a standalone simulator): follow the
        /// authorization redirect instead of opening the browser.
        #[arg(long)]
        auto_approve: bool,
        /// Where the rotating log files go (default: the per-OS log directory).
        #[arg(long)]
        log_dir: Option<PathBuf>,
    },
    /// List, retry or discard queued dispositions (works while the engine runs).
    Queue {
        /// The database file (default: the configured one).
        #[arg(long, global = true)]
        db: Option<PathBuf>,
        #[command(subcommand)]
        action: QueueAction,
    },
    /// Sign in to a cloud through the system browser, and keep the sign-in in the OS keychain.
    Login {
        #[arg(value_enum)]
        cloud: CloudArg,
        /// The identity provider approves without a person (a standalone simulator).
        #[arg(long)]
        auto_approve: bool,
    },
    /// Sign out of a cloud: revoke the token there and forget it here.
    Logout {
        #[arg(value_enum)]
        cloud: CloudArg,
    },
    /// Erase a caller (or everything) from this machine: cache, picks, call history, journal and
    /// delivered dispositions. Undelivered dispositions need --include-undelivered.
    Forget {
        /// A phone number, in any format.
        #[arg(long, conflicts_with_all = ["contact", "all"])]
        phone: Option<String>,
        /// A Salesforce record id.
        #[arg(long, conflicts_with = "all")]
        contact: Option<String>,
        /// Everything the app keeps about callers.
        #[arg(long)]
        all: bool,
        /// Also erase dispositions not yet delivered (they will never reach Salesforce).
        #[arg(long)]
        include_undelivered: bool,
        /// The database file (default: the configured one).
        #[arg(long)]
        db: Option<PathBuf>,
    },
    /// Check the configuration, the keychain, the database, the endpoints and the clock; say what to fix.
    Doctor {
        #[arg(long)]
        json: bool,
    },
    /// Write a diagnostics bundle for support: status, configuration and its layers, doctor findings,
    /// recent failures and call outcomes; ids only, nothing else about callers, no tokens.
    Diagnostics {
        /// Where to write it (JSON).
        #[arg(long)]
        out: PathBuf,
        /// The database file (default: the configured one).
        #[arg(long)]
        db: Option<PathBuf>,
    },
    /// Print what the local store says (works while the engine runs).
    Status {
        #[arg(long)]
        json: bool,
        /// The database file (default: the configured one).
        #[arg(long)]
        db: Option<PathBuf>,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum CloudArg {
    Genesys,
    Salesforce,
}

impl From<CloudArg> for Cloud {
    fn from(c: CloudArg) -> Cloud {
        match c {
            CloudArg::Genesys => Cloud::Genesys,
            CloudArg::Salesforce => Cloud::Salesforce,
        }
    }
}

#[derive(Debug, Subcommand)]
enum QueueAction {
    /// Queued dispositions, newest first.
    List {
        /// Only this state: pending, delivered, needs_attention, discarded.
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long)]
        json: bool,
    },
    /// Try a parked (or waiting) disposition again now.
    Retry { conversation_id: String },
    /// Give up on a disposition that was not delivered; the discard is recorded with the reason.
    Discard {
        conversation_id: String,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("{0}")]
    Config(#[from] config::ConfigError),
    #[error("{0}")]
    Store(#[from] store::StoreError),
    #[error("{0}")]
    SignIn(#[from] companion::engine::SignInError),
    #[error("sign-in failed: {0}")]
    Auth(#[from] auth::AuthError),
    #[error("{0}")]
    Demo(#[from] companion::demo::DemoError),
    #[error("{0}")]
    Outbox(#[from] companion::outbox::OutboxError),
    #[error("{0}")]
    Usage(String),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // The long-running engine also logs to rotating files; one-shot commands to stderr only.
    let log_dir = match &cli.command {
        Command::Run { log_dir, .. } => Some(log_dir.clone().unwrap_or_else(logs::default_dir)),
        _ => None,
    };
    logs::init(log_dir.as_deref(), "companion", "warn");
    let result = match cli.command {
        Command::Demo { calls, seed, rate, speed, json, ref data_dir } => {
            let opts = DemoOptions {
                calls,
                seed,
                rate_per_min: rate,
                speed,
                data_dir: data_dir.clone(),
                ..DemoOptions::default()
            };
            demo(&cli, opts, json).await
        }
        Command::Run { auto_approve, .. } => run(&cli, auto_approve).await,
        Command::Status { json, ref db } => status(&cli, json, db.clone()),
        Command::Queue { ref db, ref action } => queue(&cli, db.clone(), action),
        Command::Forget { ref phone, ref contact, all, include_undelivered, ref db } => {
            forget(&cli, phone.clone(), contact.clone(), all, include_undelivered, db.clone())
        }
        Command::Doctor { json } => doctor(&cli, json).await,
        Command::Diagnostics { ref out, ref db } => diagnostics(&cli, out.clone(), db.clone()).await,
        Command::Login { cloud, auto_approve } => login(&cli, cloud.into(), auto_approve).await,
        Command::Logout { cloud } => logout(&cli, cloud.into()).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("companion: {e}");
            ExitCode::FAILURE
        }
    }
}

fn load_config(cli: &Cli) -> Result<config::LoadedConfig, CliError> {
    let loaded = config::load(&Sources::standard(cli.set.clone(), cli.config.clone()))?;
    for (key, layer) in &loaded.refused {
        eprintln!("companion: {key} is locked by your administrator; the {layer:?} value was ignored");
    }
    Ok(loaded)
}

fn db_path(cfg: &Config) -> PathBuf {
    cfg.store.path.clone().unwrap_or_else(store::default_path)
}

/// The database as it is now, with the keychain's key when it is encrypted (the keychain is only
/// asked then). Commands beside the app never convert the file.
fn existing_db(path: &std::path::Path) -> Result<DbFile, store::StoreError> {
    DbFile::existing(path, || Arc::from(companion::secrets::open()))
}

fn status(cli: &Cli, json_out: bool, db: Option<PathBuf>) -> Result<ExitCode, CliError> {
    let path = match db {
        Some(p) => p,
        None => db_path(&load_config(cli)?.config),
    };
    let snap = companion::status::read(&existing_db(&path)?)?;
    if json_out {
        println!("{}", serde_json::to_string_pretty(&snap).expect("status serializes"));
    } else {
        print!("{}", snap.to_table());
    }
    Ok(ExitCode::SUCCESS)
}

async fn run(cli: &Cli, auto_approve: bool) -> Result<ExitCode, CliError> {
    let loaded = load_config(cli)?;
    let cfg = Arc::new(loaded.config);
    let secrets: Arc<dyn companion::secrets::SecretStore> = Arc::from(companion::secrets::open());
    let store = Arc::new(DbFile::configured(&db_path(&cfg), cfg.store.encrypt, || secrets.clone())?.open()?);
    say_where_secrets_live(secrets.as_ref());
    let clouds = if auto_approve {
        let b = FollowRedirect(auth::oauth_http());
        Clouds::connect(&cfg, secrets, &b, &b).await?
    } else {
        let timeout = Duration::from_secs(300);
        let g = SystemBrowser { redirect_uri: cfg.genesys.redirect_uri.clone(), timeout };
        let s = SystemBrowser { redirect_uri: cfg.salesforce.redirect_uri.clone(), timeout };
        Clouds::connect(&cfg, secrets, &g, &s).await?
    };
    let engine = EngineHandle::start(EngineSetup::new(cfg, store, clouds, Arc::new(JsonLines::default())))?;
    let mut conn = engine.connection();
    let code = loop {
        tokio::select! {
            _ = shutdown_signal() => break ExitCode::SUCCESS,
            changed = conn.changed() => {
                if changed.is_err() { break ExitCode::FAILURE; }
                if let ConnectionState::SignInRequired { reason } = conn.borrow().clone() {
                    eprintln!("companion: sign in again: {reason}");
                    break ExitCode::from(2);
                }
            }
        }
    };
    engine.stop().await;
    Ok(code)
}

fn forget(
    cli: &Cli,
    phone: Option<String>,
    contact: Option<String>,
    all: bool,
    include_undelivered: bool,
    db: Option<PathBuf>,
) -> Result<ExitCode, CliError> {
    use companion::privacy::{self, Scope};
    let loaded = load_config(cli)?;
    let scope = match (phone, contact, all) {
        (Some(p), None, false) => Scope::Phone(p),
        (None, Some(c), false) => Scope::Contact(c),
        (None, None, true) => Scope::All,
        _ => return Err(CliError::Usage("say what to forget: --phone N, --contact ID or --all".into())),
    };
    let path = db.unwrap_or_else(|| db_path(&loaded.config));
    if !path.exists() {
        return Err(CliError::Usage(format!("no database at {}: nothing is kept on this machine", path.display())));
    }
    let country =
        companion::phone::country(&loaded.config.phone.default_country).unwrap_or(phonenumber::country::Id::US);
    let store = existing_db(&path)?.open()?;
    let report = privacy::forget(&store, &scope, country, include_undelivered, chrono::Utc::now().timestamp_millis())
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let total: u64 = report.removed.values().sum();
    println!("Erased {total} row(s): {}", serde_json::to_string(&report.removed).expect("counts serialize"));
    if !report.wal_cleared {
        println!("The app has the database open: the last copies leave the write-ahead log when it closes.");
    }
    Ok(ExitCode::SUCCESS)
}

async fn diagnostics(cli: &Cli, out: PathBuf, db: Option<PathBuf>) -> Result<ExitCode, CliError> {
    use companion::doctor;
    let loaded = load_config(cli)?;
    let path = db.unwrap_or_else(|| db_path(&loaded.config));
    let file = existing_db(&path)?;
    let status = companion::status::read(&file)?;
    let mut checks = doctor::config_checks(&loaded);
    checks.push(doctor::keychain_check(companion::secrets::open().kind()));
    checks.push(doctor::store_check(&path, Ok(file.clone()), loaded.config.store.encrypt));
    checks.extend(doctor::endpoint_checks(&loaded).await);
    let bundle = companion::diagnostics::bundle(
        &file,
        &loaded,
        &status,
        serde_json::to_value(&checks).expect("checks serialize"),
    )?;
    std::fs::write(&out, serde_json::to_string_pretty(&bundle).expect("bundle serializes"))
        .map_err(|e| CliError::Usage(format!("cannot write {}: {e}", out.display())))?;
    println!("Diagnostics written to {} (ids only; no numbers, names, notes or tokens).", out.display());
    Ok(ExitCode::SUCCESS)
}

async fn doctor(cli: &Cli, json_out: bool) -> Result<ExitCode, CliError> {
    use companion::doctor;
    let loaded = load_config(cli)?;
    let mut checks = doctor::config_checks(&loaded);
    checks.push(doctor::keychain_check(companion::secrets::open().kind()));
    let path = db_path(&loaded.config);
    checks.push(doctor::store_check(&path, existing_db(&path), loaded.config.store.encrypt));
    checks.extend(doctor::endpoint_checks(&loaded).await);
    if json_out {
        println!("{}", serde_json::to_string_pretty(&checks).expect("checks serialize"));
    } else {
        print!("{}", doctor::render(&checks));
    }
    Ok(if checks.iter().all(|c| c.ok) { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn say_where_secrets_live(secrets: &dyn companion::secrets::SecretStore) {
    if let companion::secrets::SecretStoreKind::MemoryOnly { reason } = secrets.kind() {
        eprintln!("companion: {reason}");
    }
}

async fn login(cli: &Cli, cloud: Cloud, auto_approve: bool) -> Result<ExitCode, CliError> {
    use companion::secrets::{StoredSignIn, key, save};
    let cfg = load_config(cli)?.config;
    let secrets = companion::secrets::open();
    say_where_secrets_live(secrets.as_ref());
    let timeout = Duration::from_secs(300);
    let redirect = match cloud {
        Cloud::Genesys => cfg.genesys.redirect_uri.clone(),
        Cloud::Salesforce => cfg.salesforce.redirect_uri.clone(),
    };
    let tokens = match (cloud, auto_approve) {
        (Cloud::Genesys, true) => auth::genesys(&cfg.genesys, &FollowRedirect(auth::oauth_http())).await?,
        (Cloud::Genesys, false) => {
            auth::genesys(&cfg.genesys, &SystemBrowser { redirect_uri: redirect, timeout }).await?
        }
        (Cloud::Salesforce, true) => auth::salesforce(&cfg.salesforce, &FollowRedirect(auth::oauth_http())).await?,
        (Cloud::Salesforce, false) => {
            auth::salesforce(&cfg.salesforce, &SystemBrowser { redirect_uri: redirect, timeout }).await?
        }
    };
    let now = chrono::Utc::now().timestamp_millis();
    let (k, kept) = match cloud {
        Cloud::Genesys => (
            key("genesys", &cfg.genesys.client_id, &cfg.genesys.login()),
            StoredSignIn {
                access_token: Some(tokens.access_token),
                expires_at_ms: tokens.expires_in_secs.map(|e| now + e as i64 * 1000),
                ..Default::default()
            },
        ),
        Cloud::Salesforce => (
            key("salesforce", &cfg.salesforce.client_id, &cfg.salesforce.login_base),
            StoredSignIn {
                refresh_token: tokens.refresh_token,
                instance_url: tokens.instance_url,
                ..Default::default()
            },
        ),
    };
    save(secrets.as_ref(), &k, &kept).map_err(|e| CliError::Usage(e.to_string()))?;
    let until = kept
        .expires_at_ms
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map(|t| format!(" until {}", t.with_timezone(&chrono::Local).format("%Y-%m-%d %H:%M")))
        .unwrap_or_default();
    println!("Signed in to {cloud:?}{until}.");
    Ok(ExitCode::SUCCESS)
}

async fn logout(cli: &Cli, cloud: Cloud) -> Result<ExitCode, CliError> {
    let cfg = load_config(cli)?.config;
    let secrets = companion::secrets::open();
    say_where_secrets_live(secrets.as_ref());
    if Clouds::sign_out(&cfg, secrets.as_ref(), cloud).await? {
        println!("Signed out of {cloud:?}: the token was revoked and forgotten.");
    } else {
        println!("Not signed in to {cloud:?} on this machine.");
    }
    Ok(ExitCode::SUCCESS)
}

fn queue(cli: &Cli, db: Option<PathBuf>, action: &QueueAction) -> Result<ExitCode, CliError> {
    use companion::outbox::{Outbox, RowState};
    let path = match db {
        Some(p) => p,
        None => db_path(&load_config(cli)?.config),
    };
    if !path.exists() {
        return Err(CliError::Usage(format!("no database at {}: the engine has not run yet", path.display())));
    }
    let outbox = Outbox::new(Arc::new(existing_db(&path)?.open()?), Arc::new(SystemClock));
    let who = format!(
        "companion queue ({})",
        std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_else(|_| "unknown user".into())
    );
    match action {
        QueueAction::List { state, limit, json } => {
            let state = match state.as_deref() {
                None => None,
                Some(s) => Some(RowState::parse(s).ok_or_else(|| {
                    CliError::Usage(format!("unknown state {s}: pending, delivered, needs_attention or discarded"))
                })?),
            };
            let rows = outbox.list(state, *limit)?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&rows).expect("rows serialize"));
            } else if rows.is_empty() {
                println!("No queued dispositions.");
            } else {
                for r in rows {
                    let when = chrono::DateTime::from_timestamp_millis(r.updated_ms)
                        .map(|t| t.with_timezone(&chrono::Local).format("%m-%d %H:%M:%S").to_string())
                        .unwrap_or_default();
                    let why = r.error_message.as_deref().map(|m| format!("  — {m}")).unwrap_or_default();
                    println!(
                        "{when}  {:<38} {:<16} v{} {:<20} tries {}{why}",
                        r.conversation_id,
                        format!("{:?}", r.state),
                        r.version,
                        r.disposition.code,
                        r.attempts
                    );
                }
            }
        }
        QueueAction::Retry { conversation_id } => {
            outbox.retry_now(conversation_id, &who)?;
            println!("{conversation_id}: queued for another try now.");
        }
        QueueAction::Discard { conversation_id, reason } => {
            if reason.trim().is_empty() {
                return Err(CliError::Usage("--reason must say why".into()));
            }
            outbox.discard(conversation_id, &who, reason)?;
            println!("{conversation_id}: discarded ({reason}); the discard is recorded.");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C, or SIGTERM from a service manager.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Prints pops (and, with `--json`, every event) as they happen.
struct DemoPrinter {
    json: bool,
    lines: JsonLines,
}

fn describe(d: &PopDecision) -> String {
    let how = |c: &companion::screenpop::Candidate| {
        let org = c.account_name.as_deref().map(|a| format!(" ({a})")).unwrap_or_default();
        let norm = if c.exact_format { "" } else { ", after normalising" };
        format!("{} {}{org} — {}{norm}", c.object, c.name, c.matched_field)
    };
    match &d.outcome {
        PopOutcome::Attribute { record_id, object, attribute } => {
            format!("identified by the IVR ({attribute}): {} {record_id}", object.as_deref().unwrap_or("record"))
        }
        PopOutcome::Single { candidate } => how(candidate),
        PopOutcome::Multiple { candidates } => format!(
            "{} matches, picker: {}",
            candidates.len(),
            candidates.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", ")
        ),
        PopOutcome::NoMatch => "nobody has this number: manual search".into(),
        PopOutcome::NoNumber { reason } => format!("no number ({reason:?}): manual search"),
        PopOutcome::Unavailable { reason, .. } => reason.clone(),
    }
}

impl EventSink for DemoPrinter {
    fn emit(&self, event: &EngineEvent) {
        if self.json {
            return self.lines.emit(event);
        }
        match event {
            EngineEvent::Pop(d) => {
                let src = match d.source {
                    PopSource::Cache => format!("cache, {} s old", d.cache_age_secs.unwrap_or(0)),
                    PopSource::Search => "Salesforce search".into(),
                    PopSource::Attribute => "IVR attribute".into(),
                    PopSource::None => "no lookup".into(),
                };
                println!(
                    "{}  {:<8} {:<13} {:<12} {:>8.2} ms  [{src}]  {}",
                    chrono::Local::now().format("%H:%M:%S%.3f"),
                    &d.conversation_id[..8.min(d.conversation_id.len())],
                    d.e164.as_deref().unwrap_or("—"),
                    d.outcome.label(),
                    d.elapsed_us as f64 / 1000.0,
                    describe(d)
                );
            }
            EngineEvent::DispositionQueued { conversation_id, code, version } => {
                let edit = if *version > 1 { format!(" (edit {version})") } else { String::new() };
                println!(
                    "{}  {:<8} disposition queued: {code}{edit}",
                    chrono::Local::now().format("%H:%M:%S%.3f"),
                    &conversation_id[..8.min(conversation_id.len())]
                );
            }
            EngineEvent::DispositionDelivered { conversation_id, salesforce_id } => {
                println!(
                    "{}  {:<8} disposition in Salesforce ({})",
                    chrono::Local::now().format("%H:%M:%S%.3f"),
                    &conversation_id[..8.min(conversation_id.len())],
                    salesforce_id.as_deref().unwrap_or("updated")
                );
            }
            EngineEvent::Problem { message, .. } => println!("problem: {message}"),
            EngineEvent::Connection { state } => {
                let name = serde_json::to_value(state)
                    .ok()
                    .and_then(|v| v["state"].as_str().map(str::to_string))
                    .unwrap_or_default();
                println!("connection: {name}");
            }
            _ => {}
        }
    }
}

async fn demo(cli: &Cli, opts: DemoOptions, json_out: bool) -> Result<ExitCode, CliError> {
    if !json_out {
        println!(
            "Starting the simulator, signing in to both clouds (authorization code + PKCE), running {} calls…",
            opts.calls
        );
    }
    let opts = DemoOptions { flags: cli.set.clone(), ..opts };
    let printer = Arc::new(DemoPrinter { json: json_out, lines: JsonLines::default() });
    let report = companion::demo::run(opts, Some(printer)).await?;
    if !json_out {
        println!();
    }
    println!("{}", report.summary());
    Ok(if report.missed_calls() == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
