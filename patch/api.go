// Package patch decodes SCIM PATCH requests (RFC 7644 §3.5.2) and applies
// them to a resource in memory, tolerating the shapes real IdP clients send.
package patch

// API CONTRACT (written by the lead; the patch helper replaces the bodies
// and may reorganise files, keeping the exported signatures).

import (
	"github.com/scimd/scimd"
	"github.com/scimd/scimd/filter"
	"github.com/scimd/scimd/schema"
)

// Operation is one decoded PATCH operation.
type Operation struct {
	Op    string       // "add", "remove" or "replace" (lower-cased on decode)
	Path  *filter.Path // nil when the operation has no path
	Value any          // the JSON value as decoded (UseNumber), nil if absent
}

// Decode parses a PatchOp request body. Errors are *scimd.Error:
// invalidSyntax for malformed JSON, a missing PatchOp schema or Operations,
// an unknown op; invalidPath for an unparsable path; noTarget for remove
// without a path.
func Decode(body []byte) ([]Operation, error) {
	panic("TODO(patch)")
}

// Apply applies ops, in order, to r (whose Attrs it changes in place) and
// returns the membership changes for a Group's members, which are never
// held in memory. On error r may be partly changed: callers apply to a copy
// or abort the transaction, so a request applies all operations or none.
func Apply(rt *schema.ResourceType, r *scimd.Resource, ops []Operation) ([]scimd.MemberOp, error) {
	panic("TODO(patch)")
}
