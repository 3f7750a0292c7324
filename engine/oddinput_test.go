package engine_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/engine"
	"github.com/ctimport/ctimport/internal/miniotest"
	"github.com/ctimport/ctimport/internal/trailtest"
	"github.com/ctimport/ctimport/pipeline"
	"github.com/ctimport/ctimport/s3scan"
	"github.com/ctimport/ctimport/s3scan/s3scantest"
	"github.com/ctimport/ctimport/sink"
	"github.com/ctimport/ctimport/sink/duckdbsink"
)

// oddRecord is a record with the members eventTime and eventID and then
// members, which is "" or starts with a comma.
func oddRecord(id, members string) string {
	return `{"eventTime":"2023-07-10T11:59:00Z","eventID":"` + id + `"` + members + `}`
}

func oddDoc(records ...string) string {
	return `{"Records":[` + strings.Join(records, ",") + `]}`
}

// TestOddInputs imports files that are valid but unusual, or that test a
// limit, into a DuckDB store, and checks what each stores: the columns of
// its events as DuckDB returns them, or its failure.
func TestOddInputs(t *testing.T) {
	digits := strings.Repeat("1234567890", 10)
	multi := oddDoc(oddRecord("multi-1", `,"eventName":"a"`), oddRecord("multi-2", `,"eventName":"b"`), oddRecord("multi-3", `,"eventName":"c"`))
	deep := oddRecord("deep", `,"requestParameters":`+strings.Repeat("[", 100_000)+strings.Repeat("]", 100_000))
	type columns map[string]string // by column name; columns not named are null
	tests := []struct {
		name      string
		data      []byte
		errorType string             // "" means the file imports
		events    map[string]columns // by eventID
	}{
		{name: "no records", data: trailtest.Gzip([]byte(`{"Records":[]}`)), events: map[string]columns{}},
		{name: "byte-order mark", data: trailtest.Gzip([]byte("\xef\xbb\xbf" + oddDoc(oddRecord("bom", `,"eventName":"x"`)))),
			events: map[string]columns{"bom": {"eventName": "x"}}},
		{name: "gzip members cut inside records", data: append(append(trailtest.Gzip([]byte(multi[:40])), trailtest.Gzip([]byte(multi[40:100]))...), trailtest.Gzip([]byte(multi[100:]))...),
			events: map[string]columns{"multi-1": {"eventName": "a"}, "multi-2": {"eventName": "b"}, "multi-3": {"eventName": "c"}}},
		{name: "100,000 levels of nesting", data: trailtest.Gzip([]byte(oddDoc(deep))), errorType: pipeline.ErrorLimitExceeded},
		{name: "huge numbers", data: trailtest.Gzip([]byte(oddDoc(oddRecord("huge", `,"requestParameters":{"big":`+digits+`,"e":1e400},"tiny":-1e-400,"int":-`+digits)))),
			events: map[string]columns{"huge": {"requestParameters": `{"big":` + digits + `,"e":1e400}`, "extraFields": `{"tiny":-1e-400,"int":-` + digits + `}`}}},
		{name: "invalid UTF-8", data: trailtest.Gzip([]byte(oddDoc(oddRecord("utf8", ",\"userAgent\":\"a\xffb\",\"requestParameters\":{\"k\":\"\xc3\"}")))),
			events: map[string]columns{"utf8": {"userAgent": "a\uFFFDb", "requestParameters": "{\"k\":\"\uFFFD\"}"}}},
		{name: "NUL bytes", data: trailtest.Gzip([]byte(oddDoc(oddRecord("nul", `,"errorMessage":"a\u0000b","requestParameters":{"k\u0000":"\u0000"}`)))),
			events: map[string]columns{"nul": {"errorMessage": "a\x00b", "requestParameters": `{"k\u0000":"\u0000"}`}}},
		{name: "duplicate keys", data: trailtest.Gzip([]byte(oddDoc(oddRecord("dup", `,"eventName":"first","x":1,"eventName":"second","x":2`)))),
			events: map[string]columns{"dup": {"eventName": "first", "extraFields": `{"x":1,"eventName":"second","x":2}`}}},
		{name: "plain JSON, unicode", data: []byte(oddDoc(oddRecord("plain", `,"eventName":"日本 ü\t\"😀\""`))),
			events: map[string]columns{"plain": {"eventName": "日本 ü\t\"😀\""}}},
	}

	ctx := t.Context()
	store, err := duckdbsink.Open(ctx, filepath.Join(t.TempDir(), "odd.duckdb"), duckdbsink.Options{Holder: "engine test"})
	if err != nil {
		t.Fatal(err)
	}
	mem := s3scantest.NewMem()
	eng := engine.New(store, engine.Options{
		Config: pipeline.Config{Backoff: time.Millisecond},
		OpenSource: func(context.Context, s3scan.Location, api.S3ImportSource) (s3scan.Source, error) {
			return mem, nil
		},
	})
	t.Cleanup(func() {
		eng.Close()
		store.Close()
	})
	eds, err := eng.CreateEventDataStore(ctx, api.CreateEventDataStoreInput{Name: "odd"})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2023, 7, 10, 12, 0, 0, 0, time.UTC)
	keys := make([]string, len(tests))
	for i, tt := range tests {
		ext := ".json.gz"
		if !strings.HasPrefix(string(tt.data), "\x1f\x8b") {
			ext = ".json"
		}
		keys[i] = logKey("", account, region, at, fmt.Sprintf("Odd%013d", i), ext)
		mem.Put(keys[i], tt.data)
	}
	start, err := eng.StartImport(ctx, newImport(eds.EventDataStoreArn, srcURI))
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	imp, _, err := eng.Wait(wctx, start.ImportId)
	if err != nil {
		t.Fatal(err)
	}
	files, err := store.Files(ctx, sink.FileQuery{ImportID: imp.ImportId})
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]sink.File{}
	for _, f := range files {
		rows[f.Key] = f
	}
	stored := oddStored(t, eng, storeID(eds))

	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := rows[keys[i]]
			if tt.errorType != "" {
				if f.Status != sink.FileFailed || f.ErrorType != tt.errorType {
					t.Fatalf("file %s %s (%s), want it failed with %s", f.Status, f.ErrorType, f.ErrorMessage, tt.errorType)
				}
				return
			}
			if f.Status != sink.FileImported || f.Events != int64(len(tt.events)) {
				t.Fatalf("file %s with %d events (%s %s), want it imported with %d", f.Status, f.Events, f.ErrorType, f.ErrorMessage, len(tt.events))
			}
			for id, want := range tt.events {
				got, ok := stored[id]
				if !ok {
					t.Errorf("event %s is not stored", id)
					continue
				}
				for _, col := range oddColumns {
					w, set := want[col]
					if g, isSet := got[col]; isSet != set || g != w {
						t.Errorf("event %s: %s = %q (set %v), want %q (set %v)", id, col, g, isSet, w, set)
					}
				}
			}
		})
	}
	if want := (api.ImportStatistics{PrefixesFound: 1, PrefixesCompleted: 1, FilesCompleted: int64(len(tests) - 1), EventsCompleted: 9, FailedEntries: 1}); *imp.ImportStatistics != want {
		t.Errorf("statistics %+v, want %+v", *imp.ImportStatistics, want)
	}
}

