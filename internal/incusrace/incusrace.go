// Package incusrace recognises, and retries, the error Incus 6.0 answers a
// bridge create or delete with when a host interface it is inspecting
// disappears meanwhile: it lists every host interface, then runs
// `ip -d -j link show` on each, and one that went away in between (any
// container stopping, any other bridge deleted) fails the whole request.
// Nothing is changed by the failed request (Incus reverts the create), so
// it is safe to send again. LXD 5.0.2 does not inspect foreign interfaces
// and never answers this.
//
// It is a leaf package so that lxnetd's LXD adapter (internal/lxd) and the
// test sandbox's lxc helper (internal/sandbox) share one pattern and one
// retry loop, each with its own budget.
package incusrace

import (
	"context"
	"regexp"
	"time"
)

// linkRace is Incus's error, wherever it appears in the error text.
var linkRace = regexp.MustCompile(`Failed to run: ip -d -j link show \S+: exit status 1 \(Device "\S+" does not exist\.\)`)

// Is reports whether err is Incus's "interface vanished" race.
func Is(err error) bool {
	return err != nil && linkRace.MatchString(err.Error())
}

// Retry runs write, and again while it fails with the race, for up to
// budget (100 ms apart, doubling to 1 s), or until ctx ends; it returns
// write's last error. On a busy host (containers of other LXD or Incus
// daemons starting and stopping) four quick tries were not enough: CI saw a
// sandbox create fail four times in a row within 0.7 s.
func Retry(ctx context.Context, budget time.Duration, write func() error) error {
	delay := 100 * time.Millisecond
	deadline := time.Now().Add(budget)
	for {
		err := write()
		if !Is(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
		delay = min(2*delay, time.Second)
	}
}
