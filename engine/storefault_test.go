package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/engine"
	"github.com/ctimport/ctimport/internal/trailtest"
	"github.com/ctimport/ctimport/pipeline"
	"github.com/ctimport/ctimport/s3scan"
	"github.com/ctimport/ctimport/s3scan/s3scantest"
	"github.com/ctimport/ctimport/sink"
	"github.com/ctimport/ctimport/sink/duckdbsink"
)

// fullDisk is a sink.Store whose Writers fail as on a full disk once a
// number of their Syncs succeeded: the next call of the chosen kind, and
// every call after it, fails with ENOSPC, the error of a write the file
// system refuses for want of space. With everything set, the Store's own
// writes fail too from then on.
type fullDisk struct {
	sink.Store
	wal        string // the path the failed writes name
	at         string // "Commit" or "Sync": the Writer call that fails first
	syncs      int    // Syncs that succeed before the fault
	everything bool

	mu     sync.Mutex
	synced int
	full   bool
}

// errDiskFull is the error of a write to a full disk, as the os package
// returns it.
func (d *fullDisk) errDiskFull() error {
	return &os.PathError{Op: "write", Path: d.wal, Err: syscall.ENOSPC}
}

// fails reports whether a call of kind fails, and fills the disk when it
// is the first to.
func (d *fullDisk) fails(kind string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.full && kind == d.at && d.synced >= d.syncs {
		d.full = true
	}
	return d.full
}

func (d *fullDisk) isFull() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.full
}

func (d *fullDisk) NewWriter(ctx context.Context, storeID string) (sink.Writer, error) {
	w, err := d.Store.NewWriter(ctx, storeID)
	if err != nil {
		return nil, err
	}
	return &fullDiskWriter{Writer: w, d: d}, nil
}

func (d *fullDisk) PutImport(ctx context.Context, imp sink.Import) error {
	if d.everything && d.isFull() {
		return fmt.Errorf("duckdbsink: put import: %w", d.errDiskFull())
	}
	return d.Store.PutImport(ctx, imp)
}

type fullDiskWriter struct {
	sink.Writer
	d *fullDisk
}

func (w *fullDiskWriter) Commit(ctx context.Context, c sink.Commit) (sink.CommitResult, error) {
	if w.d.fails("Commit") {
		return sink.CommitResult{}, fmt.Errorf("duckdbsink: commit: %w", w.d.errDiskFull())
	}
	return w.Writer.Commit(ctx, c)
}

func (w *fullDiskWriter) Sync(ctx context.Context) error {
	if w.d.fails("Sync") {
		return fmt.Errorf("duckdbsink: sync: %w", w.d.errDiskFull())
	}
	if err := w.Writer.Sync(ctx); err != nil {
		return err
	}
	w.d.mu.Lock()
	w.d.synced++
	w.d.mu.Unlock()
	return nil
}

// duckEnv imports a Mem bucket into a DuckDB database, which it can close
// and open again as a new process would.
type duckEnv struct {
	t     *testing.T
	ctx   context.Context
	path  string
	store *duckdbsink.Store
	spy   *spy
	opts  engine.Options
	eds   string              // the ID of the event data store
	want  map[string][]string // eventIDs by key
}

func newDuckEnv(t *testing.T, opts engine.Options) *duckEnv {
	t.Helper()
	d := &duckEnv{t: t, ctx: t.Context(), path: filepath.Join(t.TempDir(), "store.duckdb"), want: map[string][]string{}}
	d.spy = &spy{Source: s3scantest.NewMem(), opens: map[string]int{}}
	opts.OpenSource = func(ctx context.Context, loc s3scan.Location, src api.S3ImportSource) (s3scan.Source, error) {
		if loc.Bucket != bucket {
			return nil, fmt.Errorf("open %s: %w", loc, s3scan.ErrNoBucket)
		}
		return d.spy, nil
	}
	if opts.Backoff == 0 {
		opts.Backoff = time.Millisecond
	}
	d.opts = opts
	d.open()
	t.Cleanup(func() { d.store.Close() })
	return d
}

