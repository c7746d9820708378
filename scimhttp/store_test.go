package scimhttp_test

import (
	"context"
	"testing"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/schema"
	"github.com/scimd/scimd/sqlite"
)

// newStore returns the store the HTTP tests run against: a fresh
// file-backed sqlite database.
func newStore(t testing.TB, reg *schema.Registry) scimd.Store {
	t.Helper()
	return openSQLite(t, reg, t.TempDir()+"/scim.db")
}

// openSQLite opens a sqlite store at path, closed when the test ends.
func openSQLite(t testing.TB, reg *schema.Registry, path string) scimd.Store {
	t.Helper()
	db, err := sqlite.Open(context.Background(), path, reg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}
