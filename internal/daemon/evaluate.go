package daemon

import (
	"fmt"
	"time"

	"github.com/lxnetd/lxnetd/engine/spec"
)

// Evaluating the configuration off the main loop.
//
// Reading the directory (parsing, evaluating locals and for_each) takes
// milliseconds for a usual configuration, but a huge or hostile one can take
// much longer. The main loop answers status and reload and feeds the systemd
// watchdog, so it never evaluates: it starts the load on a goroutine and
// takes the result as a message. The rules:
//
//   - At most one load runs. Go cannot stop a goroutine, so a load that was
//     superseded or ran over its budget still runs to its end; the next one
//     waits for it instead of piling CPU-bound evaluations on each other.
//   - A change that arrives while a load runs supersedes it: the running
//     load's result is discarded when it arrives and the directory is read
//     again. Requests arriving meanwhile merge, so a burst of writes costs
//     one more load, which sees the last write.
//   - A load that runs longer than the budget (Daemon.EvalBudget, 60 s by
//     default: what takes longer is a mistake or an attack, not a network
//     configuration) is a rejected configuration, "evaluation took longer
//     than 1m0s": the last good configuration stays in force, and the late
//     result is discarded. A reload that would wait behind such a load is
//     answered at once (READY=1 and an error saying so); its load runs when
//     the abandoned one returns.
//
// The load at start-up has the same budget (startupLoad); there is no
// configuration in force to keep then, so exceeding it fails the start.

// DefaultEvalBudget is how long one load of the configuration may take.
const DefaultEvalBudget = 60 * time.Second

// loadRequest is why a load runs and who waits for its result.
type loadRequest struct {
	force   bool                            // apply even when the hash is unchanged, reconnect (reload)
	reload  bool                            // a reload asked: RELOADING=1 was sent, READY=1 follows
	replies []func(changed bool, err error) // control socket reloads waiting for the result
}

// merge folds o into r: one load answers both.
func (r *loadRequest) merge(o *loadRequest) {
	r.force = r.force || o.force
	r.reload = r.reload || o.reload
	r.replies = append(r.replies, o.replies...)
}

// loadResult is a finished load, tagged with its generation.
type loadResult struct {
	gen int
	cfg *spec.Config
	err error
}

// evaluator is the main loop's bookkeeping of the load off the loop. Only
// the main loop touches it.
type evaluator struct {
	results   chan loadResult // buffered: the one running load never blocks on it
	budget    *time.Timer
	gen       int
	running   *loadRequest // nil when no load runs
	started   time.Time
	abandoned bool         // the running load ran over budget; its result is discarded
	pending   *loadRequest // arrived while a load ran; starts when it ends
}

func newEvaluator() evaluator {
	return evaluator{results: make(chan loadResult, 1), budget: stoppedTimer()}
}

// requestLoad starts a load, or queues req behind the running one, which it
// supersedes.
func (d *Daemon) requestLoad(req *loadRequest) {
	e := &d.eval
	if e.running == nil {
		d.startLoad(req)
		return
	}
	if e.abandoned {
		req = d.answerBehindAbandoned(req)
	}
	if e.pending == nil {
		e.pending = req
	} else {
		e.pending.merge(req)
	}
	d.Log.Info("configuration changed during an evaluation; its result will be discarded and the directory read again")
}

func (d *Daemon) startLoad(req *loadRequest) {
	e := &d.eval
	e.gen++
	e.running, e.started, e.abandoned = req, time.Now(), false
	e.budget.Reset(d.EvalBudget)
	gen, results := e.gen, e.results
	go func() {
		cfg, err := d.load()
		results <- loadResult{gen: gen, cfg: cfg, err: err}
	}()
}

