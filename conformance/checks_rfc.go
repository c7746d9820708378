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

func rfcChecks() []Check {
	g := GroupRFC
	return []Check{
		{ID: "rfc.filter.invalid", Group: g, Title: "a malformed filter answers 400 invalidFilter",
			Rule:     "RFC 7644 §3.4.2.2, §3.12: an invalid filter is 400 with scimType invalidFilter, never ignored",
			Requires: []string{FeatureFilter}, Run: rfcFilterInvalid},
		{ID: "rfc.filter.string-ops", Group: g, Title: "co, sw, ew and ne select the right users",
			Rule:     "RFC 7644 §3.4.2.2: the string operators co (contains), sw (starts with), ew (ends with), ne (not equal)",
			Requires: []string{FeatureFilter}, Run: rfcFilterStringOps},
		{ID: "rfc.filter.presence", Group: g, Title: "pr and not select users with and without a value",
			Rule:     "RFC 7644 §3.4.2.2: pr matches attributes with a non-empty value; not negates",
			Requires: []string{FeatureFilter}, Run: rfcFilterPresence},
		{ID: "rfc.filter.logical", Group: g, Title: "and, or and parentheses combine filters",
			Rule:     "RFC 7644 §3.4.2.2: logical operators and grouping",
			Requires: []string{FeatureFilter}, Run: rfcFilterLogical},
		{ID: "rfc.filter.compare", Group: g, Title: "gt, ge, lt and le compare strings",
			Rule:     "RFC 7644 §3.4.2.2: ordering operators compare strings lexically",
			Requires: []string{FeatureFilter}, Run: rfcFilterCompare},
		{ID: "rfc.filter.multi-valued", Group: g, Title: "a filter on a multi-valued attribute matches any value",
			Rule:     "RFC 7644 §3.4.2.2: emails.value eq \"x\" matches a user with x among its emails",
			Requires: []string{FeatureFilter}, Run: rfcFilterMultiValued},
		{ID: "rfc.filter.case-insensitive-names", Group: g, Title: "attribute names and operators in filters ignore letter case",
			Rule:     "RFC 7643 §2.1, RFC 7644 §3.4.2.2: attribute names and operators are case-insensitive (USERNAME EQ …)",
			Requires: []string{FeatureFilter}, Run: rfcFilterCaseNames},
		{ID: "rfc.patch.operations", Group: g, Title: "add, replace and remove with a path change the resource",
			Rule:     "RFC 7644 §3.5.2: add, replace and remove operations, visible on a fresh GET",
			Requires: []string{FeaturePatch}, Run: rfcPatchOperations},
		{ID: "rfc.patch.atomic", Group: g, Title: "a PATCH with one bad operation changes nothing",
			Rule:     "RFC 7644 §3.5.2: operations are applied atomically; if one fails the resource is unchanged and the request fails",
			Requires: []string{FeaturePatch}, Run: rfcPatchAtomic},
		{ID: "rfc.patch.errors", Group: g, Title: "remove without path is 400 noTarget; changing id is 400 mutability",
			Rule:     "RFC 7644 §3.5.2.2 (remove without path: noTarget), §3.5.2 and RFC 7643 §3.1 (id is readOnly: mutability)",
			Requires: []string{FeaturePatch}, Run: rfcPatchErrors},
		{ID: "rfc.patch.primary", Group: g, Title: "adding a primary email clears the old primary",
			Rule:     "RFC 7644 §3.5.2, RFC 7643 §2.4: setting primary true on one value sets the others to false; at most one primary",
			Requires: []string{FeaturePatch}, Run: rfcPatchPrimary},
		{ID: "rfc.patch.members-dedupe", Group: g, Title: "adding an existing member does not duplicate it",
			Rule:     "RFC 7644 §3.5.2.1: add of a value already present does not add it again",
			Requires: []string{FeatureGroups, FeaturePatch}, Run: rfcMembersDedupe},
		{ID: "rfc.paging", Group: g, Title: "startIndex and count page through results without gaps or duplicates",
			Rule:     "RFC 7644 §3.4.2.4: 1-based startIndex, count as page size, totalResults for the whole result, deterministic order",
			Requires: []string{FeatureFilter}, Run: rfcPaging},
		{ID: "rfc.paging.count-zero", Group: g, Title: "count=0 returns totalResults and no resources",
			Rule:     "RFC 7644 §3.4.2.4: count=0 returns no resources but the total",
			Requires: []string{FeatureFilter}, Run: rfcPagingCountZero},
		{ID: "rfc.paging.start-index-below-one", Group: g, Title: "startIndex below 1 is treated as 1",
			Rule:     "RFC 7644 §3.4.2.4: a startIndex less than 1 is interpreted as 1",
			Requires: []string{FeatureFilter}, Run: rfcPagingStartBelowOne},
		{ID: "rfc.sort", Group: g, Title: "sortBy and sortOrder order the results",
			Rule:     "RFC 7644 §3.4.2.3: a server advertising sort orders by sortBy, ascending by default, descending on request",
			Requires: []string{FeatureSort, FeatureFilter}, Run: rfcSort},
		{ID: "rfc.projection.attributes", Group: g, Title: "attributes= returns only the named attributes and id",
			Rule: "RFC 7644 §3.4.2.5, RFC 7643 §2.2: attributes restricts the response to the named attributes plus those returned always",
			Run:  rfcProjectionAttributes},
		{ID: "rfc.projection.excluded", Group: g, Title: "excludedAttributes= leaves the named attributes out but never id",
			Rule: "RFC 7644 §3.4.2.5, RFC 7643 §2.2: excludedAttributes removes attributes from the default set; returned:always ones stay",
			Run:  rfcProjectionExcluded},
		{ID: "rfc.password-never-returned", Group: g, Title: "password never appears in any response",
			Rule: "RFC 7643 §4.1.1, §7: password is writeOnly, returned never (not in POST, PUT, PATCH, GET or list responses)",
			Run:  rfcPasswordNever},
		{ID: "rfc.etag", Group: g, Title: "ETag, If-None-Match (304) and If-Match (412) work as advertised",
			Rule:     "RFC 7644 §3.14: a server advertising etag returns ETag and meta.version, answers If-None-Match with 304 and a stale If-Match with 412",
			Requires: []string{FeatureETag}, Run: rfcETag},
		{ID: "rfc.error-format", Group: g, Title: "error bodies have the Error schema and status as a string",
			Rule: ruleErrorFmt,
			Run:  rfcErrorFormat},
		{ID: "rfc.content-type", Group: g, Title: "responses are application/scim+json",
			Rule: "RFC 7644 §3.1, §8.1: responses use the media type application/scim+json",
			Run:  rfcContentType},
		{ID: "rfc.request-media-types", Group: g, Title: "request bodies sent as application/json or with charset are accepted",
			Rule: "RFC 7644 §3.8: servers accept application/scim+json and application/json",
			Run:  rfcRequestMediaTypes},
		{ID: "rfc.location", Group: g, Title: "201 Location equals meta.location and points at the resource",
			Rule: "RFC 7644 §3.3: the create response's Location header is the resource URI, equal to meta.location",
			Run:  rfcLocation},
		{ID: "rfc.delete", Group: g, Title: "DELETE answers 204, then GET answers 404",
			Rule: "RFC 7644 §3.6: a deleted resource is 204 No Content and afterwards 404",
			Run:  rfcDelete},
		{ID: "rfc.put-unknown", Group: g, Title: "PUT to an unknown id answers 404 and creates nothing",
			Rule: "RFC 7644 §3.5.1: PUT replaces an existing resource and is not used to create one",
			Run:  rfcPutUnknown},
	}
}

