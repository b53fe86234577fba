package config

import (
	"reflect"
	"slices"
	"testing"
)

// TestSensitiveMarksReachSpec: every field computed from a sensitive
// variable is named in the spec's marks — also through a reference to
// another block's field — and nothing else is; the secret strings are
// listed on the configuration and on every remote.
func TestSensitiveMarksReachSpec(t *testing.T) {
	files := map[string]string{
		"main.hcl": `
variable "token" {
  type      = string
  sensitive = true
}
variable "plain" {
  type    = string
  default = "visible"
}
network "lan" {
  description = "net ${var.token}"
  config = {
    "ipv4.address" = "10.231.9.1/24"
    "user.token"   = var.token
    "user.plain"   = var.plain
  }
}
profile "p" {
  config = { "user.all" = upper(var.token) }
  device "d" {
    type       = "disk"
    properties = { path = "/mnt", source = "/srv/${var.token}" }
  }
}
node "n" {
  image       = "busybox"
  description = network.lan.description
  config      = { "user.copy" = network.lan.config["user.token"], "user.other" = network.lan.config["user.plain"] }
}
forward "f" {
  network        = network.lan
  listen_address = "198.51.100.7"
  port {
    listen_port    = 80
    target_address = "10.231.9.10"
    description    = "port ${var.token}"
  }
  port {
    listen_port    = 81
    target_address = "10.231.9.11"
  }
}`,
		"secret.vars.hcl": `token = "tok-123456"`,
	}
	cfg, diags := LoadFS(mapFS(files), Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	r := cfg.Remotes["local"]
	for _, tc := range []struct {
		what string
		got  map[string]bool
		want []string
	}{
		{"network", r.Networks[0].Sensitive, []string{"config.user.token", "description"}},
		{"profile", r.Profiles[0].Sensitive, []string{"config.user.all", "devices.d.source"}},
		{"node (by reference)", r.Instances[0].Sensitive, []string{"config.user.copy", "description"}},
		{"forward", r.Forwards[0].Sensitive, nil},
	} {
		var got []string
		for k := range tc.got {
			got = append(got, k)
		}
		slices.Sort(got)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: sensitive fields %v, want %v", tc.what, got, tc.want)
		}
	}
	if ps := r.Forwards[0].Ports; len(ps) != 2 || !ps[0].Sensitive || ps[1].Sensitive {
		t.Errorf("forward ports: want only the first sensitive, got %+v", ps)
	}
	for _, s := range []string{"tok-123456", "net tok-123456", "TOK-123456", "/srv/tok-123456", "port tok-123456"} {
		if !slices.Contains(cfg.Secrets, s) {
			t.Errorf("secrets %q lack %q", cfg.Secrets, s)
		}
	}
	if slices.Contains(cfg.Secrets, "visible") {
		t.Error("a value of a variable not declared sensitive is listed as a secret")
	}
	if !reflect.DeepEqual(r.Secrets, cfg.Secrets) {
		t.Errorf("remote secrets %q differ from the configuration's %q", r.Secrets, cfg.Secrets)
	}
}
