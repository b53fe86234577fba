package daemon

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"os/signal"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/lxnetd/lxnetd/engine/lease"
	"github.com/lxnetd/lxnetd/engine/spec"
	"github.com/lxnetd/lxnetd/internal/redact"
)

// Daemon is `lxnetd run`: it owns the configuration in force, one worker per
// remote, the directory watcher, the control socket and the conversation
// with systemd.
type Daemon struct {
	Dir     string
	Load    Loader
	Connect Connector
	Log     *slog.Logger
	Notify  *Notifier
	Socket  string // control socket path; DefaultSocket when empty
	Version string
	// Signals delivers SIGHUP/SIGTERM/SIGINT; when nil Run subscribes itself.
	Signals <-chan os.Signal
	// WatchdogEvery overrides the ping interval (default: half WATCHDOG_USEC).
	WatchdogEvery time.Duration
	// StuckAfter is how long one pass may run before the loop counts as
	// unhealthy and stops feeding the watchdog; default 15 minutes: longer
	// than any LXD call may take (a request 60 s, an operation wait 10
	// minutes, see internal/lxd), so a pass running longer is stuck in
	// lxnetd itself and a restart is the remedy.
	StuckAfter time.Duration
	// EvalBudget bounds one load of the configuration (evaluate.go);
	// default DefaultEvalBudget.
	EvalBudget time.Duration
	// Metrics, when set, is updated after every status change.
	Metrics *Metrics
	// Holder is who the workers' leases name; default
	// lease.NewHolder("lxnetd run").
	Holder lease.Holder
	// Secrets, when set, are scrubbed from the errors status reports (the
	// net under the engine's own scrubbing; the caller fills it as
	// configurations load and scrubs Log with it).
	Secrets *redact.Live

	timings     workerTimings
	watcher     *DirWatcher
	extendEvery time.Duration // EXTEND_TIMEOUT_USEC cadence while waiting for first passes

	eval      evaluator // the load running off the main loop (evaluate.go)
	cfg       *spec.Config
	loaded    time.Time
	cfgErr    error
	started   time.Time
	workers   map[string]*workerHandle
	wg        sync.WaitGroup
	statusC   chan struct{}
	mem       *memReturner // memory.go
	lastLine  string
	unhealthy bool
	// pendingReload: a SIGHUP arrived before READY; reload right after it.
	pendingReload bool
}

// workerHandle is a running worker and how to stop it.
type workerHandle struct {
	w      *worker
	cancel context.CancelFunc
}