func rfcFilterInvalid(ctx context.Context, t *T) {
	for _, f := range []string{`userName zz "x"`, `userName eq`, `(userName eq "x"`, `userName eq "x" and`} {
		resp := t.Do(http.MethodGet, "/Users"+Query("filter", f), nil)
		if resp.Status == http.StatusOK {
			t.Errorf(resp, "filter %q answered 200 (ignored or accepted), want 400 invalidFilter", f)
			continue
		}
		t.ExpectError(resp, http.StatusBadRequest, "invalidFilter")
	}
}

// filterFixture creates three users for filter checks and returns them
// with a filter matching exactly them. Their attributes:
//
//	alpha: displayName "Ada Zephyr-<run>", title "Engineer"
//	beta:  displayName "Bo Zephyr-<run>", no title, a second (home) email
//	gamma: displayName "Cy Quill-<run>", title "Manager"
func filterFixture(t *T) (users []scimclient.Resource, scope string, homeMail string) {
	run := t.RunID()
	homeMail = t.UserName("home")
	specs := []struct {
		prefix, display, title string
	}{
		{"alpha", "Ada Zephyr-" + run, "Engineer"},
		{"beta", "Bo Zephyr-" + run, ""},
		{"gamma", "Cy Quill-" + run, "Manager"},
	}
	for _, s := range specs {
		name := t.UserName(s.prefix)
		body := OktaUser(name, "Filter", s.prefix, "ext-"+t.Unique(s.prefix))
		body["displayName"] = s.display
		if s.title != "" {
			body["title"] = s.title
		}
		if s.prefix == "beta" {
			body["emails"] = []any{
				map[string]any{"primary": true, "value": name, "type": "work"},
				map[string]any{"value": homeMail, "type": "home"},
			}
		}
		users = append(users, t.CreateUser(body))
	}
	return users, oneOf(users), homeMail
}

