//! The `interaction` table's one owner: every segment this desktop saw (an agent participant of a
//! conversation: a transfer back is a second one), its kind, furthest stage, pop and the record linked
//! to it. Nothing else in the crate writes SQL for this table.

use crate::genesys::model::Media;
use crate::genesys::rest::WrapupTarget;
use crate::genesys::segment::{SegmentKind, SegmentView, Transition};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;

/// One segment as the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CallRecord {
    pub interaction_id: String,
    pub conversation_id: String,
    pub kind: SegmentKind,
    pub media: Media,
    /// The furthest stage seen.
    pub stage: Option<Transition>,
    /// The caller's address as Genesys gave it.
    pub ani: Option<String>,
    pub first_seen_ms: i64,
    pub updated_ms: i64,
    /// `single`, `multiple`, `no_match`, … (none before the pop).
    pub pop_outcome: Option<String>,
    /// The record the pop found or the agent picked.
    pub pop_record: Option<String>,
    /// The pop's duration (µs).
    pub pop_us: Option<i64>,
}

/// A call with the code and delivery state of its disposition, when one is queued.
#[derive(Debug, Clone, PartialEq)]
pub struct CallWithDisposition {
    pub call: CallRecord,
    pub code: Option<String>,
    /// `pending`, `delivered`, `needs_attention`, `discarded`.
    pub delivery: Option<String>,
}

/// The table's operations, on any connection of the store (a transaction derefs to one).
#[derive(Debug, Clone, Copy)]
pub struct Interactions<'c>(&'c Connection);

/// A pop as [`Interactions::record_pop`] writes it.
#[derive(Debug, Clone, Copy)]
pub struct PopWritten<'a> {
    /// `single`, `multiple`, …
    pub outcome: &'a str,
    pub record: Option<&'a str>,
    pub pop_us: i64,
    /// The decision, as JSON.
    pub json: &'a str,
    /// The address the lookup used (a chat's comes from the flow's attributes, not the media): kept
    /// as the segment's address when the media carried none, so erasing it finds the segment.
    pub address: Option<&'a str>,
}

/// The customer participant of a segment's conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CustomerRef {
    pub conversation_id: String,
    pub media: Media,
    pub participant_id: String,
}

/// A stage a segment reached, as [`Interactions::record_stage`] writes it.
#[derive(Debug, Clone, Copy)]
pub struct StageReached<'a> {
    pub interaction_id: &'a str,
    pub conversation_id: &'a str,
    pub participant_id: &'a str,
    pub customer_participant_id: Option<&'a str>,
    pub communication_id: Option<&'a str>,
    pub media: Media,
    pub kind: SegmentKind,
    pub stage: Transition,
    pub ani: &'a str,
}

impl<'a> StageReached<'a> {
    /// The stage a segment, as a snapshot shows it, reached.
    pub fn of(v: &'a SegmentView, stage: Transition) -> StageReached<'a> {
        StageReached {
            interaction_id: &v.interaction_id,
            conversation_id: &v.conversation_id,
            participant_id: &v.participant_id,
            customer_participant_id: v.customer_participant_id.as_deref(),
            communication_id: v.communication_id.as_deref(),
            media: v.media,
            kind: v.kind,
            stage,
            ani: &v.ani,
        }
    }
}

const COLUMNS: &str =
    "id, conversation_id, kind, stage, ani, first_seen_ms, updated_ms, pop_outcome, pop_record, pop_us, media";

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CallRecord> {
    Ok(CallRecord {
        interaction_id: r.get(0)?,
        conversation_id: r.get(1)?,
        kind: SegmentKind::parse(&r.get::<_, String>(2)?),
        stage: Transition::from_stage(r.get(3)?),
        ani: r.get(4)?,
        first_seen_ms: r.get(5)?,
        updated_ms: r.get(6)?,
        pop_outcome: r.get(7)?,
        pop_record: r.get(8)?,
        pop_us: r.get(9)?,
        media: Media::parse(&r.get::<_, String>(10)?),
    })
}

impl<'c> Interactions<'c> {
    /// The table on this connection.
    pub fn on(conn: &'c Connection) -> Interactions<'c> {
        Interactions(conn)
    }

    /// A stage reached: the segment is created at its first stage; a stage never goes back.
    pub fn record_stage(&self, s: StageReached<'_>, now_ms: i64) -> rusqlite::Result<()> {
        self.0
            .prepare_cached(
                "INSERT INTO interaction(id, conversation_id, participant_id, customer_participant_id, communication_id, media,
                   kind, stage, ani, first_seen_ms, updated_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?10)
                 ON CONFLICT(id) DO UPDATE SET stage = max(stage, excluded.stage), ani = coalesce(ani, excluded.ani),
                   participant_id = excluded.participant_id,
                   customer_participant_id = coalesce(excluded.customer_participant_id, customer_participant_id),
                   communication_id = coalesce(excluded.communication_id, communication_id),
                   updated_ms = excluded.updated_ms",
            )?
            .execute(params![
                s.interaction_id,
                s.conversation_id,
                s.participant_id,
                s.customer_participant_id,
                s.communication_id,
                Media::as_str(s.media),
                s.kind.as_str(),
                s.stage as i64,
                Some(s.ani).filter(|a| !a.is_empty()),
                now_ms
            ])?;
        Ok(())
    }

