// Package spec holds the desired state of every remote as plain Go values.
//
// It is the contract between the configuration language (package config,
// which produces it from HCL) and the engine (which compares it with LXD).
// It must import neither HCL nor the LXD client: everything here is already
// evaluated, defaulted and validated, so the engine never re-checks syntax.
package spec

import "time"

// Config is a whole, successfully evaluated configuration directory.
type Config struct {
	Settings Settings
	// Remotes by name. When no remote block is declared the configuration
	// holds one implicit remote named "local" on the default unix socket.
	Remotes map[string]*Remote
	// Hash identifies the configuration content (sha256 of the loaded files
	// and variable values), so reloads of an unchanged directory are no-ops.
	Hash string
	// Secrets are the strings derived from variables declared sensitive
	// (every remote's Secrets too): what output, logs and errors must never
	// show (package internal/redact scrubs them).
	Secrets []string
}

// The defaults of the lxnet block. Package config applies them, so a
// spec.Settings from config is complete; the engine and the daemon fall back
// to these same values only for hand-built settings (tests, export).
const (
	DefaultOwner          = "lxnetd"
	DefaultResyncInterval = 5 * time.Minute
	DefaultMaxDeletes     = 10
)

// The defaults of block arguments. Config fills them in; the engine uses the
// same constants for hand-built specs that leave them empty.
const (
	DefaultNetworkType  = "bridge"
	DefaultInstanceType = "container"
	DefaultState        = "running"
	DefaultProtocol     = "tcp"
	DefaultProfile      = "default"
)

// Settings come from the optional lxnet block.
type Settings struct {
	Owner           string        // value of user.lxnetd.owner on every owned object; default "lxnetd"
	ResyncInterval  time.Duration // daemon full re-read interval; default 5m
	MaxDeletes      int           // daemon refuses a pass that deletes more than this; default 10
	DeleteInstances bool          // prune owned instances instead of listing them as orphaned
	AllowEmpty      bool          // allow a remote's desired set to be empty while it owns objects
	// LeaseTTL is how long the one-writer lease of (remote, owner) lasts
	// without renewal (package engine/lease); default DefaultLeaseTTL.
	LeaseTTL time.Duration
}

// DefaultLeaseTTL is the lease time when the lxnet block sets no lease_ttl:
// renewed every 10s, a holder survives two failed renewals; a standby takes
// over within 30s of a crash; hosts' clocks may differ by up to 20s.
const DefaultLeaseTTL = 30 * time.Second

// Remote is one LXD server (or cluster) and everything desired on it.
type Remote struct {
	Name string
	Pos  Pos

	// Address is "unix://" (default socket), "unix:///path/to/unix.socket"
	// or "https://host:port".
	Address           string
	Project           string // default "default"
	ClientCert        string // path to PEM client certificate (https)
	ClientKey         string // path to PEM client key (https)
	ServerFingerprint string // "sha256:<hex>" pin of the server certificate (https)
	LXCRemote         string // take address and certificates from the lxc client config
	IncusRemote       string // the same from the incus client config (at most one of the two)

	Networks  []Network
	Profiles  []Profile
	Instances []Instance
	Forwards  []Forward
	Exposures []Exposure // service ports, one per (service port, node) on this remote
	ACLs      []ACL      // network ACLs (see acl.go)

	// Secrets are the configuration's sensitive strings (Config.Secrets),
	// for the plans and errors of this remote.
	Secrets []string
}

// Pos is where an object was declared, for messages that point the user back
// at the configuration ("web.hcl:12,1").
type Pos struct {
	File   string
	Line   int
	Column int
}

// Common fields of every declared object.
type Meta struct {
	Addr  string // configuration address, e.g. "node.nginx1" or `node.web["a"]`
	Pos   Pos
	Adopt bool // take over an existing unowned object of the same name
	// Sensitive names the fields whose values derive from a variable
	// declared sensitive: "description", "config.KEY" and
	// "devices.NAME.PROPERTY" (the keys of the engine's key diffs). Plans
	// show them as "(sensitive)". Nil when there is none.
	Sensitive map[string]bool
}

// Network is an LXD network (bridge, macvlan, physical, ...).
type Network struct {
	Meta
	Name        string
	Type        string
	Description string
	Config      map[string]string // LXD keys verbatim; bools/numbers rendered as strings
}

// Device is an LXD device: "type" plus its properties, all as strings.
type Device map[string]string

// Profile is an LXD profile.
type Profile struct {
	Meta
	Name        string
	Description string
	Config      map[string]string
	Devices     map[string]Device
}

// Instance is an LXD instance (container or virtual machine), a "node" block.
type Instance struct {
	Meta
	Name        string
	Image       string // alias or fingerprint on the remote, or "server:alias"
	Type        string // "container" (default) or "virtual-machine"
	Description string
	Profiles    []string // in order; default ["default"]
	Config      map[string]string
	Devices     map[string]Device
	State       string // "running" (default) or "stopped"
	Target      string // cluster member for placement; empty = let LXD choose

	// IPv4 is the node's static address (the ipv4.address of its first NIC
	// device that sets one), and NIC/Network name that device and the
	// network it is attached to. Empty when the node has no static address.
	IPv4    string
	NIC     string
	Network string
}

// Forward is an LXD network forward: all ports of one listen address on one
// network. The engine merges forwards and exposures that share a listen address.
type Forward struct {
	Meta
	Network       string
	ListenAddress string
	Description   string
	// DefaultTarget is the forward's target_address for ports not listed (optional).
	DefaultTarget string
	Ports         []ForwardPort
	// Target is the cluster member the forward is on: the block's target,
	// or else the member of the nodes its ports point at (their target).
	// Empty = wherever it is, created where LXD puts it.
	Target string
}

// ForwardPort is one port rule of a forward. Target addresses of ports that
// name a node are already resolved to the node's static IPv4.
type ForwardPort struct {
	Pos           Pos
	Description   string
	Protocol      string // "tcp" (default) or "udp"
	ListenPort    string // "80", "80,443" or "8000-8010" as LXD accepts
	TargetAddress string
	TargetPort    string // empty = same as listen port
	TargetNode    string // instance name, when declared as target = node.x: without a static address, the engine resolves it from LXD's state
	// Sensitive: the description or target derives from a sensitive
	// variable, so plans show the port's target as "(sensitive)".
	Sensitive bool
}

// ForwardCapable reports whether LXD supports network forwards on a managed
// network of this type (LXD 5.0: bridge and ovn). The one rule config,
// engine and export share.
func ForwardCapable(networkType string) bool {
	return networkType == "bridge" || networkType == "ovn"
}

// Via says how a service port is exposed.
const (
	ViaForward = "forward" // a port of a network forward on the node's network
	ViaProxy   = "proxy"   // a proxy device on the node (userspace, optional PROXY protocol)
	ViaNAT     = "nat"     // a proxy device with nat=true (needs static NIC address)
)

// Exposure is one port of a service on one node, on the node's remote.
type Exposure struct {
	Service       string // service name
	Port          string // port block label
	Addr          string // e.g. `service.web.port["http"]`
	ServiceAddr   string // the service block's address, e.g. `service.web["a"]`
	Pos           Pos
	Instance      string // LXD instance name of the node
	Network       string // network of the node's NIC (via=forward)
	TargetAddress string // node's static IPv4; empty only for via=proxy
	Protocol      string // "tcp" or "udp"
	ListenAddress string // host address; "0.0.0.0" allowed for via=proxy
	ListenPort    string
	TargetPort    string
	Via           string
	ProxyProtocol bool
}
