package icebergsink_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	iceio "github.com/apache/iceberg-go/io"
	_ "github.com/apache/iceberg-go/io/gocloud/s3"
	"github.com/apache/iceberg-go/table"
	"github.com/ctimport/ctimport/internal/icebergtest"
	"github.com/ctimport/ctimport/internal/miniotest"
	"github.com/ctimport/ctimport/internal/pgtest"
	"github.com/ctimport/ctimport/internal/trailtest"
	"github.com/ctimport/ctimport/pipeline/logfile"
	"github.com/ctimport/ctimport/sink"
	"github.com/ctimport/ctimport/sink/icebergsink"
	_ "github.com/duckdb/duckdb-go/v2"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/minio/minio-go/v7"
)

func TestMain(m *testing.M) {
	defer pgtest.StopShared()
	defer miniotest.StopShared()
	m.Run()
}

var ident = table.Identifier{"cloudtrail", "events"}

// env is a catalog on a database of its own and a bucket of its own.
type env struct {
	minio  *miniotest.Server
	bucket string
	dbURL  string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	m := miniotest.Shared(t)
	return &env{minio: m, bucket: m.NewBucket(t), dbURL: pgtest.Shared(t).NewDatabase(t)}
}

// catalog opens a new catalog, as a shard on another machine would.
func (e *env) catalog(t *testing.T) catalog.Catalog {
	t.Helper()
	db, err := sql.Open("pgx", e.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cat, err := sqlcat.NewCatalog("ctimport", db, sqlcat.Postgres, iceberg.Properties{
		iceio.S3EndpointURL:     e.minio.Endpoint(),
		iceio.S3Region:          "us-east-1",
		iceio.S3AccessKeyID:     e.minio.AccessKey(),
		iceio.S3SecretAccessKey: e.minio.SecretKey(),
		"warehouse":             "s3://" + e.bucket + "/warehouse",
	})
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func (e *env) createTable(t *testing.T, cat catalog.Catalog) {
	t.Helper()
	if _, err := icebergsink.CreateTable(context.Background(), cat, ident, "s3://"+e.bucket+"/events"); err != nil {
		t.Fatal(err)
	}
}

// logFile is the events of one log file of the corpus.
type logFile struct {
	key    string
	events []sink.Event
}

// corpus decodes every log file of the corpus, in key order, with the
// project's decoder.
func corpus(t *testing.T) []logFile {
	t.Helper()
	logs, err := trailtest.LogFiles(filepath.Join("..", "..", "testdata", "corpus"))
	if err != nil {
		t.Fatal(err)
	}
	var files []logFile
	for _, lf := range logs {
		zr, err := gzip.NewReader(bytes.NewReader(lf.Data))
		if err != nil {
			t.Fatalf("%s: %v", lf.Key, err)
		}
		dec := logfile.NewDecoder(zr, logfile.Options{})
		var events []sink.Event
		for {
			buf := make([]sink.Event, 256)
			n, err := dec.Next(buf)
			events = append(events, buf[:n]...)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", lf.Key, err)
			}
		}
		files = append(files, logFile{key: lf.Key, events: events})
	}
	if len(files) < 20 {
		t.Fatalf("only %d log files in the corpus", len(files))
	}
	return files
}

// corpusRecords returns the records of the corpus by identity.
func corpusRecords(t *testing.T) map[sink.Identity]any {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("..", "..", "testdata", "corpus", "*", "AWSLogs", "*", "CloudTrail", "*", "*", "*", "*", "*.json.gz"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no log files: %v", err)
	}
	records := map[sink.Identity]any{}
	for _, path := range paths {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		var doc struct{ Records []map[string]any }
		err = json.NewDecoder(zr).Decode(&doc)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range doc.Records {
			id, _ := r["eventID"].(string)
			at, _ := time.Parse(time.RFC3339, fmt.Sprint(r["eventTime"]))
			records[sink.Identity{ID: id, Time: at}] = r
		}
	}
	return records
}

// eventIDs counts the events of files by eventID, repeats (same eventID
// and eventTime) once, as a store keeps them.
func eventIDs(files []logFile) map[string]int {
	seen := map[sink.Identity]bool{}
	ids := map[string]int{}
	for _, f := range files {
		for _, ev := range f.events {
			id, _ := ev.Identity()
			if !seen[id] {
				seen[id] = true
				ids[ev.ID()]++
			}
		}
	}
	return ids
}

// write appends files through w in commits of per files each, with a
// Sync after each commit.
func write(t *testing.T, w sink.Writer, files []logFile, per int) {
	t.Helper()
	ctx := context.Background()
	for chunk := range slices.Chunk(files, per) {
		var c sink.Commit
		for _, f := range chunk {
			if err := w.Append(ctx, f.key, f.events); err != nil {
				t.Fatal(err)
			}
			c.Files = append(c.Files, sink.File{Key: f.key, ETag: "etag-" + f.key, Status: sink.FileImported})
		}
		if _, err := w.Commit(ctx, c); err != nil {
			t.Fatal(err)
		}
		if err := w.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
}

// scanIDs reads the table with iceberg-go's scan and counts its events by
// eventID.
func (e *env) scanIDs(t *testing.T, cat catalog.Catalog) map[string]int {
	return icebergtest.New(cat, ident, e.minio).ScanIDs(t)
}

func sameCounts(t *testing.T, what string, got, want map[string]int) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d eventIDs, want %d", what, len(got), len(want))
	}
	for id, n := range want {
		if got[id] != n {
			t.Errorf("%s: eventID %s %d times, want %d", what, id, got[id], n)
			return
		}
	}
}

