package engine

import (
	"fmt"
	"slices"
	"strings"

	"github.com/lxnetd/lxnetd/engine/spec"
)

// Forwards on LXD cluster members. On a cluster, a network forward of a
// bridge belongs to one member (LXD lists it with that member as its
// location, and writes reach it only through that member: a request with
// ?target=MEMBER), and the same listen address may have a forward on each
// member, since each member's bridge is its own island. One list of a
// network's forwards returns those of every member, so observing a
// cluster costs no more requests than a standalone server.
//
// The configuration places a forward on a member (spec.Forward.Target: the
// forward block's target, or the member of the nodes its ports point at;
// for a service port with via = "forward", the node's target). A placed
// forward found on another member is replaced: deleted there, created on
// its member. A forward without a placement may be on any member: it is
// matched wherever it is, and created on the member the request reaches.
// Observed forwards are keyed by member, never by list order.

// address is the plan address of the forward k names.
func (k fwdKey) address() Address {
	return Address{Kind: KindForward, Network: k.Network, Name: k.Listen, Member: k.Member}
}

// anyMember is k without its member: the key of the desired forward of
// that listen address (the configuration has one per network and listen
// address).
func (k fwdKey) anyMember() fwdKey { return fwdKey{Network: k.Network, Listen: k.Listen} }

// placeForward sets the member a desired forward goes on, from one of the
// blocks it is compiled from; member "" says nothing. Two blocks that place
// it on different members are a problem (one forward is on one member).
func (d *desired) placeForward(it *item[Forward], member, src string, pos spec.Pos) {
	switch {
	case member == "" || it.obj.Location == member:
	case it.obj.Location == "":
		it.obj.Location, it.placedBy = member, src
	default:
		d.problems = append(d.problems, Problem{
			Addr: src, Pos: pos,
			Summary: fmt.Sprintf("the forward on %s is placed on cluster member %q by %s, but %s places it on %q",
				it.obj.ListenAddress, it.obj.Location, it.placedBy, src, member),
			Detail: "a forward is on one cluster member: point all ports of one listen address at nodes of one member, or use another listen address",
		})
	}
}

// observedForward finds the observed forward that the desired forward k
// (member want, "" for any) describes: the one on its member, else the one
// on the first other member in name order. moved says it is on another
// member than the placed one.
func (pl *planner) observedForward(k fwdKey, want string) (key fwdKey, obs Forward, exists, moved bool) {
	if f, ok := pl.obs.forwards[fwdKey{k.Network, k.Listen, want}]; ok {
		return fwdKey{k.Network, k.Listen, want}, f, true, false
	}
	var members []fwdKey
	for ok := range pl.obs.forwards {
		if ok.Network == k.Network && ok.Listen == k.Listen {
			members = append(members, ok)
		}
	}
	if len(members) == 0 {
		return fwdKey{}, Forward{}, false, false
	}
	key = slices.MinFunc(members, func(a, b fwdKey) int { return strings.Compare(a.Member, b.Member) })
	return key, pl.obs.forwards[key], true, want != ""
}

// createForward plans the create of a declared forward on its member, or,
// when moved (an observed forward, obs, is on another member than the
// configuration places it on), its replace: an owned one is deleted there,
// then created on its member (LXD cannot move a forward); a forward there
// that is not this owner's is left alone, and the placed one is created
// beside it.
func (pl *planner) createForward(it *item[Forward], want Forward, obs Forward, moved bool) {
	addr := Address{Kind: KindForward, Network: want.Network, Name: want.ListenAddress, Member: want.Location}
	want.Config = withTags(want.Config, pl.owner, nil)
	c := &Change{Addr: addr, Action: Create, Sources: it.sources, Pos: it.pos, Forward: &want}
	c.Diffs = append(creationDiffs(want.Description, want.Config, nil), diffPorts(nil, want.Ports)...)
	target := KeyDiff{Key: "target", After: &want.Location}
	if moved && ownershipOf(obs.Config, pl.owner).owned {
		pl.plan.Owned++
		c.Action, c.From = Replace, &obs
		c.Reason = fmt.Sprintf("the forward is on cluster member %q, and LXD cannot move it to %q", obs.Location, want.Location)
		target.Before, target.Forces = &obs.Location, true
	}
	if want.Location != "" {
		c.Diffs = append(c.Diffs, target)
	}
	pl.add(c)
}
