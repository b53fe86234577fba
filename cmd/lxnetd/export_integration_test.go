//go:build integration

package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// TestExportAdoptsHandBuiltObjects builds a bridge, a profile with a proxy
// device, a container using both and a forward to it with lxc on the
// sandbox's HTTPS daemon, exports them, and checks that the export is a valid
// configuration whose plan only adds lxnetd's ownership keys, that applying
// it changes nothing else in LXD, and that the next plan is empty. It runs
// on LXD over HTTPS, and on Incus through incus_remote (the sandbox's incus
// client configuration), one after the other: the Incus case sets
// INCUS_CONF for the process.
func TestExportAdoptsHandBuiltObjects(t *testing.T) {
	for _, d := range []*sandbox.Daemon{sandbox.Secondary(t), sandbox.Incus(t)} {
		t.Run(d.Kind, func(t *testing.T) { testExportAdoptsHandBuiltObjects(t, d) })
	}
}

func testExportAdoptsHandBuiltObjects(t *testing.T, d *sandbox.Daemon) {
	bridge, prof, node := sandbox.UniqueName(t, "lxe"), sandbox.UniqueName(t, "exp"), sandbox.UniqueName(t, "exn")
	owner := "t-" + node
	fip := sandbox.FloatingIP(t)
	// Incus refuses a forward and a proxy device on one address (README "Servers").
	proxyIP := fip
	if d.Kind == sandbox.KindIncus {
		proxyIP = sandbox.FloatingIP(t)
	}

	// Hand-built, in the order that lets the sandbox's cleanups (last
	// registered, first run) undo it if the test fails before adoption.
	subnet := d.CreateBridge(t, bridge)
	d.Lxc(t, "network", "set", bridge, "dns.domain="+bridge+".lan")
	d.Lxc(t, "profile", "create", prof)
	t.Cleanup(func() { _, _ = d.LxcErr("profile", "delete", prof) })
	d.Lxc(t, "profile", "set", prof, "limits.memory=128MB")
	d.Lxc(t, "profile", "device", "add", prof, "alt", "proxy", "listen=tcp:"+proxyIP+":8080", "connect=tcp:127.0.0.1:80")
	ip := sandbox.HostIP(subnet, 10)
	d.LaunchBusybox(t, node, bridge, ip)
	d.Lxc(t, "profile", "add", node, prof)
	d.Lxc(t, "config", "set", node, "user.role=web")
	d.Lxc(t, "network", "forward", "create", bridge, fip)
	t.Cleanup(func() { _, _ = d.LxcErr("network", "forward", "delete", bridge, fip) })
	d.Lxc(t, "network", "forward", "port", "add", bridge, fip, "tcp", "80", ip)
	sandbox.HTTPGet(t, "http://"+fip+"/", 30*time.Second)

	dir := t.TempDir()
	remote := fmt.Sprintf("remote \"sec\" {\n  address            = %q\n  client_cert        = %q\n  client_key         = %q\n  server_fingerprint = %q\n}\n",
		d.HTTPSAddress, d.ClientCert, d.ClientKey, d.ServerFingerprint)
	directArgs := []string{"--address", d.HTTPSAddress, "--client-cert", d.ClientCert, "--client-key", d.ClientKey,
		"--server-fingerprint", d.ServerFingerprint}
	if d.Kind == sandbox.KindIncus {
		t.Setenv("INCUS_CONF", d.LXDConf)
		remote = "remote \"sec\" {\n  incus_remote = \"incus\"\n}\n"
		directArgs = []string{"--address", "unix://" + d.Socket}
	}
	writeTestFile(t, dir, "main.hcl", fmt.Sprintf("lxnet {\n  owner            = %q\n  delete_instances = true\n}\n\n%s", owner, remote))
	t.Cleanup(func() {
		// Once adopted, the objects are this owner's: lxnetd destroys them.
		if out, errs, code := run(t, "destroy", "--yes", dir); code != 0 {
			t.Errorf("cleanup destroy: exit %d\n%s%s", code, out, errs)
		}
	})

	before := snapshot(t, d, bridge, prof, node, fip)

	// Export from the configuration's remote into the directory.
	_, report, code := run(t, "export", dir, "--network", bridge, "-o", filepath.Join(dir, "adopted.hcl"))
	if code != 0 || !strings.Contains(report, `remote "sec": exported 1 network, 1 profile, 1 node, 1 forward`) {
		t.Fatalf("export: exit %d, report %q", code, report)
	}
	exported, err := os.ReadFile(filepath.Join(dir, "adopted.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("exported:\n%s", exported)
	for _, want := range []string{
		`network "` + bridge + `"`, `"dns.domain"   = "` + bridge + `.lan"`,
		`profile "` + prof + `"`, `listen  = "tcp:` + proxyIP + `:8080"`,
		`node "` + node + `"`, `profiles = ["default", profile.` + prof + `.name]`, `network        = network.` + bridge + `.name`,
		`"user.role" = "web"`, `target      = node.` + node, `adopt  = true`,
	} {
		if !strings.Contains(string(exported), want) {
			t.Errorf("export lacks %s", want)
		}
	}
	if strings.Contains(string(exported), "volatile.") || strings.Contains(string(exported), "image.") {
		t.Errorf("export contains LXD-filled keys")
	}

	// The same from --address (no configuration): the remote block first,
	// then the same blocks.
	direct, _, code := run(t, append([]string{"export", "--remote", "sec", "--network", bridge}, directArgs...)...)
	if code != 0 || !strings.HasPrefix(direct, "remote \"sec\" {") || !strings.HasSuffix(direct, string(exported)) {
		t.Fatalf("export --address: exit %d\n%s", code, direct)
	}

	if out, errs, code := run(t, "validate", dir); code != 0 {
		t.Fatalf("validate the exported directory: exit %d\n%s%s", code, out, errs)
	}
	if out, errs, code := run(t, "fmt", "--check", dir); code != 0 {
		t.Fatalf("fmt --check the exported directory: exit %d\n%s%s", code, out, errs)
	}

	// The plan adopts: four updates that only add ownership keys.
	out, errs, code := run(t, "plan", "--json", dir)
	if code != 0 {
		t.Fatalf("plan: exit %d\n%s%s", code, out, errs)
	}
	var plan struct {
		Remotes []struct {
			Changes []struct {
				Address, Action, Reason string
				Diffs                   []struct{ Key string }
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &plan); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range plan.Remotes {
		for _, c := range r.Changes {
			got = append(got, c.Action+" "+c.Address)
			if !strings.Contains(c.Reason, "adopt") {
				t.Errorf("%s: reason %q", c.Address, c.Reason)
			}
			for _, df := range c.Diffs {
				if !strings.HasPrefix(df.Key, "config."+engine.TagPrefix) {
					t.Errorf("%s: the adoption plan changes %s", c.Address, df.Key)
				}
			}
		}
	}
	want := []string{"update network." + bridge, "update profile." + prof, "update node." + node, "update forward." + bridge + "/" + fip}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("adoption plan (-want +got):\n%s\n%s", diff, out)
	}

	if out, errs, code := run(t, "apply", "--yes", dir); code != 0 {
		t.Fatalf("apply: exit %d\n%s%s", code, out, errs)
	}
	if out, errs, code := run(t, "plan", "--detailed-exitcode", dir); code != 0 {
		t.Fatalf("plan after adoption: exit %d, want 0\n%s%s", code, out, errs)
	}
	// LXD holds exactly what it held, plus the ownership keys.
	after := snapshot(t, d, bridge, prof, node, fip)
	for obj, a := range after {
		if a["config."+engine.TagOwner] != owner {
			t.Errorf("%s is not tagged with owner %q: %v", obj, owner, a)
		}
		for k := range a {
			if strings.HasPrefix(k, "config."+engine.TagPrefix) {
				delete(a, k)
			}
		}
		if diff := cmp.Diff(before[obj], a); diff != "" {
			t.Errorf("%s changed beyond the ownership keys (-before +after):\n%s", obj, diff)
		}
	}
	if body := sandbox.HTTPGet(t, "http://"+fip+"/", 10*time.Second); !strings.Contains(body, node) {
		t.Fatalf("forward after adoption: %q", body)
	}

	// Everything is owned now: nothing is left to export.
	out, report, code = run(t, "export", dir, "--network", bridge)
	if code != 0 || !strings.Contains(out, "nothing to export") || !strings.Contains(report, "owned by lxnetd") {
		t.Fatalf("export after adoption: exit %d\n%s%s", code, out, report)
	}
}

// snapshot flattens the config and devices of the test's objects, as lxc
// shows them, into "config.KEY"/"devices.DEV.PROP" maps (volatile keys and
// the forward's ports included, status excluded).
func snapshot(t *testing.T, d *sandbox.Daemon, bridge, prof, node, fip string) map[string]map[string]string {
	t.Helper()
	flatten := func(raw string) map[string]string {
		var obj struct {
			Config  map[string]string            `json:"config"`
			Devices map[string]map[string]string `json:"devices"`
			Ports   []map[string]any             `json:"ports"`
			Desc    string                       `json:"description"`
		}
		if err := json.Unmarshal([]byte(raw), &obj); err != nil {
			t.Fatalf("decoding %q: %v", raw, err)
		}
		out := map[string]string{"description": obj.Desc}
		for k, v := range obj.Config {
			out["config."+k] = v
		}
		for dev, props := range obj.Devices {
			for k, v := range props {
				out["devices."+dev+"."+k] = v
			}
		}
		for i, p := range obj.Ports {
			for _, k := range slices.Sorted(maps.Keys(p)) {
				out[fmt.Sprintf("ports.%d.%s", i, k)] = fmt.Sprint(p[k])
			}
		}
		return out
	}
	return map[string]map[string]string{
		"network": flatten(d.Lxc(t, "query", "/1.0/networks/"+bridge)),
		"profile": flatten(d.Lxc(t, "query", "/1.0/profiles/"+prof)),
		"node":    flatten(d.Lxc(t, "query", "/1.0/instances/"+node)),
		"forward": flatten(d.Lxc(t, "query", "/1.0/networks/"+bridge+"/forwards/"+fip)),
	}
}

func writeTestFile(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
