# lxnetd — see README.md. `make test` is the one command CI runs.
GO        ?= go
BIN       := bin/lxnetd
SANDBOX   := internal/sandbox/sandbox.sh
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
STATICCHECK_VERSION := v0.8.2

# Where the throwaway LXD daemons live; tests find them through this variable.
export LXNETD_SANDBOX_DIR ?= /var/lib/lxnetd-sandbox

.PHONY: all build test unit integration demo lint bench deb deb-lint deb-tools clean sandbox-up sandbox-down systemd-image-prefetch

all: build

# Static (CGO_ENABLED=0: the pure-Go resolver, no libc mapped), without
# symbol table and DWARF (-s -w: 28.8 -> 20.6 MB on disk; panics still show
# stacks) and without build paths (-trimpath). On kernels that map a binary's
# page cache in large folios the whole file is resident: the daemon's RSS went
# from 24.3 to 21.5 MiB (README, "Memory").
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w $(LDFLAGS)" -o $(BIN) ./cmd/lxnetd

# Installs what is missing, starts the sandbox LXD daemons, runs every test
# (unit, fuzz seed corpora, and integration tests against real LXD).
# -p 1: one package at a time. The packages share the sandbox daemons, and LXD
# serializes writes internally, so running them all side by side buys little
# and lets one package's 200-object load slow another's. The tests wait on
# LXD far more than they use the CPU, though, so a second chain runs beside
# the main one (its output printed after): internal/daemon/ (~3 minutes,
# whole daemons on objects of their own owners and projects), packaging/ (the
# .deb build and a systemd container of its own), internal/sandbox/
# (sandboxes of its own), then the examples' tests that start private
# daemons of their own (SIDE_TESTS: scenario 7's namespaced VXLAN pair,
# scenario 8's cluster, scenario 12's Open vSwitch LXD), which the main
# chain skips. The two chains take about as long as each other: CI waits
# for the longer (the whole suite took 15.4 minutes with only the last
# three on the side chain).
TESTFLAGS ?= -p 1
SIDE_PKGS := ./internal/daemon/ ./packaging/ ./internal/sandbox/
SIDE_TESTS := ^(TestScenario7VXLAN|TestScenario8Cluster|TestScenario12OpenvSwitch)$$
GOTEST    := $(GO) test -tags integration -count=1 -timeout 25m $(TESTFLAGS)
# systemd-image-prefetch first: on a fresh machine the Debian image of the
# real-systemd test (packaging/) is built by debootstrap in the background
# while lint and the other packages' tests run.
test: systemd-image-prefetch lint sandbox-up build deb-tools
	@side=$$(mktemp); \
	{ $(GOTEST) $(SIDE_PKGS); a=$$?; $(GOTEST) -run '$(SIDE_TESTS)' ./examples/; b=$$?; [ $$a -eq 0 ] && [ $$b -eq 0 ]; } >$$side 2>&1 & sidepid=$$!; \
	$(GOTEST) -skip '$(SIDE_TESTS)' $$($(GO) list -tags integration ./... | grep -v -e '/packaging$$' -e '/internal/sandbox$$' -e '/internal/daemon$$'); st=$$?; \
	wait $$sidepid; sidest=$$?; \
	echo "--- $(SIDE_PKGS), then ./examples/ -run '$(SIDE_TESTS)' (run beside the others):"; cat $$side; rm -f $$side; \
	[ $$st -eq 0 ] && [ $$sidest -eq 0 ]

unit:
	$(GO) test -race -count=1 ./...

# Every test without lint, for quick iterations against the running sandbox.
integration: sandbox-up
	$(GO) test -tags integration -count=1 -timeout 25m $(TESTFLAGS) ./...

sandbox-up:
	$(SANDBOX) up

systemd-image-prefetch:
	$(SANDBOX) systemd-image-prefetch

sandbox-down:
	$(SANDBOX) down

