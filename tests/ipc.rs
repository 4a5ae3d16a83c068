//! The IPC contract on Tauri's mock runtime (no display): every command's argument names (camelCase),
//! its result, and its `{code, message}` errors, against a desk signed in to the simulator.

use agent_companion::{Shell, with_commands};
use cloud_sim::data::CallerKind;
use cloud_sim::scenario::CallSpec;
use cloud_sim::wait::eventually_blocking;
use companion::auth::BrowserChoice;
use companion::demo::DemoCloud;
use companion::desk::{DeskEvent, DeskHandle, DeskOptions, DeskSink};
use companion::signin::Cloud;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder, mock_context, noop_assets};
use tauri::webview::InvokeRequest;

struct Quiet;
impl DeskSink for Quiet {
    fn emit(&self, _: &DeskEvent) {}
}

struct World {
    webview: tauri::WebviewWindow<MockRuntime>,
    desk: Arc<DeskHandle>,
    cloud: DemoCloud,
    opened: Arc<Mutex<Vec<String>>>,
    export: tempfile::TempDir,
    _data: tempfile::TempDir,
    _app: tauri::App<MockRuntime>,
}

fn world(flags: &[&str]) -> World {
    world_with_release(flags, None)
}

/// A world whose simulator publishes `release` on its feed before the desk starts.
fn world_with_release(flags: &[&str], release: Option<Value>) -> World {
    let data_dir = tempfile::tempdir().unwrap();
    let data = data_dir.path().to_path_buf();
    let export = tempfile::tempdir().unwrap();
    let opened = Arc::new(Mutex::new(vec![]));
    let seen = opened.clone();
    let shell = Shell::new(
        Box::new(move |url: &str| {
            seen.lock().unwrap().push(url.to_string());
            Ok(())
        }),
        export.path().to_path_buf(),
    );
    let flags: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
    let (cloud, desk) = tauri::async_runtime::block_on(async move {
        let cloud = DemoCloud::start(7, Some(data)).await.unwrap();
        if let Some(r) = release {
            let url = format!("{}/_sim/updates/latest.json", cloud.sim.urls().control);
            reqwest::Client::new().put(url).json(&r).send().await.unwrap().error_for_status().unwrap();
        }
        let loaded = cloud.config(&flags).unwrap();
        let secrets = Arc::new(companion::secrets::MemoryOnly::new("tests"));
        let desk = DeskHandle::start(
            DeskOptions { loaded, browser: BrowserChoice::Simulator, resume: false },
            secrets,
            Arc::new(Quiet),
        )
        .await
        .unwrap();
        desk.sign_in(Cloud::Genesys).await.unwrap();
        desk.sign_in(Cloud::Salesforce).await.unwrap();
        (cloud, Arc::new(desk))
    });
    shell.set_desk(Ok(desk.clone()));
    let app = with_commands(mock_builder(), shell).build(mock_context(noop_assets())).unwrap();
    let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default()).build().unwrap();
    World { webview, desk, cloud, opened, export, _data: data_dir, _app: app }
}

fn invoke(w: &World, cmd: &str, args: Value) -> Result<Value, Value> {
    get_ipc_response(
        &w.webview,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|b| b.deserialize::<Value>().unwrap())
}

/// Places a call of a kind and waits until the desk shows its pop.
fn call_of(w: &World, kind: CallerKind, skip: usize) -> (String, Value) {
    let caller = w.cloud.sim.population().callers_of(kind).nth(skip).unwrap().clone();
    let spec = CallSpec { manual: true, timed_out_agent: Some(false), ..CallSpec::from_ani(caller.ani.clone()) };
    let placed = tauri::async_runtime::block_on(async { w.cloud.sim.place_call(spec) }).unwrap();
    let id = companion::genesys::segment::interaction_id(&placed.conversation_id, &placed.agent_participant_id);
    let card =
        eventually_blocking(&format!("the pop for {kind:?}"), 20, || w.desk.call(&id).filter(|c| c.pop.is_some()));
    (id, serde_json::to_value(card).unwrap())
}

/// The desk's card of a call, as the window receives it.
fn card_of(w: &World, id: &str) -> Value {
    serde_json::to_value(w.desk.call(id).unwrap()).unwrap()
}

fn code(e: Result<Value, Value>) -> String {
    let e = e.expect_err("an error");
    assert!(e["message"].as_str().is_some_and(|m| !m.is_empty()), "{e}");
    e["code"].as_str().unwrap().to_string()
}

