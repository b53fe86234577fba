//go:build integration

// Package examples_test applies every example directory with the lxnetd
// binary against the sandbox's real LXD (make sandbox-up) and checks that
// traffic reaches the container, that a second plan is empty, and that
// removing a block and then everything removes exactly what was created.
package examples_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/internal/sandbox"
)

var binary string

// TestMain builds lxnetd once for every test. The tests run in parallel
// (t.Parallel, at most -parallel = GOMAXPROCS at once): each has an owner,
// object names (sandbox.UniqueName), a subnet and floating IPs of its own and
// looks only at objects carrying its markers, and most of their time is
// waiting on LXD, containers booting and DHCP. Scenarios 7 and 8 start
// private daemons and stay serial (the Makefile runs them beside the other
// packages).
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lxnetd-examples")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "lxnetd")
	build := exec.Command("go", "build", "-o", binary, "../cmd/lxnetd")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building lxnetd:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// cli runs lxnetd against a sandbox daemon through LXD_SOCKET, or
// INCUS_SOCKET for the Incus daemon (the examples use the implicit "local"
// remote).
type cli struct {
	t    *testing.T
	d    *sandbox.Daemon
	vars map[string]string
}

func (c cli) run(args ...string) (string, int) {
	c.t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), "LXD_SOCKET="+c.d.Socket, "LXD_DIR=", "INCUS_SOCKET=", "INCUS_DIR=")
	if c.d.Kind == sandbox.KindIncus {
		cmd.Env = append(cmd.Env, "LXD_SOCKET=", "INCUS_SOCKET="+c.d.Socket)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.String(), 0
	case errors.As(err, &ee):
		return out.String(), ee.ExitCode()
	default:
		c.t.Fatalf("running lxnetd %v: %v", args, err)
		return "", -1
	}
}

func (c cli) varArgs() []string {
	var out []string
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range c.vars {
			if !yield(k) {
				return
			}
		}
	}) {
		out = append(out, "--var", k+"="+c.vars[k])
	}
	return out
}

// must runs a command that has to exit with code want.
func (c cli) must(want int, args ...string) string {
	c.t.Helper()
	out, code := c.run(args...)
	if code != want {
		c.t.Fatalf("lxnetd %s: exit %d, want %d:\n%s", strings.Join(args, " "), code, want, out)
	}
	return out
}

func (c cli) plan(dir string, extra ...string) (string, int) {
	return c.run(append(append([]string{"plan", dir}, extra...), c.varArgs()...)...)
}

func (c cli) apply(dir string) string {
	c.t.Helper()
	out := c.must(0, append([]string{"apply", "--yes", dir}, c.varArgs()...)...)
	c.t.Logf("apply %s:\n%s", dir, out)
	return out
}

// converged checks that plan --detailed-exitcode exits 0.
func (c cli) converged(dir string) {
	c.t.Helper()
	if out, code := c.plan(dir, "--detailed-exitcode"); code != 0 {
		c.t.Fatalf("plan after apply: exit %d, want 0:\n%s", code, out)
	}
}

// destroy removes everything of the owner the example's configuration
// names, on every remote it declares, instances included.
func (c cli) destroy(dir string) (string, int) {
	return c.run(append([]string{"destroy", "--yes", "--delete-instances", "--max-deletes", "100", dir}, c.varArgs()...)...)
}

