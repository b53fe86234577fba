//go:build integration

package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/spec"
	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// TestLXDApplyInterruptedByDaemonKill kills LXD (SIGKILL) in the middle of an
// apply, restarts it, and checks that the next apply completes the plan
// without errors and without duplicates. It runs on a private daemon of its
// own, since killing the shared one would break other tests.
func TestLXDApplyInterruptedByDaemonKill(t *testing.T) {
	const nodes = 6
	d := sandbox.Private(t)
	sandboxDir := filepath.Dir(d.Dir)
	r := connect(t, d.Remote())
	prefix := sandbox.UniqueName(t, "ik")
	bridge := sandbox.UniqueName(t, "lxk")
	subnet, fip := sandbox.AllocSubnet(t), sandbox.FloatingIP(t)
	base := strings.TrimSuffix(subnet, "0/24")
	s := spec.Settings{Owner: "t-" + prefix}

	want := d.Remote()
	want.Networks = []spec.Network{{Meta: spec.Meta{Addr: "network.lan"}, Name: bridge, Type: "bridge",
		Config: map[string]string{"ipv4.address": base + "1/24", "ipv4.nat": "true", "ipv6.address": "none"}}}
	want.Profiles = []spec.Profile{{Meta: spec.Meta{Addr: "profile.web"}, Name: prefix + "-web",
		Config: map[string]string{"limits.memory": "64MiB"}}}
	for i := range nodes {
		name := fmt.Sprintf("%s-%d", prefix, i)
		ip := fmt.Sprintf("%s%d", base, 10+i)
		want.Instances = append(want.Instances, spec.Instance{Meta: spec.Meta{Addr: "node." + name}, Name: name, Image: "busybox",
			Profiles: []string{"default", prefix + "-web"},
			Devices:  map[string]spec.Device{"eth0": {"type": "nic", "network": bridge, "name": "eth0", "ipv4.address": ip}},
			IPv4:     ip, NIC: "eth0", Network: bridge})
		want.Exposures = append(want.Exposures, spec.Exposure{Service: "web", Port: strconv.Itoa(i), Addr: fmt.Sprintf(`service.web.port["%d"]`, i),
			Instance: name, Network: bridge, TargetAddress: ip, Protocol: "tcp", ListenAddress: fip,
			ListenPort: strconv.Itoa(8000 + i), TargetPort: "80", Via: spec.ViaForward})
	}

	// Kill the daemon as soon as the first node is created: the second is
	// then in flight (parallelism 2) and the forward not yet written.
	var once sync.Once
	killed := make(chan struct{})
	kill := func() {
		pid := readPID(t, filepath.Join(sandboxDir, "primary.pid"))
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Errorf("killing lxd %d: %v", pid, err)
		}
		close(killed)
		t.Logf("killed lxd (pid %d)", pid)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	p := lxdPlan(t, r, &want, s)
	res, err := engine.Apply(ctx, r, p, engine.ApplyOptions{Progress: func(cr engine.ChangeResult) {
		t.Logf("first apply: %s %s %v (%s)", cr.Change.Action, cr.Change.Addr, cr.Err, cr.Duration.Round(time.Millisecond))
		if cr.Change.Addr.Kind == engine.KindNode && cr.Err == nil {
			once.Do(kill)
		}
	}})
	select {
	case <-killed:
	default:
		t.Fatalf("the daemon was never killed (apply: %v)", err)
	}
	if err == nil {
		t.Fatalf("apply succeeded although LXD was killed half-way: %+v", res)
	}
	t.Logf("interrupted apply: %v", err)
	if len(res.Done) == 0 || len(res.Failed)+len(res.NotDone) == 0 {
		t.Fatalf("want some done and some not: done %d failed %d not done %d", len(res.Done), len(res.Failed), len(res.NotDone))
	}

	// Restart it the way the sandbox does, and reconnect.
	d.Restart(t)
	r2 := connect(t, d.Remote())

	p = lxdPlan(t, r2, &want, s)
	t.Logf("plan after restart: %v", describe(p))
	if p.Empty() {
		t.Fatal("plan after the interrupted apply is empty, but the apply did not finish")
	}
	_, err = engine.Apply(ctx, r2, p, engine.ApplyOptions{Progress: func(cr engine.ChangeResult) {
		t.Logf("second apply: %s %s %v (%s)", cr.Change.Action, cr.Change.Addr, cr.Err, cr.Duration.Round(time.Millisecond))
	}})
	if err != nil {
		t.Fatalf("second apply: %v", err)
	}
	if p := lxdPlan(t, r2, &want, s); !p.Empty() {
		t.Fatalf("not converged after the second apply: %v", describe(p))
	}

	// No duplicates: exactly the declared instances, one forward with every port.
	list := strings.Fields(d.Lxc(t, "list", "--format", "csv", "-c", "n"))
	var mine []string
	for _, n := range list {
		if strings.HasPrefix(n, prefix+"-") {
			mine = append(mine, n)
		}
	}
	if len(mine) != nodes {
		t.Errorf("instances after recovery: %v, want %d", mine, nodes)
	}
	fwds := strings.TrimSpace(d.Lxc(t, "network", "forward", "list", bridge, "--format", "csv"))
	if strings.Count(fwds, "\n") != 0 || !strings.HasPrefix(fwds, fip+",") {
		t.Errorf("forwards after recovery:\n%s", fwds)
	}
	for i := range nodes {
		url := fmt.Sprintf("http://%s:%d/", fip, 8000+i)
		if body := sandbox.HTTPGet(t, url, 30*time.Second); !strings.Contains(body, fmt.Sprintf("%s-%d", prefix, i)) {
			t.Errorf("%s: %q", url, body)
		}
	}
}

func readPID(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("pid file %s: %v", path, err)
	}
	return pid
}