    /// A segment read back after the fact (never popped): its final stage, marked `recovered` unless
    /// the companion saw and popped it before.
    pub fn record_recovered(&self, s: StageReached<'_>, record: Option<&str>, now_ms: i64) -> rusqlite::Result<()> {
        self.record_stage(s, now_ms)?;
        self.0
            .prepare_cached(
                "UPDATE interaction SET pop_outcome = coalesce(pop_outcome, 'recovered'),
                   pop_record = coalesce(pop_record, ?2) WHERE id = ?1",
            )?
            .execute(params![s.interaction_id, record])?;
        Ok(())
    }

    /// The pop: its outcome, its record (if one was found), its duration and the decision as the card
    /// shows it. The segment's first stage is written before its pop (the engine orders the two), so
    /// this is an update.
    pub fn record_pop(&self, id: &str, pop: PopWritten<'_>, now_ms: i64) -> rusqlite::Result<bool> {
        let n = self
            .0
            .prepare_cached(
                "UPDATE interaction SET pop_outcome = ?2, pop_record = ?3, pop_us = ?4, pop_json = ?5, updated_ms = ?6,
                   ani = coalesce(ani, ?7)
                 WHERE id = ?1",
            )?
            .execute(params![id, pop.outcome, pop.record, pop.pop_us, pop.json, now_ms, pop.address])?;
        Ok(n == 1)
    }

    /// Segments still open (not wrapped up; ended without after-call work excluded) and updated since
    /// `since_ms`, oldest first, with their pop as the card showed it: the cards to show again after a
    /// restart.
    pub fn open_since(&self, since_ms: i64) -> rusqlite::Result<Vec<(CallRecord, Option<String>)>> {
        self.0
            .prepare(&format!(
                "SELECT {COLUMNS}, pop_json FROM interaction WHERE updated_ms >= ?1 AND stage IN (?2, ?3, ?4)
                 ORDER BY first_seen_ms"
            ))?
            .query_map(
                params![
                    since_ms,
                    Transition::Alerting as i64,
                    Transition::Connected as i64,
                    Transition::AfterCallWork as i64
                ],
                |r| Ok((row(r)?, r.get(11)?)),
            )?
            .collect()
    }

    /// The agent linked a record to the call; false when no such call is kept.
    pub fn link_record(&self, id: &str, record_id: &str, now_ms: i64) -> rusqlite::Result<bool> {
        let n = self.0.execute(
            "UPDATE interaction SET pop_record = ?2, updated_ms = ?3 WHERE id = ?1",
            params![id, record_id, now_ms],
        )?;
        Ok(n == 1)
    }

    /// One call.
    pub fn get(&self, id: &str) -> rusqlite::Result<Option<CallRecord>> {
        self.0
            .prepare_cached(&format!("SELECT {COLUMNS} FROM interaction WHERE id = ?1"))?
            .query_row([id], row)
            .optional()
    }

    /// The furthest stage of every segment updated since `since_ms` (to restore the tracker at
    /// start): `(interaction id, conversation id, stage)`.
    pub fn stages_since(&self, since_ms: i64) -> rusqlite::Result<Vec<(String, String, Transition)>> {
        let mut stmt = self.0.prepare("SELECT id, conversation_id, stage FROM interaction WHERE updated_ms > ?1")?;
        let rows =
            stmt.query_map([since_ms], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))?;
        let mut out = vec![];
        for r in rows {
            let (id, conversation, stage) = r?;
            if let Some(t) = Transition::from_stage(stage) {
                out.push((id, conversation, t));
            }
        }
        Ok(out)
    }

