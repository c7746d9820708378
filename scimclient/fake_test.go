package scimclient_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/scimd/scimd/scimclient"
)

// The fake is a deliberately small SCIM endpoint: enough of /Users,
// discovery and some misbehaving routes to exercise the client over a real
// socket. It is not a reference server.

const (
	fakeToken    = "s3cret-token"
	fakeUser     = "admin"
	fakePassword = "pa:ss w0rd"
)

type recorded struct {
	Method   string
	Path     string
	RawQuery string
	Header   http.Header
	Body     string
}

type fake struct {
	srv *httptest.Server

	mu      sync.Mutex
	users   map[string]map[string]any
	order   []string
	version map[string]int
	nextID  int
	reqs    []recorded

	// Misbehaviour knobs.
	throttle         int    // answer the next n /Users requests with throttleStatus
	throttleStatus   int    // 429 if zero
	retryAfter       string // Retry-After sent with throttled responses
	ignoreStartIndex bool
}

func newFake(t *testing.T) *fake {
	t.Helper()
	f := &fake{users: map[string]map[string]any{}, version: map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /scim/v2/Users", f.create)
	mux.HandleFunc("GET /scim/v2/Users", f.list)
	mux.HandleFunc("POST /scim/v2/Users/.search", f.search)
	mux.HandleFunc("GET /scim/v2/Users/{id}", f.get)
	mux.HandleFunc("PUT /scim/v2/Users/{id}", f.replace)
	mux.HandleFunc("PATCH /scim/v2/Users/{id}", f.patch)
	mux.HandleFunc("DELETE /scim/v2/Users/{id}", f.delete)
	mux.HandleFunc("GET /scim/v2/ServiceProviderConfig", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"}, "patch": map[string]any{"supported": true}, "etag": map[string]any{"supported": true}})
	})
	mux.HandleFunc("GET /scim/v2/ResourceTypes", func(w http.ResponseWriter, r *http.Request) {
		// A bare array, as some servers send.
		writeJSON(w, 200, []any{map[string]any{"id": "User", "endpoint": "/Users"}, map[string]any{"id": "Group", "endpoint": "/Groups"}})
	})
	mux.HandleFunc("GET /scim/v2/Schemas", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"schemas": []string{scimclient.SchemaListResponse}, "totalResults": "1", "Resources": []any{map[string]any{"id": scimclient.SchemaUser}}})
	})
	mux.HandleFunc("GET /scim/v2/errors/number", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		io.WriteString(w, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":400,"scimType":"invalidFilter","detail":"bad filter"}`)
	})
	mux.HandleFunc("GET /scim/v2/errors/v11", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(409)
		io.WriteString(w, `{"Errors":[{"description":"User already exists","code":409}]}`)
	})
	mux.HandleFunc("GET /scim/v2/errors/html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(502)
		io.WriteString(w, "<html><body><h1>502 Bad Gateway</h1></body></html>")
	})
	mux.HandleFunc("/scim/v2/hangup", func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	mux.HandleFunc("/scim/v2/echo", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"method": r.Method})
	})
	f.srv = httptest.NewServer(f.middleware(mux))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fake) baseURL() string { return f.srv.URL + "/scim/v2" }

// requests returns a copy of the requests received so far.
func (f *fake) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

// set changes misbehaviour knobs under the lock.
func (f *fake) set(fn func(f *fake)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fake) last() recorded {
	r := f.requests()
	if len(r) == 0 {
		return recorded{}
	}
	return r[len(r)-1]
}

