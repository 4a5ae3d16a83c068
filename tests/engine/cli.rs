//! The `companion` command as a user runs it.

use serde_json::Value;
use std::process::Command;

fn companion() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_companion-under-test"));
    // The machine's own configuration must not leak into the test.
    c.env("COMPANION_CONFIG", "/nonexistent/config.toml").env("COMPANION_MANAGED_CONFIG", "/nonexistent/managed.toml");
    c
}

#[test]
fn demo_pops_every_call_and_ends_with_the_summary_then_status_reads_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let out = companion()
        .args(["demo", "--calls", "12", "--rate", "600", "--speed", "60", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let summary: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    let s = &summary["summary"];
    assert_eq!(s["calls"], 12);
    // Each of the agent's segments pops once: a transfer back adds one, a call transferred away still
    // popped for this agent first.
    let pops: u64 = s["pops"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(pops, s["segments"]["total"].as_u64().unwrap());
    assert!(pops >= 12, "{s}");
    let kinds = s["segments"]["by_kind"].as_object().unwrap();
    assert_eq!(kinds.values().map(|v| v.as_u64().unwrap()).sum::<u64>(), pops, "every segment has a kind");
    for k in ["inbound", "transfer", "consult", "transfer_back", "outbound", "callback"] {
        assert!(kinds[k].is_u64(), "{k}");
    }
    for k in ["attribute", "carried", "single", "multiple", "no_match", "unavailable"] {
        assert!(s["pops"][k].is_u64(), "{k}");
    }
    for k in ["hit", "miss"] {
        assert!(s["pop_ms"][k].get("p50").is_some() && s["pop_ms"][k].get("p99").is_some());
    }
    assert!(s["sf_api_calls"]["total"].is_u64());
    assert!(s["sf_api_calls"]["by_endpoint"].is_object());
    assert!(s["cache_hit_ratio"].is_number());
    assert_eq!(s["missed_segments"], 0);
    assert_eq!(s["duplicate_pops"], 0);
    assert_eq!(s["lost"], 0);
    assert_eq!(s["crm_duplicates"], 0);
    assert_eq!(s["crm_records"], s["dispositions"]["enqueued"]);
    assert_eq!(s["dispositions"]["delivered"], s["dispositions"]["enqueued"]);

    let out = companion().args(["status", "--json", "--db"]).arg(dir.path().join("companion.db")).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let status: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status["calls"], 12);
    assert_eq!(status["connection"]["state"], "stopped");
    let popped: u64 = status["pops"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(popped, 12);
    assert_eq!(status["queue"]["delivered"], s["dispositions"]["delivered"]);
    assert!(status["last_push_ms"].is_i64());
    assert!(status["cache_hit_ratio"].is_number(), "{status}");
    assert!(status["api_usage"]["max"].is_u64(), "{status}");
    let out = companion().args(["status", "--db"]).arg(dir.path().join("companion.db")).output().unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("Connection") && table.contains("stopped"), "{table}");
    assert!(table.contains("Dispositions") && table.contains("delivered"), "{table}");

    // The queue: list, and refusals that say why.
    let db = dir.path().join("companion.db");
    let out = companion().args(["queue", "list", "--json", "--db"]).arg(&db).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!rows.is_empty());
    let delivered =
        rows.iter().find(|r| r["state"] == "delivered").unwrap()["interaction_id"].as_str().unwrap().to_string();
    let out = companion().args(["queue", "discard", &delivered, "--reason", "test", "--db"]).arg(&db).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot be discarded"));
    let out = companion().args(["queue", "retry", "no-such-call", "--db"]).arg(&db).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no queued disposition"));
    let out = companion().args(["queue", "list", "--state", "lost", "--db"]).arg(&db).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown state"));
}

#[test]
fn a_bad_configuration_stops_with_the_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, "[pop]\nlookup_budget_ms = 100\ntriger = \"alerting\"\n").unwrap();
    let out = companion().args(["status", "--config"]).arg(&cfg).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("config.toml") && err.contains("line 3") && err.contains("triger"), "{err}");
    let out = companion().args(["status", "--set", "pop.trigger=sometimes"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("pop.trigger"));
}