// wantFilter lists users matching "(scope) and (f)" and records a failure
// unless the result is exactly want.
func wantFilter(t *T, scope, f string, users []scimclient.Resource, want ...int) {
	full := "(" + scope + ") and (" + f + ")"
	p := filterUsers(t, full)
	var wantIDs []string
	for _, i := range want {
		wantIDs = append(wantIDs, users[i].ID())
	}
	if !sameSet(p.IDs(), wantIDs) {
		names := func(idx []string) []string {
			var out []string
			for _, id := range idx {
				n := id
				for _, u := range users {
					if u.ID() == id {
						n = u.String("userName")
					}
				}
				out = append(out, n)
			}
			return out
		}
		t.Errorf(p.Response, "filter %s returned %v, want %v", f, names(p.IDs()), names(wantIDs))
	}
}

func rfcFilterStringOps(ctx context.Context, t *T) {
	us, scope, _ := filterFixture(t)
	wantFilter(t, scope, `displayName co "Zephyr"`, us, 0, 1)
	wantFilter(t, scope, `userName sw "alpha-"`, us, 0)
	wantFilter(t, scope, `displayName ew "Quill-`+t.RunID()+`"`, us, 2)
	wantFilter(t, scope, `displayName ne "`+us[1].String("displayName")+`"`, us, 0, 2)
}

func rfcFilterPresence(ctx context.Context, t *T) {
	us, scope, _ := filterFixture(t)
	wantFilter(t, scope, `title pr`, us, 0, 2)
	wantFilter(t, scope, `not (title pr)`, us, 1)
}

func rfcFilterLogical(ctx context.Context, t *T) {
	us, scope, _ := filterFixture(t)
	wantFilter(t, scope, `title eq "Engineer" or title eq "Manager"`, us, 0, 2)
	wantFilter(t, scope, `displayName co "Zephyr" and title pr`, us, 0)
	wantFilter(t, scope, `(title eq "Manager" or displayName sw "Bo ") and not (userName sw "gamma-")`, us, 1)
}

