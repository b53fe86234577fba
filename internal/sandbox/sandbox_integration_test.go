//go:build integration

package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestPrimaryBusyboxHTTP launches a busybox container with a static address
// on a fresh bridge of the primary (unix socket) daemon and fetches its
// httpd page from the host.
func TestPrimaryBusyboxHTTP(t *testing.T) {
	t.Parallel()
	d := Primary(t)
	webOnBridge(t, d)
}

// TestSecondaryBusyboxHTTPS does the same on the secondary daemon, driven
// over HTTPS with the sandbox's trusted client certificate.
func TestSecondaryBusyboxHTTPS(t *testing.T) {
	t.Parallel()
	d := Secondary(t)
	if !strings.HasPrefix(d.HTTPSAddress, "https://127.0.0.1:") {
		t.Fatalf("secondary HTTPS address = %q, want https://127.0.0.1:PORT", d.HTTPSAddress)
	}
	// The private lxc config must reach the daemon over HTTPS, not a socket.
	def := strings.TrimSpace(d.Lxc(t, "remote", "get-default"))
	remotes := d.Lxc(t, "remote", "list", "--format", "csv")
	if def != "secondary" || !strings.Contains(remotes, "secondary (current),"+d.HTTPSAddress+",lxd,tls,") {
		t.Fatalf("lxc remotes of %s do not point at %s:\n%s", d.LXDConf, d.HTTPSAddress, remotes)
	}
	webOnBridge(t, d)
}

// webOnBridge is the common body: bridge, busybox with static address, HTTP.
func webOnBridge(t *testing.T, d *Daemon) (bridge, instance string) {
	br := UniqueName(t, "sbx")
	cidr := d.CreateBridge(t, br)
	ip := HostIP(cidr, 10)
	name := UniqueName(t, "sbx")
	d.LaunchBusybox(t, name, br, ip)

	body := HTTPGet(t, "http://"+ip+"/", 20*time.Second)
	if !strings.Contains(body, name) {
		t.Fatalf("page of %s at %s does not contain its name:\n%s", name, ip, body)
	}
	// The address came from the NIC's reservation, and LXD reports it.
	// (One instance's state: `lxc list NAME` would fetch every instance's.)
	var state struct {
		Network map[string]struct {
			Addresses []struct{ Family, Address string }
		}
	}
	raw := d.Lxc(t, "query", "/1.0/instances/"+name+"/state")
	if err := json.Unmarshal([]byte(raw), &state); err != nil {
		t.Fatalf("decoding state of %s: %v\n%s", name, err, raw)
	}
	var got []string
	for _, a := range state.Network["eth0"].Addresses {
		if a.Family == "inet" {
			got = append(got, a.Address)
		}
	}
	if len(got) != 1 || got[0] != ip {
		t.Fatalf("LXD reports IPv4 %v on eth0 of %s, want [%s]", got, name, ip)
	}
	return br, name
}

