package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/internal/miniotest"
	"github.com/ctimport/ctimport/internal/pgtest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// binary is the ctimport command TestMain builds; the integration tests run it.
var binary string

// runTimeout bounds one run of the binary, so that a hang fails the test
// instead of the whole package.
const runTimeout = 2 * time.Minute

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	defer miniotest.StopShared()
	defer pgtest.StopShared()
	dir, err := os.MkdirTemp("", "ctimport-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binary = filepath.Join(dir, "ctimport")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// harness runs the ctimport binary as a user would: in a working directory
// of its own, with a database file there, and with an environment free of
// the machine's AWS and ctimport settings.
type harness struct {
	t   *testing.T
	dir string   // the working directory
	db  string   // the database that run passes with --db
	env []string // the whole environment of the process
}

func newHarness(t *testing.T, env ...string) *harness {
	t.Helper()
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o755); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, dir: dir, db: filepath.Join(dir, "events.duckdb")}
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "AWS_") || strings.HasPrefix(name, "CTIMPORT_") || name == "HOME" {
			continue
		}
		h.env = append(h.env, kv)
	}
	h.env = append(h.env, "HOME="+home, "AWS_EC2_METADATA_DISABLED=true")
	h.env = append(h.env, env...)
	return h
}

// in returns a harness on the same directory, database and environment
// that reports to t, for the subtests of h's test.
func (h *harness) in(t *testing.T) *harness {
	c := *h
	c.t = t
	return &c
}

// with returns a harness on the same directory and database whose
// environment has env besides.
func (h *harness) with(env ...string) *harness {
	c := *h
	c.env = append(slices.Clip(h.env), env...)
	return &c
}

// s3Creds is the environment that gives ctimport the root keys of srv.
func s3Creds(srv *miniotest.Server) []string {
	return []string{"AWS_ACCESS_KEY_ID=" + srv.AccessKey(), "AWS_SECRET_ACCESS_KEY=" + srv.SecretKey()}
}

// s3Env is the environment that points ctimport at srv with its root keys.
func s3Env(srv *miniotest.Server) []string {
	return append(s3Creds(srv), "AWS_ENDPOINT_URL_S3="+srv.Endpoint())
}

// outcome is what one run of the binary did.
type outcome struct {
	args           []string
	stdout, stderr string
	code           int
}

func (o outcome) String() string {
	return fmt.Sprintf("ctimport %s\nexit %d\nstdout:\n%s\nstderr:\n%s", strings.Join(o.args, " "), o.code, o.stdout, o.stderr)
}

// command prepares a run of the binary with exactly args.
func (h *harness) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Dir = h.dir
	cmd.Env = h.env
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// exec runs the binary with exactly args and waits for it.
func (h *harness) exec(args ...string) outcome {
	h.t.Helper()
	return h.execWith(h.command, args)
}

// execWith runs the command that start makes of args and waits for it.
func (h *harness) execWith(start func(ctx context.Context, args ...string) *exec.Cmd, args []string) outcome {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(h.t.Context(), runTimeout)
	defer cancel()
	cmd := start(ctx, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	o := outcome{args: args, stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		o.code = exit.ExitCode()
	case err != nil:
		h.t.Fatalf("ctimport %s: %v\n%s", strings.Join(args, " "), err, o)
	}
	return o
}

// run runs the binary on the harness's database.
func (h *harness) run(args ...string) outcome {
	h.t.Helper()
	return h.exec(append([]string{"--db", h.db}, args...)...)
}

// expect runs the binary on the harness's database and fails the test
// unless it exits with code.
func (h *harness) expect(code int, args ...string) outcome {
	h.t.Helper()
	return h.want(code, h.run(args...))
}

// want fails the test unless o exited with code.
func (h *harness) want(code int, o outcome) outcome {
	h.t.Helper()
	if o.code != code {
		h.t.Fatalf("want exit %d\n%s", code, o)
	}
	return o
}

// decode parses the JSON output of a run into a T.
func decode[T any](t *testing.T, o outcome) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(strings.NewReader(o.stdout))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode output as %T: %v\n%s", v, err, o)
	}
	return v
}

// createStore creates an event data store.
func (h *harness) createStore(name string) api.EventDataStore {
	h.t.Helper()
	return decode[api.EventDataStore](h.t, h.expect(exitOK, "create-event-data-store", "--name", name))
}

// storeID is the ID of an event data store, the last segment of its ARN.
func storeID(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }

// importSource is the --import-source of an import of uri.
func importSource(uri string) string {
	return "S3={S3LocationUri=" + uri + ",S3BucketRegion=us-east-1}"
}

// startImport imports uri into the event data store dest, expects exit
// code, and returns the import it printed.
func (h *harness) startImport(code int, dest, uri string, extra ...string) (api.Import, outcome) {
	h.t.Helper()
	args := append([]string{"start-import", "--destinations", dest, "--import-source", importSource(uri)}, extra...)
	o := h.expect(code, args...)
	return decode[api.Import](h.t, o), o
}