func rfcFilterCompare(ctx context.Context, t *T) {
	us, scope, _ := filterFixture(t)
	wantFilter(t, scope, `userName gt "beta"`, us, 1, 2)
	wantFilter(t, scope, `userName ge "gamma"`, us, 2)
	wantFilter(t, scope, `userName lt "beta"`, us, 0)
	wantFilter(t, scope, `userName le "beta-~"`, us, 0, 1)
}

func rfcFilterMultiValued(ctx context.Context, t *T) {
	us, scope, home := filterFixture(t)
	wantFilter(t, scope, `emails.value eq "`+home+`"`, us, 1)
	wantFilter(t, scope, `emails[type eq "home"]`, us, 1)
}

func rfcFilterCaseNames(ctx context.Context, t *T) {
	name := t.UserName("names")
	u := t.CreateUser(OktaUser(name, "Na", "Mes", "00u"+t.RunID()))
	for _, f := range []string{`USERNAME EQ "` + name + `"`, `UserName Eq "` + name + `"`} {
		p := filterUsers(t, f)
		if len(p.Resources) != 1 || p.Resources[0].ID() != u.ID() {
			t.Errorf(p.Response, "filter %s returned ids %v, want %s", f, p.IDs(), u.ID())
		}
	}
}

func rfcPatchOperations(ctx context.Context, t *T) {
	body := OktaUser(t.UserName("patch"), "Pat", "Ch", "00u"+t.RunID())
	body["nickName"] = "Patty"
	u := t.CreateUser(body)
	resp := t.Patch("/Users", u.ID(), PatchBody(
		Op("add", "title", "Engineer"),
		Op("replace", "displayName", "Patricia Ch"),
		Op("replace", "name.givenName", "Patricia"),
		Op("remove", "nickName", nil),
	))
	got := wantStrings(t, u.ID(), map[string]string{"title": "Engineer", "displayName": "Patricia Ch", "name.givenName": "Patricia", "name.familyName": "Ch"}, resp)
	if v, ok := got.Get("nickName"); ok && v != nil {
		t.Errorf(nil, "after remove nickName, GET still shows nickName %v", v)
	}
	if resp.Status == http.StatusOK && resp.JSON != nil {
		r := scimclient.Resource(resp.JSON)
		if r.String("displayName") != "Patricia Ch" {
			t.Errorf(resp, "200 PATCH response shows displayName %q, want the updated resource", r.String("displayName"))
		}
	}
}

func rfcPatchAtomic(ctx context.Context, t *T) {
	u := t.CreateUser(OktaUser(t.UserName("atomic"), "Ato", "Mic", "00u"+t.RunID()))
	before := u.String("displayName")
	resp := t.Do(http.MethodPatch, "/Users/"+url.PathEscape(u.ID()), PatchBody(
		Op("replace", "displayName", "Changed By Failed Patch"),
		Op("remove", "", nil),
	))
	if resp.Status >= 200 && resp.Status < 300 {
		t.Errorf(resp, "a PATCH with an invalid operation (remove without path) answered %d, want 400", resp.Status)
	} else {
		t.ExpectStatus(resp, http.StatusBadRequest)
	}
	got, gresp := t.GetUser(u.ID())
	if got.String("displayName") != before {
		t.Fail(Failure{Message: fmt.Sprintf("the failed PATCH still changed displayName to %q (was %q)", got.String("displayName"), before),
			Exchanges: Exchanges(resp, gresp)})
	}
}

func rfcPatchErrors(ctx context.Context, t *T) {
	u := t.CreateUser(OktaUser(t.UserName("perr"), "Pe", "Rr", "00u"+t.RunID()))
	path := "/Users/" + url.PathEscape(u.ID())
	t.ExpectError(t.Do(http.MethodPatch, path, PatchBody(Op("remove", "", nil))), http.StatusBadRequest, "noTarget")
	t.ExpectError(t.Do(http.MethodPatch, path, PatchBody(Op("replace", "id", "other-"+randomHex(4)))), http.StatusBadRequest, "mutability")
	got, resp := t.GetUser(u.ID())
	if got.ID() != u.ID() {
		t.Errorf(resp, "id changed to %q", got.ID())
	}
}

