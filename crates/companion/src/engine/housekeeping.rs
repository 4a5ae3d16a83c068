//! On a timer: purge expired cache entries, old journal frames and old calls; record the counters the
//! status snapshot reads; warn before the Genesys sign-in runs out. And the connection state, written
//! for `companion status` as it changes.

use crate::clock::SharedClock;
use crate::config::Config;
use crate::events::{EngineEvent, EventSink};
use crate::genesys::feed::ConnectionState;
use crate::genesys::rest::GenesysClient;
use crate::salesforce::SalesforceClient;
use crate::screenpop::Resolver;
use crate::store::{Drafts, Interactions, Journal, Store, StoreError};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// What housekeeping looks after.
pub(super) struct Housekeeping {
    pub resolver: Arc<Resolver>,
    pub genesys: Arc<GenesysClient>,
    pub salesforce: Arc<SalesforceClient>,
    pub store: Arc<Store>,
    pub clock: SharedClock,
    pub config: Arc<Config>,
    pub sink: Arc<dyn EventSink>,
    pub outbox: Arc<crate::outbox::Outbox>,
}

/// How long each kind of personal data is kept.
struct Retention {
    journal_ms: i64,
    settled_ms: i64,
}

impl Housekeeping {
    /// Runs every 30 s until `stop`.
    pub(super) async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut warned_for = 0i64;
        let purge_every = self.config.cache.purge_interval_secs as i64 * 1000;
        let retention = Retention {
            journal_ms: self.config.store.journal_retention_hours as i64 * 3_600_000,
            settled_ms: self.config.store.retention_days as i64 * 86_400_000,
        };
        let mut last_purge = i64::MIN / 2;
        loop {
            let now = self.clock.now_ms();
            // Genesys gives a desktop app no refresh token: say so before the sign-in runs out.
            let expires = self.genesys.expires_at_ms().unwrap_or(0);
            let warn_before = self.config.genesys.sign_in_warning_secs as i64 * 1000;
            if expires > 0 && expires != warned_for && expires - now <= warn_before {
                warned_for = expires;
                self.sink.emit(&EngineEvent::SignInSoon {
                    cloud: crate::signin::Cloud::Genesys,
                    expires_in_secs: ((expires - now).max(0) / 1000) as u64,
                });
            }
            let purge_now = now - last_purge >= purge_every;
            if purge_now {
                last_purge = now;
            }
            let (resolver, salesforce, store, outbox) =
                (self.resolver.clone(), self.salesforce.clone(), self.store.clone(), self.outbox.clone());
            // Off the async workers: a purge can delete many rows.
            let result = tokio::task::spawn_blocking(move || {
                if purge_now {
                    purge(&resolver, &store, now, retention.journal_ms)?;
                    let gone = outbox.purge_settled_before(now - retention.settled_ms).map_err(|e| match e {
                        crate::outbox::OutboxError::Store(s) => s,
                        other => StoreError::Worker(other.to_string()),
                    })?;
                    let picks = resolver.cache().purge_choices_before(now - retention.settled_ms)?;
                    if gone + picks > 0 {
                        tracing::info!(dispositions = gone, picks, "purged past the retention");
                    }
                }
                record_stats(&resolver, &salesforce, &store, now)
            })
            .await;
            if let Ok(Err(e)) = result {
                tracing::warn!(error = %e, "housekeeping failed");
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(30)) => {}
                _ = stop.changed() => {
                    let _ = record_stats(&self.resolver, &self.salesforce, &self.store, self.clock.now_ms());
                    return;
                }
            }
        }
    }
}

/// Counters for the status snapshot: cache hits and misses, the org's API usage last seen.
fn record_stats(resolver: &Resolver, salesforce: &SalesforceClient, store: &Store, now: i64) -> Result<(), StoreError> {
    use std::sync::atomic::Ordering::Relaxed;
    let (hits, misses) = (resolver.stats.hits.load(Relaxed), resolver.stats.misses.load(Relaxed));
    store.set_status("cache_stats", &format!("{{\"hits\":{hits},\"misses\":{misses}}}"), now)?;
    let (used, max) = salesforce.api_usage();
    if max > 0 {
        store.set_status("api_usage", &format!("{{\"used\":{used},\"max\":{max}}}"), now)?;
    }
    Ok(())
}

/// One housekeeping pass; returns (cache entries, journal frames) removed.
pub fn purge(resolver: &Resolver, store: &Store, now_ms: i64, retention_ms: i64) -> Result<(usize, usize), StoreError> {
    let cache = resolver.cache().purge_expired(now_ms)?;
    let conn = store.background();
    let journal = Journal::on(&conn).purge_before(now_ms - retention_ms)?;
    Interactions::on(&conn).purge_before(now_ms - retention_ms)?;
    Drafts::on(&conn).purge_before(now_ms - retention_ms)?;
    Ok((cache, journal))
}

/// Writes the connection state for `companion status` and announces it, until `stop`.
pub(super) async fn watch_connection(
    mut rx: watch::Receiver<ConnectionState>,
    sink: Arc<dyn EventSink>,
    store: Arc<Store>,
    clock: SharedClock,
    mut stop: watch::Receiver<bool>,
) {
    let record = |state: &ConnectionState| {
        if let Ok(json) = serde_json::to_string(state) {
            let _ = store.set_status("connection", &json, clock.now_ms());
        }
    };
    loop {
        let state = rx.borrow_and_update().clone();
        tracing::info!(?state, "notification feed");
        sink.emit(&EngineEvent::Connection { state: state.clone() });
        record(&state);
        tokio::select! {
            changed = rx.changed() => if changed.is_err() { return },
            _ = stop.changed() => {
                // The feed's last word (stopped) may still be on its way.
                record(&rx.borrow().clone());
                return;
            }
        }
    }
}
