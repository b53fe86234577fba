package export

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/lxnetd/lxnetd/engine"
	"github.com/lxnetd/lxnetd/engine/spec"
)

// Set is what `lxnetd export` found on one remote, as the engine reads
// LXD, to be written as configuration blocks with adopt = true. The caller
// chooses the objects; Export decides only how they are written.
type Set struct {
	// Remote is the remote's name in the configuration.
	Remote string
	// RemoteAttr makes every block say remote = remote.NAME: needed when the
	// configuration declares remote blocks (it may declare several).
	RemoteAttr bool
	// RemoteBlock, when set, is written first as a remote block (an export
	// from an address given on the command line), so the output is complete.
	RemoteBlock *spec.Remote

	Networks  []engine.Network
	Profiles  []engine.Profile
	Instances []engine.Instance
	Forwards  []engine.Forward
	ACLs      []engine.ACL
}

// ConfigKey reports whether an LXD config key of an existing object
// belongs in exported configuration. Keys LXD fills in itself are left out:
// volatile.* state, image.* (copied from the image at creation), and
// lxnetd's own user.lxnetd.* ownership tags. Everything else is the
// operator's and is written verbatim.
func ConfigKey(kind, key string) bool {
	switch {
	case strings.HasPrefix(key, "volatile."), strings.HasPrefix(key, engine.TagPrefix):
		return false
	case kind == "node" && strings.HasPrefix(key, "image."):
		return false
	}
	return true
}

// Render renders the sets as one canonical HCL file. Block labels are the
// LXD names where those are valid identifiers (otherwise a cleaned label
// plus name = "..."), made unique across remotes; references replace names
// where the referred object is exported too (a nic's network, a node's
// profiles, a forward's network and targets that are a node's static
// address), so the file reads like hand-written configuration.
func Render(sets []Set) []byte {
	f := hclwrite.NewEmptyFile()
	root := f.Body()
	ex := exporter{labels: map[string]map[string]bool{}}
	first := true
	sep := func() {
		if !first {
			root.AppendNewline()
		}
		first = false
	}
	for _, s := range sets {
		if s.RemoteBlock != nil {
			sep()
			ex.remote(root, s.RemoteBlock)
		}
	}
	for _, s := range sets {
		sc := ex.scope(s)
		appendSorted(root, sep, s.ACLs, func(a engine.ACL) string { return a.Name }, sc.acl)
		appendSorted(root, sep, s.Networks, func(n engine.Network) string { return n.Name }, sc.network)
		appendSorted(root, sep, s.Profiles, func(p engine.Profile) string { return p.Name }, sc.profile)
		appendSorted(root, sep, s.Instances, func(i engine.Instance) string { return i.Name }, sc.instance)
		appendSorted(root, sep, s.Forwards, func(f engine.Forward) string { return f.Network + "/" + f.ListenAddress }, sc.forward)
	}
	out := hclwrite.Format(f.Bytes())
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	return out
}

// appendSorted appends the block of every item to root (block writes
// it), in key order, each after sep.
func appendSorted[T any](root *hclwrite.Body, sep func(), items []T, key func(T) string, block func(*hclwrite.Body, T)) {
	for _, x := range sortedBy(items, key) {
		sep()
		block(root, x)
	}
}

func sortedBy[T any](items []T, key func(T) string) []T {
	out := slices.Clone(items)
	slices.SortStableFunc(out, func(a, b T) int { return strings.Compare(key(a), key(b)) })
	return out
}

// exporter hands out block labels, unique per kind across every remote.
type exporter struct {
	labels map[string]map[string]bool // kind -> labels in use
}

// label returns a unique block label for an LXD name.
func (ex *exporter) label(kind, name, remote string) string {
	used := ex.labels[kind]
	if used == nil {
		used = map[string]bool{}
		ex.labels[kind] = used
	}
	base := identifier(name)
	l := base
	if used[l] {
		l = identifier(base + "-" + remote)
	}
	for i := 2; used[l]; i++ {
		l = fmt.Sprintf("%s-%s-%d", base, remote, i)
	}
	used[l] = true
	return l
}

