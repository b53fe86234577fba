package lxd

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
)

// Certificate pinning.
//
// The LXD client's ConnectionArgs.TLSServerCert does not pin: it adds the
// certificate to the root pool (as a CA) and still checks the host name. lxnetd
// instead connects with chain verification off and checks, in
// tls.Config.VerifyConnection, that the SHA-256 of the server's leaf
// certificate equals the configured pin. VerifyConnection runs on every
// handshake of the connection's transport, including the event websocket,
// which the LXD client dials with the same tls.Config.

// fingerprint returns "sha256:<hex>" of a DER certificate, the form lxnetd
// pins and prints (LXD and `lxc info` print the bare hex of the same hash).
func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// normalizePin accepts "sha256:<hex>" (also the bare hex `lxc info` prints,
// and colon-separated hex as openssl prints it) and returns "sha256:<lowercase hex>".
func normalizePin(pin string) (string, error) {
	p := strings.TrimSpace(pin)
	if rest, ok := strings.CutPrefix(strings.ToLower(p), "sha256:"); ok {
		p = rest
	}
	p = strings.ToLower(strings.ReplaceAll(p, ":", ""))
	if len(p) != 2*sha256.Size {
		return "", fmt.Errorf("server_fingerprint %q is not a SHA-256 fingerprint (want \"sha256:\" and 64 hex digits)", pin)
	}
	if _, err := hex.DecodeString(p); err != nil {
		return "", fmt.Errorf("server_fingerprint %q is not a SHA-256 fingerprint: %w", pin, err)
	}
	return "sha256:" + p, nil
}

// pemFingerprint returns the fingerprint of the first certificate in a PEM file.
func pemFingerprint(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return "", fmt.Errorf("%s holds no PEM certificate", path)
	}
	if _, err := x509.ParseCertificate(block.Bytes); err != nil {
		return "", fmt.Errorf("parsing certificate %s: %w", path, err)
	}
	return fingerprint(block.Bytes), nil
}

// PinError reports a server whose certificate is not the pinned one, or a
// server with no pin at all. Actual is the fingerprint the server presented,
// ready to paste into server_fingerprint.
type PinError struct {
	Address  string
	Expected string // "" when nothing was pinned
	Actual   string
}

func (e *PinError) Error() string {
	if e.Expected == "" {
		return fmt.Sprintf("refusing unpinned LXD server %s: it presents certificate %s; "+
			"check that fingerprint out of band (on the server: `lxc info | grep fingerprint`) "+
			"and pin it with server_fingerprint = %q", e.Address, e.Actual, e.Actual)
	}
	return fmt.Sprintf("LXD server %s presents certificate %s, not the pinned %s; "+
		"if the server's certificate was legitimately replaced, set server_fingerprint = %q",
		e.Address, e.Actual, e.Expected, e.Actual)
}

// verifyPin returns a tls.Config.VerifyConnection function that accepts only
// a leaf certificate with the given fingerprint ("" pins nothing and refuses
// every server, reporting its fingerprint).
func verifyPin(address, pin string) func(tls.ConnectionState) error {
	return func(cs tls.ConnectionState) error {
		if len(cs.PeerCertificates) == 0 {
			return errors.New("LXD server presented no certificate")
		}
		actual := fingerprint(cs.PeerCertificates[0].Raw)
		if pin == "" || actual != pin {
			return &PinError{Address: address, Expected: pin, Actual: actual}
		}
		return nil
	}
}
