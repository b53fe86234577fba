package lxd

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/canonical/lxd/shared/api"
	"github.com/google/go-cmp/cmp"

	"github.com/lxnetd/lxnetd/engine"
)

func TestMapError(t *testing.T) {
	notFound := api.StatusErrorf(http.StatusNotFound, "Network not found")
	stale := api.StatusErrorf(http.StatusPreconditionFailed, "ETag doesn't match")
	other := api.StatusErrorf(http.StatusBadRequest, "bad")

	for _, tc := range []struct {
		err  error
		want error
	}{
		{notFound, engine.ErrNotFound},
		{fmt.Errorf("wrapped: %w", notFound), engine.ErrNotFound},
		{stale, engine.ErrPreconditionFailed},
	} {
		got := mapError(tc.err)
		if !errors.Is(got, tc.want) {
			t.Errorf("mapError(%v) = %v, not %v", tc.err, got, tc.want)
		}
		if got.Error() != tc.err.Error() {
			t.Errorf("mapError changed the message: %q → %q", tc.err, got)
		}
		if !errors.Is(got, tc.err) {
			t.Errorf("mapError(%v) lost the original error", tc.err)
		}
	}
	if got := mapError(other); errors.Is(got, engine.ErrNotFound) || errors.Is(got, engine.ErrPreconditionFailed) || got != other {
		t.Errorf("mapError(400) = %v, want it unchanged", got)
	}
	if mapError(nil) != nil {
		t.Error("mapError(nil) != nil")
	}
}

// An instance's addresses are its NICs' IPv4 reservations (expanded: a
// profile's NIC counts), read from the configuration alone.
func TestNICAddresses(t *testing.T) {
	devices := map[string]map[string]string{
		"eth0": {"type": "nic", "network": "br0", "ipv4.address": "10.231.1.20"},
		"net1": {"type": "nic", "network": "br1", "name": "eth9", "ipv4.address": "10.231.2.2"}, // from a profile
		"net2": {"type": "nic", "network": "br2"},                                               // no reservation
		"net3": {"type": "nic", "network": "br3", "ipv4.address": "none"},
		"net4": {"type": "nic", "network": "br4", "ipv6.address": "fd42::2", "ipv4.address": "fd42::3"},
		"root": {"type": "disk", "path": "/", "ipv4.address": "10.231.9.9"}, // not a NIC
	}
	want := map[string][]string{
		"eth0": {"10.231.1.20"},
		"net1": {"10.231.2.2"},
	}
	if diff := cmp.Diff(want, nicAddresses(devices)); diff != "" {
		t.Errorf("addresses (-want +got):\n%s", diff)
	}
}

func TestETagsTrackWritableState(t *testing.T) {
	cfg := map[string]string{"ipv4.address": "10.231.1.1/24"}
	a := networkETag("d", cfg)
	if a != networkETag("d", map[string]string{"ipv4.address": "10.231.1.1/24"}) {
		t.Error("equal networks hash differently")
	}
	if a == networkETag("d2", cfg) || a == networkETag("d", map[string]string{"ipv4.address": "10.231.1.1/25"}) {
		t.Error("different networks hash equally")
	}
	if networkETag("", nil) != networkETag("", map[string]string{}) {
		t.Error("nil and empty config hash differently")
	}
	dev := map[string]map[string]string{"eth0": {"type": "nic"}}
	if instanceETag("", []string{"a", "b"}, nil, dev) == instanceETag("", []string{"b", "a"}, nil, dev) {
		t.Error("profile order is not part of an instance's state")
	}
	if profileETag("", nil, dev) == profileETag("", nil, map[string]map[string]string{"eth0": {"type": "nic", "network": "x"}}) {
		t.Error("device properties are not part of a profile's state")
	}
	// LXD rewrites volatile.* on every start and stop; UpdateInstance keeps
	// them, so they are no conflict.
	stopped := map[string]string{"limits.cpu": "1", "volatile.last_state.power": "STOPPED"}
	running := map[string]string{"limits.cpu": "1", "volatile.last_state.power": "RUNNING", "volatile.eth0.host_name": "veth1"}
	if instanceETag("", nil, stopped, dev) != instanceETag("", nil, running, dev) {
		t.Error("a start (volatile.* keys only) changes an instance's ETag")
	}
	if instanceETag("", nil, stopped, dev) == instanceETag("", nil, map[string]string{"limits.cpu": "2"}, dev) {
		t.Error("config keys are not part of an instance's state")
	}
}

