package scimclient

import (
	"bytes"
	"encoding/json"
	"strings"
)

// PatchOperation is one element of a PatchOp request's "Operations".
//
// Op is sent as given, so IdP spellings such as "Replace" can be replayed.
// An empty Path is omitted (a no-path add/replace). Value is omitted when
// nil; to send an explicit "value": null use json.RawMessage("null").
// Value is encoded as given, so string booleans such as "False" stay strings.
type PatchOperation struct {
	Op    string // "add", "replace", "remove" or any spelling to replay
	Path  string // attribute path; empty for none
	Value any    // value; nil for none
}

// MarshalJSON encodes o as {"op":…,"path":…,"value":…}.
func (o PatchOperation) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteString(`{"op":`)
	if err := appendJSON(&buf, o.Op); err != nil {
		return nil, err
	}
	if o.Path != "" {
		buf.WriteString(`,"path":`)
		if err := appendJSON(&buf, o.Path); err != nil {
			return nil, err
		}
	}
	if o.Value != nil {
		buf.WriteString(`,"value":`)
		if err := appendJSON(&buf, o.Value); err != nil {
			return nil, err
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// UnmarshalJSON decodes an operation; member names match case-insensitively.
func (o *PatchOperation) UnmarshalJSON(data []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	*o = PatchOperation{}
	for k, raw := range m {
		var err error
		switch {
		case strings.EqualFold(k, "op"):
			err = json.Unmarshal(raw, &o.Op)
		case strings.EqualFold(k, "path"):
			err = json.Unmarshal(raw, &o.Path)
		case strings.EqualFold(k, "value"):
			o.Value = append(json.RawMessage(nil), raw...)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func appendJSON(buf *bytes.Buffer, v any) error {
	b, err := marshal(v)
	if err != nil {
		return err
	}
	buf.Write(b)
	return nil
}

// PatchRequest builds an RFC 7644 §3.5.2 PatchOp body. Its methods append an
// operation and return the request for chaining; the zero value is empty
// and usable. Pass a *PatchRequest to Endpoint.Patch or Client.Do.
type PatchRequest struct {
	// Schemas overrides the "schemas" member; nil sends [SchemaPatchOp].
	Schemas []string
	// Operations are the operations in order.
	Operations []PatchOperation
}

// Patch returns an empty PatchRequest.
func Patch() *PatchRequest { return &PatchRequest{} }

// Op appends an operation with an arbitrary op name (e.g. "Add" as Entra
// sends it); empty path and nil value are omitted.
func (p *PatchRequest) Op(op, path string, value any) *PatchRequest {
	p.Operations = append(p.Operations, PatchOperation{Op: op, Path: path, Value: value})
	return p
}

// Add appends {"op":"add"}; an empty path makes a no-path add whose value is
// an object of attributes.
func (p *PatchRequest) Add(path string, value any) *PatchRequest { return p.Op("add", path, value) }

// Replace appends {"op":"replace"}; an empty path makes a no-path replace.
func (p *PatchRequest) Replace(path string, value any) *PatchRequest {
	return p.Op("replace", path, value)
}

// Remove appends {"op":"remove","path":path}.
func (p *PatchRequest) Remove(path string) *PatchRequest { return p.Op("remove", path, nil) }

// RemoveValue appends a remove carrying a value, the form Entra uses to
// remove only the listed members: {"op":"remove","path":"members",
// "value":[{"value":"u1"}]}.
func (p *PatchRequest) RemoveValue(path string, value any) *PatchRequest {
	return p.Op("remove", path, value)
}

// MarshalJSON encodes the request as
// {"schemas":[…PatchOp],"Operations":[…]}.
func (p *PatchRequest) MarshalJSON() ([]byte, error) {
	schemas := p.Schemas
	if schemas == nil {
		schemas = []string{SchemaPatchOp}
	}
	ops := p.Operations
	if ops == nil {
		ops = []PatchOperation{}
	}
	return marshal(struct {
		Schemas    []string         `json:"schemas"`
		Operations []PatchOperation `json:"Operations"`
	}{schemas, ops})
}

// String returns the JSON encoding, for logs and tests.
func (p *PatchRequest) String() string {
	b, err := p.MarshalJSON()
	if err != nil {
		return "!" + err.Error()
	}
	return string(b)
}
