#!/usr/bin/env bash
# sandbox.sh — throwaway real LXD for lxnetd's tests and demo.
#
#   sandbox.sh up      install what is missing, start and prepare both daemons (idempotent)
#   sandbox.sh down    stop both daemons and remove everything the sandbox created
#   sandbox.sh status  print what runs
#   sandbox.sh incus-install
#                      only install Incus from the backports suite (up does it too)
#   sandbox.sh pair-up|pair-down|cluster-up|cluster-down
#                      two daemons "a" and "b" as two hosts, each in its own
#                      network and mount namespace, or members m1..mN of one
#                      LXD cluster (see "Namespaced daemons" below)
#   sandbox.sh systemd-image
#                      import (building and caching it first) a Debian 12
#                      image with systemd on the primary; print its alias
#   sandbox.sh systemd-image-prefetch
#                      start building that image in the background when it
#                      is not cached (make test does, before anything else)
#
# Two LXD daemons run side by side in the host's network namespace, each with
# its own LXD_DIR under $LXNETD_SANDBOX_DIR (default /var/lib/lxnetd-sandbox):
#
#   primary    unix socket only           ($DIR/primary/unix.socket)
#   secondary  unix socket + HTTPS on 127.0.0.1:$LXNETD_SANDBOX_PORT (default 18443),
#              trusting a generated client certificate ($DIR/secondary-client/)
#
# Both get a "dir" storage pool "default", a root disk in the default profile
# and a locally built "busybox" image. A host veth pair lxnfl0/lxnfl1
# (${LXNETD_SANDBOX_FLOAT:-lxnfl}{0,1}) carries floating IPs for network
# forwards. $DIR/state.env records everything the Go package
# (internal/sandbox) needs. See README.md "Sandbox and tests".
# LXNETD_SANDBOX_IMAGE=<tarball> makes up import that busybox image instead
# of building one (package internal/sandbox passes the shared sandbox's).
#
# Beside them runs an Incus 6.0 daemon (INCUS_DIR=$DIR/incus, unix socket
# only; see "Incus" below), unless LXNETD_SANDBOX_INCUS=0.
set -euo pipefail

