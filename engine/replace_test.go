package engine_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/enginetest"
	"github.com/lxnetd/lxnetd/engine/spec"
)

const (
	fpV1 = "1111111111111111111111111111111111111111111111111111111111111111"
	fpV2 = "2222222222222222222222222222222222222222222222222222222222222222"
)

// group is a for_each'd node block: node.web["a"], node.web["b"], ... each
// from image.
func group(image string, keys ...string) *spec.Remote {
	d := &spec.Remote{Name: "local"}
	for _, k := range keys {
		d.Instances = append(d.Instances, spec.Instance{Meta: spec.Meta{Addr: `node.web["` + k + `"]`}, Name: "web-" + k, Image: image})
	}
	return d
}

func planOpts(t *testing.T, r engine.Remote, d *spec.Remote, s spec.Settings, opts engine.PlanOptions) *engine.Plan {
	t.Helper()
	p, err := engine.NewPlan(context.Background(), r, d, s, opts)
	if err != nil {
		t.Fatalf("plan: %v", err)
	}
	return p
}

func forcedKeys(c *engine.Change) []string {
	var out []string
	for _, d := range c.Diffs {
		if d.Forces {
			out = append(out, d.Key)
		}
	}
	return out
}

// An alias that now points at another image replaces the node: blocked
// without delete_instances, planned with it, and converged afterwards.
func TestImageAliasMovedIsReplace(t *testing.T) {
	f := enginetest.New("local")
	f.AddImage(fpV1, "web")
	d := group("web", "a")
	p := plan(t, f, d, settings)
	if p.ImagesListed {
		t.Error("a plan that only creates listed the images")
	}
	apply(t, f, p)
	if got := f.Instances["web-a"].Config["volatile.base_image"]; got != fpV1 {
		t.Fatalf("base image %q", got)
	}
	if p := plan(t, f, d, settings); !p.Empty() || len(p.Blockers) != 0 || !p.ImagesListed {
		t.Fatalf("unchanged: %v %q listed=%v", addrs(p), p.Blockers, p.ImagesListed)
	}

	f.AddImage(fpV2, "web") // the alias moves to a new image
	p = plan(t, f, d, settings)
	if !p.Empty() || len(p.Blockers) != 1 {
		t.Fatalf("without delete_instances: %v %q", addrs(p), p.Blockers)
	}
	for _, want := range []string{`node.web["a"] is not replaced`, `image changes from "111111111111" to "web (222222222222)"`,
		"delete_instances = true", `lxnetd apply --replace 'node.web["a"]'`} {
		if !strings.Contains(p.Blockers[0], want) {
			t.Errorf("blocker %q does not say %q", p.Blockers[0], want)
		}
	}

	s := settings
	s.DeleteInstances = true
	p = plan(t, f, d, s)
	if len(p.Changes) != 1 || p.Changes[0].Action != engine.Replace || !slices.Equal(forcedKeys(p.Changes[0]), []string{"image"}) {
		t.Fatalf("with delete_instances: %v", addrs(p))
	}
	if r := p.Changes[0].Reason; !strings.Contains(r, "image changes") || !strings.Contains(r, "cannot change in place") {
		t.Errorf("reason %q", r)
	}
	if p.Deletes() != 1 {
		t.Errorf("a replace counts %d deletes for max_deletes, want 1", p.Deletes())
	}
	f.Writes = nil
	apply(t, f, p)
	if want := []string{"stop-instance web-a", "delete-instance web-a", "create-instance web-a", "start-instance web-a"}; !slices.Equal(f.Writes, want) {
		t.Errorf("writes %q, want %q", f.Writes, want)
	}
	if got := f.Instances["web-a"].Config["volatile.base_image"]; got != fpV2 {
		t.Fatalf("after the replace the base image is %q", got)
	}
	if p := plan(t, f, d, s); !p.Empty() {
		t.Fatalf("second plan: %v", addrs(p))
	}
}