    /// Where the caller's identification for a segment is written: its conversation, media and
    /// customer participant (none for rows from before segments, or without a customer).
    pub fn customer_of(&self, interaction_id: &str) -> rusqlite::Result<Option<CustomerRef>> {
        self.0
            .prepare_cached(
                "SELECT conversation_id, media, customer_participant_id FROM interaction
                 WHERE id = ?1 AND customer_participant_id IS NOT NULL",
            )?
            .query_row([interaction_id], |r| {
                Ok(CustomerRef {
                    conversation_id: r.get(0)?,
                    media: Media::parse(&r.get::<_, String>(1)?),
                    participant_id: r.get(2)?,
                })
            })
            .optional()
    }

    /// Where a segment's wrap-up goes in Genesys, and how far the segment got (none for rows from
    /// before segments).
    pub fn wrapup_target(&self, interaction_id: &str) -> rusqlite::Result<Option<(WrapupTarget, Option<Transition>)>> {
        self.0
            .prepare_cached(
                "SELECT media, conversation_id, participant_id, communication_id, stage FROM interaction
                 WHERE id = ?1 AND participant_id IS NOT NULL AND communication_id IS NOT NULL",
            )?
            .query_row([interaction_id], |r| {
                Ok((
                    WrapupTarget {
                        media: Media::parse(&r.get::<_, String>(0)?),
                        conversation_id: r.get(1)?,
                        participant_id: r.get(2)?,
                        communication_id: r.get(3)?,
                    },
                    Transition::from_stage(r.get(4)?),
                ))
            })
            .optional()
    }

    /// The record linked to another segment of the same conversation on this desktop (the newest).
    pub fn record_in_conversation(&self, conversation_id: &str, except: &str) -> rusqlite::Result<Option<String>> {
        self.0
            .prepare_cached(
                "SELECT pop_record FROM interaction WHERE conversation_id = ?1 AND id <> ?2 AND pop_record IS NOT NULL
                 ORDER BY updated_ms DESC LIMIT 1",
            )?
            .query_row([conversation_id, except], |r| r.get(0))
            .optional()
    }

    /// How many segments of each kind were seen: `(kind, count)`.
    pub fn kinds(&self) -> rusqlite::Result<Vec<(SegmentKind, u64)>> {
        self.0
            .prepare("SELECT kind, count(*) FROM interaction GROUP BY kind")?
            .query_map([], |r| Ok((SegmentKind::parse(&r.get::<_, String>(0)?), r.get::<_, i64>(1)? as u64)))?
            .collect()
    }

    /// The most recently updated calls, newest first.
    pub fn recent(&self, limit: usize) -> rusqlite::Result<Vec<CallRecord>> {
        self.0
            .prepare(&format!("SELECT {COLUMNS} FROM interaction ORDER BY updated_ms DESC LIMIT ?1"))?
            .query_map([limit as i64], row)?
            .collect()
    }

    /// Calls first seen since `since_ms`, newest first, with the code and delivery state of their
    /// disposition when one is queued.
    pub fn since_with_disposition(&self, since_ms: i64, limit: usize) -> rusqlite::Result<Vec<CallWithDisposition>> {
        let mut stmt = self.0.prepare(
            "SELECT c.id, c.conversation_id, c.kind, c.stage, c.ani, c.first_seen_ms, c.updated_ms, c.pop_outcome,
                    c.pop_record, c.pop_us, c.media, json_extract(o.payload, '$.code'), o.state
             FROM interaction c LEFT JOIN outbox o ON o.interaction_id = c.id
             WHERE c.first_seen_ms >= ?1 ORDER BY c.first_seen_ms DESC LIMIT ?2",
        )?;
        stmt.query_map(params![since_ms, limit as i64], |r| {
            Ok(CallWithDisposition { call: row(r)?, code: r.get(11)?, delivery: r.get(12)? })
        })?
        .collect()
    }

    /// How many calls are kept.
    pub fn count(&self) -> rusqlite::Result<u64> {
        self.0.query_row("SELECT count(*) FROM interaction", [], |r| r.get::<_, i64>(0)).map(|n| n as u64)
    }