DIR=${LXNETD_SANDBOX_DIR:-/var/lib/lxnetd-sandbox}
PORT=${LXNETD_SANDBOX_PORT:-18443}
# LXNETD_SANDBOX_DAEMONS="primary" starts only the primary (package
# internal/sandbox does so for a test's private daemon).
read -r -a DAEMONS <<<"${LXNETD_SANDBOX_DAEMONS:-primary secondary}"
case "${DAEMONS[*]}" in
"primary secondary" | primary) ;;
*) echo "sandbox: ERROR: LXNETD_SANDBOX_DAEMONS must be \"primary secondary\" or \"primary\"" >&2; exit 2 ;;
esac
has_secondary() { [[ ${#DAEMONS[@]} -eq 2 ]]; }
FLOAT=${LXNETD_SANDBOX_FLOAT:-lxnfl} # veth pair ${FLOAT}0 / ${FLOAT}1
FLOAT0=${FLOAT}0
FLOAT1=${FLOAT}1
# Outside $DIR (down removes $DIR while holding the lock), one per sandbox
# directory, in tmpfs. down, pair-down and cluster-down remove it once the
# sandbox is gone, so test sandboxes leave no lock files behind (see
# take_lock for why that is safe).
LOCK=/run/lock/lxnetd-sandbox/$(printf '%s' "${DIR%/}" | tr / _).lock
PKGS=(nftables lxd lxd-client busybox-static openssl dnsmasq-base)
# Bump when the image recipe in build_image changes: up then replaces the
# "busybox" image on running daemons (existing containers keep theirs).
IMAGE_VERSION=1
IMAGE=$DIR/image/busybox-v$IMAGE_VERSION.tar.gz

log() { printf 'sandbox: %s\n' "$*" >&2; }
die() { printf 'sandbox: ERROR: %s\n' "$*" >&2; exit 1; }

# admin_lxc DAEMON ARGS... talks to a daemon over its unix socket with a
# private client config, so nothing lands in ~/.config/lxc.
admin_lxc() {
	local d=$1; shift
	if [[ $d == incus ]]; then admin_incus "$@"; return; fi
	LXD_CONF="$DIR/admin-lxc" LXD_DIR="$DIR/$d" lxc "$@"
}

# pid_alive PID: the process exists and is not a zombie (PID 1 here may be
# slow to reap orphans, and kill -0 succeeds on a zombie).
pid_alive() {
	[[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null || return 1
	local state
	state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
	[[ -n $state && $state != Z && $state != X ]]
}

daemon_pid() { cat "$DIR/$1.pid" 2>/dev/null || true; }

# daemon_ready DAEMON: the daemon answers on its socket right now.
daemon_ready() {
	[[ -S $DIR/$1/unix.socket ]] && LXD_DIR="$DIR/$1" timeout 5 lxd waitready --timeout 2 >/dev/null 2>&1
}

need_root() { [[ $(id -u) -eq 0 ]] || die "must run as root (it installs packages and starts LXD daemons)"; }

install_packages() {
	local missing=() p
	for p in "${PKGS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[[ ${#missing[@]} -eq 0 ]] && return 0
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || die "apt-get update failed"
	# nftables first: LXD picks its firewall driver when it first starts, and
	# the xtables fallback is slow and buggy (see LXD-NOTES).
	if [[ " ${missing[*]} " == *" nftables "* ]]; then
		apt-get install -y -qq nftables >/dev/null || die "installing nftables failed"
	fi
	apt-get install -y -qq "${missing[@]}" >/dev/null || die "installing ${missing[*]} failed"
}

# launch_daemon DAEMON starts lxd for DAEMON unless it already runs.
launch_daemon() {
	local d=$1 pid
	if daemon_ready "$d"; then return 0; fi
	pid=$(daemon_pid "$d")
	if pid_alive "$pid"; then
		log "$d: lxd (pid $pid) is running but not ready; waiting"
		return 0
	fi
	mkdir -p "$DIR/$d" "$DIR/logs"
	chmod 0711 "$DIR/$d"
	log "$d: starting lxd (LXD_DIR=$DIR/$d, log $DIR/logs/$d.log)"
	# 9>&-: the daemon must not inherit (and hold forever) the lock of this script.
	LXD_DIR="$DIR/$d" setsid lxd --group root --logfile "$DIR/logs/$d.log" \
		</dev/null >>"$DIR/logs/$d.stdout" 2>&1 9>&- &
	echo $! >"$DIR/$d.pid"
}

# wait_daemon DAEMON waits up to 60 s for lxd to answer, failing at once
# (with the end of its log) if the process dies.
wait_daemon() {
	local d=$1 i
	for ((i = 0; i < 60; i++)); do
		if LXD_DIR="$DIR/$d" timeout 5 lxd waitready --timeout 1 >/dev/null 2>&1; then return 0; fi
		if ! pid_alive "$(daemon_pid "$d")"; then
			tail -n 5 "$DIR/logs/$d.log" "$DIR/logs/$d.stdout" >&2 2>/dev/null || true
			die "$d: lxd exited instead of becoming ready (logs above, in $DIR/logs/)"
		fi
	done
	die "$d: lxd did not become ready within 60 s; see $DIR/logs/$d.log"
}

prepare_daemon() {
	local d=$1
	admin_lxc "$d" storage show default >/dev/null 2>&1 ||
		admin_lxc "$d" storage create default dir >/dev/null
	admin_lxc "$d" profile device get default root pool >/dev/null 2>&1 ||
		admin_lxc "$d" profile device add default root disk path=/ pool=default >/dev/null
	local shown
	shown=$(admin_lxc "$d" image show busybox 2>/dev/null) || shown=""
	[[ $shown == *"lxnetd_sandbox_image: \"$IMAGE_VERSION\""* ]] || install_image "$d"
}

# install_image DAEMON imports $IMAGE and points the alias "busybox" at it,
# replacing an older sandbox image with only a moment without the alias.
install_image() {
	local d=$1 fp old
	fp=$(sha256sum "$IMAGE" | cut -d' ' -f1) # LXD's fingerprint of a unified image
	admin_lxc "$d" image info "$fp" >/dev/null 2>&1 ||
		admin_lxc "$d" image import "$IMAGE" >/dev/null
	old=$(admin_lxc "$d" image info busybox 2>/dev/null) || old=""
	old=$(awk '/^Fingerprint:/ {print $2}' <<<"$old")
	[[ $old == "$fp" ]] && return 0
	[[ -n $old ]] && admin_lxc "$d" image alias delete busybox >/dev/null
	admin_lxc "$d" image alias create busybox "$fp" >/dev/null
	[[ -z $old ]] || admin_lxc "$d" image delete "$old" >/dev/null 2>&1 || true
	log "$d: image busybox is $IMAGE (${fp:0:12})"
}

# provide_image points IMAGE at $LXNETD_SANDBOX_IMAGE when it is set (a
# test's private or namespaced daemons reuse the shared sandbox's image:
# building one costs 2 s on an idle machine, 45 s under load), or builds it.
provide_image() {
	if [[ -n ${LXNETD_SANDBOX_IMAGE:-} ]]; then
		IMAGE=$LXNETD_SANDBOX_IMAGE
		[[ -s $IMAGE ]] || die "LXNETD_SANDBOX_IMAGE: no image at $IMAGE"
	else
		build_image
	fi
}

# build_image writes $IMAGE (a unified image: metadata.yaml
# + rootfs/) from the host's static busybox. PID 1 is a small shell script
# rather than busybox init because busybox init ignores SIGPWR, the signal
# `lxc stop` sends, which would make every clean stop wait for its timeout.
build_image() {
	local out=$IMAGE
	[[ -s $out ]] && return 0
	local bb=/bin/busybox
	[[ -x $bb ]] || die "$bb missing (package busybox-static)"
	if ldd "$bb" >/dev/null 2>&1; then die "$bb is not static (install busybox-static)"; fi
	local work
	work=$(mktemp -d "$DIR/image-build.XXXXXX")
	local r=$work/rootfs
	mkdir -p "$r"/{bin,sbin,usr/bin,usr/sbin,etc,dev,proc,sys,tmp,run,root,var/www}
	cp "$bb" "$r/bin/busybox"
	local a
	while read -r a; do
		[[ $a == bin/busybox || -e $r/$a || -L $r/$a ]] && continue
		mkdir -p "$(dirname "$r/$a")"
		ln -s /bin/busybox "$r/$a"
	done < <("$bb" --list-full)
	rm -f "$r/sbin/init"
	cat >"$r/sbin/init" <<'EOF'
#!/bin/sh
# lxnetd sandbox init: /proc, DHCP on eth0, httpd on :80 serving a page with
# the hostname (= instance name); exits on SIGPWR/SIGTERM so stops are quick.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mountpoint -q /proc || mount -t proc proc /proc
mountpoint -q /sys || mount -t sysfs sysfs /sys 2>/dev/null
ip link set lo up
name=$(hostname)
printf '<html><body><h1>%s</h1><p>busybox httpd on %s</p></body></html>\n' "$name" "$name" >/var/www/index.html
trap 'kill $(jobs -p) 2>/dev/null; exit 0' PWR TERM INT HUP USR1 USR2
[ -e /sys/class/net/eth0 ] && udhcpc -f -S -i eth0 -x hostname:"$name" -s /etc/udhcpc.script >/dev/null 2>&1 &
httpd -f -p 80 -h /var/www &
while :; do sleep 3600 & wait; done
EOF
	chmod 0755 "$r/sbin/init"
	cat >"$r/etc/udhcpc.script" <<'EOF'
#!/bin/sh
# udhcpc event script: put the leased address and default route on the interface.
case "$1" in
deconfig)
	ip link set "$interface" up
	;;
bound|renew)
	prefix=${mask:-24}
	if ! ip -4 addr show dev "$interface" | grep -q "inet $ip/$prefix "; then
		ip -4 addr flush dev "$interface"
		ip addr add "$ip/$prefix" dev "$interface"
	fi
	if [ -n "$router" ]; then
		set -- $router
		ip route replace default via "$1" dev "$interface"
	fi
	if [ -n "$dns" ]; then
		: >/etc/resolv.conf
		for s in $dns; do echo "nameserver $s" >>/etc/resolv.conf; done
	fi
	;;
esac
exit 0
EOF
	chmod 0755 "$r/etc/udhcpc.script"
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$r/etc/passwd"
	printf 'root:x:0:\n' >"$r/etc/group"
	cat >"$work/metadata.yaml" <<EOF
architecture: $(uname -m)
creation_date: $(date +%s)
properties:
  os: busybox
  release: "$("$bb" 2>&1 | head -1 | awk '{print $2}')"
  lxnetd_sandbox_image: "$IMAGE_VERSION"
  description: busybox (lxnetd sandbox; init, udhcpc, httpd)
EOF
	mkdir -p "$DIR/image"
	tar -C "$work" --numeric-owner --owner=0 --group=0 -czf "$out.tmp" metadata.yaml rootfs
	mv "$out.tmp" "$out"
	rm -rf "$work"
	find "$DIR/image" -maxdepth 1 -name 'busybox*.tar.gz' ! -path "$out" -delete
}

# setup_secondary_tls makes the secondary listen on HTTPS, trust a generated
# client certificate, and writes a private lxc config that reaches it over
# HTTPS only (remote "secondary", pinned server certificate).
setup_secondary_tls() {
	local d=secondary c=$DIR/secondary-client
	mkdir -p "$c/servercerts"
	chmod 0700 "$c"
	if [[ ! -s $c/client.crt || ! -s $c/client.key ]]; then
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:secp384r1 -nodes \
			-keyout "$c/client.key" -out "$c/client.crt" -days 3650 \
			-subj "/CN=lxnetd-sandbox-client" >/dev/null 2>&1 || die "openssl could not create the client certificate"
		chmod 0600 "$c/client.key"
	fi
	if [[ $(admin_lxc "$d" config get core.https_address) != "127.0.0.1:$PORT" ]]; then
		admin_lxc "$d" config set core.https_address "127.0.0.1:$PORT" ||
			die "secondary: cannot listen on 127.0.0.1:$PORT (set LXNETD_SANDBOX_PORT to a free port)"
	fi
	local cfp
	cfp=$(fingerprint_hex "$c/client.crt")
	admin_lxc "$d" query "/1.0/certificates/$cfp" >/dev/null 2>&1 ||
		admin_lxc "$d" config trust add "$c/client.crt" >/dev/null
	cp "$DIR/$d/server.crt" "$c/servercerts/secondary.crt"
	cat >"$c/config.yml" <<EOF
default-remote: secondary
remotes:
  secondary:
    addr: https://127.0.0.1:$PORT
    protocol: lxd
    auth_type: tls
    public: false
aliases: {}
EOF
}

write_primary_client() {
	local c=$DIR/primary-client
	mkdir -p "$c"
	chmod 0700 "$c"
	cat >"$c/config.yml" <<EOF
default-remote: primary
remotes:
  primary:
    addr: unix://$DIR/primary/unix.socket
    protocol: lxd
    public: false
aliases: {}
EOF
}

fingerprint_hex() { openssl x509 -in "$1" -outform der | sha256sum | cut -d' ' -f1; }

setup_float_link() {
	if ! ip link show "$FLOAT0" >/dev/null 2>&1; then
		ip link add "$FLOAT0" type veth peer name "$FLOAT1"
	fi
	ip link set "$FLOAT0" up
	ip link set "$FLOAT1" up
}

write_state() {
	local tmp=$DIR/state.env.tmp
	cat >"$tmp" <<EOF
# Written by internal/sandbox/sandbox.sh up; read by package internal/sandbox.
SANDBOX_DIR=$DIR
FLOAT_LINK=$FLOAT0
PRIMARY_DIR=$DIR/primary
PRIMARY_SOCKET=$DIR/primary/unix.socket
PRIMARY_LXD_CONF=$DIR/primary-client
PRIMARY_FINGERPRINT=sha256:$(fingerprint_hex "$DIR/primary/server.crt")
EOF
	has_secondary && cat >>"$tmp" <<EOF
SECONDARY_DIR=$DIR/secondary
SECONDARY_SOCKET=$DIR/secondary/unix.socket
SECONDARY_HTTPS=https://127.0.0.1:$PORT
SECONDARY_LXD_CONF=$DIR/secondary-client
SECONDARY_CLIENT_CERT=$DIR/secondary-client/client.crt
SECONDARY_CLIENT_KEY=$DIR/secondary-client/client.key
SECONDARY_FINGERPRINT=sha256:$(fingerprint_hex "$DIR/secondary/server.crt")
EOF
	if has_incus; then incus_state >>"$tmp"; fi
	mv "$tmp" "$DIR/state.env"
}

cmd_up() {
	need_root
	install_packages
	for c in lxd lxc openssl ip nft; do command -v "$c" >/dev/null || die "$c not found"; done
	mkdir -p "$DIR" "$DIR/alloc"
	chmod 0711 "$DIR"
	provide_image
	local d
	# Both daemons start at once; each then gets its pool, profile and image.
	for d in "${DAEMONS[@]}"; do launch_daemon "$d"; done
	for d in "${DAEMONS[@]}"; do wait_daemon "$d"; done
	for d in "${DAEMONS[@]}"; do prepare_daemon "$d"; done
	has_secondary && setup_secondary_tls
	if has_incus; then incus_up; fi
	write_primary_client
	setup_float_link
	write_state
	LXD_CONF="$DIR/primary-client" timeout 20 lxc query /1.0 >/dev/null ||
		die "primary does not answer with the sandbox client config"
	if has_secondary; then
		# Prove the HTTPS path works with the files we hand to tests.
		LXD_CONF="$DIR/secondary-client" timeout 20 lxc query /1.0 >/dev/null ||
			die "secondary does not answer over HTTPS with the sandbox client certificate"
		log "up: primary unix://$DIR/primary/unix.socket, secondary https://127.0.0.1:$PORT (state $DIR/state.env)"
	else
		log "up: primary unix://$DIR/primary/unix.socket (state $DIR/state.env)"
	fi
}

# kill_leftovers DAEMON kills, by pid, every process whose command line or
# open files point into the daemon's LXD_DIR (lxd, forkproxy, forkdns,
# dnsmasq, lxc monitors) — what `lxd shutdown` may leave behind.
kill_leftovers() {
	local d=$1 pids sig
	for sig in TERM KILL; do
		mapfile -t pids < <(
			{
				grep -lsF "$DIR/$d/" /proc/[0-9]*/cmdline
				grep -lszxF "LXD_DIR=$DIR/$d" /proc/[0-9]*/environ
				grep -lszxF "INCUS_DIR=$DIR/$d" /proc/[0-9]*/environ
			} | awk -F/ -v self=$$ '$3 != self && !seen[$3]++ {print $3}'
		)
		local live=() p
		for p in "${pids[@]}"; do pid_alive "$p" && live+=("$p"); done
		[[ ${#live[@]} -eq 0 ]] && return 0
		log "$d: sending SIG$sig to leftover pids ${live[*]}"
		kill "-$sig" "${live[@]}" 2>/dev/null || true
		sleep 1
	done
}

# unmount_under DIR unmounts every mount point below DIR, deepest first.
unmount_under() {
	local m
	while read -r m; do
		umount -l "$m" 2>/dev/null || true
	done < <(awk -v dir="$1" '$5 == dir || index($5, dir "/") == 1 {print $5}' /proc/self/mountinfo | sort -r)
}

cmd_down() {
	need_root
	local d nets=() n
	# Both, whatever LXNETD_SANDBOX_DAEMONS says: $DIR is removed at the end.
	incus_down
	for d in primary secondary; do
		if daemon_ready "$d"; then
			# Remember the daemon's network interfaces, so any it leaves behind can be removed.
			while read -r n; do [[ -n $n ]] && nets+=("$n"); done < <(
				admin_lxc "$d" network list --format csv 2>/dev/null | awk -F, '$3 == "YES" {print $1}')
			# Force-stop instances first: a clean stop of an image that ignores
			# SIGPWR would make lxd shutdown wait for its timeout.
			admin_lxc "$d" stop --all --force >/dev/null 2>&1 || true
			log "$d: lxd shutdown"
			LXD_DIR="$DIR/$d" timeout 90 lxd shutdown --timeout 60 >/dev/null 2>&1 || true
		fi
		kill_leftovers "$d"
		rm -f "$DIR/$d.pid"
	done
	for n in "${nets[@]}"; do remove_leftover_net "$n" lxd; done
	ip link show "$FLOAT0" >/dev/null 2>&1 && ip link del "$FLOAT0"
	[[ -d $DIR ]] && unmount_under "$DIR"
	if awk -v dir="$DIR" 'index($5, dir "/") == 1 {f=1} END {exit !f}' /proc/self/mountinfo; then
		die "mounts remain under $DIR; not removing it"
	fi
	rm -rf "$DIR"
	log "down: nothing of the sandbox remains"
}

# summarize prints how many lines it reads and the first 8 of them.
summarize() {
	awk 'NR <= 8 {l = l (NR > 1 ? " " : "") $0} END {printf "%d%s%s%s", NR, (NR ? ": " : ""), l, (NR > 8 ? " ..." : "")}'
}

cmd_status() {
	local d pid rc=0
	echo "sandbox dir: $DIR"
	for d in "${DAEMONS[@]}"; do
		pid=$(daemon_pid "$d")
		if daemon_ready "$d"; then
			local extra=""
			[[ $d == secondary ]] && extra=" https://127.0.0.1:$PORT"
			echo "$d: running (pid ${pid:-?}) unix://$DIR/$d/unix.socket$extra"
			echo "  networks:  $(admin_lxc "$d" network list --format csv 2>/dev/null | awk -F, '$3 == "YES" {print $1}' | summarize)"
			echo "  instances: $(admin_lxc "$d" list --format csv -c ns 2>/dev/null | summarize)"
			echo "  images:    $(admin_lxc "$d" image alias list --format csv 2>/dev/null | cut -d, -f1 | tr '\n' ' ')"
		elif pid_alive "$pid"; then
			echo "$d: process $pid alive but not answering"
			rc=1
		else
			echo "$d: not running"
			rc=1
		fi
	done
	if has_incus; then incus_status || rc=1; fi
	if ip link show "$FLOAT0" >/dev/null 2>&1; then
		echo "floating-IP link: $FLOAT0 $(ip -br -4 addr show dev "$FLOAT0" | awk '{$1=$2=""; print}')"
	else
		echo "floating-IP link: $FLOAT0 missing"
		rc=1
	fi
	return $rc
}

# ---------------------------------------------------------------------------
# Incus: an Incus 6.0 LTS daemon beside the LXD ones, so lxnetd is tested
# against both servers it supports (README "Servers").
#
# Debian 12 ships Incus only in bookworm-backports. The suite is added from
# the Debian mirror apt already uses (read from the apt sources; no host is
# hard-coded), and only incus-base and incus-client are installed, without
# recommends (which would pull qemu). incusd runs with INCUS_DIR=$DIR/incus
# (never /var/lib/incus: `down` removes $DIR and everything in it), unix
# socket, root as its socket group; it picks nftables like LXD does because
# nftables is installed first. It gets the same "dir" pool, root disk and
# busybox image (the very tarball the LXD daemons import). Its incus client
# configuration ($DIR/incus-client, what INCUS_CONF names) has two remotes,
# as `incus remote add` writes them: "incus" on the unix socket, and
# "incus-https" on https://127.0.0.1:$LXNETD_SANDBOX_INCUS_PORT (default
# 18444) with a client certificate the daemon trusts and the server
# certificate saved in servercerts/, for tests of incus_remote.
# ---------------------------------------------------------------------------

INCUS=${LXNETD_SANDBOX_INCUS:-}
# Only the default pair of daemons comes with Incus: a test's Private
# sandbox (LXNETD_SANDBOX_DAEMONS=primary) does not start one.
if [[ -z $INCUS ]]; then
	if has_secondary; then INCUS=1; else INCUS=0; fi
fi
has_incus() { [[ $INCUS == 1 ]]; }
INCUS_PKGS=(incus-base incus-client)
INCUS_PORT=${LXNETD_SANDBOX_INCUS_PORT:-18444}

# admin_incus ARGS... is admin_lxc for the Incus daemon (admin_lxc incus
# ... comes here), with a private client config.
admin_incus() {
	INCUS_CONF="$DIR/admin-incus" INCUS_DIR="$DIR/incus" incus "$@"
}

incusd_path() {
	local p
	for p in /usr/libexec/incus/incusd /usr/lib/incus/incusd "$(command -v incusd 2>/dev/null)"; do
		[[ -n $p && -x $p ]] && { echo "$p"; return 0; }
	done
	return 1
}

incus_ready() {
	[[ -S $DIR/incus/unix.socket ]] && timeout 5 env INCUS_CONF="$DIR/admin-incus" INCUS_DIR="$DIR/incus" incus query /1.0 >/dev/null 2>&1
}

# debian_mirror CODENAME prints the URI of every Debian archive apt is
# configured with for the release's main suite: deb822 sources
# (sources.list.d/*.sources) first, then one-line ones. The security archive
# carries only CODENAME-security, so it never matches.
debian_mirror() {
	local codename=$1 f
	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -f $f ]] || continue
		awk -v want="$codename" '
			function flush() { if (deb && uri != "" && suite && enabled) print uri; uri = ""; suite = 0; deb = 0; enabled = 1 }
			BEGIN { enabled = 1 }
			/^[[:space:]]*$/ { flush(); next }
			/^[[:space:]]*#/ { next }
			tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
			tolower($1) == "uris:" { uri = $2 }
			tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i == want) suite = 1 }
			tolower($1) == "enabled:" && tolower($2) == "no" { enabled = 0 }
			END { flush() }
		' "$f"
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[[ -f $f ]] || continue
		# deb [options] URI SUITE COMPONENTS...
		awk -v want="$codename" '$1 == "deb" {
			i = 2
			if ($i ~ /^\[/) { while (i < NF && $i !~ /\]$/) i++; i++ }
			if ($(i + 1) == want) print $i }' "$f"
	done
}

# incus_install adds CODENAME-backports from the configured Debian mirror
# (unless apt has that suite already) and installs Incus from it.
incus_install() {
	local missing=() p
	for p in "${INCUS_PKGS[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[[ ${#missing[@]} -eq 0 ]] && return 0
	local codename mirror list=/etc/apt/sources.list.d/lxnetd-sandbox-backports.sources
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
	[[ -n $codename ]] || die "incus: no VERSION_CODENAME in /etc/os-release"
	if ! grep -rqsE "^[^#]*[[:space:]]$codename-backports([[:space:]]|$)" /etc/apt/sources.list /etc/apt/sources.list.d/; then
		mirror=$(debian_mirror "$codename" | head -n 1)
		[[ -n $mirror ]] || die "incus: no Debian mirror for $codename in the apt sources to take $codename-backports from"
		log "incus: adding $codename-backports from $mirror ($list)"
		cat >"$list" <<EOF
# Added by lxnetd's internal/sandbox/sandbox.sh: Incus is only in $codename-backports.
Types: deb
URIs: $mirror
Suites: $codename-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
	fi
	log "incus: installing ${missing[*]} from $codename-backports"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || die "apt-get update failed"
	apt-get install -y -qq --no-install-recommends -t "$codename-backports" "${missing[@]}" >/dev/null ||
		die "installing ${missing[*]} from $codename-backports failed"
}

# incus_up installs, starts and prepares the Incus daemon (idempotent: a
# running one is only checked and prepared) and writes its client config.
incus_up() {
	incus_install
	local bin pid i
	bin=$(incusd_path) || die "incus: incusd not found (package incus-base)"
	command -v incus >/dev/null || die "incus: the incus client is missing (package incus-client)"
	if ! incus_ready; then
		pid=$(daemon_pid incus)
		if pid_alive "$pid"; then
			log "incus: incusd (pid $pid) is running but not ready; waiting"
		else
			mkdir -p "$DIR/incus" "$DIR/logs"
			chmod 0711 "$DIR/incus"
			log "incus: starting $bin (INCUS_DIR=$DIR/incus, log $DIR/logs/incus.log)"
			INCUS_DIR="$DIR/incus" setsid "$bin" --group root --logfile "$DIR/logs/incus.log" \
				</dev/null >>"$DIR/logs/incus.stdout" 2>&1 9>&- &
			echo $! >"$DIR/incus.pid"
		fi
		for ((i = 0; i < 120; i++)); do
			incus_ready && break
			if ! pid_alive "$(daemon_pid incus)"; then
				tail -n 5 "$DIR/logs/incus.log" "$DIR/logs/incus.stdout" >&2 2>/dev/null || true
				die "incus: incusd exited instead of becoming ready (logs above, in $DIR/logs/)"
			fi
			sleep 0.5
		done
		incus_ready || die "incus: incusd did not become ready within 60 s; see $DIR/logs/incus.log"
	fi
	prepare_daemon incus
	local c=$DIR/incus-client
	mkdir -p "$c/servercerts"
	chmod 0700 "$c"
	if [[ ! -s $c/client.crt || ! -s $c/client.key ]]; then
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:secp384r1 -nodes \
			-keyout "$c/client.key" -out "$c/client.crt" -days 3650 \
			-subj "/CN=lxnetd-sandbox-incus-client" >/dev/null 2>&1 || die "openssl could not create the incus client certificate"
		chmod 0600 "$c/client.key"
	fi
	if [[ $(admin_incus config get core.https_address) != "127.0.0.1:$INCUS_PORT" ]]; then
		admin_incus config set core.https_address "127.0.0.1:$INCUS_PORT" ||
			die "incus: cannot listen on 127.0.0.1:$INCUS_PORT (set LXNETD_SANDBOX_INCUS_PORT to a free port)"
	fi
	admin_incus query "/1.0/certificates/$(fingerprint_hex "$c/client.crt")" >/dev/null 2>&1 ||
		admin_incus config trust add-certificate "$c/client.crt" >/dev/null
	cp "$DIR/incus/server.crt" "$c/servercerts/incus-https.crt"
	cat >"$c/config.yml" <<EOF
default-remote: incus
remotes:
  incus:
    addr: unix://$DIR/incus/unix.socket
    protocol: incus
    public: false
  incus-https:
    addr: https://127.0.0.1:$INCUS_PORT
    auth_type: tls
    protocol: incus
    public: false
aliases: {}
EOF
	# Prove the files handed to tests work (the unix remote is the socket
	# incus_ready just reached).
	INCUS_CONF=$c timeout 20 incus query incus-https:/1.0 >/dev/null ||
		die "incus does not answer over HTTPS with the sandbox client certificate"
}

cmd_incus_install() { need_root; incus_install; }

incus_state() {
	cat <<EOF
INCUS_DIR=$DIR/incus
INCUS_SOCKET=$DIR/incus/unix.socket
INCUS_CONF=$DIR/incus-client
INCUS_FINGERPRINT=sha256:$(fingerprint_hex "$DIR/incus/server.crt")
EOF
}

# remove_leftover_net NET TABLE removes what a daemon that did not stop
# cleanly (a shutdown cut short on a loaded machine) leaves of its bridge
# NET: the interface, and its chains (KIND.NET) in nftables table inet
# TABLE, which every LXD (inet lxd) or Incus (inet incus) daemon of the
# host shares — so only NET's own chains go.
remove_leftover_net() {
	local n=$1 table=$2 chain
	if ip link show "$n" >/dev/null 2>&1; then
		log "removing leftover interface $n"
		ip link del "$n" 2>/dev/null || true
	fi
	while read -r chain; do
		[[ -n $chain ]] || continue
		log "removing leftover nftables chain inet $table $chain"
		nft flush chain inet "$table" "$chain" 2>/dev/null || true
		nft delete chain inet "$table" "$chain" 2>/dev/null || true
	done < <(nft list table inet "$table" 2>/dev/null |
		awk -v s=".$n" '$1 == "chain" && length($2) > length(s) && substr($2, length($2) - length(s) + 1) == s {print $2}')
}

# incus_down stops the Incus daemon and what it leaves behind (by pid, see
# kill_leftovers), and its bridges; `down` then removes $DIR/incus.
incus_down() {
	local nets=() n
	if incus_ready; then
		while read -r n; do [[ -n $n ]] && nets+=("$n"); done < <(
			admin_incus network list --format csv 2>/dev/null | awk -F, '$3 == "YES" {print $1}')
		admin_incus stop --all --force >/dev/null 2>&1 || true
		log "incus: shutdown"
		INCUS_DIR="$DIR/incus" timeout 90 incus admin shutdown --timeout 60 >/dev/null 2>&1 || true
	fi
	kill_leftovers incus
	rm -f "$DIR/incus.pid"
	for n in "${nets[@]}"; do remove_leftover_net "$n" incus; done
}

incus_status() {
	local pid
	pid=$(daemon_pid incus)
	if incus_ready; then
		echo "incus: running (pid ${pid:-?}) unix://$DIR/incus/unix.socket"
		echo "  networks:  $(admin_incus network list --format csv 2>/dev/null | awk -F, '$3 == "YES" {print $1}' | summarize)"
		echo "  instances: $(admin_incus list --format csv -c ns 2>/dev/null | summarize)"
		echo "  images:    $(admin_incus image alias list --format csv 2>/dev/null | cut -d, -f1 | tr '\n' ' ')"
	elif pid_alive "$pid"; then
		echo "incus: process $pid alive but not answering"
		return 1
	else
		echo "incus: not running"
		return 1
	fi
}

# ---------------------------------------------------------------------------
# Namespaced daemons: LXD "hosts" on one machine (a pair, or a cluster).
#
# pair-up starts daemons "a" and "b", cluster-up members "m1".."mN" of one
# LXD cluster, each in its own network and mount namespace, as LXD's own
# clustering tests do: an `unshare -m -n` holder process remounts /sys for
# its netns (moving the cgroup mounts over, else LXD reads the host's
# /sys/class/net) and then sleeps; lxd is started with nsenter into both
# namespaces. Each namespace has an eth0 whose veth peer is on a host bridge
# in $LXNETD_SANDBOX_PAIR_SUBNET (host .1, then .11, .12, ... in member
# order). Each daemon listens on HTTPS on its underlay address, trusting a
# generated client certificate, and on its unix socket (a filesystem object,
# so reachable from the host's namespace). `ip netns add` is not used: it
# adds /run/netns mounts and drops the cgroup mounts.
#
#   LXNETD_SANDBOX_DIR              the daemons' own directory (required, not the shared sandbox's)
#   LXNETD_SANDBOX_PAIR_ID          1-6 of [a-z0-9] for interface names: bridge lxpr<ID> (pair) or
#                                   lxcl<ID> (cluster), veths <bridge><member>
#   LXNETD_SANDBOX_PAIR_SUBNET      a free 10.231.X.0/24 for the underlay (pair-up, cluster-up)
#   LXNETD_SANDBOX_CLUSTER_MEMBERS  number of cluster members, 2-9 (cluster-up; default 3)
#   LXNETD_SANDBOX_IMAGE            busybox image tarball to import (default: build one)
#   LXNETD_SANDBOX_OWNER_PID        the process the daemons are for (default: the caller), in $DIR/owner
#
# pair-down / cluster-down remove everything: daemons, their leftovers
# (every process in each namespace, dnsmasq included), the holders, veths,
# bridge, $DIR. The members are read from $DIR/members (written first by
# the up), so a half-started set is removed as well.
# ---------------------------------------------------------------------------

# ns_env KIND (pair|cluster) sets NS_ID, NS_BR and MEMBERS.
ns_env() {
	NS_ID=${LXNETD_SANDBOX_PAIR_ID:-}
	[[ $NS_ID =~ ^[a-z0-9]{1,6}$ ]] || die "LXNETD_SANDBOX_PAIR_ID must be 1-6 of [a-z0-9]"
	[[ $DIR != /var/lib/lxnetd-sandbox ]] || die "namespaced daemons need their own LXNETD_SANDBOX_DIR"
	local n i
	case $1 in
	pair)
		NS_BR=lxpr$NS_ID
		MEMBERS=(a b)
		;;
	cluster)
		NS_BR=lxcl$NS_ID
		n=${LXNETD_SANDBOX_CLUSTER_MEMBERS:-3}
		[[ $n =~ ^[2-9]$ ]] || die "LXNETD_SANDBOX_CLUSTER_MEMBERS must be 2-9"
		MEMBERS=()
		for ((i = 1; i <= n; i++)); do MEMBERS+=("m$i"); done
		;;
	esac
	if [[ -s $DIR/members ]]; then read -r -a MEMBERS <"$DIR/members"; fi
}

