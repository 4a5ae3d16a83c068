//! The network half of `doctor`: the layer every connection uses (proxy, trust), each configured
//! endpoint through it, the notification socket opened for real, and the clock against the servers'.

use super::{Check, check};
use crate::config::{Layer, LoadedConfig};
use crate::net::Network;
use crate::net::socket::SocketError;
use std::time::Duration;

/// The network layer as configured: which proxy, which extra trust; a failure when it cannot be set up.
pub fn network_check(l: &LoadedConfig) -> (Check, Option<Network>) {
    let n = &l.config.network;
    match Network::new(n) {
        Ok(network) => {
            let trust = match n.extra_ca_files.len() {
                0 => "the system's trust store".to_string(),
                k => format!("the system's trust store and {k} extra CA file(s)"),
            };
            let detail =
                format!("connections go {}; certificates are checked against {trust}", network.proxy().describe());
            (check("network", true, detail, None), Some(network))
        }
        Err(e) => {
            let key = match e {
                crate::net::NetworkError::CaFile { .. } => "network.extra_ca_files",
                _ => "network.proxy",
            };
            let fix = format!("correct {key} (set by the {:?} layer)", l.origin(key));
            (check("network", false, e.to_string(), Some(fix)), None)
        }
    }
}

/// Whether a URL answers over HTTP (any status is an answer); the server's clock from `Date`.
async fn reach(http: &reqwest::Client, url: &str) -> Result<Option<chrono::DateTime<chrono::Utc>>, String> {
    let r = http.get(url).send().await.map_err(|e| crate::net::explain(&e))?;
    Ok(r.headers()
        .get(reqwest::header::DATE)
        .and_then(|d| d.to_str().ok())
        .and_then(|d| chrono::DateTime::parse_from_rfc2822(d).ok())
        .map(|d| d.with_timezone(&chrono::Utc)))
}

/// Opens a notification socket without a sign-in: a channel that does not exist, so the server
/// answers the upgrade with an HTTP status. That answer proves what the feed needs of the network
/// (proxy tunnel, TLS, the upgrade reaching the server); a plain GET would not.
async fn reach_socket(network: &Network, streaming: &str) -> Result<String, String> {
    let url = format!("{}/channels/agent-companion-doctor", streaming.trim_end_matches('/'));
    let limits = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default();
    match tokio::time::timeout(Duration::from_secs(10), network.open_socket(&url, limits)).await {
        Err(_) => Err(format!("{streaming}: the socket did not open in 10 s")),
        Ok(Ok(_socket)) => Ok(format!("{streaming}: a socket opened")),
        Ok(Err(SocketError::Refused { status, .. })) => {
            Ok(format!("{streaming}: the socket reached the server (HTTP {status} without a sign-in, as expected)"))
        }
        Ok(Err(e)) => Err(format!("{streaming}: {e}")),
    }
}

/// The layer that decided a value named by `a / b` keys: the first of them set anywhere but the defaults.
fn setter(l: &LoadedConfig, keys: &str) -> Layer {
    keys.split(" / ").map(|k| l.origin(k.trim())).find(|layer| *layer != Layer::Default).unwrap_or(Layer::Default)
}

/// The network layer, every configured endpoint through it, and the clock against the servers'.
pub async fn endpoint_checks(l: &LoadedConfig) -> Vec<Check> {
    let c = &l.config;
    let (layer, network) = network_check(l);
    let mut out = vec![layer];
    let Some(network) = network else { return out };
    let http =
        match network.builder().timeout(Duration::from_secs(5)).redirect(reqwest::redirect::Policy::none()).build() {
            Ok(h) => h,
            Err(e) => {
                let detail = format!("no HTTPS client could be made ({e})");
                out.push(check("endpoints", false, detail, Some("reinstall Agent Companion".into())));
                return out;
            }
        };
    let mut targets = vec![
        ("Genesys API", "genesys.api_base / genesys.region", c.genesys.api()),
        ("Genesys login", "genesys.login_base / genesys.region", c.genesys.login()),
        ("Salesforce login", "salesforce.login_base", c.salesforce.login_base.clone()),
    ];
    if let Some(i) = &c.salesforce.instance_url {
        targets.push(("Salesforce instance", "salesforce.instance_url", i.clone()));
    }
    if let Some(feed) = c.updates.feed_url.as_ref().filter(|_| c.updates.prompts) {
        targets.push(("Release feed", "updates.feed_url", feed.clone()));
    }
    let fix = |key: &str| {
        Some(format!("check {key} (set by the {:?} layer), the network, proxy and firewall", setter(l, key)))
    };
    let mut skew: Option<i64> = None;
    for (name, key, url) in targets {
        match reach(&http, &url).await {
            Ok(date) => {
                if let (Some(d), None) = (date, skew) {
                    skew = Some((chrono::Utc::now() - d).num_seconds());
                }
                out.push(check(name, true, format!("{url} answers"), None));
            }
            Err(e) => out.push(check(name, false, format!("{url}: {e}"), fix(key))),
        }
    }
    let streaming_key = "genesys.streaming_base / genesys.region";
    match reach_socket(&network, &c.genesys.streaming()).await {
        Ok(detail) => out.push(check("Genesys notifications", true, detail, None)),
        Err(detail) => out.push(check("Genesys notifications", false, detail, fix(streaming_key))),
    }
    match skew {
        Some(s) if s.abs() > 60 => out.push(check(
            "clock",
            false,
            format!("this machine's clock is {s} s off the servers'"),
            Some("turn on automatic time (NTP): sign-ins and expiry warnings depend on it".into()),
        )),
        Some(s) => out.push(check("clock", true, format!("within {} s of the servers'", s.abs()), None)),
        None => out.push(check("clock", true, "not compared (no server answered with a date)", None)),
    }
    out
}
