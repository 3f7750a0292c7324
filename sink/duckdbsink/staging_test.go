package duckdbsink

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctimport/ctimport/sink"
	"github.com/ctimport/ctimport/sink/sinktest"
)

// newTestWriter returns a writer of a new event data store of s.
func newTestWriter(t *testing.T, s *Store) *writer {
	t.Helper()
	if err := s.CreateEventDataStore(t.Context(), eds); err != nil {
		t.Fatal(err)
	}
	w, err := s.NewWriter(t.Context(), eds.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w.(*writer)
}

// stagedRows returns the number of rows in w's staging table, and whether
// the table exists.
func stagedRows(t *testing.T, w *writer) (int64, bool) {
	t.Helper()
	var n int
	err := w.conn.QueryRowContext(t.Context(), `SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name = ?`, stagingName).Scan(&n)
	if err != nil {
		t.Fatalf("find staging table: %v", err)
	}
	if n == 0 {
		return 0, false
	}
	var rows int64
	if err := w.conn.QueryRowContext(t.Context(), `SELECT count(*) FROM `+stagingTable).Scan(&rows); err != nil {
		t.Fatalf("count staged rows: %v", err)
	}
	return rows, true
}

// inMemory returns the number of events w holds in memory and checks that
// w.mem accounts for them.
func inMemory(t *testing.T, w *writer) int64 {
	t.Helper()
	var n, mem int64
	for key, st := range w.staged {
		var keyMem int64
		for _, b := range st.batches {
			n += int64(len(b.events))
			keyMem += eventsSize(b.events)
		}
		if keyMem != st.mem {
			t.Errorf("key %s: mem %d, want %d", key, st.mem, keyMem)
		}
		mem += keyMem
	}
	if mem != w.mem {
		t.Errorf("writer mem %d, want %d", w.mem, mem)
	}
	return n
}

func imported(keys ...string) sink.Commit {
	var c sink.Commit
	for _, k := range keys {
		c.Files = append(c.Files, sink.File{ImportID: "i", Key: k, Prefix: "p/", Status: sink.FileImported})
	}
	return c
}

// TestStageLimit stages a file far larger than the stage limit next to a
// small one, and checks that the memory staged never exceeds the limit
// and that the file's events are all stored once at its commit.
func TestStageLimit(t *testing.T) {
	ctx := t.Context()
	const limit = 64 << 10
	s, _ := openTempWith(t, Options{StageLimit: limit})
	defer s.Close()
	w := newTestWriter(t, s)
	small := eventsN("small", 5)
	if err := w.Append(ctx, "small", small); err != nil {
		t.Fatal(err)
	}
	const batches, perBatch = 100, 50
	big := eventsN("big", batches*perBatch)
	if size := eventsSize(big); size < 100*limit {
		t.Fatalf("the big file takes %d bytes, want far more than the limit", size)
	}
	buf := make([]sink.Event, perBatch)
	appended := int64(len(small))
	for i := range batches {
		copy(buf, big[i*perBatch:])
		if err := w.Append(ctx, "big", buf); err != nil {
			t.Fatal(err)
		}
		appended += perBatch
		if w.mem > limit {
			t.Fatalf("after append %d: %d bytes staged in memory, over the limit of %d", i, w.mem, limit)
		}
		rows, _ := stagedRows(t, w)
		if mem := inMemory(t, w); rows+mem != appended {
			t.Fatalf("after append %d: %d events staged in the table and %d in memory, want %d in all", i, rows, mem, appended)
		}
	}
	if w.staged["big"].id == 0 || w.staged["small"].id != 0 {
		t.Fatalf("big file staged in the table: %v, small file: %v; want only the big one", w.staged["big"].id != 0, w.staged["small"].id != 0)
	}
	res, err := w.Commit(ctx, imported("big", "small"))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if res.Stored != appended || res.Duplicates != 0 {
		t.Errorf("commit result %+v, want %d stored", res, appended)
	}
	if n := mustCount(t, s, `SELECT count(DISTINCT eventID) FROM "`+eds.ID+`" WHERE sourceObjectKey = 'big'`); n != batches*perBatch {
		t.Errorf("%d distinct events of the big file stored, want %d", n, batches*perBatch)
	}
	if n := mustCount(t, s, `SELECT count(*) FROM "`+eds.ID+`"`); n != appended {
		t.Errorf("%d events stored, want %d", n, appended)
	}
	if _, ok := stagedRows(t, w); ok || w.mem != 0 || len(w.staged) != 0 {
		t.Errorf("after the commit: staging table %v, %d bytes and %d keys staged; want none", ok, w.mem, len(w.staged))
	}
}

// TestStagedDedup commits a key staged in the table with one staged in
// memory, each repeating events of the other and of the events table.
func TestStagedDedup(t *testing.T) {
	ctx := t.Context()
	s, _ := openTempWith(t, Options{StageLimit: 32 << 10})
	defer s.Close()
	w := newTestWriter(t, s)
	ev := func(id string) sink.Event { return sinktest.Event(id, at) }
	noID := ev("")
	noID.Null = noID.Null.With(sink.EventID)

	if err := w.Append(ctx, "old", []sink.Event{ev("x4")}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx, imported("old")); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		key    string
		events []sink.Event
	}{
		{"kb", []sink.Event{ev("x0"), ev("x1")}},
		{"ka", append([]sink.Event{ev("x0"), ev("x2"), noID}, eventsN("fill", 40)...)},
		{"kb", []sink.Event{ev("x2"), ev("x3"), ev("x1"), noID}},
		{"ka", []sink.Event{ev("x3"), ev("x4"), ev("x5"), ev("x5")}},
	}
	for _, st := range steps {
		if err := w.Append(ctx, st.key, st.events); err != nil {
			t.Fatal(err)
		}
	}
	if ka, kb := w.staged["ka"], w.staged["kb"]; ka.id == 0 || kb.id != 0 || len(kb.batches) == 0 {
		t.Fatalf("ka in the table: %v, kb in the table: %v; want only ka", ka.id != 0, kb.id != 0)
	}
	res, err := w.Commit(ctx, imported("ka", "kb"))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	// 53 staged; dropped: the repeats of x0, x1, x2, x3 and x5, and x4,
	// which the table holds.
	if res.Stored != 47 || res.Duplicates != 6 {
		t.Errorf("commit result %+v, want 47 stored, 6 duplicates", res)
	}
	want := map[string]string{"x0": "kb", "x1": "kb", "x2": "ka", "x3": "kb", "x4": "old", "x5": "ka"}
	rows, err := s.Query(ctx, `SELECT eventID, sourceObjectKey FROM "`+eds.ID+`" WHERE eventID LIKE 'x%'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]string{}
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		id, key := v[0].(string), v[1].(string)
		if _, ok := got[id]; ok {
			t.Errorf("event %s stored twice", id)
		}
		got[id] = key
	}
	for id, key := range want {
		if got[id] != key {
			t.Errorf("event %s stored from %q, want %q (the first staged)", id, got[id], key)
		}
	}
	if n := mustCount(t, s, `SELECT count(*) FROM "`+eds.ID+`" WHERE eventID IS NULL`); n != 2 {
		t.Errorf("%d events without an eventID stored, want 2", n)
	}
}

// TestStagedRowsDropped checks that a commit of a file that failed,
// Writer.Close and Store.Close drop the file's rows in the staging
// table, and that nothing else sees them.
func TestStagedRowsDropped(t *testing.T) {
	ctx := t.Context()
	s, path := openTempWith(t, Options{StageLimit: 1})
	w := newTestWriter(t, s)
	stage := func(keys ...string) {
		t.Helper()
		for _, k := range keys {
			if err := w.Append(ctx, k, eventsN(k, 10)); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := func(what string, rows int64, exists bool) {
		t.Helper()
		if n, ok := stagedRows(t, w); n != rows || ok != exists {
			t.Errorf("%s: staging table exists %v with %d rows, want %v with %d", what, ok, n, exists, rows)
		}
	}
	stage("ka", "kb", "kc")
	want("staged", 30, true)
	if n := mustCount(t, s, `SELECT count(*) FROM duckdb_tables() WHERE temporary`); n != 0 {
		t.Errorf("a query sees %d temporary tables, want none", n)
	}
	if rows, err := s.Query(ctx, `SELECT count(*) FROM `+stagingTable); err == nil {
		rows.Close()
		t.Error("a query reads the staging table")
	}
	if _, err := w.Commit(ctx, sink.Commit{Files: []sink.File{{ImportID: "i", Key: "ka", Status: sink.FileRetry}}}); err != nil {
		t.Fatal(err)
	}
	want("after a commit of one failed file", 20, true)
	retry := sink.Commit{Files: []sink.File{
		{ImportID: "i", Key: "kb", Status: sink.FileRetry},
		{ImportID: "i", Key: "kc", Status: sink.FileFailed},
	}}
	if res, err := w.Commit(ctx, retry); err != nil || res != (sink.CommitResult{}) {
		t.Fatalf("Commit = %+v, %v", res, err)
	}
	want("after a commit of failed files", 0, false)

	stage("ka", "kb")
	if _, err := w.Commit(ctx, sink.Commit{Files: []sink.File{{ImportID: "i", Key: "ka", Status: "DONE"}}}); err == nil {
		t.Fatal("Commit of an invalid status succeeded")
	}
	// The staged rows are committed on their own: they stay until the
	// failed writer is closed.
	want("after a failed commit", 20, true)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if n := w.db.Stats().OpenConnections; n != 0 {
		t.Errorf("Writer.Close left %d connections open", n)
	}

	w = newTestWriterOf(t, s)
	stage("kb")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n := w.db.Stats().OpenConnections; n != 0 {
		t.Errorf("Store.Close left %d connections of its writer open", n)
	}
	s, err := Open(ctx, path, Options{StageLimit: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w = newTestWriterOf(t, s)
	res, err := w.Commit(ctx, imported("ka", "kb"))
	if err != nil || res != (sink.CommitResult{}) {
		t.Errorf("Commit of keys a closed writer staged = %+v, %v; want nothing stored", res, err)
	}
}

// newTestWriterOf returns a writer of the event data store of s that
// newTestWriter created.
func newTestWriterOf(t *testing.T, s *Store) *writer {
	t.Helper()
	w, err := s.NewWriter(t.Context(), eds.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Close() })
	return w.(*writer)
}

// TestStagingSameResults runs the same random appends, discards and
// commits through writers that stage everything in memory, everything in
// their staging table, and some of each, and checks that they store the
// same rows in the same order with the same commit results.
func TestStagingSameResults(t *testing.T) {
	ctx := t.Context()
	limits := []int64{0, 1, 24 << 10}
	writers := make([]*writer, len(limits))
	stores := make([]*Store, len(limits))
	for i, limit := range limits {
		stores[i], _ = openTempWith(t, Options{StageLimit: limit})
		defer stores[i].Close()
		writers[i] = newTestWriter(t, stores[i])
	}
	r := rand.New(rand.NewPCG(1, 2))
	keys := []string{"k0", "k1", "k2", "k3", "k4", "k5"}
	randomEvents := func() []sink.Event {
		evs := make([]sink.Event, 1+r.IntN(30))
		for i := range evs {
			evs[i] = sinktest.Event(fmt.Sprintf("e%d", r.IntN(400)), at.Add(time.Duration(r.IntN(3600))*time.Second))
			switch r.IntN(20) {
			case 0:
				evs[i].Null = evs[i].Null.With(sink.EventID)
			case 1:
				evs[i].Null = evs[i].Null.With(sink.EventTime)
			case 2, 3:
				evs[i].Time = at.Add(time.Duration(r.IntN(3000)))
			}
			evs[i].Values[sink.EventName] = fmt.Sprintf("n%d", r.IntN(1000))
		}
		return evs
	}
	spilledCommits, mixedCommits := 0, 0
	for step := range 400 {
		switch op := r.IntN(10); {
		case op < 6:
			key, evs := keys[r.IntN(len(keys))], randomEvents()
			for _, w := range writers {
				if err := w.Append(ctx, key, evs); err != nil {
					t.Fatal(err)
				}
			}
		case op < 7:
			retry := sink.Commit{Files: []sink.File{{ImportID: "i", Key: keys[r.IntN(len(keys))], Status: sink.FileRetry}}}
			for _, w := range writers {
				if _, err := w.Commit(ctx, retry); err != nil {
					t.Fatal(err)
				}
			}
		default:
			var c sink.Commit
			for _, key := range keys {
				switch r.IntN(6) {
				case 0, 1, 2:
					c.Files = append(c.Files, sink.File{ImportID: "i", Key: key, Status: sink.FileImported})
				case 3:
					c.Files = append(c.Files, sink.File{ImportID: "i", Key: key, Status: sink.FileRetry})
				}
			}
			if commitMixes(writers[2], c) {
				mixedCommits++
			}
			if commitMixes(writers[1], c) {
				spilledCommits++
			}
			var first sink.CommitResult
			for i, w := range writers {
				res, err := w.Commit(ctx, c)
				if err == nil {
					err = w.Sync(ctx)
				}
				if err != nil {
					t.Fatalf("step %d: limit %d: Commit: %v", step, limits[i], err)
				}
				if i == 0 {
					first = res
				} else if res != first {
					t.Fatalf("step %d: limit %d: commit result %+v, with everything in memory %+v", step, limits[i], res, first)
				}
			}
		}
	}
	if mixedCommits == 0 || spilledCommits == 0 {
		t.Fatalf("%d commits read the staging table, %d of them with events in memory too; want some of each", spilledCommits, mixedCommits)
	}
	want := storedRows(t, stores[0])
	if len(want) == 0 {
		t.Fatal("nothing stored")
	}
	for i, s := range stores[1:] {
		if got := storedRows(t, s); !slices.Equal(got, want) {
			t.Errorf("limit %d: %d rows stored differ from the %d stored with everything in memory", limits[i+1], len(got), len(want))
		}
	}
}

// commitMixes reports whether c imports a key w staged in its table. When
// w is the writer of the middle limit, it also needs a key in memory.
func commitMixes(w *writer, c sink.Commit) bool {
	table, memory := false, false
	for _, f := range c.Files {
		if st := w.staged[f.Key]; st != nil && f.Status == sink.FileImported {
			table = table || st.id != 0
			memory = memory || len(st.batches) > 0
		}
	}
	if w.limit == 1 {
		return table
	}
	return table && memory
}

// storedRows returns every column of every stored event, in rowid order.
func storedRows(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.Query(t.Context(), `SELECT * FROM ctimport_events."`+eds.ID+`" ORDER BY rowid`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprint(v...))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDuckDBSettings checks that Open applies MemoryLimit and keeps
// DuckDB's temp directory next to the database, where a staging table
// larger than the memory limit goes.
func TestDuckDBSettings(t *testing.T) {
	ctx := t.Context()
	s, path := openTempWith(t, Options{MemoryLimit: 64 << 20, StageLimit: 4 << 20})
	defer s.Close()
	var limit, dir string
	err := s.db.QueryRowContext(ctx, `SELECT current_setting('memory_limit'), current_setting('temp_directory')`).Scan(&limit, &dir)
	if err != nil {
		t.Fatal(err)
	}
	if limit != "64.0 MiB" || dir != path+".tmp" {
		t.Errorf("memory_limit %q, temp_directory %q; want 64.0 MiB and %s", limit, dir, path+".tmp")
	}
	if testing.Short() {
		return
	}
	w := newTestWriter(t, s)
	const perBatch = 100
	var staged int64
	for i := range 300 {
		evs := eventsN(fmt.Sprintf("b%d", i), perBatch)
		for j := range evs {
			evs[j].Values[sink.RequestParameters] = fmt.Sprintf(`{"pad":%q}`, randomText(4<<10))
		}
		staged += eventsSize(evs)
		if err := w.Append(ctx, "big", evs); err != nil {
			t.Fatal(err)
		}
	}
	var spilled int64
	err = w.conn.QueryRowContext(ctx, `SELECT coalesce(sum(size), 0)::BIGINT FROM duckdb_temporary_files()`).Scan(&spilled)
	if err != nil {
		t.Fatal(err)
	}
	if spilled == 0 {
		t.Errorf("%d MiB staged with a memory limit of 64 MiB, and no temporary file", staged>>20)
	}
	res, err := w.Commit(ctx, imported("big"))
	if err != nil || res.Stored != 300*perBatch {
		t.Errorf("Commit = %+v, %v; want %d stored", res, err, 300*perBatch)
	}
}

// randomText returns n random letters.
func randomText(n int) string {
	var b strings.Builder
	for range n {
		b.WriteByte(byte('a' + rand.IntN(26)))
	}
	return b.String()
}
