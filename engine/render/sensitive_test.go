package render_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/enginetest"
	"github.com/lxnetd/lxnetd/engine/render"
	"github.com/lxnetd/lxnetd/engine/spec"
)

// sensitiveConfig puts secret (as config and the secrets package would
// hand it over) into a description, a config value, a device property and
// a forward port description; "1" is a short sensitive value too.
func sensitiveConfig(secret string) *spec.Remote {
	desc := "net " + secret
	return &spec.Remote{
		Name:    "local",
		Secrets: []string{secret, desc, "/srv/" + secret, "port " + secret, "1"},
		Networks: []spec.Network{{
			Meta: spec.Meta{Addr: "network.lxns0", Sensitive: map[string]bool{"description": true, "config.user.token": true}},
			Name: "lxns0", Type: "bridge", Description: desc,
			Config: map[string]string{"ipv4.address": "10.231.8.1/24", "user.token": secret, "user.short": "1"},
		}},
		Profiles: []spec.Profile{{
			Meta: spec.Meta{Addr: "profile.p", Sensitive: map[string]bool{"devices.d.source": true}},
			Name: "p", Devices: map[string]spec.Device{"d": {"type": "disk", "path": "/mnt", "source": "/srv/" + secret}},
		}},
		Forwards: []spec.Forward{{
			Meta: spec.Meta{Addr: "forward.f"}, Network: "lxns0", ListenAddress: "198.51.100.9",
			Ports: []spec.ForwardPort{
				{Protocol: "tcp", ListenPort: "80", TargetAddress: "10.231.8.10", Description: "port " + secret, Sensitive: true},
				{Protocol: "tcp", ListenPort: "81", TargetAddress: "10.231.8.11"},
			},
		}},
	}
}

// TestSensitiveRendering: a value derived from a sensitive variable prints
// as (sensitive) in plan text and is left out of the JSON, a change of one
// says it changed, the other values still print, and an LXD error that
// echoes the value is scrubbed from what apply reports.
func TestSensitiveRendering(t *testing.T) {
	const old, rotated = "hunter2-original", "hunter2-rotated"
	f := enginetest.New("local")
	render1 := func(p *engine.Plan) (string, string) {
		t.Helper()
		var h, j bytes.Buffer
		if err := render.Human(&h, []*engine.Plan{p}, false); err != nil {
			t.Fatal(err)
		}
		if err := render.JSON(&j, []*engine.Plan{p}); err != nil {
			t.Fatal(err)
		}
		for _, out := range []string{h.String(), j.String()} {
			if strings.Contains(out, "hunter2") {
				t.Fatalf("plan output leaks the secret:\n%s", out)
			}
		}
		return h.String(), j.String()
	}

	p := newPlan(t, f, sensitiveConfig(old), settings)
	text, js := render1(p)
	for _, want := range []string{
		`+ description = (sensitive)`, `+ config.user.token = (sensitive)`, `+ devices.d.source = (sensitive)`,
		`+ ports.tcp/80 = (sensitive)`, `+ ports.tcp/81 = "10.231.8.11:81"`, `+ devices.d.path = "/mnt"`,
		// A short secret is protected by its mark, and only where it
		// stands alone in the rest: "10.231.8.1/24" is not scrubbed.
		`+ ports.tcp/81 = "10.231.8.11:81"`,
		`+ config.user.short = "(sensitive)"`, `+ config.ipv4.address = "10.231.8.1/24"`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("create plan lacks %q:\n%s", want, text)
		}
	}
	var doc struct {
		FormatVersion string `json:"format_version"`
		Remotes       []struct {
			Changes []struct {
				Address string            `json:"address"`
				Diffs   []json.RawMessage `json:"diffs"`
			} `json:"changes"`
		} `json:"remotes"`
	}
	if err := json.Unmarshal([]byte(js), &doc); err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, c := range doc.Remotes[0].Changes {
		for _, d := range c.Diffs {
			var kd map[string]any
			_ = json.Unmarshal(d, &kd)
			if kd["sensitive"] == true {
				found++
				if _, ok := kd["after"]; ok || kd["after_sensitive"] != true || kd["before_sensitive"] != nil {
					t.Errorf("sensitive created key %s: want no values and after_sensitive", d)
				}
			}
		}
	}
	if found != 4 || doc.FormatVersion != "2" {
		t.Errorf("JSON: %d sensitive diffs (want 4), format %q:\n%s", found, doc.FormatVersion, js)
	}
	if _, err := engine.Apply(context.Background(), f, p, engine.ApplyOptions{}); err != nil {
		t.Fatal(err)
	}

	// The secret changes: the plan says so, without either value.
	p = newPlan(t, f, sensitiveConfig(rotated), settings)
	text, js = render1(p)
	for _, want := range []string{`~ config.user.token = (sensitive value changed)`, `~ description = (sensitive value changed)`, `~ devices.d.source = (sensitive value changed)`} {
		if !strings.Contains(text, want) {
			t.Errorf("change plan lacks %q:\n%s", want, text)
		}
	}
	if !strings.Contains(js, `"before_sensitive": true,
              "after_sensitive": true`) {
		t.Errorf("JSON of a changed sensitive key lacks before_sensitive and after_sensitive:\n%s", js)
	}

	// LXD refuses the value and echoes it: apply's error, progress line and
	// outcome do not show it.
	f.Fail = func(op, name string) error {
		if op == "update-profile" {
			return fmt.Errorf("Device validation failed for %q: Invalid value for device option \"source\": /srv/%s", "d", rotated)
		}
		return nil
	}
	var progress bytes.Buffer
	res, err := engine.Apply(context.Background(), f, p, engine.ApplyOptions{Progress: func(cr engine.ChangeResult) { _ = render.Progress(&progress, cr, false) }})
	if err == nil {
		t.Fatal("apply with a refused profile succeeded")
	}
	var outcome bytes.Buffer
	_ = render.Outcome(&outcome, []*engine.Result{res}, false)
	for _, out := range []string{err.Error(), progress.String(), outcome.String()} {
		if strings.Contains(out, "hunter2") || !strings.Contains(out, `Invalid value for device option "source": (sensitive)`) {
			t.Errorf("apply output leaks or lacks the scrubbed LXD error:\n%s", out)
		}
	}
	if errors.Unwrap(err) == nil {
		t.Error("apply's error no longer wraps its causes")
	}
}
