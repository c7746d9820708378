package conformance

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/scimd/scimd/scimclient"
)

func oktaChecks() []Check {
	g := GroupOkta
	return []Check{
		{ID: "okta.test-connection", Group: g, Title: "the connection test lists users (and groups) with startIndex and count",
			Rule: srcOkta + ": GET /Users?startIndex=1&count=2 (and /Groups?startIndex=1&count=100) answer 200 with a ListResponse",
			Run:  oktaTestConnection},
		{ID: "okta.create-user", Group: g, Title: "POST /Users answers 201 with the full user and its id",
			Rule: srcOkta + ": create returns 201 and the resource with a server-assigned id (an empty body fails the task)",
			Run:  oktaCreateUser},
		{ID: "okta.basic-attributes", Group: g, Title: "userName, givenName, familyName and the primary email are stored",
			Rule: srcOkta + ": the four basic attributes (userName, name.givenName, name.familyName, emails) are stored as sent",
			Run:  oktaBasicAttributes},
		{ID: "okta.unique-id", Group: g, Title: "each user gets its own stable server-assigned id",
			Rule: srcOkta + " and RFC 7643 §3.1: id is assigned by the server, unique and stable",
			Run:  oktaUniqueID},
		{ID: "okta.active", Group: g, Title: "active is stored and returned as a JSON boolean",
			Rule: srcOkta + " and RFC 7643 §4.1.1: active is a boolean Okta reads back",
			Run:  oktaActive},
		{ID: "okta.lookup", Group: g, Title: "userName eq lookup with startIndex=1&count=100 finds exactly the user",
			Rule: srcOkta + ": GET /Users?filter=userName eq \"…\"&startIndex=1&count=100 answers 200 with a ListResponse of 0 or 1 users",
			Run:  oktaLookup},
		{ID: "okta.lookup-case-insensitive", Group: g, Title: "userName lookup ignores letter case",
			Rule: srcOkta + " and RFC 7643 §4.1.1: userName is caseExact false, so eq matches regardless of case",
			Run:  oktaLookupCase},
		{ID: "okta.paging-integers", Group: g, Title: "totalResults, startIndex and itemsPerPage are JSON integers",
			Rule: srcOkta + " and RFC 7644 §3.4.2: the paging members of a ListResponse are integers, not strings",
			Run:  oktaPagingIntegers},
		{ID: "okta.duplicate", Group: g, Title: "creating an existing userName answers 409 with a SCIM error",
			Rule: srcOkta + " and RFC 7644 §3.3: a duplicate userName is 409 with scimType uniqueness",
			Run:  oktaDuplicate},
		{ID: "okta.duplicate-case", Group: g, Title: "userName uniqueness ignores letter case",
			Rule: srcOkta + " and RFC 7643 §4.1.1: userName is unique case-insensitively, so a case variant is 409",
			Run:  oktaDuplicateCase},
		{ID: "okta.not-found", Group: g, Title: "an unknown id answers 404 with a SCIM error",
			Rule: srcOkta + " and RFC 7644 §3.12: GET of a missing resource is 404 with an Error body",
			Run:  oktaNotFound},
		{ID: "okta.auth-required", Group: g, Title: "requests without or with wrong credentials answer 401 with a SCIM error",
			Rule: srcOkta + " and RFC 7644 §3.12, §7: missing or invalid credentials are 401 with an Error body",
			Run:  oktaAuthRequired},
		{ID: "okta.deactivate", Group: g, Title: "PATCH replace {\"active\":false} deactivates",
			Rule:     srcOkta + ": deactivation is PATCH {\"op\":\"replace\",\"value\":{\"active\":false}}, answered 200 or 204",
			Requires: []string{FeaturePatch}, Run: oktaDeactivate},
		{ID: "okta.deactivated-visible", Group: g, Title: "a deactivated user is still returned by GET and by the lookup",
			Rule: srcOkta + ": deactivated users stay readable and findable (Okta never deletes users)",
			Run:  oktaDeactivatedVisible},
		{ID: "okta.reactivate", Group: g, Title: "PATCH replace {\"active\":true} reactivates",
			Rule:     srcOkta + ": reactivation is PATCH {\"op\":\"replace\",\"value\":{\"active\":true}}",
			Requires: []string{FeaturePatch}, Run: oktaReactivate},
		{ID: "okta.put-roundtrip", Group: g, Title: "PUT of what GET returned, edited, updates the user",
			Rule: srcOkta + ": profile updates are GET then PUT of the returned resource, which may still carry id, meta, groups and password",
			Run:  oktaPutRoundtrip},
		{ID: "okta.put-deactivate", Group: g, Title: "PUT with active false deactivates (App Integration Wizard apps)",
			Rule: srcOkta + ": AIW integrations deactivate and reactivate with PUT of the full user",
			Run:  oktaPutDeactivate},
		{ID: "okta.group-create", Group: g, Title: "POST /Groups answers 201 with the group and its id",
			Rule:     srcOkta + ": group push creates the group with {displayName, members:[]} and expects 201 with the group",
			Requires: []string{FeatureGroups}, Run: oktaGroupCreate},
		{ID: "okta.group-lookup", Group: g, Title: "displayName eq lookup finds the group",
			Rule:     srcOkta + ": GET /Groups?filter=displayName eq \"…\"&startIndex=1&count=100 answers a ListResponse with the group",
			Requires: []string{FeatureGroups}, Run: oktaGroupLookup},
		{ID: "okta.group-rename", Group: g, Title: "PATCH replace {id, displayName} renames the group",
			Rule:     srcOkta + ": rename is a no-path replace whose value also carries the group's own id",
			Requires: []string{FeatureGroups, FeaturePatch}, Run: oktaGroupRename},
		{ID: "okta.group-members-add", Group: g, Title: "PATCH add members [{value, display}] adds members that GET shows",
			Rule:     srcOkta + ": membership add is {\"op\":\"add\",\"path\":\"members\",\"value\":[{\"value\",\"display\"}]} without type",
			Requires: []string{FeatureGroups, FeaturePatch}, Run: oktaMembersAdd},
		{ID: "okta.group-members-remove", Group: g, Title: "PATCH remove members[value eq \"…\"] removes only that member",
			Rule:     srcOkta + ": membership removal is {\"op\":\"remove\",\"path\":\"members[value eq \\\"id\\\"]\"}, often with an add in the same request",
			Requires: []string{FeatureGroups, FeaturePatch}, Run: oktaMembersRemove},
		{ID: "okta.group-members-replace", Group: g, Title: "PATCH replace members sets the full member list",
			Rule:     srcOkta + " and RFC 7644 §3.5.2.3: a full push is replace with path members and the complete list",
			Requires: []string{FeatureGroups, FeaturePatch}, Run: oktaMembersReplace},
	}
}

