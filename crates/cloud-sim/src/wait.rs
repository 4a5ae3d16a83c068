//! The one way the tests wait for an outcome (the simulator's own and the whole-system tests in
//! `tests/`). Tests never sleep a fixed time to prove something happened; they poll, bounded, until it
//! has, and prove that something did not happen with the simulator's counters or the injected clock.

use std::time::{Duration, Instant};

/// How often a condition is polled.
const POLL: Duration = Duration::from_millis(20);

/// Waits (bounded by `secs`) until `f` holds; fails the test naming `what` otherwise. `f` is an async
/// closure, so a condition may ask the simulator over HTTP.
pub async fn eventually(what: &str, secs: u64, mut f: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(POLL).await;
    }
}

/// [`eventually`] that answers instead of failing, for a test that explains the failure itself.
pub async fn try_eventually(secs: u64, mut f: impl AsyncFnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if f().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// [`eventually`] for tests that run outside an async runtime (the IPC tests drive Tauri's mock
/// runtime from the test thread).
pub fn eventually_blocking<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(POLL);
    }
}
