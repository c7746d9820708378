package patch_test

import (
	"encoding/json"
	"testing"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/patch"
	"github.com/scimd/scimd/schema"
)

// Seeds beyond testdata/fuzz: small bodies exercising each code path.
var fuzzSeeds = []string{
	`{"Operations":[{"op":"add","path":"emails[type eq \"work\"].value","value":"a@b.c"}]}`,
	`{"Operations":[{"op":"replace","path":"emails[type eq \"work\"]","value":{"primary":"true"}}]}`,
	`{"Operations":[{"op":"remove","path":"emails","value":[{"value":"ana@home.test"}]}]}`,
	`{"Operations":[{"op":"add","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":"m"}}}]}`,
	`{"Operations":[{"op":"remove","path":"members[type eq \"Group\" or not (display pr)]"}]}`,
	`{"Operations":[{"op":"replace","path":"x509Certificates","value":[{"value":"AAAA"}]}]}`,
}

func FuzzDecode(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ops, err := patch.Decode(b)
		if err != nil {
			if _, ok := scimd.AsError(err); !ok {
				t.Fatalf("Decode error is not a *scimd.Error: %#v", err)
			}
			if ops != nil {
				t.Fatalf("Decode returned operations with an error")
			}
			return
		}
		if len(ops) == 0 || len(ops) > patch.MaxOperations {
			t.Fatalf("Decode returned %d operations", len(ops))
		}
		for _, op := range ops {
			switch op.Op {
			case patch.OpAdd, patch.OpReplace:
			case patch.OpRemove:
				if op.Path == nil {
					t.Fatalf("remove without path accepted")
				}
			default:
				t.Fatalf("Decode returned op %q", op.Op)
			}
		}
	})
}

func FuzzApply(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	user, group := resourceType(f, scimd.TypeUser), resourceType(f, scimd.TypeGroup)
	f.Fuzz(func(t *testing.T, b []byte) {
		ops, err := patch.Decode(b)
		if err != nil {
			return
		}
		for _, opts := range []patch.Options{{}, {MemberReplaceAdds: true, StrictReplace: true}} {
			for _, tc := range []struct {
				rt  *schema.ResourceType
				new func() *scimd.Resource
			}{{user, sampleUser}, {group, sampleGroup}} {
				rt := tc.rt
				// Apply twice to fresh resources: Apply must not change ops
				// (stores retry it) and must be deterministic.
				var first string
				for round := range 2 {
					r := tc.new()
					mops, err := opts.Apply(rt, r, ops)
					if err != nil {
						if _, ok := scimd.AsError(err); !ok {
							t.Fatalf("Apply error is not a *scimd.Error: %#v", err)
						}
						if round == 1 && first != "error" {
							t.Fatalf("Apply failed on retry: %v", err)
						}
						first = "error"
						continue
					}
					if rt == group {
						if _, ok := r.Attrs["members"]; ok {
							t.Fatalf("members in Attrs")
						}
					} else if len(mops) != 0 {
						t.Fatalf("member ops for a User: %v", mops)
					}
					checkCanonical(t, r.Attrs)
					got := state(t, r, mops)
					if round == 1 && got != first {
						t.Fatalf("Apply not repeatable:\n%s\n%s", first, got)
					}
					first = got
				}
			}
		}
	})
}

// state renders a patched resource and its member ops for comparison.
func state(t *testing.T, r *scimd.Resource, mops []scimd.MemberOp) string {
	b, err := json.Marshal(r.Attrs)
	if err != nil {
		t.Fatalf("Attrs do not marshal: %v", err)
	}
	ms, _ := json.Marshal(memberOps(mops))
	return string(b) + string(ms)
}

// checkCanonical fails on values Resource.Attrs must not hold: json.Number
// (numbers are int64 or float64), empty objects or lists (unassigned).
func checkCanonical(t *testing.T, v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			if isEmptyValue(e) {
				t.Fatalf("unassigned value kept under %q", k)
			}
			checkCanonical(t, e)
		}
	case []any:
		for _, e := range v {
			if isEmptyValue(e) {
				t.Fatalf("unassigned element kept in a list")
			}
			checkCanonical(t, e)
		}
	case json.Number:
		t.Fatalf("json.Number %s kept in Attrs", v)
	}
}

func isEmptyValue(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case []any:
		return len(v) == 0
	case map[string]any:
		return len(v) == 0
	}
	return false
}