// Run loads the configuration, converges every remote and keeps them
// converged until ctx is done or SIGTERM/SIGINT arrives; then it sends
// STOPPING=1, lets in-flight writes finish and returns nil. An invalid
// configuration at start-up is returned as an error (a *ConfigError).
func (d *Daemon) Run(ctx context.Context) error {
	d.started = time.Now()
	if d.Socket == "" {
		d.Socket = DefaultSocket
	}
	if d.StuckAfter == 0 {
		d.StuckAfter = 15 * time.Minute
	}
	if d.EvalBudget == 0 {
		d.EvalBudget = DefaultEvalBudget
	}
	d.eval = newEvaluator()
	defer d.eval.budget.Stop()
	if d.timings == (workerTimings{}) {
		d.timings = defaultTimings
	}
	d.workers = map[string]*workerHandle{}
	if d.Holder.ID == "" {
		d.Holder = lease.NewHolder("lxnetd run")
	}
	d.statusC = make(chan struct{}, 1)
	d.mem = newMemReturner()
	defer d.mem.timer.Stop()
	sigs := d.Signals
	if sigs == nil {
		c := make(chan os.Signal, 4)
		signal.Notify(c, syscall.SIGHUP, syscall.SIGTERM, syscall.SIGINT)
		defer signal.Stop(c)
		sigs = c
	}

	runCtx, cancelRun := context.WithCancel(context.Background())
	defer cancelRun()

	// Watch first, then load: a change after the initial hash is never missed.
	if d.watcher == nil {
		d.watcher = NewDirWatcher(d.Dir, d.Log)
	}
	watchReady := make(chan struct{})
	go d.runWatcher(runCtx, watchReady)
	<-watchReady

	cfg, err := d.startupLoad()
	if err != nil {
		return err
	}
	d.cfg, d.loaded = cfg, time.Now()
	d.Log.Info("configuration loaded", "dir", d.Dir, "config_hash", short(cfg.Hash), "remotes", len(cfg.Remotes))

	l, err := listenControl(d.Socket)
	if err != nil {
		return err
	}
	defer os.Remove(d.Socket)
	defer l.Close()
	reqs := make(chan controlRequest)
	go serveControl(runCtx, l, reqs)

	for _, name := range sortedNames(cfg.Remotes) {
		d.startWorker(cfg.Remotes[name], cfg)
	}
	defer d.stopAll()

	// READY=1 only once every remote had its first attempt; keep asking
	// systemd for more time while a slow LXD answers.
	if stopped := d.waitFirstAttempts(ctx, sigs, reqs); stopped {
		return d.stop()
	}
	st := d.status()
	d.lastLine = st.Line()
	if err := d.Notify.Ready(d.lastLine); err != nil {
		d.Log.Warn("sd_notify READY failed", "err", err)
	}
	d.Log.Info("ready", "status", d.lastLine)
	if d.pendingReload {
		d.pendingReload = false
		d.reload("SIGHUP during start-up", nil)
	}

	every := d.WatchdogEvery
	if every == 0 {
		every = WatchdogInterval()
	}
	var watchdog <-chan time.Time
	if every > 0 {
		t := time.NewTicker(every)
		defer t.Stop()
		watchdog = t.C
		d.Log.Debug("watchdog enabled", "every", every)
	}

	for {
		select {
		case <-ctx.Done():
			return d.stop()
		case s := <-sigs:
			switch s {
			case syscall.SIGHUP:
				d.reload("SIGHUP", nil)
			default:
				d.Log.Info("stopping", "signal", s.String())
				return d.stop()
			}
		case <-d.watcher.C:
			d.Log.Info("configuration directory changed", "dir", d.Dir)
			d.requestLoad(&loadRequest{})
		case res := <-d.eval.results:
			d.loadDone(res)
		case <-d.eval.budget.C:
			d.loadOverBudget()
		case cr := <-reqs:
			d.handle(cr)
		case <-d.statusC:
			d.publishStatus()
			d.mem.arm()
		case <-d.mem.timer.C:
			d.mem.fired()
		case <-watchdog:
			if d.healthy() {
				_ = d.Notify.Watchdog()
			}
		}
	}
}

// runWatcher keeps the directory watcher running: an error ends one Run,
// never the daemon's loop.
func (d *Daemon) runWatcher(ctx context.Context, ready chan struct{}) {
	var once sync.Once
	signalReady := func() { once.Do(func() { close(ready) }) }
	for ctx.Err() == nil {
		if err := d.watcher.Run(ctx, signalReady); err != nil {
			d.Log.Error("configuration watcher failed; restarting it", "err", err)
			signalReady()
			select {
			case <-ctx.Done():
			case <-time.After(5 * time.Second):
			}
		}
	}
}

// load reads the directory with LoadDir.
func (d *Daemon) load() (*spec.Config, error) { return LoadDir(d.Dir, d.Load) }

// LoadDir is how the daemon reads a configuration directory. An empty or
// missing directory is rejected: it is what a botched deploy leaves behind,
// and reading it as "desire nothing" would prune a host. Everything about
// single files (which count, an empty or unreadable one) is decided by the
// shared rules of package config/files, which load (config.Load in
// production) applies exactly as validate, plan and apply do.
func LoadDir(dir string, load Loader) (*spec.Config, error) {
	files, err := ConfigFiles(dir)
	if err != nil {
		return nil, &ConfigError{Summary: err.Error()}
	}
	if len(files) == 0 {
		return nil, &ConfigError{Summary: fmt.Sprintf("%s: no *.hcl configuration files; an emptied directory is refused (the last good configuration stays in force)", dir)}
	}
	cfg, err := load(dir)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		return nil, &ConfigError{Summary: "configuration loader returned nothing"}
	}
	return cfg, nil
}

