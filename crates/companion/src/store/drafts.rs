//! The `wrapup_draft` table's one owner: what the agent typed in an interaction's wrap-up form and has
//! not submitted, so it survives a new pop taking the focus and a restart. A draft goes when its
//! wrap-up is queued, with its interaction, or with the retention purge.

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

/// A wrap-up not yet submitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Draft {
    pub code: String,
    pub notes: String,
}

/// The table's operations, on any connection of the store.
#[derive(Debug, Clone, Copy)]
pub struct Drafts<'c>(&'c Connection);

impl<'c> Drafts<'c> {
    /// The table on this connection.
    pub fn on(conn: &'c Connection) -> Drafts<'c> {
        Drafts(conn)
    }

    /// Keeps a draft (an empty one is forgotten).
    pub fn save(&self, interaction_id: &str, d: &Draft, now_ms: i64) -> rusqlite::Result<()> {
        if d.code.is_empty() && d.notes.trim().is_empty() {
            return self.forget(interaction_id).map(|_| ());
        }
        self.0
            .prepare_cached(
                "INSERT INTO wrapup_draft(interaction_id, code, notes, updated_ms) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT(interaction_id) DO UPDATE SET code = excluded.code, notes = excluded.notes, updated_ms = excluded.updated_ms",
            )?
            .execute(params![interaction_id, d.code, d.notes, now_ms])?;
        Ok(())
    }

    /// One interaction's draft.
    pub fn get(&self, interaction_id: &str) -> rusqlite::Result<Option<Draft>> {
        self.0
            .prepare_cached("SELECT code, notes FROM wrapup_draft WHERE interaction_id = ?1")?
            .query_row([interaction_id], |r| Ok(Draft { code: r.get(0)?, notes: r.get(1)? }))
            .optional()
    }

    /// Forgets one interaction's draft; returns the rows removed.
    pub fn forget(&self, interaction_id: &str) -> rusqlite::Result<usize> {
        self.0.execute("DELETE FROM wrapup_draft WHERE interaction_id = ?1", [interaction_id])
    }

    /// Forgets drafts not touched since `before_ms`; returns how many.
    pub fn purge_before(&self, before_ms: i64) -> rusqlite::Result<usize> {
        self.0.execute("DELETE FROM wrapup_draft WHERE updated_ms < ?1", [before_ms])
    }

    /// Forgets every draft; returns how many.
    pub fn delete_all(&self) -> rusqlite::Result<usize> {
        self.0.execute("DELETE FROM wrapup_draft", [])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[test]
    fn a_draft_is_kept_replaced_and_an_empty_one_forgotten() {
        let store = Store::in_memory().unwrap();
        let conn = store.background();
        let drafts = Drafts::on(&conn);
        let d = Draft { code: "Completed".into(), notes: "asked about the invoice".into() };
        drafts.save("c:p", &d, 1).unwrap();
        assert_eq!(drafts.get("c:p").unwrap(), Some(d));
        drafts.save("c:p", &Draft { code: String::new(), notes: "  ".into() }, 2).unwrap();
        assert_eq!(drafts.get("c:p").unwrap(), None);
        drafts.save("c:q", &Draft { code: "Sale".into(), notes: String::new() }, 3).unwrap();
        assert_eq!(drafts.purge_before(4).unwrap(), 1);
    }
}
