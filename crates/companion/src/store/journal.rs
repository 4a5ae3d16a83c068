//! The `journal` table's one owner: raw notification frames, for support (the engine never reads them
//! back), written in batches, purged after the retention, erased by `companion forget`.

use rusqlite::{Connection, params};

/// The table's operations, on any connection of the store (a transaction derefs to one).
#[derive(Debug, Clone, Copy)]
pub struct Journal<'c>(&'c Connection);

impl<'c> Journal<'c> {
    /// The table on this connection.
    pub fn on(conn: &'c Connection) -> Journal<'c> {
        Journal(conn)
    }

    /// Appends frames: `(received ms, conversation id, frame text)`.
    pub fn append(&self, frames: &[(i64, String, String)]) -> rusqlite::Result<()> {
        let mut stmt =
            self.0.prepare_cached("INSERT INTO journal(received_ms, conversation_id, frame) VALUES (?1, ?2, ?3)")?;
        for (ms, id, frame) in frames {
            stmt.execute(params![ms, id, frame])?;
        }
        Ok(())
    }

    /// Frames kept.
    pub fn count(&self) -> rusqlite::Result<u64> {
        self.0.query_row("SELECT count(*) FROM journal", [], |r| r.get::<_, i64>(0)).map(|n| n as u64)
    }

    /// Forgets frames received before `before_ms`; returns how many.
    pub fn purge_before(&self, before_ms: i64) -> rusqlite::Result<usize> {
        self.0.execute("DELETE FROM journal WHERE received_ms < ?1", [before_ms])
    }

    /// Forgets one conversation's frames.
    pub fn forget_conversation(&self, id: &str) -> rusqlite::Result<usize> {
        self.0.execute("DELETE FROM journal WHERE conversation_id = ?1", [id])
    }

    /// Forgets every frame whose text contains one of `texts` (a number's digits, a record id).
    pub fn forget_mentions(&self, texts: &[&str]) -> rusqlite::Result<usize> {
        let mut n = 0;
        for t in texts {
            let pattern = format!("%{}%", t.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
            n += self.0.execute("DELETE FROM journal WHERE frame LIKE ?1 ESCAPE '\\'", [pattern])?;
        }
        Ok(n)
    }

    /// Forgets every frame.
    pub fn forget_all(&self) -> rusqlite::Result<usize> {
        self.0.execute("DELETE FROM journal", [])
    }
}
