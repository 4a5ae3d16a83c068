//! The simulator's clock: wall time plus an offset that the control API can move forward, so that token,
//! channel and cache expiry can be tested without sleeping.

use chrono::{DateTime, SecondsFormat, Utc};
use std::sync::atomic::{AtomicI64, Ordering};

/// Wall-clock time shifted by an adjustable offset.
#[derive(Debug, Default)]
pub struct SimClock {
    offset_ms: AtomicI64,
}

impl SimClock {
    /// The simulated current time.
    pub fn now(&self) -> DateTime<Utc> {
        Utc::now() + chrono::Duration::milliseconds(self.offset_ms.load(Ordering::Relaxed))
    }

    /// Milliseconds since the Unix epoch, simulated.
    pub fn now_ms(&self) -> i64 {
        self.now().timestamp_millis()
    }

    /// Moves simulated time forward (never backward: a negative value is ignored).
    pub fn advance_ms(&self, ms: i64) {
        if ms > 0 {
            self.offset_ms.fetch_add(ms, Ordering::Relaxed);
        }
    }

    /// How far simulated time is ahead of the wall clock.
    pub fn offset_ms(&self) -> i64 {
        self.offset_ms.load(Ordering::Relaxed)
    }
}

/// ISO-8601 with milliseconds and a `Z`, the way both clouds print times.
pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Salesforce's DateTime format: `2026-11-21T14:20:35.000+0000`.
pub fn sf_datetime(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}
