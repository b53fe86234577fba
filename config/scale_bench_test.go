package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lxnetd/lxnetd/engine/spec"
)

// Scale benchmarks: no quadratic path at 100 000 elements (issue 13).
// Measured numbers are in README.md ("Hostile input and failing servers").
//
//	go test -run '^$' -bench 'Scale' -benchtime 1x ./config/

// stringList is the HCL list literal ["<prefix>0", …, "<prefix>n-1"].
func stringList(prefix string, n int) string {
	var s strings.Builder
	s.WriteString("[")
	for i := range n {
		fmt.Fprintf(&s, "%q,", fmt.Sprint(prefix, i))
	}
	s.WriteString("]")
	return s.String()
}

// loadScale writes src as main.hcl and loads it once per iteration.
func loadScale(b *testing.B, src string, check func(*testing.B, *spec.Config)) {
	b.Helper()
	loadScaleFiles(b, []string{src}, check)
}

// loadScaleFiles writes srcs as main0.hcl, main1.hcl, … (each file at most
// MaxFileBytes) and loads the directory once per iteration.
func loadScaleFiles(b *testing.B, srcs []string, check func(*testing.B, *spec.Config)) {
	b.Helper()
	dir := b.TempDir()
	for i, src := range srcs {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("main%d.hcl", i)), []byte(src), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for b.Loop() {
		cfg, diags := Load(dir, Options{})
		if diags.HasErrors() {
			b.Fatal(diags.Err())
		}
		check(b, cfg)
	}
}

// BenchmarkScaleToset: toset of 100 000 distinct strings (go-cty's own
// conversion unifies the element types pairwise: quadratic).
func BenchmarkScaleToset(b *testing.B) {
	for _, n := range []int{10000, 20000, 100000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			src := fmt.Sprintf("locals {\n  s = toset(%s)\n}\nprofile \"p\" {\n  name   = \"p\"\n  config = { \"user.n\" = length(local.s) }\n}\n", stringList("k", n))
			loadScale(b, src, func(b *testing.B, cfg *spec.Config) {
				if got := cfg.Remotes["local"].Profiles[0].Config["user.n"]; got != fmt.Sprint(n) {
					b.Fatalf("length = %q, want %d", got, n)
				}
			})
		})
	}
}

// BenchmarkScaleForEach: a profile block with for_each over 50 000 keys.
func BenchmarkScaleForEach(b *testing.B) {
	const n = 50000
	src := fmt.Sprintf("profile \"p\" {\n  for_each = toset(%s)\n  name     = each.key\n}\n", stringList("p", n))
	loadScale(b, src, func(b *testing.B, cfg *spec.Config) {
		if got := len(cfg.Remotes["local"].Profiles); got != n {
			b.Fatalf("%d profiles, want %d", got, n)
		}
	})
}

// BenchmarkScaleLocals: 100 000 locals, each referring to the one before,
// in files of 25 000 (one file may hold at most MaxFileBytes, all of them
// MaxTotalBytes).
func BenchmarkScaleLocals(b *testing.B) {
	const n, perFile = 100000, 25000
	var srcs []string
	for first := 0; first < n; first += perFile {
		var s strings.Builder
		s.WriteString("locals {\n")
		for i := first; i < first+perFile; i++ {
			if i == 0 {
				s.WriteString("  l0 = \"v\"\n")
				continue
			}
			fmt.Fprintf(&s, "  l%d = local.l%d\n", i, i-1)
		}
		s.WriteString("}\n")
		srcs = append(srcs, s.String())
	}
	srcs = append(srcs, fmt.Sprintf("profile \"p\" {\n  name = local.l%d\n}\n", n-1))
	loadScaleFiles(b, srcs, func(b *testing.B, cfg *spec.Config) {
		if got := cfg.Remotes["local"].Profiles[0].Name; got != "v" {
			b.Fatalf("name %q", got)
		}
	})
}

// BenchmarkLoadHostScale: the configuration of internal/bench's host-scale
// benchmark (20 bridges each with a 100-port forward, 200 profiles: 215 KB),
// the load a daemon makes for every edit (LoadGCPercent).
func BenchmarkLoadHostScale(b *testing.B) {
	var w strings.Builder
	w.WriteString("remote \"bench\" {\n  address = \"unix:///run/lxd.socket\"\n}\n\n")
	for i := range 20 {
		fmt.Fprintf(&w, "network \"br%d\" {\n  remote = remote.bench\n  type = \"bridge\"\n  config = { \"ipv4.address\" = \"10.231.%d.1/24\", \"ipv4.nat\" = true, \"ipv6.address\" = \"none\" }\n}\n\n", i, i)
		fmt.Fprintf(&w, "forward \"f%d\" {\n  network = network.br%d\n  listen_address = \"198.51.100.%d\"\n", i, i, i+1)
		for p := range 100 {
			fmt.Fprintf(&w, "  port {\n    listen_port = \"%d\"\n    target_address = \"10.231.%d.%d\"\n    target_port = \"80\"\n  }\n", 10000+p, i, 10+p%50)
		}
		w.WriteString("}\n\n")
	}
	for i := range 200 {
		fmt.Fprintf(&w, "profile \"p%d\" {\n  remote = remote.bench\n  config = { \"user.index\" = \"%d\" }\n}\n\n", i, i)
	}
	loadScale(b, w.String(), func(b *testing.B, cfg *spec.Config) {
		if got := len(cfg.Remotes["bench"].Forwards); got != 20 {
			b.Fatalf("%d forwards, want 20", got)
		}
	})
}