// oddColumns are the columns TestOddInputs checks.
var oddColumns = []string{"eventName", "userAgent", "errorMessage", "requestParameters", "extraFields"}

// oddStored returns the oddColumns of the events table of the store with ID id
// that are not null, as text, by eventID.
func oddStored(t *testing.T, eng *engine.Engine, id string) map[string]map[string]string {
	t.Helper()
	rows, err := eng.Query(t.Context(), fmt.Sprintf(`SELECT eventID, %s FROM ctimport_events.%q`, strings.Join(oddColumns, ", "), id))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]map[string]string{}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		cols := map[string]string{}
		for i, v := range vals[1:] {
			switch v := v.(type) {
			case nil:
			case string:
				cols[oddColumns[i]] = v
			default:
				t.Fatalf("column %s is a %T", oddColumns[i], v)
			}
		}
		out[vals[0].(string)] = cols
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// oddPrefix is a bucket prefix with spaces, non-ASCII letters and
// characters that URLs escape. CloudTrail names the keys below a trail's
// prefix, so only the prefix can hold them.
const oddPrefix = "my prefix/ü+x %41&=;,'!()*@$~日本/"

// TestOddKeys imports log files below oddPrefix from MinIO and from a
// local directory: the URI names the prefix as it is (percent-encoded in a
// file URI), and the events and failures keep the keys as they are. The
// keys of a directory are relative to the directory the URI names.
func TestOddKeys(t *testing.T) {
	at := time.Date(2023, 7, 10, 12, 0, 0, 0, time.UTC)
	good := logKey(oddPrefix, account, region, at, "Good000000000001", ".json.gz")
	bad := logKey(oddPrefix, account, region, at.Add(5*time.Minute), "Bad0000000000001", ".json.gz")
	objects := map[string][]byte{
		good: trailtest.Gzip(logDoc(record(ev{id: "odd-1", at: at}), record(ev{id: "odd-2", at: at}))),
		bad:  []byte("not gzip"),
	}
	check := func(t *testing.T, e *env, uri, root string) {
		t.Helper()
		good, bad := strings.TrimPrefix(good, root), strings.TrimPrefix(bad, root)
		imp, _ := e.wait(e.start(newImport(e.eds.EventDataStoreArn, uri), engine.StartOptions{}))
		if st := *imp.ImportStatistics; st.PrefixesFound != 1 || st.FilesCompleted != 1 || st.EventsCompleted != 2 || st.FailedEntries != 1 {
			t.Fatalf("import ended %s with %+v (%q); want 1 prefix, 1 file, 2 events, 1 failure", imp.ImportStatus, st, e.message(imp.ImportId))
		}
		if f, ok := e.failures(imp.ImportId)[bad]; !ok || f.ErrorType != pipeline.ErrorInvalidGzip {
			t.Errorf("failures %+v; want %q InvalidGzip", e.failures(imp.ImportId), bad)
		}
		_, keys := e.stored(e.eds)
		if len(keys) != 2 || keys["odd-1"] != good || keys["odd-2"] != good {
			t.Errorf("events stored from %q, want from %q", keys, good)
		}
	}

	t.Run("directory", func(t *testing.T) {
		e := newEnv(t, engine.Options{})
		dir := t.TempDir()
		for k, data := range objects {
			path := filepath.Join(dir, filepath.FromSlash(k))
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		check(t, e, (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir) + "/" + oddPrefix}).String(), oddPrefix)
	})

	t.Run("MinIO", func(t *testing.T) {
		srv := miniotest.Start(t)
		bucket := srv.NewBucket(t)
		for k, data := range objects {
			srv.Put(t, bucket, k, data)
		}
		for _, kv := range os.Environ() {
			if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
				t.Setenv(k, "")
				os.Unsetenv(k)
			}
		}
		t.Setenv("HOME", t.TempDir())
		t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
		t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey())
		t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey())
		e := newEnv(t, engine.Options{})
		e.eng = engine.New(e.store, engine.Options{Config: pipeline.Config{Backoff: time.Millisecond}, OpenSource: engine.Sources(srv.Endpoint())})
		t.Cleanup(func() { e.eng.Close() })
		check(t, e, "s3://"+bucket+"/"+oddPrefix, "")
	})
}

