package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/scimd/scimd/sqlite"
)

// Benchmarks of the request path as "scimd serve" wires it (tenant
// routing, bearer tokens checked against the database, request log, the
// SQLite store), without the network: the CPU one request costs the
// server. The load tool (cmd/scimload) measures the same requests over
// HTTP. Passwords are discarded, as in scripts/bench-load's provision
// comparison, so that argon2id does not hide everything else.

const benchToken = "bench-token-0123456789abcdef"

type benchServer struct {
	h     http.Handler
	users []string // ids
	names []string // userNames
}

func newBenchServer(b *testing.B, users int) *benchServer {
	b.Helper()
	return newBenchServerLog(b, users, "info")
}

// newBenchServerLog is newBenchServer with the log at level.
func newBenchServerLog(b *testing.B, users int, level string) *benchServer {
	b.Helper()
	cfg := DefaultConfig()
	cfg.Database = filepath.Join(b.TempDir(), "bench.db")
	cfg.Passwords = "discard"
	cfg.Limits.TenantRate, cfg.Limits.CredentialRate = 0, 0
	reg, err := cfg.Registry()
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	db, err := sqlite.Open(ctx, cfg.Database, reg, sqlite.WithCacheBytes(cfg.SQLiteCacheBytes))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	if _, err := bootstrap(ctx, db, benchToken); err != nil {
		b.Fatal(err)
	}
	logger, err := newLogger(io.Discard, level, "text")
	if err != nil {
		b.Fatal(err)
	}
	h, err := newHandler(cfg, db, reg, logger)
	if err != nil {
		b.Fatal(err)
	}
	s := &benchServer{h: h}
	for i := range users {
		name := fmt.Sprintf("user%06d@example.com", i)
		w := s.do(b, "POST", "/Users", fmt.Sprintf(benchOktaUser, name, name, "Ana Silva"))
		if w.Code != http.StatusCreated {
			b.Fatalf("seed: %d %s", w.Code, w.Body)
		}
		var v struct{ ID string }
		if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
			b.Fatal(err)
		}
		s.users = append(s.users, v.ID)
		s.names = append(s.names, name)
	}
	return s
}

// benchOktaUser is Okta's POST /Users body (userName, email, displayName).
const benchOktaUser = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"%s",
"name":{"givenName":"Ana","familyName":"Silva"},"emails":[{"primary":true,"value":"%s","type":"work"}],
"displayName":"%s","locale":"en-US","externalId":"00u7f3kq2wXyZ","groups":[],"password":"Tq9v2mLa","active":true}`

func (s *benchServer) do(b *testing.B, method, path, body string) *httptest.ResponseRecorder {
	var req *http.Request
	if body == "" {
		req = httptest.NewRequest(method, "http://127.0.0.1:8080/scim/v2"+path, nil)
	} else {
		req = httptest.NewRequest(method, "http://127.0.0.1:8080/scim/v2"+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/scim+json; charset=utf-8")
	}
	req.Header.Set("Authorization", "Bearer "+benchToken)
	// A server's request context can be cancelled (the client goes away):
	// the driver watches such contexts, which costs something per query.
	ctx, cancel := context.WithCancel(req.Context())
	defer cancel()
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, req.WithContext(ctx))
	return w
}

const benchUsers = 1000

// BenchmarkServeLookup is Okta's userName lookup.
func BenchmarkServeLookup(b *testing.B) {
	s := newBenchServer(b, benchUsers)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		q := url.QueryEscape(`userName eq "` + s.names[i%len(s.names)] + `"`)
		i++
		if w := s.do(b, "GET", "/Users?filter="+q+"&startIndex=1&count=100", ""); w.Code != http.StatusOK {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}

// BenchmarkServeGet is GET /Users/{id}.
func BenchmarkServeGet(b *testing.B) {
	benchServeGet(b, newBenchServer(b, benchUsers))
}

// BenchmarkServeGetQuiet is BenchmarkServeGet with the log at warn, which
// writes no request lines: the difference is the request log's cost at
// the default level, info.
func BenchmarkServeGetQuiet(b *testing.B) {
	benchServeGet(b, newBenchServerLog(b, benchUsers, "warn"))
}

func benchServeGet(b *testing.B, s *benchServer) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		id := s.users[i%len(s.users)]
		i++
		if w := s.do(b, "GET", "/Users/"+id, ""); w.Code != http.StatusOK {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}

// BenchmarkServePatchActive is Okta's deactivate/reactivate PATCH.
func BenchmarkServePatchActive(b *testing.B) {
	s := newBenchServer(b, benchUsers)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		id := s.users[i%len(s.users)]
		active := (i/len(s.users))%2 == 1
		i++
		body := fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":%t}}]}`, active)
		if w := s.do(b, "PATCH", "/Users/"+id, body); w.Code/100 != 2 {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}

// BenchmarkServePut is Okta's PUT of a whole user.
func BenchmarkServePut(b *testing.B) {
	s := newBenchServer(b, benchUsers)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := i % len(s.users)
		i++
		body := fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"%s","userName":"%s",
"name":{"givenName":"Ana","familyName":"Silva"},"emails":[{"primary":true,"value":"%s","type":"work"}],
"displayName":"Ana Silva %d","locale":"en-US","externalId":"00u7f3kq2wXyZ","groups":[],"active":true}`,
			s.users[k], s.names[k], s.names[k], i)
		if w := s.do(b, "PUT", "/Users/"+s.users[k], body); w.Code != http.StatusOK {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}

// BenchmarkServeProvision is Okta's provisioning pair: the userName lookup
// (no match) then POST /Users.
func BenchmarkServeProvision(b *testing.B) {
	s := newBenchServer(b, benchUsers)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		name := fmt.Sprintf("new%07d@example.com", i)
		i++
		q := url.QueryEscape(`userName eq "` + name + `"`)
		if w := s.do(b, "GET", "/Users?filter="+q+"&startIndex=1&count=100", ""); w.Code != http.StatusOK {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
		if w := s.do(b, "POST", "/Users", fmt.Sprintf(benchOktaUser, name, name, "New User")); w.Code != http.StatusCreated {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}
