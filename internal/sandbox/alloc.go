package sandbox

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// Address ranges the sandbox hands out. Everything else in 10.231.0.0/16
// (10.231.0-31.x and 10.231.250-255.x) and 203.0.113.0/24 is left for demos,
// examples and manual experiments, so they never collide with tests.
const (
	subnetFirst, subnetLast = 32, 249 // 10.231.X.0/24
	floatFirst, floatLast   = 2, 254  // 198.51.100.N
)

// UniqueName returns a short name that no other test (in any process) uses:
// up to six characters of prefix, "-", and eight random base-36 characters,
// at most 15 characters in all — valid for LXD instances and for bridges,
// whose names become Linux interface names.
func UniqueName(t testing.TB, prefix string) string {
	t.Helper()
	return uniqueName(prefix)
}

func uniqueName(prefix string) string {
	var p []byte
	for _, c := range strings.ToLower(prefix) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && len(p) > 0) {
			p = append(p, byte(c))
		}
	}
	if len(p) == 0 || p[0] < 'a' || p[0] > 'z' {
		p = append([]byte{'t'}, p...)
	}
	if len(p) > 6 {
		p = p[:6]
	}
	p = []byte(strings.TrimRight(string(p), "-"))
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
	r := make([]byte, 8)
	_, _ = rand.Read(r) // never fails (crypto/rand panics instead)
	for i := range r {
		r[i] = alphabet[int(r[i])%len(alphabet)]
	}
	return string(p) + "-" + string(r)
}

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

// pool hands out numbers first..last round-robin, one lease file per number
// holding the owner's pid. Round-robin (a persisted cursor) keeps a number
// just released from being reused at once, while LXD may still tear it down.
type pool struct {
	dir         string
	kind        string // file name prefix: "subnet" or "float"
	first, last int
	format      func(int) string
	inUse       func(string) bool // the resource is taken outside the lease files
}

func subnetPool(dir string) *pool {
	return &pool{
		dir: dir, kind: "subnet", first: subnetFirst, last: subnetLast,
		format: func(x int) string { return fmt.Sprintf("10.231.%d.0/24", x) },
		inUse:  hostUsesSubnet,
	}
}

func floatPool(dir string) *pool {
	return &pool{
		dir: dir, kind: "float", first: floatFirst, last: floatLast,
		format: func(n int) string { return fmt.Sprintf("198.51.100.%d", n) },
		inUse:  func(ip string) bool { return hostUsesSubnet(ip + "/32") },
	}
}

// lease takes the next free number for owner (a pid) and records it.
func (p *pool) lease(owner int) (int, error) {
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return 0, err
	}
	lock, err := os.OpenFile(filepath.Join(p.dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return 0, err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return 0, fmt.Errorf("locking %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)

	cursorFile := filepath.Join(p.dir, p.kind+".next")
	next := p.first
	if b, err := os.ReadFile(cursorFile); err == nil {
		if v, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && v >= p.first && v <= p.last {
			next = v
		}
	}
	size := p.last - p.first + 1
	for i := 0; i < size; i++ {
		n := p.first + (next-p.first+i)%size
		leaseFile := p.leaseFile(n)
		if b, err := os.ReadFile(leaseFile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && processAlive(pid) {
				continue
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			return 0, err
		}
		if p.inUse != nil && p.inUse(p.format(n)) {
			continue
		}
		if err := os.WriteFile(leaseFile, []byte(strconv.Itoa(owner)+"\n"), 0o644); err != nil {
			return 0, err
		}
		after := p.first + (n-p.first+1)%size
		if err := os.WriteFile(cursorFile, []byte(strconv.Itoa(after)+"\n"), 0o644); err != nil {
			return 0, err
		}
		return n, nil
	}
	return 0, fmt.Errorf("all %d %s leases under %s are taken", size, p.kind, p.dir)
}

func (p *pool) release(n int) { _ = os.Remove(p.leaseFile(n)) }

func (p *pool) leaseFile(n int) string {
	return filepath.Join(p.dir, fmt.Sprintf("%s-%d", p.kind, n))
}

func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// hostUsesSubnet reports whether any address on a host interface falls in
// cidr, or cidr's network address lies in a subnet already on an interface.
func hostUsesSubnet(cidr string) bool {
	_, want, err := net.ParseCIDR(cidr)
	if err != nil {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return true
	}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		if want.Contains(ipn.IP) || ipn.Contains(want.IP) {
			return true
		}
	}
	return false
}
