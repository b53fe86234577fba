//go:build integration

package config_test

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/lxnetd/lxnetd/config"
	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// TestLXDRefusesWhatValidateRefuses grounds the offline address checks in
// the real LXD: for each, validate refuses a configuration, and LXD refuses
// the same request when it is made by hand (so validate refuses nothing LXD
// would accept, and the operator learns at validate what apply would have
// failed on). The valid neighbours (a free host address, a forward target
// inside the subnet) are accepted by both.
func TestLXDRefusesWhatValidateRefuses(t *testing.T) {
	d := sandbox.Primary(t)
	br, other := sandbox.UniqueName(t, "vbr"), sandbox.UniqueName(t, "vbo")
	cidr, cidrO := d.CreateBridge(t, br), d.CreateBridge(t, other)
	ip := func(host int) string { return sandbox.HostIP(cidr, host) }
	networks := fmt.Sprintf(`
network "br" {
  name   = %q
  config = { "ipv4.address" = "%s/24" }
}
network "other" {
  name   = %q
  config = { "ipv4.address" = "%s/24" }
}
`, br, ip(1), other, sandbox.HostIP(cidrO, 1))
	node := func(label, addr string) string {
		return fmt.Sprintf(`
node %q {
  image = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { network = network.br.name, "ipv4.address" = %q }
  }
}
`, label, addr)
	}
	// instance creates a stopped container with a nic on br at addr and
	// starts it: the steps of an apply. It returns the first refusal.
	instance := func(t *testing.T, addr string) error {
		name := sandbox.UniqueName(t, "vnode")
		t.Cleanup(func() {
			if _, err := d.LxcErr("config", "show", name); err == nil {
				if _, err := d.LxcErr("delete", "--force", name); err != nil {
					t.Errorf("deleting %s: %v", name, err)
				}
			}
		})
		for _, args := range [][]string{
			{"init", "busybox", name},
			{"config", "device", "add", name, "eth0", "nic", "network=" + br, "ipv4.address=" + addr},
			{"start", name},
		} {
			if _, err := d.LxcErr(args...); err != nil {
				if args[0] == "init" {
					t.Fatalf("creating the container: %v", err)
				}
				return err
			}
		}
		return nil
	}
	// forward creates a forward on br listening on listen (with a default
	// target when def is set) and adds one tcp port to target.
	forward := func(t *testing.T, listen, def, target string) error {
		args := []string{"network", "forward", "create", br, listen}
		if def != "" {
			args = append(args, "target_address="+def)
		}
		if _, err := d.LxcErr(args...); err != nil {
			return err
		}
		t.Cleanup(func() {
			if _, err := d.LxcErr("network", "forward", "delete", br, listen); err != nil {
				t.Errorf("deleting forward %s: %v", listen, err)
			}
		})
		_, err := d.LxcErr("network", "forward", "port", "add", br, listen, "tcp", "80", target)
		return err
	}
	fip := sandbox.FloatingIP(t)
	forwardHCL := func(listen, def, target string) string {
		s := fmt.Sprintf("forward \"f\" {\n  network        = network.br\n  listen_address = %q\n", listen)
		if def != "" {
			s += fmt.Sprintf("  target_address = %q\n", def)
		}
		return s + fmt.Sprintf("  port {\n    listen_port    = 80\n    target_address = %q\n  }\n}\n", target)
	}

	// The valid neighbours first: both accept them.
	t.Run("valid", func(t *testing.T) {
		validate(t, networks+node("a", ip(10))+forwardHCL(fip, ip(11), ip(12)), "")
		if err := instance(t, ip(10)); err != nil {
			t.Fatalf("LXD refused a free host address: %v", err)
		}
		if err := forward(t, fip, ip(11), ip(12)); err != nil {
			t.Fatalf("LXD refused a forward inside the subnet: %v", err)
		}
	})

	cases := []struct {
		name, hcl, want string
		// stricter: validate refuses what LXD 5.0 accepts, on purpose
		// (the message says so); the test records that LXD accepts it.
		stricter bool
		lxd      func(t *testing.T) error
	}{
		{"nic outside the subnet", node("a", sandbox.HostIP(cidrO, 10)), "Address not usable on the network", false,
			func(t *testing.T) error { return instance(t, sandbox.HostIP(cidrO, 10)) }},
		{"nic on the gateway", node("a", ip(1)), "Address not usable on the network", false,
			func(t *testing.T) error { return instance(t, ip(1)) }},
		{"nic on the network address", node("a", ip(0)), "Address not usable on the network", true,
			func(t *testing.T) error { return instance(t, ip(0)) }},
		{"nic on the broadcast address", node("a", ip(255)), "Address not usable on the network", true,
			func(t *testing.T) error { return instance(t, ip(255)) }},
		{"one address on two nodes", node("a", ip(20)) + node("b", ip(20)), "Duplicate static address", false,
			func(t *testing.T) error {
				if err := instance(t, ip(20)); err != nil {
					t.Fatalf("the first node: %v", err)
				}
				return instance(t, ip(20))
			}},
		{"forward default target outside the subnet", forwardHCL(fip, sandbox.HostIP(cidrO, 5), ip(12)), "Target not on the forward's network", false,
			func(t *testing.T) error { return forward(t, fip, sandbox.HostIP(cidrO, 5), ip(12)) }},
		{"forward port target outside the subnet", forwardHCL(fip, "", sandbox.HostIP(cidrO, 10)), "Target not on the forward's network", false,
			func(t *testing.T) error { return forward(t, fip, "", sandbox.HostIP(cidrO, 10)) }},
		{"forward port target is the default target", forwardHCL(fip, ip(10), ip(10)), "Port target is the default target", false,
			func(t *testing.T) error { return forward(t, fip, ip(10), ip(10)) }},
		{"one listen address on two networks", forwardHCL(fip, "", ip(10)) + fmt.Sprintf(`
forward "g" {
  network        = network.other
  listen_address = %q
  port {
    listen_port    = 81
    target_address = %q
  }
}
`, fip, sandbox.HostIP(cidrO, 10)), "Listen address on two networks", false,
			func(t *testing.T) error {
				if err := forward(t, fip, "", ip(10)); err != nil {
					t.Fatalf("the first forward: %v", err)
				}
				_, err := d.LxcErr("network", "forward", "create", other, fip)
				if err == nil {
					_, _ = d.LxcErr("network", "forward", "delete", other, fip)
				}
				return err
			}},
		{"IPv6 listen with via forward", node("a", ip(10)) + `
service "web" {
  node = node.a
  port "http" { listen = "[2001:db8::10]:80" }
}
`, "Mixed address families", false,
			func(t *testing.T) error {
				// Give the bridge IPv6 too, so that LXD judges the families,
				// not a bridge without IPv6.
				ula := "fd42:" + strings.ReplaceAll(strings.TrimSuffix(cidr, ".0/24"), ".", ":") + "::1/64"
				d.Lxc(t, "network", "set", br, "ipv6.address="+ula)
				t.Cleanup(func() { _, _ = d.LxcErr("network", "set", br, "ipv6.address=none") })
				return forward(t, "2001:db8::10", "", ip(10))
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			validate(t, networks+c.hcl, c.want)
			err := c.lxd(t)
			switch {
			case c.stricter && err != nil:
				t.Fatalf("LXD now refuses it too (%v): drop \"LXD accepts it\" from the message", err)
			case c.stricter:
				t.Logf("LXD accepts it; validate refuses it on purpose")
			case err == nil:
				t.Fatalf("LXD accepted what validate refuses (%s)", c.want)
			default:
				t.Logf("LXD refuses it too: %v", firstLine(err.Error()))
			}
		})
	}

	// A forward listen address inside another network's subnet: LXD
	// accepts it (what it refuses is one address on two networks, above),
	// so validate only warns.
	t.Run("forward listen inside another network", func(t *testing.T) {
		src := networks + forwardHCL(sandbox.HostIP(cidrO, 50), "", ip(10))
		validate(t, src, "")
		_, diags := config.LoadFS(fstest.MapFS{"main.hcl": {Data: []byte(src)}}, config.Options{})
		if l := diags.List(); len(l) != 1 || l[0].Summary != "Listen address inside another network" {
			t.Errorf("want one warning, got %+v", l)
		}
		if err := forward(t, sandbox.HostIP(cidrO, 50), "", ip(10)); err != nil {
			t.Fatalf("LXD refuses it (%v): make it an error", err)
		}
	})

	// Without DHCP (or without IPv4) on the bridge, LXD refuses a static
	// nic address and an IPv4 forward. Run last: they change br.
	t.Run("static address without DHCP", func(t *testing.T) {
		src := strings.Replace(networks, `"ipv4.address" = "`+ip(1)+`/24" }`, `"ipv4.address" = "`+ip(1)+`/24", "ipv4.dhcp" = false }`, 1)
		validate(t, src+node("a", ip(30)), "Static address without DHCP")
		d.Lxc(t, "network", "set", br, "ipv4.dhcp=false")
		t.Cleanup(func() { _, _ = d.LxcErr("network", "set", br, "ipv4.dhcp=true") })
		if err := instance(t, ip(30)); err == nil {
			t.Fatal("LXD accepted a static address without DHCP")
		} else {
			t.Logf("LXD refuses it too: %v", firstLine(err.Error()))
		}
	})
	t.Run("forward on a network without IPv4", func(t *testing.T) {
		src := strings.Replace(networks, `"ipv4.address" = "`+ip(1)+`/24" }`, `"ipv4.address" = "none" }`, 1)
		validate(t, src+forwardHCL(fip, "", ip(10)), "Network without that address family")
		d.Lxc(t, "network", "set", br, "ipv4.address=none")
		t.Cleanup(func() { _, _ = d.LxcErr("network", "set", br, "ipv4.address="+ip(1)+"/24") })
		if err := forward(t, fip, "", ip(10)); err == nil {
			t.Fatal("LXD accepted an IPv4 forward on a network without IPv4")
		} else {
			t.Logf("LXD refuses it too: %v", firstLine(err.Error()))
		}
	})
}

// validate loads src as the only file and checks that it is valid (want
// "") or fails with an error whose summary is want.
func validate(t *testing.T, src, want string) {
	t.Helper()
	_, diags := config.LoadFS(fstest.MapFS{"main.hcl": {Data: []byte(src)}}, config.Options{})
	var b strings.Builder
	_ = diags.WriteText(&b, false)
	switch {
	case want == "" && diags.HasErrors():
		t.Fatalf("validate refused a valid configuration:\n%s", b.String())
	case want != "" && !strings.Contains(b.String(), "error: "+want):
		t.Fatalf("validate did not refuse with %q:\n%s\n%s", want, b.String(), src)
	}
}

func firstLine(s string) string {
	if i := strings.LastIndex(strings.TrimSpace(s), "\n"); i >= 0 {
		return strings.TrimSpace(s[i:])
	}
	return s
}
