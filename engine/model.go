package engine

// The LXD objects the engine reasons about, as plain values. Observed objects
// come from Remote's List calls; desired ones are built from a spec.Remote.
// Config maps hold LXD keys verbatim; devices are "type" plus properties.

// Network is an LXD network.
type Network struct {
	Name        string
	Type        string
	Description string
	Config      map[string]string
	Managed     bool      // false for host interfaces LXD merely lists
	Status      string    // "Created", "Errored", ... (observed only)
	UsedBy      []Address // instances and profiles using it (observed only)
	Locations   []string  // cluster members (observed only)
	ETag        string    // observed; passed back on update
}

// Profile is an LXD profile.
type Profile struct {
	Name        string
	Description string
	Config      map[string]string
	Devices     map[string]map[string]string
	UsedBy      []Address // instances using it (observed only)
	ETag        string
}

// Instance is an LXD container or virtual machine.
type Instance struct {
	Name        string
	Type        string // "container" or "virtual-machine"
	Description string
	Profiles    []string
	Config      map[string]string
	Devices     map[string]map[string]string // local devices only (not expanded)
	Status      string                       // "Running", "Stopped", ... (observed only)
	Location    string                       // cluster member (observed), placement target (desired)
	// Addresses maps NIC name (its own or a profile's) to the IPv4 address
	// reserved for it (its ipv4.address, which LXD's DHCP hands out),
	// running or not (observed only). It comes from the configuration, so
	// a list needs no instance state.
	Addresses map[string][]string
	// Image is the source for a create: alias or fingerprint on the remote,
	// or "server:alias" (desired only).
	Image string
	ETag  string
}

// Forward is an LXD network forward (all ports of one listen address).
type Forward struct {
	Network       string
	ListenAddress string
	Description   string
	Config        map[string]string // only target_address and user.* are accepted by LXD
	Ports         []ForwardPort
	// Location is the cluster member the forward is on: observed, the
	// member LXD lists it for; desired, the member to create it on. ""
	// on a standalone server, and for a desired forward that may be
	// anywhere (created on the member the request reaches).
	Location string
}

// ForwardPort is one port rule of a forward. (Its fields are those of LXD's
// port, in the same order, so the adapter converts one into the other.)
type ForwardPort struct {
	Description   string
	Protocol      string
	ListenPort    string
	TargetPort    string
	TargetAddress string
}

// Event is an LXD lifecycle event reduced to the object it is about (the
// adapter parses LXD's source paths). It only says where to look: the
// daemon never patches state from it.
type Event struct {
	// Object is the network, profile, instance or forward the event names;
	// zero when it names something else or could not be read.
	Object Address
	// Unplanned marks events about objects lxnetd never plans (images,
	// storage pools, operations, the server configuration, ...): they
	// cannot change a plan.
	Unplanned bool
	// Images marks events about images and their aliases: what a node's
	// image reference resolves to may have changed.
	Images bool
	// Subscribed is not an LXD event: a watch sends it once, when its event
	// stream is up. Anything read before may have changed unseen.
	Subscribed bool
}