    /// How many calls popped with each outcome.
    pub fn pop_outcomes(&self) -> rusqlite::Result<Vec<(String, u64)>> {
        self.0
            .prepare(
                "SELECT pop_outcome, count(*) FROM interaction WHERE pop_outcome IS NOT NULL GROUP BY pop_outcome",
            )?
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64)))?
            .collect()
    }

    /// The durations (µs) of the most recent pops.
    pub fn recent_pop_us(&self, limit: usize) -> rusqlite::Result<Vec<i64>> {
        self.0
            .prepare("SELECT pop_us FROM interaction WHERE pop_us IS NOT NULL ORDER BY updated_ms DESC LIMIT ?1")?
            .query_map([limit as i64], |r| r.get(0))?
            .collect()
    }

    /// Every call with a caller address: `(id, address)`.
    pub fn addresses(&self) -> rusqlite::Result<Vec<(String, String)>> {
        self.0
            .prepare("SELECT id, ani FROM interaction WHERE ani IS NOT NULL")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect()
    }

    /// Forgets one call; returns the rows removed.
    pub fn delete(&self, id: &str) -> rusqlite::Result<usize> {
        self.0.execute("DELETE FROM interaction WHERE id = ?1", [id])
    }

    /// Unlinks a record from every segment that named it (its pop too, which may list it among
    /// others); returns the segments changed.
    pub fn unlink_record(&self, record_id: &str) -> rusqlite::Result<usize> {
        self.0.execute(
            "UPDATE interaction SET pop_record = NULL, pop_json = NULL WHERE pop_record = ?1 OR instr(pop_json, ?1) > 0",
            [record_id],
        )
    }

    /// Forgets calls not updated since `before_ms`; returns how many.
    pub fn purge_before(&self, before_ms: i64) -> rusqlite::Result<usize> {
        self.0.execute("DELETE FROM interaction WHERE updated_ms < ?1", [before_ms])
    }

    /// Forgets every call; returns how many.
    pub fn delete_all(&self) -> rusqlite::Result<usize> {
        self.0.execute("DELETE FROM interaction", [])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn a_stage_never_goes_back_and_the_pop_lands_on_the_call() {
        let store = Store::in_memory().unwrap();
        let conn = store.background();
        let calls = Interactions::on(&conn);
        let at = |stage, ani| StageReached {
            interaction_id: "c1",
            conversation_id: "conv",
            participant_id: "p1",
            customer_participant_id: Some("cust"),
            communication_id: Some("comm"),
            media: Media::Call,
            kind: SegmentKind::Transfer,
            stage,
            ani,
        };
        calls.record_stage(at(Transition::Alerting, "+15551230001"), 10).unwrap();
        let pop = |record| PopWritten { outcome: "single", record, pop_us: 1500, json: "{}", address: None };
        assert!(calls.record_pop("c1", pop(Some("0038c00000000gIAAQ")), 11).unwrap());
        calls.record_stage(at(Transition::Disconnected, ""), 12).unwrap();
        // A late duplicate of an earlier stage (REST catch-up) changes nothing.
        calls.record_stage(at(Transition::Connected, "+15559999999"), 13).unwrap();
        let c = calls.get("c1").unwrap().unwrap();
        assert_eq!(c.stage, Some(Transition::Disconnected));
        assert_eq!(c.ani.as_deref(), Some("+15551230001"));
        assert_eq!(
            (c.pop_outcome.as_deref(), c.pop_record.as_deref(), c.pop_us),
            (Some("single"), Some("0038c00000000gIAAQ"), Some(1500))
        );
        assert_eq!(c.first_seen_ms, 10);
        assert_eq!((c.kind, c.conversation_id.as_str()), (SegmentKind::Transfer, "conv"));
        assert_eq!(calls.kinds().unwrap(), vec![(SegmentKind::Transfer, 1)]);
        let customer = calls.customer_of("c1").unwrap().unwrap();
        assert_eq!((customer.conversation_id.as_str(), customer.participant_id.as_str()), ("conv", "cust"));
        assert_eq!(calls.record_in_conversation("conv", "c1").unwrap(), None, "not its own");
        let (target, stage) = calls.wrapup_target("c1").unwrap().unwrap();
        assert_eq!((target.communication_id.as_str(), stage), ("comm", Some(Transition::Disconnected)));
        assert_eq!(calls.record_in_conversation("conv", "c2").unwrap().as_deref(), Some("0038c00000000gIAAQ"));
        // A pop for a call that was never recorded is refused, not invented.
        assert!(!calls.record_pop("nope", pop(None), 14).unwrap());
        assert!(!calls.link_record("nope", "0038c00000000gIAAQ", 14).unwrap());
        assert_eq!(
            calls.stages_since(0).unwrap(),
            vec![("c1".to_string(), "conv".to_string(), Transition::Disconnected)]
        );
        assert_eq!(calls.purge_before(13).unwrap(), 0);
        assert_eq!(calls.purge_before(14).unwrap(), 1);
        assert_eq!(calls.count().unwrap(), 0);
    }
}
