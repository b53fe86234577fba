package engine_test

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/enginetest"
)

func observe(t *testing.T, r engine.Remote) *engine.Observation {
	t.Helper()
	o, err := engine.Observe(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	return o
}

// applied is a fake remote with web() applied, plus objects of others: an
// unowned instance and profile, and a profile of another owner.
func applied(t *testing.T) *enginetest.Fake {
	t.Helper()
	f := enginetest.New("local")
	apply(t, f, plan(t, f, web(), settings))
	f.Instances["theirs"] = engine.Instance{Name: "theirs", Type: "container", Status: "Stopped",
		Config: map[string]string{"volatile.last_state.power": "STOPPED"}, Profiles: []string{"default"}}
	f.Profiles["other"] = engine.Profile{Name: "other", Config: map[string]string{engine.TagOwner: "someone-else"}}
	return f
}

// TestDigestCoversDeclaredAndOwned: the digest holds every declared or owned
// object, and nothing of other users.
func TestDigestCoversDeclaredAndOwned(t *testing.T) {
	f := applied(t)
	// An owned profile no longer declared is in it (the plan deletes it).
	f.Profiles["old"] = engine.Profile{Name: "old", Config: map[string]string{engine.TagOwner: "test"}}
	d := observe(t, f).Digest(web(), "test")
	got := slices.Sorted(maps.Keys(d))
	want := []string{"forward.br0/198.51.100.10", "network.br0", "node.web1", "profile.old", "profile.web"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("digest addresses (-want +got):\n%s", diff)
	}
	if d["node.web1"]["status"] == "" || d["forward.br0/198.51.100.10"]["ports"] == "" || d["profile.web"]["config.limits.memory"] == "" {
		t.Fatalf("digest lacks fields: %v", d)
	}
}

// TestDigestIgnoresWhatChangesOnItsOwn: volatile keys, ETags, used_by,
// addresses, port order and other users' objects do not change the digest.
func TestDigestIgnoresWhatChangesOnItsOwn(t *testing.T) {
	f := applied(t)
	before := observe(t, f).Digest(web(), "test")

	i := f.Instances["web1"]
	i.Config["volatile.last_state.power"] = "RUNNING"
	i.ETag = "changed"
	f.Instances["web1"] = i
	th := f.Instances["theirs"]
	th.Status = "Running"                                                                // someone else's container starting
	th.Devices = map[string]map[string]string{"eth0": {"type": "nic", "network": "br0"}} // and joining br0 (used_by)
	f.Instances["theirs"] = th
	fw := f.Forwards["br0"]["198.51.100.10"]
	slices.Reverse(fw.Ports) // LXD's order of ports is no promise
	f.Forwards["br0"]["198.51.100.10"] = fw
	o := f.Profiles["other"]
	o.Description = "theirs changed"
	f.Profiles["other"] = o

	after := observe(t, f).Digest(web(), "test")
	if ch := engine.CompareDigests(before, after); len(ch) != 0 {
		t.Fatalf("digest changed: %+v", ch)
	}
}

// TestCompareDigestsNamesWhatChanged: a hand-edited forward port, a profile
// key, a vanished object and one that appeared are named with their fields.
func TestCompareDigestsNamesWhatChanged(t *testing.T) {
	f := applied(t)
	before := observe(t, f).Digest(web(), "test")

	fw := f.Forwards["br0"]["198.51.100.10"]
	fw.Ports[0].TargetPort = "8080" // lxc network forward port remove + add
	f.Forwards["br0"]["198.51.100.10"] = fw
	p := f.Profiles["web"]
	p.Config["user.note"] = "by hand"
	f.Profiles["web"] = p
	i := f.Instances["web1"]
	i.Status = "Stopped"
	f.Instances["web1"] = i
	delete(f.Networks, "br0")
	f.Profiles["late"] = engine.Profile{Name: "late", Config: map[string]string{engine.TagOwner: "test"}}

	got := engine.CompareDigests(before, observe(t, f).Digest(web(), "test"))
	want := []engine.DigestChange{
		{Addr: "forward.br0/198.51.100.10", What: "vanished"}, // its network is gone: no forward list
		{Addr: "network.br0", What: "vanished"},
		{Addr: "node.web1", What: "changed", Fields: []string{"status"}},
		{Addr: "profile.late", What: "appeared"},
		{Addr: "profile.web", What: "changed", Fields: []string{"config.user.note"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("changes (-want +got):\n%s", diff)
	}

	// The forward alone.
	f = applied(t)
	before = observe(t, f).Digest(web(), "test")
	fw = f.Forwards["br0"]["198.51.100.10"]
	fw.Ports[0].TargetPort = "8080"
	f.Forwards["br0"]["198.51.100.10"] = fw
	got = engine.CompareDigests(before, observe(t, f).Digest(web(), "test"))
	want = []engine.DigestChange{{Addr: "forward.br0/198.51.100.10", What: "changed", Fields: []string{"ports"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("forward port change (-want +got):\n%s", diff)
	}
}

// TestDigestOfDeclaredObjectThatAppears: a declared object missing at plan
// time that someone creates before apply is named as appeared.
func TestDigestOfDeclaredObjectThatAppears(t *testing.T) {
	f := enginetest.New("local")
	before := observe(t, f).Digest(web(), "test")
	if len(before) != 0 {
		t.Fatalf("empty remote has a digest: %v", before)
	}
	f.Networks["br0"] = engine.Network{Name: "br0", Type: "bridge", Managed: true, Config: map[string]string{}}
	got := engine.CompareDigests(before, observe(t, f).Digest(web(), "test"))
	if diff := cmp.Diff([]engine.DigestChange{{Addr: "network.br0", What: "appeared"}}, got); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
}

// TestChangesRoundTripJSON: creates, updates (with patches and observed
// objects) and deletes read back equal from their JSON.
func TestChangesRoundTripJSON(t *testing.T) {
	f := enginetest.New("local")
	creates := plan(t, f, web(), settings)
	apply(t, f, creates)
	fw := f.Forwards["br0"]["198.51.100.10"]
	fw.Ports = fw.Ports[:1]
	f.Forwards["br0"]["198.51.100.10"] = fw
	pr := f.Profiles["web"]
	pr.Config["limits.memory"] = "1GiB"
	f.Profiles["web"] = pr
	i := f.Instances["web1"]
	i.Status = "Stopped"
	f.Instances["web1"] = i
	f.Profiles["old"] = engine.Profile{Name: "old", Config: map[string]string{engine.TagOwner: "test", "user.x": "y"}}
	updates := plan(t, f, web(), settings)
	if len(updates.Changes) != 4 {
		t.Fatalf("want 4 changes (3 updates, 1 delete), got %v", addrs(updates))
	}
	for _, p := range []*engine.Plan{creates, updates} {
		b, err := json.Marshal(p.Changes)
		if err != nil {
			t.Fatal(err)
		}
		var back []*engine.Change
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(p.Changes, back); diff != "" {
			t.Fatalf("round trip (-want +got):\n%s", diff)
		}
		for i := range back {
			if back[i].Fingerprint() != p.Changes[i].Fingerprint() {
				t.Fatalf("fingerprint of %s changed in the round trip", back[i].Addr)
			}
		}
	}
}

// TestFingerprintIgnoresETagsAndVolatile: the same change planned from two
// observations that differ only in ETags, volatile keys and used_by has the
// same fingerprint; a different change does not.
func TestFingerprintIgnoresETagsAndVolatile(t *testing.T) {
	f := applied(t)
	pr := f.Profiles["web"]
	pr.Config["limits.memory"] = "1GiB"
	f.Profiles["web"] = pr
	i := f.Instances["web1"]
	i.Status = "Stopped"
	f.Instances["web1"] = i
	first := plan(t, f, web(), settings)

	pr = f.Profiles["web"]
	pr.ETag = "other"
	f.Profiles["web"] = pr
	i = f.Instances["web1"]
	i.ETag, i.Config["volatile.last_state.power"] = "other", "STOPPED"
	f.Instances["web1"] = i
	second := plan(t, f, web(), settings)
	if len(first.Changes) != 2 || len(second.Changes) != 2 {
		t.Fatalf("want 2 changes, got %v and %v", addrs(first), addrs(second))
	}
	for k := range first.Changes {
		if first.Changes[k].Fingerprint() != second.Changes[k].Fingerprint() {
			t.Errorf("fingerprint of %s differs", first.Changes[k].Addr)
		}
	}

	pr = f.Profiles["web"]
	pr.Config["limits.memory"] = "2GiB"
	f.Profiles["web"] = pr
	third := plan(t, f, web(), settings)
	if first.Changes[0].Addr.String() != "profile.web" || third.Changes[0].Fingerprint() == first.Changes[0].Fingerprint() {
		t.Errorf("a different update of profile.web has the same fingerprint")
	}
}

func TestAddressUnmarshalText(t *testing.T) {
	for _, s := range []string{"network.br0", "profile.web", "node.web1", "forward.br0/198.51.100.10", "forward.br0/2001:db8::1"} {
		var a engine.Address
		if err := a.UnmarshalText([]byte(s)); err != nil || a.String() != s {
			t.Errorf("%q: %v, read back %q", s, err, a.String())
		}
	}
	for _, s := range []string{"", "node", "node.", "disk.x", "forward.br0", "forward./1.2.3.4"} {
		var a engine.Address
		if err := a.UnmarshalText([]byte(s)); err == nil {
			t.Errorf("%q: accepted as %v", s, a)
		}
	}
}
