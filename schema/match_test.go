package schema_test

import (
	"testing"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
	"github.com/scimd/scimd/schema"
)

func matchUser(t *testing.T) *scimd.Resource {
	t.Helper()
	r, err := users.Decode(body(t, `{"userName":"Ana.Silva@Acme.test","externalId":"00uAbC",
		"displayName":"Ana Silva","active":true,"title":"Engineer",
		"name":{"givenName":"Ana","familyName":"Silva"},
		"emails":[{"value":"ana@acme.test","type":"work","primary":true},{"value":"ana@home.test","type":"home"}],
		"phoneNumbers":[{"value":"+351 1","type":"mobile"}],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"701984","department":"Sales","manager":"mgr-1"}}`))
	if err != nil {
		t.Fatal(err)
	}
	r.ID = "5b0e7c1e"
	r.Meta = scimd.Meta{
		Created:      time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC),
		LastModified: time.Date(2024, 6, 1, 10, 0, 0, 500_000_000, time.UTC),
		Version:      3,
	}
	r.Groups = []scimd.GroupRef{{Value: "g1", Display: "Sales"}}
	return r
}

func TestMatch(t *testing.T) {
	u := matchUser(t)
	tests := []struct {
		filter string
		want   bool
	}{
		// eq / ne and caseExact.
		{`userName eq "ana.silva@acme.test"`, true},
		{`USERNAME Eq "ANA.SILVA@ACME.TEST"`, true},
		{`userName ne "ana.silva@acme.test"`, false},
		{`userName ne "bob"`, true},
		{`externalId eq "00uAbC"`, true},
		{`externalId eq "00uabc"`, false},
		{`id eq "5b0e7c1e"`, true},
		{`id eq "5B0E7C1E"`, false},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName eq "ana.silva@acme.test"`, true},
		// co / sw / ew.
		{`userName co "SILVA"`, true},
		{`userName sw "ana."`, true},
		{`userName ew "acme.test"`, true},
		{`userName ew "acme"`, false},
		{`externalId co "abc"`, false},
		{`externalId co "AbC"`, true},
		// ordering on strings.
		{`displayName gt "Ana"`, true},
		{`displayName ge "ana silva"`, true},
		{`displayName lt "b"`, true},
		{`displayName le "Ana"`, false},
		// pr.
		{`title pr`, true},
		{`nickName pr`, false},
		{`emails pr`, true},
		{`name pr`, true},
		{`name.middleName pr`, false},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User pr`, true},
		// booleans.
		{`active eq true`, true},
		{`active eq false`, false},
		{`active ne false`, true},
		{`active eq "True"`, true},
		// null.
		{`nickName eq null`, true},
		{`title eq null`, false},
		{`title ne null`, true},
		// multi-valued: any value.
		{`emails.value eq "ana@home.test"`, true},
		{`emails eq "ana@home.test"`, true},
		{`emails.type eq "other"`, false},
		{`emails co "home"`, true},
		{`emails[type eq "work" and primary eq true]`, true},
		{`emails[type eq "home" and primary eq true]`, false},
		{`emails[type eq "work"].value eq "ana@acme.test"`, true},
		{`emails[type eq "work"].value eq "ana@home.test"`, false},
		{`emails[not (type eq "work")]`, true},
		{`phoneNumbers[type eq "work"]`, false},
		{`addresses[type eq "work"]`, false},
		// extension.
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984"`, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "mgr-1"`, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager eq "mgr-1"`, true},
		{`URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER:DEPARTMENT eq "sales"`, true},
		// meta and dateTimes.
		{`meta.created eq "2024-05-01T10:00:00Z"`, true},
		{`meta.created eq "2024-05-01T12:00:00+02:00"`, true},
		{`meta.lastModified gt "2024-06-01T10:00:00Z"`, true},
		{`meta.lastModified ge "2024-06-01T10:00:00.5Z"`, true},
		{`meta.lastModified lt "2024-06-01T10:00:00.5Z"`, false},
		{`meta.lastModified le "2024-01-01T00:00:00Z"`, false},
		{`meta.resourceType eq "User"`, true},
		{`meta.version eq "W/\"3\""`, true},
		// groups (derived).
		{`groups.value eq "g1"`, true},
		{`groups[display eq "sales"]`, true},
		{`groups eq "g2"`, false},
		// logic.
		{`userName eq "x" or title eq "engineer"`, true},
		{`userName eq "x" and title eq "engineer"`, false},
		{`not (userName eq "x")`, true},
		{`not (active eq true) or (emails[type eq "work"] and name.givenName sw "A")`, true},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			e, err := filter.Parse(tt.filter)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			got, err := users.Match(e, u)
			if err != nil {
				t.Fatalf("Match: %v", err)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMatchNumbers(t *testing.T) {
	ext, err := schema.ParseSchema([]byte(`{"id":"urn:acme:scim:ext:1.0","attributes":[
		{"name":"level","type":"integer"},{"name":"score","type":"decimal"},{"name":"tags","multiValued":true}]}`))
	if err != nil {
		t.Fatal(err)
	}
	rt := schema.NewRegistryWith([]schema.Extension{{Schema: ext}}, nil).ResourceType("User")
	r, err := rt.Decode(body(t, `{"userName":"x","urn:acme:scim:ext:1.0":{"level":3,"score":2.5,"tags":["a","B"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	p := "urn:acme:scim:ext:1.0:"
	tests := []struct {
		filter string
		want   bool
	}{
		{p + `level eq 3`, true}, {p + `level eq 3.0`, true}, {p + `level ne 3`, false},
		{p + `level gt 2`, true}, {p + `level ge 3`, true}, {p + `level lt 3`, false}, {p + `level le 2.5`, false},
		{p + `score gt 2`, true}, {p + `score eq 2.5`, true}, {p + `score lt 2.5`, false}, {p + `score le 2.5`, true},
		{p + `tags eq "b"`, true}, {p + `tags[value eq "a"]`, true}, {p + `tags[value sw "c"]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			e, err := filter.Parse(tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			got, err := rt.Match(e, r)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMatchGroupMembers(t *testing.T) {
	g := &scimd.Resource{Type: "Group", ID: "g1", Attrs: map[string]any{"displayName": "Sales"},
		Members: []scimd.Member{{Value: "u1", Type: "User", Display: "Ana"}, {Value: "g2", Type: "Group"}}}
	for _, tt := range []struct {
		filter string
		want   bool
	}{
		{`displayName eq "SALES"`, true},
		{`members.value eq "u1"`, true},
		{`members eq "g2"`, true},
		{`members[type eq "Group"]`, true},
		{`members[type eq "Group" and value eq "u1"]`, false},
		{`members.display co "an"`, true},
	} {
		e, err := filter.Parse(tt.filter)
		if err != nil {
			t.Fatal(err)
		}
		got, err := grps.Match(e, g)
		if err != nil || got != tt.want {
			t.Errorf("%s: got %v, %v; want %v", tt.filter, got, err, tt.want)
		}
	}
	// MatchValue on a member, as a store evaluating members[type eq "Group"].
	e, _ := filter.Parse(`type eq "group"`)
	members := grps.Schema.Attr("members")
	ok, err := schema.MatchValue(members, e, map[string]any{"value": "g2", "type": "Group"})
	if err != nil || !ok {
		t.Errorf("MatchValue = %v, %v", ok, err)
	}
}

func TestMatchErrors(t *testing.T) {
	u := matchUser(t)
	for _, f := range []string{
		`active gt true`,
		`active co "t"`,
		`active eq 1`,
		`userName eq 5`,
		`userName eq true`,
		`userName gt null`,
		`favouriteColour eq "blue"`,
		`name.nick eq "x"`,
		`userName.x eq "y"`,
		`name eq "Ana"`,
		`meta.created eq "yesterday"`,
		`meta.created co "2024"`,
		`meta.created eq 5`,
		`emails[kind eq "work"]`,
		`userName[value eq "x"]`,
		`emails[type eq 5]`,
		`urn:acme:unknown:1.0:User:x eq "y"`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User eq "x"`,
		// errors in the part that cannot change the result are still reported
		`userName eq "nobody" and active gt true`,
		`userName pr or bogus pr`,
		`x509Certificates.value gt "abc"`,
	} {
		t.Run(f, func(t *testing.T) {
			e, err := filter.Parse(f)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			_, err = users.Match(e, u)
			wantScimErr(t, err, scimd.ScimTypeInvalidFilter)
		})
	}
}

// Hand-built trees, independent of the parser.
func TestMatchAST(t *testing.T) {
	u := matchUser(t)
	e := &filter.Logical{And: true,
		Left:  &filter.Compare{Path: filter.AttrPath{Name: "userName"}, Op: filter.OpSw, Value: "ANA"},
		Right: &filter.Not{X: &filter.Compare{Path: filter.AttrPath{Name: "active"}, Op: filter.OpEq, Value: false}},
	}
	if ok, err := users.Match(e, u); !ok || err != nil {
		t.Errorf("got %v %v", ok, err)
	}
	if ok, err := users.Match(nil, u); !ok || err != nil {
		t.Errorf("nil filter: got %v %v", ok, err)
	}
	e2 := &filter.Compare{Path: filter.AttrPath{URN: "urn:acme:x", Name: "y"}, Op: filter.OpPr}
	_, err := users.Match(e2, u)
	wantScimErr(t, err, scimd.ScimTypeInvalidFilter)
	e3 := &filter.Compare{Path: filter.AttrPath{Name: "userName"}, Op: "zz", Value: "x"}
	_, err = users.Match(e3, u)
	wantScimErr(t, err, scimd.ScimTypeInvalidFilter)
}