func TestCorpusReadBack(t *testing.T) {
	e := newEnv(t)
	cat := e.catalog(t)
	e.createTable(t, cat)
	files := corpus(t)
	w := icebergsink.NewWriter(cat, ident, icebergsink.Options{})
	defer w.Close()
	write(t, w, files, 20)

	want := eventIDs(files)
	sameCounts(t, "iceberg scan", e.scanIDs(t, cat), want)

	ctx := context.Background()
	tbl, err := cat.LoadTable(ctx, ident)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(tbl.Metadata().Snapshots()); n != (len(files)+19)/20 {
		t.Errorf("%d snapshots, want one per commit, %d", n, (len(files)+19)/20)
	}
	covered, err := icebergsink.Covered(ctx, cat, ident)
	if err != nil {
		t.Fatal(err)
	}
	var events int
	for _, f := range files {
		s := covered[f.key]
		if s.ETag != "etag-"+f.key {
			t.Errorf("covered[%s] = %+v", f.key, s)
		}
		events += int(s.Events)
	}
	var stored int
	for _, n := range want {
		stored += n
	}
	if events != stored {
		t.Errorf("the commits cover %d events, want %d", events, stored)
	}

	// What Athena or Trino read: the data files the snapshot lists.
	paths := icebergtest.New(cat, ident, e.minio).Download(t)
	duck, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer duck.Close()
	all := filepath.Join(filepath.Dir(paths[0]), "*.parquet")
	sameCounts(t, "read_parquet", icebergtest.New(cat, ident, e.minio).ParquetIDs(t), want)

	for _, p := range paths {
		var days, unsorted int
		err := duck.QueryRowContext(ctx, `SELECT count(DISTINCT CAST(eventTime AS DATE)),
			count(*) FILTER (WHERE eventTime < prev)
			FROM (SELECT eventTime, lag(eventTime) OVER (ORDER BY file_row_number) AS prev
			      FROM read_parquet(?, file_row_number = true))`, p).Scan(&days, &unsorted)
		if err != nil {
			t.Fatal(err)
		}
		if days != 1 || unsorted != 0 {
			t.Errorf("%s: %d days, %d rows out of eventTime order", p, days, unsorted)
		}
		var codecs string
		if err := duck.QueryRowContext(ctx, "SELECT string_agg(DISTINCT compression, ',') FROM parquet_metadata(?)", p).Scan(&codecs); err != nil {
			t.Fatal(err)
		}
		if codecs != "ZSTD" {
			t.Errorf("%s: compression %s, want ZSTD", p, codecs)
		}
	}

	// The files have Lake's schema, as the DuckDB store's view has it.
	golden, err := os.ReadFile(filepath.Join("..", "duckdbsink", "testdata", "lake_schema.golden"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := duck.QueryContext(ctx, "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM read_parquet(?))", all)
	if err != nil {
		t.Fatal(err)
	}
	var schema strings.Builder
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&schema, "%s %s\n", name, typ)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if schema.String() != string(golden) {
		t.Errorf("schema of the data files:\n%s\nwant Lake's:\n%s", schema.String(), golden)
	}

	// eventJson is each record as delivered.
	records := corpusRecords(t)
	rows, err = duck.QueryContext(ctx, "SELECT eventID, eventTime, eventJson FROM read_parquet(?)", all)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, js string
		var at time.Time
		if err := rows.Scan(&id, &at, &js); err != nil {
			t.Fatal(err)
		}
		var got any
		if err := json.Unmarshal([]byte(js), &got); err != nil {
			t.Fatalf("eventJson of %s: %v", id, err)
		}
		if want := records[sink.Identity{ID: id, Time: at.UTC()}]; !reflect.DeepEqual(got, want) {
			t.Errorf("eventJson of %s:\n%s\nwant the record:\n%v", id, js, want)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}

	// Lake's typed columns hold the members of the records.
	var withArn, withParams int
	err = duck.QueryRowContext(ctx, "SELECT count(userIdentity.arn), count(requestParameters) FROM read_parquet(?)", all).Scan(&withArn, &withParams)
	if err != nil {
		t.Fatal(err)
	}
	if withArn == 0 || withParams == 0 {
		t.Errorf("%d events with userIdentity.arn, %d with requestParameters", withArn, withParams)
	}
}

func TestConcurrentWriters(t *testing.T) {
	e := newEnv(t)
	e.createTable(t, e.catalog(t))
	files := corpus(t)
	halves := [][]logFile{files[:len(files)/2], files[len(files)/2:]}
	writers := make([]*icebergsink.Writer, len(halves))
	var wg sync.WaitGroup
	for i, half := range halves {
		writers[i] = icebergsink.NewWriter(e.catalog(t), ident, icebergsink.Options{})
		defer writers[i].Close()
		wg.Go(func() { write(t, writers[i], half, 3) })
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	retries := writers[0].Retries() + writers[1].Retries()
	t.Logf("%d retries", retries)
	if retries == 0 {
		t.Error("no commit conflicted: the test did not race the writers")
	}
	sameCounts(t, "iceberg scan", e.scanIDs(t, e.catalog(t)), eventIDs(files))
}

// Two writers reading the same objects at once, in commits that overlap
// in part, store each object once, and leave no data file that no commit
// lists.
func TestConcurrentWritersOfTheSameObjects(t *testing.T) {
	e := newEnv(t)
	e.createTable(t, e.catalog(t))
	files := corpus(t)
	writers := make([]*icebergsink.Writer, 2)
	var wg sync.WaitGroup
	for i := range writers {
		writers[i] = icebergsink.NewWriter(e.catalog(t), ident, icebergsink.Options{})
		defer writers[i].Close()
		wg.Go(func() { write(t, writers[i], files, 3+i) })
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if skipped := writers[0].Skipped() + writers[1].Skipped(); skipped != len(files) {
		t.Errorf("the writers dropped %d objects the table held, want %d", skipped, len(files))
	}
	cat := e.catalog(t)
	sameCounts(t, "iceberg scan", e.scanIDs(t, cat), eventIDs(files))

	ctx := context.Background()
	listed := map[string]bool{}
	for _, f := range icebergtest.New(cat, ident, e.minio).DataFiles(t) {
		listed[f.FilePath()] = true
	}
	for obj := range e.minio.Client().ListObjects(ctx, e.bucket, minio.ListObjectsOptions{Prefix: "events/data/", Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		if path := "s3://" + e.bucket + "/" + obj.Key; !listed[path] {
			t.Errorf("data file %s is in no commit", path)
		}
	}
}

func TestRestartSkipsCoveredFiles(t *testing.T) {
	e := newEnv(t)
	e.createTable(t, e.catalog(t))
	files := corpus(t)
	first := files[:len(files)/3]

	w := icebergsink.NewWriter(e.catalog(t), ident, icebergsink.Options{})
	write(t, w, first, 5)
	// Events appended and committed but not synced are lost with the
	// writer, as in a crash.
	ctx := context.Background()
	lost := files[len(first)]
	if err := w.Append(ctx, lost.key, lost.events); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx, sink.Commit{Files: []sink.File{{Key: lost.key, ETag: "etag-" + lost.key, Status: sink.FileImported}}}); err != nil {
		t.Fatal(err)
	}
	w.Close()

	// A new writer on another machine: a new catalog, nothing on disk.
	cat := e.catalog(t)
	covered, err := icebergsink.Covered(ctx, cat, ident)
	if err != nil {
		t.Fatal(err)
	}
	if len(covered) != len(first) {
		t.Errorf("%d objects covered, want %d", len(covered), len(first))
	}
	var rest []logFile
	for _, f := range files {
		if _, ok := covered[f.key]; !ok {
			rest = append(rest, f)
		}
	}
	w2 := icebergsink.NewWriter(cat, ident, icebergsink.Options{})
	defer w2.Close()
	write(t, w2, rest, 10)
	// A covered object read again is dropped from the commit.
	write(t, w2, first[:2], 2)
	if w2.Skipped() != 2 {
		t.Errorf("skipped %d objects, want 2", w2.Skipped())
	}
	sameCounts(t, "iceberg scan", e.scanIDs(t, cat), eventIDs(files))
}

// TestKeepSnapshots checks that commits expire the snapshots beyond
// KeepSnapshots, and with them the sources their summaries name, and keep
// every event.
func TestKeepSnapshots(t *testing.T) {
	e := newEnv(t)
	cat := e.catalog(t)
	e.createTable(t, cat)
	files := corpus(t)[:12]
	w := icebergsink.NewWriter(cat, ident, icebergsink.Options{KeepSnapshots: 2})
	defer w.Close()
	write(t, w, files, 3)
	tbl, err := cat.LoadTable(context.Background(), ident)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(tbl.Metadata().Snapshots()); n != 2 {
		t.Errorf("%d snapshots, want 2", n)
	}
	covered, err := icebergsink.Covered(context.Background(), cat, ident)
	if err != nil {
		t.Fatal(err)
	}
	if len(covered) != 6 {
		t.Errorf("%d objects covered, want the 6 of the last 2 commits", len(covered))
	}
	sameCounts(t, "iceberg scan", e.scanIDs(t, cat), eventIDs(files))
}

func TestCoveredWithoutTable(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := icebergsink.Covered(ctx, e.catalog(t), ident); !errors.Is(err, icebergsink.ErrNotFound) {
		t.Fatalf("got %v, want ErrNotFound", err)
	}
}

// Events past TargetFileSize are committed without a Sync, in data files
// cut at that size of events.
func TestTargetFileSize(t *testing.T) {
	e := newEnv(t)
	cat := e.catalog(t)
	e.createTable(t, cat)
	files := corpus(t)
	w := icebergsink.NewWriter(cat, ident, icebergsink.Options{TargetFileSize: 64 << 10})
	defer w.Close()
	ctx := context.Background()
	var c sink.Commit
	for _, f := range files {
		if err := w.Append(ctx, f.key, f.events); err != nil {
			t.Fatal(err)
		}
		c.Files = append(c.Files, sink.File{Key: f.key, ETag: "etag", Status: sink.FileImported})
	}
	if _, err := w.Commit(ctx, c); err != nil {
		t.Fatal(err)
	}
	covered, err := icebergsink.Covered(ctx, cat, ident)
	if err != nil {
		t.Fatal(err)
	}
	if len(covered) != len(files) {
		t.Fatalf("%d objects committed before Sync, want %d", len(covered), len(files))
	}
	perDay := map[string]int{}
	for _, f := range icebergtest.New(cat, ident, e.minio).DataFiles(t) {
		perDay[filepath.Base(filepath.Dir(f.FilePath()))]++
		// A file holds at most 64 KiB of the events' text, in Lake's
		// typed columns and again in eventJson, compressed, and a footer
		// that, with Lake's many nested columns, weighs in at this size.
		if size := f.FileSizeBytes(); size > 2*(64<<10) {
			t.Errorf("%s: %d bytes, want about %d", f.FilePath(), size, 64<<10)
		}
	}
	if n := perDay["eventTime_day=2023-07-10"]; n < 2 {
		t.Errorf("the 2,900 events of 2023-07-10 in %d data files, want several", n)
	}
	sameCounts(t, "iceberg scan", e.scanIDs(t, cat), eventIDs(files))
}
