package lxd

import (
	"errors"
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

// refusal hides engine.ErrNotFound in a write's error, keeping the
// message and every other error in the chain. LXD answers 404 not only for
// the object written but also for something the write names that is
// missing (an image, a profile, a NIC's network): to the engine that is a
// refused write, and ErrNotFound would read as "the object is gone"
// (deletes treat it as done, observe re-reads).
func refusal(err error) error {
	if !errors.Is(err, engine.ErrNotFound) {
		return err
	}
	return &refusedError{err: err}
}

type refusedError struct{ err error }

func (e *refusedError) Error() string { return e.err.Error() }

// Is reports every error of the chain but engine.ErrNotFound.
func (e *refusedError) Is(target error) bool {
	return target != engine.ErrNotFound && errors.Is(e.err, target)
}

// refusalUnlessGone is refusal for a write to an object that existed a
// moment ago: exists asks LXD again, and the 404 stays ErrNotFound only if
// the object itself is gone now.
func refusalUnlessGone(err error, exists func() error) error {
	if !errors.Is(err, engine.ErrNotFound) {
		return err
	}
	if gerr := exists(); gerr != nil && errors.Is(mapError(gerr), engine.ErrNotFound) {
		return err
	}
	return refusal(err)
}
