//! Erasure leaves no trace of a number in the database file's bytes, WAL included.

use crate::common::*;
use companion::privacy::{self, ForgetError, Scope};
use companion::screenpop::PopOutcome;
use companion::store::Store;

fn bytes_of(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect()
}

fn contains(files: &[(String, Vec<u8>)], needle: &str) -> Option<String> {
    files.iter().find(|(_, b)| b.windows(needle.len()).any(|w| w == needle.as_bytes())).map(|(n, _)| n.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgetting_a_number_leaves_no_trace_in_the_files() {
    let sim = sim().await;
    let dir = tempfile::tempdir().unwrap();
    // The demo's mix: calls, emails, chats, SMS and WhatsApp.
    let opts = companion::demo::DemoOptions { calls: 20, rate_per_min: 600.0, speed: 60.0, ..Default::default() };
    let report = companion::demo::run_on_sim(&sim, &opts, dir.path(), None).await.unwrap();
    let e164 = report
        .pops
        .iter()
        .find(|p| matches!(p.outcome, PopOutcome::Single { .. }))
        .and_then(|p| p.address.clone())
        .unwrap();
    let digits = e164.trim_start_matches('+').to_string();
    assert!(contains(&bytes_of(dir.path()), &digits).is_some(), "the number is there before");
    let outbox_of = || {
        companion::outbox::Outbox::new(
            std::sync::Arc::new(Store::open(&dir.path().join("companion.db")).unwrap()),
            std::sync::Arc::new(companion::clock::SystemClock),
        )
    };
    let theirs: Vec<&String> =
        report.pops.iter().filter(|p| p.address.as_deref() == Some(e164.as_str())).map(|p| &p.interaction_id).collect();
    let queued_before = theirs.iter().filter(|id| outbox_of().get(id).unwrap().is_some()).count();
    assert!(queued_before >= 1);
    let store = Store::open(&dir.path().join("companion.db")).unwrap();
    // An unsent draft about the caller goes too.
    let draft = companion::store::Draft { code: String::new(), notes: format!("call back on {digits}") };
    companion::store::Drafts::on(&store.background()).save(theirs[0], &draft, 1).unwrap();
    let r =
        privacy::forget(&store, &Scope::Phone(format!("tel:{e164}")), phonenumber::country::Id::US, false, 1).unwrap();
    assert!(r.wal_cleared);
    assert!(
        r.removed["cache_lookup"] >= 1
            && r.removed["journal"] >= 1
            && r.removed["interaction"] >= 1
            && r.removed["wrapup_draft"] == 1,
        "{:?}",
        r.removed
    );
    // The caller's dispositions (their notes) go too, not only the number.
    assert_eq!(r.removed.get("outbox").copied().unwrap_or(0), queued_before as u64, "{:?}", r.removed);
    for id in theirs {
        assert!(outbox_of().get(id).unwrap().is_none(), "{id}'s disposition is still kept");
    }
    drop(store);
    if let Some(file) = contains(&bytes_of(dir.path()), &digits) {
        panic!("the number is still in {file}");
    }
    // The erasure log says what kind of erasure ran, not whom.
    let conn = Store::reader(&dir.path().join("companion.db")).unwrap();
    let (scope, removed): (String, String) =
        conn.query_row("SELECT scope, removed FROM erasure_log", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
    assert_eq!(scope, "phone");
    assert!(!removed.contains(&digits));
}

#[tokio::test]
async fn undelivered_dispositions_need_a_confirmation_and_bad_input_is_refused() {
    let (_dir, store) = temp_store();
    let outbox = companion::outbox::Outbox::new(store.clone(), std::sync::Arc::new(companion::clock::SystemClock));
    outbox
        .enqueue(&companion::outbox::Disposition {
            interaction_id: "c-1".into(),

            conversation_id: String::new(),

            kind: Default::default(),
            code: "Completed".into(),
            reason: String::new(),
            timestamp: "2026-11-21T14:20:35Z".into(),
            duration_secs: None,
            contact_id: Some("0038c00000000gIAAQ".into()),
            account_id: None,
            agent_extension: None,
            source: companion::outbox::DispositionSource::Agent,
            media: companion::genesys::model::Media::Call,
            channel: None,
            recovered: false,
        })
        .unwrap();
    let us = phonenumber::country::Id::US;
    assert!(matches!(privacy::forget(&store, &Scope::All, us, false, 1), Err(ForgetError::Undelivered { count: 1 })));
    assert!(matches!(
        privacy::forget(&store, &Scope::Contact("0038c00000000gIAAQ".into()), us, false, 1),
        Err(ForgetError::Undelivered { .. })
    ));
    assert!(matches!(
        privacy::forget(&store, &Scope::Phone("anonymous".into()), us, false, 1),
        Err(ForgetError::NotANumber(_))
    ));
    assert!(matches!(
        privacy::forget(&store, &Scope::Contact("003' OR 1=1".into()), us, false, 1),
        Err(ForgetError::NotARecordId(_))
    ));
    let r = privacy::forget(&store, &Scope::Contact("0038c00000000gI".into()), us, true, 1).unwrap();
    assert_eq!(r.removed["outbox"], 1);
    assert_eq!(outbox.depth().unwrap().values().sum::<u64>(), 0);
}

#[tokio::test]
async fn forgetting_an_email_address_erases_its_emails_and_chats_from_every_file() {
    let sim = sim().await;
    let (a, dir) = crate::segments::agent(&sim, "alex.morgan@example.com", &[]).await;
    let contact = sim.population().contacts[11].clone();
    let mut ids = vec![];
    for channel in ["email", "chat"] {
        let placed =
            crate::segments::place_flow(&sim, "plain", &contact.email, serde_json::json!({"channel": channel})).await;
        let cid = placed["conversation_id"].as_str().unwrap().to_string();
        let id = crate::segments::segment_ids(&placed, &a.user).remove(0);
        eventually("the pop", 10, async || crate::segments::pops_of(&a, &id).len() == 1).await;
        crate::segments::finish(&sim, &cid).await;
        ids.push(id);
    }
    a.engine.flush_outbox();
    eventually("delivered", 20, async || {
        ids.iter().all(|id| {
            a.engine.outbox().get(id).unwrap().is_some_and(|r| r.state == companion::outbox::RowState::Delivered)
        })
    })
    .await;
    let store = a.engine.store().clone();
    a.engine.stop().await;
    assert!(matches!(
        privacy::forget(&store, &Scope::Email("not an address".into()), phonenumber::country::Id::US, false, 1),
        Err(ForgetError::NotAnEmail(_))
    ));
    let r =
        privacy::forget(&store, &Scope::Email(contact.email.to_uppercase()), phonenumber::country::Id::US, false, 1)
            .unwrap();
    assert_eq!(r.removed["interaction"], 2, "{:?}", r.removed);
    assert!(r.removed["cache_lookup"] >= 1, "{:?}", r.removed);
    drop(store);
    let local = contact.email.split('@').next().unwrap().to_string();
    assert_eq!(contains(&bytes_of(dir.path()), &local), None, "the address is gone from every file");
}
