package engine_test

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/engine"
	"github.com/ctimport/ctimport/pipeline"
)

// TestCloseAndResume stops an import in the middle of a run with Close, with and
// without Options.Resume: the files read before are committed either way;
// with Resume the import stays IN_PROGRESS, and the Recover of the next
// Engine over the store resumes it, without it the import is STOPPED and a
// retry resumes it. The run then reads the rest to its end, storing every
// event once.
func TestCloseAndResume(t *testing.T) {
	tests := []struct {
		name   string
		resume bool
		// status and message are what the store holds after Close.
		status  api.ImportStatus
		message string
	}{
		{"Resume", true, api.StatusInProgress, "shutdown"},
		{"Stop", false, api.StatusStopped, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, engine.Options{Config: pipeline.Config{Concurrency: 1, Downloads: 1, PrefetchBytes: 1}, Resume: tt.resume})
			day := time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC)
			keys := putDays(e, day, 2, 3, 20)

			// An import that ended before the stop stays as it is.
			other := e.createStore("other")
			ended, _ := e.wait(e.start(newImport(other.Name, srcURI), engine.StartOptions{}))
			if ended.ImportStatus != api.StatusCompleted {
				t.Fatalf("the first import ended %s", ended.ImportStatus)
			}

			stopAt := 4 // the second file of the second day
			hook, reached := gate(keys[stopAt])
			e.spy.setWrap(hook)
			id := e.startNew()
			waitClosed(t, reached, "the read of "+keys[stopAt])
			if err := e.eng.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}

			imp, err := e.store.Import(e.ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if api.ImportStatus(imp.Status) != tt.status {
				t.Errorf("stored status %s after %s, want %s", imp.Status, tt.name, tt.status)
			}
			if tt.message == "" && imp.Message != "" || !strings.Contains(imp.Message, tt.message) {
				t.Errorf("stored message %q after %s, want one about %q", imp.Message, tt.name, tt.message)
			}
			if st := e.status(id); st != tt.status {
				t.Errorf("GetImport after %s: %s, want %s", tt.name, st, tt.status)
			}
			if _, ok := e.eng.Progress(id); ok {
				t.Errorf("Progress reports the import running after %s", tt.name)
			}
			done := e.importedKeys(id)
			if !maps.Equal(done, setOf(keys[:stopAt]...)) {
				t.Errorf("committed %v after %s, want the files read before it %v", slices.Sorted(maps.Keys(done)), tt.name, keys[:stopAt])
			}
			e.checkConsistent(id)
			if st := e.stats(id); st.FilesCompleted != int64(stopAt) || st.EventsCompleted != int64(stopAt*20) || st.FailedEntries != 0 {
				t.Errorf("statistics after %s: %+v", tt.name, st)
			}
			if f := e.failureList(id); len(f) != 0 {
				t.Errorf("%s made failure entries %+v", tt.name, f)
			}
			if e.mem.Unclosed() != 0 {
				t.Errorf("%d readers left open", e.mem.Unclosed())
			}
			if st := e.status(ended.ImportId); st != api.StatusCompleted {
				t.Errorf("%s changed an ended import to %s", tt.name, st)
			}
			if _, err := e.eng.StartImport(e.ctx, api.StartImportInput{ImportId: id}); err == nil {
				t.Errorf("StartImport on an Engine after %s succeeded", tt.name)
			}

			// The next process.
			e.reopen()
			e.spy.setWrap(nil)
			e.spy.reset()
			recovered, err := e.eng.Recover(e.ctx)
			if err != nil {
				t.Fatalf("Recover: %v", err)
			}
			want := []engine.Recovered{{ImportID: id, Resumed: true}}
			if !tt.resume {
				want = nil
				if st := e.status(id); st != api.StatusStopped {
					t.Errorf("status after Recover %s, want STOPPED", st)
				}
				e.retry(id)
			}
			if !slices.Equal(recovered, want) {
				t.Errorf("Recover returned %+v, want %+v", recovered, want)
			}
			if again, err := e.eng.Recover(e.ctx); err != nil || len(again) != 0 {
				t.Errorf("a second Recover = %v, %v; want nothing", again, err)
			}

			imp2, _ := e.wait(id)
			if imp2.ImportStatus != api.StatusCompleted {
				t.Fatalf("the resumed run ended %s (%q)", imp2.ImportStatus, e.message(id))
			}
			if msg := e.message(id); msg != "" {
				t.Errorf("Message after the resumed run %q, want none", msg)
			}
			stats := api.ImportStatistics{PrefixesFound: 2, PrefixesCompleted: 2, FilesCompleted: 6, EventsCompleted: 6 * 20}
			if *imp2.ImportStatistics != stats {
				t.Errorf("statistics %+v, want %+v", *imp2.ImportStatistics, stats)
			}
			e.checkStored(e.eds, e.wantIDs())
			e.checkKeys(e.eds)
			opens, _ := e.spy.reset()
			for _, k := range keys {
				if want := map[bool]int{true: 0, false: 1}[done[k]]; opens[k] != want {
					t.Errorf("the resumed run opened %s %d times, want %d", k, opens[k], want)
				}
			}
		})
	}
}

// TestCloseIdle checks Close of an Engine with Options.Resume and no
// import running.
func TestCloseIdle(t *testing.T) {
	e := newEnv(t, engine.Options{Resume: true})
	putDays(e, time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC), 1, 2, 5)
	imp, _ := e.run()
	if imp.ImportStatus != api.StatusCompleted {
		t.Fatalf("import ended %s", imp.ImportStatus)
	}
	if err := e.eng.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := e.eng.Close(); err != nil {
		t.Fatalf("a second Close: %v", err)
	}
	if _, err := e.eng.StartImport(e.ctx, newImport(e.eds.Name, srcURI)); err == nil {
		t.Errorf("StartImport after Close succeeded")
	}
	if _, err := e.eng.StartQuery(e.ctx, api.StartQueryInput{QueryStatement: "SELECT 1"}); err == nil {
		t.Errorf("StartQuery after Close succeeded")
	}
	e.reopen()
	if found, err := e.eng.Recover(e.ctx); err != nil || len(found) != 0 {
		t.Errorf("Recover = %v, %v; want nothing", found, err)
	}
	if st := e.status(imp.ImportId); st != api.StatusCompleted {
		t.Errorf("status %s, want COMPLETED", st)
	}
	e.checkStored(e.eds, e.wantIDs())
}
