package lxd

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/canonical/lxd/shared/api"

	"github.com/lxnetd/lxnetd/engine"
)

// Network ACLs ("network_acl" API extension, in LXD 5.0 and Incus).

// ListACLs returns every network ACL of the project in one request.
func (r *Remote) ListACLs(ctx context.Context) ([]engine.ACL, error) {
	return listed("network ACLs", r.client(ctx).GetNetworkACLs, aclFromAPI, sortACLs)
}

// GetACL reads one network ACL (GET /1.0/network-acls/<name>).
func (r *Remote) GetACL(ctx context.Context, name string) (engine.ACL, error) {
	a, _, err := r.client(ctx).GetNetworkACL(name)
	if err != nil {
		return engine.ACL{}, fmt.Errorf("reading network ACL %q: %w", name, mapError(err))
	}
	return aclFromAPI(*a), nil
}

func aclFromAPI(a api.NetworkACL) engine.ACL {
	return engine.ACL{
		Name:        a.Name,
		Description: a.Description,
		Config:      nonNilMap(a.Config),
		Ingress:     rulesFromAPI(a.Ingress),
		Egress:      rulesFromAPI(a.Egress),
		UsedBy:      aclUsedBy(a.UsedBy),
		ETag:        aclETag(a.Writable()),
	}
}

func rulesFromAPI(rs []api.NetworkACLRule) []engine.ACLRule {
	return convertAll(rs, func(r api.NetworkACLRule) engine.ACLRule { return engine.ACLRule(r) })
}

// aclPut is the writable part of an ACL. A rule without a state gets
// "enabled": the API refuses an empty state (the lxc client fills it in).
func aclPut(a engine.ACL) api.NetworkACLPut {
	rule := func(r engine.ACLRule) api.NetworkACLRule {
		if r.State == "" {
			r.State = "enabled"
		}
		return api.NetworkACLRule(r)
	}
	return api.NetworkACLPut{Description: a.Description, Config: nonNilMap(a.Config),
		Ingress: convertAll(a.Ingress, rule), Egress: convertAll(a.Egress, rule)}
}

// aclETag hashes an ACL's writable state as listed (see etag.go).
func aclETag(put api.NetworkACLPut) string {
	ingress, egress := put.Ingress, put.Egress
	if ingress == nil {
		ingress = []api.NetworkACLRule{}
	}
	if egress == nil {
		egress = []api.NetworkACLRule{}
	}
	return etagOf([]any{"acl", put.Description, nonNilMap(put.Config), ingress, egress})
}

// aclUsedBy turns an ACL's used_by URLs into addresses: the networks among
// them as well as the instances and profiles usedBy reads.
func aclUsedBy(urls []string) []engine.Address {
	out := usedBy(urls)
	for _, s := range urls {
		if seg, ok := apiPath(s); ok && len(seg) == 2 && seg[0] == "networks" {
			out = append(out, engine.Address{Kind: engine.KindNetwork, Name: seg[1]})
		}
	}
	slices.SortFunc(out, func(a, b engine.Address) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// CreateACL creates an ACL with its rules in one request.
func (r *Remote) CreateACL(ctx context.Context, a engine.ACL) error {
	req := api.NetworkACLsPost{NetworkACLPost: api.NetworkACLPost{Name: a.Name}, NetworkACLPut: aclPut(a)}
	if err := r.client(ctx).CreateNetworkACL(req); err != nil {
		return fmt.Errorf("creating network ACL %q: %w", a.Name, mapError(err))
	}
	return nil
}

// UpdateACL replaces the ACL's description, config and rules (PUT),
// conditional on a.ETag like UpdateNetwork. Costs two requests.
func (r *Remote) UpdateACL(ctx context.Context, a engine.ACL) error {
	c := r.client(ctx)
	return updateIfUnchanged(fmt.Sprintf("network ACL %q", a.Name), a.Name, a.ETag, c.GetNetworkACL,
		func(cur *api.NetworkACL) string { return aclETag(cur.Writable()) }, c.UpdateNetworkACL, aclPut(a))
}

// DeleteACL deletes an ACL (LXD refuses while a network or NIC uses it).
func (r *Remote) DeleteACL(ctx context.Context, name string) error {
	if err := r.client(ctx).DeleteNetworkACL(name); err != nil {
		return fmt.Errorf("deleting network ACL %q: %w", name, mapError(err))
	}
	return nil
}
