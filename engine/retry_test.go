package engine_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/engine"
	"github.com/ctimport/ctimport/pipeline"
	"github.com/ctimport/ctimport/s3scan/s3scantest"
	"github.com/ctimport/ctimport/sink"
)

// putDays puts files log files on each of days days from first, n events
// each, and returns their keys in the order the engine reads them.
func putDays(e *env, first time.Time, days, files, n int) []string {
	var keys []string
	for d := range days {
		for f := range files {
			at := first.AddDate(0, 0, d).Add(time.Duration(f+1) * time.Hour)
			k := logKey("", account, region, at, fmt.Sprintf("K%02d%02dxxxxxxxxxxx", d, f), ".json.gz")
			e.put(k, evs(fmt.Sprintf("d%d-f%d", d, f), n, at.Add(-time.Minute))...)
			keys = append(keys, k)
		}
	}
	return keys
}

// TestStopAndRetry stops an import in the middle of a run, then retries
// it: the retry reads only what the stopped run did not commit, and the
// store ends with every event once.
func TestStopAndRetry(t *testing.T) {
	e := newEnv(t, engine.Options{Config: pipeline.Config{Concurrency: 1, Downloads: 1, PrefetchBytes: 1}})
	keys := putDays(e, time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC), 3, 3, 50)
	stopAt := 4 // the second file of the second day
	hook, reached := gate(keys[stopAt])
	e.spy.setWrap(hook)

	id := e.startNew()
	waitClosed(t, reached, "the read of "+keys[stopAt])
	if st := e.status(id); st != api.StatusInProgress {
		t.Errorf("status while running %s, want IN_PROGRESS", st)
	}
	imp, err := e.eng.StopImport(e.ctx, api.StopImportInput{ImportId: id})
	if err != nil {
		t.Fatalf("StopImport: %v", err)
	}
	if imp.ImportStatus != api.StatusStopped {
		t.Errorf("StopImport returned status %s, want STOPPED", imp.ImportStatus)
	}
	if _, ok := e.eng.Progress(id); ok {
		t.Errorf("Progress reports a stopped import as running")
	}
	// The files read before the stop are committed with their events.
	done := e.importedKeys(id)
	if len(done) != stopAt {
		t.Errorf("%d files committed before the stop, want %d", len(done), stopAt)
	}
	e.checkConsistent(id)
	if st := e.stats(id); st.FilesCompleted != int64(stopAt) || st.FailedEntries != 0 || st.PrefixesCompleted != 1 {
		t.Errorf("statistics after the stop %+v", st)
	}
	if e.mem.Unclosed() != 0 {
		t.Errorf("%d readers left open", e.mem.Unclosed())
	}
	// Stopping again changes nothing.
	if imp, err := e.eng.StopImport(e.ctx, api.StopImportInput{ImportId: id}); err != nil || imp.ImportStatus != api.StatusStopped {
		t.Errorf("second StopImport = %s, %v", imp.ImportStatus, err)
	}

	e.spy.reset()
	e.retry(id)
	imp, _ = e.wait(id)
	if imp.ImportStatus != api.StatusCompleted {
		t.Fatalf("retry ended %s (%q)", imp.ImportStatus, e.message(id))
	}
	e.checkStored(e.eds, e.wantIDs())
	e.checkKeys(e.eds)
	want := api.ImportStatistics{PrefixesFound: 3, PrefixesCompleted: 3, FilesCompleted: 9, EventsCompleted: 9 * 50}
	if *imp.ImportStatistics != want {
		t.Errorf("statistics %+v, want %+v", *imp.ImportStatistics, want)
	}
	opens, lists := e.spy.reset()
	for k := range done {
		if opens[k] > 0 {
			t.Errorf("the retry read %s again, committed before the stop", k)
		}
	}
	for _, k := range keys[stopAt:] {
		if opens[k] != 1 {
			t.Errorf("the retry opened %s %d times, want 1", k, opens[k])
		}
	}
	// The first day was completed: the retry does not list it again.
	for _, l := range lists {
		if strings.HasSuffix(l, "/2023/07/10/") {
			t.Errorf("the retry listed %s, a prefix completed before the stop", l)
		}
	}
	if f := e.failureList(id); len(f) != 0 {
		t.Errorf("failures %+v, want none", f)
	}
}

