//! The `companion` command line: its arguments, its errors, and what every subcommand shares (the
//! configuration, the database file). One file per subcommand beside this one.

pub mod demo;
pub mod doctor;
pub mod forget;
pub mod purge;
pub mod queue;
pub mod run;
pub mod signin;
pub mod status;

use clap::{Parser, Subcommand};
use companion::auth::{self, BrowserChoice};
use companion::config::{self, Config, Sources};
use companion::signin::Cloud;
use companion::store::{self, DbFile};
use std::path::PathBuf;
use std::sync::Arc;

/// Agent Companion's engine, without the window.
#[derive(Debug, Parser)]
#[command(name = "companion", version)]
pub struct Cli {
    /// The user configuration file (default: the per-user config directory).
    #[arg(long, global = true)]
    pub config: Option<PathBuf>,
    /// Override a configuration key: `--set pop.trigger=connected` (repeatable).
    #[arg(long = "set", global = true, value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
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
        #[arg(long, conflicts_with_all = ["contact", "all", "email"])]
        phone: Option<String>,
        /// An email address (of emails and chats).
        #[arg(long, conflicts_with_all = ["contact", "all"])]
        email: Option<String>,
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
    /// Check the configuration, the network, the keychain, the database, the endpoints (the
    /// notification socket opened for real) and the clock; say what to fix. Exit code: 0 all ok,
    /// 1 warnings, 2 failures, 3 the configuration cannot be read.
    Doctor {
        #[arg(long)]
        json: bool,
        /// `machine`: the configuration, network and endpoints only (safe as SYSTEM or root from a
        /// deployment tool); `user`: also this user's keychain, database and kept sign-in.
        #[arg(long, value_enum, default_value_t = companion::doctor::Scope::User)]
        scope: companion::doctor::Scope,
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
        /// Add the newest log files' last lines (ids only, like the rest).
        #[arg(long)]
        include_logs: bool,
        /// The log folder (default: the per-OS one).
        #[arg(long)]
        log_dir: Option<PathBuf>,
    },
    /// Remove every local trace of this user: sign-ins (revoked, then deleted from the keychain), the
    /// database and its key, logs, the configuration file, the window's data, the login item. Quit
    /// the app first. Exit code: 0 done, 1 done with notes, 2 refused, 3 configuration unreadable.
    Purge {
        /// Really remove (without it, only what would be removed is listed).
        #[arg(long)]
        yes: bool,
        /// Give up wrap-ups that have not reached Salesforce yet (otherwise they stop the purge).
        #[arg(long)]
        discard_undelivered: bool,
        #[arg(long)]
        json: bool,
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
pub enum CloudArg {
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
pub enum QueueAction {
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
    Retry { interaction_id: String },
    /// Give up on a disposition that was not delivered; the discard is recorded with the reason.
    Discard {
        interaction_id: String,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{0}")]
    Config(#[from] config::ConfigError),
    #[error("{0}")]
    Store(#[from] store::StoreError),
    #[error("{0}")]
    SignIn(#[from] companion::signin::SignInError),
    #[error("{0}")]
    Start(#[from] companion::engine::StartError),
    #[error("sign-in failed: {0}")]
    Auth(#[from] auth::AuthError),
    #[cfg(feature = "demo")]
    #[error("{0}")]
    Demo(#[from] companion::demo::DemoError),
    #[error("{0}")]
    Outbox(#[from] companion::outbox::OutboxError),
    #[error("{0}")]
    Usage(String),
}

pub fn load_config(cli: &Cli) -> Result<config::LoadedConfig, CliError> {
    let loaded = config::load(&Sources::standard(cli.set.clone(), cli.config.clone()))?;
    for (key, layer) in &loaded.refused {
        eprintln!("companion: {key} is locked by your administrator; the {layer:?} value was ignored");
    }
    Ok(loaded)
}

pub fn db_path(cfg: &Config) -> Result<PathBuf, CliError> {
    match cfg.store.path.clone() {
        Some(p) => Ok(p),
        None => Ok(store::default_path()?),
    }
}

/// The database as it is now, with the keychain's key when it is encrypted (the keychain is only
/// asked then). Commands beside the app never convert the file.
pub fn existing_db(path: &std::path::Path) -> Result<DbFile, store::StoreError> {
    DbFile::existing(path, || Arc::from(companion::secrets::open()))
}

pub fn say_where_secrets_live(secrets: &dyn companion::secrets::SecretStore) {
    if let companion::secrets::SecretStoreKind::MemoryOnly { reason } = secrets.kind() {
        eprintln!("companion: {reason}");
    }
}

/// Where sign-in pages open: the system browser, or (`--auto-approve`, builds with the demo) the
/// simulator's pages, which approve at once.
pub fn browser(auto_approve: bool) -> Result<BrowserChoice, CliError> {
    match auto_approve {
        false => Ok(BrowserChoice::system()),
        #[cfg(feature = "demo")]
        true => Ok(BrowserChoice::Simulator),
        #[cfg(not(feature = "demo"))]
        true => Err(CliError::Usage(NO_DEMO.into())),
    }
}

/// What a build without the simulator says when asked for it.
#[cfg(not(feature = "demo"))]
pub const NO_DEMO: &str = "this build of companion has no simulator: `demo` and `--auto-approve` are only in builds with the `demo` feature (scripts/run.sh builds one); installed copies talk to the real clouds";
