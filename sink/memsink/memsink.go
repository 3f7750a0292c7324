// Package memsink is an in-memory sink.Store for tests. It has the
// semantics of the DuckDB store (both pass the suite in sink/sinktest),
// lets tests read the stored events with Events, and makes commits fail on
// demand with FailCommits.
//
// It does not run SQL: Query fails with an error wrapping
// errors.ErrUnsupported.
package memsink

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"iter"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ctimport/ctimport/sink"
)

// Store is an in-memory sink.Store. Its methods are safe for concurrent
// use. Like the DuckDB store it keeps times to the microsecond, in UTC.
type Store struct {
	mu       sync.Mutex
	stores   []sink.EventDataStore
	tables   map[string]*table // by event data store ID
	imports  map[string]sink.Import
	prefixes map[string]map[string]sink.Prefix // by import ID, then key
	files    map[string]map[string]sink.File   // by import ID, then key
	writers  map[string]*writer                // open writers by store ID
	shards   map[string]map[int]sink.ShardRun  // by import ID, then index
	failN    int
	failErr  error
	closed   bool
}

var _ sink.ShardStore = (*Store)(nil)

// table is the events of one event data store.
type table struct {
	keys   []string // the object key of each event
	events []sink.Event
	ids    map[sink.Identity]struct{}
}

var errClosed = errors.New("memsink: store is closed")

// New returns an empty Store.
func New() *Store {
	return &Store{
		tables:   map[string]*table{},
		imports:  map[string]sink.Import{},
		prefixes: map[string]map[string]sink.Prefix{},
		files:    map[string]map[string]sink.File{},
		writers:  map[string]*writer{},
		shards:   map[string]map[int]sink.ShardRun{},
	}
}

// FailCommits makes the next n Writer.Commit calls fail with err, storing
// nothing, as a failing database would.
func (s *Store) FailCommits(n int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failN, s.failErr = n, err
}

// Events returns the events stored in event data store storeID, with the
// key of the object each was read from, in the order they were stored:
// commit by commit, each commit's events ordered by eventTime.
func (s *Store) Events(storeID string) iter.Seq2[string, sink.Event] {
	s.mu.Lock()
	var keys []string
	var events []sink.Event
	if t := s.tables[storeID]; t != nil {
		keys, events = slices.Clone(t.keys), slices.Clone(t.events)
	}
	s.mu.Unlock()
	return func(yield func(string, sink.Event) bool) {
		for i, e := range events {
			if !yield(keys[i], e) {
				return
			}
		}
	}
}

// CreateEventDataStore adds eds; see sink.Store.
func (s *Store) CreateEventDataStore(ctx context.Context, eds sink.EventDataStore) error {
	if eds.ID == "" || eds.Name == "" {
		return errors.New("memsink: create event data store: empty ID or name")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	for _, e := range s.stores {
		if strings.EqualFold(e.ID, eds.ID) || e.Name == eds.Name {
			return fmt.Errorf("memsink: create event data store: %w: event data store %q (ID %s)", sink.ErrExists, eds.Name, eds.ID)
		}
	}
	eds.Created, eds.Updated, eds.Deleted = norm(eds.Created), norm(cmp.Or(eds.Updated, eds.Created)), norm(eds.Deleted)
	s.stores = append(s.stores, eds)
	s.tables[eds.ID] = &table{ids: map[sink.Identity]struct{}{}}
	return nil
}

// EventDataStores returns every event data store, oldest first (by
// Created, then ID).
func (s *Store) EventDataStores(ctx context.Context) ([]sink.EventDataStore, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errClosed
	}
	out := slices.Clone(s.stores)
	slices.SortFunc(out, func(a, b sink.EventDataStore) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.ID, b.ID))
	})
	return out, nil
}

