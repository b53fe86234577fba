package spec

// ACL is an LXD network ACL: named rule sets that networks and NICs attach
// through their security.acls key. Rules are a set (LXD applies them
// without order); two rules are the same rule when every field is equal.
type ACL struct {
	Meta
	Name        string
	Description string
	Config      map[string]string // only user.* keys are accepted by LXD
	Ingress     []ACLRule
	Egress      []ACLRule
}

// ACLRule is one rule of an ACL, with LXD's rule keys verbatim.
type ACLRule struct {
	Pos             Pos
	Action          string // allow, reject or drop
	Source          string
	Destination     string
	Protocol        string // "", tcp, udp, icmp4 or icmp6
	SourcePort      string
	DestinationPort string
	ICMPType        string
	ICMPCode        string
	Description     string
	State           string // enabled (default), disabled or logged
}

// DefaultACLRuleState is the state LXD gives a rule that sets none.
const DefaultACLRuleState = "enabled"
