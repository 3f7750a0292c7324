package bench

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/ctimport/ctimport/bench/corpus"
	"github.com/ctimport/ctimport/engine"
	"github.com/ctimport/ctimport/internal/miniotest"
	"github.com/ctimport/ctimport/internal/pgtest"
)

// uploadWorkers is how many PUT requests an upload has in flight.
const uploadWorkers = 8

// Harness runs the rows of the benchmark. It builds ctimport and benchrow
// into its work directory, runs a MinIO server, generates and uploads
// corpora, and runs every row as a child process started through
// "benchrow measure", so that a row's CPU time and peak RSS are its own.
// A Harness is not safe for concurrent use.
type Harness struct {
	root     string
	work     string
	ctimport string
	benchrow string
	minio    *miniotest.Server
	pg       *pgtest.Server // started by the first Shards
	workers  int
	logf     func(format string, args ...any)
	seq      int
	imported map[*Corpus]database // the latest row 1 database of each corpus
}

// database is an event table in a DuckDB file.
type database struct{ path, table string }

// ModuleRoot returns the root directory of the module holding the
// working directory.
func ModuleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("bench: go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("bench: not inside the ctimport module")
	}
	return filepath.Dir(mod), nil
}

// NewHarness builds the binaries of the module at root into work, which
// it creates, and starts MinIO. logf tells of progress.
func NewHarness(ctx context.Context, root, work string, logf func(format string, args ...any)) (*Harness, error) {
	h := &Harness{
		root:     root,
		work:     work,
		ctimport: filepath.Join(work, "bin", "ctimport"),
		benchrow: filepath.Join(work, "bin", "benchrow"),
		workers:  engine.DefaultConcurrency(),
		logf:     logf,
		imported: map[*Corpus]database{},
	}
	for _, d := range []string{"bin", "db", "corpus", "usage"} {
		if err := os.MkdirAll(filepath.Join(work, d), 0o755); err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
	}
	for bin, pkg := range map[string]string{h.ctimport: "./cmd/ctimport", h.benchrow: "./bench/cmd/benchrow"} {
		logf("building %s", pkg)
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg)
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("bench: go build %s: %w\n%s", pkg, err, out)
		}
	}
	var err error
	if h.minio, err = miniotest.Launch(logf); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return h, nil
}

// Close stops MinIO, and PostgreSQL if it runs.
func (h *Harness) Close() {
	h.minio.Close()
	if h.pg != nil {
		h.pg.Close()
	}
}

// Workers returns ctimport's default concurrency, the worker count of the
// floors.
func (h *Harness) Workers() int { return h.workers }

// Endpoint returns the URL of the MinIO server.
func (h *Harness) Endpoint() string { return h.minio.Endpoint() }

// Corpus is a generated corpus, in a local directory and in a bucket.
type Corpus struct {
	Name   string
	Dir    string
	Bucket string
	Spec   corpus.Spec
	Truth  corpus.Truth
}

// NewCorpus generates the corpus of spec and uploads it to a new bucket.
// name tells it from the other corpora of h: lowercase letters, digits
// and hyphens.
func (h *Harness) NewCorpus(ctx context.Context, name string, spec corpus.Spec) (*Corpus, error) {
	c := &Corpus{Name: name, Dir: filepath.Join(h.work, "corpus", name), Bucket: "bench-" + name, Spec: spec}
	if err := os.RemoveAll(c.Dir); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	h.logf("generating corpus %s", name)
	var err error
	if c.Truth, err = corpus.Generate(ctx, c.Dir, spec); err != nil {
		return nil, err
	}
	h.logf("corpus %s: %d events in %d files, %.1f MB compressed, %.1f MB uncompressed; uploading",
		name, c.Truth.Events, c.Truth.Files, mb(c.Truth.CompressedBytes), mb(c.Truth.UncompressedBytes))
	if err := h.minio.Client().MakeBucket(ctx, c.Bucket, minio.MakeBucketOptions{}); err != nil {
		return nil, fmt.Errorf("bench: make bucket %s: %w", c.Bucket, err)
	}
	if err := corpus.Upload(ctx, h.minio.Client(), c.Bucket, c.Dir, uploadWorkers); err != nil {
		return nil, err
	}
	return c, nil
}

// Drop removes the corpus c, its bucket and its databases.
func (h *Harness) Drop(ctx context.Context, c *Corpus) error {
	if db, ok := h.imported[c]; ok {
		removeDB(db.path)
		delete(h.imported, c)
	}
	err := h.minio.Client().RemoveBucketWithOptions(ctx, c.Bucket, minio.RemoveBucketOptions{ForceDelete: true})
	if rerr := os.RemoveAll(c.Dir); err == nil {
		err = rerr
	}
	if err != nil {
		return fmt.Errorf("bench: drop corpus %s: %w", c.Name, err)
	}
	return nil
}