// UpdateEventDataStore replaces the changeable fields of the event data
// store with ID eds.ID; see sink.Store.
func (s *Store) UpdateEventDataStore(ctx context.Context, eds sink.EventDataStore) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	i := s.storeIndex(eds.ID)
	if i < 0 {
		return fmt.Errorf("memsink: update event data store %s: %w", eds.ID, sink.ErrNotFound)
	}
	for _, e := range s.stores {
		if e.ID != s.stores[i].ID && e.Name == eds.Name {
			return fmt.Errorf("memsink: update event data store: %w: event data store %q", sink.ErrExists, eds.Name)
		}
	}
	st := &s.stores[i]
	st.Name, st.Updated, st.Deleted = eds.Name, norm(cmp.Or(eds.Updated, st.Created)), norm(eds.Deleted)
	st.RetentionPeriod, st.TerminationProtection, st.Selectors = eds.RetentionPeriod, eds.TerminationProtection, eds.Selectors
	return nil
}

// DropEventDataStore removes an event data store and its events; see
// sink.Store.
func (s *Store) DropEventDataStore(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	i := s.storeIndex(id)
	if i < 0 {
		return fmt.Errorf("memsink: drop event data store %s: %w", id, sink.ErrNotFound)
	}
	delete(s.tables, s.stores[i].ID)
	s.stores = slices.Delete(s.stores, i, i+1)
	return nil
}

// PurgeEvents removes the events of event data store storeID from before
// before; see sink.Store.
func (s *Store) PurgeEvents(ctx context.Context, storeID string, before time.Time) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.eventTable(storeID)
	if err != nil {
		return 0, fmt.Errorf("memsink: purge events: %w", err)
	}
	var removed int64
	keys, events := t.keys[:0], t.events[:0]
	for i, e := range t.events {
		if !e.Null.Has(sink.EventTime) && e.Time.Before(before) {
			if id, ok := e.Identity(); ok {
				delete(t.ids, id)
			}
			removed++
			continue
		}
		keys, events = append(keys, t.keys[i]), append(events, e)
	}
	t.keys, t.events = keys, events
	return removed, nil
}

// storeIndex returns the index in s.stores of the store with ID id, in any
// case, or -1. The caller holds s.mu.
func (s *Store) storeIndex(id string) int {
	return slices.IndexFunc(s.stores, func(e sink.EventDataStore) bool { return strings.EqualFold(e.ID, id) })
}

// PutImport inserts imp, or replaces the import with the same ID.
func (s *Store) PutImport(ctx context.Context, imp sink.Import) error {
	if imp.ID == "" {
		return errors.New("memsink: put import: empty ID")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	s.putImport(imp)
	return nil
}

func (s *Store) putImport(imp sink.Import) {
	imp.StartEventTime, imp.EndEventTime = norm(imp.StartEventTime), norm(imp.EndEventTime)
	imp.Created, imp.Updated, imp.NewestDelivery = norm(imp.Created), norm(imp.Updated), norm(imp.NewestDelivery)
	s.imports[imp.ID] = imp
}

// Import returns the import with that ID, or sink.ErrNotFound.
func (s *Store) Import(ctx context.Context, id string) (sink.Import, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return sink.Import{}, errClosed
	}
	imp, ok := s.imports[id]
	if !ok {
		return sink.Import{}, fmt.Errorf("memsink: import %s: %w", id, sink.ErrNotFound)
	}
	return imp, nil
}

// Imports returns every import, newest first (by Created, then ID, both
// descending).
func (s *Store) Imports(ctx context.Context) ([]sink.Import, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errClosed
	}
	out := make([]sink.Import, 0, len(s.imports))
	for _, imp := range s.imports {
		out = append(out, imp)
	}
	slices.SortFunc(out, func(a, b sink.Import) int {
		return cmp.Or(b.Created.Compare(a.Created), cmp.Compare(b.ID, a.ID))
	})
	return out, nil
}

