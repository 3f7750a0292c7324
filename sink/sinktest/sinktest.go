// Package sinktest is the conformance suite of sink.Store implementations.
// Run checks the behavior the sink package documents: the catalog, imports,
// checkpoint rows and their queries, statistics, and the staging, commit
// and deduplication semantics of Writers.
//
// The suite reads stored events back through the store's method
//
//	Events(storeID string) iter.Seq2[string, sink.Event]
//
// which yields the object key and event of each stored event in the order
// they were stored, when the store has one (as memsink does); otherwise it
// reads them with SQL through sink.Store.Query from the events table
// ctimport_events."<ID>", in rowid order.
package sinktest

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/ctimport/ctimport/sink"
)

// Run runs the suite. open must return a new, empty Store for each call;
// the suite closes it. The cases of sink.ShardStore and sink.Stopper run
// when the Store is one.
func Run(t *testing.T, open func(t *testing.T) sink.Store) {
	tests := []struct {
		name string
		f    func(t *testing.T, s sink.Store)
	}{
		{"EventDataStores", testEventDataStores},
		{"UpdateEventDataStore", testUpdateEventDataStore},
		{"DropEventDataStore", testDropEventDataStore},
		{"PurgeEvents", testPurgeEvents},
		{"Imports", testImports},
		{"Files", testFiles},
		{"UpsertRows", testUpsertRows},
		{"Stats", testStats},
		{"CommitVisibility", testCommitVisibility},
		{"Restage", testRestage},
		{"FailedFilesDropEvents", testFailedFilesDropEvents},
		{"Dedup", testDedup},
		{"DedupIdentity", testDedupIdentity},
		{"DedupAcrossImports", testDedupAcrossImports},
		{"NoDedupAcrossStores", testNoDedupAcrossStores},
		{"CommitOrder", testCommitOrder},
		{"InvalidCommit", testInvalidCommit},
		{"Sync", testSync},
		{"WriterClose", testWriterClose},
		{"Concurrent", testConcurrent},
		{"EventCounts", testEventCounts},
		{"MissingEvents", testMissingEvents},
		{"ShardRuns", testShardRuns},
		{"Stopper", testStopper},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := open(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tt.f(t, s)
		})
	}
}

// base is a time with microsecond precision, the precision stores keep.
var base = time.Date(2023, 7, 10, 12, 0, 0, 0, time.UTC)

// Event returns an event with eventID id and eventTime at, with every kind
// of column set: Text, Bool (readOnly true, managementEvent false) and
// JSON, and errorCode and errorMessage null.
func Event(id string, at time.Time) sink.Event {
	e := sink.Event{Time: at}
	for c := range sink.NumColumns {
		switch c.Kind() {
		case sink.Text:
			e.Values[c] = c.Name() + "-" + id
		case sink.JSON:
			e.Values[c] = fmt.Sprintf(`{"column":%q,"n":%d,"list":[1,"two",null]}`, c.Name(), c)
		}
	}
	e.Values[sink.EventID] = id
	e.Values[sink.EventName] = "GetObject"
	e.True = e.True.With(sink.ReadOnly)
	e.Null = e.Null.With(sink.ErrorCode).With(sink.ErrorMessage)
	return e
}

// events returns n events with IDs prefix-0 … prefix-(n-1), a second apart
// from at.
func events(prefix string, n int, at time.Time) []sink.Event {
	out := make([]sink.Event, n)
	for i := range out {
		out[i] = Event(fmt.Sprintf("%s-%d", prefix, i), at.Add(time.Duration(i)*time.Second))
	}
	return out
}

// stored is an event read back from a store.
type stored struct {
	Key string
	ID  string
}

// readEvents returns the events stored in event data store storeID, in the
// order they were stored.
func readEvents(t *testing.T, s sink.Store, storeID string) []stored {
	t.Helper()
	var out []stored
	if es, ok := s.(interface {
		Events(storeID string) iter.Seq2[string, sink.Event]
	}); ok {
		for key, e := range es.Events(storeID) {
			out = append(out, stored{key, e.ID()})
		}
		return out
	}
	rows, err := s.Query(t.Context(), fmt.Sprintf(`SELECT %s, eventID FROM ctimport_events."%s" ORDER BY rowid`, sink.SourceKeyColumn, storeID))
	if err != nil {
		t.Fatalf("read events: %v", err)
	}
	defer rows.Close()
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			t.Fatalf("read events: %v", err)
		}
		key, _ := v[0].(string)
		id, _ := v[1].(string)
		out = append(out, stored{key, id})
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("read events: %v", err)
	}
	return out
}

// storedKeys returns the object key of each stored event, by eventID.
func storedKeys(t *testing.T, s sink.Store, storeID string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, e := range readEvents(t, s, storeID) {
		if _, ok := m[e.ID]; ok {
			t.Errorf("event %s is stored twice", e.ID)
		}
		m[e.ID] = e.Key
	}
	return m
}

func newStore(t *testing.T, s sink.Store, name string, created time.Time) sink.EventDataStore {
	t.Helper()
	id := uuid.NewString()
	eds := sink.EventDataStore{
		ID:                    id,
		Name:                  name,
		ARN:                   "arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/" + id,
		Created:               created,
		Updated:               created,
		RetentionPeriod:       2557,
		TerminationProtection: true,
	}
	if err := s.CreateEventDataStore(t.Context(), eds); err != nil {
		t.Fatalf("CreateEventDataStore(%s): %v", name, err)
	}
	return eds
}

func newImport(t *testing.T, s sink.Store, id, storeID string, created time.Time) sink.Import {
	t.Helper()
	imp := sink.Import{
		ID:           id,
		StoreID:      storeID,
		SourceURI:    "s3://bucket/prefix",
		SourceRegion: "us-east-1",
		RoleARN:      "arn:aws:iam::123456789012:role/import",
		Allowance:    3 * time.Hour,
		Status:       "IN_PROGRESS",
		Created:      created,
		Updated:      created,
	}
	if err := s.PutImport(t.Context(), imp); err != nil {
		t.Fatalf("PutImport: %v", err)
	}
	return imp
}