#[test]
fn snapshot_sign_in_and_sign_out() {
    let w = world(&[]);
    let snap = invoke(&w, "desk_snapshot", json!({})).unwrap();
    assert_eq!(snap["genesys"], "signed_in");
    assert_eq!(snap["salesforce"], "signed_in");
    assert_eq!(snap["demo"], true);
    assert_eq!(snap["secrets"]["kind"], "memory_only");
    assert!(snap["wrapup_codes"].as_array().unwrap().iter().any(|c| c == "Sale"), "{snap}");
    assert_eq!(invoke(&w, "sign_out", json!({"cloud": "salesforce"})).unwrap(), "signed_out");
    assert_eq!(invoke(&w, "desk_snapshot", json!({})).unwrap()["salesforce"], "signed_out");
    assert_eq!(code(invoke(&w, "search_records", json!({"term": "smith"}))), "SALESFORCE_SIGN_IN");
    assert_eq!(invoke(&w, "sign_in", json!({"cloud": "salesforce"})).unwrap(), "signed_in");
    // A cloud that does not exist is refused by argument checking, before any code runs.
    assert!(invoke(&w, "sign_in", json!({"cloud": "yahoo"})).is_err());
    assert!(invoke(&w, "sign_in", json!({})).is_err());
    // Signing out of Genesys stops the feed and says so; signing in again resumes it.
    assert_eq!(invoke(&w, "sign_out", json!({"cloud": "genesys"})).unwrap(), "signed_out");
    let snap = invoke(&w, "desk_snapshot", json!({})).unwrap();
    assert_eq!(
        (snap["genesys"].as_str(), snap["connection"]["state"].as_str()),
        (Some("signed_out"), Some("sign_in_required"))
    );
    assert_eq!(invoke(&w, "sign_in", json!({"cloud": "genesys"})).unwrap(), "signed_in");
    eventually_blocking("the feed back after the new sign-in", 20, || {
        (invoke(&w, "desk_snapshot", json!({})).unwrap()["connection"]["state"] == "connected").then_some(())
    });
    // "Sign in again" while signed in renews the Genesys sign-in through the browser (a new token),
    // instead of reusing the one about to run out.
    let issued = || -> usize {
        let url = format!("{}/_sim/tokens/issued", w.cloud.sim.urls().control);
        let v: Value = tauri::async_runtime::block_on(async { reqwest::get(url).await.unwrap().json().await.unwrap() });
        v["genesys"].as_array().unwrap().len()
    };
    let before = issued();
    assert_eq!(invoke(&w, "sign_in", json!({"cloud": "genesys"})).unwrap(), "signed_in");
    assert_eq!(issued(), before + 1, "a new Genesys token");
}

#[test]
fn a_published_release_is_announced_unless_it_is_turned_off() {
    let release = json!({"version": "v99.0.0", "notes": "Faster pops.", "pub_date": "2026-11-20T10:00:00Z",
        "platforms": {"linux-x86_64": {"signature": "", "url": "https://example.com/a.AppImage"}}});
    let w = world_with_release(&[], Some(release.clone()));
    let snap = invoke(&w, "desk_snapshot", json!({})).unwrap();
    assert_eq!(snap["version"], env!("CARGO_PKG_VERSION"));
    let snap = eventually_blocking("the published release announced", 20, || {
        Some(invoke(&w, "desk_snapshot", json!({})).unwrap()).filter(|s| !s["update"].is_null())
    });
    assert_eq!(
        snap["update"],
        json!({"version": "99.0.0", "notes": "Faster pops.", "pub_date": "2026-11-20T10:00:00Z"})
    );
    // IT turned the notices off: the feed is never read and nothing is announced (a desk with notices
    // on reads it as it starts, so by the time the feed connects a read would have happened).
    let quiet = world_with_release(&["updates.prompts=false"], Some(release));
    eventually_blocking("the feed connected", 20, || {
        (invoke(&quiet, "desk_snapshot", json!({})).unwrap()["connection"]["state"] == "connected").then_some(())
    });
    let reads_url = format!("{}/_sim/updates/reads", quiet.cloud.sim.urls().control);
    let reads: Value = tauri::async_runtime::block_on(async {
        reqwest::Client::new().get(reads_url).send().await.unwrap().json().await.unwrap()
    });
    assert_eq!(reads["reads"], 0);
    let snap = invoke(&quiet, "desk_snapshot", json!({})).unwrap();
    assert!(snap["update"].is_null(), "{snap}");
    let settings = snap["settings"].as_array().unwrap();
    assert!(settings.iter().any(|s| s["key"] == "updates.prompts" && s["value"] == "false"), "{snap}");
}

