//go:build integration

package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/lxnetd/lxnetd/internal/daemon"
	"github.com/lxnetd/lxnetd/internal/sandbox"
)

var (
	scaleFlag  = flag.Float64("scale", 1, "fraction of the host-scale fixture (1: 200 containers, 200 profiles, 20 bridges, 2000 ports)")
	jsonFlag   = flag.String("json", "", "also write the report as JSON to this file (- for stdout)")
	binFlag    = flag.String("lxnetd", "../../bin/lxnetd", "the lxnetd binary to measure (make bench builds it)")
	noLxcFlag  = flag.Bool("no-lxc", false, "skip the lxc script baselines (the slowest part)")
	idleWindow = flag.Duration("idle", 10*time.Second, "how long the daemon's idle CPU is measured")
	daemonLog  = flag.String("daemon-log", "", "write the daemon's log (debug level), with the Go runtime's GC trace, to this file")
	// The shape of issue 12's held-out harness (1000 ports on 10 listen
	// addresses, 30 containers, 100 profiles):
	// -containers 30 -profiles 100 -bridges 10.
	containersFlag = flag.Int("containers", 0, "containers lxnetd does not manage, half of them running (0: 200, scaled)")
	profilesFlag   = flag.Int("profiles", 0, "profiles lxnetd manages (0: 200, scaled)")
	bridgesFlag    = flag.Int("bridges", 0, "bridges lxnetd manages, each with one listen address of 100 forward ports (0: 20, scaled)")
)

// sized is a size flag's value, or n scaled when it is not given.
func sized(flagValue, n int) int {
	if flagValue > 0 {
		return flagValue
	}
	return scaled(n)
}

// fixture is what one run builds on its private LXD.
type fixture struct {
	owner      string
	bridges    []bridge
	profiles   []string
	containers int
	running    int
	ports      int // per listen address (one per bridge)
}

type bridge struct{ name, cidr, listen string }

// BenchmarkHostScale is issue 12's benchmark (make bench; not part of make
// test): on a private sandbox LXD holding containers that lxnetd does not
// manage, it measures lxnetd's CLI and daemon on bridges, profiles and
// forward ports against the same writes and reads issued directly and
// against the lxc script a user would write, all in one run, and prints
// the table the README publishes. -scale 0.1 makes a quick run.
func BenchmarkHostScale(b *testing.B) {
	bin, err := filepath.Abs(*binFlag)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		b.Fatalf("no lxnetd binary at %s (run make build, or pass -lxnetd): %v", bin, err)
	}
	for b.Loop() {
		rep := hostScale(b, bin)
		rep.Table(os.Stdout)
		switch *jsonFlag {
		case "":
		case "-":
			_ = rep.JSON(os.Stdout)
		default:
			f, err := os.Create(*jsonFlag)
			if err != nil {
				b.Fatal(err)
			}
			if err := rep.JSON(f); err != nil {
				b.Fatal(err)
			}
			f.Close()
		}
	}
}

func scaled(n int) int { return max(1, int(float64(n)**scaleFlag+0.5)) }

