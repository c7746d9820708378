package schema_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
	"github.com/scimd/scimd/schema"
)

func TestResolve(t *testing.T) {
	ent := schema.URNEnterpriseUser
	tests := []struct {
		rt        *schema.ResourceType
		path      filter.AttrPath
		schema    string // "" for common attributes
		attr, sub string // "" attr: whole schema
		key       string
	}{
		{users, filter.AttrPath{Name: "USERNAME"}, schema.URNUser, "userName", "", ""},
		{users, filter.AttrPath{Name: "id"}, "", "id", "", ""},
		{users, filter.AttrPath{Name: "Meta", Sub: "LASTMODIFIED"}, "", "meta", "lastModified", ""},
		{users, filter.AttrPath{Name: "name", Sub: "givenname"}, schema.URNUser, "name", "givenName", ""},
		{users, filter.AttrPath{URN: schema.URNUser, Name: "emails", Sub: "value"}, schema.URNUser, "emails", "value", ""},
		{users, filter.AttrPath{URN: strings.ToUpper(ent), Name: "manager", Sub: "$REF"}, ent, "manager", "$ref", ent},
		{users, filter.AttrPath{URN: "urn:ietf:params:scim:schemas:extension:enterprise:2.0", Name: "User"}, ent, "", "", ent},
		{users, filter.AttrPath{URN: ent}, ent, "", "", ent},
		{users, filter.AttrPath{URN: schema.URNUser, Name: "id"}, "", "id", "", ""},
		{users, filter.AttrPath{URN: schema.URNCoreV1, Name: "userName"}, schema.URNUser, "userName", "", ""},
		{grps, filter.AttrPath{Name: "members", Sub: "value"}, schema.URNGroup, "members", "value", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path.String(), func(t *testing.T) {
			res, err := tt.rt.Resolve(tt.path)
			if err != nil {
				t.Fatal(err)
			}
			gotSchema := ""
			if res.Schema != nil {
				gotSchema = res.Schema.ID
			}
			gotAttr, gotSub := "", ""
			if res.Attr != nil {
				gotAttr = res.Attr.Name
			}
			if res.Sub != nil {
				gotSub = res.Sub.Name
			}
			if gotSchema != tt.schema || gotAttr != tt.attr || gotSub != tt.sub || res.Key(tt.rt) != tt.key {
				t.Errorf("got %q %q %q key %q", gotSchema, gotAttr, gotSub, res.Key(tt.rt))
			}
		})
	}
	for _, p := range []filter.AttrPath{
		{Name: "nope"}, {Name: "userName", Sub: "x"}, {Name: "name", Sub: "nope"},
		{URN: "urn:acme:x", Name: "y"}, {Name: "groups"} /* not on Group */, {Name: "employeeNumber"},
		{URN: "urn:ietf:params:scim:schemas:extension:enterprise:2.0", Name: "User", Sub: "x"},
	} {
		rt := users
		if p.Name == "groups" {
			rt = grps
		}
		_, err := rt.Resolve(p)
		wantScimErr(t, err, scimd.ScimTypeInvalidPath)
	}
}

func TestBuiltinDefinitions(t *testing.T) {
	u := users.Schema
	check := func(a *schema.Attribute, what string, ok bool) {
		t.Helper()
		if !ok {
			t.Errorf("%s: wrong %s", a.Name, what)
		}
	}
	un := u.Attr("userName")
	check(un, "characteristics", un.Required && un.Uniqueness == schema.Server && !un.CaseExact)
	pw := u.Attr("password")
	check(pw, "characteristics", pw.Mutability == schema.WriteOnly && pw.Returned == schema.Never)
	g := u.Attr("groups")
	check(g, "mutability", g.Mutability == schema.ReadOnly && g.Sub("$ref").Mutability == schema.ReadOnly)
	check(u.Attr("active"), "type", u.Attr("active").Type == schema.Boolean)
	for _, n := range []string{"formatted", "streetAddress", "locality", "region", "postalCode", "country", "type", "primary"} {
		if u.Attr("addresses").Sub(n) == nil {
			t.Errorf("addresses.%s missing", n)
		}
	}
	for _, n := range []string{"formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix"} {
		if u.Attr("name").Sub(n) == nil {
			t.Errorf("name.%s missing", n)
		}
	}
	id := schema.CommonAttributes[0]
	check(id, "id", id.Name == "id" && id.CaseExact && id.Returned == schema.Always && id.Mutability == schema.ReadOnly)
	m := grps.Schema.Attr("members")
	check(m, "members", m.Sub("value").Mutability == schema.Immutable && m.Sub("value").Required && m.Sub("type").Mutability == schema.Immutable)
	mgr := reg.Schema(schema.URNEnterpriseUser).Attr("manager")
	check(mgr, "displayName", mgr.Sub("displayName").Mutability == schema.ReadOnly)
	dn := grps.Schema.Attr("displayName")
	check(dn, "displayName", dn.Required && dn.Uniqueness == schema.Server)
	if users.Endpoint != "/Users" || grps.Endpoint != "/Groups" {
		t.Error("endpoints")
	}
}

