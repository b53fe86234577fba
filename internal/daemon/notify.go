package daemon

import (
	"fmt"
	"strings"
	"time"

	sd "github.com/coreos/go-systemd/v22/daemon"
)

// Notifier speaks the sd_notify protocol to the service manager. With no
// NOTIFY_SOCKET every call is a no-op, so `lxnetd run` works the same by hand.
type Notifier struct {
	// Send delivers one datagram; default sd.SdNotify(false, state).
	Send func(state string) error
	// Monotonic returns "MONOTONIC_USEC=<n>\n"; default sd.SdNotifyMonotonicUsec.
	Monotonic func() string
}

func (n *Notifier) send(state string) error {
	if n != nil && n.Send != nil {
		return n.Send(state)
	}
	_, err := sd.SdNotify(false, state)
	return err
}

// Ready tells systemd start-up (or a reload) finished; the current status line
// travels in the same datagram so `systemctl status` is never stale.
func (n *Notifier) Ready(status string) error {
	return n.send(sd.SdNotifyReady + "\nSTATUS=" + oneLine(status))
}

// Status replaces the one-line status shown by `systemctl status`.
func (n *Notifier) Status(status string) error { return n.send("STATUS=" + oneLine(status)) }

// Reloading starts a reload. RELOADING=1 and MONOTONIC_USEC go in one
// datagram, as systemd requires for it to match the reload to this message.
func (n *Notifier) Reloading() error {
	mono := sd.SdNotifyMonotonicUsec
	if n != nil && n.Monotonic != nil {
		mono = n.Monotonic
	}
	return n.send(sd.SdNotifyReloading + "\n" + strings.TrimSuffix(mono(), "\n"))
}

// Stopping announces shutdown; it is the first thing sent on SIGTERM/SIGINT.
func (n *Notifier) Stopping() error { return n.send(sd.SdNotifyStopping + "\nSTATUS=stopping") }

// Watchdog pings the service manager's watchdog.
func (n *Notifier) Watchdog() error { return n.send(sd.SdNotifyWatchdog) }

// ExtendTimeout asks for d more time for start-up (or stop) while waiting on a
// slow LXD.
func (n *Notifier) ExtendTimeout(d time.Duration) error {
	return n.send(fmt.Sprintf("EXTEND_TIMEOUT_USEC=%d", d.Microseconds()))
}

// WatchdogInterval is how often to ping: half of WATCHDOG_USEC, or 0 when
// systemd did not enable the watchdog for this process.
func WatchdogInterval() time.Duration {
	d, err := sd.SdWatchdogEnabled(false)
	if err != nil || d <= 0 {
		return 0
	}
	return d / 2
}

// oneLine keeps a status to one line of reasonable length: systemd shows it
// in `systemctl status` and truncates long values anyway.
func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	const max = 400
	if len(s) > max {
		s = s[:max-3] + "..."
	}
	return s
}
