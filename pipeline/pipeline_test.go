package pipeline_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctimport/ctimport/internal/trailtest"
	"github.com/ctimport/ctimport/pipeline"
	"github.com/ctimport/ctimport/s3scan"
	"github.com/ctimport/ctimport/sink"
	"github.com/ctimport/ctimport/sink/memsink"
)

// corpusSet is a set of real CloudTrail deliveries, in a bucket's layout.
const corpusSet = "../testdata/corpus/invictus-2023-07-10"

var testConfig = pipeline.Config{
	Concurrency:   2,
	Downloads:     4,
	PrefetchBytes: 1 << 20,
	Attempts:      3,
	Backoff:       time.Millisecond,
	BatchEvents:   500,
	SyncInterval:  50 * time.Millisecond,
	MaxRecordSize: 1 << 20,
	MaxFileSize:   64 << 20,
}

// corpus returns what the pipeline must load from corpusSet: the events of
// each file, read with a Reader of its own.
func corpus(t *testing.T) (events map[string]int64, total int64) {
	t.Helper()
	events = map[string]int64{}
	files, err := trailtest.LogFiles(corpusSet)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		var rd pipeline.Reader
		rd.MaxFileSize, rd.MaxRecordSize = testConfig.MaxFileSize, testConfig.MaxRecordSize
		n, err := rd.Read(f.Key, bytes.NewReader(f.Data), func([]sink.Event) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		events[f.Key] = n
		total += n
	}
	return events, total
}

// newRun returns a Run of a new import of src into a new event data store
// of a memsink.Store.
func newRun(t *testing.T, src s3scan.Source) *pipeline.Run {
	t.Helper()
	ctx := context.Background()
	st := memsink.New()
	t.Cleanup(func() { st.Close() })
	now := time.Now().UTC().Truncate(time.Microsecond)
	if err := st.CreateEventDataStore(ctx, sink.EventDataStore{ID: "eds", Name: "eds", ARN: "arn:eds", Created: now}); err != nil {
		t.Fatal(err)
	}
	imp := sink.Import{ID: "imp", StoreID: "eds", SourceURI: "file://corpus/", Status: "IN_PROGRESS", Created: now, Updated: now}
	if err := st.PutImport(ctx, imp); err != nil {
		t.Fatal(err)
	}
	return &pipeline.Run{
		Import:   imp,
		Source:   src,
		Store:    st,
		Config:   testConfig,
		Now:      func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) },
		Progress: &pipeline.Counters{Started: now},
	}
}

// stored counts the events r's store holds, by the key they were read from.
func stored(t *testing.T, r *pipeline.Run) map[string]int64 {
	t.Helper()
	n := map[string]int64{}
	for key := range r.Store.(*memsink.Store).Events(r.Import.StoreID) {
		n[key]++
	}
	return n
}

