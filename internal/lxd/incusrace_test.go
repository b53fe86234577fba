package lxd

import (
	"context"
	"errors"
	"testing"
)

// TestRetryIncusLinkRace: Incus's transient "interface vanished" answer is
// retried; any other error, and success, end at once.
func TestRetryIncusLinkRace(t *testing.T) {
	race := errors.New(`Failed to delete bridge children interfaces: Failed to run: ip -d -j link show lxa-bzo1vko6: exit status 1 (Device "lxa-bzo1vko6" does not exist.)`)
	for _, tc := range []struct {
		name  string
		errs  []error
		tries int
		fail  bool
	}{
		{"race then success", []error{race, race, nil}, 3, false},
		{"race every time", []error{race, race, race, race, race}, 4, true},
		{"other error", []error{errors.New("Network not found")}, 1, true},
		{"success", []error{nil}, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tries := 0
			err := retryIncusLinkRace(context.Background(), func() error {
				tries++
				return tc.errs[tries-1]
			})
			if tries != tc.tries || (err != nil) != tc.fail {
				t.Errorf("tries = %d, err = %v; want %d tries, failure %v", tries, err, tc.tries, tc.fail)
			}
		})
	}
}
