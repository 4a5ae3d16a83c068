//! Genesys sign-in: authorization code + PKCE on the login host.

use crate::common::*;
use serde_json::Value;

const REDIRECT: &str = "http://127.0.0.1:8765/oauth/genesys";

async fn authorize(sim: &cloud_sim::SimHandle, challenge: &str, state: &str) -> reqwest::Response {
    http()
        .get(format!("{}/oauth/authorize", sim.urls().genesys_login))
        .query(&[
            ("client_id", "agent-companion"),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("code_challenge", challenge),
            ("code_challenge_method", "S256"),
            ("state", state),
        ])
        .send()
        .await
        .unwrap()
}

async fn exchange(sim: &cloud_sim::SimHandle, code: &str, verifier: &str) -> reqwest::Response {
    http()
        .post(format!("{}/oauth/token", sim.urls().genesys_login))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("code_verifier", verifier),
            ("client_id", "agent-companion"),
            ("redirect_uri", REDIRECT),
        ])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn pkce_round_trip_signs_the_agent_in() {
    let sim = sim().await;
    let (verifier, challenge) = pkce();
    let r = authorize(&sim, &challenge, "st-123").await;
    assert_eq!(r.status(), 302);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(location.starts_with(REDIRECT));
    assert_eq!(query_param(&location, "state").as_deref(), Some("st-123"));
    let code = query_param(&location, "code").unwrap();
    let r = exchange(&sim, &code, &verifier).await;
    assert_eq!(r.status(), 200);
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["token_type"], "bearer");
    assert_eq!(t["expires_in"], 86_400);
    assert!(t.get("refresh_token").is_none(), "a PKCE client gets no refresh token");
    let me: Value = http()
        .get(format!("{}/api/v2/users/me", sim.urls().genesys_api))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .fetch_json()
        .await;
    assert_eq!(me["email"], "alex.morgan@example.com");
    // The code is single use.
    assert_eq!(exchange(&sim, &code, &verifier).await.status(), 400);
}

#[tokio::test]
async fn wrong_verifier_is_rejected() {
    let sim = sim().await;
    let (_, challenge) = pkce();
    let r = authorize(&sim, &challenge, "s").await;
    let code = query_param(r.headers()["location"].to_str().unwrap(), "code").unwrap();
    let r = exchange(&sim, &code, &"x".repeat(64)).await;
    assert_eq!(r.status(), 400);
    let e: Value = r.json().await.unwrap();
    assert_eq!(e["error"], "invalid_grant");
}

#[tokio::test]
async fn bad_client_or_redirect_is_never_redirected() {
    let sim = sim().await;
    let (_, challenge) = pkce();
    for (client, redirect) in [("nope", REDIRECT), ("agent-companion", "http://evil.example/cb")] {
        let r = http()
            .get(format!("{}/oauth/authorize", sim.urls().genesys_login))
            .query(&[
                ("client_id", client),
                ("response_type", "code"),
                ("redirect_uri", redirect),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400);
        assert!(r.headers().get("location").is_none());
    }
    // A missing challenge goes back to the (valid) redirect URI with an error and the state.
    let r = http()
        .get(format!("{}/oauth/authorize", sim.urls().genesys_login))
        .query(&[
            ("client_id", "agent-companion"),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("state", "abc"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 302);
    let loc = r.headers()["location"].to_str().unwrap();
    assert_eq!(query_param(loc, "error").as_deref(), Some("invalid_request"));
    assert_eq!(query_param(loc, "state").as_deref(), Some("abc"));
}

#[tokio::test]
async fn tokens_expire_with_their_configured_lifetime() {
    let sim = sim().await;
    settings(&sim, serde_json::json!({"genesys_token_lifetime_secs": 300})).await;
    let (verifier, challenge) = pkce();
    let r = authorize(&sim, &challenge, "s").await;
    let code = query_param(r.headers()["location"].to_str().unwrap(), "code").unwrap();
    let t: Value = exchange(&sim, &code, &verifier).await.json().await.unwrap();
    assert_eq!(t["expires_in"], 300);
    let token = t["access_token"].as_str().unwrap();
    let me = |tok: Option<String>| {
        let mut rb = http().get(format!("{}/api/v2/users/me", sim.urls().genesys_api));
        if let Some(t) = tok {
            rb = rb.bearer_auth(t);
        }
        rb.send()
    };
    assert_eq!(me(Some(token.into())).await.unwrap().status(), 200);
    advance_clock(&sim, 301.0).await;
    let r = me(Some(token.into())).await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "bad.credentials");
    let r = me(None).await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["code"], "authentication.required");
}
