package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/lxnetd/lxnetd/config"
	"github.com/lxnetd/lxnetd/engine/spec"
	"github.com/lxnetd/lxnetd/internal/daemon"
	"github.com/lxnetd/lxnetd/internal/logging"
	"github.com/lxnetd/lxnetd/internal/lxd"
	"github.com/lxnetd/lxnetd/internal/redact"
)

func newRunCommand() *cobra.Command {
	var (
		dir, socket, logFormat, logLevel, metricsAddr string
		parallelism                                   int
		vf                                            varFlags
	)
	cmd := &cobra.Command{
		Use:   "run [dir]",
		Short: "Run the daemon: watch the directory and LXD, converge continuously",
		Long: `Run the daemon: load the configuration directory, converge every remote, and keep
them converged. The directory and each remote's LXD event stream are watched; any
change only marks a remote for a fresh observe/plan/apply pass. An invalid edit
changes nothing in LXD: the last good configuration stays in force and the
diagnostics go to the log and to systemd's STATUS. An invalid configuration at
start-up exits 78 (EX_CONFIG), which the packaged unit lists in
RestartPreventExitStatus=: systemd does not retry until the files are fixed
and the service is started again. Every other failure exits 1 and is retried;
an unreachable LXD is not a failure (the daemon keeps running and retries).

Signals: SIGHUP reloads (like "lxnetd reload"), SIGTERM/SIGINT stop after the
write in flight. Under systemd (Type=notify) it reports READY, STATUS,
RELOADING, WATCHDOG and STOPPING.

The directory is the argument, as for every other command (--config-dir is
the same, kept for existing units).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if cmd.Flags().Changed("config-dir") && args[0] != dir {
					return fmt.Errorf("the configuration directory is given twice: %q and --config-dir %q", args[0], dir)
				}
				dir = args[0]
			}
			level, err := logging.ParseLevel(logLevel)
			if err != nil {
				return err
			}
			log, err := logging.New(logging.Options{Format: logFormat, Level: level})
			if err != nil {
				return err
			}
			opts, err := vf.options()
			if err != nil {
				return err
			}
			ctx := context.Background()
			// Every log record is scrubbed of the sensitive strings of every
			// configuration loaded so far (see package redact).
			secrets := &redact.Live{}
			log = slog.New(redact.NewHandler(log.Handler(), secrets))
			d := &daemon.Daemon{
				Dir:     dir,
				Load:    collectSecrets(configLoader(opts), secrets),
				Connect: daemon.EngineConnector(dialLXD, log, parallelism),
				Log:     log,
				Secrets: secrets,
				Notify:  &daemon.Notifier{},
				Socket:  socket,
				Version: version,
			}
			if metricsAddr != "" {
				d.Metrics = &daemon.Metrics{}
				mctx, cancel := context.WithCancel(ctx)
				defer cancel()
				if err := daemon.ServeMetrics(mctx, metricsAddr, d.Metrics); err != nil {
					return err
				}
				log.Info("serving metrics", "address", metricsAddr)
			}
			if err := d.Run(ctx); err != nil {
				var ce *daemon.ConfigError
				if errors.As(err, &ce) {
					log.Error("configuration rejected at start-up", "dir", dir, "err", ce.Summary)
					fmt.Fprint(cmd.ErrOrStderr(), ce.Detail)
					if ce.Detail == "" {
						fmt.Fprintln(cmd.ErrOrStderr(), "Error:", ce.Summary)
					}
					// systemctl status shows why the service is down.
					_ = d.Notify.Status("configuration rejected at start-up: " + ce.Summary)
					return exitError{exitConfigError}
				}
				log.Error("daemon failed", "err", err)
				return exitError{1}
			}
			return nil
		},
	}
	vf.register(cmd)
	f := cmd.Flags()
	f.StringVarP(&dir, "config-dir", "c", defaultConfigDir, "configuration directory")
	f.StringVar(&socket, "socket", daemon.DefaultSocket, "control socket for lxnetd status and lxnetd reload (created root-only)")
	f.StringVar(&logFormat, "log-format", logging.FormatAuto, "log format: auto (journal when stderr is the journal, else text), text, json or journal")
	f.StringVar(&logLevel, "log-level", "info", "minimum log level: debug, info, warn or error")
	f.StringVar(&metricsAddr, "metrics-address", "", "serve Prometheus metrics on this address (e.g. 127.0.0.1:9477); off when empty")
	f.IntVar(&parallelism, "parallelism", 2, "concurrent writes per remote")
	return cmd
}

// exitConfigError is the exit status of `lxnetd run` when the configuration
// is invalid at start-up: 78, EX_CONFIG of sysexits(3). lxnetd.service lists
// it in RestartPreventExitStatus=, because restarting cannot fix a file;
// everything else exits 1 and Restart=on-failure retries it.
const exitConfigError = 78

// dialLXD connects the daemon to a remote with internal/lxd.
func dialLXD(ctx context.Context, r *spec.Remote) (daemon.Remote, error) {
	rem, err := lxd.Connect(ctx, r)
	if err != nil {
		return nil, err // not a nil *lxd.Remote in a non-nil interface
	}
	return rem, nil
}

// collectSecrets adds the sensitive strings of every configuration load
// loads to secrets, before anything of it can be logged.
func collectSecrets(load daemon.Loader, secrets *redact.Live) daemon.Loader {
	return func(dir string) (*spec.Config, error) {
		cfg, err := load(dir)
		if cfg != nil {
			secrets.Add(cfg.Secrets)
		}
		return cfg, err
	}
}

// configLoader adapts config.Load to the daemon: diagnostics become a
// ConfigError whose summary names the file and line. The memory a load
// frees is handed back to the kernel by the daemon shortly after the load
// (internal/daemon/memory.go), not here: the pass that follows a changed
// configuration would fault those pages in again.
func configLoader(opts config.Options) daemon.Loader {
	return func(dir string) (*spec.Config, error) {
		cfg, diags := config.Load(dir, opts)
		if diags.HasErrors() {
			var b strings.Builder
			_ = diags.WriteText(&b, false)
			return nil, &daemon.ConfigError{Summary: diags.Err().Error(), Detail: b.String()}
		}
		return cfg, nil
	}
}

func newReloadCommand() *cobra.Command {
	var (
		socket  string
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "reload",
		Short: "Ask the running daemon to reload its configuration and report the result",
		Long: `Ask the running daemon (over its control socket) to re-read the configuration
directory, and wait for the result. When the new configuration is invalid it
prints the diagnostics and exits 1; the daemon keeps the last good configuration.
This is the unit's ExecReload, so "systemctl reload lxnetd" tells the truth.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			resp, err := daemon.Ask(ctx, socket, daemon.Request{Command: "reload"})
			if err != nil {
				return err
			}
			if !resp.OK {
				if resp.Diagnostics != "" {
					fmt.Fprint(cmd.ErrOrStderr(), resp.Diagnostics)
					if !strings.HasSuffix(resp.Diagnostics, "\n") {
						fmt.Fprintln(cmd.ErrOrStderr())
					}
				}
				fmt.Fprintf(cmd.ErrOrStderr(), "lxnetd reload: configuration rejected: %s\nThe daemon keeps the last good configuration.\n", resp.Error)
				return exitError{1}
			}
			hash := ""
			if resp.Status != nil {
				hash = short(resp.Status.ConfigHash)
			}
			if resp.Changed {
				fmt.Fprintf(cmd.OutOrStdout(), "configuration reloaded (config %s)\n", hash)
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "configuration unchanged (config %s); every remote is re-read\n", hash)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&socket, "socket", daemon.DefaultSocket, "the daemon's control socket")
	cmd.Flags().DurationVar(&timeout, "timeout", 90*time.Second, "how long to wait for the daemon")
	return cmd
}

