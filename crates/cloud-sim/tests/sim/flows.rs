//! Transfers, consults, conferences, transfers back, outbound calls and callbacks: the participants,
//! `recentTransfers` and media the real events carry, each agent's wrap-up, the queue's codes, the
//! per-media wrap-up endpoint and attribute writes.

use crate::common::*;
use serde_json::{Value, json};

/// Places a manual call of this flow and steps it until `done`, returning every snapshot.
async fn run_flow(sim: &cloud_sim::SimHandle, flow: &str, extra: Value) -> (Value, Vec<Value>) {
    let mut spec = json!({"ani": "tel:+14155550123", "manual": true, "flow": flow, "timed_out_agent": false});
    if let (Some(s), Some(e)) = (spec.as_object_mut(), extra.as_object()) {
        s.extend(e.clone());
    }
    let placed = control(sim, "/_sim/calls", spec).await;
    let cid = placed["conversation_id"].as_str().unwrap().to_string();
    let mut snaps = vec![];
    for _ in 0..40 {
        let r = http().post(format!("{}/_sim/calls/{cid}/advance", sim.urls().control)).send().await.unwrap();
        if r.status() == 409 {
            break;
        }
        let v: Value = r.json().await.unwrap();
        snaps.push(v["conversation"].clone());
    }
    (placed, snaps)
}

fn agents(conv: &Value) -> Vec<&Value> {
    conv["participants"].as_array().unwrap().iter().filter(|p| p.get("userId").is_some()).collect()
}

#[tokio::test]
async fn a_blind_transfer_ends_the_first_agent_in_after_call_work_and_alerts_the_second() {
    let sim = sim().await;
    let (placed, snaps) = run_flow(&sim, "blind_transfer", json!({})).await;
    let legs = placed["legs"].as_array().unwrap();
    assert_eq!(legs.len(), 2);
    assert_ne!(legs[0]["user_id"], legs[1]["user_id"]);
    let after_transfer = snaps.iter().find(|s| agents(s).len() == 2).expect("the second agent appears");
    let first = &agents(after_transfer)[0];
    assert_eq!(first["calls"][0]["disconnectType"], "transfer");
    assert_eq!(first["calls"][0]["afterCallWork"]["state"], "pending");
    let t = &after_transfer["recentTransfers"][0];
    assert_eq!(t["transferType"], "unattended");
    assert_eq!(t["state"], "complete");
    assert_eq!(t["initiator"]["userId"], legs[0]["user_id"]);
    assert_eq!(t["destination"]["userId"], legs[1]["user_id"]);
    let last = snaps.last().unwrap();
    for a in agents(last) {
        assert_eq!(a["calls"][0]["afterCallWork"]["state"], "complete", "each agent wraps up: {a}");
        assert!(a["wrapup"]["code"].is_string());
    }
    assert!(last.get("endTime").is_some());
}

#[tokio::test]
async fn a_consult_leg_points_at_the_customer_and_the_transfer_is_attended() {
    let sim = sim().await;
    let (placed, snaps) = run_flow(&sim, "consult_transfer", json!({})).await;
    let consulting = snaps.iter().find(|s| agents(s).len() == 2).unwrap();
    let (a, b) = (agents(consulting)[0], agents(consulting)[1]);
    assert_eq!(a["calls"][0]["held"], true, "the caller is on hold while the agents talk");
    assert_eq!(b["consultParticipantId"], placed["customer_participant_id"]);
    let done = snaps.iter().find(|s| s["recentTransfers"].as_array().is_some_and(|t| !t.is_empty())).unwrap();
    assert_eq!(done["recentTransfers"][0]["transferType"], "attended");
    assert_eq!(agents(done)[0]["calls"][0]["disconnectType"], "transfer.consult");
}

#[tokio::test]
async fn a_conference_has_both_agents_connected_at_once() {
    let sim = sim().await;
    let (_, snaps) = run_flow(&sim, "conference", json!({})).await;
    assert!(
        snaps.iter().any(|s| agents(s).iter().filter(|a| a["calls"][0]["state"] == "connected").count() == 2),
        "both agents talk to the caller"
    );
}