// Measure is what one run of a row took and gave.
type Measure struct {
	// Seconds is the wall time of the row's process, CPUSeconds its user
	// and system time, PeakRSS its peak resident set size in bytes.
	Seconds    float64
	CPUSeconds float64
	PeakRSS    int64
	// MinIOCPUSeconds is the CPU time MinIO spent meanwhile, for rows that
	// read it, where the system tells (Linux); else 0.
	MinIOCPUSeconds float64
	// StoreBytes is the size of the database an import wrote, its
	// write-ahead log included; 0 for the other rows.
	StoreBytes int64
	// Complete reports whether the row read, stored or counted the whole
	// corpus; Check says what was compared.
	Complete bool
	Check    string
	// Stages is the CPU of an import by stage, when it was profiled.
	Stages []StageShare
}

// usage is what "benchrow measure" writes.
type usage struct {
	Seconds      float64 `json:"seconds"`
	CPUSeconds   float64 `json:"cpuSeconds"`
	PeakRSSBytes int64   `json:"peakRSSBytes"`
	ExitCode     int     `json:"exitCode"`
}

// rowResult is what the row commands of benchrow print.
type rowResult struct {
	Events int64  `json:"events"`
	Bytes  int64  `json:"bytes"`
	Files  int64  `json:"files"`
	IDs    int64  `json:"ids"`
	Digest string `json:"digest"`
}

// name returns a new name for a scratch file.
func (h *Harness) name(prefix string) string {
	h.seq++
	return prefix + "-" + strconv.Itoa(h.seq)
}

// run runs prog with the environment env (nil: this process's) and
// returns its standard output. Its standard error goes into the error.
func (h *Harness) run(ctx context.Context, env []string, prog string, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Env = env
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = time.Minute
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("bench: %s %s: %w\n%s", filepath.Base(prog), strings.Join(args, " "), err, tail(stderr.Bytes()))
	}
	return stdout.Bytes(), nil
}

// measured runs prog through "benchrow measure" and returns its usage and
// standard output; a non-zero exit is an error.
func (h *Harness) measured(ctx context.Context, env []string, prog string, args ...string) (usage, []byte, error) {
	file := filepath.Join(h.work, "usage", h.name("usage")+".json")
	cmd := exec.CommandContext(ctx, h.benchrow, append([]string{"measure", "-usage", file, "--", prog}, args...)...)
	cmd.Env = env
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = time.Minute
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	var u usage
	err := cmd.Run()
	if err == nil {
		var b []byte
		if b, err = os.ReadFile(file); err == nil {
			err = json.Unmarshal(b, &u)
		}
	}
	if err == nil && u.ExitCode != 0 {
		err = fmt.Errorf("exit status %d", u.ExitCode)
	}
	if err != nil {
		return u, nil, fmt.Errorf("bench: %s %s: %w\n%s", filepath.Base(prog), strings.Join(args, " "), err, tail(stderr.Bytes()))
	}
	return u, stdout.Bytes(), nil
}

// tail returns the end of a process's standard error.
func tail(b []byte) []byte {
	const keep = 4000
	if len(b) > keep {
		return append([]byte("..."), b[len(b)-keep:]...)
	}
	return b
}

// s3Env is the environment of a process reading the MinIO server: its
// keys and nothing else of AWS.
func (h *Harness) s3Env() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "CTIMPORT_") {
			env = append(env, kv)
		}
	}
	return append(env,
		"AWS_ACCESS_KEY_ID="+h.minio.AccessKey(),
		"AWS_SECRET_ACCESS_KEY="+h.minio.SecretKey(),
		"AWS_REGION=us-east-1",
		"AWS_EC2_METADATA_DISABLED=true",
	)
}

// ImportOptions are the settings of a ctimport run; the zero value is
// row 1, ctimport's defaults.
type ImportOptions struct {
	// Binary is the ctimport to run; "" is the module's. A run of another
	// binary does not become c's row 1 database.
	Binary string
	// Concurrency is passed as --concurrency when positive.
	Concurrency int
	// Endpoint is the S3 endpoint; "" is the MinIO server.
	Endpoint string
	// MemoryLimit is passed as --memory-limit when set.
	MemoryLimit string
	// Source is the import source URI; "" is c's bucket.
	Source string
	// Profile has ctimport write a CPU profile, which the Measure sums by
	// the stages of the import.
	Profile bool
}