#[test]
fn status_on_a_missing_database_says_so() {
    let out = companion().args(["status", "--db", "/nonexistent/companion.db"]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("has not run yet"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_checks_each_layer_endpoint_and_the_database_and_says_what_to_fix() {
    let sim = crate::common::sim().await;
    let dir = tempfile::tempdir().unwrap();
    let u = sim.urls().clone();
    let run = |api: String| {
        let db = dir.path().join("c.db");
        let u = u.clone();
        tokio::task::spawn_blocking(move || {
            companion()
                .args(["doctor", "--json", "--set", &format!("genesys.api_base={api}")])
                .args(["--set", &format!("genesys.login_base={}", u.genesys_login)])
                .args(["--set", &format!("genesys.streaming_base={}", u.genesys_streaming)])
                .args(["--set", &format!("salesforce.login_base={}", u.salesforce_login)])
                .args(["--set", &format!("store.path={}", db.display())])
                .env("COMPANION_CACHE__FRESH_SECS", "600")
                .output()
                .unwrap()
        })
    };
    let out = run(sim.urls().genesys_api.clone()).await.unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["format"], 1);
    assert_eq!(report["scope"], "user");
    let checks = report["checks"].as_array().unwrap().clone();
    let get = |name: &str| {
        checks.iter().find(|c| c["name"] == name).cloned().unwrap_or_else(|| panic!("no {name} check: {checks:?}"))
    };
    for name in
        ["network", "Genesys API", "Genesys login", "Genesys notifications", "Salesforce login", "database", "clock"]
    {
        assert_eq!(get(name)["severity"], "ok", "{name}: {}", get(name));
    }
    // The notification check opened a socket to the streaming service, not an HTTP GET.
    assert!(get("Genesys notifications")["detail"].as_str().unwrap().contains("the socket reached the server"));
    assert!(get("network")["detail"].as_str().unwrap().contains("the system's proxy settings"));
    // No Secret Service here: a warning, and the exit code says "warnings", not "failures".
    let worst = if get("keychain")["severity"] == "ok" { 0 } else { 1 };
    assert_eq!(out.status.code(), Some(worst), "{report}");
    assert_eq!(report["result"], if worst == 0 { "ok" } else { "warning" });
    let cfg = get("configuration")["detail"].as_str().unwrap().to_string();
    assert!(cfg.contains("genesys.api_base (CommandLine)") && cfg.contains("cache.fresh_secs (Environment)"), "{cfg}");
    // A port nobody listens on: the failing endpoint and the key to look at; exit code 2.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let out = run(format!("http://{closed}")).await.unwrap();
    assert_eq!(out.status.code(), Some(2));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["result"], "failure");
    let api = report["checks"].as_array().unwrap().iter().find(|c| c["name"] == "Genesys API").unwrap().clone();
    assert_eq!(api["severity"], "failure");
    assert!(api["fix"].as_str().unwrap().contains("genesys.api_base"), "{api}");
}

#[test]
fn doctor_for_the_machine_leaves_the_user_alone_and_an_unreadable_configuration_exits_3() {
    let dir = tempfile::tempdir().unwrap();
    let out = companion()
        .args(["doctor", "--json", "--scope", "machine"])
        .args(["--set", "genesys.api_base=http://127.0.0.1:9", "--set", "genesys.login_base=http://127.0.0.1:9"])
        .args(["--set", "genesys.streaming_base=ws://127.0.0.1:9", "--set", "salesforce.login_base=http://127.0.0.1:9"])
        .env("HOME", dir.path())
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["scope"], "machine");
    let names: Vec<&str> = report["checks"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert!(!names.contains(&"keychain") && !names.contains(&"database"), "{names:?}");
    assert_eq!(out.status.code(), Some(2), "nothing answers on port 9");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing written in the user's home");

    let out = companion().args(["doctor", "--json", "--set", "network.proxy=socks5://p:1080"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let error: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(error["result"], "error");
    assert!(error["error"].as_str().unwrap().contains("network.proxy"), "{error}");
}

/// Every path under `root` whose name is the app's.
fn traces(root: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found = vec![];
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().to_ascii_lowercase();
            if ["agent-companion", "agentcompanion", "companion.db"].iter().any(|n| name.contains(n)) {
                found.push(path.clone());
            }
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    found
}

#[test]
fn purge_leaves_nothing_of_the_user_on_disk_and_never_drops_an_undelivered_wrapup_silently() {
    use companion::outbox::Outbox;
    let home = tempfile::tempdir().unwrap();
    let h = home.path();
    // What a working day leaves: the database with a wrap-up not delivered yet, logs, the user's own
    // configuration, the window's data and cache, the login item.
    let db = h.join("data/agent-companion/companion.db");
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    {
        let store = std::sync::Arc::new(companion::store::Store::open(&db).unwrap());
        let outbox = Outbox::new(store, std::sync::Arc::new(companion::clock::SystemClock));
        outbox.enqueue(&crate::outbox::disposition("c-undelivered", "Completed", "call back")).unwrap();
    }
    for (file, text) in [
        ("state/agent-companion/logs/companion.2026-12-02.log", "INFO desk started\n"),
        ("config/agent-companion/config.toml", "[pop]\ntrigger = \"connected\"\n"),
        ("data/com.agentcompanion.desktop/localstorage/file__0.localstorage", "x"),
        ("cache/com.agentcompanion.desktop/WebKitCache/Version 16/x", "x"),
        ("config/autostart/agent-companion.desktop", "[Desktop Entry]\n"),
    ] {
        let path = h.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    // SQLite's -wal/-shm files come and go with readers.
    let lasting = || -> Vec<std::path::PathBuf> {
        traces(h)
            .into_iter()
            .filter(|p| !p.to_string_lossy().ends_with("-wal") && !p.to_string_lossy().ends_with("-shm"))
            .collect()
    };
    let before = lasting();
    assert!(before.len() >= 7, "{before:?}");
    let purge = |args: &[&str]| {
        companion()
            .env_remove("COMPANION_CONFIG")
            .env("HOME", h)
            .env("XDG_DATA_HOME", h.join("data"))
            .env("XDG_STATE_HOME", h.join("state"))
            .env("XDG_CONFIG_HOME", h.join("config"))
            .env("XDG_CACHE_HOME", h.join("cache"))
            .arg("purge")
            .args(args)
            .output()
            .unwrap()
    };
    let out = purge(&[]);
    assert_eq!(out.status.code(), Some(2), "without --yes nothing is removed");
    assert!(String::from_utf8_lossy(&out.stdout).contains("Nothing was removed"));
    assert_eq!(lasting(), before);

    let out = purge(&["--yes"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 wrap-up(s) have not reached Salesforce yet"));
    assert_eq!(lasting(), before, "an undelivered wrap-up stops the purge");

    let out = purge(&["--yes", "--discard-undelivered", "--json"]);
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_eq!(report["result"], "purged");
    assert_eq!(traces(h), Vec::<std::path::PathBuf>::new(), "nothing of the app is left: {report}");
}

/// Three consecutive free loopback ports.
fn free_ports(n: u16) -> u16 {
    for _ in 0..200 {
        let first = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        if first > 65_000 {
            continue;
        }
        let held: Vec<_> =
            (first..first + n).filter_map(|p| std::net::TcpListener::bind(("127.0.0.1", p)).ok()).collect();
        if held.len() == n as usize {
            return first;
        }
    }
    panic!("no {n} consecutive free ports");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_users_on_one_host_sign_in_at_the_same_time() {
    use cloud_sim::config::{DEFAULT_CLIENT_ID, OAuthClient};
    let base = free_ports(3);
    let redirect = |p: u16| format!("http://127.0.0.1:{p}/oauth/genesys");
    let client =
        OAuthClient { client_id: DEFAULT_CLIENT_ID.into(), redirect_uris: (base..base + 3).map(redirect).collect() };
    let sim = cloud_sim::SimHandle::start(cloud_sim::SimConfig {
        genesys_clients: vec![client],
        ..crate::common::sim_config()
    })
    .await
    .unwrap();
    // Each user's "browser": waits until both users' sign-ins are waiting for it (so both hold their
    // redirect port at once), then follows the sign-in page's redirect back to the app, as a person's
    // browser would.
    let bin = tempfile::tempdir().unwrap();
    let script = bin.path().join("xdg-open");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nd={d}\ntouch \"$d/opened.$$\"\nfor i in $(seq 200); do [ \"$(ls \"$d\" | grep -c '^opened')\" -ge 2 ] && break; sleep 0.05; done\n\
             loc=$(curl -s -o /dev/null -w '%{{redirect_url}}' \"$1\")\necho \"$loc\" >> \"$d/redirects\"\ncurl -s -o /dev/null \"$loc\"\n",
            d = bin.path().display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let u = sim.urls().clone();
    let homes = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let logins: Vec<_> = homes
        .iter()
        .map(|home| {
            companion()
                .env("HOME", home.path())
                .env("XDG_DATA_HOME", home.path().join("data"))
                .env("XDG_CONFIG_HOME", home.path().join("config"))
                .env("PATH", format!("{}:{}", bin.path().display(), std::env::var("PATH").unwrap_or_default()))
                .env_remove("DBUS_SESSION_BUS_ADDRESS")
                .args(["login", "genesys"])
                .args(["--set", &format!("genesys.api_base={}", u.genesys_api)])
                .args(["--set", &format!("genesys.login_base={}", u.genesys_login)])
                .args(["--set", &format!("genesys.streaming_base={}", u.genesys_streaming)])
                .args(["--set", &format!("genesys.redirect_uri={}", redirect(base))])
                .args(["--set", &format!("genesys.redirect_fallback_ports=[{}, {}]", base + 1, base + 2)])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let outputs = tokio::time::timeout(
        std::time::Duration::from_secs(90),
        tokio::task::spawn_blocking(move || {
            logins.into_iter().map(|c| c.wait_with_output().unwrap()).collect::<Vec<_>>()
        }),
    )
    .await
    .expect("both sign-ins end within 90 s")
    .unwrap();
    for out in &outputs {
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("Signed in to Genesys"));
    }
    let redirects = std::fs::read_to_string(bin.path().join("redirects")).unwrap();
    assert!(redirects.contains(&redirect(base)) && redirects.contains(&redirect(base + 1)), "{redirects}");
}
