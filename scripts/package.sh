#!/usr/bin/env bash
# Builds the Linux installers (.deb and .rpm) of Agent Companion: release builds of `companion` and the
# app, then the Tauri bundler (the npm CLI, pinned in bootstrap.sh). AppImage is configured but not built here: its
# bundler downloads tools from GitHub, and these machines are offline.
#
#   scripts/package.sh           build; print the bundles and their sizes
#   scripts/package.sh --check   build, then install the .deb on this machine, start what it installed
#                                (`agent-companion --version`, the window against the embedded simulator
#                                under Xvfb, `companion doctor` under IT's managed file with a real
#                                keychain), read the .rpm's metadata, and uninstall the .deb cleanly.
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

apt_install gnome-keyring dbus rpm
work=$(mktemp -d)
sim_pid=""
managed=/etc/agent-companion/managed.toml
placed_managed=0
cleanup() {
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

log "the installed window starts (embedded simulator, Xvfb)"
python3 - "$work" <<'EOF'
import os, subprocess, sys, time, signal
work = sys.argv[1]
display = next(d for d in range(180, 260) if not os.path.exists(f"/tmp/.X11-unix/X{d}") and not os.path.exists(f"/tmp/.X{d}-lock"))
xvfb = subprocess.Popen(["Xvfb", f":{display}", "-screen", "0", "1024x768x24", "-nolisten", "tcp"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
info = os.path.join(work, "demo.json")
app = subprocess.Popen(["/usr/bin/agent-companion", "--demo", "--demo-calls", "0", "--demo-info", info,
                        "--data-dir", os.path.join(work, "data"), "--log-dir", os.path.join(work, "logs")],
                       env=dict(os.environ, DISPLAY=f":{display}"), stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "app.err"), "w"),
                       start_new_session=True)
try:
    deadline = time.time() + 60
    while not os.path.exists(info):
        if app.poll() is not None:
            sys.exit(f"the installed app exited with {app.returncode}: {open(os.path.join(work, 'app.err')).read()[-2000:]}")
        if time.time() > deadline:
            sys.exit("the installed app did not start its desk within 60 s")
        time.sleep(0.2)
    print(f"started, signed in to its simulator, log files: {os.listdir(os.path.join(work, 'logs'))}")
finally:
    for p in (app, xvfb):
        try:
            os.killpg(p.pid, signal.SIGTERM) if p is app else p.terminate()
            p.wait(timeout=10)
        except Exception:
            p.kill()
EOF

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
mkdir -p "$work/home/.cache"
# A fresh home and an unlocked keyring of its own, as in an agent's desktop session.
HOME="$work/home" XDG_DATA_HOME="$work/home/data" XDG_CONFIG_HOME="$work/home/config" \
  dbus-run-session -- sh -c 'echo -n ci | gnome-keyring-daemon --unlock --components=secrets >/dev/null; /usr/bin/companion doctor --json' \
  > "$work/doctor.json" || { cat "$work/doctor.json" >&2; echo "companion doctor found a problem" >&2; exit 1; }
python3 - "$work/doctor.json" <<'EOF'
import json, sys
checks = json.load(open(sys.argv[1]))
checks = checks.get("checks", checks) if isinstance(checks, dict) else checks
by = {c["name"]: c for c in checks}
for c in checks:
    print(f"  {'ok ' if c['ok'] else 'BAD'} {c['name']}: {c['detail']}")
assert all(c["ok"] for c in checks), "a check failed"
assert "genesys.api_base (Managed)" in by["configuration"]["detail"], by["configuration"]
assert "keychain" in by and by["keychain"]["ok"]
# store.encrypt is on: the database check passing means the shipped build has SQLCipher.
assert "store.encrypt (Managed)" in by["configuration"]["detail"] and by["database"]["ok"]
EOF

log "uninstalling"
as_root env DEBIAN_FRONTEND=noninteractive apt-get remove -y -qq agent-companion >/dev/null
left=0
while read -r f; do
  if [ -f "$f" ] || [ -L "$f" ]; then echo "left behind: $f" >&2; left=1; fi
done < "$work/deb-files"
[ "$left" -eq 0 ] || exit 1
if command -v agent-companion >/dev/null || command -v companion >/dev/null; then
  echo "a program is still on the PATH after the uninstall" >&2
  exit 1
fi
log "package check passed: $(basename "$deb") ($(du -h "$deb" | cut -f1)), $(basename "$rpm") ($(du -h "$rpm" | cut -f1)); installed, started, doctor clean, uninstalled"
