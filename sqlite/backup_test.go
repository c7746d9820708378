package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/schema"
	"github.com/scimd/scimd/sqlite"
)

// TestBackupWhileWriting copies a file database with Backup and BackupFile
// while writers commit to it, and checks that each copy is a consistent
// snapshot: it passes integrity_check, opens as a store, holds every write
// committed before the copy started, and of each writer's sequence of
// creates holds a prefix (no later write without the earlier ones); every
// group's member_count matches its membership rows.
func TestBackupWhileWriting(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "scimd.db")
	db, err := sqlite.Open(ctx, src, schema.DefaultRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The copies take the database's permissions.
	const srcPerm = 0o640
	if err := os.Chmod(src, srcPerm); err != nil {
		t.Fatal(err)
	}

	// Enough data that a copy takes a while.
	var seed []*scimd.Resource
	for i := range 3000 {
		seed = append(seed, newUser(fmt.Sprintf("seed%05d@example.com", i)))
	}
	if _, err := db.BulkCreate(ctx, scimd.DefaultTenant, seed); err != nil {
		t.Fatal(err)
	}

	const writers = 3
	var committed [writers]atomic.Int64 // creates committed by each writer
	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			var members []scimd.Member
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				u, err := db.Create(ctx, scimd.DefaultTenant, newUser(fmt.Sprintf("w%d-%06d@example.com", w, n)))
				if err != nil {
					errs <- err
					return
				}
				committed[w].Add(1)
				members = append(members, scimd.Member{Value: u.ID, Type: scimd.TypeUser})
				if n%10 == 9 {
					// A group with the last ten users: its members
					// and member_count are written in one transaction.
					g := newGroup(fmt.Sprintf("g%d-%06d", w, n), members...)
					if _, err := db.Create(ctx, scimd.DefaultTenant, g); err != nil {
						errs <- err
						return
					}
					members = nil
				}
			}
		})
	}
	// Let the writers get going.
	for committed[0].Load() < 20 {
		time.Sleep(time.Millisecond)
	}

	backups := []struct {
		name string
		run  func(out string) error
	}{
		{"Backup", func(out string) error { return db.Backup(ctx, out) }},
		{"BackupFile", func(out string) error { return sqlite.BackupFile(ctx, src, out) }},
	}
	type result struct {
		out    string
		before [writers]int64
	}
	var results []result
	for _, b := range backups {
		r := result{out: filepath.Join(dir, strings.ToLower(b.name)+".db")}
		for w := range writers {
			r.before[w] = committed[w].Load()
		}
		start := time.Now()
		if err := b.run(r.out); err != nil {
			t.Fatalf("%s: %v", b.name, err)
		}
		t.Logf("%s: copied in %v while writers committed %d creates", b.name, time.Since(start).Round(time.Millisecond),
			committed[0].Load()-r.before[0]+committed[1].Load()-r.before[1]+committed[2].Load()-r.before[2])
		results = append(results, r)
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("writer: %v", err)
	}

	for i, r := range results {
		name := backups[i].name
		if err := sqlite.CheckFile(ctx, r.out); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if fi, err := os.Stat(r.out); err != nil {
			t.Fatal(err)
		} else if fi.Mode().Perm() != srcPerm {
			t.Errorf("%s: copy mode %v, want the database's %v", name, fi.Mode().Perm(), os.FileMode(srcPerm))
		}
		// No -wal beside the copy: it is a complete database on its own.
		if _, err := os.Stat(r.out + "-wal"); err == nil {
			t.Errorf("%s: the copy has a -wal file", name)
		}
		checkSnapshot(t, name, r.out, r.before[:])
		// The copy opens as a store (migrations already applied).
		cp, err := sqlite.Open(ctx, r.out, schema.DefaultRegistry())
		if err != nil {
			t.Fatalf("%s: open copy: %v", name, err)
		}
		if _, err := cp.Get(ctx, scimd.DefaultTenant, scimd.TypeUser, seedID(t, r.out), scimd.ReadOptions{}); err != nil {
			t.Errorf("%s: get a seeded user from the copy: %v", name, err)
		}
		cp.Close()
	}
}

