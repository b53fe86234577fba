package lxd

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"gopkg.in/yaml.v2"
)

// lxcConfig is the part of the lxc command-line client's configuration
// (config.yml in the lxc config directory) that lxnetd reads, so a remote can
// say `lxc_remote = "vm1"` and reuse what `lxc remote add` set up. The incus
// client (a fork of lxc) keeps the same files in the same layout, so the same
// type serves `incus_remote = "vm1"` (Tool "incus").
//
// lxc's own loader (github.com/canonical/lxd/lxc/config) is not used: it is
// outside the Apache-2.0 client/ and shared/ trees of the LXD module.
type lxcConfig struct {
	// Tool is the client the configuration belongs to: "lxc" or "incus".
	Tool string
	// Dir is the directory config.yml, client.crt/key and servercerts/ live in.
	Dir           string
	DefaultRemote string               `yaml:"default-remote"`
	Remotes       map[string]lxcRemote `yaml:"remotes"`
}

// lxcRemote is one entry of config.yml's remotes map.
type lxcRemote struct {
	Addr     string `yaml:"addr"`
	AuthType string `yaml:"auth_type"`
	Project  string `yaml:"project"`
	Protocol string `yaml:"protocol"` // "lxd" (default), "incus" or "simplestreams"
	Public   bool   `yaml:"public"`
}

// lxcStaticRemotes are the remotes lxc knows without any configuration.
var lxcStaticRemotes = map[string]lxcRemote{
	"local":        {Addr: "unix://"},
	"images":       {Addr: "https://images.linuxcontainers.org", Protocol: "simplestreams", Public: true},
	"ubuntu":       {Addr: "https://cloud-images.ubuntu.com/releases", Protocol: "simplestreams", Public: true},
	"ubuntu-daily": {Addr: "https://cloud-images.ubuntu.com/daily", Protocol: "simplestreams", Public: true},
}

// incusStaticRemotes are the remotes the incus client knows without any
// configuration.
var incusStaticRemotes = map[string]lxcRemote{
	"local":  {Addr: "unix://", Protocol: "incus"},
	"images": {Addr: "https://images.linuxcontainers.org", Protocol: "simplestreams", Public: true},
}

// incusConfigDir returns the incus client configuration directory the way
// incus finds it: $INCUS_CONF, else ~/.config/incus.
func incusConfigDir(getenv func(string) string) (string, error) {
	dir, home, err := envOrHome(getenv, "INCUS_CONF", "incus")
	if err != nil || dir != "" {
		return dir, err
	}
	return filepath.Join(home, ".config", "incus"), nil
}

// envOrHome returns the client configuration directory that the
// environment variable env names, or else (dir "") the home directory
// under which the client (tool) has its default.
func envOrHome(getenv func(string) string, env, tool string) (dir, home string, err error) {
	if dir := getenv(env); dir != "" {
		return dir, "", nil
	}
	if home = getenv("HOME"); home != "" {
		return "", home, nil
	}
	if home, err = os.UserHomeDir(); err != nil {
		return "", "", fmt.Errorf("finding the %s config directory: set %s or HOME: %w", tool, env, err)
	}
	return "", home, nil
}

// loadClientConfig reads the configuration of client tool ("lxc" or
// "incus") from where that client looks for it.
func loadClientConfig(tool string, getenv func(string) string) (*lxcConfig, error) {
	dirOf, static := lxcConfigDir, lxcStaticRemotes
	if tool == "incus" {
		dirOf, static = incusConfigDir, incusStaticRemotes
	}
	dir, err := dirOf(getenv)
	if err != nil {
		return nil, err
	}
	return loadConfig(tool, dir, static)
}

// lxcConfigDir returns the lxc client configuration directory the way lxc
// finds it: $LXD_CONF, else the snap's ~/snap/lxd/common/config when it
// holds a config.yml, else ~/.config/lxc.
func lxcConfigDir(getenv func(string) string) (string, error) {
	dir, home, err := envOrHome(getenv, "LXD_CONF", "lxc")
	if err != nil || dir != "" {
		return dir, err
	}
	snap := filepath.Join(home, "snap", "lxd", "common", "config")
	if _, err := os.Stat(filepath.Join(snap, "config.yml")); err == nil {
		return snap, nil
	}
	return filepath.Join(home, ".config", "lxc"), nil
}

// loadConfig reads dir/config.yml of client tool. A missing file is not an
// error: the client then knows only its static remotes, and so do we.
func loadConfig(tool, dir string, static map[string]lxcRemote) (*lxcConfig, error) {
	cfg := &lxcConfig{Tool: tool, Dir: dir}
	data, err := os.ReadFile(filepath.Join(dir, "config.yml"))
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("reading %s client config: %w", tool, err)
	default:
		if err := yaml.Unmarshal(data, cfg); err != nil {
			return nil, fmt.Errorf("parsing %s client config %s: %w", tool, filepath.Join(dir, "config.yml"), err)
		}
	}
	if cfg.Remotes == nil {
		cfg.Remotes = map[string]lxcRemote{}
	}
	for name, r := range static {
		if _, ok := cfg.Remotes[name]; !ok {
			cfg.Remotes[name] = r
		}
	}
	return cfg, nil
}

// remote returns the named remote or an error listing the known ones.
func (c *lxcConfig) remote(name string) (lxcRemote, error) {
	r, ok := c.Remotes[name]
	if !ok {
		return lxcRemote{}, fmt.Errorf("%s remote %q is not in %s (add it with `%s remote add %s <address>`)",
			c.Tool, name, filepath.Join(c.Dir, "config.yml"), c.Tool, name)
	}
	return r, nil
}

// clientCertPaths are the client certificate and key lxc presents to every
// https remote.
func (c *lxcConfig) clientCertPaths() (cert, key string) {
	return filepath.Join(c.Dir, "client.crt"), filepath.Join(c.Dir, "client.key")
}

// serverCertPath is where lxc stored the certificate it accepted for a
// remote at `lxc remote add` time (absent for remotes trusted through a CA).
func (c *lxcConfig) serverCertPath(name string) string {
	return filepath.Join(c.Dir, "servercerts", name+".crt")
}
