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