// TestSecondaryRemoteFields checks that what Remote() hands to lxnetd is
// enough to talk to the secondary: HTTPS with the client certificate, the
// pinned fingerprint matching, and the daemon trusting us.
func TestSecondaryRemoteFields(t *testing.T) {
	t.Parallel()
	d := Secondary(t)
	r := d.Remote()
	if r.Address != d.HTTPSAddress || r.ClientCert == "" || r.ClientKey == "" ||
		!strings.HasPrefix(r.ServerFingerprint, "sha256:") || len(r.ServerFingerprint) != len("sha256:")+64 {
		t.Fatalf("secondary Remote() = %+v: want https address, client cert/key and a sha256 pin", r)
	}
	c, err := d.HTTPSClient()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Get(r.Address + "/1.0")
	if err != nil {
		t.Fatalf("GET %s/1.0 with the sandbox client certificate: %v", r.Address, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `"auth":"trusted"`) {
		t.Fatalf("GET %s/1.0: %s, body %.300s; want 200 and auth trusted", r.Address, resp.Status, b)
	}

	// A wrong pin must be refused.
	bad := *d
	bad.ServerFingerprint = "sha256:" + strings.Repeat("0", 64)
	bc, err := bad.HTTPSClient()
	if err != nil {
		t.Fatal(err)
	}
	if resp, err := bc.Get(r.Address + "/1.0"); err == nil {
		resp.Body.Close()
		t.Fatalf("GET with a wrong server pin succeeded; want a fingerprint error")
	} else if !strings.Contains(err.Error(), "fingerprint") {
		t.Fatalf("GET with a wrong server pin: %v; want a fingerprint error", err)
	}

	p := Primary(t).Remote()
	if p.Address != "unix://"+Primary(t).Socket {
		t.Fatalf("primary Remote().Address = %q, want unix://<socket>", p.Address)
	}
}

// TestForwardsOnBothDaemons proves the two daemons coexist in one network
// namespace (they share nftables table "inet lxd"): each gets a bridge, a
// busybox container and a network forward on its own floating IP, both
// forwards answer from the host at the same time, and deleting one daemon's
// forward leaves the other's working.
func TestForwardsOnBothDaemons(t *testing.T) {
	t.Parallel()
	type side struct {
		d             *Daemon
		br, name, fip string
	}
	sides := []*side{{d: Primary(t)}, {d: Secondary(t)}}
	for _, s := range sides {
		s.br = UniqueName(t, "sbf")
		cidr := s.d.CreateBridge(t, s.br)
		ip := HostIP(cidr, 20)
		s.name = UniqueName(t, "sbf")
		s.d.LaunchBusybox(t, s.name, s.br, ip)
		s.fip = FloatingIP(t)
		s.d.Lxc(t, "network", "forward", "create", s.br, s.fip)
		s.d.Lxc(t, "network", "forward", "port", "add", s.br, s.fip, "tcp", "8080", ip, "80")
	}
	for _, s := range sides {
		if body := HTTPGet(t, "http://"+s.fip+":8080/", 20*time.Second); !strings.Contains(body, s.name) {
			t.Fatalf("forward %s:8080 on %s answered without %s:\n%s", s.fip, s.d.Name, s.name, body)
		}
	}
	// Removing the secondary's forward must not disturb the primary's rules.
	sides[1].d.Lxc(t, "network", "forward", "delete", sides[1].br, sides[1].fip)
	if body := HTTPGet(t, "http://"+sides[0].fip+":8080/", 10*time.Second); !strings.Contains(body, sides[0].name) {
		t.Fatalf("primary forward broke after deleting the secondary's:\n%s", body)
	}
	if err := refused(sides[1].fip + ":8080"); err != nil {
		t.Fatal(err)
	}
}

// refused checks nothing answers HTTP at addr any more.
func refused(addr string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/", nil)
	resp, err := (&http.Client{Transport: &http.Transport{DisableKeepAlives: true}}).Do(req)
	if err != nil {
		return nil
	}
	resp.Body.Close()
	return fmt.Errorf("http://%s/ still answers (%s) after its forward was deleted", addr, resp.Status)
}

// TestAllocationsAreUnique takes several subnets and floating IPs in one
// test and checks none repeats and none is on a host interface already.
func TestAllocationsAreUnique(t *testing.T) {
	t.Parallel()
	Primary(t) // the allocation directory belongs to a running sandbox
	seen := map[string]bool{}
	for i := 0; i < 5; i++ {
		for _, v := range []string{AllocSubnet(t), FloatingIP(t)} {
			if seen[v] {
				t.Fatalf("%s handed out twice", v)
			}
			seen[v] = true
		}
	}
}

// TestIncusBusyboxHTTP does the same on the Incus daemon, driven with the
// incus client, and checks that the daemon says it is Incus. Not parallel,
// for the reason TestScriptLifecycle is not.
func TestIncusBusyboxHTTP(t *testing.T) {
	d := Incus(t)
	if d.Kind != KindIncus {
		t.Fatalf("Incus().Kind = %q, want %q", d.Kind, KindIncus)
	}
	var srv struct {
		Environment struct {
			Server         string `json:"server"`
			ServerVersion  string `json:"server_version"`
			Firewall       string `json:"firewall"`
			StorageDrivers string `json:"storage"`
		} `json:"environment"`
	}
	if err := json.Unmarshal([]byte(d.Lxc(t, "query", "/1.0")), &srv); err != nil {
		t.Fatal(err)
	}
	if srv.Environment.Server != "incus" || !strings.HasPrefix(srv.Environment.ServerVersion, "6.") {
		t.Fatalf("incus daemon says server %q version %q, want incus 6.x", srv.Environment.Server, srv.Environment.ServerVersion)
	}
	if srv.Environment.Firewall != "nftables" {
		t.Errorf("incus firewall = %q, want nftables (installed before the daemon first started)", srv.Environment.Firewall)
	}
	webOnBridge(t, d)
}
