// Package daemon runs the watch/converge loop of `lxnetd run`.
//
// It is level-triggered, like a Kubernetes controller: a file change, an LXD
// lifecycle event or the resync timer only marks a remote dirty; the remote's
// worker then plans afresh and applies. It plans from an event-fed cache of
// the remote (package engine/cache, one per connection): everything is read
// at connect and every resync_interval; in between, an event only marks the
// object it names, which the next pass re-reads alone, and written objects
// are read back, so the echo of lxnetd's own writes costs a pass that lists
// nothing. Nothing is ever patched from the content of an event, writes stay
// conditional (ETags), and a plan that deletes is made from a full read.
//
// Pieces, each testable on its own:
//   - DirWatcher: one fsnotify watcher on the configuration directory and on
//     its parent (so a deleted and recreated directory is noticed), debounced,
//     reporting only when the hash of the file set changed.
//   - worker: one per remote, with exponential backoff and jitter, so an
//     unreachable remote never delays the others; it reconnects the LXD event
//     stream and re-reads everything after a reconnect (a new session has an
//     empty cache). It writes only while
//     it holds the owner's lease on its remote (lease.go, package
//     engine/lease); without it the remote is a standby that takes over when
//     the holder's lease expires.
//   - Notifier: sd_notify (READY, STATUS, RELOADING+MONOTONIC_USEC, WATCHDOG,
//     STOPPING, EXTEND_TIMEOUT_USEC).
//   - the control socket: a root-only unix socket answering status and reload
//     requests from `lxnetd status` and `lxnetd reload`.
//
// The loop depends on configuration loading and on LXD only through the
// Loader and Connector types (unit tests drive it with fakes). The
// production Connector, EngineConnector, connects through a Dialer its
// caller gives (cmd/lxnetd dials internal/lxd) and converges with the
// engine, gating each plan (max_deletes, allow_empty) before Apply. This
// package never imports HCL or the LXD client.
package daemon
