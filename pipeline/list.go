package pipeline

import (
	"context"
	"fmt"

	"github.com/ctimport/ctimport/s3scan"
	"github.com/ctimport/ctimport/sink"
)

// lister is the stage that lists the day prefixes of a run: it sends the
// files that are not imported yet to the fetchers, and tells the committer
// what each prefix holds.
type lister struct {
	store       sink.Store
	src         s3scan.Source
	imp         sink.Import
	incremental bool
	cfg         Config
	progress    *Counters
	completed   map[string]bool // the prefix rows of earlier runs, by key
}

// run lists days, in order.
func (l *lister) run(ctx context.Context, days []s3scan.DayPrefix, jobs chan<- job, msgs chan<- message) error {
	for _, d := range days {
		todo, found, err := l.day(ctx, d)
		if err != nil {
			return err
		}
		for _, j := range todo {
			l.progress.found(j.file.Size)
		}
		l.progress.daysListed.Add(1)
		listed := &listedPrefix{key: d.Key, jobs: len(todo), found: found, completed: l.completed[d.Key]}
		if err := send(ctx, msgs, message{listed: listed}); err != nil {
			return err
		}
		for _, j := range todo {
			if err := send(ctx, jobs, j); err != nil {
				return err
			}
		}
	}
	return nil
}

// day returns the files of day prefix d that are left to read, and
// whether d holds log files of the import.
func (l *lister) day(ctx context.Context, d s3scan.DayPrefix) (todo []job, found bool, err error) {
	known, err := l.store.Files(ctx, sink.FileQuery{ImportID: l.imp.ID, Prefix: d.Key})
	if err != nil {
		return nil, false, fmt.Errorf("pipeline: read checkpoint: %w", err)
	}
	if l.completed[d.Key] {
		// Listed in full by an earlier run: only its failures are left.
		for _, f := range known {
			if f.Status != sink.FileImported {
				file := s3scan.LogFile{Object: s3scan.Object{Key: f.Key, Size: f.Size, ETag: f.ETag}, Delivery: f.Delivery}
				todo = append(todo, job{file: file, day: d.Key, prev: f})
			}
		}
		return todo, true, nil
	}
	prev := make(map[string]sink.File, len(known))
	for _, f := range known {
		prev[f.Key] = f
	}
	skip, err := l.skipKeys(ctx, d.Key)
	if err != nil {
		return nil, false, err
	}
	err = l.cfg.Retry(ctx, l.progress.retried, func() error {
		todo, found = todo[:0], false
		skipped, err := s3scan.ListDay(ctx, l.src, d, Window(l.imp), func(f s3scan.LogFile) error {
			found = true
			if p, ok := prev[f.Key]; (ok && p.Status == sink.FileImported) || skip[f.Key] {
				return nil
			}
			todo = append(todo, job{file: f, day: d.Key, prev: prev[f.Key]})
			return nil
		})
		if err == nil {
			l.progress.skip(skipped)
		}
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("pipeline: list %s: %w", d.Key, err)
	}
	return todo, found, nil
}

// skipKeys returns the keys under prefix that an incremental run skips:
// those any import already imported into the same event data store.
func (l *lister) skipKeys(ctx context.Context, prefix string) (map[string]bool, error) {
	if !l.incremental {
		return nil, nil
	}
	files, err := l.store.Files(ctx, sink.FileQuery{StoreID: l.imp.StoreID, Prefix: prefix, Statuses: []sink.FileStatus{sink.FileImported}})
	if err != nil {
		return nil, fmt.Errorf("pipeline: read checkpoint: %w", err)
	}
	skip := make(map[string]bool, len(files))
	for _, f := range files {
		skip[f.Key] = true
	}
	return skip, nil
}
