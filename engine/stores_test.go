package engine_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/engine"
	"github.com/ctimport/ctimport/pipeline"
)

// advance moves the clock on by d.
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// storedIDs returns the eventIDs stored in event data store s, sorted.
func (e *env) storedIDs(s api.EventDataStore) []string {
	var ids []string
	for _, ev := range e.store.Events(storeID(s)) {
		ids = append(ids, ev.ID())
	}
	slices.Sort(ids)
	return ids
}

// unprotect turns the termination protection of s off.
func (e *env) unprotect(s api.EventDataStore) {
	e.t.Helper()
	off := false
	if _, err := e.eng.UpdateEventDataStore(e.ctx, api.UpdateEventDataStoreInput{EventDataStore: s.EventDataStoreArn,
		EventDataStoreSettings: api.EventDataStoreSettings{TerminationProtectionEnabled: &off}}); err != nil {
		e.t.Fatalf("UpdateEventDataStore: %v", err)
	}
}

// deleteStore turns the termination protection of s off and deletes it.
func (e *env) deleteStore(s api.EventDataStore) {
	e.t.Helper()
	e.unprotect(s)
	if _, err := e.eng.DeleteEventDataStore(e.ctx, api.DeleteEventDataStoreInput{EventDataStore: s.EventDataStoreArn}); err != nil {
		e.t.Fatalf("DeleteEventDataStore: %v", err)
	}
}

// TestDeletionWait checks that a deleted event data store can be restored
// whole until DeletionWait has passed, and that PurgeDeleted then removes
// it with its events, and only it.
func TestDeletionWait(t *testing.T) {
	clk := newClock()
	e := newEnv(t, engine.Options{Now: clk.Now})
	day := time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC)
	e.put(key(day.Add(time.Hour)), evs("x", 3, day)...)
	id := e.startNew()
	if imp, _ := e.wait(id); imp.ImportStatus != api.StatusCompleted {
		t.Fatalf("the import ended %s", imp.ImportStatus)
	}
	want := e.wantIDs()
	slices.Sort(want)
	kept := e.createStore("kept")

	e.deleteStore(e.eds)
	clk.advance(engine.DeletionWait - time.Minute)
	if purged, err := e.eng.PurgeDeleted(e.ctx); err != nil || len(purged) != 0 {
		t.Errorf("PurgeDeleted within the wait = %v, %v; want nothing purged", purged, err)
	}
	restored, err := e.eng.RestoreEventDataStore(e.ctx, api.RestoreEventDataStoreInput{EventDataStore: storeID(e.eds)})
	if err != nil || restored.Status != api.EventDataStoreEnabled {
		t.Fatalf("RestoreEventDataStore within the wait = %+v, %v", restored, err)
	}
	if got := e.storedIDs(e.eds); !slices.Equal(got, want) {
		t.Errorf("the restored store holds %v, want %v", got, want)
	}

	if _, err := e.eng.DeleteEventDataStore(e.ctx, api.DeleteEventDataStoreInput{EventDataStore: e.eds.Name}); err != nil {
		t.Fatalf("DeleteEventDataStore: %v", err)
	}
	clk.advance(engine.DeletionWait)
	purged, err := e.eng.PurgeDeleted(e.ctx)
	if err != nil || !slices.Equal(purged, []string{storeID(e.eds)}) {
		t.Errorf("PurgeDeleted after the wait = %v, %v; want %s", purged, err, storeID(e.eds))
	}
	if _, err := e.eng.GetEventDataStore(e.ctx, api.GetEventDataStoreInput{EventDataStore: e.eds.EventDataStoreArn}); !errors.Is(err, api.ErrEventDataStoreNotFound) {
		t.Errorf("GetEventDataStore of the purged store = %v, want EventDataStoreNotFoundException", err)
	}
	if got := e.storedIDs(e.eds); len(got) != 0 {
		t.Errorf("the purged store still holds %d events", len(got))
	}
	if _, err := e.eng.GetImport(e.ctx, api.GetImportInput{ImportId: id}); err != nil {
		t.Errorf("GetImport of an import into the purged store: %v", err)
	}
	if _, err := e.eng.GetEventDataStore(e.ctx, api.GetEventDataStoreInput{EventDataStore: kept.Name}); err != nil {
		t.Errorf("GetEventDataStore of the store not deleted: %v", err)
	}

	e.deleteStore(kept)
	clk.advance(engine.DeletionWait)
	_, err = e.eng.RestoreEventDataStore(e.ctx, api.RestoreEventDataStoreInput{EventDataStore: kept.EventDataStoreArn})
	if !errors.Is(err, api.ErrEventDataStoreNotFound) {
		t.Errorf("RestoreEventDataStore after the wait = %v, want EventDataStoreNotFoundException", err)
	}
	if _, err := e.eng.GetEventDataStore(e.ctx, api.GetEventDataStoreInput{EventDataStore: kept.Name}); !errors.Is(err, api.ErrEventDataStoreNotFound) {
		t.Errorf("GetEventDataStore after the late restore = %v, want EventDataStoreNotFoundException", err)
	}
}

// TestPurge checks that Purge removes a deleted event data store at once,
// and refuses one that is not deleted.
func TestPurge(t *testing.T) {
	e := newEnv(t, engine.Options{})
	if err := e.eng.Purge(e.ctx, e.eds.Name); !errors.Is(err, api.ErrInvalidEventDataStoreStatus) {
		t.Errorf("Purge of an ENABLED store = %v, want InvalidEventDataStoreStatusException", err)
	}
	e.deleteStore(e.eds)
	if err := e.eng.Purge(e.ctx, e.eds.Name); err != nil {
		t.Fatalf("Purge: %v", err)
	}
	if err := e.eng.Purge(e.ctx, e.eds.Name); !errors.Is(err, api.ErrEventDataStoreNotFound) {
		t.Errorf("Purge again = %v, want EventDataStoreNotFoundException", err)
	}
	if s := e.createStore(e.eds.Name); s.EventDataStoreArn == e.eds.EventDataStoreArn {
		t.Errorf("the new store of the purged one's name has its ARN")
	}
}

// TestLifecycleWhileImporting checks that an event data store into which
// an import runs can be neither updated nor deleted, and can once the
// import stopped.
func TestLifecycleWhileImporting(t *testing.T) {
	e := newEnv(t, engine.Options{Config: pipeline.Config{Concurrency: 1, Downloads: 1, PrefetchBytes: 1}})
	e.unprotect(e.eds)
	id := e.startGated()

	_, err := e.eng.DeleteEventDataStore(e.ctx, api.DeleteEventDataStoreInput{EventDataStore: e.eds.Name})
	if !errors.Is(err, api.ErrEventDataStoreHasOngoingImport) {
		t.Errorf("DeleteEventDataStore while an import runs = %v, want EventDataStoreHasOngoingImportException", err)
	}
	_, err = e.eng.UpdateEventDataStore(e.ctx, api.UpdateEventDataStoreInput{EventDataStore: e.eds.Name, Name: "renamed"})
	if !errors.Is(err, api.ErrEventDataStoreHasOngoingImport) {
		t.Errorf("UpdateEventDataStore while an import runs = %v, want EventDataStoreHasOngoingImportException", err)
	}
	if _, err := e.eng.StopImport(e.ctx, api.StopImportInput{ImportId: id}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.eng.DeleteEventDataStore(e.ctx, api.DeleteEventDataStoreInput{EventDataStore: e.eds.Name}); err != nil {
		t.Errorf("DeleteEventDataStore once the import stopped: %v", err)
	}
}
