//! Salesforce sign-in: PKCE, refresh with and without rotation, revoke, session expiry.

use crate::common::*;
use serde_json::{Value, json};

const REDIRECT: &str = "http://localhost:1717/OauthRedirect";

async fn sign_in(sim: &cloud_sim::SimHandle) -> Value {
    let (verifier, challenge) = pkce();
    let r = http()
        .get(format!("{}/services/oauth2/authorize", sim.urls().salesforce_login))
        .query(&[
            ("response_type", "code"),
            ("client_id", "agent-companion"),
            ("redirect_uri", REDIRECT),
            ("code_challenge", &challenge),
            ("state", "xyz"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(query_param(&loc, "state").as_deref(), Some("xyz"));
    let code = query_param(&loc, "code").unwrap();
    // A wrong verifier first: refused, and the code is spent.
    let bad = http()
        .post(format!("{}/services/oauth2/token", sim.urls().salesforce_login))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", "agent-companion"),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &"z".repeat(50)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let r = http()
        .get(format!("{}/services/oauth2/authorize", sim.urls().salesforce_login))
        .query(&[
            ("response_type", "code"),
            ("client_id", "agent-companion"),
            ("redirect_uri", REDIRECT),
            ("code_challenge", &challenge),
        ])
        .send()
        .await
        .unwrap();
    let code = query_param(r.headers()["location"].to_str().unwrap(), "code").unwrap();
    let r = http()
        .post(format!("{}/services/oauth2/token", sim.urls().salesforce_login))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", "agent-companion"),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

async fn refresh(sim: &cloud_sim::SimHandle, rt: &str) -> reqwest::Response {
    http()
        .post(format!("{}/services/oauth2/token", sim.urls().salesforce_login))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", rt), ("client_id", "agent-companion")])
        .send()
        .await
        .unwrap()
}

async fn limits_status(sim: &cloud_sim::SimHandle, token: &str) -> u16 {
    http()
        .get(format!("{}/services/data/v62.0/limits", sim.urls().salesforce))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn pkce_round_trip_gives_instance_url_and_refresh_token() {
    let sim = sim().await;
    let t = sign_in(&sim).await;
    for k in ["access_token", "refresh_token", "instance_url", "id", "issued_at", "signature", "token_type", "scope"] {
        assert!(t.get(k).is_some(), "{k}");
    }
    assert!(t.get("expires_in").is_none(), "Salesforce says nothing of expiry");
    assert_eq!(t["instance_url"], sim.urls().salesforce.as_str());
    let token = t["access_token"].as_str().unwrap();
    assert_eq!(limits_status(&sim, token).await, 200);
    let id: Value = http().get(t["id"].as_str().unwrap()).bearer_auth(token).fetch_json().await;
    assert!(id["user_id"].as_str().unwrap().starts_with("005"));
}

#[tokio::test]
async fn refresh_without_and_with_rotation() {
    let sim = sim().await;
    let t = sign_in(&sim).await;
    let rt = t["refresh_token"].as_str().unwrap();
    for _ in 0..2 {
        let r: Value = refresh(&sim, rt).await.json().await.unwrap();
        assert!(r.get("refresh_token").is_none());
        assert_eq!(limits_status(&sim, r["access_token"].as_str().unwrap()).await, 200);
    }
    settings(&sim, json!({"salesforce_refresh_rotation": true})).await;
    let r: Value = refresh(&sim, rt).await.json().await.unwrap();
    let rotated = r["refresh_token"].as_str().unwrap();
    assert_ne!(rotated, rt);
    let old = refresh(&sim, rt).await;
    assert_eq!(old.status(), 400);
    let e: Value = old.json().await.unwrap();
    assert_eq!(e, json!({"error": "invalid_grant", "error_description": "expired access/refresh token"}));
    assert_eq!(refresh(&sim, rotated).await.status(), 200);
}

#[tokio::test]
async fn revoke_access_and_refresh_tokens() {
    let sim = sim().await;
    let t = sign_in(&sim).await;
    let (access, rt) = (t["access_token"].as_str().unwrap(), t["refresh_token"].as_str().unwrap());
    let revoke = |tok: String| {
        http().post(format!("{}/services/oauth2/revoke", sim.urls().salesforce_login)).form(&[("token", tok)]).send()
    };
    let fresh: Value = refresh(&sim, rt).await.json().await.unwrap();
    let fresh_access = fresh["access_token"].as_str().unwrap().to_string();
    assert_eq!(revoke(access.into()).await.unwrap().status(), 200);
    assert_eq!(limits_status(&sim, access).await, 401);
    assert_eq!(limits_status(&sim, &fresh_access).await, 200);
    assert_eq!(revoke(rt.into()).await.unwrap().status(), 200);
    assert_eq!(limits_status(&sim, &fresh_access).await, 401, "revoking the refresh token ends its sessions");
    assert_eq!(refresh(&sim, rt).await.status(), 400);
    let r = revoke("nonsense".into()).await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_token");
}

#[tokio::test]
async fn an_expired_session_answers_invalid_session_id() {
    let sim = sim().await;
    settings(&sim, json!({"salesforce_session_secs": 600})).await;
    let token = sf_token(&sim).await;
    assert_eq!(limits_status(&sim, &token).await, 200);
    advance_clock(&sim, 601.0).await;
    let r = http()
        .get(format!("{}/services/data/v62.0/limits", sim.urls().salesforce))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Token");
    let body: Value = r.json().await.unwrap();
    assert_eq!(body, json!([{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]));
}
