package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeBlocks writes a configuration of n blocks (networks, nodes with static
// addresses, services and forwards referring to them) in ten files.
func writeBlocks(tb testing.TB, dir string, n int) {
	tb.Helper()
	var files [10]strings.Builder
	nets := n / 10
	nodes := n / 2
	services := n / 5
	forwards := n - nets - nodes - services
	k := 0
	emit := func(s string) { files[k%10].WriteString(s); k++ }
	for i := 0; i < nets; i++ {
		emit(fmt.Sprintf("network \"n%d\" {\n  name   = \"lxnb%d\"\n  config = { \"ipv4.address\" = \"10.231.%d.1/24\", \"ipv4.nat\" = true }\n}\n\n", i, i, i%250))
	}
	for i := 0; i < nodes; i++ {
		emit(fmt.Sprintf("node \"w%d\" {\n  image = \"busybox\"\n  device \"eth0\" {\n    type       = \"nic\"\n    properties = { network = network.n%d.name, \"ipv4.address\" = cidrhost(\"10.231.%d.0/24\", %d) }\n  }\n}\n\n",
			i, i%nets, (i%nets)%250, 10+i/nets))
	}
	for i := 0; i < services; i++ {
		emit(fmt.Sprintf("service \"s%d\" {\n  node = node.w%d\n  port \"http\" {\n    listen      = \"198.51.100.%d:%d\"\n    target_port = 80\n  }\n}\n\n", i, i, 1+i%200, 10000+i))
	}
	for i := 0; i < forwards; i++ {
		node := nodes - 1 - i
		emit(fmt.Sprintf("forward \"f%d\" {\n  network        = network.n%d\n  listen_address = \"203.0.113.%d\"\n  port {\n    listen_port = %d\n    target      = node.w%d\n  }\n}\n\n",
			i, node%nets, 1+(node%nets)%200, 20000+i, node))
	}
	for i := range files {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d.hcl", i)), []byte(files[i].String()), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkLoad1000Blocks measures loading, evaluating and validating a
// directory of 1000 blocks (the bar: well under a second).
func BenchmarkLoad1000Blocks(b *testing.B) {
	dir := b.TempDir()
	writeBlocks(b, dir, 1000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		cfg, diags := Load(dir, Options{})
		if diags.HasErrors() {
			b.Fatal(diags.Err())
		}
		if got := len(cfg.Remotes["local"].Instances); got != 500 {
			b.Fatalf("got %d instances", got)
		}
	}
}

// TestLoadManyBlocks keeps the benchmark's configuration valid under go test.
func TestLoadManyBlocks(t *testing.T) {
	dir := t.TempDir()
	writeBlocks(t, dir, 1000)
	cfg, diags := Load(dir, Options{})
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	r := cfg.Remotes["local"]
	if len(r.Networks) != 100 || len(r.Instances) != 500 || len(r.Exposures) != 200 || len(r.Forwards) != 200 {
		t.Errorf("got %d networks, %d instances, %d exposures, %d forwards", len(r.Networks), len(r.Instances), len(r.Exposures), len(r.Forwards))
	}
}
