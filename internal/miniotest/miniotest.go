// Package miniotest runs a real MinIO server for tests.
//
// Start gives a test its own server, stopped when the test ends. Starting
// one takes a second or two, so tests that only need a bucket should share
// the package's server through Shared and stop it from TestMain:
//
//	func TestMain(m *testing.M) {
//		defer miniotest.StopShared()
//		m.Run()
//	}
//
// Programs other than tests start a server with Launch and end it with
// Close.
//
// The server binary is $MINIO_BIN, else "minio" on PATH, else minio in the
// Go bin directory. When none exists it is built with "go install", which
// takes minutes the first time.
package miniotest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctimport/ctimport/internal/testproc"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Module is the MinIO version installed when no binary is found.
const Module = "github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c"

// readyTimeout bounds how long a server may take to start.
const readyTimeout = time.Minute

// Server is a running MinIO server on 127.0.0.1 with its data in a
// temporary directory.
type Server struct {
	bin     string
	dir     string // data, certificates and config
	addr    string // host:port of the S3 API
	console string // host:port of the console, which is disabled
	access  string
	secret  string
	client  *minio.Client
	logs    *testproc.Log
	proc    testproc.Runner
}

// Start starts a server for tb and stops it when tb ends. When tb fails,
// the server's log is printed.
func Start(tb testing.TB) *Server {
	tb.Helper()
	s, err := start(tb.Logf)
	if err != nil {
		tb.Fatalf("miniotest: %v", err)
	}
	tb.Cleanup(func() {
		s.Stop()
		if tb.Failed() {
			tb.Logf("minio log:\n%s", s.logs.From(0))
		}
		os.RemoveAll(s.dir)
	})
	return s
}

// Launch starts a server outside of tests; logf, when not nil, tells of a
// MinIO install. Close stops the server and removes its data.
func Launch(logf func(format string, args ...any)) (*Server, error) {
	if logf == nil {
		logf = func(string, ...any) {}
	}
	s, err := start(logf)
	if err != nil {
		return nil, fmt.Errorf("miniotest: %w", err)
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
// Each test should make buckets of its own (see NewBucket). When tb fails,
// the server's log since the call is printed. StopShared stops it.
func Shared(tb testing.TB) *Server {
	tb.Helper()
	s, err := shared.Get(func() (*Server, error) { return start(tb.Logf) })
	if err != nil {
		tb.Fatalf("miniotest: %v", err)
	}
	mark := s.logs.Len()
	tb.Cleanup(func() {
		if tb.Failed() {
			tb.Logf("minio log:\n%s", s.logs.From(mark))
		}
	})
	return s
}

// StopShared stops the shared server, if Shared started one, and removes
// its data.
func StopShared() {
	shared.Stop((*Server).Close)
}

func start(logf func(string, ...any)) (*Server, error) {
	bin, err := binary(logf)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "miniotest-")
	if err != nil {
		return nil, err
	}
	s := &Server{
		bin:    bin,
		dir:    dir,
		access: "miniotest",
		secret: testproc.RandomHex(16),
		logs:   &testproc.Log{},
	}
	// Another process may take the free port before the server binds it;
	// try again on new ports.
	for attempt := 1; ; attempt++ {
		var addr, console *net.TCPAddr
		if addr, err = testproc.FreeAddr(); err == nil {
			console, err = testproc.FreeAddr()
		}
		if err == nil {
			s.addr, s.console = addr.String(), console.String()
		}
		if err == nil {
			s.client, err = minio.New(s.addr, &minio.Options{Creds: credentials.NewStaticV4(s.access, s.secret, "")})
		}
		if err == nil {
			err = s.run()
		}
		if err == nil || attempt == 3 || !strings.Contains(s.logs.From(0), "address already in use") {
			break
		}
	}
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("%w\nminio log:\n%s", err, s.logs.From(0))
	}
	return s, nil
}

// run starts the binary on s.addr and waits until it answers.
func (s *Server) run() error {
	cmd := exec.Command(s.bin, "server", "--quiet",
		"--address", s.addr, "--console-address", s.console,
		"--certs-dir", filepath.Join(s.dir, "certs"), filepath.Join(s.dir, "data"))
	cmd.Env = append(environ(),
		"MINIO_ROOT_USER="+s.access,
		"MINIO_ROOT_PASSWORD="+s.secret,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
	)
	cmd.Stdout = s.logs
	cmd.Stderr = s.logs
	p, err := s.proc.Start(cmd)
	if err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}

	if err := waitReady(s.client, p); err != nil {
		s.Stop()
		return err
	}
	return nil
}

// environ is the environment of the test without MinIO's and AWS's
// variables, so that the server runs the same everywhere.
func environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MINIO_") && !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return env
}

func waitReady(client *minio.Client, p *testproc.Process) error {
	deadline := time.Now().Add(readyTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, err := client.ListBuckets(ctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-p.Exited():
			return fmt.Errorf("minio exited before it was ready: %v", p.Err())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("minio not ready after %v: %v", readyTimeout, err)
		}
	}
}

