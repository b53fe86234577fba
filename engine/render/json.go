package render

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/internal/redact"
)

// The JSON plan is a format of its own, like Terraform's jsonplan: the
// types below are its documentation and change only with FormatVersion,
// whatever the engine's internal types do.

// FormatVersion is the version of the JSON plan format; it changes only when
// a field changes meaning or disappears. "2": a missing before or after may
// also mean a sensitive value left out (before_sensitive, after_sensitive).
const FormatVersion = "2"

type jsonPlanSet struct {
	FormatVersion string      `json:"format_version"`
	Changes       bool        `json:"changes"`
	Summary       jsonSummary `json:"summary"`
	Remotes       []jsonPlan  `json:"remotes"`
}

type jsonSummary struct {
	Create  int `json:"create"`
	Update  int `json:"update"`
	Delete  int `json:"delete"`
	Replace int `json:"replace"`
	// Warnings counts what needs attention although it is no change
	// (orphans, blocked deletes): "changes": false with warnings > 0 means
	// apply would do nothing, yet LXD differs from the configuration.
	Warnings int `json:"warnings"`
}

type jsonPlan struct {
	Remote   string       `json:"remote"`
	Server   *jsonServer  `json:"server,omitempty"` // absent when the remote did not say
	Owner    string       `json:"owner"`
	Changes  []jsonChange `json:"changes"`
	Warnings []Warning    `json:"warnings"`
	Orphans  []string     `json:"orphans"`  // addresses of the orphan warnings
	Blockers []string     `json:"blockers"` // the blocked warnings as one line each
	Owned    int          `json:"owned"`
	Requests int64        `json:"requests"`
	Summary  jsonSummary  `json:"summary"`
}

// jsonServer is the remote's server as it described itself.
type jsonServer struct {
	Kind    string `json:"kind"`    // "lxd" or "incus"
	Version string `json:"version"` // e.g. "5.0.2"
	Name    string `json:"name,omitempty"`
}

type jsonChange struct {
	Address string        `json:"address"`
	Action  string        `json:"action"` // create, update, delete, replace
	Sources []string      `json:"sources,omitempty"`
	Pos     string        `json:"declared_at,omitempty"`
	Reason  string        `json:"reason,omitempty"`
	Diffs   []jsonKeyDiff `json:"diffs"`
}

// jsonKeyDiff is one key that differs; a missing before means the key is
// added, a missing after that it is removed.
type jsonKeyDiff struct {
	Key    string  `json:"key"`
	Before *string `json:"before,omitempty"`
	After  *string `json:"after,omitempty"`
	// Forces marks a key LXD cannot change in place: it makes the change a
	// replace (Terraform's "# forces replacement").
	Forces bool `json:"forces_replacement,omitempty"`
	// Sensitive: the values derive from a variable declared sensitive and
	// are left out; BeforeSensitive and AfterSensitive say that there is a
	// value on that side, so an added, removed and changed key still differ.
	Sensitive       bool `json:"sensitive,omitempty"`
	BeforeSensitive bool `json:"before_sensitive,omitempty"`
	AfterSensitive  bool `json:"after_sensitive,omitempty"`
}

// keyDiff is the JSON form of one key diff: sensitive values left out,
// every other text scrubbed of the plan's secrets.
func keyDiff(d engine.KeyDiff, sc *redact.Scrubber) jsonKeyDiff {
	if d.Sensitive {
		return jsonKeyDiff{Key: sc.String(d.Key), Forces: d.Forces, Sensitive: true, BeforeSensitive: d.Before != nil, AfterSensitive: d.After != nil}
	}
	scrub := func(s *string) *string {
		if s == nil {
			return nil
		}
		v := sc.String(*s)
		return &v
	}
	return jsonKeyDiff{Key: sc.String(d.Key), Before: scrub(d.Before), After: scrub(d.After), Forces: d.Forces}
}

// scrubAll scrubs a list of strings (a copy; never nil).
func scrubAll(sc *redact.Scrubber, in []string) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = sc.String(s)
	}
	return out
}

func summary(s engine.Summary, warnings int) jsonSummary {
	return jsonSummary{Create: s.Create, Update: s.Update, Delete: s.Delete, Replace: s.Replace, Warnings: warnings}
}

// JSON writes the plans of every remote as one JSON document.
func JSON(w io.Writer, plans []*engine.Plan) error {
	out := jsonPlanSet{FormatVersion: FormatVersion, Remotes: []jsonPlan{}}
	var total engine.Summary
	warnings := 0
	for _, p := range plans {
		jp := jsonPlan{
			Remote: p.Remote, Owner: p.Owner, Changes: []jsonChange{},
			Warnings: append([]Warning{}, Warnings(p)...),
			Orphans:  scrubAll(p.Secrets, p.Orphans), Blockers: scrubAll(p.Secrets, p.Blockers),
			Owned: p.Owned, Requests: p.Requests,
		}
		if p.Server.Kind != "" {
			jp.Server = &jsonServer{Kind: p.Server.Kind, Version: p.Server.Version, Name: p.Server.Name}
		}
		jp.Summary = summary(p.Summary(), len(jp.Warnings))
		warnings += len(jp.Warnings)
		for _, c := range p.Changes {
			jc := jsonChange{Address: p.Secrets.String(c.Addr.String()), Action: c.Action.String(), Reason: p.Secrets.String(c.Reason), Diffs: []jsonKeyDiff{}}
			if len(c.Sources) > 0 {
				jc.Sources = scrubAll(p.Secrets, c.Sources)
			}
			if c.Pos.File != "" {
				jc.Pos = posString(c)
			}
			for _, d := range c.Diffs {
				jc.Diffs = append(jc.Diffs, keyDiff(d, p.Secrets))
			}
			jp.Changes = append(jp.Changes, jc)
		}
		total = total.Add(p.Summary())
		out.Changes = out.Changes || !p.Empty()
		out.Remotes = append(out.Remotes, jp)
	}
	out.Summary = summary(total, warnings)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func posString(c *engine.Change) string {
	return fmt.Sprintf("%s:%d,%d", c.Pos.File, c.Pos.Line, c.Pos.Column)
}
