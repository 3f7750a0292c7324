package pgsink_test

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/minio/minio-go/v7"

	"github.com/ctimport/ctimport/internal/miniotest"
	"github.com/ctimport/ctimport/internal/pgtest"
	"github.com/ctimport/ctimport/sink"
	"github.com/ctimport/ctimport/sink/pgsink"
	"github.com/ctimport/ctimport/sink/sinktest"
)

func TestMain(m *testing.M) {
	defer pgtest.StopShared()
	defer miniotest.StopShared()
	m.Run()
}

// options returns the options of a Store on a database and a bucket of
// its own.
func options(t *testing.T) pgsink.Options {
	t.Helper()
	m := miniotest.Shared(t)
	return pgsink.Options{
		URL:       pgtest.Shared(t).NewDatabase(t),
		Warehouse: "s3://" + m.NewBucket(t) + "/tables",
		S3:        pgsink.S3Options{EndpointURL: m.Endpoint(), AccessKeyID: m.AccessKey(), SecretAccessKey: m.SecretKey()},
		CacheDir:  t.TempDir(),
	}
}

func open(t *testing.T, opts pgsink.Options) *pgsink.Store {
	t.Helper()
	s, err := pgsink.Open(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// at is the time of the tests' event data stores and events.
var at = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)

// createStore creates the event data store id, named id.
func createStore(t *testing.T, s *pgsink.Store, id string) {
	t.Helper()
	if err := s.CreateEventDataStore(t.Context(), sink.EventDataStore{ID: id, Name: id, ARN: "arn:" + id, Created: at}); err != nil {
		t.Fatal(err)
	}
}

// writeFile stores the events of the object key in event data store id
// through a Writer of its own, synced.
func writeFile(t *testing.T, s *pgsink.Store, id, key string, events ...sink.Event) {
	t.Helper()
	ctx := t.Context()
	w, err := s.NewWriter(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Append(ctx, key, events); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx, sink.Commit{Files: []sink.File{{ImportID: "i", Key: key, Status: sink.FileImported, Events: int64(len(events))}}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Sync(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestSuite(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) sink.Store { return open(t, options(t)) })
}

// TestRowsLost checks the window between a Writer's Iceberg commit and its
// rows: a process that dies there leaves events in the table and no rows;
// the next run reads the files again and stores each event once, with its
// rows.
func TestRowsLost(t *testing.T) {
	ctx := t.Context()
	opts := options(t)
	s := open(t, opts)
	defer s.Close()
	createStore(t, s, "store-1")
	imp := sink.Import{ID: "import-1", StoreID: "store-1", Status: "IN_PROGRESS", Created: at}
	if err := s.PutImport(ctx, imp); err != nil {
		t.Fatal(err)
	}
	write := func(st *pgsink.Store, keys ...string) sink.CommitResult {
		w, err := st.NewWriter(ctx, "store-1")
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		var c sink.Commit
		for i, k := range keys {
			evs := []sink.Event{sinktest.Event(k+"-a", at.Add(time.Duration(i)*time.Minute)), sinktest.Event(k+"-b", at.Add(time.Duration(i)*time.Minute+time.Second))}
			if err := w.Append(ctx, k, evs); err != nil {
				t.Fatal(err)
			}
			c.Files = append(c.Files, sink.File{ImportID: imp.ID, Key: k, ETag: "etag-" + k, Status: sink.FileImported, Events: 2})
		}
		res, err := w.Commit(ctx, c)
		if err == nil {
			err = w.Sync(ctx)
		}
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	write(s, "k1", "k2")
	// The rows of the commit are lost, as when the process died after the
	// Iceberg commit.
	db, err := sql.Open("pgx", opts.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `DELETE FROM ctimport_files`); err != nil {
		t.Fatal(err)
	}

	// Another process, with an empty cache, reads both files again and a
	// third one.
	opts.CacheDir = t.TempDir()
	again := open(t, opts)
	defer again.Close()
	res := write(again, "k1", "k2", "k3")
	if res.Stored != 2 || res.Duplicates != 4 {
		t.Errorf("the second run stored %d and found %d duplicates; want 2 and 4", res.Stored, res.Duplicates)
	}
	counts, err := again.EventCounts(ctx, "store-1", sink.EventCountQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"k1", "k2", "k3"} {
		if counts[k] != 2 {
			t.Errorf("%s has %d events stored, want 2 (counts %v)", k, counts[k], counts)
		}
	}
	st, err := again.Stats(ctx, imp.ID)
	if err != nil {
		t.Fatal(err)
	}
	if st.FilesCompleted != 3 || st.EventsCompleted != 6 {
		t.Errorf("stats %+v; want 3 files and 6 events", st)
	}
	rows, err := again.Query(ctx, `SELECT count(*), count(DISTINCT eventID) FROM "store-1"`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if !rows.Next() {
		t.Fatalf("no row: %v", rows.Err())
	}
	v, err := rows.Values()
	if err != nil || v[0] != int64(6) || v[1] != int64(6) {
		t.Errorf("the query counts %v (%v); want 6 events, 6 eventIDs", v, err)
	}
}

// TestOpenTogether opens stores on one new database from several
// goroutines at once, as shards starting together do.
func TestOpenTogether(t *testing.T) {
	opts := options(t)
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			s, err := pgsink.Open(context.Background(), opts)
			if err == nil {
				err = s.Close()
			}
			errs <- err
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

func TestBadOptions(t *testing.T) {
	for _, opts := range []pgsink.Options{
		{URL: "mysql://x", Warehouse: "s3://b/p"},
		{URL: "postgres://127.0.0.1:1/x", Warehouse: "b/p"},
		{URL: "postgres://127.0.0.1:1/x", Warehouse: "s3://"},
	} {
		if _, err := pgsink.Open(t.Context(), opts); err == nil {
			t.Errorf("Open(%+v) succeeded", opts)
		}
	}
}

// TestCatalogProperties opens the tables' catalog by its properties, as a
// REST or Glue catalog is opened: here the SQL catalog of the state
// database, named so.
func TestCatalogProperties(t *testing.T) {
	ctx := t.Context()
	opts := options(t)
	opts.Catalog = iceberg.Properties{"type": "sql", "sql.driver": "pgx", "sql.dialect": "postgres", "uri": opts.URL}
	s := open(t, opts)
	defer s.Close()
	createStore(t, s, "store-1")
	writeFile(t, s, "store-1", "k", sinktest.Event("e1", at))
	missing, err := s.MissingEvents(ctx, "store-1", []sink.Identity{{ID: "e1", Time: at}, {ID: "e2", Time: at}})
	if err != nil || len(missing) != 1 || missing[0].ID != "e2" {
		t.Errorf("MissingEvents = %v, %v; want e2 alone", missing, err)
	}
	if _, err := pgsink.Open(ctx, pgsink.Options{URL: opts.URL, Warehouse: opts.Warehouse, Catalog: iceberg.Properties{"type": "no-such-catalog"}}); err == nil {
		t.Error("Open with a catalog type iceberg-go does not know succeeded")
	}
}

// TestDropDeletesFiles checks that dropping an event data store deletes
// its table's files.
func TestDropDeletesFiles(t *testing.T) {
	ctx := t.Context()
	opts := options(t)
	s := open(t, opts)
	defer s.Close()
	for _, id := range []string{"kept", "dropped"} {
		createStore(t, s, id)
		writeFile(t, s, id, "k", sinktest.Event(id, at))
	}
	if err := s.DropEventDataStore(ctx, "dropped"); err != nil {
		t.Fatal(err)
	}
	bucket, prefix, _ := strings.Cut(strings.TrimPrefix(opts.Warehouse, "s3://"), "/")
	files := map[string]int{}
	for obj := range miniotest.Shared(t).Client().ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix + "/", Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		table, _, _ := strings.Cut(strings.TrimPrefix(obj.Key, prefix+"/"), "/")
		files[table]++
	}
	if files["dropped"] != 0 || files["kept"] == 0 {
		t.Errorf("files by table after the drop: %v; want none of the dropped table's, the kept table's all", files)
	}
}