func newWriter(t *testing.T, s sink.Store, storeID string) sink.Writer {
	t.Helper()
	w, err := s.NewWriter(t.Context(), storeID)
	if err != nil {
		t.Fatalf("NewWriter: %v", err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w
}

func appendEvents(t *testing.T, w sink.Writer, key string, evs []sink.Event) {
	t.Helper()
	if err := w.Append(t.Context(), key, evs); err != nil {
		t.Fatalf("Append(%s): %v", key, err)
	}
}

func file(importID, key string, status sink.FileStatus) sink.File {
	return sink.File{ImportID: importID, Key: key, Prefix: "p/", Status: status, Updated: base}
}

func closeWriter(t *testing.T, w sink.Writer) {
	t.Helper()
	if err := w.Close(); err != nil {
		t.Fatalf("Writer.Close: %v", err)
	}
}

// commit commits c and syncs it.
func commit(t *testing.T, w sink.Writer, c sink.Commit) sink.CommitResult {
	t.Helper()
	res, err := w.Commit(t.Context(), c)
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if err := w.Sync(t.Context()); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	return res
}

func wantResult(t *testing.T, got sink.CommitResult, stored, duplicates int64) {
	t.Helper()
	if got.Stored != stored || got.Duplicates != duplicates {
		t.Errorf("commit result = %+v, want Stored %d, Duplicates %d", got, stored, duplicates)
	}
}

func wantKeys(t *testing.T, s sink.Store, storeID string, want map[string]string) {
	t.Helper()
	got := storedKeys(t, s, storeID)
	if len(got) != len(want) {
		t.Errorf("%d events stored, want %d", len(got), len(want))
	}
	for id, key := range want {
		if got[id] != key {
			t.Errorf("event %s: stored from %q, want %q", id, got[id], key)
		}
	}
}

func keysOf(key string, evs []sink.Event, m map[string]string) map[string]string {
	if m == nil {
		m = map[string]string{}
	}
	for _, e := range evs {
		m[e.ID()] = key
	}
	return m
}

func testEventDataStores(t *testing.T, s sink.Store) {
	ctx := t.Context()
	got, err := s.EventDataStores(ctx)
	if err != nil || len(got) != 0 {
		t.Fatalf("EventDataStores of a new store = %v, %v; want none", got, err)
	}
	a := newStore(t, s, "store-a", base)
	b := newStore(t, s, "store-b", base.Add(-time.Hour))
	c := newStore(t, s, "store-c", base.In(time.FixedZone("X", 3600)))

	got, err = s.EventDataStores(ctx)
	if err != nil {
		t.Fatalf("EventDataStores: %v", err)
	}
	want := []sink.EventDataStore{b, a, c}
	if a.ID > c.ID {
		want = []sink.EventDataStore{b, c, a}
	}
	if len(got) != len(want) {
		t.Fatalf("EventDataStores = %d stores, want %d", len(got), len(want))
	}
	for i := range want {
		if !sameStore(got[i], want[i]) {
			t.Errorf("EventDataStores[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}

	for _, dup := range []sink.EventDataStore{
		{ID: uuid.NewString(), Name: a.Name, ARN: "arn", Created: base},
		{ID: a.ID, Name: "other", ARN: "arn", Created: base},
		{ID: strings.ToUpper(a.ID), Name: "other", ARN: "arn", Created: base},
	} {
		if err := s.CreateEventDataStore(ctx, dup); !errors.Is(err, sink.ErrExists) {
			t.Errorf("CreateEventDataStore(%+v) = %v, want ErrExists", dup, err)
		}
	}
	if _, err := s.NewWriter(ctx, uuid.NewString()); !errors.Is(err, sink.ErrNotFound) {
		t.Errorf("NewWriter(unknown store) = %v, want ErrNotFound", err)
	}

	d := sink.EventDataStore{ID: uuid.NewString(), Name: "no-update-time", ARN: "arn", Created: base, RetentionPeriod: 7, Selectors: selectors}
	if err := s.CreateEventDataStore(ctx, d); err != nil {
		t.Fatalf("CreateEventDataStore: %v", err)
	}
	if got := storeByID(t, s, d.ID); !got.Updated.Equal(base) || got.Selectors != selectors {
		t.Errorf("a store created without an update time, with selectors, reads Updated %v, Selectors %q; want Created %v, %q",
			got.Updated, got.Selectors, base, selectors)
	}
}

func sameStore(a, b sink.EventDataStore) bool {
	return a.ID == b.ID && a.Name == b.Name && a.ARN == b.ARN && a.Created.Equal(b.Created) &&
		a.Updated.Equal(b.Updated) && a.RetentionPeriod == b.RetentionPeriod &&
		a.TerminationProtection == b.TerminationProtection && a.Deleted.Equal(b.Deleted) && a.Selectors == b.Selectors
}

// selectors are advanced event selectors as the engine stores them; the
// store keeps them as they are.
const selectors = `[{"Name":"writes","FieldSelectors":[{"Field":"readOnly","Equals":["false"]}]}]`

// storeByID returns the event data store with that ID, failing the test
// when there is none.
func storeByID(t *testing.T, s sink.Store, id string) sink.EventDataStore {
	t.Helper()
	stores, err := s.EventDataStores(t.Context())
	if err != nil {
		t.Fatalf("EventDataStores: %v", err)
	}
	for _, st := range stores {
		if st.ID == id {
			return st
		}
	}
	t.Fatalf("no event data store %s", id)
	return sink.EventDataStore{}
}

// queryable reports whether a query of the store's ID runs.
func queryable(t *testing.T, s sink.Store, id string) bool {
	t.Helper()
	rows, err := s.Query(t.Context(), "SELECT count(*) FROM "+id)
	if err != nil {
		return false
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err() == nil
}

func testUpdateEventDataStore(t *testing.T, s sink.Store) {
	ctx := t.Context()
	a := newStore(t, s, "store-a", base)
	b := newStore(t, s, "store-b", base)
	imp := newImport(t, s, "imp-a", a.ID, base)
	w := newWriter(t, s, a.ID)
	evs := events("e", 3, base)
	appendEvents(t, w, "k1", evs)
	commit(t, w, sink.Commit{Files: []sink.File{file(imp.ID, "k1", sink.FileImported)}})
	closeWriter(t, w)
	wantQuery := queryable(t, s, a.ID)

	steps := []struct {
		name      string
		change    func(e *sink.EventDataStore)
		err       error
		queryable bool
	}{
		{"rename and change settings", func(e *sink.EventDataStore) {
			e.Name, e.RetentionPeriod, e.TerminationProtection, e.Updated = "renamed", 30, false, base.Add(time.Hour)
			e.Selectors = selectors
		}, nil, wantQuery},
		{"the name of another store", func(e *sink.EventDataStore) { e.Name = b.Name }, sink.ErrExists, wantQuery},
		{"an unknown ID", func(e *sink.EventDataStore) { e.ID = uuid.NewString() }, sink.ErrNotFound, wantQuery},
		{"the ID in upper case", func(e *sink.EventDataStore) { e.ID, e.RetentionPeriod = strings.ToUpper(e.ID), 90 }, nil, wantQuery},
		{"deleted", func(e *sink.EventDataStore) { e.Deleted = base.Add(2 * time.Hour) }, nil, false},
		{"deleted again", func(e *sink.EventDataStore) { e.Updated = base.Add(3 * time.Hour) }, nil, false},
		{"restored", func(e *sink.EventDataStore) { e.Deleted = time.Time{} }, nil, wantQuery},
		{"selectors removed", func(e *sink.EventDataStore) { e.Selectors = "" }, nil, wantQuery},
	}
	cur := storeByID(t, s, a.ID)
	for _, st := range steps {
		next := cur
		st.change(&next)
		err := s.UpdateEventDataStore(ctx, next)
		if st.err != nil {
			if !errors.Is(err, st.err) {
				t.Errorf("%s: UpdateEventDataStore = %v, want %v", st.name, err, st.err)
			}
		} else if err != nil {
			t.Fatalf("%s: UpdateEventDataStore: %v", st.name, err)
		} else {
			next.ID = a.ID
			cur = next
		}
		if got := storeByID(t, s, a.ID); !sameStore(got, cur) {
			t.Errorf("%s: store = %+v, want %+v", st.name, got, cur)
		}
		if got := storeByID(t, s, b.ID); !sameStore(got, b) {
			t.Errorf("%s: the other store = %+v, want %+v", st.name, got, b)
		}
		if got := queryable(t, s, a.ID); got != st.queryable {
			t.Errorf("%s: queryable = %v, want %v", st.name, got, st.queryable)
		}
		wantKeys(t, s, a.ID, keysOf("k1", evs, nil))
	}
	if cur.ARN != a.ARN || !cur.Created.Equal(a.Created) || cur.Name != "renamed" {
		t.Errorf("after the updates: %+v; want the ARN and creation time of %+v", cur, a)
	}
}

func testDropEventDataStore(t *testing.T, s sink.Store) {
	ctx := t.Context()
	a := newStore(t, s, "store-a", base)
	b := newStore(t, s, "store-b", base)
	imp := newImport(t, s, "imp-a", a.ID, base)
	for _, id := range []string{a.ID, b.ID} {
		w := newWriter(t, s, id)
		appendEvents(t, w, "k1", events("e", 2, base))
		commit(t, w, sink.Commit{Files: []sink.File{file(imp.ID, "k1", sink.FileImported)}})
		closeWriter(t, w)
	}
	if err := s.DropEventDataStore(ctx, a.ID); err != nil {
		t.Fatalf("DropEventDataStore: %v", err)
	}
	stores, err := s.EventDataStores(ctx)
	if err != nil || len(stores) != 1 || !sameStore(stores[0], b) {
		t.Errorf("EventDataStores after the drop = %+v, %v; want only %+v", stores, err, b)
	}
	if err := s.DropEventDataStore(ctx, a.ID); !errors.Is(err, sink.ErrNotFound) {
		t.Errorf("DropEventDataStore again = %v, want ErrNotFound", err)
	}
	if _, err := s.EventCounts(ctx, a.ID, sink.EventCountQuery{}); !errors.Is(err, sink.ErrNotFound) {
		t.Errorf("EventCounts of the dropped store = %v, want ErrNotFound", err)
	}
	if _, err := s.NewWriter(ctx, a.ID); !errors.Is(err, sink.ErrNotFound) {
		t.Errorf("NewWriter of the dropped store = %v, want ErrNotFound", err)
	}
	if _, err := s.Import(ctx, imp.ID); err != nil {
		t.Errorf("Import of the dropped store's import: %v", err)
	}
	if got, err := s.EventCounts(ctx, b.ID, sink.EventCountQuery{}); err != nil || got["k1"] != 2 {
		t.Errorf("EventCounts of the other store = %v, %v; want its 2 events", got, err)
	}
	again := newStore(t, s, a.Name, base)
	if got, err := s.EventCounts(ctx, again.ID, sink.EventCountQuery{}); err != nil || len(got) != 0 {
		t.Errorf("EventCounts of a new store of the dropped one's name = %v, %v; want none", got, err)
	}
}

func testImports(t *testing.T, s sink.Store) {
	ctx := t.Context()
	if _, err := s.Import(ctx, "nope"); !errors.Is(err, sink.ErrNotFound) {
		t.Errorf("Import(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := s.Stats(ctx, "nope"); !errors.Is(err, sink.ErrNotFound) {
		t.Errorf("Stats(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := s.Prefixes(ctx, "nope"); !errors.Is(err, sink.ErrNotFound) {
		t.Errorf("Prefixes(unknown) = %v, want ErrNotFound", err)
	}
	imps, err := s.Imports(ctx)
	if err != nil || len(imps) != 0 {
		t.Errorf("Imports of a new store = %v, %v; want none", imps, err)
	}

	full := sink.Import{
		ID:             "import-full",
		StoreID:        "store",
		SourceURI:      "s3://bucket/prefix",
		SourceRegion:   "eu-west-1",
		RoleARN:        "arn:aws:iam::123456789012:role/r",
		StartEventTime: base.Add(-24 * time.Hour),
		EndEventTime:   base.Add(123456 * time.Microsecond),
		Allowance:      90*time.Minute + 1,
		Status:         "COMPLETED",
		Created:        base.In(time.FixedZone("X", -7200)),
		Updated:        base.Add(time.Minute),
		NewestDelivery: base.Add(2 * time.Minute),
		Message:        "stopped: \"quoted\" 'text'",
	}
	empty := sink.Import{ID: "import-empty", Created: base.Add(time.Hour)}
	for _, imp := range []sink.Import{full, empty} {
		if err := s.PutImport(ctx, imp); err != nil {
			t.Fatalf("PutImport: %v", err)
		}
		got, err := s.Import(ctx, imp.ID)
		if err != nil {
			t.Fatalf("Import: %v", err)
		}
		if !sameImport(got, imp) {
			t.Errorf("Import = %+v, want %+v", got, imp)
		}
	}

	full.Status, full.Message, full.EndEventTime = "FAILED", "", time.Time{}
	if err := s.PutImport(ctx, full); err != nil {
		t.Fatalf("PutImport (replace): %v", err)
	}
	if got, err := s.Import(ctx, full.ID); err != nil || !sameImport(got, full) {
		t.Errorf("Import after replace = %+v, %v; want %+v", got, err, full)
	}

	tie1 := sink.Import{ID: "import-tie-1", Created: base.Add(-time.Hour)}
	tie2 := sink.Import{ID: "import-tie-2", Created: base.Add(-time.Hour)}
	for _, imp := range []sink.Import{tie2, tie1} {
		if err := s.PutImport(ctx, imp); err != nil {
			t.Fatalf("PutImport: %v", err)
		}
	}
	imps, err = s.Imports(ctx)
	if err != nil {
		t.Fatalf("Imports: %v", err)
	}
	var ids []string
	for _, imp := range imps {
		ids = append(ids, imp.ID)
	}
	if want := []string{empty.ID, full.ID, tie2.ID, tie1.ID}; !slices.Equal(ids, want) {
		t.Errorf("Imports = %v, want %v", ids, want)
	}
}

func sameImport(a, b sink.Import) bool {
	times := [][2]time.Time{
		{a.StartEventTime, b.StartEventTime}, {a.EndEventTime, b.EndEventTime}, {a.Created, b.Created},
		{a.Updated, b.Updated}, {a.NewestDelivery, b.NewestDelivery},
	}
	for _, t := range times {
		if !t[0].Equal(t[1]) || t[0].IsZero() != t[1].IsZero() {
			return false
		}
	}
	a.StartEventTime, a.EndEventTime, a.Created, a.Updated, a.NewestDelivery = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
	b.StartEventTime, b.EndEventTime, b.Created, b.Updated, b.NewestDelivery = time.Time{}, time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return a == b
}

func sameFile(a, b sink.File) bool {
	if !a.Delivery.Equal(b.Delivery) || !a.Updated.Equal(b.Updated) ||
		a.Delivery.IsZero() != b.Delivery.IsZero() || a.Updated.IsZero() != b.Updated.IsZero() {
		return false
	}
	a.Delivery, a.Updated, b.Delivery, b.Updated = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	return a == b
}

func testFiles(t *testing.T, s sink.Store) {
	ctx := t.Context()
	storeA := newStore(t, s, "store-a", base)
	storeB := newStore(t, s, "store-b", base)
	imp1 := newImport(t, s, "import-1", storeA.ID, base)
	imp2 := newImport(t, s, "import-2", storeA.ID, base.Add(time.Second))
	imp3 := newImport(t, s, "import-3", storeB.ID, base.Add(2*time.Second))

	const dayA, dayB = "AWSLogs/1/CloudTrail/us-east-1/2023/07/10/", "AWSLogs/1/CloudTrail/us-east-1/2023/07/11/"
	mk := func(imp, prefix, name string, st sink.FileStatus, errType string) sink.File {
		f := sink.File{
			ImportID: imp, Key: prefix + name, Prefix: prefix, ETag: `"etag-` + name + `"`, Size: int64(len(name)) * 1000,
			Delivery: base.Add(5 * time.Minute), Status: st, Events: int64(len(name)), Updated: base.Add(time.Hour),
		}
		if errType != "" {
			f.ErrorType, f.ErrorMessage, f.Attempts = errType, "failed: "+errType, 2
		}
		return f
	}
	f1a := mk(imp1.ID, dayA, "a.json.gz", sink.FileImported, "")
	f1b := mk(imp1.ID, dayA, "b.json.gz", sink.FileRetry, "Throttling")
	f1c := mk(imp1.ID, dayB, "c.json.gz", sink.FileFailed, "InvalidJSON")
	f1d := mk(imp1.ID, dayB, "d.json.gz", sink.FileImported, "SlowDown")
	f2a := mk(imp2.ID, dayA, "a.json.gz", sink.FileImported, "")
	f2e := mk(imp2.ID, dayB, "e.json.gz", sink.FileRetry, "Timeout")
	f3a := mk(imp3.ID, dayA, "a.json.gz", sink.FileImported, "")
	f3a.Delivery = time.Time{}

	wA := newWriter(t, s, storeA.ID)
	commit(t, wA, sink.Commit{Files: []sink.File{f1d, f1c, f1b, f1a}})
	commit(t, wA, sink.Commit{Files: []sink.File{f2e, f2a}})
	wB := newWriter(t, s, storeB.ID)
	commit(t, wB, sink.Commit{Files: []sink.File{f3a}})

	tests := []struct {
		name string
		q    sink.FileQuery
		want []sink.File
	}{
		{"import", sink.FileQuery{ImportID: imp1.ID}, []sink.File{f1a, f1b, f1c, f1d}},
		{"store", sink.FileQuery{StoreID: storeA.ID}, []sink.File{f1a, f2a, f1b, f1c, f1d, f2e}},
		{"other store", sink.FileQuery{StoreID: storeB.ID}, []sink.File{f3a}},
		{"all", sink.FileQuery{}, []sink.File{f1a, f2a, f3a, f1b, f1c, f1d, f2e}},
		{"import and store", sink.FileQuery{ImportID: imp1.ID, StoreID: storeB.ID}, nil},
		{"unknown import", sink.FileQuery{ImportID: "nope"}, nil},
		{"prefix", sink.FileQuery{ImportID: imp1.ID, Prefix: dayB}, []sink.File{f1c, f1d}},
		{"key prefix", sink.FileQuery{ImportID: imp1.ID, Prefix: dayA + "b"}, []sink.File{f1b}},
		{"status", sink.FileQuery{ImportID: imp1.ID, Statuses: []sink.FileStatus{sink.FileImported}}, []sink.File{f1a, f1d}},
		{"statuses", sink.FileQuery{StoreID: storeA.ID, Statuses: []sink.FileStatus{sink.FileRetry, sink.FileFailed}}, []sink.File{f1b, f1c, f2e}},
		{"failed", sink.FileQuery{ImportID: imp1.ID, Failed: true}, []sink.File{f1b, f1c, f1d}},
		{"after", sink.FileQuery{ImportID: imp1.ID, After: dayA + "b.json.gz"}, []sink.File{f1c, f1d}},
		{"limit", sink.FileQuery{ImportID: imp1.ID, Limit: 3}, []sink.File{f1a, f1b, f1c}},
		{"page", sink.FileQuery{ImportID: imp1.ID, After: dayA + "a.json.gz", Limit: 2}, []sink.File{f1b, f1c}},
		{"combined", sink.FileQuery{StoreID: storeA.ID, Prefix: dayB, Statuses: []sink.FileStatus{sink.FileImported, sink.FileRetry}, Failed: true, After: dayB + "d", Limit: 1}, []sink.File{f1d}},
	}
	for _, tt := range tests {
		got, err := s.Files(ctx, tt.q)
		if err != nil {
			t.Errorf("%s: Files: %v", tt.name, err)
			continue
		}
		if len(got) != len(tt.want) {
			t.Errorf("%s: Files = %d rows %v, want %d", tt.name, len(got), fileKeys(got), len(tt.want))
			continue
		}
		for i := range got {
			if !sameFile(got[i], tt.want[i]) {
				t.Errorf("%s: Files[%d] = %+v, want %+v", tt.name, i, got[i], tt.want[i])
			}
		}
	}
}

func fileKeys(files []sink.File) []string {
	var keys []string
	for _, f := range files {
		keys = append(keys, f.ImportID+":"+f.Key)
	}
	return keys
}

func testUpsertRows(t *testing.T, s sink.Store) {
	ctx := t.Context()
	eds := newStore(t, s, "store", base)
	imp := newImport(t, s, "import-1", eds.ID, base)
	w := newWriter(t, s, eds.ID)

	retry := file(imp.ID, "k1", sink.FileRetry)
	retry.ErrorType, retry.Attempts = "Throttling", 1
	done := retry
	done.Status, done.Attempts, done.Events = sink.FileImported, 2, 7
	commit(t, w, sink.Commit{
		Files:    []sink.File{retry, done, file(imp.ID, "k2", sink.FileRetry)},
		Prefixes: []sink.Prefix{{ImportID: imp.ID, Key: "p2/"}, {ImportID: imp.ID, Key: "p1/"}, {ImportID: imp.ID, Key: "p2/", Completed: true}},
	})
	files, err := s.Files(ctx, sink.FileQuery{ImportID: imp.ID})
	if err != nil {
		t.Fatalf("Files: %v", err)
	}
	if len(files) != 2 || !sameFile(files[0], done) || files[1].Status != sink.FileRetry {
		t.Errorf("after one commit with a file twice: Files = %+v, want %+v and k2 RETRY", files, done)
	}
	prefixes, err := s.Prefixes(ctx, imp.ID)
	if err != nil {
		t.Fatalf("Prefixes: %v", err)
	}
	if len(prefixes) != 2 || prefixes[0].Key != "p1/" || prefixes[0].Completed || prefixes[1].Key != "p2/" || !prefixes[1].Completed {
		t.Errorf("Prefixes = %+v, want p1/ and completed p2/", prefixes)
	}

	again := done
	again.Status, again.ErrorType, again.ErrorMessage, again.Attempts = sink.FileFailed, "AccessDenied", "denied", 3
	k2 := file(imp.ID, "k2", sink.FileImported)
	updated := imp
	updated.Status, updated.Updated = "COMPLETED", base.Add(time.Hour)
	for range 2 {
		commit(t, w, sink.Commit{
			Files:    []sink.File{again, k2},
			Prefixes: []sink.Prefix{{ImportID: imp.ID, Key: "p1/", Completed: true, Updated: base.Add(time.Hour)}},
			Import:   &updated,
		})
	}
	files, err = s.Files(ctx, sink.FileQuery{ImportID: imp.ID})
	if err != nil {
		t.Fatalf("Files: %v", err)
	}
	if len(files) != 2 || !sameFile(files[0], again) || !sameFile(files[1], k2) {
		t.Errorf("after later commits: Files = %+v, want %+v, %+v", files, again, k2)
	}
	prefixes, err = s.Prefixes(ctx, imp.ID)
	if err != nil {
		t.Fatalf("Prefixes: %v", err)
	}
	if len(prefixes) != 2 || !prefixes[0].Completed || !prefixes[0].Updated.Equal(base.Add(time.Hour)) {
		t.Errorf("Prefixes = %+v, want p1/ completed at %v", prefixes, base.Add(time.Hour))
	}
	if got, err := s.Import(ctx, imp.ID); err != nil || !sameImport(got, updated) {
		t.Errorf("Import after commit = %+v, %v; want %+v", got, err, updated)
	}
}

func testStats(t *testing.T, s sink.Store) {
	ctx := t.Context()
	eds := newStore(t, s, "store", base)
	imp := newImport(t, s, "import-1", eds.ID, base)
	other := newImport(t, s, "import-2", eds.ID, base)
	if st, err := s.Stats(ctx, imp.ID); err != nil || st != (sink.Stats{}) {
		t.Errorf("Stats of a new import = %+v, %v; want zero", st, err)
	}
	w := newWriter(t, s, eds.ID)
	withEvents := func(f sink.File, n int64) sink.File { f.Events, f.Size = n, 1000+n; return f }
	commit(t, w, sink.Commit{
		Files: []sink.File{
			withEvents(file(imp.ID, "a", sink.FileImported), 10),
			withEvents(file(imp.ID, "b", sink.FileImported), 5),
			withEvents(file(imp.ID, "c", sink.FileRetry), 3),
			withEvents(file(imp.ID, "d", sink.FileFailed), 0),
			file(imp.ID, "e", sink.FileFailed),
			withEvents(file(other.ID, "a", sink.FileImported), 100),
		},
		Prefixes: []sink.Prefix{
			{ImportID: imp.ID, Key: "p1/", Completed: true},
			{ImportID: imp.ID, Key: "p2/"},
			{ImportID: imp.ID, Key: "p3/", Completed: true},
			{ImportID: other.ID, Key: "p1/", Completed: true},
		},
	})
	want := sink.Stats{PrefixesFound: 3, PrefixesCompleted: 2, FilesCompleted: 2, EventsCompleted: 15, BytesCompleted: 1010 + 1005, FailedEntries: 3}
	if st, err := s.Stats(ctx, imp.ID); err != nil || st != want {
		t.Errorf("Stats = %+v, %v; want %+v", st, err, want)
	}
	commit(t, w, sink.Commit{Files: []sink.File{withEvents(file(imp.ID, "c", sink.FileImported), 3)}})
	want.FilesCompleted, want.EventsCompleted, want.BytesCompleted, want.FailedEntries = 3, 18, 1010+1005+1003, 2
	if st, err := s.Stats(ctx, imp.ID); err != nil || st != want {
		t.Errorf("Stats after a retry succeeded = %+v, %v; want %+v", st, err, want)
	}
}

func testCommitVisibility(t *testing.T, s sink.Store) {
	eds := newStore(t, s, "store", base)
	imp := newImport(t, s, "import-1", eds.ID, base)
	w := newWriter(t, s, eds.ID)
	a, b := events("a", 3, base), events("b", 2, base.Add(time.Hour))
	appendEvents(t, w, "ka", a[:2])
	appendEvents(t, w, "kb", b)
	appendEvents(t, w, "ka", a[2:])
	if got := readEvents(t, s, eds.ID); len(got) != 0 {
		t.Errorf("before any commit, %d events are visible", len(got))
	}
	wantResult(t, commit(t, w, sink.Commit{Files: []sink.File{file(imp.ID, "kb", sink.FileImported)}}), 2, 0)
	wantKeys(t, s, eds.ID, keysOf("kb", b, nil))
	wantResult(t, commit(t, w, sink.Commit{Files: []sink.File{file(imp.ID, "ka", sink.FileImported)}}), 3, 0)
	wantKeys(t, s, eds.ID, keysOf("ka", a, keysOf("kb", b, nil)))
	wantResult(t, commit(t, w, sink.Commit{Files: []sink.File{file(imp.ID, "ka", sink.FileImported)}}), 0, 0)
}

// testRestage checks that a file committed as RETRY can be staged anew,
// and that only its new events are stored when it is imported.
func testRestage(t *testing.T, s sink.Store) {
	eds := newStore(t, s, "store", base)
	imp := newImport(t, s, "import-1", eds.ID, base)
	w := newWriter(t, s, eds.ID)
	a, b := events("a", 3, base), events("b", 2, base)
	appendEvents(t, w, "ka", a)
	appendEvents(t, w, "kb", b)
	wantResult(t, commit(t, w, sink.Commit{Files: []sink.File{file(imp.ID, "ka", sink.FileRetry)}}), 0, 0)
	a2 := events("a2", 1, base)
	appendEvents(t, w, "ka", a2)
	res := commit(t, w, sink.Commit{Files: []sink.File{file(imp.ID, "ka", sink.FileImported), file(imp.ID, "kb", sink.FileImported)}})
	wantResult(t, res, 3, 0)
	wantKeys(t, s, eds.ID, keysOf("ka", a2, keysOf("kb", b, nil)))
}

func testFailedFilesDropEvents(t *testing.T, s sink.Store) {
	eds := newStore(t, s, "store", base)
	imp := newImport(t, s, "import-1", eds.ID, base)
	w := newWriter(t, s, eds.ID)
	a, b, c := events("a", 2, base), events("b", 2, base), events("c", 2, base)
	appendEvents(t, w, "ka", a)
	appendEvents(t, w, "kb", b)
	appendEvents(t, w, "kc", c)
	res := commit(t, w, sink.Commit{Files: []sink.File{file(imp.ID, "ka", sink.FileRetry), file(imp.ID, "kb", sink.FileFailed)}})
	wantResult(t, res, 0, 0)
	if got := readEvents(t, s, eds.ID); len(got) != 0 {
		t.Errorf("%d events stored by a commit of failed files", len(got))
	}
	res = commit(t, w, sink.Commit{Files: []sink.File{
		file(imp.ID, "ka", sink.FileImported), file(imp.ID, "kb", sink.FileImported), file(imp.ID, "kc", sink.FileImported),
	}})
	wantResult(t, res, 2, 0)
	wantKeys(t, s, eds.ID, keysOf("kc", c, nil))
}

// testDedupIdentity checks that a duplicate is an event with the eventID
// and the eventTime, to the microsecond, of another: an eventID with
// another eventTime is another event, and stored.
func testDedupIdentity(t *testing.T, s sink.Store) {
	eds := newStore(t, s, "store", base)
	imp := newImport(t, s, "import-1", eds.ID, base)
	w := newWriter(t, s, eds.ID)
	first := Event("x", base)
	appendEvents(t, w, "k1", []sink.Event{first})
	wantResult(t, commit(t, w, sink.Commit{Files: []sink.File{file(imp.ID, "k1", sink.FileImported)}}), 1, 0)
	later, sameMicro, noTime := Event("x", base.Add(time.Minute)), Event("x", base.Add(999*time.Nanosecond)), Event("x", base)
	noTime.Null = noTime.Null.With(sink.EventTime)
	appendEvents(t, w, "k2", []sink.Event{later, sameMicro, later, noTime})
	// Stored: the later one once, and the one without an eventTime.
	wantResult(t, commit(t, w, sink.Commit{Files: []sink.File{file(imp.ID, "k2", sink.FileImported)}}), 2, 2)
	if got := readEvents(t, s, eds.ID); len(got) != 3 {
		t.Errorf("%d events stored, want 3", len(got))
	}
}

// testPurgeEvents checks that PurgeEvents removes the events of one store
// from before a time, and no others: not those without an eventTime, not
// another store's.
func testPurgeEvents(t *testing.T, s sink.Store) {
	eds := newStore(t, s, "store", base)
	other := newStore(t, s, "other", base)
	for _, st := range []sink.EventDataStore{eds, other} {
		imp := newImport(t, s, "import-"+st.ID, st.ID, base)
		noTime := Event(st.Name+"-untimed", base)
		noTime.Null = noTime.Null.With(sink.EventTime)
		w := newWriter(t, s, st.ID)
		appendEvents(t, w, "k1", append(events(st.Name, 4, base), noTime))
		wantResult(t, commit(t, w, sink.Commit{Files: []sink.File{file(imp.ID, "k1", sink.FileImported)}}), 5, 0)
		closeWriter(t, w)
	}
	ids := func(storeID string) []string {
		var out []string
		for _, e := range readEvents(t, s, storeID) {
			out = append(out, e.ID)
		}
		slices.Sort(out)
		return out
	}
	for _, tc := range []struct {
		before time.Time
		want   int64
		left   []string
	}{
		{base.Add(2 * time.Second), 2, []string{"store-2", "store-3", "store-untimed"}},
		{base.Add(2 * time.Second), 0, []string{"store-2", "store-3", "store-untimed"}},
		{base.Add(time.Hour), 2, []string{"store-untimed"}},
	} {
		n, err := s.PurgeEvents(t.Context(), eds.ID, tc.before)
		if err != nil || n != tc.want {
			t.Errorf("PurgeEvents before %s = %d, %v; want %d", tc.before, n, err, tc.want)
		}
		if got := ids(eds.ID); !slices.Equal(got, tc.left) {
			t.Errorf("after PurgeEvents before %s the store holds %v, want %v", tc.before, got, tc.left)
		}
	}
	if got := ids(other.ID); len(got) != 5 {
		t.Errorf("the other store holds %v, want its 5 events", got)
	}
	if _, err := s.PurgeEvents(t.Context(), "no-such-store", base); !errors.Is(err, sink.ErrNotFound) {
		t.Errorf("PurgeEvents of an unknown store = %v, want ErrNotFound", err)
	}
}

func testDedup(t *testing.T, s sink.Store) {
	eds := newStore(t, s, "store", base)
	imp := newImport(t, s, "import-1", eds.ID, base)
	w := newWriter(t, s, eds.ID)
	a := events("a", 4, base)
	b := append(events("b", 2, base), a[1], a[3])
	noID := Event("", base)
	noID.Null = noID.Null.With(sink.EventID)
	appendEvents(t, w, "kb", b)
	appendEvents(t, w, "ka", append(a, a[0], noID, noID))
	res := commit(t, w, sink.Commit{Files: []sink.File{file(imp.ID, "ka", sink.FileImported), file(imp.ID, "kb", sink.FileImported)}})
	wantResult(t, res, 8, 3)
	want := keysOf("kb", b, keysOf("ka", a, nil))
	got := readEvents(t, s, eds.ID)
	nulls := 0
	for _, e := range got {
		if e.ID == "" {
			nulls++
		}
	}
	if nulls != 2 {
		t.Errorf("%d events without an eventID stored, want 2 (they are never duplicates)", nulls)
	}
	for id, key := range want {
		n := 0
		for _, e := range got {
			if e.ID == id {
				n++
				if e.Key != key {
					t.Errorf("event %s stored from %s, want %s (the first staged)", id, e.Key, key)
				}
			}
		}
		if n != 1 {
			t.Errorf("event %s stored %d times, want once", id, n)
		}
	}

	again := append(events("c", 1, base), a[2], b[0])
	appendEvents(t, w, "kc", again)
	wantResult(t, commit(t, w, sink.Commit{Files: []sink.File{file(imp.ID, "kc", sink.FileImported)}}), 1, 2)
	appendEvents(t, w, "ka", a)
	wantResult(t, commit(t, w, sink.Commit{Files: []sink.File{file(imp.ID, "ka", sink.FileImported)}}), 0, 4)
	if got := readEvents(t, s, eds.ID); len(got) != 9 {
		t.Errorf("%d events stored, want 9", len(got))
	}
}

func testDedupAcrossImports(t *testing.T, s sink.Store) {
	eds := newStore(t, s, "store", base)
	imp1 := newImport(t, s, "import-1", eds.ID, base)
	imp2 := newImport(t, s, "import-2", eds.ID, base.Add(time.Hour))
	a := events("a", 5, base)
	w := newWriter(t, s, eds.ID)
	appendEvents(t, w, "ka", a)
	wantResult(t, commit(t, w, sink.Commit{Files: []sink.File{file(imp1.ID, "ka", sink.FileImported)}}), 5, 0)
	if err := w.Close(); err != nil {
		t.Fatalf("Writer.Close: %v", err)
	}
	w = newWriter(t, s, eds.ID)
	appendEvents(t, w, "ka", append(a, events("b", 1, base)...))
	wantResult(t, commit(t, w, sink.Commit{Files: []sink.File{file(imp2.ID, "ka", sink.FileImported)}}), 1, 5)
}

func testNoDedupAcrossStores(t *testing.T, s sink.Store) {
	imp := newImport(t, s, "import-1", "", base)
	a := events("a", 5, base)
	for _, name := range []string{"store-1", "store-2"} {
		eds := newStore(t, s, name, base)
		w := newWriter(t, s, eds.ID)
		appendEvents(t, w, "ka", a)
		wantResult(t, commit(t, w, sink.Commit{Files: []sink.File{file(imp.ID, "ka", sink.FileImported)}}), 5, 0)
		wantKeys(t, s, eds.ID, keysOf("ka", a, nil))
	}
}

func testCommitOrder(t *testing.T, s sink.Store) {
	eds := newStore(t, s, "store", base)
	imp := newImport(t, s, "import-1", eds.ID, base)
	w := newWriter(t, s, eds.ID)
	late := events("late", 3, base.Add(time.Hour))
	early := events("early", 3, base)
	appendEvents(t, w, "k1", late)
	appendEvents(t, w, "k2", early)
	same := Event("same-time", base.Add(time.Hour))
	appendEvents(t, w, "k1", []sink.Event{same})
	commit(t, w, sink.Commit{Files: []sink.File{file(imp.ID, "k1", sink.FileImported), file(imp.ID, "k2", sink.FileImported)}})
	var ids []string
	for _, e := range readEvents(t, s, eds.ID) {
		ids = append(ids, e.ID)
	}
	want := []string{"early-0", "early-1", "early-2", "late-0", "same-time", "late-1", "late-2"}
	if !slices.Equal(ids, want) {
		t.Errorf("stored order %v, want %v (by eventTime, then as staged)", ids, want)
	}
}

func testInvalidCommit(t *testing.T, s sink.Store) {
	eds := newStore(t, s, "store", base)
	imp := newImport(t, s, "import-1", eds.ID, base)
	w := newWriter(t, s, eds.ID)
	a, b := events("a", 2, base), events("b", 2, base)
	appendEvents(t, w, "ka", a)
	appendEvents(t, w, "kb", b)
	bad := file(imp.ID, "kb", "DONE")
	if _, err := w.Commit(t.Context(), sink.Commit{Files: []sink.File{file(imp.ID, "ka", sink.FileImported), bad}}); err == nil {
		t.Fatal("Commit of a file with an invalid status succeeded")
	}
	if err := w.Sync(t.Context()); err == nil {
		t.Error("Sync of a failed Writer succeeded")
	}
	if err := w.Append(t.Context(), "kc", events("c", 2, base)); err == nil {
		t.Error("Append to a failed Writer succeeded")
	}
	closeWriter(t, w)

	w = newWriter(t, s, eds.ID)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	appendEvents(t, w, "kc", events("c", 2, base))
	if _, err := w.Commit(ctx, sink.Commit{Files: []sink.File{file(imp.ID, "kc", sink.FileImported)}}); err == nil {
		t.Fatal("Commit with a canceled context succeeded")
	}
	closeWriter(t, w)
	if got := readEvents(t, s, eds.ID); len(got) != 0 {
		t.Errorf("%d events stored by failed commits", len(got))
	}
	if files, err := s.Files(t.Context(), sink.FileQuery{ImportID: imp.ID}); err != nil || len(files) != 0 {
		t.Errorf("failed commits stored rows %v (%v)", fileKeys(files), err)
	}
	w = newWriter(t, s, eds.ID)
	res := commit(t, w, sink.Commit{Files: []sink.File{
		file(imp.ID, "ka", sink.FileImported), file(imp.ID, "kb", sink.FileImported), file(imp.ID, "kc", sink.FileImported),
	}})
	wantResult(t, res, 0, 0)
}

// testSync checks that Commits become visible and durable at Sync, that
// a later Commit already sees the events of earlier ones, and that Close
// and a failed Commit drop what is not synced.
func testSync(t *testing.T, s sink.Store) {
	ctx := t.Context()
	eds := newStore(t, s, "store", base)
	imp := newImport(t, s, "import-1", eds.ID, base)
	w := newWriter(t, s, eds.ID)
	a, b := events("a", 3, base), events("b", 2, base)
	appendEvents(t, w, "ka", a)
	res, err := w.Commit(ctx, sink.Commit{Files: []sink.File{file(imp.ID, "ka", sink.FileImported)}})
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	wantResult(t, res, 3, 0)
	if got := readEvents(t, s, eds.ID); len(got) != 0 {
		t.Errorf("%d events visible before Sync", len(got))
	}
	if st, err := s.Stats(ctx, imp.ID); err != nil || st.FilesCompleted != 0 {
		t.Errorf("Stats before Sync = %+v, %v; want no file completed", st, err)
	}
	appendEvents(t, w, "kdup", a[:1])
	wantResult(t, commit(t, w, sink.Commit{Files: []sink.File{file(imp.ID, "kdup", sink.FileImported)}}), 0, 1)
	wantKeys(t, s, eds.ID, keysOf("ka", a, nil))
	if st, err := s.Stats(ctx, imp.ID); err != nil || st.FilesCompleted != 2 {
		t.Errorf("Stats after Sync = %+v, %v; want 2 files", st, err)
	}

	appendEvents(t, w, "kb", b)
	if _, err := w.Commit(ctx, sink.Commit{Files: []sink.File{file(imp.ID, "kb", sink.FileImported)}}); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	closeWriter(t, w)
	wantKeys(t, s, eds.ID, keysOf("ka", a, nil))

	w = newWriter(t, s, eds.ID)
	appendEvents(t, w, "kb", b)
	if _, err := w.Commit(ctx, sink.Commit{Files: []sink.File{file(imp.ID, "kb", sink.FileImported)}}); err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if _, err := w.Commit(ctx, sink.Commit{Files: []sink.File{file(imp.ID, "kc", "DONE")}}); err == nil {
		t.Fatal("Commit of a file with an invalid status succeeded")
	}
	if err := w.Sync(ctx); err == nil {
		t.Error("Sync after a failed Commit succeeded")
	}
	wantKeys(t, s, eds.ID, keysOf("ka", a, nil))
	if files, err := s.Files(ctx, sink.FileQuery{ImportID: imp.ID, Prefix: "kb"}); err != nil || len(files) != 0 {
		t.Errorf("a Commit before a failed one stored rows %v (%v)", fileKeys(files), err)
	}
}

func testWriterClose(t *testing.T, s sink.Store) {
	ctx := t.Context()
	eds := newStore(t, s, "store", base)
	imp := newImport(t, s, "import-1", eds.ID, base)
	w := newWriter(t, s, eds.ID)
	if w2, err := s.NewWriter(ctx, eds.ID); err == nil {
		_ = w2.Close()
		t.Error("NewWriter succeeded while the store had an open Writer")
	}
	appendEvents(t, w, "ka", events("a", 2, base))
	if err := w.Close(); err != nil {
		t.Fatalf("Writer.Close: %v", err)
	}
	if err := w.Append(ctx, "ka", events("a", 1, base)); err == nil {
		t.Error("Append after Close succeeded")
	}
	w = newWriter(t, s, eds.ID)
	wantResult(t, commit(t, w, sink.Commit{Files: []sink.File{file(imp.ID, "ka", sink.FileImported)}}), 0, 0)
	if got := readEvents(t, s, eds.ID); len(got) != 0 {
		t.Errorf("%d events stored that a closed Writer had staged", len(got))
	}
}

func testConcurrent(t *testing.T, s sink.Store) {
	ctx := t.Context()
	eds := newStore(t, s, "store", base)
	imp := newImport(t, s, "import-1", eds.ID, base)
	w := newWriter(t, s, eds.ID)
	const commits = 20
	var wg sync.WaitGroup
	for g := range 3 {
		wg.Go(func() {
			for i := range commits {
				other := sink.Import{ID: fmt.Sprintf("import-%d-%d", g, i), StoreID: eds.ID, Created: base}
				if err := s.PutImport(ctx, other); err != nil {
					t.Errorf("PutImport: %v", err)
				}
				if _, err := s.Import(ctx, imp.ID); err != nil {
					t.Errorf("Import: %v", err)
				}
				if _, err := s.Stats(ctx, imp.ID); err != nil {
					t.Errorf("Stats: %v", err)
				}
				if _, err := s.Files(ctx, sink.FileQuery{StoreID: eds.ID}); err != nil {
					t.Errorf("Files: %v", err)
				}
				if _, err := s.EventDataStores(ctx); err != nil {
					t.Errorf("EventDataStores: %v", err)
				}
			}
		})
	}
	for i := range commits {
		key := fmt.Sprintf("k%02d", i)
		appendEvents(t, w, key, events(key, 10, base.Add(time.Duration(i)*time.Minute)))
		f := file(imp.ID, key, sink.FileImported)
		f.Events = 10
		updated := imp
		updated.Message = key
		commit(t, w, sink.Commit{Files: []sink.File{f}, Import: &updated})
	}
	wg.Wait()
	want := sink.Stats{FilesCompleted: commits, EventsCompleted: 10 * commits}
	if st, err := s.Stats(ctx, imp.ID); err != nil || st != want {
		t.Errorf("Stats = %+v, %v; want %+v", st, err, want)
	}
	if got := readEvents(t, s, eds.ID); len(got) != 10*commits {
		t.Errorf("%d events stored, want %d", len(got), 10*commits)
	}
	if imps, err := s.Imports(ctx); err != nil || len(imps) != 1+3*commits {
		t.Errorf("Imports = %d imports, %v; want %d", len(imps), err, 1+3*commits)
	}
}

func testShardRuns(t *testing.T, s sink.Store) {
	ss, ok := s.(sink.ShardStore)
	if !ok {
		t.Skip("not a sink.ShardStore")
	}
	ctx := context.Background()
	if runs, err := ss.ShardRuns(ctx, "none"); err != nil || len(runs) != 0 {
		t.Fatalf("ShardRuns of an unknown import = %v, %v; want none", runs, err)
	}
	a := sink.ShardRun{ImportID: "imp", Index: 2, Count: 3, Status: "IN_PROGRESS", Updated: base}
	b := sink.ShardRun{ImportID: "imp", Index: 0, Count: 3, Status: "IN_PROGRESS", Updated: base}
	other := sink.ShardRun{ImportID: "other", Index: 0, Count: 2, Status: "COMPLETED", Updated: base}
	for _, r := range []sink.ShardRun{a, b, other} {
		if err := ss.PutShardRun(ctx, r); err != nil {
			t.Fatalf("PutShardRun(%+v): %v", r, err)
		}
	}
	a.Status, a.Message, a.Updated = "FAILED", "the source went away", base.Add(time.Minute)
	if err := ss.PutShardRun(ctx, a); err != nil {
		t.Fatalf("PutShardRun again: %v", err)
	}
	runs, err := ss.ShardRuns(ctx, "imp")
	if err != nil {
		t.Fatal(err)
	}
	want := []sink.ShardRun{b, a}
	if len(runs) != len(want) {
		t.Fatalf("ShardRuns = %+v; want %+v", runs, want)
	}
	for i := range want {
		if runs[i].ImportID != want[i].ImportID || runs[i].Index != want[i].Index || runs[i].Count != want[i].Count ||
			runs[i].Status != want[i].Status || runs[i].Message != want[i].Message || !runs[i].Updated.Equal(want[i].Updated) {
			t.Errorf("ShardRuns[%d] = %+v; want %+v", i, runs[i], want[i])
		}
	}
	for _, bad := range []sink.ShardRun{{ImportID: "imp", Index: 3, Count: 3}, {ImportID: "imp", Index: -1, Count: 3}, {Index: 0, Count: 1}} {
		if err := ss.PutShardRun(ctx, bad); err == nil {
			t.Errorf("PutShardRun(%+v) succeeded; want an error", bad)
		}
	}
}

func testStopper(t *testing.T, s sink.Store) {
	st, ok := s.(sink.Stopper)
	if !ok {
		t.Skip("not a sink.Stopper")
	}
	ctx := context.Background()
	want := func(id string, requested bool) {
		t.Helper()
		if got, err := st.StopRequested(ctx, id); err != nil || got != requested {
			t.Errorf("StopRequested(%s) = %v, %v; want %v", id, got, err, requested)
		}
	}
	want("imp", false)
	for range 2 {
		if err := st.RequestStop(ctx, "imp"); err != nil {
			t.Fatal(err)
		}
	}
	want("imp", true)
	want("other", false)
	if err := st.ClearStop(ctx, "imp"); err != nil {
		t.Fatal(err)
	}
	want("imp", false)
	if err := st.ClearStop(ctx, "never"); err != nil {
		t.Errorf("ClearStop of an import never stopped: %v", err)
	}
}
