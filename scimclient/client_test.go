package scimclient_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd/scimclient"
)

// sleeper records the waits a client asks for without waiting.
type sleeper struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *sleeper) Sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waits = append(s.waits, d)
	return ctx.Err()
}

func (s *sleeper) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

func newClient(t *testing.T, f *fake, opts ...scimclient.Option) (*scimclient.Client, *sleeper) {
	t.Helper()
	s := &sleeper{}
	c := scimclient.New(f.baseURL(), append([]scimclient.Option{scimclient.WithAuth(scimclient.Bearer(fakeToken))}, opts...)...)
	c.Sleep = s.Sleep
	return c, s
}

func mustCreate(t *testing.T, c *scimclient.Client, userName string) scimclient.Resource {
	t.Helper()
	u := scimclient.NewResource(scimclient.SchemaUser).Set("userName", userName).Set("active", true)
	got, _, err := c.Users().Create(context.Background(), u)
	if err != nil {
		t.Fatalf("create %s: %v", userName, err)
	}
	return got
}

func TestCRUD(t *testing.T) {
	f := newFake(t)
	c, _ := newClient(t, f)
	ctx := context.Background()

	u := scimclient.NewResource(scimclient.SchemaUser, scimclient.SchemaEnterpriseUser).
		Set("userName", "ana@acme.test").
		Set("name.givenName", "Ana").
		Set(scimclient.SchemaEnterpriseUser+":department", "R&D <ops>").
		Set("password", "Tq9v2mLa")
	created, resp, err := c.Users().Create(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 201 || resp.Location() == "" || resp.ETag() != `W/"1"` {
		t.Errorf("create: status %d, Location %q, ETag %q", resp.Status, resp.Location(), resp.ETag())
	}
	req := f.last()
	if got := req.Header.Get("Content-Type"); got != "application/scim+json" {
		t.Errorf("Content-Type = %q", got)
	}
	if got := req.Header.Get("Accept"); got != "application/scim+json" {
		t.Errorf("Accept = %q", got)
	}
	if !strings.Contains(req.Body, `"R&D <ops>"`) {
		t.Errorf("body is HTML-escaped: %s", req.Body)
	}
	id := created.ID()
	if id == "" || created.String("name.givenName") != "Ana" || created.String(scimclient.SchemaEnterpriseUser+":department") != "R&D <ops>" {
		t.Fatalf("created = %v", created)
	}
	if created.Meta().Location != resp.Location() || created.Version() != resp.ETag() {
		t.Errorf("meta = %+v", created.Meta())
	}

	got, resp, err := c.Users().Get(ctx, id)
	if err != nil || resp.Status != 200 || got.String("userName") != "ana@acme.test" {
		t.Fatalf("get: %v %v %v", got, resp, err)
	}
	if got.String("USERNAME") != "ana@acme.test" {
		t.Error("accessor is not case-insensitive")
	}

	// Replace with the current ETag succeeds; the stale one then fails.
	stale := resp.ETag()
	put := got.Without("meta", "id").Set("displayName", "Ana Silva")
	replaced, resp, err := c.Users().Replace(ctx, id, put, scimclient.IfMatch(stale))
	if err != nil {
		t.Fatal(err)
	}
	if replaced.String("displayName") != "Ana Silva" || resp.ETag() == stale {
		t.Errorf("replace: %v, ETag %q", replaced, resp.ETag())
	}
	if f.last().Header.Get("If-Match") != stale {
		t.Errorf("If-Match not sent")
	}
	_, resp, err = c.Users().Replace(ctx, id, put, scimclient.IfMatch(stale))
	if !errors.Is(err, scimclient.ErrPreconditionFailed) || resp == nil || resp.Status != 412 {
		t.Fatalf("stale replace: err %v", err)
	}

	if _, err := c.Users().Delete(ctx, id); err != nil {
		t.Fatal(err)
	}
	_, resp, err = c.Users().Get(ctx, id)
	var se *scimclient.Error
	if !errors.As(err, &se) || !errors.Is(err, scimclient.ErrNotFound) {
		t.Fatalf("get after delete: %v", err)
	}
	if se.Status != 404 || se.BodyStatus != "404" || se.Detail != "no user "+id || resp.Status != 404 {
		t.Errorf("error = %+v", se)
	}
	if want := "scimclient: GET " + f.baseURL() + "/Users/" + id + ": 404 Not Found: no user " + id; se.Error() != want {
		t.Errorf("Error() = %q, want %q", se.Error(), want)
	}

	if _, _, err := c.Users().Get(ctx, ""); err == nil {
		t.Error("empty id accepted")
	}
}

func TestConflictError(t *testing.T) {
	f := newFake(t)
	c, _ := newClient(t, f)
	mustCreate(t, c, "bo")
	_, _, err := c.Users().Create(context.Background(), map[string]any{"userName": "BO"})
	var se *scimclient.Error
	if !errors.As(err, &se) || !errors.Is(err, scimclient.ErrConflict) || se.ScimType != "uniqueness" {
		t.Fatalf("err = %v", err)
	}
	if scimclient.StatusCode(err) != 409 {
		t.Errorf("StatusCode = %d", scimclient.StatusCode(err))
	}
	if dump := se.Exchange().String(); !strings.Contains(dump, "> POST ") || !strings.Contains(dump, "< 409 Conflict") {
		t.Errorf("dump:\n%s", dump)
	}
}

func TestTolerantErrors(t *testing.T) {
	f := newFake(t)
	c, _ := newClient(t, f)
	ctx := context.Background()
	tests := []struct {
		path                         string
		status                       int
		bodyStatus, scimType, detail string
		inMessage                    string
	}{
		{"/errors/number", 400, "400", "invalidFilter", "bad filter", "400 Bad Request (invalidFilter): bad filter"},
		{"/errors/v11", 409, "409", "", "User already exists", "409 Conflict: User already exists"},
		{"/errors/html", 502, "", "", "", "502 Bad Gateway: <html><body><h1>502 Bad Gateway</h1></body></html>"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, err := c.Do(ctx, "GET", tt.path, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			var se *scimclient.Error
			if !errors.As(resp.Err(), &se) {
				t.Fatalf("Err() = %v", resp.Err())
			}
			if se.Status != tt.status || se.BodyStatus != tt.bodyStatus || se.ScimType != tt.scimType || se.Detail != tt.detail {
				t.Errorf("got %+v", se)
			}
			if !strings.HasSuffix(se.Error(), tt.inMessage) {
				t.Errorf("Error() = %q, want suffix %q", se.Error(), tt.inMessage)
			}
		})
	}
}

func TestNotModified(t *testing.T) {
	f := newFake(t)
	c, _ := newClient(t, f)
	u := mustCreate(t, c, "cy")
	_, resp, err := c.Users().Get(context.Background(), u.ID(), scimclient.IfNoneMatch(u.Version()))
	if !errors.Is(err, scimclient.ErrNotModified) || resp.Status != 304 {
		t.Fatalf("err = %v", err)
	}
	if got := f.last().Header.Get("If-None-Match"); got != u.Version() {
		t.Errorf("If-None-Match = %q", got)
	}
	if _, _, err := c.Users().Get(context.Background(), u.ID(), scimclient.IfNoneMatch(`W/"0"`)); err != nil {
		t.Errorf("changed resource: %v", err)
	}
}

func TestListFilterEncoding(t *testing.T) {
	f := newFake(t)
	c, _ := newClient(t, f)
	ctx := context.Background()
	mustCreate(t, c, "ana+x@acme.test")
	mustCreate(t, c, "bo@acme.test")

	opts := scimclient.ListOptions{Filter: `userName eq "ana+x@acme.test"`, StartIndex: 1, Count: 100, ExcludedAttributes: []string{"groups"}}
	lr, resp, err := c.Users().List(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if lr.TotalResults != 1 || len(lr.Resources) != 1 || lr.Resources[0].String("userName") != "ana+x@acme.test" || lr.ItemsPerPage != 1 || lr.StartIndex != 1 {
		t.Fatalf("list = %+v", lr)
	}
	want := "filter=userName%20eq%20%22ana%2Bx%40acme.test%22&startIndex=1&count=100&excludedAttributes=groups"
	if got := f.last().RawQuery; got != want {
		t.Errorf("query = %s\nwant    %s", got, want)
	}
	if resp.Request.URL != f.baseURL()+"/Users?"+want {
		t.Errorf("recorded URL = %s", resp.Request.URL)
	}

	plus, _ := newClient(t, f, scimclient.WithQueryPlus(true))
	if _, _, err := plus.Users().List(ctx, scimclient.ListOptions{Filter: `userName eq "bo@acme.test"`}); err != nil {
		t.Fatal(err)
	}
	if got, want := f.last().RawQuery, "filter=userName+eq+%22bo%40acme.test%22"; got != want {
		t.Errorf("plus query = %s, want %s", got, want)
	}

	// count=0 through WithQuery; no hits is an empty page.
	lr, _, err = c.Users().List(ctx, scimclient.ListOptions{Count: 5}, scimclient.WithQuery("count", "0"))
	if err != nil || lr.TotalResults != 2 || len(lr.Resources) != 0 {
		t.Fatalf("count=0: %+v %v", lr, err)
	}
	if got := f.last().RawQuery; got != "count=0" {
		t.Errorf("query = %s", got)
	}

	_, _, err = c.Users().List(ctx, scimclient.ListOptions{Filter: `title pr`})
	var se *scimclient.Error
	if !errors.As(err, &se) || se.ScimType != "invalidFilter" {
		t.Errorf("bad filter: %v", err)
	}
}

func TestAllPages(t *testing.T) {
	f := newFake(t)
	c, _ := newClient(t, f)
	ctx := context.Background()
	for _, n := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		mustCreate(t, c, n)
	}
	before := len(f.requests())
	var names []string
	for r, err := range c.Users().All(ctx, scimclient.ListOptions{Count: 3}) {
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, r.String("userName"))
	}
	if strings.Join(names, "") != "abcdefg" {
		t.Errorf("names = %v", names)
	}
	var queries []string
	for _, r := range f.requests()[before:] {
		queries = append(queries, r.RawQuery)
	}
	if got, want := strings.Join(queries, " "), "startIndex=1&count=3 startIndex=4&count=3 startIndex=7&count=3"; got != want {
		t.Errorf("queries = %s\nwant      %s", got, want)
	}

	// Breaking out stops fetching.
	before = len(f.requests())
	for range c.Users().All(ctx, scimclient.ListOptions{Count: 2}) {
		break
	}
	if n := len(f.requests()) - before; n != 1 {
		t.Errorf("%d requests after break", n)
	}

	// A server that ignores startIndex is reported, not looped on.
	f.set(func(f *fake) { f.ignoreStartIndex = true })
	var last error
	n := 0
	for _, err := range c.Users().All(ctx, scimclient.ListOptions{Count: 3}) {
		n++
		last = err
	}
	if last == nil || !strings.Contains(last.Error(), "startIndex ignored") || n != 4 {
		t.Errorf("stalled paging: %d items, last err %v", n, last)
	}
}

