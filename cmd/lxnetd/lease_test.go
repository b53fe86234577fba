package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lxnetd/lxnetd/engine/lease"
	"github.com/lxnetd/lxnetd/engine/spec"
)

// namedStore is a remote's server configuration in memory.
type namedStore struct {
	lease.MemStore
	name string
}

func (n *namedStore) Name() string { return n.name }

// holdByHand writes someone else's lease record by hand.
func holdByHand(t *testing.T, s *namedStore, owner string, h lease.Holder, until time.Time) {
	t.Helper()
	b, err := json.Marshal(lease.Record{Holder: h, Acquired: time.Now().UTC(), Expires: until.UTC()})
	if err != nil {
		t.Fatal(err)
	}
	s.Set(lease.Key(owner), string(b))
}

var leaseTestSettings = spec.Settings{Owner: "edge", LeaseTTL: 30 * time.Second}

func TestHoldLeasesRefusesAndGivesBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := &namedStore{name: "a"}, &namedStore{name: "b"}
		daemon := lease.Holder{Host: "edge-1", PID: 4242, Command: "lxnetd run", ID: "d"}
		holdByHand(t, b, "edge", daemon, time.Now().Add(20*time.Second))
		var stderr bytes.Buffer
		_, release, err := holdLeases(t.Context(), []leaseTarget{a, b}, leaseTestSettings, "lxnetd apply", &stderr, nil)
		if err == nil {
			release()
			t.Fatal("holdLeases succeeded beside a daemon's lease")
		}
		msg := err.Error()
		for _, want := range []string{`remote "b"`, "lxnetd run (pid 4242 on host edge-1)", "user.lxnetd.lease.edge",
			"lxnetd reload", "on host edge-1", time.Now().Add(20 * time.Second).UTC().Format(time.RFC3339)} {
			if !strings.Contains(msg, want) {
				t.Errorf("refusal %q does not mention %q", msg, want)
			}
		}
		if strings.Contains(msg, `remote "a"`) {
			t.Errorf("refusal names remote a, which was free: %q", msg)
		}
		if v, ok := a.Config()[lease.Key("edge")]; ok {
			t.Errorf("the lease taken on a was not given back: %q", v)
		}
	})
}

func TestHoldLeasesNamesAnApplyAndItsExpiry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := &namedStore{name: "a"}
		until := time.Now().Add(25 * time.Second)
		holdByHand(t, a, "edge", lease.Holder{Host: "laptop", PID: 7, Command: "lxnetd apply", ID: "x"}, until)
		_, _, err := holdLeases(t.Context(), []leaseTarget{a}, leaseTestSettings, "lxnetd apply", &bytes.Buffer{}, nil)
		if err == nil || !strings.Contains(err.Error(), "Wait until it has finished") ||
			!strings.Contains(err.Error(), "its lease expires at "+until.UTC().Format(time.RFC3339)) {
			t.Fatalf("refusal %v does not say to wait or when the lease expires", err)
		}
	})
}

func TestHoldLeasesReleaseAndLoss(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := &namedStore{name: "a"}, &namedStore{name: "b"}
		var stderr bytes.Buffer
		ctx, release, err := holdLeases(t.Context(), []leaseTarget{a, b}, leaseTestSettings, "lxnetd apply", &stderr, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []*namedStore{a, b} {
			if v := s.Config()[lease.Key("edge")]; !strings.Contains(v, `"command":"lxnetd apply"`) {
				t.Fatalf("remote %s: lease %q", s.name, v)
			}
		}
		time.Sleep(2*leaseTestSettings.LeaseTTL + time.Second) // kept alive by renewals (not at one now)
		if ctx.Err() != nil {
			t.Fatal("context cancelled while the leases were kept")
		}

		// Someone takes b's lease: the writer's context is cancelled
		// within one renewal interval and stderr says why.
		other := lease.Holder{Host: "h2", PID: 9, Command: "lxnetd run", ID: "o"}
		holdByHand(t, b, "edge", other, time.Now().Add(time.Hour))
		select {
		case <-ctx.Done():
		case <-time.After(leaseTestSettings.LeaseTTL/3 + time.Second):
			t.Fatal("context not cancelled after the lease was lost")
		}
		if !strings.Contains(stderr.String(), `remote "b"`) || !strings.Contains(stderr.String(), "starting no further writes") {
			t.Errorf("stderr %q does not report the loss", stderr.String())
		}
		release()
		release()
		if _, ok := a.Config()[lease.Key("edge")]; ok {
			t.Error("a's lease not released")
		}
		if v := b.Config()[lease.Key("edge")]; !strings.Contains(v, `"id":"o"`) {
			t.Errorf("release touched the lease another writer took: %q", v)
		}
	})
}

// TestEarlyLeasesHandOverAndGiveBack: apply takes every remote's lease
// while it observes; holdLeases uses those of the remotes it writes,
// releaseRest gives back the others, and a lease someone else holds is an
// error only where something is written — and is never touched.
func TestEarlyLeasesHandOverAndGiveBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, c := &namedStore{name: "a"}, &namedStore{name: "b"}, &namedStore{name: "c"}
		daemon := lease.Holder{Host: "edge-1", PID: 4242, Command: "lxnetd run", ID: "d"}
		holdByHand(t, c, "edge", daemon, time.Now().Add(20*time.Second))
		daemonRecord := c.Config()[lease.Key("edge")]
		key := lease.Key("edge")

		early := newEarlyLeases(t.Context(), leaseTestSettings, "lxnetd apply")
		for _, s := range []*namedStore{a, b, c} {
			early.start(s)
		}
		_, release, err := holdLeases(t.Context(), []leaseTarget{a}, leaseTestSettings, "lxnetd apply", &bytes.Buffer{}, early)
		if err != nil {
			t.Fatalf("holdLeases with a's early lease: %v", err)
		}
		if v := a.Config()[key]; !strings.Contains(v, `"lxnetd apply"`) {
			t.Fatalf("a's lease while held: %q", v)
		}
		early.releaseRest()
		if v, ok := b.Config()[key]; ok {
			t.Errorf("b had nothing to write, but its early lease stayed: %q", v)
		}
		if v := c.Config()[key]; v != daemonRecord {
			t.Errorf("the daemon's lease on c changed: %q, was %q", v, daemonRecord)
		}
		if v := a.Config()[key]; !strings.Contains(v, `"lxnetd apply"`) {
			t.Errorf("releaseRest gave back a's lease, which holdLeases had taken: %q", v)
		}
		release()
		if v, ok := a.Config()[key]; ok {
			t.Errorf("a's lease after release: %q", v)
		}

		early = newEarlyLeases(t.Context(), leaseTestSettings, "lxnetd apply")
		early.start(c)
		_, _, err = holdLeases(t.Context(), []leaseTarget{c}, leaseTestSettings, "lxnetd apply", &bytes.Buffer{}, early)
		if err == nil || !strings.Contains(err.Error(), "lxnetd run (pid 4242 on host edge-1)") {
			t.Errorf("writing beside the daemon's early-refused lease: %v", err)
		}
		early.releaseRest()
		if v := c.Config()[key]; v != daemonRecord {
			t.Errorf("the daemon's lease on c changed: %q", v)
		}
	})
}
