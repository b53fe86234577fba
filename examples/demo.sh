#!/usr/bin/env bash
# demo.sh — what `make demo` runs after building lxnetd and starting the sandbox:
# shows the throwaway LXD daemons, plans and applies examples/quickstart with
# lxnetd, fetches the container's page through the floating IP, and shows that
# a second plan is empty.
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

# The quickstart runs against the sandbox's primary daemon with its own
# owner tag, outside the address ranges the tests lease (subnets
# 10.231.32-249.0/24, floating IPs in 198.51.100.0/24): bridge 10.231.10.0/24,
# floating IP 203.0.113.254 on the sandbox's veth (engine tests put forwards
# on 203.0.113.1-250).
. "${LXNETD_SANDBOX_DIR:-/var/lib/lxnetd-sandbox}/state.env"
export LXD_SOCKET=$PRIMARY_SOCKET LXD_DIR=
FIP=203.0.113.254
VARS=(--var floating_ip=$FIP)
ip -4 addr show dev "$FLOAT_LINK" | grep -q " $FIP/" || ip addr add "$FIP/32" dev "$FLOAT_LINK"

step "lxnetd plan examples/quickstart"
"$LXNETD" plan "${VARS[@]}" --stats examples/quickstart

step "lxnetd apply --yes examples/quickstart"
"$LXNETD" apply --yes "${VARS[@]}" examples/quickstart

step "curl http://$FIP/ (through the LXD network forward on the floating IP)"
curl -sS --retry 30 --retry-delay 1 --retry-all-errors --max-time 5 "http://$FIP/"
echo

step "lxnetd plan --detailed-exitcode examples/quickstart (0: nothing left to do)"
rc=0
"$LXNETD" plan --detailed-exitcode "${VARS[@]}" examples/quickstart || rc=$?
echo "exit status $rc"
[[ $rc -eq 0 ]] || { echo "demo: a second plan should be empty" >&2; exit 1; }

cat <<EOT

The quickstart stays in place (run make demo again: no changes). To remove it
(lxnetd destroy shows what it deletes and asks first):
  LXD_SOCKET=$PRIMARY_SOCKET $LXNETD destroy --delete-instances examples/quickstart
EOT
