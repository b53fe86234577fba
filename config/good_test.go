package config

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/lxnetd/lxnetd/engine/spec"
)

// meta is a spec.Meta with the address only (positions are compared apart).
func meta(addr string) spec.Meta { return spec.Meta{Addr: addr} }

func defaults() spec.Settings {
	return spec.Settings{Owner: "lxnetd", ResyncInterval: 5 * time.Minute, MaxDeletes: 10, LeaseTTL: 30 * time.Second}
}

func local(r spec.Remote) map[string]*spec.Remote {
	r.Name, r.Address, r.Project = "local", "unix://", "default"
	return map[string]*spec.Remote{"local": &r}
}

// TestGoodScenarios evaluates the seed scenarios of DESIGN §4, written as
// configurations in testdata/good, to the exact desired state.
func TestGoodScenarios(t *testing.T) {
	vm1Pin := "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	vm2Pin := "sha256:2222222222222222222222222222222222222222222222222222222222222222"
	nginx := func(name, remote, ip string) spec.Instance {
		return spec.Instance{
			Meta: meta(`node.nginx["` + name + `"]`), Name: name, Image: "ubuntu/22.04", Type: "container",
			Profiles: []string{"default"}, State: "running",
			Config:  map[string]string{"security.nesting": "true", "limits.memory": "512MB"},
			Devices: map[string]spec.Device{"eth0": {"type": "nic", "network": "lxnmott0", "ipv4.address": ip}},
			IPv4:    ip, NIC: "eth0", Network: "lxnmott0",
		}
	}
	webExposure := func(node, ip, public string) spec.Exposure {
		return spec.Exposure{
			Service: "web-" + node, Port: "http", Addr: `service.web["` + node + `"].port["http"]`, ServiceAddr: `service.web["` + node + `"]`,
			Instance: node, Network: "lxnmott0", TargetAddress: ip, Protocol: "tcp",
			ListenAddress: public, ListenPort: "80", TargetPort: "8090", Via: "forward",
		}
	}
	mott := func(remote string) spec.Network {
		return spec.Network{Meta: meta(`network.mottainai["` + remote + `"]`), Name: "lxnmott0", Type: "bridge",
			Config: map[string]string{"ipv4.address": "10.231.50.1/24", "dns.domain": "mottainai.local"}}
	}
	edge := func(key, ip string) spec.Instance {
		return spec.Instance{
			Meta: meta(`node.edge["` + key + `"]`), Name: "edge-" + key, Image: "busybox", Type: "container",
			Profiles: []string{"default"}, State: "running",
			Devices: map[string]spec.Device{
				"eth0": {"type": "nic", "network": "lxnbr60", "ipv4.address": ip, "security.mac_filtering": "true"},
				"eth1": {"type": "nic", "network": "lxnmv60"},
			},
			IPv4: ip, NIC: "eth0", Network: "lxnbr60",
		}
	}
	overlay := func(remote, self, local, peer string) spec.Network {
		return spec.Network{Meta: meta(`network.overlay["` + remote + `"]`), Name: "lxnvx70", Type: "bridge", Config: map[string]string{
			"ipv4.address": "10.231.70." + self + "/24", "ipv6.address": "none", "bridge.mtu": "1300",
			"ipv4.dhcp":           map[bool]string{true: "true", false: "false"}[remote == "vm1"],
			"tunnel.lxn.protocol": "vxlan", "tunnel.lxn.id": "70", "tunnel.lxn.local": local, "tunnel.lxn.remote": peer,
		}}
	}
	worker := func(i int, member, state string) spec.Instance {
		idx := string(rune('0' + i))
		return spec.Instance{
			Meta: meta("node.worker[" + idx + "]"), Name: "worker-" + idx, Image: "images:debian/12", Type: "container",
			Profiles: []string{"default"}, State: state, Target: member,
			Config: map[string]string{"user.role": "worker", "user.meta": `{"index":` + idx + `}`},
		}
	}

	tests := []struct {
		dir  string
		want *spec.Config
	}{
		{"01-floating-ip-forward", &spec.Config{Settings: defaults(), Remotes: local(spec.Remote{
			Networks: []spec.Network{{Meta: meta("network.lxnbr10"), Name: "lxnbr10", Type: "bridge", Description: "web tier",
				Config: map[string]string{"ipv4.address": "10.231.10.1/24", "ipv4.nat": "true", "ipv6.address": "none"}}},
			Instances: []spec.Instance{
				{Meta: meta("node.web[0]"), Name: "web1", Image: "busybox", Type: "container", Profiles: []string{"default"}, State: "running",
					Devices: map[string]spec.Device{"eth0": {"type": "nic", "network": "lxnbr10", "ipv4.address": "10.231.10.10"}},
					IPv4:    "10.231.10.10", NIC: "eth0", Network: "lxnbr10"},
				{Meta: meta("node.web[1]"), Name: "web2", Image: "busybox", Type: "container", Profiles: []string{"default"}, State: "running",
					Devices: map[string]spec.Device{"eth0": {"type": "nic", "network": "lxnbr10", "ipv4.address": "10.231.10.11"}},
					IPv4:    "10.231.10.11", NIC: "eth0", Network: "lxnbr10"},
			},
			Forwards: []spec.Forward{{Meta: meta("forward.floating"), Network: "lxnbr10", ListenAddress: "198.51.100.20", Ports: []spec.ForwardPort{
				{Protocol: "tcp", ListenPort: "8081", TargetAddress: "10.231.10.10", TargetPort: "80", TargetNode: "web1"},
				{Protocol: "udp", ListenPort: "5000-5001", TargetAddress: "10.231.10.11"},
			}}},
			Exposures: []spec.Exposure{{Service: "http", Port: "http", Addr: `service.http.port["http"]`, ServiceAddr: "service.http", Instance: "web1",
				Network: "lxnbr10", TargetAddress: "10.231.10.10", Protocol: "tcp", ListenAddress: "198.51.100.20",
				ListenPort: "80", TargetPort: "8080", Via: "forward"}},
		})}},
		{"02-proxy-protocol-profile", &spec.Config{Settings: defaults(), Remotes: local(spec.Remote{
			Profiles: []spec.Profile{{Meta: meta("profile.proxy-https"), Name: "proxy-https", Description: "HTTPS through the host, with PROXY protocol",
				Devices: map[string]spec.Device{"https": {"type": "proxy", "listen": "tcp:0.0.0.0:443", "connect": "tcp:127.0.0.1:443", "proxy_protocol": "true"}}}},
			Instances: []spec.Instance{{Meta: meta("node.haproxy"), Name: "haproxy", Image: "busybox", Type: "container",
				Profiles: []string{"default", "proxy-https"}, State: "running",
				Config: map[string]string{"user.user-data": "#cloud-config\nhostname: haproxy\n# port 443\n# port 8443\n"}}},
			Exposures: []spec.Exposure{{Service: "admin", Port: "https", Addr: `service.admin.port["https"]`, ServiceAddr: "service.admin", Instance: "haproxy",
				Protocol: "tcp", ListenAddress: "0.0.0.0", ListenPort: "8443", TargetPort: "8443", Via: "proxy", ProxyProtocol: true}},
		})}},
		{"03-nat-proxy", &spec.Config{Settings: defaults(), Remotes: local(spec.Remote{
			Networks: []spec.Network{{Meta: meta("network.lxnbr30"), Name: "lxnbr30", Type: "bridge",
				Config: map[string]string{"ipv4.address": "10.231.30.1/24", "ipv4.nat": "true"}}},
			Instances: []spec.Instance{{Meta: meta("node.db"), Name: "db", Image: "busybox", Type: "container", Profiles: []string{"default"}, State: "running",
				Devices: map[string]spec.Device{"eth0": {"type": "nic", "network": "lxnbr30", "ipv4.address": "10.231.30.5"}},
				IPv4:    "10.231.30.5", NIC: "eth0", Network: "lxnbr30"}},
			Exposures: []spec.Exposure{{Service: "postgres", Port: "pg", Addr: `service.postgres.port["pg"]`, ServiceAddr: "service.postgres", Instance: "db",
				Network: "lxnbr30", TargetAddress: "10.231.30.5", Protocol: "tcp", ListenAddress: "203.0.113.30",
				ListenPort: "5432", TargetPort: "5432", Via: "nat"}},
		})}},
		{"04-loopback-proxy", &spec.Config{Settings: defaults(), Remotes: local(spec.Remote{
			Instances: []spec.Instance{{Meta: meta("node.app"), Name: "app", Image: "busybox", Type: "container", Profiles: []string{"default"}, State: "running"}},
			Exposures: []spec.Exposure{{Service: "app", Port: "http", Addr: `service.app.port["http"]`, ServiceAddr: "service.app", Instance: "app",
				Protocol: "tcp", ListenAddress: "127.0.0.1", ListenPort: "8080", TargetPort: "80", Via: "proxy"}},
		})}},
		{"05-multi-remote-values", &spec.Config{Settings: defaults(), Remotes: map[string]*spec.Remote{
			"vm1": {Name: "vm1", Address: "https://10.0.0.11:8443", Project: "default",
				ClientCert:        filepath.Join(mustAbs(t, "../testdata/good/05-multi-remote-values"), "client.crt"),
				ClientKey:         filepath.Join(mustAbs(t, "../testdata/good/05-multi-remote-values"), "client.key"),
				ServerFingerprint: vm1Pin,
				Networks:          []spec.Network{mott("vm1")},
				Instances:         []spec.Instance{nginx("nginx1", "vm1", "10.231.50.11")},
				Exposures:         []spec.Exposure{webExposure("nginx1", "10.231.50.11", "198.51.100.51")},
			},
			"vm2": {Name: "vm2", Address: "https://10.0.0.12:8443", Project: "default",
				ClientCert:        filepath.Join(mustAbs(t, "../testdata/good/05-multi-remote-values"), "client.crt"),
				ClientKey:         filepath.Join(mustAbs(t, "../testdata/good/05-multi-remote-values"), "client.key"),
				ServerFingerprint: vm2Pin,
				Networks:          []spec.Network{mott("vm2")},
				Instances:         []spec.Instance{nginx("nginx2", "vm2", "10.231.50.12"), nginx("nginx3", "vm2", "10.231.50.13")},
				Exposures:         []spec.Exposure{webExposure("nginx2", "10.231.50.12", "198.51.100.52"), webExposure("nginx3", "10.231.50.13", "198.51.100.53")},
			},
		}}},
		{"06-macvlan-physical", &spec.Config{Settings: defaults(), Remotes: local(spec.Remote{
			Networks: []spec.Network{
				{Meta: meta("network.lxnbr60"), Name: "lxnbr60", Type: "bridge",
					Config: map[string]string{"ipv4.address": "10.231.60.1/24", "dns.mode": "managed", "dns.domain": "lan60"}},
				{Meta: meta("network.lxnmv60"), Name: "lxnmv60", Type: "macvlan", Config: map[string]string{"parent": "eth1"}},
			},
			Instances: []spec.Instance{edge("a", "10.231.60.21"), edge("b", "10.231.60.22")},
		})}},
		{"07-vxlan-fan", &spec.Config{Settings: defaults(), Remotes: map[string]*spec.Remote{
			"vm1": {Name: "vm1", Address: "https://10.0.0.11:8443", Project: "default",
				ClientCert:        filepath.Join(mustAbs(t, "../testdata/good/07-vxlan-fan"), "client.crt"),
				ClientKey:         filepath.Join(mustAbs(t, "../testdata/good/07-vxlan-fan"), "client.key"),
				ServerFingerprint: "sha256:" + sha256hex("vm1"),
				Networks: []spec.Network{
					overlay("vm1", "1", "10.0.0.11", "10.0.0.12"),
					{Meta: meta("network.fan"), Name: "lxnfan71", Type: "bridge", Config: map[string]string{"bridge.mode": "fan", "fan.underlay_subnet": "10.0.0.0/16"}},
				},
			},
			"vm2": {Name: "vm2", Address: "https://10.0.0.12:8443", Project: "default",
				ClientCert:        filepath.Join(mustAbs(t, "../testdata/good/07-vxlan-fan"), "client.crt"),
				ClientKey:         filepath.Join(mustAbs(t, "../testdata/good/07-vxlan-fan"), "client.key"),
				ServerFingerprint: "sha256:" + sha256hex("vm2"),
				Networks:          []spec.Network{overlay("vm2", "2", "10.0.0.12", "10.0.0.11")},
			},
		}}},
		{"08-cluster-target", &spec.Config{Settings: defaults(), Remotes: map[string]*spec.Remote{
			"cluster": {Name: "cluster", Project: "web", LXCRemote: "mycluster", Instances: []spec.Instance{
				worker(0, "member1", "running"), worker(1, "member2", "running"), worker(2, "member3", "stopped"),
			}},
		}}},
	}
	if dirs, _ := filepath.Glob("../testdata/good/*"); len(dirs) != len(tests) {
		t.Errorf("testdata/good has %d scenarios, the table %d: keep them in step", len(dirs), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			got, diags := Load(filepath.Join("../testdata/good", tt.dir), Options{})
			if diags.HasErrors() {
				t.Fatalf("unexpected diagnostics:\n%v", diags.Err())
			}
			if got.Hash == "" {
				t.Error("Hash is empty")
			}
			opts := cmp.Options{
				cmpopts.IgnoreTypes(spec.Pos{}),
				cmpopts.IgnoreFields(spec.Config{}, "Hash"),
				cmpopts.EquateEmpty(),
			}
			if diff := cmp.Diff(tt.want, got, opts); diff != "" {
				t.Errorf("desired state differs (-want +got):\n%s", diff)
			}
		})
	}
}

func sha256hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(abs); err != nil {
		t.Fatal(err)
	}
	return abs
}
