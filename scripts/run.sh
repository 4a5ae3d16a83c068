#!/usr/bin/env bash
# The main job: install what is missing, then run the engine against the embedded simulator: sign in
# to both clouds (authorization code + PKCE), take a scenario of calls, and print every screen-pop
# decision as it happens, then one summary line. Extra arguments go to `companion demo`
# (see `target/debug/companion demo --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
bootstrap_rust
log "building the engine"
cargo build --locked -q -p companion
exec target/debug/companion demo "$@"