// applyLoaded installs the result of a load (evaluate.go). An invalid
// configuration is logged and reported in STATUS, and changes nothing in
// LXD: the last good configuration stays in force. It returns the load error
// and whether the configuration hash changed; the caller publishes STATUS.
//
// A change noticed by the watcher applies only when the hash changed. An
// explicit reload (force) applies the loaded configuration even when the
// hash is the same and reconnects every remote: the operator may have
// changed what the hash does not cover (a var file, a file() target, a
// renewed client certificate at the same path).
func (d *Daemon) applyLoaded(cfg *spec.Config, err error, force bool) (changed bool, _ error) {
	if err != nil {
		d.cfgErr = err
		d.Log.Error("configuration rejected; the last good configuration stays in force", "err", err.Error(), "config_hash", short(d.cfg.Hash))
		if det := detail(err); det != err.Error() {
			d.Log.Error("configuration diagnostics:\n" + det)
		}
		return false, err
	}
	d.cfgErr = nil
	changed = cfg.Hash != d.cfg.Hash
	if !changed && !force {
		d.Log.Info("configuration unchanged", "config_hash", short(cfg.Hash))
		return false, nil
	}
	old := d.cfg
	d.cfg, d.loaded = cfg, time.Now()
	for _, name := range sortedNames(cfg.Remotes) {
		r := cfg.Remotes[name]
		if h, ok := d.workers[name]; ok {
			h.w.update(r, cfg.Settings, cfg.Hash, force)
			continue
		}
		d.startWorker(r, cfg)
	}
	for name, h := range d.workers {
		if _, ok := cfg.Remotes[name]; !ok {
			// Not waiting for it: a pass in flight finishes its write in
			// the background, and the loop keeps feeding the watchdog.
			d.Log.Warn("remote removed from the configuration; its objects are left as they are", "remote", name)
			h.cancel()
			delete(d.workers, name)
		}
	}
	if changed {
		d.Log.Info("configuration applied", "config_hash", short(cfg.Hash), "previous", short(old.Hash), "remotes", len(cfg.Remotes))
	} else {
		d.Log.Info("configuration unchanged; re-reading every remote", "config_hash", short(cfg.Hash))
	}
	return changed, nil
}

// reload is SIGHUP and `lxnetd reload`: RELOADING=1 with MONOTONIC_USEC,
// then a forced load off the main loop, which always ends with READY=1, even
// when the new configuration was rejected; reply (if any) gets its result.
func (d *Daemon) reload(source string, reply func(changed bool, err error)) {
	if err := d.Notify.Reloading(); err != nil {
		d.Log.Warn("sd_notify RELOADING failed", "err", err)
	}
	d.Log.Info("reloading configuration", "source", source)
	req := &loadRequest{force: true, reload: true}
	if reply != nil {
		req.replies = append(req.replies, reply)
	}
	d.requestLoad(req)
}

// handle answers one control socket request. The main loop calls it, so a
// reload never races with a watcher-triggered one; a reload is answered
// when its load finished (the loop keeps running meanwhile).
func (d *Daemon) handle(cr controlRequest) {
	switch cr.req.Command {
	case "status":
		st := d.status()
		cr.reply <- Response{OK: true, Status: &st}
	case "reload":
		d.reload("control socket", func(changed bool, err error) {
			st := d.status()
			if err != nil {
				cr.reply <- Response{Error: err.Error(), Diagnostics: detail(err), Status: &st}
				return
			}
			cr.reply <- Response{OK: true, Changed: changed, Status: &st}
		})
	default:
		cr.reply <- Response{Error: fmt.Sprintf("unknown command %q (want status or reload)", cr.req.Command)}
	}
}

// startWorker starts the worker of one remote on a context of its own, so
// a remote removed from the configuration can be stopped alone.
func (d *Daemon) startWorker(r *spec.Remote, cfg *spec.Config) {
	w := newWorker(r, cfg.Settings, cfg.Hash, d.Connect, d.Log, d.timings, d.poke)
	w.lease.holder = d.Holder
	ctx, cancel := context.WithCancel(context.Background())
	h := &workerHandle{w: w, cancel: cancel}
	d.workers[r.Name] = h
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		w.run(ctx)
	}()
}

// poke tells the loop that some status changed; it never blocks.
func (d *Daemon) poke() {
	select {
	case d.statusC <- struct{}{}:
	default:
	}
}

