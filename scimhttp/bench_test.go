package scimhttp_test

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/scimd/scimd/schema"
	"github.com/scimd/scimd/scimhttp"
)

// benchHandler returns a Handler on a file-backed sqlite store.
func benchHandler(b *testing.B) http.Handler {
	b.Helper()
	reg := schema.DefaultRegistry()
	h, err := scimhttp.New(scimhttp.Config{
		Store: openSQLite(b, reg, b.TempDir()+"/bench.db"), Registry: reg, Auth: testAuth,
		HashPassword: testHash, Logger: discardLogger(),
	})
	if err != nil {
		b.Fatal(err)
	}
	return h
}

func benchRequest(h http.Handler, method, path, body string) *httptest.ResponseRecorder {
	var req *http.Request
	if body == "" {
		req = httptest.NewRequest(method, "http://example.com/scim/v2"+path, nil)
	} else {
		req = httptest.NewRequest(method, "http://example.com/scim/v2"+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/scim+json; charset=utf-8")
	}
	req.Header.Set("Authorization", "Bearer "+tokenA)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

const benchUser = `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"%s",
"name":{"givenName":"Ana","familyName":"Silva"},"emails":[{"primary":true,"value":"%s","type":"work"}],
"displayName":"Ana Silva","locale":"en-US","externalId":"00u7f3kq2wXyZ","groups":[],"password":"Tq9v2mLa","active":true}`

// BenchmarkCreateUserHTTP measures an Okta-shaped POST /Users through the
// handler (cheap test password hash; the default PBKDF2 costs far more).
func BenchmarkCreateUserHTTP(b *testing.B) {
	h := benchHandler(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		name := fmt.Sprintf("bench%d@example.com", i)
		i++
		if w := benchRequest(h, "POST", "/Users", fmt.Sprintf(benchUser, name, name)); w.Code != http.StatusCreated {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}

// BenchmarkGetUserHTTP measures GET /Users/{id} through the handler.
func BenchmarkGetUserHTTP(b *testing.B) {
	h := benchHandler(b)
	w := benchRequest(h, "POST", "/Users", fmt.Sprintf(benchUser, "get@example.com", "get@example.com"))
	if w.Code != http.StatusCreated {
		b.Fatalf("%d %s", w.Code, w.Body)
	}
	path := "/Users/" + extractID(w.Body.Bytes())
	b.ReportAllocs()
	for b.Loop() {
		if w := benchRequest(h, "GET", path, ""); w.Code != http.StatusOK {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}

// memBenchHandler returns a Handler over the in-memory test store holding
// n Okta-shaped users, with the request log at info into a discarding
// writer as "scimd serve" logs. The store costs little, so these
// benchmarks show the handler's own per-request cost (middleware,
// routing, rendering, headers, logging) apart from SQLite's.
func memBenchHandler(b *testing.B, n int) (h http.Handler, ids, names []string) {
	return memBenchHandlerLog(b, n, slog.LevelInfo)
}

// memBenchHandlerLog is memBenchHandler with the request log at level.
func memBenchHandlerLog(b *testing.B, n int, level slog.Level) (h http.Handler, ids, names []string) {
	b.Helper()
	reg := schema.DefaultRegistry()
	logger := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: level}))
	h, err := scimhttp.New(scimhttp.Config{
		Store: newMemStore(reg), Registry: reg, Auth: testAuth,
		HashPassword: testHash, Logger: logger,
	})
	if err != nil {
		b.Fatal(err)
	}
	for i := range n {
		name := fmt.Sprintf("user%06d@example.com", i)
		w := benchRequest(h, "POST", "/Users", fmt.Sprintf(benchUser, name, name))
		if w.Code != http.StatusCreated {
			b.Fatalf("seed: %d %s", w.Code, w.Body)
		}
		ids = append(ids, extractID(w.Body.Bytes()))
		names = append(names, name)
	}
	return h, ids, names
}

// BenchmarkMemGet is GET /Users/{id} over the in-memory store.
func BenchmarkMemGet(b *testing.B) {
	h, ids, _ := memBenchHandler(b, 10)
	benchMemGet(b, h, ids)
}

// BenchmarkMemGetQuiet is BenchmarkMemGet with the log at warn: no request
// lines. The difference to BenchmarkMemGet is the request log's cost.
func BenchmarkMemGetQuiet(b *testing.B) {
	h, ids, _ := memBenchHandlerLog(b, 10, slog.LevelWarn)
	benchMemGet(b, h, ids)
}

func benchMemGet(b *testing.B, h http.Handler, ids []string) {
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if w := benchRequest(h, "GET", "/Users/"+ids[i%len(ids)], ""); w.Code != http.StatusOK {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
		i++
	}
}

// BenchmarkMemLookup is Okta's userName lookup over the in-memory store.
func BenchmarkMemLookup(b *testing.B) {
	h, _, names := memBenchHandler(b, 10)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		q := url.QueryEscape(`userName eq "` + names[i%len(names)] + `"`)
		i++
		if w := benchRequest(h, "GET", "/Users?filter="+q+"&startIndex=1&count=100", ""); w.Code != http.StatusOK {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}
