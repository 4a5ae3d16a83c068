//! The wrap-up codes: one list per desk, shared by the engine (to name the code of a wrap-up entered
//! in Genesys) and the window's form (the codes it offers). Read from Genesys at sign-in, and again
//! (at most once a minute) when an unknown code shows up; the configured code map's names stand in
//! until Genesys has answered.

use crate::genesys::rest::GenesysClient;
use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicI64, Ordering};

/// How long a queue's code list is reused before it is read again.
const QUEUE_CODES_TTL_MS: i64 = 10 * 60_000;

/// Wrap-up code names by id, and each queue's names.
#[derive(Debug, Default)]
pub struct WrapupCodes {
    by_id: RwLock<HashMap<String, String>>,
    /// Queue id → (its code names, sorted; when read).
    by_queue: RwLock<HashMap<String, (Vec<String>, i64)>>,
    /// One read of a queue's list at a time.
    queue_loading: tokio::sync::Mutex<()>,
    /// Names offered before Genesys answers (the configured code map's keys).
    fallback: Vec<String>,
    last_load_ms: AtomicI64,
    /// One load at a time; the others wait for it and read its result.
    loading: tokio::sync::Mutex<()>,
}

impl WrapupCodes {
    /// A list that offers `fallback` until Genesys has answered.
    pub fn with_fallback(mut fallback: Vec<String>) -> WrapupCodes {
        fallback.sort();
        fallback.dedup();
        WrapupCodes { fallback, ..WrapupCodes::default() }
    }

    /// Reads the org's codes now (at sign-in). A failure keeps what was known.
    pub async fn load(&self, genesys: &GenesysClient, now_ms: i64) {
        let _one_at_a_time = self.loading.lock().await;
        self.load_now(genesys, now_ms).await;
    }

    /// The read itself; the caller holds `loading`. A failed read may be tried again after 5 s.
    async fn load_now(&self, genesys: &GenesysClient, now_ms: i64) {
        match genesys.wrapup_codes().await {
            Ok(list) => {
                self.last_load_ms.store(now_ms, Ordering::Relaxed);
                if !list.is_empty() {
                    *self.by_id.write().unwrap_or_else(|e| e.into_inner()) = list.into_iter().collect();
                }
            }
            Err(e) => {
                self.last_load_ms.store(now_ms - 55_000, Ordering::Relaxed);
                tracing::warn!(error = %e, "could not read the wrap-up codes");
            }
        }
    }

    /// The code names a queue allows, read through one of its participants the first time (and
    /// again after ten minutes): one Genesys request per queue, not per call, so the agent's request
    /// budget stays for the feed's catch-up.
    pub async fn for_queue(
        &self,
        genesys: &GenesysClient,
        queue_id: &str,
        conversation_id: &str,
        participant_id: &str,
        now_ms: i64,
    ) -> Option<Vec<String>> {
        let fresh = |m: &HashMap<String, (Vec<String>, i64)>| {
            m.get(queue_id).filter(|(_, at)| now_ms - at < QUEUE_CODES_TTL_MS).map(|(names, _)| names.clone())
        };
        if let Some(names) = fresh(&self.by_queue.read().unwrap_or_else(|e| e.into_inner())) {
            return Some(names);
        }
        let _one_at_a_time = self.queue_loading.lock().await;
        if let Some(names) = fresh(&self.by_queue.read().unwrap_or_else(|e| e.into_inner())) {
            return Some(names);
        }
        match genesys.participant_wrapup_codes(conversation_id, participant_id).await {
            Ok(list) if !list.is_empty() => {
                self.remember(&list);
                let mut names: Vec<String> = list.into_iter().map(|(_, n)| n).collect();
                names.sort();
                names.dedup();
                let mut m = self.by_queue.write().unwrap_or_else(|e| e.into_inner());
                m.insert(queue_id.to_string(), (names.clone(), now_ms));
                Some(names)
            }
            Ok(_) => None,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the queue's wrap-up codes");
                None
            }
        }
    }

    /// Adds codes read for one participant (its queue's), so their names resolve too.
    pub fn remember(&self, codes: &[(String, String)]) {
        let mut by_id = self.by_id.write().unwrap_or_else(|e| e.into_inner());
        for (id, name) in codes {
            by_id.entry(id.clone()).or_insert_with(|| name.clone());
        }
    }

    /// The id of a code by its name.
    pub fn id_of(&self, name: &str) -> Option<String> {
        let by_id = self.by_id.read().unwrap_or_else(|e| e.into_inner());
        by_id.iter().find(|(_, n)| n.as_str() == name).map(|(id, _)| id.clone())
    }

    /// The names the form offers, sorted.
    pub fn names(&self) -> Vec<String> {
        let by_id = self.by_id.read().unwrap_or_else(|e| e.into_inner());
        if by_id.is_empty() {
            return self.fallback.clone();
        }
        let mut names: Vec<String> = by_id.values().cloned().collect();
        names.sort();
        names.dedup();
        names
    }

    /// Whether the form may submit this name.
    pub fn offers(&self, name: &str) -> bool {
        self.names().iter().any(|n| n == name)
    }

    fn lookup(&self, code: &str) -> Option<String> {
        let m = self.by_id.read().unwrap_or_else(|e| e.into_inner());
        m.get(code).cloned().or_else(|| m.values().find(|n| n.as_str() == code).cloned())
    }

    /// The name for a code from an event: by id first, then as a name; unknown codes are kept as they
    /// are.
    pub async fn name_of(&self, genesys: &GenesysClient, code: &str, now_ms: i64) -> String {
        if let Some(n) = self.lookup(code) {
            return n;
        }
        // One load at a time: the others wait for it and read its result. At most one reload a
        // minute, however many unknown codes arrive.
        let _one_at_a_time = self.loading.lock().await;
        if let Some(n) = self.lookup(code) {
            return n;
        }
        let last = self.last_load_ms.load(Ordering::Relaxed);
        if last == 0 || now_ms - last >= 60_000 {
            self.load_now(genesys, now_ms).await;
            if let Some(n) = self.lookup(code) {
                return n;
            }
        }
        code.to_string()
    }
}
