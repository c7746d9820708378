package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/schema"
)

// Tests of the group commit (commit.go). Each batch is made deterministic
// by holding the writer: a first operation is started and not ended, the
// others queue behind it, and ending it lets the loop take them all into
// the same transaction.

func openCommitDB(t *testing.T, path string) *DB {
	t.Helper()
	if path == "" {
		path = filepath.Join(t.TempDir(), "scimd.db")
	}
	db, err := Open(context.Background(), path, schema.DefaultRegistry())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func commitUser(name string) *scimd.Resource {
	return &scimd.Resource{Type: scimd.TypeUser, Schemas: []string{schema.URNUser}, Attrs: map[string]any{"userName": name}}
}

// waitQueued waits until n operations wait in the writer's queue.
func waitQueued(t *testing.T, db *DB, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(db.wq) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d operations queued, want %d", len(db.wq), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// createAsync creates users in goroutines; wait returns their errors in
// the order of names.
func createAsync(db *DB, names ...string) (wait func() []error) {
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Go(func() {
			_, errs[i] = db.Create(context.Background(), "t1", commitUser(n))
		})
	}
	return func() []error { wg.Wait(); return errs }
}

// userNames returns the userNames of tenant t1, as readers see them.
func userNames(t *testing.T, db *DB) []string {
	t.Helper()
	rows, err := db.reader.Query(`SELECT json_extract(doc, '$.userName') FROM resources WHERE tenant_id = 't1' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestGroupCommit(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		db := openCommitDB(t, "")
		ctx := context.Background()
		hold, err := db.beginWrite(ctx)
		if err != nil {
			t.Fatal(err)
		}
		names := []string{"a", "b", "c", "d", "e"}
		wait := createAsync(db, names...)
		waitQueued(t, db, len(names))
		b0, o0 := db.WriteStats()
		if err := hold.Commit(); err != nil {
			t.Fatal(err)
		}
		for i, err := range wait() {
			if err != nil {
				t.Errorf("create %s: %v", names[i], err)
			}
		}
		b1, o1 := db.WriteStats()
		if got, want := [2]int64{b1 - b0, o1 - o0}, [2]int64{1, 6}; got != want {
			t.Errorf("batches, ops = %v, want %v", got, want)
		}
		if got := userNames(t, db); !slices.Equal(got, names) {
			t.Errorf("users = %v, want %v", got, names)
		}
	})

	t.Run("ErrConflictRollsBackOnlyItsOperation", func(t *testing.T) {
		db := openCommitDB(t, "")
		hold, err := db.beginWrite(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		wait := createAsync(db, "x", "x", "y")
		waitQueued(t, db, 3)
		if err := hold.Commit(); err != nil {
			t.Fatal(err)
		}
		var conflicts int
		for _, err := range wait() {
			var se *scimd.Error
			switch {
			case err == nil:
			case errors.As(err, &se) && se.Status == 409:
				conflicts++
			default:
				t.Errorf("create: %v", err)
			}
		}
		if conflicts != 1 {
			t.Errorf("%d conflicts, want 1", conflicts)
		}
		if got, want := userNames(t, db), []string{"x", "y"}; !slices.Equal(got, want) {
			t.Errorf("users = %v, want %v", got, want)
		}
		var n int
		if err := db.reader.QueryRow(`SELECT n FROM resource_counts WHERE tenant_id = 't1' AND type = 'User'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Errorf("resource count %d, want 2", n)
		}
	})

	t.Run("FirstOperationRolledBack", func(t *testing.T) {
		// The first operation of a transaction runs without a savepoint:
		// its rollback ends the transaction, and the operations queued
		// behind it start a new one.
		db := openCommitDB(t, "")
		ctx := context.Background()
		hold, err := db.beginWrite(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := hold.createResource(ctx, "t1", db.reg.ResourceType(scimd.TypeUser), commitUser("r0")); err != nil {
			t.Fatal(err)
		}
		wait := createAsync(db, "r1", "r2", "r1")
		waitQueued(t, db, 3)
		if err := hold.Rollback(); err != nil {
			t.Fatal(err)
		}
		var failed int
		for _, err := range wait() {
			if err != nil {
				failed++
			}
		}
		if failed != 1 {
			t.Errorf("%d creates failed, want 1 (the second r1)", failed)
		}
		if got, want := userNames(t, db), []string{"r1", "r2"}; !slices.Equal(got, want) {
			t.Errorf("users = %v, want %v", got, want)
		}
	})

	t.Run("HooksAfterCommitInOrder", func(t *testing.T) {
		db := openCommitDB(t, "")
		ctx := context.Background()
		rt := db.reg.ResourceType(scimd.TypeUser)
		hold, err := db.beginWrite(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var (
			mu  sync.Mutex
			ran []string
		)
		var wg sync.WaitGroup
		results := map[string]error{}
		// Queue the operations one by one, so that their order in the
		// batch is known.
		for i, name := range []string{"h1", "h2", "h3"} {
			wg.Go(func() {
				tx, err := db.beginWrite(ctx)
				if err == nil {
					defer tx.Rollback()
					_, err = tx.createResource(ctx, "t1", rt, commitUser(name))
				}
				if err == nil {
					tx.afterCommit(func() {
						// Committed: a reader sees the user.
						var n int
						err := db.reader.QueryRow(`SELECT count(*) FROM resources WHERE tenant_id = 't1' AND json_extract(doc, '$.userName') = ?`, name).Scan(&n)
						mu.Lock()
						defer mu.Unlock()
						if err != nil || n != 1 {
							t.Errorf("hook of %s: user visible %d times (%v)", name, n, err)
						}
						ran = append(ran, name)
					})
					if name == "h2" {
						err = errors.New("rolled back")
					} else {
						err = tx.Commit()
					}
				}
				mu.Lock()
				results[name] = err
				mu.Unlock()
			})
			waitQueued(t, db, i+1)
		}
		if err := hold.Commit(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if results["h1"] != nil || results["h3"] != nil {
			t.Errorf("results %v", results)
		}
		if want := []string{"h1", "h3"}; !slices.Equal(ran, want) {
			t.Errorf("hooks ran for %v, want %v", ran, want)
		}
		if got, want := userNames(t, db), []string{"h1", "h3"}; !slices.Equal(got, want) {
			t.Errorf("users = %v, want %v", got, want)
		}
	})

	t.Run("ErrCommitFailsEveryOperation", func(t *testing.T) {
		db := openCommitDB(t, "")
		ctx := context.Background()
		hold, err := db.beginWrite(ctx)
		if err != nil {
			t.Fatal(err)
		}
		wait := createAsync(db, "c1", "c2")
		waitQueued(t, db, 2)
		// A deferred foreign key violation passes every statement and
		// RELEASE, and fails the COMMIT of the whole batch.
		if _, err := hold.ExecContext(ctx, `PRAGMA defer_foreign_keys = ON`); err != nil {
			t.Fatal(err)
		}
		if _, err := hold.ExecContext(ctx, `INSERT INTO memberships (tenant_id, group_id, member_id, member_type)
			VALUES ('t1', 'nogroup', 'nouser', 'User')`); err != nil {
			t.Fatal(err)
		}
		if err := hold.Commit(); err == nil {
			t.Error("commit with a foreign key violation succeeded")
		}
		for _, err := range wait() {
			if err == nil {
				t.Error("create in the failed batch succeeded")
			}
		}
		if got := userNames(t, db); len(got) != 0 {
			t.Errorf("users after a failed commit: %v", got)
		}
		// The writer is usable again.
		if _, err := db.Create(ctx, "t1", commitUser("after")); err != nil {
			t.Fatal(err)
		}
		if got, want := userNames(t, db), []string{"after"}; !slices.Equal(got, want) {
			t.Errorf("users = %v, want %v", got, want)
		}
	})

	t.Run("ErrCanceledWhileQueued", func(t *testing.T) {
		db := openCommitDB(t, "")
		hold, err := db.beginWrite(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := db.Create(ctx, "t1", commitUser("gone"))
			done <- err
		}()
		waitQueued(t, db, 1)
		cancel()
		// The writer is still held: the caller gives up without it.
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a canceled write waited for the writer")
		}
		if err := hold.Commit(); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Create(context.Background(), "t1", commitUser("kept")); err != nil {
			t.Fatal(err)
		}
		if got, want := userNames(t, db), []string{"kept"}; !slices.Equal(got, want) {
			t.Errorf("users = %v, want %v", got, want)
		}
	})

	t.Run("ErrCanceledBeforeCommit", func(t *testing.T) {
		db := openCommitDB(t, "")
		ctx, cancel := context.WithCancel(context.Background())
		tx, err := db.beginWrite(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if _, err := tx.createResource(ctx, "t1", db.reg.ResourceType(scimd.TypeUser), commitUser("late")); err != nil {
			t.Fatal(err)
		}
		cancel()
		if err := tx.Commit(); !errors.Is(err, context.Canceled) {
			t.Errorf("commit err = %v, want context.Canceled", err)
		}
		if got := userNames(t, db); len(got) != 0 {
			t.Errorf("users = %v, want none", got)
		}
	})

	t.Run("PanicInOperation", func(t *testing.T) {
		db := openCommitDB(t, "")
		ctx := context.Background()
		u, err := db.Create(ctx, "t1", commitUser("p"))
		if err != nil {
			t.Fatal(err)
		}
		hold, err := db.beginWrite(ctx)
		if err != nil {
			t.Fatal(err)
		}
		recovered := make(chan any, 1)
		go func() {
			defer func() { recovered <- recover() }()
			db.Update(ctx, "t1", scimd.TypeUser, u.ID, scimd.ReadOptions{}, func(r *scimd.Resource) ([]scimd.MemberOp, error) {
				panic("boom")
			})
		}()
		waitQueued(t, db, 1)
		wait := createAsync(db, "q")
		waitQueued(t, db, 2)
		if err := hold.Commit(); err != nil {
			t.Fatal(err)
		}
		if p := <-recovered; p != "boom" {
			t.Errorf("recovered %v, want boom", p)
		}
		if err := wait()[0]; err != nil {
			t.Errorf("create beside a panicking update: %v", err)
		}
		got, err := db.Get(ctx, "t1", scimd.TypeUser, u.ID, scimd.ReadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got.Meta.Version != 1 {
			t.Errorf("version %d after a panicking update, want 1", got.Meta.Version)
		}
		if got, want := userNames(t, db), []string{"p", "q"}; !slices.Equal(got, want) {
			t.Errorf("users = %v, want %v", got, want)
		}
	})

	t.Run("PanicInHook", func(t *testing.T) {
		db := openCommitDB(t, "")
		ctx := context.Background()
		tx, err := db.beginWrite(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		if _, err := tx.createResource(ctx, "t1", db.reg.ResourceType(scimd.TypeUser), commitUser("hp")); err != nil {
			t.Fatal(err)
		}
		tx.afterCommit(func() { panic("hook") })
		func() {
			defer func() {
				if p := recover(); p != "hook" {
					t.Errorf("recovered %v, want the hook's panic", p)
				}
			}()
			tx.Commit()
		}()
		// Committed, and the loop still runs.
		if _, err := db.Create(ctx, "t1", commitUser("hq")); err != nil {
			t.Fatal(err)
		}
		if got, want := userNames(t, db), []string{"hp", "hq"}; !slices.Equal(got, want) {
			t.Errorf("users = %v, want %v", got, want)
		}
	})

	t.Run("CloseDrainsQueue", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "scimd.db")
		db := openCommitDB(t, path)
		hold, err := db.beginWrite(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		names := []string{"d1", "d2", "d3"}
		wait := createAsync(db, names...)
		waitQueued(t, db, len(names))
		closed := make(chan error, 1)
		go func() { closed <- db.Close() }()
		// Close waits for the queue, which waits for the held operation.
		for {
			db.wmu.RLock()
			c := db.wclosed
			db.wmu.RUnlock()
			if c {
				break
			}
			time.Sleep(time.Millisecond)
		}
		if _, err := db.Create(context.Background(), "t1", commitUser("refused")); err == nil {
			t.Error("create after Close succeeded")
		}
		if err := hold.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := <-closed; err != nil {
			t.Fatal(err)
		}
		for i, err := range wait() {
			if err != nil {
				t.Errorf("create %s: %v", names[i], err)
			}
		}
		db = openCommitDB(t, path)
		if got := userNames(t, db); !slices.Equal(got, names) {
			t.Errorf("users after reopening = %v, want %v", got, names)
		}
	})

	t.Run("Memory", func(t *testing.T) {
		db := openCommitDB(t, ":memory:")
		ctx := context.Background()
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Go(func() {
				u, err := db.Create(ctx, "t1", commitUser(string(rune('a'+i))))
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := db.Get(ctx, "t1", scimd.TypeUser, u.ID, scimd.ReadOptions{}); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if got := userNames(t, db); len(got) != 20 {
			t.Errorf("%d users, want 20", len(got))
		}
	})
}