func oktaTestConnection(ctx context.Context, t *T) {
	p := t.List(t.Do(http.MethodGet, "/Users?startIndex=1&count=2", nil))
	if len(p.Resources) > 2 {
		t.Errorf(p.Response, "count=2 returned %d resources", len(p.Resources))
	}
	if t.Has(FeatureGroups) {
		t.List(t.Do(http.MethodGet, "/Groups?startIndex=1&count=100", nil))
	}
}

func oktaCreateUser(ctx context.Context, t *T) {
	name := t.UserName("Ana.Silva")
	resp := t.Do(http.MethodPost, "/Users", OktaUser(name, "Ana", "Silva", "00u"+t.RunID()))
	trackCreated(t, "/Users", resp)
	if !t.ExpectStatus(resp, http.StatusCreated) {
		return
	}
	if resp.JSON == nil {
		t.Fatalf(resp, "201 response has no JSON body (Okta: \"Create new user returned empty user\")")
	}
	u := scimclient.Resource(resp.JSON)
	if u.ID() == "" {
		t.Errorf(resp, "created user has no id")
	}
	if got := u.String("userName"); got != name {
		t.Errorf(resp, "userName %q, want %q", got, name)
	}
}

func oktaBasicAttributes(ctx context.Context, t *T) {
	name := t.UserName("Ana.Silva")
	u := t.CreateUser(OktaUser(name, "Ana", "Silva", "00u"+t.RunID()))
	got, resp := t.GetUser(u.ID())
	for path, want := range map[string]string{"userName": name, "name.givenName": "Ana", "name.familyName": "Silva"} {
		if v := got.String(path); v != want {
			t.Errorf(resp, "%s is %q, want %q", path, v, want)
		}
	}
	emails := got.List("emails")
	if len(emails) != 1 || emails[0].String("value") != name {
		t.Errorf(resp, "emails %v, want one with value %q", got["emails"], name)
	} else if b, _ := emails[0].Bool("primary"); !b {
		t.Errorf(resp, "emails[0].primary is not true")
	}
}

