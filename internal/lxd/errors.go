package lxd

import (
	"net/http"

	"github.com/canonical/lxd/shared/api"

	"github.com/lxnetd/lxnetd/engine"
)

// statusError keeps LXD's message and adds the engine's sentinel, so both
// errors.Is(err, engine.ErrNotFound) and the original text survive.
type statusError struct {
	err      error
	sentinel error
}

func (e *statusError) Error() string   { return e.err.Error() }
func (e *statusError) Unwrap() []error { return []error{e.err, e.sentinel} }

// mapError translates LXD's HTTP status errors into the engine's sentinels:
// 404 → engine.ErrNotFound, 412 (stale If-Match ETag) → engine.ErrPreconditionFailed.
// Other errors are returned unchanged.
func mapError(err error) error {
	if err == nil {
		return nil
	}
	switch {
	case api.StatusErrorCheck(err, http.StatusNotFound):
		return &statusError{err: err, sentinel: engine.ErrNotFound}
	case api.StatusErrorCheck(err, http.StatusPreconditionFailed):
		return &statusError{err: err, sentinel: engine.ErrPreconditionFailed}
	}
	return err
}
