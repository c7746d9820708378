package schema_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/schema"
)

const base = "https://scim.example.test/scim/v2"

func renderUser(t *testing.T) *scimd.Resource {
	t.Helper()
	r, err := users.Decode(body(t, entraCreate))
	if err != nil {
		t.Fatal(err)
	}
	r.Attrs["password"] = "secret"
	if err := users.Validate(r, nil); err != nil {
		t.Fatal(err)
	}
	r.ID = "u1"
	r.Meta = scimd.Meta{
		Created:      time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC),
		LastModified: time.Date(2024, 5, 2, 11, 0, 0, 250_000_000, time.FixedZone("x", 3600)),
		Version:      2,
	}
	r.Groups = []scimd.GroupRef{{Value: "g1", Display: "Sales <EU> & Co"}}
	return r
}

func TestRenderFull(t *testing.T) {
	r := renderUser(t)
	got, err := users.Render(r, base, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],` +
		`"id":"u1","externalId":"ana","userName":"ana@contoso.test",` +
		`"name":{"formatted":"Ana Silva","familyName":"Silva","givenName":"Ana"},"displayName":"Ana Silva",` +
		`"preferredLanguage":"pt-PT","active":true,` +
		`"emails":[{"value":"ana@contoso.test","type":"work","primary":true}],` +
		`"phoneNumbers":[{"value":"+351 900 000 000","type":"mobile","primary":true}],` +
		`"addresses":[{"streetAddress":"1 Main St","locality":"Lisbon","postalCode":"1000-001","country":"PT","type":"work","primary":true}],` +
		`"groups":[{"value":"g1","$ref":"` + base + `/Groups/g1","display":"Sales <EU> & Co","type":"direct"}],` +
		`"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"701984","department":"Sales","manager":{"value":"mgr-1"}},` +
		`"meta":{"resourceType":"User","created":"2024-05-01T10:00:00Z","lastModified":"2024-05-02T10:00:00.25Z","location":"` + base + `/Users/u1","version":"W/\"2\""}}`
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if !json.Valid(got) {
		t.Error("invalid JSON")
	}
}

