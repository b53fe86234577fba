package sandbox

import (
	"crypto/rand"
	"strings"
	"testing"
)

// UniqueName returns a short name that no other test (in any process) uses:
// up to six characters of prefix, "-", and eight random base-36 characters,
// at most 15 characters in all — valid for LXD instances and for bridges,
// whose names become Linux interface names.
func UniqueName(t testing.TB, prefix string) string {
	t.Helper()
	return uniqueName(prefix)
}

func uniqueName(prefix string) string {
	var p []byte
	for _, c := range strings.ToLower(prefix) {
		if (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c == '-' && len(p) > 0) {
			p = append(p, byte(c))
		}
	}
	if len(p) == 0 || p[0] < 'a' || p[0] > 'z' {
		p = append([]byte{'t'}, p...)
	}
	if len(p) > 6 {
		p = p[:6]
	}
	p = []byte(strings.TrimRight(string(p), "-"))
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
	r := make([]byte, 8)
	_, _ = rand.Read(r) // never fails (crypto/rand panics instead)
	for i := range r {
		r[i] = alphabet[int(r[i])%len(alphabet)]
	}
	return string(p) + "-" + string(r)
}