#[test]
fn picker_choice_wrapup_and_delivery() {
    let w = world(&[]);
    let (id, card) = call_of(&w, CallerKind::Shared, 0);
    assert_eq!(card["pop"]["outcome"]["kind"], "multiple", "{card}");
    let second = card["pop"]["outcome"]["candidates"][1]["id"].as_str().unwrap().to_string();
    // snake_case argument names are not the contract.
    assert!(invoke(&w, "pick_record", json!({"interaction_id": id, "record_id": second})).is_err());
    assert_eq!(
        code(invoke(&w, "pick_record", json!({"interactionId": id, "recordId": "javascript:alert(1)"}))),
        "BAD_RECORD_ID"
    );
    assert_eq!(
        code(invoke(&w, "pick_record", json!({"interactionId": id, "recordId": "0038c00000000gIAAQ"}))),
        "BAD_RECORD_ID"
    );
    assert_eq!(code(invoke(&w, "pick_record", json!({"interactionId": "nope", "recordId": second}))), "UNKNOWN_CALL");
    assert_eq!(code(invoke(&w, "decide_later", json!({"interactionId": "nope"}))), "UNKNOWN_CALL");
    // Commands that change a card return nothing to merge: the card reaches the window as an event.
    assert!(invoke(&w, "decide_later", json!({"interactionId": id})).unwrap().is_null());
    let deferred = card_of(&w, &id);
    assert_eq!(deferred["deferred"], true);
    assert!(deferred["chosen"].is_null());
    assert!(invoke(&w, "pick_record", json!({"interactionId": id, "recordId": second})).unwrap().is_null());
    let picked = card_of(&w, &id);
    assert_eq!(picked["chosen"]["id"], second.as_str());
    assert_eq!(
        code(invoke(&w, "submit_wrapup", json!({"interactionId": id, "code": "Not A Code", "notes": ""}))),
        "BAD_WRAPUP"
    );
    let long = "x".repeat(companion::desk::MAX_NOTES + 1);
    assert_eq!(
        code(invoke(&w, "submit_wrapup", json!({"interactionId": id, "code": "Sale", "notes": long}))),
        "BAD_WRAPUP"
    );
    // A draft is kept for the card (and for a restart) until the wrap-up is submitted.
    assert_eq!(
        code(invoke(&w, "save_draft", json!({"interactionId": "nope", "code": "", "notes": "x"}))),
        "UNKNOWN_CALL"
    );
    assert_eq!(code(invoke(&w, "save_draft", json!({"interactionId": id, "code": "", "notes": long}))), "BAD_WRAPUP");
    assert!(
        invoke(&w, "save_draft", json!({"interactionId": id, "code": "Technical Support", "notes": "renew"}))
            .unwrap()
            .is_null()
    );
    let snap = invoke(&w, "desk_snapshot", json!({})).unwrap();
    let drafted =
        snap["calls"].as_array().unwrap().iter().find(|c| c["interaction_id"] == id.as_str()).unwrap().clone();
    assert_eq!(drafted["draft"], json!({"code": "Technical Support", "notes": "renew"}), "{drafted}");
    let submitted = invoke(
        &w,
        "submit_wrapup",
        json!({"interactionId": id, "code": "Technical Support", "notes": "renewal", "recordId": null}),
    )
    .unwrap();
    assert!(submitted.is_null());
    // Durable before the command returned: the card says "queued" (or already "in Salesforce").
    let queued = card_of(&w, &id);
    assert!(["pending", "delivered"].contains(&queued["disposition"]["state"].as_str().unwrap()), "{queued}");
    assert!(queued["draft"].is_null(), "the draft has served");
    assert_eq!(queued["disposition"]["record_id"], second.as_str());
    // The outbox delivers it: the record is in the simulator's Salesforce, once, with the picked contact.
    let records = eventually_blocking("the disposition in Salesforce", 60, || {
        let url = format!("{}/_sim/salesforce/Disposition_Log__c", w.cloud.sim.urls().control);
        let all: Value =
            tauri::async_runtime::block_on(async { reqwest::get(url).await.unwrap().json().await.unwrap() });
        let mine: Vec<Value> = all["records"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["Interaction_ID__c"] == id.as_str())
            .cloned()
            .collect();
        // Without waiting for the batch window.
        tauri::async_runtime::block_on(w.desk.flush_outbox());
        Some(mine).filter(|m| !m.is_empty())
    });
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["Contact__c"], second.as_str());
    assert_eq!(records[0]["Disposition_Code__c"], "Completed");
    let history = invoke(&w, "call_history", json!({})).unwrap();
    assert!(history.as_array().unwrap().iter().any(|h| h["interaction_id"] == id.as_str()), "{history}");
}