func oktaUniqueID(ctx context.Context, t *T) {
	u1 := t.CreateUser(OktaUser(t.UserName("first"), "A", "One", "00uA"+t.RunID()))
	u2 := t.CreateUser(OktaUser(t.UserName("second"), "B", "Two", "00uB"+t.RunID()))
	if u1.ID() == u2.ID() {
		t.Errorf(nil, "two users got the same id %q", u1.ID())
	}
	for _, u := range []scimclient.Resource{u1, u2} {
		if u.ID() == u.ExternalID() || u.ID() == u.String("userName") {
			t.Errorf(nil, "id %q is the client's externalId or userName, not server-assigned", u.ID())
		}
		got, resp := t.GetUser(u.ID())
		if got.ID() != u.ID() || got.String("userName") != u.String("userName") {
			t.Errorf(resp, "GET /Users/%s returned id %q userName %q, want id %q userName %q",
				u.ID(), got.ID(), got.String("userName"), u.ID(), u.String("userName"))
		}
	}
}

func oktaActive(ctx context.Context, t *T) {
	u, resp := t.Create("/Users", OktaUser(t.UserName("active"), "Act", "Ive", "00u"+t.RunID()))
	if b, ok := u.Bool("active"); !ok || !b {
		t.Errorf(resp, "create response active is %v, want JSON true", u["active"])
	}
	got, gresp := t.GetUser(u.ID())
	if b, ok := got.Bool("active"); !ok || !b {
		t.Errorf(gresp, "GET active is %v, want JSON true", got["active"])
	}
}

func oktaLookup(ctx context.Context, t *T) {
	name := t.UserName("lookup")
	u := t.CreateUser(OktaUser(name, "Look", "Up", "00u"+t.RunID()))
	p := lookupUser(t, name)
	if p.TotalResults != 1 || len(p.Resources) != 1 || p.Resources[0].ID() != u.ID() {
		t.Errorf(p.Response, "lookup returned totalResults %d and ids %v, want exactly %s", p.TotalResults, p.IDs(), u.ID())
	}
	none := lookupUser(t, t.UserName("nobody"))
	if none.TotalResults != 0 || len(none.Resources) != 0 {
		t.Errorf(none.Response, "lookup of an unknown userName returned totalResults %d, %d resources; want 0", none.TotalResults, len(none.Resources))
	}
}

func oktaLookupCase(ctx context.Context, t *T) {
	name := t.UserName("Mixed.Case")
	u := t.CreateUser(OktaUser(name, "Mixed", "Case", "00u"+t.RunID()))
	for _, v := range []string{strings.ToUpper(name), strings.ToLower(name)} {
		p := lookupUser(t, v)
		if len(p.Resources) != 1 || p.Resources[0].ID() != u.ID() {
			t.Errorf(p.Response, "lookup of %q returned ids %v, want %s (stored as %q)", v, p.IDs(), u.ID(), name)
		}
	}
}

