package lxd

import (
	"strings"

	"github.com/canonical/lxd/shared/api"

	"github.com/lxnetd/lxnetd/engine"
)

var _ engine.ServerDescriber = (*Remote)(nil)

// Server is what the server said about itself at Connect: kind ("lxd" or
// "incus"), version, name, API extensions and instance types. The engine
// checks a plan against it (engine.ServerInfo), and plan headers, status
// and logs name it.
func (r *Remote) Server() engine.ServerInfo { return r.server }

// imageClientTool is the client whose remotes name image servers
// ("images:alpine/3.20"): the one the remote itself was taken from
// (lxc_remote, incus_remote), else incus for an Incus server and lxc for LXD.
func (r *Remote) imageClientTool() string {
	switch {
	case r.clientTool != "":
		return r.clientTool
	case r.server.Kind == engine.ServerIncus:
		return "incus"
	}
	return "lxc"
}

// serverInfo extracts engine.ServerInfo from GET /1.0. Servers that predate
// environment.instance_types (LXD 5.0, Incus 6.0 both omit it) say which
// instance drivers they have instead: "lxc" runs containers, "qemu" virtual
// machines ("lxc | qemu" both).
func serverInfo(srv *api.Server) engine.ServerInfo {
	env := srv.Environment
	info := engine.ServerInfo{
		Kind:          env.Server,
		Version:       env.ServerVersion,
		Name:          env.ServerName,
		Extensions:    srv.APIExtensions,
		InstanceTypes: env.InstanceTypes,
	}
	if info.Kind == "" {
		info.Kind = engine.ServerLXD // LXD before 4.x did not say
	}
	if info.InstanceTypes == nil && env.Driver != "" {
		info.InstanceTypes = []string{}
		for _, d := range strings.Split(env.Driver, "|") {
			switch strings.TrimSpace(d) {
			case "lxc":
				info.InstanceTypes = append(info.InstanceTypes, "container")
			case "qemu":
				info.InstanceTypes = append(info.InstanceTypes, "virtual-machine")
			}
		}
	}
	return info
}
