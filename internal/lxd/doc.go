// Package lxd adapts the engine's Remote interface to the LXD Go client
// (github.com/canonical/lxd/client). It is the only package that imports the
// client; nothing here knows about HCL or plans.
//
// A Remote is one connected server scoped to one project: Connect resolves
// the address (unix socket, https with a pinned certificate, or an lxc client
// remote), List* read whole collections in one request each, writes wait for
// LXD's operations, and WatchLifecycle streams lifecycle events. Requests
// counts every HTTP request, so tests and `plan --stats` can prove that reads
// are bulk.
//
// See README.md in this directory for the behaviour of LXD 5.0.2 and of the
// pinned client that this package works around.
package lxd
