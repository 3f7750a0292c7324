// Package pipeline loads the log files of one import run: it lists the
// day prefixes of the import's source, fetches and decodes the files that
// are not imported yet with bounded parallel workers, and commits their
// events through a sink.Writer, each file's events together with its
// checkpoint row, so that a stop, a crash or a retry never loses or doubles
// an event.
//
// Its stages are types of their own, connected by channels that their
// single producer closes:
//
//	lister ──jobs──▶ fetchers ──fetched──▶ decoders ──messages──▶ committer
//	   └────────────────────────messages─────────────────────────────▲
//
// The lister also tells the committer what each day prefix holds, so that
// the committer can mark a prefix completed once its files are. What the
// stages share they are given: the source, the store, a clock and the
// Counters the run reports its progress to. The pipeline decides nothing
// about the import's lifecycle: its caller records when the import starts
// and with what status it ends.
package pipeline

import (
	"context"
	"fmt"
	"runtime/pprof"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/ctimport/ctimport/s3scan"
	"github.com/ctimport/ctimport/selector"
	"github.com/ctimport/ctimport/sink"
)

// Config sizes and paces a run. Every field must be positive; the
// caller fills in the defaults.
type Config struct {
	// Concurrency is how many files are decoded at once.
	Concurrency int
	// Downloads is how many objects are fetched at once, ahead of the
	// decoding, to hide the latency of the source.
	Downloads int
	// PrefetchBytes bounds the memory of the objects fetched and not yet
	// decoded.
	PrefetchBytes int64
	// Attempts is how often a file is read before a transient error is final.
	Attempts int
	// Backoff is the wait before the second attempt; it doubles with each attempt.
	Backoff time.Duration
	// BatchEvents is how many events a commit gathers before it is made.
	BatchEvents int
	// SyncInterval is the longest committed files wait to become durable.
	SyncInterval time.Duration
	// MaxRecordSize caps the size of one record, in bytes.
	MaxRecordSize int
	// MaxFileSize caps the decompressed size of one log file, in bytes.
	MaxFileSize int64
}

// chunkEvents is how many events a decoder hands to the committer at once.
const chunkEvents = 1024

// jobBuffer is how many listed files may wait for a fetcher.
const jobBuffer = 4096

// prefetchLimit is the size of the largest object read into memory ahead
// of the decoders; larger ones are streamed.
const prefetchLimit = 4 << 20

// commitInterval is the longest a finished file waits for its commit.
const commitInterval = 2 * time.Second

// Run is one run of an import's pipeline. Its caller sets the fields;
// Execute only reads them.
type Run struct {
	// Import is the import as it stands when the run starts, IN_PROGRESS.
	// The committer writes it back with each commit, with Updated and
	// NewestDelivery advanced.
	Import sink.Import
	// Incremental skips the files that any import already imported into
	// the same event data store.
	Incremental bool
	// NotBefore, when set, is the start of the event data store's
	// retention period: older events are not stored.
	NotBefore time.Time
	// Selectors choose the events stored: the advanced event selectors of
	// the event data store. nil stores every event.
	Selectors *selector.Matcher
	// Shard is the part of the source the run reads; the zero Shard
	// reads all of it.
	Shard  Shard
	Source s3scan.Source
	Store  sink.Store
	Config Config
	// Now tells the time of checkpoint rows, as the store keeps times.
	Now func() time.Time
	// Progress receives the run's counts as it goes.
	Progress *Counters
}

