package duckdbsink

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctimport/ctimport/sink"
	"github.com/ctimport/ctimport/sink/sinktest"
)

// The test binary doubles as a helper process that holds a database open:
// with helperEnv set to "hold <path>" it opens the database and waits for
// its standard input to close; with "load <path>" it commits files until
// it is killed.
const helperEnv = "DUCKDBSINK_TEST_HELPER"

const helperHolder = "duckdbsink test helper"

func TestMain(m *testing.M) {
	if h := os.Getenv(helperEnv); h != "" {
		mode, path, _ := strings.Cut(h, " ")
		if err := runHelper(mode, path); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func runHelper(mode, path string) error {
	ctx := context.Background()
	s, err := Open(ctx, path, Options{Holder: helperHolder})
	if err != nil {
		return err
	}
	defer s.Close()
	switch mode {
	case "hold":
		fmt.Println("ready")
		_, err = io.Copy(io.Discard, os.Stdin)
		return err
	case "load":
		return loadUntilKilled(ctx, s)
	}
	return fmt.Errorf("unknown helper mode %q", mode)
}

// startHelper starts the test binary as a helper process and waits for its
// first line of output.
func startHelper(t *testing.T, mode, path string) (*exec.Cmd, io.WriteCloser, *bufio.Scanner) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode+" "+path)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		t.Fatalf("helper %s ended before it was ready: %v", mode, lines.Err())
	}
	return cmd, stdin, lines
}

// openTemp opens a new database in a test directory.
func openTemp(t testing.TB) (*Store, string) {
	t.Helper()
	return openTempWith(t, Options{})
}

// openTempWith opens a new database in a test directory with opts.
func openTempWith(t testing.TB, opts Options) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ctimport.duckdb")
	opts.Holder = "test " + t.Name()
	s, err := Open(t.Context(), path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s, path
}

func TestStore(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) sink.Store {
		s, _ := openTemp(t)
		return s
	})
}

// TestStoreSpilling runs the suite with a stage limit of one byte, so
// that Writers stage every event in their staging table.
func TestStoreSpilling(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) sink.Store {
		s, _ := openTempWith(t, Options{StageLimit: 1})
		return s
	})
}

var (
	at  = time.Date(2023, 7, 10, 12, 0, 0, 0, time.UTC)
	eds = sink.EventDataStore{ID: "3f1c0a7e-0b4c-4b8e-9d55-7d2c1f0e8a11", Name: "store", ARN: "arn", Created: at, Updated: at.Add(time.Minute),
		RetentionPeriod: 2557, TerminationProtection: true}
)

// eventsN returns n events named prefix-i, a second apart.
func eventsN(prefix string, n int) []sink.Event {
	out := make([]sink.Event, n)
	for i := range out {
		out[i] = sinktest.Event(fmt.Sprintf("%s-%d", prefix, i), at.Add(time.Duration(i)*time.Second))
	}
	return out
}

func mustCount(t *testing.T, s sink.Store, query string) int64 {
	t.Helper()
	rows, err := s.Query(t.Context(), query)
	if err != nil {
		t.Fatalf("Query(%s): %v", query, err)
	}
	defer rows.Close()
	if !rows.Next() {
		t.Fatalf("Query(%s): no row (%v)", query, rows.Err())
	}
	v, err := rows.Values()
	if err != nil {
		t.Fatalf("Query(%s): %v", query, err)
	}
	n, ok := v[0].(int64)
	if !ok {
		t.Fatalf("Query(%s) = %T %v, want an int64", query, v[0], v[0])
	}
	return n
}

