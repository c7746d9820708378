//go:build unix

package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// dirPrefix starts the name of every cluster directory, so that
// removeStale can find those left behind by killed test binaries.
const dirPrefix = "scimd-pgtest-"

// cluster is a private PostgreSQL server: a data directory in a
// temporary directory and the postmaster running on it.
type cluster struct {
	bin     string // directory of initdb and postgres
	version string // server version, as reported by the server
	dir     string // temporary directory: data/, postgres.log, the socket
	port    int    // of 127.0.0.1; 0 until start picks a free one
	addr    string // 127.0.0.1:port
	cmd     *exec.Cmd
	exited  <-chan error // receives the postmaster's exit
	down    bool         // shut down by shutdown, not started again
	started time.Time
}

func (c *cluster) String() string {
	return fmt.Sprintf("started PostgreSQL %s from %s on %s in %s", c.version, c.bin, c.addr, c.dir)
}

// url returns the URL of database db as superuser postgres.
func (c *cluster) url(db string) string {
	return "postgres://postgres@" + c.addr + "/" + db + "?sslmode=disable&connect_timeout=10"
}

// startCluster creates and starts a cluster.
func startCluster() (*cluster, error) {
	bin, err := findBin()
	if err != nil {
		return nil, err
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	c := &cluster{bin: bin, started: time.Now()}
	if err := c.makeDir(cred); err != nil {
		return nil, err
	}
	if err := c.initdb(cred); err != nil {
		os.RemoveAll(c.dir)
		return nil, err
	}
	// Another process may take the free port before postgres binds it:
	// then try another.
	for attempt := 1; ; attempt++ {
		err = c.start(cred)
		if err == nil {
			return c, nil
		}
		if !errors.Is(err, errAddrInUse) || attempt == 3 {
			os.RemoveAll(c.dir)
			return nil, err
		}
		c.port = 0
	}
}

// findBin returns the directory holding the PostgreSQL server binaries:
// the highest version under /usr/lib/postgresql (Debian's layout), else
// wherever initdb on PATH really lives.
func findBin() (string, error) {
	has := func(dir string) bool {
		for _, name := range []string{"initdb", "postgres"} {
			if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
				return false
			}
		}
		return true
	}
	dirs, _ := filepath.Glob(debianBins)
	slices.SortFunc(dirs, func(a, b string) int { // highest version first
		return compareVersions(filepath.Base(filepath.Dir(b)), filepath.Base(filepath.Dir(a)))
	})
	for _, dir := range dirs {
		if has(dir) {
			return dir, nil
		}
	}
	if path, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(path); err == nil && has(filepath.Dir(real)) {
			return filepath.Dir(real), nil
		}
	}
	return "", &missingError{"PostgreSQL server binaries (initdb, postgres) not found in /usr/lib/postgresql/*/bin or on PATH"}
}

// compareVersions orders "9.6" < "15" < "16.1".
func compareVersions(a, b string) int {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x - y
		}
	}
	return strings.Compare(a, b)
}

// credential returns whom to run initdb and postgres as: nil for the
// current user, or user postgres when running as root, since PostgreSQL
// refuses to run as root.
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, &missingError{"running as root, and there is no \"postgres\" user to run PostgreSQL as"}
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("user postgres has uid %q, gid %q", u.Uid, u.Gid)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// makeDir creates the cluster's temporary directory, owned by whoever
// runs PostgreSQL, after removing those that killed test binaries left.
func (c *cluster) makeDir(cred *syscall.Credential) error {
	var err error
	for _, parent := range scratchDirs() {
		removeStale(parent)
		if c.dir, err = os.MkdirTemp(parent, dirPrefix); err == nil {
			break
		}
	}
	if err != nil {
		return err
	}
	// Record who owns the directory, for removeStale.
	if err = os.WriteFile(filepath.Join(c.dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err == nil && cred != nil {
		err = os.Chown(c.dir, int(cred.Uid), int(cred.Gid))
	}
	if err != nil {
		os.RemoveAll(c.dir)
		return err
	}
	return nil
}

// removeStale removes the cluster directories in parent whose test binary
// and postmaster are both gone (killed, so Main never cleaned up).
func removeStale(parent string) {
	entries, _ := os.ReadDir(parent)
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), dirPrefix) {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		if fi, err := e.Info(); err != nil || time.Since(fi.ModTime()) < time.Minute {
			continue // may be being set up right now
		}
		if pidAlive(filepath.Join(dir, "owner.pid")) || pidAlive(filepath.Join(dir, "data", "postmaster.pid")) {
			continue
		}
		os.RemoveAll(dir)
	}
}