// Execute lists the import's source below root and loads every file that
// is not imported yet. When ctx ends, the files read in full are still
// committed; Execute then returns ctx's error. It returns the first error
// of the source's listing or of the store; a file that cannot be read is
// not an error but a failure entry in its checkpoint row.
func (r *Run) Execute(ctx context.Context, root string) error {
	p := r.Progress
	p.listing.Store(true)
	defer p.listing.Store(false)
	var days []s3scan.DayPrefix
	err := r.Config.Retry(ctx, p.retried, func() error {
		var skipped s3scan.Skipped
		var err error
		days, skipped, err = s3scan.Discover(ctx, r.Source, root, Window(r.Import))
		if err == nil {
			p.skip(skipped)
		}
		return err
	})
	days = slices.DeleteFunc(days, func(d s3scan.DayPrefix) bool { return !r.Shard.Owns(d) })
	if err != nil {
		return fmt.Errorf("pipeline: discover prefixes of %s: %w", r.Import.SourceURI, err)
	}
	p.days.Store(int64(len(days)))
	rows, err := r.Store.Prefixes(ctx, r.Import.ID)
	if err != nil {
		return fmt.Errorf("pipeline: read checkpoint: %w", err)
	}
	completed := make(map[string]bool, len(rows))
	for _, row := range rows {
		completed[row.Key] = row.Completed
	}
	w, err := r.Store.NewWriter(ctx, r.Import.StoreID)
	if err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	defer w.Close()

	reader := Reader{MaxFileSize: r.Config.MaxFileSize, MaxRecordSize: r.Config.MaxRecordSize, Import: r.Import, NotBefore: r.NotBefore, Selectors: r.Selectors, Progress: p}
	l := &lister{store: r.Store, src: r.Source, imp: r.Import, incremental: r.Incremental, cfg: r.Config, progress: p, completed: completed}
	f := &fetcher{src: r.Source, budget: semaphore.NewWeighted(r.Config.PrefetchBytes), limit: min(prefetchLimit, r.Config.PrefetchBytes)}
	d := &decoder{src: r.Source, reader: reader, importID: r.Import.ID, cfg: r.Config, progress: p}
	c := newCommitter(w, r.Import, r.Config, r.Now, p)

	msgs := make(chan message, 2*r.Config.Concurrency)
	outer, octx := errgroup.WithContext(ctx)
	// Commits outlive a stop: a batch of finished files is committed whole.
	commitCtx := context.WithoutCancel(ctx)
	outer.Go(func() error { return inStage(octx, "commit", func() error { return c.loop(commitCtx, msgs) }) })
	outer.Go(func() error {
		defer close(msgs)
		// A buffer lets the listing run ahead of the fetchers, so that the
		// work to do, and with it an ETA, is known early.
		jobs := make(chan job, jobBuffer)
		inner, ictx := errgroup.WithContext(octx)
		inner.Go(func() error {
			defer close(jobs)
			defer p.listing.Store(false)
			return inStage(ictx, "list", func() error { return l.run(ictx, days, jobs, msgs) })
		})
		// Downloads run ahead of the decoders, so that they need not wait
		// for the source's latency. The fetchers open objects with the
		// decoders' context: the decoders read the streamed ones after the
		// fetchers are done.
		fetched := make(chan fetchedFile)
		var fetchers errgroup.Group
		for range r.Config.Downloads {
			fetchers.Go(func() error {
				return inStage(ictx, "fetch", func() error { return f.run(ictx, jobs, fetched) })
			})
		}
		inner.Go(func() error {
			defer close(fetched)
			return fetchers.Wait()
		})
		for range r.Config.Concurrency {
			inner.Go(func() error {
				return inStage(ictx, "decode", func() error { return d.run(ictx, fetched, msgs) })
			})
		}
		return inner.Wait()
	})
	return outer.Wait()
}

// Window returns the delivery times of the files that can hold events of
// imp.
func Window(imp sink.Import) s3scan.Window {
	w := s3scan.Window{Start: imp.StartEventTime}
	if !imp.EndEventTime.IsZero() {
		w.End = imp.EndEventTime.Add(imp.Allowance)
	}
	return w
}

// InRange reports whether an event time is within imp's time range.
func InRange(imp sink.Import, t time.Time) bool {
	return (imp.StartEventTime.IsZero() || !t.Before(imp.StartEventTime)) &&
		(imp.EndEventTime.IsZero() || !t.After(imp.EndEventTime))
}

// inStage runs f with the profiler label stage=name, so that a CPU profile
// of an import tells its stages apart: list and commit run once, fetch and
// decode in as many goroutines as the Config says.
func inStage(ctx context.Context, name string, f func() error) (err error) {
	pprof.Do(ctx, pprof.Labels("stage", name), func(context.Context) { err = f() })
	return err
}

// job is one file to read.
type job struct {
	file s3scan.LogFile
	day  string
	prev sink.File // the file's checkpoint row from an earlier run, if any
}

// message is what the lister and the decoders tell the committer; exactly
// one of its fields is set.
type message struct {
	listed *listedPrefix
	chunk  *chunk
	done   *sink.File // read in full; Status is FileImported
	failed *sink.File // a failed attempt; Status is FileRetry or FileFailed
}

type listedPrefix struct {
	key       string
	jobs      int  // files sent to the fetchers
	found     bool // the prefix holds log files of the import
	completed bool // its row says completed already
}

type chunk struct {
	key    string
	events []sink.Event
}

// send sends m on ch unless ctx ends first.
func send[T any](ctx context.Context, ch chan<- T, m T) error {
	select {
	case ch <- m:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