func TestReopen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "main.duckdb")
	s, err := Open(ctx, path, Options{Holder: "first"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateEventDataStore(ctx, eds); err != nil {
		t.Fatal(err)
	}
	imp := sink.Import{ID: "import-1", StoreID: eds.ID, Status: "COMPLETED", Created: at, Allowance: time.Hour}
	w, err := s.NewWriter(ctx, eds.ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Append(ctx, "k1", eventsN("e", 10)); err != nil {
		t.Fatal(err)
	}
	if err := w.Append(ctx, "k2", eventsN("staged", 3)); err != nil {
		t.Fatal(err)
	}
	file := sink.File{ImportID: imp.ID, Key: "k1", Prefix: "p/", Status: sink.FileImported, Events: 10, Updated: at}
	prefix := sink.Prefix{ImportID: imp.ID, Key: "p/", Completed: true, Updated: at}
	if _, err := w.Commit(ctx, sink.Commit{Files: []sink.File{file}, Prefixes: []sink.Prefix{prefix}, Import: &imp}); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(holderPath(path)); err != nil {
		t.Errorf("no holder file while the database is open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(holderPath(path)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("holder file left after Close: %v", err)
	}

	for _, readOnly := range []bool{true, false} {
		s, err := Open(ctx, path, Options{ReadOnly: readOnly})
		if err != nil {
			t.Fatalf("reopen (read-only %v): %v", readOnly, err)
		}
		stores, err := s.EventDataStores(ctx)
		if err != nil || len(stores) != 1 || stores[0] != eds {
			t.Errorf("EventDataStores = %+v, %v; want %+v", stores, err, eds)
		}
		if got, err := s.Import(ctx, imp.ID); err != nil || got != imp {
			t.Errorf("Import = %+v, %v; want %+v", got, err, imp)
		}
		if files, err := s.Files(ctx, sink.FileQuery{}); err != nil || len(files) != 1 || files[0] != file {
			t.Errorf("Files = %+v, %v; want %+v", files, err, file)
		}
		if ps, err := s.Prefixes(ctx, imp.ID); err != nil || len(ps) != 1 || ps[0] != prefix {
			t.Errorf("Prefixes = %+v, %v; want %+v", ps, err, prefix)
		}
		want := sink.Stats{PrefixesFound: 1, PrefixesCompleted: 1, FilesCompleted: 1, EventsCompleted: 10}
		if st, err := s.Stats(ctx, imp.ID); err != nil || st != want {
			t.Errorf("Stats = %+v, %v; want %+v", st, err, want)
		}
		if n := mustCount(t, s, "SELECT count(*) FROM "+eds.ID); n != 10 {
			t.Errorf("%d events after reopening, want 10", n)
		}
		if !readOnly {
			w, err := s.NewWriter(ctx, eds.ID)
			if err != nil {
				t.Fatal(err)
			}
			if err := w.Append(ctx, "k1", eventsN("e", 10)); err != nil {
				t.Fatal(err)
			}
			res, err := w.Commit(ctx, sink.Commit{Files: []sink.File{file, {ImportID: imp.ID, Key: "k2", Status: sink.FileImported}}})
			if err != nil || res != (sink.CommitResult{Duplicates: 10}) {
				t.Errorf("commit of stored events after reopening = %+v, %v; want 10 duplicates", res, err)
			}
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReadOnly(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	if _, err := Open(ctx, filepath.Join(dir, "missing.duckdb"), Options{ReadOnly: true}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("read-only Open of a missing file = %v, want fs.ErrNotExist", err)
	}

	plain := filepath.Join(dir, "plain.duckdb")
	db, err := sql.Open("duckdb", plain)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec("CREATE TABLE t (x INTEGER)"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if _, err := Open(ctx, plain, Options{ReadOnly: true}); err == nil || !strings.Contains(err.Error(), "not a ctimport database") {
		t.Errorf("read-only Open of a database without ctimport's tables = %v, want a 'not a ctimport database' error", err)
	}

	s, path := openTemp(t)
	if err := s.CreateEventDataStore(ctx, eds); err != nil {
		t.Fatal(err)
	}
	s.Close()
	ro, err := Open(ctx, path, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	ro2, err := Open(ctx, path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("second read-only Open: %v", err)
	}
	ro2.Close()
	if _, err := Open(ctx, path, Options{}); !errors.Is(err, sink.ErrLocked) {
		t.Errorf("read-write Open while the process reads the database = %v, want ErrLocked", err)
	}
	if err := ro.CreateEventDataStore(ctx, sink.EventDataStore{ID: "x", Name: "x"}); !errors.Is(err, sink.ErrReadOnly) {
		t.Errorf("CreateEventDataStore on a read-only store = %v, want ErrReadOnly", err)
	}
	if err := ro.PutImport(ctx, sink.Import{ID: "x"}); !errors.Is(err, sink.ErrReadOnly) {
		t.Errorf("PutImport on a read-only store = %v, want ErrReadOnly", err)
	}
	if _, err := ro.NewWriter(ctx, eds.ID); !errors.Is(err, sink.ErrReadOnly) {
		t.Errorf("NewWriter on a read-only store = %v, want ErrReadOnly", err)
	}
	if n := mustCount(t, ro, "SELECT count(*) FROM "+eds.ID); n != 0 {
		t.Errorf("count = %d, want 0", n)
	}
}

func TestSchemaVersion(t *testing.T) {
	s, path := openTemp(t)
	if _, err := s.db.Exec(s.sql("UPDATE ctimport.schema_version SET version = 99")); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(t.Context(), path, Options{}); err == nil || !strings.Contains(err.Error(), "version 99") {
		t.Errorf("Open of a database of schema version 99 = %v, want a version error", err)
	}
}

func TestLocked(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "ctimport.duckdb")
	cmd, stdin, _ := startHelper(t, "hold", path)
	pid := cmd.Process.Pid

	check := func(what string, opts Options, holder string, since bool) {
		t.Helper()
		s, err := Open(ctx, path, opts)
		if err == nil {
			s.Close()
			t.Fatalf("%s: Open succeeded while another process holds the database", what)
		}
		var le *LockedError
		if !errors.Is(err, sink.ErrLocked) || !errors.As(err, &le) {
			t.Fatalf("%s: Open = %v, want a *LockedError wrapping ErrLocked", what, err)
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") {
			t.Errorf("%s: error has more than one line: %q", what, msg)
		}
		want := fmt.Sprintf("database %s is in use by %s (pid %d", path, holder, pid)
		if !strings.Contains(msg, want) || le.PID != pid || le.Since.IsZero() == since {
			t.Errorf("%s: error %q (%+v), want it to contain %q and since %v", what, msg, le, want, since)
		}
	}
	check("read-write", Options{}, helperHolder, true)
	check("read-only", Options{ReadOnly: true}, helperHolder, true)

	// Without the holder file, the error names the program DuckDB reports.
	if err := os.Remove(holderPath(path)); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	check("no holder file", Options{}, exe, false)

	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v", err)
	}
	s, err := Open(ctx, path, Options{Holder: "second"})
	if err != nil {
		t.Fatalf("Open after the holder ended: %v", err)
	}
	defer s.Close()
	if _, err := Open(ctx, path, Options{}); !errors.Is(err, sink.ErrLocked) || !strings.Contains(err.Error(), "in use by second") {
		t.Errorf("second Open in the same process = %v, want ErrLocked naming the first", err)
	}
}

// TestOddStoreID checks that a store ID that needs quoting works
// throughout.
func TestOddStoreID(t *testing.T) {
	ctx := t.Context()
	s, _ := openTemp(t)
	defer s.Close()
	odd := sink.EventDataStore{ID: `it's "odd"; DROP TABLE x`, Name: "odd", Created: at}
	if err := s.CreateEventDataStore(ctx, odd); err != nil {
		t.Fatal(err)
	}
	w, err := s.NewWriter(ctx, odd.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Append(ctx, "k", eventsN("e", 3)); err != nil {
		t.Fatal(err)
	}
	res, err := w.Commit(ctx, sink.Commit{Files: []sink.File{{ImportID: "i", Key: "k", Status: sink.FileImported}}})
	if err != nil || res.Stored != 3 {
		t.Fatalf("Commit = %+v, %v", res, err)
	}
	if err := w.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if n := mustCount(t, s, `SELECT count(*) FROM "it's ""odd""; DROP TABLE x"`); n != 3 {
		t.Errorf("count = %d, want 3", n)
	}
}
