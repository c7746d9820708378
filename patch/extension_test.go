package patch_test

import (
	"reflect"
	"testing"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/patch"
	"github.com/scimd/scimd/schema"
)

const urnAcme = "urn:example:params:scim:schemas:extension:acme:2.0:User"

// acmeUser is the User resource type with a custom extension holding an
// immutable attribute, numbers, a date-time and a multi-valued string.
var acmeUser = schema.NewRegistryWith([]schema.Extension{{Schema: &schema.Schema{
	ID:   urnAcme,
	Name: "AcmeUser",
	Attributes: []*schema.Attribute{
		{Name: "badge", Type: schema.String, Mutability: schema.Immutable, CaseExact: true},
		{Name: "level", Type: schema.Integer, Mutability: schema.ReadWrite},
		{Name: "score", Type: schema.Decimal, Mutability: schema.ReadWrite},
		{Name: "hired", Type: schema.DateTime, Mutability: schema.ReadWrite},
		{Name: "tags", Type: schema.String, MultiValued: true, Mutability: schema.ReadWrite},
		{Name: "badges", Type: schema.Complex, MultiValued: true, Mutability: schema.ReadWrite, SubAttributes: []*schema.Attribute{
			{Name: "value", Type: schema.String, Mutability: schema.Immutable, CaseExact: true},
			{Name: "label", Type: schema.String, Mutability: schema.ReadWrite},
		}},
	},
}}}, nil).ResourceType(scimd.TypeUser)

func acmeSample() *scimd.Resource {
	r := sampleUser()
	r.Schemas = append(r.Schemas, urnAcme)
	r.Attrs[urnAcme] = map[string]any{
		"badge":  "B-1",
		"level":  int64(3),
		"tags":   []any{"Blue", "green"},
		"badges": []any{map[string]any{"value": "b1", "label": "one"}},
	}
	return r
}

func TestApplyCustomExtension(t *testing.T) {
	tests := []applyTest{
		{name: "ImmutableSameValue",
			body: `{"op":"replace","path":"urn:example:params:scim:schemas:extension:acme:2.0:User:badge","value":"B-1"}`,
			want: `{"urn:example:params:scim:schemas:extension:acme:2.0:User":{"badge":"B-1","level":3,"tags":["Blue","green"],"badges":[{"value":"b1","label":"one"}]}}`},
		{name: "ImmutableChange",
			body:   `{"op":"replace","path":"urn:example:params:scim:schemas:extension:acme:2.0:User:badge","value":"B-2"}`,
			status: bad, scimType: "mutability", detail: "badge"},
		{name: "ImmutableChangeNoPath",
			body:   `{"op":"replace","value":{"urn:example:params:scim:schemas:extension:acme:2.0:User":{"badge":"b-1"}}}`,
			status: bad, scimType: "mutability"},
		{name: "ImmutableRemove",
			body:   `{"op":"remove","path":"urn:example:params:scim:schemas:extension:acme:2.0:User:badge"}`,
			status: bad, scimType: "mutability"},
		{name: "ImmutableSetWhenAbsent",
			resource: sampleUser,
			body:     `{"op":"add","path":"urn:example:params:scim:schemas:extension:acme:2.0:User:badge","value":"B-9"}`,
			want:     `{"urn:example:params:scim:schemas:extension:acme:2.0:User":{"badge":"B-9"}}`},
		{name: "ImmutableSubChange",
			body:   `{"op":"replace","path":"urn:example:params:scim:schemas:extension:acme:2.0:User:badges[label eq \"one\"].value","value":"b2"}`,
			status: bad, scimType: "mutability", detail: "badges.value"},
		{name: "ImmutableSubNewElement",
			body: `{"op":"add","path":"urn:example:params:scim:schemas:extension:acme:2.0:User:badges","value":[{"value":"b2"}]}`,
			want: `{"urn:example:params:scim:schemas:extension:acme:2.0:User":{"badge":"B-1","level":3,"tags":["Blue","green"],"badges":[{"value":"b1","label":"one"},{"value":"b2"}]}}`},
		{name: "NumbersCoerced",
			body: `{"op":"replace","value":{"urn:example:params:scim:schemas:extension:acme:2.0:User:level":4.0,"urn:example:params:scim:schemas:extension:acme:2.0:User:score":2}}`,
			want: `{"urn:example:params:scim:schemas:extension:acme:2.0:User":{"badge":"B-1","level":4,"score":2,"tags":["Blue","green"],"badges":[{"value":"b1","label":"one"}]}}`},
		{name: "SimpleMultiAddDuplicateCaseInsensitive",
			body: `{"op":"add","path":"urn:example:params:scim:schemas:extension:acme:2.0:User:tags","value":["BLUE","red"]}`,
			want: `{"urn:example:params:scim:schemas:extension:acme:2.0:User":{"badge":"B-1","level":3,"tags":["Blue","green","red"],"badges":[{"value":"b1","label":"one"}]}}`},
		{name: "SimpleMultiRemoveFilter",
			body: `{"op":"remove","path":"urn:example:params:scim:schemas:extension:acme:2.0:User:tags[value eq \"green\"]"}`,
			want: `{"urn:example:params:scim:schemas:extension:acme:2.0:User":{"badge":"B-1","level":3,"tags":["Blue"],"badges":[{"value":"b1","label":"one"}]}}`},
		{name: "SimpleMultiRemoveListed",
			body: `{"op":"remove","path":"urn:example:params:scim:schemas:extension:acme:2.0:User:tags","value":["blue"]}`,
			want: `{"urn:example:params:scim:schemas:extension:acme:2.0:User":{"badge":"B-1","level":3,"tags":["green"],"badges":[{"value":"b1","label":"one"}]}}`},
		{name: "SimpleMultiReplaceFilter",
			body: `{"op":"replace","path":"urn:example:params:scim:schemas:extension:acme:2.0:User:tags[value eq \"green\"]","value":"teal"}`,
			want: `{"urn:example:params:scim:schemas:extension:acme:2.0:User":{"badge":"B-1","level":3,"tags":["Blue","teal"],"badges":[{"value":"b1","label":"one"}]}}`},
		{name: "DateTimeCanonical",
			body: `{"op":"add","path":"urn:example:params:scim:schemas:extension:acme:2.0:User:hired","value":"2024-05-01t12:00:00+01:00"}`,
			want: `{"urn:example:params:scim:schemas:extension:acme:2.0:User":{"badge":"B-1","level":3,"hired":"2024-05-01T11:00:00Z","tags":["Blue","green"],"badges":[{"value":"b1","label":"one"}]}}`},
		{name: "BadInteger",
			body:   `{"op":"add","path":"urn:example:params:scim:schemas:extension:acme:2.0:User:level","value":"high"}`,
			status: bad, scimType: "invalidValue", detail: "level"},
	}
	for _, tt := range tests {
		tt.rt = acmeUser
		if tt.resource == nil {
			tt.resource = acmeSample
		}
		t.Run(tt.name, func(t *testing.T) { runApply(t, tt) })
	}
}

