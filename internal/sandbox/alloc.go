package sandbox

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Address ranges the sandbox hands out. Everything else in 10.231.0.0/16
// (10.231.0-31.x and 10.231.250-255.x) and 203.0.113.0/24 is left for demos,
// examples and manual experiments, so they never collide with tests.
const (
	subnetFirst, subnetLast = 32, 249 // 10.231.X.0/24
	floatFirst, floatLast   = 2, 254  // 198.51.100.N
)

// AllocSubnet returns a 10.231.X.0/24 that no other test holds and that is
// on no host interface. The lease lives under the sandbox directory (locked
// with flock, so it is shared by every test process) and is released in
// t.Cleanup; leases of processes that died are taken back.
func AllocSubnet(t testing.TB) string {
	t.Helper()
	p := subnetPool(filepath.Join(Dir(), "alloc"))
	x, err := p.lease(os.Getpid())
	if err != nil {
		t.Fatalf("allocating a sandbox subnet: %v", err)
	}
	t.Cleanup(func() { p.release(x) })
	return p.format(x)
}

// HostIP returns address number host of a /24 written "a.b.c.0/24":
// HostIP("10.231.40.0/24", 10) == "10.231.40.10". The gateway of a sandbox
// bridge is host 1.
func HostIP(cidr string, host int) string {
	_, n, err := net.ParseCIDR(cidr)
	if err != nil || host < 0 || host > 255 {
		panic(fmt.Sprintf("sandbox.HostIP(%q, %d): not a /24 and host number", cidr, host))
	}
	ip := n.IP.To4()
	return fmt.Sprintf("%d.%d.%d.%d", ip[0], ip[1], ip[2], host)
}

// FloatingIP returns an address in 198.51.100.0/24 that no other test
// holds, put as a /32 on the sandbox's veth lxnfl0 so network forwards can
// listen on it; the address and its lease are removed in t.Cleanup.
func FloatingIP(t testing.TB) string {
	t.Helper()
	link := "lxnfl0"
	if st, err := loadState(Dir()); err == nil && st["FLOAT_LINK"] != "" {
		link = st["FLOAT_LINK"]
	}
	if _, err := net.InterfaceByName(link); err != nil {
		t.Fatalf("sandbox floating-IP link %s is missing (run make sandbox-up): %v", link, err)
	}
	p := floatPool(filepath.Join(Dir(), "alloc"))
	n, err := p.lease(os.Getpid())
	if err != nil {
		t.Fatalf("allocating a sandbox floating IP: %v", err)
	}
	ip := p.format(n)
	if out, err := exec.Command("ip", "addr", "add", ip+"/32", "dev", link).CombinedOutput(); err != nil {
		p.release(n)
		t.Fatalf("adding floating IP %s to %s: %v: %s", ip, link, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "addr", "del", ip+"/32", "dev", link).CombinedOutput(); err != nil {
			t.Errorf("removing floating IP %s from %s: %v: %s", ip, link, err, out)
		}
		p.release(n)
	})
	return ip
}

func loadState(dir string) (map[string]string, error) {
	f, err := os.Open(filepath.Join(dir, "state.env"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseState(f)
}
