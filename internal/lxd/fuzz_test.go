package lxd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/canonical/lxd/shared/api"
)

// answers are the LXD answers the adapter parses, in one JSON document so
// that the fuzzer can change any of them.
type answers struct {
	Instances []api.Instance       `json:"instances"`
	Networks  []api.Network        `json:"networks"`
	Profiles  []api.Profile        `json:"profiles"`
	Forwards  []api.NetworkForward `json:"forwards"`
	Images    []api.Image          `json:"images"`
	Events    []api.EventLifecycle `json:"events"`
	Used      []string             `json:"used_by"`
	ACLs      []api.NetworkACL     `json:"acls"`
}

// convert runs every conversion of the adapter over a.
func convert(a answers) []any {
	var out []any
	for _, in := range a.Instances {
		out = append(out, instanceFromAPI(in))
	}
	for _, n := range a.Networks {
		out = append(out, networkFromAPI(n), networkETag(n.Description, n.Config))
	}
	for _, p := range a.Profiles {
		out = append(out, usedBy(p.UsedBy), profileETag(p.Description, p.Config, p.Devices))
	}
	for _, f := range a.Forwards {
		fw := forwardFromAPI("br0", f)
		out = append(out, fw, forwardPut(fw))
	}
	for _, acl := range a.ACLs {
		out = append(out, aclFromAPI(acl))
	}
	for _, im := range a.Images {
		out = append(out, imageFromAPI(im))
	}
	for _, ev := range a.Events {
		out = append(out, EventOf(ev.Source), eventRelevant(ev.Source, "default"), eventRelevant(ev.Source, "p"))
	}
	out = append(out, usedBy(a.Used))
	return out
}

// FuzzWireAnswers feeds arbitrary JSON, shaped like the answers of LXD the
// adapter reads (instances with state, networks, profiles, forwards,
// images, lifecycle events, used_by lists), through every conversion into
// the engine's types. None may panic, and each is deterministic: LXD lists
// keys and objects in any order, and a conversion whose result depended on
// map order would make the daemon see drift that is not there. The seeds
// are testdata/answers/*.json; corpus entries the fuzzer finds land in
// testdata/fuzz/FuzzWireAnswers.
func FuzzWireAnswers(f *testing.F) {
	seeds, err := filepath.Glob("testdata/answers/*.json")
	if err != nil || len(seeds) == 0 {
		f.Fatalf("no seed answers: %v", err)
	}
	for _, p := range seeds {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		var a answers
		if err := json.Unmarshal(b, &a); err != nil {
			f.Fatalf("%s: %v", p, err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var a answers
		if json.Unmarshal(b, &a) != nil {
			return
		}
		first := convert(a)
		var again answers
		if err := json.Unmarshal(b, &again); err != nil {
			t.Fatal(err)
		}
		if second := convert(again); !reflect.DeepEqual(first, second) {
			t.Fatalf("converting the same answer twice differs:\n%#v\n%#v", first, second)
		}
	})
}
