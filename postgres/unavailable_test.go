package postgres_test

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/scimd/scimd"
	"github.com/scimd/scimd/internal/pgtest"
	"github.com/scimd/scimd/postgres"
	"github.com/scimd/scimd/schema"
)

// terminate ends every other session on the store's database, as a
// restart or a failover of PostgreSQL ends them all: the pool's
// connections are then dead, and the pool does not know it.
func terminate(t *testing.T, url string) {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(t.Context(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("no session to terminate")
	}
}

// warm opens several pooled connections with concurrent reads.
func warm(t *testing.T, db *postgres.DB, u *scimd.Resource) {
	t.Helper()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if _, err := db.Get(t.Context(), "t1", scimd.TypeUser, u.ID, scimd.ReadOptions{}); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
}

// After every connection of the pool is lost (a restart of PostgreSQL),
// reads and writes still succeed: the first failure resets the pool and
// what lost its connection runs again on a new one, reads always and
// writes that had not sent COMMIT. Mended in session 10: each request in
// flight then, and each on a connection idle for under a second, failed
// with "terminating connection due to administrator command" (a 500).
func TestLostConnections(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []postgres.Option
	}{
		{"batches", nil},
		{"no batches", []postgres.Option{postgres.WithoutBatches()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := pgtest.URL(t)
			db := mustOpen(t, url, nil, append(tc.opts, postgres.WithAnalyzeInterval(0))...)
			users := createUsers(t, db, 4)
			u := users[0]
			if err := db.CreateTenant(t.Context(), &scimd.Tenant{ID: "t1", Name: "one", Created: time.Now()}); err != nil {
				t.Fatal(err)
			}
			if err := db.CreateToken(t.Context(), &scimd.Token{ID: "tok", Tenant: "t1", Name: "okta", Hash: []byte("h"), Created: time.Now()}); err != nil {
				t.Fatal(err)
			}
			steps := []struct {
				name string
				run  func() error
			}{
				{"get", func() error {
					_, err := db.Get(t.Context(), "t1", scimd.TypeUser, u.ID, scimd.ReadOptions{Groups: true})
					return err
				}},
				{"lookup", func() error {
					res, err := lookup(t, db, "user1")
					if err == nil && res.TotalResults != 1 {
						t.Errorf("lookup found %d", res.TotalResults)
					}
					return err
				}},
				{"patch", func() error {
					_, err := db.Update(t.Context(), "t1", scimd.TypeUser, users[2].ID, scimd.ReadOptions{},
						func(r *scimd.Resource) ([]scimd.MemberOp, error) {
							r.Attrs["active"] = false
							return nil, nil
						})
					return err
				}},
				{"token", func() error { // the bearer token check of every request
					_, err := db.Token(t.Context(), "tok")
					return err
				}},
				{"list", func() error {
					_, err := db.List(t.Context(), "t1", &scimd.ListQuery{Type: scimd.TypeUser, StartIndex: 1, Count: 2})
					return err
				}},
			}
			for _, s := range steps {
				warm(t, db, u)
				terminate(t, url)
				// Each step runs four times at once, as requests in
				// flight during a restart would.
				var wg sync.WaitGroup
				var failed atomic.Int32
				for range 4 {
					wg.Go(func() {
						if err := s.run(); err != nil {
							failed.Add(1)
							t.Errorf("%s after the connections were lost: %v", s.name, err)
						}
					})
				}
				wg.Wait()
				if failed.Load() > 0 {
					return
				}
			}
			if db.Resets() == 0 {
				t.Error("the pool was never reset")
			}
		})
	}
}

