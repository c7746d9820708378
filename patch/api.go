package patch

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

// The operation names, as Operation.Op holds them.
const (
	OpAdd     = "add"
	OpRemove  = "remove"
	OpReplace = "replace"
)

// URNPatchOp is the schema URN of a PatchOp request body.
const URNPatchOp = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

// MaxOperations is the largest number of operations Decode accepts in one
// request; a longer list is rejected with 400 invalidValue.
var MaxOperations = 1000

// Decode parses a PatchOp request body. Errors are *scimd.Error:
// invalidSyntax for malformed JSON, a missing PatchOp schema or Operations,
// an unknown op; invalidPath for an unparsable path; noTarget for remove
// without a path; invalidValue for more than MaxOperations operations.
//
// Member names are matched case-insensitively ("operations", "Op", "Path",
// "Value"), op values too (Entra sends "Add", "Replace", "Remove"). A missing
// "schemas" member is tolerated; a present one must list URNPatchOp. An
// empty path is treated as no path. add and replace must carry a "value"
// member (which may be null).
func Decode(body []byte) ([]Operation, error) {
	return decode(body)
}

// Apply applies ops, in order, to r (whose Attrs it changes in place) and
// returns the membership changes for a Group's members, which are never
// held in memory. On error r may be partly changed: callers apply to a copy
// or abort the transaction, so a request applies all operations or none.
//
// Apply never changes ops, so a store may run it again on a fresh resource
// when it retries a transaction. It uses the zero Options.
func Apply(rt *schema.ResourceType, r *scimd.Resource, ops []Operation) ([]scimd.MemberOp, error) {
	return Options{}.Apply(rt, r, ops)
}
