#!/usr/bin/env bash
# demo.sh — what `make demo` runs after building lxnetd and starting the sandbox:
# shows the throwaway LXD daemons and lxnetd. It grows with the engine: once
# `lxnetd plan/apply` exist it applies examples/quickstart and shows the result.
set -euo pipefail
cd "$(dirname "$0")/.."

SANDBOX=internal/sandbox/sandbox.sh
LXNETD=${LXNETD:-bin/lxnetd}

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "sandbox LXD daemons ($SANDBOX up — idempotent)"
"$SANDBOX" up
"$SANDBOX" status

step "lxnetd"
[[ -x $LXNETD ]] || { echo "demo: $LXNETD missing; run make build (make demo does)" >&2; exit 1; }
"$LXNETD" version

step "what is not there yet"
echo "The engine (lxnetd plan/apply) is not built yet, so this demo cannot apply"
echo "examples/quickstart. It shows only the sandbox and the lxnetd binary for now."
