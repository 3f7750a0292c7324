// Package pgtest runs a real PostgreSQL server for tests.
//
// Start gives a test its own server, stopped when the test ends. Starting
// one takes a second or two (initdb), so tests that only need a database
// should share the package's server through Shared, make a database of
// their own with NewDatabase, and stop the server from TestMain:
//
//	func TestMain(m *testing.M) {
//		defer pgtest.StopShared()
//		m.Run()
//	}
//
// The server listens on 127.0.0.1 on a free port and on a unix socket in
// its temporary directory, and trusts its one user, so URLs carry no
// password. Its data is not fsynced: a test server favours speed.
//
// The binaries (initdb, postgres, pg_isready, createdb) are taken from
// $PGTEST_BIN, a directory, else from the directory of initdb on PATH,
// else from the newest /usr/lib/postgresql/*/bin (Debian's layout). When
// none is found a test fails, or with -short is skipped. PostgreSQL
// refuses to run as root: as root, the server runs as the user postgres,
// which Debian's package creates.
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctimport/ctimport/internal/testproc"
)

// User is the name of the server's superuser, whom it trusts.
const User = "pgtest"

// readyTimeout bounds how long a server may take to start.
const readyTimeout = time.Minute

// stopTimeout bounds how long a fast shutdown may take before the server
// is killed.
const stopTimeout = 10 * time.Second

// ErrNoPostgres means no PostgreSQL binaries were found.
var ErrNoPostgres = errors.New("pgtest: no PostgreSQL binaries (install Debian's postgresql package, or set PGTEST_BIN)")

// Server is a running PostgreSQL server with its data in a temporary
// directory.
type Server struct {
	bin  string // directory of the binaries
	dir  string // data directory and socket
	port int
	// owner is whom the server runs as when this process runs as root.
	owner *account
	logs  *testproc.Log
	proc  testproc.Runner
}

// Start starts a server for tb and stops it when tb ends. When tb fails,
// the server's log is printed.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s, err := start()
	if err != nil {
		fail(tb, err)
	}
	tb.Cleanup(func() {
		s.Stop()
		if tb.Failed() {
			tb.Logf("postgres log:\n%s", s.logs.From(0))
		}
		os.RemoveAll(s.dir)
	})
	return s
}

// Launch starts a server outside of a test, for benchmarks; Close stops
// it.
func Launch() (*Server, error) {
	s, err := start()
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	return s, nil
}

// Close stops the server and removes its data.
func (s *Server) Close() {
	s.Stop()
	os.RemoveAll(s.dir)
}

var shared testproc.Shared[*Server]

// Shared returns the package's shared server, starting it on first use.
// Each test should make a database of its own (see NewDatabase).
// StopShared stops it.
func Shared(tb testing.TB) *Server {
	tb.Helper()
	s, err := shared.Get(start)
	if err != nil {
		fail(tb, err)
	}
	mark := s.logs.Len()
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("postgres log:\n%s", s.logs.From(mark))
		}
	})
	return s
}

// StopShared stops the shared server, if Shared started one, and removes
// its data.
func StopShared() {
	shared.Stop((*Server).Close)
}

// fail ends tb: a skip with -short when PostgreSQL is missing, else a
// failure.
func fail(tb testing.TB, err error) {
	tb.Helper()
	if errors.Is(err, ErrNoPostgres) && testing.Short() {
		tb.Skipf("%v", err)
	}
	tb.Fatalf("pgtest: %v", err)
}

func start() (*Server, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	owner, err := serverAccount()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin, dir: dir, owner: owner, logs: &testproc.Log{}}
	if err := s.initdb(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	// Another process may take the free port before the server binds it;
	// try again on new ports.
	for attempt := 1; ; attempt++ {
		var addr *net.TCPAddr
		if addr, err = testproc.FreeAddr(); err == nil {
			s.port = addr.Port
			err = s.run()
		}
		if err == nil || attempt == 3 || !strings.Contains(s.logs.From(0), "already in use") {
			break
		}
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("%w\npostgres log:\n%s", err, s.logs.From(0))
	}
	return s, nil
}

