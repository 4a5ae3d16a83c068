//! The pusher: wakes on enqueue and on a timer, sends due rows in batches of up to 200 with one
//! sObject Collections upsert (and the optional Task upsert), reads every per-record result, and
//! classifies failures: transient → exponential back-off with jitter and Retry-After; session → refresh
//! once, else hold the queue until the agent signs in; budget → long back-off and an alert, and pushes
//! spaced out as the daily allocation nears its end; permanent → parked with Salesforce's message (a
//! whole-batch refusal is split to find the record at fault). It never spins.

use super::{DueRow, Outbox, Settlement, mapping};
use crate::clock::SharedClock;
use crate::config::Config;
use crate::events::{EngineEvent, EventSink};
use crate::salesforce::SalesforceClient;
use crate::salesforce::errors::{SfError, SfErrorKind};
use rand::Rng;
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;

const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What the pusher is doing.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum PusherState {
    /// Nothing due.
    Idle,
    /// Sending.
    Pushing,
    /// Waiting out a back-off.
    BackingOff {
        until_ms: i64,
        reason: String,
    },
    /// The org's daily API allocation is spent (or nearly): waiting.
    BudgetLimited {
        until_ms: i64,
        used: u64,
        max: u64,
    },
    /// Salesforce wants a new sign-in; the queue is held, nothing is lost.
    SignInRequired {
        reason: String,
    },
    Stopped,
}

/// Per-record status codes that are worth another try.
const TRANSIENT_RECORD_CODES: [&str; 4] =
    ["UNABLE_TO_LOCK_ROW", "REQUEST_RUNNING_TOO_LONG", "SERVER_UNAVAILABLE", "ALL_OR_NONE_OPERATION_ROLLED_BACK"];

/// The running pusher.
pub struct PusherHandle {
    state: watch::Receiver<PusherState>,
    flush: Arc<std::sync::atomic::AtomicBool>,
    wake: Arc<Notify>,
    stop: Arc<Notify>,
    task: Option<JoinHandle<()>>,
}

impl PusherHandle {
    /// Starts pushing.
    pub fn start(
        outbox: Arc<Outbox>,
        salesforce: Arc<SalesforceClient>,
        config: Arc<Config>,
        clock: SharedClock,
        sink: Arc<dyn EventSink>,
    ) -> PusherHandle {
        let (tx, rx) = watch::channel(PusherState::Idle);
        let wake = outbox.wake_signal();
        let stop = Arc::new(Notify::new());
        let flush = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let pusher = Pusher {
            outbox,
            salesforce,
            config,
            clock,
            sink,
            state: tx,
            wake: wake.clone(),
            stop: stop.clone(),
            flush: flush.clone(),
            last_push_ms: Default::default(),
        };
        PusherHandle { state: rx, flush, wake, stop, task: Some(tokio::spawn(pusher.run())) }
    }

    /// The pusher's state, to watch.
    pub fn state(&self) -> watch::Receiver<PusherState> {
        self.state.clone()
    }

    /// Looks for due rows now (after a sign-in, a retry from the UI, or a clock change in tests).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Sends everything due now, without waiting for the batch window (quitting, "send now").
    pub fn flush(&self) {
        self.flush.store(true, std::sync::atomic::Ordering::SeqCst);
        self.wake.notify_one();
    }

    /// Stops after the batch in flight, bounded in time.
    pub async fn stop(mut self) {
        self.stop.notify_one();
        if let Some(t) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(35), t).await.is_err()
        {
            tracing::warn!("the pusher did not stop in time");
        }
    }
}

impl Drop for PusherHandle {
    fn drop(&mut self) {
        if let Some(t) = &self.task {
            t.abort();
        }
    }
}

struct Pusher {
    outbox: Arc<Outbox>,
    salesforce: Arc<SalesforceClient>,
    config: Arc<Config>,
    clock: SharedClock,
    sink: Arc<dyn EventSink>,
    state: watch::Sender<PusherState>,
    wake: Arc<Notify>,
    stop: Arc<Notify>,
    flush: Arc<std::sync::atomic::AtomicBool>,
    last_push_ms: std::sync::atomic::AtomicI64,
}

/// How a batch ended for the loop.
enum Next {
    /// Look again at once (or when the next row is due).
    Continue,
    /// Not before this time (spacing near the end of the org's allocation).
    Until(i64),
    /// Wait until woken (signed out).
    Hold,
}

