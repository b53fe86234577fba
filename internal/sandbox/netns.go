package sandbox

import (
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Traffic from inside a namespaced daemon's host. Each member of a Cluster
// (and each daemon of a NamespacedPair) is a host of its own: its loopback,
// its bridges, and LXD's nftables rules for traffic that host sends (a
// network forward's DNAT for locally sent packets, a proxy device
// listening on 127.0.0.1) exist only in its network namespace. These
// helpers run curl there, entering the namespace of the holder process
// sandbox.sh keeps for the daemon ($DIR/<name>.holder).

// HTTPGetFrom fetches url from inside d's network namespace, retrying until
// it answers 200 OK or within has passed, and returns the body; it fails
// the test with the last error. Each try is a new curl (a new connection),
// bounded to a few seconds.
func (d *Daemon) HTTPGetFrom(t testing.TB, url string, within time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(within)
	for attempt := 1; ; attempt++ {
		body, err := d.GetFrom(url)
		if err == nil {
			return body
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s from inside %s: no 200 OK within %v (%d attempts): %v", url, d.Name, within, attempt, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// GetFrom is one GET of url from inside d's network namespace (at most 3 s):
// the body of a 200 answer, or an error.
func (d *Daemon) GetFrom(url string) (string, error) {
	pid, err := d.holder()
	if err != nil {
		return "", err
	}
	out, err := exec.Command("nsenter", "-t", strconv.Itoa(pid), "-n", "--",
		"curl", "--noproxy", "*", "-sS", "-f", "-m", "3", url).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("curl %s in %s's namespace: %v: %s", url, d.Name, err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}
