package daemon

import (
	"fmt"
	"strings"
	"time"
)

// Remote states reported by status.
const (
	StateConnecting = "connecting" // no pass attempted yet
	StateConverged  = "converged"  // last pass succeeded and nothing is pending
	StatePending    = "pending"    // marked dirty, a pass is due or running
	StateFailing    = "failing"    // last pass or connection failed; retrying with backoff
	StateRefused    = "refused"    // the safety gate refused the last plan
	StateStandby    = "standby"    // another writer holds the lease; no writes until it expires
)

// Lease states reported by status.
const (
	LeaseHeld    = "held"    // this daemon holds the lease and may write
	LeaseStandby = "standby" // another writer holds it
)

// RemoteStatus is one remote's state as `lxnetd status` shows it.
type RemoteStatus struct {
	Name             string    `json:"name"`
	Address          string    `json:"address"`
	Server           string    `json:"server,omitempty"` // kind and version as the server said at connect: "Incus 6.0.4"
	State            string    `json:"state"`
	Connected        bool      `json:"connected"`
	Busy             bool      `json:"busy"` // a pass is running
	LastAttempt      time.Time `json:"last_attempt,omitzero"`
	LastConverged    time.Time `json:"last_converged,omitzero"`
	LastError        string    `json:"last_error,omitempty"`
	LastErrorAt      time.Time `json:"last_error_at,omitzero"`
	Objects          int       `json:"objects"`
	Passes           int64     `json:"passes"`
	Writes           int64     `json:"writes"`            // changes applied since start
	DriftCorrections int64     `json:"drift_corrections"` // changes applied while the configuration was unchanged
	Events           int64     `json:"events"`            // LXD lifecycle events received
	Reconnects       int64     `json:"reconnects"`
	FullReads        int64     `json:"full_reads"`   // full observations (bulk lists) since start
	ObjectReads      int64     `json:"object_reads"` // objects re-read one by one (after events and writes)
	Requests         int64     `json:"lxd_requests"` // LXD API requests of all passes
	NextResync       time.Time `json:"next_resync,omitzero"`
	NextRetry        time.Time `json:"next_retry,omitzero"`
	ConfigHash       string    `json:"config_hash,omitempty"` // configuration the last successful pass converged to
	// Lease is LeaseHeld, LeaseStandby or "" (not taken yet, or lost).
	Lease string `json:"lease,omitempty"`
	// LeaseHolder and LeaseExpires name the other writer while standing by.
	LeaseHolder  string    `json:"lease_holder,omitempty"`
	LeaseExpires time.Time `json:"lease_expires,omitzero"`
	// PassStarted is when the running pass started (zero when idle): a
	// pass stuck on a slow LXD shows here, and in Line once it ran longer
	// than SlowPass.
	PassStarted time.Time `json:"pass_started,omitzero"`
}

// Status is the whole daemon's state.
type Status struct {
	Version      string         `json:"version,omitempty"`
	PID          int            `json:"pid"`
	Started      time.Time      `json:"started"`
	ConfigDir    string         `json:"config_dir"`
	ConfigHash   string         `json:"config_hash"`
	ConfigLoaded time.Time      `json:"config_loaded"`
	ConfigError  string         `json:"config_error,omitempty"` // the rejected edit, while the last good configuration stays in force
	Remotes      []RemoteStatus `json:"remotes"`
	// Evaluating is when the load of an edit that is still running started
	// (zero when none runs); it runs off the daemon's main loop.
	Evaluating time.Time `json:"config_evaluating,omitzero"`
}

// SlowPass is how long a pass runs before Line names it: a usual pass takes
// milliseconds to seconds, and every LXD request has a deadline (60 s), so
// a pass running this long waits on a slow or stalled LXD.
const SlowPass = 10 * time.Second

// Converged reports whether every remote converged to the current
// configuration and no edit is pending rejection.
func (s *Status) Converged() bool {
	if s.ConfigError != "" {
		return false
	}
	for _, r := range s.Remotes {
		if r.State != StateConverged || r.ConfigHash != s.ConfigHash {
			return false
		}
	}
	return true
}

// Line is the one-line STATUS= for systemd, e.g.
//
//	2/3 remotes converged, 41 objects, vm2: connection refused, config 1a2b3c4d5e6f
//
// followed by "; rejected edit: <file:line: problem>" while the directory
// holds an invalid edit.
func (s *Status) Line() string {
	conv, objects := 0, 0
	var problems []string
	now := time.Now()
	for _, r := range s.Remotes {
		objects += r.Objects
		if !r.PassStarted.IsZero() && now.Sub(r.PassStarted) >= SlowPass {
			problems = append(problems, r.Name+": pass running for "+now.Sub(r.PassStarted).Round(time.Second).String())
		}
		switch r.State {
		case StateConverged:
			conv++
		case StateFailing, StateRefused:
			problems = append(problems, r.Name+": "+firstLine(r.LastError))
		case StateStandby:
			problems = append(problems, r.Name+": standby, "+r.LeaseHolder+" holds the lease until "+r.LeaseExpires.UTC().Format(time.TimeOnly))
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d/%d remotes converged, %d objects", conv, len(s.Remotes), objects)
	for _, p := range problems {
		b.WriteString(", ")
		b.WriteString(p)
	}
	if h := s.ConfigHash; h != "" {
		fmt.Fprintf(&b, ", config %.12s", h)
	}
	if s.ConfigError != "" {
		b.WriteString("; rejected edit: ")
		b.WriteString(firstLine(s.ConfigError))
	}
	return b.String()
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}
