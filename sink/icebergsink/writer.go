package icebergsink

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"math"
	"slices"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
	"github.com/ctimport/ctimport/sink"
	"github.com/google/uuid"
)

// Defaults of Options.
const (
	DefaultTargetFileSize = 128 << 20
	DefaultMaxAttempts    = 10
	batchRows             = 8192
)

// Options tune a Writer.
type Options struct {
	// TargetFileSize is the most bytes of events (their columns' text,
	// uncompressed) that a data file holds, and how many the Writer
	// gathers before it commits them to the table; 0 means
	// DefaultTargetFileSize.
	TargetFileSize int64
	// MaxAttempts is how many times a commit is tried when it conflicts
	// with other writers' or fails; 0 means DefaultMaxAttempts.
	MaxAttempts int
	// KeepSnapshots, when positive, is how many snapshots each commit
	// leaves in the table's metadata: it expires the older ones, and with
	// them the sources their summaries name, so that the metadata, which
	// every commit rewrites, stays small however many objects the table
	// holds. An object committed before the snapshots kept is no longer
	// known to be held, and is stored again if written again. 0 keeps
	// every snapshot.
	KeepSnapshots int
}

// Writer appends the events of source objects to an Iceberg table. It is a
// sink.Writer: a sink.Commit makes a file's events part of the next
// Iceberg commit, which carries the file's key and ETag in its snapshot
// summary; Sync (or gathering TargetFileSize bytes) makes that Iceberg
// commit. A Writer keeps only the events: the other rows of a sink.Commit
// (failed files, prefixes, the import) belong to the store of imports.
//
// Repeats of an event (same eventID and eventTime) within one Iceberg
// commit are stored once; events the table already holds from other
// objects are not looked for. An object the table already holds, with the
// same ETag, is dropped from a commit, so it is stored once however many
// writers read it; the CommitResult of its sink.Commit, counted before,
// then overstates what was stored.
type Writer struct {
	cat   catalog.Catalog
	ident table.Identifier
	opts  Options

	staged  map[string][]sink.Event
	pending []pendingSource
	size    int64
	seen    map[sink.Identity]struct{} // identities of the pending events
	retries int
	skipped int
}

var _ sink.Writer = (*Writer)(nil)

type pendingSource struct {
	Source
	events []sink.Event
}

// NewWriter returns a Writer appending to the table ident of cat, which
// CreateTable made.
func NewWriter(cat catalog.Catalog, ident table.Identifier, opts Options) *Writer {
	if opts.TargetFileSize <= 0 {
		opts.TargetFileSize = DefaultTargetFileSize
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	return &Writer{
		cat: cat, ident: ident, opts: opts,
		staged: map[string][]sink.Event{}, seen: map[sink.Identity]struct{}{},
	}
}

// Append stages events read from the object key.
func (w *Writer) Append(ctx context.Context, key string, events []sink.Event) error {
	w.staged[key] = append(w.staged[key], events...)
	return ctx.Err()
}

// Commit moves the staged events of the files of c with status
// FileImported into the next Iceberg commit, less repeats, and drops those
// of its other files. It makes that Iceberg commit when the events
// gathered reach TargetFileSize.
func (w *Writer) Commit(ctx context.Context, c sink.Commit) (sink.CommitResult, error) {
	var res sink.CommitResult
	for _, f := range c.Files {
		events := w.staged[f.Key]
		delete(w.staged, f.Key)
		if f.Status != sink.FileImported {
			continue
		}
		kept := events[:0:0]
		for i := range events {
			ev := &events[i]
			if id, ok := ev.Identity(); ok {
				if _, dup := w.seen[id]; dup {
					res.Duplicates++
					continue
				}
				w.seen[id] = struct{}{}
			}
			kept = append(kept, *ev)
			w.size += eventSize(ev)
		}
		res.Stored += int64(len(kept))
		w.pending = append(w.pending, pendingSource{
			Source: Source{Key: f.Key, ETag: f.ETag, Events: int64(len(kept))},
			events: kept,
		})
	}
	if w.size >= w.opts.TargetFileSize {
		if err := w.flush(ctx); err != nil {
			return res, err
		}
	}
	return res, nil
}

// Sync makes the Iceberg commit of every sink.Commit so far.
func (w *Writer) Sync(ctx context.Context) error { return w.flush(ctx) }

// Close drops the staged events and those not committed to the table.
func (w *Writer) Close() error {
	w.staged, w.pending, w.seen, w.size = nil, nil, nil, 0
	return nil
}

// Retries returns how many Iceberg commits of the Writer were tried again,
// after a conflict or a failure.
func (w *Writer) Retries() int { return w.retries }

// Skipped returns how many objects the Writer dropped from its commits
// because the table held them already.
func (w *Writer) Skipped() int { return w.skipped }

// flush makes one Iceberg commit of the pending objects the table does
// not hold yet. Each try reloads the table: an earlier try that landed
// ends the loop, and objects that other writers committed meanwhile are
// dropped, with the data files rewritten without them.
func (w *Writer) flush(ctx context.Context) error {
	if len(w.pending) == 0 {
		return nil
	}
	commitID := uuid.NewString()
	var (
		files   []iceberg.DataFile
		written []Source
	)
	for attempt := 1; ; attempt++ {
		tbl, err := w.cat.LoadTable(ctx, w.ident)
		if err != nil {
			return fmt.Errorf("icebergsink: load %v: %w", w.ident, err)
		}
		landed := false
		covered := map[string]string{}
		err = walkCommits(tbl, func(props iceberg.Properties) error {
			if props[SummaryCommit] == commitID {
				landed = true
			}
			srcs, err := summarySources(props)
			for _, s := range srcs {
				covered[s.Key] = s.ETag
			}
			return err
		})
		if err != nil {
			return err
		}
		if landed {
			break
		}
		var keep []pendingSource
		for _, p := range w.pending {
			if etag, ok := covered[p.Key]; ok && etag == p.ETag {
				w.skipped++
				continue
			}
			keep = append(keep, p)
		}
		w.pending = keep
		if len(keep) == 0 {
			removeFiles(ctx, tbl, files)
			break
		}
		sources := make([]Source, len(keep))
		for i, p := range keep {
			sources[i] = p.Source
		}
		if files == nil || !slices.Equal(written, sources) {
			removeFiles(ctx, tbl, files)
			if files, err = w.writeFiles(ctx, tbl, keep); err != nil {
				return err
			}
			written = sources
		}
		if err = w.commit(ctx, tbl, files, commitID, sources); err == nil {
			break
		}
		if ctx.Err() != nil || attempt == w.opts.MaxAttempts {
			return fmt.Errorf("icebergsink: commit to %v: %w", w.ident, err)
		}
		w.retries++
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff(attempt)):
		}
	}
	w.pending, w.size = nil, 0
	clear(w.seen)
	return nil
}

