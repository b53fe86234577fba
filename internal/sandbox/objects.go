package sandbox

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// CreateBridge creates a managed LXD bridge named name (not owned by
// lxnetd: no user.lxnetd.* keys) on a freshly allocated 10.231.X.0/24 with
// the gateway at .1, DHCP and NAT on, IPv6 off, and returns the subnet
// ("10.231.X.0/24"; see HostIP). The bridge is deleted in t.Cleanup.
func (d *Daemon) CreateBridge(t testing.TB, name string) (cidr string) {
	t.Helper()
	cidr = AllocSubnet(t)
	d.Lxc(t, "network", "create", name, "--type=bridge",
		"ipv4.address="+HostIP(cidr, 1)+"/24", "ipv4.nat=true", "ipv6.address=none")
	t.Cleanup(func() { d.deleteIfExists(t, "network", name) })
	return cidr
}

// LaunchBusybox launches a container from the sandbox's busybox image with
// one NIC eth0 on network; ipv4 (may be "") becomes the NIC's DHCP
// reservation, i.e. the container's static address. Its httpd serves, on
// port 80, a page that contains name. The container is force-deleted in
// t.Cleanup. It returns once LXD reports the container started; use HTTPGet
// to wait for the service.
func (d *Daemon) LaunchBusybox(t testing.TB, name, network, ipv4 string) {
	t.Helper()
	var y strings.Builder
	fmt.Fprintf(&y, "devices:\n  eth0:\n    type: nic\n    name: eth0\n    network: %s\n", network)
	if ipv4 != "" {
		fmt.Fprintf(&y, "    ipv4.address: %s\n", ipv4)
	}
	// Registered first: a launch that created the container but failed to
	// start it still leaves something to delete.
	t.Cleanup(func() { d.deleteIfExists(t, "instance", name) })
	d.LxcInput(t, y.String(), "launch", "busybox", name)
}

// deleteIfExists removes an object a helper created, reporting (not
// fataling, as it runs in Cleanup) anything but "it is already gone".
func (d *Daemon) deleteIfExists(t testing.TB, kind, name string) {
	t.Helper()
	var args []string
	switch kind {
	case "network":
		if _, err := d.LxcErr("network", "show", name); err != nil {
			return
		}
		args = []string{"network", "delete", name}
	case "instance":
		if _, err := d.LxcErr("config", "show", name); err != nil {
			return
		}
		args = []string{"delete", "--force", name}
	}
	if _, err := d.LxcErr(args...); err != nil {
		t.Errorf("cleaning up sandbox %s %q: %v", kind, name, err)
	}
}

// HTTPGet fetches url, retrying until the server answers 200 OK or within
// has passed, and returns the body; it fails the test with the last error.
// Every attempt uses a new connection, so a retry sees the network as it is
// now (forwards just created, containers just started).
func HTTPGet(t testing.TB, url string, within time.Duration) string {
	t.Helper()
	c := &http.Client{
		Timeout:   2 * time.Second,
		Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil},
	}
	deadline := time.Now().Add(within)
	var last error
	for attempt := 1; ; attempt++ {
		body, err := get(c, url)
		if err == nil {
			return body
		}
		last = err
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: no 200 OK within %v (%d attempts): %v", url, within, attempt, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func get(c *http.Client, url string) (string, error) {
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	return string(b), nil
}