// initdb makes the data directory, owned by the server's user.
func (s *Server) initdb() error {
	if s.owner != nil {
		if err := os.Chown(s.dir, s.owner.uid, s.owner.gid); err != nil {
			return err
		}
	}
	cmd := s.command(context.Background(), "initdb", "--pgdata", s.dataDir(), "--username", User, "--auth", "trust",
		"--encoding", "UTF8", "--no-locale", "--no-sync", "--no-instructions")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	return nil
}

// run starts postgres on s.port and waits until it accepts connections.
func (s *Server) run() error {
	cmd := s.command(context.Background(), "postgres", "-D", s.dataDir(), "-p", strconv.Itoa(s.port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="+s.dir,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	cmd.Stdout = s.logs
	cmd.Stderr = s.logs
	p, err := s.proc.Start(cmd)
	if err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	if err := s.waitReady(p); err != nil {
		s.Stop()
		return err
	}
	return nil
}

func (s *Server) waitReady(p *testproc.Process) error {
	deadline := time.Now().Add(readyTimeout)
	for {
		out, err := s.command(context.Background(), "pg_isready", "-h", "127.0.0.1", "-p", strconv.Itoa(s.port), "-U", User, "-d", "postgres").CombinedOutput()
		if err == nil {
			return nil
		}
		select {
		case <-p.Exited():
			return fmt.Errorf("postgres exited before it was ready: %v", p.Err())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("postgres not ready after %v: %s", readyTimeout, bytes.TrimSpace(out))
		}
	}
}

// command returns the command running the binary name of the server's
// installation, as the server's user, without the PG variables of this
// process's environment.
func (s *Server) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(s.bin, name), args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	if s.owner != nil {
		s.owner.runAs(cmd)
		cmd.Dir = s.dir
	}
	return cmd
}

func (s *Server) dataDir() string { return filepath.Join(s.dir, "data") }

// Port returns the TCP port the server listens on, on 127.0.0.1.
func (s *Server) Port() int { return s.port }

// URL returns the connection URL of the database name, for User, with TLS
// off: postgres://pgtest@127.0.0.1:port/name?sslmode=disable.
func (s *Server) URL(name string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(User),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)),
		Path:     "/" + name,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

var databaseSeq atomic.Int64

// NewDatabase makes a database with a name no other database of the
// server has, and returns its URL.
func (s *Server) NewDatabase(tb testing.TB) string {
	tb.Helper()
	u, err := s.CreateDatabase()
	if err != nil {
		tb.Fatal(err)
	}
	return u
}

// CreateDatabase makes a database with a name no other database of the
// server has, and returns its URL.
func (s *Server) CreateDatabase() (string, error) {
	name := fmt.Sprintf("test_%d_%s", databaseSeq.Add(1), testproc.RandomHex(4))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := s.command(ctx, "createdb", "-h", "127.0.0.1", "-p", strconv.Itoa(s.port), "-U", User, name)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("pgtest: createdb %s: %w\n%s", name, err, out)
	}
	return s.URL(name), nil
}

// Pid returns the process ID of the server, or 0 when it is stopped.
func (s *Server) Pid() int { return s.proc.Pid() }

// Stop shuts the server down, rolling back open transactions, and waits
// for it to exit. Stopping a stopped server does nothing.
func (s *Server) Stop() { s.proc.Stop(stopTimeout) }

// binDir finds the directory of PostgreSQL's binaries.
func binDir() (string, error) {
	if dir := os.Getenv("PGTEST_BIN"); dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err != nil {
			return "", fmt.Errorf("PGTEST_BIN: %w", err)
		}
		return dir, nil
	}
	// Debian links initdb into /usr/bin or /usr/local/bin without the
	// other binaries; the link leads to their directory.
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		dir := filepath.Dir(p)
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, dir := range dirs {
		if _, err := os.Stat(filepath.Join(dir, "postgres")); err == nil {
			return dir, nil
		}
	}
	return "", ErrNoPostgres
}

// version is the major version in /usr/lib/postgresql/VERSION/bin, or 0.
func version(dir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return v
}
