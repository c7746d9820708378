package schema_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/schema"
)

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		rt      *schema.ResourceType
		in      string
		want    string // canonical JSON of Attrs
		members string // canonical JSON of Members, when checked
	}{
		{"OktaCreate", users, oktaCreate,
			`{"active":true,"displayName":"Ana Silva","emails":[{"primary":true,"type":"work","value":"ana.silva@acme.test"}],"externalId":"00u7f3kq2wXyZ","locale":"en-US","name":{"familyName":"Silva","givenName":"Ana"},"password":"Tq9v2mLa","userName":"ana.silva@acme.test"}`, ""},
		{"OktaPutWithReadOnly", users, oktaPut,
			`{"active":true,"displayName":"Ana Silva-Costa","emails":[{"primary":true,"type":"work","value":"ana.silva@acme.test"}],"externalId":"00u7f3kq2wXyZ","locale":"en-US","name":{"familyName":"Silva-Costa","givenName":"Ana"},"password":"Tq9v2mLa","userName":"ana.silva@acme.test"}`, ""},
		{"EntraCreate", users, entraCreate,
			`{"active":true,"addresses":[{"country":"PT","locality":"Lisbon","postalCode":"1000-001","primary":true,"streetAddress":"1 Main St","type":"work"}],"displayName":"Ana Silva","emails":[{"primary":true,"type":"work","value":"ana@contoso.test"}],"externalId":"ana","name":{"familyName":"Silva","formatted":"Ana Silva","givenName":"Ana"},"phoneNumbers":[{"primary":true,"type":"mobile","value":"+351 900 000 000"}],"preferredLanguage":"pt-PT","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Sales","employeeNumber":"701984","manager":{"value":"mgr-1"}},"userName":"ana@contoso.test"}`, ""},
		{"EntraGroupADSCIM", grps, entraGroup,
			`{"displayName":"Sales","externalId":"8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159"}`, "null"},
		{"OneLoginV1StringBooleans", users, oneLogin,
			`{"active":true,"emails":[{"primary":true,"value":"bo@acme.test"}],"name":{"familyName":"Li","givenName":"Bo"},"userName":"bo@acme.test"}`, ""},
		{"OktaGroupMembers", grps, oktaGroup,
			`{"displayName":"Eng"}`,
			`[{"Value":"u1","Type":"","Display":"ana@acme.test"},{"Value":"g2","Type":"Group","Display":""}]`},
		{"EmptyMembersKept", grps, `{"displayName":"Eng","members":[]}`, `{"displayName":"Eng"}`, `[]`},
		{"EntraMembersNullRef", grps, `{"displayName":"Eng","members":[{"$ref":null,"value":"u1"},{"$ref":null,"value":"u2"}]}`,
			`{"displayName":"Eng"}`, `[{"Value":"u1","Type":"","Display":""},{"Value":"u2","Type":"","Display":""}]`},
		{"CaseInsensitiveKeys", users, `{"SCHEMAS":["URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER"],"USERNAME":"x","Name":{"GIVENNAME":"A"},"Emails":[{"Value":"a@b","PRIMARY":"False"}]}`,
			`{"emails":[{"primary":false,"value":"a@b"}],"name":{"givenName":"A"},"userName":"x"}`, ""},
		{"NoSchemasLenient", users, `{"userName":"x"}`, `{"userName":"x"}`, ""},
		{"SingleToList", users, `{"userName":"x","emails":{"value":"a@b"},"phoneNumbers":[null,{},{"value":null}]}`,
			`{"emails":[{"value":"a@b"}],"userName":"x"}`, ""},
		{"EntraRolesJSONString", users, `{"userName":"x","roles":[{"value":"{\"id\":\"r1\",\"value\":\"Admin\",\"displayName\":\"Admin\"}","primary":false}]}`,
			`{"roles":[{"primary":false,"value":"{\"id\":\"r1\",\"value\":\"Admin\",\"displayName\":\"Admin\"}"}],"userName":"x"}`, ""},
		{"ManagerObjectDropsReadOnly", users, `{"userName":"x","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m","displayName":"Boss","$ref":"https://h/Users/m"}}}`,
			`{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"$ref":"https://h/Users/m","value":"m"}},"userName":"x"}`, ""},
		{"URNQualifiedKeys", users, `{"urn:ietf:params:scim:schemas:core:2.0:User:userName":"x","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department":"D"}`,
			`{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D"},"userName":"x"}`, ""},
		{"ExtensionCaseFolded", users, `{"userName":"x","URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER":{"Department":"D"}}`,
			`{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D"},"userName":"x"}`, ""},
		{"UnknownDropped", users, `{"userName":"x","favouriteColour":"blue","urn:acme:ext:1.0:User":{"a":1},"name":{"nick":"n"}}`,
			`{"userName":"x"}`, ""},
		{"DateTimeNormalised", users, `{"userName":"x","urn:acme:x":1}`, `{"userName":"x"}`, ""},
		{"EmptyExtensionDropped", users, `{"userName":"x","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":null}}`,
			`{"userName":"x"}`, ""},
		{"SingleElementListForSingle", users, `{"userName":["x"]}`, `{"userName":"x"}`, ""},
		{"X509Base64", users, `{"userName":"x","x509Certificates":[{"value":"TUlJQ2lqQ0NBZk9n"}]}`,
			`{"userName":"x","x509Certificates":[{"value":"TUlJQ2lqQ0NBZk9n"}]}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := tt.rt.Decode(body(t, tt.in))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got := canon(t, r.Attrs); got != tt.want {
				t.Errorf("Attrs:\n got %s\nwant %s", got, tt.want)
			}
			if tt.members != "" {
				if got := canon(t, r.Members); got != tt.members {
					t.Errorf("Members:\n got %s\nwant %s", got, tt.members)
				}
			}
			if r.Type != tt.rt.Name {
				t.Errorf("Type = %q", r.Type)
			}
		})
	}
}

func TestDecodeNumbers(t *testing.T) {
	ext, err := schema.ParseSchema([]byte(`{"id":"urn:acme:scim:ext:1.0","name":"Acme","attributes":[
		{"name":"level","type":"integer"},{"name":"score","type":"decimal"},{"name":"hired","type":"dateTime"},
		{"name":"tags","type":"string","multiValued":true},{"name":"badge","type":"string","mutability":"immutable"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	rt := schema.NewRegistryWith([]schema.Extension{{Schema: ext}}, nil).ResourceType("User")
	const urn = "urn:acme:scim:ext:1.0"
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"JSONNumberInt", map[string]any{"level": json.Number("3"), "score": json.Number("2")}, `{"level":3,"score":2}`},
		{"Float64Int", map[string]any{"level": float64(7), "score": 1.5}, `{"level":7,"score":1.5}`},
		{"Exponent", map[string]any{"level": json.Number("1e3")}, `{"level":1000}`},
		{"Int64", map[string]any{"level": int64(-4), "score": int64(9)}, `{"level":-4,"score":9}`},
		{"DateTime", map[string]any{"hired": "2024-05-01t12:00:00.500+02:00"}, `{"hired":"2024-05-01T10:00:00.5Z"}`},
		{"DateTimeNoFraction", map[string]any{"hired": "2024-05-01T12:00:00.000Z"}, `{"hired":"2024-05-01T12:00:00Z"}`},
		{"SimpleMulti", map[string]any{"tags": "a"}, `{"tags":["a"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := rt.Decode(map[string]any{"userName": "x", urn: tt.in})
			if err != nil {
				t.Fatal(err)
			}
			if got := canon(t, r.Attrs[urn]); got != tt.want {
				t.Errorf("got %s want %s", got, tt.want)
			}
		})
	}
	// Integer types survive as int64.
	r, err := rt.Decode(map[string]any{urn: map[string]any{"level": json.Number("12")}})
	if err != nil {
		t.Fatal(err)
	}
	if v := r.Attrs[urn].(map[string]any)["level"]; v != int64(12) {
		t.Errorf("level = %#v, want int64(12)", v)
	}
	for _, bad := range []map[string]any{
		{"level": json.Number("1.5")}, {"level": 2.25}, {"level": "3"}, {"score": "x"},
		{"hired": "yesterday"}, {"hired": 5}, {"level": json.Number("1e400")},
	} {
		_, err := rt.Decode(map[string]any{urn: bad})
		wantScimErr(t, err, scimd.ScimTypeInvalidValue)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name    string
		rt      *schema.ResourceType
		in      string
		mention string // the detail must mention this
	}{
		{"WrongCoreSchema", users, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"userName":"x"}`, "urn:ietf:params:scim:schemas:core:2.0:User"},
		{"SchemasNotList", users, `{"schemas":5,"userName":"x"}`, "schemas"},
		{"SchemasNonString", users, `{"schemas":[1],"userName":"x"}`, "schemas"},
		{"NumberForString", users, `{"userName":5}`, "userName"},
		{"BoolForString", users, `{"displayName":true}`, "displayName"},
		{"BadBoolean", users, `{"active":"yes"}`, "active"},
		{"NumberBoolean", users, `{"active":1}`, "active"},
		{"ObjectForString", users, `{"title":{"a":1}}`, "title"},
		{"ListForSingle", users, `{"userName":["a","b"]}`, "userName"},
		{"NumberForComplex", users, `{"name":3}`, "name"},
		{"StringForComplexWithoutValue", users, `{"name":"Ana Silva"}`, "name"},
		{"SubTypeWrong", users, `{"emails":[{"value":"a","primary":"maybe"}]}`, "emails.primary"},
		{"TwoPrimaries", users, `{"emails":[{"value":"a","primary":true},{"value":"b","primary":"True"}]}`, "emails"},
		{"NestedList", users, `{"emails":[[{"value":"a"}]]}`, "emails"},
		{"ExtensionNotObject", users, `{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":"x"}`, "enterprise"},
		{"ExtensionAttrWrongType", users, `{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":7}}`, "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"},
		{"ManagerWrongType", users, `{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":4}}`, "manager"},
		{"DuplicateCase", users, `{"userName":"a","USERNAME":"b"}`, "userName"},
		{"BadBinary", users, `{"x509Certificates":[{"value":"not base64!"}]}`, "x509Certificates.value"},
		{"MembersNotList", grps, `{"displayName":"g","members":5}`, "members"},
		{"MemberValueNumber", grps, `{"displayName":"g","members":[{"value":5}]}`, "members.value"},
		{"ExternalIdNumber", users, `{"externalId":12}`, "externalId"},
		{"PasswordNumber", users, `{"password":12}`, "password"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.rt.Decode(body(t, tt.in))
			wantScimErr(t, err, scimd.ScimTypeInvalidValue)
			if e, _ := scimd.AsError(err); !strings.Contains(e.Detail, tt.mention) {
				t.Errorf("detail %q does not mention %q", e.Detail, tt.mention)
			}
		})
	}
}

func TestCoerceValue(t *testing.T) {
	emails := users.Schema.Attr("emails")
	active := users.Schema.Attr("active")
	manager := reg.Schema(schema.URNEnterpriseUser).Attr("manager")
	tests := []struct {
		name string
		a    *schema.Attribute
		in   any
		want string
	}{
		{"EntraDisableString", active, "False", `false`},
		{"Bool", active, true, `true`},
		{"SingleElement", emails, map[string]any{"value": "a@b", "type": "work"}, `[{"type":"work","value":"a@b"}]`},
		{"List", emails, []any{map[string]any{"Value": "a@b"}}, `[{"value":"a@b"}]`},
		{"EmptyList", emails, []any{}, `null`},
		{"Null", active, nil, `null`},
		{"EntraManagerString", manager, "mgr-1", `{"value":"mgr-1"}`},
		{"ManagerOldForm", manager, []any{map[string]any{"$ref": nil, "value": "m2"}}, `{"value":"m2"}`},
		{"SubAttribute", emails.Sub("value"), "x@y", `"x@y"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := schema.CoerceValue(tt.a, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if s := canon(t, got); s != tt.want {
				t.Errorf("got %s want %s", s, tt.want)
			}
		})
	}
	_, err := schema.CoerceValue(active, "nope")
	wantScimErr(t, err, scimd.ScimTypeInvalidValue)
	_, err = schema.CoerceValue(nil, "x")
	if _, ok := scimd.AsError(err); !ok {
		t.Errorf("nil attribute: got %v", err)
	}
}
