package schema

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/scimd/scimd/internal/jsonvalue"
)

// DecodeStored decodes a resource document as a store wrote it (the JSON
// of a resource's attributes) and types its JSON numbers as rt declares
// them: decimal attributes become float64, other numbers int64 when they
// fit (float64 otherwise). rt may be nil (numbers are then typed by their
// value alone). A stored JSON null decodes to an empty map.
//
// The SQLite and PostgreSQL stores share it; it uses internal/jsonvalue,
// which gives exactly encoding/json's UseNumber values at a fraction of
// the cost.
func DecodeStored(rt *ResourceType, doc string) (map[string]any, error) {
	v, numbers, err := jsonvalue.Decode(doc)
	if err != nil {
		return nil, fmt.Errorf("decode document: %w", err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		if v != nil {
			return nil, fmt.Errorf("decode document: %T, not an object", v)
		}
		m = map[string]any{} // a stored null, as encoding/json left it
	}
	if !numbers {
		return m, nil // nothing for storedNumbers to convert
	}
	for k, v := range m {
		var a *Attribute
		if rt != nil {
			if ext := rt.Extension(k); ext != nil {
				if obj, ok := v.(map[string]any); ok {
					for ek, ev := range obj {
						obj[ek] = storedNumbers(ext.Schema.Attr(ek), ev)
					}
				}
				continue
			}
			a = rt.Schema.Attr(k)
			if a == nil {
				a = commonAttr(k)
			}
		}
		m[k] = storedNumbers(a, v)
	}
	return m, nil
}

// commonAttr returns the common attribute (id, externalId, meta) named
// name, or nil.
func commonAttr(name string) *Attribute {
	for _, a := range CommonAttributes {
		if strings.EqualFold(a.Name, name) {
			return a
		}
	}
	return nil
}

// storedNumbers converts the json.Number values in v, under attribute a
// (nil: unknown).
func storedNumbers(a *Attribute, v any) any {
	switch v := v.(type) {
	case json.Number:
		if a != nil && a.Type == Decimal {
			if f, err := v.Float64(); err == nil {
				return f
			}
		}
		if i, err := v.Int64(); err == nil {
			return i
		}
		if f, err := v.Float64(); err == nil {
			return f
		}
		return v.String()
	case []any:
		for i, e := range v {
			v[i] = storedNumbers(a, e)
		}
	case map[string]any:
		for k, e := range v {
			var sub *Attribute
			if a != nil {
				sub = a.Sub(k)
			}
			v[k] = storedNumbers(sub, e)
		}
	}
	return v
}