// withoutBlock copies an example directory, dropping one top-level block
// (from its header line to the closing brace in column 0).
func withoutBlock(t *testing.T, src, header string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(src, "main.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?ms)^` + regexp.QuoteMeta(header) + ` \{\n.*?^\}\n`)
	if !re.Match(data) {
		t.Fatalf("%s has no block %q", src, header)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), re.ReplaceAll(data, nil), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// inventory lists the LXD objects whose names contain one of the markers:
// "network/NAME", "profile/NAME", "node/NAME", "forward/NET/ADDR port".
func inventory(t *testing.T, d *sandbox.Daemon, markers ...string) []string {
	t.Helper()
	has := func(s string) bool {
		for _, m := range markers {
			if strings.Contains(s, m) {
				return true
			}
		}
		return false
	}
	var out []string
	var nets []struct {
		Name    string `json:"name"`
		Managed bool   `json:"managed"`
		Type    string `json:"type"`
	}
	mustJSON(t, d.Lxc(t, "query", "/1.0/networks?recursion=1"), &nets)
	for _, n := range nets {
		if has(n.Name) && n.Managed {
			out = append(out, "network/"+n.Name)
		}
		if n.Managed && n.Type == "bridge" {
			var fwds []struct {
				ListenAddress string `json:"listen_address"`
				Ports         []struct {
					Protocol   string `json:"protocol"`
					ListenPort string `json:"listen_port"`
				} `json:"ports"`
			}
			raw, err := d.LxcErr("query", "/1.0/networks/"+n.Name+"/forwards?recursion=1")
			if err != nil {
				continue // deleted meanwhile by another test
			}
			mustJSON(t, raw, &fwds)
			for _, f := range fwds {
				// A listen address is a marker only whole: 198.51.100.1 is
				// not in 198.51.100.12, another (parallel) test's forward.
				if !has(n.Name) && !slices.Contains(markers, f.ListenAddress) {
					continue
				}
				for _, p := range f.Ports {
					out = append(out, fmt.Sprintf("forward/%s/%s %s/%s", n.Name, f.ListenAddress, p.Protocol, p.ListenPort))
				}
			}
		}
	}
	// Profiles and instances (nodes) are listed with each of their devices.
	for _, kind := range []struct{ prefix, query string }{
		{"profile/", "/1.0/profiles?recursion=1"},
		{"node/", "/1.0/instances?recursion=1"},
	} {
		var objs []struct {
			Name    string                       `json:"name"`
			Devices map[string]map[string]string `json:"devices"`
		}
		mustJSON(t, d.Lxc(t, "query", kind.query), &objs)
		for _, o := range objs {
			if has(o.Name) {
				out = append(out, kind.prefix+o.Name)
				for dev := range o.Devices {
					out = append(out, kind.prefix+o.Name+"/device/"+dev)
				}
			}
		}
	}
	slices.Sort(out)
	return out
}

func mustJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decoding %q: %v", s, err)
	}
}

