package patch_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/patch"
)

// render summarises decoded operations: "op path=value" per operation, the
// path in canonical form, the value as JSON with its Go number type noted.
func render(ops []patch.Operation) string {
	var parts []string
	for _, op := range ops {
		s := op.Op
		if op.Path != nil {
			s += " " + op.Path.String()
		}
		if op.Value != nil {
			b, _ := json.Marshal(op.Value)
			s += "=" + string(b)
			if _, ok := op.Value.(json.Number); ok {
				s += "(number)"
			}
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		want     string // render of the operations
		scimType string // expected error scimType (status 400)
		detail   string
	}{
		{name: "OktaDeactivate",
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}}]}`,
			want: `replace={"active":false}`},
		{name: "EntraCasing",
			body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"},{"op":"Add","path":"nickName","value":"Bo"},{"op":"Remove","path":"members","value":[{"value":"u1"}]}]}`,
			want: `replace active="False"; add nickName="Bo"; remove members=[{"value":"u1"}]`},
		{name: "KeysCaseInsensitive",
			body: `{"SCHEMAS":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"operations":[{"OP":"ADD","Path":"title","VALUE":"x"}]}`,
			want: `add title="x"`},
		{name: "SchemasAbsent",
			body: `{"Operations":[{"op":"remove","path":"title"}]}`,
			want: `remove title`},
		{name: "SchemasNull",
			body: `{"schemas":null,"Operations":[{"op":"remove","path":"title"}]}`,
			want: `remove title`},
		{name: "SchemasExtraURN",
			body: `{"schemas":["urn:x","URN:IETF:PARAMS:SCIM:API:MESSAGES:2.0:PATCHOP"],"Operations":[{"op":"remove","path":"title"}]}`,
			want: `remove title`},
		{name: "ValuePath",
			body: `{"Operations":[{"op":"add","path":"emails[type eq \"work\"].value","value":"a@b.c"}]}`,
			want: `add emails[type eq "work"].value="a@b.c"`},
		{name: "EmptyPathIsNoPath",
			body: `{"Operations":[{"op":"replace","path":"","value":{"active":true}}]}`,
			want: `replace={"active":true}`},
		{name: "NullPathIsNoPath",
			body: `{"Operations":[{"op":"replace","path":null,"value":{"active":true}}]}`,
			want: `replace={"active":true}`},
		{name: "NumbersKept",
			body: `{"Operations":[{"op":"replace","path":"x","value":12345678901234567890}]}`,
			want: `replace x=12345678901234567890(number)`},
		{name: "NullValue",
			body: `{"Operations":[{"op":"replace","path":"title","value":null}]}`,
			want: `replace title`},
		{name: "UnknownMembersIgnored",
			body: `{"Operations":[{"op":"remove","path":"title","comment":"x"}],"foo":1}`,
			want: `remove title`},
		{name: "OneThousandOps",
			body: `{"Operations":[` + strings.Repeat(`{"op":"remove","path":"title"},`, 999) + `{"op":"remove","path":"title"}]}`,
			want: strings.Repeat("remove title; ", 999) + "remove title"},

		{name: "Empty", body: ``, scimType: "invalidSyntax", detail: "empty"},
		{name: "NotJSON", body: `op=replace`, scimType: "invalidSyntax", detail: "not valid JSON"},
		{name: "Truncated", body: `{"Operations":[`, scimType: "invalidSyntax"},
		{name: "TrailingData", body: `{"Operations":[{"op":"remove","path":"x"}]} {}`, scimType: "invalidSyntax", detail: "after"},
		{name: "Array", body: `[{"op":"remove","path":"x"}]`, scimType: "invalidSyntax", detail: "object"},
		{name: "WrongSchema", body: `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"Operations":[{"op":"remove","path":"x"}]}`,
			scimType: "invalidSyntax", detail: "PatchOp"},
		{name: "SchemasNotList", body: `{"schemas":"urn:ietf:params:scim:api:messages:2.0:PatchOp","Operations":[{"op":"remove","path":"x"}]}`,
			scimType: "invalidSyntax"},
		{name: "SCIM11PartialResource", body: `{"schemas":["urn:scim:schemas:core:1.0"],"id":"x","active":false}`,
			scimType: "invalidSyntax"},
		{name: "NoOperations", body: `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]}`, scimType: "invalidSyntax", detail: "Operations"},
		{name: "OperationsEmpty", body: `{"Operations":[]}`, scimType: "invalidSyntax", detail: "empty"},
		{name: "OperationsObject", body: `{"Operations":{"op":"remove","path":"x"}}`, scimType: "invalidSyntax", detail: "array"},
		{name: "OperationsTwice", body: `{"Operations":[{"op":"remove","path":"x"}],"operations":[{"op":"remove","path":"y"}]}`, scimType: "invalidSyntax", detail: "twice"},
		{name: "OperationNotObject", body: `{"Operations":["remove"]}`, scimType: "invalidSyntax", detail: "Operations[0]"},
		{name: "NoOp", body: `{"Operations":[{"path":"x"}]}`, scimType: "invalidSyntax", detail: `"op"`},
		{name: "OpNotString", body: `{"Operations":[{"op":1,"path":"x"}]}`, scimType: "invalidSyntax"},
		{name: "UnknownOp", body: `{"Operations":[{"op":"remove","path":"x"},{"op":"move","path":"x"}]}`, scimType: "invalidSyntax", detail: `Operations[1]: unknown op "move"`},
		{name: "BadPath", body: `{"Operations":[{"op":"remove","path":"emails[type eq"}]}`, scimType: "invalidPath", detail: "emails[type eq"},
		{name: "PathNotString", body: `{"Operations":[{"op":"remove","path":["x"]}]}`, scimType: "invalidPath"},
		{name: "RemoveNoPath", body: `{"Operations":[{"op":"remove"}]}`, scimType: "noTarget"},
		{name: "RemoveEmptyPath", body: `{"Operations":[{"op":"Remove","path":"  "}]}`, scimType: "noTarget"},
		{name: "AddNoValue", body: `{"Operations":[{"op":"add","path":"title"}]}`, scimType: "invalidSyntax", detail: "value"},
		{name: "ReplaceNoValue", body: `{"Operations":[{"op":"replace"}]}`, scimType: "invalidSyntax", detail: "value"},
		{name: "TooMany",
			body:     `{"Operations":[` + strings.Repeat(`{"op":"remove","path":"title"},`, 1000) + `{"op":"remove","path":"title"}]}`,
			scimType: "invalidValue", detail: "at most 1000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ops, err := patch.Decode([]byte(tt.body))
			if tt.scimType != "" {
				e, ok := scimd.AsError(err)
				if !ok || e.Status != 400 || e.ScimType != tt.scimType {
					t.Fatalf("err = %v, want 400 %s", err, tt.scimType)
				}
				if !strings.Contains(e.Detail, tt.detail) {
					t.Fatalf("detail %q does not contain %q", e.Detail, tt.detail)
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if got := render(ops); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func ExampleDecode() {
	ops, err := patch.Decode([]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"ana@acme.test"}]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(ops[0].Op, ops[0].Path.Attr.Name, ops[0].Path.Filter, ops[0].Path.Sub, ops[0].Value)
	// Output: replace emails type eq "work" value ana@acme.test
}