member_ip() { # member_ip MEMBER|host -> underlay address
	local base=${LXNETD_SANDBOX_PAIR_SUBNET%.0/24} i
	[[ $1 == host ]] && { echo "$base.1"; return; }
	for i in "${!MEMBERS[@]}"; do
		[[ ${MEMBERS[$i]} == "$1" ]] && { echo "$base.$((11 + i))"; return; }
	done
	die "unknown member $1"
}

holder_pid() { cat "$DIR/$1.holder" 2>/dev/null || true; }

# start_holder MEMBER starts the namespace holder and waits for its setup.
start_holder() {
	local m=$1
	local ready=$DIR/$m.ns-ready
	rm -f "$ready"
	# The holder: private mounts (unshare's default propagation), sysfs of
	# the new netns with the host's cgroup hierarchy moved under it, a proc
	# for it, then sleep forever. 9>&-: do not hold this script's lock.
	setsid unshare -m -n sh -c '
		set -e
		mount --move /sys /mnt
		mount -t sysfs sysfs /sys
		mount --move /mnt/fs/cgroup /sys/fs/cgroup
		umount -l /mnt
		umount -l /proc
		mount -t proc proc /proc
		mount -t securityfs securityfs /sys/kernel/security 2>/dev/null || true
		ip link set lo up
		touch "$1"
		exec sleep infinity
	' holder "$ready" </dev/null >>"$DIR/logs/$m.holder" 2>&1 9>&- &
	echo $! >"$DIR/$m.holder"
	local i
	for ((i = 0; i < 100; i++)); do
		[[ -e $ready ]] && return 0
		pid_alive "$(holder_pid "$m")" || break
		sleep 0.1
	done
	cat "$DIR/logs/$m.holder" >&2 || true
	die "$m: the namespace holder did not come up (logs above)"
}

