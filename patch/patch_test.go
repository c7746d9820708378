package patch_test

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/patch"
	"github.com/scimd/scimd/schema"
)

const (
	urnEnt   = schema.URNEnterpriseUser
	userID   = "2819c223-7f76-453a-919d-413861904646"
	groupID  = "e9e30dba-f08f-4109-8486-d5c6a331660a"
	okHeader = `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":`
)

var registry = schema.DefaultRegistry()

func resourceType(t testing.TB, name string) *schema.ResourceType {
	t.Helper()
	rt := registry.ResourceType(name)
	if rt == nil {
		t.Fatalf("no resource type %q", name)
	}
	return rt
}

// sampleUser returns a realistic stored User, as schema.Decode would leave it.
func sampleUser() *scimd.Resource {
	return &scimd.Resource{
		Type:    scimd.TypeUser,
		ID:      userID,
		Schemas: []string{schema.URNUser, urnEnt},
		Attrs: map[string]any{
			"userName":    "ana.silva@acme.test",
			"externalId":  "00u7f3kq2wXyZ",
			"name":        map[string]any{"givenName": "Ana", "familyName": "Silva"},
			"displayName": "Ana Silva",
			"active":      true,
			"emails": []any{
				map[string]any{"value": "ana.silva@acme.test", "type": "work", "primary": true},
				map[string]any{"value": "ana@home.test", "type": "home"},
			},
			"phoneNumbers": []any{
				map[string]any{"value": "+351 21 000 0000", "type": "work"},
			},
			urnEnt: map[string]any{
				"employeeNumber": "701984",
				"department":     "Finance",
				"manager":        map[string]any{"value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "John Smith"},
			},
		},
	}
}

func sampleGroup() *scimd.Resource {
	return &scimd.Resource{
		Type:    scimd.TypeGroup,
		ID:      groupID,
		Schemas: []string{schema.URNGroup},
		Attrs:   map[string]any{"displayName": "Finance", "externalId": "grp-17"},
	}
}

// body wraps operations in a PatchOp request body.
func body(ops string) string { return okHeader + "[" + ops + "]}" }

// normJSON re-encodes a JSON-shaped value so values compare by content.
func normJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal %v: %v", v, err)
	}
	var x any
	if err := json.Unmarshal(b, &x); err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(x)
	return string(b)
}

// checkAttrs compares the top-level keys of want (a JSON object) with
// attrs; a null in want means the key must be absent.
func checkAttrs(t *testing.T, attrs map[string]any, want string) {
	t.Helper()
	if want == "" {
		return
	}
	var w map[string]any
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad want %s: %v", want, err)
	}
	for k, wv := range w {
		gv, ok := attrs[k]
		if wv == nil {
			if ok {
				t.Errorf("%s = %s, want absent", k, normJSON(t, gv))
			}
			continue
		}
		if !ok {
			t.Errorf("%s absent, want %s", k, normJSON(t, wv))
			continue
		}
		if got, want := normJSON(t, gv), normJSON(t, wv); got != want {
			t.Errorf("%s =\n\t%s\nwant\n\t%s", k, got, want)
		}
	}
}

// memberOps renders member ops compactly: "add u1(User,Ana) u2", "remove u1",
// "removeAll", "where (type eq \"Group\")".
func memberOps(ops []scimd.MemberOp) []string {
	var out []string
	for _, op := range ops {
		var b strings.Builder
		switch op.Kind {
		case scimd.MemberAdd:
			b.WriteString("add")
		case scimd.MemberRemove:
			b.WriteString("remove")
		case scimd.MemberRemoveAll:
			b.WriteString("removeAll")
		case scimd.MemberRemoveWhere:
			b.WriteString("where " + op.Filter.String())
		}
		for _, m := range op.Members {
			b.WriteString(" " + m.Value)
			if m.Type != "" || m.Display != "" {
				b.WriteString("(" + m.Type + "," + m.Display + ")")
			}
		}
		out = append(out, b.String())
	}
	return out
}

type applyTest struct {
	name     string
	typ      string // "User" (default) or "Group"
	body     string // PATCH body; ops only, wrapped by body() unless it starts with "{"
	opts     patch.Options
	want     string   // expected top-level attributes (JSON object; null = absent)
	members  []string // expected member ops, as memberOps renders them
	status   int      // expected error status; 0 = success
	scimType string   // expected error scimType
	detail   string   // substring of the expected error detail
	invalid  string   // scimType Validate must report after a successful Apply; "" = valid

	rt       *schema.ResourceType   // overrides typ
	resource func() *scimd.Resource // overrides the sample resource
}

func runApply(t *testing.T, tt applyTest) {
	t.Helper()
	typ := tt.typ
	if typ == "" {
		typ = scimd.TypeUser
	}
	rt := tt.rt
	if rt == nil {
		rt = resourceType(t, typ)
	}
	newResource := sampleUser
	if typ == scimd.TypeGroup {
		newResource = sampleGroup
	}
	if tt.resource != nil {
		newResource = tt.resource
	}
	r := newResource()
	b := tt.body
	if !strings.HasPrefix(b, "{\"schemas\"") && !strings.HasPrefix(b, "{\"Operations\"") {
		b = body(b)
	}
	ops, err := patch.Decode([]byte(b))
	var mops []scimd.MemberOp
	if err == nil {
		mops, err = tt.opts.Apply(rt, r, ops)
	}
	if tt.status != 0 {
		e, ok := scimd.AsError(err)
		if !ok {
			t.Fatalf("err = %v, want *scimd.Error %d %s", err, tt.status, tt.scimType)
		}
		if e.Status != tt.status || e.ScimType != tt.scimType {
			t.Fatalf("err = %v, want %d %s", err, tt.status, tt.scimType)
		}
		if !strings.Contains(e.Detail, tt.detail) {
			t.Fatalf("detail %q does not contain %q", e.Detail, tt.detail)
		}
		return
	}
	if err != nil {
		t.Fatalf("unexpected error: %v", err)
	}
	checkAttrs(t, r.Attrs, tt.want)
	if got := memberOps(mops); !reflect.DeepEqual(got, tt.members) {
		t.Errorf("member ops = %q, want %q", got, tt.members)
	}
	if typ == scimd.TypeGroup {
		if _, ok := r.Attrs["members"]; ok {
			t.Errorf("members leaked into Attrs: %v", r.Attrs["members"])
		}
	}
	err = rt.Validate(r, newResource())
	if got := scimd.ScimTypeOf(err); got != tt.invalid || (err != nil && tt.invalid == "") {
		t.Errorf("Validate after Apply: %v, want scimType %q", err, tt.invalid)
	}
}
