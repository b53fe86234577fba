//go:build integration

// Package packaging holds the systemd unit, the nfpm configuration and the
// default /etc/lxnet.d of the .deb; this test builds the package with
// `make deb` and checks what it installs.
package packaging

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
)

func TestDeb(t *testing.T) {
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Fatalf("dpkg-deb is needed to inspect the package: %v", err)
	}
	deb := debPackage(t)
	if !regexp.MustCompile(`lxnetd_[0-9][^_]*_[a-z0-9]+\.deb$`).MatchString(deb) {
		t.Errorf("package name %s: the version must start with a digit", filepath.Base(deb))
	}

	info := run(t, "dpkg-deb", "--info", deb)
	for _, want := range []string{"Package: lxnetd", "Section: admin", "Recommends: lxd", "postinst", "prerm", "postrm", "Depends: libc6 (>= "} {
		if !strings.Contains(info, want) {
			t.Errorf("dpkg-deb --info lacks %q:\n%s", want, info)
		}
	}
	x := t.TempDir()
	run(t, "dpkg-deb", "--control", deb, filepath.Join(x, "DEBIAN"))
	cf, err := os.ReadFile(filepath.Join(x, "DEBIAN", "conffiles"))
	if err != nil || strings.TrimSpace(string(cf)) != "/etc/lxnet.d/00-lxnet.hcl" {
		t.Errorf("conffiles = %q (%v), want /etc/lxnet.d/00-lxnet.hcl", cf, err)
	}

	run(t, "dpkg-deb", "-x", deb, x)
	for _, f := range []string{
		"usr/bin/lxnetd",
		"lib/systemd/system/lxnetd.service",
		"etc/lxnet.d/00-lxnet.hcl",
		"usr/share/man/man1/lxnetd.1.gz",
		"usr/share/man/man1/lxnetd-run.1.gz",
		"usr/share/man/man1/lxnetd-reload.1.gz",
		"usr/share/man/man1/lxnetd-status.1.gz",
		"usr/share/bash-completion/completions/lxnetd",
		"usr/share/zsh/vendor-completions/_lxnetd",
		"usr/share/fish/vendor_completions.d/lxnetd.fish",
		"usr/share/doc/lxnetd/copyright",
		"usr/share/doc/lxnetd/changelog.gz",
		"usr/share/man/man5/lxnetd.hcl.5.gz",
		"usr/share/doc/lxnetd/examples/quickstart/main.hcl",
		"usr/share/doc/lxnetd/examples/7-vxlan/main.hcl",
		"usr/share/lintian/overrides/lxnetd",
	} {
		if _, err := os.Stat(filepath.Join(x, f)); err != nil {
			t.Errorf("package lacks /%s", f)
		}
	}
	if fi, err := os.Stat(filepath.Join(x, "etc/lxnetd")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("/etc/lxnetd (client certificates) should be a 0700 directory: %v %v", fi, err)
	}

	// The shipped default configuration is valid and declares nothing.
	bin := filepath.Join(x, "usr/bin/lxnetd")
	if out, err := exec.Command(bin, "validate", filepath.Join(x, "etc/lxnet.d")).CombinedOutput(); err != nil {
		t.Errorf("lxnetd validate on the default /etc/lxnet.d: %v\n%s", err, out)
	}

	// The unit: the contract of DESIGN §5, and systemd accepts it.
	unit, err := os.ReadFile(filepath.Join(x, "lib/systemd/system/lxnetd.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"Type=notify", "ExecStart=/usr/bin/lxnetd run", "ExecReload=/usr/bin/lxnetd reload",
		"WatchdogSec=", "Restart=on-failure", "ProtectSystem=strict", "NoNewPrivileges=yes",
		"RuntimeDirectory=lxnetd", "ReadWritePaths=-/var/lib/lxd/unix.socket",
	} {
		if !strings.Contains(string(unit), "\n"+want) {
			t.Errorf("lxnetd.service lacks %q", want)
		}
	}
	if _, err := exec.LookPath("systemd-analyze"); err == nil {
		// Point the unit at the extracted binary; drop the man: links
		// (the pages are not installed on this machine).
		u := strings.ReplaceAll(string(unit), "/usr/bin/lxnetd", bin)
		u = regexp.MustCompile(`(?m)^Documentation=.*\n`).ReplaceAllString(u, "")
		p := filepath.Join(x, "lxnetd.service")
		if err := os.WriteFile(p, []byte(u), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("systemd-analyze", "verify", p).CombinedOutput(); err != nil || len(strings.TrimSpace(string(out))) != 0 {
			t.Errorf("systemd-analyze verify: %v\n%s", err, out)
		}
	} else {
		t.Log("systemd-analyze not installed; unit checked by content only")
	}
	if !strings.Contains(string(unit), "\nRestartPreventExitStatus=78\n") {
		t.Errorf("lxnetd.service does not stop retrying on the configuration error's exit status 78")
	}

	// Maintainer scripts go through deb-systemd-helper/-invoke (policy-rc.d
	// is obeyed); only daemon-reload calls systemctl, as debhelper does.
	for _, script := range []string{"postinst", "prerm", "postrm"} {
		b, err := os.ReadFile(filepath.Join(x, "DEBIAN", script))
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(string(b), "\n") {
			if l := strings.TrimSpace(line); strings.HasPrefix(l, "systemctl") && !strings.Contains(l, "daemon-reload") {
				t.Errorf("%s calls systemctl directly: %s", script, l)
			}
		}
	}

	// The binary: stripped, position-independent.
	if out := run(t, "file", "-L", bin); !strings.Contains(out, "pie executable") || !strings.Contains(out, ", stripped") {
		t.Errorf("/usr/bin/lxnetd is not a stripped PIE: %s", out)
	}

	// lxnetd.hcl(5) and the examples the default configuration points to.
	hcl := run(t, "sh", "-c", "zcat "+filepath.Join(x, "usr/share/man/man5/lxnetd.hcl.5.gz"))
	for _, want := range []string{`.TH "LXNETD.HCL" "5"`, ".SH BLOCKS", "for_each", "/usr/share/doc/lxnetd/examples"} {
		if !strings.Contains(hcl, want) {
			t.Errorf("lxnetd.hcl(5) lacks %q", want)
		}
	}
	def, _ := os.ReadFile(filepath.Join(x, "etc/lxnet.d/00-lxnet.hcl"))
	if !strings.Contains(string(def), "/usr/share/doc/lxnetd/examples") {
		t.Errorf("the default configuration does not point to the shipped examples")
	}

	// lintian, as Debian runs it: no errors, and no warnings beyond those
	// justified in packaging/debian/lintian-overrides.
	if _, err := exec.LookPath("lintian"); err != nil {
		t.Fatalf("lintian is needed (apt-get install lintian): %v", err)
	}
	if out, err := exec.Command("lintian", "--fail-on", "error,warning", deb).CombinedOutput(); err != nil {
		t.Errorf("lintian: %v\n%s", err, out)
	}

	man := run(t, "sh", "-c", "zcat "+filepath.Join(x, "usr/share/man/man1/lxnetd-run.1.gz"))
	if !strings.Contains(man, "lxnetd-run") || !strings.Contains(man, "--config-dir") {
		t.Errorf("lxnetd-run(1) does not document the run command:\n%s", man)
	}
}

var (
	debOnce sync.Once
	debDir  string // the test process's copy of the package, removed by TestMain
	debPath string
	debErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if debDir != "" {
		_ = os.RemoveAll(debDir)
	}
	os.Exit(code)
}

// debPackage runs `make deb` once per test process (every test of the
// package examines the same package) and returns a copy of the .deb that
// later builds in dist/ (TestDebReproducible's) do not replace.
func debPackage(t *testing.T) string {
	t.Helper()
	debOnce.Do(func() {
		var built string
		if built, debErr = makeDeb(); debErr != nil {
			return
		}
		var b []byte
		if b, debErr = os.ReadFile(built); debErr != nil {
			return
		}
		if debDir, debErr = os.MkdirTemp("", "lxnetd-deb"); debErr != nil {
			return
		}
		debPath = filepath.Join(debDir, filepath.Base(built))
		debErr = os.WriteFile(debPath, b, 0o644)
	})
	if debErr != nil {
		t.Fatal(debErr)
	}
	return debPath
}

func makeDeb() (string, error) {
	root, err := filepath.Abs("..")
	if err != nil {
		return "", err
	}
	if out, err := exec.Command("make", "-C", root, "deb").CombinedOutput(); err != nil {
		return "", fmt.Errorf("make deb: %v\n%s", err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(root, "dist", "lxnetd_*.deb"))
	if len(debs) != 1 {
		return "", fmt.Errorf("make deb produced %v, want one lxnetd_*.deb in dist/", debs)
	}
	return debs[0], nil
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}
