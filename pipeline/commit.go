package pipeline

import (
	"context"
	"fmt"
	"time"

	"github.com/ctimport/ctimport/sink"
)

// committer is the stage that owns the run's Writer: it stages the events
// the decoders read and commits finished files in batches, each file's
// events together with its checkpoint row, so a file is stored whole or
// not at all. It syncs the commits every Config.SyncInterval, at the end,
// and after a failure, which it wants visible at once.
type committer struct {
	w        sink.Writer
	cfg      Config
	now      func() time.Time
	progress *Counters

	files    []sink.File            // rows waiting for the next commit
	events   int                    // events of the imported files among them
	prefixes map[string]sink.Prefix // prefix rows waiting for the next commit
	days     map[string]*dayState
	imp      sink.Import
	last     time.Time // of the last commit
	synced   time.Time // of the last sync
	unsynced bool      // commits were made since the last sync
	pending  tally     // what the commits since the last sync added to the progress
}

// tally is what commits add to the progress of a run.
type tally struct{ files, bytes, events, stored, duplicates int64 }

func (t tally) plus(u tally) tally {
	return tally{t.files + u.files, t.bytes + u.bytes, t.events + u.events, t.stored + u.stored, t.duplicates + u.duplicates}
}

// count adds t, times sign, to the progress of the run.
func (c *committer) count(t tally, sign int64) {
	p := c.progress
	p.filesDone.Add(sign * t.files)
	p.bytesDone.Add(sign * t.bytes)
	p.events.Add(sign * t.events)
	p.stored.Add(sign * t.stored)
	p.duplicates.Add(sign * t.duplicates)
}

// dayState tracks how far the files of one day prefix are.
type dayState struct {
	listed    bool
	found     bool // it holds log files of the import: it has a row
	jobs      int  // files sent to the fetchers
	finished  int  // of those, imported or failed for good
	completed bool
}

func newCommitter(w sink.Writer, imp sink.Import, cfg Config, now func() time.Time, progress *Counters) *committer {
	t := time.Now()
	return &committer{w: w, cfg: cfg, now: now, progress: progress, imp: imp,
		prefixes: make(map[string]sink.Prefix), days: make(map[string]*dayState), last: t, synced: t}
}

func (c *committer) day(key string) *dayState {
	d := c.days[key]
	if d == nil {
		d = &dayState{}
		c.days[key] = d
	}
	return d
}

// loop consumes msgs until it is closed, then commits what is left, with
// ctx, which a stop does not end: a batch of finished files is committed
// whole. After a failed commit it returns at once; the producers then see
// their context end. The Writer then drops the commits not synced, and the
// progress no longer counts them.
func (c *committer) loop(ctx context.Context, msgs <-chan message) (err error) {
	defer func() {
		if err != nil {
			c.count(c.pending, -1)
			c.pending = tally{}
		}
	}()
	tick := time.NewTicker(min(commitInterval, c.cfg.SyncInterval) / 4)
	defer tick.Stop()
	for {
		select {
		case m, ok := <-msgs:
			if !ok {
				return c.flush(ctx)
			}
			if err := c.handle(ctx, m); err != nil {
				return err
			}
		case <-tick.C:
			if time.Since(c.last) >= commitInterval {
				if err := c.commit(ctx); err != nil {
					return err
				}
			}
			if time.Since(c.synced) >= c.cfg.SyncInterval {
				if err := c.sync(ctx); err != nil {
					return err
				}
			}
		}
	}
}

func (c *committer) handle(ctx context.Context, m message) error {
	switch {
	case m.chunk != nil:
		if err := c.w.Append(ctx, m.chunk.key, m.chunk.events); err != nil {
			return fmt.Errorf("pipeline: stage events of %s: %w", m.chunk.key, err)
		}
	case m.done != nil:
		f := *m.done
		f.Updated = c.now()
		c.files = append(c.files, f)
		c.events += int(f.Events)
		if f.Delivery.After(c.imp.NewestDelivery) {
			c.imp.NewestDelivery = f.Delivery
		}
		c.finish(f.Prefix)
		if c.events >= c.cfg.BatchEvents {
			return c.commit(ctx)
		}
	case m.failed != nil:
		f := *m.failed
		f.Updated = c.now()
		c.files = append(c.files, f)
		if f.Status == sink.FileFailed {
			c.progress.failed.Add(1)
			c.progress.bytesFailed.Add(f.Size)
			c.finish(f.Prefix)
		}
		// Commit at once: the row drops the failed attempt's events
		// before a retry of the file stages new ones, and shows the
		// failure while the import runs.
		return c.flush(ctx)
	case m.listed != nil:
		l := m.listed
		d := c.day(l.key)
		d.listed, d.found, d.jobs, d.completed = true, l.found, l.jobs, l.completed
		if l.found {
			c.progress.prefixesFound.Add(1)
			if l.completed {
				c.progress.prefixesCompleted.Add(1)
			} else {
				c.prefixes[l.key] = sink.Prefix{ImportID: c.imp.ID, Key: l.key, Updated: c.now()}
			}
		}
		c.check(l.key, d)
	}
	return nil
}

// finish counts a file of a day prefix as done for this run.
func (c *committer) finish(key string) {
	d := c.day(key)
	d.finished++
	c.check(key, d)
}

// check marks a day prefix completed once it is listed and all its files are done.
func (c *committer) check(key string, d *dayState) {
	if !d.listed || !d.found || d.completed || d.finished < d.jobs {
		return
	}
	d.completed = true
	c.progress.prefixesCompleted.Add(1)
	c.prefixes[key] = sink.Prefix{ImportID: c.imp.ID, Key: key, Completed: true, Updated: c.now()}
}

// commit makes the waiting rows and the events of the imported files durable.
func (c *committer) commit(ctx context.Context) error {
	c.last = time.Now()
	if len(c.files) == 0 && len(c.prefixes) == 0 {
		return nil
	}
	c.imp.Updated = c.now()
	imp := c.imp
	prefixes := make([]sink.Prefix, 0, len(c.prefixes))
	for _, p := range c.prefixes {
		prefixes = append(prefixes, p)
	}
	res, err := c.w.Commit(ctx, sink.Commit{Files: c.files, Prefixes: prefixes, Import: &imp})
	if err != nil {
		return fmt.Errorf("pipeline: commit: %w", err)
	}
	t := tally{stored: res.Stored, duplicates: res.Duplicates}
	for _, f := range c.files {
		if f.Status == sink.FileImported {
			t.files++
			t.bytes += f.Size
			t.events += f.Events
		}
	}
	c.count(t, 1)
	c.pending = c.pending.plus(t)
	c.files, c.events = c.files[:0], 0
	clear(c.prefixes)
	c.unsynced = true
	return nil
}

// sync makes the commits so far durable.
func (c *committer) sync(ctx context.Context) error {
	c.synced = time.Now()
	if !c.unsynced {
		return nil
	}
	if err := c.w.Sync(ctx); err != nil {
		return fmt.Errorf("pipeline: sync: %w", err)
	}
	c.unsynced, c.pending = false, tally{}
	return nil
}

// flush commits what waits and syncs.
func (c *committer) flush(ctx context.Context) error {
	if err := c.commit(ctx); err != nil {
		return err
	}
	return c.sync(ctx)
}
