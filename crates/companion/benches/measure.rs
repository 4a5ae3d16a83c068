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

/// Opens a benchmark database; encrypted (SQLCipher, a fresh key) when built with the `encryption`
/// feature and run with `BENCH_ENCRYPT=1`. Prints which, so every figure says what it measured.
#[allow(dead_code)] // not every harness opens a store
pub fn open_store(path: &std::path::Path) -> companion::store::Store {
    use companion::store::DbFile;
    let encrypt = std::env::var("BENCH_ENCRYPT").is_ok_and(|v| v == "1");
    let file = if encrypt {
        let keychain: std::sync::Arc<dyn companion::secrets::SecretStore> =
            std::sync::Arc::new(companion::secrets::MemoryOnly::standing_in_for_keychain());
        DbFile::configured(path, true, || keychain).expect("an encrypted store (build with --features encryption)")
    } else {
        DbFile::plain(path)
    };
    println!("store: {} ({})", path.display(), if file.is_encrypted() { "SQLCipher" } else { "plain SQLite" });
    file.open().expect("store")
}