func hostScale(b *testing.B, bin string) *Report {
	ctx := context.Background()
	d := sandbox.Private(b)
	dir := b.TempDir()
	proxies := map[string]*Proxy{}
	for _, who := range []string{"cli", "daemon", "direct", "lxc"} {
		if err := os.MkdirAll(filepath.Join(dir, who), 0o755); err != nil {
			b.Fatal(err)
		}
		p, err := NewProxy(filepath.Join(dir, who, "unix.socket"), d.Socket)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { p.Close() })
		proxies[who] = p
	}
	direct := NewDirect(proxies["direct"].Socket)

	fx := &fixture{owner: sandbox.UniqueName(b, "bench"), containers: sized(*containersFlag, 200), profiles: nil, ports: 100}
	fx.running = fx.containers / 2
	for i := range sized(*bridgesFlag, 20) {
		cidr := sandbox.AllocSubnet(b)
		fx.bridges = append(fx.bridges, bridge{name: sandbox.UniqueName(b, "lxbb"), cidr: cidr, listen: fmt.Sprintf("203.0.113.%d", 150+i)})
	}
	for i := range sized(*profilesFlag, 200) {
		fx.profiles = append(fx.profiles, fmt.Sprintf("%s-%d", fx.owner, i))
	}
	rep := &Report{
		Date:    time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		Machine: machine(),
		Scale: map[string]int{"containers": fx.containers, "running": fx.running, "profiles": len(fx.profiles),
			"bridges": len(fx.bridges), "ports": len(fx.bridges) * fx.ports, "listen_addresses": len(fx.bridges)},
		Log: func(r Row) {
			b.Logf("%s, %s: %s %+v CPU %.0f ms RSS %.1f MiB %s", r.Phase, r.Subject, ms(r.WallMS), r.Counts, r.CPUMS, r.RSSMiB, r.Note)
		},
	}
	if *portsOnly {
		// The state of issue 12's held-out harness: 30 containers.
		fx.containers = scaled(30)
		fx.running = fx.containers / 2
		fx.bridges, fx.profiles = nil, nil
		rep.Scale = map[string]int{"containers": fx.containers, "running": fx.running}
	}
	start := time.Now()
	populate(b, d, fx)
	b.Logf("fixture: %d containers (%d running) in %s", fx.containers, fx.running, time.Since(start).Round(time.Millisecond))
	if *portsOnly {
		portsPhase(b, ctx, d, bin, dir, proxies, direct, rep)
		ratios(rep)
		return rep
	}

	cfgCLI := filepath.Join(dir, "cfg-cli")
	cfgDaemon := filepath.Join(dir, "cfg-daemon")
	writeConfig(b, cfgCLI, fx, proxies["cli"].Socket, true, 80)
	cli := func(phase string, args ...string) []Request {
		row, reqs := runCLI(b, bin, proxies["cli"], args...)
		row.Phase = phase
		rep.Add(row)
		return reqs
	}

	// Cold apply, then the no-op plan against the same reads issued directly.
	cold := cli("cold apply", "apply", "--yes", cfgCLI)
	networkReadOptions(b, ctx, direct, proxies["direct"], rep)
	// Interleaved, so that a change of the machine's load weighs on both.
	for range 3 {
		noop := cli("no-op plan", "plan", cfgCLI)
		reads := slices.DeleteFunc(slices.Clone(noop), func(r Request) bool { return r.Event() || r.Write() })
		rep.Add(timed(b, "no-op plan", "direct (same reads)", proxies["direct"], func() error { return direct.Replay(ctx, reads, 4) }))
		rep.Add(timed(b, "no-op plan", "direct (bulk lists)", proxies["direct"], func() error { return bulkReads(ctx, direct) }))
	}

	// One port changes its target port.
	writeConfig(b, cfgCLI, fx, proxies["cli"].Socket, true, 81)
	one := cli("one-port change", "apply", "--yes", cfgCLI)
	// Replayed as is, the write would find its change made already (LXD
	// then answers at once): the baseline writes the next target port.
	oneWrites := objectWrites(one)
	for i, r := range oneWrites {
		body := bytes.Replace(r.Body, []byte(`"target_port":"81"`), []byte(`"target_port":"82"`), 1)
		if bytes.Equal(body, r.Body) {
			b.Fatalf("one-port change: no target port 81 in lxnetd's write %s %s: %s", r.Method, r.Path, r.Body)
		}
		oneWrites[i].Body = body
	}
	rep.Add(timed(b, "one-port change", "direct (packed)", proxies["direct"], func() error { return direct.Replay(ctx, oneWrites, 2) }))

	daemonPhases(b, ctx, bin, fx, cfgDaemon, proxies, direct, rep)

	// Prune: the configuration empties.
	writeConfig(b, cfgCLI, fx, proxies["cli"].Socket, false, 81)
	prune := cli("prune", "apply", "--yes", cfgCLI)

	// The packed lower bound of cold apply and prune: lxnetd's own object
	// writes (not its lease), replayed directly.
	coldWrites, pruneWrites := objectWrites(cold), objectWrites(prune)
	rep.Add(timed(b, "cold apply", "direct (packed)", proxies["direct"], func() error { return direct.Replay(ctx, coldWrites, 2) }))
	if !*noLxcFlag {
		f := fx.bridges[0]
		rep.Add(lxcScript(b, "one-port change", proxies["lxc"], dir, []string{
			fmt.Sprintf("lxc network forward port remove %s %s tcp 10000", f.name, f.listen),
			fmt.Sprintf("lxc network forward port add %s %s tcp 10000 %s 82", f.name, f.listen, sandbox.HostIP(f.cidr, 10)),
		}))
	}
	rep.Add(timed(b, "prune", "direct (packed)", proxies["direct"], func() error { return direct.Replay(ctx, pruneWrites, 2) }))
	if !*noLxcFlag {
		rep.Add(lxcScript(b, "cold apply", proxies["lxc"], dir, lxcCold(fx)))
		rep.Add(lxcScript(b, "prune", proxies["lxc"], dir, lxcPrune(fx)))
	}
	portsPhase(b, ctx, d, bin, dir, proxies, direct, rep)
	ratios(rep)
	return rep
}

