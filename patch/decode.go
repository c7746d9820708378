package patch

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
	"github.com/scimd/scimd/internal/jsonvalue"
)

func decode(body []byte) ([]Operation, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, scimd.BadRequest(scimd.ScimTypeInvalidSyntax, "the PATCH request body is empty")
	}
	doc, _, err := jsonvalue.DecodeBytes(body)
	if err != nil {
		return nil, syntaxError(err)
	}
	top, ok := doc.(map[string]any)
	if !ok {
		return nil, scimd.BadRequest(scimd.ScimTypeInvalidSyntax, "the PATCH request body must be a JSON object, not %s", jsonKind(doc))
	}

	var schemas, operations any
	var haveSchemas, haveOps bool
	for k, v := range top {
		switch {
		case strings.EqualFold(k, "schemas"):
			if haveSchemas {
				return nil, duplicateMember("schemas")
			}
			schemas, haveSchemas = v, true
		case strings.EqualFold(k, "Operations"):
			if haveOps {
				return nil, duplicateMember("Operations")
			}
			operations, haveOps = v, true
		}
	}
	if haveSchemas && schemas != nil {
		if err := checkSchemas(schemas); err != nil {
			return nil, err
		}
	}
	if !haveOps || operations == nil {
		return nil, scimd.BadRequest(scimd.ScimTypeInvalidSyntax, `the PATCH request body has no "Operations" array`)
	}
	list, ok := operations.([]any)
	if !ok {
		return nil, scimd.BadRequest(scimd.ScimTypeInvalidSyntax, `"Operations" must be an array, not %s`, jsonKind(operations))
	}
	if len(list) == 0 {
		return nil, scimd.BadRequest(scimd.ScimTypeInvalidSyntax, `"Operations" is empty: a PATCH request needs at least one operation`)
	}
	if len(list) > MaxOperations {
		return nil, scimd.BadRequest(scimd.ScimTypeInvalidValue, "a PATCH request may carry at most %d operations; this one has %d: split it into several requests", MaxOperations, len(list))
	}
	ops := make([]Operation, len(list))
	for i, item := range list {
		op, err := decodeOperation(i, item)
		if err != nil {
			return nil, err
		}
		ops[i] = op
	}
	return ops, nil
}

func checkSchemas(v any) error {
	list, ok := v.([]any)
	if !ok {
		return scimd.BadRequest(scimd.ScimTypeInvalidSyntax, `"schemas" must be an array of URNs, not %s`, jsonKind(v))
	}
	for _, s := range list {
		if s, ok := s.(string); ok && strings.EqualFold(strings.TrimSpace(s), URNPatchOp) {
			return nil
		}
	}
	return scimd.BadRequest(scimd.ScimTypeInvalidSyntax, `"schemas" must contain %q`, URNPatchOp)
}

func decodeOperation(i int, item any) (Operation, error) {
	obj, ok := item.(map[string]any)
	if !ok {
		return Operation{}, scimd.BadRequest(scimd.ScimTypeInvalidSyntax, "Operations[%d] must be an object, not %s", i, jsonKind(item))
	}
	var opv, pathv, value any
	var haveOp, havePath, haveValue bool
	for k, v := range obj {
		var seen *bool
		switch {
		case strings.EqualFold(k, "op"):
			opv, seen = v, &haveOp
		case strings.EqualFold(k, "path"):
			pathv, seen = v, &havePath
		case strings.EqualFold(k, "value"):
			value, seen = v, &haveValue
		default:
			continue // unknown members are ignored
		}
		if *seen {
			return Operation{}, scimd.BadRequest(scimd.ScimTypeInvalidSyntax, "Operations[%d] has the member %q twice (names are case-insensitive)", i, strings.ToLower(k))
		}
		*seen = true
	}
	if !haveOp || opv == nil {
		return Operation{}, scimd.BadRequest(scimd.ScimTypeInvalidSyntax, `Operations[%d] has no "op"`, i)
	}
	name, ok := opv.(string)
	if !ok {
		return Operation{}, scimd.BadRequest(scimd.ScimTypeInvalidSyntax, `Operations[%d]: "op" must be a string, not %s`, i, jsonKind(opv))
	}
	var op Operation
	switch {
	case strings.EqualFold(name, OpAdd):
		op.Op = OpAdd
	case strings.EqualFold(name, OpRemove):
		op.Op = OpRemove
	case strings.EqualFold(name, OpReplace):
		op.Op = OpReplace
	default:
		return Operation{}, scimd.BadRequest(scimd.ScimTypeInvalidSyntax, `Operations[%d]: unknown op %q (want "add", "remove" or "replace")`, i, truncate(name))
	}
	if havePath && pathv != nil {
		s, ok := pathv.(string)
		if !ok {
			return Operation{}, scimd.BadRequest(scimd.ScimTypeInvalidPath, `Operations[%d]: "path" must be a string, not %s`, i, jsonKind(pathv))
		}
		if strings.TrimSpace(s) != "" {
			p, err := filter.ParsePath(s)
			if err != nil {
				return Operation{}, scimd.BadRequest(scimd.ScimTypeInvalidPath, "Operations[%d]: invalid path %q: %s", i, truncate(s), err.Error())
			}
			op.Path = &p
		}
	}
	switch op.Op {
	case OpRemove:
		if op.Path == nil {
			return Operation{}, scimd.BadRequest(scimd.ScimTypeNoTarget, `Operations[%d]: remove needs a "path" naming what to remove`, i)
		}
	default:
		if !haveValue {
			return Operation{}, scimd.BadRequest(scimd.ScimTypeInvalidSyntax, `Operations[%d]: %s needs a "value"`, i, op.Op)
		}
	}
	op.Value = value
	return op, nil
}

func duplicateMember(name string) error {
	return scimd.BadRequest(scimd.ScimTypeInvalidSyntax, "the PATCH request body has the member %q twice (names are case-insensitive)", name)
}

// syntaxError describes a JSON decoding error without echoing Go type names.
func syntaxError(err error) error {
	var se *jsonvalue.SyntaxError
	if errors.As(err, &se) {
		return scimd.BadRequest(scimd.ScimTypeInvalidSyntax, "the PATCH request body is not valid JSON (offset %d): %s", se.Offset, se.Reason())
	}
	return scimd.BadRequest(scimd.ScimTypeInvalidSyntax, "the PATCH request body is not valid JSON: %s", err.Error())
}

// jsonKind names the JSON type of a decoded value, for error details.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number, int64, float64, int:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	default:
		return "an unsupported value"
	}
}

// truncate shortens client-supplied text quoted in error details.
func truncate(s string) string {
	const max = 100
	if len(s) <= max {
		return s
	}
	// cut on a rune boundary
	n := max
	for n > 0 && !utf8Start(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
