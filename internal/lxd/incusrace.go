package lxd

import (
	"context"
	"regexp"
	"time"
)

// incusLinkRace matches the error Incus 6.0 answers a bridge create or
// delete with when a host interface it is inspecting disappears meanwhile:
// it lists every host interface, then runs `ip -d -j link show` on each,
// and one that went away in between (any container stopping, any other
// bridge deleted) fails the whole request. Nothing is changed by the failed
// request (Incus reverts the create), so it is safe to send again. LXD
// 5.0.2 does not inspect foreign interfaces and never answers this.
var incusLinkRace = regexp.MustCompile(`Failed to run: ip -d -j link show \S+: exit status 1 \(Device "\S+" does not exist\.\)`)

// retryIncusLinkRace runs write, and again while it fails with
// incusLinkRace, for up to linkRaceBudget (100 ms apart, doubling to 1 s).
// On a busy host (containers of other LXD or Incus daemons starting and
// stopping) four quick tries were not enough: CI saw a sandbox create fail
// four times in a row within 0.7 s.
func retryIncusLinkRace(ctx context.Context, write func() error) error {
	delay := 100 * time.Millisecond
	deadline := time.Now().Add(linkRaceBudget)
	for {
		err := write()
		if err == nil || time.Now().After(deadline) || !incusLinkRace.MatchString(err.Error()) {
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

// linkRaceBudget is how long retryIncusLinkRace keeps sending a write again.
const linkRaceBudget = 20 * time.Second
