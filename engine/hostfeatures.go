package engine

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Some network configurations depend on the remote's host, not on its LXD:
// a kernel device type, an iproute2 feature, a service beside LXD. The API
// cannot show them before a write (a GRE tunnel is a valid config on every
// LXD 5.0; whether the kernel has gretap is only learnt when LXD runs `ip
// link add`), so neither validate nor the plan's server checks can refuse
// them. Instead, the write LXD refuses is translated here into an error
// that says what is missing, on which remote, and what to do, with LXD's
// own message kept as the cause.
//
// A failed network create must also leave nothing behind. A standalone LXD
// 5.0.2 deletes the network itself when the create fails (checked for GRE,
// fan, OVN and the three Open vSwitch problems), and rolls a failed update back to the previous config. An
// LXD cluster keeps a failed global create as an ERRORED network; the LXD
// adapter (internal/lxd createClusterNetwork) deletes it at once, best
// effort. Whatever still remains, on any Remote, is caught here: after a
// failed create lxnetd reads the network once, and an ERRORED network
// carrying this plan's owner tag is deleted, so the next plan proposes a
// clean create again. The error says what was found.
//
// Each known failure is one entry of hostFeatures (what recognises LXD's
// message and the words for people); a new one is one more entry. This is
// the one place that does it: the LXD adapter passes LXD's errors on as
// they are, Open vSwitch's included (hostfeatures_ovs.go).

// HostFeatureError is a write the remote refused because its host lacks
// something (a kernel feature, a tool, a service) that the configuration
// needs and that the API cannot reveal beforehand.
type HostFeatureError struct {
	Remote  string // the remote's name in the configuration
	Server  string // "LXD 5.0.2", or "" when unknown
	Feature string // what the configuration asked for
	Missing string // what the host lacks
	Hint    string // what to do
	// Aftermath says what is left of the object, as read back after the
	// failure ("" when it was not checked).
	Aftermath string
	Err       error // LXD's error
}

func (e *HostFeatureError) Error() string {
	who := fmt.Sprintf("remote %q", e.Remote)
	if e.Server != "" {
		who += " (" + e.Server + ")"
	}
	msg := fmt.Sprintf("%s cannot provide %s: its host lacks %s; %s", who, e.Feature, e.Missing, e.Hint)
	if e.Aftermath != "" {
		msg += ". " + e.Aftermath
	}
	return msg + ". LXD said: " + firstLine(e.Err.Error())
}

func (e *HostFeatureError) Unwrap() error { return e.Err }

// hostFeature recognises one host-dependent failure in LXD's error text.
type hostFeature struct {
	// match reports whether msg, LXD's error for network change c, is
	// this failure.
	match            func(msg string, c *Change) bool
	feature, missing string
	hint             string
}

// pattern matches LXD's message against the regular expression re,
// whatever the change.
func pattern(re string) func(msg string, c *Change) bool {
	r := regexp.MustCompile(re)
	return func(msg string, _ *Change) bool { return r.MatchString(msg) }
}

// hostFeatures are the failures known from LXD 5.0.2 on hosts without the
// feature (the messages are LXD's and iproute2's, quoted in the tests),
// Open vSwitch's (ovsFeatures) last.
var hostFeatures = append([]hostFeature{
	{
		// ip link add X type gretap …: "Error: Unknown device type."
		match:   pattern(`type gretap\b.*Unknown device type`),
		feature: `GRE tunnels (tunnel.NAME.protocol = "gre")`,
		missing: "the kernel's gretap device type (module ip_gre)",
		hint:    `use protocol "vxlan" instead, or load ip_gre on that host (modprobe ip_gre) and apply again`,
	},
	{
		// ip link add X-fan type vxlan … fan-map …: vxlan: unknown command "fan-map"
		match:   pattern(`unknown command "fan-map"`),
		feature: `fan networking (bridge.mode = "fan")`,
		missing: "Ubuntu's fan support (fan-map in iproute2 and the kernel)",
		hint:    "span the hosts with VXLAN tunnels (tunnel.NAME.* keys on a plain bridge) instead, or run that remote on an Ubuntu host with fan support",
	},
	{
		// Failed to get OVN client: … ovs-vsctl … database connection failed
		match:   pattern(`Failed to get OVN client`),
		feature: `OVN networks (type = "ovn")`,
		missing: "a running OVN (Open vSwitch with ovn-controller, and the OVN databases LXD's network.ovn.northbound_connection names)",
		hint:    `install and start OVN on that host and point network.ovn.northbound_connection at it, or use type = "bridge"`,
	},
}, ovsFeatures...)

// explainNetworkFailure turns err, the failure of network change c on r,
// into a HostFeatureError when it is a known host-dependent one, and after a
// failed create removes the ERRORED network LXD may have kept. Other errors
// are returned unchanged, except for what the cleanup has to say.
func explainNetworkFailure(ctx context.Context, r Remote, c *Change, err error) error {
	if err == nil || c.Network == nil {
		return err
	}
	aftermath := ""
	if c.Action == Create || c.Action == Replace {
		aftermath = removeErroredNetwork(ctx, r, c.Network)
		if c.Action == Replace && aftermath != "" {
			aftermath = "The replace had deleted the old network; " + aftermath
		}
	}
	msg := err.Error()
	for _, f := range hostFeatures {
		if f.match(msg, c) {
			return &HostFeatureError{Remote: r.Name(), Server: serverOf(r).String(),
				Feature: f.feature, Missing: f.missing, Hint: f.hint, Aftermath: aftermath, Err: err}
		}
	}
	if aftermath != "" {
		return fmt.Errorf("%w (%s)", err, aftermath)
	}
	return err
}

// removeErroredNetwork reads network want back after its create failed and
// deletes it if LXD kept it ERRORED with want's owner tag (so it is the
// one this apply created). It says what it found, for the error.
func removeErroredNetwork(ctx context.Context, r Remote, want *Network) string {
	owner := want.Config[TagOwner]
	got, err := r.GetNetwork(ctx, want.Name)
	switch {
	case errors.Is(err, ErrNotFound):
		return "LXD kept nothing of the network"
	case err != nil:
		return fmt.Sprintf("whether LXD kept the network is unknown (reading it back: %v)", err)
	case !strings.EqualFold(got.Status, "Errored") || owner == "" || got.Config[TagOwner] != owner:
		return ""
	}
	if err := r.DeleteNetwork(ctx, want.Name); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Sprintf("LXD kept the network ERRORED and deleting it failed (%v): delete it with `lxc network delete %s`", err, want.Name)
	}
	return "LXD kept the network ERRORED; lxnetd deleted it"
}

// firstLine is s up to its first line break: iproute2 follows some errors
// with its whole usage text.
func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return strings.TrimRight(s[:i], " ?") + " …"
	}
	return s
}
