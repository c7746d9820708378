package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/scimd/scimd/scimclient"
)

const urnEnterprise = scimclient.SchemaEnterpriseUser

func entraChecks() []Check {
	g := GroupEntra
	return []Check{
		{ID: "entra.test-connection", Group: g, Title: "a filter on a random GUID answers 200 with an empty list",
			Rule: srcEntra + ": Test Connection sends GET /Users?filter=userName eq \"<random GUID>\" (spaces as +) and needs 200 with totalResults 0, never 404",
			Run:  entraTestConnection},
		{ID: "entra.create-user", Group: g, Title: "POST /Users with Entra's body (nulls, meta, roles, enterprise extension) answers 201",
			Rule: srcEntra + ": create carries externalId, title:null, meta.resourceType, roles:[] and the enterprise extension; 201 with id",
			Run:  entraCreateUser},
		{ID: "entra.filter-externalid", Group: g, Title: "externalId eq finds the user",
			Rule: srcEntra + ": Entra may match users on externalId, so externalId must be filterable",
			Run:  entraFilterExternalID},
		{ID: "entra.filter-work-email", Group: g, Title: "emails[type eq \"work\"].value eq finds the user",
			Rule: srcEntra + ": Entra may match users on emails[type eq \"work\"].value, a form outside the RFC grammar",
			Run:  entraFilterWorkEmail},
		{ID: "entra.capitalised-ops", Group: g, Title: "PATCH ops spelled Add and Replace are applied",
			Rule:     srcEntra + ": the default job sends \"Add\", \"Replace\", \"Remove\"; op is case-insensitive",
			Requires: []string{FeaturePatch}, Run: entraCapitalisedOps},
		{ID: "entra.string-booleans", Group: g, Title: "Replace active \"False\"/\"True\" (strings) disables and enables",
			Rule:     srcEntraKI + ": the default job sends booleans as strings, {\"op\":\"Replace\",\"path\":\"active\",\"value\":\"False\"}",
			Requires: []string{FeaturePatch}, Run: entraStringBooleans},
		{ID: "entra.dotted-keys", Group: g, Title: "no-path replace with dotted and URN keys sets those attributes",
			Rule:     srcEntraKI + ": with aadOptscim062020 a no-path replace's value has keys such as \"name.givenName\" and full URN paths",
			Requires: []string{FeaturePatch}, Run: entraDottedKeys},
		{ID: "entra.manager-string", Group: g, Title: "manager sent as a bare string id is stored as manager.value",
			Rule:     srcEntra + " (observed): {\"op\":\"Add\",\"path\":\"…enterprise:2.0:User:manager\",\"value\":\"<id>\"}",
			Requires: []string{FeaturePatch, FeatureEnterprise}, Run: entraManagerString},
		{ID: "entra.value-path-create", Group: g, Title: "Add on emails[type eq \"work\"].value creates the element when absent",
			Rule:     srcEntra + " (observed): Add/Replace on a value path with no matching element creates {type, value}; several ops on one filter fill one element",
			Requires: []string{FeaturePatch}, Run: entraValuePathCreate},
		{ID: "entra.group-create", Group: g, Title: "POST /Groups with Entra's extra schema URN answers 201",
			Rule:     srcEntra + ": group create lists the ADSCIM schema URN, externalId and meta, with no members",
			Requires: []string{FeatureGroups}, Run: entraGroupCreate},
		{ID: "entra.group-excluded-members", Group: g, Title: "excludedAttributes=members works on the group list and GET",
			Rule:     srcEntra + ": GET /Groups?excludedAttributes=members&filter=displayName eq … and GET /Groups/{id}?excludedAttributes=members return no members",
			Requires: []string{FeatureGroups}, Run: entraExcludedMembers},
		{ID: "entra.group-add-members", Group: g, Title: "Add members with \"$ref\": null adds them",
			Rule:     srcEntra + ": {\"op\":\"Add\",\"path\":\"members\",\"value\":[{\"$ref\":null,\"value\":\"…\"}]}",
			Requires: []string{FeatureGroups, FeaturePatch}, Run: entraAddMembers},
		{ID: "entra.remove-with-value", Group: g, Title: "Remove on members with a value list removes only the listed members",
			Rule:     srcEntraKI + ": the default job removes members with {\"op\":\"Remove\",\"path\":\"members\",\"value\":[{\"value\":\"…\"}]}",
			Requires: []string{FeatureGroups, FeaturePatch}, Run: entraRemoveWithValue},
		{ID: "entra.group-rename", Group: g, Title: "Replace displayName renames the group",
			Rule:     srcEntra + ": rename is {\"op\":\"Replace\",\"path\":\"displayName\",\"value\":\"…\"}",
			Requires: []string{FeatureGroups, FeaturePatch}, Run: entraGroupRename},
	}
}

