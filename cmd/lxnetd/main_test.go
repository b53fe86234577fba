package main

import (
	"fmt"
	"os"
	"testing"

	"github.com/lxnetd/lxnetd/internal/testkeys"
)

// TestMain makes the private keys of the checked-in test directories
// readable by their owner only before the tests load them (see package
// testkeys). A bad case that needs a wrong mode sets it in its
// options.json ("chmod").
func TestMain(m *testing.M) {
	if err := testkeys.Private("../../testdata", "../../examples"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}
