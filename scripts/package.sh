#!/usr/bin/env bash
# Builds the Linux installers (.deb and .rpm) of Agent Companion: release builds of `companion` and the
# app, then the Tauri bundler (the npm CLI, pinned in bootstrap.sh). AppImage is configured but not built here: its
# bundler downloads tools from GitHub, and these machines are offline.
#
#   scripts/package.sh           build; print the bundles and their sizes
#   scripts/package.sh --check   build, then prove the packaged build has no simulator (its dependency
#                                tree; the installed programs refuse `--demo`), install the .deb on this
#                                machine, run what it installed under IT's managed file with a real
#                                keychain (`companion doctor`, the window under Xvfb against a standalone
#                                simulator), read the .rpm's metadata, and uninstall the .deb cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
bootstrap_rust
bootstrap_desktop
bootstrap_tauri_cli

check=0
[ "${1:-}" = "--check" ] && check=1

# Both programs are built with SQLCipher, so IT can turn `store.encrypt` on without another build.
log "release build of companion (the .deb and .rpm ship it as /usr/bin/companion)"
cargo build --locked --release -q -p companion --bin companion --features encryption
log "bundling .deb and .rpm (the bundler rebuilds the app with the custom-protocol feature)"
rm -rf target/release/bundle/deb target/release/bundle/rpm
(cd src-tauri && "../$TAURI_CLI" build --bundles deb,rpm --features encryption --ci -- --locked)
deb=$(ls target/release/bundle/deb/*.deb)
rpm=$(ls target/release/bundle/rpm/*.rpm)
ls -l "$deb" "$rpm" >&2
[ "$check" -eq 1 ] || exit 0

apt_install gnome-keyring dbus rpm libsecret-tools curl
work=$(mktemp -d)
sim_pid=""
managed=/etc/agent-companion/managed.toml
placed_managed=0
purge_user="acpurge$$"
made_user=0
cleanup() {
  [ "$made_user" -eq 1 ] && as_root userdel -r "$purge_user" 2>/dev/null || true
  [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null || true
  [ "$placed_managed" -eq 1 ] && as_root rm -f "$managed" && as_root rmdir /etc/agent-companion 2>/dev/null || true
  if dpkg-query -W -f='${Status}' agent-companion 2>/dev/null | grep -q "install ok installed"; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq agent-companion >/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

log "the .rpm: metadata and files"
rpm -qip "$rpm" | grep -E '^(Name|Version|Architecture|Summary)' >&2
rpm -qlp "$rpm" > "$work/rpm-files"
for f in /usr/bin/agent-companion /usr/bin/companion /usr/share/doc/agent-companion/managed.example.toml; do
  grep -qx "$f" "$work/rpm-files" || { echo "the .rpm does not install $f" >&2; exit 1; }
done

log "installing $deb"
as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "./$deb" >/dev/null
dpkg-query -L agent-companion > "$work/deb-files"
test -x /usr/bin/agent-companion && test -x /usr/bin/companion
/usr/bin/agent-companion --version
/usr/bin/companion --version

log "the packaged build carries no simulator"
for pkg in agent-companion companion; do
  if cargo tree --locked -p "$pkg" --features encryption -e normal --prefix none | grep -q '^cloud-sim '; then
    echo "the packaged $pkg depends on cloud-sim" >&2
    exit 1
  fi
done
for prog in "/usr/bin/agent-companion --demo" "/usr/bin/companion demo" "/usr/bin/companion run --auto-approve" "/usr/bin/companion login genesys --auto-approve"; do
  said=""
  status=0
  said=$($prog 2>&1 >/dev/null) || status=$?
  # The refusal is the first thing said: nothing is opened before it.
  if [ "$status" -eq 0 ] || ! head -n 1 <<<"$said" | grep -q "no simulator\|has no demo"; then
    echo "$prog did not refuse clearly (exit $status): $said" >&2
    exit 1
  fi
  echo "  $prog → exit $status: ${said:0:110}…" >&2
done

log "companion doctor from /usr/bin, under IT's managed file, with a real keychain"
cargo build --locked -q -p cloud-sim
base=$(python3 -c 'import socket
for p in range(20000, 60000, 7):
    try:
        ss = [socket.socket() for _ in range(6)]
        [s.bind(("127.0.0.1", p + i)) for i, s in enumerate(ss)]
        [s.close() for s in ss]
        print(p); break
    except OSError:
        [s.close() for s in ss]')
target/debug/cloud-sim --base-port "$base" > "$work/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$((base + 5))/_sim/health" >/dev/null && break; sleep 0.2; done
if [ -e "$managed" ]; then
  echo "$managed exists on this machine; leaving it alone and using COMPANION_MANAGED_CONFIG" >&2
  managed="$work/managed.toml"
  export COMPANION_MANAGED_CONFIG="$managed"
else
  as_root mkdir -p /etc/agent-companion
  placed_managed=1
fi
as_root tee "$managed" >/dev/null <<EOF
locked = ["genesys", "salesforce.login_base", "updates"]
[genesys]
api_base = "http://127.0.0.1:$base"
login_base = "http://127.0.0.1:$((base + 1))"
streaming_base = "ws://127.0.0.1:$((base + 2))"
[salesforce]
login_base = "http://127.0.0.1:$((base + 4))"
[updates]
prompts = false
[store]
encrypt = true
EOF
# Runs a command as an agent would: a fresh home, a private D-Bus session and an unlocked keyring that
# owns its bus name before the command starts (the command's own request must not be what activates
# the secrets service). The command's exit status is carried out of the session in a file, since
# `dbus-run-session` was seen returning 0 over a failing command.
in_agent_session() {
  local status_file="$work/status.$RANDOM"
  mkdir -p "$work/home/.cache"
  HOME="$work/home" XDG_DATA_HOME="$work/home/data" XDG_CONFIG_HOME="$work/home/config" STATUS_FILE="$status_file" \
    dbus-run-session -- bash -c '
      owned() {
        dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
          org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q "boolean true"
      }
      echo -n ci | gnome-keyring-daemon --unlock --components=secrets >/dev/null
      for _ in $(seq 100); do owned && break; sleep 0.1; done
      if ! owned; then
        echo "the keyring did not take its bus name (org.freedesktop.secrets) in 10 s" >&2
        echo 125 > "$STATUS_FILE"
        exit 125
      fi
      status=0
      "$@" || status=$?
      echo "$status" > "$STATUS_FILE"' bash "$@" || true
  [ -s "$status_file" ] || { echo "no exit status came out of the session for: $*" >&2; return 124; }
  return "$(cat "$status_file")"
}

doctor_status=0
in_agent_session /usr/bin/companion doctor --json > "$work/doctor.json" || doctor_status=$?
if [ ! -s "$work/doctor.json" ]; then
  echo "companion doctor printed nothing (exit $doctor_status)" >&2
  exit 1
fi
python3 - "$work/doctor.json" "$doctor_status" <<'EOF'
import json, sys
checks = json.load(open(sys.argv[1]))
status = int(sys.argv[2])
if isinstance(checks, dict) and "error" in checks:
    sys.exit(f"companion doctor could not run (exit {status}): {checks['error']}")
checks = checks.get("checks", checks) if isinstance(checks, dict) else checks
by = {c["name"]: c for c in checks}
for c in checks:
    print(f"  {c['severity']:8} {c['name']}: {c['detail']}")
assert all(c["severity"] == "ok" for c in checks), "a check did not pass"
assert status == 0, f"every check passed, yet companion doctor exited {status}"
assert "genesys.api_base (Managed)" in by["configuration"]["detail"], by["configuration"]
assert "keychain" in by and by["keychain"]["severity"] == "ok"
# store.encrypt is on: the database check passing means the shipped build has SQLCipher.
assert "store.encrypt (Managed)" in by["configuration"]["detail"] and by["database"]["severity"] == "ok"
EOF

log "the installed window starts under IT's managed file (Xvfb, real keychain, standalone simulator)"
in_agent_session python3 scripts/installed-window-check.py "$work"

log "companion purge in the agent's session: nothing of the user left in the keychain or the home"
mkdir -p "$work/browser"
# The agent's "browser": follows the simulator's approval back to the app's loopback redirect.
cat > "$work/browser/xdg-open" <<'EOS'
#!/bin/sh
loc=$(curl -s -o /dev/null -w '%{redirect_url}' "$1")
curl -s -o /dev/null "$loc"
EOS
chmod +x "$work/browser/xdg-open"
in_agent_session bash scripts/purge-check.sh "$work/browser"

log "uninstalling with apt purge: the package's purge step sweeps every local user's files"
as_root useradd -m "$purge_user"
made_user=1
purge_home=$(getent passwd "$purge_user" | cut -d: -f6)
for p in .local/share/agent-companion/companion.db .local/state/agent-companion/logs/agent-companion.log \
  .config/agent-companion/config.toml .cache/com.agentcompanion.desktop/WebKitCache/x .config/autostart/agent-companion.desktop; do
  as_root mkdir -p "$purge_home/$(dirname "$p")"
  as_root touch "$purge_home/$p"
done
as_root touch "$purge_home/keep-me.txt"
as_root env DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq agent-companion >/dev/null
if as_root find "$purge_home" \( -iname '*agent-companion*' -o -iname '*agentcompanion*' \) | grep -q .; then
  echo "the package's purge step left files in $purge_home:" >&2
  as_root find "$purge_home" \( -iname '*agent-companion*' -o -iname '*agentcompanion*' \) >&2
  exit 1
fi
as_root test -f "$purge_home/keep-me.txt" || { echo "the purge step removed a file that is not the app's" >&2; exit 1; }
left=0
while read -r f; do
  if [ -f "$f" ] || [ -L "$f" ]; then echo "left behind: $f" >&2; left=1; fi
done < "$work/deb-files"
[ "$left" -eq 0 ] || exit 1
if command -v agent-companion >/dev/null || command -v companion >/dev/null; then
  echo "a program is still on the PATH after the uninstall" >&2
  exit 1
fi
log "package check passed: $(basename "$deb") ($(du -h "$deb" | cut -f1)), $(basename "$rpm") ($(du -h "$rpm" | cut -f1)); installed, started, doctor clean, purged (keychain and home), uninstalled with its purge step"