// waitFirstAttempts blocks until every worker attempted a pass, answering
// status requests meanwhile. It returns true when a stop was requested.
func (d *Daemon) waitFirstAttempts(ctx context.Context, sigs <-chan os.Signal, reqs <-chan controlRequest) bool {
	every := d.extendEvery
	if every == 0 {
		every = 5 * time.Second
	}
	extend := time.NewTicker(every)
	defer extend.Stop()
	for _, h := range d.workers {
		for waiting := true; waiting; {
			select {
			case <-h.w.attempted:
				waiting = false
			case <-ctx.Done():
				return true
			case s := <-sigs:
				if s != syscall.SIGHUP {
					d.Log.Info("stopping", "signal", s.String())
					return true
				}
				d.Log.Info("SIGHUP during start-up; reloading once ready")
				d.pendingReload = true
			case cr := <-reqs:
				if cr.req.Command == "reload" {
					cr.reply <- Response{Error: "the daemon is starting (waiting for the first convergence of every remote); retry the reload once it is ready"}
					continue
				}
				d.handle(cr)
			case <-extend.C:
				d.Log.Info("waiting for the first convergence", "remote", h.w.name)
				_ = d.Notify.ExtendTimeout(6 * every)
			}
		}
	}
	return false
}

// stop is SIGTERM: STOPPING=1 first, then cancel the workers (a pass in
// flight finishes its current write) and wait for them.
func (d *Daemon) stop() error {
	if err := d.Notify.Stopping(); err != nil {
		d.Log.Warn("sd_notify STOPPING failed", "err", err)
	}
	d.stopAll()
	d.Log.Info("stopped")
	return nil
}

// stopAll cancels every worker and waits until each has returned.
func (d *Daemon) stopAll() {
	for _, h := range d.workers {
		h.cancel()
	}
	d.wg.Wait()
}

// healthy reports whether the loop may feed the watchdog: no pass has been
// stuck longer than StuckAfter. The loop calling it is itself the proof that
// the main loop runs.
func (d *Daemon) healthy() bool {
	now := time.Now()
	for name, h := range d.workers {
		if took := h.w.stuckFor(now); took > d.StuckAfter {
			if !d.unhealthy {
				d.Log.Error("convergence pass stuck; withholding the watchdog ping", "remote", name, "running_for", took.Round(time.Second))
			}
			d.unhealthy = true
			return false
		}
	}
	d.unhealthy = false
	return true
}

// status assembles the daemon's status from each worker's copy of its own.
func (d *Daemon) status() Status {
	st := Status{
		Version:      d.Version,
		PID:          os.Getpid(),
		Started:      d.started,
		ConfigDir:    d.Dir,
		ConfigLoaded: d.loaded,
		Remotes:      []RemoteStatus{},
	}
	if d.cfg != nil {
		st.ConfigHash = d.cfg.Hash
	}
	sc := d.Secrets.Scrubber()
	if d.cfgErr != nil {
		st.ConfigError = sc.String(d.cfgErr.Error())
	}
	for _, name := range sortedNames(d.workers) {
		rs := d.workers[name].w.status()
		rs.Address, rs.LastError = sc.String(rs.Address), sc.String(rs.LastError)
		st.Remotes = append(st.Remotes, rs)
	}
	st.Evaluating = d.evaluating()
	now := time.Now()
	for i := range st.Remotes {
		if took := d.workers[st.Remotes[i].Name].w.stuckFor(now); took > 0 {
			st.Remotes[i].PassStarted = now.Add(-took)
		}
	}
	return st
}

// publishStatus sends STATUS= when the line changed and updates metrics;
// during a reload it waits for the reload's READY=1, which carries it.
func (d *Daemon) publishStatus() {
	if d.reloading() {
		return
	}
	st := d.status()
	if d.Metrics != nil {
		d.Metrics.update(&st)
	}
	line := st.Line()
	if line == d.lastLine {
		return
	}
	d.lastLine = line
	if err := d.Notify.Status(line); err != nil {
		d.Log.Warn("sd_notify STATUS failed", "err", err)
	}
}

// sortedNames orders remotes by name so that logs, STATUS= and status
// output list them the same way every time.
func sortedNames[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// short is a configuration hash cut to its first 12 characters for logs.
func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