// Import runs row 1: the ctimport binary imports the bucket of c into a
// fresh database; then ctimport query checks the count and the digest of
// the eventIDs against the corpus's Truth.
func (h *Harness) Import(ctx context.Context, c *Corpus, o ImportOptions) (Measure, error) {
	db := filepath.Join(h.work, "db", h.name("import")+".duckdb")
	env := h.s3Env()
	bin := cmp.Or(o.Binary, h.ctimport)
	id, err := h.createStore(ctx, env, bin, "--db", db)
	if err != nil {
		return Measure{}, err
	}
	endpoint := o.Endpoint
	if endpoint == "" {
		endpoint = h.minio.Endpoint()
	}
	source := cmp.Or(o.Source, "s3://"+c.Bucket+"/")
	args := []string{"--db", db, "start-import", "--destinations", "bench",
		"--import-source", "S3={S3LocationUri=" + source + "}", "--s3-endpoint-url", endpoint}
	if o.Concurrency > 0 {
		args = append(args, "--concurrency", strconv.Itoa(o.Concurrency))
	}
	if o.MemoryLimit != "" {
		args = append(args, "--memory-limit", o.MemoryLimit)
	}
	runEnv, profilePath := env, ""
	if o.Profile {
		profilePath = filepath.Join(h.work, "usage", h.name("cpu")+".pprof")
		runEnv = append(slices.Clip(env), "CTIMPORT_CPUPROFILE="+profilePath)
	}
	before, known := processCPU(h.minio.Pid())
	u, out, err := h.measured(ctx, runEnv, bin, args...)
	if err != nil {
		removeDB(db)
		return Measure{}, err
	}
	after, ok := processCPU(h.minio.Pid())
	known = known && ok
	var imp struct {
		ImportStatus     string
		ImportStatistics struct{ FilesCompleted, EventsCompleted int64 }
	}
	if err := json.Unmarshal(out, &imp); err != nil {
		removeDB(db)
		return Measure{}, fmt.Errorf("bench: start-import printed %q: %w", out, err)
	}
	stored, err := h.stored(ctx, env, bin, db, id)
	if err != nil {
		removeDB(db)
		return Measure{}, err
	}
	m := measure(u)
	if o.Profile {
		if m.Stages, err = readStages(profilePath); err != nil {
			removeDB(db)
			return Measure{}, err
		}
	}
	if m.StoreBytes, err = fileSizes(db, db+".wal"); err != nil {
		removeDB(db)
		return Measure{}, err
	}
	if o.Binary != "" {
		removeDB(db)
	} else {
		if prev, ok := h.imported[c]; ok {
			removeDB(prev.path)
		}
		h.imported[c] = database{db, id}
	}
	if known {
		m.MinIOCPUSeconds = after - before
	}
	m.Complete, m.Check = matchImport(c.Truth, imp.ImportStatus, stored)
	return m, nil
}

// createStore creates the event data store "bench" with bin, its global
// flags first, and returns its ID.
func (h *Harness) createStore(ctx context.Context, env []string, bin string, flags ...string) (string, error) {
	out, err := h.run(ctx, env, bin, append(flags, "create-event-data-store", "--name", "bench", "--output", "json")...)
	if err != nil {
		return "", err
	}
	var store struct{ EventDataStoreArn string }
	if err := json.Unmarshal(out, &store); err != nil || !strings.Contains(store.EventDataStoreArn, "/") {
		return "", fmt.Errorf("bench: create-event-data-store printed %q", out)
	}
	return storeID(store.EventDataStoreArn), nil
}

// storeID returns the ID of an event data store from its ARN.
func storeID(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }

// stored returns the count and the digest of the eventIDs of the event
// data store id in the database db, as bin's query command tells.
func (h *Harness) stored(ctx context.Context, env []string, bin, db, id string) (rowResult, error) {
	// The digest aggregates every eventID into one string: more memory than
	// a default query has (a binary without budgets ignores the variable).
	env = append(slices.Clip(env), "CTIMPORT_MEMORY_LIMIT=2GiB")
	out, err := h.run(ctx, env, bin, "--db", db, "query", "--output", "json", "--query-statement",
		"SELECT count(*) AS events, count(DISTINCT eventID) AS ids, sha256(string_agg(eventID, chr(10) ORDER BY eventID)) AS digest FROM "+id)
	if err != nil {
		return rowResult{}, err
	}
	var rows []rowResult
	if err := json.Unmarshal(out, &rows); err != nil || len(rows) != 1 {
		return rowResult{}, fmt.Errorf("bench: query printed %q", out)
	}
	return rows[0], nil
}