// pidAlive reports whether the process whose ID begins file may still be
// running. Unreadable files count as dead.
func pidAlive(file string) bool {
	b, err := os.ReadFile(file)
	if err != nil {
		return false
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	return err == nil && pid > 0 && processExists(pid)
}

// initdb creates the data directory.
func (c *cluster) initdb(cred *syscall.Credential) error {
	cmd := exec.Command(filepath.Join(c.bin, "initdb"),
		"--pgdata", filepath.Join(c.dir, "data"),
		"--username", "postgres",
		"--auth", "trust", // pg_hba.conf: trust local sockets and loopback only
		"--encoding", "UTF8", "--locale", "C",
		"--no-sync",
	)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	exited, err := c.run(cmd, cred)
	if err == nil {
		err = <-exited
	}
	if err != nil {
		return fmt.Errorf("%s: %v\n%s", cmd, err, out.Bytes())
	}
	return nil
}

// debianBins is where Debian's packages put each version's binaries.
var debianBins = "/usr/lib/postgresql/*/bin"

var errAddrInUse = errors.New("address already in use")

// start starts the postmaster on a free loopback port and waits until it
// accepts connections.
func (c *cluster) start(cred *syscall.Credential) error {
	if c.port == 0 {
		port, err := freePort()
		if err != nil {
			return err
		}
		c.port = port
	}
	port := c.port
	c.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	logPath := filepath.Join(c.dir, "postgres.log")
	logFile, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close() // the postmaster has its own descriptor
	cmd := exec.Command(filepath.Join(c.bin, "postgres"),
		"-D", filepath.Join(c.dir, "data"),
		"-p", strconv.Itoa(port),
		"-k", c.dir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	exited, err := c.run(cmd, cred)
	if err != nil {
		return err
	}
	c.cmd, c.exited = cmd, exited

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, c.url("postgres"))
		if err == nil {
			c.version = conn.PgConn().ParameterStatus("server_version")
			conn.Close(ctx)
			return nil
		}
		select {
		case werr := <-exited:
			log, _ := os.ReadFile(logPath)
			if bytes.Contains(log, []byte("could not bind")) || bytes.Contains(log, []byte("could not create any TCP/IP sockets")) {
				return fmt.Errorf("port %d: %w", port, errAddrInUse)
			}
			return fmt.Errorf("postgres exited while starting (%v); %s:\n%s", werr, logPath, tail(log))
		case <-ctx.Done():
			c.kill()
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("postgres not accepting connections on %s after 60s: %v; %s:\n%s", c.addr, err, logPath, tail(log))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// run starts cmd as cred in c.dir, set to be killed if this process dies,
// and returns a channel that receives its exit.
func (c *cluster) run(cmd *exec.Cmd, cred *syscall.Credential) (<-chan error, error) {
	cmd.Dir = c.dir // the postgres user may not be able to enter ours
	setProcAttr(cmd, cred)
	started := make(chan error, 1)
	exited := make(chan error, 1)
	go func() {
		// The parent-death signal comes when the thread that started the
		// child ends: keep this goroutine on its thread, and the thread
		// alive, until the child is gone.
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		exited <- cmd.Wait()
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return exited, nil
}

// stop shuts the postmaster down ("immediate": nothing needs saving) and
// removes the cluster's directory.
func (c *cluster) stop() error {
	if c.cmd != nil && !c.down {
		c.cmd.Process.Signal(syscall.SIGQUIT)
		select {
		case <-c.exited:
		case <-time.After(15 * time.Second):
			c.kill()
		}
	}
	return os.RemoveAll(c.dir)
}

// shutdown shuts the postmaster down as "pg_ctl stop -m fast" does
// (SIGINT: every session is ended with SQLSTATE 57P01), keeping the data.
func (c *cluster) shutdown() error {
	c.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-c.exited:
	case <-time.After(30 * time.Second):
		c.kill()
	}
	c.down = true
	return nil
}

// startAgain starts a cluster that shutdown stopped, on the same port and
// data.
func (c *cluster) startAgain() error {
	cred, err := credential()
	if err != nil {
		return err
	}
	if err := c.start(cred); err != nil {
		return err
	}
	c.down = false
	return nil
}

// kill ends the postmaster outright and waits for it.
func (c *cluster) kill() {
	c.cmd.Process.Kill()
	<-c.exited
}

// freePort returns a TCP port of 127.0.0.1 that nothing listens on now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// tail returns the end of a log, for error messages.
func tail(b []byte) []byte {
	const max = 4000
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return b
}

// processExists reports whether a process with this ID exists.
func processExists(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