impl Pusher {
    fn set(&self, s: PusherState) {
        self.state.send_if_modified(|cur| {
            let changed = *cur != s;
            *cur = s;
            changed
        });
    }

    fn backoff_ms(&self, attempts: i64, server_asked: Option<Duration>) -> i64 {
        let o = &self.config.outbox;
        let exp = (o.retry_initial_ms as f64 * 2f64.powi(attempts.clamp(0, 20) as i32)).min(o.retry_max_ms as f64);
        let jittered = rand::rng().random_range(exp / 2.0..=exp.max(1.0));
        jittered.max(server_asked.map_or(0.0, |d| d.as_millis() as f64)) as i64
    }

    async fn run(self) {
        loop {
            let next = match self.cycle().await {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(error = %e, "the outbox could not be read; trying again shortly");
                    self.set(PusherState::BackingOff { until_ms: self.clock.now_ms() + 5_000, reason: e.to_string() });
                    Next::Continue
                }
            };
            let wait = match next {
                Next::Hold => Duration::from_secs(24 * 3600),
                Next::Until(ms) => Duration::from_millis((ms - self.clock.now_ms()).max(1) as u64),
                Next::Continue => {
                    let now = self.clock.now_ms();
                    let outbox = self.outbox.clone();
                    let next_due = tokio::task::spawn_blocking(move || outbox.next_due_ms()).await.unwrap_or(Ok(None));
                    match next_due {
                        Ok(Some(due)) if due <= now => Duration::ZERO,
                        Ok(Some(due)) => Duration::from_millis((due - now) as u64)
                            .min(Duration::from_secs(self.config.outbox.poll_secs)),
                        _ => {
                            self.set(PusherState::Idle);
                            Duration::from_secs(self.config.outbox.poll_secs)
                        }
                    }
                }
            };
            if wait.is_zero() {
                tokio::task::yield_now().await;
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = self.wake.notified() => {}
                _ = self.stop.notified() => {
                    self.set(PusherState::Stopped);
                    return;
                }
            }
        }
    }

    /// Sends one batch of due rows, if any.
    async fn cycle(&self) -> Result<Next, super::OutboxError> {
        let (used, max) = self.salesforce.api_usage();
        if max > 0 && used as f64 >= max as f64 * self.config.outbox.budget_slowdown_ratio {
            // Near the end of the org's allocation: space the pushes out, leave room for the pops.
            let next = self.last_push_ms.load(std::sync::atomic::Ordering::Relaxed)
                + self.config.outbox.budget_spacing_secs as i64 * 1000;
            if next > self.clock.now_ms() {
                self.set(PusherState::BudgetLimited { until_ms: next, used, max });
                return Ok(Next::Until(next));
            }
        }
        let (outbox, limit) = (self.outbox.clone(), self.config.outbox.batch_size);
        let due = tokio::task::spawn_blocking(move || outbox.due(limit)).await.map_err(worker_stopped)??;
        if due.is_empty() {
            self.flush.store(false, std::sync::atomic::Ordering::SeqCst);
            return Ok(Next::Continue);
        }
        // A part batch waits for company, up to the window: fewer API calls per disposition.
        let oldest = due.iter().map(|r| r.due_ms).min().unwrap_or(0);
        let send_at = oldest + self.config.outbox.batch_window_secs as i64 * 1000;
        if due.len() < self.config.outbox.batch_size
            && !self.flush.load(std::sync::atomic::Ordering::SeqCst)
            && send_at > self.clock.now_ms()
        {
            return Ok(Next::Until(send_at));
        }
        self.set(PusherState::Pushing);
        self.push(one_per_record(&self.config.disposition, due), true).await
    }

    async fn push(&self, rows: Vec<DueRow>, may_refresh: bool) -> Result<Next, super::OutboxError> {
        let d = &self.config.disposition;
        let records: Vec<Value> = rows.iter().map(|r| mapping::disposition_record(d, &r.disposition)).collect();
        match self.salesforce.upsert_collection(&d.object, &d.external_id_field, records, REQUEST_TIMEOUT).await {
            Ok(results) => {
                let mut ok = vec![];
                let mut settled = vec![];
                for (row, result) in rows.into_iter().zip(results) {
                    if result.get("success").and_then(Value::as_bool) == Some(true) {
                        let id = result.get("id").and_then(Value::as_str).map(str::to_string);
                        ok.push((row, id));
                    } else {
                        settled.push(self.failure(&row, &result));
                    }
                }
                if self.config.task.enabled && !ok.is_empty() {
                    self.settle(settled).await?;
                    return self.push_tasks(ok).await;
                }
                settled.extend(ok.into_iter().map(|(row, id)| Settlement::Delivered {
                    id: row.disposition.interaction_id,
                    version: row.version,
                    salesforce_id: id,
                }));
                self.settle(settled).await?;
                self.note_push().await;
                Ok(Next::Continue)
            }
            Err(e) => self.whole_batch_failed(rows, e, may_refresh).await,
        }
    }

    /// The Task of each delivered disposition; the row counts as delivered when both are in.
    async fn push_tasks(&self, ok: Vec<(DueRow, Option<String>)>) -> Result<Next, super::OutboxError> {
        let records: Vec<Value> = ok
            .iter()
            .map(|(r, _)| mapping::task_record(&self.config.task, &self.config.disposition, &r.disposition))
            .collect();
        match self
            .salesforce
            .upsert_collection("Task", &self.config.task.external_id_field, records, REQUEST_TIMEOUT)
            .await
        {
            Ok(results) => {
                let settled = ok
                    .into_iter()
                    .zip(results)
                    .map(|((row, id), result)| {
                        if result.get("success").and_then(Value::as_bool) == Some(true) {
                            Settlement::Delivered {
                                id: row.disposition.interaction_id,
                                version: row.version,
                                salesforce_id: id,
                            }
                        } else {
                            self.failure(&row, &result)
                        }
                    })
                    .collect();
                self.settle(settled).await?;
                self.note_push().await;
                Ok(Next::Continue)
            }
            // The log records are in; the rows stay pending, and the next try upserts both again.
            Err(e) => self.whole_batch_failed(ok.into_iter().map(|(r, _)| r).collect(), e, false).await,
        }
    }

    /// Records outcomes off the async workers (one durable transaction), then announces deliveries.
    async fn settle(&self, items: Vec<Settlement>) -> Result<(), super::OutboxError> {
        if items.is_empty() {
            return Ok(());
        }
        let outbox = self.outbox.clone();
        let (items, applied) = tokio::task::spawn_blocking(move || outbox.settle(&items).map(|a| (items, a)))
            .await
            .map_err(worker_stopped)??;
        tracing::info!(rows = items.len(), delivered = applied.iter().filter(|a| **a).count(), "push settled");
        for (item, applied) in items.into_iter().zip(applied) {
            if let (Settlement::Delivered { id, salesforce_id, .. }, true) = (item, applied) {
                self.sink.emit(&EngineEvent::DispositionDelivered { interaction_id: id, salesforce_id });
            }
        }
        Ok(())
    }

    async fn note_push(&self) {
        let (used, max) = self.salesforce.api_usage();
        let now = self.clock.now_ms();
        self.last_push_ms.store(now, std::sync::atomic::Ordering::Relaxed);
        let store = self.outbox.store.clone();
        let _ = tokio::task::spawn_blocking(move || {
            let _ = store.set_status("last_push_ms", &now.to_string(), now);
            let _ = store.set_status("api_usage", &format!("{{\"used\":{used},\"max\":{max}}}"), now);
        })
        .await;
        self.set(PusherState::Pushing);
    }

    /// What to do with a record Salesforce refused.
    fn failure(&self, row: &DueRow, result: &Value) -> Settlement {
        let err = result.get("errors").and_then(|e| e.get(0)).cloned().unwrap_or(Value::Null);
        let code = err.get("statusCode").and_then(Value::as_str).unwrap_or("UNKNOWN").to_string();
        let message = err
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or("Salesforce refused the record without a message")
            .to_string();
        let id = row.disposition.interaction_id.clone();
        if TRANSIENT_RECORD_CODES.contains(&code.as_str()) {
            let next_ms = self.clock.now_ms() + self.backoff_ms(row.attempts, None);
            Settlement::Retry { id, version: row.version, next_ms, class: "transient".into(), code, message }
        } else {
            self.sink.emit(&EngineEvent::Problem {
                code: crate::error::ErrorCode::DispositionNeedsAttention,
                message: format!("Salesforce refused the disposition of {id}: {message}"),
            });
            Settlement::Park { id, version: row.version, class: "permanent".into(), code, message }
        }
    }

    async fn whole_batch_failed(
        &self,
        rows: Vec<DueRow>,
        e: SfError,
        may_refresh: bool,
    ) -> Result<Next, super::OutboxError> {
        let now = self.clock.now_ms();
        match e.kind {
            SfErrorKind::Transient => {
                let until = now + self.backoff_ms(rows.iter().map(|r| r.attempts).max().unwrap_or(0), e.retry_after);
                let settled = rows
                    .iter()
                    .map(|r| Settlement::Retry {
                        id: r.disposition.interaction_id.clone(),
                        version: r.version,
                        next_ms: now + self.backoff_ms(r.attempts, e.retry_after),
                        class: "transient".into(),
                        code: e.code.clone(),
                        message: e.message.clone(),
                    })
                    .collect();
                self.settle(settled).await?;
                self.set(PusherState::BackingOff { until_ms: until, reason: e.message });
                Ok(Next::Continue)
            }
            SfErrorKind::Session if may_refresh => match self.salesforce.refresh_session().await {
                Ok(()) => Box::pin(self.push(rows, false)).await,
                Err(refused) => self.hold(&refused),
            },
            SfErrorKind::Session => self.hold(&e),
            SfErrorKind::Budget => {
                let until = now + self.config.outbox.budget_backoff_secs as i64 * 1000;
                let settled = rows
                    .iter()
                    .map(|r| Settlement::Postpone {
                        id: r.disposition.interaction_id.clone(),
                        version: r.version,
                        next_ms: until,
                    })
                    .collect();
                self.settle(settled).await?;
                let (used, max) = self.salesforce.api_usage();
                self.sink.emit(&EngineEvent::Problem {
                    code: crate::error::ErrorCode::SalesforceAllocationSpent,
                    message: format!("{}; dispositions wait and are kept", e.message),
                });
                self.set(PusherState::BudgetLimited { until_ms: until, used, max });
                Ok(Next::Continue)
            }
            SfErrorKind::Permanent if rows.len() > 1 => {
                // One bad record fails a whole batch (a body Salesforce cannot read): halve to find it.
                let mut rows = rows;
                let second = rows.split_off(rows.len() / 2);
                Box::pin(self.push(rows, may_refresh)).await?;
                Box::pin(self.push(second, may_refresh)).await
            }
            SfErrorKind::Permanent => {
                let r = &rows[0];
                self.sink.emit(&EngineEvent::Problem {
                    code: crate::error::ErrorCode::DispositionNeedsAttention,
                    message: format!(
                        "Salesforce refused the disposition of {}: {}",
                        r.disposition.interaction_id, e.message
                    ),
                });
                let park = Settlement::Park {
                    id: r.disposition.interaction_id.clone(),
                    version: r.version,
                    class: "permanent".into(),
                    code: e.code.clone(),
                    message: e.message.clone(),
                };
                self.settle(vec![park]).await?;
                Ok(Next::Continue)
            }
        }
    }

    fn hold(&self, e: &SfError) -> Result<Next, super::OutboxError> {
        self.sink.emit(&EngineEvent::Problem {
            code: crate::error::ErrorCode::SalesforceSignIn,
            message: format!("sign in to Salesforce again ({}); dispositions are kept", e.message),
        });
        self.set(PusherState::SignInRequired { reason: e.message.clone() });
        Ok(Next::Hold)
    }
}

/// A blocking outbox task that did not finish is a store failure, said as such.
fn worker_stopped(e: tokio::task::JoinError) -> super::OutboxError {
    super::OutboxError::Store(crate::store::StoreError::Worker(e.to_string()))
}

/// A batch names each record once: a collection that names an external id twice fails. In
/// `conversation` mode two segments of one conversation share a record; the later one waits for the
/// next batch (oldest first, so the last segment's disposition is the one that stays).
fn one_per_record(cfg: &crate::config::DispositionConfig, rows: Vec<DueRow>) -> Vec<DueRow> {
    let mut seen = std::collections::HashSet::new();
    rows.into_iter().filter(|r| seen.insert(mapping::record_key(cfg, &r.disposition).to_string())).collect()
}
