package engine_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/engine"
	"github.com/ctimport/ctimport/pipeline"
	"github.com/ctimport/ctimport/sink"
	"github.com/ctimport/ctimport/sink/memsink"
)

// putAccounts puts a log file a day for two days for each of accounts
// accounts in two regions, and returns their keys.
func putAccounts(e *env, accounts int) []string {
	var keys []string
	for a := range accounts {
		acct := fmt.Sprintf("1111111111%02d", a)
		for _, reg := range []string{"us-east-1", "eu-west-1"} {
			for d := range 2 {
				at := time.Date(2023, 7, 10+d, 3, 0, 0, 0, time.UTC)
				k := logKey("", acct, reg, at, fmt.Sprintf("S%02d%s%dxxxxxxxx", a, reg[:2], d), ".json.gz")
				e.put(k, evs(fmt.Sprintf("%s-%s-%d", acct, reg, d), 3, at.Add(-time.Minute))...)
				keys = append(keys, k)
			}
		}
	}
	return keys
}

// shardRun runs shard of an import of the bucket in an Engine of its own,
// as a process of its own would, and returns the import as that Engine
// sees it when its shard is done, with the keys the shard opened.
func (e *env) shardRun(shard pipeline.Shard) (api.Import, []string) {
	e.t.Helper()
	e.spy.reset()
	eng := engine.New(e.store, e.opts)
	defer eng.Close()
	in := newImport(e.eds.EventDataStoreArn, srcURI)
	imp, err := eng.StartImportWith(e.ctx, in, engine.StartOptions{Shard: shard})
	if err != nil {
		e.t.Fatalf("shard %v: StartImport: %v", shard, err)
	}
	got, _, err := eng.Wait(e.ctx, imp.ImportId)
	if err != nil {
		e.t.Fatalf("shard %v: Wait: %v", shard, err)
	}
	opens, _ := e.spy.reset()
	return got, slices.Sorted(maps.Keys(opens))
}

// TestShards runs one import as three shards, one after another as three
// processes: they join one import, read disjoint parts of the source whose
// union is all of it, and the import is COMPLETED only when the last is.
func TestShards(t *testing.T) {
	e := newEnv(t, engine.Options{})
	keys := putAccounts(e, 6)
	read := map[string]int{}
	var id string
	for i := range 3 {
		imp, opened := e.shardRun(pipeline.Shard{Index: i, Count: 3})
		if id == "" {
			id = imp.ImportId
		} else if imp.ImportId != id {
			t.Fatalf("shard %d joined import %s, not %s", i, imp.ImportId, id)
		}
		for _, k := range opened {
			read[k]++
		}
		want := api.StatusInProgress
		if i == 2 {
			want = api.StatusCompleted
		}
		if imp.ImportStatus != want {
			t.Errorf("after shard %d the import is %s, want %s", i, imp.ImportStatus, want)
		}
		if len(opened) == 0 || len(opened) == len(keys) {
			t.Errorf("shard %d read %d of %d files; want a part", i, len(opened), len(keys))
		}
	}
	for _, k := range keys {
		if read[k] != 1 {
			t.Errorf("%s was read by %d shards", k, read[k])
		}
	}
	e.checkStored(e.eds, e.wantIDs())
	st := e.stats(id)
	if st.FilesCompleted != int64(len(keys)) || st.EventsCompleted != int64(3*len(keys)) || st.FailedEntries != 0 {
		t.Errorf("statistics %+v; want %d files and %d events", st, len(keys), 3*len(keys))
	}
	list, err := e.eng.ListImports(e.ctx, api.ListImportsInput{ImportStatus: api.StatusCompleted})
	if err != nil || len(list.Imports) != 1 || list.Imports[0].ImportId != id {
		t.Errorf("ListImports(COMPLETED) = %+v, %v; want import %s", list, err, id)
	}

	// A shard started again reads nothing new and doubles nothing.
	if imp, opened := e.shardRun(pipeline.Shard{Index: 1, Count: 3}); imp.ImportStatus != api.StatusCompleted || len(opened) != 0 {
		t.Errorf("shard 1 again: the import is %s and it read %v; want COMPLETED, nothing read", imp.ImportStatus, opened)
	}
	e.checkStored(e.eds, e.wantIDs())

	// Another number of shards is another import.
	if imp, _ := e.shardRun(pipeline.Shard{Index: 0, Count: 2}); imp.ImportId == id {
		t.Errorf("2 shards joined the import of 3 shards")
	}
}

// TestShardFailure checks that a file failing in one shard makes the
// import FAILED once every shard ended, with the failure listed.
func TestShardFailure(t *testing.T) {
	e := newEnv(t, engine.Options{Config: pipeline.Config{Attempts: 1}})
	keys := putAccounts(e, 4)
	e.putRaw(keys[0], []byte("not gzip"))
	var id string
	for i := range 2 {
		imp, _ := e.shardRun(pipeline.Shard{Index: i, Count: 2})
		id = imp.ImportId
	}
	if st := e.status(id); st != api.StatusFailed {
		t.Errorf("the import is %s, want FAILED", st)
	}
	if f := e.failures(id); len(f) != 1 || f[keys[0]].Status != api.FailureFailed {
		t.Errorf("failures %+v; want %s FAILED", f, keys[0])
	}
}

