package schema_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
	"github.com/scimd/scimd/schema"
)

// FuzzDecode feeds arbitrary JSON bodies through Decode, Validate, Match
// and Render: nothing may panic, every error must be a *scimd.Error, and
// the output must be valid JSON. Seeds (real IdP bodies) are in
// testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{oktaCreate, oktaPut, entraCreate, entraGroup, oneLogin, oktaGroup} {
		f.Add([]byte(s))
	}
	filters := []filter.Expr{}
	for _, s := range []string{`userName eq "a"`, `emails[type eq "work"].value co "@"`, `active eq true`,
		`meta.lastModified gt "2024-01-01T00:00:00Z"`, `members[value eq "u1"]`, `displayName pr`} {
		if e, err := filter.Parse(s); err == nil {
			filters = append(filters, e)
		}
	}
	p, _ := schema.ParseProjection("userName,emails.value,members.display,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "")
	x, _ := schema.ParseProjection("", "name.givenName,members,groups")
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, useNumber := range []bool{true, false} {
			dec := json.NewDecoder(bytes.NewReader(data))
			if useNumber {
				dec.UseNumber()
			}
			var m map[string]any
			if dec.Decode(&m) != nil {
				return
			}
			for _, rt := range []*schema.ResourceType{users, grps} {
				r, err := rt.Decode(m)
				if err != nil {
					if _, ok := scimd.AsError(err); !ok {
						t.Fatalf("Decode error %T: %v", err, err)
					}
					continue
				}
				old, _ := rt.Decode(m)
				for _, o := range []*scimd.Resource{nil, old} {
					if err := rt.Validate(r, o); err != nil {
						if _, ok := scimd.AsError(err); !ok {
							t.Fatalf("Validate error %T: %v", err, err)
						}
					}
				}
				for _, e := range filters {
					if _, err := rt.Match(e, r); err != nil {
						if _, ok := scimd.AsError(err); !ok {
							t.Fatalf("Match error %T: %v", err, err)
						}
					}
				}
				r.ID = "x"
				for _, proj := range []*schema.Projection{nil, p, x} {
					out, err := rt.Render(r, "https://h/scim/v2", proj)
					if err != nil {
						t.Fatalf("Render: %v", err)
					}
					if !json.Valid(out) {
						t.Fatalf("Render produced invalid JSON: %s", out)
					}
				}
			}
		}
	})
}

// FuzzParseSchema feeds arbitrary schema definitions (the configuration
// format of custom extensions) to ParseSchema: nothing may panic, and a
// definition it accepts is served at /Schemas as a representation that
// ParseSchema accepts again and that serves back identically.
func FuzzParseSchema(f *testing.F) {
	for _, s := range []string{
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Schema"],"id":"urn:acme:scim:schemas:extension:hr:1.0:User","name":"HR","description":"HR data",` +
			`"attributes":[{"name":"badge","type":"String","mutability":"IMMUTABLE","caseExact":true},` +
			`{"name":"site","type":"complex","multiValued":true,"subAttributes":[{"name":"code","required":true},{"name":"$ref","type":"reference","referenceTypes":["external"]}]}],` +
			`"meta":{"resourceType":"Schema"}}`,
		`{"id":"urn:acme:x:1","attributes":[{"name":"level","type":"integer","returned":"request","uniqueness":"server"},{"name":"since","type":"dateTime","mutability":"readOnly"}]}`,
		`{"id":"urn:acme:x:1","attributes":[{"name":"a","canonicalValues":["x","y"],"returned":"never","mutability":"writeOnly"}]}`,
		`{"id":"urn:acme:x:1","attributes":[{"name":"a","type":"complex","subAttributes":[{"name":"b","type":"complex","subAttributes":[{"name":"c"}]}]}]}`,
		`{"id":"urn:acme:x:1","attributes":[null]}`, `{"id":"acme","attributes":[{"name":"a"}]}`, `{}`, `[]`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := schema.ParseSchema(data)
		if err != nil {
			return
		}
		served, err := schema.SchemaJSON(s, "https://scim.example.com/scim/v2")
		if err != nil {
			t.Fatalf("SchemaJSON of accepted %s: %v", data, err)
		}
		again, err := schema.ParseSchema(served)
		if err != nil {
			t.Fatalf("ParseSchema of the served %s (from %s): %v", served, data, err)
		}
		servedAgain, err := schema.SchemaJSON(again, "https://scim.example.com/scim/v2")
		if err != nil || !bytes.Equal(servedAgain, served) {
			t.Fatalf("served %s, then %s after parsing it again (%v)", served, servedAgain, err)
		}
	})
}