in_ns() {
	local m=$1
	shift
	nsenter -t "$(holder_pid "$m")" -n -m -- "$@"
}

# wire_member MEMBER puts a veth from the host bridge into the namespace as eth0.
wire_member() {
	local m=$1 host=$NS_BR$1 peer=$NS_BR${1}n
	ip link add "$host" type veth peer name "$peer"
	ip link set "$peer" netns "$(holder_pid "$m")"
	ip link set "$host" master "$NS_BR" up
	in_ns "$m" ip link set "$peer" name eth0
	in_ns "$m" ip addr add "$(member_ip "$m")/24" dev eth0
	in_ns "$m" ip link set eth0 up
	in_ns "$m" ip route add default via "$(member_ip host)"
}

launch_member() {
	local m=$1
	mkdir -p "$DIR/$m"
	chmod 0711 "$DIR/$m"
	log "$m: starting lxd in its own namespaces (LXD_DIR=$DIR/$m, log $DIR/logs/$m.log)"
	LXD_DIR="$DIR/$m" setsid nsenter -t "$(holder_pid "$m")" -n -m -- lxd --group root --logfile "$DIR/logs/$m.log" \
		</dev/null >>"$DIR/logs/$m.stdout" 2>&1 9>&- &
	echo $! >"$DIR/$m.pid"
}

