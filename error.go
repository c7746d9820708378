package scimd

import (
	"errors"
	"fmt"
	"net/http"
)

// SCIM error types (the "scimType" of RFC 7644 §3.12 and RFC 9865).
const (
	ScimTypeInvalidFilter = "invalidFilter"
	ScimTypeTooMany       = "tooMany"
	ScimTypeUniqueness    = "uniqueness"
	ScimTypeMutability    = "mutability"
	ScimTypeInvalidSyntax = "invalidSyntax"
	ScimTypeInvalidPath   = "invalidPath"
	ScimTypeNoTarget      = "noTarget"
	ScimTypeInvalidValue  = "invalidValue"
	ScimTypeInvalidVers   = "invalidVers"
	ScimTypeSensitive     = "sensitive"
	ScimTypeInvalidCursor = "invalidCursor"
	ScimTypeExpiredCursor = "expiredCursor"
	ScimTypeInvalidCount  = "invalidCount"
)

// Error is an error that is safe to show a SCIM client: an HTTP status, an
// optional scimType and a human-readable detail. Every package of scimd
// returns *Error for client mistakes; anything else that reaches the HTTP
// layer is an internal error, logged and answered with a generic 500.
type Error struct {
	Status   int    // HTTP status code
	ScimType string // RFC 7644 §3.12 scimType, "" when none applies
	Detail   string // shown to the client (Okta shows it to the admin)
	Err      error  // optional cause, never shown to the client
}

func (e *Error) Error() string {
	s := fmt.Sprintf("scim %d", e.Status)
	if e.ScimType != "" {
		s += " " + e.ScimType
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given status, scimType and formatted detail.
func Errorf(status int, scimType, format string, args ...any) *Error {
	return &Error{Status: status, ScimType: scimType, Detail: fmt.Sprintf(format, args...)}
}

// BadRequest returns a 400 error with the given scimType.
func BadRequest(scimType, format string, args ...any) *Error {
	return Errorf(http.StatusBadRequest, scimType, format, args...)
}

// NotFound returns a 404 error.
func NotFound(format string, args ...any) *Error {
	return Errorf(http.StatusNotFound, "", format, args...)
}

// Conflict returns a 409 uniqueness error.
func Conflict(format string, args ...any) *Error {
	return Errorf(http.StatusConflict, ScimTypeUniqueness, format, args...)
}

// PreconditionFailed returns a 412 error (If-Match mismatch).
func PreconditionFailed(format string, args ...any) *Error {
	return Errorf(http.StatusPreconditionFailed, "", format, args...)
}

// Unavailable returns a 503 error for a database that cannot serve for now
// (unreachable, restarting, locked by another process): the request did
// nothing and may succeed later. cause is logged, never shown.
func Unavailable(cause error) *Error {
	return &Error{Status: http.StatusServiceUnavailable, Detail: "the database is unavailable; retry later", Err: cause}
}

// InsufficientStorage returns a 507 error for a database whose storage is
// full: the change was not made. cause is logged, never shown.
func InsufficientStorage(cause error) *Error {
	return &Error{Status: http.StatusInsufficientStorage, Detail: "the server's storage is full; the change was not made", Err: cause}
}

// AsError reports whether err is, or wraps, an *Error and returns it.
func AsError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// StatusOf returns the HTTP status err maps to: the status of an *Error, or
// 500 for anything else.
func StatusOf(err error) int {
	if e, ok := AsError(err); ok {
		return e.Status
	}
	return http.StatusInternalServerError
}

// ScimTypeOf returns the scimType of an *Error, or "".
func ScimTypeOf(err error) string {
	if e, ok := AsError(err); ok {
		return e.ScimType
	}
	return ""
}