// TestStopDuringRead stops an import while a big file is half read, after
// some of its events were handed to the store: none of that file's events
// is stored, and the retry imports it whole.
func TestStopDuringRead(t *testing.T) {
	// One fetch at a time, streamed: the worker reads the slow file after
	// the first one.
	e := newEnv(t, engine.Options{Config: pipeline.Config{Concurrency: 1, Downloads: 1, PrefetchBytes: 1}})
	day := time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC)
	first, slow := key(day.Add(time.Hour)), key(day.Add(2*time.Hour))
	e.put(first, evs("first", 10, day)...)
	e.put(slow, evs("slow", 4000, day)...)
	rc, obj, err := e.mem.Open(e.ctx, slow)
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	size := obj.Size
	blocked := make(chan struct{})
	var once sync.Once
	e.spy.setWrap(func(ctx context.Context, k string, r io.ReadCloser) io.ReadCloser {
		if k != slow {
			return r
		}
		return &stallingReader{ReadCloser: r, ctx: ctx, n: size * 7 / 10, reached: blocked, once: &once}
	})
	id := e.startNew()
	waitClosed(t, blocked, "the half-read file")
	if imp, err := e.eng.StopImport(e.ctx, api.StopImportInput{ImportId: id}); err != nil || imp.ImportStatus != api.StatusStopped {
		t.Fatalf("StopImport = %s, %v", imp.ImportStatus, err)
	}
	e.checkConsistent(id)
	if done := e.importedKeys(id); !done[first] || done[slow] {
		t.Fatalf("committed %v; want only %s", done, first)
	}
	if f := e.failureList(id); len(f) != 0 {
		t.Errorf("a stop made failure entries %+v", f)
	}
	e.spy.setWrap(nil)
	e.retry(id)
	if imp, _ := e.wait(id); imp.ImportStatus != api.StatusCompleted {
		t.Fatalf("retry ended %s", imp.ImportStatus)
	}
	e.checkStored(e.eds, e.wantIDs())
}

// TestCommitFailure checks that a failed commit fails the import with a
// message, stores nothing of the files it held, and that a retry stores
// exactly the events of the source.
func TestCommitFailure(t *testing.T) {
	disk := errors.New("disk full")
	t.Run("first commit", func(t *testing.T) {
		e := newEnv(t, engine.Options{Config: pipeline.Config{BatchEvents: 1}})
		putDays(e, time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC), 2, 3, 20)
		e.store.FailCommits(1, disk)
		imp, _ := e.run()
		if imp.ImportStatus != api.StatusFailed {
			t.Errorf("status %s, want FAILED", imp.ImportStatus)
		}
		if msg := e.message(imp.ImportId); !strings.Contains(msg, "commit") || !strings.Contains(msg, "disk full") {
			t.Errorf("Message = %q, want it to explain the failed commit", msg)
		}
		e.checkConsistent(imp.ImportId)
		if imp.ImportStatistics.FilesCompleted == 6 {
			t.Errorf("every file is completed though a commit failed")
		}
		e.retry(imp.ImportId)
		imp, _ = e.wait(imp.ImportId)
		if imp.ImportStatus != api.StatusCompleted {
			t.Fatalf("retry ended %s (%q)", imp.ImportStatus, e.message(imp.ImportId))
		}
		if msg := e.message(imp.ImportId); msg != "" {
			t.Errorf("Message after a successful retry = %q, want none", msg)
		}
		e.checkStored(e.eds, e.wantIDs())
		if st := *imp.ImportStatistics; st.FilesCompleted != 6 || st.EventsCompleted != 120 || st.PrefixesCompleted != 2 {
			t.Errorf("statistics %+v", st)
		}
	})
	t.Run("mid run", func(t *testing.T) {
		e := newEnv(t, engine.Options{Config: pipeline.Config{BatchEvents: 1, Concurrency: 1, Downloads: 1, SyncInterval: 10 * time.Millisecond}})
		keys := putDays(e, time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC), 2, 4, 20)
		// Once the first 3 files are committed (one commit each), the
		// next commit fails.
		e.spy.setHook(func(ctx context.Context, k string) error {
			if k != keys[3] {
				return nil
			}
			for deadline := time.Now().Add(waitTimeout); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
				if files, _ := e.store.Files(ctx, sink.FileQuery{Statuses: []sink.FileStatus{sink.FileImported}}); len(files) == 3 {
					break
				}
			}
			e.store.FailCommits(1, disk)
			return nil
		})
		imp, _ := e.run()
		if imp.ImportStatus != api.StatusFailed || !strings.Contains(e.message(imp.ImportId), "disk full") {
			t.Errorf("status %s (%q), want FAILED by the commit", imp.ImportStatus, e.message(imp.ImportId))
		}
		e.checkConsistent(imp.ImportId)
		done := e.importedKeys(imp.ImportId)
		if want := keys[:3]; !maps.Equal(done, setOf(want...)) {
			t.Errorf("committed %v, want the files before the failed commit %v", slices.Sorted(maps.Keys(done)), want)
		}
		e.spy.setHook(nil)
		e.spy.reset()
		e.retry(imp.ImportId)
		imp, _ = e.wait(imp.ImportId)
		if imp.ImportStatus != api.StatusCompleted {
			t.Fatalf("retry ended %s (%q)", imp.ImportStatus, e.message(imp.ImportId))
		}
		e.checkStored(e.eds, e.wantIDs())
		opens, _ := e.spy.reset()
		for k := range done {
			if opens[k] > 0 {
				t.Errorf("the retry read %s, committed before", k)
			}
		}
		if len(opens) != len(keys)-len(done) {
			t.Errorf("the retry opened %d files, want %d", len(opens), len(keys)-len(done))
		}
	})
}