// TestApplyRepeatable checks that Apply leaves the operations unchanged, so
// a store can run it again when it retries a transaction.
func TestApplyRepeatable(t *testing.T) {
	ops, err := patch.Decode([]byte(body(`
		{"op":"Add","path":"addresses[type eq \"work\"].locality","value":"Lisboa"},
		{"op":"Add","path":"addresses[type eq \"work\"].region","value":"Lisboa"},
		{"op":"add","path":"emails","value":{"value":"x@y.test","primary":true}},
		{"op":"replace","path":"emails[value eq \"x@y.test\"]","value":{"value":"x@y.test","primary":true,"type":"other"}},
		{"op":"add","value":{"name":{"middleName":"M"},"name.givenName":"Anna"}}`)))
	if err != nil {
		t.Fatal(err)
	}
	rt := resourceType(t, scimd.TypeUser)
	r1, r2 := sampleUser(), sampleUser()
	if _, err := patch.Apply(rt, r1, ops); err != nil {
		t.Fatal(err)
	}
	if _, err := patch.Apply(rt, r2, ops); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(r1.Attrs, r2.Attrs) {
		t.Fatalf("second Apply differs:\n%v\n%v", r1.Attrs, r2.Attrs)
	}
	checkAttrs(t, r1.Attrs, `{"addresses":[{"type":"work","locality":"Lisboa","region":"Lisboa"}],
		"emails":[{"value":"ana.silva@acme.test","type":"work","primary":false},{"value":"ana@home.test","type":"home"},{"value":"x@y.test","primary":true,"type":"other"}],
		"name":{"givenName":"Anna","familyName":"Silva","middleName":"M"}}`)
}

func TestApplyNilAttrs(t *testing.T) {
	ops, err := patch.Decode([]byte(body(`{"op":"add","value":{"userName":"bo"}}`)))
	if err != nil {
		t.Fatal(err)
	}
	r := &scimd.Resource{Type: scimd.TypeUser, ID: "x"}
	if _, err := patch.Apply(resourceType(t, scimd.TypeUser), r, ops); err != nil {
		t.Fatal(err)
	}
	checkAttrs(t, r.Attrs, `{"userName":"bo"}`)
}