// unreachable checks that addr no longer leads to node: the connection is
// refused, or whatever answers (another test's listener on a wildcard
// address of the shared host) is not node's server.
func unreachable(t *testing.T, addr, node string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		body, err := sendGET(addr, time.Second, func(r io.Reader) (string, error) {
			b, err := io.ReadAll(r)
			return string(b), err
		})
		if err != nil || !strings.Contains(body, node) {
			return
		}
		if time.Now().After(deadline) {
			nft, _ := exec.Command("nft", "list", "ruleset").CombinedOutput()
			var rules []string
			host, _, _ := net.SplitHostPort(addr)
			for _, l := range strings.Split(string(nft), "\n") {
				if strings.Contains(l, host) {
					rules = append(rules, strings.TrimSpace(l))
				}
			}
			t.Fatalf("%s still reaches %s after its exposure was removed; nft rules for it:\n%s", addr, node, strings.Join(rules, "\n"))
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// rawHTTP sends a GET and returns the first line of the answer: proxies with
// the PROXY protocol put a header before it that plain HTTP clients do not
// expect the server to handle.
func rawHTTP(t *testing.T, addr string, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		line, err := sendGET(addr, 2*time.Second, func(r io.Reader) (string, error) {
			return bufio.NewReader(r).ReadString('\n')
		})
		if err == nil && strings.HasPrefix(line, "HTTP/") {
			return strings.TrimSpace(line)
		}
		if time.Now().After(deadline) {
			t.Fatalf("no HTTP answer from %s: %q %v", addr, line, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// sendGET dials addr, sends a bare HTTP/1.0 GET by hand (so that whatever a
// proxy puts before the answer reaches read unchanged) and returns what read
// makes of the answer, all within 3 seconds of connecting.
func sendGET(addr string, dialTimeout time.Duration, read func(io.Reader) (string, error)) (string, error) {
	c, err := net.DialTimeout("tcp", addr, dialTimeout)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := fmt.Fprintf(c, "GET / HTTP/1.0\r\nHost: x\r\n\r\n"); err != nil {
		return "", err
	}
	return read(c)
}

// lifecycle is the common part of every scenario: plan shows changes, apply,
// check, converged, remove one block (exactly its objects go), lxnetd
// destroy (everything that was created goes; a second destroy finds nothing).
type lifecycle struct {
	dir      string
	block    string   // header of the block removed in the middle, e.g. `service "api"`
	markers  []string // substrings of every object name the example creates
	check    func(c cli)
	afterRm  func(c cli, before, after []string) // what removing the block must have done
	afterAll func(c cli)
}

func (l lifecycle) run(t *testing.T, c cli) {
	t.Cleanup(func() {
		// Whatever happened, leave nothing of this owner behind.
		c.destroy(l.dir)
	})
	if got := inventory(t, c.d, l.markers...); len(got) != 0 {
		t.Fatalf("objects exist before the test: %v", got)
	}
	out, code := c.plan(l.dir, "--detailed-exitcode")
	if code != 2 || !strings.Contains(out, "to create") {
		t.Fatalf("first plan: exit %d, want 2:\n%s", code, out)
	}
	c.apply(l.dir)
	created := inventory(t, c.d, l.markers...)
	l.check(c)
	c.converged(l.dir)

	c.apply(withoutBlock(t, l.dir, l.block))
	c.converged(withoutBlock(t, l.dir, l.block))
	l.afterRm(c, created, inventory(t, c.d, l.markers...))

	// lxnetd destroy on the example itself removes what its owner has left.
	out, code = c.destroy(l.dir)
	if code != 0 || !strings.Contains(out, "to delete") {
		t.Fatalf("destroy: exit %d\n%s", code, out)
	}
	if got := inventory(t, c.d, l.markers...); len(got) != 0 {
		t.Fatalf("left behind after destroy: %v\n%s", got, out)
	}
	if out, code := c.destroy(l.dir); code != 0 || !strings.Contains(out, "Nothing to destroy: the owner has no objects") {
		t.Fatalf("second destroy: exit %d, want nothing to destroy\n%s", code, out)
	}
	if l.afterAll != nil {
		l.afterAll(c)
	}
}

// removed returns what is in before and not in after, and what was added.
func removed(before, after []string) (gone, added []string) {
	for _, b := range before {
		if !slices.Contains(after, b) {
			gone = append(gone, b)
		}
	}
	for _, a := range after {
		if !slices.Contains(before, a) {
			added = append(added, a)
		}
	}
	return gone, added
}

func expectRemoved(t *testing.T, before, after, want []string) {
	t.Helper()
	gone, added := removed(before, after)
	if !slices.Equal(gone, want) || len(added) != 0 {
		t.Fatalf("removing the block: gone %v added %v, want gone %v", gone, added, want)
	}
}

func TestQuickstart(t *testing.T) {
	t.Parallel()
	d := sandbox.Primary(t)
	bridge, node := sandbox.UniqueName(t, "lxq"), sandbox.UniqueName(t, "qs")
	c := cli{t: t, d: d, vars: map[string]string{
		"owner": "t-" + node, "bridge": bridge, "node": node,
		"subnet": sandbox.AllocSubnet(t), "floating_ip": sandbox.FloatingIP(t),
	}}
	fip := c.vars["floating_ip"]

	// --json and --target before anything exists.
	out, code := c.plan("quickstart", "--json", "--target", "node.web")
	if code != 0 {
		t.Fatalf("plan --json: exit %d\n%s", code, out)
	}
	var js struct {
		Changes bool                 `json:"changes"`
		Summary struct{ Create int } `json:"summary"`
		Remotes []struct {
			Changes []struct{ Address, Action string } `json:"changes"`
		} `json:"remotes"`
	}
	mustJSON(t, out, &js)
	if !js.Changes || js.Summary.Create != 2 || len(js.Remotes) != 1 || js.Remotes[0].Changes[0].Address != "node."+node {
		// node.web is selected with the forward its service compiles into.
		t.Fatalf("plan --json --target node.web: %s", out)
	}

	// Unattended (stdin is not a terminal) apply needs --yes, and writes nothing without it.
	out, code = c.run(append([]string{"apply", "quickstart"}, c.varArgs()...)...)
	if code != 1 || !strings.Contains(out, "use --yes") {
		t.Fatalf("apply without --yes and without a terminal: exit %d\n%s", code, out)
	}

	lifecycle{
		dir: "quickstart", block: `service "web"`, markers: []string{bridge, node, fip},
		check: func(c cli) {
			if body := sandbox.HTTPGet(t, "http://"+fip+"/", 30*time.Second); !strings.Contains(body, node) {
				t.Fatalf("page through the floating IP does not name %s: %q", node, body)
			}
		},
		afterRm: func(c cli, before, after []string) {
			expectRemoved(t, before, after, []string{fmt.Sprintf("forward/%s/%s tcp/80", bridge, fip)})
			unreachable(t, fip+":80", node)
		},
	}.run(t, c)
}

// bridgeScenario is the setup scenarios 1 to 3 share on daemon d: unique
// names for the bridge ("lx<n>-…") and for the example's nodes and profiles
// ("s<n>-…", also its owner), a free subnet and a floating IP, all released
// in t.Cleanup.
func bridgeScenario(t *testing.T, d *sandbox.Daemon, n string) (c cli, bridge, prefix, fip string) {
	bridge, prefix = sandbox.UniqueName(t, "lx"+n), sandbox.UniqueName(t, "s"+n)
	c = cli{t: t, d: d, vars: map[string]string{
		"owner": "t-" + prefix, "bridge": bridge, "prefix": prefix,
		"subnet": sandbox.AllocSubnet(t), "floating_ip": sandbox.FloatingIP(t),
	}}
	return c, bridge, prefix, c.vars["floating_ip"]
}

// TestScenario1ForwardFloatingIP runs on LXD and on Incus.
func TestScenario1ForwardFloatingIP(t *testing.T) {
	t.Parallel()
	for _, d := range sandbox.Servers(t) {
		t.Run(d.Kind, func(t *testing.T) {
			t.Parallel()
			testScenario1ForwardFloatingIP(t, d)
		})
	}
}

func testScenario1ForwardFloatingIP(t *testing.T, d *sandbox.Daemon) {
	c, bridge, prefix, fip := bridgeScenario(t, d, "1")
	lifecycle{
		dir: "1-forward-floating-ip", block: `service "api"`, markers: []string{bridge, prefix, fip},
		check: func(c cli) {
			for port, node := range map[string]string{"80": prefix + "-a", "8080": prefix + "-b", "8081": prefix + "-b"} {
				url := "http://" + fip + ":" + port + "/"
				if body := sandbox.HTTPGet(t, url, 30*time.Second); !strings.Contains(body, node) {
					t.Fatalf("%s does not reach %s: %q", url, node, body)
				}
			}
			// All ports of the listen address are in one LXD forward.
			fwds := d.Lxc(t, "network", "forward", "list", bridge, "--format", "csv")
			if n := strings.Count(strings.TrimSpace(fwds), "\n") + 1; n != 1 {
				t.Fatalf("want one forward, got %d:\n%s", n, fwds)
			}
		},
		afterRm: func(c cli, before, after []string) {
			expectRemoved(t, before, after, []string{fmt.Sprintf("forward/%s/%s tcp/8080", bridge, fip)})
			unreachable(t, fip+":8080", prefix+"-b")
			sandbox.HTTPGet(t, "http://"+fip+":8081/", 10*time.Second)
		},
	}.run(t, c)
}

func TestScenario2ProxyProtocol(t *testing.T) {
	t.Parallel()
	c, bridge, prefix, fip := bridgeScenario(t, sandbox.Primary(t), "2")
	d := c.d
	node := prefix + "-web"
	lifecycle{
		dir: "2-proxy-protocol", block: `service "alt"`, markers: []string{bridge, prefix},
		check: func(c cli) {
			// busybox httpd does not speak the PROXY protocol: it takes the
			// "PROXY TCP4 ..." line the proxy sends first for a request line
			// and answers 400 (through a proxy without proxy_protocol the same
			// GET gets 200). So a 400 from httpd proves both that the
			// connection reached the container's server and that the header
			// was sent.
			for _, addr := range []string{fip + ":80", fip + ":8080"} {
				if line := rawHTTP(t, addr, 30*time.Second); !strings.Contains(line, " 400 ") {
					t.Fatalf("%s answers %q, want httpd's 400 to the PROXY header", addr, line)
				}
			}
			dev := d.Lxc(t, "config", "device", "get", node, "lxnetd-alt-http", "proxy_protocol")
			prof := d.Lxc(t, "profile", "device", "get", prefix+"-proxied", "http", "proxy_protocol")
			if strings.TrimSpace(dev) != "true" || strings.TrimSpace(prof) != "true" {
				t.Fatalf("proxy_protocol: device %q profile %q", dev, prof)
			}
		},
		afterRm: func(c cli, before, after []string) {
			expectRemoved(t, before, after, []string{"node/" + node + "/device/lxnetd-alt-http"})
			// httpd's answer through a PROXY-protocol proxy is its 400 page.
			unreachable(t, fip+":8080", "400 Bad Request")
		},
	}.run(t, c)
}

func TestScenario3NATProxy(t *testing.T) {
	t.Parallel()
	c, bridge, prefix, fip := bridgeScenario(t, sandbox.Primary(t), "3")
	node := prefix + "-web"
	lifecycle{
		dir: "3-nat-proxy", block: `service "web"`, markers: []string{bridge, prefix},
		check: func(c cli) {
			if body := sandbox.HTTPGet(t, "http://"+fip+"/", 30*time.Second); !strings.Contains(body, node) {
				t.Fatalf("nat proxy does not reach %s: %q", node, body)
			}
		},
		afterRm: func(c cli, before, after []string) {
			expectRemoved(t, before, after, []string{"node/" + node + "/device/lxnetd-web-http"})
			unreachable(t, fip+":80", node)
		},
	}.run(t, c)
}

// TestScenario4LoopbackProxy runs on LXD and on Incus.
func TestScenario4LoopbackProxy(t *testing.T) {
	t.Parallel()
	for _, d := range sandbox.Servers(t) {
		t.Run(d.Kind, func(t *testing.T) {
			t.Parallel()
			testScenario4LoopbackProxy(t, d)
		})
	}
}

func testScenario4LoopbackProxy(t *testing.T, d *sandbox.Daemon) {
	prefix := sandbox.UniqueName(t, "s4")
	c := cli{t: t, d: d, vars: map[string]string{"owner": "t-" + prefix, "prefix": prefix, "floating_ip": sandbox.FloatingIP(t)}}
	fip := c.vars["floating_ip"]
	node := prefix + "-app"
	lifecycle{
		dir: "4-loopback-proxy", block: `service "admin"`, markers: []string{prefix},
		check: func(c cli) {
			// The application listens on the container's loopback only.
			d.Lxc(t, "exec", node, "--", "httpd", "-p", "127.0.0.1:8080", "-h", "/var/www")
			if body := sandbox.HTTPGet(t, "http://"+fip+"/", 30*time.Second); !strings.Contains(body, node) {
				t.Fatalf("loopback proxy does not reach %s: %q", node, body)
			}
		},
		afterRm: func(c cli, before, after []string) {
			expectRemoved(t, before, after, []string{"node/" + node + "/device/lxnetd-admin-ui"})
			unreachable(t, fip+":80", node)
		},
	}.run(t, c)
}