// Whatever names the image the instance was created from, or cannot be
// resolved, never plans a replace.
func TestUnchangedImageNeverReplaces(t *testing.T) {
	s := settings
	s.DeleteInstances = true
	for _, tc := range []struct {
		name, created, declared string
		after                   func(f *enginetest.Fake)
		warn                    bool // names no single image: said so
	}{
		{name: "same alias", created: "web", declared: "web"},
		{name: "alias to fingerprint", created: "web", declared: fpV1},
		{name: "alias to fingerprint prefix", created: "web", declared: fpV1[:12]},
		{name: "fingerprint to alias", created: fpV1, declared: "web"},
		{name: "image on another server", created: "web", declared: "images:debian/12"},
		{name: "alias removed", created: "web", declared: "gone", warn: true},
		{name: "ambiguous prefix", created: "web", declared: fpV2[:12], warn: true},
		{name: "image deleted since", created: fpV1[:12], declared: fpV1[:12], after: func(f *enginetest.Fake) { delete(f.Images, fpV1) }},
		{name: "no base image recorded", created: "web", declared: "other", after: func(f *enginetest.Fake) {
			delete(f.Instances["web-a"].Config, "volatile.base_image")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := enginetest.New("local")
			f.AddImage(fpV1, "web")
			f.AddImage(fpV2, "other")
			f.AddImage("2" + fpV2[1:63] + "3")
			apply(t, f, plan(t, f, group(tc.created, "a"), s))
			if tc.after != nil {
				tc.after(f)
			}
			p := plan(t, f, group(tc.declared, "a"), s)
			if !p.Empty() {
				t.Fatalf("plan: %v", addrs(p))
			}
			want := 0
			if tc.warn {
				want = 1
			}
			if len(p.Blockers) != want || want == 1 && !strings.Contains(p.Blockers[0],
				`node.web["a"] image is not compared: "`+tc.declared+`" names no single image on remote "local" (the instance runs web (111111111111))`) {
				t.Fatalf("blockers %q", p.Blockers)
			}
		})
	}
}

// --replace replaces the nodes it names, changed or not, for one run, and
// only those; a node address without a key names every instance.
func TestReplaceOption(t *testing.T) {
	f := enginetest.New("local")
	f.AddImage(fpV1, "web")
	d := group("web", "a", "b")
	apply(t, f, plan(t, f, d, settings))
	for _, tc := range []struct {
		replace []string
		want    []string
	}{
		{[]string{`node.web["a"]`}, []string{"-/+ node.web-a"}},
		{[]string{"node.web"}, []string{"-/+ node.web-a", "-/+ node.web-b"}},
		{[]string{`node.web["c"]`}, nil},
	} {
		p := planOpts(t, f, d, settings, engine.PlanOptions{Replace: tc.replace})
		if !slices.Equal(addrs(p), tc.want) {
			t.Errorf("--replace %q: %v, want %v", tc.replace, addrs(p), tc.want)
		}
		for _, c := range p.Changes {
			if c.Reason != "replacement requested with --replace" || len(forcedKeys(c)) != 0 {
				t.Errorf("--replace %q: %s reason %q forced %v", tc.replace, c.Addr, c.Reason, forcedKeys(c))
			}
		}
	}

	// A forced replace is allowed by --replace without delete_instances,
	// one group at a time; --target hides the other group's blocker.
	f.AddImage(fpV2, "web")
	p := planOpts(t, f, d, settings, engine.PlanOptions{Replace: []string{`node.web["a"]`}, Targets: []string{`node.web["a"]`}})
	if !slices.Equal(addrs(p), []string{"-/+ node.web-a"}) || len(p.Blockers) != 0 || !slices.Equal(forcedKeys(p.Changes[0]), []string{"image"}) {
		t.Fatalf("group a: %v %q", addrs(p), p.Blockers)
	}
	apply(t, f, p)
	p = plan(t, f, d, settings)
	if !p.Empty() || len(p.Blockers) != 1 || !strings.Contains(p.Blockers[0], `node.web["b"] is not replaced`) {
		t.Fatalf("after group a: %v %q", addrs(p), p.Blockers)
	}

	if got := engine.UnmatchedReplace([]string{`node.web["a"]`, "node.web", `node.web["z"]`, "network.web", "node.we"},
		[]*spec.Remote{d}); !slices.Equal(got, []string{`node.web["z"]`, "network.web", "node.we"}) {
		t.Errorf("UnmatchedReplace = %q", got)
	}
}

