package incusrace

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

// TestRetry: Incus's transient "interface vanished" answer is retried for
// the budget; any other error, and success, end at once. The fake clock of
// synctest makes the 20 s budget instant.
func TestRetry(t *testing.T) {
	const budget = 20 * time.Second
	race := errors.New(`Failed to delete bridge children interfaces: Failed to run: ip -d -j link show lxa-bzo1vko6: exit status 1 (Device "lxa-bzo1vko6" does not exist.)`)
	for _, tc := range []struct {
		name     string
		errs     []error // the last one repeats
		minTries int
		maxTries int
		fail     bool
	}{
		{"race then success", []error{race, race, nil}, 3, 3, false},
		{"race every time", []error{race}, 5, 40, true},
		{"other error", []error{errors.New("Network not found")}, 1, 1, true},
		{"success", []error{nil}, 1, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				start, tries := time.Now(), 0
				err := Retry(context.Background(), budget, func() error {
					tries++
					return tc.errs[min(tries, len(tc.errs))-1]
				})
				if tries < tc.minTries || tries > tc.maxTries || (err != nil) != tc.fail {
					t.Errorf("tries = %d, err = %v; want %d to %d tries, failure %v", tries, err, tc.minTries, tc.maxTries, tc.fail)
				}
				if took := time.Since(start); tc.name == "race every time" && took < budget {
					t.Errorf("gave up after %v, before the %v budget", took, budget)
				}
			})
		})
	}
}
