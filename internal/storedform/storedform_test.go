package storedform

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/schema"
)

func some(s string) sql.Null[string] { return sql.Null[string]{V: s, Valid: true} }

func TestExtract(t *testing.T) {
	for _, c := range []struct {
		name string
		r    *scimd.Resource
		want Columns
	}{
		{"user", &scimd.Resource{Type: scimd.TypeUser, Attrs: map[string]any{
			"userName": "ÅSA@Example.COM", "externalId": "Ext-1", "displayName": "Åsa B", "active": false,
			"emails": []any{
				map[string]any{"type": "Work", "value": "A@B.example"},
				map[string]any{"value": "C@D.example"},
				"not an object",
				map[string]any{"type": 7},
			},
		}}, Columns{
			ExternalID: some("Ext-1"), NameLC: some("åsa@example.com"), DisplayLC: some("åsa b"),
			Active: sql.Null[bool]{V: false, Valid: true},
			Emails: []Email{
				{Type: some("work"), Value: some("a@b.example")},
				{Value: some("c@d.example")},
				{},
			},
		}},
		{"user without names", &scimd.Resource{Type: scimd.TypeUser, Attrs: map[string]any{
			"userName": 7, "active": "yes", "emails": "x",
		}}, Columns{}},
		{"group", &scimd.Resource{Type: scimd.TypeGroup, Attrs: map[string]any{
			"displayName": "Straße", "userName": "ignored", "active": true,
			"emails": []any{map[string]any{"value": "ignored"}},
		}}, Columns{NameLC: some("straße"), DisplayLC: some("straße")}},
		{"other type", &scimd.Resource{Type: "Device", Attrs: map[string]any{
			"displayName": "D", "userName": "u", "externalId": "e",
		}}, Columns{ExternalID: some("e"), DisplayLC: some("d")}},
		{"no attributes", &scimd.Resource{Type: scimd.TypeUser}, Columns{}},
	} {
		if got := Extract(c.r); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: Extract = %+v, want %+v", c.name, got, c.want)
		}
	}
}

// TestExtractCompares checks that Columns compare by value: stores write
// only the columns that changed.
func TestExtractCompares(t *testing.T) {
	r := &scimd.Resource{Type: scimd.TypeUser, Attrs: map[string]any{"userName": "A", "active": true}}
	a := Extract(r)
	r.Attrs = map[string]any{"userName": strings.ToUpper("a"), "active": true}
	b := Extract(r)
	if a.NameLC != b.NameLC || a.Active != b.Active || a.DisplayLC != b.DisplayLC {
		t.Errorf("equal columns compare unequal: %+v, %+v", a, b)
	}
	r.Attrs["active"] = false
	if c := Extract(r); c.Active == a.Active {
		t.Error("active true and false compare equal")
	}
	delete(r.Attrs, "active")
	if c := Extract(r); c.Active == (Extract(&scimd.Resource{Type: scimd.TypeUser, Attrs: map[string]any{"active": false}}).Active) {
		t.Error("a missing active compares equal to false")
	}
}

func TestEncodeDoc(t *testing.T) {
	for _, c := range []struct {
		r            *scimd.Resource
		schemas, doc string
	}{
		{&scimd.Resource{Schemas: []string{"urn:a", "urn:b"}, Attrs: map[string]any{"userName": "<a&b>", "n": 1.5}},
			`["urn:a","urn:b"]`, `{"n":1.5,"userName":"<a&b>"}`},
		{&scimd.Resource{}, `[]`, `{}`},
		// A schema URN with &, < or > is written as json.Marshal writes
		// it (escaped), as before jsonvalue.Append: stored bytes stay the
		// same. The attributes are not HTML-escaped.
		{&scimd.Resource{Schemas: []string{"urn:x:a&b"}, Attrs: map[string]any{"k": "a&b"}},
			`["urn:x:a\u0026b"]`, `{"k":"a&b"}`},
	} {
		schemas, doc, err := EncodeDoc(c.r)
		if err != nil {
			t.Fatal(err)
		}
		if string(schemas) != c.schemas || string(doc) != c.doc {
			t.Errorf("EncodeDoc = %s, %s; want %s, %s", schemas, doc, c.schemas, c.doc)
		}
	}
	_, _, err := EncodeDoc(&scimd.Resource{Attrs: map[string]any{"x": make(chan int)}})
	if err == nil || !strings.HasPrefix(err.Error(), "encode resource: ") {
		t.Errorf("EncodeDoc of a channel: err = %v", err)
	}
}

