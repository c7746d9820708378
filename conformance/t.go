package conformance

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/scimd/scimd/scimclient"
)

// Failure is one broken rule found by a check.
type Failure struct {
	// Message says what was wrong, e.g. "status 200, want 404".
	Message string `json:"message"`
	// Rule is the rule broken and its source; it defaults to the check's
	// Rule.
	Rule string `json:"rule"`
	// Exchanges are the relevant requests and responses, rendered by
	// scimclient.Exchange.String (credentials redacted).
	Exchanges []string `json:"exchanges,omitempty"`
}

// T is the handle a check's Run function gets. It wraps a scimclient.Client
// that records every exchange, collects failures, and tracks the resources
// the check creates so they are deleted when the check ends.
//
// Fatalf and Skip stop the check (by panicking with a value the runner
// recovers), so they must be called from the goroutine running the check.
type T struct {
	ctx    context.Context
	check  *Check
	run    *runState
	client *scimclient.Client

	mu        sync.Mutex
	exchanges []*scimclient.Exchange
	failures  []Failure
	skipped   string
	created   []tracked
	seq       int
}

// tracked is a resource created by a check, to delete at its end.
type tracked struct {
	endpoint string // "/Users"
	id       string
}

// stop is the panic value Fatalf and Skip use to end a check.
type stop struct{}

func newT(ctx context.Context, c *Check, run *runState) *T {
	t := &T{ctx: ctx, check: c, run: run}
	cl := *run.client // a copy with its own Trace
	cl.Trace = t.record
	t.client = &cl
	return t
}

func (t *T) record(ex *scimclient.Exchange) {
	t.mu.Lock()
	t.exchanges = append(t.exchanges, ex)
	t.mu.Unlock()
}

// Context returns the check's context; it ends at the check's timeout.
func (t *T) Context() context.Context { return t.ctx }

// Client returns the authenticated client for the server under test. Every
// exchange it makes is recorded for the report.
func (t *T) Client() *scimclient.Client { return t.client }

// ClientWithAuth returns a recording client for the same server that sends
// auth instead of the configured credentials; nil auth sends none.
func (t *T) ClientWithAuth(auth scimclient.Auth) *scimclient.Client {
	cl := *t.client
	cl.Auth = auth
	cl.MaxRetries = -1
	return &cl
}

// Users returns the recording client's /Users endpoint.
func (t *T) Users() *scimclient.Endpoint { return t.client.Users() }

// Groups returns the recording client's /Groups endpoint.
func (t *T) Groups() *scimclient.Endpoint { return t.client.Groups() }

// Has reports whether the server advertises feature (a Feature* constant).
func (t *T) Has(feature string) bool { return t.run.features[feature] }

// RunID returns the random ID of this run, part of every name it creates.
func (t *T) RunID() string { return t.run.id }

// Unique returns prefix followed by the run ID and a sequence number, e.g.
// "conf-Group-3f9c0a1b-02", unique to this run and check.
func (t *T) Unique(prefix string) string {
	t.mu.Lock()
	t.seq++
	n := t.seq
	t.mu.Unlock()
	return fmt.Sprintf("%s-%s-%s%02d", prefix, t.run.id, shortID(t.check.ID), n)
}

// UserName returns a unique userName shaped like an e-mail address with
// prefix (which may contain capitals) as its local part, e.g.
// "Ana.Silva-3f9c0a1b-lookup01@example.com".
func (t *T) UserName(prefix string) string {
	return t.Unique(prefix) + "@example.com"
}

// shortID turns a check ID into a short name fragment.
func shortID(id string) string {
	_, name, _ := strings.Cut(id, ".")
	name = strings.NewReplacer(".", "", "-", "").Replace(name)
	if len(name) > 10 {
		name = name[:10]
	}
	return name
}

// Do sends a request with the recording client and returns the response
// whatever its status. A transport failure stops the check. hdr lists
// header name/value pairs; an empty value removes the header.
func (t *T) Do(method, path string, body any, hdr ...string) *scimclient.Response {
	return t.DoWith(t.client, method, path, body, hdr...)
}

