//! The lookup cache in SQLite, keyed by E.164: positive entries (one or more candidates) and negative
//! ones (nobody has the number) with their own TTLs, purged on schedule. Also the agent's picks.

use super::Candidate;
use crate::store::{Store, StoreError};
use rusqlite::{OptionalExtension, params};
use std::sync::Arc;

/// A cached answer.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedLookup {
    pub candidates: Vec<Candidate>,
    pub fetched_ms: i64,
    pub expires_ms: i64,
}

/// Cache sizes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct CacheSize {
    pub positive: u64,
    pub negative: u64,
}

/// The cache over the store's connection.
#[derive(Debug, Clone)]
pub struct LookupCache {
    store: Arc<Store>,
    positive_ttl_ms: i64,
    negative_ttl_ms: i64,
}

impl LookupCache {
    /// A cache with the given TTLs.
    pub fn new(store: Arc<Store>, positive_ttl_secs: u64, negative_ttl_secs: u64) -> LookupCache {
        LookupCache {
            store,
            positive_ttl_ms: positive_ttl_secs as i64 * 1000,
            negative_ttl_ms: negative_ttl_secs as i64 * 1000,
        }
    }

    /// The live entry for a number, if any.
    pub fn get(&self, e164: &str, now_ms: i64) -> Result<Option<CachedLookup>, StoreError> {
        let conn = self.store.conn();
        let mut stmt =
            conn.prepare_cached("SELECT candidates, fetched_ms, expires_ms FROM cache_lookup WHERE e164 = ?1")?;
        let row: Option<(String, i64, i64)> =
            stmt.query_row([e164], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).optional()?;
        Ok(row.filter(|(_, _, exp)| *exp > now_ms).and_then(|(json, fetched_ms, expires_ms)| {
            // An entry we cannot read is a miss, not an error: the cache is disposable.
            serde_json::from_str(&json).ok().map(|candidates| CachedLookup { candidates, fetched_ms, expires_ms })
        }))
    }

    /// Stores an answer (empty = negative entry).
    pub fn put(&self, e164: &str, candidates: &[Candidate], now_ms: i64) -> Result<(), StoreError> {
        let ttl = if candidates.is_empty() { self.negative_ttl_ms } else { self.positive_ttl_ms };
        let json = serde_json::to_string(candidates).expect("candidates serialize");
        self.store.conn().prepare_cached(
            "INSERT INTO cache_lookup(e164, candidates, fetched_ms, expires_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(e164) DO UPDATE SET candidates = excluded.candidates, fetched_ms = excluded.fetched_ms, expires_ms = excluded.expires_ms",
        )?
        .execute(params![e164, json, now_ms, now_ms + ttl])?;
        Ok(())
    }

    /// Removes expired entries; returns how many.
    pub fn purge_expired(&self, now_ms: i64) -> Result<usize, StoreError> {
        Ok(self.store.background().execute("DELETE FROM cache_lookup WHERE expires_ms <= ?1", [now_ms])?)
    }

    /// Forgets the agent's picks not renewed since `before_ms`; returns how many.
    pub fn purge_choices_before(&self, before_ms: i64) -> Result<usize, StoreError> {
        Ok(self.store.background().execute("DELETE FROM picker_choice WHERE chosen_ms < ?1", [before_ms])?)
    }

    /// Entry counts.
    pub fn size(&self) -> Result<CacheSize, StoreError> {
        Ok(CacheRows::on(&self.store.conn()).size()?)
    }

    /// Remembers the agent's pick for a number.
    pub fn remember_choice(&self, e164: &str, record_id: &str, now_ms: i64) -> Result<(), StoreError> {
        self.store.conn().execute(
            "INSERT INTO picker_choice(e164, record_id, chosen_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT(e164) DO UPDATE SET record_id = excluded.record_id, chosen_ms = excluded.chosen_ms",
            params![e164, record_id, now_ms],
        )?;
        Ok(())
    }

