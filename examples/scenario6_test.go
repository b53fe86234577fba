//go:build integration

package examples_test

import (
	"context"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/internal/sandbox"
)

// hostLAN is a stand-in for the physical LAN a host's spare interfaces are
// plugged into: a Linux bridge holding the host's address (.1) and a DHCP
// server that hands out fixed addresses by MAC, as a LAN's router would.
// Two veth pairs hang off it; their free ends are the host "NICs" LXD uses:
// Parent for macvlan, Physical to hand over to a container whole.
type hostLAN struct {
	Subnet           string // 10.231.X.0/24
	Bridge           string
	Parent, Physical string
}

// newHostLAN builds the LAN with DHCP reservations (MAC -> host number) and
// removes every interface and the DHCP server in t.Cleanup.
func newHostLAN(t *testing.T, reservations map[string]int) hostLAN {
	t.Helper()
	id := strings.TrimPrefix(sandbox.UniqueName(t, "l"), "l-")
	l := hostLAN{Subnet: sandbox.AllocSubnet(t), Bridge: "lxl" + id}
	l.Parent, l.Physical = l.Bridge+"m", l.Bridge+"p"
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	del := func(link string) {
		// A physical NIC comes back to the host when its container goes;
		// veth peers vanish with their other end.
		if exec.Command("ip", "link", "show", link).Run() == nil {
			if out, err := exec.Command("ip", "link", "del", link).CombinedOutput(); err != nil {
				t.Errorf("removing host interface %s: %v: %s", link, err, out)
			}
		}
	}
	t.Cleanup(func() { del(l.Bridge) })
	ip("link", "add", l.Bridge, "type", "bridge")
	ip("addr", "add", sandbox.HostIP(l.Subnet, 1)+"/24", "dev", l.Bridge)
	ip("link", "set", l.Bridge, "up")
	for _, end := range []string{l.Parent, l.Physical} {
		t.Cleanup(func() { del(end); del(end + "x") })
		ip("link", "add", end, "type", "veth", "peer", "name", end+"x")
		ip("link", "set", end+"x", "master", l.Bridge, "up")
		ip("link", "set", end, "up")
	}

	dir := t.TempDir()
	args := []string{
		"--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
		"--port=0", "--bind-interfaces", "--interface=" + l.Bridge, "--except-interface=lo",
		"--user=root", "--dhcp-leasefile=" + filepath.Join(dir, "leases"),
		"--dhcp-range=" + sandbox.HostIP(l.Subnet, 0) + ",static,255.255.255.0,1h",
	}
	for _, mac := range slices.Sorted(maps.Keys(reservations)) {
		args = append(args, "--dhcp-host="+mac+","+sandbox.HostIP(l.Subnet, reservations[mac]))
	}
	dhcp := exec.Command("dnsmasq", args...)
	log, err := os.Create(filepath.Join(dir, "dnsmasq.log"))
	if err != nil {
		t.Fatal(err)
	}
	dhcp.Stdout, dhcp.Stderr = log, log
	if err := dhcp.Start(); err != nil {
		t.Fatalf("starting dnsmasq for the stand-in LAN: %v", err)
	}
	t.Cleanup(func() {
		_ = dhcp.Process.Kill()
		_ = dhcp.Wait()
		log.Close()
	})
	return l
}

// resolve asks the DNS server at server:53 for name's IPv4 addresses.
func resolve(server, name string) ([]string, error) {
	r := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, net.JoinHostPort(server, "53"))
	}}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return r.LookupHost(ctx, name)
}

