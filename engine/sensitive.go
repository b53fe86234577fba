package engine

import (
	"github.com/lxnetd/lxnetd/engine/spec"
	"github.com/lxnetd/lxnetd/internal/redact"
)

// Sensitive values reach the engine as marks on the desired objects
// (spec.Meta.Sensitive, spec.ForwardPort.Sensitive) and as the remote's
// secret strings (spec.Remote.Secrets). A plan flags the key diffs the
// marks name (KeyDiff.Sensitive: renderers print "(sensitive)" instead of
// both values, since a key that is sensitive now may hold an earlier secret
// in LXD), and carries a scrubber of the secret strings for what it cannot
// mark: the errors of its writes (LXD echoes a value it refuses), its
// problems, and any text a renderer builds from it.

// mark records that the diff keys in keys of this object are sensitive.
func (it *item[T]) mark(keys map[string]bool) {
	for k := range keys {
		if it.sensitive == nil {
			it.sensitive = map[string]bool{}
		}
		it.sensitive[k] = true
	}
}

// markPort records that a forward port's diff ("ports.tcp/80") is sensitive.
func (it *item[T]) markPort(p spec.ForwardPort) {
	if p.Sensitive {
		n := normalizePort(ForwardPort{Protocol: p.Protocol, ListenPort: p.ListenPort})
		it.mark(map[string]bool{"ports." + portKey{n.Protocol, n.ListenPort}.String(): true})
	}
}

// sensitiveKeys are the marked diff keys of the object at a.
func (d *desired) sensitiveKeys(a Address) map[string]bool {
	switch a.Kind {
	case KindNetwork:
		if it := d.networks[a.Name]; it != nil {
			return it.sensitive
		}
	case KindProfile:
		if it := d.profiles[a.Name]; it != nil {
			return it.sensitive
		}
	case KindNode:
		if it := d.instances[a.Name]; it != nil {
			return it.sensitive
		}
	case KindForward:
		if it := d.forwards[fwdKey{Network: a.Network, Listen: a.Name}]; it != nil {
			return it.sensitive
		}
	}
	return nil
}

// markSensitive flags the key diffs whose values derive from sensitive
// variables, and gives the plan the scrubber of the remote's secrets.
func markSensitive(p *Plan, d *desired, secrets []string) {
	p.Secrets = redact.New(secrets)
	for _, c := range p.Changes {
		keys := d.sensitiveKeys(c.Addr)
		for i := range c.Diffs {
			if keys[c.Diffs[i].Key] {
				c.Diffs[i].Sensitive = true
			}
		}
	}
}

// scrubProblems removes secrets from the text of plan problems (a name or
// address computed from a sensitive value).
func scrubProblems(ps []Problem, sc *redact.Scrubber) {
	for i := range ps {
		ps[i].Addr, ps[i].Summary, ps[i].Detail = sc.String(ps[i].Addr), sc.String(ps[i].Summary), sc.String(ps[i].Detail)
	}
}