// TestRetryRules checks which imports can be retried and what a retry
// reads.
func TestRetryRules(t *testing.T) {
	e := newEnv(t, engine.Options{})
	day := time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC)
	keys := putDays(e, day, 2, 3, 10)
	broken, gone := keys[1], keys[4]
	e.putRaw(broken, []byte("this object holds no gzip data at all"))
	e.mem.Inject(gone, s3scantest.Fault{Open: transient})

	imp, _ := e.run()
	id := imp.ImportId
	if imp.ImportStatus != api.StatusFailed || imp.ImportStatistics.FailedEntries != 2 {
		t.Fatalf("import %s with statistics %+v, want FAILED with 2 failures", imp.ImportStatus, imp.ImportStatistics)
	}
	okKeys := slices.DeleteFunc(slices.Clone(keys), func(k string) bool { return k == broken || k == gone })
	e.checkStored(e.eds, e.wantIDs(okKeys...))

	// Retrying without fixing anything fails the same files again, and
	// reads only them.
	e.spy.reset()
	e.retry(id)
	imp, _ = e.wait(id)
	if imp.ImportStatus != api.StatusFailed || imp.ImportStatistics.FailedEntries != 2 || imp.ImportStatistics.FilesCompleted != 4 {
		t.Errorf("retry ended %s with %+v", imp.ImportStatus, imp.ImportStatistics)
	}
	opens, _ := e.spy.reset()
	if len(opens) != 2 || opens[broken] != 1 || opens[gone] != engine.DefaultAttempts {
		t.Errorf("the retry opened %v; want %s once and %s %d times", opens, broken, gone, engine.DefaultAttempts)
	}

	// Fix both objects: the retry completes and the failures read SUCCEEDED.
	e.put(broken, evs("fixed", 7, day)...)
	e.mem.Inject(gone, s3scantest.Fault{})
	e.retry(id)
	imp, _ = e.wait(id)
	if imp.ImportStatus != api.StatusCompleted {
		t.Fatalf("retry after the fix ended %s (%q)", imp.ImportStatus, e.message(id))
	}
	want := api.ImportStatistics{PrefixesFound: 2, PrefixesCompleted: 2, FilesCompleted: 6, EventsCompleted: 5*10 + 7}
	if *imp.ImportStatistics != want {
		t.Errorf("statistics %+v, want %+v", *imp.ImportStatistics, want)
	}
	f := e.failures(id)
	if len(f) != 2 {
		t.Errorf("failure entries %+v, want the 2 fixed files", f)
	}
	for k, typ := range map[string]string{broken: pipeline.ErrorInvalidGzip, gone: pipeline.ErrorSourceRead} {
		if f[k].Status != api.FailureSucceeded || f[k].ErrorType != typ {
			t.Errorf("failure of %s: %+v, want SUCCEEDED with its ErrorType %s", k, f[k], typ)
		}
	}
	opens, _ = e.spy.reset()
	if len(opens) != 2 || opens[broken] != 1 || opens[gone] != 1 {
		t.Errorf("the retry opened %v; want only the 2 failed files, once", opens)
	}
	e.checkStored(e.eds, e.wantIDs())
	e.checkKeys(e.eds)

	// A COMPLETED import cannot be retried.
	_, err := e.eng.StartImport(e.ctx, api.StartImportInput{ImportId: id})
	if !isExc(err, api.ErrInvalidParameter) {
		t.Errorf("retry of a COMPLETED import = %v, want InvalidParameterException", err)
	}
	if st := e.status(id); st != api.StatusCompleted {
		t.Errorf("status after a refused retry %s", st)
	}
	if opens, lists := e.spy.reset(); len(opens)+len(lists) > 0 {
		t.Errorf("a refused retry read the source")
	}
	// StopImport leaves an ended import as it is.
	if imp, err := e.eng.StopImport(e.ctx, api.StopImportInput{ImportId: id}); err != nil || imp.ImportStatus != api.StatusCompleted {
		t.Errorf("StopImport of a COMPLETED import = %s, %v", imp.ImportStatus, err)
	}
}

