package sandbox

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// pairDirPrefix names the directory of every namespaced pair, beside the
// shared sandbox's directory; the rest of the name is the pair's id.
const pairDirPrefix = "lxnetd-sandbox-pair-"

// NamespacedPair starts two LXD daemons for the calling test, "a" and "b",
// each in its own network and mount namespace: as far as LXD networking
// goes they are two hosts (their own interfaces, nftables, dnsmasq), joined
// by a host bridge on a fresh 10.231.X.0/24 (host .1, a .11, b .12; see
// Daemon.Underlay). That is what VXLAN tunnels between "hosts" need, which
// two daemons sharing the host's namespace cannot give.
//
// Each daemon is reached over HTTPS on its underlay address with a trusted
// client certificate and a pinned server certificate (Remote), and through
// its unix socket, a filesystem object usable from the host's namespace
// (Lxc). Both have a dir pool and the busybox image. Everything — daemons,
// whatever runs in their namespaces, veths, bridge, directory — is removed
// in t.Cleanup, also when starting fails half-way. Starting takes a few
// seconds. Instance names must still come from UniqueName (LXC's cgroup
// names are host-wide).
func NamespacedPair(t testing.TB) (a, b *Daemon) {
	t.Helper()
	ds := startNamespaced(t, pairDirPrefix, "pair", "two LXD daemons in their own namespaces", nil, []string{"a", "b"})
	return ds[0], ds[1]
}

// startNamespaced brings up namespaced daemons with `sandbox.sh KIND-up`
// (KIND "pair" or "cluster") in a fresh directory prefix+id, registers
// `KIND-down` in t.Cleanup (it also runs after a failed start), and connects
// to each named daemon. Stale ones of dead test processes are removed first.
func startNamespaced(t testing.TB, prefix, kind, what string, extraEnv, names []string) []*Daemon {
	t.Helper()
	Primary(t) // subnet leases live in the shared sandbox
	removeStale(t, prefix, kind+"-down")
	id := strings.TrimPrefix(uniqueName("p"), "p-")[:6]
	dir := filepath.Join(filepath.Dir(Dir()), prefix+id)
	env := append([]string{
		"LXNETD_SANDBOX_DIR=" + dir,
		"LXNETD_SANDBOX_PAIR_ID=" + id,
		"LXNETD_SANDBOX_PAIR_SUBNET=" + AllocSubnet(t),
		"LXNETD_SANDBOX_OWNER_PID=" + strconv.Itoa(os.Getpid()),
	}, extraEnv...)
	env = append(env, sharedImageEnv()...)
	t.Cleanup(func() {
		if _, err := os.Stat(dir); err != nil {
			return
		}
		if out, err := runScript(env, kind+"-down"); err != nil {
			t.Errorf("removing namespaced %s %s: %v\n%s", kind, dir, err, out)
		}
	})
	if out, err := runScript(env, kind+"-up"); err != nil {
		t.Fatalf("starting %s (%s): %v\n%s", what, dir, err, out)
	}
	ds := make([]*Daemon, len(names))
	for i, name := range names {
		d, err := connect(dir, name)
		if err != nil {
			t.Fatalf("namespaced %s in %s: %v", kind, dir, err)
		}
		ds[i] = d
	}
	return ds
}

// sharedImageEnv points sandbox.sh at the shared sandbox's busybox image,
// when there is one: building another costs from 2 s (idle machine) to 45 s
// (2 busy cores).
func sharedImageEnv() []string {
	if images, _ := filepath.Glob(filepath.Join(Dir(), "image", "busybox-v*.tar.gz")); len(images) == 1 {
		return []string{"LXNETD_SANDBOX_IMAGE=" + images[0]}
	}
	return nil
}

// removeStale takes down the namespaced daemons (pairs or clusters: the
// directories named prefix+id, removed with sandbox.sh down) of test
// processes that died without running their cleanups.
func removeStale(t testing.TB, prefix, down string) {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(filepath.Dir(Dir()), prefix+"*"))
	for _, dir := range dirs {
		pid, stale := -1, false
		if b, err := os.ReadFile(filepath.Join(dir, "owner")); err == nil {
			pid, err = strconv.Atoi(strings.TrimSpace(string(b)))
			stale = err == nil && !processAlive(pid)
		} else if st, err := os.Stat(dir); err == nil {
			// No owner: being set up right now (pair-up writes it first),
			// or half removed by a pair-down that was itself interrupted.
			stale = time.Since(st.ModTime()) > 2*time.Minute
		}
		if !stale {
			continue
		}
		env := []string{"LXNETD_SANDBOX_DIR=" + dir, "LXNETD_SANDBOX_PAIR_ID=" + strings.TrimPrefix(filepath.Base(dir), prefix)}
		if out, err := runScript(env, down); err != nil {
			t.Logf("removing the namespaced daemons %s of dead process %d: %v\n%s", dir, pid, err, out)
		}
	}
}

// holder is the pid of the process holding d's namespaces.
func (d *Daemon) holder() (int, error) {
	if d.Underlay == "" {
		return 0, fmt.Errorf("sandbox daemon %s has no namespace of its own (only Cluster and NamespacedPair daemons have)", d.Name)
	}
	path := filepath.Join(filepath.Dir(d.Dir), d.Name+".holder")
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, fmt.Errorf("namespace holder of %s: %w", d.Name, err)
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}
