package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	"github.com/lxnetd/lxnetd/config/files"
	"github.com/lxnetd/lxnetd/engine/spec"
)

func mapFS(files map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, content := range files {
		fsys[name] = &fstest.MapFile{Data: []byte(content)}
	}
	return fsys
}

func mustLoad(t *testing.T, files map[string]string, opts Options) *spec.Config {
	t.Helper()
	cfg, diags := LoadFS(mapFS(files), opts)
	if diags.HasErrors() {
		var b bytes.Buffer
		_ = diags.WriteText(&b, false)
		t.Fatalf("unexpected diagnostics:\n%s", b.String())
	}
	return cfg
}

const varsMain = `
variable "desc" {
  type    = string
  default = "from-default"
}
variable "n" {
  type    = number
  default = 1
}
network "lxnbr0" {
  description = "${var.desc}/${var.n}"
}
`

func desc(cfg *spec.Config) string { return cfg.Remotes["local"].Networks[0].Description }

// TestVariablePrecedence: default < environment < *.vars.hcl < --var-file < --var.
func TestVariablePrecedence(t *testing.T) {
	dir := t.TempDir()
	varFile := filepath.Join(dir, "extra.hcl")
	if err := os.WriteFile(varFile, []byte("desc = \"from-var-file\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"LXNET_VAR_desc=from-env", "LXNET_VAR_n=7", "LXNET_VAR_undeclared=ignored", "PATH=/bin"}
	tests := []struct {
		name  string
		files map[string]string
		opts  Options
		want  string
	}{
		{"default", map[string]string{"main.hcl": varsMain}, Options{}, "from-default/1"},
		{"environment", map[string]string{"main.hcl": varsMain}, Options{Environ: env}, "from-env/7"},
		{"vars file beats environment", map[string]string{"main.hcl": varsMain, "a.vars.hcl": `desc = "from-vars-hcl"`},
			Options{Environ: env}, "from-vars-hcl/7"},
		{"later vars file wins", map[string]string{"main.hcl": varsMain, "a.vars.hcl": `desc = "a"`, "b.vars.hcl": `desc = "b"`},
			Options{}, "b/1"},
		{"var-file beats vars files", map[string]string{"main.hcl": varsMain, "a.vars.hcl": `desc = "a"`},
			Options{VarFiles: []string{varFile}, Environ: env}, "from-var-file/7"},
		{"--var beats everything", map[string]string{"main.hcl": varsMain, "a.vars.hcl": `desc = "a"`},
			Options{Vars: map[string]string{"desc": "from-flag", "n": "42"}, VarFiles: []string{varFile}, Environ: env}, "from-flag/42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := desc(mustLoad(t, tt.files, tt.opts)); got != tt.want {
				t.Errorf("description = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestComplexVariableFromFlag(t *testing.T) {
	cfg := mustLoad(t, map[string]string{"main.hcl": `
variable "names" { type = list(string) }
network "br" {
  for_each = toset(var.names)
  name     = each.key
}`}, Options{Vars: map[string]string{"names": `["lxna", "lxnb"]`}})
	var got []string
	for _, n := range cfg.Remotes["local"].Networks {
		got = append(got, n.Name)
	}
	if diff := cmp.Diff([]string{"lxna", "lxnb"}, got); diff != "" {
		t.Error(diff)
	}
}

// TestSkippedFiles: dotfiles, backups, swap files and non-.hcl files are not
// part of the configuration.
func TestSkippedFiles(t *testing.T) {
	set := map[string]string{
		"main.hcl":        `network "lxnbr0" {}`,
		".hidden.hcl":     `broken {`,
		"main.hcl~":       `broken {`,
		"#main.hcl#":      `broken {`,
		".main.hcl.swp":   `broken {`,
		"notes.txt":       `broken {`,
		"main.hcl.dpkg-o": `broken {`,
	}
	cfg := mustLoad(t, set, Options{})
	if n := len(cfg.Remotes["local"].Networks); n != 1 {
		t.Errorf("got %d networks, want 1", n)
	}
	names, unreadable, err := files.List(mapFS(set))
	if err != nil || len(unreadable) > 0 {
		t.Fatal(err, unreadable)
	}
	if diff := cmp.Diff([]string{"main.hcl"}, names); diff != "" {
		t.Error(diff)
	}
}

// TestOrderIndependent: references work whatever file and order they are in,
// and the result and its hash do not depend on it.
func TestOrderIndependent(t *testing.T) {
	files := map[string]string{
		"a.hcl": `node "web" {
  image = "busybox"
  device "eth0" {
    type       = "nic"
    properties = { network = network.lxnbr0.name, "ipv4.address" = local.ip }
  }
}`,
		"b.hcl": `locals { ip = cidrhost(local.subnet, 10) }
network "lxnbr0" { config = { "ipv4.address" = "${cidrhost(local.subnet, 1)}/24" } }
locals { subnet = "10.231.9.0/24" }`,
	}
	a := mustLoad(t, files, Options{})
	n := a.Remotes["local"].Instances[0]
	if n.IPv4 != "10.231.9.10" || n.Network != "lxnbr0" || n.NIC != "eth0" {
		t.Errorf("node address = %q on %q via %q", n.IPv4, n.Network, n.NIC)
	}
	if again := mustLoad(t, files, Options{}); again.Hash != a.Hash {
		t.Error("the same files gave different hashes")
	}
	// The same declarations with the files' contents swapped.
	b := mustLoad(t, map[string]string{"a.hcl": files["b.hcl"], "b.hcl": files["a.hcl"]}, Options{})
	if m := b.Remotes["local"].Instances[0]; m.IPv4 != n.IPv4 || m.Network != n.Network || m.NIC != n.NIC {
		t.Errorf("swapped files: node address = %q on %q via %q", m.IPv4, m.Network, m.NIC)
	}
	c := mustLoad(t, map[string]string{"a.hcl": `network "lxnbr0" {}`}, Options{})
	if c.Hash == a.Hash {
		t.Error("different files gave the same hash")
	}
}

func TestImplicitLocalRemoteAndDefaults(t *testing.T) {
	cfg := mustLoad(t, map[string]string{"main.hcl": `node "web" { image = "busybox" }`}, Options{})
	if diff := cmp.Diff(defaults(), cfg.Settings); diff != "" {
		t.Error(diff)
	}
	r := cfg.Remotes["local"]
	if r == nil || r.Address != "unix://" || r.Project != "default" || len(cfg.Remotes) != 1 {
		t.Fatalf("remotes = %+v", cfg.Remotes)
	}
	n := r.Instances[0]
	if n.Type != "container" || n.State != "running" || !cmp.Equal(n.Profiles, []string{"default"}) {
		t.Errorf("instance defaults: %+v", n)
	}
}

func TestLxnetSettings(t *testing.T) {
	cfg := mustLoad(t, map[string]string{"main.hcl": `lxnet {
  owner            = "edge-1"
  resync_interval  = "90s"
  max_deletes      = 0
  delete_instances = true
  allow_empty      = true
  lease_ttl        = "45s"
}`}, Options{})
	want := spec.Settings{Owner: "edge-1", ResyncInterval: 90e9, MaxDeletes: 0, DeleteInstances: true, AllowEmpty: true, LeaseTTL: 45e9}
	if diff := cmp.Diff(want, cfg.Settings); diff != "" {
		t.Error(diff)
	}
}

// TestFunctions exercises the functions beyond cty's stdlib.
func TestFunctions(t *testing.T) {
	cfg := mustLoad(t, map[string]string{
		"main.hcl": `
locals {
  doc = yamldecode(file("data/doc.yaml"))
}
network "lxnbr0" {
  config = {
    "user.a" = cidrnetmask("10.231.0.0/20")
    "user.b" = cidrsubnet("10.231.0.0/16", 8, 3)
    "user.c" = jsonencode({ x = [1, 2] })
    "user.d" = jsondecode("{\"k\": \"v\"}").k
    "user.e" = trimspace(yamlencode({ a = 1 }))
    "user.f" = local.doc.name
    "user.g" = join(",", [for k in keys(merge({ a = 1 }, { b = 2 })) : upper(k)])
    "user.h" = tostring(length("héllo"))
    "user.i" = index(["x", "y"], "y")
    "user.j" = startswith("lxnbr0", "lxn")
    "user.k" = coalesce("", "fallback")
    "user.l" = 1.5
    "user.m" = "${alltrue([true, 1 < 2])},${alltrue([true, false])},${alltrue([])},${alltrue([true, null])}"
    "user.n" = "${anytrue([false, 1 < 2])},${anytrue([false, false])},${anytrue([])},${anytrue(["true"])}"
  }
}`,
		"data/doc.yaml": "name: from-yaml\n",
	}, Options{})
	want := map[string]string{
		"user.a": "255.255.240.0", "user.b": "10.231.3.0/24", "user.c": `{"x":[1,2]}`, "user.d": "v",
		"user.e": "\"a\": 1", "user.f": "from-yaml", "user.g": "A,B", "user.h": "5", "user.i": "1",
		"user.j": "true", "user.k": "fallback", "user.l": "1.5",
		"user.m": "true,false,true,false", "user.n": "true,false,false,true",
	}
	if diff := cmp.Diff(want, cfg.Remotes["local"].Networks[0].Config); diff != "" {
		t.Error(diff)
	}
}

// TestSensitiveNeverPrinted: no diagnostic, in text or JSON, contains the
// value of a sensitive variable or anything derived from it.
func TestSensitiveNeverPrinted(t *testing.T) {
	secret := "correct-horse-battery"
	files := map[string]string{
		"main.hcl": `
variable "token" {
  type      = string
  sensitive = true
  validation {
    condition     = length(var.token) < 5
    error_message = "too long"
  }
}
network "lxnbr0" {
  config = {
    "ipv4.address" = upper(var.token)
    "bad"          = cidrhost(var.token, 1)
  }
}`,
		"secret.vars.hcl": `token = "` + secret + `"`,
	}
	cfg, diags := LoadFS(mapFS(files), Options{})
	if !diags.HasErrors() || cfg != nil {
		t.Fatal("expected errors")
	}
	var text, js bytes.Buffer
	_ = diags.WriteText(&text, false)
	_ = diags.WriteJSON(&js)
	for _, out := range []string{text.String(), js.String(), diags.Err().Error()} {
		for _, leak := range []string{secret, strings.ToUpper(secret)} {
			if strings.Contains(out, leak) {
				t.Errorf("output leaks the sensitive value:\n%s", out)
			}
		}
	}
	if !strings.Contains(text.String(), "too long") {
		t.Errorf("validation message missing:\n%s", text.String())
	}
}

func TestErrFormat(t *testing.T) {
	_, diags := LoadFS(mapFS(map[string]string{"web.hcl": `network "lxnbr0" {
  colour = "red"
  type   = "brige"
}`}), Options{})
	want := `web.hcl:2,3-9: Unsupported argument; An argument named "colour" is not expected here. (and 1 more)`
	if got := diags.Err().Error(); got != want {
		t.Errorf("Err() = %q\nwant     %q", got, want)
	}
	if (Diagnostics{}).Err() != nil {
		t.Error("empty diagnostics must give a nil Err")
	}
}

func TestWarningOnlyStillLoads(t *testing.T) {
	cfg, diags := LoadFS(fstest.MapFS{}, Options{})
	if cfg == nil || diags.HasErrors() || diags.Len() != 1 {
		t.Fatalf("empty directory: cfg=%v diags=%v", cfg, diags.List())
	}
	if _, ok := cfg.Remotes["local"]; !ok {
		t.Error("the implicit local remote is missing")
	}
}

// TestDanglingSymlink: a *.hcl symlink whose target is gone (an editor or a
// ..data swap caught half-way) fails the load instead of being skipped,
// which would make its objects look removed and get them pruned.
func TestDanglingSymlink(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.hcl"), []byte(`network "lxnbr0" {}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "gone.hcl.orig"), filepath.Join(dir, "b.hcl")); err != nil {
		t.Fatal(err)
	}
	cfg, diags := Load(dir, Options{})
	if cfg != nil || !diags.HasErrors() {
		t.Fatalf("loaded with a dangling b.hcl: %v", diags.Err())
	}
	if got := diags.Err().Error(); !strings.Contains(got, "Cannot read configuration file") || !strings.Contains(got, "b.hcl") {
		t.Errorf("diagnostic = %q, want it to name b.hcl", got)
	}
	if _, err := Files(dir); err == nil || !strings.Contains(err.Error(), "b.hcl") {
		t.Errorf("Files: err = %v, want one naming b.hcl", err)
	}

	// A symlink to an existing file (a Kubernetes ..data link) is read.
	data := filepath.Join(dir, "..data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(data, "b.hcl"), []byte(`network "lxnbr1" {}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "b.hcl")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join("..data", "b.hcl"), filepath.Join(dir, "b.hcl")); err != nil {
		t.Fatal(err)
	}
	cfg, diags = Load(dir, Options{})
	if diags.HasErrors() {
		t.Fatalf("symlinked file: %v", diags.Err())
	}
	if n := len(cfg.Remotes["local"].Networks); n != 2 {
		t.Errorf("got %d networks through the symlink, want 2", n)
	}
}

func TestMissingDirectory(t *testing.T) {
	cfg, diags := Load(filepath.Join(t.TempDir(), "nope"), Options{})
	if cfg != nil || !diags.HasErrors() || !strings.Contains(diags.Err().Error(), "Cannot read configuration directory") {
		t.Fatalf("got %v", diags.Err())
	}
}

func TestColorOutput(t *testing.T) {
	_, diags := LoadFS(mapFS(map[string]string{"a.hcl": `network "x" {}`}), Options{})
	var plain, color bytes.Buffer
	_ = diags.WriteText(&plain, false)
	_ = diags.WriteText(&color, true)
	if strings.Contains(plain.String(), "\x1b[") || !strings.Contains(color.String(), "\x1b[") {
		t.Errorf("color=false must print no escapes and color=true some:\n%q\n%q", plain.String(), color.String())
	}
}

func TestFormat(t *testing.T) {
	out, diags := Format("a.hcl", []byte("network \"x\" {\ntype=\"bridge\"\n  config={a=1}\n}\n"))
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	want := "network \"x\" {\n  type   = \"bridge\"\n  config = { a = 1 }\n}\n"
	if string(out) != want {
		t.Errorf("Format =\n%s\nwant\n%s", out, want)
	}
	src := []byte("network \"x\" {\n")
	out, diags = Format("b.hcl", src)
	if !diags.HasErrors() || !bytes.Equal(out, src) {
		t.Error("a file with syntax errors must be returned unchanged with errors")
	}
}

// TestRemoteNullSettings: a null client_cert/client_key is an absent one, so
// one remote block serves a unix socket or an https server from variables.
func TestRemoteNullSettings(t *testing.T) {
	main := `
variable "host" {
  type = object({ address = string, client_cert = optional(string), client_key = optional(string), server_fingerprint = optional(string) })
}
remote "a" {
  address            = var.host.address
  client_cert        = var.host.client_cert
  client_key         = var.host.client_key
  server_fingerprint = var.host.server_fingerprint
}`
	cfg := mustLoad(t, map[string]string{"main.hcl": main}, Options{Vars: map[string]string{"host": `{ address = "unix://" }`}})
	if r := cfg.Remotes["a"]; r.Address != "unix://" || r.ClientCert != "" || r.ClientKey != "" {
		t.Errorf("unix remote from null certificates: %+v", r)
	}
	_, diags := LoadFS(mapFS(map[string]string{"main.hcl": main}), Options{Vars: map[string]string{
		"host": `{ address = "unix://", client_cert = "c.crt" }`}})
	if err := diags.Err(); err == nil || !strings.Contains(err.Error(), "Unused client certificate") {
		t.Errorf("a set client_cert on a unix remote: %v", err)
	}
}

// TestOperatorConstructs: constructs an operator writes that must evaluate
// to what LXD expects: numbers in LXD's own notation (1e3 is "1000"), bools,
// null values leaving the key out, heredocs, unicode, CRLF line endings, an
// file with only comments, and a service over the instances of a for_each node block, by
// values(), a for expression, or its own for_each.
func TestOperatorConstructs(t *testing.T) {
	remotes := `
remote "vm1" {
  address            = "https://10.0.0.11:8443"
  client_cert        = "certs/client.crt"
  client_key         = "certs/client.key"
  server_fingerprint = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
}
remote "vm2" {
  address            = "https://10.0.0.12:8443"
  client_cert        = "certs/client.crt"
  client_key         = "certs/client.key"
  server_fingerprint = "sha256:2222222222222222222222222222222222222222222222222222222222222222"
}
network "lan" {
  for_each = toset(["vm1", "vm2"])
  remote   = each.key
  name     = "lxnbr0"
  config = {
    "ipv4.address"     = "10.231.20.1/24"
    "bridge.mtu"       = 1e3
    "ipv4.dhcp.expiry" = 0.5
    "ipv4.nat"         = true
    "ipv6.nat"         = false
    "dns.domain"       = null
  }
}
`
	nodes := `
node "web" {
  for_each = { a = { remote = "vm1", ip = "10.231.20.10" }, b = { remote = "vm2", ip = "10.231.20.11" } }
  remote   = each.value.remote
  image    = "busybox"
  description = "réseau – 網路"
  config = {
    "user.user-data" = <<-EOT
      #cloud-config
      packages: [nginx]
    EOT
  }
  device "eth0" {
    type       = "nic"
    properties = { network = network.lan[each.value.remote].name, "ipv4.address" = each.value.ip }
  }
}
`
	port := "\n" + `port "http" { listen = "198.51.100.20:80" }` + "\n}"
	services := map[string]string{
		"values":   "service \"s\" {\nnodes = values(node.web)" + port,
		"for":      "service \"s\" {\nnodes = [for n in node.web : n]" + port,
		"for_each": "service \"s\" {\nfor_each = node.web\nnode = each.value" + port,
	}
	for name, svc := range services {
		t.Run(name, func(t *testing.T) {
			cfg := mustLoad(t, map[string]string{
				"main.hcl":  strings.ReplaceAll(remotes, "\n", "\r\n"),
				"nodes.hcl": nodes,
				"svc.hcl":   svc,
				"empty.hcl": "# declares nothing (yet)\n", // comments only: valid; a blank file is refused
				// validate checks that certificate files exist (relative to
				// the directory), not what they hold
				"certs/client.crt": "placeholder", "certs/client.key": "placeholder",
			}, Options{})
			for remote, inst := range map[string]string{"vm1": "web-a", "vm2": "web-b"} {
				r := cfg.Remotes[remote]
				if len(r.Exposures) != 1 || r.Exposures[0].Instance != inst || r.Exposures[0].ListenAddress != "198.51.100.20" {
					t.Errorf("%s: exposures = %+v, want one of 198.51.100.20 to %s", remote, r.Exposures, inst)
				}
			}
			wantNet := map[string]string{
				"ipv4.address": "10.231.20.1/24", "bridge.mtu": "1000", "ipv4.dhcp.expiry": "0.5",
				"ipv4.nat": "true", "ipv6.nat": "false",
			}
			if diff := cmp.Diff(wantNet, cfg.Remotes["vm1"].Networks[0].Config); diff != "" {
				t.Errorf("network config (-want +got):\n%s", diff)
			}
			n := cfg.Remotes["vm2"].Instances[0]
			if n.Description != "réseau – 網路" || n.Config["user.user-data"] != "#cloud-config\npackages: [nginx]\n" {
				t.Errorf("instance description %q, user-data %q", n.Description, n.Config["user.user-data"])
			}
		})
	}
}

// TestLXCRemoteProject: a remote taken from the lxc client configuration
// keeps lxc's project unless the block sets one (Project stays empty for the
// adapter to fill in, as lxc would use it).
func TestLXCRemoteProject(t *testing.T) {
	cfg := mustLoad(t, map[string]string{"main.hcl": `
remote "a" { lxc_remote = "vm1" }
remote "b" {
  lxc_remote = "vm1"
  project    = "web"
}
remote "c" { address = "unix://" }
network "lxnbr0" { remote = remote.a }
`}, Options{})
	got := map[string]string{}
	for name, r := range cfg.Remotes {
		got[name] = r.Project
	}
	if diff := cmp.Diff(map[string]string{"a": "", "b": "web", "c": "default"}, got); diff != "" {
		t.Errorf("projects (-want +got):\n%s", diff)
	}
}

// TestIncusRemote: incus_remote is lxc_remote for the incus client's
// configuration: it reaches the spec as IncusRemote, with the project left
// to the incus remote unless the block sets one.
func TestIncusRemote(t *testing.T) {
	cfg := mustLoad(t, map[string]string{"main.hcl": `
remote "a" { incus_remote = "vm1" }
remote "b" {
  incus_remote = "vm2"
  project      = "web"
}
network "lxnbr0" { remote = remote.a }
`}, Options{})
	type conn struct{ Incus, LXC, Project, Address string }
	got := map[string]conn{}
	for name, r := range cfg.Remotes {
		got[name] = conn{r.IncusRemote, r.LXCRemote, r.Project, r.Address}
	}
	want := map[string]conn{"a": {Incus: "vm1"}, "b": {Incus: "vm2", Project: "web"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("remotes (-want +got):\n%s", diff)
	}
}