// matchImport compares an import that ended in status, and its event
// data store's count and eventID digest, with t.
func matchImport(t corpus.Truth, status string, r rowResult) (bool, string) {
	ok, check := matchTable(t, r)
	if status != "COMPLETED" {
		return false, "the import ended " + status + "; " + check
	}
	return ok, check
}

// Gunzip runs row 2, the floor of decompression: every file gunzipped to
// io.Discard, with ctimport's default worker count, from local disk.
func (h *Harness) Gunzip(ctx context.Context, c *Corpus) (Measure, error) {
	u, r, err := h.row(ctx, "gunzip", "-dir", c.Dir, "-workers", strconv.Itoa(h.workers))
	if err != nil {
		return Measure{}, err
	}
	m := measure(u)
	m.Complete = r.Bytes == c.Truth.UncompressedBytes && r.Files == int64(c.Truth.Files)
	m.Check = fmt.Sprintf("%d files, %d bytes of JSON (the corpus: %d, %d)", r.Files, r.Bytes, c.Truth.Files, c.Truth.UncompressedBytes)
	return m, nil
}

// Decode runs row 3, the floor of decoding: row 2 plus ctimport's log file
// decoder, storing nothing.
func (h *Harness) Decode(ctx context.Context, c *Corpus) (Measure, error) {
	u, r, err := h.row(ctx, "decode", "-dir", c.Dir, "-workers", strconv.Itoa(h.workers))
	if err != nil {
		return Measure{}, err
	}
	m := measure(u)
	m.Complete = r.Events == c.Truth.Events && r.Bytes == c.Truth.UncompressedBytes
	m.Check = fmt.Sprintf("%d events, %d bytes of JSON (the corpus: %d, %d)", r.Events, r.Bytes, c.Truth.Events, c.Truth.UncompressedBytes)
	return m, nil
}

// Rewrite runs row 3b, the floor of storage: DuckDB copying the events
// table (ctimport_events."<ID>") of a copy of row 1's database with
// CREATE TABLE t2 AS SELECT *.
// It runs row 1 first when c has no row 1 database yet.
func (h *Harness) Rewrite(ctx context.Context, c *Corpus) (Measure, error) {
	src, ok := h.imported[c]
	if !ok {
		if _, err := h.Import(ctx, c, ImportOptions{}); err != nil {
			return Measure{}, err
		}
		src = h.imported[c]
	}
	db := filepath.Join(h.work, "db", h.name("ctas")+".duckdb")
	defer removeDB(db)
	if err := copyDB(src.path, db); err != nil {
		return Measure{}, err
	}
	u, _, err := h.row(ctx, "ctas", "-db", db, "-schema", "ctimport_events", "-table", src.table)
	if err != nil {
		return Measure{}, err
	}
	return h.verified(ctx, u, c, db, "t2")
}

// ReadJSON runs row 4, the DuckDB peer: read_json over the files on local
// disk into a table shaped as ctimport's.
func (h *Harness) ReadJSON(ctx context.Context, c *Corpus) (Measure, error) {
	db := filepath.Join(h.work, "db", h.name("readjson")+".duckdb")
	defer removeDB(db)
	maxObject := max(64<<20, c.Truth.LargestFile+1<<20)
	u, _, err := h.row(ctx, "readjson", "-dir", c.Dir, "-db", db, "-max-object", strconv.FormatInt(maxObject, 10))
	if err != nil {
		return Measure{}, err
	}
	return h.verified(ctx, u, c, db, "events")
}

// PlainGo runs row 5, the plain Go peer: compress/gzip, encoding/json and
// one Appender, one file at a time, from local disk.
func (h *Harness) PlainGo(ctx context.Context, c *Corpus) (Measure, error) {
	db := filepath.Join(h.work, "db", h.name("plaingo")+".duckdb")
	defer removeDB(db)
	u, _, err := h.row(ctx, "plaingo", "-dir", c.Dir, "-db", db)
	if err != nil {
		return Measure{}, err
	}
	return h.verified(ctx, u, c, db, "events")
}

// row runs a row command of benchrow, measured.
func (h *Harness) row(ctx context.Context, args ...string) (usage, rowResult, error) {
	u, out, err := h.measured(ctx, nil, h.benchrow, args...)
	if err != nil {
		return u, rowResult{}, err
	}
	var r rowResult
	if err := json.Unmarshal(out, &r); err != nil {
		return u, r, fmt.Errorf("bench: benchrow %s printed %q: %w", args[0], out, err)
	}
	return u, r, nil
}

