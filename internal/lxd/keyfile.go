package lxd

import (
	"fmt"
	"io"
	"os"
)

// readClientKey reads the PEM key of the client certificate, refusing one
// that group or others can read, as ssh refuses such an identity file:
// whoever reads it can act as lxnetd on every LXD server that trusts the
// certificate. Validate reports the same for a remote's client_key; this
// also covers the key taken from the lxc client configuration (lxc_remote).
func readClientKey(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading client key: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("reading client key: %w", err)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("client key %s has mode %04o: group or others can read it; run chmod 600 %s (lxnetd, like ssh, refuses a private key others can read)", path, perm, path)
	}
	key, err := io.ReadAll(io.LimitReader(f, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("reading client key: %w", err)
	}
	return key, nil
}
