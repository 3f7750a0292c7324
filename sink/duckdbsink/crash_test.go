package duckdbsink

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctimport/ctimport/sink"
	"github.com/ctimport/ctimport/sink/sinktest"
)

const (
	crashFileEvents = 2000 // new events per file
	crashRepeats    = 100  // events of the previous file repeated in each file
)

// crashFile returns the events of file i of the crash test.
func crashFile(i int) []sink.Event {
	events := make([]sink.Event, 0, crashFileEvents+crashRepeats)
	for j := range crashFileEvents {
		events = append(events, sinktest.Event(fmt.Sprintf("f%d-e%d", i, j), at.Add(time.Duration(i*crashFileEvents+j)*time.Second)))
	}
	for j := range crashRepeats {
		if i > 0 {
			events = append(events, sinktest.Event(fmt.Sprintf("f%d-e%d", i-1, j), at.Add(time.Duration((i-1)*crashFileEvents+j)*time.Second)))
		}
	}
	return events
}

// loadUntilKilled commits crash test files into s, one per commit, after
// those already there, and prints a line after each commit.
func loadUntilKilled(ctx context.Context, s *Store) error {
	if err := s.CreateEventDataStore(ctx, eds); err != nil && !errors.Is(err, sink.ErrExists) {
		return err
	}
	imp := sink.Import{ID: "import", StoreID: eds.ID, Status: "IN_PROGRESS", Created: at}
	files, err := s.Files(ctx, sink.FileQuery{ImportID: imp.ID})
	if err != nil {
		return err
	}
	w, err := s.NewWriter(ctx, eds.ID)
	if err != nil {
		return err
	}
	for i := len(files); ; i++ {
		key := fmt.Sprintf("k%06d", i)
		if err := w.Append(ctx, key, crashFile(i)); err != nil {
			return err
		}
		imp.Updated = time.Now()
		_, err := w.Commit(ctx, sink.Commit{
			Files:    []sink.File{{ImportID: imp.ID, Key: key, Prefix: "p/", Status: sink.FileImported, Events: crashFileEvents}},
			Prefixes: []sink.Prefix{{ImportID: imp.ID, Key: "p/"}},
			Import:   &imp,
		})
		if err == nil {
			err = w.Sync(ctx)
		}
		if err != nil {
			return err
		}
		fmt.Println("committed", key)
	}
}

// TestKilledWhileCommitting kills a process committing files at random
// moments and checks that the database holds exactly the events of the
// files whose rows it holds.
func TestKilledWhileCommitting(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "ctimport.duckdb")
	for round := range 4 {
		cmd, _, lines := startHelper(t, "load", path)
		for range 2 {
			if !lines.Scan() {
				t.Fatalf("round %d: helper ended: %v", round, lines.Err())
			}
		}
		time.Sleep(time.Duration(rand.IntN(150)) * time.Millisecond)
		if err := cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		_ = cmd.Wait()

		s, err := Open(ctx, path, Options{ReadOnly: true})
		if err != nil {
			t.Fatalf("round %d: Open after kill: %v", round, err)
		}
		files, err := s.Files(ctx, sink.FileQuery{ImportID: "import"})
		if err != nil {
			t.Fatal(err)
		}
		rows, err := s.Query(ctx, fmt.Sprintf(`SELECT sourceObjectKey, count(*), count(DISTINCT eventID)
			FROM %s GROUP BY ALL ORDER BY sourceObjectKey`, eds.ID))
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			v, err := rows.Values()
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("%s:%d:%d", v...))
		}
		rows.Close()
		var want []string
		for _, f := range files {
			if f.Status != sink.FileImported {
				t.Errorf("file %s has status %s", f.Key, f.Status)
			}
			want = append(want, fmt.Sprintf("%s:%d:%d", f.Key, crashFileEvents, crashFileEvents))
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("round %d: events by key %v, want %v", round, got, want)
		}
		t.Logf("round %d: %d files committed", round, len(files))
		s.Close()
	}
}
