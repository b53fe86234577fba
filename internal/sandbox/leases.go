package sandbox

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

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
