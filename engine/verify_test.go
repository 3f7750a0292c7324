package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/engine"
	"github.com/ctimport/ctimport/internal/trailtest"
	"github.com/ctimport/ctimport/pipeline"
	"github.com/ctimport/ctimport/s3scan"
	"github.com/ctimport/ctimport/s3scan/s3scantest"
	"github.com/ctimport/ctimport/sink"
	"github.com/ctimport/ctimport/sink/duckdbsink"
)

// verifyAt is the start of the time range of the imports verified.
var verifyAt = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)

// verifyEnv is a Mem bucket imported into a DuckDB database, to verify
// through a read-only store as the CLI does.
type verifyEnv struct {
	t    *testing.T
	path string
	mem  *s3scantest.Mem
	eds  api.EventDataStore
	keys map[string]string // the log files, by name
}

// newVerifyEnv returns a database with an event data store and a bucket
// holding, within one day prefix: files one to four, three of which
// brings two events of file one again, and four of which holds an event
// after the time range of the imports; a file delivered after the window
// of the imports; and an object that is not a log file.
func newVerifyEnv(t *testing.T) *verifyEnv {
	v := &verifyEnv{t: t, path: filepath.Join(t.TempDir(), "verify.duckdb"), mem: s3scantest.NewMem(), keys: map[string]string{}}
	a := evs("a", 5, verifyAt.Add(time.Minute))
	v.put("one", 10*time.Minute, a...)
	v.put("two", 20*time.Minute, evs("b", 4, verifyAt.Add(12*time.Minute))...)
	v.put("three", 30*time.Minute, append(evs("c", 2, verifyAt.Add(25*time.Minute)), a[:2]...)...)
	v.put("four", 150*time.Minute, ev{"d-0", verifyAt.Add(119 * time.Minute)}, ev{"d-1", verifyAt.Add(140 * time.Minute)})
	v.put("late", 181*time.Minute, evs("e", 2, verifyAt.Add(100*time.Minute))...)
	v.mem.Put("AWSLogs/"+account+"/CloudTrail/"+region+"/2024/03/01/notes.txt", []byte("not a log file"))
	store, eng := v.open(duckdbsink.Options{Holder: "engine test"})
	eds, err := eng.CreateEventDataStore(t.Context(), api.CreateEventDataStoreInput{Name: "verify"})
	if err != nil {
		t.Fatal(err)
	}
	v.eds = eds
	v.close(store, eng)
	return v
}

// put stores the log file name delivered at verifyAt+after.
func (v *verifyEnv) put(name string, after time.Duration, events ...ev) {
	k, ok := v.keys[name]
	if !ok {
		k = logKey("", account, region, verifyAt.Add(after), "Verify"+name, ".json.gz")
		v.keys[name] = k
	}
	recs := make([]json.RawMessage, len(events))
	for i, x := range events {
		recs[i] = record(x)
	}
	v.mem.Put(k, trailtest.Gzip(logDoc(recs...)))
}

// open opens the database with opts and returns an Engine over it that
// reads the bucket.
func (v *verifyEnv) open(opts duckdbsink.Options) (*duckdbsink.Store, *engine.Engine) {
	v.t.Helper()
	store, err := duckdbsink.Open(v.t.Context(), v.path, opts)
	if err != nil {
		v.t.Fatal(err)
	}
	return store, v.engine(store)
}

func (v *verifyEnv) engine(store sink.Store) *engine.Engine {
	return engine.New(store, engine.Options{
		Config: pipeline.Config{Backoff: time.Millisecond},
		OpenSource: func(context.Context, s3scan.Location, api.S3ImportSource) (s3scan.Source, error) {
			return v.mem, nil
		},
	})
}

// close closes an Engine and its store.
func (v *verifyEnv) close(store sink.Store, eng *engine.Engine) {
	v.t.Helper()
	eng.Close()
	if err := store.Close(); err != nil {
		v.t.Fatal(err)
	}
}

