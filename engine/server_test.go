package engine_test

import (
	"context"
	"strings"
	"testing"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/enginetest"
	"github.com/lxnetd/lxnetd/engine/spec"
)

// described is a fake remote that says which server it is, as internal/lxd's
// Remote does.
type described struct {
	*enginetest.Fake
	info engine.ServerInfo
}

func (d described) Server() engine.ServerInfo { return d.info }

var (
	lxd502   = engine.ServerInfo{Kind: "lxd", Version: "5.0.2", Extensions: []string{"network_forward"}, InstanceTypes: []string{"container"}}
	incus604 = engine.ServerInfo{Kind: "incus", Version: "6.0.4", Extensions: []string{"network_forward"}, InstanceTypes: []string{"container"}}
)

func planErr(r engine.Remote, d *spec.Remote) error {
	_, err := engine.NewPlan(context.Background(), r, d, settings, engine.PlanOptions{})
	return err
}

// TestServerInPlan: the plan records the server, so headers can name it.
func TestServerInPlan(t *testing.T) {
	p := plan(t, described{enginetest.New("local"), incus604}, web(), settings)
	if p.Server.String() != "Incus 6.0.4" {
		t.Fatalf("plan.Server = %+v", p.Server)
	}
	if p := plan(t, enginetest.New("local"), web(), settings); p.Server.String() != "" {
		t.Fatalf("a remote that does not say has server %q", p.Server)
	}
}

// TestIncusRefusesForwardAndProxyOnOneAddress: the same configuration plans
// on LXD and is refused before any write on Incus, naming the proxy port,
// the forward, and the way out.
func TestIncusRefusesForwardAndProxyOnOneAddress(t *testing.T) {
	d := web()
	d.Exposures[2].ListenAddress = "198.51.100.10" // admin/ui beside the forward's address
	d.Exposures[2].Pos = spec.Pos{File: "web.hcl", Line: 9, Column: 5}
	plan(t, described{enginetest.New("local"), lxd502}, d, settings)

	f := described{enginetest.New("local"), incus604}
	err := planErr(f, d)
	for _, want := range []string{
		`remote "local" (Incus 6.0.4) refuses proxy device "lxnetd-admin-ui" of node "web1" on 198.51.100.10`,
		`service.web has a network forward on the same address`,
		"give the proxy port another listen address",
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("plan on Incus: err = %v, want it to contain %q", err, want)
		}
	}
	// A wildcard proxy, or one on another address, is fine on Incus too.
	d.Exposures[2].ListenAddress = "0.0.0.0"
	plan(t, f, d, settings)
	d.Exposures[2].ListenAddress = "198.51.100.11"
	plan(t, f, d, settings)
}

// TestServerWithoutForwardsOrVMs: a server without network_forward, or
// without virtual machines, is named in the plan error with what to do.
func TestServerWithoutForwardsOrVMs(t *testing.T) {
	old := engine.ServerInfo{Kind: "lxd", Version: "4.0.9", Extensions: []string{"network"}, InstanceTypes: []string{"container"}}
	err := planErr(described{enginetest.New("local"), old}, web())
	if err == nil || !strings.Contains(err.Error(), `remote "local" (LXD 4.0.9) does not support network forwards (API extension network_forward)`) ||
		!strings.Contains(err.Error(), `via = "proxy"`) {
		t.Fatalf("plan on a server without forwards: %v", err)
	}
	d := web()
	d.Instances[0].Type = "virtual-machine"
	err = planErr(described{enginetest.New("local"), incus604}, d)
	if err == nil || !strings.Contains(err.Error(), `remote "local" (Incus 6.0.4) cannot run a virtual-machine (it runs: container)`) {
		t.Fatalf("plan of a VM on a containers-only server: %v", err)
	}
}

// TestServerWithoutACLs: on a server without network_acl the plan names
// each declared ACL instead of failing on the ACL list (which is not read).
func TestServerWithoutACLs(t *testing.T) {
	d := web()
	d.ACLs = []spec.ACL{{Meta: spec.Meta{Addr: "acl.web"}, Name: "web",
		Ingress: []spec.ACLRule{{Action: "allow", Protocol: "tcp", DestinationPort: "80"}}}}
	noACL := engine.ServerInfo{Kind: "lxd", Version: "4.0.9", Extensions: []string{"network_forward"}, InstanceTypes: []string{"container"}}
	f := enginetest.New("local")
	err := planErr(described{f, noACL}, d)
	if err == nil || !strings.Contains(err.Error(), `remote "local" (LXD 4.0.9) does not support network ACLs (API extension network_acl)`) ||
		!strings.Contains(err.Error(), `remove acl "web"`) {
		t.Fatalf("plan of an ACL on a server without ACLs: %v", err)
	}
	withACL := noACL
	withACL.Extensions = append(withACL.Extensions, "network_acl")
	plan(t, described{f, withACL}, d, settings)
}
