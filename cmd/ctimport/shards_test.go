package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/iceberg-go/table"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/internal/icebergtest"
	"github.com/ctimport/ctimport/internal/pgtest"
	"github.com/ctimport/ctimport/pipeline"
	"github.com/ctimport/ctimport/s3scan"
	"github.com/ctimport/ctimport/sink/pgsink"
)

// unitOf returns the account and region prefix of a log file's key, as
// shards split a source.
func unitOf(t *testing.T, key string) s3scan.DayPrefix {
	t.Helper()
	parts := strings.Split(key[strings.Index(key, "AWSLogs/")+len("AWSLogs/"):], "/")
	d := s3scan.DayPrefix{Account: parts[0], Region: parts[2]}
	if strings.HasPrefix(parts[0], "o-") {
		d = s3scan.DayPrefix{Org: parts[0], Account: parts[1], Region: parts[3]}
	}
	return d
}

// TestShardsIceberg imports the corpus as three shard processes into an
// Iceberg table, with the state in PostgreSQL; the shard with the most
// files is killed while it commits, and started again with an empty
// working directory. The table then holds the corpus's events once each,
// as an import by one process does, and GetImport agrees.
func TestShardsIceberg(t *testing.T) {
	t.Parallel()
	l := newLayout(t)
	for _, set := range corpusSets(t) {
		l.corpus(set, "")
	}
	want := l.ids(nil)
	srv, bucket := l.newBucket()
	warehouse := srv.NewBucket(t)
	db := pgtest.Shared(t).NewDatabase(t)
	env := append(s3Env(srv), "CTIMPORT_WAREHOUSE=s3://"+warehouse+"/tables")
	h := newHarness(t, env...)
	h.db = db
	sharded := h.createStore("sharded")
	single := h.createStore("single")

	// The shard of the largest account and region is the one killed.
	const shards = 3
	files := make([]int, shards)
	for _, k := range l.logKeys() {
		for i := range shards {
			if (pipeline.Shard{Index: i, Count: shards}).Owns(unitOf(t, k)) {
				files[i]++
			}
		}
	}
	victim := slices.Index(files, slices.Max(files))
	if slices.Contains(files, 0) {
		t.Fatalf("the corpus's accounts and regions leave a shard nothing: %v files", files)
	}

	// The victim reads the source and writes the table through a proxy
	// that paces its reads and holds the new table metadata of its
	// commit: its data files are written, the table does not list them.
	px := newCrashProxy(t, srv.Endpoint(), 150*time.Millisecond)
	px.armPut(".metadata.json", 0)
	args := func(i int) []string {
		return []string{"start-import", "--destinations", sharded.EventDataStoreArn, "--import-source", importSource("s3://" + bucket + "/"), "--shard", fmt.Sprintf("%d/%d", i, shards)}
	}
	var procs [shards]*process
	for i := range shards {
		hi := h
		if i == victim {
			hi = h.with("AWS_ENDPOINT_URL_S3=" + px.endpoint())
		}
		procs[i] = hi.start(args(i)...)
	}
	select {
	case <-px.held:
	case <-procs[victim].done:
		t.Fatalf("shard %d ended before its commit\n%s", victim, procs[victim].wait())
	case <-time.After(time.Minute):
		t.Fatalf("shard %d made no commit within a minute", victim)
	}
	procs[victim].cmd.Process.Kill()
	procs[victim].wait()
	for i, p := range procs {
		if i != victim {
			h.want(exitOK, p.wait())
		}
	}
	imp := decode[api.Import](t, procs[(victim+1)%shards].wait())
	if got := h.getImport(imp.ImportId); got.ImportStatus != api.StatusInProgress {
		t.Errorf("with shard %d killed the import is %s, want IN_PROGRESS", victim, got.ImportStatus)
	}

	// Started again on another machine: a working directory of its own.
	again := newHarness(t, env...)
	again.db = db
	o := again.expect(exitOK, args(victim)...)
	if !strings.Contains(o.stderr, fmt.Sprintf("shard %d/%d of import %s COMPLETED", victim, shards, imp.ImportId)) {
		t.Errorf("the shard started again does not report its end\n%s", o)
	}
	got := h.getImport(imp.ImportId)
	one, _ := h.startImport(exitOK, single.EventDataStoreArn, "s3://"+bucket+"/")

	if got.ImportStatus != api.StatusCompleted || one.ImportStatus != api.StatusCompleted {
		t.Fatalf("the shards' import is %s and the single import %s; want both COMPLETED", got.ImportStatus, one.ImportStatus)
	}
	if *got.ImportStatistics != *one.ImportStatistics {
		t.Errorf("the shards' statistics %+v differ from the single import's %+v", *got.ImportStatistics, *one.ImportStatistics)
	}
	if st := got.ImportStatistics; st.EventsCompleted != int64(l.count()) || st.FilesCompleted != int64(len(l.logKeys())) || st.FailedEntries != 0 {
		t.Errorf("statistics %+v; want %d events of %d files", *st, l.count(), len(l.logKeys()))
	}

	// The table read two ways: by iceberg-go's scan, and by DuckDB over
	// the data files of its current snapshot (what Athena or Trino read).
	tbl := icebergtest.New(icebergtest.Catalog(t, db, pgsink.CatalogName, srv), table.Identifier{pgsink.Namespace, storeID(sharded.EventDataStoreArn)}, srv)
	counts := map[string]map[string]int{
		"iceberg-go scan":     tbl.ScanIDs(t),
		"DuckDB read_parquet": tbl.ParquetIDs(t),
		"ctimport query":      h.storedIDs(storeID(sharded.EventDataStoreArn)),
		"the single import":   h.storedIDs(storeID(single.EventDataStoreArn)),
	}
	for how, ids := range counts {
		checkIDs(t, how, ids, want)
	}
}