// open opens the database, which must not be open.
func (d *duckEnv) open() {
	d.t.Helper()
	s, err := duckdbsink.Open(d.ctx, d.path, duckdbsink.Options{Holder: "engine test"})
	if err != nil {
		d.t.Fatalf("open %s: %v", d.path, err)
	}
	d.store = s
}

// reopen closes the database and opens it again.
func (d *duckEnv) reopen() {
	d.t.Helper()
	if err := d.store.Close(); err != nil {
		d.t.Fatalf("close: %v", err)
	}
	d.open()
}

// engine returns an Engine over the database as wrap shows it, closed
// when the test ends.
func (d *duckEnv) engine(wrap func(sink.Store) sink.Store) *engine.Engine {
	var store sink.Store = d.store
	if wrap != nil {
		store = wrap(store)
	}
	eng := engine.New(store, d.opts)
	d.t.Cleanup(func() { eng.Close() })
	return eng
}

// put puts days × files log files of n events each into the bucket.
func (d *duckEnv) put(days, files, n int) {
	first := time.Date(2024, 4, 1, 0, 0, 0, 0, time.UTC)
	for day := range days {
		for f := range files {
			at := first.AddDate(0, 0, day).Add(time.Duration(f+1) * 20 * time.Minute)
			k := key(at)
			events := evs(fmt.Sprintf("disk-d%d-f%d", day, f), n, at.Add(-10*time.Minute))
			recs := make([]json.RawMessage, len(events))
			for i, e := range events {
				recs[i] = record(e)
			}
			d.spy.Source.(*s3scantest.Mem).Put(k, trailtest.Gzip(logDoc(recs...)))
			d.want[k] = idsOf(events)
		}
	}
}

// wait waits for the run of import id on eng.
func (d *duckEnv) wait(eng *engine.Engine, id string) (api.Import, engine.Progress) {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(d.ctx, waitTimeout)
	defer cancel()
	imp, p, err := eng.Wait(ctx, id)
	if err != nil {
		d.t.Fatalf("Wait(%s): %v", id, err)
	}
	return imp, p
}

// imported returns the keys with an IMPORTED row of import id, and the
// events those rows count.
func (d *duckEnv) imported(id string) (keys map[string]bool, events int64) {
	d.t.Helper()
	files, err := d.store.Files(d.ctx, sink.FileQuery{ImportID: id})
	if err != nil {
		d.t.Fatal(err)
	}
	keys = map[string]bool{}
	for _, f := range files {
		if f.Status != sink.FileImported {
			d.t.Errorf("file %s has status %s (%s: %s); a store failure is no file failure", f.Key, f.Status, f.ErrorType, f.ErrorMessage)
			continue
		}
		if f.Events != int64(len(d.want[f.Key])) {
			d.t.Errorf("the row of %s counts %d events, the file holds %d", f.Key, f.Events, len(d.want[f.Key]))
		}
		keys[f.Key] = true
		events += f.Events
	}
	return keys, events
}

// checkStored checks that the event data store holds exactly the events
// of keys, each once, each from its file.
func (d *duckEnv) checkStored(keys map[string]bool) {
	d.t.Helper()
	rows, err := d.store.Query(d.ctx, "SELECT eventID, sourceObjectKey FROM "+d.eds)
	if err != nil {
		d.t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]int{}
	from := map[string]string{}
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			d.t.Fatal(err)
		}
		got[v[0].(string)]++
		from[v[0].(string)] = v[1].(string)
	}
	if err := rows.Err(); err != nil {
		d.t.Fatal(err)
	}
	want := map[string]string{}
	for k := range keys {
		for _, id := range d.want[k] {
			want[id] = k
		}
	}
	var missing, extra, twice, moved []string
	for id, k := range want {
		switch {
		case got[id] == 0:
			missing = append(missing, id)
		case from[id] != k:
			moved = append(moved, id)
		}
	}
	for id, n := range got {
		if want[id] == "" {
			extra = append(extra, id)
		}
		if n > 1 {
			twice = append(twice, id)
		}
	}
	if len(missing)+len(extra)+len(twice)+len(moved) > 0 {
		slices.Sort(missing)
		slices.Sort(extra)
		slices.Sort(twice)
		slices.Sort(moved)
		d.t.Errorf("the store holds %d events, want %d: missing %s; unexpected %s; stored more than once %s; from another file %s",
			len(got), len(want), short(missing), short(extra), short(twice), short(moved))
	}
}

