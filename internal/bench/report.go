package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Row is one measurement: what ran (Subject) for which step (Phase).
type Row struct {
	Phase   string  `json:"phase"`
	Subject string  `json:"subject"` // "lxnetd", "direct" (packed lower bound), "lxc script", ...
	WallMS  float64 `json:"wall_ms"`
	Counts
	CPUMS  float64 `json:"cpu_ms,omitempty"`       // lxnetd's user+system CPU
	RSSMiB float64 `json:"peak_rss_mib,omitempty"` // lxnetd's peak (or, for idle, current) RSS
	Note   string  `json:"note,omitempty"`
}

// Ratio is one target of issue 12, computed from two rows of the same run.
type Ratio struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Target string  `json:"target"`
	Met    bool    `json:"met"`
}

// Report is a whole run.
type Report struct {
	Date    string         `json:"date"`
	Machine string         `json:"machine"`
	Scale   map[string]int `json:"scale"`
	Rows    []Row          `json:"rows"`
	Ratios  []Ratio        `json:"ratios"`
	// Log, when set, sees every row as it is added (a run that fails
	// half-way still shows what it measured).
	Log func(Row) `json:"-"`
}

// Add appends a row.
func (r *Report) Add(row Row) {
	r.Rows = append(r.Rows, row)
	if r.Log != nil {
		r.Log(row)
	}
}

// Find returns the row of phase and subject (zero Row if none).
func (r *Report) Find(phase, subject string) Row {
	for _, row := range r.Rows {
		if row.Phase == phase && row.Subject == subject {
			return row
		}
	}
	return Row{}
}

// Check records a ratio against its target.
func (r *Report) Check(name string, value float64, target string, met bool) {
	r.Ratios = append(r.Ratios, Ratio{Name: name, Value: value, Target: target, Met: met})
}

// JSON writes the report as indented JSON.
func (r *Report) JSON(w io.Writer) error {
	e := json.NewEncoder(w)
	e.SetIndent("", "  ")
	return e.Encode(r)
}

// Table writes the report as Markdown tables (for the README).
func (r *Report) Table(w io.Writer) {
	fmt.Fprintf(w, "%s, %s; scale:", r.Date, r.Machine)
	for _, k := range []string{"containers", "running", "profiles", "bridges", "ports", "listen_addresses"} {
		if n, ok := r.Scale[k]; ok {
			fmt.Fprintf(w, " %d %s", n, strings.ReplaceAll(k, "_", " "))
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| phase | subject | wall | reads (lists) | writes | CPU | peak RSS | note |")
	fmt.Fprintln(w, "|---|---|---:|---:|---:|---:|---:|---|")
	for _, x := range r.Rows {
		cpu, rss := "", ""
		if x.CPUMS > 0 {
			cpu = fmt.Sprintf("%.0f ms", x.CPUMS)
		}
		if x.RSSMiB > 0 {
			rss = fmt.Sprintf("%.1f MiB", x.RSSMiB)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %d (%d) | %d | %s | %s | %s |\n",
			x.Phase, x.Subject, ms(x.WallMS), x.Reads, x.Lists, x.Writes, cpu, rss, x.Note)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| target | value | goal | met |")
	fmt.Fprintln(w, "|---|---:|---|---|")
	for _, x := range r.Ratios {
		met := "yes"
		if !x.Met {
			met = "**no**"
		}
		fmt.Fprintf(w, "| %s | %.2f | %s | %s |\n", x.Name, x.Value, x.Target, met)
	}
}

func ms(v float64) string {
	d := time.Duration(v * float64(time.Millisecond))
	if d >= 10*time.Second {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Millisecond).String()
}
