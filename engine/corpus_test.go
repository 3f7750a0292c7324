package engine_test

import (
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/engine"
	"github.com/ctimport/ctimport/pipeline"
	"github.com/ctimport/ctimport/s3scan"
	"github.com/ctimport/ctimport/sink/duckdbsink"
)

// TestRealParts imports the real corpus from its directories into a DuckDB
// store, with the real directory source: the stored events are the
// corpus's distinct events.
func TestRealParts(t *testing.T) {
	ctx := t.Context()
	store, err := duckdbsink.Open(ctx, filepath.Join(t.TempDir(), "engine.duckdb"), duckdbsink.Options{Holder: "engine test"})
	if err != nil {
		t.Fatal(err)
	}
	eng := engine.New(store, engine.Options{
		Config: pipeline.Config{Backoff: time.Millisecond},
		OpenSource: func(ctx context.Context, loc s3scan.Location, src api.S3ImportSource) (s3scan.Source, error) {
			return s3scan.NewDir(loc.Dir)
		},
	})
	t.Cleanup(func() {
		eng.Close()
		store.Close()
	})
	eds, err := eng.CreateEventDataStore(ctx, api.CreateEventDataStoreInput{Name: "corpus"})
	if err != nil {
		t.Fatal(err)
	}
	abs, err := filepath.Abs(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	wait := func(id string) (api.Import, engine.Progress) {
		t.Helper()
		wctx, cancel := context.WithTimeout(ctx, 5*waitTimeout)
		defer cancel()
		imp, p, err := eng.Wait(wctx, id)
		if err != nil {
			t.Fatalf("Wait: %v", err)
		}
		return imp, p
	}

	distinct := map[string]bool{}
	sets := map[string][]corpusFile{}
	for _, f := range loadCorpus(t) {
		sets[f.set] = append(sets[f.set], f)
		for _, id := range f.ids {
			distinct[id] = true
		}
	}
	for _, set := range slices.Sorted(maps.Keys(sets)) {
		files := sets[set]
		uri := "file://" + filepath.ToSlash(filepath.Join(abs, set)) + "/"
		start, err := eng.StartImport(ctx, newImport(eds.EventDataStoreArn, uri))
		if err != nil {
			t.Fatalf("StartImport(%s): %v", uri, err)
		}
		imp, _ := wait(start.ImportId)
		if imp.ImportStatus != api.StatusCompleted {
			msg, _ := eng.Message(ctx, imp.ImportId)
			t.Fatalf("import of %s ended %s (%q)", set, imp.ImportStatus, msg)
		}
		records, prefixes := 0, map[string]bool{}
		for _, f := range files {
			records += len(f.records)
			prefixes[filepath.Dir(f.key)] = true
		}
		want := api.ImportStatistics{PrefixesFound: int64(len(prefixes)), PrefixesCompleted: int64(len(prefixes)), FilesCompleted: int64(len(files)), EventsCompleted: int64(records)}
		if *imp.ImportStatistics != want {
			t.Errorf("%s: statistics %+v, want %+v", set, *imp.ImportStatistics, want)
		}
	}

	query := func(q string) []string {
		t.Helper()
		rows, err := eng.Query(ctx, q)
		if err != nil {
			t.Fatalf("Query(%s): %v", q, err)
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
	table := fmt.Sprintf("%q", storeID(eds))
	n := fmt.Sprint(len(distinct))
	if got := query("SELECT count(*), count(DISTINCT eventID) FROM " + table); len(got) != 1 || got[0] != n+" "+n {
		t.Errorf("count(*), count(DISTINCT eventID) = %v, want %s %s", got, n, n)
	}
	ids := query("SELECT eventID FROM " + table)
	if !maps.Equal(setOf(ids...), distinct) {
		t.Errorf("the stored eventIDs differ from the corpus's")
	}

	// Importing a set again stores nothing new.
	uri := "file://" + filepath.ToSlash(filepath.Join(abs, "invictus-2023-07-10")) + "/AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/10/"
	start, err := eng.StartImport(ctx, newImport(eds.Name, uri))
	if err != nil {
		t.Fatal(err)
	}
	imp, p := wait(start.ImportId)
	if imp.ImportStatus != api.StatusCompleted || known(t, p) && (p.Stored != 0 || p.Duplicates != 2900) {
		t.Errorf("second import of a day: %s, stored %d, duplicates %d; want COMPLETED, 0, 2900", imp.ImportStatus, p.Stored, p.Duplicates)
	}
	if got := query("SELECT count(*) FROM " + table); len(got) != 1 || got[0] != n {
		t.Errorf("count(*) after a second import = %v, want %s", got, n)
	}
}
