package scimhttp_test

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/scimd/scimd"
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

// failMembers is a store whose reads of a group's members fail, as when
// the database goes away between a write and the read of its response.
type failMembers struct{ *memStore }

func (s failMembers) Get(ctx context.Context, tenant, typ, id string, opt scimd.ReadOptions) (*scimd.Resource, error) {
	if opt.Members {
		return nil, errors.New("connection lost")
	}
	return s.memStore.Get(ctx, tenant, typ, id, opt)
}

// A write is not reported as failed when only the read of its response's
// members fails (the write is committed by then): the response omits
// members, as it does for a group too large to echo.
func TestWriteResponseWithoutMembers(t *testing.T) {
	reg := schema.DefaultRegistry()
	st := failMembers{newMemStore(reg)}
	s := newServer(t, st, reg, nil)
	uid := s.createUser("ana").str("id")
	gid := s.do("POST", "/Groups", map[string]any{"schemas": []string{schema.URNGroup}, "displayName": "staff"}).
		expect(t, http.StatusCreated).str("id")
	r := s.do("PATCH", "/Groups/"+gid, map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []any{map[string]any{"op": "add", "path": "members", "value": []any{map[string]any{"value": uid}}}},
	}).expect(t, http.StatusOK)
	if _, ok := r.body["members"]; ok {
		t.Errorf("members in a response whose members could not be read: %v", r.body["members"])
	}
	if r.str("displayName") != "staff" {
		t.Errorf("response %v", r.body)
	}
	var stored []scimd.Member
	for k, ms := range st.members {
		if strings.HasSuffix(k, "/"+gid) {
			stored = ms
		}
	}
	if len(stored) != 1 || stored[0].Value != uid {
		t.Errorf("stored members %v, want [%s]", stored, uid)
	}
}