// importRange imports the bucket's events of the two hours from
// verifyAt (from where the last import ended when it is incremental), and
// returns the import's ID once it has ended.
func (v *verifyEnv) importRange(opts engine.StartOptions) string {
	v.t.Helper()
	in := newImport(v.eds.EventDataStoreArn, srcURI)
	if !opts.Incremental {
		in.StartEventTime = ptr(verifyAt)
	}
	in.EndEventTime = ptr(verifyAt.Add(2 * time.Hour))
	return v.importBucket(in, opts)
}

// importBucket runs the import in and returns its ID once it has ended.
func (v *verifyEnv) importBucket(in api.StartImportInput, opts engine.StartOptions) string {
	v.t.Helper()
	store, eng := v.open(duckdbsink.Options{Holder: "engine test"})
	defer v.close(store, eng)
	imp, err := eng.StartImportWith(v.t.Context(), in, opts)
	if err != nil {
		v.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(v.t.Context(), waitTimeout)
	defer cancel()
	if _, _, err := eng.Wait(ctx, imp.ImportId); err != nil {
		v.t.Fatal(err)
	}
	return imp.ImportId
}

// exec runs statement, with args, on the database.
func (v *verifyEnv) exec(statement string, args ...any) {
	v.t.Helper()
	store, eng := v.open(duckdbsink.Options{Holder: "engine test", AllowWrite: true})
	defer v.close(store, eng)
	rows, err := store.Query(v.t.Context(), statement, args...)
	if err != nil {
		v.t.Fatalf("%s: %v", statement, err)
	}
	rows.Close()
}

// verify verifies import id over a read-only store, wrapped by wrap
// unless it is nil, and returns the drift reported, each without its
// detail, which it checks is there.
func (v *verifyEnv) verify(id string, wrap func(sink.Store) sink.Store) ([]engine.Drift, engine.VerifySummary, error) {
	v.t.Helper()
	store, err := duckdbsink.Open(v.t.Context(), v.path, duckdbsink.Options{ReadOnly: true})
	if err != nil {
		v.t.Fatal(err)
	}
	var s sink.Store = store
	if wrap != nil {
		s = wrap(store)
	}
	eng := v.engine(s)
	defer v.close(store, eng)
	var drifts []engine.Drift
	sum, err := eng.Verify(v.t.Context(), id, func(d engine.Drift) {
		if d.Detail == "" {
			v.t.Errorf("%s drift of %q without a detail", d.Kind, d.Location)
		}
		d.Detail = ""
		drifts = append(drifts, d)
	})
	return drifts, sum, err
}

func TestVerify(t *testing.T) {
	t.Parallel()
	deleteEvents := func(ids ...string) func(v *verifyEnv) {
		return func(v *verifyEnv) {
			v.exec(fmt.Sprintf(`DELETE FROM ctimport_events.%q WHERE list_contains(?::VARCHAR[], eventID)`, storeID(v.eds)), ids)
		}
	}
	tests := []struct {
		name string
		// before changes the bucket before the import; after changes the
		// bucket or the database between the import and the verify.
		before, after func(v *verifyEnv)
		want          func(keys map[string]string) []engine.Drift
	}{
		{
			name: "agrees",
		},
		{
			name: "files outside the window and other objects",
			after: func(v *verifyEnv) {
				v.put("later", 181*time.Minute, evs("f", 1, verifyAt)...)
				v.put("next day", 24*time.Hour, evs("g", 1, verifyAt)...)
				v.mem.Put("AWSLogs/"+account+"/CloudTrail/"+region+"/2024/03/01/more-notes.txt", []byte("not a log file"))
				v.mem.Put("AWSLogs/"+account+"/CloudTrail-Digest/"+region+"/2024/03/01/digest.json.gz", []byte("{}"))
			},
		},
		{
			name:  "unimported",
			after: func(v *verifyEnv) { v.put("new", 40*time.Minute, evs("h", 2, verifyAt.Add(35*time.Minute))...) },
			want: func(k map[string]string) []engine.Drift {
				return []engine.Drift{{Kind: engine.DriftUnimported, Location: k["new"]}}
			},
		},
		{
			name:  "vanished",
			after: func(v *verifyEnv) { v.mem.Delete(v.keys["two"]) },
			want: func(k map[string]string) []engine.Drift {
				return []engine.Drift{{Kind: engine.DriftVanished, Location: k["two"]}}
			},
		},
		{
			name:  "changed",
			after: func(v *verifyEnv) { v.put("two", 0, evs("b", 5, verifyAt.Add(12*time.Minute))...) },
			want: func(k map[string]string) []engine.Drift {
				return []engine.Drift{{Kind: engine.DriftChanged, Location: k["two"]}}
			},
		},
		{
			name:   "failed",
			before: func(v *verifyEnv) { v.mem.Put(v.keys["two"], []byte("not gzip")) },
			want: func(k map[string]string) []engine.Drift {
				return []engine.Drift{{Kind: engine.DriftFailed, Location: k["two"]}}
			},
		},
		{
			name:  "events lost",
			after: deleteEvents("b-1", "b-2"),
			want: func(k map[string]string) []engine.Drift {
				return []engine.Drift{{Kind: engine.DriftEvents, Location: k["two"]}}
			},
		},
		{
			// a-0 is stored once, from file one or three, and is in both.
			name:  "event of two files lost",
			after: deleteEvents("a-0"),
			want: func(k map[string]string) []engine.Drift {
				return []engine.Drift{{Kind: engine.DriftEvents, Location: k["one"]}, {Kind: engine.DriftEvents, Location: k["three"]}}
			},
		},
		{
			name: "events added",
			after: func(v *verifyEnv) {
				v.exec(fmt.Sprintf(`INSERT INTO ctimport_events.%[1]q SELECT * REPLACE ('b-extra' AS eventID) FROM ctimport_events.%[1]q WHERE eventID = 'b-0'`, storeID(v.eds)))
			},
			want: func(k map[string]string) []engine.Drift {
				return []engine.Drift{{Kind: engine.DriftEvents, Location: k["two"]}}
			},
		},
		{
			name: "events lost from a vanished file",
			after: func(v *verifyEnv) {
				deleteEvents("b-0")(v)
				v.mem.Delete(v.keys["two"])
			},
			want: func(k map[string]string) []engine.Drift {
				return []engine.Drift{{Kind: engine.DriftVanished, Location: k["two"]}, {Kind: engine.DriftEvents, Location: k["two"]}}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			v := newVerifyEnv(t)
			if tt.before != nil {
				tt.before(v)
			}
			id := v.importRange(engine.StartOptions{})
			if tt.after != nil {
				tt.after(v)
			}
			got, sum, err := v.verify(id, nil)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			var want []engine.Drift
			if tt.want != nil {
				want = tt.want(v.keys)
			}
			if !slices.Equal(got, want) {
				t.Errorf("Verify reported %v, want %v", got, want)
			}
			if sum.Drifts != int64(len(got)) {
				t.Errorf("summary counts %d drifts, %d reported", sum.Drifts, len(got))
			}
		})
	}
}

// TestVerifySummary checks what Verify says it compared: the four files of
// the window, and the events of their checkpoint rows, duplicates and all,
// within the time range.
func TestVerifySummary(t *testing.T) {
	t.Parallel()
	v := newVerifyEnv(t)
	_, sum, err := v.verify(v.importRange(engine.StartOptions{}), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := (engine.VerifySummary{Files: 4, Events: 5 + 4 + 4 + 1}); sum != want {
		t.Errorf("Verify = %+v, want %+v", sum, want)
	}
}

// TestVerifyIncremental checks that the files an incremental import skips,
// because an earlier import into the store read them, count as imported.
func TestVerifyIncremental(t *testing.T) {
	t.Parallel()
	v := newVerifyEnv(t)
	v.importRange(engine.StartOptions{})
	// The incremental import starts an hour before file four's delivery,
	// and reads file four no more.
	v.put("new", 160*time.Minute, evs("h", 2, verifyAt.Add(100*time.Minute))...)
	id := v.importRange(engine.StartOptions{Incremental: true})
	got, sum, err := v.verify(id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("Verify reported %v, want nothing", got)
	}
	if sum.Files != 2 || sum.Events != 2 {
		t.Errorf("Verify = %+v, want files four and new compared, and the 2 events of new", sum)
	}
}

// TestVerifyOverlappingImports checks that only the events of the import's
// time range count: another import of the same files into the store
// stored more of their events.
func TestVerifyOverlappingImports(t *testing.T) {
	t.Parallel()
	v := newVerifyEnv(t)
	id := v.importRange(engine.StartOptions{})
	v.importBucket(newImport(v.eds.EventDataStoreArn, srcURI), engine.StartOptions{})
	got, _, err := v.verify(id, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("Verify reported %v, want nothing", got)
	}
}

// wrongStats is a store whose statistics count one event more than its
// checkpoint rows hold.
type wrongStats struct{ sink.Store }

func (s wrongStats) Stats(ctx context.Context, id string) (sink.Stats, error) {
	st, err := s.Store.Stats(ctx, id)
	st.EventsCompleted++
	return st, err
}

func TestVerifyTotals(t *testing.T) {
	t.Parallel()
	v := newVerifyEnv(t)
	got, _, err := v.verify(v.importRange(engine.StartOptions{}), func(s sink.Store) sink.Store { return wrongStats{s} })
	if err != nil {
		t.Fatal(err)
	}
	if want := []engine.Drift{{Kind: engine.DriftTotals}}; !slices.Equal(got, want) {
		t.Errorf("Verify reported %v, want %v", got, want)
	}
}

func TestVerifyRefuses(t *testing.T) {
	t.Parallel()
	v := newVerifyEnv(t)
	id := v.importRange(engine.StartOptions{})
	store, eng := v.open(duckdbsink.Options{Holder: "engine test"})
	imp, err := store.Import(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	imp.ID = "00000000-0000-4000-8000-000000000001"
	imp.Status = string(api.StatusInProgress)
	if err := store.PutImport(t.Context(), imp); err != nil {
		t.Fatal(err)
	}
	v.close(store, eng)

	tests := []struct {
		name string
		id   string
		want *api.Exception
	}{
		{"not a UUID", "import-1", api.ErrInvalidParameter},
		{"unknown", "00000000-0000-4000-8000-000000000000", api.ErrImportNotFound},
		{"in progress", imp.ID, api.ErrAccountHasOngoingImport},
	}
	for _, tt := range tests {
		got, _, err := v.verify(tt.id, nil)
		if !isExc(err, tt.want) || got != nil {
			t.Errorf("%s: Verify reported %v, %v; want %s", tt.name, got, err, tt.want.Name)
		}
	}
}

// TestVerifyRunning checks that the import an Engine runs is not verified.
func TestVerifyRunning(t *testing.T) {
	e := newEnv(t, engine.Options{Config: pipeline.Config{Concurrency: 1, Downloads: 1, PrefetchBytes: 1}})
	keys := []string{key(verifyAt), key(verifyAt.Add(time.Minute))}
	for _, k := range keys {
		e.put(k, evs(k, 2, verifyAt)...)
	}
	hook, reached := gate(keys[1])
	e.spy.setWrap(hook)
	id := e.startNew()
	waitClosed(t, reached, "the gated read")
	_, err := e.eng.Verify(e.ctx, id, func(d engine.Drift) { t.Errorf("drift reported: %+v", d) })
	if !isExc(err, api.ErrAccountHasOngoingImport) || !strings.Contains(err.Error(), "running") {
		t.Errorf("Verify of a running import: %v, want AccountHasOngoingImportException", err)
	}
}