demo: build sandbox-up
	./examples/demo.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet -tags integration ./...
	@command -v staticcheck >/dev/null 2>&1 || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	PATH="$$PATH:$$($(GO) env GOPATH)/bin" staticcheck -tags integration ./...

# Benchmarks, each reporting a ratio against a baseline measured in the same
# run: the engine's per-object planning cost (1000 vs 10 objects, no I/O), and
# on the sandbox's real LXD a no-op plan over 200 profiles vs 1, and 100 ports
# packed into one forward by lxnetd vs one forward per port; and loading
# configurations of 50 000 to 200 000 elements (toset, for_each, locals).
#
# Then the host-scale benchmark of issue 12 (internal/bench): on a private
# sandbox LXD with 200 containers (half running), lxnetd's CLI and daemon on
# 20 bridges, 200 profiles and 2000 forward ports, against the same requests
# issued directly and the lxc script a user would write; it prints the table
# the README publishes. BENCH_FLAGS="-scale 0.1" for a quick run, "-json
# FILE" for machines, "-no-lxc" to skip the (slow) lxc scripts, "-soak 10m"
# for issue 12's memory target (default 30s), "-ports-only" for just the
# N = 1000 ports cold apply against the lxc script.
BENCH_FLAGS ?=
bench: sandbox-up build
	$(GO) test -tags integration -run '^$$' -bench 'ForwardPorts|NoOpPlan' -benchtime 1x -count 1 ./engine/
	$(GO) test -run '^$$' -bench PlanCPU -count 1 ./engine/
	$(GO) test -run '^$$' -bench Scale -benchtime 1x -count 1 ./config/
	$(GO) test -tags integration -run '^$$' -bench HostScale -benchtime 1x -count 1 -timeout 90m ./internal/bench/ -args -lxnetd $(CURDIR)/$(BIN) $(BENCH_FLAGS)

# Debian versions must start with a digit: a tag v1.2.3 gives 1.2.3, a later
# commit 1.2.3+4+g<sha> (no "-": the package is native, its changelog
# changelog.gz), an untagged build 0.0.0~git<sha>.
DEB_VERSION ?= $(shell v=`git describe --tags --dirty 2>/dev/null | sed 's/^v//; s/-/+/g'`; if echo "$$v" | grep -q '^[0-9]'; then echo "$$v"; else echo "0.0.0~git`git rev-parse --short HEAD 2>/dev/null || echo unknown`"; fi)
NFPM_VERSION := v2.45.2

# The .deb (packaging/build-deb.sh): a stripped PIE binary, the systemd unit,
# the default /etc/lxnet.d, man pages (commands from the command tree,
# lxnetd.hcl(5) from the README), completions, examples. Reproducible: the
# same commit gives the same bytes (SOURCE_DATE_EPOCH = the commit's time).
deb:
	@command -v nfpm >/dev/null 2>&1 || test -x "$$($(GO) env GOPATH)/bin/nfpm" || $(GO) install github.com/goreleaser/nfpm/v2/cmd/nfpm@$(NFPM_VERSION)
	GO="$(GO)" ./packaging/build-deb.sh "$(DEB_VERSION)"

# What the package tests (packaging/) use beyond the sandbox: dpkg-shlibdeps,
# lintian, file, groff, debootstrap (for the Debian 12 systemd image).
DEB_TOOLS := dpkg-shlibdeps:dpkg-dev lintian:lintian file:file groff:groff-base debootstrap:debootstrap
deb-tools:
	@missing=; for t in $(DEB_TOOLS); do command -v $${t%%:*} >/dev/null 2>&1 || PATH="$$PATH:/usr/sbin" command -v $${t%%:*} >/dev/null 2>&1 || missing="$$missing $${t#*:}"; done; \
	if [ -n "$$missing" ]; then echo "installing$$missing"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; }; fi

# lintian on the package: no errors allowed (warnings are fixed or overridden
# with a reason in packaging/debian/lintian-overrides).
deb-lint: deb-tools deb
	lintian --fail-on error,warning dist/lxnetd_*.deb

clean:
	rm -rf bin dist