// removeFiles removes data files that no commit lists, best effort: one
// left behind holds nothing a reader sees.
func removeFiles(ctx context.Context, tbl *table.Table, files []iceberg.DataFile) {
	if len(files) == 0 {
		return
	}
	fs, err := tbl.FS(ctx)
	if err != nil {
		return
	}
	for _, f := range files {
		fs.Remove(f.FilePath())
	}
}

// backoff is the wait before try attempt+1: growing, with jitter, so that
// writers that collided spread out.
func backoff(attempt int) time.Duration {
	d := time.Duration(min(attempt, 6)) * 50 * time.Millisecond
	return d + time.Duration(uuid.New().ID()%uint32(d))
}

func (w *Writer) commit(ctx context.Context, tbl *table.Table, files []iceberg.DataFile, commitID string, sources []Source) error {
	list, err := json.Marshal(sources)
	if err != nil {
		return err
	}
	txn := tbl.NewTransaction()
	props := iceberg.Properties{SummaryCommit: commitID, SummarySources: string(list)}
	if err := txn.AddDataFiles(ctx, files, props); err != nil {
		return err
	}
	if w.opts.KeepSnapshots > 0 {
		// The files of expired snapshots are left in place: another
		// writer's commit under way may still read them.
		err := txn.ExpireSnapshots(table.WithRetainLast(w.opts.KeepSnapshots), table.WithOlderThan(0), table.WithPostCommit(false))
		if err != nil {
			return err
		}
	}
	_, err = txn.Commit(ctx)
	return err
}

// eventSize is the bytes of the text of ev's columns.
func eventSize(ev *sink.Event) int64 {
	var n int64
	for _, v := range ev.Values {
		n += int64(len(v))
	}
	return n
}

// writeFiles writes the events of srcs as data files of tbl and returns
// them: a file holds events of one day, sorted by eventTime, at most
// TargetFileSize bytes of them unless one event is larger. (iceberg-go
// sorts each record batch it writes but not a file across batches, and
// cuts files only at row groups.)
func (w *Writer) writeFiles(ctx context.Context, tbl *table.Table, srcs []pendingSource) ([]iceberg.DataFile, error) {
	var rows []row
	for _, p := range srcs {
		for i := range p.events {
			rows = append(rows, row{key: p.Key, ev: &p.events[i]})
		}
	}
	slices.SortStableFunc(rows, func(a, b row) int { return a.ev.Time.Compare(b.ev.Time) })
	schema, err := table.SchemaToArrowSchema(tbl.Schema(), nil, true, false)
	if err != nil {
		return nil, fmt.Errorf("icebergsink: arrow schema: %w", err)
	}
	var files []iceberg.DataFile
	for len(rows) > 0 {
		n, size := 1, eventSize(rows[0].ev)
		day := rows[0].ev.Time.UTC().Truncate(24 * time.Hour)
		for n < len(rows) && rows[n].ev.Time.UTC().Truncate(24*time.Hour).Equal(day) {
			size += eventSize(rows[n].ev)
			if size > w.opts.TargetFileSize {
				break
			}
			n++
		}
		written, err := writeFile(ctx, tbl, schema, rows[:n])
		if err != nil {
			return nil, err
		}
		files = append(files, written...)
		rows = rows[n:]
	}
	return files, nil
}

// writeFile writes rows, of one day, as one data file of tbl.
func writeFile(ctx context.Context, tbl *table.Table, schema *arrow.Schema, rows []row) ([]iceberg.DataFile, error) {
	batches := func(yield func(arrow.RecordBatch, error) bool) {
		for len(rows) > 0 {
			n := min(len(rows), batchRows)
			rec, err := buildRecord(schema, rows[:n])
			rows = rows[n:]
			if !yield(rec, err) || err != nil {
				return
			}
		}
	}
	var files []iceberg.DataFile
	for df, err := range table.WriteRecords(ctx, tbl, schema, iter.Seq2[arrow.RecordBatch, error](batches),
		table.WithTargetFileSize(math.MaxInt64)) {
		if err != nil {
			return nil, fmt.Errorf("icebergsink: write data files: %w", err)
		}
		files = append(files, df)
	}
	return files, nil
}
