package config

import "github.com/hashicorp/hcl/v2"

// The block kinds of the language. Kinds that can be referenced by name
// (remote.x, network.x, ...) are also the roots of references.
const (
	kindLxnet    = "lxnet"
	kindRemote   = "remote"
	kindVariable = "variable"
	kindLocals   = "locals"
	kindLocal    = "local"
	kindNetwork  = "network"
	kindProfile  = "profile"
	kindNode     = "node"
	kindService  = "service"
	kindForward  = "forward"
)

// expandable kinds accept for_each and count.
func expandable(kind string) bool {
	switch kind {
	case kindNetwork, kindProfile, kindNode, kindService, kindForward, kindACL:
		return true
	}
	return false
}

var rootSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: kindLxnet},
		{Type: kindRemote, LabelNames: []string{"name"}},
		{Type: kindVariable, LabelNames: []string{"name"}},
		{Type: kindLocals},
		{Type: kindNetwork, LabelNames: []string{"name"}},
		{Type: kindProfile, LabelNames: []string{"name"}},
		{Type: kindNode, LabelNames: []string{"name"}},
		{Type: kindService, LabelNames: []string{"name"}},
		{Type: kindForward, LabelNames: []string{"name"}},
		{Type: kindACL, LabelNames: []string{"name"}},
	},
}

var lxnetSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "owner"}, {Name: "resync_interval"}, {Name: "max_deletes"},
		{Name: "delete_instances"}, {Name: "allow_empty"}, {Name: "lease_ttl"},
	},
}

var remoteSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "address"}, {Name: "project"}, {Name: "client_cert"}, {Name: "client_key"},
		{Name: "server_fingerprint"}, {Name: "lxc_remote"}, {Name: "incus_remote"},
	},
}

var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "type"}, {Name: "default"}, {Name: "description"}, {Name: "sensitive"}, {Name: "nullable"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "validation"}},
}

var validationSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "condition", Required: true}, {Name: "error_message", Required: true},
	},
}

// common attributes of every expandable object block.
var objectAttrs = []hcl.AttributeSchema{
	{Name: "for_each"}, {Name: "count"}, {Name: "name"}, {Name: "description"},
}

func withCommon(attrs ...hcl.AttributeSchema) []hcl.AttributeSchema {
	return append(append([]hcl.AttributeSchema{}, objectAttrs...), attrs...)
}

var networkSchema = &hcl.BodySchema{
	Attributes: withCommon(
		hcl.AttributeSchema{Name: "remote"}, hcl.AttributeSchema{Name: "type"},
		hcl.AttributeSchema{Name: "config"}, hcl.AttributeSchema{Name: "adopt"},
	),
}

var profileSchema = &hcl.BodySchema{
	Attributes: withCommon(
		hcl.AttributeSchema{Name: "remote"}, hcl.AttributeSchema{Name: "config"}, hcl.AttributeSchema{Name: "adopt"},
	),
	Blocks: []hcl.BlockHeaderSchema{{Type: "device", LabelNames: []string{"name"}}},
}

var nodeSchema = &hcl.BodySchema{
	Attributes: withCommon(
		hcl.AttributeSchema{Name: "remote"}, hcl.AttributeSchema{Name: "image"}, hcl.AttributeSchema{Name: "type"},
		hcl.AttributeSchema{Name: "profiles"}, hcl.AttributeSchema{Name: "config"}, hcl.AttributeSchema{Name: "state"},
		hcl.AttributeSchema{Name: "target"}, hcl.AttributeSchema{Name: "adopt"},
	),
	Blocks: []hcl.BlockHeaderSchema{{Type: "device", LabelNames: []string{"name"}}},
}

var deviceSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "type", Required: true}, {Name: "properties"}},
}

var serviceSchema = &hcl.BodySchema{
	Attributes: withCommon(hcl.AttributeSchema{Name: "node"}, hcl.AttributeSchema{Name: "nodes"}),
	Blocks:     []hcl.BlockHeaderSchema{{Type: "port", LabelNames: []string{"name"}}},
}

var servicePortSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "listen", Required: true}, {Name: "target_port"}, {Name: "via"},
		{Name: "proxy_protocol"}, {Name: "protocol"}, {Name: "description"},
	},
}

var forwardSchema = &hcl.BodySchema{
	Attributes: withCommon(
		hcl.AttributeSchema{Name: "remote"}, hcl.AttributeSchema{Name: "network", Required: true},
		hcl.AttributeSchema{Name: "listen_address", Required: true}, hcl.AttributeSchema{Name: "target_address"},
		hcl.AttributeSchema{Name: "adopt"}, hcl.AttributeSchema{Name: "target"},
	),
	Blocks: []hcl.BlockHeaderSchema{{Type: "port"}},
}

var forwardPortSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "protocol"}, {Name: "listen_port", Required: true}, {Name: "target_address"},
		{Name: "target"}, {Name: "target_port"}, {Name: "description"},
	},
}

// kindSchemas maps an object block kind to its body schema and the schema of
// its nested blocks.
var kindSchemas = map[string]*hcl.BodySchema{
	kindLxnet: lxnetSchema, kindRemote: remoteSchema, kindNetwork: networkSchema,
	kindProfile: profileSchema, kindNode: nodeSchema, kindService: serviceSchema, kindForward: forwardSchema,
	kindACL: aclSchema,
}

func nestedSchema(kind, blockType string) *hcl.BodySchema {
	switch {
	case blockType == "device":
		return deviceSchema
	case kind == kindService && blockType == "port":
		return servicePortSchema
	case kind == kindForward && blockType == "port":
		return forwardPortSchema
	case kind == kindACL:
		return aclRuleSchema
	}
	return nil
}