// TestRetryNewFiles checks that a retry also reads files delivered into a
// prefix the stopped run had not finished.
func TestRetryNewFiles(t *testing.T) {
	e := newEnv(t, engine.Options{Config: pipeline.Config{Concurrency: 1, Downloads: 1, PrefetchBytes: 1}})
	day := time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC)
	keys := putDays(e, day, 1, 3, 5)
	hook, reached := gate(keys[1])
	e.spy.setWrap(hook)
	id := e.startNew()
	waitClosed(t, reached, "the gated read")
	if imp, err := e.eng.StopImport(e.ctx, api.StopImportInput{ImportId: id}); err != nil || imp.ImportStatus != api.StatusStopped {
		t.Fatalf("StopImport = %v, %v", imp.ImportStatus, err)
	}
	late := key(day.Add(20 * time.Hour))
	e.put(late, evs("late", 5, day)...)
	e.retry(id)
	if imp, _ := e.wait(id); imp.ImportStatus != api.StatusCompleted || imp.ImportStatistics.FilesCompleted != 4 {
		t.Fatalf("retry ended %s with %+v", imp.ImportStatus, imp.ImportStatistics)
	}
	e.checkStored(e.eds, e.wantIDs())
}

// TestRecoverResume checks that Recover with Options.Resume retries the
// imports a process left running, and reports those it cannot retry,
// which stay STOPPED.
func TestRecoverResume(t *testing.T) {
	e := newEnv(t, engine.Options{Resume: true})
	putDays(e, time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC), 1, 2, 10)
	now := time.Now().UTC()
	left := sink.Import{ID: "00000000-0000-4000-8000-000000000001", StoreID: storeID(e.eds), SourceURI: srcURI, Status: string(api.StatusInProgress), Created: now, Updated: now}
	gone := sink.Import{ID: "00000000-0000-4000-8000-000000000002", StoreID: storeID(e.eds), SourceURI: "s3://gone-bucket/", Status: string(api.StatusInitializing), Created: now, Updated: now}
	for _, imp := range []sink.Import{left, gone} {
		if err := e.store.PutImport(e.ctx, imp); err != nil {
			t.Fatal(err)
		}
	}
	found, err := e.eng.Recover(e.ctx)
	if err != nil {
		t.Fatalf("Recover: %v", err)
	}
	byID := map[string]engine.Recovered{}
	for _, r := range found {
		byID[r.ImportID] = r
	}
	if r := byID[left.ID]; len(found) != 2 || !r.Resumed || r.Err != nil {
		t.Errorf("Recover found %+v; want %s resumed", found, left.ID)
	}
	if r := byID[gone.ID]; r.Resumed || !isExc(r.Err, api.ErrInvalidImportSource) {
		t.Errorf("Recover found %+v; want %s not resumed, with an InvalidImportSourceException", found, gone.ID)
	}
	if imp, _ := e.wait(left.ID); imp.ImportStatus != api.StatusCompleted {
		t.Errorf("the resumed import ended %s (%q)", imp.ImportStatus, e.message(left.ID))
	}
	if st := e.status(gone.ID); st != api.StatusStopped {
		t.Errorf("the import not resumed is %s, want STOPPED", st)
	}
	e.checkStored(e.eds, e.wantIDs())
}

