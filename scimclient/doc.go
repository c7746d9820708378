// Package scimclient is a SCIM 2.0 (RFC 7643, RFC 7644, RFC 9865 cursors)
// client for any service provider. It uses only the standard library and
// imports nothing from scimd, so the conformance kit and IdP simulator built
// on it test other servers exactly as they test scimd.
//
// # Two layers
//
// The raw layer, Client.Do, sends any method, path and body — including
// byte-for-byte replays of what Okta or Entra put on the wire (capitalised
// "Replace", string booleans, members removed by value list, SCIM 1.1 partial
// resources) — and returns the response whatever its status, with the raw
// body, the decoded JSON object and a redacted record of the request.
//
// The typed layer, Endpoint (from Client.Users, Client.Groups or
// Client.Resources), offers Create, Get, Replace, Patch, Delete, List,
// Search and the iterator All, plus the discovery calls on Client. It turns
// non-2xx responses into *Error and decodes resources into Resource, a
// schema-agnostic map with path accessors. Typed methods also return the
// *Response (even alongside an error) so callers can check statuses and
// headers such as Location and ETag. Per-call behaviour is set with
// CallOption values: IfMatch, IfNoneMatch, Attributes, ExcludedAttributes,
// WithHeader, WithQuery.
//
// PATCH bodies are built with Patch (a *PatchRequest); operation names and
// values are sent as given.
//
// # Errors
//
// Transport failures are returned as wrapped errors. HTTP errors are *Error,
// which parses RFC 7644 error bodies and tolerates "status" as a number,
// SCIM 1.1 "Errors" arrays and non-SCIM bodies; errors.Is matches it against
// ErrNotFound, ErrConflict, ErrPreconditionFailed, ErrNotModified and the
// other sentinels by HTTP status. Error.Exchange renders the request and
// response for failure reports.
//
// # Retries
//
// Do retries 429 responses, and 503 responses to idempotent methods or with
// Retry-After, honouring Retry-After as seconds or HTTP-date and otherwise
// backing off exponentially with jitter. Waits are bounded per retry
// (MaxRetryWait), per call (RetryBudget) and by the context deadline; when a
// wait does not fit, the last response is returned rather than an error
// about waiting. Transport errors are retried only for idempotent methods:
// a POST or PATCH the server may have applied is never resent.
//
// # Wire details
//
// Requests carry Accept: application/scim+json and, with a body,
// Content-Type: application/scim+json; values are JSON-encoded without HTML
// escaping. Query values are percent-encoded with spaces as "%20", or "+"
// with Client.QueryPlus (as older Okta and Entra send). A query string on
// BaseURL is kept on every request. Credentials come from an Auth (Bearer,
// Basic, Header or AuthFunc) and are redacted in Exchange and Request
// records; bodies are recorded verbatim (they may contain passwords).
//
// JSON numbers in decoded bodies are json.Number, so integers and their
// exact spelling survive. A Client is safe for concurrent use once
// configured.
package scimclient