func oktaPagingIntegers(ctx context.Context, t *T) {
	name := t.UserName("paging")
	t.CreateUser(OktaUser(name, "Pag", "Ing", "00u"+t.RunID()))
	p := lookupUser(t, name)
	body := scimclient.Resource(p.Response.JSON)
	for _, k := range []string{"totalResults", "startIndex", "itemsPerPage"} {
		v, ok := body.Get(k)
		if !ok {
			t.Errorf(p.Response, "%s is missing", k)
			continue
		}
		if _, isInt := body.Int(k); !isInt {
			t.Errorf(p.Response, "%s is %s %v, want a JSON integer", k, jsonType(v), v)
		}
	}
	if p.StartIndex != 1 || p.ItemsPerPage != len(p.Resources) {
		t.Errorf(p.Response, "startIndex %d, itemsPerPage %d with %d resources; want 1 and %d", p.StartIndex, p.ItemsPerPage, len(p.Resources), len(p.Resources))
	}
}

func oktaDuplicate(ctx context.Context, t *T) {
	name := t.UserName("dup")
	t.CreateUser(OktaUser(name, "Dup", "One", "00uA"+t.RunID()))
	resp := t.Do(http.MethodPost, "/Users", OktaUser(name, "Dup", "Two", "00uB"+t.RunID()))
	trackCreated(t, "/Users", resp)
	t.ExpectError(resp, http.StatusConflict, "uniqueness")
}

func oktaDuplicateCase(ctx context.Context, t *T) {
	name := t.UserName("dup.case")
	t.CreateUser(OktaUser(name, "Dup", "One", "00uA"+t.RunID()))
	resp := t.Do(http.MethodPost, "/Users", OktaUser(strings.ToUpper(name), "Dup", "Two", "00uB"+t.RunID()))
	trackCreated(t, "/Users", resp)
	t.ExpectError(resp, http.StatusConflict, "")
}

func oktaNotFound(ctx context.Context, t *T) {
	t.ExpectError(t.Do(http.MethodGet, "/Users/"+randomGUID(), nil), http.StatusNotFound, "")
}

func oktaAuthRequired(ctx context.Context, t *T) {
	none := t.ClientWithAuth(nil)
	wrong := t.ClientWithAuth(scimclient.Bearer("conformance-invalid-" + randomHex(12)))
	for _, c := range []*scimclient.Client{none, wrong} {
		resp := t.DoWith(c, http.MethodGet, "/Users?startIndex=1&count=1", nil)
		t.ExpectError(resp, http.StatusUnauthorized, "")
	}
	resp := t.DoWith(none, http.MethodPost, "/Users", OktaUser(t.UserName("noauth"), "No", "Auth", "00u"+t.RunID()))
	trackCreated(t, "/Users", resp)
	t.ExpectError(resp, http.StatusUnauthorized, "")
}

// setActive sends Okta's deactivate/reactivate PATCH.
func setActive(t *T, id string, active bool) *scimclient.Response {
	return t.Patch("/Users", id, PatchBody(Op("replace", "", map[string]any{"active": active})))
}

// wantActive GETs the user and records a failure unless active is want.
func wantActive(t *T, id string, want bool, after *scimclient.Response) {
	got, resp := t.GetUser(id)
	if b, ok := got.Bool("active"); !ok || b != want {
		t.Fail(Failure{Message: fmt.Sprintf("after the update, GET shows active %v, want %v", got["active"], want),
			Exchanges: Exchanges(after, resp)})
	}
}

func oktaDeactivate(ctx context.Context, t *T) {
	u := t.CreateUser(OktaUser(t.UserName("deact"), "De", "Act", "00u"+t.RunID()))
	wantActive(t, u.ID(), false, setActive(t, u.ID(), false))
}

