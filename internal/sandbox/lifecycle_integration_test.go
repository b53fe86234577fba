//go:build integration

package sandbox

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestScriptLifecycle runs sandbox.sh on a second, private sandbox (its own
// directory, HTTPS ports and veth pair, so the shared sandbox is not
// touched): up twice (idempotent), use all three daemons, LXD and Incus
// (bridge, container, forward), then down, and checks that no process, interface, nftables
// chain, mount or file of it remains. Not parallel: it runs before the
// package's parallel tests, whose clusters and pairs add and remove host
// interfaces all the time, which Incus 6.0's bridge create trips over (it
// inspects every host interface; see package incusrace).
func TestScriptLifecycle(t *testing.T) {
	Primary(t) // the shared sandbox provides leases for subnets and floating IPs

	dir := fmt.Sprintf("/var/lib/lxnetd-sandbox-lifecycle-%s", strings.TrimPrefix(UniqueName(t, "x"), "x-"))
	float := "lxlc" + strings.TrimPrefix(UniqueName(t, "x"), "x-")[:5]
	env := []string{
		"LXNETD_SANDBOX_DIR=" + dir,
		"LXNETD_SANDBOX_PORT=" + strconv.Itoa(freePort(t)),
		"LXNETD_SANDBOX_INCUS_PORT=" + strconv.Itoa(freePort(t)),
		"LXNETD_SANDBOX_FLOAT=" + float,
	}
	script := func(arg string) (string, error) { return runScript(env, arg) }
	t.Cleanup(func() {
		if _, err := os.Stat(dir); err == nil {
			if out, err := script("down"); err != nil {
				t.Errorf("cleanup: sandbox.sh down: %v\n%s", err, out)
			}
		}
	})

	if out, err := script("up"); err != nil {
		t.Fatalf("sandbox.sh up: %v\n%s", err, out)
	}
	state1, _ := os.ReadFile(filepath.Join(dir, "state.env"))
	// An up of a running sandbox only checks: the same daemons keep running
	// (their pid files are unchanged), nothing is rebuilt. Its time is
	// logged, not asserted: a loaded machine makes any bound luck.
	pids := func() string {
		var b strings.Builder
		for _, name := range []string{"primary", "secondary", "incus"} {
			pid, _ := os.ReadFile(filepath.Join(dir, name+".pid"))
			fmt.Fprintf(&b, "%s=%s ", name, strings.TrimSpace(string(pid)))
		}
		return b.String()
	}
	pids1 := pids()
	start := time.Now()
	if out, err := script("up"); err != nil {
		t.Fatalf("second sandbox.sh up: %v\n%s", err, out)
	}
	t.Logf("second up took %v", time.Since(start).Round(time.Millisecond))
	if pids2 := pids(); pids1 != pids2 {
		t.Errorf("second up restarted daemons: pids %s, then %s", pids1, pids2)
	}
	if state2, _ := os.ReadFile(filepath.Join(dir, "state.env")); !bytes.Equal(state1, state2) {
		t.Errorf("second up changed state.env:\n%s\n---\n%s", state1, state2)
	}
	if out, err := script("status"); err != nil {
		t.Fatalf("sandbox.sh status of a running sandbox: %v\n%s", err, out)
	}

	var bridges []string
	for _, name := range []string{"primary", "secondary", "incus"} {
		d, err := connect(dir, name)
		if err != nil {
			t.Fatal(err)
		}
		br := UniqueName(t, "slc")
		cidr := AllocSubnet(t)
		d.Lxc(t, "network", "create", br, "ipv4.address="+HostIP(cidr, 1)+"/24", "ipv6.address=none")
		bridges = append(bridges, br)
		inst := UniqueName(t, "slc")
		ip := HostIP(cidr, 30)
		d.LxcInput(t, "devices:\n  eth0:\n    type: nic\n    network: "+br+"\n    ipv4.address: "+ip+"\n", "launch", "busybox", inst)
		fip := FloatingIP(t)
		d.Lxc(t, "network", "forward", "create", br, fip)
		d.Lxc(t, "network", "forward", "port", "add", br, fip, "tcp", "80", ip)
		if body := HTTPGet(t, "http://"+fip+"/", 20*time.Second); !strings.Contains(body, inst) {
			t.Fatalf("forward %s on private %s: page without %s:\n%s", fip, name, inst, body)
		}
	}

	// A stopped daemon: helpers fail clearly, status says so, up restarts it.
	stop := exec.Command("lxd", "shutdown", "--timeout", "30")
	stop.Env = append(os.Environ(), "LXD_DIR="+filepath.Join(dir, "secondary")) // exec keeps the last LXD_DIR
	if out, err := stop.CombinedOutput(); err != nil {
		t.Fatalf("stopping the private secondary: %v\n%s", err, out)
	}
	_, err := connect(dir, "secondary")
	if err == nil || !strings.Contains(err.Error(), "sandbox LXD secondary is not running (run make sandbox-up): ") {
		t.Fatalf("connect to a stopped daemon: %v; want the not-running message", err)
	}
	if out, err := script("status"); err == nil || !strings.Contains(out, "secondary: not running") {
		t.Fatalf("status with a stopped secondary: %v\n%s", err, out)
	}
	if out, err := script("up"); err != nil {
		t.Fatalf("up restarting the secondary: %v\n%s", err, out)
	}
	if _, err := connect(dir, "secondary"); err != nil {
		t.Fatalf("after up: %v", err)
	}

	out, err := script("down")
	if err != nil {
		t.Fatalf("sandbox.sh down: %v\n%s", err, out)
	}
	if pids := processesUsing(dir); len(pids) > 0 {
		t.Errorf("processes still using %s after down: %v", dir, pids)
	}
	for _, ifname := range append(bridges, float+"0", float+"1") {
		if _, err := net.InterfaceByName(ifname); err == nil {
			t.Errorf("interface %s still exists after down", ifname)
		}
	}
	if mi, err := os.ReadFile("/proc/self/mountinfo"); err != nil {
		t.Error(err)
	} else if strings.Contains(string(mi), " "+dir+"/") || strings.Contains(string(mi), " "+dir+" ") {
		t.Errorf("mounts under %s remain after down", dir)
	}
	for _, table := range []string{"lxd", "incus"} {
		if nft, err := exec.Command("nft", "list", "table", "inet", table).CombinedOutput(); err == nil {
			for _, br := range bridges {
				if strings.Contains(string(nft), "."+br+" ") {
					t.Errorf("nftables chains of %s remain in table inet %s after down", br, table)
				}
			}
		}
	}
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("%s still exists after down", dir)
	}
	if out, err := script("status"); err == nil {
		t.Errorf("sandbox.sh status after down exited 0:\n%s", out)
	}
	if out, err := script("down"); err != nil {
		t.Errorf("second sandbox.sh down: %v\n%s", err, out)
	}
	// The shared sandbox is unaffected.
	if err := Primary(t).probe(); err != nil {
		t.Errorf("shared primary after a private down: %v", err)
	}
	if err := Secondary(t).probe(); err != nil {
		t.Errorf("shared secondary after a private down: %v", err)
	}
	if err := Incus(t).probe(); err != nil {
		t.Errorf("shared incus after a private down: %v", err)
	}
}

