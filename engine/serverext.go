package engine

import (
	"fmt"
	"strings"
)

// Network features an LXD server has only with an API extension. Unlike the
// host features of hostfeatures.go, GET /1.0 lists these, so the plan
// refuses a network that needs one the server lacks before any write, with
// the server's version in the message (an LXD 5.0 has all of them; an older
// LXD or a trimmed fork may not).

// networkTypeExtensions: the API extension each non-bridge network type needs.
var networkTypeExtensions = map[string]string{
	"macvlan":  "network_type_macvlan",
	"sriov":    "network_type_sriov",
	"ovn":      "network_type_ovn",
	"physical": "network_type_physical",
}

// tunnelKeyExtensions: the API extension a tunnel.NAME.KEY needs, by KEY.
var tunnelKeyExtensions = map[string]string{
	"interface": "network_vxlan_interface",
	"ttl":       "network_vxlan_ttl",
}

// networkExtensionProblems are the desired networks whose type or tunnel
// keys need an API extension srv does not have.
func networkExtensionProblems(who string, srv ServerInfo, d *desired) []Problem {
	var out []Problem
	for _, name := range sortedNames(d.networks) {
		it := d.networks[name]
		missing := func(ext, what string) {
			out = append(out, Problem{Addr: firstSource(it.sources), Pos: it.pos,
				Summary: fmt.Sprintf("%s does not support %s (API extension %s)", who, what, ext),
				Detail:  fmt.Sprintf("network %q needs it: change the network, put it on a remote whose server has the extension, or upgrade the server", name)})
		}
		if ext, ok := networkTypeExtensions[it.obj.Type]; ok && !srv.HasExtension(ext) {
			missing(ext, it.obj.Type+" networks")
		}
		for _, k := range sortedNames(it.obj.Config) {
			f := strings.Split(k, ".")
			if len(f) != 3 || f[0] != "tunnel" {
				continue
			}
			if ext, ok := tunnelKeyExtensions[f[2]]; ok && !srv.HasExtension(ext) {
				missing(ext, "the tunnel key "+k)
			}
		}
	}
	return out
}
