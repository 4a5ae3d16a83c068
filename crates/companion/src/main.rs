//! `companion`: the headless engine. `demo` runs everything against the embedded simulator; `run`
//! against the configured clouds; `status` reads the local store.

use clap::{Parser, Subcommand};
use cloud_sim::scenario::ScenarioSpec;
use cloud_sim::{SimConfig, SimHandle};
use companion::auth::{self, Browser, FollowRedirect, SystemBrowser};
use companion::clock::{SharedClock, SystemClock};
use companion::config::{self, Config, Sources};
use companion::engine::{EngineHandle, EngineSetup};
use companion::events::{EngineEvent, EventSink, JsonLines};
use companion::genesys::feed::ConnectionState;
use companion::genesys::rest::GenesysClient;
use companion::salesforce::SalesforceClient;
use companion::screenpop::{PopDecision, PopOutcome, PopSource};
use companion::store::{self, Store};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
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

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("{0}")]
    Config(#[from] config::ConfigError),
    #[error("{0}")]
    Store(#[from] store::StoreError),
    #[error("sign-in failed: {0}")]
    Auth(#[from] auth::AuthError),
    #[error("{0}")]
    Genesys(#[from] companion::genesys::rest::GenesysError),
    #[error("the simulator could not start: {0}")]
    Sim(String),
    #[error("{0}")]
    Other(String),
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("COMPANION_LOG").unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Demo { calls, seed, rate, speed, json, ref data_dir } => {
            demo(&cli, calls, seed, rate, speed, json, data_dir.clone()).await
        }
        Command::Run { auto_approve } => run(&cli, auto_approve).await,
        Command::Status { json, ref db } => status(&cli, json, db.clone()),
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

fn status(cli: &Cli, json_out: bool, db: Option<PathBuf>) -> Result<ExitCode, CliError> {
    let path = match db {
        Some(p) => p,
        None => db_path(&load_config(cli)?.config),
    };
    let snap = companion::status::read(&path)?;
    if json_out {
        println!("{}", serde_json::to_string_pretty(&snap).expect("status serializes"));
    } else {
        print!("{}", snap.to_table());
    }
    Ok(ExitCode::SUCCESS)
}

/// Signs in to both clouds and builds the clients.
async fn sign_in(
    cfg: &Config,
    browser_g: &impl Browser,
    browser_s: &impl Browser,
) -> Result<(Arc<GenesysClient>, Arc<SalesforceClient>, String), CliError> {
    let g = auth::genesys(&cfg.genesys, browser_g).await?;
    let s = auth::salesforce(&cfg.salesforce, browser_s).await?;
    let http = reqwest::Client::builder().build().map_err(|e| CliError::Other(e.to_string()))?;
    let genesys = Arc::new(GenesysClient::new(http.clone(), &cfg.genesys.api(), g.access_token));
    let (user_id, _) = genesys.me().await?;
    let instance = cfg
        .salesforce
        .instance_url
        .clone()
        .or(s.instance_url)
        .ok_or_else(|| CliError::Other("Salesforce gave no instance URL".into()))?;
    let sf = Arc::new(SalesforceClient::new(http, &instance, &cfg.salesforce, s.access_token));
    Ok((genesys, sf, user_id))
}

async fn run(cli: &Cli, auto_approve: bool) -> Result<ExitCode, CliError> {
    let loaded = load_config(cli)?;
    let cfg = Arc::new(loaded.config);
    let store = Arc::new(Store::open(&db_path(&cfg))?);
    let (genesys, salesforce, user_id) = if auto_approve {
        let b = FollowRedirect(auth::oauth_http());
        sign_in(&cfg, &b, &b).await?
    } else {
        let timeout = Duration::from_secs(300);
        let g = SystemBrowser { redirect_uri: cfg.genesys.redirect_uri.clone(), timeout };
        let s = SystemBrowser { redirect_uri: cfg.salesforce.redirect_uri.clone(), timeout };
        sign_in(&cfg, &g, &s).await?
    };
    let clock: SharedClock = Arc::new(SystemClock);
    let engine = EngineHandle::start(EngineSetup {
        config: cfg,
        store,
        genesys,
        salesforce,
        user_id,
        sink: Arc::new(JsonLines::default()),
        clock,
    })?;
    let mut conn = engine.connection();
    let code = loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break ExitCode::SUCCESS,
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

/// Prints pops as they happen and keeps them for the summary.
struct DemoSink {
    json: bool,
    pops: Mutex<Vec<PopDecision>>,
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

impl EventSink for DemoSink {
    fn emit(&self, event: &EngineEvent) {
        if self.json {
            self.lines.emit(event);
        }
        if let EngineEvent::Pop(d) = event {
            if !self.json {
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
            self.pops.lock().unwrap_or_else(|e| e.into_inner()).push((**d).clone());
        }
        if let (false, EngineEvent::Connection { state }) = (self.json, event) {
            println!(
                "connection: {}",
                serde_json::to_value(state).map(|v| v["state"].as_str().unwrap_or("").to_string()).unwrap_or_default()
            );
        }
    }
}

fn percentiles(mut v: Vec<f64>) -> Value {
    if v.is_empty() {
        return json!({"p50": null, "p99": null, "n": 0});
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let at = |p: f64| {
        let x = v[((v.len() - 1) as f64 * p).round() as usize];
        (x * 1000.0).round() / 1000.0
    };
    json!({"p50": at(0.5), "p99": at(0.99), "n": v.len()})
}

#[allow(clippy::too_many_arguments)]
async fn demo(
    cli: &Cli,
    calls: u32,
    seed: u64,
    rate: f64,
    speed: f64,
    json_out: bool,
    data_dir: Option<PathBuf>,
) -> Result<ExitCode, CliError> {
    if calls == 0 || rate <= 0.0 || speed <= 0.0 {
        return Err(CliError::Other("--calls, --rate and --speed must be above 0".into()));
    }
    let sim =
        SimHandle::start(SimConfig { seed, ..SimConfig::default() }).await.map_err(|e| CliError::Sim(e.to_string()))?;
    let urls = sim.urls().clone();
    let mut flags = cli.set.clone();
    flags.extend([
        format!("genesys.api_base={}", urls.genesys_api),
        format!("genesys.login_base={}", urls.genesys_login),
        format!("genesys.streaming_base={}", urls.genesys_streaming),
        format!("salesforce.login_base={}", urls.salesforce_login),
    ]);
    // The demo ignores the machine's config files: it must run the same everywhere.
    let loaded = config::load(&Sources { flags, ..Default::default() })?;
    let temp = data_dir.is_none().then(|| std::env::temp_dir().join(format!("companion-demo-{}", std::process::id())));
    let dir = data_dir.or(temp.clone()).expect("one of them");
    let mut cfg = loaded.config;
    cfg.store.path = Some(dir.join("companion.db"));
    let cfg = Arc::new(cfg);
    let store = Arc::new(Store::open(cfg.store.path.as_deref().expect("set above"))?);
    let browser = FollowRedirect(auth::oauth_http());
    let (genesys, salesforce, user_id) = sign_in(&cfg, &browser, &browser).await?;
    if !json_out {
        println!("Simulator up; signed in to both clouds as agent {user_id} (authorization code + PKCE).");
    }
    let sink = Arc::new(DemoSink { json: json_out, pops: Mutex::new(vec![]), lines: JsonLines::default() });
    let clock: SharedClock = Arc::new(SystemClock);
    let engine = EngineHandle::start(EngineSetup {
        config: cfg,
        store,
        genesys,
        salesforce,
        user_id,
        sink: sink.clone(),
        clock,
    })?;
    let mut conn = engine.connection();
    // (The borrow `wait_for` returns must not outlive this line: it would block the feed's updates.)
    let connected = tokio::time::timeout(
        Duration::from_secs(15),
        conn.wait_for(|s| matches!(s, ConnectionState::Connected { .. })),
    )
    .await
    .is_ok_and(|r| r.is_ok());
    if !connected {
        return Err(CliError::Other("the notification feed did not connect in 15 s".into()));
    }
    let spec = ScenarioSpec { calls, rate_per_min: rate / speed, seed: Some(seed), speed, ..ScenarioSpec::default() };
    let scenario = sim.start_scenario(spec).map_err(|e| CliError::Other(e.to_string()))?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs_f64(calls as f64 * 60.0 / rate + 120.0);
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let progress = sim.scenario(&scenario).unwrap_or_default();
        let popped = sink.pops.lock().unwrap_or_else(|e| e.into_inner()).len() as u32;
        if (progress.done && popped >= progress.placed) || tokio::time::Instant::now() > deadline {
            break;
        }
    }
    let progress = sim.scenario(&scenario).unwrap_or_default();
    let stats = sim.stats();
    let resolver = engine.resolver().clone();
    engine.stop().await;
    sim.shutdown().await;
    let pops = sink.pops.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut by_outcome: BTreeMap<&str, u64> =
        ["attribute", "single", "multiple", "no_match", "no_number", "unavailable"].iter().map(|k| (*k, 0)).collect();
    let mut per_conv: HashMap<&str, u32> = HashMap::new();
    for p in &pops {
        *by_outcome.entry(p.outcome.label()).or_default() += 1;
        *per_conv.entry(p.conversation_id.as_str()).or_default() += 1;
    }
    let ms = |src: PopSource| {
        percentiles(pops.iter().filter(|p| p.source == src).map(|p| p.elapsed_us as f64 / 1000.0).collect())
    };
    let sf_endpoints: BTreeMap<String, u64> = stats["endpoints"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| k.strip_prefix("salesforce ").map(|e| (e.to_string(), v["count"].as_u64().unwrap_or(0))))
        .collect();
    let hits = resolver.stats.hits.load(std::sync::atomic::Ordering::Relaxed);
    let misses = resolver.stats.misses.load(std::sync::atomic::Ordering::Relaxed);
    let missed = progress.conversation_ids.iter().filter(|c| !per_conv.contains_key(c.as_str())).count();
    let summary = json!({"summary": {
        "calls": progress.placed,
        "pops": by_outcome,
        "pop_ms": {"hit": ms(PopSource::Cache), "miss": ms(PopSource::Search)},
        "sf_api_calls": {"total": sf_endpoints.values().sum::<u64>(), "by_endpoint": sf_endpoints,
                         "per_call": if progress.placed > 0 { (sf_endpoints.values().sum::<u64>() as f64 / progress.placed as f64 * 1000.0).round() / 1000.0 } else { 0.0 }},
        "cache_hit_ratio": if hits + misses > 0 { (hits as f64 / (hits + misses) as f64 * 1000.0).round() / 1000.0 } else { 0.0 },
        "missed_calls": missed,
        "duplicate_pops": per_conv.values().filter(|n| **n > 1).count(),
    }});
    if !json_out {
        println!();
    }
    println!("{summary}");
    if let Some(t) = temp {
        let _ = std::fs::remove_dir_all(t);
    }
    Ok(if missed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