func oktaDeactivatedVisible(ctx context.Context, t *T) {
	name := t.UserName("inactive")
	u := t.CreateUser(OktaUser(name, "In", "Active", "00u"+t.RunID()))
	var resp *scimclient.Response
	if t.Has(FeaturePatch) {
		resp = setActive(t, u.ID(), false)
	} else {
		body := u.Clone()
		body["active"] = false
		resp = t.Do(http.MethodPut, "/Users/"+url.PathEscape(u.ID()), body)
		t.MustStatus(resp, http.StatusOK)
	}
	got, gresp := t.GetUser(u.ID())
	if b, ok := got.Bool("active"); !ok || b {
		t.Fail(Failure{Message: fmt.Sprintf("after deactivation GET shows active %v, want false", got["active"]), Exchanges: Exchanges(resp, gresp)})
	}
	p := lookupUser(t, name)
	if len(p.Resources) != 1 || p.Resources[0].ID() != u.ID() {
		t.Errorf(p.Response, "lookup of the deactivated user returned ids %v, want %s", p.IDs(), u.ID())
	}
}

func oktaReactivate(ctx context.Context, t *T) {
	u := t.CreateUser(OktaUser(t.UserName("react"), "Re", "Act", "00u"+t.RunID()))
	setActive(t, u.ID(), false)
	wantActive(t, u.ID(), true, setActive(t, u.ID(), true))
}

func oktaPutRoundtrip(ctx context.Context, t *T) {
	u := t.CreateUser(OktaUser(t.UserName("put"), "Ana", "Silva", "00u"+t.RunID()))
	body, _ := t.GetUser(u.ID())
	body = body.Clone()
	body.Set("name.familyName", "Silva-Souza")
	body["displayName"] = "Ana Silva-Souza"
	body["password"] = "n3wPass!" + t.RunID()
	body["groups"] = []any{}
	resp := t.Do(http.MethodPut, "/Users/"+url.PathEscape(u.ID()), body)
	got := t.Resource(resp, http.StatusOK)
	if got.ID() != u.ID() {
		t.Errorf(resp, "PUT response id %q, want %q", got.ID(), u.ID())
	}
	if got.String("name.familyName") != "Silva-Souza" {
		t.Errorf(resp, "PUT response name.familyName %q, want Silva-Souza", got.String("name.familyName"))
	}
	after, gresp := t.GetUser(u.ID())
	if after.String("name.familyName") != "Silva-Souza" || after.String("displayName") != "Ana Silva-Souza" {
		t.Fail(Failure{Message: fmt.Sprintf("after PUT, GET shows familyName %q displayName %q", after.String("name.familyName"), after.String("displayName")),
			Exchanges: Exchanges(resp, gresp)})
	}
	if b, ok := after.Bool("active"); !ok || !b {
		t.Errorf(gresp, "PUT changed active to %v", after["active"])
	}
	if after.String("userName") != u.String("userName") {
		t.Errorf(gresp, "PUT changed userName to %q", after.String("userName"))
	}
}

func oktaPutDeactivate(ctx context.Context, t *T) {
	u := t.CreateUser(OktaUser(t.UserName("aid"), "Ai", "Dw", "00u"+t.RunID()))
	for _, active := range []bool{false, true} {
		body, _ := t.GetUser(u.ID())
		body = body.Clone()
		body["active"] = active
		resp := t.Do(http.MethodPut, "/Users/"+url.PathEscape(u.ID()), body)
		t.MustStatus(resp, http.StatusOK)
		wantActive(t, u.ID(), active, resp)
	}
}

func oktaGroupCreate(ctx context.Context, t *T) {
	name := t.Unique("Okta Group")
	resp := t.Do(http.MethodPost, "/Groups", OktaGroup(name))
	trackCreated(t, "/Groups", resp)
	if !t.ExpectStatus(resp, http.StatusCreated) {
		return
	}
	g := scimclient.Resource(resp.JSON)
	if g.ID() == "" {
		t.Errorf(resp, "created group has no id")
	}
	if g.String("displayName") != name {
		t.Errorf(resp, "displayName %q, want %q", g.String("displayName"), name)
	}
}

