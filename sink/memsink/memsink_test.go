package memsink_test

import (
	"errors"
	"testing"
	"time"

	"github.com/ctimport/ctimport/sink"
	"github.com/ctimport/ctimport/sink/memsink"
	"github.com/ctimport/ctimport/sink/sinktest"
)

func TestStore(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) sink.Store { return memsink.New() })
}

func TestFailCommits(t *testing.T) {
	ctx := t.Context()
	s := memsink.New()
	defer s.Close()
	eds := sink.EventDataStore{ID: "id", Name: "store"}
	if err := s.CreateEventDataStore(ctx, eds); err != nil {
		t.Fatal(err)
	}
	w, err := s.NewWriter(ctx, eds.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	at := time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC)
	boom := errors.New("boom")
	s.FailCommits(2, boom)
	imp := sink.Import{ID: "import", StoreID: eds.ID, Status: "COMPLETED"}
	for i := range 3 {
		if err := w.Append(ctx, "k", []sink.Event{sinktest.Event("e1", at), sinktest.Event("e2", at)}); err != nil {
			t.Fatal(err)
		}
		res, err := w.Commit(ctx, sink.Commit{
			Files:    []sink.File{{ImportID: imp.ID, Key: "k", Status: sink.FileImported}},
			Prefixes: []sink.Prefix{{ImportID: imp.ID, Key: "p/"}},
			Import:   &imp,
		})
		if err == nil {
			err = w.Sync(ctx)
		}
		if i < 2 {
			if !errors.Is(err, boom) {
				t.Fatalf("commit %d: err = %v, want %v", i, err, boom)
			}
			// A failed Writer does nothing more: go on with a new one.
			w.Close()
			if w, err = s.NewWriter(ctx, eds.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Import(ctx, imp.ID); !errors.Is(err, sink.ErrNotFound) {
				t.Errorf("commit %d failed but stored the import (%v)", i, err)
			}
			files, _ := s.Files(ctx, sink.FileQuery{})
			n := 0
			for range s.Events(eds.ID) {
				n++
			}
			if len(files) != 0 || n != 0 {
				t.Errorf("commit %d failed but stored %d rows and %d events", i, len(files), n)
			}
			continue
		}
		if err != nil || res.Stored != 2 {
			t.Fatalf("commit %d = %+v, %v; want 2 events stored", i, res, err)
		}
	}
	var keys []string
	for key, e := range s.Events(eds.ID) {
		keys = append(keys, key+"/"+e.ID())
	}
	if len(keys) != 2 || keys[0] != "k/e1" || keys[1] != "k/e2" {
		t.Errorf("Events = %v, want k/e1 k/e2", keys)
	}
}

func TestQueryUnsupported(t *testing.T) {
	s := memsink.New()
	defer s.Close()
	if _, err := s.Query(t.Context(), "SELECT 1"); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("Query = %v, want errors.ErrUnsupported", err)
	}
}
