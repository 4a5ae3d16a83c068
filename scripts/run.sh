#!/usr/bin/env bash
# The main job: install what is missing, then start the simulator with a scenario of calls and print
# what happens, watched through the same OAuth, REST, WebSocket and SOSL wire a real client uses.
# Extra arguments go to cloud-sim (see `cargo run -p cloud-sim -- --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
bootstrap_rust
log "building the simulator"
cargo build --locked -q -p cloud-sim
args=("$@")
[ ${#args[@]} -eq 0 ] && args=(--seed 42 --scenario-calls 20 --rate 60 --speed 20 --watch --exit-after-scenario)
exec target/debug/cloud-sim "${args[@]}"