// TestShardsStop stops an import of two shard processes with stop-import
// from a third, then runs the shards again to the import's end.
func TestShardsStop(t *testing.T) {
	t.Parallel()
	l := newLayout(t)
	for _, set := range corpusSets(t) {
		l.corpus(set, "")
	}
	srv, bucket := l.newBucket()
	db := pgtest.Shared(t).NewDatabase(t)
	env := append(s3Env(srv), "CTIMPORT_WAREHOUSE=s3://"+srv.NewBucket(t)+"/tables")
	h := newHarness(t, env...)
	h.db = db
	store := h.createStore("stopped")
	args := func(i int) []string {
		return []string{"start-import", "--destinations", store.EventDataStoreArn, "--import-source", importSource("s3://" + bucket + "/"), "--shard", fmt.Sprintf("%d/2", i)}
	}
	// The shards read through a proxy slow enough to be stopped midway.
	px := newCrashProxy(t, srv.Endpoint(), 200*time.Millisecond)
	slow := h.with("AWS_ENDPOINT_URL_S3=" + px.endpoint())
	procs := []*process{slow.start(args(0)...), slow.start(args(1)...)}
	var id string
	poll(t, "the shards' import", func() bool {
		if imps := h.listImports(); len(imps) == 1 && px.gets.Load() > 4 {
			id = imps[0].ImportId
			return true
		}
		return false
	})
	if got := decode[api.Import](t, h.expect(exitOK, "stop-import", "--import-id", id)); got.ImportStatus != api.StatusInProgress {
		t.Errorf("stop-import answered %s; want IN_PROGRESS while the shards stop", got.ImportStatus)
	}
	for _, p := range procs {
		h.want(exitStopped, p.wait())
	}
	if got := h.getImport(id); got.ImportStatus != api.StatusStopped {
		t.Fatalf("after the shards stopped the import is %s, want STOPPED", got.ImportStatus)
	}
	// The job runs again: the shards complete the import.
	for i := range 2 {
		h.expect(exitOK, args(i)...)
	}
	if got := h.getImport(id); got.ImportStatus != api.StatusCompleted || got.ImportStatistics.EventsCompleted != int64(l.count()) {
		t.Errorf("the import is %s with %+v; want COMPLETED with %d events", got.ImportStatus, *got.ImportStatistics, l.count())
	}
	h.checkStored(storeID(store.EventDataStoreArn), l.ids(nil))
}
