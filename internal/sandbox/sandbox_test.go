package sandbox

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// Valid for an LXD instance name and a Linux interface name (<= 15 bytes).
var validName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,13}[a-z0-9]$`)

func TestUniqueName(t *testing.T) {
	seen := map[string]bool{}
	for _, prefix := range []string{"", "sbx", "web", "Very_Long Prefix!", "9lives", "-x-", "a-", "ÄÖÜ"} {
		for i := 0; i < 200; i++ {
			n := UniqueName(t, prefix)
			if !validName.MatchString(n) || len(n) > 15 || strings.Contains(n, "--") {
				t.Fatalf("UniqueName(%q) = %q: not a valid instance/bridge name", prefix, n)
			}
			if seen[n] {
				t.Fatalf("UniqueName(%q) repeated %q", prefix, n)
			}
			seen[n] = true
		}
	}
	if n := UniqueName(t, "web"); !strings.HasPrefix(n, "web-") {
		t.Errorf("UniqueName(web) = %q, want prefix web-", n)
	}
}

func TestHostIP(t *testing.T) {
	if got := HostIP("10.231.40.0/24", 10); got != "10.231.40.10" {
		t.Errorf("HostIP = %q, want 10.231.40.10", got)
	}
}

func TestParseState(t *testing.T) {
	st, err := parseState(strings.NewReader("# comment\n\nA=1\nB=x=y\n"))
	if err != nil {
		t.Fatal(err)
	}
	if st["A"] != "1" || st["B"] != "x=y" || len(st) != 2 {
		t.Errorf("parseState = %v", st)
	}
	if _, err := parseState(strings.NewReader("oops\n")); err == nil {
		t.Error("parseState accepted a line without =")
	}
}

func TestLoadMissingState(t *testing.T) {
	_, err := load(t.TempDir(), "primary")
	if err == nil || !strings.Contains(err.Error(), "state.env") {
		t.Fatalf("load from an empty dir: %v, want an error naming state.env", err)
	}
}

func TestLoadState(t *testing.T) {
	dir := t.TempDir()
	state := `SECONDARY_DIR=/s
SECONDARY_SOCKET=/s/unix.socket
SECONDARY_HTTPS=https://127.0.0.1:18443
SECONDARY_LXD_CONF=/s-client
SECONDARY_CLIENT_CERT=/s-client/client.crt
SECONDARY_CLIENT_KEY=/s-client/client.key
SECONDARY_FINGERPRINT=sha256:ab
`
	if err := os.WriteFile(filepath.Join(dir, "state.env"), []byte(state), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := load(dir, "secondary")
	if err != nil {
		t.Fatal(err)
	}
	want := Daemon{Name: "secondary", Kind: KindLXD, Dir: "/s", Socket: "/s/unix.socket", HTTPSAddress: "https://127.0.0.1:18443",
		ClientCert: "/s-client/client.crt", ClientKey: "/s-client/client.key", ServerFingerprint: "sha256:ab", LXDConf: "/s-client"}
	if !reflect.DeepEqual(*d, want) {
		t.Errorf("load = %+v\nwant %+v", *d, want)
	}
	r := d.Remote()
	if r.Address != want.HTTPSAddress || r.ClientCert != want.ClientCert || r.ServerFingerprint != "sha256:ab" {
		t.Errorf("Remote() = %+v", r)
	}
	if _, err := load(dir, "primary"); err == nil {
		t.Error("load(primary) succeeded from a state without primary")
	}
}

func TestLoadIncusState(t *testing.T) {
	dir := t.TempDir()
	state := "INCUS_DIR=/i\nINCUS_SOCKET=/i/unix.socket\nINCUS_CONF=/i-client\nINCUS_FINGERPRINT=sha256:cd\n"
	if err := os.WriteFile(filepath.Join(dir, "state.env"), []byte(state), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := load(dir, "incus")
	if err != nil {
		t.Fatal(err)
	}
	want := Daemon{Name: "incus", Kind: KindIncus, Dir: "/i", Socket: "/i/unix.socket", ServerFingerprint: "sha256:cd", LXDConf: "/i-client"}
	if !reflect.DeepEqual(*d, want) {
		t.Errorf("load = %+v\nwant %+v", *d, want)
	}
	if r := d.Remote(); r.Name != "incus" || r.Address != "unix:///i/unix.socket" {
		t.Errorf("Remote() = %+v, want the unix socket", r)
	}
	if got := d.client(); got != "incus" {
		t.Errorf("client() = %q, want incus", got)
	}
}

func testPool(t *testing.T, used map[string]bool) *pool {
	return &pool{
		dir: t.TempDir(), kind: "test", first: 1, last: 3,
		format: func(n int) string { return string(rune('a' + n)) },
		inUse:  func(s string) bool { return used[s] },
	}
}

func TestPoolRoundRobinAndRelease(t *testing.T) {
	p := testPool(t, nil)
	me := os.Getpid()
	var got []int
	for i := 0; i < 3; i++ {
		n, err := p.lease(me)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, n)
	}
	if got[0] != 1 || got[1] != 2 || got[2] != 3 {
		t.Fatalf("leases = %v, want [1 2 3]", got)
	}
	if n, err := p.lease(me); err == nil {
		t.Fatalf("a fourth lease from a pool of three succeeded: %d", n)
	}
	p.release(2)
	if n, err := p.lease(me); err != nil || n != 2 {
		t.Fatalf("after releasing 2: lease = %d, %v; want 2", n, err)
	}
}

func TestPoolTakesBackLeasesOfDeadProcesses(t *testing.T) {
	p := testPool(t, nil)
	// A pid that cannot be alive: beyond the kernel's pid_max limit (2^22).
	if err := os.WriteFile(p.leaseFile(1), []byte("99999999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if n, err := p.lease(os.Getpid()); err != nil || n != 1 {
		t.Fatalf("lease = %d, %v; want 1 (its owner is dead)", n, err)
	}
}

func TestPoolSkipsResourcesInUse(t *testing.T) {
	p := testPool(t, map[string]bool{"b": true}) // number 1 formats as "b"
	if n, err := p.lease(os.Getpid()); err != nil || n != 2 {
		t.Fatalf("lease = %d, %v; want 2 (1 is in use on the host)", n, err)
	}
}

func TestHostUsesSubnet(t *testing.T) {
	if !hostUsesSubnet("127.0.0.0/24") {
		t.Error("127.0.0.0/24 not reported in use (lo has 127.0.0.1)")
	}
	if hostUsesSubnet("198.18.255.0/24") {
		t.Error("198.18.255.0/24 reported in use")
	}
}