# member_client MEMBER writes a private lxc config over the unix socket.
member_client() {
	local m=$1
	mkdir -p "$DIR/$m-client"
	chmod 0700 "$DIR/$m-client"
	cat >"$DIR/$m-client/config.yml" <<EOF
default-remote: $m
remotes:
  $m:
    addr: unix://$DIR/$m/unix.socket
    protocol: lxd
    public: false
aliases: {}
EOF
}

# ns_up KIND: everything pair-up and cluster-up share — checks, client
# certificate, image, host bridge, and every member's namespaces and lxd,
# started and answering (not yet configured).
ns_up() {
	need_root
	ns_env "$1"
	[[ ${LXNETD_SANDBOX_PAIR_SUBNET:-} =~ ^10\.231\.[0-9]+\.0/24$ ]] || die "LXNETD_SANDBOX_PAIR_SUBNET must be a 10.231.X.0/24"
	[[ -e $DIR/state.env ]] && die "$DIR already holds a sandbox; $1-down first"
	local c m
	for c in lxd lxc openssl ip nft unshare nsenter; do command -v "$c" >/dev/null || die "$c not found"; done
	mkdir -p "$DIR/logs" "$DIR/client"
	chmod 0711 "$DIR"
	# Who the daemons are for (package sandbox takes down those whose owner
	# died), and which members there are (for the down).
	echo "${LXNETD_SANDBOX_OWNER_PID:-$PPID}" >"$DIR/owner"
	echo "${MEMBERS[*]}" >"$DIR/members"
	provide_image
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:secp384r1 -nodes \
		-keyout "$DIR/client/client.key" -out "$DIR/client/client.crt" -days 30 \
		-subj "/CN=lxnetd-sandbox-$1" >/dev/null 2>&1 || die "openssl could not create the client certificate"
	chmod 0600 "$DIR/client/client.key"

	ip link add "$NS_BR" type bridge
	ip addr add "$(member_ip host)/24" dev "$NS_BR"
	ip link set "$NS_BR" up
	for m in "${MEMBERS[@]}"; do
		start_holder "$m"
		wire_member "$m"
		launch_member "$m"
	done
	for m in "${MEMBERS[@]}"; do wait_daemon "$m"; done
}

