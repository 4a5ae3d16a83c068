//! `cloud-sim`: runs the Genesys Cloud + Salesforce simulator on loopback and, optionally, a scenario
//! watched through the same wire a real client uses.

use clap::Parser;
use cloud_sim::config::PopulationConfig;
use cloud_sim::scenario::ScenarioSpec;
use cloud_sim::{Ports, SimConfig, SimHandle};
use futures_util::StreamExt;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::Write;
use std::net::IpAddr;
use std::process::ExitCode;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

/// A local Genesys Cloud + Salesforce, for tests, demos and benchmarks.
#[derive(Debug, Parser)]
#[command(name = "cloud-sim", version)]
struct Args {
    /// Seed of the generated data and of every random choice.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Loopback address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,
    /// Put the six listeners on consecutive ports from this one (0: ephemeral ports).
    #[arg(long, default_value_t = 0)]
    base_port: u16,
    #[arg(long)]
    genesys_api_port: Option<u16>,
    #[arg(long)]
    genesys_login_port: Option<u16>,
    #[arg(long)]
    genesys_streaming_port: Option<u16>,
    #[arg(long)]
    salesforce_port: Option<u16>,
    #[arg(long)]
    salesforce_login_port: Option<u16>,
    #[arg(long)]
    control_port: Option<u16>,
    /// Seconds between notification heartbeats.
    #[arg(long, default_value_t = 30.0)]
    heartbeat_secs: f64,
    /// Contacts to generate.
    #[arg(long, default_value_t = PopulationConfig::default().contacts)]
    contacts: usize,
    /// Run a scenario of this many calls at start.
    #[arg(long)]
    scenario_calls: Option<u32>,
    /// Scenario calls per minute (before --speed).
    #[arg(long, default_value_t = 12.0)]
    rate: f64,
    /// Time compression of the scenario (10 = ten times faster than life).
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Watch the scenario as a client would (OAuth token, channel, socket, Salesforce search) and print it.
    #[arg(long)]
    watch: bool,
    /// Print watched events as JSON lines instead of text.
    #[arg(long)]
    json: bool,
    /// Exit when the scenario is over instead of staying up.
    #[arg(long)]
    exit_after_scenario: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let mut ports = Ports::from_base(args.base_port);
    let overrides = [
        (&mut ports.genesys_api, args.genesys_api_port),
        (&mut ports.genesys_login, args.genesys_login_port),
        (&mut ports.genesys_streaming, args.genesys_streaming_port),
        (&mut ports.salesforce, args.salesforce_port),
        (&mut ports.salesforce_login, args.salesforce_login_port),
        (&mut ports.control, args.control_port),
    ];
    for (slot, v) in overrides {
        if let Some(p) = v {
            *slot = p;
        }
    }
    let mut config = SimConfig { seed: args.seed, bind: args.bind, ports, ..SimConfig::default() };
    config.population.contacts = args.contacts;
    config.settings.heartbeat_secs = args.heartbeat_secs;
    let sim = match SimHandle::start(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cloud-sim: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!("{}", serde_json::to_string(sim.urls()).expect("urls serialize"));
    let _ = std::io::stdout().flush();

    let watcher = if args.watch {
        let urls = sim.urls().clone();
        let json_out = args.json;
        let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            if let Err(e) = watch(urls, json_out, ready_tx).await {
                eprintln!("cloud-sim: watcher stopped: {e}");
            }
        });
        // Start the scenario once the watcher listens: the feed replays nothing.
        let _ = tokio::time::timeout(Duration::from_secs(10), ready_rx).await;
        Some(task)
    } else {
        None
    };
    let mut scenario_id = None;
    if let Some(calls) = args.scenario_calls {
        let spec = ScenarioSpec { calls, rate_per_min: args.rate, speed: args.speed, ..ScenarioSpec::default() };
        match sim.start_scenario(spec) {
            Ok(id) => scenario_id = Some(id),
            Err(e) => {
                eprintln!("cloud-sim: cannot run the scenario: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let outcome = tokio::select! {
        _ = tokio::signal::ctrl_c() => ExitCode::SUCCESS,
        code = wait_for_scenario(&sim, scenario_id.as_deref(), args.exit_after_scenario, args.json) => code,
    };
    if let Some(w) = watcher {
        w.abort();
    }
    sim.shutdown().await;
    outcome
}

async fn wait_for_scenario(sim: &SimHandle, id: Option<&str>, exit: bool, json_out: bool) -> ExitCode {
    if let Some(id) = id {
        loop {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if sim.scenario(id).is_some_and(|p| p.done) {
                break;
            }
        }
        // Let the watcher print the last frames.
        tokio::time::sleep(Duration::from_millis(500)).await;
        print_summary(sim, id, json_out);
        if exit {
            return ExitCode::SUCCESS;
        }
    }
    std::future::pending::<()>().await;
    ExitCode::SUCCESS
}

fn print_summary(sim: &SimHandle, id: &str, json_out: bool) {
    let Some(p) = sim.scenario(id) else { return };
    let stats = sim.stats();
    let by_service = stats["requests_by_service"].clone();
    if json_out {
        println!(
            "{}",
            json!({"summary": {"calls": p.placed, "finished": p.finished, "requests_by_service": by_service, "sockets": stats["sockets"]}})
        );
    } else {
        println!();
        println!("Scenario over: {} calls placed, {} finished.", p.placed, p.finished);
        println!("Requests served by service: {by_service}");
        println!("Notification frames sent: {}", stats["sockets"]["frames_sent"]);
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What the watcher has seen of one conversation.
#[derive(Default)]
struct Seen {
    last: String,
}

/// Plays a client: token, channel, subscription, socket; prints each call transition once and looks
/// the caller up in Salesforce at alerting.
async fn watch(
    urls: cloud_sim::SimUrls,
    json_out: bool,
    ready: tokio::sync::oneshot::Sender<()>,
) -> Result<(), BoxError> {
    let http = reqwest::Client::new();
    let mint = |cloud: &str| http.post(format!("{}/_sim/tokens", urls.control)).json(&json!({"cloud": cloud})).send();
    let g: Value = mint("genesys").await?.error_for_status()?.json().await?;
    let s: Value = mint("salesforce").await?.error_for_status()?.json().await?;
    let (gtoken, uid) = (
        g["access_token"].as_str().unwrap_or_default().to_string(),
        g["user_id"].as_str().unwrap_or_default().to_string(),
    );
    let stoken = s["access_token"].as_str().unwrap_or_default().to_string();
    let codes: Value = http
        .get(format!("{}/api/v2/routing/wrapupcodes?pageSize=100", urls.genesys_api))
        .bearer_auth(&gtoken)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let code_names: HashMap<String, String> = codes["entities"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| (c["id"].as_str().unwrap_or_default().to_string(), c["name"].as_str().unwrap_or_default().to_string()))
        .collect();
    let channel: Value = http
        .post(format!("{}/api/v2/notifications/channels", urls.genesys_api))
        .bearer_auth(&gtoken)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let channel_id = channel["id"].as_str().ok_or("no channel id")?;
    http.put(format!("{}/api/v2/notifications/channels/{channel_id}/subscriptions", urls.genesys_api))
        .bearer_auth(&gtoken)
        .json(&json!([{"id": format!("v2.users.{uid}.conversations")}]))
        .send()
        .await?
        .error_for_status()?;
    let (mut ws, _) = tokio_tungstenite::connect_async(channel["connectUri"].as_str().ok_or("no connectUri")?).await?;
    if !json_out {
        println!("Watching agent {uid} on channel {channel_id}.");
    }
    let _ = ready.send(());
    let mut seen: HashMap<String, Seen> = HashMap::new();
    while let Some(msg) = ws.next().await {
        let Message::Text(text) = msg? else { continue };
        let frame: Value = serde_json::from_str(text.as_str())?;
        let topic = frame["topicName"].as_str().unwrap_or_default();
        if !topic.ends_with(".conversations") {
            continue;
        }
        let body = &frame["eventBody"];
        let cid = body["id"].as_str().unwrap_or_default().to_string();
        let parts = body["participants"].as_array().cloned().unwrap_or_default();
        let customer = parts.iter().find(|p| p["purpose"] == "customer").cloned().unwrap_or(Value::Null);
        let Some(agent) = parts.iter().rfind(|p| p["purpose"] == "agent" && p["userId"] == uid.as_str()) else {
            continue;
        };
        let call = &agent["calls"][0];
        let state = call["state"].as_str().unwrap_or("?");
        let acw = call["afterCallWork"]["state"].as_str().unwrap_or("");
        let label = match (state, acw, agent.get("wrapup").is_some()) {
            (_, _, true) => "wrapped up",
            ("disconnected", "pending", _) => "after-call work",
            ("disconnected", _, _) if agent.get("connectedTime").is_none() => "abandoned",
            ("disconnected", _, _) => "disconnected",
            (s, _, _) => s,
        }
        .to_string();
        let entry = seen.entry(cid.clone()).or_default();
        if entry.last == label {
            continue; // a repeated snapshot
        }
        entry.last = label.clone();
        let ani = customer["address"].as_str().unwrap_or("");
        let mut line = json!({"conversation": cid, "event": label, "ani": ani});
        let mut text_line =
            format!("{} {:<16} {}", &cid[..8.min(cid.len())], label, if ani.is_empty() { "(no number)" } else { ani });
        if label == "alerting" {
            if let Some(id) = customer["attributes"]["contact_id"].as_str() {
                text_line.push_str(&format!("  IVR contact_id={id:?}"));
                line["contact_id"] = json!(id);
            }
            let digits: String = ani.strip_prefix("tel:").unwrap_or("").chars().filter(char::is_ascii_digit).collect();
            if digits.len() >= 7 {
                let found = lookup(&http, &urls.salesforce, &stoken, &digits).await.unwrap_or_default();
                text_line.push_str(&format!(
                    "  Salesforce: {}",
                    if found.is_empty() { "no match".to_string() } else { found.join("; ") }
                ));
                line["salesforce"] = json!(found);
            }
        }
        if label == "wrapped up" {
            let code = agent["wrapup"]["code"].as_str().unwrap_or("");
            let name = code_names.get(code).map(String::as_str).unwrap_or(code);
            text_line.push_str(&format!("  code={name:?} notes={:?}", agent["wrapup"]["notes"].as_str().unwrap_or("")));
            line["wrapup_code"] = json!(name);
        }
        if json_out {
            println!("{line}");
        } else {
            println!("{text_line}");
        }
    }
    let _ = ws.close(None).await;
    Ok(())
}

async fn lookup(http: &reqwest::Client, base: &str, token: &str, digits: &str) -> Result<Vec<String>, BoxError> {
    let sosl = format!(
        "FIND {{{}}} IN PHONE FIELDS RETURNING Contact(Id, Name, Account.Name), Lead(Id, Name, Company)",
        cloud_sim::sosl_escape_term(digits)
    );
    let v: Value = http
        .get(format!("{base}/services/data/v62.0/search/"))
        .query(&[("q", sosl)])
        .bearer_auth(token)
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(v["searchRecords"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let org = r["Account"]["Name"].as_str().or(r["Company"].as_str()).unwrap_or("no account");
            format!("{} {} ({org})", r["attributes"]["type"].as_str().unwrap_or(""), r["Name"].as_str().unwrap_or(""))
        })
        .collect())
}