func rfcPatchPrimary(ctx context.Context, t *T) {
	name := t.UserName("primary")
	u := t.CreateUser(OktaUser(name, "Pri", "Mary", "00u"+t.RunID()))
	home := t.UserName("home")
	resp := t.Patch("/Users", u.ID(), PatchBody(Op("add", "emails", []any{
		map[string]any{"value": home, "type": "home", "primary": true},
	})))
	got, gresp := t.GetUser(u.ID())
	var primaries []string
	for _, e := range got.List("emails") {
		if b, _ := e.Bool("primary"); b {
			primaries = append(primaries, e.String("value"))
		}
	}
	if len(got.List("emails")) != 2 || len(primaries) != 1 || primaries[0] != home {
		t.Fail(Failure{Message: fmt.Sprintf("after adding a primary home email, emails are %v; want 2 with only %s primary", got["emails"], home),
			Exchanges: Exchanges(resp, gresp)})
	}
}

func rfcMembersDedupe(ctx context.Context, t *T) {
	us := newUsers(t, 1, "member")
	g := t.CreateGroup(OktaGroup(t.Unique("Dedupe")))
	addMembers(t, g.ID(), us[0])
	addMembers(t, g.ID(), us[0])
	got, resp := t.GetGroup(g.ID())
	if m := memberValues(got); len(m) != 1 || m[0] != us[0].ID() {
		t.Errorf(resp, "after adding the same member twice, members are %v, want [%s]", m, us[0].ID())
	}
}

// pagingFixture creates five users and returns them with a filter
// matching exactly them.
func pagingFixture(t *T) ([]scimclient.Resource, string) {
	us := newUsers(t, 5, "page")
	return us, oneOf(us)
}

func rfcPaging(ctx context.Context, t *T) {
	us, scope := pagingFixture(t)
	var seen []string
	var pages []*scimclient.Response
	for start := 1; start <= 5; start += 2 {
		p := filterUsers(t, scope, "startIndex", fmt.Sprint(start), "count", "2")
		pages = append(pages, p.Response)
		wantN := min(2, 5-start+1)
		if p.TotalResults != 5 {
			t.Errorf(p.Response, "totalResults %d, want 5 (the whole result, not the page)", p.TotalResults)
		}
		if len(p.Resources) != wantN {
			t.Errorf(p.Response, "startIndex=%d&count=2 returned %d resources, want %d", start, len(p.Resources), wantN)
		}
		if p.StartIndex != start {
			t.Errorf(p.Response, "startIndex %d in the response, want %d", p.StartIndex, start)
		}
		if p.ItemsPerPage != len(p.Resources) {
			t.Errorf(p.Response, "itemsPerPage %d with %d resources", p.ItemsPerPage, len(p.Resources))
		}
		seen = append(seen, p.IDs()...)
	}
	dup := map[string]bool{}
	for _, id := range seen {
		if dup[id] {
			t.Fail(Failure{Message: fmt.Sprintf("user %s appears on two pages", id), Exchanges: Exchanges(pages...)})
		}
		dup[id] = true
	}
	if !sameSet(slices.Compact(sorted(seen)), ids(us)) {
		t.Fail(Failure{Message: fmt.Sprintf("the pages together hold %v, want the 5 users %v", sorted(seen), sorted(ids(us))), Exchanges: Exchanges(pages...)})
	}
}

func rfcPagingCountZero(ctx context.Context, t *T) {
	_, scope := pagingFixture(t)
	p := filterUsers(t, scope, "count", "0")
	if p.TotalResults != 5 {
		t.Errorf(p.Response, "count=0: totalResults %d, want 5", p.TotalResults)
	}
	if len(p.Resources) != 0 {
		t.Errorf(p.Response, "count=0 returned %d resources, want none", len(p.Resources))
	}
}