// Endpoint returns the URL of the S3 API, "http://127.0.0.1:port".
func (s *Server) Endpoint() string { return "http://" + s.addr }

// AccessKey returns the root user's access key.
func (s *Server) AccessKey() string { return s.access }

// SecretKey returns the root user's secret key.
func (s *Server) SecretKey() string { return s.secret }

// Client returns a client signed with the root user's keys.
func (s *Server) Client() *minio.Client { return s.client }

// Pid returns the process ID of the server, or 0 when it is stopped.
func (s *Server) Pid() int { return s.proc.Pid() }

// Stop kills the server, as a crash would. Stopping a stopped server does
// nothing.
func (s *Server) Stop() { s.proc.Stop(0) }

// Restart kills the server if it runs and starts it again on the same
// address with the same data.
func (s *Server) Restart(tb testing.TB) {
	tb.Helper()
	s.Stop()
	var err error
	// The old process's socket can linger for a moment.
	for range 50 {
		if err = s.run(); err == nil || !strings.Contains(s.logs.Tail(), "address already in use") {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		tb.Fatalf("miniotest: restart: %v\nminio log:\n%s", err, s.logs.From(0))
	}
}

var bucketSeq atomic.Int64

// NewBucket makes a bucket with a name no other bucket of the server has,
// and returns the name.
func (s *Server) NewBucket(tb testing.TB) string {
	tb.Helper()
	name := fmt.Sprintf("test-%d-%s", bucketSeq.Add(1), testproc.RandomHex(4))
	s.MakeBucket(tb, name)
	return name
}

// MakeBucket makes the bucket name.
func (s *Server) MakeBucket(tb testing.TB, name string) {
	tb.Helper()
	if err := s.client.MakeBucket(context.Background(), name, minio.MakeBucketOptions{}); err != nil {
		tb.Fatalf("miniotest: make bucket %s: %v", name, err)
	}
}

// Put stores data as key in bucket.
func (s *Server) Put(tb testing.TB, bucket, key string, data []byte) {
	tb.Helper()
	_, err := s.client.PutObject(context.Background(), bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
	if err != nil {
		tb.Fatalf("miniotest: put %s/%s: %v", bucket, key, err)
	}
}

var found struct {
	mu  sync.Mutex
	bin string
}

// binary finds the MinIO binary, installing it when there is none.
func binary(logf func(string, ...any)) (string, error) {
	found.mu.Lock()
	defer found.mu.Unlock()
	if found.bin != "" {
		return found.bin, nil
	}
	if p := os.Getenv("MINIO_BIN"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("MINIO_BIN: %w", err)
		}
		found.bin = p
		return p, nil
	}
	if p, err := exec.LookPath("minio"); err == nil {
		found.bin = p
		return p, nil
	}
	gobin, err := goBinDir()
	if err != nil {
		return "", err
	}
	p := filepath.Join(gobin, "minio")
	if runtime.GOOS == "windows" {
		p += ".exe"
	}
	if _, err := os.Stat(p); err == nil {
		found.bin = p
		return p, nil
	}
	if err := install(p, logf); err != nil {
		return "", err
	}
	found.bin = p
	return p, nil
}

// goBinDir is where "go install" puts binaries.
func goBinDir() (string, error) {
	out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output()
	if err != nil {
		return "", fmt.Errorf("no minio binary, and go env failed: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if gobin := strings.TrimSpace(lines[0]); gobin != "" {
		return gobin, nil
	}
	if len(lines) < 2 || strings.TrimSpace(lines[1]) == "" {
		return "", errors.New("no minio binary, and neither GOBIN nor GOPATH is set")
	}
	return filepath.Join(filepath.SplitList(strings.TrimSpace(lines[1]))[0], "bin"), nil
}

// install builds MinIO into bin, holding a file lock so that test binaries
// running side by side build it once.
func install(bin string, logf func(string, ...any)) error {
	cache, err := os.UserCacheDir()
	if err != nil {
		return fmt.Errorf("no minio binary: %w", err)
	}
	lockDir := filepath.Join(cache, "ctimport-miniotest")
	if err := os.MkdirAll(lockDir, 0o755); err != nil {
		return err
	}
	unlock, err := lockFile(filepath.Join(lockDir, "install.lock"))
	if err != nil {
		return fmt.Errorf("lock minio install: %w", err)
	}
	defer unlock()
	if _, err := os.Stat(bin); err == nil {
		return nil // installed by another process while this one waited
	}
	logf("miniotest: no minio binary; installing %s (this takes minutes)", Module)
	out, err := exec.Command("go", "install", Module).CombinedOutput()
	if err != nil {
		return fmt.Errorf("go install %s: %w\n%s", Module, err, out)
	}
	if _, err := os.Stat(bin); err != nil {
		return fmt.Errorf("go install %s did not make %s: %w", Module, bin, err)
	}
	return nil
}
