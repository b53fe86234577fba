//go:build integration

package packaging

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// TestDebUnderSystemd installs the .deb into a Debian 12 system container
// running systemd as PID 1 on the sandbox's primary LXD, with that daemon's
// socket handed in at /var/lib/lxd/unix.socket (a proxy device,
// bind=container), and checks the service with systemd's own tools:
// policy-rc.d obeyed on install, enable, start (READY), StatusText, the
// objects on the sandbox LXD, journald's LXNETD_* fields, drift restored, a
// reinstall keeping the edited conffile, start at boot, reload refusing a broken file and
// taking a fixed one, watchdog pings, a crash restarted, a clean stop, the
// configuration error's exit 78 not restarted, and purge leaving nothing.
func TestDebUnderSystemd(t *testing.T) {
	start := time.Now()
	d := sandbox.Primary(t)
	alias := systemdImage(t)
	t.Logf("image %s ready after %s", alias, time.Since(start).Round(time.Millisecond))
	deb := debPackage(t)

	name := sandbox.UniqueName(t, "lxnsd")
	owner := "t-" + name
	profA, profB := name+"-a", name+"-b"
	t.Cleanup(func() {
		for _, p := range []string{profA, profB} {
			if _, err := d.LxcErr("profile", "show", p); err == nil {
				if _, err := d.LxcErr("profile", "delete", p); err != nil {
					t.Errorf("cleaning up profile %s: %v", p, err)
				}
			}
		}
	})
	t.Cleanup(func() {
		if _, err := d.LxcErr("config", "show", name); err == nil {
			if out, err := d.LxcErr("delete", "--force", name); err != nil {
				t.Errorf("deleting container %s: %v\n%s", name, err, out)
			}
		}
	})
	d.Lxc(t, "launch", alias, name, "-c", "security.nesting=true")
	d.Lxc(t, "config", "device", "add", name, "lxd", "proxy",
		"listen=unix:/var/lib/lxd/unix.socket", "connect=unix:"+d.Socket, "bind=container", "mode=0660")

	sh := func(script string) (string, error) {
		return d.LxcErr("exec", name, "--", "sh", "-c", script)
	}
	must := func(script string) string {
		t.Helper()
		out, err := sh(script)
		if err != nil {
			t.Fatalf("in the container: %s: %v\n%s", script, err, out)
		}
		return strings.TrimSpace(out)
	}
	show := func(prop string) string {
		t.Helper()
		return must("systemctl show -P " + prop + " lxnetd.service")
	}
	// poll runs check until it returns "" or within passes; the last
	// complaint fails the test.
	poll := func(within time.Duration, what string, check func() string) {
		t.Helper()
		deadline := time.Now().Add(within)
		for {
			msg := check()
			if msg == "" {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %s: %s", what, within, msg)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	phase := time.Now()
	step := func(what string) {
		t.Logf("%-40s %6s (total %s)", what, time.Since(phase).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
		phase = time.Now()
	}

	// Boot: systemd reaches running (or degraded: units of a minimal
	// container that cannot start there do not concern lxnetd).
	poll(60*time.Second, "systemd boots", func() string {
		out, _ := sh("systemctl is-system-running --wait")
		if s := strings.TrimSpace(out); s != "running" && s != "degraded" {
			return "state " + s
		}
		return ""
	})
	step("container booted")

	// Install with a policy-rc.d that forbids starting services, as in an
	// image build: deb-systemd-helper enables, deb-systemd-invoke obeys.
	d.Lxc(t, "file", "push", deb, name+"/root/lxnetd.deb")
	must("printf '#!/bin/sh\\nexit 101\\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d")
	must("dpkg -i /root/lxnetd.deb")
	if got := must("systemctl is-enabled lxnetd.service"); got != "enabled" {
		t.Errorf("after dpkg -i, lxnetd is %q, want enabled", got)
	}
	if got, _ := sh("systemctl is-active lxnetd.service"); strings.TrimSpace(got) != "inactive" {
		t.Errorf("policy-rc.d said no, yet lxnetd is %q after dpkg -i", strings.TrimSpace(got))
	}
	must("rm /usr/sbin/policy-rc.d")
	step("installed (policy-rc.d obeyed)")

	// A first configuration: the shipped conffile with this test's owner,
	// two profiles; a drop-in makes the watchdog and restarts quick.
	// lease_ttl 3s: a daemon killed below leaves a lease its successor
	// (another process, another holder) waits out before writing.
	must(fmt.Sprintf(`sed -i 's/owner *= "lxnetd"/owner = "%s"\n  lease_ttl = "3s"/' /etc/lxnet.d/00-lxnet.hcl && grep -q '"%s"' /etc/lxnet.d/00-lxnet.hcl`, owner, owner))
	must(fmt.Sprintf(`cat >/etc/lxnet.d/10-test.hcl <<'EOF'
profile "a" {
  name   = %q
  config = { "user.test" = "1" }
}
profile "b" {
  name = %q
}
EOF`, profA, profB))
	must(`mkdir -p /etc/systemd/system/lxnetd.service.d && printf '[Service]\nWatchdogSec=2s\nRestartSec=1s\n' >/etc/systemd/system/lxnetd.service.d/50-test.conf && systemctl daemon-reload`)
	must("systemctl start lxnetd.service") // Type=notify: returns at READY=1
	if got := must("systemctl is-active lxnetd.service"); got != "active" {
		t.Fatalf("lxnetd is %q after start", got)
	}
	poll(30*time.Second, "StatusText reports the converged remote", func() string {
		if st := show("StatusText"); !strings.HasPrefix(st, "1/1 remotes converged, 2 objects") {
			return fmt.Sprintf("StatusText = %q, want 1/1 remotes converged, 2 objects", st)
		}
		return ""
	})
	for _, p := range []string{profA, profB} {
		if out := d.Lxc(t, "profile", "show", p); !strings.Contains(out, "user.lxnetd.owner: "+owner) {
			t.Errorf("profile %s on the sandbox LXD is not owned by %s:\n%s", p, owner, out)
		}
	}
	step("started, converged")

	// journald: structured records, found by field.
	recs := journal(t, must("journalctl -u lxnetd.service -o json --no-pager LXNETD_REMOTE=local"))
	if len(recs) == 0 {
		t.Errorf("journalctl LXNETD_REMOTE=local finds no record of lxnetd")
	}
	var created bool
	for _, r := range recs {
		if r["LXNETD_ACTION"] == "create" && strings.Contains(fmt.Sprint(r["LXNETD_OBJECT"]), profA) {
			created = true
		}
	}
	if !created {
		t.Errorf("no journal record with LXNETD_ACTION=create LXNETD_OBJECT=profile.%s among %d records", profA, len(recs))
	}

	// Drift: a profile deleted by hand comes back.
	drift := time.Now()
	d.Lxc(t, "profile", "delete", profA)
	poll(30*time.Second, "the deleted profile is restored", func() string {
		if _, err := d.LxcErr("profile", "show", profA); err != nil {
			return err.Error()
		}
		return ""
	})
	t.Logf("drift restored in %s", time.Since(drift).Round(time.Millisecond))
	step("journal, drift restored")

	// Reinstall: the edited conffile stays, the service is restarted.
	must("dpkg -i /root/lxnetd.deb")
	if !strings.Contains(must("cat /etc/lxnet.d/00-lxnet.hcl"), `"`+owner+`"`) {
		t.Errorf("reinstalling replaced the edited /etc/lxnet.d/00-lxnet.hcl")
	}
	if got := must("systemctl is-active lxnetd.service"); got != "active" {
		t.Fatalf("lxnetd is %q after the reinstall", got)
	}
	step("reinstalled, conffile kept")

	// Start at boot: the unit deb-systemd-helper enabled comes up by itself.
	d.Lxc(t, "restart", name)
	poll(60*time.Second, "lxnetd runs again after a reboot", func() string {
		out, _ := sh("systemctl is-system-running --wait >/dev/null; systemctl is-active lxnetd.service")
		if s := strings.TrimSpace(out); s != "active" {
			return "lxnetd is " + s
		}
		return ""
	})
	poll(30*time.Second, "StatusText after the reboot", func() string {
		if st := show("StatusText"); !strings.HasPrefix(st, "1/1 remotes converged, 2 objects") {
			return st
		}
		return ""
	})
	step("started at boot")

	// Reload: a broken file is refused and the service keeps running;
	// the fixed directory is taken.
	must(`printf 'profile "c" {\n  tpye = 1\n}\n' >/etc/lxnet.d/20-broken.hcl`)
	if out, err := sh("systemctl reload lxnetd.service"); err == nil {
		t.Errorf("systemctl reload succeeded on a broken file:\n%s", out)
	}
	if got := must("systemctl is-active lxnetd.service"); got != "active" {
		t.Errorf("lxnetd is %q after a refused reload", got)
	}
	if st := show("StatusText"); !strings.Contains(st, "20-broken.hcl:2") {
		t.Errorf("StatusText after the broken file = %q, want the file and line", st)
	}
	must("rm /etc/lxnet.d/20-broken.hcl && systemctl reload lxnetd.service")
	poll(10*time.Second, "StatusText clears the rejection", func() string {
		if st := show("StatusText"); strings.Contains(st, "rejected") {
			return st
		}
		return ""
	})
	step("reload refused, then taken")

	// Watchdog: systemd records each WATCHDOG=1 in WatchdogTimestamp.
	if got := show("WatchdogUSec"); got != "2s" {
		t.Errorf("WatchdogUSec = %q, want 2s from the drop-in", got)
	}
	first := show("WatchdogTimestampMonotonic")
	poll(10*time.Second, "a watchdog ping arrives", func() string {
		if now := show("WatchdogTimestampMonotonic"); now == first || now == "0" {
			return "WatchdogTimestampMonotonic still " + now
		}
		return ""
	})
	step("watchdog pings")

	// A crash (SIGKILL) is a transient failure: systemd restarts it.
	restarts := show("NRestarts")
	must("systemctl kill -s KILL lxnetd.service")
	poll(30*time.Second, "lxnetd is restarted after SIGKILL", func() string {
		if n, a := show("NRestarts"), show("ActiveState"); n == restarts || a != "active" {
			return "NRestarts " + n + ", " + a
		}
		return ""
	})
	step("crash restarted")

	// A clean stop: exit status 0.
	must("systemctl stop lxnetd.service")
	if r, code := show("Result"), show("ExecMainStatus"); r != "success" || code != "0" {
		t.Errorf("after stop: Result=%s ExecMainStatus=%s, want success and 0", r, code)
	}
	step("clean stop")

	// A configuration error at start: exit 78, and systemd does not retry
	// (a retried unit would be in SubState auto-restart, not failed).
	must(`printf 'profile "c" {\n  tpye = 1\n}\n' >/etc/lxnet.d/20-broken.hcl`)
	// (A start by hand resets NRestarts to 0.)
	if out, err := sh("systemctl start lxnetd.service"); err == nil {
		t.Errorf("systemctl start succeeded on a broken configuration:\n%s", out)
	}
	if code, sub := show("ExecMainStatus"), show("SubState"); code != "78" || sub != "failed" {
		t.Errorf("after a configuration error: ExecMainStatus=%s SubState=%s, want 78 and failed", code, sub)
	}
	if n := show("NRestarts"); n != "0" {
		t.Errorf("NRestarts is %s: systemd retried a configuration error", n)
	}
	if out, _ := sh("systemctl status --no-pager lxnetd.service"); !regexp.MustCompile(`code=exited, status=78\b`).MatchString(out) {
		t.Errorf("systemctl status does not show the configuration exit:\n%s", out)
	}
	if out := must("journalctl -u lxnetd.service --no-pager -p err -o cat"); !strings.Contains(out, "configuration rejected at start-up") {
		t.Errorf("journalctl -p err lacks the start-up rejection:\n%s", out)
	}
	step("config error not restarted")

	// Purge: remove lxnetd's LXD objects first (destroy), then the test's
	// own files; dpkg --purge must leave nothing of the package.
	// destroy waits for a lease left by a daemon process (at most lease_ttl).
	must("rm -r /etc/lxnet.d/20-broken.hcl /etc/systemd/system/lxnetd.service.d")
	poll(30*time.Second, "lxnetd destroy", func() string {
		if out, err := sh("lxnetd destroy --yes /etc/lxnet.d"); err != nil {
			return out
		}
		return ""
	})
	for _, p := range []string{profA, profB} {
		if _, err := d.LxcErr("profile", "show", p); err == nil {
			t.Errorf("lxnetd destroy left profile %s", p)
		}
	}
	must("rm /etc/lxnet.d/10-test.hcl && dpkg --purge lxnetd && systemctl reset-failed lxnetd.service 2>/dev/null; true")
	left := must(`for p in /usr/bin/lxnetd /lib/systemd/system/lxnetd.service /etc/lxnet.d /etc/lxnetd \
		/etc/systemd/system/lxnetd.service /etc/systemd/system/multi-user.target.wants/lxnetd.service \
		/var/lib/systemd/deb-systemd-helper-enabled/lxnetd.service.dsh-also \
		/var/lib/systemd/deb-systemd-helper-enabled/multi-user.target.wants/lxnetd.service \
		/var/lib/systemd/deb-systemd-helper-masked/lxnetd.service /usr/share/doc/lxnetd \
		/usr/share/man/man5/lxnetd.hcl.5.gz /run/lxnetd; do [ -e "$p" ] || [ -L "$p" ] && echo "$p"; done; true`)
	if left != "" {
		t.Errorf("dpkg --purge left:\n%s", left)
	}
	if out, err := sh("dpkg-query -W lxnetd"); err == nil {
		t.Errorf("dpkg still knows lxnetd after purge: %s", out)
	}
	step("destroyed, purged")
}

// systemdImage returns the alias of the Debian 12 systemd image on the
// primary, built and cached by sandbox.sh on first use.
func systemdImage(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	script := filepath.Join(filepath.Dir(file), "..", "internal", "sandbox", "sandbox.sh")
	cmd := exec.Command(script, "systemd-image")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("sandbox.sh systemd-image: %v\n%s", err, stderr.String())
	}
	if s := strings.TrimSpace(stderr.String()); s != "" {
		t.Log(s)
	}
	return strings.TrimSpace(string(out))
}

// journal parses `journalctl -o json` output, one record per line.
func journal(t *testing.T, out string) []map[string]any {
	t.Helper()
	var recs []map[string]any
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r map[string]any
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("journalctl -o json: %v: %s", err, sc.Text())
		}
		recs = append(recs, r)
	}
	return recs
}
