package duckdbsink

import (
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ctimport/ctimport/sink"
)

// v1Store is the ID of the event data store "trails" of the version-1
// database in testdata/upgrade, which holds the traildiscover sample.
const v1Store = "01ec2329-c125-440e-8bdf-7ecd50b63fd2"

// copyOld writes the gzip-compressed database file of testdata/upgrade to
// a test directory and returns its path.
func copyOld(t *testing.T, file string) string {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "upgrade", file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), strings.TrimSuffix(file, ".gz"))
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, zr); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestUpgradeV1 opens a database written by schema version 1: read-only it
// is refused with ErrNeedsUpgrade; for writing it is upgraded, with
// progress, keeping every event, checkpoint and import, and its events
// answer Lake's queries as the sample's records say.
func TestUpgradeV1(t *testing.T) {
	ctx := t.Context()
	path := copyOld(t, "v1.duckdb.gz")
	if _, err := Open(ctx, path, Options{ReadOnly: true}); !errors.Is(err, ErrNeedsUpgrade) {
		t.Fatalf("read-only Open of a version-1 database = %v, want ErrNeedsUpgrade", err)
	}

	var calls, done, total int64
	s, err := Open(ctx, path, Options{UpgradeProgress: func(d, n int64) { calls, done, total = calls+1, d, n }})
	if err != nil {
		t.Fatalf("Open for writing: %v", err)
	}
	if calls == 0 || done != total || total != 314 {
		t.Errorf("progress: %d calls, last %d of %d; want calls ending at 314 of 314", calls, done, total)
	}
	stores, err := s.EventDataStores(ctx)
	if err != nil || len(stores) != 2 {
		t.Fatalf("event data stores %v, %v; want trails and empty-store", stores, err)
	}
	for _, st := range stores {
		if st.RetentionPeriod != 2557 || !st.TerminationProtection || !st.Deleted.IsZero() {
			t.Errorf("upgraded store %+v; want retention 2557, protection on, not deleted", st)
		}
	}
	imps, err := s.Imports(ctx)
	if err != nil || len(imps) != 1 || imps[0].Status != "COMPLETED" {
		t.Fatalf("imports %v, %v", imps, err)
	}
	st, err := s.Stats(ctx, imps[0].ID)
	if err != nil || st.FilesCompleted != 31 {
		t.Errorf("stats %+v, %v; want 31 files", st, err)
	}

	// Every stored event is one of the sample's, and its eventJson parses
	// to the record less the members whose value is null, which version 1
	// did not keep.
	records := map[string]map[string]any{}
	for _, f := range loadCorpus(t) {
		if !strings.HasPrefix(f.key, "traildiscover-examples/") {
			continue
		}
		for i, e := range f.events {
			if _, ok := records[e.ID()]; !ok {
				rec := decodeRecord(t, f.records[i])
				for k, v := range rec {
					if v == nil {
						delete(rec, k)
					}
				}
				records[e.ID()] = rec
			}
		}
	}
	_, rows := queryAll(t, s, `SELECT eventID, eventJson, userIdentity.type, cardinality(resources) FROM "`+v1Store+`"`)
	if len(rows) != 314 {
		t.Errorf("%d events after the upgrade, want 314", len(rows))
	}
	for _, r := range rows {
		rec, ok := records[r[0].(string)]
		if !ok {
			t.Fatalf("event %v is not in the sample", r[0])
		}
		if got := decodeRecord(t, json.RawMessage(r[1].(string))); !reflect.DeepEqual(got, rec) {
			t.Errorf("event %v: eventJson %s\ndoes not parse to the record %v", r[0], r[1], rec)
		}
		ui, _ := rec["userIdentity"].(map[string]any)
		if r[2] != text0(ui["type"]) {
			t.Errorf("event %v: userIdentity.type = %v, want %v", r[0], r[2], ui["type"])
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Upgraded, it opens read-only, and a second writer finds nothing to do.
	ro, err := Open(ctx, path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only Open after the upgrade: %v", err)
	}
	if n := mustCount(t, ro, `SELECT count(*) FROM "`+v1Store+`" WHERE day_of_week(eventTime) BETWEEN 1 AND 7`); n != 314 {
		t.Errorf("count = %d, want 314", n)
	}
	ro.Close()
	calls = 0
	s, err = Open(ctx, path, Options{UpgradeProgress: func(d, n int64) { calls++ }})
	if err != nil || calls != 0 {
		t.Errorf("second Open: %v, %d progress calls", err, calls)
	}
	s.Close()
}

// openUpgraded checks that a copy of the database file of testdata/upgrade
// is refused read-only with ErrNeedsUpgrade, then opens it for writing,
// which upgrades it, and returns it with its path and its two event data
// stores.
func openUpgraded(t *testing.T, file string) (*Store, string, []sink.EventDataStore) {
	t.Helper()
	ctx := t.Context()
	path := copyOld(t, file)
	if _, err := Open(ctx, path, Options{ReadOnly: true}); !errors.Is(err, ErrNeedsUpgrade) {
		t.Fatalf("read-only Open of %s = %v, want ErrNeedsUpgrade", file, err)
	}
	s, err := Open(ctx, path, Options{})
	if err != nil {
		t.Fatalf("Open for writing: %v", err)
	}
	stores, err := s.EventDataStores(ctx)
	if err != nil || len(stores) != 2 {
		t.Fatalf("event data stores %v, %v; want trails and empty-store", stores, err)
	}
	return s, path, stores
}

// reopenReadOnly closes the upgraded s and opens its file read-only, for
// the rest of the test.
func reopenReadOnly(t *testing.T, s *Store, path string) *Store {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	ro, err := Open(t.Context(), path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only Open after the upgrade: %v", err)
	}
	t.Cleanup(func() { ro.Close() })
	return ro
}

// TestUpgradeV2 opens a database of schema version 2, written by a build
// whose cardinality answered a HUGEINT: read-only it is refused with
// ErrNeedsUpgrade; for writing it is upgraded, its event data stores given
// Lake's defaults (retention 2557 days, termination protection on, active),
// its events kept, and its Lake functions replaced.
func TestUpgradeV2(t *testing.T) {
	const store = "2caa502f-7103-4f15-bdee-922fdfb8a52b"
	s, path, stores := openUpgraded(t, "v2.duckdb.gz")
	for _, st := range stores {
		if st.RetentionPeriod != 2557 || !st.TerminationProtection || !st.Deleted.IsZero() || !st.Updated.Equal(st.Created) || st.Created.IsZero() {
			t.Errorf("upgraded store %+v; want retention 2557, protection on, not deleted, updated when created", st)
		}
	}
	ro := reopenReadOnly(t, s, path)
	_, rows := queryAll(t, ro, `SELECT typeof(cardinality(resources)), count(*) FROM "`+store+`" GROUP BY ALL`)
	if len(rows) != 1 || rows[0][0] != "BIGINT" || rows[0][1] != int64(314) {
		t.Errorf("rows %v; want cardinality's BIGINT over 314 events", rows)
	}
}

// TestRenamedFile checks that an event data store's view works in a copy
// of the database under another name: it must not name the catalog.
func TestRenamedFile(t *testing.T) {
	s, path := openTemp(t)
	if err := s.CreateEventDataStore(t.Context(), eds); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	moved := filepath.Join(filepath.Dir(path), "renamed.duckdb")
	if err := os.Rename(path, moved); err != nil {
		t.Fatal(err)
	}
	ro, err := Open(t.Context(), moved, Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if n := mustCount(t, ro, "SELECT count(*) FROM "+eds.ID); n != 0 {
		t.Errorf("count = %d, want 0", n)
	}
}

// TestUpgradeV3 opens a database of schema version 3, whose event data
// stores had no advanced event selectors: read-only it is refused with
// ErrNeedsUpgrade; for writing it is upgraded, its stores keep their
// settings and events and have no selectors, and selectors can then be
// stored.
func TestUpgradeV3(t *testing.T) {
	const store = "1330e25f-a3cb-457e-961e-4e272b91142f"
	ctx := t.Context()
	s, path, stores := openUpgraded(t, "v3.duckdb.gz")
	for _, st := range stores {
		if st.RetentionPeriod != 2557 || !st.TerminationProtection || !st.Deleted.IsZero() || st.Selectors != "" {
			t.Errorf("upgraded store %+v; want retention 2557, protection on, not deleted, no selectors", st)
		}
	}
	trails := stores[0]
	if trails.ID != store {
		t.Fatalf("the first store is %+v, want %s", trails, store)
	}
	trails.Selectors = `[{"FieldSelectors":[{"Field":"readOnly","Equals":["false"]}]}]`
	if err := s.UpdateEventDataStore(ctx, trails); err != nil {
		t.Fatalf("UpdateEventDataStore with selectors: %v", err)
	}
	ro := reopenReadOnly(t, s, path)
	stores, err := ro.EventDataStores(ctx)
	if err != nil || stores[0].Selectors != trails.Selectors {
		t.Errorf("after the upgrade and an update: %+v, %v; want selectors %s", stores, err, trails.Selectors)
	}
	if n := mustCount(t, ro, `SELECT count(*) FROM "`+store+`"`); n != 314 {
		t.Errorf("count = %d, want 314", n)
	}
}