func entraTestConnection(ctx context.Context, t *T) {
	// A user exists, so a server that ignores the filter shows it.
	t.CreateUser(EntraUser(t.UserName("conn"), "ext-"+t.Unique("conn"), false))
	// Entra encodes spaces as '+'.
	guid := randomGUID()
	resp := t.Do(http.MethodGet, "/Users?filter=userName+eq+%22"+guid+"%22", nil)
	if resp.Status == http.StatusNotFound {
		t.Fatalf(resp, "a filter matching nothing answered 404; Entra needs 200 with an empty ListResponse")
	}
	p := t.List(resp)
	if p.TotalResults != 0 || len(p.Resources) != 0 {
		t.Errorf(resp, "totalResults %d with %d resources, want 0", p.TotalResults, len(p.Resources))
	}
}

func entraCreateUser(ctx context.Context, t *T) {
	name := t.UserName("jdoe")
	ext := "ext-" + t.Unique("jdoe")
	resp := t.Do(http.MethodPost, "/Users?aadOptscim062020", EntraUser(name, ext, t.Has(FeatureEnterprise)))
	trackCreated(t, "/Users", resp)
	u := t.Resource(resp, http.StatusCreated)
	if u.ID() == "" {
		t.Errorf(resp, "created user has no id")
	}
	got, gresp := t.GetUser(u.ID())
	if got.ExternalID() != ext {
		t.Errorf(gresp, "externalId %q, want %q", got.ExternalID(), ext)
	}
	if t.Has(FeatureEnterprise) && got.String(urnEnterprise+":department") != "Sales" {
		t.Errorf(gresp, "enterprise department %q, want Sales", got.String(urnEnterprise+":department"))
	}
}

func entraFilterExternalID(ctx context.Context, t *T) {
	ext := "Ext-" + t.Unique("match")
	u := t.CreateUser(EntraUser(t.UserName("extid"), ext, false))
	p := filterUsers(t, `externalId eq "`+ext+`"`)
	if len(p.Resources) != 1 || p.Resources[0].ID() != u.ID() {
		t.Errorf(p.Response, "externalId eq returned ids %v, want %s", p.IDs(), u.ID())
	}
}

func entraFilterWorkEmail(ctx context.Context, t *T) {
	name := t.UserName("mail")
	u := t.CreateUser(EntraUser(name, "ext-"+t.Unique("mail"), false))
	p := filterUsers(t, `emails[type eq "work"].value eq "`+name+`"`)
	if len(p.Resources) != 1 || p.Resources[0].ID() != u.ID() {
		t.Errorf(p.Response, "work-email filter returned ids %v, want %s", p.IDs(), u.ID())
	}
}

// wantStrings GETs the user and records a failure for each path whose
// value is not the wanted string.
func wantStrings(t *T, id string, want map[string]string, after *scimclient.Response) scimclient.Resource {
	got, resp := t.GetUser(id)
	for path, v := range want {
		if have := got.String(path); have != v {
			t.Fail(Failure{Message: fmt.Sprintf("after the PATCH, GET shows %s = %q, want %q", path, have, v), Exchanges: Exchanges(after, resp)})
		}
	}
	return got
}