// lookupGroup runs Okta's group lookup by displayName.
func lookupGroup(t *T, name string, extra ...string) *ListPage {
	q := append([]string{"filter", `displayName eq "` + name + `"`}, extra...)
	return t.List(t.Do(http.MethodGet, "/Groups"+Query(q...), nil))
}

func oktaGroupLookup(ctx context.Context, t *T) {
	name := t.Unique("Okta Lookup")
	g := t.CreateGroup(OktaGroup(name))
	p := lookupGroup(t, name, "startIndex", "1", "count", "100")
	if len(p.Resources) != 1 || p.Resources[0].ID() != g.ID() {
		t.Errorf(p.Response, "lookup returned ids %v, want %s", p.IDs(), g.ID())
	}
}

func oktaGroupRename(ctx context.Context, t *T) {
	g := t.CreateGroup(OktaGroup(t.Unique("Okta Old")))
	name := t.Unique("Okta New")
	resp := t.Patch("/Groups", g.ID(), PatchBody(Op("replace", "", map[string]any{"id": g.ID(), "displayName": name})))
	got, gresp := t.GetGroup(g.ID())
	if got.String("displayName") != name {
		t.Fail(Failure{Message: fmt.Sprintf("after rename GET shows displayName %q, want %q", got.String("displayName"), name), Exchanges: Exchanges(resp, gresp)})
	}
}

// wantMembers GETs the group and records a failure unless its members
// are exactly want (user ids).
func wantMembers(t *T, gid string, want []string, after *scimclient.Response) {
	got, resp := t.GetGroup(gid)
	if have := memberValues(got); !sameSet(have, want) {
		t.Fail(Failure{Message: fmt.Sprintf("after the PATCH, GET shows members %v, want %v", have, sorted(want)), Exchanges: Exchanges(after, resp)})
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func oktaMembersAdd(ctx context.Context, t *T) {
	us := newUsers(t, 2, "member")
	g := t.CreateGroup(OktaGroup(t.Unique("Okta Members")))
	var vals []any
	for _, u := range us {
		vals = append(vals, map[string]any{"value": u.ID(), "display": u.String("userName")})
	}
	resp := t.Patch("/Groups", g.ID(), PatchBody(Op("add", "members", vals)))
	wantMembers(t, g.ID(), ids(us), resp)
}

func oktaMembersRemove(ctx context.Context, t *T) {
	us := newUsers(t, 3, "member")
	g := t.CreateGroup(OktaGroup(t.Unique("Okta Remove")))
	addMembers(t, g.ID(), us[0], us[1])
	resp := t.Patch("/Groups", g.ID(), PatchBody(Op("remove", `members[value eq "`+us[1].ID()+`"]`, nil)))
	wantMembers(t, g.ID(), []string{us[0].ID()}, resp)
	// Okta's combined form: remove one, add another, in one request.
	resp = t.Patch("/Groups", g.ID(), PatchBody(
		Op("remove", `members[value eq "`+us[0].ID()+`"]`, nil),
		Op("add", "members", []any{map[string]any{"value": us[2].ID(), "display": us[2].String("userName")}})))
	wantMembers(t, g.ID(), []string{us[2].ID()}, resp)
}

func oktaMembersReplace(ctx context.Context, t *T) {
	us := newUsers(t, 3, "member")
	g := t.CreateGroup(OktaGroup(t.Unique("Okta Replace")))
	addMembers(t, g.ID(), us[0], us[1])
	resp := t.Patch("/Groups", g.ID(), PatchBody(Op("replace", "members", []any{
		map[string]any{"value": us[1].ID(), "display": us[1].String("userName")},
		map[string]any{"value": us[2].ID(), "display": us[2].String("userName")},
	})))
	wantMembers(t, g.ID(), []string{us[1].ID(), us[2].ID()}, resp)
}
