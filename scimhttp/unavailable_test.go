package scimhttp_test

import (
	"context"
	"database/sql"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd/schema"
	"github.com/scimd/scimd/sqlite"
)

// A store error that means the database cannot be reached for now (here
// SQLite's write lock held by another process past the busy timeout) is
// answered 503 with Retry-After and a SCIM error, not 500; reads, which
// the lock does not block, still succeed, and writes do once it is gone.
func TestStoreUnavailable(t *testing.T) {
	reg := schema.DefaultRegistry()
	path := t.TempDir() + "/scim.db"
	db, err := sqlite.Open(context.Background(), path, reg, sqlite.WithBusyTimeout(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	s := newServer(t, db, reg, nil)
	id := s.createUser("ana").str("id")

	// Another process (a sqlite3 shell, say) takes the write lock.
	other, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(t.Context(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}

	r := s.do("POST", "/Users", userBody("ben")).expectError(t, http.StatusServiceUnavailable, "")
	if got := r.header.Get("Retry-After"); got != "5" {
		t.Errorf("Retry-After %q, want 5", got)
	}
	if d := r.str("detail"); !strings.Contains(d, "unavailable") {
		t.Errorf("detail %q", d)
	}
	s.do("PATCH", "/Users/"+id, map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "replace", "value": map[string]any{"active": false}}},
	}).expectError(t, http.StatusServiceUnavailable, "")
	s.do("GET", "/Users/"+id, nil).expect(t, http.StatusOK)

	if _, err := conn.ExecContext(t.Context(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	s.createUser("ben")
}