func TestDecodeSchemas(t *testing.T) {
	for _, c := range []struct {
		in   string
		want []string
	}{
		{`["urn:a"]`, []string{"urn:a"}},
		{`["urn:a","urn:b"]`, []string{"urn:a", "urn:b"}},
		{`["urn:a", "urn:b", "urn:c"]`, []string{"urn:a", "urn:b", "urn:c"}}, // jsonb
		{`["",""]`, []string{"", ""}},
		{`["a, b","c"]`, []string{"a, b", "c"}},
		{`["a","b", "c"]`, []string{"a", "b", "c"}}, // mixed: decoder
		{`["a",  "b"]`, []string{"a", "b"}},         // decoder
		{`["a\"b","c"]`, []string{`a"b`, "c"}},      // escape: decoder
		{`["\u00e5"]`, []string{"å"}},               // decoder
		{`[ "a" ]`, []string{"a"}},                  // decoder
		{`[]`, []string{}},
		{`[""]`, []string{""}},
	} {
		got, err := DecodeSchemas(c.in)
		if err != nil {
			t.Errorf("DecodeSchemas(%s): %v", c.in, err)
			continue
		}
		if !slices.Equal(got, c.want) || got == nil {
			t.Errorf("DecodeSchemas(%s) = %q, want %q", c.in, got, c.want)
		}
	}
	for _, in := range []string{``, `{}`, `["a",1,"b"]`, `["a"`, `["a""b"]`} {
		if got, err := DecodeSchemas(in); err == nil {
			t.Errorf("DecodeSchemas(%s) = %q, want an error", in, got)
		}
	}
}

// TestDecodeSchemasAllocs pins the fast path: one allocation, the slice.
func TestDecodeSchemasAllocs(t *testing.T) {
	for _, s := range []string{`["urn:a","urn:b"]`, `["urn:a", "urn:b"]`} {
		if n := testing.AllocsPerRun(100, func() { _, _ = DecodeSchemas(s) }); n != 1 {
			t.Errorf("DecodeSchemas(%s): %v allocations, want 1", s, n)
		}
	}
}