# ns_write_state KIND: one block per member for package internal/sandbox.
# A cluster member serves the cluster certificate, not its own.
ns_write_state() {
	local tmp=$DIR/state.env.tmp m M crt
	echo "# Written by internal/sandbox/sandbox.sh $1-up; read by package internal/sandbox." >"$tmp"
	echo "MEMBERS=${MEMBERS[*]}" >>"$tmp"
	for m in "${MEMBERS[@]}"; do
		M=${m^^}
		crt=$DIR/$m/server.crt
		[[ -s $DIR/$m/cluster.crt ]] && crt=$DIR/$m/cluster.crt
		cat >>"$tmp" <<EOF
${M}_DIR=$DIR/$m
${M}_SOCKET=$DIR/$m/unix.socket
${M}_HTTPS=https://$(member_ip "$m"):8443
${M}_UNDERLAY=$(member_ip "$m")
${M}_LXD_CONF=$DIR/$m-client
${M}_CLIENT_CERT=$DIR/client/client.crt
${M}_CLIENT_KEY=$DIR/client/client.key
${M}_FINGERPRINT=sha256:$(fingerprint_hex "$crt")
EOF
	done
	mv "$tmp" "$DIR/state.env"
}

cmd_pair_up() {
	ns_up pair
	local m
	for m in "${MEMBERS[@]}"; do
		prepare_daemon "$m"
		admin_lxc "$m" config set core.https_address "$(member_ip "$m"):8443" >/dev/null
		admin_lxc "$m" config trust add "$DIR/client/client.crt" >/dev/null
		member_client "$m"
	done
	ns_write_state pair
	log "pair up: a https://$(member_ip a):8443, b https://$(member_ip b):8443 on $NS_BR (state $DIR/state.env)"
}