// TestDownRemovesLock: down removes the sandbox directory's lock file (one
// per test sandbox would otherwise pile up in /run/lock), and doing so never
// lets two processes hold the lock: a down that waited on the removed file
// must take the new one. Runs the script on a sandbox that was never up
// (down is then quick and touches nothing shared).
func TestDownRemovesLock(t *testing.T) {
	t.Parallel()
	id := strings.TrimPrefix(UniqueName(t, "x"), "x-")
	dir := "/var/lib/lxnetd-sandbox-locktest-" + id
	lock := "/run/lock/lxnetd-sandbox/" + strings.ReplaceAll(dir, "/", "_") + ".lock"
	env := []string{"LXNETD_SANDBOX_DIR=" + dir, "LXNETD_SANDBOX_FLOAT=lxlk" + id[:5]}
	t.Cleanup(func() { _ = os.Remove(lock) })

	if out, err := runScript(env, "down"); err != nil {
		t.Fatalf("sandbox.sh down: %v\n%s", err, out)
	}
	if _, err := os.Stat(lock); !os.IsNotExist(err) {
		t.Fatalf("lock file %s after down: %v (want it removed)", lock, err)
	}

	// A holds the lock; a down waits on it; A removes the file and a
	// newcomer C locks a new one at the same path; A lets go. The waiting
	// down must now wait for C, not run beside it.
	lockFile := func() *os.File {
		f, err := os.OpenFile(lock, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
			t.Fatal(err)
		}
		return f
	}
	a := lockFile()
	done := make(chan error, 1)
	var out string
	go func() {
		var err error
		out, err = runScript(env, "down")
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("down ran while the lock was held: %v\n%s", err, out)
	case <-time.After(500 * time.Millisecond):
	}
	if err := os.Remove(lock); err != nil {
		t.Fatal(err)
	}
	c := lockFile()
	a.Close()
	select {
	case err := <-done:
		t.Fatalf("down ran while a newcomer held the lock at %s: %v\n%s", lock, err, out)
	case <-time.After(1 * time.Second):
	}
	c.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("down after the lock was released: %v\n%s", err, out)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("down did not run after the lock was released")
	}
	if _, err := os.Stat(lock); !os.IsNotExist(err) {
		t.Errorf("lock file %s after the second down: %v (want it removed)", lock, err)
	}
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// processesUsing lists pids whose command line mentions dir/ or whose
// environment has LXD_DIR below dir.
func processesUsing(dir string) []string {
	var pids []string
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		if st, err := os.ReadFile(p + "/stat"); err != nil || zombie(st) {
			continue
		}
		cmdline, _ := os.ReadFile(p + "/cmdline")
		environ, _ := os.ReadFile(p + "/environ")
		if bytes.Contains(cmdline, []byte(dir+"/")) || bytes.Contains(environ, []byte("LXD_DIR="+dir+"/")) {
			pids = append(pids, filepath.Base(p)+" "+strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
	return pids
}

// zombie reports whether a /proc/PID/stat line is of a zombie (state Z).
func zombie(stat []byte) bool {
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

// TestPrivate starts a test's own daemon, serves a busybox page from it, and
// checks it is separate from the shared primary.
func TestPrivate(t *testing.T) {
	t.Parallel()
	d := Private(t)
	if d.Name != "private" || d.Socket == Primary(t).Socket || d.HTTPSAddress != "" {
		t.Fatalf("Private() = %+v: want its own unix-socket daemon", d)
	}
	if !strings.HasPrefix(d.Remote().Address, "unix://") {
		t.Fatalf("private Remote().Address = %q", d.Remote().Address)
	}
	br, inst := webOnBridge(t, d)
	// The bridge is visible to every daemon as a host interface, but only
	// the private daemon manages it.
	if out, _ := Primary(t).LxcErr("network", "show", br); strings.Contains(out, "managed: true") {
		t.Errorf("the shared primary manages the private daemon's network %s", br)
	}
	if _, err := Primary(t).LxcErr("config", "show", inst); err == nil {
		t.Errorf("the shared primary has the private daemon's instance %s", inst)
	}
}

// TestNamespacedPair starts two daemons in their own namespaces and checks
// that they are two hosts (each sees only its own interfaces), that both
// answer over HTTPS from the host, and that a container on each gets going.
func TestNamespacedPair(t *testing.T) {
	t.Parallel()
	a, b := NamespacedPair(t)
	if a.Underlay == "" || b.Underlay == "" || a.Underlay == b.Underlay || !strings.HasPrefix(a.HTTPSAddress, "https://"+a.Underlay+":") {
		t.Fatalf("NamespacedPair() = %+v, %+v: want distinct underlay addresses served over HTTPS", a, b)
	}
	for _, d := range []*Daemon{a, b} {
		if r := d.Remote(); r.Address != d.HTTPSAddress || r.ServerFingerprint == "" || r.ClientCert == "" {
			t.Fatalf("%s.Remote() = %+v", d.Name, r)
		}
		c, err := d.HTTPSClient()
		if err != nil {
			t.Fatal(err)
		}
		if err := getAPI(t.Context(), c, d.HTTPSAddress+"/1.0"); err != nil {
			t.Fatalf("%s over HTTPS from the host: %v", d.Name, err)
		}
	}
	// A bridge of a is an interface in a's namespace only.
	br := UniqueName(t, "lxnp")
	a.CreateBridge(t, br)
	if _, err := net.InterfaceByName(br); err == nil {
		t.Fatalf("bridge %s of the namespaced daemon a appeared in the host's namespace", br)
	}
	if _, err := b.LxcErr("network", "show", br); err == nil {
		t.Fatalf("daemon b sees a's bridge %s", br)
	}
	inst := UniqueName(t, "np")
	a.LaunchBusybox(t, inst, br, "")
	if out := a.Lxc(t, "exec", inst, "--", "cat", "/var/www/index.html"); !strings.Contains(out, inst) {
		t.Fatalf("page of %s: %q", inst, out)
	}
}

// TestNamespacedPairStale checks that the pair of a test process that died
// without cleaning up is taken down by the next NamespacedPair.
func TestNamespacedPairStale(t *testing.T) {
	t.Parallel()
	checkStaleRemoved(t, pairDirPrefix, "pair", "lxpr", nil)
}

// checkStaleRemoved starts namespaced daemons (sandbox.sh KIND-up) owned by
// a process that has already exited, then checks that removeStale takes them
// down: no directory, no host bridge BRIDGEPREFIX+id, no process left.
func checkStaleRemoved(t *testing.T, prefix, kind, bridgePrefix string, extraEnv []string) {
	t.Helper()
	Primary(t)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	id := strings.TrimPrefix(UniqueName(t, "x"), "x-")[:6]
	dir := filepath.Join(filepath.Dir(Dir()), prefix+id)
	env := append([]string{
		"LXNETD_SANDBOX_DIR=" + dir, "LXNETD_SANDBOX_PAIR_ID=" + id,
		"LXNETD_SANDBOX_PAIR_SUBNET=" + AllocSubnet(t),
		"LXNETD_SANDBOX_OWNER_PID=" + strconv.Itoa(dead.Process.Pid),
	}, extraEnv...)
	t.Cleanup(func() {
		if _, err := os.Stat(dir); err == nil {
			if out, err := runScript(env, kind+"-down"); err != nil {
				t.Errorf("cleanup: %s-down: %v\n%s", kind, err, out)
			}
		}
	})
	if out, err := runScript(env, kind+"-up"); err != nil {
		t.Fatalf("%s-up: %v\n%s", kind, err, out)
	}
	removeStale(t, prefix, kind+"-down")
	if _, err := os.Stat(dir); err == nil {
		t.Fatalf("the %s of dead process %d is still in %s", kind, dead.Process.Pid, dir)
	}
	if _, err := net.InterfaceByName(bridgePrefix + id); err == nil {
		t.Fatalf("the %s's host bridge %s%s remains", kind, bridgePrefix, id)
	}
	if left := processesUsing(dir); len(left) > 0 {
		t.Fatalf("processes remain: %v", left)
	}
}