func TestDiscoveryJSON(t *testing.T) {
	for _, s := range reg.Schemas() {
		b, err := schema.SchemaJSON(s, base)
		if err != nil {
			t.Fatal(err)
		}
		if !json.Valid(b) || strings.Contains(string(b), "null") || strings.Contains(string(b), `\u0026`) {
			t.Fatalf("%s: bad JSON %s", s.ID, b)
		}
		var got struct {
			Schemas    []string
			ID         string
			Attributes []struct {
				Name, Type, Mutability, Returned, Uniqueness string
				SubAttributes                                []struct{ Name, Mutability string }
			}
			Meta struct{ ResourceType, Location string }
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if got.Schemas[0] != schema.URNSchema || got.ID != s.ID || got.Meta.ResourceType != "Schema" || got.Meta.Location != base+"/Schemas/"+s.ID {
			t.Errorf("%s: header %+v", s.ID, got)
		}
		if len(got.Attributes) != len(s.Attributes) {
			t.Fatalf("%s: %d attributes, want %d", s.ID, len(got.Attributes), len(s.Attributes))
		}
		for i, a := range s.Attributes {
			g := got.Attributes[i]
			if g.Name != a.Name || g.Type != string(a.Type) || g.Mutability == "" || g.Returned == "" || g.Uniqueness == "" ||
				len(g.SubAttributes) != len(a.SubAttributes) {
				t.Errorf("%s: attribute %s: %+v", s.ID, a.Name, g)
			}
		}
	}
	for _, rt := range reg.ResourceTypes() {
		b, err := schema.ResourceTypeJSON(rt, base)
		if err != nil {
			t.Fatal(err)
		}
		var got map[string]any
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if got["id"] != rt.Name || got["endpoint"] != rt.Endpoint || got["schema"] != rt.Schema.ID ||
			got["meta"].(map[string]any)["location"] != base+"/ResourceTypes/"+rt.Name {
			t.Errorf("%s: %s", rt.Name, b)
		}
		if rt.Name == "User" && !strings.Contains(string(b), `"schemaExtensions":[{"schema":"`+schema.URNEnterpriseUser+`","required":false}]`) {
			t.Errorf("User extensions: %s", b)
		}
		if rt.Name == "Group" && strings.Contains(string(b), "schemaExtensions") {
			t.Errorf("Group extensions: %s", b)
		}
	}
}

func TestParseSchema(t *testing.T) {
	s, err := schema.ParseSchema([]byte(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Schema"],
		"id":"urn:acme:scim:schemas:extension:hr:1.0:User","name":"HR","description":"HR data",
		"attributes":[{"name":"badge","type":"String","mutability":"IMMUTABLE","caseExact":true},
		{"name":"site","type":"complex","subAttributes":[{"name":"code"},{"name":"$ref","type":"reference","referenceTypes":["external"]}]}],
		"meta":{"resourceType":"Schema"}}`))
	if err != nil {
		t.Fatal(err)
	}
	b := s.Attr("badge")
	if b.Type != schema.String || b.Mutability != schema.Immutable || b.Returned != schema.Default || b.Uniqueness != schema.None || !b.CaseExact {
		t.Errorf("badge: %+v", b)
	}
	if c := s.Attr("site").Sub("code"); c.Type != schema.String || c.Mutability != schema.ReadWrite {
		t.Errorf("site.code: %+v", c)
	}
	for _, tt := range []struct{ name, in, mention string }{
		{"NotJSON", `{`, "invalid"},
		{"NotURN", `{"id":"acme","attributes":[{"name":"a"}]}`, "URN"},
		{"BuiltIn", `{"id":"urn:ietf:params:scim:schemas:core:2.0:User","attributes":[{"name":"a"}]}`, "built-in"},
		{"NoAttributes", `{"id":"urn:acme:x:1"}`, "no attributes"},
		{"BadName", `{"id":"urn:acme:x:1","attributes":[{"name":"1a"}]}`, "invalid name"},
		{"RefTopLevel", `{"id":"urn:acme:x:1","attributes":[{"name":"$ref"}]}`, "invalid name"},
		{"Duplicate", `{"id":"urn:acme:x:1","attributes":[{"name":"a"},{"name":"A"}]}`, "twice"},
		{"BadType", `{"id":"urn:acme:x:1","attributes":[{"name":"a","type":"strin"}]}`, "invalid type"},
		{"BadMutability", `{"id":"urn:acme:x:1","attributes":[{"name":"a","mutability":"sometimes"}]}`, "mutability"},
		{"BadReturned", `{"id":"urn:acme:x:1","attributes":[{"name":"a","returned":"maybe"}]}`, "returned"},
		{"BadUniqueness", `{"id":"urn:acme:x:1","attributes":[{"name":"a","uniqueness":"yes"}]}`, "uniqueness"},
		{"ComplexNoSubs", `{"id":"urn:acme:x:1","attributes":[{"name":"a","type":"complex"}]}`, "subAttributes"},
		{"SubsOnSimple", `{"id":"urn:acme:x:1","attributes":[{"name":"a","subAttributes":[{"name":"b"}]}]}`, "only complex"},
		{"NestedComplex", `{"id":"urn:acme:x:1","attributes":[{"name":"a","type":"complex","subAttributes":[{"name":"b","type":"complex","subAttributes":[{"name":"c"}]}]}]}`, "nested"},
		{"Typo", `{"id":"urn:acme:x:1","attributes":[{"name":"a","mutabilty":"readOnly"}]}`, "mutabilty"},
		{"NullAttr", `{"id":"urn:acme:x:1","attributes":[null]}`, "null"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := schema.ParseSchema([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.mention) {
				t.Errorf("got %v, want error mentioning %q", err, tt.mention)
			}
		})
	}
}
