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
	Managed     bool     // false for host interfaces LXD merely lists
	Status      string   // "Created", "Errored", ... (observed only)
	UsedBy      []string // API URLs of users (observed only)
	Locations   []string // cluster members (observed only)
	ETag        string   // observed; passed back on update
}

// Profile is an LXD profile.
type Profile struct {
	Name        string
	Description string
	Config      map[string]string
	Devices     map[string]map[string]string
	UsedBy      []string
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
	// Addresses maps NIC name to its global IPv4 addresses (observed only).
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
}

// ForwardPort is one port rule of a forward.
type ForwardPort struct {
	Description   string
	Protocol      string
	ListenPort    string
	TargetAddress string
	TargetPort    string
}
