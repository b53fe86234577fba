package render_test

import (
	"bytes"
	"testing"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/enginetest"
	"github.com/lxnetd/lxnetd/engine/render"
)

// TestGoldenReplace renders the replace of a node whose image alias moved
// to another image: "-/+" with the forcing key marked as Terraform does.
func TestGoldenReplace(t *testing.T) {
	f := enginetest.New("local")
	f.AddImage("81621cc2deca05446487a5b9382c5b9279d5e3bed94c021d79815f0982c7deeb", "busybox")
	s := settings
	s.DeleteInstances = true
	if _, err := engine.Apply(t.Context(), f, newPlan(t, f, config(), s), engine.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}
	f.AddImage("3ab1a9b6b7e1a58a2f42d5d1e2c7b1fd0e2b74f09c3a8f0c7e1ad0e0e4d5b6c7", "busybox")
	p := newPlan(t, f, config(), s)
	p.Requests = 0
	var h, h2, j bytes.Buffer
	if err := render.Human(&h, []*engine.Plan{p}, false); err != nil {
		t.Fatal(err)
	}
	if err := render.Human(&h2, []*engine.Plan{p}, true); err != nil {
		t.Fatal(err)
	}
	if err := render.JSON(&j, []*engine.Plan{p}); err != nil {
		t.Fatal(err)
	}
	golden(t, "replace.txt", h.Bytes())
	golden(t, "replace.json", j.Bytes())
	if !bytes.Contains(h2.Bytes(), []byte("\x1b[31m# forces replacement")) {
		t.Errorf("colour output does not paint the marker:\n%s", h2.String())
	}
}

// Stats names the image list when the plan made one.
func TestStatsImageList(t *testing.T) {
	var b bytes.Buffer
	plans := []*engine.Plan{{Remote: "a", Requests: 5, ForwardNetworks: 1, ImagesListed: true}, {Remote: "b", Requests: 3}}
	if err := render.Stats(&b, plans); err != nil {
		t.Fatal(err)
	}
	want := `remote "a": 5 requests (1 forward lists + 1 image list), 0 owned objects
remote "b": 3 requests (0 forward lists), 0 owned objects
total: 8 requests
`
	if b.String() != want {
		t.Errorf("got\n%swant\n%s", b.String(), want)
	}
}
