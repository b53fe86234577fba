package config

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
)

// The checks below mirror what LXD itself would reject, so a mistake is
// reported by validate, with a position, rather than by LXD halfway through
// an apply.

var (
	interfaceNameRE = regexp.MustCompile(`^[-_a-zA-Z0-9.]+$`)
	hostnameRE      = regexp.MustCompile(`^[-a-zA-Z0-9]+$`)
	deviceNameRE    = regexp.MustCompile(`^[/.\-:_a-zA-Z0-9]+$`)
	fingerprintRE   = regexp.MustCompile(`^sha256:[0-9a-fA-F]{64}$`)
	ownerRE         = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
)

// networkNameProblem: LXD network names are kernel interface names for
// bridges: 2 to 15 characters of letters, digits, "-", "_" and ".".
func networkNameProblem(name string) string {
	switch {
	case len(name) < 2:
		return "is too short (LXD needs at least 2 characters)"
	case len(name) > 15:
		return fmt.Sprintf("is %d characters long; LXD network names become kernel interface names, which have at most 15", len(name))
	case !interfaceNameRE.MatchString(name):
		return "may contain only letters, digits, \"-\", \"_\" and \".\""
	}
	return ""
}

// instanceNameProblem: LXD instance names are hostnames.
func instanceNameProblem(name string) string {
	const why = " (it becomes the instance's hostname)"
	if p := hostnameProblem(name, why, why); p != "" {
		return p
	}
	if _, err := strconv.ParseUint(name, 10, 64); err == nil {
		return "must not be a number"
	}
	return ""
}

// hostnameProblem checks a name LXD wants to be a hostname; the problem
// of its length ends with lengthWhy, that of its characters with charsWhy.
func hostnameProblem(name, lengthWhy, charsWhy string) string {
	switch {
	case len(name) < 1 || len(name) > 63:
		return "must be 1 to 63 characters long" + lengthWhy
	case strings.HasPrefix(name, "-") || strings.HasSuffix(name, "-"):
		return "must not start or end with \"-\""
	case !hostnameRE.MatchString(name):
		return "may contain only letters, digits and \"-\"" + charsWhy
	}
	return ""
}

func profileNameProblem(name string) string {
	switch {
	case name == "":
		return "must not be empty"
	case strings.Contains(name, "/"):
		return "must not contain \"/\""
	case name == "." || name == "..":
		return "must not be \".\" or \"..\""
	case strings.ContainsAny(name, " \t\n"):
		return "must not contain spaces"
	}
	return ""
}

func deviceNameProblem(name string) string {
	switch {
	case len(name) < 1 || len(name) > 63:
		return "must be 1 to 63 characters long"
	case strings.HasPrefix(name, "."):
		return "must not start with \".\""
	case !deviceNameRE.MatchString(name):
		return "may contain only letters, digits, \"/\", \"-\", \":\", \"_\" and \".\""
	}
	return ""
}

var (
	networkTypes  = []string{"bridge", "macvlan", "sriov", "physical", "ovn"}
	instanceTypes = []string{"container", "virtual-machine"}
	instanceState = []string{"running", "stopped"}
	deviceTypes   = []string{"nic", "disk", "proxy", "unix-char", "unix-block", "unix-hotplug", "usb", "gpu", "infiniband", "pci", "tpm", "none"}
	protocols     = []string{"tcp", "udp"}
	vias          = []string{"forward", "proxy", "nat"}
)

func oneOf(s string, set []string) bool {
	for _, x := range set {
		if s == x {
			return true
		}
	}
	return false
}

// list quotes names for a message: "a", "b" or "c".
func list(set []string) string { return joinQuoted(set, "or") }

// listAll quotes names for a message: "a", "b" and "c".
func listAll(set []string) string { return joinQuoted(set, "and") }

func joinQuoted(set []string, conj string) string {
	q := make([]string, len(set))
	for i, s := range set {
		q[i] = quoted(s)
	}
	if len(q) == 1 {
		return q[0]
	}
	return strings.Join(q[:len(q)-1], ", ") + " " + conj + " " + q[len(q)-1]
}

// portRange is an inclusive range of ports.
type portRange struct{ lo, hi int }

func (r portRange) String() string {
	if r.lo == r.hi {
		return strconv.Itoa(r.lo)
	}
	return fmt.Sprintf("%d-%d", r.lo, r.hi)
}

// parsePorts parses a port specification as LXD forwards and proxies accept
// it: "80", "80,443", "8000-8010" or combinations.
func parsePorts(s string) ([]portRange, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("no port given")
	}
	var out []portRange
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := parsePort(lo)
		if err != nil {
			return nil, err
		}
		b := a
		if isRange {
			if b, err = parsePort(hi); err != nil {
				return nil, err
			}
			if b < a {
				return nil, fmt.Errorf("the range %q runs backwards", part)
			}
		}
		out = append(out, portRange{a, b})
	}
	return out, nil
}