    /// The agent's earlier pick for a number.
    pub fn choice(&self, e164: &str) -> Result<Option<String>, StoreError> {
        let conn = self.store.conn();
        let mut stmt = conn.prepare_cached("SELECT record_id FROM picker_choice WHERE e164 = ?1")?;
        Ok(stmt.query_row([e164], |r| r.get(0)).optional()?)
    }
}

/// The cache's rows on any connection: the status report's read-only one, an erasure's transaction.
#[derive(Debug, Clone, Copy)]
pub struct CacheRows<'c>(&'c rusqlite::Connection);

impl<'c> CacheRows<'c> {
    /// The rows on this connection.
    pub fn on(conn: &'c rusqlite::Connection) -> CacheRows<'c> {
        CacheRows(conn)
    }

    /// Entry counts: numbers with records, numbers without.
    pub fn size(&self) -> rusqlite::Result<CacheSize> {
        let (positive, negative) = self.0.query_row(
            "SELECT coalesce(sum(candidates != '[]'), 0), coalesce(sum(candidates = '[]'), 0) FROM cache_lookup",
            [],
            |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
        )?;
        Ok(CacheSize { positive: positive as u64, negative: negative as u64 })
    }

    /// Forgets a number's answer and the agent's pick for it; returns (answers, picks) removed.
    pub fn forget_number(&self, e164: &str) -> rusqlite::Result<(usize, usize)> {
        Ok((
            self.0.execute("DELETE FROM cache_lookup WHERE e164 = ?1", [e164])?,
            self.0.execute("DELETE FROM picker_choice WHERE e164 = ?1", [e164])?,
        ))
    }

    /// Forgets every answer that offers a record and every pick of it; returns (answers, picks).
    pub fn forget_record(&self, id18: &str) -> rusqlite::Result<(usize, usize)> {
        Ok((
            self.0.execute("DELETE FROM cache_lookup WHERE candidates LIKE ?1", [format!("%{id18}%")])?,
            self.0.execute("DELETE FROM picker_choice WHERE record_id = ?1", [id18])?,
        ))
    }

    /// Forgets every answer and pick; returns (answers, picks).
    pub fn forget_all(&self) -> rusqlite::Result<(usize, usize)> {
        Ok((self.0.execute("DELETE FROM cache_lookup", [])?, self.0.execute("DELETE FROM picker_choice", [])?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(id: &str) -> Candidate {
        Candidate {
            id: id.into(),
            object: "Contact".into(),
            name: "Ada".into(),
            account_name: None,
            account_id: None,
            matched_field: "Phone".into(),
            matched_value: "(415) 555-2671".into(),
            exact_format: false,
            last_activity: None,
        }
    }

    #[test]
    fn positive_and_negative_entries_expire_on_their_own_ttls() {
        let cache = LookupCache::new(Arc::new(Store::in_memory().unwrap()), 100, 10);
        cache.put("+1", &[cand("003A")], 0).unwrap();
        cache.put("+2", &[], 0).unwrap();
        assert_eq!(cache.size().unwrap(), CacheSize { positive: 1, negative: 1 });
        assert!(cache.get("+2", 9_999).unwrap().is_some());
        assert!(cache.get("+2", 10_000).unwrap().is_none(), "negative TTL");
        assert_eq!(cache.get("+1", 99_999).unwrap().unwrap().candidates, vec![cand("003A")]);
        assert!(cache.get("+1", 100_000).unwrap().is_none());
        assert_eq!(cache.purge_expired(50_000).unwrap(), 1);
        assert_eq!(cache.size().unwrap(), CacheSize { positive: 1, negative: 0 });
    }

    #[test]
    fn picks_are_remembered() {
        let cache = LookupCache::new(Arc::new(Store::in_memory().unwrap()), 100, 10);
        assert_eq!(cache.choice("+1").unwrap(), None);
        cache.remember_choice("+1", "003B", 5).unwrap();
        cache.remember_choice("+1", "003C", 6).unwrap();
        assert_eq!(cache.choice("+1").unwrap().as_deref(), Some("003C"));
    }
}
