//! Fault injection by count and by rate, in each cloud's own error shapes.

use crate::common::*;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

async fn limits(sim: &cloud_sim::SimHandle, token: &str) -> reqwest::Response {
    http().get(format!("{}/services/data/v62.0/limits", sim.urls().salesforce)).bearer_auth(token).send().await.unwrap()
}

#[tokio::test]
async fn server_errors_on_the_next_n_requests() {
    let sim = sim().await;
    let token = sf_token(&sim).await;
    control(&sim, "/_sim/faults", json!({"kind": "server_error", "service": "salesforce", "count": 2})).await;
    for _ in 0..2 {
        let r = limits(&sim, &token).await;
        assert_eq!(r.status(), 503);
        assert_eq!(
            r.json::<Value>().await.unwrap(),
            json!([{"message": "Server is unavailable", "errorCode": "SERVER_UNAVAILABLE"}])
        );
    }
    assert_eq!(limits(&sim, &token).await.status(), 200);
    let stats: Value = http().get(format!("{}/_sim/stats", sim.urls().control)).fetch_json().await;
    let e = &stats["endpoints"]["salesforce GET /services/data/{v}/limits"];
    assert_eq!(e["count"], 3);
    assert_eq!(e["by_status"], json!({"200": 1, "503": 2}));
    let faults: Value = http().get(format!("{}/_sim/faults", sim.urls().control)).fetch_json().await;
    assert_eq!(faults["faults"], json!([]), "a spent rule retires");
}

#[tokio::test]
async fn html_error_pages_rate_limits_and_budget_errors() {
    let sim = sim().await;
    let token = sf_token(&sim).await;
    let (gtoken, _) = genesys_token(&sim).await;
    control(
        &sim,
        "/_sim/faults",
        json!({"kind": "html_server_error", "service": "salesforce", "status": 502, "count": 1}),
    )
    .await;
    let r = limits(&sim, &token).await;
    assert_eq!(r.status(), 502);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    control(
        &sim,
        "/_sim/faults",
        json!({"kind": "rate_limit", "service": "genesys_api", "retry_after_secs": 7, "count": 1}),
    )
    .await;
    let r =
        http().get(format!("{}/api/v2/users/me", sim.urls().genesys_api)).bearer_auth(&gtoken).send().await.unwrap();
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["retry-after"], "7");
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "too.many.requests.retry.after");
    control(&sim, "/_sim/faults", json!({"kind": "limit_exceeded", "service": "salesforce", "count": 1})).await;
    let r = limits(&sim, &token).await;
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().await.unwrap()[0]["message"], "TotalRequests Limit exceeded.");
    control(&sim, "/_sim/faults", json!({"kind": "concurrent_limit", "service": "salesforce", "count": 1})).await;
    let r = limits(&sim, &token).await;
    assert_eq!(r.status(), 403);
    assert!(r.json::<Value>().await.unwrap()[0]["message"].as_str().unwrap().starts_with("ConcurrentRequests"));
    control(&sim, "/_sim/faults", json!({"kind": "api_disabled", "service": "salesforce", "count": 1})).await;
    let r = limits(&sim, &token).await;
    assert_eq!(r.status(), 401);
    assert!(
        r.json::<Value>().await.unwrap()[0]["message"]
            .as_str()
            .unwrap()
            .contains("not valid for use with the REST API")
    );
}

#[tokio::test]
async fn token_expiry_sticks() {
    let sim = sim().await;
    let token = sf_token(&sim).await;
    control(&sim, "/_sim/faults", json!({"kind": "token_expired", "service": "salesforce", "count": 1})).await;
    assert_eq!(limits(&sim, &token).await.status(), 401);
    assert_eq!(limits(&sim, &token).await.status(), 401);
    assert_eq!(limits(&sim, &sf_token(&sim).await).await.status(), 200);
}

#[tokio::test]
async fn a_reset_after_the_write_leaves_the_record_written() {
    let sim = sim().await;
    let token = sf_token(&sim).await;
    let batch = |id: &str| json!({"allOrNone": false, "records": [{"attributes": {"type": "Disposition_Log__c"}, "Interaction_ID__c": id, "Disposition_Code__c": "Completed"}]});
    let send = |body: Value| {
        http()
            .patch(format!(
                "{}/services/data/v62.0/composite/sobjects/Disposition_Log__c/Interaction_ID__c",
                sim.urls().salesforce
            ))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    control(&sim, "/_sim/faults", json!({"kind": "reset_after_write", "path_contains": "/composite/", "count": 1}))
        .await;
    assert!(send(batch("r-1")).await.is_err(), "the client sees the connection drop");
    control(&sim, "/_sim/faults", json!({"kind": "reset_before_write", "path_contains": "/composite/", "count": 1}))
        .await;
    assert!(send(batch("r-2")).await.is_err());
    let recs: Value =
        http().get(format!("{}/_sim/salesforce/Disposition_Log__c", sim.urls().control)).fetch_json().await;
    let written: Vec<&str> =
        recs["records"].as_array().unwrap().iter().map(|r| r["Interaction_ID__c"].as_str().unwrap()).collect();
    assert_eq!(written, ["r-1"]);
    // The retry is an update, not a second record.
    let res: Value = send(batch("r-1")).await.unwrap().json().await.unwrap();
    assert_eq!(res[0]["created"], false);
}

#[tokio::test]
async fn latency_and_rates() {
    let sim = sim().await;
    let token = sf_token(&sim).await;
    control(&sim, "/_sim/faults", json!({"kind": "latency", "latency_ms": 150, "service": "salesforce", "count": 1}))
        .await;
    let t = Instant::now();
    assert_eq!(limits(&sim, &token).await.status(), 200);
    assert!(t.elapsed() >= Duration::from_millis(150));
    let id = control(&sim, "/_sim/faults", json!({"kind": "server_error", "service": "salesforce", "rate": 0.5})).await
        ["id"]
        .as_u64()
        .unwrap();
    let mut failed = 0;
    for _ in 0..200 {
        if limits(&sim, &token).await.status() == 503 {
            failed += 1;
        }
    }
    assert!((60..=140).contains(&failed), "{failed} of 200 at rate 0.5");
    let r = http().delete(format!("{}/_sim/faults/{id}", sim.urls().control)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(limits(&sim, &token).await.status(), 200);
}

#[tokio::test]
async fn bad_fault_specs_get_a_clear_error() {
    let sim = sim().await;
    for body in [
        json!({"kind": "server_error"}),
        json!({"kind": "server_error", "rate": 0.5, "count": 1}),
        json!({"kind": "server_error", "rate": 2.0}),
        json!({"kind": "latency", "count": 1}),
        json!({"kind": "explode", "count": 1}),
        json!({"kind": "server_error", "count": 1, "status": 200}),
    ] {
        let r = http().post(format!("{}/_sim/faults", sim.urls().control)).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 400, "{body}");
        assert!(r.json::<Value>().await.unwrap()["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}

#[tokio::test]
async fn the_control_api_answers_loopback_hosts_only() {
    let sim = sim().await;
    let health = format!("{}/_sim/health", sim.urls().control);
    assert!(http().get(&health).send().await.unwrap().status().is_success());
    // A page that rebinds evil.example to 127.0.0.1 arrives with its own Host header.
    let rebound = http()
        .post(format!("{}/_sim/tokens", sim.urls().control))
        .header("Host", "evil.example")
        .json(&serde_json::json!({"cloud": "genesys"}))
        .send()
        .await
        .unwrap();
    assert_eq!(rebound.status().as_u16(), 403);
}
