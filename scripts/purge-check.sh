#!/usr/bin/env bash
# Run by `scripts/package.sh --check` inside an agent's session (its own home, D-Bus and unlocked
# keyring): signs in with the installed `companion` through a "browser" that follows the standalone
# simulator's approval, then `companion purge --yes`; afterwards the keychain and the home directory
# hold nothing of the app. Usage: purge-check.sh BROWSER_DIR
set -euo pipefail
browser_dir=$1
# secret-tool prints the items' attributes on stderr (and their secrets on stdout, which stay unread).
items() { secret-tool search --all service agent-companion 2>&1 >/dev/null | grep -c '^attribute.service = agent-companion' || true; }
traces() { find "$HOME" \( -iname '*agent-companion*' -o -iname '*agentcompanion*' -o -name 'companion.db*' \) -print; }
PATH="$browser_dir:$PATH" /usr/bin/companion login genesys
before=$(items)
# The Genesys sign-in, and the database key the window made (store.encrypt is managed on).
if [ "$before" -lt 2 ]; then
  echo "expected the sign-in and the database key in the keychain; found $before item(s)" >&2
  exit 1
fi
[ -n "$(traces)" ] || { echo "the window left no files to purge: the check would prove nothing" >&2; exit 1; }
/usr/bin/companion purge --yes --discard-undelivered
after=$(items)
if [ "$after" -ne 0 ]; then
  echo "$after keychain item(s) left after companion purge" >&2
  exit 1
fi
left=$(traces)
if [ -n "$left" ]; then
  echo "left on disk after companion purge:" >&2
  echo "$left" >&2
  exit 1
fi
echo "companion purge: $before keychain item(s) and every file of the app removed"