// identifier turns an LXD name into a valid HCL identifier: letters, digits,
// "_" and "-", not starting with a digit or dash.
func identifier(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r < 128 && (r == '_' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if s == "" || !hclsyntax.ValidIdentifier(s) {
		s = "_" + s
	}
	return s
}

func (ex *exporter) remote(body *hclwrite.Body, r *spec.Remote) {
	b := body.AppendNewBlock("remote", []string{identifier(r.Name)}).Body()
	setString(b, "address", r.Address)
	if r.Project != "" && r.Project != "default" {
		setString(b, "project", r.Project)
	}
	setString(b, "client_cert", r.ClientCert)
	setString(b, "client_key", r.ClientKey)
	setString(b, "server_fingerprint", r.ServerFingerprint)
}

// scope is one remote's set with the labels of its exported objects, for
// references between them.
type scope struct {
	ex       *exporter
	set      Set
	networks map[string]string // LXD name -> label
	profiles map[string]string
	nodes    map[string]string
	acls     map[string]string
	// static maps "network/address" to the label of the node whose static
	// address it is (as config defines it: the first nic, in device order,
	// with an ipv4.address).
	static map[string]string
}

func (ex *exporter) scope(s Set) *scope {
	sc := &scope{ex: ex, set: s, networks: map[string]string{}, profiles: map[string]string{}, nodes: map[string]string{}, static: map[string]string{}, acls: map[string]string{}}
	for _, a := range sortedBy(s.ACLs, func(a engine.ACL) string { return a.Name }) {
		sc.acls[a.Name] = ex.label("acl", a.Name, s.Remote)
	}
	for _, n := range sortedBy(s.Networks, func(n engine.Network) string { return n.Name }) {
		sc.networks[n.Name] = ex.label("network", n.Name, s.Remote)
	}
	for _, p := range sortedBy(s.Profiles, func(p engine.Profile) string { return p.Name }) {
		sc.profiles[p.Name] = ex.label("profile", p.Name, s.Remote)
	}
	for _, i := range sortedBy(s.Instances, func(i engine.Instance) string { return i.Name }) {
		l := ex.label("node", i.Name, s.Remote)
		sc.nodes[i.Name] = l
		for _, dev := range slices.Sorted(maps.Keys(i.Devices)) {
			d := i.Devices[dev]
			if d["type"] == "nic" && d["ipv4.address"] != "" {
				if d["network"] != "" {
					sc.static[d["network"]+"/"+d["ipv4.address"]] = l
				}
				break
			}
		}
	}
	return sc
}

// header starts a block: its label, name when the label differs, remote,
// adopt and description.
func (sc *scope) header(body *hclwrite.Body, kind, label, name, description string) *hclwrite.Body {
	b := body.AppendNewBlock(kind, []string{label}).Body()
	if label != name {
		setString(b, "name", name)
	}
	if sc.set.RemoteAttr {
		b.SetAttributeTraversal("remote", traversal("remote", identifier(sc.set.Remote)))
	}
	b.SetAttributeValue("adopt", cty.True)
	setString(b, "description", description)
	return b
}

func (sc *scope) network(body *hclwrite.Body, n engine.Network) {
	b := sc.header(body, "network", sc.networks[n.Name], n.Name, n.Description)
	setString(b, "type", n.Type)
	sc.networkConfig(b, n.Config)
}

func (sc *scope) profile(body *hclwrite.Body, p engine.Profile) {
	b := sc.header(body, "profile", sc.profiles[p.Name], p.Name, p.Description)
	setConfig(b, "profile", p.Config)
	sc.devices(b, p.Devices)
}

func (sc *scope) instance(body *hclwrite.Body, i engine.Instance) {
	b := sc.header(body, "node", sc.nodes[i.Name], i.Name, i.Description)
	// The image the instance was made from, by fingerprint: used only if
	// lxnetd ever has to create the node again.
	setString(b, "image", i.Config["volatile.base_image"])
	if i.Type != "" && i.Type != "container" {
		setString(b, "type", i.Type)
	}
	if !slices.Equal(i.Profiles, []string{"default"}) {
		elems := make([]hclwrite.Tokens, 0, len(i.Profiles))
		for _, p := range i.Profiles {
			if l, ok := sc.profiles[p]; ok {
				elems = append(elems, hclwrite.TokensForTraversal(traversal("profile", l, "name")))
			} else {
				elems = append(elems, hclwrite.TokensForValue(cty.StringVal(p)))
			}
		}
		b.SetAttributeRaw("profiles", hclwrite.TokensForTuple(elems))
	}
	if i.Status == "Stopped" {
		setString(b, "state", "stopped")
	}
	setConfig(b, "node", i.Config)
	sc.devices(b, i.Devices)
}

func (sc *scope) devices(body *hclwrite.Body, devs map[string]map[string]string) {
	for _, name := range slices.Sorted(maps.Keys(devs)) {
		d := devs[name]
		body.AppendNewline()
		b := body.AppendNewBlock("device", []string{name}).Body()
		setString(b, "type", d["type"])
		var attrs []hclwrite.ObjectAttrTokens
		for _, k := range slices.Sorted(maps.Keys(d)) {
			if k == "type" {
				continue
			}
			v := hclwrite.TokensForValue(cty.StringVal(d[k]))
			if l, ok := sc.networks[d[k]]; ok && d["type"] == "nic" && k == "network" {
				v = hclwrite.TokensForTraversal(traversal("network", l, "name"))
			}
			if d["type"] == "nic" && k == engine.ACLsKey {
				v = sc.aclRefs(d[k])
			}
			attrs = append(attrs, hclwrite.ObjectAttrTokens{Name: keyTokens(k), Value: v})
		}
		if len(attrs) > 0 {
			b.SetAttributeRaw("properties", hclwrite.TokensForObject(attrs))
		}
	}
}

func (sc *scope) forward(body *hclwrite.Body, f engine.Forward) {
	label := sc.ex.label("forward", f.Network+"-"+f.ListenAddress, sc.set.Remote)
	b := body.AppendNewBlock("forward", []string{label}).Body()
	netLabel, exported := sc.networks[f.Network]
	if exported {
		b.SetAttributeTraversal("network", traversal("network", netLabel))
	} else {
		setString(b, "network", f.Network)
		if sc.set.RemoteAttr {
			b.SetAttributeTraversal("remote", traversal("remote", identifier(sc.set.Remote)))
		}
	}
	b.SetAttributeValue("adopt", cty.True)
	setString(b, "description", f.Description)
	setString(b, "listen_address", f.ListenAddress)
	setString(b, "target", f.Location) // its cluster member: forwards are per member
	setString(b, "target_address", f.Config["target_address"])
	for _, p := range f.Ports {
		b.AppendNewline()
		pb := b.AppendNewBlock("port", nil).Body()
		if p.Protocol != "" && p.Protocol != "tcp" {
			setString(pb, "protocol", p.Protocol)
		}
		setString(pb, "listen_port", p.ListenPort)
		if node, ok := sc.static[f.Network+"/"+p.TargetAddress]; ok {
			pb.SetAttributeTraversal("target", traversal("node", node))
		} else {
			setString(pb, "target_address", p.TargetAddress)
		}
		setString(pb, "target_port", p.TargetPort)
		setString(pb, "description", p.Description)
	}
}

// setConfig writes config = { ... } with the exported keys, if any.
func setConfig(body *hclwrite.Body, kind string, cfg map[string]string) {
	var attrs []hclwrite.ObjectAttrTokens
	for _, k := range slices.Sorted(maps.Keys(cfg)) {
		if ConfigKey(kind, k) {
			attrs = append(attrs, hclwrite.ObjectAttrTokens{Name: keyTokens(k), Value: hclwrite.TokensForValue(cty.StringVal(cfg[k]))})
		}
	}
	if len(attrs) > 0 {
		body.SetAttributeRaw("config", hclwrite.TokensForObject(attrs))
	}
}

// keyTokens writes an object key bare when it is an identifier, quoted
// otherwise ("ipv4.address").
func keyTokens(k string) hclwrite.Tokens {
	if hclsyntax.ValidIdentifier(k) {
		return hclwrite.TokensForIdentifier(k)
	}
	return hclwrite.TokensForValue(cty.StringVal(k))
}

func setString(body *hclwrite.Body, name, value string) {
	if value != "" {
		body.SetAttributeValue(name, cty.StringVal(value))
	}
}

func traversal(root string, attrs ...string) hcl.Traversal {
	t := hcl.Traversal{hcl.TraverseRoot{Name: root}}
	for _, a := range attrs {
		t = append(t, hcl.TraverseAttr{Name: a})
	}
	return t
}