func TestSearch(t *testing.T) {
	f := newFake(t)
	c, _ := newClient(t, f)
	mustCreate(t, c, "dee")
	lr, _, err := c.Users().Search(context.Background(), scimclient.ListOptions{Filter: `userName eq "DEE"`, Count: 10, Attributes: []string{"userName"}})
	if err != nil {
		t.Fatal(err)
	}
	if lr.TotalResults != 1 {
		t.Errorf("totalResults = %d", lr.TotalResults)
	}
	req := f.last()
	want := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"attributes":["userName"],"filter":"userName eq \"DEE\"","count":10}`
	if req.Method != "POST" || req.Path != "/scim/v2/Users/.search" || req.Body != want {
		t.Errorf("%s %s %s\nwant body %s", req.Method, req.Path, req.Body, want)
	}
}

func TestPatchBuilder(t *testing.T) {
	p := scimclient.Patch().
		Replace("", map[string]any{"active": false}).
		Remove(`members[value eq "9b1c0d6e"]`).
		Add("members", []map[string]any{{"value": "4e2a77f0", "display": "ana@acme.test"}}).
		RemoveValue("members", []map[string]any{{"value": "u1"}}).
		Op("Replace", "active", "False").
		Add("nickName", json.RawMessage("null"))
	want := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[` +
		`{"op":"replace","value":{"active":false}},` +
		`{"op":"remove","path":"members[value eq \"9b1c0d6e\"]"},` +
		`{"op":"add","path":"members","value":[{"display":"ana@acme.test","value":"4e2a77f0"}]},` +
		`{"op":"remove","path":"members","value":[{"value":"u1"}]},` +
		`{"op":"Replace","path":"active","value":"False"},` +
		`{"op":"add","path":"nickName","value":null}]}`
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	if p.String() != want {
		t.Errorf("String() = %s", p)
	}
	if got, _ := json.Marshal(scimclient.Patch()); string(got) != `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[]}` {
		t.Errorf("empty = %s", got)
	}

	var op scimclient.PatchOperation
	if err := json.Unmarshal([]byte(`{"OP":"Add","Path":"x","VALUE":[1]}`), &op); err != nil || op.Op != "Add" || op.Path != "x" || string(op.Value.(json.RawMessage)) != "[1]" {
		t.Errorf("unmarshal = %+v, %v", op, err)
	}
}