// A blocked replace keeps the node's other changes and the rest of the
// plan.
func TestBlockedReplaceKeepsOtherChanges(t *testing.T) {
	f := enginetest.New("local")
	f.AddImage(fpV1, "web")
	d := web()
	d.Instances[0].Image = "web"
	apply(t, f, plan(t, f, d, settings))
	f.AddImage(fpV2, "web")
	d.Instances[0].Config = map[string]string{"limits.cpu": "1"}
	d.Exposures[0].ListenPort = "81"
	p := plan(t, f, d, settings)
	if want := []string{"~ node.web1", "~ forward.br0/198.51.100.10"}; !slices.Equal(addrs(p), want) || len(p.Blockers) != 1 {
		t.Fatalf("plan %v blockers %q, want %v and one blocker", addrs(p), p.Blockers, want)
	}
	if keys := diffKeys(p.Changes[0]); !slices.Contains(keys, `config.limits.cpu: - → "1"`) || slices.ContainsFunc(keys, func(k string) bool { return strings.HasPrefix(k, "image") }) {
		t.Errorf("node update: %q", keys)
	}
	apply(t, f, p)
	if got := f.Instances["web1"].Config["volatile.base_image"]; got != fpV1 {
		t.Errorf("the blocked node was replaced: %q", got)
	}
}

// A type change and a root disk pool change force a replace; the pool is
// compared as LXD expands it (a local root disk wins over the profiles').
func TestTypeAndRootPoolForceReplace(t *testing.T) {
	s := settings
	s.DeleteInstances = true
	rootIn := func(pool string) map[string]spec.Device {
		return map[string]spec.Device{"root": {"type": "disk", "path": "/", "pool": pool}}
	}
	for _, tc := range []struct {
		name   string
		change func(d *spec.Remote)
		forced []string
	}{
		{"type", func(d *spec.Remote) { d.Instances[0].Type = "virtual-machine" }, []string{"type"}},
		{"local root pool", func(d *spec.Remote) { d.Instances[0].Devices = rootIn("fast") }, []string{"devices.root.pool"}},
		{"root pool from a profile", func(d *spec.Remote) {
			d.Profiles = append(d.Profiles, spec.Profile{Meta: spec.Meta{Addr: "profile.fast"}, Name: "fast", Devices: rootIn("fast")})
			d.Instances[0].Profiles = []string{"default", "fast"}
		}, []string{"devices.root.pool"}},
		{"same pool, now local", func(d *spec.Remote) { d.Instances[0].Devices = rootIn("default") }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := enginetest.New("local")
			f.Profiles["default"] = engine.Profile{Name: "default", Config: map[string]string{},
				Devices: map[string]map[string]string{"root": {"type": "disk", "path": "/", "pool": "default"}}, ETag: "0"}
			d := &spec.Remote{Name: "local", Instances: []spec.Instance{{Meta: spec.Meta{Addr: "node.n"}, Name: "n1", Image: "busybox"}}}
			apply(t, f, plan(t, f, d, s))
			tc.change(d)
			p := plan(t, f, d, s)
			var got []string
			for _, c := range p.Changes {
				if c.Addr.Kind == engine.KindNode {
					got = forcedKeys(c)
					if (c.Action == engine.Replace) != (len(tc.forced) > 0) {
						t.Errorf("%s is a %s", c.Addr, c.Action)
					}
				}
			}
			if !slices.Equal(got, tc.forced) {
				t.Fatalf("forced %v, want %v (plan %v)", got, tc.forced, addrs(p))
			}
			if len(tc.forced) == 0 {
				return
			}
			// Without delete_instances: blocked, and the in-place rest
			// leaves the pool alone (LXD would refuse it).
			p = plan(t, f, d, settings)
			if len(p.Blockers) != 1 {
				t.Fatalf("blockers %q", p.Blockers)
			}
			for _, c := range p.Changes {
				for _, k := range diffKeys(c) {
					if c.Addr.Kind == engine.KindNode && strings.Contains(k, "root") {
						t.Errorf("blocked node still changes %s", k)
					}
				}
			}
		})
	}
}
