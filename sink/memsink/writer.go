package memsink

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/ctimport/ctimport/sink"
)

// writer is the sink.Writer of a Store. Its fields are guarded by the
// Store's mutex.
type writer struct {
	s       *Store
	storeID string
	staged  map[string][]batch
	seq     int64
	pending pending // what the Commits since the last Sync store
	err     error   // why the writer failed; it does nothing more
	closed  bool
}

// pending is what Commits store at the next Sync.
type pending struct {
	keys     []string // the object key of each event
	events   []sink.Event
	ids      map[sink.Identity]struct{}
	files    []sink.File
	prefixes []sink.Prefix
	imports  []sink.Import
}

// batch is the events of one Append; seq orders batches by Append.
type batch struct {
	seq    int64
	key    string
	events []sink.Event
}

var errWriterClosed = errors.New("memsink: writer is closed")

// usable returns why w cannot be used, or nil.
func (w *writer) usable() error {
	switch {
	case w.closed:
		return errWriterClosed
	case w.err != nil:
		return fmt.Errorf("memsink: writer failed before: %w", w.err)
	}
	return nil
}

// fail drops the Commits since the last Sync and keeps err: w does
// nothing more. It returns err.
func (w *writer) fail(err error) error {
	w.err, w.pending, w.staged = err, pending{}, map[string][]batch{}
	return err
}

// NewWriter returns a Writer loading events into event data store storeID:
// sink.ErrNotFound when there is no such store, an error when the store
// already has an open Writer.
func (s *Store) NewWriter(ctx context.Context, storeID string) (sink.Writer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errClosed
	}
	if s.tables[storeID] == nil {
		return nil, fmt.Errorf("memsink: new writer: event data store %s: %w", storeID, sink.ErrNotFound)
	}
	if s.writers[storeID] != nil {
		return nil, fmt.Errorf("memsink: new writer: event data store %s already has an open writer", storeID)
	}
	w := &writer{s: s, storeID: storeID, staged: map[string][]batch{}}
	s.writers[storeID] = w
	return w, nil
}

// Append stages events read from the object key.
func (w *writer) Append(ctx context.Context, key string, events []sink.Event) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("memsink: append %s: %w", key, err)
	}
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	if len(events) > 0 {
		w.seq++
		w.staged[key] = append(w.staged[key], batch{seq: w.seq, key: key, events: events})
	}
	return nil
}

// Close drops everything staged, and the Commits not synced.
func (w *writer) Close() error {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	if w.s.writers[w.storeID] == w {
		delete(w.s.writers, w.storeID)
	}
	w.closed, w.staged, w.pending = true, nil, pending{}
	return nil
}

// Sync stores the Commits since the last Sync.
func (w *writer) Sync(ctx context.Context) error {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return w.fail(fmt.Errorf("memsink: sync: %w", err))
	}
	p := w.pending
	t := w.s.tables[w.storeID]
	t.keys, t.events = append(t.keys, p.keys...), append(t.events, p.events...)
	for id := range p.ids {
		t.ids[id] = struct{}{}
	}
	for _, f := range p.files {
		if w.s.files[f.ImportID] == nil {
			w.s.files[f.ImportID] = map[string]sink.File{}
		}
		w.s.files[f.ImportID][f.Key] = f
	}
	for _, pr := range p.prefixes {
		if w.s.prefixes[pr.ImportID] == nil {
			w.s.prefixes[pr.ImportID] = map[string]sink.Prefix{}
		}
		w.s.prefixes[pr.ImportID][pr.Key] = pr
	}
	for _, imp := range p.imports {
		w.s.putImport(imp)
	}
	w.pending = pending{}
	return nil
}

// Commit adds c to what the next Sync stores; see sink.Writer. When c
// holds more than one row for the same file (or prefix), the last one
// counts.
func (w *writer) Commit(ctx context.Context, c sink.Commit) (sink.CommitResult, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	if err := w.usable(); err != nil {
		return sink.CommitResult{}, err
	}
	staged := w.staged
	defer func() {
		for _, f := range c.Files {
			delete(staged, f.Key)
		}
	}()
	if err := ctx.Err(); err != nil {
		return sink.CommitResult{}, w.fail(fmt.Errorf("memsink: commit: %w", err))
	}
	last := map[string]sink.File{}
	for _, f := range c.Files {
		switch f.Status {
		case sink.FileImported, sink.FileRetry, sink.FileFailed:
		default:
			return sink.CommitResult{}, w.fail(fmt.Errorf("memsink: commit: file %s: invalid status %q", f.Key, f.Status))
		}
		last[f.Key] = f
	}
	if w.s.failN > 0 {
		w.s.failN--
		return sink.CommitResult{}, w.fail(fmt.Errorf("memsink: commit: %w", w.s.failErr))
	}

	var batches []batch
	for key, f := range last {
		if f.Status == sink.FileImported {
			batches = append(batches, staged[key]...)
		}
	}
	slices.SortFunc(batches, func(a, b batch) int { return cmp.Compare(a.seq, b.seq) })
	t, p := w.s.tables[w.storeID], &w.pending
	if p.ids == nil {
		p.ids = map[sink.Identity]struct{}{}
	}
	var res sink.CommitResult
	var keys []string
	var events []sink.Event
	seen := map[sink.Identity]struct{}{}
	for _, b := range batches {
		for _, e := range b.events {
			if id, ok := e.Identity(); ok {
				_, stored := t.ids[id]
				_, synced := p.ids[id]
				_, repeat := seen[id]
				if stored || synced || repeat {
					res.Duplicates++
					continue
				}
				seen[id] = struct{}{}
			}
			keys, events = append(keys, b.key), append(events, e)
		}
	}
	order := make([]int, len(events))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int { return events[i].Time.Compare(events[j].Time) })
	for _, i := range order {
		p.keys, p.events = append(p.keys, keys[i]), append(p.events, events[i])
	}
	for id := range seen {
		p.ids[id] = struct{}{}
	}
	res.Stored = int64(len(events))

	for _, f := range c.Files {
		f.Delivery, f.Updated = norm(f.Delivery), norm(f.Updated)
		p.files = append(p.files, f)
	}
	for _, pr := range c.Prefixes {
		pr.Updated = norm(pr.Updated)
		p.prefixes = append(p.prefixes, pr)
	}
	if c.Import != nil {
		p.imports = append(p.imports, *c.Import)
	}
	return res, nil
}
