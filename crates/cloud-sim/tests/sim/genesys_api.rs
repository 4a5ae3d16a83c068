//! Genesys REST: users/me, tokens, conversations, wrap-up codes and participant wrap-up, rate limits.

use crate::common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn every_response_carries_correlation_and_rate_limit_headers() {
    let sim = sim().await;
    let (token, uid) = genesys_token(&sim).await;
    let r = http().get(format!("{}/api/v2/users/me", sim.urls().genesys_api)).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    for h in ["ININ-Correlation-Id", "inin-ratelimit-count", "inin-ratelimit-allowed", "inin-ratelimit-reset"] {
        assert!(r.headers().contains_key(h), "{h}");
    }
    assert_eq!(r.headers()["inin-ratelimit-allowed"], "300");
    let me: Value = r.json().await.unwrap();
    assert_eq!(me["id"], uid.as_str());
    assert!(me["name"].is_string() && me["email"].is_string());
}

#[tokio::test]
async fn the_per_token_budget_answers_429_with_retry_after() {
    let sim = sim().await;
    settings(&sim, json!({"genesys_rate_limit_per_minute": 5})).await;
    let (token, _) = genesys_token(&sim).await;
    let url = format!("{}/api/v2/users/me", sim.urls().genesys_api);
    for _ in 0..5 {
        assert_eq!(http().get(&url).bearer_auth(&token).send().await.unwrap().status(), 200);
    }
    let r = http().get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(r.status(), 429);
    let retry: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["code"], "too.many.requests.retry.after");
    assert_eq!(body["status"], 429);
    assert!(body["message"].as_str().unwrap().contains(&format!("[{retry}]")));
    advance_clock(&sim, 61.0).await;
    assert_eq!(http().get(&url).bearer_auth(&token).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn wrapup_codes_are_paged() {
    let sim = sim().await;
    let (token, _) = genesys_token(&sim).await;
    let page = |n: u32| {
        http()
            .get(format!("{}/api/v2/routing/wrapupcodes?pageSize=4&pageNumber={n}", sim.urls().genesys_api))
            .bearer_auth(&token)
            .send()
    };
    let p1: Value = page(1).await.unwrap().json().await.unwrap();
    assert_eq!(p1["entities"].as_array().unwrap().len(), 4);
    assert_eq!(p1["pageCount"], 3);
    assert_eq!(p1["total"], 10);
    assert!(p1["nextUri"].as_str().unwrap().contains("pageNumber=2"));
    let p3: Value = page(3).await.unwrap().json().await.unwrap();
    assert_eq!(p3["entities"].as_array().unwrap().len(), 2);
    assert!(p3.get("nextUri").is_none());
    assert!(p3["entities"][0]["id"].is_string() && p3["entities"][0]["name"].is_string());
}

#[tokio::test]
async fn active_conversations_and_one_conversation() {
    let sim = sim().await;
    let (token, uid) = genesys_token(&sim).await;
    let placed = manual_call(&sim, "tel:+14155550123").await;
    let cid = placed["conversation_id"].as_str().unwrap();
    let list: Value =
        http().get(format!("{}/api/v2/conversations", sim.urls().genesys_api)).bearer_auth(&token).fetch_json().await;
    assert_eq!(list["total"], 1);
    let conv = &list["entities"][0];
    assert_eq!(conv["id"], cid);
    let customer = conv["participants"].as_array().unwrap().iter().find(|p| p["purpose"] == "customer").unwrap();
    assert_eq!(customer["address"], "tel:+14155550123");
    assert_eq!(customer["attributes"]["contact_id"], "0038c00000000gIAAQ");
    let purposes: Vec<&str> =
        conv["participants"].as_array().unwrap().iter().map(|p| p["purpose"].as_str().unwrap()).collect();
    assert_eq!(purposes, ["customer", "ivr", "acd", "agent"]);
    assert_eq!(agent_of(conv, &uid)["calls"][0]["state"], "alerting");
    let one = http()
        .get(format!("{}/api/v2/conversations/{cid}", sim.urls().genesys_api))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(one.status(), 200);
    // Another agent cannot see it.
    let (other, _) = genesys_token_for(&sim, "mia.chen@example.com").await;
    let r = http()
        .get(format!("{}/api/v2/conversations/{cid}", sim.urls().genesys_api))
        .bearer_auth(&other)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "not.found");
}

#[tokio::test]
async fn the_agent_sets_the_wrapup_during_after_call_work() {
    let sim = sim().await;
    let (token, uid) = genesys_token(&sim).await;
    let placed = manual_call(&sim, "tel:+14155550123").await;
    let cid = placed["conversation_id"].as_str().unwrap().to_string();
    let pid = placed["agent_participant_id"].as_str().unwrap().to_string();
    let base = format!("{}/api/v2/conversations/{cid}/participants/{pid}", sim.urls().genesys_api);
    let codes: Value = http().get(format!("{base}/wrapupcodes")).bearer_auth(&token).fetch_json().await;
    let code = codes[0]["id"].as_str().unwrap().to_string();
    // Too early: still ringing.
    let r = http()
        .patch(&base)
        .bearer_auth(&token)
        .json(&json!({"wrapup": {"code": code, "notes": "n"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    control(&sim, &format!("/_sim/calls/{cid}/advance"), json!({})).await;
    let after = control(&sim, &format!("/_sim/calls/{cid}/advance"), json!({})).await;
    assert_eq!(after["phase"], "after_call_work");
    let agent = agent_of(&after["conversation"], &uid);
    assert_eq!(agent["wrapupRequired"], true);
    assert_eq!(agent["calls"][0]["afterCallWork"]["state"], "pending");
    assert_eq!(http().get(format!("{base}/wrapup")).bearer_auth(&token).send().await.unwrap().status(), 404);
    let r = http()
        .patch(&base)
        .bearer_auth(&token)
        .json(&json!({"wrapup": {"code": "no-such-code"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let r = http()
        .patch(&base)
        .bearer_auth(&token)
        .json(&json!({"wrapup": {"code": code, "notes": "Refund issued"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let w: Value = http().get(format!("{base}/wrapup")).bearer_auth(&token).fetch_json().await;
    assert_eq!(w["code"], code.as_str());
    assert_eq!(w["notes"], "Refund issued");
    let list: Value =
        http().get(format!("{}/api/v2/conversations", sim.urls().genesys_api)).bearer_auth(&token).fetch_json().await;
    assert_eq!(list["total"], 0, "a wrapped-up conversation is no longer active");
    // Someone else's participant.
    let (other, _) = genesys_token_for(&sim, "mia.chen@example.com").await;
    let r = http().get(format!("{base}/wrapup")).bearer_auth(&other).send().await.unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn tokens_me_and_sign_out() {
    let sim = sim().await;
    let (token, _) = genesys_token(&sim).await;
    let url = format!("{}/api/v2/tokens/me", sim.urls().genesys_api);
    let info: Value = http().get(&url).bearer_auth(&token).fetch_json().await;
    assert!(info["organization"]["id"].is_string());
    assert!(info["dateTokenExpires"].is_string());
    assert_eq!(http().delete(&url).bearer_auth(&token).send().await.unwrap().status(), 204);
    assert_eq!(http().get(&url).bearer_auth(&token).send().await.unwrap().status(), 401);
}