func TestPatch(t *testing.T) {
	f := newFake(t)
	c, _ := newClient(t, f)
	ctx := context.Background()
	u := mustCreate(t, c, "eve")

	got, resp, err := c.Users().Patch(ctx, u.ID(), scimclient.Patch().Replace("", map[string]any{"active": false}).Add("nickName", "E"), scimclient.IfMatch(u.Version()))
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := got.Bool("active"); !ok || v || got.String("nickName") != "E" || resp.Status != 200 {
		t.Errorf("patched = %v", got)
	}
	if want := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":false}},{"op":"add","path":"nickName","value":"E"}]}`; f.last().Body != want {
		t.Errorf("body = %s", f.last().Body)
	}

	// 204: no resource, no error.
	got, resp, err = c.Users().Patch(ctx, u.ID(), scimclient.Patch().Remove("nickName"), scimclient.WithQuery("noContent", "1"))
	if err != nil || got != nil || resp.Status != 204 {
		t.Errorf("204 patch: %v %v %v", got, resp, err)
	}
}

func TestDoRaw(t *testing.T) {
	f := newFake(t)
	c, _ := newClient(t, f)
	ctx := context.Background()
	u := mustCreate(t, c, "fay")

	// An Entra default-job body, byte for byte, with Okta's headers.
	raw := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],` + "\n" +
		`  "Operations":[{"op":"Replace","path":"active","value":"False"}]}`
	hdr := http.Header{
		"Content-Type": {"application/scim+json; charset=utf-8"},
		"User-Agent":   {"Okta SCIM Client 1.0.0"},
		"Accept":       nil, // removed
	}
	resp, err := c.Do(ctx, "PATCH", "/Users/"+u.ID(), raw, hdr)
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Err(); err != nil {
		t.Fatal(err)
	}
	req := f.last()
	if req.Body != raw {
		t.Errorf("body = %q", req.Body)
	}
	if req.Header.Get("Content-Type") != "application/scim+json; charset=utf-8" || req.Header.Get("User-Agent") != "Okta SCIM Client 1.0.0" {
		t.Errorf("headers = %v", req.Header)
	}
	if _, ok := req.Header["Accept"]; ok {
		t.Errorf("Accept not removed: %v", req.Header)
	}
	if resp.JSON["active"] != "False" {
		t.Errorf("JSON = %v", resp.JSON)
	}
	if string(resp.Request.Body) != raw || resp.Request.Method != "PATCH" {
		t.Errorf("record = %+v", resp.Request)
	}

	// Other body kinds, paths with queries, absolute URLs.
	for _, body := range []any{[]byte(`{"a":1}`), json.RawMessage(`{"a":1}`), strings.NewReader(`{"a":1}`), map[string]int{"a": 1}} {
		if _, err := c.Do(ctx, "POST", "/echo?x=a%20b", body, nil); err != nil {
			t.Fatal(err)
		}
		if r := f.last(); r.Body != `{"a":1}` || r.RawQuery != "x=a%20b" {
			t.Errorf("%T: body %q query %q", body, r.Body, r.RawQuery)
		}
	}
	if resp, err := c.Do(ctx, "GET", f.baseURL()+"/echo", nil, nil); err != nil || resp.JSON["method"] != "GET" {
		t.Errorf("absolute URL: %v %v", resp, err)
	}
	if _, ok := f.last().Header["Content-Type"]; ok {
		t.Error("Content-Type sent without a body")
	}
}

func TestBaseURLQuery(t *testing.T) {
	f := newFake(t)
	c, _ := newClient(t, f)
	c.BaseURL = f.baseURL() + "/?aadOptscim062020"
	if _, _, err := c.Users().List(context.Background(), scimclient.ListOptions{Count: 1}); err != nil {
		t.Fatal(err)
	}
	if r := f.last(); r.Path != "/scim/v2/Users" || r.RawQuery != "aadOptscim062020&count=1" {
		t.Errorf("got %s?%s", r.Path, r.RawQuery)
	}
}

func TestAuthAndRedaction(t *testing.T) {
	f := newFake(t)
	ctx := context.Background()
	tests := []struct {
		name   string
		auth   scimclient.Auth
		secret string
		shown  string
	}{
		{"bearer", scimclient.Bearer(fakeToken), fakeToken, "Authorization: Bearer [REDACTED]"},
		{"basic", scimclient.Basic(fakeUser, fakePassword), base64.StdEncoding.EncodeToString([]byte(fakeUser + ":" + fakePassword)), "Authorization: Basic [REDACTED]"},
		{"header", scimclient.Header("X-Api-Key", fakeToken), fakeToken, "X-Api-Key: [REDACTED]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var dumps []string
			c := scimclient.New(f.baseURL(), scimclient.WithAuth(tt.auth), scimclient.WithTrace(func(e *scimclient.Exchange) {
				dumps = append(dumps, e.String())
			}))
			_, resp, err := c.Users().List(ctx, scimclient.ListOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(dumps) != 1 {
				t.Fatalf("%d trace calls", len(dumps))
			}
			if strings.Contains(dumps[0], tt.secret) || !strings.Contains(dumps[0], tt.shown) {
				t.Errorf("dump:\n%s", dumps[0])
			}
			if strings.Contains(resp.Request.Header.Get("Authorization")+resp.Request.Header.Get("X-Api-Key"), tt.secret) {
				t.Errorf("record leaks: %v", resp.Request.Header)
			}
		})
	}

	c := scimclient.New(f.baseURL(), scimclient.WithAuth(scimclient.Bearer("wrong")))
	_, _, err := c.Users().List(ctx, scimclient.ListOptions{})
	if !errors.Is(err, scimclient.ErrUnauthorized) {
		t.Errorf("wrong token: %v", err)
	}
	// hdr can drop the credentials Auth added.
	resp, err := scimclient.New(f.baseURL(), scimclient.WithAuth(scimclient.Bearer(fakeToken))).
		Do(ctx, "GET", "/Users", nil, http.Header{"Authorization": nil})
	if err != nil || resp.Status != 401 {
		t.Errorf("without credentials: %v %v", resp, err)
	}
}

func TestRetryAfter(t *testing.T) {
	f := newFake(t)
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

	tests := []struct {
		name       string
		throttle   int
		status     int
		retryAfter string
		method     string
		maxRetries int
		wantWaits  []time.Duration // nil: check backoff range instead
		wantStatus int
	}{
		{"seconds", 2, 429, "1", "GET", 0, []time.Duration{time.Second, time.Second}, 200},
		{"http-date", 1, 429, now.Add(7 * time.Second).Format(http.TimeFormat), "GET", 0, []time.Duration{7 * time.Second}, 200},
		{"past date", 1, 429, now.Add(-time.Hour).Format(http.TimeFormat), "GET", 0, []time.Duration{0}, 200},
		{"capped", 1, 429, "3600", "GET", 0, []time.Duration{60 * time.Second}, 200},
		{"post on 429", 1, 429, "2", "POST", 0, []time.Duration{2 * time.Second}, 400},
		{"gives up", 5, 429, "1", "GET", 2, []time.Duration{time.Second, time.Second}, 429},
		{"budget", 5, 429, "50", "GET", 0, []time.Duration{50 * time.Second, 50 * time.Second}, 429},
		{"503 idempotent", 1, 503, "", "GET", 0, nil, 200},
		{"503 post without Retry-After", 1, 503, "", "POST", 0, []time.Duration{}, 503},
		{"no Retry-After", 3, 429, "", "GET", 0, nil, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.set(func(f *fake) { f.throttle, f.throttleStatus, f.retryAfter = tt.throttle, tt.status, tt.retryAfter })
			c, s := newClient(t, f)
			c.Now = func() time.Time { return now }
			c.MaxRetries = tt.maxRetries
			if tt.maxRetries == 0 {
				c.MaxRetries = 4
			}
			var body any
			if tt.method == "POST" {
				body = `{}` // the fake rejects it with 400 once through
			}
			resp, err := c.Do(ctx, tt.method, "/Users", body, nil)
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != tt.wantStatus {
				t.Errorf("status %d, want %d", resp.Status, tt.wantStatus)
			}
			waits := s.got()
			if tt.wantWaits != nil {
				if len(waits) != len(tt.wantWaits) {
					t.Fatalf("waits %v, want %v", waits, tt.wantWaits)
				}
				for i := range waits {
					if waits[i] != tt.wantWaits[i] {
						t.Errorf("waits %v, want %v", waits, tt.wantWaits)
					}
				}
			} else {
				// Backoff: attempt n waits in [250ms·2^(n-1), 500ms·2^(n-1)].
				if len(waits) != tt.throttle {
					t.Fatalf("waits %v", waits)
				}
				for i, w := range waits {
					hi := 500 * time.Millisecond << i
					if w < hi/2 || w > hi {
						t.Errorf("wait %d = %v, want in [%v, %v]", i, w, hi/2, hi)
					}
				}
			}
			if resp.Attempts != len(waits)+1 {
				t.Errorf("Attempts = %d, waits %d", resp.Attempts, len(waits))
			}
			f.set(func(f *fake) { f.throttle = 0 })
		})
	}
}

func TestRetryRealSleep(t *testing.T) {
	f := newFake(t)
	f.set(func(f *fake) { f.throttle, f.retryAfter = 1, "1" })
	c := scimclient.New(f.baseURL(), scimclient.WithAuth(scimclient.Bearer(fakeToken)))
	start := time.Now()
	lr, resp, err := c.Users().List(context.Background(), scimclient.ListOptions{})
	if err != nil || lr.TotalResults != 0 || resp.Attempts != 2 {
		t.Fatalf("%+v %v", resp, err)
	}
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Errorf("retried after %v, want about 1s", d)
	}

	// Cancellation interrupts the wait.
	f.set(func(f *fake) { f.throttle, f.retryAfter = 1, "30" })
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	time.AfterFunc(100*time.Millisecond, cancel)
	start = time.Now()
	_, err = c.Do(ctx, "GET", "/Users", nil, nil)
	if !errors.Is(err, context.Canceled) || time.Since(start) > 5*time.Second {
		t.Errorf("err %v after %v", err, time.Since(start))
	}

	// A wait beyond the context deadline is not started.
	f.set(func(f *fake) { f.throttle, f.retryAfter = 1, "30" })
	ctx, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	resp, err = c.Do(ctx, "GET", "/Users", nil, nil)
	if err != nil || resp.Status != 429 {
		t.Errorf("deadline: %v %v", resp, err)
	}
}

func TestNetworkErrorRetries(t *testing.T) {
	f := newFake(t)
	c, s := newClient(t, f)
	c.MaxRetries = 2
	// No keep-alive, so net/http's own replay of requests on reused
	// connections cannot add attempts.
	c.HTTPClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	ctx := context.Background()

	count := func() int {
		n := 0
		for _, r := range f.requests() {
			if r.Path == "/scim/v2/hangup" {
				n++
			}
		}
		return n
	}
	if _, err := c.Do(ctx, "POST", "/hangup", `{}`, nil); err == nil {
		t.Fatal("no error")
	}
	if n := count(); n != 1 {
		t.Errorf("POST sent %d times", n)
	}
	if _, err := c.Do(ctx, "PATCH", "/hangup", `{}`, nil); err == nil || count() != 2 {
		t.Errorf("PATCH: err %v, sent %d", err, count()-1)
	}
	if _, err := c.Do(ctx, "GET", "/hangup", nil, nil); err == nil {
		t.Fatal("no error")
	}
	if n := count() - 2; n != 3 {
		t.Errorf("GET sent %d times, want 3", n)
	}
	if len(s.got()) != 2 {
		t.Errorf("waits = %v", s.got())
	}
}

func TestDiscovery(t *testing.T) {
	f := newFake(t)
	c, _ := newClient(t, f)
	ctx := context.Background()
	spc, _, err := c.ServiceProviderConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := spc.Bool("patch.supported"); !ok {
		t.Errorf("spc = %v", spc)
	}
	rts, _, err := c.ResourceTypes(ctx)
	if err != nil || rts.TotalResults != 2 || rts.Resources[1].String("endpoint") != "/Groups" {
		t.Errorf("resource types: %+v %v", rts, err)
	}
	schemas, _, err := c.Schemas(ctx)
	if err != nil || schemas.TotalResults != 1 || schemas.Resources[0].ID() != scimclient.SchemaUser {
		t.Errorf("schemas: %+v %v", schemas, err)
	}
}

func TestResourceHelpers(t *testing.T) {
	var r scimclient.Resource
	if err := json.Unmarshal([]byte(`{
		"id":"1","userName":"x","Active":true,"count":3,"ratio":1.5,
		"emails":[{"value":"a@x","primary":true},"junk"],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":{"value":"m1"}}
	}`), &r); err != nil {
		t.Fatal(err)
	}
	if v, ok := r.Bool("active"); !ok || !v {
		t.Error("Bool(active)")
	}
	if n, ok := r.Int("count"); !ok || n != 3 {
		t.Error("Int(count)")
	}
	if _, ok := r.Int("ratio"); ok {
		t.Error("Int(ratio) ok")
	}
	if es := r.List("emails"); len(es) != 1 || es[0].String("value") != "a@x" {
		t.Errorf("List = %v", es)
	}
	ent := scimclient.SchemaEnterpriseUser
	if got := r.String(strings.ToUpper(ent[:8]) + ent[8:] + ":manager.value"); got != "m1" {
		t.Errorf("URN path = %q", got)
	}
	if _, ok := r.Get(ent); !ok {
		t.Error("Get(URN)")
	}
	if _, ok := r.Get("urn:x:y:z"); ok {
		t.Error("unknown URN found")
	}

	cp := r.Clone()
	cp.Set(ent+":manager.value", "m2").Set("active", false).Set("name.givenName", "G")
	if r.String(ent+":manager.value") != "m1" {
		t.Error("Clone shares state")
	}
	if _, ok := cp["active"]; ok || cp["Active"] != false {
		t.Errorf("Set did not reuse existing key casing: %v", cp)
	}
	if cp.String("name.givenName") != "G" {
		t.Error("Set nested")
	}
	fresh := scimclient.Resource{}.Set("urn:example:ext:1.0:Thing:color", "red")
	if m, ok := fresh["urn:example:ext:1.0:Thing"].(map[string]any); !ok || m["color"] != "red" {
		t.Errorf("Set new extension = %v", fresh)
	}
	if w := r.Without("ID", "emails"); len(w) != len(r)-2 {
		t.Errorf("Without = %v", w)
	}
}

func TestAllCursor(t *testing.T) {
	pages := map[string]string{
		"":   `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"itemsPerPage":2,"nextCursor":"c2","Resources":[{"id":"1"},{"id":"2"}]}`,
		"c2": `{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"itemsPerPage":1,"previousCursor":"c1","Resources":[{"id":"3"}]}`,
	}
	var queries []string
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		queries = append(queries, r.URL.RawQuery)
		mu.Unlock()
		io.WriteString(w, pages[r.URL.Query().Get("cursor")])
	}))
	defer srv.Close()
	c := scimclient.New(srv.URL)
	var ids []string
	for r, err := range c.Users().All(context.Background(), scimclient.ListOptions{UseCursor: true, Count: 2}) {
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID())
	}
	if strings.Join(ids, ",") != "1,2,3" {
		t.Errorf("ids = %v", ids)
	}
	if got := strings.Join(queries, " "); got != "count=2&cursor= count=2&cursor=c2" {
		t.Errorf("queries = %s", got)
	}
	lr, _, err := c.Users().List(context.Background(), scimclient.ListOptions{Cursor: "c2"})
	if err != nil || lr.TotalResults != -1 || lr.PreviousCursor != "c1" || lr.NextCursor != "" {
		t.Errorf("list = %+v, %v", lr, err)
	}
}

func TestRetryTraceAndDisable(t *testing.T) {
	f := newFake(t)
	f.set(func(f *fake) { f.throttle, f.retryAfter = 1, "0" })
	var attempts []string
	c, _ := newClient(t, f, scimclient.WithTrace(func(e *scimclient.Exchange) {
		attempts = append(attempts, strconv.Itoa(e.Attempt)+":"+strconv.Itoa(e.Response.Status))
	}))
	if _, _, err := c.Users().List(context.Background(), scimclient.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(attempts, " "); got != "1:429 2:200" {
		t.Errorf("attempts = %s", got)
	}

	f.set(func(f *fake) { f.throttle, f.retryAfter = 1, "0" })
	c, s := newClient(t, f, scimclient.WithMaxRetries(0))
	_, resp, err := c.Users().List(context.Background(), scimclient.ListOptions{})
	if !errors.Is(err, scimclient.ErrTooManyRequests) || resp.Attempts != 1 || len(s.got()) != 0 {
		t.Errorf("retries disabled: %v, attempts %d", err, resp.Attempts)
	}
}