// TestManyTinyFiles imports 100,000 files of one event each, delivered
// every 5 minutes over a year, within 30 seconds.
func TestManyTinyFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("imports 100,000 files")
	}
	const files = 100_000
	e := newEnv(t, engine.Options{})
	first := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		t.Fatal(err)
	}
	for i := range files {
		at := first.Add(time.Duration(i) * 5 * time.Minute)
		buf.Reset()
		zw.Reset(&buf)
		fmt.Fprintf(zw, `{"Records":[{"eventTime":"%s","eventID":"tiny-%d","eventName":"GetObject"}]}`, at.Add(-time.Minute).Format(time.RFC3339), i)
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		e.mem.Put(key(at), buf.Bytes())
	}

	start := time.Now()
	imp, _ := e.run()
	took := time.Since(start)
	t.Logf("imported %d files in %v", files, took)
	if st := *imp.ImportStatistics; imp.ImportStatus != api.StatusCompleted || st.FilesCompleted != files || st.EventsCompleted != files {
		t.Fatalf("import ended %s with %+v; want %d files and events", imp.ImportStatus, st, files)
	}
	if count, _ := e.stored(e.eds); len(count) != files {
		t.Errorf("stored %d distinct events, want %d", len(count), files)
	}
	if took > 30*time.Second {
		t.Errorf("the import took %v, want less than 30s", took)
	}
}
