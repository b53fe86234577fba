package sandbox

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// OVS is an Open vSwitch of one test: its own ovsdb-server and ovs-vswitchd,
// whose database, sockets, pid files and logs all live in Dir (OVS_RUNDIR,
// OVS_DBDIR, OVS_LOGDIR and OVS_SYSCONFDIR point there), so nothing of it is
// host-wide and nothing is left once the test ends.
//
// This kernel has no openvswitch module, so bridges must use OVS's userspace
// datapath (datapath_type=netdev). LXD creates an OVS bridge with a bare
// `ovs-vsctl add-br NAME`, which asks for the kernel datapath; the
// ovs-vsctl that DaemonEnv puts first in an LXD daemon's PATH therefore adds
// `-- set bridge NAME datapath_type=netdev` to every add-br (and talks to
// this test's database). ovs-vswitchd runs with
// other_config:userspace-tso-enable=true: the userspace datapath then passes
// the partial checksums of a container's veth on to the host's tap device as
// such (virtio-net headers) instead of as corrupt ones; without it TCP
// between host and containers fails unless every container turns checksum
// offload off (`ethtool -K eth0 tx off`, which the busybox image has no
// applet for).
type OVS struct {
	Dir string // database, db.sock, pid files, control sockets, logs, owner
	bin string // holds the ovs-vsctl wrapper
}

// ovsDirPrefix names the directory of every private OVS, beside the shared
// sandbox's directory; the rest of the name is a random id.
const ovsDirPrefix = "lxnetd-sandbox-ovs-"

// OpenvSwitch starts a private Open vSwitch for the calling test (about a
// second) and stops it in t.Cleanup, after deleting the bridges still in
// its database, and removes its directory. Register it before the LXD
// daemon that uses it (Private with WithEnv(o.DaemonEnv()...)), so the
// daemon goes first on cleanup and can still delete its bridges. Those of
// test processes that died without cleaning up are stopped first.
func OpenvSwitch(t testing.TB) *OVS {
	t.Helper()
	for _, c := range []string{"ovsdb-tool", "ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovs-appctl"} {
		if _, err := exec.LookPath(c); err != nil {
			t.Fatalf("sandbox: %s not found: install openvswitch-switch (.ci/run does)", c)
		}
	}
	vsctl, _ := exec.LookPath("ovs-vsctl")
	removeStaleOVS(t)
	dir := filepath.Join(filepath.Dir(Dir()), ovsDirPrefix+strings.TrimPrefix(uniqueName("o"), "o-")[:6])
	if err := os.Mkdir(dir, 0o711); err != nil {
		t.Fatalf("sandbox: %v", err)
	}
	o := &OVS{Dir: dir, bin: filepath.Join(dir, "bin")}
	t.Cleanup(func() {
		if err := o.stop(); err != nil {
			t.Errorf("sandbox: stopping the OVS in %s: %v", dir, err)
		}
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("sandbox: %v", err)
		}
	})
	if err := os.WriteFile(filepath.Join(dir, "owner"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		t.Fatal(err)
	}
	wrapper := fmt.Sprintf(`#!/bin/sh
# ovs-vsctl for an LXD daemon of an lxnetd test (internal/sandbox/ovs.go):
# the test's own Open vSwitch, and the userspace datapath for every bridge added
# (unless the test asked for the kernel's: OVS.KernelDatapath).
prev= extra=
for a in "$@"; do
	[ "$prev" = add-br ] && [ ! -e %[2]s/kernel-datapath ] && extra="-- set bridge $a datapath_type=netdev"
	prev=$a
done
exec %[1]s --db=unix:%[2]s/db.sock "$@" $extra
`, vsctl, dir)
	if err := os.Mkdir(o.bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(o.bin, "ovs-vsctl"), []byte(wrapper), 0o755); err != nil {
		t.Fatal(err)
	}
	daemon := []string{"--pidfile", "--detach", "--no-chdir", "--log-file", "-vconsole:off"}
	for _, args := range [][]string{
		{"ovsdb-tool", "create"}, // conf.db in OVS_DBDIR, from the installed schema
		append([]string{"ovsdb-server", "--remote=punix:" + dir + "/db.sock"}, daemon...),
		{"ovs-vsctl", "--no-wait", "init", "--", "set", "Open_vSwitch", ".", "other_config:userspace-tso-enable=true"},
		append([]string{"ovs-vswitchd"}, daemon...),
	} {
		if out, err := o.run(args...); err != nil {
			t.Fatalf("sandbox: starting Open vSwitch in %s: %s: %v\n%s", dir, strings.Join(args, " "), err, out)
		}
	}
	return o
}

