// Package pgtest gives tests a real, throwaway PostgreSQL database.
//
// URL returns a connection URL to a fresh, empty database that is dropped
// when the test ends. All databases of one test binary live on one server:
//
//   - the server named by SCIMD_TEST_POSTGRES (a postgres:// URL whose user
//     may create databases), if that variable is set;
//   - otherwise a private cluster that pgtest creates with initdb in a
//     temporary directory (on /dev/shm when it has room, for speed) and
//     starts on a free port of 127.0.0.1 the first time a test asks for a
//     database. It trusts every loopback connection and runs with fsync,
//     synchronous_commit and full_page_writes off. When the tests run as
//     root, initdb and postgres run as the "postgres" user.
//
// Every package that calls URL stops that cluster from its TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
// Without PostgreSQL server binaries (looked for in
// /usr/lib/postgresql/*/bin, highest version first, then on PATH) URL skips
// the test, or fails it when SCIMD_REQUIRE_POSTGRES=1, as CI sets it, so a
// CI run can never pass by skipping the Postgres tests. scripts/ensure-postgres
// installs the binaries.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// Environment variables read by pgtest.
const (
	// EnvURL names an existing server to use instead of starting one.
	EnvURL = "SCIMD_TEST_POSTGRES"
	// EnvRequire, set to 1, turns "PostgreSQL is not installed" from a
	// skip into a failure.
	EnvRequire = "SCIMD_REQUIRE_POSTGRES"
)

// The shared server of this test binary, opened by the first URL call.
var (
	mainRunning atomic.Bool
	once        sync.Once
	shared      *server
	sharedErr   error
	sharedLog   string
)

// server is where URL creates its databases.
type server struct {
	admin   string   // URL for running CREATE/DROP DATABASE
	base    url.URL  // per-test URLs are this with another database name
	cluster *cluster // the private cluster, nil for SCIMD_TEST_POSTGRES
	major   int      // major version of the server, such as 15
}

// missingError reports that PostgreSQL is not installed here: URL skips
// on it unless SCIMD_REQUIRE_POSTGRES=1.
type missingError struct{ msg string }

func (e *missingError) Error() string {
	return e.msg + "; run scripts/ensure-postgres to install PostgreSQL, or set " +
		EnvURL + " to the URL of an existing server"
}

// URL returns a connection URL to a new, empty database for tb alone,
// dropped (with any connections still open to it) when tb's cleanups run.
// Tests may call it in parallel and more than once.
func URL(tb testing.TB) string {
	tb.Helper()
	if !mainRunning.Load() {
		tb.Fatal("pgtest: this package's TestMain must call pgtest.Main: func TestMain(m *testing.M) { pgtest.Main(m) }")
	}
	first := false
	once.Do(func() {
		first = true
		start := time.Now()
		shared, sharedErr = open()
		if sharedErr == nil {
			sharedLog = fmt.Sprintf("pgtest: %s (ready in %v)", shared, time.Since(start).Round(time.Millisecond))
		}
	})
	if sharedErr != nil {
		fail(tb, sharedErr)
	}
	if first {
		tb.Log(sharedLog)
	}
	u, err := shared.createDB(tb)
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	return u
}