// TestRecover checks that Recover marks imports a crashed process left
// INITIALIZING or IN_PROGRESS as STOPPED, leaves running and ended imports
// alone, and that a recovered import can be retried.
func TestRecover(t *testing.T) {
	e := newEnv(t, engine.Options{Config: pipeline.Config{Concurrency: 1, Downloads: 1, PrefetchBytes: 1}})
	keys := putDays(e, time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC), 2, 2, 10)
	hook, reached := gate(keys[2])
	e.spy.setWrap(hook)
	id := e.startNew()
	waitClosed(t, reached, "the gated read")

	now := time.Now().UTC()
	ghost := sink.Import{ID: "00000000-0000-4000-8000-000000000001", StoreID: storeID(e.eds), SourceURI: srcURI, Status: string(api.StatusInitializing), Created: now, Updated: now}
	ended := sink.Import{ID: "00000000-0000-4000-8000-000000000002", StoreID: storeID(e.eds), SourceURI: srcURI, Status: string(api.StatusCompleted), Created: now, Updated: now}
	for _, imp := range []sink.Import{ghost, ended} {
		if err := e.store.PutImport(e.ctx, imp); err != nil {
			t.Fatal(err)
		}
	}
	stopped, err := e.eng.Recover(e.ctx)
	if err != nil {
		t.Fatalf("Recover: %v", err)
	}
	if want := []engine.Recovered{{ImportID: ghost.ID}}; !slices.Equal(stopped, want) {
		t.Errorf("Recover found %+v, want %+v", stopped, want)
	}
	if st := e.status(id); st != api.StatusInProgress {
		t.Errorf("Recover changed a running import to %s", st)
	}
	if st := e.status(ghost.ID); st != api.StatusStopped {
		t.Errorf("Recover left an INITIALIZING import %s, want STOPPED", st)
	}
	if e.message(ghost.ID) == "" {
		t.Errorf("a recovered import has no message")
	}
	if st := e.status(ended.ID); st != api.StatusCompleted {
		t.Errorf("Recover changed a COMPLETED import to %s", st)
	}

	// Simulate a crash: the running import's row stays IN_PROGRESS while
	// no process runs it.
	crashed, err := e.store.Import(e.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	e.eng.Close()
	if err := e.store.PutImport(e.ctx, crashed); err != nil {
		t.Fatal(err)
	}
	e.reopen()
	stopped, err = e.eng.Recover(e.ctx)
	if err != nil {
		t.Fatalf("Recover: %v", err)
	}
	if want := []engine.Recovered{{ImportID: id}}; !slices.Equal(stopped, want) {
		t.Errorf("Recover found %+v, want %+v", stopped, want)
	}
	if st := e.status(id); st != api.StatusStopped {
		t.Fatalf("Recover left an IN_PROGRESS import %s, want STOPPED", st)
	}
	list, err := e.eng.ListImports(e.ctx, api.ListImportsInput{ImportStatus: api.StatusStopped})
	if err != nil || len(list.Imports) != 2 {
		t.Errorf("STOPPED imports %+v, %v; want 2", list.Imports, err)
	}
	e.spy.setHook(nil)
	e.retry(id)
	imp, _ := e.wait(id)
	if imp.ImportStatus != api.StatusCompleted {
		t.Fatalf("retry of a recovered import ended %s (%q)", imp.ImportStatus, e.message(id))
	}
	if msg := e.message(id); msg != "" {
		t.Errorf("Message after the retry = %q", msg)
	}
	e.checkStored(e.eds, e.wantIDs())
}