#[test]
fn no_match_search_and_links() {
    let w = world(&[]);
    let (id, card) = call_of(&w, CallerKind::Unknown, 0);
    assert_eq!(card["pop"]["outcome"]["kind"], "no_match");
    assert_eq!(code(invoke(&w, "search_records", json!({"term": " a "}))), "BAD_SEARCH");
    let contact = w.cloud.sim.population().contacts[3].clone();
    let found = invoke(&w, "search_records", json!({"term": contact.email})).unwrap();
    let hit = found.as_array().unwrap().iter().find(|c| c["id"] == contact.id.as_str()).cloned();
    let hit = hit.unwrap_or_else(|| panic!("{} not in {found}", contact.id));
    assert_eq!(hit["matched_field"], "Email");
    let account = w.cloud.sim.population().accounts[0].clone();
    let by_number = invoke(&w, "search_records", json!({"term": account.account_number})).unwrap();
    let by_number = by_number.as_array().unwrap();
    assert!(!by_number.is_empty() && by_number.iter().all(|c| c["matched_field"] == "AccountNumber"), "{by_number:?}");
    // A hostile term is escaped, not an error from Salesforce.
    let hostile = invoke(&w, "search_records", json!({"term": "O'Brien) OR {x}* \\"})).unwrap();
    assert!(hostile.is_array());
    assert!(invoke(&w, "pick_record", json!({"interactionId": id, "recordId": contact.id})).unwrap().is_null());
    assert_eq!(card_of(&w, &id)["chosen"]["id"], contact.id.as_str());
    // The simulator's Salesforce is plain http: nothing is opened.
    assert_eq!(code(invoke(&w, "open_record", json!({"recordId": contact.id}))), "OPEN_REFUSED");
    assert_eq!(code(invoke(&w, "create_contact", json!({"interactionId": id}))), "OPEN_REFUSED");
    assert!(w.opened.lock().unwrap().is_empty());
}

#[test]
fn links_open_only_https_on_the_org_host() {
    let w = world(&["salesforce.lightning_host=acme.lightning.force.com"]);
    let (id, card) = call_of(&w, CallerKind::Single, 0);
    let rec = card["pop"]["outcome"]["candidate"]["id"].as_str().unwrap().to_string();
    let url = invoke(&w, "open_record", json!({"recordId": rec})).unwrap();
    assert_eq!(url, format!("https://acme.lightning.force.com/lightning/r/Contact/{rec}/view"));
    assert_eq!(code(invoke(&w, "open_record", json!({"recordId": "https://evil.example/"}))), "BAD_RECORD_ID");
    let new = invoke(&w, "create_contact", json!({"interactionId": id})).unwrap();
    assert!(new.as_str().unwrap().starts_with("https://acme.lightning.force.com/lightning/o/Contact/new?"), "{new}");
    assert_eq!(*w.opened.lock().unwrap(), vec![url.as_str().unwrap().to_string(), new.as_str().unwrap().to_string()]);
}

#[test]
fn sync_view_parked_items_and_diagnostics() {
    let w = world(&[]);
    let sync = invoke(&w, "sync_status", json!({})).unwrap();
    assert!(sync["status"]["queue"].is_object(), "{sync}");
    assert!(sync["attention"].as_array().unwrap().is_empty());
    assert_eq!(code(invoke(&w, "retry_disposition", json!({"interactionId": "nope"}))), "NOT_FOUND");
    assert_eq!(code(invoke(&w, "discard_disposition", json!({"interactionId": "nope"}))), "NOT_FOUND");
    let (_id, card) = call_of(&w, CallerKind::Single, 1);
    let ani_digits: String = card["ani"].as_str().unwrap().chars().filter(char::is_ascii_digit).collect();
    let path = invoke(&w, "export_diagnostics", json!({})).unwrap();
    let path = std::path::PathBuf::from(path.as_str().unwrap());
    assert!(path.starts_with(w.export.path()));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(!text.contains(&ani_digits[ani_digits.len() - 7..]), "the bundle holds the caller's number");
    let ready = invoke(&w, "ui_ready", json!({})).unwrap();
    assert!(ready.as_u64().is_some());
}
