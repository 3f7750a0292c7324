package duckdbsink

import (
	"fmt"
	"path"
	"testing"
	"time"

	"github.com/ctimport/ctimport/sink"
)

// copyCorpus returns n copies of the corpus files for run: each has its own
// keys and eventIDs, and its eventTimes shifted by a day from the last.
func copyCorpus(files []logFile, run, n int) []logFile {
	var out []logFile
	for i := range n {
		for _, f := range files {
			c := logFile{key: fmt.Sprintf("run-%d/copy-%d/%s", run, i, f.key), events: make([]sink.Event, len(f.events))}
			for j, e := range f.events {
				if id := e.Values[sink.EventID]; len(id) > 8 {
					e.Values[sink.EventID] = fmt.Sprintf("%s%04x%04x", id[:len(id)-8], run, i)
				}
				e.Time = e.Time.AddDate(0, 0, run*n+i)
				c.events[j] = e
			}
			out = append(out, c)
		}
	}
	return out
}

// loadFiles appends files through w and commits them, a commit whenever
// perCommit events are staged, as the engine does.
func loadFiles(tb testing.TB, w sink.Writer, imp *sink.Import, files []logFile, perCommit int) sink.CommitResult {
	tb.Helper()
	ctx := tb.Context()
	var total sink.CommitResult
	var c sink.Commit
	staged := 0
	commit := func() {
		c.Import = imp
		res, err := w.Commit(ctx, c)
		if err != nil {
			tb.Fatalf("Commit: %v", err)
		}
		total.Stored += res.Stored
		total.Duplicates += res.Duplicates
		c, staged = sink.Commit{}, 0
	}
	for _, f := range files {
		if err := w.Append(ctx, f.key, f.events); err != nil {
			tb.Fatalf("Append: %v", err)
		}
		prefix := path.Dir(f.key) + "/"
		c.Files = append(c.Files, sink.File{
			ImportID: imp.ID, Key: f.key, Prefix: prefix, ETag: `"0123456789abcdef"`, Size: 12345,
			Delivery: time.Now(), Status: sink.FileImported, Events: int64(len(f.events)), Attempts: 1, Updated: time.Now(),
		})
		c.Prefixes = append(c.Prefixes, sink.Prefix{ImportID: imp.ID, Key: prefix, Updated: time.Now()})
		if staged += len(f.events); staged >= perCommit {
			commit()
		}
	}
	if staged > 0 {
		commit()
	}
	if err := w.Sync(ctx); err != nil {
		tb.Fatalf("Sync: %v", err)
	}
	return total
}

// BenchmarkWriter loads copies of the corpus, about 100,000 events per
// iteration, in commits of about 10,000 events, into one store that grows
// with every iteration.
func BenchmarkWriter(b *testing.B) {
	corpus := loadCorpus(b)
	s, _ := openTemp(b)
	defer s.Close()
	ctx := b.Context()
	eds := sink.EventDataStore{ID: "2f0c1d5e-7a43-4b6e-9f1a-0c9d8e7f6a5b", Name: "bench", Created: time.Now()}
	if err := s.CreateEventDataStore(ctx, eds); err != nil {
		b.Fatal(err)
	}
	imp := &sink.Import{ID: "bench-import", StoreID: eds.ID, Status: "IN_PROGRESS"}
	w, err := s.NewWriter(ctx, eds.ID)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	var events int64
	var elapsed time.Duration
	for i := range b.N {
		b.StopTimer()
		files := copyCorpus(corpus, i, 29)
		b.StartTimer()
		start := time.Now()
		res := loadFiles(b, w, imp, files, 10000)
		elapsed += time.Since(start)
		events += res.Stored + res.Duplicates
	}
	b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
}