// TestStopImportNotRunning checks StopImport of an import no process runs.
func TestStopImportNotRunning(t *testing.T) {
	e := newEnv(t, engine.Options{})
	now := time.Now().UTC()
	orphan := sink.Import{ID: "00000000-0000-4000-8000-000000000003", StoreID: storeID(e.eds), SourceURI: srcURI, Status: string(api.StatusInProgress), Created: now, Updated: now}
	if err := e.store.PutImport(e.ctx, orphan); err != nil {
		t.Fatal(err)
	}
	imp, err := e.eng.StopImport(e.ctx, api.StopImportInput{ImportId: orphan.ID})
	if err != nil || imp.ImportStatus != api.StatusStopped {
		t.Fatalf("StopImport = %+v, %v; want STOPPED", imp, err)
	}
	if st := e.status(orphan.ID); st != api.StatusStopped {
		t.Errorf("stored status %s, want STOPPED", st)
	}
}

// TestIncremental checks that an incremental import starts where the last
// one of the same source ended, less the allowance: it lists only newer
// day prefixes, reads only new files, and stores no duplicates.
func TestIncremental(t *testing.T) {
	e := newEnv(t, engine.Options{})
	first := time.Date(2024, 2, 26, 0, 0, 0, 0, time.UTC)
	at := func(d, h, m int) time.Time { return time.Date(2024, 3, d, h, m, 0, 0, time.UTC) }
	putDays(e, first, 5, 2, 3) // 2024-02-26 .. 2024-03-01
	newest := key(at(2, 20, 0))
	e.put(newest, ev{"n1", at(2, 19, 40)}, ev{"n2", at(2, 19, 50)})
	e.put(key(at(2, 9, 0)), ev{"m1", at(2, 8, 55)})

	in := newImport(e.eds.Name, srcURI)
	lists0 := e.mem.Lists()
	id1 := e.start(in, engine.StartOptions{Incremental: true})
	imp1, _ := e.wait(id1)
	if imp1.ImportStatus != api.StatusCompleted || imp1.StartEventTime != nil {
		t.Fatalf("first incremental import: %s from %v, want COMPLETED from the start", imp1.ImportStatus, imp1.StartEventTime)
	}
	e.checkStored(e.eds, e.wantIDs())
	_, lists1 := e.spy.reset()
	memLists1 := e.mem.Lists() - lists0

	// New deliveries: late in the newest day, in a new day; and ones the
	// next import does not reach, being older than its start.
	lateInDay := key(at(2, 19, 30))
	e.put(lateInDay, ev{"late1", at(2, 19, 25)}, ev{"n2", at(2, 19, 50)}) // n2 again
	nextDay := key(at(3, 1, 0))
	e.put(nextDay, ev{"next1", at(3, 0, 55)}, ev{"next2", at(3, 0, 56)})
	tooOld := key(at(2, 18, 0))
	e.put(tooOld, ev{"old1", at(2, 17, 55)})
	oldDay := key(at(1, 23, 0))
	e.put(oldDay, ev{"old2", at(1, 22, 55)})

	lists0 = e.mem.Lists()
	id2 := e.start(in, engine.StartOptions{Incremental: true})
	imp2, p2 := e.wait(id2)
	memLists2 := e.mem.Lists() - lists0
	if imp2.ImportStatus != api.StatusCompleted {
		t.Fatalf("second incremental import: %s (%q)", imp2.ImportStatus, e.message(id2))
	}
	wantStart := at(2, 19, 0) // the newest delivery, 20:00, less the hour of allowance
	if imp2.StartEventTime == nil || !imp2.StartEventTime.Equal(wantStart) {
		t.Errorf("second import starts at %v, want %v", imp2.StartEventTime, wantStart)
	}
	opens, lists2 := e.spy.reset()
	if len(opens) != 2 || opens[lateInDay] != 1 || opens[nextDay] != 1 {
		t.Errorf("second import opened %v; want only %s and %s", opens, lateInDay, nextDay)
	}
	for _, l := range lists2 {
		if strings.Contains(l, "/2024/02/") || strings.HasSuffix(l, "/2024/03/01/") {
			t.Errorf("second import listed %s, older than its start", l)
		}
	}
	if memLists2 >= memLists1 || int64(len(lists2)) != memLists2 || int64(len(lists1)) != memLists1 {
		t.Errorf("second import made %d list requests, the first %d; want fewer", memLists2, memLists1)
	}
	stored := append(e.wantIDs(), "late1", "next1", "next2")
	stored = slices.DeleteFunc(stored, func(id string) bool { return id == "old1" || id == "old2" })
	e.checkStored(e.eds, stored)
	if known(t, p2) && (p2.Stored != 3 || p2.Duplicates != 1) {
		t.Errorf("second import stored %d, %d duplicates; want 3, 1", p2.Stored, p2.Duplicates)
	}
	if st := *imp2.ImportStatistics; st.FilesCompleted != 2 || st.EventsCompleted != 4 {
		t.Errorf("second import statistics %+v", st)
	}

	// A third incremental import finds nothing new.
	imp3, p3 := e.wait(e.start(in, engine.StartOptions{Incremental: true}))
	if imp3.ImportStatus != api.StatusCompleted || !imp3.StartEventTime.Equal(at(3, 0, 0)) {
		t.Errorf("third import %s from %v, want COMPLETED from %v", imp3.ImportStatus, imp3.StartEventTime, at(3, 0, 0))
	}
	if opens, _ := e.spy.reset(); len(opens) != 0 || known(t, p3) && p3.Stored != 0 {
		t.Errorf("third import opened %v and stored %d, want nothing", opens, p3.Stored)
	}

	// An incremental import of the same source into another store starts
	// from the beginning.
	other := e.createStore("other")
	imp4, _ := e.wait(e.start(newImport(other.Name, srcURI), engine.StartOptions{Incremental: true}))
	if imp4.ImportStatus != api.StatusCompleted || imp4.StartEventTime != nil {
		t.Errorf("incremental import into another store: %s from %v", imp4.ImportStatus, imp4.StartEventTime)
	}
	e.checkStored(other, e.wantIDs())

	// An end before where the next incremental import would start is refused.
	in.EndEventTime = ptr(at(1, 0, 0))
	if _, err := e.eng.StartImportWith(e.ctx, in, engine.StartOptions{Incremental: true}); !isExc(err, api.ErrInvalidParameter) {
		t.Errorf("incremental import ending before its start = %v, want InvalidParameterException", err)
	}
}

