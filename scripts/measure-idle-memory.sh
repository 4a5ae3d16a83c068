#!/usr/bin/env bash
# Idle memory of the headless engine: a standalone simulator, `companion run` signed in against it and
# connected, then the engine's resident memory after it has sat idle for a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -q -p companion -p cloud-sim --features companion/demo
base=${BASE_PORT:-18800}
data=$(mktemp -d)
target/release/cloud-sim --base-port "$base" >/dev/null 2>&1 &
sim=$!
trap 'kill $sim ${engine:-} 2>/dev/null || true; rm -rf "$data"' EXIT
sleep 1
COMPANION_CONFIG=/nonexistent COMPANION_MANAGED_CONFIG=/nonexistent target/release/companion run --auto-approve \
  --set genesys.api_base=http://127.0.0.1:$base --set genesys.login_base=http://127.0.0.1:$((base + 1)) \
  --set genesys.streaming_base=ws://127.0.0.1:$((base + 2)) --set salesforce.login_base=http://127.0.0.1:$((base + 4)) \
  --set store.path="$data/companion.db" >/dev/null 2>&1 &
engine=$!
sleep "${IDLE_SECS:-10}"
target/release/companion status --db "$data/companion.db" | head -1
grep -E "VmRSS|VmHWM" "/proc/$engine/status"