// retryImport runs start-import --import-id id, expects exit code, and
// returns the import it printed.
func (h *harness) retryImport(code int, id string) (api.Import, outcome) {
	h.t.Helper()
	o := h.expect(code, "start-import", "--import-id", id)
	return decode[api.Import](h.t, o), o
}

func (h *harness) getImport(id string) api.Import {
	h.t.Helper()
	return decode[api.Import](h.t, h.expect(exitOK, "get-import", "--import-id", id))
}

func (h *harness) listImports() []api.ImportsListItem {
	h.t.Helper()
	return decode[api.ListImportsOutput](h.t, h.expect(exitOK, "list-imports")).Imports
}

// failures returns every failure entry of an import, by key.
func (h *harness) failures(id string) map[string]api.ImportFailureListItem {
	h.t.Helper()
	out := decode[api.ListImportFailuresOutput](h.t, h.expect(exitOK, "list-import-failures", "--import-id", id))
	byKey := make(map[string]api.ImportFailureListItem, len(out.Failures))
	for _, f := range out.Failures {
		byKey[f.Location] = f
	}
	return byKey
}

// query runs a query with --output json and returns its rows.
func (h *harness) query(statement string) []map[string]any {
	h.t.Helper()
	return decode[[]map[string]any](h.t, h.expect(exitOK, "query", "--query-statement", statement))
}

// storedIDs returns how often each eventID is stored in the event data
// store with ID id.
func (h *harness) storedIDs(id string) map[string]int {
	h.t.Helper()
	ids := map[string]int{}
	for _, row := range h.query("SELECT eventID, count(*) AS n FROM " + id + " GROUP BY eventID") {
		ids[row["eventID"].(string)] = int(row["n"].(float64))
	}
	return ids
}

// checkStored fails unless the event data store with ID id holds exactly
// the events of want, each once.
func (h *harness) checkStored(id string, want map[string]bool) {
	h.t.Helper()
	checkIDs(h.t, "stored events", h.storedIDs(id), want)
}

// checkIDs fails unless got counts exactly the eventIDs of want, each once.
func checkIDs(t *testing.T, what string, got map[string]int, want map[string]bool) {
	t.Helper()
	var missing, extra, twice []string
	for e := range want {
		if got[e] == 0 {
			missing = append(missing, e)
		}
	}
	for e, n := range got {
		if !want[e] {
			extra = append(extra, e)
		}
		if n > 1 {
			twice = append(twice, e)
		}
	}
	if len(missing)+len(extra)+len(twice) > 0 {
		t.Errorf("%s: %d, want %d; %d missing (%s), %d not expected (%s), %d stored more than once (%s)",
			what, len(got), len(want), len(missing), sample(missing), len(extra), sample(extra), len(twice), sample(twice))
	}
}

// sample shows the first few of a list of names.
func sample(names []string) string {
	if len(names) > 5 {
		return strings.Join(names[:5], ", ") + ", ..."
	}
	return strings.Join(names, ", ")
}

// checkOneLine fails unless o failed with a one-line message on stderr
// that holds each of wants, and printed nothing on stdout.
func checkOneLine(t *testing.T, o outcome, wants ...string) {
	t.Helper()
	msg := strings.TrimSuffix(o.stderr, "\n")
	if msg == "" || strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "ctimport: ") {
		t.Errorf("want one line starting with \"ctimport: \" on stderr\n%s", o)
	}
	for _, w := range wants {
		if !strings.Contains(msg, w) {
			t.Errorf("stderr does not mention %q\n%s", w, o)
		}
	}
	if o.stdout != "" {
		t.Errorf("want nothing on stdout\n%s", o)
	}
}

// process is a run of the binary in the background.
type process struct {
	cmd            *exec.Cmd
	stdout, stderr *syncBuffer
	done           chan struct{}
	result         outcome
}

// start starts the binary on the harness's database and returns at once.
func (h *harness) start(args ...string) *process {
	h.t.Helper()
	args = append([]string{"--db", h.db}, args...)
	ctx, cancel := context.WithTimeout(h.t.Context(), runTimeout)
	p := &process{cmd: h.command(ctx, args...), stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	if err := p.cmd.Start(); err != nil {
		cancel()
		h.t.Fatal(err)
	}
	go func() {
		defer close(p.done)
		defer cancel()
		err := p.cmd.Wait()
		p.result = outcome{args: args, stdout: p.stdout.String(), stderr: p.stderr.String(), code: -1}
		var exit *exec.ExitError
		switch {
		case err == nil:
			p.result.code = 0
		case errors.As(err, &exit):
			p.result.code = exit.ExitCode()
		}
	}()
	h.t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// wait waits for the process to end and returns what it did.
func (p *process) wait() outcome {
	<-p.done
	return p.result
}

// syncBuffer is a bytes.Buffer safe for one writer and concurrent readers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// poll calls cond until it returns true, failing the test when it has not
// within a deadline.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