// Main runs the tests, stops the private cluster if one was started and
// exits with the tests' status. Call it from TestMain.
func Main(m *testing.M) {
	mainRunning.Store(true)
	code := m.Run()
	if shared != nil && shared.cluster != nil {
		if err := shared.cluster.stop(); err != nil {
			fmt.Fprintf(os.Stderr, "pgtest: stopping PostgreSQL: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// fail ends tb because the server could not be had: with a skip if
// PostgreSQL is not installed and SCIMD_REQUIRE_POSTGRES is not set.
func fail(tb testing.TB, err error) {
	tb.Helper()
	var missing *missingError
	switch {
	case !errors.As(err, &missing):
		tb.Fatalf("pgtest: %v", err)
	case required():
		tb.Fatalf("pgtest: %v (failing, not skipping, because %s=%s)", err, EnvRequire, os.Getenv(EnvRequire))
	default:
		tb.Skipf("pgtest: %v", err)
	}
}

// Private is a PostgreSQL server of one test's own, for a test that
// restarts it.
type Private struct {
	c *cluster
}

// StartPrivate starts a cluster for tb alone (not the package's shared
// server), stopped and removed when tb ends. Like URL it skips tb when
// PostgreSQL is not installed, unless SCIMD_REQUIRE_POSTGRES=1; it also
// skips tb when SCIMD_TEST_POSTGRES names a server, since tests must not
// restart a server pgtest did not start.
func StartPrivate(tb testing.TB) *Private {
	tb.Helper()
	if os.Getenv(EnvURL) != "" {
		tb.Skip("pgtest: " + EnvURL + " is set; a private server is started only when pgtest runs its own")
	}
	c, err := startCluster()
	if err != nil {
		fail(tb, err)
	}
	tb.Cleanup(func() {
		if err := c.stop(); err != nil {
			tb.Errorf("pgtest: stopping the private server: %v", err)
		}
	})
	return &Private{c: c}
}

// URL returns the URL of the server's "postgres" database.
func (p *Private) URL() string { return p.c.url("postgres") }

// Restart restarts the server as "pg_ctl restart -m fast" does: every
// session is ended (SQLSTATE 57P01), and until it is back connections
// are refused. It returns once the server accepts connections again.
func (p *Private) Restart(tb testing.TB) {
	tb.Helper()
	p.Stop(tb)
	p.Start(tb)
}

// Stop shuts the server down as "pg_ctl stop -m fast" does, keeping its
// data: until Start, connections to its port are refused.
func (p *Private) Stop(tb testing.TB) {
	tb.Helper()
	if err := p.c.shutdown(); err != nil {
		tb.Fatalf("pgtest: stopping the private server: %v", err)
	}
}

// Start starts the server Stop stopped, on the same port and data, and
// returns once it accepts connections.
func (p *Private) Start(tb testing.TB) {
	tb.Helper()
	if err := p.c.startAgain(); err != nil {
		tb.Fatalf("pgtest: starting the private server again: %v", err)
	}
}

func required() bool {
	v := os.Getenv(EnvRequire)
	return v == "1" || strings.EqualFold(v, "true")
}

// open finds or starts the shared server.
func open() (*server, error) {
	if raw := os.Getenv(EnvURL); raw != "" {
		return openExternal(raw)
	}
	c, err := startCluster()
	if err != nil {
		return nil, err
	}
	s := &server{admin: c.url("postgres"), cluster: c}
	base, err := url.Parse(s.admin)
	if err != nil {
		c.stop()
		return nil, err
	}
	s.base = *base
	if err := s.probe(); err != nil {
		c.stop()
		return nil, err
	}
	return s, nil
}

func openExternal(raw string) (*server, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("%s must be a postgres:// URL, got %q", EnvURL, redact(raw))
	}
	s := &server{admin: raw, base: *u}
	if err := s.probe(); err != nil {
		return nil, fmt.Errorf("%s=%s: %w", EnvURL, redact(raw), err)
	}
	return s, nil
}

// probe connects to the server and learns its major version.
func (s *server) probe() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.admin)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	version := conn.PgConn().ParameterStatus("server_version") // "15.18 (Debian 15.18-0+deb12u1)"
	major, _, _ := strings.Cut(version, ".")
	s.major, _ = strconv.Atoi(strings.TrimFunc(major, func(r rune) bool { return r < '0' || r > '9' }))
	return nil
}

func (s *server) String() string {
	if s.cluster != nil {
		return s.cluster.String()
	}
	return "using " + EnvURL + "=" + redact(s.admin)
}

// createDB creates a database for tb and schedules its removal.
func (s *server) createDB(tb testing.TB) (string, error) {
	name := dbName(tb.Name())
	ident := pgx.Identifier{name}.Sanitize()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	create := "CREATE DATABASE " + ident + " TEMPLATE template0"
	if s.major >= 15 {
		// Copying template0's files is several times faster than
		// writing them to the WAL, the default since PostgreSQL 15.
		create += " STRATEGY FILE_COPY"
	}
	if err := s.exec(ctx, create); err != nil {
		return "", fmt.Errorf("creating database %s: %w", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		err := s.exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)")
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "42601" { // no WITH (FORCE) before PostgreSQL 13
			err = s.exec(ctx, "DROP DATABASE IF EXISTS "+ident)
		}
		if err != nil {
			tb.Errorf("pgtest: dropping database %s: %v", name, err)
		}
	})
	u := s.base
	u.Path, u.RawPath = "/"+name, ""
	return u.String(), nil
}

// exec runs one statement on a connection of its own to the server's
// administrative database.
func (s *server) exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, s.admin)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// dbName returns a unique database name that still says which test it
// belongs to, in at most 63 bytes of [a-z0-9_].
func dbName(testName string) string {
	var b strings.Builder
	b.WriteString("scimdtest_")
	underscore := true
	for _, r := range strings.ToLower(testName) {
		if b.Len() >= 40 {
			break
		}
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
			underscore = false
		} else if !underscore {
			b.WriteByte('_')
			underscore = true
		}
	}
	if !underscore {
		b.WriteByte('_')
	}
	var random [6]byte
	rand.Read(random[:])
	b.WriteString(hex.EncodeToString(random[:]))
	return b.String()
}

// redact hides the password in a URL meant for messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
