package main

import (
	"bytes"
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/lxnetd/lxnetd/internal/daemon"
)

func TestPrintStatus(t *testing.T) {
	now := time.Now()
	st := &daemon.Status{
		Version: "1.0", PID: 42, Started: now.Add(-time.Hour), ConfigDir: "/etc/lxnet.d",
		ConfigHash: "0123456789abcdef", ConfigLoaded: now.Add(-time.Minute),
		ConfigError: "web.hcl:3,5-9: Unsupported argument",
		Remotes: []daemon.RemoteStatus{
			{Name: "vm1", Server: "Incus 6.0.4", State: daemon.StateConverged, Objects: 41, LastConverged: now.Add(-10 * time.Second),
				DriftCorrections: 2, Events: 7, NextResync: now.Add(290 * time.Second), ConfigHash: "0123456789abcdef"},
			{Name: "vm2", State: daemon.StateFailing, LastError: "connection refused", NextRetry: now.Add(4 * time.Second)},
		},
	}
	var b bytes.Buffer
	if err := printStatus(&b, st, false); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, re := range []string{
		`(?m)^lxnetd 1\.0, pid 42, up 1h0m0s$`,
		`(?m)^config /etc/lxnet\.d, hash 0123456789ab, loaded \d\d:\d\d:\d\d \(1m0s ago\)$`,
		`(?m)^rejected edit \(last good configuration in force\): web\.hcl:3,5-9: Unsupported argument$`,
		`(?m)^1/2 remotes converged, 41 objects, vm2: connection refused, config 0123456789ab; rejected edit: web\.hcl:3,5-9: Unsupported argument$`,
		`(?m)^REMOTE +STATE +OBJECTS +LAST CONVERGED +DRIFT FIXED +EVENTS +NEXT RESYNC +LAST ERROR$`,
		`(?m)^vm1 \(Incus 6\.0\.4\) +converged +41 +\d\d:\d\d:\d\d \(10s ago\) +2 +7 +in 4m5\ds +-$`,
		`(?m)^vm2 +failing +0 +never +0 +0 +retry in [34]s +connection refused$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("status output does not match %s:\n%s", re, out)
		}
	}

	b.Reset()
	if err := printStatus(&b, st, true); err != nil {
		t.Fatal(err)
	}
	var back daemon.Status
	if err := json.Unmarshal(b.Bytes(), &back); err != nil || len(back.Remotes) != 2 || back.Remotes[1].LastError != "connection refused" {
		t.Errorf("--json output does not round-trip: %v\n%s", err, b.String())
	}
	var raw struct{ Remotes []map[string]any }
	if err := json.Unmarshal(b.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw.Remotes[1]["last_converged"]; ok {
		t.Errorf("a remote that never converged shows last_converged:\n%s", b.String())
	}
}

func TestConfigOptions(t *testing.T) {
	o, err := configOptions([]string{"a=1", "b=x=y"}, []string{"prod.vars.hcl"})
	if err != nil || o.Vars["a"] != "1" || o.Vars["b"] != "x=y" || len(o.VarFiles) != 1 || len(o.Environ) == 0 {
		t.Errorf("configOptions = %+v, %v", o, err)
	}
	if _, err := configOptions([]string{"novalue"}, nil); err == nil {
		t.Error("--var without = accepted")
	}
}
