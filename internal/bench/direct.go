package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"golang.org/x/sync/errgroup"
)

// Direct issues LXD API requests itself, with nothing of lxnetd in the way:
// the baselines' lower bound, and the harness's own fixture and checks.
type Direct struct{ c *http.Client }

// NewDirect talks to the LXD (or Proxy) unix socket at socket.
func NewDirect(socket string) *Direct {
	return &Direct{c: &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", socket)
		},
		MaxIdleConnsPerHost: 16,
	}}}
}

// lxdResponse is LXD's envelope.
type lxdResponse struct {
	Type       string          `json:"type"`
	Status     string          `json:"status"`
	StatusCode int             `json:"status_code"`
	Operation  string          `json:"operation"`
	ErrorCode  int             `json:"error_code"`
	Error      string          `json:"error"`
	Metadata   json.RawMessage `json:"metadata"`
}

// Do sends one request (pathQuery like "/1.0/networks?recursion=1") and, for
// an async answer, waits for its operation. It returns the metadata.
func (d *Direct) Do(ctx context.Context, method, pathQuery string, body []byte) (json.RawMessage, error) {
	req, err := http.NewRequestWithContext(ctx, method, "http://lxd"+pathQuery, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := d.c.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var r lxdResponse
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("%s %s: HTTP %d: %s", method, pathQuery, resp.StatusCode, raw)
	}
	if r.Type == "error" || resp.StatusCode >= 400 {
		return nil, fmt.Errorf("%s %s: %d %s", method, pathQuery, resp.StatusCode, r.Error)
	}
	if r.Type == "async" {
		md, err := d.Do(ctx, http.MethodGet, r.Operation+"/wait", nil)
		if err != nil {
			return nil, err
		}
		var op struct {
			Status string `json:"status"`
			Err    string `json:"err"`
		}
		if err := json.Unmarshal(md, &op); err != nil {
			return nil, err
		}
		if op.Err != "" {
			return nil, fmt.Errorf("%s %s: %s", method, pathQuery, op.Err)
		}
	}
	return r.Metadata, nil
}

// Get decodes the metadata of a GET into v.
func (d *Direct) Get(ctx context.Context, pathQuery string, v any) error {
	md, err := d.Do(ctx, http.MethodGet, pathQuery, nil)
	if err != nil {
		return err
	}
	return json.Unmarshal(md, v)
}

// Replay issues recorded requests again, at most parallel at a time, in
// waves: a request starts only after every earlier request of another
// collection (networks, profiles, forwards, ...) finished, so creates and
// deletes keep the order between kinds that lxnetd's plan had. Writes to
// the forwards of one network go one at a time, as lxnetd writes them
// (LXD 5.0.2 races on concurrent forward writes to one network; LXD-NOTES):
// the lower bound is that of a correct writer.
func (d *Direct) Replay(ctx context.Context, reqs []Request, parallel int) error {
	for len(reqs) > 0 {
		n := 1
		for n < len(reqs) && kind(reqs[n]) == kind(reqs[0]) {
			n++
		}
		// One chain per network for forward writes, one per request else.
		var chains [][]Request
		chainOf := map[string]int{}
		for _, r := range reqs[:n] {
			if key := serialKey(r); key != "" {
				if i, ok := chainOf[key]; ok {
					chains[i] = append(chains[i], r)
					continue
				}
				chainOf[key] = len(chains)
			}
			chains = append(chains, []Request{r})
		}
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(parallel)
		for _, chain := range chains {
			g.Go(func() error {
				for _, r := range chain {
					pq := r.Path
					if r.RawQuery != "" {
						pq += "?" + r.RawQuery
					}
					var body []byte
					if r.Write() {
						body = r.Body
					}
					if _, err := d.Do(gctx, r.Method, pq, body); err != nil {
						return err
					}
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		reqs = reqs[n:]
	}
	return nil
}

// serialKey is what requests that must not run at once share: the
// network of a forward write ("" for any other request).
func serialKey(r Request) string {
	if !r.Write() {
		return ""
	}
	if net, _, ok := strings.Cut(r.Path, "/forwards"); ok {
		return net
	}
	return ""
}

// kind is the collection a request is about: "networks", "profiles",
// "forwards", ... (reads all count as one kind: they never depend on each
// other).
func kind(r Request) string {
	if !r.Write() {
		return "read"
	}
	if strings.Contains(r.Path, "/forwards") {
		return "forwards"
	}
	p := strings.Split(strings.Trim(r.Path, "/"), "/")
	if len(p) > 1 {
		return p[1]
	}
	return r.Path
}
