package engine_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/engine"
	"github.com/ctimport/ctimport/pipeline"
	"github.com/ctimport/ctimport/s3scan/s3scantest"
)

// TestProgress checks the counters Wait returns at the end of a run.
func TestProgress(t *testing.T) {
	e := newEnv(t, engine.Options{})
	day := time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC)
	good := []string{key(day.Add(5 * time.Minute)), key(day.Add(time.Hour)), key(day.Add(2 * time.Hour))}
	e.put(good[0], ev{"early", day.Add(-time.Minute)}, ev{"g0", day.Add(time.Minute)})
	e.put(good[1], evs("g1", 10, day.Add(50*time.Minute))...)
	e.put(good[2], evs("g2", 20, day.Add(110*time.Minute))...)
	flaky := key(day.Add(3 * time.Hour))
	e.put(flaky, evs("flaky", 5, day.Add(170*time.Minute))...)
	bad := key(day.Add(4 * time.Hour))
	e.putRaw(bad, []byte("this is not gzip data, so the file fails"))
	dayPrefix := "AWSLogs/" + account + "/CloudTrail/" + region + "/2023/07/10/"
	e.mem.Put(dayPrefix+"notes.txt", []byte("stray"))
	e.mem.Put(dayPrefix+"sub/notes.txt", []byte("stray"))
	// A file of the day before, outside the window: not found, not read.
	e.put(key(day.Add(-time.Hour)), evs("before", 3, day.Add(-2*time.Hour))...)

	sizes := map[string]int64{}
	for _, k := range append(good, flaky, bad) {
		sizes[k] = e.size(k)
	}
	e.mem.Inject(flaky, s3scantest.Fault{Open: transient, Times: 1})

	// The bad file is read last; its read waits until Wait has found the
	// run, so that the run cannot end before Wait is called.
	release := make(chan struct{})
	e.spy.setHook(func(ctx context.Context, k string) error {
		if k == bad {
			<-release
		}
		return nil
	})
	in := newImport(e.eds.Name, srcURI)
	in.StartEventTime, in.EndEventTime = ptr(day), ptr(day.Add(24*time.Hour-time.Second))
	before := time.Now()
	imp, p := e.waitHeld(e.start(in, engine.StartOptions{}), release)
	if imp.ImportStatus != api.StatusFailed {
		t.Errorf("status %s, want FAILED", imp.ImportStatus)
	}
	done := []string{good[0], good[1], good[2], flaky}
	var doneBytes int64
	for _, k := range done {
		doneBytes += sizes[k]
	}
	want := engine.Progress{
		Started:           p.Started,
		Listing:           false,
		Days:              2, // the day, and the next one for late deliveries
		DaysListed:        2,
		PrefixesFound:     1,
		PrefixesCompleted: 1,
		FilesFound:        5,
		BytesFound:        doneBytes + sizes[bad],
		FilesDone:         4,
		BytesDone:         doneBytes,
		Events:            1 + 10 + 20 + 5,
		Stored:            1 + 10 + 20 + 5,
		Duplicates:        0,
		FilesFailed:       1,
		BytesFailed:       sizes[bad],
		BytesRead:         p.BytesRead,
		Retries:           1,
		EventsOutOfRange:  1,
		SkippedObjects:    1,
		SkippedPrefixes:   1,
	}
	if p != want {
		t.Errorf("progress\n got %+v\nwant %+v", p, want)
	}
	if p.Started.Before(before.Add(-time.Second)) || p.Started.After(time.Now()) {
		t.Errorf("Started %v, not during the run", p.Started)
	}
	if p.BytesRead < p.BytesDone || p.BytesRead > p.BytesFound+sizes[flaky] {
		t.Errorf("BytesRead %d, want between %d and %d", p.BytesRead, p.BytesDone, p.BytesFound+sizes[flaky])
	}
	if b := imp.CtimportBytes; b == nil || b.BytesCompleted != doneBytes || b.BytesRemaining != nil {
		t.Errorf("the ended import's bytes %+v, want %d completed and none remaining", b, doneBytes)
	}
	if _, ok := e.eng.Progress(imp.ImportId); ok {
		t.Errorf("Progress reports an ended import as running")
	}
	// Wait again after the end returns the same last progress.
	again, p2 := e.wait(imp.ImportId)
	if again.ImportStatus != imp.ImportStatus || p2 != p {
		t.Errorf("Wait after the end = %s, %+v; want %s, %+v", again.ImportStatus, p2, imp.ImportStatus, p)
	}
	// Wait for an import this Engine did not run returns no progress.
	e.reopen()
	if again, p3 := e.wait(imp.ImportId); again.ImportStatus != imp.ImportStatus || p3 != (engine.Progress{}) {
		t.Errorf("Wait in another Engine = %s, %+v; want no progress", again.ImportStatus, p3)
	}
}

