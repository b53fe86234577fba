package lxd

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"

	"github.com/canonical/lxd/shared/api"

	"github.com/lxnetd/lxnetd/engine/spec"
)

// fakeLXD is a minimal LXD API on a unix socket for one instance, for the
// adapter's decision logic around races that real LXD shows only now and
// then (the integration tests prove the requests themselves).
type fakeLXD struct {
	mu     sync.Mutex
	status api.StatusCode        // the instance's status as GET reports it
	onStop func(*fakeLXD) string // runs on a stop request; returns the operation's error ("" = success)
	calls  []string
}

func (f *fakeLXD) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, req.Method+" "+req.URL.Path)
	sync := func(meta any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"type": "sync", "status": "Success", "status_code": 200, "metadata": meta})
	}
	async := func(opErr string) {
		op := api.Operation{ID: "op1", Status: "Running", StatusCode: api.Running}
		if opErr == "" {
			op.Status, op.StatusCode = "Success", api.Success
		} else {
			op.Status, op.StatusCode, op.Err = "Failure", api.Failure, opErr
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusAccepted)
		_ = json.NewEncoder(w).Encode(map[string]any{"type": "async", "status": "Operation created", "status_code": 100,
			"operation": "/1.0/operations/op1", "metadata": op})
	}
	switch req.Method + " " + req.URL.Path {
	case "GET /1.0":
		sync(api.Server{ServerUntrusted: api.ServerUntrusted{Auth: "trusted", APIExtensions: []string{"instances"}}})
	case "GET /1.0/instances/c1":
		sync(api.Instance{Name: "c1", Status: f.status.String(), StatusCode: f.status})
	case "PUT /1.0/instances/c1/state":
		async(f.onStop(f))
	case "DELETE /1.0/instances/c1":
		async("")
	default:
		http.Error(w, `{"type":"error","error":"not found","error_code":404}`, http.StatusNotFound)
	}
}

func startFakeLXD(t *testing.T, f *fakeLXD) *Remote {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "unix.socket")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: f}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	r, err := Connect(context.Background(), &spec.Remote{Name: "fake", Address: "unix://" + sock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Close)
	return r
}

// TestDeleteInstanceStoppedMeanwhile: an instance listed as running that
// stops by itself before the forced stop arrives ("container is not
// running") is still deleted; a stop that fails while it keeps running is
// an error.
func TestDeleteInstanceStoppedMeanwhile(t *testing.T) {
	f := &fakeLXD{status: api.Running, onStop: func(f *fakeLXD) string {
		f.status = api.Stopped
		return `container is not running: "c1"`
	}}
	r := startFakeLXD(t, f)
	if err := r.DeleteInstance(context.Background(), "c1"); err != nil {
		t.Fatalf("DeleteInstance: %v (requests %v)", err, f.calls)
	}
	if last := f.calls[len(f.calls)-1]; last != "DELETE /1.0/instances/c1" {
		t.Errorf("no delete sent: %v", f.calls)
	}

	stuck := &fakeLXD{status: api.Running, onStop: func(*fakeLXD) string { return "stop hook failed" }}
	r = startFakeLXD(t, stuck)
	if err := r.DeleteInstance(context.Background(), "c1"); err == nil {
		t.Fatal("DeleteInstance of an instance that could not be stopped succeeded")
	}
	for _, c := range stuck.calls {
		if c == "DELETE /1.0/instances/c1" {
			t.Errorf("sent a delete although the stop failed: %v", stuck.calls)
		}
	}
}