# cmd_cluster_up: m1 bootstraps the cluster (HTTPS on its underlay address,
# a dir pool, the default profile's root disk), the others join it one at a
# time with a join token; then the client certificate is trusted and the
# image imported once, both cluster-wide.
cmd_cluster_up() {
	ns_up cluster
	local first=${MEMBERS[0]} m token
	LXD_DIR="$DIR/$first" lxd init --preseed >/dev/null <<EOF || die "$first: bootstrapping the cluster failed (see $DIR/logs/$first.log)"
config:
  core.https_address: $(member_ip "$first"):8443
storage_pools:
- name: default
  driver: dir
profiles:
- name: default
  devices:
    root:
      path: /
      pool: default
      type: disk
cluster:
  server_name: $first
  enabled: true
EOF
	for m in "${MEMBERS[@]:1}"; do
		token=$(admin_lxc "$first" cluster add "$m" | tail -n 1) || die "$first: no join token for $m"
		LXD_DIR="$DIR/$m" lxd init --preseed >/dev/null <<EOF || die "$m: joining the cluster failed (see $DIR/logs/$m.log)"
cluster:
  enabled: true
  server_name: $m
  server_address: $(member_ip "$m"):8443
  cluster_token: $token
  member_config:
  - entity: storage-pool
    name: default
    key: source
    value: ""
EOF
		log "$m: joined the cluster"
	done
	admin_lxc "$first" config trust add "$DIR/client/client.crt" >/dev/null
	install_image "$first"
	for m in "${MEMBERS[@]}"; do member_client "$m"; done
	ns_write_state cluster
	log "cluster up: ${MEMBERS[*]} on $NS_BR, https://$(member_ip "$first"):8443 (state $DIR/state.env)"
}