// TestIncrementalIgnoresUnfinished checks that an incremental import does
// not start after an import that was stopped before it finished.
func TestIncrementalIgnoresUnfinished(t *testing.T) {
	e := newEnv(t, engine.Options{Config: pipeline.Config{Concurrency: 1, Downloads: 1, PrefetchBytes: 1}})
	keys := putDays(e, time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC), 3, 2, 3)
	hook, reached := gate(keys[len(keys)-1])
	e.spy.setWrap(hook)
	id := e.start(newImport(e.eds.Name, srcURI), engine.StartOptions{Incremental: true})
	waitClosed(t, reached, "the gated read")
	if imp, err := e.eng.StopImport(e.ctx, api.StopImportInput{ImportId: id}); err != nil || imp.ImportStatus != api.StatusStopped {
		t.Fatalf("StopImport = %v, %v", imp.ImportStatus, err)
	}
	committed := e.importedKeys(id)
	if len(committed) != len(keys)-1 {
		t.Fatalf("the stopped import committed %d files, want %d", len(committed), len(keys)-1)
	}
	e.spy.reset()
	imp, _ := e.wait(e.start(newImport(e.eds.Name, srcURI), engine.StartOptions{Incremental: true}))
	if imp.ImportStatus != api.StatusCompleted || imp.StartEventTime != nil {
		t.Errorf("incremental import after a stopped one: %s from %v, want COMPLETED from the start", imp.ImportStatus, imp.StartEventTime)
	}
	e.checkStored(e.eds, e.wantIDs())
	// It skips the files the stopped import committed into the store.
	opens, _ := e.spy.reset()
	for _, k := range keys {
		if want := map[bool]int{true: 0, false: 1}[committed[k]]; opens[k] != want {
			t.Errorf("opened %s %d times, want %d", k, opens[k], want)
		}
	}
}