func rfcPagingStartBelowOne(ctx context.Context, t *T) {
	_, scope := pagingFixture(t)
	first := filterUsers(t, scope, "startIndex", "1", "count", "2")
	for _, s := range []string{"0", "-3"} {
		p := filterUsers(t, scope, "startIndex", s, "count", "2")
		if !slices.Equal(p.IDs(), first.IDs()) {
			t.Fail(Failure{Message: fmt.Sprintf("startIndex=%s returned %v, want the first page %v", s, p.IDs(), first.IDs()), Exchanges: Exchanges(first.Response, p.Response)})
		}
	}
}

func rfcSort(ctx context.Context, t *T) {
	var us []scimclient.Resource
	for _, p := range []string{"delta", "Alpha", "charlie", "Bravo"} {
		us = append(us, t.CreateUser(OktaUser(t.UserName(p), "So", "Rt", "ext-"+t.Unique(p))))
	}
	scope := oneOf(us)
	names := func(p *ListPage) []string {
		var out []string
		for _, r := range p.Resources {
			out = append(out, strings.ToLower(r.String("userName")))
		}
		return out
	}
	asc := filterUsers(t, scope, "sortBy", "userName")
	if got := names(asc); len(got) != 4 || !slices.IsSorted(got) {
		t.Errorf(asc.Response, "sortBy=userName returned %v, want ascending order", got)
	}
	desc := filterUsers(t, scope, "sortBy", "userName", "sortOrder", "descending")
	got := names(desc)
	rev := slices.Clone(got)
	slices.Reverse(rev)
	if len(got) != 4 || !slices.IsSorted(rev) {
		t.Errorf(desc.Response, "sortBy=userName&sortOrder=descending returned %v, want descending order", got)
	}
}

func rfcProjectionAttributes(ctx context.Context, t *T) {
	name := t.UserName("proj")
	u := t.CreateUser(OktaUser(name, "Pro", "Jection", "00u"+t.RunID()))
	got, resp := t.GetUser(u.ID(), "attributes", "userName")
	if got.ID() != u.ID() || got.String("userName") != name {
		t.Errorf(resp, "attributes=userName lost id or userName")
	}
	for _, a := range []string{"displayName", "name", "emails", "active"} {
		if _, ok := got.Get(a); ok {
			t.Errorf(resp, "attributes=userName still returned %s", a)
		}
	}
	if t.Has(FeatureFilter) {
		p := filterUsers(t, `userName eq "`+name+`"`, "attributes", "displayName")
		if len(p.Resources) != 1 {
			t.Fatalf(p.Response, "lookup returned %d resources, want 1", len(p.Resources))
		}
		r := p.Resources[0]
		if r.ID() != u.ID() || r.String("displayName") == "" {
			t.Errorf(p.Response, "list with attributes=displayName lost id or displayName")
		}
		if _, ok := r.Get("emails"); ok {
			t.Errorf(p.Response, "list with attributes=displayName still returned emails")
		}
	}
}

func rfcProjectionExcluded(ctx context.Context, t *T) {
	u := t.CreateUser(OktaUser(t.UserName("excl"), "Ex", "Cluded", "00u"+t.RunID()))
	got, resp := t.GetUser(u.ID(), "excludedAttributes", "displayName,name")
	for _, a := range []string{"displayName", "name"} {
		if _, ok := got.Get(a); ok {
			t.Errorf(resp, "excludedAttributes=displayName,name still returned %s", a)
		}
	}
	if got.String("userName") == "" {
		t.Errorf(resp, "excludedAttributes=displayName,name also removed userName")
	}
	got, resp = t.GetUser(u.ID(), "excludedAttributes", "id")
	if got.ID() != u.ID() {
		t.Errorf(resp, "excludedAttributes=id removed id, which is returned always")
	}
}

