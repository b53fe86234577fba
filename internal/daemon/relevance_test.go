package daemon

import (
	"testing"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/spec"
)

func TestRelevance(t *testing.T) {
	r := &spec.Remote{
		Networks:  []spec.Network{{Name: "br0"}},
		Profiles:  []spec.Profile{{Name: "web", Devices: map[string]spec.Device{"eth0": {"type": "nic", "network": "br1"}}}},
		Instances: []spec.Instance{{Name: "web1", Profiles: []string{"default", "web"}, Network: "br2"}},
		Forwards:  []spec.Forward{{Network: "br3", Ports: []spec.ForwardPort{{TargetNode: "web2"}}}},
		Exposures: []spec.Exposure{{Instance: "web3", Network: "br4"}},
	}
	net := func(n string) engine.Event {
		return engine.Event{Object: engine.Address{Kind: engine.KindNetwork, Name: n}}
	}
	fwd := func(n string) engine.Event {
		return engine.Event{Object: engine.Address{Kind: engine.KindForward, Network: n, Name: "198.51.100.10"}}
	}
	prof := func(n string) engine.Event {
		return engine.Event{Object: engine.Address{Kind: engine.KindProfile, Name: n}}
	}
	node := func(n string) engine.Event {
		return engine.Event{Object: engine.Address{Kind: engine.KindNode, Name: n}}
	}
	rel := newRelevance(r)
	for _, c := range []struct {
		ev   engine.Event
		want bool
	}{
		{net("br0"), true}, {net("br1"), true}, {net("br2"), true}, {fwd("br3"), true}, {net("br4"), true},
		{net("other"), false}, {fwd("other"), false},
		{prof("web"), true}, {prof("default"), true}, {prof("theirs"), false},
		{node("web1"), true}, {node("web2"), true}, {node("web3"), true}, {node("bk-123"), false},
		{engine.Event{Unplanned: true}, false},
		{engine.Event{}, true}, // not understood: relevant, to be safe
	} {
		if got := rel.wants(c.ev); got != c.want {
			t.Errorf("wants(%+v) = %v, want %v", c.ev, got, c.want)
		}
	}
	if newRelevance(nil).wants(net("x")) {
		t.Error("an empty desired set wants network events")
	}
}