// TestShardRefused checks the inputs a shard refuses, and what the engine
// refuses of an import that runs as shards in other processes.
func TestShardRefused(t *testing.T) {
	e := newEnv(t, engine.Options{})
	putAccounts(e, 2)
	in := newImport(e.eds.EventDataStoreArn, srcURI)
	for _, tt := range []struct {
		name string
		in   api.StartImportInput
		opts engine.StartOptions
		want *api.Exception
	}{
		{"index past count", in, engine.StartOptions{Shard: pipeline.Shard{Index: 3, Count: 3}}, api.ErrInvalidParameter},
		{"import ID", api.StartImportInput{ImportId: "00000000-0000-4000-8000-000000000001"}, engine.StartOptions{Shard: pipeline.Shard{Count: 2}}, api.ErrInvalidParameterCombination},
		{"incremental", in, engine.StartOptions{Incremental: true, Shard: pipeline.Shard{Count: 2}}, api.ErrInvalidParameterCombination},
	} {
		if _, err := e.eng.StartImportWith(e.ctx, tt.in, tt.opts); !isExc(err, tt.want) {
			t.Errorf("%s: StartImport: %v; want %v", tt.name, err, tt.want.Name)
		}
	}

	// A store that several processes cannot share runs no shards.
	solo := engine.New(struct{ sink.Store }{e.store}, e.opts)
	defer solo.Close()
	if _, err := solo.StartImportWith(e.ctx, in, engine.StartOptions{Shard: pipeline.Shard{Count: 2}}); !isExc(err, api.ErrInvalidParameter) || !strings.Contains(err.Error(), "PostgreSQL") {
		t.Errorf("StartImport of a shard over a store of one process: %v; want an InvalidParameterException naming PostgreSQL", err)
	}

	// Shard 0 of 2 ran; shard 1 runs in a process that is gone.
	imp, _ := e.shardRun(pipeline.Shard{Index: 0, Count: 2})
	ss := sink.ShardStore(e.store)
	if err := ss.PutShardRun(e.ctx, sink.ShardRun{ImportID: imp.ImportId, Index: 1, Count: 2, Status: string(api.StatusInProgress), Updated: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if st := e.status(imp.ImportId); st != api.StatusInProgress {
		t.Fatalf("the import is %s, want IN_PROGRESS", st)
	}
	found, err := e.eng.Recover(e.ctx)
	if err != nil || len(found) != 0 {
		t.Errorf("Recover = %+v, %v; want the shards' import left to them", found, err)
	}
	if _, err := e.eng.StopImport(e.ctx, api.StopImportInput{ImportId: imp.ImportId}); !isExc(err, api.ErrInvalidParameter) {
		t.Errorf("StopImport of shards running elsewhere: %v; want an InvalidParameterException", err)
	}
	if _, err := e.eng.StartImport(e.ctx, api.StartImportInput{ImportId: imp.ImportId}); !isExc(err, api.ErrInvalidParameter) {
		t.Errorf("a retry by ID of an import of shards: %v; want an InvalidParameterException", err)
	}
}

// stopStore is a memsink store that keeps stop requests, as a store that
// processes share does.
type stopStore struct {
	*memsink.Store
	mu    sync.Mutex
	stops map[string]bool
}

func (s *stopStore) RequestStop(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stops[id] = true
	return nil
}

func (s *stopStore) StopRequested(ctx context.Context, id string) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stops[id], nil
}

func (s *stopStore) ClearStop(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.stops, id)
	return nil
}

// TestStopShardElsewhere stops, from one Engine, the shard another Engine
// runs, as stop-import from another machine does, then runs the shard
// again to its end.
func TestStopShardElsewhere(t *testing.T) {
	e := newEnv(t, engine.Options{Config: pipeline.Config{Concurrency: 1, Downloads: 1, PrefetchBytes: 1}})
	keys := putAccounts(e, 1)
	st := &stopStore{Store: e.store, stops: map[string]bool{}}
	runner := engine.New(st, e.opts)
	defer runner.Close()
	hook, reached := gate(keys[1])
	e.spy.setWrap(hook)
	shard := engine.StartOptions{Shard: pipeline.Shard{Index: 0, Count: 1}}
	imp, err := runner.StartImportWith(e.ctx, newImport(e.eds.EventDataStoreArn, srcURI), shard)
	if err != nil {
		t.Fatal(err)
	}
	waitClosed(t, reached, "the gated read")

	other := engine.New(st, e.opts)
	defer other.Close()
	if got, err := other.StopImport(e.ctx, api.StopImportInput{ImportId: imp.ImportId}); err != nil || got.ImportStatus != api.StatusInProgress {
		t.Fatalf("StopImport from another Engine = %v, %v; want the import IN_PROGRESS while its shard stops", got.ImportStatus, err)
	}
	got, _, err := runner.Wait(e.ctx, imp.ImportId)
	if err != nil || got.ImportStatus != api.StatusStopped {
		t.Fatalf("the shard's run ended %v, %v; want STOPPED", got.ImportStatus, err)
	}
	if status, _, err := runner.ShardStatus(e.ctx, imp.ImportId, 0); err != nil || status != api.StatusStopped {
		t.Errorf("the shard is %v, %v; want STOPPED", status, err)
	}

	// Started again once every shard ended, the shard runs to its end.
	e.spy.setWrap(nil)
	again, err := runner.StartImportWith(e.ctx, newImport(e.eds.EventDataStoreArn, srcURI), shard)
	if err != nil {
		t.Fatal(err)
	}
	if got, _, err := runner.Wait(e.ctx, again.ImportId); err != nil || got.ImportStatus != api.StatusCompleted {
		t.Fatalf("the shard started again ended %v, %v; want COMPLETED", got.ImportStatus, err)
	}
	e.checkStored(e.eds, e.wantIDs())
}