// bulkReads reads a remote the plain way, as a script or another tool
// would: the four bulk lists at once (networks, profiles and instances
// with recursion=1, ACLs), then the forwards of every managed bridge,
// four at a time.
func bulkReads(ctx context.Context, d *Direct) error {
	var nets []struct {
		Name    string `json:"name"`
		Type    string `json:"type"`
		Managed bool   `json:"managed"`
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return d.Get(gctx, "/1.0/networks?recursion=1", &nets) })
	for _, list := range []string{"/1.0/profiles?recursion=1", "/1.0/instances?recursion=1", "/1.0/network-acls?recursion=1"} {
		g.Go(func() error { _, err := d.Do(gctx, http.MethodGet, list, nil); return err })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(4)
	for _, n := range nets {
		if n.Managed && n.Type == "bridge" {
			g.Go(func() error {
				_, err := d.Do(gctx, http.MethodGet, "/1.0/networks/"+n.Name+"/forwards?recursion=1", nil)
				return err
			})
		}
	}
	return g.Wait()
}

// populate creates the containers lxnetd does not manage (half of them
// running, each with a NIC on one unmanaged bridge, so the host has a veth
// per running container), four at a time.
func populate(b *testing.B, d *sandbox.Daemon, fx *fixture) {
	br := sandbox.UniqueName(b, "lxbh")
	cidr := sandbox.AllocSubnet(b)
	// No cleanup of its own: the private daemon goes with everything on it.
	d.Lxc(b, "network", "create", br, "ipv4.address="+sandbox.HostIP(cidr, 1)+"/24", "ipv4.nat=true", "ipv6.address=none")
	names := make([]string, fx.containers)
	for i := range names {
		names[i] = sandbox.UniqueName(b, "bc")
	}
	g := new(errgroup.Group)
	g.SetLimit(4)
	for i, n := range names {
		g.Go(func() error {
			verb := "init"
			if i < fx.running {
				verb = "launch"
			}
			_, err := d.LxcErr(verb, "busybox", n, "-n", br)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
}

// writeConfig writes the configuration lxnetd is measured on: every
// bridge, profile and forward (full) or none (the prune), with the first
// port of the first forward pointing at targetPort.
func writeConfig(b *testing.B, dir string, fx *fixture, socket string, full bool, targetPort int) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	var w strings.Builder
	fmt.Fprintf(&w, "lxnet {\n  owner = %q\n  allow_empty = true\n  max_deletes = 100000\n  resync_interval = \"1h\"\n}\n\n", fx.owner)
	fmt.Fprintf(&w, "remote \"bench\" {\n  address = \"unix://%s\"\n}\n\n", socket)
	if full {
		for i, br := range fx.bridges {
			fmt.Fprintf(&w, "network %q {\n  remote = remote.bench\n  type = \"bridge\"\n  config = { \"ipv4.address\" = \"%s/24\", \"ipv4.nat\" = true, \"ipv6.address\" = \"none\" }\n}\n\n",
				br.name, sandbox.HostIP(br.cidr, 1))
			fmt.Fprintf(&w, "forward \"f%d\" {\n  network = network.%s\n  listen_address = %q\n", i, br.name, br.listen)
			for p := range fx.ports {
				tp := 80
				if i == 0 && p == 0 {
					tp = targetPort
				}
				fmt.Fprintf(&w, "  port {\n    listen_port = \"%d\"\n    target_address = %q\n    target_port = \"%d\"\n  }\n",
					10000+p, sandbox.HostIP(br.cidr, 10+p%50), tp)
			}
			fmt.Fprintf(&w, "}\n\n")
		}
		for i, p := range fx.profiles {
			fmt.Fprintf(&w, "profile %q {\n  remote = remote.bench\n  config = { \"user.index\" = \"%d\" }\n}\n\n", p, i)
		}
	}
	// Written beside and renamed: the daemon never reads half a file.
	tmp := filepath.Join(dir, ".bench.hcl.tmp")
	if err := os.WriteFile(tmp, []byte(w.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, "bench.hcl")); err != nil {
		b.Fatal(err)
	}
}

// runCLI runs lxnetd once and measures it: wall time, requests through its
// proxy, CPU and peak RSS from the kernel's rusage.
func runCLI(b *testing.B, bin string, p *Proxy, args ...string) (Row, []Request) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	mark := p.Mark()
	start := time.Now()
	out, err := cmd.CombinedOutput()
	wall := time.Since(start)
	if err != nil {
		b.Fatalf("lxnetd %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	reqs := p.Since(mark)
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	note := ""
	if lw := LeaseWait(reqs); lw > 0 {
		note = fmt.Sprintf("lease taken → first write: %s (observing runs meanwhile)", lw.Round(time.Millisecond))
	}
	return Row{Note: note,
		Subject: "lxnetd", WallMS: msOf(wall), Counts: Count(reqs),
		CPUMS:  msOf(cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()),
		RSSMiB: float64(ru.Maxrss) / 1024,
	}, reqs
}

// timed runs f and measures it with the requests it sent through p.
// (p nil: the requests are not counted).
func timed(b *testing.B, phase, subject string, p *Proxy, f func() error) Row {
	mark := 0
	if p != nil {
		mark = p.Mark()
	}
	start := time.Now()
	if err := f(); err != nil {
		b.Fatalf("%s, %s: %v", phase, subject, err)
	}
	row := Row{Phase: phase, Subject: subject, WallMS: msOf(time.Since(start))}
	if p != nil {
		row.Counts = Count(p.Since(mark))
	}
	return row
}

// objectWrites are the writes of lxnetd's plan, without its lease (the
// writes to /1.0 itself) and the reads around them.
func objectWrites(reqs []Request) []Request {
	var out []Request
	for _, r := range reqs {
		if r.Write() && r.Path != "/1.0" {
			out = append(out, r)
		}
	}
	return out
}

// lxcScript runs lines as one bash script with lxc talking through p.
func lxcScript(b *testing.B, phase string, p *Proxy, dir string, lines []string) Row {
	script := filepath.Join(dir, strings.ReplaceAll(phase, " ", "-")+".sh")
	body := "set -e\n" + strings.Join(lines, "\n") + "\n"
	if err := os.WriteFile(script, []byte(body), 0o644); err != nil {
		b.Fatal(err)
	}
	conf := filepath.Join(dir, "lxc-conf")
	_ = os.MkdirAll(conf, 0o700)
	cmd := exec.Command("bash", script)
	cmd.Env = append(os.Environ(), "LXD_DIR="+filepath.Dir(p.Socket), "LXD_CONF="+conf)
	mark := p.Mark()
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("lxc script %s: %v\n%s", phase, err, out)
	}
	return Row{Phase: phase, Subject: "lxc script", WallMS: msOf(time.Since(start)), Counts: Count(p.Since(mark)),
		Note: fmt.Sprintf("%d lxc calls", len(lines))}
}

func lxcCold(fx *fixture) []string {
	var l []string
	for _, br := range fx.bridges {
		l = append(l, fmt.Sprintf("lxc network create %s ipv4.address=%s/24 ipv4.nat=true ipv6.address=none", br.name, sandbox.HostIP(br.cidr, 1)))
	}
	for i, p := range fx.profiles {
		l = append(l, "lxc profile create "+p, fmt.Sprintf("lxc profile set %s user.index=%d", p, i))
	}
	for _, br := range fx.bridges {
		l = append(l, fmt.Sprintf("lxc network forward create %s %s", br.name, br.listen))
		for p := range fx.ports {
			l = append(l, fmt.Sprintf("lxc network forward port add %s %s tcp %d %s 80", br.name, br.listen, 10000+p, sandbox.HostIP(br.cidr, 10+p%50)))
		}
	}
	return l
}

func lxcPrune(fx *fixture) []string {
	var l []string
	for _, br := range fx.bridges {
		l = append(l, fmt.Sprintf("lxc network forward delete %s %s", br.name, br.listen))
	}
	for _, p := range fx.profiles {
		l = append(l, "lxc profile delete "+p)
	}
	for _, br := range fx.bridges {
		l = append(l, "lxc network delete "+br.name)
	}
	return l
}

// networkReadOptions measures the ways to read a host's networks (see
// internal/lxd/networks.go for the choice they support), best of three.
func networkReadOptions(b *testing.B, ctx context.Context, d *Direct, p *Proxy, rep *Report) {
	var urls []string
	if err := d.Get(ctx, "/1.0/networks", &urls); err != nil {
		b.Fatal(err)
	}
	names := make([]string, len(urls))
	for i, u := range urls {
		names[i] = path.Base(u)
	}
	var managed []string
	var all []struct {
		Name    string `json:"name"`
		Managed bool   `json:"managed"`
	}
	if err := d.Get(ctx, "/1.0/networks?recursion=1", &all); err != nil {
		b.Fatal(err)
	}
	for _, n := range all {
		if n.Managed {
			managed = append(managed, n.Name)
		}
	}
	get := func(list []string) func() error {
		return func() error {
			g, gctx := errgroup.WithContext(ctx)
			g.SetLimit(4)
			for _, n := range list {
				g.Go(func() error {
					_, err := d.Do(gctx, http.MethodGet, "/1.0/networks/"+n, nil)
					if err != nil && strings.Contains(err.Error(), " 404 ") {
						return nil // a host interface of another test, gone since the list
					}
					return err
				})
			}
			return g.Wait()
		}
	}
	opts := []struct {
		name string
		f    func() error
	}{
		{"GET /1.0/networks?recursion=1", func() error { _, err := d.Do(ctx, http.MethodGet, "/1.0/networks?recursion=1", nil); return err }},
		{"GET /1.0/networks (names only)", func() error { _, err := d.Do(ctx, http.MethodGet, "/1.0/networks", nil); return err }},
		{fmt.Sprintf("GET each of the %d managed networks, 4 at a time", len(managed)), get(managed)},
		{fmt.Sprintf("GET each of all %d networks, 4 at a time", len(names)), get(names)},
		{"GET /1.0/projects/default (used_by)", func() error { _, err := d.Do(ctx, http.MethodGet, "/1.0/projects/default", nil); return err }},
	}
	for _, o := range opts {
		best := Row{}
		for range 3 {
			r := timed(b, "network read options", o.name, p, o.f)
			if best.WallMS == 0 || r.WallMS < best.WallMS {
				best = r
			}
		}
		best.Note = "best of 3"
		rep.Add(best)
	}
}

// daemonPhases runs `lxnetd run` on the state the CLI converged and
// measures drift repair, edit convergence, the passes its own writes'
// events cause, and its idle cost.
func daemonPhases(b *testing.B, ctx context.Context, bin string, fx *fixture, cfg string, proxies map[string]*Proxy, direct *Direct, rep *Report) {
	p := proxies["daemon"]
	writeConfig(b, cfg, fx, p.Socket, true, 81)
	sock := filepath.Join(b.TempDir(), "control.sock")
	cmd := exec.Command(bin, "run", "--config-dir", cfg, "--socket", sock, "--log-format", "text")
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "NOTIFY_SOCKET=") && !strings.HasPrefix(e, "WATCHDOG_") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	var log strings.Builder
	var logMu sync.Mutex
	cmd.Stdout, cmd.Stderr = lockedWriter{&log, &logMu}, lockedWriter{&log, &logMu}
	if *daemonLog != "" {
		cmd.Args = append(cmd.Args, "--log-level", "debug")
		cmd.Env = append(cmd.Env, "GODEBUG=gctrace=1")
		defer func() {
			logMu.Lock()
			defer logMu.Unlock()
			_ = os.WriteFile(*daemonLog, []byte(log.String()), 0o644)
		}()
	}
	mark := p.Mark()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	}()
	fail := func(format string, args ...any) {
		logMu.Lock()
		defer logMu.Unlock()
		b.Fatalf(format+"\ndaemon log:\n%s", append(args, log.String())...)
	}
	converged := func(within time.Duration) {
		deadline := time.Now().Add(within)
		for {
			cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			resp, err := daemon.Ask(cctx, sock, daemon.Request{Command: "status"})
			cancel()
			if err == nil && resp.OK && resp.Status.Converged() {
				return
			}
			if time.Now().After(deadline) {
				fail("daemon not converged within %s (%v)", within, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	converged(5 * time.Minute)
	rep.Add(Row{Phase: "daemon start → converged", Subject: "lxnetd run", WallMS: msOf(time.Since(start)), Counts: Count(p.Since(mark))})

	// waitFor polls LXD directly (through its own proxy) until cond holds.
	f0 := fx.bridges[0]
	fwdPath := "/1.0/networks/" + f0.name + "/forwards/" + f0.listen
	waitFor := func(what string, cond func() bool) time.Duration {
		t0 := time.Now()
		for !cond() {
			if time.Since(t0) > 2*time.Minute {
				fail("daemon: %s not seen within 2 minutes", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
		return time.Since(t0)
	}
	targetPort := func() string {
		var f struct {
			Ports []struct {
				ListenPort string `json:"listen_port"`
				TargetPort string `json:"target_port"`
			} `json:"ports"`
		}
		if err := direct.Get(ctx, fwdPath, &f); err != nil {
			return ""
		}
		for _, pt := range f.Ports {
			if pt.ListenPort == "10000" {
				return pt.TargetPort
			}
		}
		return ""
	}

	// Drift: a forward deleted by hand comes back.
	time.Sleep(time.Second) // let the start's own echoes pass
	mark = p.Mark()
	if _, err := direct.Do(ctx, http.MethodDelete, fwdPath, nil); err != nil {
		b.Fatal(err)
	}
	took := waitFor("the deleted forward restored", func() bool { return targetPort() != "" })
	rep.Add(Row{Phase: "drift: forward deleted → restored", Subject: "lxnetd run", WallMS: msOf(took), Counts: Count(p.Since(mark))})

	// Edit: one port's target changes in the file.
	time.Sleep(time.Second)
	mark = p.Mark()
	writeConfig(b, cfg, fx, p.Socket, true, 83)
	took = waitFor("the edited port written", func() bool { return targetPort() == "83" })
	rep.Add(Row{Phase: "edit: file written → in LXD", Subject: "lxnetd run", WallMS: msOf(took), Counts: Count(p.Since(mark))})

	// Echo: what the daemon reads in the 3 s after its own write landed.
	mark = p.Mark()
	time.Sleep(3 * time.Second)
	rep.Add(Row{Phase: "echo: 3 s after its own write", Subject: "lxnetd run", WallMS: 3000, Counts: Count(p.Since(mark)),
		Note: "lists here are passes its own events caused"})

	// Idle.
	pid := cmd.Process.Pid
	cpu0 := procCPU(b, pid)
	mark = p.Mark()
	time.Sleep(*idleWindow)
	cpu := procCPU(b, pid) - cpu0
	rss, hwm := procRSS(b, pid)
	rep.Add(Row{Phase: fmt.Sprintf("idle %s after activity", *idleWindow), Subject: "lxnetd run", WallMS: msOf(*idleWindow),
		Counts: Count(p.Since(mark)), CPUMS: msOf(cpu), RSSMiB: rss,
		Note: fmt.Sprintf("CPU %.2f %%; RSS now (peak %.1f MiB)", 100*cpu.Seconds()/idleWindow.Seconds(), hwm)})

	if *soakFlag > 0 {
		soakPhase(b, ctx, *soakFlag, soakOps{
			edit: func(port int) { writeConfig(b, cfg, fx, p.Socket, true, port) },
			drift: func() {
				if _, err := direct.Do(ctx, http.MethodDelete, fwdPath, nil); err != nil {
					b.Fatal(err)
				}
			},
			port: targetPort,
			status: func() string {
				cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
				defer cancel()
				resp, err := daemon.Ask(cctx, sock, daemon.Request{Command: "status"})
				if err != nil {
					return err.Error()
				}
				raw, _ := json.Marshal(resp.Status)
				return string(raw)
			},
			profile: fx.profiles[0], direct: direct, pid: pid, proxy: p, firstPort: 84,
		}, rep)
	}
}

type lockedWriter struct {
	b  *strings.Builder
	mu *sync.Mutex
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// procCPU is a process's user+system CPU time (/proc/PID/stat fields 14
// and 15, in clock ticks of 10 ms on Linux).
func procCPU(b *testing.B, pid int) time.Duration {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	f := strings.Fields(string(raw[strings.LastIndexByte(string(raw), ')')+2:]))
	var ut, st int64
	fmt.Sscan(f[11], &ut)
	fmt.Sscan(f[12], &st)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// procRSS is a process's resident set and its peak, in MiB.
func procRSS(b *testing.B, pid int) (rss, hwm float64) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		var kb float64
		if _, err := fmt.Sscanf(line, "VmRSS: %f kB", &kb); err == nil {
			rss = kb / 1024
		}
		if _, err := fmt.Sscanf(line, "VmHWM: %f kB", &kb); err == nil {
			hwm = kb / 1024
		}
	}
	return rss, hwm
}

// ratios computes issue 12's targets from the rows.
func ratios(rep *Report) {
	median := func(phase, subject string) float64 {
		var v []float64
		for _, r := range rep.Rows {
			if r.Phase == phase && r.Subject == subject {
				v = append(v, r.WallMS)
			}
		}
		if len(v) == 0 {
			return 0
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	if plan, direct := median("no-op plan", "lxnetd"), median("no-op plan", "direct (same reads)"); direct > 0 {
		rep.Check("no-op plan / same reads issued directly", plan/direct, "≤ 1.2", plan/direct <= 1.2)
	}
	if plan, bulk := median("no-op plan", "lxnetd"), median("no-op plan", "direct (bulk lists)"); bulk > 0 {
		rep.Check("no-op plan / bulk lists issued directly", plan/bulk, "≤ 1.2", plan/bulk <= 1.2)
	}
	cold, packed := rep.Find("cold apply", "lxnetd").WallMS, rep.Find("cold apply", "direct (packed)").WallMS
	observe := median("no-op plan", "lxnetd")
	if packed > 0 {
		v := cold / (observe + 1.1*packed)
		rep.Check("cold apply / (no-op plan + 1.1 × packed writes)", v, "≤ 1", v <= 1)
	}
	if script := rep.Find("cold apply", "lxc script").WallMS; script > 0 {
		rep.Check("lxc script / cold apply (host scale: bridges and profiles too)", script/cold, "≥ 50 at N = 1000 ports, below", script/cold >= 50)
	}
	for _, r := range rep.Rows {
		if !strings.HasPrefix(r.Phase, "cold apply, ") || r.Subject != "lxnetd" {
			continue
		}
		n := strings.TrimPrefix(r.Phase, "cold apply, ")
		if packed := rep.Find(r.Phase, "direct (packed)").WallMS; packed > 0 {
			v := r.WallMS / (rep.Find(r.Phase+": no-op plan", "lxnetd").WallMS + 1.1*packed)
			rep.Check("cold apply of "+n+" / (no-op plan + 1.1 × packed writes)", v, "≤ 1", v <= 1)
		}
		if script := rep.Find(r.Phase, "lxc script").WallMS; script > 0 {
			rep.Check("lxc script / cold apply of "+n, script/r.WallMS, "≥ 50", script/r.WallMS >= 50)
		}
	}
	if d := rep.Find("drift: forward deleted → restored", "lxnetd run"); d.Phase != "" {
		rep.Check("drift restored (ms)", d.WallMS, "≤ 300", d.WallMS <= 300)
	}
	if e := rep.Find("edit: file written → in LXD", "lxnetd run"); e.Phase != "" {
		writes := rep.Find("one-port change", "direct (packed)").WallMS
		v := e.WallMS - daemonDebounceMS - writes
		rep.Check(fmt.Sprintf("edit in LXD − debounce (%d ms) − the write (%.0f ms, packed), ms", daemonDebounceMS, writes), v, "≤ 200", v <= 200)
	}
	if e := rep.Find("echo: 3 s after its own write", "lxnetd run"); e.Phase != "" {
		rep.Check("lists in passes caused by its own echo", float64(e.Lists), "0", e.Lists == 0)
	}
	for _, r := range rep.Rows {
		switch {
		case strings.HasPrefix(r.Phase, "idle "):
			v := 100 * r.CPUMS / r.WallMS
			rep.Check("idle CPU (%)", v, "≈ 0 (≤ 0.1)", v <= 0.1)
		case strings.HasPrefix(r.Phase, "soak: "):
			mb := r.RSSMiB * (1 << 20) / 1e6
			rep.Check("RSS after the soak ("+strings.TrimPrefix(r.Phase, "soak: ")+"), MB", mb, "< 30 (after 10m)", mb < 30)
		}
	}
}

// daemonDebounceMS is the daemon's debounce of configuration edits
// (internal/daemon's Watcher default), part of the edit target.
const daemonDebounceMS = 300

func msOf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func machine() string {
	host, _ := os.Hostname()
	model := ""
	if raw, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(raw), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	lxd, _ := exec.Command("lxd", "--version").Output()
	return fmt.Sprintf("%s, %d CPUs (%s), LXD %s", host, runtime.NumCPU(), model, strings.TrimSpace(string(lxd)))
}
