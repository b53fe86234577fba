package lxd

import (
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestNormalizePin(t *testing.T) {
	hexFP := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		in, want string
		wantErr  bool
	}{
		{in: "sha256:" + hexFP, want: "sha256:" + hexFP},
		{in: "SHA256:" + strings.ToUpper(hexFP), want: "sha256:" + hexFP},
		{in: hexFP, want: "sha256:" + hexFP},
		{in: strings.TrimSuffix(strings.Repeat("AB:", 32), ":"), want: "sha256:" + hexFP},
		{in: " sha256:" + hexFP + "\n", want: "sha256:" + hexFP},
		{in: "sha256:abcd", wantErr: true},
		{in: "sha256:" + strings.Repeat("zz", 32), wantErr: true},
		{in: "", wantErr: true},
	} {
		got, err := normalizePin(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("normalizePin(%q) error = %v, want error %v", tc.in, err, tc.wantErr)
			continue
		}
		if got != tc.want {
			t.Errorf("normalizePin(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestVerifyPin runs real TLS handshakes against a local server with a
// self-signed certificate: the pin accepts exactly that certificate, and the
// refusals name the fingerprint the server presented.
func TestVerifyPin(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	sum := sha256.Sum256(srv.Certificate().Raw)
	actual := "sha256:" + hex.EncodeToString(sum[:])
	if got := fingerprint(srv.Certificate().Raw); got != actual {
		t.Fatalf("fingerprint = %s, want %s", got, actual)
	}
	other := "sha256:" + strings.Repeat("0", 64)

	get := func(pin string) error {
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
			InsecureSkipVerify: true, // replaced by the pin, as in Connect
			VerifyConnection:   verifyPin(srv.URL, pin),
		}}}
		resp, err := client.Get(srv.URL)
		if err == nil {
			_ = resp.Body.Close()
		}
		return err
	}

	if err := get(actual); err != nil {
		t.Fatalf("matching pin refused: %v", err)
	}
	for _, pin := range []string{other, ""} {
		err := get(pin)
		var pe *PinError
		if !errors.As(err, &pe) {
			t.Fatalf("pin %q: error %v is not a *PinError", pin, err)
		}
		if pe.Actual != actual || pe.Expected != pin {
			t.Errorf("pin %q: PinError = %+v, want actual %s", pin, pe, actual)
		}
		if !strings.Contains(err.Error(), `server_fingerprint = "`+actual+`"`) {
			t.Errorf("pin %q: error does not say how to pin: %v", pin, err)
		}
	}
}
