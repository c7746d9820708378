package pgtest_test

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/scimd/scimd/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// MustConnect connects to url, closing the connection when tb ends.
func MustConnect(tb testing.TB, url string) *pgx.Conn {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		tb.Fatalf("connect %s: %v", url, err)
	}
	tb.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func MustExec(tb testing.TB, conn *pgx.Conn, sql string, args ...any) {
	tb.Helper()
	if _, err := conn.Exec(context.Background(), sql, args...); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
}

func count(tb testing.TB, conn *pgx.Conn, sql string, args ...any) int {
	tb.Helper()
	var n int
	if err := conn.QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		tb.Fatalf("%s: %v", sql, err)
	}
	return n
}

func dbName(tb testing.TB, raw string) string {
	tb.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return strings.TrimPrefix(u.Path, "/")
}

func TestURL(t *testing.T) {
	start := time.Now()
	a := pgtest.URL(t)
	t.Logf("first URL after %v: %s", time.Since(start).Round(time.Millisecond), a)
	b := pgtest.URL(t)
	if dbName(t, a) == dbName(t, b) {
		t.Fatalf("two URL calls gave database %s", dbName(t, a))
	}
	ca, cb := MustConnect(t, a), MustConnect(t, b)

	t.Run("Version", func(t *testing.T) {
		var version string
		if err := ca.QueryRow(context.Background(), "select version()").Scan(&version); err != nil {
			t.Fatal(err)
		}
		t.Log(version)
		if !strings.HasPrefix(version, "PostgreSQL ") {
			t.Fatalf("version() = %q", version)
		}
	})

	t.Run("Empty", func(t *testing.T) {
		if got := count(t, ca, "select count(*) from pg_tables where schemaname not in ('pg_catalog', 'information_schema')"); got != 0 {
			t.Fatalf("new database has %d tables", got)
		}
	})

	t.Run("Isolated", func(t *testing.T) {
		MustExec(t, ca, "create table widgets (id int primary key, name text not null)")
		MustExec(t, ca, "insert into widgets values (1, 'one')")
		if got := count(t, cb, "select count(*) from pg_tables where tablename = 'widgets'"); got != 0 {
			t.Fatalf("table created in %s is visible in %s", dbName(t, a), dbName(t, b))
		}
		MustExec(t, cb, "create table widgets (id int primary key, name text not null)")
		MustExec(t, cb, "insert into widgets values (1, 'uno'), (2, 'dos')")
		if got, want := count(t, ca, "select count(*) from widgets"), 1; got != want {
			t.Fatalf("a: %d widgets, want %d", got, want)
		}
		if got, want := count(t, cb, "select count(*) from widgets"), 2; got != want {
			t.Fatalf("b: %d widgets, want %d", got, want)
		}
	})
}

// A test's databases are dropped when it ends, even with connections
// still open.
func TestURLDropped(t *testing.T) {
	var name string
	t.Run("Use", func(t *testing.T) {
		u := pgtest.URL(t)
		name = dbName(t, u)
		conn, err := pgx.Connect(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close(context.Background()) }) // runs after the drop
		MustExec(t, conn, "create table t (x int)")
	})
	conn := MustConnect(t, pgtest.URL(t))
	if got := count(t, conn, "select count(*) from pg_database where datname = $1", name); got != 0 {
		t.Fatalf("database %s still exists after its test", name)
	}
}

func TestURLParallel(t *testing.T) {
	for i := range 4 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			conn := MustConnect(t, pgtest.URL(t))
			MustExec(t, conn, "create table t (x int)")
			MustExec(t, conn, "insert into t values ($1)", i)
			if got := count(t, conn, "select sum(x) from t"); got != i {
				t.Fatalf("sum = %d, want %d", got, i)
			}
		})
	}
}

// A private server restarts on the same URL, keeping its data; the
// sessions of before end with "terminating connection due to
// administrator command", as with "pg_ctl restart -m fast".
func TestPrivateRestart(t *testing.T) {
	p := pgtest.StartPrivate(t)
	before := MustConnect(t, p.URL())
	MustExec(t, before, "CREATE TABLE kept (n int)")
	MustExec(t, before, "INSERT INTO kept VALUES (1)")
	p.Restart(t)
	var n int
	err := before.QueryRow(t.Context(), "SELECT count(*) FROM kept").Scan(&n)
	if err == nil {
		t.Fatal("a session of before the restart still works")
	}
	after := MustConnect(t, p.URL())
	if err := after.QueryRow(t.Context(), "SELECT count(*) FROM kept").Scan(&n); err != nil || n != 1 {
		t.Fatalf("after the restart: %d rows, %v; want the 1 of before", n, err)
	}
}
