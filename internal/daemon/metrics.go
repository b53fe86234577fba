package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics exposes the daemon's status to Prometheus. It is a collector over
// the latest Status snapshot, so the numbers on /metrics are exactly those
// `lxnetd status` shows.
type Metrics struct {
	mu   sync.Mutex
	last *Status
}

var (
	mConverged   = prometheus.NewDesc("lxnetd_remote_converged", "1 when the remote converged to the current configuration.", []string{"remote"}, nil)
	mConnected   = prometheus.NewDesc("lxnetd_remote_connected", "1 while connected to the remote.", []string{"remote"}, nil)
	mObjects     = prometheus.NewDesc("lxnetd_remote_objects", "Objects lxnetd owns on the remote.", []string{"remote"}, nil)
	mPasses      = prometheus.NewDesc("lxnetd_remote_passes_total", "Convergence passes run.", []string{"remote"}, nil)
	mWrites      = prometheus.NewDesc("lxnetd_remote_writes_total", "Changes written to LXD.", []string{"remote"}, nil)
	mDrift       = prometheus.NewDesc("lxnetd_remote_drift_corrections_total", "Changes that undid drift in LXD.", []string{"remote"}, nil)
	mEvents      = prometheus.NewDesc("lxnetd_remote_events_total", "LXD lifecycle events received.", []string{"remote"}, nil)
	mReconnects  = prometheus.NewDesc("lxnetd_remote_reconnects_total", "Event stream reconnections.", []string{"remote"}, nil)
	mFullReads   = prometheus.NewDesc("lxnetd_remote_full_reads_total", "Full reads of the remote (bulk lists) into its cache.", []string{"remote"}, nil)
	mObjectReads = prometheus.NewDesc("lxnetd_remote_object_reads_total", "Objects re-read one by one into the cache (after events and writes).", []string{"remote"}, nil)
	mRequests    = prometheus.NewDesc("lxnetd_remote_lxd_requests_total", "LXD API requests of convergence passes.", []string{"remote"}, nil)
	mLastConv    = prometheus.NewDesc("lxnetd_remote_last_converged_timestamp_seconds", "Unix time of the last successful pass.", []string{"remote"}, nil)
	mLeaseHeld   = prometheus.NewDesc("lxnetd_remote_lease_held", "1 while this daemon holds the one-writer lease of the remote (0: standby, or not taken yet).", []string{"remote"}, nil)
	mConfigError = prometheus.NewDesc("lxnetd_config_rejected", "1 while the directory holds a rejected edit.", nil, nil)
)

// Describe implements prometheus.Collector.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{mConverged, mConnected, mObjects, mPasses, mWrites, mDrift, mEvents, mReconnects, mFullReads, mObjectReads, mRequests, mLastConv, mLeaseHeld, mConfigError} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	st := m.last
	m.mu.Unlock()
	if st == nil {
		return
	}
	b := func(v bool) float64 {
		if v {
			return 1
		}
		return 0
	}
	ch <- prometheus.MustNewConstMetric(mConfigError, prometheus.GaugeValue, b(st.ConfigError != ""))
	for _, r := range st.Remotes {
		conv := r.State == StateConverged && r.ConfigHash == st.ConfigHash
		ch <- prometheus.MustNewConstMetric(mConverged, prometheus.GaugeValue, b(conv), r.Name)
		ch <- prometheus.MustNewConstMetric(mConnected, prometheus.GaugeValue, b(r.Connected), r.Name)
		ch <- prometheus.MustNewConstMetric(mObjects, prometheus.GaugeValue, float64(r.Objects), r.Name)
		ch <- prometheus.MustNewConstMetric(mLeaseHeld, prometheus.GaugeValue, b(r.Lease == LeaseHeld), r.Name)
		ch <- prometheus.MustNewConstMetric(mPasses, prometheus.CounterValue, float64(r.Passes), r.Name)
		ch <- prometheus.MustNewConstMetric(mWrites, prometheus.CounterValue, float64(r.Writes), r.Name)
		ch <- prometheus.MustNewConstMetric(mDrift, prometheus.CounterValue, float64(r.DriftCorrections), r.Name)
		ch <- prometheus.MustNewConstMetric(mEvents, prometheus.CounterValue, float64(r.Events), r.Name)
		ch <- prometheus.MustNewConstMetric(mReconnects, prometheus.CounterValue, float64(r.Reconnects), r.Name)
		ch <- prometheus.MustNewConstMetric(mFullReads, prometheus.CounterValue, float64(r.FullReads), r.Name)
		ch <- prometheus.MustNewConstMetric(mObjectReads, prometheus.CounterValue, float64(r.ObjectReads), r.Name)
		ch <- prometheus.MustNewConstMetric(mRequests, prometheus.CounterValue, float64(r.Requests), r.Name)
		if !r.LastConverged.IsZero() {
			ch <- prometheus.MustNewConstMetric(mLastConv, prometheus.GaugeValue, float64(r.LastConverged.UnixNano())/1e9, r.Name)
		}
	}
}

func (m *Metrics) update(st *Status) {
	m.mu.Lock()
	m.last = st
	m.mu.Unlock()
}

// ServeMetrics serves /metrics on addr (e.g. "127.0.0.1:9477") until ctx is
// done. It returns once listening, so a bad address fails start-up.
func ServeMetrics(ctx context.Context, addr string, m *Metrics) error {
	reg := prometheus.NewRegistry()
	reg.MustRegister(m, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
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
