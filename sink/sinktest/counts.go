package sinktest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/ctimport/ctimport/sink"
)

// testEventCounts checks that events are counted by the object they were
// first stored from, within the bounds asked for, and only in their own
// event data store.
func testEventCounts(t *testing.T, s sink.Store) {
	ctx := t.Context()
	eds := newStore(t, s, "store", base)
	other := newStore(t, s, "other", base)
	imp := newImport(t, s, "import-1", eds.ID, base)
	a, b := events("a", 3, base), events("b", 2, base)
	c := events("c", 1, base.Add(10*time.Second))
	w := newWriter(t, s, eds.ID)
	appendEvents(t, w, "p/ka", a)
	commit(t, w, sink.Commit{Files: []sink.File{file(imp.ID, "p/ka", sink.FileImported)}})
	// kb brings a[0] again: it counts for ka, where it was stored first.
	appendEvents(t, w, "p/kb", append(slices.Clone(b), a[0]))
	appendEvents(t, w, "q/kc", c)
	commit(t, w, sink.Commit{Files: []sink.File{file(imp.ID, "p/kb", sink.FileImported), file(imp.ID, "q/kc", sink.FileImported)}})
	closeWriter(t, w)
	w = newWriter(t, s, other.ID)
	appendEvents(t, w, "p/ka", events("d", 4, base))
	commit(t, w, sink.Commit{Files: []sink.File{file(imp.ID, "p/ka", sink.FileImported)}})
	closeWriter(t, w)

	second := base.Add(time.Second)
	tests := []struct {
		name string
		q    sink.EventCountQuery
		want map[string]int64
	}{
		{"all", sink.EventCountQuery{}, map[string]int64{"p/ka": 3, "p/kb": 2, "q/kc": 1}},
		{"prefix", sink.EventCountQuery{Prefix: "p/"}, map[string]int64{"p/ka": 3, "p/kb": 2}},
		{"key", sink.EventCountQuery{Prefix: "p/kb"}, map[string]int64{"p/kb": 2}},
		{"no key", sink.EventCountQuery{Prefix: "r/"}, map[string]int64{}},
		{"start", sink.EventCountQuery{Start: second}, map[string]int64{"p/ka": 2, "p/kb": 1, "q/kc": 1}},
		{"end", sink.EventCountQuery{End: second}, map[string]int64{"p/ka": 2, "p/kb": 2}},
		{"one instant", sink.EventCountQuery{Prefix: "p/", Start: second, End: second}, map[string]int64{"p/ka": 1, "p/kb": 1}},
		{"start within a microsecond", sink.EventCountQuery{Start: second.Add(time.Microsecond)}, map[string]int64{"p/ka": 1, "q/kc": 1}},
	}
	for _, tt := range tests {
		got, err := s.EventCounts(ctx, eds.ID, tt.q)
		if err != nil {
			t.Errorf("%s: EventCounts: %v", tt.name, err)
			continue
		}
		if !maps.Equal(got, tt.want) {
			t.Errorf("%s: EventCounts = %v, want %v", tt.name, got, tt.want)
		}
	}
	if _, err := s.EventCounts(ctx, "no-such-store", sink.EventCountQuery{}); !errors.Is(err, sink.ErrNotFound) {
		t.Errorf("EventCounts of an unknown event data store: %v, want ErrNotFound", err)
	}
}

// testMissingEvents checks that an identity is held when the event data
// store holds an event with its eventID and its eventTime to the
// microsecond, whichever object brought it, and that the identities not
// held come back in order, across many of them.
func testMissingEvents(t *testing.T, s sink.Store) {
	ctx := t.Context()
	eds := newStore(t, s, "store", base)
	other := newStore(t, s, "other", base)
	imp := newImport(t, s, "import-1", eds.ID, base)
	a, b := events("a", 3, base), events("b", 2, base.Add(time.Minute))
	w := newWriter(t, s, eds.ID)
	appendEvents(t, w, "ka", a)
	appendEvents(t, w, "kb", b)
	commit(t, w, sink.Commit{Files: []sink.File{file(imp.ID, "ka", sink.FileImported), file(imp.ID, "kb", sink.FileImported)}})
	closeWriter(t, w)
	x := Event("x", base)
	w = newWriter(t, s, other.ID)
	appendEvents(t, w, "ka", []sink.Event{x})
	commit(t, w, sink.Commit{Files: []sink.File{file(imp.ID, "ka", sink.FileImported)}})
	closeWriter(t, w)

	identity := func(e sink.Event) sink.Identity {
		id, _ := e.Identity()
		return id
	}
	held := []sink.Identity{identity(a[0]), identity(a[2]), identity(b[1]),
		{ID: a[1].ID(), Time: a[1].Time.Add(999 * time.Nanosecond)}}
	notHeld := []sink.Identity{identity(x), {ID: a[0].ID(), Time: a[0].Time.Add(time.Microsecond)}, {ID: b[0].ID(), Time: a[0].Time}}
	// Many more than one look-up takes, interleaved with the held ones.
	for i := range 20_000 {
		notHeld = append(notHeld, sink.Identity{ID: fmt.Sprintf("n-%d", i), Time: base.Add(time.Duration(i) * time.Millisecond)})
	}
	var ids, want []sink.Identity
	for i, id := range notHeld {
		if i%5000 == 0 {
			ids = append(ids, held...)
		}
		ids = append(ids, id)
		want = append(want, id)
	}

	tests := []struct {
		name string
		ids  []sink.Identity
		want []sink.Identity
	}{
		{"none", nil, nil},
		{"held", held, nil},
		{"not held", notHeld[:3], notHeld[:3]},
		{"many", ids, want},
	}
	for _, tt := range tests {
		got, err := s.MissingEvents(ctx, eds.ID, tt.ids)
		if err != nil {
			t.Errorf("%s: MissingEvents: %v", tt.name, err)
			continue
		}
		if len(got) != len(tt.want) {
			t.Errorf("%s: MissingEvents returned %d identities, want %d", tt.name, len(got), len(tt.want))
			continue
		}
		for i := range got {
			if got[i].ID != tt.want[i].ID || !got[i].Time.Equal(tt.want[i].Time) {
				t.Errorf("%s: MissingEvents[%d] = %v, want %v", tt.name, i, got[i], tt.want[i])
				break
			}
		}
	}
	if _, err := s.MissingEvents(ctx, "no-such-store", held); !errors.Is(err, sink.ErrNotFound) {
		t.Errorf("MissingEvents of an unknown event data store: %v, want ErrNotFound", err)
	}
}