func TestForwardConversionRoundTrip(t *testing.T) {
	f := engine.Forward{
		Network: "br0", ListenAddress: "198.51.100.10", Description: "d",
		Config: map[string]string{"user.lxnetd.owner": "lxnetd"},
		Ports: []engine.ForwardPort{
			{Protocol: "tcp", ListenPort: "80,443", TargetAddress: "10.231.1.2"},
			{Protocol: "udp", ListenPort: "5000-5010", TargetAddress: "10.231.1.3", TargetPort: "6000-6010", Description: "x"},
		},
	}
	put := forwardPut(f)
	got := forwardFromAPI("br0", api.NetworkForward{ListenAddress: f.ListenAddress, Description: put.Description, Config: put.Config, Ports: put.Ports})
	if diff := cmp.Diff(f, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestEventRelevant(t *testing.T) {
	for _, tc := range []struct {
		source, project string
		want            bool
	}{
		{"/1.0/profiles/p?project=web", "web", true},
		{"/1.0/profiles/p?project=other", "web", false},
		{"/1.0/profiles/p", "web", false},
		{"/1.0/instances/c1?project=web", "web", true},
		{"/1.0/networks/br0", "web", true},
		{"/1.0/networks/br0/forwards/198.51.100.7", "web", true},
		{"/1.0/networks/br0?project=other", "web", false},
		{"/1.0/networks/br0?project=web", "web", true},
	} {
		if got := eventRelevant(tc.source, tc.project); got != tc.want {
			t.Errorf("eventRelevant(%q, %q) = %v", tc.source, tc.project, got)
		}
	}
}

// TestStandaloneLocation: LXD's "none" (no cluster member) is listed as no
// location; member names pass through.
func TestStandaloneLocation(t *testing.T) {
	if got := networkFromAPI(api.Network{Locations: []string{"none"}}).Locations; len(got) != 0 {
		t.Errorf("standalone network locations %q, want none", got)
	}
	if got := networkFromAPI(api.Network{Locations: []string{"m2", "m1"}}).Locations; !cmp.Equal(got, []string{"m2", "m1"}) {
		t.Errorf("cluster network locations %q", got)
	}
	for loc, want := range map[string]string{"none": "", "m1": "m1", "": ""} {
		if got := instanceFromAPI(api.Instance{Location: loc}).Location; got != want {
			t.Errorf("instance location %q listed as %q, want %q", loc, got, want)
		}
	}
}

// TestRefusal: a 404 that refuses a write (a missing image, profile or
// network named by it) loses engine.ErrNotFound, keeps its message and the
// LXD error; other errors pass unchanged.
func TestRefusal(t *testing.T) {
	lxdErr := api.StatusErrorf(http.StatusNotFound, "Image alias not found")
	err := fmt.Errorf("from image %q: %w", "x", mapError(lxdErr))
	got := refusal(err)
	if errors.Is(got, engine.ErrNotFound) || !errors.Is(got, lxdErr) || got.Error() != err.Error() {
		t.Errorf("refusal(%v) = %v (not found: %v, LXD error kept: %v)", err, got, errors.Is(got, engine.ErrNotFound), errors.Is(got, lxdErr))
	}
	stale := mapError(api.StatusErrorf(http.StatusPreconditionFailed, "stale"))
	if refusal(stale) != stale {
		t.Error("refusal changed a 412")
	}

	gone := func() error { return lxdErr }
	there := func() error { return nil }
	if got := refusalUnlessGone(mapError(lxdErr), gone); !errors.Is(got, engine.ErrNotFound) {
		t.Errorf("object gone: %v, want ErrNotFound", got)
	}
	if got := refusalUnlessGone(mapError(lxdErr), there); errors.Is(got, engine.ErrNotFound) || got == nil {
		t.Errorf("object still there: %v, want a refusal", got)
	}
}