// TestProgressDuringRun checks the live counters of a running import.
func TestProgressDuringRun(t *testing.T) {
	e := newEnv(t, engine.Options{Config: pipeline.Config{Concurrency: 1, Downloads: 1, PrefetchBytes: 1, BatchEvents: 1, SyncInterval: 10 * time.Millisecond}})
	day := time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC)
	keys := []string{key(day.Add(time.Hour)), key(day.Add(2 * time.Hour)), key(day.Add(3 * time.Hour))}
	for i, k := range keys {
		e.put(k, evs(k, 10*(i+1), day)...)
	}
	hook, reached := gate(keys[1])
	e.spy.setWrap(hook)
	id := e.startNew()
	waitClosed(t, reached, "the gated read")

	var p engine.Progress
	eventually(t, "the first file's commit", func() bool {
		var ok bool
		p, ok = e.eng.Progress(id)
		return ok && p.FilesDone == 1
	})
	// The listing runs ahead of the workers: it is over by now.
	if p.Listing || p.Days != 1 || p.DaysListed != 1 || p.FilesFound != 3 || p.Events != 10 || p.Stored != 10 || p.PrefixesFound != 1 || p.PrefixesCompleted != 0 || p.Started.IsZero() {
		t.Errorf("progress while the second file is read: %+v", p)
	}
	// The statistics follow once the commit is synced.
	var st api.ImportStatistics
	eventually(t, "the first file's sync", func() bool {
		st = e.stats(id)
		return st.FilesCompleted == 1
	})
	if st.EventsCompleted != 10 || st.PrefixesFound != 1 {
		t.Errorf("statistics while running %+v", st)
	}
	// GetImport adds the bytes imported and, the listing being over, those left.
	imp, err := e.eng.GetImport(e.ctx, api.GetImportInput{ImportId: id})
	if err != nil {
		t.Fatal(err)
	}
	left := e.size(keys[1]) + e.size(keys[2])
	if b := imp.CtimportBytes; b == nil || b.BytesCompleted != e.size(keys[0]) || b.BytesRemaining == nil || *b.BytesRemaining != left {
		t.Errorf("bytes while running %+v, want %d completed and %d remaining", b, e.size(keys[0]), left)
	}
	if imp, err := e.eng.StopImport(e.ctx, api.StopImportInput{ImportId: id}); err != nil || imp.ImportStatus != api.StatusStopped {
		t.Fatalf("StopImport = %v, %v", imp.ImportStatus, err)
	}

	// A retry's progress counts that run only; the statistics count all runs.
	e.retry(id)
	imp, p = e.wait(id)
	if imp.ImportStatus != api.StatusCompleted {
		t.Fatalf("retry ended %s", imp.ImportStatus)
	}
	if known(t, p) && (p.FilesFound != 2 || p.FilesDone != 2 || p.Events != 50 || p.Stored != 50) {
		t.Errorf("retry progress %+v; want the 2 files left", p)
	}
	if st := *imp.ImportStatistics; st.FilesCompleted != 3 || st.EventsCompleted != 60 {
		t.Errorf("statistics %+v, want all 3 files", st)
	}
	if b := imp.CtimportBytes; b == nil || b.BytesCompleted != e.size(keys[0])+left || b.BytesRemaining != nil {
		t.Errorf("bytes of the retried import %+v, want all %d completed", b, e.size(keys[0])+left)
	}
}