// FuzzDecodeSchemas checks DecodeSchemas against the JSON decoder on the
// two forms the stores write: json.Marshal's and PostgreSQL's jsonb text.
func FuzzDecodeSchemas(f *testing.F) {
	f.Add("urn:ietf:params:scim:schemas:core:2.0:User", "urn:x", "")
	f.Add(`a", "b`, `","`, `\`)
	f.Add("", "", "")
	f.Fuzz(func(t *testing.T, a, b, c string) {
		in := []string{a, b, c}
		for _, n := range []int{1, 2, 3} {
			want := in[:n]
			marshalled, _ := json.Marshal(want)
			quoted := make([]string, n)
			for i, s := range want {
				q, _ := json.Marshal(s)
				quoted[i] = string(q)
			}
			for _, s := range []string{string(marshalled), "[" + strings.Join(quoted, ", ") + "]"} {
				var dec []string
				if err := json.Unmarshal([]byte(s), &dec); err != nil {
					t.Fatal(err)
				}
				got, err := DecodeSchemas(s)
				if err != nil || !slices.Equal(got, dec) {
					t.Errorf("DecodeSchemas(%s) = %q, %v; the decoder gives %q", s, got, err, dec)
				}
			}
		}
	})
}

func TestDecodeGroups(t *testing.T) {
	want := []scimd.GroupRef{{Value: "g1", Display: "One"}, {Value: "g2", Display: ""}}
	const in = `[["g1","One"],["g2",""]]`
	if got, err := DecodeGroups(in); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("DecodeGroups(string) = %v, %v", got, err)
	}
	if got, err := DecodeGroups([]byte(in)); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("DecodeGroups([]byte) = %v, %v", got, err)
	}
	for _, in := range []string{"", "[]"} {
		if got, err := DecodeGroups(in); err != nil || got == nil || len(got) != 0 {
			t.Errorf("DecodeGroups(%q) = %#v, %v; want an empty slice", in, got, err)
		}
		if got, err := DecodeGroups([]byte(in)); err != nil || got == nil || len(got) != 0 {
			t.Errorf("DecodeGroups([]byte(%q)) = %#v, %v; want an empty slice", in, got, err)
		}
	}
	if got, err := DecodeGroups([]byte(nil)); err != nil || got == nil {
		t.Errorf("DecodeGroups(nil) = %#v, %v; want an empty slice", got, err)
	}
	if _, err := DecodeGroups(`{"a":1}`); err == nil {
		t.Error("DecodeGroups of an object: no error")
	}
}

func TestConflict(t *testing.T) {
	for _, c := range []struct {
		typ   string
		attrs map[string]any
		want  string
	}{
		{scimd.TypeUser, map[string]any{"userName": "bjensen"}, `userName "bjensen" is already taken`},
		{scimd.TypeGroup, map[string]any{"displayName": "Ops"}, `a group with displayName "Ops" already exists`},
		{"Device", nil, "a Device with the same unique attribute already exists"},
	} {
		err := Conflict(c.typ, &scimd.Resource{Type: c.typ, Attrs: c.attrs})
		var se *scimd.Error
		if !errors.As(err, &se) || se.Status != 409 || se.Detail != c.want {
			t.Errorf("Conflict(%s) = %v, want 409 %q", c.typ, err, c.want)
		}
	}
}

func TestNew(t *testing.T) {
	now := time.Date(2026, 11, 22, 1, 2, 3, 0, time.UTC)
	rt := &schema.ResourceType{Name: scimd.TypeUser}
	in := &scimd.Resource{Type: "ignored", ID: "ignored", Schemas: []string{"urn:a"},
		Members: []scimd.Member{{Value: "m"}}}
	r := New(rt, in, now)
	if r.Type != scimd.TypeUser || r.ID == "" || r.ID == in.ID || r.Members != nil {
		t.Errorf("New = %+v", r)
	}
	if r.Attrs == nil || len(r.Attrs) != 0 {
		t.Errorf("Attrs = %#v, want an empty map", r.Attrs)
	}
	if want := (scimd.Meta{Created: now, LastModified: now, Version: 1}); r.Meta != want {
		t.Errorf("Meta = %+v, want %+v", r.Meta, want)
	}
	r.Schemas[0] = "changed"
	if in.Schemas[0] != "urn:a" {
		t.Error("New shares the caller's schemas")
	}
}

type fakeLoader struct {
	members map[string][]scimd.Member
	groups  map[string][]scimd.GroupRef
	calls   []string
	err     error
}

func (l *fakeLoader) LoadMembers(_ context.Context, tenant string, groups []string, into map[string][]scimd.Member) error {
	l.calls = append(l.calls, "members "+tenant+" "+strings.Join(groups, ","))
	for _, g := range groups {
		if ms := l.members[g]; len(ms) > 0 { // a real loader has no entry for a group without rows
			into[g] = append(into[g], ms...)
		}
	}
	return l.err
}

func (l *fakeLoader) LoadGroups(_ context.Context, tenant string, users []string) (map[string][]scimd.GroupRef, error) {
	l.calls = append(l.calls, "groups "+tenant+" "+strings.Join(users, ","))
	out := map[string][]scimd.GroupRef{}
	for _, u := range users {
		if gs, ok := l.groups[u]; ok {
			out[u] = gs
		}
	}
	return out, l.err
}

func TestLoadMemberships(t *testing.T) {
	l := &fakeLoader{
		members: map[string][]scimd.Member{"g1": {{Value: "u1"}, {Value: "u2"}}},
		groups:  map[string][]scimd.GroupRef{"u1": {{Value: "g1"}}},
	}
	read := []scimd.GroupRef{{Value: "from the row"}}
	rs := []*scimd.Resource{
		{Type: scimd.TypeGroup, ID: "g1"},
		{Type: scimd.TypeGroup, ID: "g2"},
		{Type: scimd.TypeUser, ID: "u1"},
		{Type: scimd.TypeUser, ID: "u2"},
		{Type: scimd.TypeUser, ID: "u3", Groups: read},
		{Type: "Device", ID: "d1"},
	}
	if err := LoadMemberships(context.Background(), l, "t1", rs, scimd.ReadOptions{Members: true, Groups: true}); err != nil {
		t.Fatal(err)
	}
	if want := []string{"members t1 g1,g2", "groups t1 u1,u2"}; !slices.Equal(l.calls, want) {
		t.Errorf("calls = %q, want %q", l.calls, want)
	}
	if !reflect.DeepEqual(rs[0].Members, l.members["g1"]) {
		t.Errorf("g1 members = %v", rs[0].Members)
	}
	if rs[1].Members == nil || len(rs[1].Members) != 0 {
		t.Errorf("g2 members = %#v, want empty", rs[1].Members)
	}
	if !reflect.DeepEqual(rs[2].Groups, l.groups["u1"]) {
		t.Errorf("u1 groups = %v", rs[2].Groups)
	}
	if rs[3].Groups == nil || len(rs[3].Groups) != 0 {
		t.Errorf("u2 groups = %#v, want empty", rs[3].Groups)
	}
	if !reflect.DeepEqual(rs[4].Groups, read) {
		t.Errorf("u3 groups = %v, want those read with the row", rs[4].Groups)
	}
	if rs[5].Members != nil || rs[5].Groups != nil {
		t.Errorf("a Device was filled: %+v", rs[5])
	}

	// Nothing asked, nothing read.
	l.calls = nil
	rs = []*scimd.Resource{{Type: scimd.TypeGroup, ID: "g1"}, {Type: scimd.TypeUser, ID: "u1"}}
	if err := LoadMemberships(context.Background(), l, "t1", rs, scimd.ReadOptions{}); err != nil || l.calls != nil {
		t.Errorf("no options: err = %v, calls = %q", err, l.calls)
	}
	if rs[0].Members != nil || rs[1].Groups != nil {
		t.Errorf("no options filled %+v", rs)
	}

	l.err = errors.New("boom")
	if err := LoadMemberships(context.Background(), l, "t1", rs, scimd.ReadOptions{Members: true}); err != l.err {
		t.Errorf("err = %v, want the loader's", err)
	}
}