func TestScenario6MacvlanPhysical(t *testing.T) {
	t.Parallel()
	d := sandbox.Primary(t)
	bridge, prefix := sandbox.UniqueName(t, "lx6"), sandbox.UniqueName(t, "s6")
	web, edge, probe, nas := prefix+"-web", prefix+"-edge", prefix+"-probe", prefix+"-nas"
	lan := newHostLAN(t, map[string]int{"00:16:3e:06:00:11": 11, "00:16:3e:06:00:12": 12, "00:16:3e:06:00:13": 13})
	domain := "s6" + strings.TrimPrefix(prefix, "s6-")
	c := cli{t: t, d: d, vars: map[string]string{
		"owner": "t-" + prefix, "bridge": bridge, "prefix": prefix,
		"subnet": sandbox.AllocSubnet(t), "dns_domain": domain,
		"parent": lan.Parent, "physical": lan.Physical,
	}}
	gateway := sandbox.HostIP(c.vars["subnet"], 1)
	webIP := sandbox.HostIP(c.vars["subnet"], 10)

	lifecycle{
		dir: "6-macvlan-physical", block: `node "nas"`, markers: []string{bridge, prefix},
		check: func(c cli) {
			// Every container's httpd answers from the host: web through the
			// bridge, the others through the LAN (not through the macvlan
			// parent itself, which cannot reach its own children).
			pages := map[string]string{webIP: web}
			for host, node := range map[int]string{11: edge, 12: probe, 13: nas} {
				pages[sandbox.HostIP(lan.Subnet, host)] = node
			}
			for addr, node := range pages {
				if body := sandbox.HTTPGet(t, "http://"+addr+"/", 60*time.Second); !strings.Contains(body, node) {
					t.Fatalf("http://%s/ does not reach %s: %q", addr, node, body)
				}
			}
			for node, want := range map[string]string{edge: "macvlan", probe: "macvlan", nas: "physical"} {
				if typ := nicType(t, d, node); typ != want {
					t.Fatalf("%s's eth0 is %q, want %q", node, typ, want)
				}
			}
			// The physical NIC is the host's interface itself, gone from the host.
			if exec.Command("ip", "link", "show", lan.Physical).Run() == nil {
				t.Fatalf("%s is still on the host while %s holds it", lan.Physical, nas)
			}

			// The bridge's DNS (dns.mode managed) answers for the container.
			checkResolves(t, gateway, web+"."+domain, webIP, true)

			// MAC filtering: a container that changes its MAC loses the
			// bridge (its ARP requests are dropped), and has it back with
			// the MAC LXD gave it.
			mac := strings.TrimSpace(d.Lxc(t, "exec", web, "--", "cat", "/sys/class/net/eth0/address"))
			d.Lxc(t, "exec", web, "--", "ip", "neigh", "flush", "dev", "eth0")
			d.Lxc(t, "exec", web, "--", "ip", "link", "set", "eth0", "address", "00:16:3e:06:ff:ff")
			_, err := d.LxcErr("exec", web, "--", "ping", "-c", "2", "-W", "2", gateway)
			d.Lxc(t, "exec", web, "--", "ip", "link", "set", "eth0", "address", mac)
			if err == nil {
				t.Fatalf("%s reached its gateway with a spoofed MAC despite security.mac_filtering", web)
			}
			d.Lxc(t, "exec", web, "--", "ping", "-c", "1", "-W", "5", gateway)

			// Another DNS mode is an in-place update of the bridge. With
			// dns.mode dynamic the name comes from the container's DHCP
			// request (udhcpc sends its hostname); with none the bridge
			// answers for no container.
			for _, mode := range []struct {
				name     string
				resolves bool
			}{{"dynamic", true}, {"none", false}, {"managed", true}} {
				other := cli{t: t, d: d, vars: maps.Clone(c.vars)}
				other.vars["dns_mode"] = mode.name
				out, code := other.plan("6-macvlan-physical", "--detailed-exitcode")
				if code != 2 || !strings.Contains(out, "dns.mode") || !strings.Contains(out, "1 to update") || strings.Contains(out, "replace") {
					t.Fatalf("plan with dns_mode=%s: exit %d, want only an update of dns.mode:\n%s", mode.name, code, out)
				}
				other.apply("6-macvlan-physical")
				checkResolves(t, gateway, web+"."+domain, webIP, mode.resolves)
			}
		},
		afterRm: func(c cli, before, after []string) {
			expectRemoved(t, before, after, []string{"node/" + nas, "node/" + nas + "/device/eth0"})
			// LXD gives the interface back to the host.
			deadline := time.Now().Add(15 * time.Second)
			for exec.Command("ip", "link", "show", lan.Physical).Run() != nil {
				if time.Now().After(deadline) {
					t.Fatalf("%s did not come back to the host after %s was deleted", lan.Physical, nas)
				}
				time.Sleep(200 * time.Millisecond)
			}
			sandbox.HTTPGet(t, "http://"+sandbox.HostIP(lan.Subnet, 11)+"/", 10*time.Second)
		},
	}.run(t, c)
}

// nicType returns the nictype of the instance's expanded eth0 (the managed
// network's type when the NIC names a network).
func nicType(t *testing.T, d *sandbox.Daemon, node string) string {
	t.Helper()
	var inst struct {
		Devices map[string]map[string]string `json:"expanded_devices"`
	}
	mustJSON(t, d.Lxc(t, "query", "/1.0/instances/"+node), &inst)
	eth0 := inst.Devices["eth0"]
	if eth0["network"] != "" {
		var n struct{ Type string }
		mustJSON(t, d.Lxc(t, "query", "/1.0/networks/"+eth0["network"]), &n)
		return n.Type
	}
	return eth0["nictype"]
}

// checkResolves waits until name resolves to want at server (or, with
// resolves false, until it no longer does).
func checkResolves(t *testing.T, server, name, want string, resolves bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		addrs, err := resolve(server, name)
		if resolves == slices.Contains(addrs, want) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("resolving %s at %s: %v %v, want %s present = %s", name, server, addrs, err, want, strconv.FormatBool(resolves))
		}
		time.Sleep(300 * time.Millisecond)
	}
}
