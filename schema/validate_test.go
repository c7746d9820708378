package schema_test

import (
	"testing"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/schema"
)

func TestValidate(t *testing.T) {
	ext, err := schema.ParseSchema([]byte(`{"id":"urn:acme:scim:ext:1.0","attributes":[
		{"name":"badge","type":"string","mutability":"immutable"},
		{"name":"site","type":"complex","subAttributes":[{"name":"code","mutability":"immutable"},{"name":"label"}]},
		{"name":"costCode","required":true}]}`))
	if err != nil {
		t.Fatal(err)
	}
	acme := schema.NewRegistryWith([]schema.Extension{{Schema: ext}}, nil).ResourceType("User")
	const urn = "urn:acme:scim:ext:1.0"
	reqExt := schema.NewRegistryWith([]schema.Extension{{Schema: ext, Required: true}}, nil).ResourceType("User")

	res := func(rt *schema.ResourceType, s string) *scimd.Resource {
		t.Helper()
		r, err := rt.Decode(body(t, s))
		if err != nil {
			t.Fatalf("Decode: %v", err)
		}
		return r
	}
	tests := []struct {
		name     string
		rt       *schema.ResourceType
		in, old  string // old "" means create
		scimType string // "" for success
		schemas  string
	}{
		{"OktaCreate", users, oktaCreate, "", "", `["urn:ietf:params:scim:schemas:core:2.0:User"]`},
		{"EntraCreate", users, entraCreate, "", "", `["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]`},
		{"EntraGroup", grps, entraGroup, "", "", `["urn:ietf:params:scim:schemas:core:2.0:Group"]`},
		{"MissingUserName", users, `{"displayName":"x"}`, "", scimd.ScimTypeInvalidValue, ""},
		{"EmptyUserName", users, `{"userName":""}`, "", scimd.ScimTypeInvalidValue, ""},
		{"MissingGroupName", grps, `{"members":[{"value":"u1"}]}`, "", scimd.ScimTypeInvalidValue, ""},
		{"MemberWithoutValue", grps, `{"displayName":"g","members":[{"display":"x"}]}`, "", scimd.ScimTypeInvalidValue, ""},
		{"ImmutableUnchanged", acme, `{"userName":"x","` + urn + `":{"badge":"B1","costCode":"c"}}`, `{"userName":"x","` + urn + `":{"badge":"b1","costCode":"c"}}`, "", ""},
		{"ImmutableSetFirstTime", acme, `{"userName":"x","` + urn + `":{"badge":"B1","costCode":"c"}}`, `{"userName":"x"}`, "", ""},
		{"ImmutableChanged", acme, `{"userName":"x","` + urn + `":{"badge":"B2","costCode":"c"}}`, `{"userName":"x","` + urn + `":{"badge":"B1","costCode":"c"}}`, scimd.ScimTypeMutability, ""},
		{"ImmutableRemoved", acme, `{"userName":"x"}`, `{"userName":"x","` + urn + `":{"badge":"B1","costCode":"c"}}`, scimd.ScimTypeMutability, ""},
		{"ImmutableSubChanged", acme, `{"userName":"x","` + urn + `":{"site":{"code":"L2"},"costCode":"c"}}`, `{"userName":"x","` + urn + `":{"site":{"code":"L1"},"costCode":"c"}}`, scimd.ScimTypeMutability, ""},
		{"ImmutableSubOtherChanged", acme, `{"userName":"x","` + urn + `":{"site":{"code":"L1","label":"b"},"costCode":"c"}}`, `{"userName":"x","` + urn + `":{"site":{"code":"L1","label":"a"},"costCode":"c"}}`, "", ""},
		{"RequiredInPresentExtension", acme, `{"userName":"x","` + urn + `":{"badge":"B"}}`, "", scimd.ScimTypeInvalidValue, ""},
		{"OptionalExtensionAbsent", acme, `{"userName":"x"}`, "", "", `["urn:ietf:params:scim:schemas:core:2.0:User"]`},
		{"RequiredExtensionAbsent", reqExt, `{"userName":"x"}`, "", scimd.ScimTypeInvalidValue, ""},
		{"RequiredExtensionPresent", reqExt, `{"userName":"x","` + urn + `":{"costCode":"c"}}`, "", "", `["urn:ietf:params:scim:schemas:core:2.0:User","urn:acme:scim:ext:1.0"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := res(tt.rt, tt.in)
			var old *scimd.Resource
			if tt.old != "" {
				old = res(tt.rt, tt.old)
			}
			err := tt.rt.Validate(r, old)
			if tt.scimType != "" {
				wantScimErr(t, err, tt.scimType)
				return
			}
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if tt.schemas != "" {
				if got := canon(t, r.Schemas); got != tt.schemas {
					t.Errorf("Schemas = %s, want %s", got, tt.schemas)
				}
			}
		})
	}
}

// Validate also guards resources built in memory (by PATCH): two primaries
// and missing required sub-attributes are caught there too.
func TestValidateInMemory(t *testing.T) {
	r := &scimd.Resource{Type: "User", Attrs: map[string]any{
		"userName": "x",
		"emails": []any{
			map[string]any{"value": "a", "primary": true},
			map[string]any{"value": "b", "primary": true},
		},
	}}
	wantScimErr(t, users.Validate(r, nil), scimd.ScimTypeInvalidValue)

	// Extension keys in another case are canonicalised.
	r = &scimd.Resource{Type: "User", Attrs: map[string]any{
		"userName": "x",
		"URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER": map[string]any{"department": "D"},
	}}
	if err := users.Validate(r, nil); err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Attrs[schema.URNEnterpriseUser]; !ok || len(r.Schemas) != 2 {
		t.Errorf("extension not canonicalised: %v %v", r.Attrs, r.Schemas)
	}
	// Nil Attrs do not panic.
	wantScimErr(t, users.Validate(&scimd.Resource{}, nil), scimd.ScimTypeInvalidValue)
}