// TestStoreDiskFull fills the store's disk in the middle of an import: a
// Commit, or the Sync that makes a group of commits durable, fails with
// ENOSPC. The import ends FAILED with a message naming the failed write,
// and no file failure, and the run's progress counts only what is stored;
// the database opens again and holds exactly the files committed before
// the fault, whole; a retry with the space back reads only the other files
// and completes with every event once. When the store cannot even record
// the end of the run, the import stays IN_PROGRESS until Recover marks it
// STOPPED, and then retries the same way.
func TestStoreDiskFull(t *testing.T) {
	const days, files, perFile = 3, 6, 30
	for _, tc := range []struct {
		name       string
		at         string
		everything bool
	}{
		{"Commit", "Commit", false},
		{"Sync", "Sync", false},
		{"every write", "Sync", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := newDuckEnv(t, engine.Options{Config: pipeline.Config{Concurrency: 1, Downloads: 1, PrefetchBytes: 1, BatchEvents: perFile, SyncInterval: 10 * time.Millisecond}})
			d.put(days, files, perFile)
			// A file every few milliseconds: the run syncs its commits
			// several times.
			// The engine's totals, seen as the files are read, never go
			// down, though the progress uncounts the commits the disk lost.
			var running atomic.Pointer[engine.Engine]
			var seen engine.Totals
			var seenMu sync.Mutex
			d.spy.setHook(func(ctx context.Context, key string) error {
				if eng := running.Load(); eng != nil {
					seenMu.Lock()
					seen = eng.Totals()
					seenMu.Unlock()
				}
				select {
				case <-time.After(5 * time.Millisecond):
					return nil
				case <-ctx.Done():
					return ctx.Err()
				}
			})
			disk := &fullDisk{wal: d.path + ".wal", at: tc.at, syncs: 2, everything: tc.everything}
			eng := d.engine(func(s sink.Store) sink.Store { disk.Store = s; return disk })
			running.Store(eng)
			eds, err := eng.CreateEventDataStore(d.ctx, api.CreateEventDataStoreInput{Name: "disk"})
			if err != nil {
				t.Fatal(err)
			}
			d.eds = storeID(eds)
			imp, err := eng.StartImport(d.ctx, newImport(eds.Name, srcURI))
			if err != nil {
				t.Fatal(err)
			}
			id := imp.ImportId
			wctx, cancel := context.WithTimeout(d.ctx, waitTimeout)
			imp, p, werr := eng.Wait(wctx, id)
			cancel()
			switch {
			case tc.everything && (werr == nil || !strings.Contains(werr.Error(), "ended FAILED") || !strings.Contains(werr.Error(), "no space left on device")):
				t.Errorf("Wait: %v; want an error saying that the import ended FAILED, out of space, and that this is not recorded", werr)
			case tc.everything:
				if imp, err = eng.GetImport(d.ctx, api.GetImportInput{ImportId: id}); err != nil {
					t.Fatal(err)
				}
			case werr != nil:
				t.Fatalf("Wait(%s): %v", id, werr)
			}
			seenMu.Lock()
			last := seen
			seenMu.Unlock()
			if got := eng.Totals(); got.Files < last.Files || got.Events < last.Events || got.Bytes < last.Bytes {
				t.Errorf("Totals went down from %+v to %+v", last, got)
			}
			if !disk.isFull() {
				t.Fatalf("the import ended %s before the disk filled", imp.ImportStatus)
			}
			msg, err := eng.Message(d.ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.everything && imp.ImportStatus != api.StatusInProgress:
				t.Errorf("import %s, want IN_PROGRESS: the store refuses to record its end", imp.ImportStatus)
			case tc.everything:
			case imp.ImportStatus != api.StatusFailed:
				t.Errorf("import %s, want FAILED", imp.ImportStatus)
			case !strings.Contains(msg, "pipeline: "+strings.ToLower(tc.at)) || !strings.Contains(msg, "no space left on device") || !strings.Contains(msg, disk.wal):
				t.Errorf("Message %q; want it to say that the %s failed: no space left on device, naming the file", msg, strings.ToLower(tc.at))
			}
			if st := imp.ImportStatistics; st.FailedEntries != 0 {
				t.Errorf("statistics %+v: a store failure made failure entries", *st)
			}
			done, events := d.imported(id)
			if len(done) == 0 || len(done) == days*files {
				t.Errorf("%d of %d files committed before the fault; want those of the %d Syncs that succeeded", len(done), days*files, disk.syncs)
			}
			if st := imp.ImportStatistics; st.FilesCompleted != int64(len(done)) || st.EventsCompleted != events {
				t.Errorf("statistics %+v, the checkpoint rows hold %d files, %d events", *st, len(done), events)
			}
			if p.FilesDone != int64(len(done)) || p.Events != events || p.Stored != events || p.Duplicates != 0 {
				t.Errorf("the run's progress counts %d files, %d events (%d new, %d already stored); %d files, %d events are stored",
					p.FilesDone, p.Events, p.Stored, p.Duplicates, len(done), events)
			}
			d.checkStored(done)

			// The database opens again, with the same content.
			if err := eng.Close(); err != nil {
				t.Fatal(err)
			}
			d.reopen()
			again, _ := d.imported(id)
			if !maps.Equal(again, done) {
				t.Errorf("after reopening, %d files are imported; before, %d", len(again), len(done))
			}
			d.checkStored(done)

			// The space is back: a retry reads only the files not imported.
			eng = d.engine(nil)
			stopped, err := eng.Recover(d.ctx)
			if want := map[bool][]engine.Recovered{true: {{ImportID: id}}}[tc.everything]; err != nil || !slices.Equal(stopped, want) {
				t.Errorf("Recover = %v, %v; want %v", stopped, err, want)
			}
			d.spy.setHook(nil)
			d.spy.reset()
			if _, err := eng.StartImport(d.ctx, api.StartImportInput{ImportId: id}); err != nil {
				t.Fatalf("retry: %v", err)
			}
			imp, _ = d.wait(eng, id)
			if imp.ImportStatus != api.StatusCompleted {
				msg, _ := eng.Message(d.ctx, id)
				t.Fatalf("retry ended %s (%q)", imp.ImportStatus, msg)
			}
			if msg, _ := eng.Message(d.ctx, id); msg != "" {
				t.Errorf("Message after the retry %q, want none", msg)
			}
			all, events := d.imported(id)
			want := api.ImportStatistics{PrefixesFound: days, PrefixesCompleted: days, FilesCompleted: days * files, EventsCompleted: days * files * perFile}
			if *imp.ImportStatistics != want || len(all) != days*files || events != want.EventsCompleted {
				t.Errorf("statistics %+v with %d files, %d events in checkpoint rows; want %+v", *imp.ImportStatistics, len(all), events, want)
			}
			d.checkStored(all)
			opens, _ := d.spy.reset()
			for k := range d.want {
				if n := opens[k]; n != map[bool]int{true: 0, false: 1}[done[k]] {
					t.Errorf("the retry opened %s %d times; imported before the fault: %v", k, n, done[k])
				}
			}
			if f, err := eng.ListImportFailures(d.ctx, api.ListImportFailuresInput{ImportId: id}); err != nil || len(f.Failures) != 0 {
				t.Errorf("ListImportFailures = %+v, %v; want none", f.Failures, err)
			}
		})
	}
}
