package daemon

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/lease"
	"github.com/lxnetd/lxnetd/engine/spec"
)

// scriptedSession answers each Converge with the next step of a script
// (the last step repeats) and records when each pass ran, in the bubble's
// fake time.
type scriptedSession struct {
	mu     sync.Mutex
	steps  []func() (Outcome, error)
	passes []time.Time
	leases lease.MemStore
}

func (s *scriptedSession) Converge(context.Context, *spec.Remote, spec.Settings) (Outcome, error) {
	s.mu.Lock()
	s.passes = append(s.passes, time.Now())
	step := s.steps[0]
	if len(s.steps) > 1 {
		s.steps = s.steps[1:]
	}
	s.mu.Unlock()
	return step()
}

func (s *scriptedSession) Watch(ctx context.Context, _ func(engine.Event)) error {
	<-ctx.Done()
	return nil
}

func (s *scriptedSession) Close()             {}
func (s *scriptedSession) Leases() LeaseStore { return &s.leases }

func (s *scriptedSession) passTimes() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.passes...)
}

// startWorker runs a worker on sess inside the current synctest bubble and
// stops it in t.Cleanup.
func startWorker(t *testing.T, sess *scriptedSession) *worker {
	t.Helper()
	connect := func(context.Context, *spec.Remote) (Session, error) { return sess, nil }
	timings := workerTimings{Settle: 100 * time.Millisecond, ConnectTimeout: time.Second, MinBackoff: time.Second, MaxBackoff: 8 * time.Second, ReconnectAfter: 100}
	w := newWorker(&spec.Remote{Name: "r"}, spec.Settings{Owner: "t", ResyncInterval: time.Hour}, "h1", connect,
		slog.New(slog.NewTextHandler(io.Discard, nil)), timings, nil)
	w.lease.holder = lease.NewHolder("lxnetd test")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { defer close(done); w.run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return w
}

func ok() (Outcome, error) { return Outcome{}, nil }

// A failing remote is retried with exponential backoff (1 s, 2 s, 4 s, 8 s,
// capped, each with jitter down to half), in fake time.
func TestWorkerBacksOff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sess := &scriptedSession{steps: []func() (Outcome, error){func() (Outcome, error) { return Outcome{}, errors.New("refused") }}}
		startWorker(t, sess)
		time.Sleep(40 * time.Second)
		synctest.Wait()
		passes := sess.passTimes()
		if len(passes) < 6 {
			t.Fatalf("%d passes in 40 s of failures, want at least 6", len(passes))
		}
		caps := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 8 * time.Second}
		for i, c := range caps {
			gap := passes[i+1].Sub(passes[i]) - 100*time.Millisecond // the settle time
			if gap < c/2 || gap > c {
				t.Errorf("retry %d after %v, want within [%v, %v]", i+1, gap, c/2, c)
			}
		}
	})
}

// A panic in a pass is that pass's failure: reported, retried after the
// backoff, and the next pass converges.
func TestWorkerRecoversFromPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sess := &scriptedSession{steps: []func() (Outcome, error){func() (Outcome, error) { panic("bug in a pass") }, ok}}
		w := startWorker(t, sess)
		time.Sleep(500 * time.Millisecond)
		synctest.Wait()
		if st := w.status(); st.State != StateFailing || !strings.Contains(st.LastError, "internal error in a pass: bug in a pass") {
			t.Fatalf("after the panic: %s %q", st.State, st.LastError)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if st := w.status(); st.State != StateConverged || st.Passes != 2 {
			t.Fatalf("after the retry: %s, %d passes (want converged after 2)", st.State, st.Passes)
		}
	})
}

// Marks that arrive together become one pass.
func TestWorkerCoalescesMarks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sess := &scriptedSession{steps: []func() (Outcome, error){ok}}
		w := startWorker(t, sess)
		time.Sleep(time.Second)
		synctest.Wait()
		before := len(sess.passTimes())
		for range 10 {
			w.markDirty()
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if got := len(sess.passTimes()) - before; got != 1 {
			t.Fatalf("10 marks gave %d passes, want 1", got)
		}
	})
}

// A configuration change (already debounced by the file watcher) starts
// its pass at once; an event waits the settle time, so a burst of them is
// one pass. Fake time: the pass times are exact.
func TestWorkerConfigChangeSkipsSettle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sess := &scriptedSession{steps: []func() (Outcome, error){ok}}
		w := startWorker(t, sess)
		time.Sleep(time.Second)
		synctest.Wait()
		edited := time.Now()
		w.update(&spec.Remote{Name: "r"}, spec.Settings{Owner: "t", ResyncInterval: time.Hour}, "h2", false)
		synctest.Wait()
		passes := sess.passTimes()
		if got := passes[len(passes)-1]; !got.Equal(edited) {
			t.Fatalf("pass for the configuration change %v after it, want at once", got.Sub(edited))
		}
		time.Sleep(time.Second)
		marked := time.Now()
		w.markDirty()
		time.Sleep(time.Second)
		synctest.Wait()
		passes = sess.passTimes()
		if got := passes[len(passes)-1].Sub(marked); got != 100*time.Millisecond {
			t.Fatalf("pass for an event %v after it, want the settle time (100ms)", got)
		}
	})
}
