package lease

import (
	"context"
	"fmt"
	"maps"
	"sync"

	"github.com/lxnetd/lxnetd/engine"
)

// MemStore is a Store in memory with the semantics of LXD's server
// configuration (one ETag for the whole configuration, "" removes a key),
// for unit tests and fakes. The zero value is an empty configuration.
type MemStore struct {
	mu      sync.Mutex
	config  map[string]string
	version int
}

var _ Store = (*MemStore)(nil)

// atomicCAS: the check and the write happen under one lock.
func (m *MemStore) atomicCAS() {}

func (m *MemStore) etag() string { return fmt.Sprintf("v%d", m.version) }

// ServerConfigKey implements Store.
func (m *MemStore) ServerConfigKey(ctx context.Context, key string) (string, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.config[key], m.etag(), nil
}

// SetServerConfigKey implements Store.
func (m *MemStore) SetServerConfigKey(ctx context.Context, key, value, etag string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if etag != m.etag() {
		return engine.ErrPreconditionFailed
	}
	m.set(key, value)
	return nil
}

// Set writes a key unconditionally, as an administrator (or another tool)
// would with `lxc config set`.
func (m *MemStore) Set(key, value string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.set(key, value)
}

func (m *MemStore) set(key, value string) {
	if m.config == nil {
		m.config = map[string]string{}
	}
	if value == "" {
		delete(m.config, key)
	} else {
		m.config[key] = value
	}
	m.version++
}

// Config returns a copy of the whole configuration.
func (m *MemStore) Config() map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.config)
}
