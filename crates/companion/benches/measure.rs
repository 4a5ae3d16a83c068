//! Helpers the benchmark harnesses share.

/// A debug build (the CI smoke run) measures nothing worth a verdict.
pub fn verdict(ok: bool) -> &'static str {
    if cfg!(debug_assertions) {
        "smoke run, no verdict"
    } else if ok {
        "met"
    } else {
        "NOT met"
    }
}

/// A number from the environment, or the default.
pub fn env_num(key: &str, default: u64) -> u64 {
    std::env::var(key).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The `p` quantile (0..=1) of the samples; NaN when there are none.
pub fn pct(mut v: Vec<u64>, p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_unstable();
    v[((v.len() - 1) as f64 * p).round() as usize] as f64
}
