package conformance

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Features a server may advertise, named as Check.Requires uses them. The
// first six are the "supported" flags of /ServiceProviderConfig (RFC 7643
// §5); FeatureGroups and FeatureEnterprise come from /ResourceTypes (a Group
// resource type, and the enterprise extension on User).
const (
	FeaturePatch          = "patch"
	FeatureBulk           = "bulk"
	FeatureFilter         = "filter"
	FeatureChangePassword = "changePassword"
	FeatureSort           = "sort"
	FeatureETag           = "etag"
	FeatureGroups         = "groups"
	FeatureEnterprise     = "enterprise"
)

// Check groups.
const (
	GroupDiscovery = "discovery"
	GroupOkta      = "okta"
	GroupEntra     = "entra"
	GroupRFC       = "rfc"
)

// Rule sources, used as the start of Check.Rule.
const (
	srcOkta      = "Okta SCIM 2.0 guide"
	srcEntra     = "Entra provisioning tutorial"
	srcEntraKI   = "Entra SCIM known issues (aadOptscim062020)"
	rfc7643      = "RFC 7643"
	rfc7644      = "RFC 7644"
	ruleErrorFmt = "RFC 7644 §3.12 (error response: schemas has the Error URN, status is the HTTP status as a string)"
	ruleList     = "RFC 7644 §3.4.2 (ListResponse: schemas, integer totalResults/startIndex/itemsPerPage, Resources)"
)

// Check is one conformance check.
type Check struct {
	// ID is unique and stable, "group.name", e.g. "okta.lookup".
	ID string
	// Group is one of the Group* constants.
	Group string
	// Title says in a few words what the check verifies.
	Title string
	// Rule is the requirement checked and its source, e.g.
	// "RFC 7644 §3.4.2.2: …", "Okta SCIM 2.0 guide: …".
	Rule string
	// Requires lists the features (Feature* constants) the server must
	// advertise for the check to run; otherwise it is skipped.
	Requires []string
	// Run performs the check. It reports problems through t and may stop
	// early with t.Fatalf or t.Skip.
	Run func(ctx context.Context, t *T)
}

// Checks returns every check of the kit in run order: discovery, okta,
// entra, rfc.
func Checks() []Check {
	var all []Check
	all = append(all, discoveryChecks()...)
	all = append(all, oktaChecks()...)
	all = append(all, entraChecks()...)
	all = append(all, rfcChecks()...)
	return all
}

// Select returns the checks of all matching only (IDs or group names; empty
// means every check) and not matching skip. It reports an error for a name
// that matches no check or group, so typos do not silently select nothing.
func Select(all []Check, only, skip []string) ([]Check, error) {
	known := func(name string) bool {
		for _, c := range all {
			if c.ID == name || c.Group == name {
				return true
			}
		}
		return false
	}
	for _, n := range slices.Concat(only, skip) {
		if !known(n) {
			return nil, fmt.Errorf("no check or group named %q", n)
		}
	}
	match := func(c Check, names []string) bool {
		return slices.Contains(names, c.ID) || slices.Contains(names, c.Group)
	}
	var out []Check
	for _, c := range all {
		if len(only) > 0 && !match(c, only) {
			continue
		}
		if match(c, skip) {
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

// SplitList splits a comma-separated flag value such as "okta,rfc.sort",
// dropping empty elements and surrounding spaces.
func SplitList(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