func rfcPasswordNever(ctx context.Context, t *T) {
	name := t.UserName("pw")
	body := OktaUser(name, "Pass", "Word", "00u"+t.RunID())
	u, cresp := t.Create("/Users", body)
	noPassword := func(r scimclient.Resource, resp *scimclient.Response, what string) {
		if v, ok := r.Get("password"); ok {
			t.Errorf(resp, "%s returned password %v", what, v)
		}
	}
	noPassword(u, cresp, "POST")
	got, gresp := t.GetUser(u.ID())
	noPassword(got, gresp, "GET")
	got, gresp = t.GetUser(u.ID(), "attributes", "password,userName")
	noPassword(got, gresp, "GET with attributes=password")
	if t.Has(FeatureFilter) {
		p := filterUsers(t, `userName eq "`+name+`"`)
		for _, r := range p.Resources {
			noPassword(r, p.Response, "list")
		}
	}
	put := u.Clone()
	put["password"] = "An0ther!" + t.RunID()
	resp := t.Do(http.MethodPut, "/Users/"+url.PathEscape(u.ID()), put)
	noPassword(t.Resource(resp), resp, "PUT")
	if t.Has(FeaturePatch) {
		resp = t.Patch("/Users", u.ID(), PatchBody(Op("replace", "", map[string]any{"password": "Th1rd!" + t.RunID()})))
		if resp.JSON != nil {
			noPassword(resp.JSON, resp, "PATCH")
		}
	}
}

func rfcETag(ctx context.Context, t *T) {
	u := t.CreateUser(OktaUser(t.UserName("etag"), "E", "Tag", "00u"+t.RunID()))
	path := "/Users/" + url.PathEscape(u.ID())
	get := t.Do(http.MethodGet, path, nil)
	r := t.Resource(get)
	etag := get.ETag()
	if etag == "" {
		t.Fatalf(get, "GET has no ETag header")
	}
	if v := r.Version(); v != "" && v != etag {
		t.Errorf(get, "meta.version %q differs from the ETag header %q", v, etag)
	}
	t.ExpectStatus(t.Do(http.MethodGet, path, nil, "If-None-Match", etag), http.StatusNotModified)
	update := func(hdr ...string) *scimclient.Response {
		if t.Has(FeaturePatch) {
			return t.Do(http.MethodPatch, path, PatchBody(Op("replace", "displayName", "E Tag "+randomHex(3))), hdr...)
		}
		body := r.Clone()
		body["displayName"] = "E Tag " + randomHex(3)
		return t.Do(http.MethodPut, path, body, hdr...)
	}
	t.ExpectStatus(update("If-Match", `W/"conformance-stale-`+randomHex(4)+`"`), http.StatusPreconditionFailed)
	ok := update("If-Match", etag)
	if t.ExpectStatus(ok, http.StatusOK, http.StatusNoContent) {
		after := t.Do(http.MethodGet, path, nil)
		t.MustStatus(after, http.StatusOK)
		if after.ETag() == etag {
			t.Fail(Failure{Message: "the ETag did not change after an update", Exchanges: Exchanges(ok, after)})
		}
		t.ExpectStatus(t.Do(http.MethodGet, path, nil, "If-None-Match", etag), http.StatusOK)
	}
}

func rfcErrorFormat(ctx context.Context, t *T) {
	t.ExpectError(t.Do(http.MethodGet, "/Users/"+randomGUID(), nil), http.StatusNotFound, "")
	name := t.UserName("errfmt")
	t.CreateUser(OktaUser(name, "Err", "Fmt", "00uA"+t.RunID()))
	resp := t.Do(http.MethodPost, "/Users", OktaUser(name, "Err", "Fmt", "00uB"+t.RunID()))
	trackCreated(t, "/Users", resp)
	t.ExpectError(resp, http.StatusConflict, "")
	if t.Has(FeatureFilter) {
		t.ExpectError(t.Do(http.MethodGet, "/Users"+Query("filter", `userName zz "x"`), nil), http.StatusBadRequest, "")
	}
}