// verified checks the events table of db against the Truth of c.
func (h *Harness) verified(ctx context.Context, u usage, c *Corpus, db, table string) (Measure, error) {
	out, err := h.run(ctx, nil, h.benchrow, "verify", "-db", db, "-table", table)
	if err != nil {
		return Measure{}, err
	}
	var r rowResult
	if err := json.Unmarshal(out, &r); err != nil {
		return Measure{}, fmt.Errorf("bench: benchrow verify printed %q: %w", out, err)
	}
	m := measure(u)
	m.Complete, m.Check = matchTable(c.Truth, r)
	return m, nil
}

// matchTable compares an events table's count and eventID digest with t.
func matchTable(t corpus.Truth, r rowResult) (bool, string) {
	ok := r.Events == t.Events && r.IDs == t.Events && r.Digest == t.IDDigest
	if ok {
		return true, fmt.Sprintf("%d events, eventID digest matches", r.Events)
	}
	return false, fmt.Sprintf("%d events, %d distinct eventIDs, digest %.12s (the corpus: %d, digest %.12s)",
		r.Events, r.IDs, r.Digest, t.Events, t.IDDigest)
}

func measure(u usage) Measure {
	return Measure{Seconds: u.Seconds, CPUSeconds: u.CPUSeconds, PeakRSS: u.PeakRSSBytes}
}

// clockTicks is the unit of the times in /proc/PID/stat, per second.
const clockTicks = 100

// processCPU returns the user and system time, in seconds, of the running
// process pid, from /proc; ok is false where there is none.
func processCPU(pid int) (seconds float64, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The fields after the command name, which ends in the last ')',
	// start with the state; utime and stime are the 12th and 13th.
	fields := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(fields) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(fields[11], 10, 64)
	stime, err2 := strconv.ParseInt(fields[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return float64(utime+stime) / clockTicks, true
}

// copyDB copies the DuckDB database src, with its write-ahead log if it
// has one, to dst.
func copyDB(src, dst string) error {
	for _, suffix := range []string{"", ".wal"} {
		err := copyFile(src+suffix, dst+suffix)
		if suffix != "" && errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("bench: copy database: %w", err)
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// removeDB removes a DuckDB database and the files DuckDB and ctimport
// keep next to it.
func removeDB(path string) {
	for _, suffix := range []string{"", ".wal", ".tmp", ".holder", ".stop"} {
		os.RemoveAll(path + suffix)
	}
}

func mb(bytes int64) float64 { return float64(bytes) / 1e6 }

// fileSizes returns the total size of the files at paths that exist.
func fileSizes(paths ...string) (int64, error) {
	var n int64
	for _, p := range paths {
		fi, err := os.Stat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return 0, fmt.Errorf("bench: %w", err)
		default:
			n += fi.Size()
		}
	}
	return n, nil
}

// BuildBase builds the ctimport of the git revision rev of the module, for
// row 1 base, and returns the binary's path.
func (h *Harness) BuildBase(ctx context.Context, rev string) (string, error) {
	src := filepath.Join(h.work, "base")
	if err := os.RemoveAll(src); err != nil {
		return "", fmt.Errorf("bench: %w", err)
	}
	if err := os.MkdirAll(src, 0o755); err != nil {
		return "", fmt.Errorf("bench: %w", err)
	}
	defer os.RemoveAll(src)
	h.logf("building ./cmd/ctimport at %s", rev)
	archive := exec.CommandContext(ctx, "sh", "-c", `git -C "$1" archive "$2" | tar -x -C "$3"`, "sh", h.root, rev, src)
	if out, err := archive.CombinedOutput(); err != nil {
		return "", fmt.Errorf("bench: git archive %s: %w\n%s", rev, err, out)
	}
	bin := filepath.Join(h.work, "bin", "ctimport-base")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/ctimport")
	build.Dir = src
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("bench: go build at %s: %w\n%s", rev, err, out)
	}
	return bin, nil
}

// Queries times the query pairs of benchrow over c's row 1 database.
func (h *Harness) Queries(ctx context.Context, c *Corpus) ([]QueryTiming, error) {
	src, ok := h.imported[c]
	if !ok {
		return nil, errors.New("bench: no row 1 database to query")
	}
	out, err := h.run(ctx, nil, h.benchrow, "queries", "-db", src.path, "-store", src.table)
	if err != nil {
		return nil, err
	}
	var r struct{ Queries []QueryTiming }
	if err := json.Unmarshal(out, &r); err != nil || len(r.Queries) == 0 {
		return nil, fmt.Errorf("bench: benchrow queries printed %q", out)
	}
	return r.Queries, nil
}