// DaemonEnv is the environment an LXD daemon needs to use this OVS: the
// ovs-vsctl wrapper first in its PATH. Pass it to Private with WithEnv.
func (o *OVS) DaemonEnv() []string {
	return []string{"PATH=" + o.bin + ":" + os.Getenv("PATH")}
}

// KernelDatapath makes the ovs-vsctl wrapper leave the bridges LXD adds
// from now on to the kernel datapath, as OVS without the wrapper would,
// which this kernel lacks: how a test meets LXD's missing-datapath failure
// on a running OVS. KernelDatapath(t, false) undoes it.
func (o *OVS) KernelDatapath(t testing.TB, on bool) {
	t.Helper()
	marker := filepath.Join(o.Dir, "kernel-datapath")
	var err error
	if on {
		err = os.WriteFile(marker, nil, 0o644)
	} else if err = os.Remove(marker); errors.Is(err, os.ErrNotExist) {
		err = nil
	}
	if err != nil {
		t.Fatal(err)
	}
}

// Vsctl runs ovs-vsctl against this OVS and returns its output.
func (o *OVS) Vsctl(t testing.TB, args ...string) string {
	t.Helper()
	out, err := o.run(append([]string{"ovs-vsctl"}, args...)...)
	if err != nil {
		t.Fatalf("ovs-vsctl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// run runs an OVS command with this OVS's directories as its defaults.
func (o *OVS) run(args ...string) (string, error) {
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "OVS_RUNDIR="+o.Dir, "OVS_DBDIR="+o.Dir, "OVS_LOGDIR="+o.Dir, "OVS_SYSCONFDIR="+o.Dir)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// stop deletes the bridges left in the database (their tap devices are
// persistent: they would outlive ovs-vswitchd), then stops both daemons,
// killing by pid file whichever does not exit when asked.
func (o *OVS) stop() error {
	var errs []error
	out, _ := o.run("ovs-vsctl", "--timeout=10", "list-br")
	bridges := strings.Fields(out)
	for _, br := range bridges {
		if out, err := o.run("ovs-vsctl", "--timeout=10", "--if-exists", "del-br", br); err != nil {
			errs = append(errs, fmt.Errorf("deleting OVS bridge %s: %v: %s", br, err, out))
		}
	}
	for _, exit := range [][]string{{"ovs-vswitchd", "exit", "--cleanup"}, {"ovsdb-server", "exit"}} {
		if _, err := o.run(append([]string{"ovs-appctl", "--timeout=10", "-t"}, exit...)...); err == nil {
			continue
		}
		if b, err := os.ReadFile(filepath.Join(o.Dir, exit[0]+".pid")); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 1 && processAlive(pid) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
	for _, br := range bridges {
		if exec.Command("ip", "link", "show", br).Run() == nil {
			if out, err := exec.Command("ip", "link", "del", br).CombinedOutput(); err != nil {
				errs = append(errs, fmt.Errorf("removing the tap device of OVS bridge %s: %v: %s", br, err, out))
			}
		}
	}
	return errors.Join(errs...)
}

// removeStaleOVS stops the private OVSes of test processes that died
// without running their cleanups, and removes their directories.
func removeStaleOVS(t testing.TB) {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(filepath.Dir(Dir()), ovsDirPrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "owner"))
		if err != nil {
			continue // being set up right now (owner is written first thing)
		}
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err != nil || processAlive(pid) {
			continue
		}
		o := &OVS{Dir: dir}
		if err := errors.Join(o.stop(), os.RemoveAll(dir)); err != nil {
			t.Logf("sandbox: removing the OVS %s of a dead test process: %v", dir, err)
		}
	}
}