// loadDone takes a finished load: applied when it is the latest request
// and within budget, discarded otherwise; then the pending request starts.
func (d *Daemon) loadDone(res loadResult) {
	e := &d.eval
	e.budget.Stop()
	d.mem.arm() // a load frees more than any pass (memory.go)
	req, took := e.running, time.Since(e.started).Round(time.Millisecond)
	e.running = nil
	switch {
	case res.gen != e.gen:
		// Cannot happen (one load at a time); never apply a stray result.
	case e.abandoned:
		d.Log.Warn("an evaluation that ran over its budget finished; its result is discarded", "took", took)
	case e.pending != nil:
		d.Log.Info("evaluation superseded by a newer change; result discarded", "took", took)
		req.merge(e.pending) // its waiters get the newer result
		e.pending = req
	default:
		changed, err := d.applyLoaded(res.cfg, res.err, req.force)
		d.finishLoad(req, changed, err)
	}
	if p := e.pending; p != nil {
		e.pending = nil
		d.startLoad(p)
	}
}

// loadOverBudget rejects the running load: the last good configuration
// stays, its waiters get the error, and its result is discarded later.
func (d *Daemon) loadOverBudget() {
	e := &d.eval
	if e.running == nil || e.abandoned {
		return
	}
	e.abandoned = true
	err := &ConfigError{Summary: fmt.Sprintf("evaluation took longer than %s; the last good configuration stays in force", d.EvalBudget)}
	d.cfgErr = err
	d.Log.Error("configuration rejected; the last good configuration stays in force", "err", err.Error(), "config_hash", short(d.cfg.Hash))
	req := e.running
	e.running = &loadRequest{} // still running, nobody waits for it
	d.finishLoad(req, false, err)
	if e.pending != nil {
		e.pending = d.answerBehindAbandoned(e.pending)
	}
}

// answerBehindAbandoned answers now a reload queued behind a load that ran
// over its budget, which may run much longer still: READY=1 and the reply
// (an error saying so) go out at once, and the load it asked for stays
// queued, to run when the abandoned one returns.
func (d *Daemon) answerBehindAbandoned(req *loadRequest) *loadRequest {
	if !req.reload && len(req.replies) == 0 {
		return req
	}
	err := &ConfigError{Summary: fmt.Sprintf("an earlier evaluation ran over its budget (%s) and is still running; the directory will be read again when it ends", d.EvalBudget)}
	d.finishLoad(req, false, err)
	return &loadRequest{force: req.force}
}

// finishLoad reports a load's outcome: READY=1 after a reload (even a
// rejected one), STATUS= otherwise, and the answer to every waiter.
func (d *Daemon) finishLoad(req *loadRequest, changed bool, err error) {
	if req.reload {
		st := d.status()
		if d.Metrics != nil {
			d.Metrics.update(&st)
		}
		d.lastLine = st.Line()
		if nerr := d.Notify.Ready(d.lastLine); nerr != nil {
			d.Log.Warn("sd_notify READY failed", "err", nerr)
		}
	} else {
		d.publishStatus()
	}
	for _, reply := range req.replies {
		reply(changed, err)
	}
}

// reloading reports whether a reload's load is running or queued: between
// its RELOADING=1 and READY=1 nothing else is sent to systemd (READY=1
// carries the status line of that moment).
func (d *Daemon) reloading() bool {
	e := &d.eval
	return (e.running != nil && e.running.reload) || (e.pending != nil && e.pending.reload)
}

// evaluating is when the running load started (zero when none runs).
func (d *Daemon) evaluating() time.Time {
	if d.eval.running == nil {
		return time.Time{}
	}
	return d.eval.started
}

// startupLoad is the first load, before anything runs: with the same
// budget, but nothing to keep in force when it is exceeded.
func (d *Daemon) startupLoad() (*spec.Config, error) {
	type result struct {
		cfg *spec.Config
		err error
	}
	c := make(chan result, 1)
	go func() {
		cfg, err := d.load()
		c <- result{cfg, err}
	}()
	t := time.NewTimer(d.EvalBudget)
	defer t.Stop()
	select {
	case r := <-c:
		return r.cfg, r.err
	case <-t.C:
		return nil, &ConfigError{Summary: fmt.Sprintf("evaluation took longer than %s", d.EvalBudget)}
	}
}
