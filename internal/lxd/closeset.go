package lxd

import (
	"maps"
	"slices"
	"sync"
)

// closeSet holds the open things (connections, the transports of running
// watches) that one call closes together, and stays closed afterwards:
// whatever is added then is refused, so something dialed while Close runs
// cannot escape it. The zero value is an empty, open set.
type closeSet[T comparable] struct {
	mu     sync.Mutex
	items  map[T]struct{}
	closed bool
}

// add adds x and reports true, or reports false when the set is closed: the
// caller then closes x itself.
func (s *closeSet[T]) add(x T) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	if s.items == nil {
		s.items = map[T]struct{}{}
	}
	s.items[x] = struct{}{}
	return true
}

// remove forgets x (closed on its own).
func (s *closeSet[T]) remove(x T) {
	s.mu.Lock()
	delete(s.items, x)
	s.mu.Unlock()
}

// close closes the set and hands back what it held, for the caller to close
// outside the lock.
func (s *closeSet[T]) close() []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	items := s.items
	s.items = nil
	return slices.Collect(maps.Keys(items))
}

// list is what the set holds now.
func (s *closeSet[T]) list() []T {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Collect(maps.Keys(s.items))
}