func rfcContentType(ctx context.Context, t *T) {
	isSCIM := func(resp *scimclient.Response) {
		ct := strings.ToLower(resp.ContentType())
		if mt, _, _ := strings.Cut(ct, ";"); strings.TrimSpace(mt) != scimclient.MediaType {
			t.Errorf(resp, "%s %s: Content-Type %q, want application/scim+json", resp.Request.Method, pathOf(resp), resp.ContentType())
		}
	}
	u, cresp := t.Create("/Users", OktaUser(t.UserName("ctype"), "Con", "Tent", "00u"+t.RunID()))
	isSCIM(cresp)
	_, gresp := t.GetUser(u.ID())
	isSCIM(gresp)
	isSCIM(t.Do(http.MethodGet, "/Users?startIndex=1&count=1", nil))
	isSCIM(t.Do(http.MethodGet, "/Users/"+randomGUID(), nil))
	isSCIM(t.Do(http.MethodGet, "/ServiceProviderConfig", nil))
}

func rfcRequestMediaTypes(ctx context.Context, t *T) {
	for _, ct := range []string{"application/json", "application/scim+json; charset=utf-8", "application/json; charset=utf-8"} {
		resp := t.Do(http.MethodPost, "/Users", OktaUser(t.UserName("media"), "Me", "Dia", "00u"+t.RunID()), "Content-Type", ct)
		trackCreated(t, "/Users", resp)
		if !t.ExpectStatus(resp, http.StatusCreated) {
			t.Errorf(resp, "POST with Content-Type %q was refused", ct)
		}
	}
}

func rfcLocation(ctx context.Context, t *T) {
	u, resp := t.Create("/Users", OktaUser(t.UserName("loc"), "Lo", "Cation", "00u"+t.RunID()))
	loc := resp.Location()
	if loc == "" {
		t.Fatalf(resp, "201 response has no Location header")
	}
	if ml := u.Meta().Location; ml != loc {
		t.Errorf(resp, "Location %q differs from meta.location %q", loc, ml)
	}
	if !strings.HasPrefix(loc, "http://") && !strings.HasPrefix(loc, "https://") {
		t.Fatalf(resp, "Location %q is not an absolute URI", loc)
	}
	got := t.Do(http.MethodGet, loc, nil)
	if r := t.Resource(got); r.ID() != u.ID() {
		t.Errorf(got, "GET of Location returned id %q, want %q", r.ID(), u.ID())
	}
}

func rfcDelete(ctx context.Context, t *T) {
	u := t.CreateUser(OktaUser(t.UserName("del"), "De", "Lete", "00u"+t.RunID()))
	path := "/Users/" + url.PathEscape(u.ID())
	t.ExpectStatus(t.Do(http.MethodDelete, path, nil), http.StatusNoContent)
	t.ExpectError(t.Do(http.MethodGet, path, nil), http.StatusNotFound, "")
	if t.Has(FeatureGroups) {
		g := t.CreateGroup(OktaGroup(t.Unique("Delete")))
		gpath := "/Groups/" + url.PathEscape(g.ID())
		t.ExpectStatus(t.Do(http.MethodDelete, gpath, nil), http.StatusNoContent)
		t.ExpectError(t.Do(http.MethodGet, gpath, nil), http.StatusNotFound, "")
	}
}

func rfcPutUnknown(ctx context.Context, t *T) {
	resp := t.Do(http.MethodPut, "/Users/"+randomGUID(), OktaUser(t.UserName("ghost"), "Gh", "Ost", "00u"+t.RunID()))
	trackCreated(t, "/Users", resp)
	t.ExpectError(resp, http.StatusNotFound, "")
}
