package config

import (
	"net/netip"
	"testing"
)

// TestAddressChecksLeaveValidAlone: the address checks refuse only what
// LXD refuses; these neighbours of the catalogue's bad cases stay valid.
func TestAddressChecksLeaveValidAlone(t *testing.T) {
	const nets = `
remote "a" { address = "unix://" }
remote "b" { address = "unix:///var/lib/incus/unix.socket" }
network "lan" {
  for_each = toset(["a", "b"])
  remote   = each.key
  name     = "lxnbr0"
  config   = { "ipv4.address" = "10.231.7.1/24", "ipv6.address" = "fd42:7::1/64" }
}
network "auto" {
  remote = "a"
  name   = "lxnbr1"
  config = { "ipv4.address" = "auto" }
}
`
	node := func(label, remote, network, ip string) string {
		return `node "` + label + `" {
  remote = "` + remote + `"
  image  = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { network = "` + network + `", "ipv4.address" = "` + ip + `" }
  }
}
`
	}
	cases := map[string]string{
		"IPv6 listen with via proxy": node("web", "a", "lxnbr0", "10.231.7.10") + `
service "web" {
  node = node.web
  port "http" {
    listen = "[2001:db8::10]:80"
    via    = "proxy"
  }
}`,
		"one address on two remotes": node("x", "a", "lxnbr0", "10.231.7.10") + node("y", "b", "lxnbr0", "10.231.7.10"),
		"one address on two networks": node("x", "a", "lxnbr0", "10.231.7.10") +
			node("y", "a", "lxnbr1", "10.231.7.10"),
		"network with ipv4.address auto":  node("x", "a", "lxnbr1", "192.168.5.5"),
		"network not declared":            node("x", "a", "lxdbr0", "192.168.5.5"),
		"first and last host of a subnet": node("x", "a", "lxnbr0", "10.231.7.2") + node("y", "a", "lxnbr0", "10.231.7.254"),
		"forward inside its subnet, listening outside every subnet": node("web", "a", "lxnbr0", "10.231.7.10") + `
forward "f" {
  network        = network.lan["a"]
  listen_address = "198.51.100.10"
  target_address = "10.231.7.11"
  port {
    listen_port = 80
    target      = node.web
  }
  port {
    listen_port    = 443
    target_address = "10.231.7.12"
  }
}
forward "v6" {
  network        = network.lan["a"]
  listen_address = "2001:db8::7"
  port {
    listen_port    = 80
    target_address = "fd42:7::10"
  }
}`,
	}
	for name, src := range cases {
		t.Run(name, func(t *testing.T) {
			mustLoad(t, map[string]string{"main.hcl": nets + src}, Options{})
		})
	}
}

func TestAddressProblem(t *testing.T) {
	s := subnet{gw: netip.MustParsePrefix("10.231.7.129/25"), net: &networkResult{}}
	for addr, bad := range map[string]bool{
		"10.231.7.128": true, "10.231.7.129": true, "10.231.7.130": false, "10.231.7.254": false,
		"10.231.7.255": true, "10.231.7.127": true,
	} {
		if got := addressProblem(netip.MustParseAddr(addr), s) != ""; got != bad {
			t.Errorf("addressProblem(%s) refuses = %v, want %v", addr, got, bad)
		}
	}
}

// TestListenInsideAnotherNetworkWarns: LXD accepts a forward listen address
// inside another network's subnet (lxd_refuses_integration_test.go), so it
// is a warning at the listen address, not an error.
func TestListenInsideAnotherNetworkWarns(t *testing.T) {
	src := `
network "na" { config = { "ipv4.address" = "10.231.7.1/24" } }
network "nb" { config = { "ipv4.address" = "10.231.8.1/24" } }
forward "f" {
  network        = network.na
  listen_address = "10.231.8.50"
  port {
    listen_port    = 80
    target_address = "10.231.7.10"
  }
}
`
	cfg, diags := LoadFS(mapFS(map[string]string{"main.hcl": src}), Options{})
	l := diags.List()
	if cfg == nil || len(l) != 1 || l[0].Severity != "warning" || l[0].Summary != "Listen address inside another network" ||
		l[0].Range == nil || l[0].Range.Start.Line != 6 {
		t.Fatalf("want one warning at main.hcl:6, got %+v", l)
	}
}
