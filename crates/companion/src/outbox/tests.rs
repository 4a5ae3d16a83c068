//! The outbox's own tests: durability, versions, settlement, retention.

use super::*;
use crate::clock::ManualClock;

fn disp(id: &str, code: &str) -> Disposition {
    Disposition {
        interaction_id: id.into(),

        conversation_id: String::new(),

        kind: Default::default(),
        code: code.into(),
        reason: "notes".into(),
        timestamp: "2026-11-21T14:20:35.000Z".into(),
        duration_secs: Some(12),
        contact_id: None,
        account_id: None,
        agent_extension: None,
        source: DispositionSource::Genesys,
        media: crate::genesys::model::Media::Call,
        channel: None,
        recovered: false,
    }
}

fn outbox() -> (Arc<ManualClock>, Outbox) {
    let clock = ManualClock::at(1_000);
    (clock.clone(), Outbox::new(Arc::new(Store::in_memory().unwrap()), clock))
}

#[test]
fn one_row_per_conversation_and_edits_replace_the_pending_payload() {
    let (_, o) = outbox();
    assert_eq!(o.enqueue(&disp("c1", "Completed")).unwrap(), 1);
    assert_eq!(o.enqueue(&disp("c1", "Failed")).unwrap(), 2);
    let due = o.due(10).unwrap();
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].disposition.code, "Failed");
    assert_eq!(due[0].version, 2);
    // Delivering the old version does not mark the row delivered.
    assert!(!o.delivered("c1", 1, Some("a0B")).unwrap());
    assert!(o.delivered("c1", 2, Some("a0B")).unwrap());
    assert!(o.due(10).unwrap().is_empty());
    // An edit after delivery is delivered again, as an update.
    assert_eq!(o.enqueue(&disp("c1", "Completed")).unwrap(), 3);
    assert_eq!(o.due(10).unwrap()[0].version, 3);
    assert_eq!(o.depth().unwrap()[&RowState::Pending], 1);
}

#[test]
fn back_off_park_retry_and_a_recorded_discard() {
    let (clock, o) = outbox();
    o.enqueue(&disp("c1", "Completed")).unwrap();
    o.retry_later("c1", 1, 5_000, "transient", "SERVER_UNAVAILABLE", "Server is unavailable").unwrap();
    assert!(o.due(10).unwrap().is_empty(), "not due before its time");
    clock.advance_ms(4_000);
    assert_eq!(o.due(10).unwrap()[0].attempts, 1);
    o.park("c1", 1, "permanent", "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Notes are required").unwrap();
    assert!(o.due(10).unwrap().is_empty());
    let parked = o.list(Some(RowState::NeedsAttention), 10).unwrap();
    assert_eq!(parked[0].error_message.as_deref(), Some("Notes are required"));
    o.retry_now("c1", "supervisor").unwrap();
    assert_eq!(o.due(10).unwrap().len(), 1);
    o.discard("c1", "supervisor", "duplicate of another call").unwrap();
    assert!(o.due(10).unwrap().is_empty());
    assert!(matches!(o.discard("c1", "x", "y"), Err(OutboxError::WrongState { .. })));
    assert!(matches!(o.retry_now("nope", "x"), Err(OutboxError::NotFound(_))));
    let events: Vec<String> = o
        .store
        .outbox()
        .prepare("SELECT kind FROM outbox_event WHERE interaction_id = 'c1' ORDER BY id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(events, ["enqueued", "failed", "parked", "retried", "discarded"]);
}

#[test]
fn incomplete_dispositions_are_refused() {
    let (_, o) = outbox();
    assert!(matches!(o.enqueue(&disp("", "Completed")), Err(OutboxError::Incomplete)));
    assert!(matches!(o.enqueue(&disp("c1", " ")), Err(OutboxError::Incomplete)));
}

#[test]
fn settled_dispositions_are_purged_after_the_retention_and_pending_ones_never() {
    let store = Arc::new(Store::in_memory().unwrap());
    let clock = crate::clock::ManualClock::at(1_000);
    let o = Outbox::new(store, clock.clone());
    o.enqueue(&disp("old-delivered", "Completed")).unwrap();
    o.enqueue(&disp("old-pending", "Completed")).unwrap();
    o.enqueue(&disp("old-discarded", "Completed")).unwrap();
    assert!(o.delivered("old-delivered", 1, Some("a0B")).unwrap());
    o.discard("old-discarded", "test", "duplicate").unwrap();
    clock.advance_ms(10_000);
    o.enqueue(&disp("new-delivered", "Completed")).unwrap();
    assert!(o.delivered("new-delivered", 1, None).unwrap());
    assert_eq!(o.purge_settled_before(5_000).unwrap(), 2);
    assert!(o.get("old-delivered").unwrap().is_none() && o.get("old-discarded").unwrap().is_none());
    assert!(o.get("old-pending").unwrap().is_some(), "undelivered work is never purged");
    assert!(o.get("new-delivered").unwrap().is_some(), "inside the retention");
    let events: i64 = o
        .store
        .outbox()
        .query_row("SELECT count(*) FROM outbox_event WHERE interaction_id LIKE 'old-d%'", [], |r| r.get(0))
        .unwrap();
    assert_eq!(events, 0, "their history goes with them");
}
