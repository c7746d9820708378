package schema

import (
	"reflect"
	"testing"
)

func TestDecodeStored(t *testing.T) {
	users := DefaultRegistry().ResourceType("User")
	for _, c := range []struct {
		name string
		rt   *ResourceType
		doc  string
		want map[string]any
	}{
		{"no numbers", users, `{"userName":"a","active":true,"emails":[{"value":"a@x"}]}`,
			map[string]any{"userName": "a", "active": true, "emails": []any{map[string]any{"value": "a@x"}}}},
		{"null", users, `null`, map[string]any{}},
		{"integer in an unknown attribute", users, `{"x":{"n":[1,2.5,1e400]}}`,
			map[string]any{"x": map[string]any{"n": []any{int64(1), 2.5, "1e400"}}}},
		{"no resource type", nil, `{"n":7}`, map[string]any{"n": int64(7)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := DecodeStored(c.rt, c.doc)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("DecodeStored(%s) = %#v, want %#v", c.doc, got, c.want)
			}
		})
	}
	for _, doc := range []string{`[1]`, `"s"`, `{"a":`, `{} x`} {
		if _, err := DecodeStored(users, doc); err == nil {
			t.Errorf("DecodeStored(%s): no error", doc)
		}
	}
}
