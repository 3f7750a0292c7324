package pgsink

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/ctimport/ctimport/sink"
	"github.com/ctimport/ctimport/sink/icebergsink"
)

// dedupDays is how many days of identities a Writer keeps to find the
// events the table holds already. Imports read a source day by day, so a
// few days cover the events a commit brings.
const dedupDays = 8

// NewWriter returns a Writer loading events into the Iceberg table of event
// data store storeID. A Store has one open Writer a store, as sink.Store
// says, but other processes' Stores may write into the same store at
// once: each Iceberg commit retries on conflict.
//
// Repeats of an event (same eventID and eventTime) are stored once: a
// Writer reads the identities of the events the table holds on each day
// its commits touch (one scan of that day's partition, of two columns) and
// keeps those of the last dedupDays days, with what its own commits add.
// Repeats that other Writers add meanwhile are not seen; the shards of an
// import read different accounts and regions, between which CloudTrail
// does not repeat events.
func (s *Store) NewWriter(ctx context.Context, storeID string) (sink.Writer, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	eds, err := s.store(ctx, storeID)
	if err != nil {
		return nil, fmt.Errorf("pgsink: new writer: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.writers[eds.ID] {
		return nil, fmt.Errorf("pgsink: new writer: event data store %s has an open Writer", eds.ID)
	}
	s.writers[eds.ID] = true
	return &writer{
		storeID: eds.ID,
		s:       s,
		id:      ident(eds.ID),
		iw:      icebergsink.NewWriter(s.cat, ident(eds.ID), s.writerOptions()),
		staged:  map[string][]sink.Event{},
		days:    map[int64]map[sink.Identity]struct{}{},
	}, nil
}

// keepSnapshots is how many snapshots a table keeps: each snapshot's
// summary names the objects of its commit, and every commit rewrites the
// metadata that lists the snapshots.
const keepSnapshots = 100

// writerOptions returns the options of the Iceberg writers: those of the
// Store's Options, keeping keepSnapshots snapshots unless they say
// otherwise. An object committed before them and read again is not
// appended again all the same: its events are in the table.
func (s *Store) writerOptions() icebergsink.Options {
	o := s.writer
	if o.KeepSnapshots == 0 {
		o.KeepSnapshots = keepSnapshots
	}
	return o
}

// writer is a sink.Writer over an Iceberg writer and the state tables.
type writer struct {
	s       *Store
	storeID string
	id      []string
	iw      *icebergsink.Writer
	// staged holds the events of each key, and keys the keys in the order
	// their first events were staged.
	staged map[string][]sink.Event
	keys   []string
	rows   []sink.Commit // committed, their rows not yet written
	days   map[int64]map[sink.Identity]struct{}
	order  []int64 // the days of days, oldest loaded first
	failed error
}

var errFailed = errors.New("pgsink: the writer failed earlier")

func (w *writer) fail(err error) error {
	if w.failed == nil {
		w.failed = err
	}
	return err
}

// Append stages events read from the object key.
func (w *writer) Append(ctx context.Context, key string, events []sink.Event) error {
	if w.failed != nil {
		return fmt.Errorf("%w: %v", errFailed, w.failed)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if w.staged == nil {
		return errWriterClosed
	}
	if _, ok := w.staged[key]; !ok {
		w.keys = append(w.keys, key)
	}
	w.staged[key] = append(w.staged[key], events...)
	return nil
}

var errWriterClosed = errors.New("pgsink: the writer is closed")

// Commit stores c as sink.Writer says: the events of its imported files,
// less those the table or earlier commits hold, go to the Iceberg writer;
// its rows wait for the Iceberg commit, at Sync.
func (w *writer) Commit(ctx context.Context, c sink.Commit) (sink.CommitResult, error) {
	var res sink.CommitResult
	if w.failed != nil {
		return res, fmt.Errorf("%w: %v", errFailed, w.failed)
	}
	if err := ctx.Err(); err != nil {
		return res, w.fail(err)
	}
	for _, f := range c.Files {
		switch f.Status {
		case sink.FileImported, sink.FileRetry, sink.FileFailed:
		default:
			return res, w.fail(fmt.Errorf("pgsink: commit: file %s has status %q", f.Key, f.Status))
		}
	}
	// The events of the imported files, in the order they were staged,
	// so that of repeats the first staged is kept.
	byKey := map[string]sink.File{}
	for _, f := range c.Files {
		byKey[f.Key] = f
	}
	var imported []sink.File
	done := map[string]bool{}
	keys := w.keys[:0]
	for _, key := range w.keys {
		f, ok := byKey[key]
		if !ok {
			keys = append(keys, key)
			continue
		}
		events := w.staged[key]
		delete(w.staged, key)
		if f.Status != sink.FileImported {
			continue
		}
		kept := make([]sink.Event, 0, len(events))
		for _, ev := range events {
			id, ok := ev.Identity()
			if ok {
				held, err := w.held(ctx, id)
				if err != nil {
					return res, w.fail(err)
				}
				if _, dup := held[id]; dup {
					res.Duplicates++
					continue
				}
				held[id] = struct{}{}
			}
			kept = append(kept, ev)
		}
		res.Stored += int64(len(kept))
		if err := w.iw.Append(ctx, f.Key, kept); err != nil {
			return res, w.fail(err)
		}
		imported = append(imported, f)
		done[key] = true
	}
	w.keys = keys
	// Imported files with nothing staged carry no events, but their
	// objects are recorded all the same.
	for _, f := range c.Files {
		if f.Status == sink.FileImported && !done[f.Key] {
			imported = append(imported, f)
			done[f.Key] = true
		}
	}
	if _, err := w.iw.Commit(ctx, sink.Commit{Files: imported}); err != nil {
		return res, w.fail(fmt.Errorf("pgsink: commit: %w", err))
	}
	w.rows = append(w.rows, c)
	return res, nil
}

// held returns the identities held on the day of id, loading that day's
// from the table on first use.
func (w *writer) held(ctx context.Context, id sink.Identity) (map[sink.Identity]struct{}, error) {
	start := id.Time.UTC().Truncate(24 * time.Hour)
	day := start.Unix()
	if ids, ok := w.days[day]; ok {
		return ids, nil
	}
	ids, err := w.s.identities(ctx, w.id, start, start.Add(24*time.Hour))
	if err != nil {
		return nil, fmt.Errorf("pgsink: read the events of %s: %w", start.Format(time.DateOnly), err)
	}
	if len(w.order) == dedupDays {
		delete(w.days, w.order[0])
		w.order = slices.Delete(w.order, 0, 1)
	}
	w.days[day] = ids
	w.order = append(w.order, day)
	return ids, nil
}

// Sync makes the Iceberg commit of the commits so far, then writes their
// rows in one transaction.
func (w *writer) Sync(ctx context.Context) error {
	if w.failed != nil {
		return fmt.Errorf("%w: %v", errFailed, w.failed)
	}
	if err := w.iw.Sync(ctx); err != nil {
		return w.fail(fmt.Errorf("pgsink: sync: %w", err))
	}
	if len(w.rows) == 0 {
		return nil
	}
	if err := w.s.writeCommits(ctx, w.rows); err != nil {
		return w.fail(err)
	}
	w.rows = nil
	return nil
}

// writeCommits writes the rows of commits in one transaction.
func (s *Store) writeCommits(ctx context.Context, commits []sink.Commit) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("pgsink: sync: %w", err)
	}
	defer tx.Rollback()
	for _, c := range commits {
		if err := writeRows(ctx, tx, c); err != nil {
			return fmt.Errorf("pgsink: sync: %w", err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("pgsink: sync: %w", err)
	}
	return nil
}

// Close drops what is staged and not synced.
func (w *writer) Close() error {
	if w.staged == nil {
		return nil
	}
	w.staged, w.keys, w.rows, w.days = nil, nil, nil, nil
	w.s.mu.Lock()
	delete(w.s.writers, w.storeID)
	w.s.mu.Unlock()
	return w.iw.Close()
}