func (f *fake) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		f.mu.Lock()
		f.reqs = append(f.reqs, recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), string(body)})
		throttled := false
		if f.throttle > 0 && strings.HasPrefix(r.URL.Path, "/scim/v2/Users") {
			f.throttle--
			throttled = true
		}
		f.mu.Unlock()

		user, pass, basic := r.BasicAuth()
		if r.Header.Get("Authorization") != "Bearer "+fakeToken && (!basic || user != fakeUser || pass != fakePassword) &&
			r.Header.Get("X-Api-Key") != fakeToken {
			scimError(w, 401, "", "authentication required")
			return
		}
		if throttled {
			if f.retryAfter != "" {
				w.Header().Set("Retry-After", f.retryAfter)
			}
			status := f.throttleStatus
			if status == 0 {
				status = 429
			}
			scimError(w, status, "", "slow down")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/scim+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func scimError(w http.ResponseWriter, status int, scimType, detail string) {
	body := map[string]any{"schemas": []string{scimclient.SchemaError}, "status": strconv.Itoa(status), "detail": detail}
	if scimType != "" {
		body["scimType"] = scimType
	}
	writeJSON(w, status, body)
}

func (f *fake) etag(id string) string { return fmt.Sprintf(`W/"%d"`, f.version[id]) }

// store saves u under id and sets meta; the caller holds f.mu.
func (f *fake) store(id string, u map[string]any) {
	f.version[id]++
	u["id"] = id
	u["meta"] = map[string]any{
		"resourceType": "User",
		"location":     f.baseURL() + "/Users/" + id,
		"version":      f.etag(id),
	}
	delete(u, "password")
	f.users[id] = u
}

func (f *fake) writeUser(w http.ResponseWriter, status int, id string) {
	w.Header().Set("ETag", f.etag(id))
	if status == 201 {
		w.Header().Set("Location", f.baseURL()+"/Users/"+id)
	}
	writeJSON(w, status, f.users[id])
}

func (f *fake) create(w http.ResponseWriter, r *http.Request) {
	var u map[string]any
	if err := json.NewDecoder(r.Body).Decode(&u); err != nil {
		scimError(w, 400, "invalidSyntax", err.Error())
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	name, _ := u["userName"].(string)
	if name == "" {
		scimError(w, 400, "invalidValue", "userName is required")
		return
	}
	for _, o := range f.users {
		if strings.EqualFold(o["userName"].(string), name) {
			scimError(w, 409, "uniqueness", "userName "+name+" is taken")
			return
		}
	}
	f.nextID++
	id := fmt.Sprintf("u%03d", f.nextID)
	f.store(id, u)
	f.order = append(f.order, id)
	f.writeUser(w, 201, id)
}

// lookup finds the user and checks preconditions; the caller holds f.mu.
func (f *fake) lookup(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	if _, ok := f.users[id]; !ok {
		scimError(w, 404, "", "no user "+id)
		return "", false
	}
	if m := r.Header.Get("If-Match"); m != "" && m != "*" && m != f.etag(id) {
		scimError(w, 412, "", "version mismatch")
		return "", false
	}
	return id, true
}

func (f *fake) get(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.lookup(w, r)
	if !ok {
		return
	}
	if r.Header.Get("If-None-Match") == f.etag(id) {
		w.Header().Set("ETag", f.etag(id))
		w.WriteHeader(304)
		return
	}
	f.writeUser(w, 200, id)
}

func (f *fake) replace(w http.ResponseWriter, r *http.Request) {
	var u map[string]any
	if err := json.NewDecoder(r.Body).Decode(&u); err != nil {
		scimError(w, 400, "invalidSyntax", err.Error())
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.lookup(w, r)
	if !ok {
		return
	}
	f.store(id, u)
	f.writeUser(w, 200, id)
}

// patch supports only what the tests send: attribute-name paths and no-path
// add/replace objects. Op names compare case-insensitively.
func (f *fake) patch(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Operations []struct {
			Op    string
			Path  string
			Value any
		}
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		scimError(w, 400, "invalidSyntax", err.Error())
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.lookup(w, r)
	if !ok {
		return
	}
	u := f.users[id]
	for _, op := range req.Operations {
		switch strings.ToLower(op.Op) {
		case "add", "replace":
			if op.Path == "" {
				for k, v := range op.Value.(map[string]any) {
					u[k] = v
				}
			} else {
				u[op.Path] = op.Value
			}
		case "remove":
			delete(u, op.Path)
		default:
			scimError(w, 400, "invalidSyntax", "bad op "+op.Op)
			return
		}
	}
	f.store(id, u)
	if r.URL.Query().Get("noContent") != "" {
		w.Header().Set("ETag", f.etag(id))
		w.WriteHeader(204)
		return
	}
	f.writeUser(w, 200, id)
}

func (f *fake) delete(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.lookup(w, r)
	if !ok {
		return
	}
	delete(f.users, id)
	f.order = slices.DeleteFunc(f.order, func(s string) bool { return s == id })
	w.WriteHeader(204)
}

var eqFilter = regexp.MustCompile(`^(?i)userName eq "([^"]*)"$`)

func (f *fake) list(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	start, _ := strconv.Atoi(q.Get("startIndex"))
	count := -1
	if c := q.Get("count"); c != "" {
		count, _ = strconv.Atoi(c)
	}
	f.query(w, q.Get("filter"), start, count)
}

func (f *fake) search(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Filter     string
		StartIndex int
		Count      *int
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		scimError(w, 400, "invalidSyntax", err.Error())
		return
	}
	count := -1
	if req.Count != nil {
		count = *req.Count
	}
	f.query(w, req.Filter, req.StartIndex, count)
}

func (f *fake) query(w http.ResponseWriter, filter string, start, count int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var match []any
	for _, id := range f.order {
		u := f.users[id]
		if filter != "" {
			m := eqFilter.FindStringSubmatch(filter)
			if m == nil {
				scimError(w, 400, "invalidFilter", "unsupported filter")
				return
			}
			if !strings.EqualFold(u["userName"].(string), m[1]) {
				continue
			}
		}
		match = append(match, u)
	}
	if start < 1 || f.ignoreStartIndex {
		start = 1
	}
	page := match[min(start-1, len(match)):]
	if count >= 0 && count < len(page) {
		page = page[:count]
	}
	body := map[string]any{
		"schemas":      []string{scimclient.SchemaListResponse},
		"totalResults": len(match),
		"startIndex":   start,
		"itemsPerPage": len(page),
	}
	if len(page) > 0 {
		body["Resources"] = page
	}
	writeJSON(w, 200, body)
}
