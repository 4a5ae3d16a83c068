#!/usr/bin/env bash
# The long crash test: the engine process is `kill -9`ed at random moments CRASH_KILLS times (default
# 50) during a scenario of calls, emails, chats and messages — some during start-up and sign-in — and
# restarted after a random while down; then every wrap-up submitted in Genesys during the scenario
# (including interactions that began and ended while no engine ran) must be in the simulator's
# Salesforce exactly once, and the database must pass PRAGMA integrity_check.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bootstrap.sh
bootstrap_rust
bootstrap_nextest
CRASH_KILLS=${CRASH_KILLS:-50} cargo nextest run --locked -p integration-tests --no-capture -E 'test(kill_9_at_random_moments)'
