#!/bin/sh
# The .deb's post-removal step. On `apt purge` (not on a plain remove or an upgrade) it sweeps every
# local user's Agent Companion files: data, logs, configuration, the window's data, the login item.
# It cannot reach a user's keychain (it runs as root, outside their session) or revoke a sign-in:
# run `companion purge --yes` in each user's session before the uninstall for that (docs/it-deployment.md).
set -e
[ "$1" = "purge" ] || exit 0
getent passwd | while IFS=: read -r _name _pw uid _gid _gecos home _shell; do
  { [ "$uid" -ge 1000 ] && [ "$uid" -lt 60000 ]; } || [ "$uid" -eq 0 ] || continue
  [ -d "$home" ] || continue
  for p in \
    "$home/.local/share/agent-companion" \
    "$home/.local/state/agent-companion" \
    "$home/.config/agent-companion" \
    "$home/.local/share/com.agentcompanion.desktop" \
    "$home/.cache/com.agentcompanion.desktop" \
    "$home/.config/com.agentcompanion.desktop" \
    "$home/.config/autostart/agent-companion.desktop"; do
    if [ -e "$p" ] || [ -L "$p" ]; then
      rm -rf -- "$p"
      echo "agent-companion: removed $p"
    fi
  done
done
exit 0