// TestWaitAfterRunEnded checks that Wait returns the last progress of a
// run that ended before Wait was called, as happens when an import is
// quick: ctimport prints its summary from that progress.
func TestWaitAfterRunEnded(t *testing.T) {
	e := newEnv(t, engine.Options{})
	day := time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC)
	e.put(key(day.Add(time.Hour)), evs("w", 4, day)...)
	id := e.startNew()
	eventually(t, "the end of the run", func() bool {
		_, running := e.eng.Progress(id)
		return !running
	})
	imp, p := e.wait(id)
	if imp.ImportStatus != api.StatusCompleted {
		t.Fatalf("status %s", imp.ImportStatus)
	}
	if p.Started.IsZero() || p.FilesDone != 1 || p.Events != 4 || p.Stored != 4 {
		t.Errorf("Wait after the run ended returned progress %+v; want the run's last progress (1 file, 4 events)", p)
	}
}

// TestTotals checks that Totals adds up the runs of an Engine, running and
// ended, and that its counters never go down.
func TestTotals(t *testing.T) {
	e := newEnv(t, engine.Options{Config: pipeline.Config{Concurrency: 1, Downloads: 1, PrefetchBytes: 1, BatchEvents: 1}, MaxOngoingImports: 2})
	if got := e.eng.Totals(); got != (engine.Totals{}) {
		t.Errorf("Totals of a new Engine %+v", got)
	}
	day := time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC)
	keys := []string{key(day.Add(time.Hour)), key(day.Add(2 * time.Hour)), key(day.Add(3 * time.Hour))}
	var size int64
	for i, k := range keys {
		e.put(k, evs(k, 10*(i+1), day)...)
		size += e.size(k)
	}
	// Read last, and only by the runs after the first.
	e.putRaw(key(day.Add(4*time.Hour)), []byte("not a gzip stream"))

	stop := make(chan struct{})
	watched := make(chan error, 1)
	go func() {
		var last engine.Totals
		for {
			now := e.eng.Totals()
			if now.Files < last.Files || now.Events < last.Events || now.Bytes < last.Bytes || now.FilesFailed < last.FilesFailed {
				watched <- fmt.Errorf("Totals went down from %+v to %+v", last, now)
				return
			}
			last = now
			select {
			case <-stop:
				watched <- nil
				return
			case <-time.After(10 * time.Microsecond):
			}
		}
	}()

	hook, reached := gate(keys[1])
	e.spy.setWrap(hook)
	id := e.startNew()
	waitClosed(t, reached, "the gated read")
	eventually(t, "the first file's commit", func() bool { return e.eng.Totals().Files == 1 })
	if got := e.eng.Totals(); got.ImportsRunning != 1 || got.Events != 10 || got.FilesFailed != 0 {
		t.Errorf("Totals while the second file is read: %+v", got)
	}
	if imp, err := e.eng.StopImport(e.ctx, api.StopImportInput{ImportId: id}); err != nil || imp.ImportStatus != api.StatusStopped {
		t.Fatalf("StopImport = %v, %v", imp.ImportStatus, err)
	}
	_, p1 := e.wait(id)

	other := e.createStore("other")
	e.retry(id)
	oid := e.start(newImport(other.Name, srcURI), engine.StartOptions{})
	_, p2 := e.wait(id)
	_, p3 := e.wait(oid)
	close(stop)
	if err := <-watched; err != nil {
		t.Error(err)
	}
	want := engine.Totals{Files: 6, Events: 120, Bytes: 2 * size, FilesFailed: 2}
	if got := e.eng.Totals(); got != want {
		t.Errorf("Totals after the runs %+v, want %+v", got, want)
	}
	var sum engine.Totals
	for _, p := range []engine.Progress{p1, p2, p3} {
		sum.Files += p.FilesDone
		sum.Events += p.Events
		sum.Bytes += p.BytesDone
		sum.FilesFailed += p.FilesFailed
	}
	if sum != want {
		t.Errorf("the runs' progress adds up to %+v, want %+v", sum, want)
	}
}