func entraCapitalisedOps(ctx context.Context, t *T) {
	u := t.CreateUser(EntraUser(t.UserName("caps"), "ext-"+t.Unique("caps"), false))
	resp := t.Patch("/Users", u.ID(), PatchBody(
		Op("Replace", "displayName", "Jane Q. Doe"),
		Op("Replace", "name.familyName", "Doe-Smith"),
		Op("Add", "nickName", "JJ"),
	))
	wantStrings(t, u.ID(), map[string]string{"displayName": "Jane Q. Doe", "name.familyName": "Doe-Smith", "nickName": "JJ"}, resp)
}

func entraStringBooleans(ctx context.Context, t *T) {
	u := t.CreateUser(EntraUser(t.UserName("strbool"), "ext-"+t.Unique("strbool"), false))
	for _, v := range []struct {
		s    string
		want bool
	}{{"False", false}, {"True", true}} {
		resp := t.Patch("/Users", u.ID(), PatchBody(Op("Replace", "active", v.s)))
		got, gresp := t.GetUser(u.ID())
		if b, ok := got.Bool("active"); !ok || b != v.want {
			t.Fail(Failure{Message: fmt.Sprintf("after Replace active %q, GET shows active %s %v, want JSON %v", v.s, jsonType(got["active"]), got["active"], v.want),
				Exchanges: Exchanges(resp, gresp)})
		}
	}
}

func entraDottedKeys(ctx context.Context, t *T) {
	u := t.CreateUser(EntraUser(t.UserName("dotted"), "ext-"+t.Unique("dotted"), t.Has(FeatureEnterprise)))
	value := map[string]any{"displayName": "Janet Doe", "name.givenName": "Janet"}
	want := map[string]string{"displayName": "Janet Doe", "name.givenName": "Janet"}
	if t.Has(FeatureEnterprise) {
		value[urnEnterprise+":employeeNumber"] = "701"
		want[urnEnterprise+":employeeNumber"] = "701"
	}
	resp := t.Patch("/Users", u.ID(), PatchBody(Op("replace", "", value)))
	wantStrings(t, u.ID(), want, resp)
}

func entraManagerString(ctx context.Context, t *T) {
	boss := t.CreateUser(EntraUser(t.UserName("boss"), "ext-"+t.Unique("boss"), true))
	u := t.CreateUser(EntraUser(t.UserName("report"), "ext-"+t.Unique("report"), true))
	resp := t.Patch("/Users", u.ID(), PatchBody(Op("Add", urnEnterprise+":manager", boss.ID())))
	wantStrings(t, u.ID(), map[string]string{urnEnterprise + ":manager.value": boss.ID()}, resp)
}

func entraValuePathCreate(ctx context.Context, t *T) {
	body := EntraUser(t.UserName("vpath"), "ext-"+t.Unique("vpath"), false)
	delete(body, "emails")
	u := t.CreateUser(body)
	mail := t.UserName("work")
	resp := t.Patch("/Users", u.ID(), PatchBody(
		Op("Add", `emails[type eq "work"].value`, mail),
		Op("Replace", `phoneNumbers[type eq "mobile"].value`, "+1 555 0100"),
		Op("Add", `addresses[type eq "work"].locality`, "Lisbon"),
		Op("Add", `addresses[type eq "work"].country`, "PT"),
	))
	got, gresp := t.GetUser(u.ID())
	check := func(attr, typ string, want map[string]string) {
		var found []scimclient.Resource
		for _, e := range got.List(attr) {
			if e.String("type") == typ {
				found = append(found, e)
			}
		}
		if len(found) != 1 {
			t.Fail(Failure{Message: fmt.Sprintf("after the PATCH, %s has %d elements of type %q, want 1: %v", attr, len(found), typ, got[attr]),
				Exchanges: Exchanges(resp, gresp)})
			return
		}
		for k, v := range want {
			if found[0].String(k) != v {
				t.Fail(Failure{Message: fmt.Sprintf("after the PATCH, %s[type eq %q].%s = %q, want %q", attr, typ, k, found[0].String(k), v),
					Exchanges: Exchanges(resp, gresp)})
			}
		}
	}
	check("emails", "work", map[string]string{"value": mail})
	check("phoneNumbers", "mobile", map[string]string{"value": "+1 555 0100"})
	check("addresses", "work", map[string]string{"locality": "Lisbon", "country": "PT"})
}

