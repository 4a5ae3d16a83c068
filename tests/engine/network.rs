//! Through a corporate network: the clouds (the simulator over HTTPS with a CA of its own) behind an
//! authenticating forward proxy (squid) and behind a TLS-inspecting proxy (mitmproxy). Through each,
//! the app signs in to both clouds, receives notification events on its socket, pops the caller and
//! delivers the wrap-up; a missing proxy sign-in or an untrusted inspection CA fails with a sentence
//! that says so.

use crate::common::*;
use crate::proxies;
use crate::segments::{agent, finish, place_flow, pops_of, segment_ids, single_caller};
use cloud_sim::tls::SimTls;
use cloud_sim::{SimConfig, SimHandle};
use companion::screenpop::PopOutcome;
use companion::signin::Clouds;
use serde_json::json;
use std::path::PathBuf;

/// The simulator over HTTPS on `bind`, its URLs on `localhost`, and its CA in a file.
async fn https_sim(bind: &str) -> (SimHandle, tempfile::TempDir, PathBuf) {
    let tls = SimTls::generate("localhost").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("clouds-ca.pem");
    std::fs::write(&ca, &tls.ca_pem).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(&ca, std::fs::Permissions::from_mode(0o644)).unwrap();
    let config = SimConfig { bind: bind.parse().unwrap(), tls: Some(tls), ..sim_config() };
    (SimHandle::start(config).await.unwrap(), dir, ca)
}

/// One call from pop to Salesforce, everything the engine does going through the configured network.
async fn a_call_pops_and_its_wrapup_arrives(sim: &SimHandle, flags: &[&str]) {
    let (a, _d) = agent(sim, "alex.morgan@example.com", flags).await;
    let (ani, record) = single_caller(sim, 5);
    let placed = place_flow(sim, "plain", &ani, json!({})).await;
    let cid = placed["conversation_id"].as_str().unwrap().to_string();
    let id = segment_ids(&placed, &a.user).remove(0);
    eventually("the pop, from an event on the socket", 15, async || pops_of(&a, &id).len() == 1).await;
    assert!(
        matches!(&pops_of(&a, &id)[0].outcome, PopOutcome::Single { candidate } if candidate.id == record),
        "{:?}",
        pops_of(&a, &id)
    );
    finish(sim, &cid).await;
    a.engine.flush_outbox();
    eventually("the wrap-up in Salesforce", 20, async || crm(sim).await.get(&id).is_some_and(|r| r.len() == 1)).await;
    // Stopped, and its sessions dropped here: their pooled connections close (a proxy logs a
    // tunnel when it ends).
    a.engine.stop().await;
}

#[tokio::test]
async fn through_an_authenticating_proxy_that_alone_can_reach_the_clouds() {
    // The clouds listen on 127.0.0.2; their URLs say `localhost`, which only the proxy resolves there:
    // a connection that bypassed the proxy would find nothing listening.
    let (sim, _ca_dir, ca) = https_sim("127.0.0.2").await;
    let squid = proxies::squid("agent7", "pass word", "127.0.0.2 localhost\n");
    let direct = reqwest::Client::new().get(format!("{}/api/v2/users/me", sim.urls().genesys_api)).send().await;
    assert!(direct.is_err(), "the clouds are not reachable without the proxy");

    let proxy = format!("network.proxy=http://agent7:pass%20word@127.0.0.1:{}", squid.port);
    let trust = format!("network.extra_ca_files=[\"{}\"]", ca.display());
    a_call_pops_and_its_wrapup_arrives(&sim, &[&proxy, &trust]).await;
    let u = sim.urls().clone();
    let tunnels: Vec<String> =
        [&u.genesys_login, &u.genesys_api, &u.genesys_streaming, &u.salesforce_login, &u.salesforce]
            .iter()
            .map(|service| format!("CONNECT localhost:{} agent7", service.rsplit(':').next().unwrap()))
            .collect();
    let logged = cloud_sim::wait::try_eventually(10, async || tunnels.iter().all(|t| squid.log().contains(t))).await;
    assert!(logged, "every cloud service was reached through the proxy as its signed-in user: {}", squid.log());

    // Without the proxy's sign-in: refused, and the sentence says what to set.
    let cfg = config_for(&sim, &[&format!("network.proxy=http://127.0.0.1:{}", squid.port), &trust]);
    let e = Clouds::simulated(&cfg).await.unwrap_err().to_string();
    assert!(e.contains("network.proxy as http://user:password@host:port"), "{e}");
}

#[tokio::test]
async fn through_a_tls_inspecting_proxy_whose_ca_is_trusted() {
    let (sim, _ca_dir, ca) = https_sim("127.0.0.1").await;
    let mitm = proxies::mitmproxy(&ca);
    let proxy = format!("network.proxy=http://127.0.0.1:{}", mitm.port);
    // The app trusts the inspecting proxy's CA and not the clouds' own: every connection that works
    // went through the inspection.
    let trust = format!("network.extra_ca_files=[\"{}\"]", mitm.mitm_ca().display());
    a_call_pops_and_its_wrapup_arrives(&sim, &[&proxy, &trust]).await;
    assert!(mitm.log().contains("https://localhost"), "{}", mitm.log());

    // The proxy's CA not trusted: the sign-in fails and says why and what to do.
    let cfg = config_for(&sim, &[&proxy]);
    let e = Clouds::simulated(&cfg).await.unwrap_err().to_string();
    assert!(e.contains("issued by an authority this computer does not trust"), "{e}");
    assert!(e.contains("network.extra_ca_files"), "{e}");
}
