package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
)

// Metrics exposes the daemon's status to Prometheus. /metrics renders the
// latest Status snapshot, so the numbers there are exactly those `lxnetd
// status` shows, followed by the Go runtime's and the process's metrics
// (go_*, process_*).
//
// The snapshot is written in Prometheus's text format by writeStatus, and
// the runtime's metrics by github.com/VictoriaMetrics/metrics, not with
// Prometheus's own client: that client brings protobuf, ~1.7 MB of the
// binary, and on a kernel that maps a binary's text whole (README,
// "Memory") every megabyte of it is a megabyte of the daemon's RSS, whose
// target is 30 MB.
type Metrics struct {
	mu   sync.Mutex
	last *Status
}

// metric is one per-remote metric family.
type metric struct {
	name, help, kind string
	value            func(r RemoteStatus, st *Status) (float64, bool)
}

func gauge(name, help string, v func(RemoteStatus, *Status) float64) metric {
	return metric{name, help, "gauge", func(r RemoteStatus, st *Status) (float64, bool) { return v(r, st), true }}
}

func counter(name, help string, v func(RemoteStatus) int64) metric {
	return metric{name, help, "counter", func(r RemoteStatus, _ *Status) (float64, bool) { return float64(v(r)), true }}
}

func bit(v bool) float64 {
	if v {
		return 1
	}
	return 0
}

var remoteMetrics = []metric{
	gauge("lxnetd_remote_converged", "1 when the remote converged to the current configuration.",
		func(r RemoteStatus, st *Status) float64 {
			return bit(r.State == StateConverged && r.ConfigHash == st.ConfigHash)
		}),
	gauge("lxnetd_remote_connected", "1 while connected to the remote.", func(r RemoteStatus, _ *Status) float64 { return bit(r.Connected) }),
	gauge("lxnetd_remote_objects", "Objects lxnetd owns on the remote.", func(r RemoteStatus, _ *Status) float64 { return float64(r.Objects) }),
	gauge("lxnetd_remote_lease_held", "1 while this daemon holds the one-writer lease of the remote (0: standby, or not taken yet).",
		func(r RemoteStatus, _ *Status) float64 { return bit(r.Lease == LeaseHeld) }),
	counter("lxnetd_remote_passes_total", "Convergence passes run.", func(r RemoteStatus) int64 { return r.Passes }),
	counter("lxnetd_remote_writes_total", "Changes written to LXD.", func(r RemoteStatus) int64 { return r.Writes }),
	counter("lxnetd_remote_drift_corrections_total", "Changes that undid drift in LXD.", func(r RemoteStatus) int64 { return r.DriftCorrections }),
	counter("lxnetd_remote_events_total", "LXD lifecycle events received.", func(r RemoteStatus) int64 { return r.Events }),
	counter("lxnetd_remote_reconnects_total", "Event stream reconnections.", func(r RemoteStatus) int64 { return r.Reconnects }),
	counter("lxnetd_remote_full_reads_total", "Full reads of the remote (bulk lists) into its cache.", func(r RemoteStatus) int64 { return r.FullReads }),
	counter("lxnetd_remote_object_reads_total", "Objects re-read one by one into the cache (after events and writes).", func(r RemoteStatus) int64 { return r.ObjectReads }),
	counter("lxnetd_remote_lxd_requests_total", "LXD API requests of convergence passes.", func(r RemoteStatus) int64 { return r.Requests }),
	{"lxnetd_remote_last_converged_timestamp_seconds", "Unix time of the last successful pass.", "gauge",
		func(r RemoteStatus, _ *Status) (float64, bool) {
			return float64(r.LastConverged.UnixNano()) / 1e9, !r.LastConverged.IsZero()
		}},
}

// labelValue escapes a label value as the text format wants it.
var labelValue = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// writeStatus writes st in Prometheus's text exposition format: each
// family's HELP and TYPE once, then one sample per remote.
func writeStatus(w io.Writer, st *Status) {
	family := func(name, help, kind string) { fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, kind) }
	value := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	family("lxnetd_config_rejected", "1 while the directory holds a rejected edit.", "gauge")
	fmt.Fprintf(w, "lxnetd_config_rejected %s\n", value(bit(st.ConfigError != "")))
	for _, m := range remoteMetrics {
		family(m.name, m.help, m.kind)
		for _, r := range st.Remotes {
			if v, ok := m.value(r, st); ok {
				fmt.Fprintf(w, "%s{remote=\"%s\"} %s\n", m.name, labelValue.Replace(r.Name), value(v))
			}
		}
	}
}

// ServeHTTP answers /metrics.
func (m *Metrics) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	m.mu.Lock()
	st := m.last
	m.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	if st != nil {
		writeStatus(w, st)
	}
	metrics.WriteProcessMetrics(w)
}

func (m *Metrics) update(st *Status) {
	m.mu.Lock()
	m.last = st
	m.mu.Unlock()
}

// ServeMetrics serves /metrics on addr (e.g. "127.0.0.1:9477") until ctx is
// done. It returns once listening, so a bad address fails start-up.
func ServeMetrics(ctx context.Context, addr string, m *Metrics) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", m)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listening for metrics on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = err // the listener is ours; Serve fails only on close
		}
	}()
	return nil
}