#[tokio::test]
async fn a_transfer_back_gives_the_first_agent_a_new_participant() {
    let sim = sim().await;
    let (placed, snaps) = run_flow(&sim, "transfer_back", json!({})).await;
    let legs = placed["legs"].as_array().unwrap();
    assert_eq!(legs[0]["user_id"], legs[2]["user_id"]);
    assert_ne!(legs[0]["participant_id"], legs[2]["participant_id"]);
    let last = snaps.last().unwrap();
    let mine: Vec<&Value> = agents(last).into_iter().filter(|a| a["userId"] == legs[0]["user_id"]).collect();
    assert_eq!(mine.len(), 2, "two participants of the same user");
    assert!(mine.iter().all(|a| a["wrapup"]["code"].is_string()), "each segment wrapped up");
    assert_eq!(last["recentTransfers"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn an_outbound_call_dials_the_customer() {
    let sim = sim().await;
    let (_, snaps) = run_flow(&sim, "outbound", json!({"ani": "tel:+14155550199"})).await;
    let (control_first, _) = (&snaps[0], ());
    let first = agents(control_first)[0];
    assert_eq!(first["purpose"], "user");
    assert_eq!(first["calls"][0]["direction"], "outbound");
    assert_eq!(first["calls"][0]["initialState"], "dialing");
    assert_eq!(first["calls"][0]["other"]["addressNormalized"], "tel:+14155550199");
    let external =
        control_first["participants"].as_array().unwrap().iter().find(|p| p["purpose"] == "external").unwrap();
    assert_eq!(external["address"], "tel:+14155550199");
    assert!(!control_first["participants"].as_array().unwrap().iter().any(|p| p["purpose"] == "acd"));
}

#[tokio::test]
async fn a_callback_carries_its_numbers_on_the_callback_media() {
    let sim = sim().await;
    let (_, snaps) = run_flow(&sim, "callback", json!({"ani": "tel:+14155550188"})).await;
    let s = &snaps[0];
    let agent = agents(s)[0];
    assert_eq!(agent["calls"].as_array().unwrap().len(), 0);
    assert_eq!(agent["callbacks"][0]["callbackNumbers"][0], "+14155550188");
    let customer = s["participants"].as_array().unwrap().iter().find(|p| p["purpose"] == "customer").unwrap();
    assert!(customer.get("address").is_none(), "a callback's customer has no address, only numbers");
    assert_eq!(customer["callbacks"][0]["callbackNumbers"][0], "+14155550188");
}

#[tokio::test]
async fn wrapup_codes_are_the_queues_and_the_per_media_endpoint_applies_one() {
    let sim = sim().await;
    let (token, _) = genesys_token(&sim).await;
    let placed = control(
        &sim,
        "/_sim/calls",
        json!({"ani": "tel:+14155550123", "manual": true, "skip_wrapup": true, "timed_out_agent": false}),
    )
    .await;
    let cid = placed["conversation_id"].as_str().unwrap().to_string();
    let leg = &placed["legs"][0];
    let (pid, comm) = (leg["participant_id"].as_str().unwrap(), leg["communication_id"].as_str().unwrap());
    let api = &sim.urls().genesys_api;
    let codes: Value = http()
        .get(format!("{api}/api/v2/conversations/{cid}/participants/{pid}/wrapupcodes"))
        .bearer_auth(&token)
        .fetch_json()
        .await;
    let names: Vec<&str> = codes.as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert!(
        names.contains(&"Technical Support") && !names.contains(&"Sale"),
        "the Customer Service queue's codes: {names:?}"
    );
    for _ in 0..2 {
        control(&sim, &format!("/_sim/calls/{cid}/advance"), json!({})).await;
    }
    let url = format!("{api}/api/v2/conversations/calls/{cid}/participants/{pid}/communications/{comm}/wrapup");
    let sale = http().post(&url).bearer_auth(&token).json(&json!({"code": "Sale"})).send().await.unwrap();
    assert_eq!(sale.status(), 400, "not a code of this queue");
    settings(&sim, json!({"genesys_denied_permissions": ["conversation:participant:wrapup"]})).await;
    let denied = http().post(&url).bearer_auth(&token).json(&json!({"code": "Completed"})).send().await.unwrap();
    assert_eq!(denied.status(), 403);
    assert!(denied.text().await.unwrap().contains("conversation:participant:wrapup"));
    settings(&sim, json!({"genesys_denied_permissions": []})).await;
    let wrong_media = url.replace("/calls/", "/callbacks/");
    assert_eq!(
        http()
            .post(&wrong_media)
            .bearer_auth(&token)
            .json(&json!({"code": "Completed"}))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    let ok = http()
        .post(&url)
        .bearer_auth(&token)
        .json(&json!({"code": "Completed", "notes": "done"}))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 202);
    let w: Value = http()
        .get(format!("{api}/api/v2/conversations/{cid}/participants/{pid}/wrapup"))
        .bearer_auth(&token)
        .fetch_json()
        .await;
    assert_eq!(w["notes"], "done");
}

#[tokio::test]
async fn attributes_written_on_the_customer_reach_every_agent_of_the_conversation() {
    let sim = sim().await;
    let (token, _) = genesys_token(&sim).await;
    let placed = control(
        &sim,
        "/_sim/calls",
        json!({"ani": "tel:+14155550123", "manual": true, "flow": "blind_transfer", "timed_out_agent": false}),
    )
    .await;
    let (cid, customer) =
        (placed["conversation_id"].as_str().unwrap(), placed["customer_participant_id"].as_str().unwrap());
    let url = format!("{}/api/v2/conversations/calls/{cid}/participants/{customer}/attributes", sim.urls().genesys_api);
    let body = json!({"attributes": {"companion_record_id": "0038c00000000gIAAQ"}});
    settings(&sim, json!({"genesys_attribute_writes_refused": true})).await;
    assert_eq!(http().patch(&url).bearer_auth(&token).json(&body).send().await.unwrap().status(), 403);
    settings(&sim, json!({"genesys_attribute_writes_refused": false})).await;
    assert_eq!(http().patch(&url).bearer_auth(&token).json(&body).send().await.unwrap().status(), 202);
    let bad = http().patch(&url).bearer_auth(&token).json(&json!({"attributes": "x"})).send().await.unwrap();
    assert_eq!(bad.status(), 400);
    let v: Value = http().get(format!("{}/_sim/calls/{cid}", sim.urls().control)).fetch_json().await;
    let c = v["conversation"]["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["purpose"] == "customer")
        .unwrap()
        .clone();
    assert_eq!(c["attributes"]["companion_record_id"], "0038c00000000gIAAQ");
}

#[tokio::test]
async fn a_transfer_to_the_same_agent_is_refused() {
    let sim = sim().await;
    let users: Value = http().get(format!("{}/_sim/genesys/users", sim.urls().control)).fetch_json().await;
    let me = users["users"][0]["id"].clone();
    let r = http()
        .post(format!("{}/_sim/calls", sim.urls().control))
        .json(&json!({"ani": "tel:+14155550123", "flow": "blind_transfer", "user": me, "second_user": me}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}
