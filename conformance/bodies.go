package conformance

import (
	"net/http"
	"slices"
	"strings"

	"github.com/scimd/scimd/scimclient"
)

// Request bodies shaped as Okta and Entra send them (see
// docs/conformance.md for the sources).

// OktaUser returns the body Okta's SCIM 2.0 client POSTs to create a user:
// the four basic attributes, plus displayName, locale, externalId (Okta's
// own id), an empty groups list, a placeholder password and active.
func OktaUser(userName, given, family, externalID string) map[string]any {
	return map[string]any{
		"schemas":     []string{scimclient.SchemaUser},
		"userName":    userName,
		"name":        map[string]any{"givenName": given, "familyName": family},
		"emails":      []any{map[string]any{"primary": true, "value": userName, "type": "work"}},
		"displayName": given + " " + family,
		"locale":      "en-US",
		"externalId":  externalID,
		"groups":      []any{},
		"password":    "Tq9v2mLa!" + externalID,
		"active":      true,
	}
}

// EntraUser returns the body Entra's provisioning service POSTs to create
// a user; with enterprise, it carries the enterprise extension.
func EntraUser(userName, externalID string, enterprise bool) map[string]any {
	local, _, _ := strings.Cut(userName, "@")
	u := map[string]any{
		"schemas":     []string{scimclient.SchemaUser},
		"externalId":  externalID,
		"userName":    userName,
		"active":      true,
		"displayName": local,
		"title":       nil,
		"emails":      []any{map[string]any{"primary": true, "type": "work", "value": userName}},
		"meta":        map[string]any{"resourceType": "User"},
		"name":        map[string]any{"formatted": local, "familyName": "Doe", "givenName": local},
		"roles":       []any{},
	}
	if enterprise {
		u["schemas"] = []string{scimclient.SchemaUser, scimclient.SchemaEnterpriseUser}
		u[scimclient.SchemaEnterpriseUser] = map[string]any{"department": "Sales"}
	}
	return u
}

// EntraGroupSchema is the non-standard schema URN Entra adds to groups.
const EntraGroupSchema = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"

// OktaGroup returns the body Okta POSTs to push a group.
func OktaGroup(displayName string) map[string]any {
	return map[string]any{
		"schemas":     []string{scimclient.SchemaGroup},
		"displayName": displayName,
		"members":     []any{},
	}
}

// EntraGroup returns the body Entra POSTs to create a group: its extra
// schema URN, externalId, meta and no members.
func EntraGroup(displayName, externalID string) map[string]any {
	return map[string]any{
		"schemas":     []string{scimclient.SchemaGroup, EntraGroupSchema},
		"externalId":  externalID,
		"displayName": displayName,
		"meta":        map[string]any{"resourceType": "Group"},
	}
}

// PatchBody returns a PatchOp message with the given operations, each sent
// exactly as given (op spelling, value types).
func PatchBody(ops ...map[string]any) map[string]any {
	if ops == nil {
		ops = []map[string]any{}
	}
	return map[string]any{"schemas": []string{scimclient.SchemaPatchOp}, "Operations": ops}
}

// Op returns one PATCH operation; an empty path or nil value is left out.
// Use json.RawMessage("null") for an explicit null value.
func Op(op, path string, value any) map[string]any {
	m := map[string]any{"op": op}
	if path != "" {
		m["path"] = path
	}
	if value != nil {
		m["value"] = value
	}
	return m
}

// memberValues returns the "value" of each element of a group's members.
func memberValues(g scimclient.Resource) []string {
	var out []string
	for _, m := range g.List("members") {
		out = append(out, m.String("value"))
	}
	slices.Sort(out)
	return out
}

// sameSet reports whether a and b hold the same strings, ignoring order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// newUsers creates n Okta-shaped users named from prefix and returns them.
func newUsers(t *T, n int, prefix string) []scimclient.Resource {
	out := make([]scimclient.Resource, n)
	for i := range out {
		name := t.UserName(prefix)
		out[i] = t.CreateUser(OktaUser(name, "Conf", "User", "ext-"+t.Unique("u")))
	}
	return out
}

// lookupUser runs Okta's existence check for userName and returns the page.
func lookupUser(t *T, userName string) *ListPage {
	return t.List(t.Do(http.MethodGet, "/Users"+Query("filter", `userName eq "`+userName+`"`, "startIndex", "1", "count", "100"), nil))
}

// filterUsers lists users matching filter (and any extra query pairs).
func filterUsers(t *T, filter string, extra ...string) *ListPage {
	q := append([]string{"filter", filter}, extra...)
	return t.List(t.Do(http.MethodGet, "/Users"+Query(q...), nil))
}

// oneOf returns a filter matching exactly the given users by userName.
func oneOf(users []scimclient.Resource) string {
	parts := make([]string, len(users))
	for i, u := range users {
		parts[i] = `userName eq "` + u.String("userName") + `"`
	}
	return strings.Join(parts, " or ")
}

// ids returns the ids of resources.
func ids(rs []scimclient.Resource) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID()
	}
	return out
}

// trackCreated tracks the resource in a 2xx response to a request that
// should not have created one (e.g. a duplicate the server accepted), so
// that it is still cleaned up.
func trackCreated(t *T, endpoint string, resp *scimclient.Response) {
	if resp.Status >= 200 && resp.Status < 300 && resp.JSON != nil {
		t.Track(endpoint, scimclient.Resource(resp.JSON).ID())
	}
}

// addMembers adds users to group g with Okta's PATCH shape.
func addMembers(t *T, gid string, users ...scimclient.Resource) {
	var vals []any
	for _, u := range users {
		vals = append(vals, map[string]any{"value": u.ID(), "display": u.String("userName")})
	}
	t.Patch("/Groups", gid, PatchBody(Op("add", "members", vals)))
}
