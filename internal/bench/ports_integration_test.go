//go:build integration

package bench

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lxnetd/lxnetd/internal/sandbox"
)

var portsOnly = flag.Bool("ports-only", false, "run only the 1000-port cold apply against the lxc script (on 30 containers, 15 running), not the host-scale fixture")

// portsListen is the number of listen addresses the N = 1000 comparison
// spreads its ports over (issue 12's first measurement: 1000 forward ports
// on 10 listen addresses).
const portsListen = 10

// portsPhase is issue 12's "≥ 50× faster than the lxc script at N = 1000":
// 1000 forward ports (scaled) on 10 listen addresses of one bridge, cold,
// by lxnetd and by the lxc script a user would write, each on a bridge of
// its own that exists before the clock starts, so the comparison is about
// ports, not about creating bridges or profiles (which cost the same
// written either way and dominate the host-scale cold apply). lxnetd's
// side uses an owner of its own, so it never touches the host-scale
// fixture's objects. Also measured: the no-op plan of the result (the
// observe time of the "observe + 1.1 × packed" target) and lxnetd's writes
// replayed directly (after lxnetd pruned them again).
func portsPhase(b *testing.B, ctx context.Context, d *sandbox.Daemon, bin, dir string, proxies map[string]*Proxy, direct *Direct, rep *Report) {
	ports := scaled(1000)
	perListen := max(1, ports/portsListen)
	mk := func(prefix string, first int) bridge {
		cidr := sandbox.AllocSubnet(b)
		return bridge{name: sandbox.UniqueName(b, prefix), cidr: cidr, listen: fmt.Sprintf("203.0.113.%d", first)}
	}
	ours, theirs := mk("lxbp", 200), mk("lxbq", 220)
	owner := sandbox.UniqueName(b, "benchp")
	cfg := filepath.Join(dir, "cfg-ports")
	p := proxies["cli"]
	write := func(forwards bool) { writePortsConfig(b, cfg, owner, p.Socket, ours, perListen, forwards) }
	run := func(phase string, args ...string) []Request {
		row, reqs := runCLI(b, bin, p, args...)
		row.Phase = phase
		rep.Add(row)
		return reqs
	}

	// The bridge first, outside the measurement.
	write(false)
	if _, reqs := runCLI(b, bin, p, "apply", "--yes", cfg); len(objectWrites(reqs)) == 0 {
		b.Fatal("ports phase: the bridge was not created")
	}
	write(true)
	phase := fmt.Sprintf("cold apply, %d ports", perListen*portsListen)
	cold := run(phase, "apply", "--yes", cfg)
	run(phase+": no-op plan", "plan", cfg)
	write(false)
	run(fmt.Sprintf("prune, %d ports", perListen*portsListen), "apply", "--yes", cfg)
	coldWrites := objectWrites(cold)
	rep.Add(timed(b, phase, "direct (packed)", proxies["direct"], func() error { return direct.Replay(ctx, coldWrites, 2) }))
	if *noLxcFlag {
		return
	}
	d.Lxc(b, "network", "create", theirs.name, "ipv4.address="+sandbox.HostIP(theirs.cidr, 1)+"/24", "ipv4.nat=true", "ipv6.address=none")
	var lines []string
	for l := range portsListen {
		listen := listenAddr(theirs, l)
		lines = append(lines, fmt.Sprintf("lxc network forward create %s %s", theirs.name, listen))
		for i := range perListen {
			lines = append(lines, fmt.Sprintf("lxc network forward port add %s %s tcp %d %s 80", theirs.name, listen, 10000+i, sandbox.HostIP(theirs.cidr, 10+i%50)))
		}
	}
	rep.Add(lxcScript(b, phase, proxies["lxc"], dir, lines))
}

// listenAddr is the l-th listen address of a ports-phase bridge.
func listenAddr(br bridge, l int) string {
	var a, b, c, d int
	fmt.Sscanf(br.listen, "%d.%d.%d.%d", &a, &b, &c, &d)
	return fmt.Sprintf("%d.%d.%d.%d", a, b, c, d+l)
}

// writePortsConfig writes the ports phase's configuration: the bridge,
// and with forwards its 10 forwards of perListen ports each.
func writePortsConfig(b *testing.B, dir, owner, socket string, br bridge, perListen int, forwards bool) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	var w strings.Builder
	fmt.Fprintf(&w, "lxnet {\n  owner = %q\n  max_deletes = 100000\n}\n\n", owner)
	fmt.Fprintf(&w, "remote \"bench\" {\n  address = \"unix://%s\"\n}\n\n", socket)
	fmt.Fprintf(&w, "network %q {\n  remote = remote.bench\n  type = \"bridge\"\n  config = { \"ipv4.address\" = \"%s/24\", \"ipv4.nat\" = true, \"ipv6.address\" = \"none\" }\n}\n\n",
		br.name, sandbox.HostIP(br.cidr, 1))
	for l := range portsListen {
		if !forwards {
			break
		}
		fmt.Fprintf(&w, "forward \"p%d\" {\n  network = network.%s\n  listen_address = %q\n", l, br.name, listenAddr(br, l))
		for i := range perListen {
			fmt.Fprintf(&w, "  port {\n    listen_port = \"%d\"\n    target_address = %q\n    target_port = \"80\"\n  }\n",
				10000+i, sandbox.HostIP(br.cidr, 10+i%50))
		}
		fmt.Fprintf(&w, "}\n\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "ports.hcl"), []byte(w.String()), 0o644); err != nil {
		b.Fatal(err)
	}
}