func newStatusCommand() *cobra.Command {
	var (
		socket  string
		asJSON  bool
		wait    bool
		timeout time.Duration
	)
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the running daemon's per-remote state",
		Long: `Show the running daemon's state, per remote: state, owned objects, last
convergence, last error, drift corrections and the next resync.

With --wait-converged, wait until every remote converged to the current
configuration (exit 1 when --timeout passes first).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			var st *daemon.Status
			for {
				resp, err := daemon.Ask(ctx, socket, daemon.Request{Command: "status"})
				if err != nil {
					if wait && ctx.Err() == nil {
						// the daemon may still be starting
						time.Sleep(200 * time.Millisecond)
						continue
					}
					return err
				}
				if !resp.OK || resp.Status == nil {
					return fmt.Errorf("daemon answered: %s", resp.Error)
				}
				st = resp.Status
				if !wait || st.Converged() {
					break
				}
				select {
				case <-ctx.Done():
					printStatus(cmd.OutOrStdout(), st, asJSON)
					fmt.Fprintf(cmd.ErrOrStderr(), "lxnetd status: not converged after %s\n", timeout)
					return exitError{1}
				case <-time.After(200 * time.Millisecond):
				}
			}
			return printStatus(cmd.OutOrStdout(), st, asJSON)
		},
	}
	f := cmd.Flags()
	f.StringVar(&socket, "socket", daemon.DefaultSocket, "the daemon's control socket")
	f.BoolVar(&asJSON, "json", false, "print the status as JSON")
	f.BoolVar(&wait, "wait-converged", false, "wait until every remote converged to the current configuration")
	f.DurationVar(&timeout, "timeout", 2*time.Minute, "with --wait-converged: how long to wait")
	return cmd
}

func printStatus(w io.Writer, st *daemon.Status, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	now := time.Now()
	fmt.Fprintf(w, "lxnetd %s, pid %d, up %s\n", st.Version, st.PID, now.Sub(st.Started).Round(time.Second))
	fmt.Fprintf(w, "config %s, hash %s, loaded %s\n", st.ConfigDir, short(st.ConfigHash), ago(now, st.ConfigLoaded))
	if st.ConfigError != "" {
		fmt.Fprintf(w, "rejected edit (last good configuration in force): %s\n", st.ConfigError)
	}
	if !st.Evaluating.IsZero() {
		fmt.Fprintf(w, "evaluating an edit for %s (the configuration above stays in force until it is done)\n", now.Sub(st.Evaluating).Round(time.Second))
	}
	fmt.Fprintf(w, "%s\n\n", st.Line())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "REMOTE\tSTATE\tOBJECTS\tLAST CONVERGED\tDRIFT FIXED\tEVENTS\tNEXT RESYNC\tLAST ERROR")
	for _, r := range st.Remotes {
		if r.Server != "" { // the server it is, once connected: "vm1 (Incus 6.0.4)"
			r.Name += " (" + r.Server + ")"
		}
		next := "-"
		if !r.NextRetry.IsZero() {
			next = "retry " + until(now, r.NextRetry)
		} else if !r.NextResync.IsZero() {
			next = until(now, r.NextResync)
		}
		lastErr := r.LastError
		if r.State == daemon.StateStandby {
			lastErr = "lease held by " + r.LeaseHolder + " until " + r.LeaseExpires.Local().Format("15:04:05")
		}
		if lastErr == "" {
			lastErr = "-"
		}
		state := r.State
		if !r.PassStarted.IsZero() {
			state += " (pass running " + now.Sub(r.PassStarted).Round(time.Second).String() + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%d\t%s\t%s\n", r.Name, state, r.Objects, ago(now, r.LastConverged), r.DriftCorrections, r.Events, next, lastErr)
	}
	return tw.Flush()
}

func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return fmt.Sprintf("%s (%s ago)", t.Local().Format("15:04:05"), now.Sub(t).Round(time.Second))
}

func until(now, t time.Time) string {
	d := t.Sub(now).Round(time.Second)
	if d <= 0 {
		return "due"
	}
	return "in " + d.String()
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