// Stats derives an import's statistics from its checkpoint rows, or
// returns sink.ErrNotFound.
func (s *Store) Stats(ctx context.Context, importID string) (sink.Stats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return sink.Stats{}, errClosed
	}
	if _, ok := s.imports[importID]; !ok {
		return sink.Stats{}, fmt.Errorf("memsink: stats: import %s: %w", importID, sink.ErrNotFound)
	}
	var st sink.Stats
	for _, p := range s.prefixes[importID] {
		st.PrefixesFound++
		if p.Completed {
			st.PrefixesCompleted++
		}
	}
	for _, f := range s.files[importID] {
		switch f.Status {
		case sink.FileImported:
			st.FilesCompleted++
			st.EventsCompleted += f.Events
			st.BytesCompleted += f.Size
		case sink.FileRetry, sink.FileFailed:
			st.FailedEntries++
		}
	}
	return st, nil
}

// PutShardRun inserts r, or replaces the row of the same import and Index.
func (s *Store) PutShardRun(ctx context.Context, r sink.ShardRun) error {
	if r.ImportID == "" || r.Index < 0 || r.Index >= r.Count {
		return fmt.Errorf("memsink: put shard run: bad shard %d of %d of import %q", r.Index, r.Count, r.ImportID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	r.Updated = norm(r.Updated)
	if s.shards[r.ImportID] == nil {
		s.shards[r.ImportID] = map[int]sink.ShardRun{}
	}
	s.shards[r.ImportID][r.Index] = r
	return nil
}

// ShardRuns returns the shard rows of an import, ordered by Index.
func (s *Store) ShardRuns(ctx context.Context, importID string) ([]sink.ShardRun, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errClosed
	}
	var out []sink.ShardRun
	for _, r := range s.shards[importID] {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b sink.ShardRun) int { return a.Index - b.Index })
	return out, nil
}

// Prefixes returns an import's prefix rows ordered by key, or
// sink.ErrNotFound.
func (s *Store) Prefixes(ctx context.Context, importID string) ([]sink.Prefix, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errClosed
	}
	if _, ok := s.imports[importID]; !ok {
		return nil, fmt.Errorf("memsink: prefixes: import %s: %w", importID, sink.ErrNotFound)
	}
	var out []sink.Prefix
	for _, p := range s.prefixes[importID] {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b sink.Prefix) int { return cmp.Compare(a.Key, b.Key) })
	return out, nil
}

// Files returns the checkpoint rows q selects, ordered by key (then import
// ID). A query that names no import and no event data store selects the
// rows of every import.
func (s *Store) Files(ctx context.Context, q sink.FileQuery) ([]sink.File, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errClosed
	}
	var out []sink.File
	for importID, files := range s.files {
		if q.ImportID != "" && importID != q.ImportID {
			continue
		}
		if q.StoreID != "" {
			if imp, ok := s.imports[importID]; !ok || imp.StoreID != q.StoreID {
				continue
			}
		}
		for _, f := range files {
			switch {
			case !strings.HasPrefix(f.Key, q.Prefix),
				len(q.Statuses) > 0 && !slices.Contains(q.Statuses, f.Status),
				q.Failed && f.ErrorType == "" && f.ErrorMessage == "",
				q.After != "" && f.Key <= q.After:
				continue
			}
			out = append(out, f)
		}
	}
	slices.SortFunc(out, func(a, b sink.File) int {
		return cmp.Or(cmp.Compare(a.Key, b.Key), cmp.Compare(a.ImportID, b.ImportID))
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// Query fails with an error wrapping errors.ErrUnsupported: memsink does
// not run SQL.
func (s *Store) Query(ctx context.Context, statement string, args ...any) (sink.Rows, error) {
	return nil, fmt.Errorf("memsink: query: %w", errors.ErrUnsupported)
}

// Close releases the store and drops what open Writers have staged.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range s.writers {
		w.closed, w.staged = true, nil
	}
	s.writers = nil
	s.closed = true
	return nil
}

// norm returns t as a Store keeps it: in UTC, to the microsecond.
func norm(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}
