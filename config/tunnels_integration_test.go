//go:build integration

package config_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// TestLXDBuildsTunnelsAsValidateSays grounds validate's tunnel checks
// (tunnels.go) in the sandbox's real LXD: each tunnel validate refuses is
// created by hand, and LXD either refuses it at apply or builds something
// else than written (no device, or multicast instead of unicast); the
// tunnel validate only warns about is built unicast, its group ignored.
// Multicast devices join on a sandbox bridge (tunnel.t.interface), never
// on the host's real interface.
func TestLXDBuildsTunnelsAsValidateSays(t *testing.T) {
	d := sandbox.Primary(t)
	under := sandbox.UniqueName(t, "vtu")
	cidr := d.CreateBridge(t, under)
	local, remote := sandbox.HostIP(cidr, 1), sandbox.HostIP(cidr, 2)
	cases := []struct {
		name string
		keys map[string]string
		want string // validate's error ("" for the warning case)
		// check is what LXD did: err is its answer to the create, dev the
		// tunnel device's details ("" when there is none).
		check func(err error, dev string) string
	}{
		{"gre without local", map[string]string{"protocol": "gre", "remote": remote}, "Incomplete GRE tunnel",
			func(err error, dev string) string {
				if err != nil || dev != "" {
					return fmt.Sprintf("want the network created without a tunnel device; err %v, device %s", err, dev)
				}
				return ""
			}},
		{"vxlan with remote only", map[string]string{"protocol": "vxlan", "remote": remote, "interface": under}, "Incomplete unicast VXLAN tunnel",
			func(err error, dev string) string {
				if err != nil || !strings.Contains(dev, `"group":"239.0.0.1"`) {
					return fmt.Sprintf("want a multicast device on 239.0.0.1; err %v, device %s", err, dev)
				}
				return ""
			}},
		{"group not multicast", map[string]string{"protocol": "vxlan", "group": sandbox.HostIP(cidr, 255), "interface": under}, "Invalid tunnel group",
			func(err error, _ string) string {
				if err == nil || !strings.Contains(err.Error(), "invalid group address") {
					return fmt.Sprintf("want LXD to refuse with invalid group address; err %v", err)
				}
				return ""
			}},
		{"no protocol", map[string]string{"id": "5"}, "Tunnel without protocol",
			func(err error, _ string) string {
				if err == nil || !strings.Contains(err.Error(), "Cannot find device") {
					return fmt.Sprintf("want LXD to refuse with Cannot find device; err %v", err)
				}
				return ""
			}},
		{"group beside local and remote", map[string]string{"protocol": "vxlan", "local": local, "remote": remote, "group": "239.231.9.9", "interface": under}, "",
			func(err error, dev string) string {
				if err != nil || !strings.Contains(dev, `"remote":"`+remote+`"`) || strings.Contains(dev, "239.231.9.9") {
					return fmt.Sprintf("want a unicast device to %s, the group ignored; err %v, device %s", remote, err, dev)
				}
				return ""
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			br := sandbox.UniqueName(t, "vt") // vt-XXXXXXXX-t: 13 characters
			var hcl strings.Builder
			fmt.Fprintf(&hcl, "network \"n\" {\n  name = %q\n  config = {\n    \"ipv4.address\" = \"none\"\n", br)
			args := []string{"network", "create", br, "ipv4.address=none", "ipv6.address=none"}
			for _, k := range slices.Sorted(maps.Keys(c.keys)) {
				fmt.Fprintf(&hcl, "    \"tunnel.t.%s\" = %q\n", k, c.keys[k])
				args = append(args, "tunnel.t."+k+"="+c.keys[k])
			}
			hcl.WriteString("  }\n}\n")
			validate(t, hcl.String(), c.want)

			t.Cleanup(func() {
				if _, err := d.LxcErr("network", "show", br); err == nil {
					if _, err := d.LxcErr("network", "delete", br); err != nil {
						t.Errorf("deleting %s: %v", br, err)
					}
				}
			})
			_, err := d.LxcErr(args...)
			if _, missing := d.LxcErr("network", "show", br); err != nil && missing == nil {
				t.Errorf("LXD kept network %s after refusing it", br)
			}
			dev := ""
			if out, lerr := exec.Command("ip", "-d", "-j", "link", "show", br+"-t").Output(); lerr == nil {
				var links []struct {
					LinkInfo struct {
						InfoData json.RawMessage `json:"info_data"`
					} `json:"linkinfo"`
				}
				if json.Unmarshal(out, &links) == nil && len(links) == 1 {
					dev = string(links[0].LinkInfo.InfoData)
				}
			}
			if problem := c.check(err, dev); problem != "" {
				t.Fatal(problem)
			}
			t.Logf("LXD: err %v, device %s", err, dev)
		})
	}
}
