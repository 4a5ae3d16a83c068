//! Request counters per endpoint, so tests can assert "N API calls" and benchmarks can count calls.

use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Default)]
struct EndpointCount {
    count: u64,
    by_status: BTreeMap<u16, u64>,
}

/// Counters of one simulator.
#[derive(Debug, Default)]
pub struct Stats {
    endpoints: Mutex<BTreeMap<String, EndpointCount>>,
    sockets_open: AtomicU64,
    sockets_opened: AtomicU64,
    frames_sent: AtomicU64,
}

impl Stats {
    /// Counts one request answered with `status` on an endpoint key like `salesforce GET /services/data/{version}/search`.
    pub fn record(&self, endpoint: &str, status: u16) {
        let mut m = self.endpoints.lock().unwrap_or_else(|e| e.into_inner());
        let e = m.entry(endpoint.to_owned()).or_default();
        e.count += 1;
        *e.by_status.entry(status).or_default() += 1;
    }

    pub(crate) fn socket_opened(&self) {
        self.sockets_open.fetch_add(1, Ordering::Relaxed);
        self.sockets_opened.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn socket_closed(&self) {
        self.sockets_open.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn frame_sent(&self) {
        self.frames_sent.fetch_add(1, Ordering::Relaxed);
    }

    /// Clears the request counters (socket gauges stay).
    pub fn reset(&self) {
        self.endpoints.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.frames_sent.store(0, Ordering::Relaxed);
        self.sockets_opened.store(self.sockets_open.load(Ordering::Relaxed), Ordering::Relaxed);
    }

    /// The JSON of `GET /_sim/stats`.
    pub fn to_json(&self) -> Value {
        let m = self.endpoints.lock().unwrap_or_else(|e| e.into_inner());
        let mut endpoints = Map::new();
        let mut by_service: BTreeMap<&str, u64> = BTreeMap::new();
        for (k, v) in m.iter() {
            let statuses: Map<String, Value> = v.by_status.iter().map(|(s, n)| (s.to_string(), json!(n))).collect();
            endpoints.insert(k.clone(), json!({"count": v.count, "by_status": statuses}));
            let service = k.split(' ').next().unwrap_or("");
            *by_service.entry(service).or_default() += v.count;
        }
        json!({
            "endpoints": endpoints,
            "requests_by_service": by_service,
            "sockets": {
                "open": self.sockets_open.load(Ordering::Relaxed),
                "opened": self.sockets_opened.load(Ordering::Relaxed),
                "frames_sent": self.frames_sent.load(Ordering::Relaxed),
            },
        })
    }
}
