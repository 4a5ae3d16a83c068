//! The other destination of a disposition set in the companion: Genesys, where the agent's wrap-up is
//! applied too, so nobody enters it twice. Its state lives on the outbox row (one row per
//! disposition, one owner): `pending` until applied, then `applied`; `refused` when the agent's role
//! may not; `closed` when Genesys no longer takes one (after-call work is over).

use super::{Disposition, Outbox, OutboxError};
use rusqlite::{Connection, params};

/// Where the Genesys side of a disposition stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GenesysWrapupState {
    Applied,
    Refused,
    Closed,
}

impl GenesysWrapupState {
    fn as_str(self) -> &'static str {
        match self {
            GenesysWrapupState::Applied => "applied",
            GenesysWrapupState::Refused => "refused",
            GenesysWrapupState::Closed => "closed",
        }
    }
}

/// The Genesys wrap-up columns of the outbox, on any connection of the store.
#[derive(Debug, Clone, Copy)]
pub struct GenesysWrapups<'c>(&'c Connection);

impl<'c> GenesysWrapups<'c> {
    /// The columns on this connection.
    pub fn on(conn: &'c Connection) -> GenesysWrapups<'c> {
        GenesysWrapups(conn)
    }

    /// Dispositions whose wrap-up waits to be applied in Genesys, due now: `(version, disposition)`.
    pub fn due(&self, now_ms: i64, limit: usize) -> rusqlite::Result<Vec<(i64, Disposition)>> {
        let mut stmt = self.0.prepare_cached(
            "SELECT version, payload FROM outbox WHERE genesys_wrapup = 'pending' AND genesys_next_ms <= ?1
             ORDER BY genesys_next_ms LIMIT ?2",
        )?;
        let rows =
            stmt.query_map(params![now_ms, limit as i64], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))?;
        let mut out = vec![];
        for row in rows {
            let (version, payload) = row?;
            match serde_json::from_str(&payload) {
                Ok(d) => out.push((version, d)),
                Err(e) => tracing::error!(error = %e, "an outbox payload could not be read"),
            }
        }
        Ok(out)
    }

    /// Settles the Genesys side of a version (a newer edit is left to be applied itself).
    pub fn settle(
        &self,
        id: &str,
        version: i64,
        state: GenesysWrapupState,
        error: Option<&str>,
    ) -> rusqlite::Result<bool> {
        let n = self.0.prepare_cached(
            "UPDATE outbox SET genesys_wrapup = ?3, genesys_error = ?4 WHERE interaction_id = ?1 AND version = ?2 AND genesys_wrapup = 'pending'",
        )?
        .execute(params![id, version, state.as_str(), error])?;
        Ok(n == 1)
    }

    /// Tries again at `next_ms`.
    pub fn later(&self, id: &str, version: i64, next_ms: i64, error: Option<&str>) -> rusqlite::Result<()> {
        self.0
            .prepare_cached(
                "UPDATE outbox SET genesys_next_ms = ?3, genesys_error = ?4 WHERE interaction_id = ?1 AND version = ?2 AND genesys_wrapup = 'pending'",
            )?
            .execute(params![id, version, next_ms, error])?;
        Ok(())
    }

    /// The Genesys side of one disposition: its state and last error.
    pub fn state_of(&self, id: &str) -> rusqlite::Result<Option<(Option<String>, Option<String>)>> {
        use rusqlite::OptionalExtension;
        self.0
            .prepare_cached("SELECT genesys_wrapup, genesys_error FROM outbox WHERE interaction_id = ?1")?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
    }
}

impl Outbox {
    /// Runs `f` on the Genesys wrap-up columns, on the outbox's connection.
    pub fn genesys_wrapups<T>(
        &self,
        f: impl FnOnce(GenesysWrapups<'_>) -> rusqlite::Result<T>,
    ) -> Result<T, OutboxError> {
        Ok(f(GenesysWrapups::on(&self.store.outbox()))?)
    }
}