func entraGroupCreate(ctx context.Context, t *T) {
	name := t.Unique("Entra Group")
	resp := t.Do(http.MethodPost, "/Groups", EntraGroup(name, randomGUID()))
	trackCreated(t, "/Groups", resp)
	g := t.Resource(resp, http.StatusCreated)
	if g.ID() == "" || g.String("displayName") != name {
		t.Errorf(resp, "created group has id %q displayName %q, want an id and %q", g.ID(), g.String("displayName"), name)
	}
}

func entraExcludedMembers(ctx context.Context, t *T) {
	u := t.CreateUser(EntraUser(t.UserName("member"), "ext-"+t.Unique("member"), false))
	name := t.Unique("Entra Excl")
	body := EntraGroup(name, randomGUID())
	body["members"] = []any{map[string]any{"value": u.ID()}}
	g := t.CreateGroup(body)
	resp := t.Do(http.MethodGet, "/Groups?excludedAttributes=members&filter=displayName+eq+%22"+strings.ReplaceAll(name, " ", "+")+"%22", nil)
	p := t.List(resp)
	if len(p.Resources) != 1 || p.Resources[0].ID() != g.ID() {
		t.Errorf(resp, "displayName match returned ids %v, want %s", p.IDs(), g.ID())
	} else if _, ok := p.Resources[0].Get("members"); ok {
		t.Errorf(resp, "list with excludedAttributes=members still returned members")
	}
	got, gresp := t.GetGroup(g.ID(), "excludedAttributes", "members")
	if _, ok := got.Get("members"); ok {
		t.Errorf(gresp, "GET with excludedAttributes=members still returned members")
	}
	if got.ID() != g.ID() || got.String("displayName") != name {
		t.Errorf(gresp, "GET with excludedAttributes=members lost id or displayName")
	}
}

func entraAddMembers(ctx context.Context, t *T) {
	us := newUsers(t, 2, "member")
	g := t.CreateGroup(EntraGroup(t.Unique("Entra Add"), randomGUID()))
	null := json.RawMessage("null")
	resp := t.Patch("/Groups", g.ID(), PatchBody(Op("Add", "members", []any{
		map[string]any{"$ref": null, "value": us[0].ID()},
		map[string]any{"$ref": null, "value": us[1].ID()},
	})))
	wantMembers(t, g.ID(), ids(us), resp)
}

func entraRemoveWithValue(ctx context.Context, t *T) {
	us := newUsers(t, 3, "member")
	g := t.CreateGroup(EntraGroup(t.Unique("Entra Remove"), randomGUID()))
	null := json.RawMessage("null")
	var add []any
	for _, u := range us {
		add = append(add, map[string]any{"$ref": null, "value": u.ID()})
	}
	t.Patch("/Groups", g.ID(), PatchBody(Op("Add", "members", add)))
	resp := t.Patch("/Groups", g.ID(), PatchBody(Op("Remove", "members", []any{map[string]any{"value": us[0].ID()}})))
	wantMembers(t, g.ID(), []string{us[1].ID(), us[2].ID()}, resp)
}

func entraGroupRename(ctx context.Context, t *T) {
	g := t.CreateGroup(EntraGroup(t.Unique("Entra Old"), randomGUID()))
	name := t.Unique("Entra New")
	resp := t.Patch("/Groups", g.ID(), PatchBody(Op("Replace", "displayName", name)))
	got, gresp := t.GetGroup(g.ID())
	if got.String("displayName") != name {
		t.Fail(Failure{Message: fmt.Sprintf("after Replace displayName, GET shows %q, want %q", got.String("displayName"), name), Exchanges: Exchanges(resp, gresp)})
	}
}