// parseListenPorts is parsePorts for the ports a listener takes: each port
// once (a target port may repeat, listen ports cannot).
func parseListenPorts(s string) ([]portRange, error) {
	rs, err := parsePorts(s)
	if err != nil {
		return nil, err
	}
	for i, a := range rs {
		for _, b := range rs[:i] {
			if a.lo <= b.hi && b.lo <= a.hi {
				return nil, fmt.Errorf("port %d is listed twice", max(a.lo, b.lo))
			}
		}
	}
	return rs, nil
}

func parsePort(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a port number", s)
	}
	if n < 1 || n > 65535 {
		return 0, fmt.Errorf("port %d is out of range (1-65535)", n)
	}
	return n, nil
}

func portCount(rs []portRange) int {
	n := 0
	for _, r := range rs {
		n += r.hi - r.lo + 1
	}
	return n
}

// parseListen splits a service listen string "address:port" ("[::1]:80"
// for IPv6).
func parseListen(s string) (netip.Addr, []portRange, string) {
	i := strings.LastIndex(s, ":")
	if i < 0 {
		return netip.Addr{}, nil, "must be \"address:port\", e.g. \"203.0.113.10:80\" (use 0.0.0.0 for every address with via = \"proxy\")"
	}
	host, port := s[:i], s[i+1:]
	if proto, rest, ok := strings.Cut(host, ":"); ok && (proto == "tcp" || proto == "udp") {
		// A proxy device's "tcp:ADDR:PORT" spelling.
		return netip.Addr{}, nil, fmt.Sprintf("starts with a protocol; write %q and protocol = %q", rest+":"+port, proto)
	}
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	} else if strings.Contains(host, ":") {
		return netip.Addr{}, nil, "has an IPv6 address without brackets; write it as \"[2001:db8::1]:80\""
	}
	if host == "" {
		return netip.Addr{}, nil, "has no address; write \"0.0.0.0:" + port + "\" to listen on every address (via = \"proxy\" only) or name the host address"
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || addr.Zone() != "" {
		return netip.Addr{}, nil, fmt.Sprintf("has %q where an IP address belongs (host names are not resolved)", host)
	}
	ports, err := parseListenPorts(port)
	if err != nil {
		return netip.Addr{}, nil, "has an invalid port: " + err.Error()
	}
	return addr, ports, ""
}

// proxyAddressProblem checks the shape of a proxy device listen/connect
// value: "tcp:ADDR:PORT", "udp:ADDR:PORT" or "unix:PATH".
func proxyAddressProblem(s string) string {
	proto, rest, ok := strings.Cut(s, ":")
	if !ok {
		return "must look like \"tcp:ADDRESS:PORT\", \"udp:ADDRESS:PORT\" or \"unix:PATH\""
	}
	switch proto {
	case "unix":
		if rest == "" {
			return "needs a socket path after \"unix:\""
		}
		return ""
	case "tcp", "udp":
	default:
		return "must start with its protocol: \"tcp:ADDRESS:PORT\", \"udp:ADDRESS:PORT\" or \"unix:PATH\""
	}
	i := strings.LastIndex(rest, ":")
	if i < 0 {
		return fmt.Sprintf("needs a port: %s:ADDRESS:PORT", proto)
	}
	host := strings.TrimSuffix(strings.TrimPrefix(rest[:i], "["), "]")
	if _, err := netip.ParseAddr(host); err != nil {
		return fmt.Sprintf("has %q where an IP address belongs", host)
	}
	if _, err := parsePorts(rest[i+1:]); err != nil {
		return "has an invalid port: " + err.Error()
	}
	return ""
}

// cidrProblem checks a network ipv4.address / ipv6.address: "auto", "none"
// or the gateway address with prefix length ("10.231.5.1/24").
func cidrProblem(value string, v6 bool) string {
	if value == "auto" || value == "none" || value == "" {
		return ""
	}
	p, err := netip.ParsePrefix(value)
	if err != nil {
		return "must be \"auto\", \"none\" or an address with prefix length such as \"10.231.5.1/24\""
	}
	if p.Addr().Is6() != v6 {
		if v6 {
			return "must be an IPv6 address with prefix length"
		}
		return "must be an IPv4 address with prefix length"
	}
	if p.Addr() == p.Masked().Addr() && p.Bits() < p.Addr().BitLen()-1 {
		return fmt.Sprintf("is the network address; LXD wants the bridge's own address, e.g. %q", p.Addr().Next().String()+"/"+strconv.Itoa(p.Bits()))
	}
	return ""
}

// boolProblem checks an LXD boolean config value.
func boolProblem(value string) string {
	switch strings.ToLower(value) {
	case "true", "false", "1", "0", "yes", "no", "on", "off", "":
		return ""
	}
	return "must be true or false"
}

// fingerprint normalizes an accepted pin to "sha256:<lowercase hex>".
func fingerprint(s string) (string, bool) {
	t := strings.ReplaceAll(s, ":", "")
	if strings.HasPrefix(strings.ToLower(s), "sha256:") {
		t = strings.ReplaceAll(s[len("sha256:"):], ":", "")
	}
	norm := "sha256:" + strings.ToLower(t)
	return norm, fingerprintRE.MatchString(norm) && strings.HasPrefix(strings.ToLower(s), "sha256:")
}