func dirSource(t *testing.T) s3scan.Source {
	t.Helper()
	src, err := s3scan.NewDir(corpusSet)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// TestExecute loads a corpus of real deliveries and checks that every
// file's events are stored once, with its checkpoint row, and that the
// progress counts them; then that a second run finds nothing left to do.
func TestExecute(t *testing.T) {
	want, total := corpus(t)
	r := newRun(t, dirSource(t))
	if err := r.Execute(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	checkLoaded(t, r, want, total)
	p := r.Progress.Snapshot()
	if p.FilesFound != int64(len(want)) || p.FilesDone != int64(len(want)) || p.Events != total || p.Stored != total ||
		p.Duplicates != 0 || p.FilesFailed != 0 || p.Listing || p.DaysListed != p.Days || p.PrefixesCompleted != p.PrefixesFound {
		t.Errorf("progress %+v; want %d files and %d events done, every prefix listed and completed", p, len(want), total)
	}

	again := *r
	again.Progress = &pipeline.Counters{}
	if err := again.Execute(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if p := again.Progress.Snapshot(); p.FilesFound != 0 || p.Events != 0 {
		t.Errorf("a second run found %d files, %d events; want none", p.FilesFound, p.Events)
	}
	checkLoaded(t, r, want, total)
}

// checkLoaded checks that r's store holds want's events by key, and an
// IMPORTED checkpoint row with the right count for each file.
func checkLoaded(t *testing.T, r *pipeline.Run, want map[string]int64, total int64) {
	t.Helper()
	got := stored(t, r)
	rows, err := r.Store.Files(context.Background(), sink.FileQuery{ImportID: r.Import.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(want) {
		t.Errorf("%d checkpoint rows, want %d", len(rows), len(want))
	}
	for _, f := range rows {
		if f.Status != sink.FileImported || f.Events != want[f.Key] || got[f.Key] != want[f.Key] {
			t.Errorf("file %s: row %s with %d events, %d stored; want IMPORTED with %d", f.Key, f.Status, f.Events, got[f.Key], want[f.Key])
		}
	}
	st, err := r.Store.Stats(context.Background(), r.Import.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.EventsCompleted != total || st.FilesCompleted != int64(len(want)) {
		t.Errorf("statistics %+v; want %d files, %d events", st, len(want), total)
	}
}

// stopAfter is a Source that ends a run's context once n objects were
// opened.
type stopAfter struct {
	s3scan.Source
	n      int64
	opened atomic.Int64
	stop   context.CancelFunc
}

func (s *stopAfter) Open(ctx context.Context, key string) (io.ReadCloser, s3scan.Object, error) {
	if s.opened.Add(1) == s.n {
		s.stop()
	}
	return s.Source.Open(ctx, key)
}

// TestExecuteStopped stops a run part way and checks that it stored each
// file whole or not at all, with its row, and that a second run loads
// the rest, so that every event is stored once.
func TestExecuteStopped(t *testing.T) {
	want, total := corpus(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	src := &stopAfter{Source: dirSource(t), n: int64(len(want) / 3), stop: cancel}
	r := newRun(t, src)
	r.Config.Concurrency, r.Config.Downloads = 1, 1
	if err := r.Execute(ctx, ""); !errors.Is(err, context.Canceled) {
		t.Fatalf("stopped run: %v, want context.Canceled", err)
	}
	rows, err := r.Store.Files(context.Background(), sink.FileQuery{ImportID: r.Import.ID})
	if err != nil {
		t.Fatal(err)
	}
	got := stored(t, r)
	imported := map[string]bool{}
	for _, f := range rows {
		imported[f.Key] = f.Status == sink.FileImported
	}
	for key, n := range want {
		if imported[key] && got[key] != n || !imported[key] && got[key] != 0 {
			t.Errorf("file %s: imported %t, %d events stored of %d", key, imported[key], got[key], n)
		}
	}
	if len(rows) == 0 || len(rows) == len(want) {
		t.Errorf("the stopped run imported %d files of %d; want some, not all", len(rows), len(want))
	}

	again := *r
	again.Progress = &pipeline.Counters{}
	if err := again.Execute(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if p := again.Progress.Snapshot(); p.FilesDone != int64(len(want)-len(rows)) {
		t.Errorf("the second run read %d files, want the %d left", p.FilesDone, len(want)-len(rows))
	}
	checkLoaded(t, r, want, total)
}

// TestExecuteStoreFails checks that a failing commit ends the run with
// the store's error, and that the progress does not count what the store
// dropped.
func TestExecuteStoreFails(t *testing.T) {
	r := newRun(t, dirSource(t))
	boom := errors.New("disk on fire")
	r.Store.(*memsink.Store).FailCommits(1, boom)
	if err := r.Execute(context.Background(), ""); !errors.Is(err, boom) {
		t.Fatalf("run with a failing store: %v, want %v", err, boom)
	}
	if p := r.Progress.Snapshot(); p.FilesDone != 0 || p.Events != 0 {
		t.Errorf("progress counts %d files, %d events; the store holds none", p.FilesDone, p.Events)
	}
	if n := len(stored(t, r)); n != 0 {
		t.Errorf("the store holds events of %d files; want none", n)
	}
}

// TestWindow checks the delivery window and the time range of imports.
func TestWindow(t *testing.T) {
	start := time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC)
	end := start.Add(24 * time.Hour)
	for _, tc := range []struct {
		name    string
		imp     sink.Import
		want    s3scan.Window
		in, out []time.Time
	}{
		{"unbounded", sink.Import{}, s3scan.Window{}, []time.Time{start, end}, nil},
		{"bounded", sink.Import{StartEventTime: start, EndEventTime: end, Allowance: time.Hour},
			s3scan.Window{Start: start, End: end.Add(time.Hour)}, []time.Time{start, end}, []time.Time{start.Add(-time.Nanosecond), end.Add(time.Nanosecond)}},
		{"from", sink.Import{StartEventTime: start, Allowance: time.Hour}, s3scan.Window{Start: start}, []time.Time{start, end.Add(time.Hour)}, []time.Time{start.Add(-time.Second)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := pipeline.Window(tc.imp); got != tc.want {
				t.Errorf("Window = %+v, want %+v", got, tc.want)
			}
			for _, at := range tc.in {
				if !pipeline.InRange(tc.imp, at) {
					t.Errorf("InRange(%s) = false, want true", at)
				}
			}
			for _, at := range tc.out {
				if pipeline.InRange(tc.imp, at) {
					t.Errorf("InRange(%s) = true, want false", at)
				}
			}
		})
	}
}