// seedID returns the id of the first seeded user in the database at path.
func seedID(t *testing.T, path string) string {
	t.Helper()
	conn := openRaw(t, path)
	var id string
	if err := conn.QueryRow(`SELECT id FROM resources WHERE name_lc = 'seed00000@example.com'`).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func openRaw(t *testing.T, path string) *sql.DB {
	t.Helper()
	conn, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// checkSnapshot checks the copy at path: all 3000 seeded users, of each
// writer a prefix of its creates at least as long as before[w], and groups
// whose member_count is their number of membership rows.
func checkSnapshot(t *testing.T, name, path string, before []int64) {
	t.Helper()
	conn := openRaw(t, path)
	rows, err := conn.Query(`SELECT name_lc FROM resources WHERE type = 'User'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	seeded := 0
	seqs := make([][]int, len(before))
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		if strings.HasPrefix(s, "seed") {
			seeded++
			continue
		}
		// w<writer>-<n>@example.com
		var w, n int
		if _, err := fmt.Sscanf(s, "w%d-%d@example.com", &w, &n); err != nil {
			t.Fatalf("%s: unexpected userName %q", name, s)
		}
		seqs[w] = append(seqs[w], n)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if seeded != 3000 {
		t.Errorf("%s: %d seeded users, want 3000", name, seeded)
	}
	for w, ns := range seqs {
		sort.Ints(ns)
		for i, n := range ns {
			if n != i {
				t.Errorf("%s: writer %d: creates %v… are not a prefix (missing %d)", name, w, ns[:min(i+1, 10)], i)
				break
			}
		}
		if int64(len(ns)) < before[w] {
			t.Errorf("%s: writer %d: %d creates in the copy, but %d were committed before it started", name, w, len(ns), before[w])
		}
	}
	var bad int
	if err := conn.QueryRow(`SELECT count(*) FROM resources g WHERE g.type = 'Group' AND g.member_count !=
		(SELECT count(*) FROM memberships m WHERE m.tenant_id = g.tenant_id AND m.group_id = g.id)`).Scan(&bad); err != nil {
		t.Fatal(err)
	}
	if bad != 0 {
		t.Errorf("%s: %d groups whose member_count differs from their membership rows", name, bad)
	}
	var groups int
	if err := conn.QueryRow(`SELECT count(*) FROM resources WHERE type = 'Group'`).Scan(&groups); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: copy holds %s writer creates, %d groups", name, strconv.Itoa(len(seqs[0])+len(seqs[1])+len(seqs[2])), groups)
}

// TestBackupRefusesOverwrite checks that Backup and BackupFile leave an
// existing file alone, and leave no temporary file behind.
func TestBackupRefusesOverwrite(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	src := filepath.Join(dir, "scimd.db")
	db, err := sqlite.Open(ctx, src, schema.DefaultRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := filepath.Join(dir, "out.db")
	if err := os.WriteFile(out, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := db.Backup(ctx, out); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("Backup onto an existing file: %v, want an already exists error", err)
	}
	if err := sqlite.BackupFile(ctx, src, out); err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Errorf("BackupFile onto an existing file: %v, want an already exists error", err)
	}
	if b, _ := os.ReadFile(out); string(b) != "precious" {
		t.Errorf("existing file changed to %q", b)
	}
	if err := sqlite.BackupFile(ctx, filepath.Join(dir, "missing.db"), filepath.Join(dir, "x.db")); err == nil {
		t.Error("BackupFile of a missing database succeeded")
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") || e.Name() == "x.db" {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

// TestBackupMemory copies an in-memory database to a file.
func TestBackupMemory(t *testing.T) {
	ctx := context.Background()
	db := MustOpenDB(t, nil)
	u, err := db.Create(ctx, scimd.DefaultTenant, newUser("mem@example.com"))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "mem.db")
	if err := db.Backup(ctx, out); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(out); err != nil {
		t.Fatal(err)
	} else if fi.Mode().Perm() != 0o600 {
		t.Errorf("copy of an in-memory database: mode %v, want 0600", fi.Mode().Perm())
	}
	cp, err := sqlite.Open(ctx, out, schema.DefaultRegistry())
	if err != nil {
		t.Fatal(err)
	}
	defer cp.Close()
	got, err := cp.Get(ctx, scimd.DefaultTenant, scimd.TypeUser, u.ID, scimd.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got.Attrs["userName"] != "mem@example.com" {
		t.Errorf("userName %v", got.Attrs["userName"])
	}
}
