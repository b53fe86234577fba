package daemon

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/engine/lease"
	"github.com/lxnetd/lxnetd/engine/spec"
)

func (s *fakeSession) Leases() LeaseStore { return s.lxd.leaseStore(s.name) }

// leaseStore is the fake remote's server configuration.
func (f *fakeLXD) leaseStore(name string) *lease.MemStore {
	s, _ := f.leases.LoadOrStore(name, &lease.MemStore{})
	return s.(*lease.MemStore)
}

// leaseTTL of the unit tests: short, so a standby retries every 200ms.
const testTTL = 600 * time.Millisecond

// withLease makes a harness daemon use a short lease time, a fixed owner and
// a holder of its own.
func withLease(name string) func(*Daemon) {
	return func(d *Daemon) {
		d.Load = func(dir string) (*spec.Config, error) {
			cfg, err := fakeLoader(dir)
			if cfg != nil {
				cfg.Settings.Owner, cfg.Settings.LeaseTTL = "edge", testTTL
			}
			return cfg, err
		}
		d.Holder = lease.Holder{Host: name + "-host", PID: 1, Command: "lxnetd run", ID: name}
	}
}

func (h *harness) remote(name string) RemoteStatus {
	h.t.Helper()
	for _, r := range h.ask("status").Status.Remotes {
		if r.Name == name {
			return r
		}
	}
	h.t.Fatalf("no remote %q in status", name)
	return RemoteStatus{}
}

func TestStandbyTakesOverWhenTheActiveStops(t *testing.T) {
	lxd := newFakeLXD()
	files := map[string]string{"a.hcl": "remote a 2\n"}
	one := startDaemonWith(t, files, lxd, withLease("one"))
	eventually(t, "one active and converged", func() bool {
		r := one.remote("a")
		return r.State == StateConverged && r.Lease == LeaseHeld
	})
	two := startDaemonWith(t, files, lxd, withLease("two"))
	eventually(t, "two standing by", func() bool {
		r := two.remote("a")
		return r.State == StateStandby && r.Lease == LeaseStandby && strings.Contains(r.LeaseHolder, "one-host")
	})
	st := two.ask("status").Status
	if line := st.Line(); !strings.Contains(line, "a: standby, lxnetd run (pid 1 on host one-host) holds the lease until") {
		t.Errorf("STATUS line %q does not say who holds the lease", line)
	}
	if st.Converged() {
		t.Error("a standby reports itself converged")
	}

	passes := lxd.passCount("a")
	one.cancel() // SIGTERM: one releases the lease
	<-one.done
	one.done <- nil // for its cleanup
	eventually(t, "two took over and converged", func() bool {
		r := two.remote("a")
		return r.State == StateConverged && r.Lease == LeaseHeld && r.LeaseHolder == ""
	})
	if lxd.passCount("a") <= passes {
		t.Error("two converged without a pass")
	}
	if v := lxd.leaseStore("a").Config()[lease.Key("edge")]; !strings.Contains(v, `"id":"two"`) {
		t.Errorf("lease record %q, want two's", v)
	}
}

func TestLostLeaseStandsByAndTakesItBack(t *testing.T) {
	lxd := newFakeLXD()
	h := startDaemonWith(t, map[string]string{"a.hcl": "remote a 1\n"}, lxd, withLease("one"))
	eventually(t, "active", func() bool { return h.remote("a").Lease == LeaseHeld })

	// Someone else's record replaces ours (written by hand, or a writer
	// whose clock ran ahead): the keeper notices at its next renewal.
	store := lxd.leaseStore("a")
	other := lease.Holder{Host: "laptop", PID: 7, Command: "lxnetd apply", ID: "other"}
	store.Set(lease.Key("edge"), `{"holder":{"host":"laptop","pid":7,"command":"lxnetd apply","id":"other"},"acquired":"2000-01-01T00:00:00Z","expires":"2100-01-01T00:00:00Z"}`)
	eventually(t, "standing by after the loss", func() bool {
		r := h.remote("a")
		return r.State == StateStandby && r.LeaseHolder == other.String()
	})

	// The other writer gives it back: the standby takes it within a third
	// of the lease time and converges.
	store.Set(lease.Key("edge"), "")
	eventually(t, "active again", func() bool {
		r := h.remote("a")
		return r.State == StateConverged && r.Lease == LeaseHeld
	})
}

func TestOwnerChangeReleasesTheOldLease(t *testing.T) {
	lxd := newFakeLXD()
	var owner atomic.Value
	owner.Store("edge")
	h := startDaemonWith(t, map[string]string{"a.hcl": "remote a 1\n"}, lxd, func(d *Daemon) {
		withLease("one")(d)
		load := d.Load
		d.Load = func(dir string) (*spec.Config, error) {
			cfg, err := load(dir)
			if cfg != nil {
				cfg.Settings.Owner = owner.Load().(string)
			}
			return cfg, err
		}
	})
	eventually(t, "active", func() bool { return h.remote("a").Lease == LeaseHeld })
	owner.Store("edge2")
	if resp := h.ask("reload"); !resp.OK {
		t.Fatalf("reload: %+v", resp)
	}
	store := lxd.leaseStore("a")
	eventually(t, "the new owner's lease taken and the old one released", func() bool {
		c := store.Config()
		_, old := c[lease.Key("edge")]
		return !old && strings.Contains(c[lease.Key("edge2")], `"id":"one"`)
	})
}