// DoWith is Do with another client, e.g. one from ClientWithAuth.
func (t *T) DoWith(c *scimclient.Client, method, path string, body any, hdr ...string) *scimclient.Response {
	var h http.Header
	for i := 0; i+1 < len(hdr); i += 2 {
		if h == nil {
			h = http.Header{}
		}
		if hdr[i+1] == "" {
			h[http.CanonicalHeaderKey(hdr[i])] = nil
			continue
		}
		h.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.Do(t.ctx, method, path, body, h)
	if err != nil {
		t.Fatalf(nil, "%s %s: no response: %v", method, path, err)
	}
	return resp
}

// Query encodes name/value pairs as a query string ("?a=b&c=d") with spaces
// as %20, in the order given.
func Query(kv ...string) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if b.Len() == 0 {
			b.WriteByte('?')
		} else {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(kv[i]))
		b.WriteByte('=')
		b.WriteString(strings.ReplaceAll(url.QueryEscape(kv[i+1]), "+", "%20"))
	}
	return b.String()
}

// Track registers a resource the check created (endpoint such as "/Users")
// for deletion at the end of the check.
func (t *T) Track(endpoint, id string) {
	if id == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.created {
		if c.endpoint == endpoint && c.id == id {
			return
		}
	}
	t.created = append(t.created, tracked{endpoint, id})
}

// Create POSTs body to endpoint, tracks the new resource for cleanup, and
// returns it with the response. It stops the check unless the server
// answered 2xx with a JSON body holding an id: a check cannot go on
// without the resource it needs.
func (t *T) Create(endpoint string, body any) (scimclient.Resource, *scimclient.Response) {
	resp := t.Do(http.MethodPost, endpoint, body)
	r := scimclient.Resource(resp.JSON)
	if resp.Status >= 200 && resp.Status < 300 {
		t.Track(endpoint, r.ID())
	}
	if resp.Status != http.StatusCreated && resp.Status != http.StatusOK {
		t.Fatalf(resp, "POST %s: status %d, want 201", endpoint, resp.Status)
	}
	if r.ID() == "" {
		t.Fatalf(resp, "POST %s: response has no id", endpoint)
	}
	return r, resp
}

// CreateUser creates a user from body (see Create).
func (t *T) CreateUser(body any) scimclient.Resource {
	r, _ := t.Create("/Users", body)
	return r
}

// CreateGroup creates a group from body (see Create).
func (t *T) CreateGroup(body any) scimclient.Resource {
	r, _ := t.Create("/Groups", body)
	return r
}

// Fail records a failure. An empty Rule is the check's Rule.
func (t *T) Fail(f Failure) {
	if f.Rule == "" {
		f.Rule = t.check.Rule
	}
	t.mu.Lock()
	t.failures = append(t.failures, f)
	t.mu.Unlock()
}

// Errorf records a failure with resp's exchange (or, with nil resp, the
// last exchange made) and lets the check go on.
func (t *T) Errorf(resp *scimclient.Response, format string, args ...any) {
	t.Fail(Failure{Message: fmt.Sprintf(format, args...), Exchanges: t.evidence(resp)})
}

// RuleErrorf is Errorf citing rule instead of the check's Rule.
func (t *T) RuleErrorf(rule string, resp *scimclient.Response, format string, args ...any) {
	t.Fail(Failure{Message: fmt.Sprintf(format, args...), Rule: rule, Exchanges: t.evidence(resp)})
}

// Fatalf records a failure like Errorf and stops the check.
func (t *T) Fatalf(resp *scimclient.Response, format string, args ...any) {
	t.Errorf(resp, format, args...)
	panic(stop{})
}

// Skip marks the check skipped with reason and stops it. Failures already
// recorded still count.
func (t *T) Skip(reason string) {
	t.mu.Lock()
	t.skipped = reason
	t.mu.Unlock()
	panic(stop{})
}

// Exchanges renders the exchanges of the given responses for a Failure.
func Exchanges(resps ...*scimclient.Response) []string {
	var out []string
	for _, r := range resps {
		if r != nil {
			ex := &scimclient.Exchange{Request: r.Request, Response: r, Attempt: r.Attempts}
			out = append(out, ex.String())
		}
	}
	return out
}

