package scimclient

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Sentinel errors matched by *Error through errors.Is, by HTTP status.
var (
	ErrNotModified        = errors.New("scimclient: not modified")        // 304
	ErrUnauthorized       = errors.New("scimclient: unauthorized")        // 401
	ErrForbidden          = errors.New("scimclient: forbidden")           // 403
	ErrNotFound           = errors.New("scimclient: not found")           // 404
	ErrConflict           = errors.New("scimclient: conflict")            // 409
	ErrPreconditionFailed = errors.New("scimclient: precondition failed") // 412
	ErrTooManyRequests    = errors.New("scimclient: too many requests")   // 429
)

var sentinelByStatus = map[int]error{
	http.StatusNotModified:        ErrNotModified,
	http.StatusUnauthorized:       ErrUnauthorized,
	http.StatusForbidden:          ErrForbidden,
	http.StatusNotFound:           ErrNotFound,
	http.StatusConflict:           ErrConflict,
	http.StatusPreconditionFailed: ErrPreconditionFailed,
	http.StatusTooManyRequests:    ErrTooManyRequests,
}

// Error is a non-2xx response. It is built from an RFC 7644 §3.12 error body
// when there is one, tolerating "status" as a number, SCIM 1.1's
// {"Errors":[{"description","code"}]} and bodies that are not SCIM at all.
//
// Use errors.As to get it, or errors.Is with the Err* sentinels to test
// the status.
type Error struct {
	// Status is the HTTP status code of the response (not the body's
	// "status" member, which is in BodyStatus).
	Status int
	// BodyStatus is the body's "status" member as text ("409"), whether
	// the server sent a string or a number; empty if absent.
	BodyStatus string
	// ScimType is the body's "scimType", e.g. "uniqueness".
	ScimType string
	// Detail is the body's "detail" (or SCIM 1.1 "description", or a
	// generic "message"/"error_description"/"error" member).
	Detail string
	// Body is the raw response body.
	Body []byte
	// Response is the full response, including the request record.
	Response *Response
}

func newError(r *Response) *Error {
	e := &Error{Status: r.Status, Body: r.Body, Response: r}
	m := r.JSON
	if m == nil {
		return e
	}
	e.BodyStatus = scalarString(lookupFold(m, "status"))
	e.ScimType = scalarString(lookupFold(m, "scimType"))
	e.Detail = scalarString(lookupFold(m, "detail"))
	if errs, ok := lookupFold(m, "Errors").([]any); ok && len(errs) > 0 {
		if first, ok := errs[0].(map[string]any); ok {
			if e.Detail == "" {
				e.Detail = scalarString(lookupFold(first, "description"))
			}
			if e.BodyStatus == "" {
				e.BodyStatus = scalarString(lookupFold(first, "code"))
			}
		}
	}
	for _, k := range []string{"message", "error_description", "error"} {
		if e.Detail != "" {
			break
		}
		e.Detail = scalarString(lookupFold(m, k))
	}
	return e
}

// Error returns e.g. `scimclient: POST /scim/v2/Users: 409 Conflict
// (uniqueness): userName taken`. Without a SCIM detail it shows the start
// of the body.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("scimclient: ")
	if e.Response != nil && e.Response.Request != nil {
		b.WriteString(e.Response.Request.Method + " " + e.Response.Request.URL + ": ")
	}
	b.WriteString(strconv.Itoa(e.Status))
	if t := http.StatusText(e.Status); t != "" {
		b.WriteString(" " + t)
	}
	if e.ScimType != "" {
		b.WriteString(" (" + e.ScimType + ")")
	}
	switch {
	case e.Detail != "":
		b.WriteString(": " + e.Detail)
	case len(e.Body) > 0:
		b.WriteString(": " + snippet(e.Body, 200))
	}
	return b.String()
}

// Is reports whether target is the sentinel for e.Status.
func (e *Error) Is(target error) bool {
	s, ok := sentinelByStatus[e.Status]
	return ok && s == target
}

// Exchange returns the exchange that produced e, for printing.
func (e *Error) Exchange() *Exchange {
	if e.Response == nil {
		return nil
	}
	return &Exchange{Request: e.Response.Request, Response: e.Response, Attempt: e.Response.Attempts}
}

func snippet(b []byte, n int) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) && len(s) > 0 {
		s = s[:len(s)-1]
	}
	return s + "…"
}

// scalarString renders strings, numbers and booleans as text.
func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

// lookupFold returns m[key], falling back to a case-insensitive match.
func lookupFold(m map[string]any, key string) any {
	if v, ok := m[key]; ok {
		return v
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return nil
}

// StatusCode returns the HTTP status of an *Error in err's chain, or 0.
func StatusCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}
