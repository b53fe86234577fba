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

// retryIncusLinkRace runs write, and again (up to 4 tries, 100-400 ms
// apart) while it fails with incusLinkRace.
func retryIncusLinkRace(ctx context.Context, write func() error) error {
	delay := 100 * time.Millisecond
	for try := 1; ; try++ {
		err := write()
		if err == nil || try == 4 || !incusLinkRace.MatchString(err.Error()) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
		delay *= 2
	}
}