func (t *T) evidence(resp *scimclient.Response) []string {
	if resp != nil {
		return Exchanges(resp)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if n := len(t.exchanges); n > 0 {
		return []string{t.exchanges[n-1].String()}
	}
	return nil
}

// Failed reports whether the check has recorded a failure.
func (t *T) Failed() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.failures) > 0
}

// ExpectStatus records a failure unless resp has one of the statuses, and
// reports whether it had.
func (t *T) ExpectStatus(resp *scimclient.Response, statuses ...int) bool {
	if slices.Contains(statuses, resp.Status) {
		return true
	}
	t.Errorf(resp, "%s %s: status %d, want %s", resp.Request.Method, pathOf(resp), resp.Status, statusList(statuses))
	return false
}

// MustStatus is ExpectStatus that stops the check on a mismatch.
func (t *T) MustStatus(resp *scimclient.Response, statuses ...int) {
	if !t.ExpectStatus(resp, statuses...) {
		panic(stop{})
	}
}

func statusList(s []int) string {
	parts := make([]string, len(s))
	for i, n := range s {
		parts[i] = fmt.Sprint(n)
	}
	return strings.Join(parts, " or ")
}

// pathOf returns the request URL's path and query for messages.
func pathOf(resp *scimclient.Response) string {
	if resp == nil || resp.Request == nil {
		return ""
	}
	u, err := url.Parse(resp.Request.URL)
	if err != nil {
		return resp.Request.URL
	}
	return u.RequestURI()
}

// ExpectError checks that resp is an RFC 7644 §3.12 error with the given
// HTTP status: the status, a JSON body whose schemas holds the Error URN,
// and a "status" member that is that status as a JSON string. A non-empty
// scimType must match too. It reports whether all held.
func (t *T) ExpectError(resp *scimclient.Response, status int, scimType string) bool {
	if !t.ExpectStatus(resp, status) {
		return false
	}
	return t.expectErrorBody(resp, scimType)
}

func (t *T) expectErrorBody(resp *scimclient.Response, scimType string) bool {
	ok := true
	body := scimclient.Resource(resp.JSON)
	if resp.JSON == nil {
		t.RuleErrorf(ruleErrorFmt, resp, "%d response has no SCIM error body (not a JSON object)", resp.Status)
		return false
	}
	if !slices.Contains(body.Schemas(), scimclient.SchemaError) {
		t.RuleErrorf(ruleErrorFmt, resp, "error body schemas %v lack %s", body.Schemas(), scimclient.SchemaError)
		ok = false
	}
	switch v, _ := body.Get("status"); s := v.(type) {
	case string:
		if s != fmt.Sprint(resp.Status) {
			t.RuleErrorf(ruleErrorFmt, resp, "error body status %q, want %q (the HTTP status)", s, fmt.Sprint(resp.Status))
			ok = false
		}
	case nil:
		t.RuleErrorf(ruleErrorFmt, resp, "error body has no status member")
		ok = false
	default:
		t.RuleErrorf(ruleErrorFmt, resp, "error body status is %s %v, want the JSON string %q", jsonType(v), v, fmt.Sprint(resp.Status))
		ok = false
	}
	if scimType != "" {
		if got := body.String("scimType"); got != scimType {
			t.RuleErrorf(rfc7644+" §3.12 (scimType)", resp, "scimType %q, want %q", got, scimType)
			ok = false
		}
	}
	return ok
}

// jsonType names the JSON type of a decoded value.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "number"
}

