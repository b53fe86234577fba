package engine_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/enginetest"
	"github.com/lxnetd/lxnetd/engine/spec"
)

// TestExposureInvariants: exposures that package config refuses (each has a
// case in testdata/bad: unknown-via, nat-without-static-address,
// nat-wildcard-listen, proxy-protocol-without-proxy,
// forward-target-without-static-address) reach the engine only from a
// hand-built spec. The plan then fails with a problem that names the broken
// internal invariant, and no change is planned.
func TestExposureInvariants(t *testing.T) {
	nat := spec.Exposure{Service: "db", Port: "pg", Addr: `service.db.port["pg"]`, Instance: "web1",
		Protocol: "tcp", ListenAddress: "198.51.100.20", ListenPort: "5432", TargetAddress: "10.231.1.10", Via: spec.ViaNAT}
	for name, tc := range map[string]struct {
		edit func(*spec.Exposure)
		want string
	}{
		"unknown via":             {func(e *spec.Exposure) { e.Via = "tunnel" }, `unknown via "tunnel"`},
		"nat without address":     {func(e *spec.Exposure) { e.TargetAddress = "" }, `via = "nat" needs a static address on node "web1"`},
		"nat on a wildcard":       {func(e *spec.Exposure) { e.ListenAddress = "::" }, `via = "nat" needs a concrete listen address`},
		"nat with proxy header":   {func(e *spec.Exposure) { e.ProxyProtocol = true }, `proxy_protocol cannot be used with via = "nat"`},
		"forward without network": {func(e *spec.Exposure) { e.Via = spec.ViaForward }, `node "web1" has no static address on a network for via = "forward"`},
	} {
		t.Run(name, func(t *testing.T) {
			e := nat
			tc.edit(&e)
			d := web()
			d.Exposures = []spec.Exposure{e}
			p, err := engine.NewPlan(context.Background(), enginetest.New("local"), d, settings, engine.PlanOptions{})
			var pe *engine.PlanError
			if !errors.As(err, &pe) || p != nil {
				t.Fatalf("plan = %v, err = %v; want a PlanError", p, err)
			}
			if len(pe.Problems) != 1 || pe.Problems[0].Summary != tc.want || !strings.HasPrefix(pe.Problems[0].Detail, "internal invariant violated:") {
				t.Errorf("problems = %+v; want one, %q, named an internal invariant violation", pe.Problems, tc.want)
			}
		})
	}
	// The same exposure, valid, plans a proxy device with nat.
	d := web()
	d.Exposures = []spec.Exposure{nat}
	if _, err := engine.NewPlan(context.Background(), enginetest.New("local"), d, settings, engine.PlanOptions{}); err != nil {
		t.Fatalf("valid nat exposure: %v", err)
	}
}
