#!/usr/bin/env bash
# The whole test suite: install what is missing, check formatting and lints, run every Rust test
# (engine, simulator, and tests/: the engine against the simulator, also behind squid and mitmproxy,
# and the desktop app's IPC contract on Tauri's mock runtime), the UI tests, the
# WebDriver end-to-end run of the built app under Xvfb, the SQLCipher build of the store's tests, the
# installers (the .deb built, installed, started, checked and uninstalled), and one-second smoke runs
# of the benchmarks.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
bootstrap_rust
bootstrap_nextest
bootstrap_desktop
bootstrap_middleboxes
start=$(date +%s)
log "rustfmt"
cargo fmt --all --check
log "clippy (the workspace, whose tests turn the simulator on; and the shipped build, without it)"
cargo clippy --locked --workspace --all-targets -- -D warnings
cargo clippy --locked -p companion -p agent-companion --all-targets -- -D warnings
log "tests (the heavy fault and crash runs afterwards, one at a time, so they do not starve each other)"
heavy='test(a_200_call_scenario) | test(kill_9_at_random_moments) | test(every_disposition_reaches_salesforce_once)'
cargo nextest run --locked --workspace --no-fail-fast -E "not ($heavy)"
cargo nextest run --locked --workspace --no-fail-fast --test-threads 1 -E "$heavy"
log "policy templates (ADMX/ADML for Group Policy and Intune, the macOS configuration profile)"
python3 scripts/check-policy-templates.py
log "UI tests (node --test, jsdom)"
(cd ui && npm test --silent)
log "end-to-end: the built app under Xvfb, driven by tauri-driver"
cargo build --locked -q -p agent-companion --features demo
python3 tests/e2e/desktop_e2e.py target/debug/agent-companion --pop-calls "${E2E_POP_CALLS:-10}"
log "encryption at rest: the store's tests on a SQLCipher build"
cargo clippy --locked -q -p companion --features encryption --lib --tests -- -D warnings
cargo nextest run --locked -p companion --features encryption --lib -E 'test(encrypt)'
log "installers: .deb and .rpm built; the .deb installed, started, checked with companion doctor, a signed-in user purged (keyring and home scanned), purged with apt"
bash scripts/package.sh --check
log "benchmark harness smoke run (figures in BENCHMARKS.md come from the full runs)"
BENCH_SECS=1 cargo test --locked -q -p cloud-sim --bench sim_throughput
BENCH_CALLS=60 BENCH_CACHE_ENTRIES=20000 BENCH_LOOKUPS=2000 cargo test --locked -q -p companion --features demo --bench pop_latency
BENCH_ENQUEUES=100 BENCH_DRAIN=400 cargo test --locked -q -p companion --features demo --bench outbox
log "all checks passed in $(( $(date +%s) - start )) s"