// List checks that resp is a 200 ListResponse (RFC 7644 §3.4.2): the
// ListResponse schema and totalResults, plus startIndex and itemsPerPage
// when present, as JSON integers. It stops the check if resp is not a 200
// JSON object, and returns the decoded list.
func (t *T) List(resp *scimclient.Response) *ListPage {
	t.MustStatus(resp, http.StatusOK)
	if resp.JSON == nil {
		t.Fatalf(resp, "list response is not a JSON object")
	}
	body := scimclient.Resource(resp.JSON)
	if !slices.Contains(body.Schemas(), scimclient.SchemaListResponse) {
		t.RuleErrorf(ruleList, resp, "schemas %v lack %s", body.Schemas(), scimclient.SchemaListResponse)
	}
	p := &ListPage{Response: resp, TotalResults: -1}
	for _, k := range []string{"totalResults", "startIndex", "itemsPerPage"} {
		v, present := body.Get(k)
		if !present {
			if k == "totalResults" {
				t.RuleErrorf(ruleList, resp, "totalResults is missing")
			}
			continue
		}
		n, isInt := body.Int(k)
		if !isInt {
			t.RuleErrorf(ruleList, resp, "%s is %s %v, want a JSON integer", k, jsonType(v), v)
			continue
		}
		switch k {
		case "totalResults":
			p.TotalResults = int(n)
		case "startIndex":
			p.StartIndex = int(n)
		case "itemsPerPage":
			p.ItemsPerPage = int(n)
		}
	}
	p.Resources = body.List("Resources")
	return p
}

// ListPage is a decoded ListResponse.
type ListPage struct {
	Response     *scimclient.Response
	TotalResults int // -1 if absent or not an integer
	StartIndex   int // 0 if absent
	ItemsPerPage int // 0 if absent
	Resources    []scimclient.Resource
}

// IDs returns the ids of the page's resources in order.
func (p *ListPage) IDs() []string {
	out := make([]string, len(p.Resources))
	for i, r := range p.Resources {
		out[i] = r.ID()
	}
	return out
}

// Resource returns resp's body as a Resource, stopping the check unless
// resp has the given status (any 2xx if none given) and a JSON object body.
func (t *T) Resource(resp *scimclient.Response, statuses ...int) scimclient.Resource {
	if len(statuses) == 0 {
		statuses = []int{200}
	}
	t.MustStatus(resp, statuses...)
	if resp.JSON == nil {
		t.Fatalf(resp, "%s %s: response body is not a JSON object", resp.Request.Method, pathOf(resp))
	}
	return scimclient.Resource(resp.JSON)
}

// GetUser GETs /Users/{id} and returns the 200 body, stopping otherwise.
func (t *T) GetUser(id string, query ...string) (scimclient.Resource, *scimclient.Response) {
	resp := t.Do(http.MethodGet, "/Users/"+url.PathEscape(id)+Query(query...), nil)
	return t.Resource(resp), resp
}

// GetGroup GETs /Groups/{id} and returns the 200 body, stopping otherwise.
func (t *T) GetGroup(id string, query ...string) (scimclient.Resource, *scimclient.Response) {
	resp := t.Do(http.MethodGet, "/Groups/"+url.PathEscape(id)+Query(query...), nil)
	return t.Resource(resp), resp
}

// Patch sends a PATCH of body to endpoint/id and checks for 200 or 204
// (RFC 7644 §3.5.2), stopping the check otherwise.
func (t *T) Patch(endpoint, id string, body any) *scimclient.Response {
	resp := t.Do(http.MethodPatch, endpoint+"/"+url.PathEscape(id), body)
	t.MustStatus(resp, http.StatusOK, http.StatusNoContent)
	return resp
}

// cleanup deletes the tracked resources in reverse order of creation and
// returns a message per resource it could not delete. 404 counts as
// deleted (the check may have deleted it itself).
func (t *T) cleanup(ctx context.Context) []string {
	t.mu.Lock()
	created := slices.Clone(t.created)
	t.mu.Unlock()
	var errs []string
	for i := len(created) - 1; i >= 0; i-- {
		c := created[i]
		ep := t.run.client.Resources(c.endpoint)
		resp, err := ep.Delete(ctx, c.id)
		if err == nil || errors.Is(err, scimclient.ErrNotFound) {
			continue
		}
		msg := fmt.Sprintf("DELETE %s/%s: %v", c.endpoint, c.id, err)
		if resp != nil && resp.Status != 0 {
			msg = fmt.Sprintf("DELETE %s/%s: status %d", c.endpoint, c.id, resp.Status)
		}
		errs = append(errs, msg)
	}
	return errs
}

// kept lists the tracked resources as "/Users/{id}".
func (t *T) kept() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for _, c := range t.created {
		out = append(out, c.endpoint+"/"+c.id)
	}
	return out
}