// While the server refuses connections, the store's errors translate to
// 503 (the HTTP layer adds Retry-After), and the store works again once
// the server is back.
func TestUnavailable(t *testing.T) {
	url := pgtest.URL(t)
	// A port with nothing listening: the dial is refused, as while
	// PostgreSQL restarts.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := l.Addr().String()
	l.Close()
	var down atomic.Bool
	var d net.Dialer
	db := mustOpen(t, url, nil, postgres.WithAnalyzeInterval(0), postgres.WithPoolConfig(func(c *pgxpool.Config) {
		c.ConnConfig.DialFunc = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if down.Load() {
				addr = refused
			}
			return d.DialContext(ctx, network, addr)
		}
	}))
	users := createUsers(t, db, 1)
	down.Store(true)
	terminate(t, url)
	_, err = db.Get(t.Context(), "t1", scimd.TypeUser, users[0].ID, scimd.ReadOptions{})
	if err == nil {
		t.Fatal("Get succeeded with the server refusing connections")
	}
	if te := db.TranslateError(err); te == nil || te.Status != http.StatusServiceUnavailable {
		t.Errorf("TranslateError(%v) = %v, want a 503", err, te)
	}
	rt := schema.DefaultRegistry().ResourceType(scimd.TypeUser)
	r, err := rt.Decode(map[string]any{"schemas": []any{schema.URNUser}, "userName": "late"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Create(t.Context(), "t1", r); err == nil || db.TranslateError(err) == nil {
		t.Errorf("Create with the server refusing connections: %v, want an unavailable error", err)
	}
	if db.TranslateError(scimd.NotFound("x")) != nil || db.TranslateError(context.Canceled) != nil {
		t.Error("TranslateError of a 404 or a cancelled context")
	}
	down.Store(false)
	if _, err := db.Get(t.Context(), "t1", scimd.TypeUser, users[0].ID, scimd.ReadOptions{}); err != nil {
		t.Errorf("Get once the server is back: %v", err)
	}
}

// A write that fails with disk_full (53100; raised here by a trigger, as
// PostgreSQL raises it when it cannot extend a file) translates to 507,
// and the store works again once there is room.
func TestDiskFull(t *testing.T) {
	url := pgtest.URL(t)
	db := mustOpen(t, url, nil, postgres.WithAnalyzeInterval(0))
	createUsers(t, db, 1)
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), `
		CREATE FUNCTION disk_full() RETURNS trigger LANGUAGE plpgsql AS
			$$ BEGIN RAISE EXCEPTION 'could not extend file' USING ERRCODE = 'disk_full'; END $$;
		CREATE TRIGGER disk_full BEFORE INSERT ON resources FOR EACH ROW EXECUTE FUNCTION disk_full()`); err != nil {
		t.Fatal(err)
	}
	rt := schema.DefaultRegistry().ResourceType(scimd.TypeUser)
	create := func(name string) error {
		r, err := rt.Decode(map[string]any{"schemas": []any{schema.URNUser}, "userName": name})
		if err != nil {
			t.Fatal(err)
		}
		_, err = db.Create(t.Context(), "t1", r)
		return err
	}
	err = create("full")
	if te := db.TranslateError(err); te == nil || te.Status != http.StatusInsufficientStorage {
		t.Errorf("Create on a full disk: %v, translated to %v, want a 507", err, te)
	}
	if _, err := conn.Exec(t.Context(), `DROP TRIGGER disk_full ON resources`); err != nil {
		t.Fatal(err)
	}
	if err := create("full"); err != nil {
		t.Errorf("Create once there is room: %v", err)
	}
}

// A server that takes connections but never answers (packets dropped
// past the handshake, a hung host) fails Open within the default connect
// timeout, rather than after the operating system's retries.
func TestConnectTimeout(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // silent until the test ends
		}
	}()
	start := time.Now()
	_, err = postgres.Open(t.Context(), "postgres://scimd@"+l.Addr().String()+"/scimd?sslmode=disable", schema.DefaultRegistry())
	took := time.Since(start)
	if err == nil {
		t.Fatal("Open succeeded against a server that never answers")
	}
	if took < postgres.DefaultConnectTimeout || took > postgres.DefaultConnectTimeout+5*time.Second {
		t.Errorf("Open failed after %v, want about %v: %v", took, postgres.DefaultConnectTimeout, err)
	}
	// The same error from a store's request is a 503 (TranslateError
	// reads nothing of the store).
	var db *postgres.DB
	if te := db.TranslateError(err); te == nil || te.Status != http.StatusServiceUnavailable {
		t.Errorf("TranslateError(%v) = %v, want a 503", err, te)
	}
}

// With a lock_timeout in the URL, a write that waits past it on a lock
// held elsewhere (an admin's long transaction) fails as a 503, and works
// once the lock is gone.
func TestLockTimeout(t *testing.T) {
	url := pgtest.URL(t)
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	db := mustOpen(t, url+sep+"lock_timeout=200", nil, postgres.WithAnalyzeInterval(0))
	u := createUsers(t, db, 1)[0]
	admin, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(context.Background())
	tx, err := admin.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(t.Context(), "LOCK TABLE resources IN ACCESS EXCLUSIVE MODE"); err != nil {
		t.Fatal(err)
	}
	deactivate := func() error {
		_, err := db.Update(t.Context(), "t1", scimd.TypeUser, u.ID, scimd.ReadOptions{},
			func(r *scimd.Resource) ([]scimd.MemberOp, error) {
				r.Attrs["active"] = false
				return nil, nil
			})
		return err
	}
	err = deactivate()
	if te := db.TranslateError(err); te == nil || te.Status != http.StatusServiceUnavailable {
		t.Errorf("Update past lock_timeout: %v, translated to %v, want a 503", err, te)
	}
	if err := tx.Rollback(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := deactivate(); err != nil {
		t.Errorf("Update once the lock is gone: %v", err)
	}
}
