package filter_test

import (
	"errors"
	"testing"

	"github.com/scimd/scimd/filter"
)

// roundTrip are limits for re-parsing canonical forms: the canonical form
// can be longer and more deeply parenthesised than the input it came from.
var roundTrip = filter.Limits{MaxLength: 1 << 20, MaxDepth: 1 << 10, MaxTerms: filter.DefaultLimits.MaxTerms}

// idpFilters are filters real IdP clients send (see the wire document),
// plus RFC 7644 examples.
var idpFilters = []string{
	`userName eq "ana.silva@acme.test"`,
	`displayName eq "Sales"`,
	`externalId eq "00u7f3kq2wXyZ"`,
	`userName eq "5b7f3e1c-9a2d-4c8e-b1f0-3d6a7e9c2b41"`,
	`emails[type eq "work"].value eq "ana.silva@acme.test"`,
	`username Eq "ana"`,
	`userName eq "a" and externalId eq "b"`,
	`meta.lastModified gt "2011-05-13T04:42:34Z"`,
	`userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")`,
	`userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")`,
	`emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]`,
	`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915"`,
	`title pr and active eq true and x ge -1.5e3`,
	`name.familyName co "O\u0027Malley \ud83d\ude00 \"q\""`,
}

// idpPaths are PATCH paths real IdP clients send.
var idpPaths = []string{
	`members[value eq "9b1c0d6e"]`,
	`members`,
	`emails[type eq "work"].value`,
	`addresses[type eq "work"].streetAddress`,
	`phoneNumbers[type eq "mobile"].value`,
	`name.familyName`,
	`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager`,
	`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`,
	`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`,
	`active`,
}

func FuzzParse(f *testing.F) {
	for _, s := range idpFilters {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := filter.Parse(s)
		if err != nil {
			var fe *filter.Error
			if !errors.As(err, &fe) || fe.Pos < 0 || fe.Pos > len(s) {
				t.Fatalf("bad error %#v", err)
			}
			return
		}
		c1 := e.String()
		e2, err := roundTrip.Parse(c1)
		if err != nil {
			t.Fatalf("canonical %q does not parse: %v", c1, err)
		}
		if c2 := e2.String(); c2 != c1 {
			t.Fatalf("canonical form not stable:\n%s\n%s", c1, c2)
		}
	})
}

func FuzzParsePath(f *testing.F) {
	for _, s := range idpPaths {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if a, err := filter.ParseAttrPath(s); err == nil {
			a2, err := filter.ParseAttrPath(a.String())
			if err != nil || a2 != a {
				t.Fatalf("attribute path %q: round trip gave %#v, %v", a, a2, err)
			}
		}
		p, err := filter.ParsePath(s)
		if err != nil {
			var fe *filter.Error
			if !errors.As(err, &fe) || fe.Pos < 0 || fe.Pos > len(s) {
				t.Fatalf("bad error %#v", err)
			}
			return
		}
		c1 := p.String()
		p2, err := roundTrip.ParsePath(c1)
		if err != nil {
			t.Fatalf("canonical %q does not parse: %v", c1, err)
		}
		if c2 := p2.String(); c2 != c1 {
			t.Fatalf("canonical form not stable:\n%s\n%s", c1, c2)
		}
	})
}