# ns_pids MEMBER lists the processes in the member's network or mount
# namespace, other than its holder.
ns_pids() {
	local h net mnt p
	h=$(holder_pid "$1")
	pid_alive "$h" || return 0
	net=$(readlink "/proc/$h/ns/net") || return 0
	mnt=$(readlink "/proc/$h/ns/mnt") || return 0
	# A holder pid reused by a process of the host must not make every host
	# process a target.
	if [[ $net == "$(readlink /proc/$$/ns/net)" || $mnt == "$(readlink /proc/$$/ns/mnt)" ]]; then
		log "$1: holder pid $h is not in a namespace of its own; not killing by namespace"
		return 0
	fi
	for p in /proc/[0-9]*; do
		p=${p#/proc/}
		[[ $p == "$h" ]] && continue
		if [[ $(readlink "/proc/$p/ns/net" 2>/dev/null) == "$net" || $(readlink "/proc/$p/ns/mnt" 2>/dev/null) == "$mnt" ]]; then
			echo "$p"
		fi
	done
}

# ns_down KIND stops every member and removes everything of the set.
ns_down() {
	need_root
	ns_env "$1"
	local m sig pids p live
	# Instances first, while every member still answers (a clustered
	# member's shutdown waits for nothing, but its instances' stops would).
	for m in "${MEMBERS[@]}"; do
		if daemon_ready "$m"; then
			admin_lxc "$m" stop --all --force >/dev/null 2>&1 || true
			[[ $1 == cluster ]] && break # one member's --all covers the cluster
		fi
	done
	# All at once: a cluster member's shutdown waits on its peers (leader
	# handover, heartbeats), one after the other it takes ~20 s.
	local downs=()
	for m in "${MEMBERS[@]}"; do
		if daemon_ready "$m"; then
			log "$m: lxd shutdown"
			LXD_DIR="$DIR/$m" timeout 90 lxd shutdown --timeout 60 >/dev/null 2>&1 9>&- &
			downs+=($!)
		fi
	done
	for p in "${downs[@]}"; do wait "$p" || true; done
	for m in "${MEMBERS[@]}"; do
		kill_leftovers "$m"
		# Whatever still runs in the namespaces (dnsmasq, forkdns, ...).
		for sig in TERM KILL; do
			mapfile -t pids < <(ns_pids "$m")
			live=()
			for p in "${pids[@]}"; do pid_alive "$p" && live+=("$p"); done
			[[ ${#live[@]} -eq 0 ]] && break
			log "$m: sending SIG$sig to pids ${live[*]} left in its namespaces"
			kill "-$sig" "${live[@]}" 2>/dev/null || true
			sleep 1
		done
		# The veth first (its peer goes with it): once the holder dies the
		# kernel destroys the namespace and the veth asynchronously.
		ip link del "$NS_BR$m" 2>/dev/null || true
		p=$(holder_pid "$m")
		if pid_alive "$p"; then kill -KILL "$p" 2>/dev/null || true; fi
		rm -f "$DIR/$m.pid" "$DIR/$m.holder"
	done
	local i left
	for ((i = 0; i < 50; i++)); do
		left=""
		for m in "${MEMBERS[@]}"; do ip link show "$NS_BR$m" >/dev/null 2>&1 && left=$m; done
		[[ -z $left ]] && break
		sleep 0.1
	done
	for m in "${MEMBERS[@]}"; do
		if ip link show "$NS_BR$m" >/dev/null 2>&1; then die "veth $NS_BR$m remains"; fi
	done
	if ip link show "$NS_BR" >/dev/null 2>&1; then ip link del "$NS_BR"; fi
	if [[ -d $DIR ]]; then unmount_under "$DIR"; fi
	if awk -v dir="$DIR" 'index($5, dir "/") == 1 {f=1} END {exit !f}' /proc/self/mountinfo; then
		die "mounts remain under $DIR; not removing it"
	fi
	rm -rf "$DIR"
	log "$1 down: nothing of the $1 remains"
}

cmd_pair_down() { ns_down pair; }
cmd_cluster_down() { ns_down cluster; }

# --- A Debian 12 system container with systemd (systemd-image) ---------------
#
# `sandbox.sh systemd-image` prints the alias of an image on the primary
# daemon that boots Debian bookworm with systemd as PID 1: the real-systemd
# test of the .deb (packaging/systemd_integration_test.go) installs lxnetd
# into it. debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus
# builds the root file system from the Debian mirror apt already uses (read
# from /etc/apt, never a fixed host), once: the image tarball is cached in
# $SYSTEMD_CACHE, outside the sandbox directory, so `down` keeps it and the
# next sandbox only imports it again. Bump SYSTEMD_IMAGE_VERSION when the
# recipe changes.
SYSTEMD_IMAGE_VERSION=1
SYSTEMD_IMAGE_ALIAS=lxnetd-debian12-systemd-v$SYSTEMD_IMAGE_VERSION
SYSTEMD_CACHE=${LXNETD_SANDBOX_CACHE:-/var/cache/lxnetd-sandbox}
SYSTEMD_IMAGE=$SYSTEMD_CACHE/debian12-systemd-v$SYSTEMD_IMAGE_VERSION.tar

# debian_mirror prints the URI of the Debian archive apt uses for bookworm:
# the first "deb" entry with the suite bookworm in a deb822
# /etc/apt/sources.list.d/*.sources file, else in a one-line sources.list.
debian_mirror() {
	local f uri
	for f in /etc/apt/sources.list.d/*.sources; do
		[[ -r $f ]] || continue
		uri=$(awk 'BEGIN { RS = ""; FS = "\n" }
			{
				u = ""; s = ""; t = ""
				for (i = 1; i <= NF; i++) {
					if ($i ~ /^URIs:/) { split($i, a, /[ \t]+/); u = a[2] }
					if ($i ~ /^Suites:/) s = $i " "
					if ($i ~ /^Types:/) t = $i " "
				}
				if (t ~ /[ \t]deb[ \t]/ && s ~ /[ \t]bookworm[ \t]/ && u != "") { print u; exit }
			}' "$f")
		[[ -n $uri ]] && { echo "$uri"; return 0; }
	done
	uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
		awk '$1 == "deb" { for (i = 2; i < NF; i++) if ($i ~ /^[a-z+]+:\/\// && $(i + 1) == "bookworm") { print $i; exit } }')
	[[ -n $uri ]] && { echo "$uri"; return 0; }
	return 1
}

# build_systemd_image writes $SYSTEMD_IMAGE (a unified image, uncompressed:
# building and importing it is then bounded by debootstrap, not gzip).
build_systemd_image() {
	[[ -s $SYSTEMD_IMAGE ]] && return 0
	command -v debootstrap >/dev/null || { PKGS=(debootstrap); install_packages; }
	local mirror work start=$SECONDS
	mirror=$(debian_mirror) || die "no Debian bookworm mirror found in /etc/apt/sources.list{,.d}"
	work=$(mktemp -d "$SYSTEMD_CACHE/build.XXXXXX")
	log "building $SYSTEMD_IMAGE_ALIAS with debootstrap from $mirror"
	if ! debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus \
		bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1; then
		tail -n 20 "$work/debootstrap.log" >&2
		rm -rf "$work"
		die "debootstrap failed (log above)"
	fi
	local r=$work/rootfs
	rm -rf "$r"/var/cache/apt/archives/*.deb "$r"/var/lib/apt/lists/* "$r"/debootstrap
	: >"$r/etc/machine-id" # systemd makes one at first boot
	echo lxnetd-systemd >"$r/etc/hostname"
	# Where the test's proxy device (bind=container) puts the LXD socket.
	mkdir -p "$r/var/lib/lxd"
	printf 'architecture: %s\ncreation_date: %s\nproperties:\n  os: debian\n  release: bookworm\n  lxnetd_systemd_image: "%s"\n  description: Debian 12 minbase with systemd (lxnetd sandbox)\n' \
		"$(uname -m)" "$(date +%s)" "$SYSTEMD_IMAGE_VERSION" >"$work/metadata.yaml"
	tar -C "$work" --numeric-owner -cf "$SYSTEMD_IMAGE.tmp" metadata.yaml rootfs
	mv "$SYSTEMD_IMAGE.tmp" "$SYSTEMD_IMAGE"
	rm -rf "$work"
	find "$SYSTEMD_CACHE" -maxdepth 1 -name 'debian12-systemd-v*.tar' ! -path "$SYSTEMD_IMAGE" -delete
	log "built $SYSTEMD_IMAGE in $((SECONDS - start)) s"
}

cmd_systemd_image() {
	need_root
	daemon_ready primary || die "primary is not running (run sandbox.sh up)"
	mkdir -p "$SYSTEMD_CACHE"
	# Its own lock: a build takes long and must not hold up `up`.
	exec 8>>"$SYSTEMD_CACHE/.lock"
	flock 8
	build_systemd_image
	admin_lxc primary image show "$SYSTEMD_IMAGE_ALIAS" >/dev/null 2>&1 ||
		admin_lxc primary image import "$SYSTEMD_IMAGE" --alias "$SYSTEMD_IMAGE_ALIAS" >/dev/null
	echo "$SYSTEMD_IMAGE_ALIAS"
}

# cmd_systemd_image_prefetch starts building the image in the background
# when it is not cached, and returns at once: `make test` calls it first, so
# that debootstrap (minutes on a fresh machine, mostly downloading) runs
# while lint and the other packages' tests do. The builder holds the cache
# lock, so systemd-image waits for it (and builds itself if it failed).
cmd_systemd_image_prefetch() {
	need_root
	mkdir -p "$SYSTEMD_CACHE"
	[[ -s $SYSTEMD_IMAGE ]] && return 0
	log "building $SYSTEMD_IMAGE_ALIAS in the background (log $SYSTEMD_CACHE/build.log)"
	(
		exec 8>>"$SYSTEMD_CACHE/.lock"
		flock 8
		build_systemd_image
	) </dev/null >"$SYSTEMD_CACHE/build.log" 2>&1 &
	disown
}

# take_lock locks $LOCK on fd 9. A down removes $LOCK while holding it, so
# a process that waited on the old file gets a lock nobody else will ever
# contend for (a newcomer creates and locks a new file at $LOCK): after
# flock, check that the locked file is still the one at $LOCK, else retry
# on the new one. The lock is thus never held twice, whoever removes it.
take_lock() {
	mkdir -p "$(dirname "$LOCK")"
	while :; do
		exec 9>>"$LOCK"
		flock 9
		if [[ $(stat -L -c %d:%i "/proc/$$/fd/9") == "$(stat -c %d:%i "$LOCK" 2>/dev/null)" ]]; then
			return
		fi
		exec 9>&-
	done
}

main() {
	local cmd=${1:-}
	case $cmd in
	up | down | pair-up | pair-down | cluster-up | cluster-down | incus-install)
		take_lock
		"cmd_${cmd//-/_}"
		# The sandbox is gone: remove its lock file, still holding it
		# (safe: see take_lock).
		case $cmd in *down) rm -f "$LOCK" ;; esac
		;;
	status) cmd_status ;;
	systemd-image) cmd_systemd_image ;;
	systemd-image-prefetch) cmd_systemd_image_prefetch ;;
	*)
		echo "usage: $0 up|down|status|pair-up|pair-down|cluster-up|cluster-down|incus-install|systemd-image|systemd-image-prefetch" >&2
		exit 2
		;;
	esac
}

main "$@"
