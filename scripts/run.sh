#!/usr/bin/env bash
# The main job: install what is missing, then run Agent Companion against its embedded simulator.
# With a display: the desktop app (`agent-companion --demo`): signed in at once, a call every ~12 s,
# pops, the picker, wrap-ups and the Sync view live. Without one (a terminal, CI): the headless engine
# demo (`companion demo`), printing every screen-pop decision and a summary. Extra arguments go to
# whichever runs (see `--help` of each). Both are built with the `demo` feature (the simulator), which
# the installers leave out.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
bootstrap_rust
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ "${COMPANION_HEADLESS:-0}" != 1 ]; then
  apt_install libwebkit2gtk-4.1-dev libxdo-dev libssl-dev libayatana-appindicator3-dev librsvg2-dev
  log "building the desktop app"
  cargo build --locked -q -p agent-companion --features demo
  exec target/debug/agent-companion --demo "$@"
fi
log "no display: running the headless demo (the desktop app needs X11 or Wayland)"
cargo build --locked -q -p companion --features demo
exec target/debug/companion demo "$@"
