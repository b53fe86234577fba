package daemon

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestMetricsEndpoint(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	m := &Metrics{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := ServeMetrics(ctx, addr, m); err != nil {
		t.Fatal(err)
	}
	m.update(&Status{ConfigHash: "h", ConfigError: "web.hcl:1,1: bad", Remotes: []RemoteStatus{
		{Name: "vm1", State: StateConverged, ConfigHash: "h", Connected: true, Objects: 41, Passes: 7, Writes: 3, DriftCorrections: 1, Events: 12, FullReads: 2, ObjectReads: 9, Requests: 40, LastConverged: time.Unix(1700000000, 0)},
		{Name: "vm2", State: StateFailing, Reconnects: 2},
	}})
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	body := string(b)
	for _, want := range []string{
		`lxnetd_remote_converged{remote="vm1"} 1`,
		`lxnetd_remote_converged{remote="vm2"} 0`,
		`lxnetd_remote_connected{remote="vm1"} 1`,
		`lxnetd_remote_objects{remote="vm1"} 41`,
		`lxnetd_remote_passes_total{remote="vm1"} 7`,
		`lxnetd_remote_writes_total{remote="vm1"} 3`,
		`lxnetd_remote_drift_corrections_total{remote="vm1"} 1`,
		`lxnetd_remote_events_total{remote="vm1"} 12`,
		`lxnetd_remote_reconnects_total{remote="vm2"} 2`,
		`lxnetd_remote_full_reads_total{remote="vm1"} 2`,
		`lxnetd_remote_object_reads_total{remote="vm1"} 9`,
		`lxnetd_remote_lxd_requests_total{remote="vm1"} 40`,
		`lxnetd_remote_last_converged_timestamp_seconds{remote="vm1"} 1.7e+09`,
		`lxnetd_config_rejected 1`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// The text format allows one HELP and one TYPE per family.
	for _, m := range remoteMetrics {
		if n := strings.Count(body, "# HELP "+m.name+" "); n != 1 {
			t.Errorf("%d HELP lines for %s, want 1", n, m.name)
		}
		if n := strings.Count(body, "# TYPE "+m.name+" "+m.kind+"\n"); n != 1 {
			t.Errorf("%d TYPE lines for %s, want 1", n, m.name)
		}
	}
	if got, want := labelValue.Replace("a\"b\\c\nd"), `a\"b\\c\nd`; got != want {
		t.Errorf("label value escaped as %s, want %s", got, want)
	}
	if err := ServeMetrics(ctx, addr, m); err == nil || !strings.Contains(err.Error(), "listening for metrics") {
		t.Errorf("second listener on %s: %v, want an error", addr, err)
	}
}

func TestStatusLine(t *testing.T) {
	st := Status{ConfigHash: "0123456789abcdef", Remotes: []RemoteStatus{
		{Name: "vm1", State: StateConverged, Objects: 40, ConfigHash: "0123456789abcdef"},
		{Name: "vm2", State: StateFailing, LastError: "dial tcp 10.0.0.2:8443: connect: connection refused\nmore"},
		{Name: "vm3", State: StateConverged, Objects: 1, ConfigHash: "0123456789abcdef"},
	}}
	want := "2/3 remotes converged, 41 objects, vm2: dial tcp 10.0.0.2:8443: connect: connection refused, config 0123456789ab"
	if got := st.Line(); got != want {
		t.Errorf("Line() = %q\nwant     %q", got, want)
	}
	if st.Converged() {
		t.Error("Converged with a failing remote")
	}
	st.Remotes = st.Remotes[:1]
	if !st.Converged() {
		t.Error("not Converged with one converged remote")
	}
	st.ConfigError = "web.hcl:3,5-9: Unsupported argument"
	if !strings.HasSuffix(st.Line(), "; rejected edit: web.hcl:3,5-9: Unsupported argument") || st.Converged() {
		t.Errorf("Line() with a rejected edit = %q", st.Line())
	}
	if got := oneLine(strings.Repeat("x ", 400)); len(got) != 400 || !strings.HasSuffix(got, "...") {
		t.Errorf("oneLine did not cap the length: %d", len(got))
	}
}
