// Package engine compares the desired state of a remote (package spec) with
// what LXD reports, and turns the difference into a Plan that Apply executes.
//
// It talks to LXD only through the Remote interface, implemented for real by
// package internal/lxd and by fakes in unit tests. It must not import HCL or
// the LXD client.
package engine

import (
	"context"
	"errors"
)

// Errors a Remote returns so the engine can react without knowing LXD's wire format.
// A write LXD refuses for another reason (the object is in use, a profile or
// network it names is missing, an instance is already running) returns an
// error that is neither. Package enginetest/conformance checks all of this
// against every implementation.
var (
	// ErrNotFound: the object does not exist (HTTP 404), or for forwards
	// their network.
	ErrNotFound = errors.New("not found")
	// ErrPreconditionFailed: the ETag passed with an update is stale (HTTP 412);
	// the engine re-reads the object and retries.
	ErrPreconditionFailed = errors.New("precondition failed (stale etag)")
)

// Remote is everything the engine needs from one LXD server, scoped to one
// project. Reads are bulk: a plan costs a number of requests that grows with
// the number of networks, never with instances, devices or ports. The Get
// calls read one object each, for callers that know which one changed.
type Remote interface {
	// Name is the remote's name in the configuration (for messages).
	Name() string

	ACLRemote // network ACLs (acl.go)

	// ListNetworks returns every network, managed or not (Managed says which).
	ListNetworks(ctx context.Context) ([]Network, error)
	// ListProfiles returns every profile with config and devices.
	ListProfiles(ctx context.Context) ([]Profile, error)
	// ListInstances returns every instance with config, expanded-free local
	// devices, profiles, status and addresses, in one request.
	ListInstances(ctx context.Context) ([]Instance, error)
	// ListForwards returns all forwards of one managed network (an error
	// for a network that cannot have forwards, ErrNotFound for a missing one);
	// on a cluster, those of every member, each with its Location.
	ListForwards(ctx context.Context, network string) ([]Forward, error)
	// ListImages returns every image of the project with its fingerprint and
	// aliases, in one request. A plan calls it only when a declared instance
	// already exists, to tell whether its image changed.
	ListImages(ctx context.Context) ([]Image, error)

	// GetNetwork, GetProfile, GetInstance and GetForward read one object
	// exactly as the matching List call lists it, in one request
	// (ErrNotFound when it does not exist; for GetForward also when its
	// network does not). They are the targeted reads of the daemon's
	// event-fed cache (package engine/cache), and Apply re-reads an object
	// with them after a stale ETag.
	GetNetwork(ctx context.Context, name string) (Network, error)
	GetProfile(ctx context.Context, name string) (Profile, error)
	GetInstance(ctx context.Context, name string) (Instance, error)
	//
	// A forward is on one cluster member: member names it for GetForward
	// and DeleteForward ("" on a standalone server, or the member the
	// request reaches), Forward.Location for CreateForward and UpdateForward.
	GetForward(ctx context.Context, network, listenAddress, member string) (Forward, error)

	CreateNetwork(ctx context.Context, n Network) error
	// UpdateNetwork replaces the network's writable fields, conditional on n.ETag
	// (returns ErrPreconditionFailed when stale; an empty ETag writes
	// unconditionally).
	UpdateNetwork(ctx context.Context, n Network) error
	DeleteNetwork(ctx context.Context, name string) error

	CreateProfile(ctx context.Context, p Profile) error
	UpdateProfile(ctx context.Context, p Profile) error // conditional on p.ETag
	DeleteProfile(ctx context.Context, name string) error

	// CreateInstance creates (does not start) an instance from i.Image and
	// waits for the operation to finish.
	CreateInstance(ctx context.Context, i Instance) error
	UpdateInstance(ctx context.Context, i Instance) error // conditional on i.ETag; waits
	// SetInstanceState runs "start" or "stop" (forced when force is true) and waits.
	SetInstanceState(ctx context.Context, name, action string, force bool) error
	DeleteInstance(ctx context.Context, name string) error // force-stops a running instance first; waits

	CreateForward(ctx context.Context, f Forward) error
	UpdateForward(ctx context.Context, f Forward) error // forwards have no ETag
	DeleteForward(ctx context.Context, network, listenAddress, member string) error

	// Requests is the number of API requests issued so far (for plan --stats
	// and tests that assert reads are bulk).
	Requests() int64
}
