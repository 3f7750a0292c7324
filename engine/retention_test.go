package engine_test

import (
	"slices"
	"testing"
	"time"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/engine"
)

const day = 24 * time.Hour

// retentionEnv is an environment on a clock, with an event data store
// "kept" that keeps events for days, holding the events of one file.
type retentionEnv struct {
	*env
	clk    *clock
	kept   api.EventDataStore
	fresh  []ev // the events of the file 5 days old
	stored []ev // the events of the file within the retention period
}

// newRetentionEnv imports into "kept" a file of old events, 40 and 20
// days old, and the fresh ones, 5 days old, and checks that only the
// events within days were imported.
func newRetentionEnv(t *testing.T, days int) *retentionEnv {
	clk := newClock()
	r := &retentionEnv{env: newEnv(t, engine.Options{Now: clk.Now}), clk: clk}
	now := clk.Now()
	var err error
	r.kept, err = r.eng.CreateEventDataStore(r.ctx, api.CreateEventDataStoreInput{Name: "kept",
		EventDataStoreSettings: api.EventDataStoreSettings{RetentionPeriod: &days}})
	if err != nil {
		t.Fatal(err)
	}
	old, older := evs("old", 2, now.Add(-20*day)), evs("older", 3, now.Add(-40*day))
	r.fresh = evs("fresh", 4, now.Add(-5*day))
	r.put(key(now.Add(-time.Hour)), slices.Concat(older, old, r.fresh)...)
	id := r.start(newImport(r.kept.Name, srcURI), engine.StartOptions{})
	imp, p := r.wait(id)
	var want []ev
	for _, e := range slices.Concat(older, old, r.fresh) {
		if e.at.After(now.Add(-time.Duration(days) * day)) {
			want = append(want, e)
		}
	}
	past := 9 - len(want)
	if imp.ImportStatus != api.StatusCompleted || imp.ImportStatistics.EventsCompleted != int64(len(want)) ||
		known(t, p) && (p.Stored != int64(len(want)) || p.EventsPastRetention != int64(past)) {
		t.Fatalf("import into a store of %d days: %s, %d events completed, progress %+v; want COMPLETED, %d, %d stored and %d past retention",
			days, imp.ImportStatus, imp.ImportStatistics.EventsCompleted, p, len(want), len(want), past)
	}
	r.checkStoredEvents(want)
	r.stored = want
	return r
}

// checkStoredEvents checks that "kept" holds exactly want.
func (r *retentionEnv) checkStoredEvents(want []ev) {
	r.t.Helper()
	ids := idsOf(want)
	slices.Sort(ids)
	if got := r.storedIDs(r.kept); !slices.Equal(got, ids) {
		r.t.Errorf("the store holds %v, want %v", got, ids)
	}
}

// TestRetentionAtImport checks that an import stores no event older than
// the store's retention period, counts those apart, and removes the events
// that fell out of the period since the last import when it starts.
func TestRetentionAtImport(t *testing.T) {
	r := newRetentionEnv(t, 30)
	r.clk.advance(26 * day) // the fresh events are 31 days old
	r.put(key(r.clk.Now()), evs("new", 2, r.clk.Now().Add(-time.Hour))...)
	imp, _ := r.wait(r.start(newImport(r.kept.Name, srcURI), engine.StartOptions{}))
	if imp.ImportStatus != api.StatusCompleted {
		t.Fatalf("the second import ended %s", imp.ImportStatus)
	}
	r.checkStoredEvents(evs("new", 2, r.clk.Now()))
}

// TestRetentionShortened checks that shortening the retention period
// removes the events outside the new one, and lengthening it removes none.
func TestRetentionShortened(t *testing.T) {
	r := newRetentionEnv(t, 3653)
	set := func(days int) {
		t.Helper()
		if _, err := r.eng.UpdateEventDataStore(r.ctx, api.UpdateEventDataStoreInput{EventDataStore: r.kept.Name,
			EventDataStoreSettings: api.EventDataStoreSettings{RetentionPeriod: &days}}); err != nil {
			t.Fatalf("UpdateEventDataStore to %d days: %v", days, err)
		}
	}
	set(30)
	r.checkStoredEvents(slices.Concat(evs("old", 2, time.Time{}), r.fresh))
	set(7)
	r.checkStoredEvents(r.fresh)
	set(90)
	r.checkStoredEvents(r.fresh)
}

// TestMaintain checks that Maintain removes the events past the retention
// period of every store but one with an import running, and the stores
// deleted DeletionWait ago.
func TestMaintain(t *testing.T) {
	r := newRetentionEnv(t, 30)
	r.deleteStore(r.eds)
	r.clk.advance(engine.DeletionWait) // the events are 12 and 27 days old
	m, err := r.eng.Maintain(r.ctx)
	if err != nil || !slices.Equal(m.Purged, []string{storeID(r.eds)}) || m.Expired[storeID(r.kept)] != 0 {
		t.Fatalf("Maintain = %+v, %v; want %s purged and nothing expired", m, err, storeID(r.eds))
	}
	r.checkStoredEvents(r.stored)

	r.clk.advance(20 * day) // 32 and 47 days old
	busy := r.createStore("busy")
	r.eds = busy
	id := r.startGated()
	m, err = r.eng.Maintain(r.ctx)
	if err != nil || m.Expired[storeID(r.kept)] != int64(len(r.stored)) {
		t.Errorf("Maintain = %+v, %v; want the %d events of %s expired", m, err, len(r.stored), storeID(r.kept))
	}
	if _, ok := m.Expired[storeID(busy)]; ok {
		t.Errorf("Maintain pruned %s while an import into it ran", storeID(busy))
	}
	r.checkStoredEvents(nil)
	if _, err := r.eng.StopImport(r.ctx, api.StopImportInput{ImportId: id}); err != nil {
		t.Fatal(err)
	}
}

// TestVerifyAfterRetention checks that events removed as past the
// retention period are not reported as drift.
func TestVerifyAfterRetention(t *testing.T) {
	r := newRetentionEnv(t, 30)
	imports, err := r.eng.ListImports(r.ctx, api.ListImportsInput{})
	if err != nil || len(imports.Imports) != 1 {
		t.Fatalf("ListImports = %+v, %v", imports, err)
	}
	r.clk.advance(26 * day)
	if m, err := r.eng.Maintain(r.ctx); err != nil || m.Expired[storeID(r.kept)] != int64(len(r.stored)) {
		t.Fatalf("Maintain = %+v, %v", m, err)
	}
	sum, err := r.eng.Verify(r.ctx, imports.Imports[0].ImportId, func(d engine.Drift) { t.Errorf("drift reported: %+v", d) })
	if err != nil {
		t.Fatalf("Verify: %v (%+v)", err, sum)
	}
}
