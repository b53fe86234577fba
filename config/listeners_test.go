package config

import (
	"testing"
)

// clusterBase is a bridge and three nodes on a cluster remote: web1 on m1,
// web2 on m2, free where LXD puts it.
const clusterBase = `
remote "cluster" {
  lxc_remote = "mycluster"
}
network "web" {
  name   = "lxnbr0"
  config = { "ipv4.address" = "10.231.7.1/24" }
}
node "web1" {
  image  = "busybox"
  target = "m1"
  device "eth0" {
    type       = "nic"
    properties = { network = network.web.name, "ipv4.address" = "10.231.7.11" }
  }
}
node "web2" {
  image  = "busybox"
  target = "m2"
  device "eth0" {
    type       = "nic"
    properties = { network = network.web.name, "ipv4.address" = "10.231.7.12" }
  }
}
node "free" {
  image  = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { network = network.web.name, "ipv4.address" = "10.231.7.13" }
  }
}
`

// Nodes pinned to different members each have their own loopback (and
// every other host address): the same listen address is no clash there.
func TestListenersPerClusterMember(t *testing.T) {
	cfg := mustLoad(t, map[string]string{"main.hcl": clusterBase + `
service "local" {
  nodes = [node.web1, node.web2]
  port "http" {
    listen      = "127.0.0.1:8080"
    target_port = 80
    via         = "proxy"
  }
}
`}, Options{})
	if got := len(cfg.Remotes["cluster"].Exposures); got != 2 {
		t.Fatalf("%d exposures, want one per node", got)
	}
}

// A forward follows the member of the nodes its ports point at; its own
// target wins where no node says otherwise.
func TestForwardPlacement(t *testing.T) {
	cfg := mustLoad(t, map[string]string{"main.hcl": clusterBase + `
forward "to-web2" {
  network        = network.web
  listen_address = "198.51.100.10"
  port {
    listen_port = "80"
    target      = node.web2
  }
  port {
    listen_port = "81"
    target      = node.free
  }
}
forward "explicit" {
  network        = network.web
  listen_address = "198.51.100.11"
  target         = "m3"
  port {
    listen_port    = "80"
    target_address = "10.231.7.50"
  }
}
forward "anywhere" {
  network        = network.web
  listen_address = "198.51.100.12"
  port {
    listen_port = "80"
    target      = node.free
  }
}
# On m1, beside web1.
forward "to-web1" {
  network        = network.web
  listen_address = "198.51.100.13"
  port {
    listen_port = "80"
    target      = node.web1
  }
}
`}, Options{})
	got := map[string]string{}
	for _, f := range cfg.Remotes["cluster"].Forwards {
		got[f.Addr] = f.Target
	}
	want := map[string]string{"forward.to-web2": "m2", "forward.explicit": "m3", "forward.anywhere": "", "forward.to-web1": "m1"}
	for addr, member := range want {
		if got[addr] != member {
			t.Errorf("%s is placed on %q, want %q", addr, got[addr], member)
		}
	}
}