func TestRenderGroup(t *testing.T) {
	g := &scimd.Resource{Type: "Group", ID: "g1", Attrs: map[string]any{"displayName": "Eng", "externalId": "x"},
		Members: []scimd.Member{{Value: "u1", Type: "User", Display: "Ana"}, {Value: "g2", Type: "Group"}},
		Meta:    scimd.Meta{Version: 1}}
	got, err := grps.Render(g, base, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"id":"g1","externalId":"x","displayName":"Eng",` +
		`"members":[{"value":"u1","$ref":"` + base + `/Users/u1","type":"User","display":"Ana"},{"value":"g2","$ref":"` + base + `/Groups/g2","type":"Group"}],` +
		`"meta":{"resourceType":"Group","location":"` + base + `/Groups/g1","version":"W/\"1\""}}`
	if string(got) != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	p, _ := schema.ParseProjection("", "members")
	got, _ = grps.Render(g, base, p)
	if strings.Contains(string(got), "members") {
		t.Errorf("excludedAttributes=members: %s", got)
	}
}

func TestRenderProjection(t *testing.T) {
	r := renderUser(t)
	tests := []struct {
		name, attributes, excluded string
		want                       string
	}{
		{"AttributesUserName", "userName", "",
			`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"id":"u1","userName":"ana@contoso.test"}`},
		{"AttributesCaseInsensitiveAndSub", "USERNAME, name.givenName,emails.value", "",
			`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"id":"u1","userName":"ana@contoso.test","name":{"givenName":"Ana"},"emails":[{"value":"ana@contoso.test"}]}`},
		{"AttributesPasswordNever", "password,userName", "",
			`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"id":"u1","userName":"ana@contoso.test"}`},
		{"AttributesExtensionURN", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "",
			`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"id":"u1","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"701984","department":"Sales","manager":{"value":"mgr-1"}}}`},
		{"AttributesExtensionAttr", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department,meta.version", "",
			`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"id":"u1","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Sales"},"meta":{"version":"W/\"2\""}}`},
		{"AttributesCoreQualified", "urn:ietf:params:scim:schemas:core:2.0:User:displayName,unknownThing", "",
			`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"id":"u1","displayName":"Ana Silva"}`},
		{"AttributesGroupsSub", "groups.display", "",
			`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"id":"u1","groups":[{"display":"Sales <EU> & Co"}]}`},
		{"AttributesIdOnly", "id", "",
			`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"id":"u1"}`},
		{"ExcludedMany", "", "emails,phoneNumbers,addresses,groups,meta,name,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User,id,preferredLanguage",
			`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"id":"u1","externalId":"ana","userName":"ana@contoso.test","displayName":"Ana Silva","active":true}`},
		{"ExcludedSubAttrs", "", "name.formatted,emails.primary,emails.type,phoneNumbers,addresses,groups,meta,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
			`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"id":"u1","externalId":"ana","userName":"ana@contoso.test","name":{"familyName":"Silva","givenName":"Ana"},"displayName":"Ana Silva","preferredLanguage":"pt-PT","active":true,"emails":[{"value":"ana@contoso.test"}],"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Sales"}}`},
		{"ExcludedWholeExtensionAttrsEmptyObjectOmitted", "", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department,emails,phoneNumbers,addresses,groups,name,meta",
			`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],"id":"u1","externalId":"ana","userName":"ana@contoso.test","displayName":"Ana Silva","preferredLanguage":"pt-PT","active":true}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := schema.ParseProjection(tt.attributes, tt.excluded)
			if err != nil {
				t.Fatal(err)
			}
			got, err := users.Render(r, base, p)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("invalid JSON")
			}
		})
	}
}

func TestRenderReturnedRequest(t *testing.T) {
	ext, err := schema.ParseSchema([]byte(`{"id":"urn:acme:scim:ext:1.0","attributes":[
		{"name":"secretish","returned":"request"},{"name":"plain"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	rt := schema.NewRegistryWith([]schema.Extension{{Schema: ext}}, nil).ResourceType("User")
	r := &scimd.Resource{ID: "u", Attrs: map[string]any{"userName": "x",
		"urn:acme:scim:ext:1.0": map[string]any{"secretish": "s", "plain": "p"}}}
	for _, tt := range []struct{ attributes, want, notWant string }{
		{"", `"plain":"p"`, "secretish"},
		{"urn:acme:scim:ext:1.0:secretish", `"secretish":"s"`, "plain"},
		{"urn:acme:scim:ext:1.0", `"plain":"p"`, "secretish"},
	} {
		p, _ := schema.ParseProjection(tt.attributes, "")
		got, err := rt.Render(r, base, p)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(got), tt.want) || strings.Contains(string(got), tt.notWant) {
			t.Errorf("attributes=%q: %s", tt.attributes, got)
		}
	}
}

func TestRenderEscaping(t *testing.T) {
	r := &scimd.Resource{ID: "a\"b", Attrs: map[string]any{
		"userName":    "q\"\\\n\t\x01<>&\u2028é\xff",
		"displayName": "",
	}}
	got, err := users.Render(r, base, nil)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(got, &m); err != nil {
		t.Fatalf("%v: %s", err, got)
	}
	if m["userName"] != "q\"\\\n\t\x01<>&\u2028é\ufffd" {
		t.Errorf("userName = %q", m["userName"])
	}
	if !strings.Contains(string(got), "<>&") {
		t.Errorf("HTML escaped: %s", got)
	}
	if _, ok := m["displayName"]; ok {
		t.Errorf("empty string rendered (it is unassigned)")
	}
}

func TestIncludes(t *testing.T) {
	tests := []struct {
		attributes, excluded, name string
		rt                         *schema.ResourceType
		want                       bool
	}{
		{"", "", "members", grps, true},
		{"", "members", "members", grps, false},
		{"", "MEMBERS", "members", grps, false},
		{"displayName", "", "members", grps, false},
		{"members.value", "", "members", grps, true},
		{"", "members.display", "members", grps, true},
		{"", "", "groups", users, true},
		{"userName", "", "groups", users, false},
		{"", "", "password", users, false},
		{"", "id", "id", users, true},
		{"userName", "", "id", users, true},
		{"", "", "nonsense", users, false},
		{"urn:ietf:params:scim:schemas:core:2.0:Group", "", "members", grps, true},
	}
	for _, tt := range tests {
		p, err := schema.ParseProjection(tt.attributes, tt.excluded)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Includes(tt.rt, tt.name); got != tt.want {
			t.Errorf("attributes=%q excluded=%q Includes(%s) = %v", tt.attributes, tt.excluded, tt.name, got)
		}
	}
	var nilP *schema.Projection
	if !nilP.Includes(grps, "members") {
		t.Error("nil projection must include members")
	}
}

func TestParseProjection(t *testing.T) {
	p, err := schema.ParseProjection(" userName , name.givenName,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value,urn:acme:ext:1.0", "emails")
	if err != nil {
		t.Fatal(err)
	}
	got := canon(t, p)
	want := `{"Attributes":[{"URN":"","Name":"userName","Sub":""},{"URN":"","Name":"name","Sub":"givenName"},{"URN":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","Name":"manager","Sub":"value"},{"URN":"urn:acme:ext:1.0","Name":"","Sub":""}],"Excluded":[{"URN":"","Name":"emails","Sub":""}]}`
	if got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	for _, bad := range []string{"user name", "9lives", "name.", "a.b.c", "emails[type eq \"work\"]", "urn:", "urn:x::y"} {
		_, err := schema.ParseProjection(bad, "")
		wantScimErr(t, err, scimd.ScimTypeInvalidPath)
		_, err = schema.ParseProjection("", bad)
		wantScimErr(t, err, scimd.ScimTypeInvalidPath)
	}
}

// TestAppendRender checks that AppendRender appends exactly what Render
// returns, after what the buffer held, for a location and an id that need
// escaping too.
func TestAppendRender(t *testing.T) {
	r := renderUser(t)
	r.ID = `u"1\`
	r.Meta.Version = 1234567
	for _, b := range []string{base, `https://h/"q"`} {
		want, err := users.Render(r, b, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(want) {
			t.Fatalf("invalid JSON: %s", want)
		}
		got, err := users.AppendRender([]byte("prefix"), r, b, nil)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != "prefix"+string(want) {
			t.Errorf("got\n%s\nwant\nprefix%s", got, want)
		}
		var v struct {
			Meta struct{ Location, Version string }
		}
		if err := json.Unmarshal(want, &v); err != nil {
			t.Fatal(err)
		}
		if wantLoc := b + "/Users/" + r.ID; v.Meta.Location != wantLoc || v.Meta.Version != `W/"1234567"` {
			t.Errorf("meta %+v, want location %q, version W/\"1234567\"", v.Meta, wantLoc)
		}
	}
}
