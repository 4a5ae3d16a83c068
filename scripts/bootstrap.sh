#!/usr/bin/env bash
# Installs what this repository needs and is missing, idempotently. Sourced by run.sh and test.sh.
# Assumes a Debian/Ubuntu machine with the Rust toolchain (rustup) installed; everything else is
# installed here when absent.
set -euo pipefail

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

need_cmd() { command -v "$1" >/dev/null 2>&1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif need_cmd sudo; then sudo "$@"; else
    echo "need root to run: $*" >&2; return 1
  fi
}

APT_UPDATED=0
apt_install() {
  # Installs the Debian packages given that are not installed yet.
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing Debian packages: ${missing[*]}"
  if [ "$APT_UPDATED" -eq 0 ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

bootstrap_rust() {
  if ! need_cmd cargo; then
    echo "cargo is not installed: install Rust with rustup (https://rustup.rs) and run this again." >&2
    exit 1
  fi
  # build-essential and pkg-config for the crates that compile C (bundled SQLite, ring); libdbus for
  # the keychain (Secret Service) on Linux.
  need_cmd cc || apt_install build-essential
  apt_install pkg-config libdbus-1-dev
}

bootstrap_nextest() {
  if ! cargo nextest --version >/dev/null 2>&1; then
    log "installing cargo-nextest"
    cargo install cargo-nextest --locked
  fi
}

bootstrap_desktop() {
  # WebKitGTK and the tray (appindicator) for building the Tauri app; Xvfb, WebKitWebDriver and
  # tauri-driver for its end-to-end run; the UI's test packages from npm.
  # libssl-dev also serves SQLCipher (the `encryption` feature).
  apt_install libwebkit2gtk-4.1-dev libxdo-dev libssl-dev libayatana-appindicator3-dev librsvg2-dev \
    xvfb webkit2gtk-driver
  if ! command -v tauri-driver >/dev/null 2>&1; then
    log "installing tauri-driver"
    cargo install tauri-driver --locked
  fi
  export PATH="$HOME/.cargo/bin:$PATH"
  if ! need_cmd node; then
    apt_install nodejs npm
  fi
  if [ ! -d ui/node_modules/jsdom ]; then
    log "installing the UI's test packages (npm ci)"
    (cd ui && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

bootstrap_middleboxes() {
  # The corporate network of the network tests (tests/engine/network.rs): squid as an authenticating
  # forward proxy, mitmproxy as a TLS-inspecting one; openssl hashes squid's test password.
  apt_install squid mitmproxy openssl
}

# The Tauri CLI (the bundler), pinned, from npm into target/ (its per-platform optional packages do
# not all resolve on this registry, so it stays out of ui/'s lock file). In seconds, against the 13
# minutes of `cargo install tauri-cli`.
TAURI_CLI_VERSION=2.12.5
TAURI_CLI="target/tauri-cli/node_modules/.bin/tauri"
bootstrap_tauri_cli() {
  if [ ! -x "$TAURI_CLI" ] || ! "$TAURI_CLI" --version | grep -qx "tauri-cli $TAURI_CLI_VERSION"; then
    log "installing the Tauri CLI $TAURI_CLI_VERSION (npm)"
    npm install --prefix target/tauri-cli --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
      "@tauri-apps/cli@$TAURI_CLI_VERSION"
  fi
}
