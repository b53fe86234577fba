package lxd

import (
	"fmt"
	"strings"
)

// lostStorage recognises LXD's answer for an instance whose database record
// outlived its storage: LXD 5.0.2 killed while creating an instance can
// leave the record without the storage directory (3 of 19 kills in one
// fault run), and then every start fails, e.g.
//
//	Failed to handle idmapped storage: No such file or directory: ".../containers/NAME/rootfs"
//
// Nothing lxnetd retries will mend it, and the daemon would retry it every
// pass: the error then says what the instance is and the two ways out. The
// instance can still be deleted (checked on LXD 5.0.2), which is what both
// ways do; lxnetd creates it again on the next pass.
func (r *Remote) lostStorage(err error, name string) error {
	if err == nil {
		return nil
	}
	msg := strings.ToLower(err.Error())
	if !strings.Contains(msg, "failed to handle idmapped storage") &&
		!(strings.Contains(msg, "no such file or directory") && strings.Contains(msg, "/"+strings.ToLower(name)+"/rootfs")) {
		return err
	}
	project := ""
	if r.project != "" && r.project != "default" {
		project = " --project " + r.project
	}
	return &lostStorageError{err: err, hint: fmt.Sprintf(
		"instance %q has lost its storage: LXD still has its record but not its root filesystem (LXD was probably killed while creating it), so it can neither start nor change it. "+
			"Replace it (lxnetd apply --replace with the node's address, e.g. --replace node.web), or delete it by hand (lxc delete --force %s%s); lxnetd then creates it again",
		name, name, project)}
}

// lostStorageError keeps LXD's error (and its chain) and adds the diagnosis.
type lostStorageError struct {
	err  error
	hint string
}

func (e *lostStorageError) Error() string { return e.err.Error() + ": " + e.hint }
func (e *lostStorageError) Unwrap() error { return e.err }
