package engine

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/engine/logfile"
	"github.com/ctimport/ctimport/s3scan"
	"github.com/ctimport/ctimport/sink"
)

// chunkEvents is how many events a worker hands to the committer at once.
const chunkEvents = 1024

// jobBuffer is how many listed files may wait for a worker.
const jobBuffer = 4096

// prefetchLimit is the size of the largest object read into memory ahead
// of the workers; larger ones are streamed.
const prefetchLimit = 4 << 20

// commitInterval is the longest a finished file waits for its commit.
const commitInterval = 2 * time.Second

var (
	errStopped   = errors.New("engine: import stopped")
	errSuspended = errors.New("engine: import suspended by a shutdown")
)

// run is one execution of an import: from discovering its prefixes to
// its final status.
type run struct {
	e        *Engine
	storeID  string      // the destination; fixed for the run's life
	imp      sink.Import // owned by execute once the run started
	src      s3scan.Source
	opts     StartOptions
	ctx      context.Context
	cancel   context.CancelCauseFunc
	done     chan struct{}
	progress progress
	counted  bool // its last progress is in Engine.ended; guarded by Engine.mu
	// unrecorded is why the store does not hold the run's end; set before
	// done is closed.
	unrecorded error
}

func newRun(e *Engine, imp sink.Import, src s3scan.Source, opts StartOptions) *run {
	ctx, cancel := context.WithCancelCause(context.Background())
	r := &run{e: e, storeID: imp.StoreID, imp: imp, src: src, opts: opts, ctx: ctx, cancel: cancel, done: make(chan struct{})}
	r.progress.started = e.opts.Now()
	return r
}

func (r *run) stop() { r.cancel(errStopped) }

// ended reports whether the run is over.
func (r *run) ended() bool {
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

// job is one file to read.
type job struct {
	file s3scan.LogFile
	day  string
	prev sink.File // the file's checkpoint row from an earlier run, if any
}

// message is what the lister and the workers tell the committer; exactly
// one of its fields is set.
type message struct {
	listed *listedPrefix
	chunk  *chunk
	done   *sink.File // read in full; Status is FileImported
	failed *sink.File // a failed attempt; Status is FileRetry or FileFailed
}

type listedPrefix struct {
	key       string
	jobs      int  // files sent to the workers
	found     bool // the prefix holds log files of the import
	completed bool // its row says completed already
}

type chunk struct {
	key    string
	events []sink.Event
}

// execute runs the import to its final status and records it.
func (r *run) execute() {
	defer r.cancel(nil)
	bg := context.WithoutCancel(r.ctx)
	imp := r.imp
	imp.Status = string(api.StatusInProgress)
	imp.Updated = r.e.now()
	err := r.e.store.PutImport(bg, imp)
	if err == nil {
		r.imp = imp
		err = r.pipeline()
	}

	if cur, gerr := r.e.store.Import(bg, imp.ID); gerr == nil {
		imp = cur
	}
	imp.Message = ""
	switch {
	case errors.Is(context.Cause(r.ctx), errSuspended):
		imp.Message = "suspended by a shutdown; resumed at the next start"
	case errors.Is(context.Cause(r.ctx), errStopped):
		imp.Status = string(api.StatusStopped)
	case err != nil:
		imp.Status = string(api.StatusFailed)
		imp.Message = limit(err.Error())
	default:
		imp.Status = string(api.StatusCompleted)
		st, serr := r.e.store.Stats(bg, imp.ID)
		if serr != nil {
			imp.Status = string(api.StatusFailed)
			imp.Message = limit(serr.Error())
		} else if st.FailedEntries > 0 {
			imp.Status = string(api.StatusFailed)
		}
	}
	imp.Updated = r.e.now()
	// The store may be failing; the import then stays IN_PROGRESS and
	// Recover marks it STOPPED at the next start.
	if perr := r.e.store.PutImport(bg, imp); perr != nil {
		why := imp.Status
		if imp.Message != "" {
			why += ": " + imp.Message
		}
		r.unrecorded = fmt.Errorf("engine: recording that import %s ended %s: %w", imp.ID, why, perr)
	}
}

// window returns the delivery times of the files that can hold events of
// the import.
func (r *run) window() s3scan.Window {
	w := s3scan.Window{Start: r.imp.StartEventTime}
	if !r.imp.EndEventTime.IsZero() {
		w.End = r.imp.EndEventTime.Add(r.imp.Allowance)
	}
	return w
}

// inRange reports whether an event time is within the import's time range.
func (r *run) inRange(t time.Time) bool {
	return (r.imp.StartEventTime.IsZero() || !t.Before(r.imp.StartEventTime)) &&
		(r.imp.EndEventTime.IsZero() || !t.After(r.imp.EndEventTime))
}

func (r *run) pipeline() error {
	ctx := r.ctx
	loc, err := s3scan.ParseLocation(r.imp.SourceURI)
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	r.progress.listing.Store(true)
	var days []s3scan.DayPrefix
	err = r.retry(ctx, func() error {
		var skipped s3scan.Skipped
		var err error
		days, skipped, err = s3scan.Discover(ctx, r.src, loc.Prefix, r.window())
		if err == nil {
			r.progress.skip(skipped)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("engine: discover prefixes of %s: %w", loc, err)
	}
	r.progress.days.Store(int64(len(days)))
	rows, err := r.e.store.Prefixes(ctx, r.imp.ID)
	if err != nil {
		return fmt.Errorf("engine: read checkpoint: %w", err)
	}
	completed := make(map[string]bool, len(rows))
	for _, p := range rows {
		completed[p.Key] = p.Completed
	}
	w, err := r.e.store.NewWriter(ctx, r.imp.StoreID)
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	defer w.Close()

	c := newCommitter(r, w)
	msgs := make(chan message, 2*r.e.opts.Concurrency)
	outer, octx := errgroup.WithContext(ctx)
	outer.Go(func() error { return inStage(octx, "commit", func() error { return c.loop(msgs) }) })
	outer.Go(func() error {
		defer close(msgs)
		// A buffer lets the listing run ahead of the workers, so that the
		// work to do, and with it an ETA, is known early.
		jobs := make(chan job, jobBuffer)
		inner, ictx := errgroup.WithContext(octx)
		inner.Go(func() error {
			defer close(jobs)
			defer r.progress.listing.Store(false)
			return inStage(ictx, "list", func() error { return r.list(ictx, days, completed, jobs, msgs) })
		})
		// Downloads run ahead of the CPU workers, so that the workers need
		// not wait for the source's latency. The fetchers open objects with
		// the workers' context: the workers read the streamed ones after
		// the fetchers are done.
		fetched := make(chan prefetch)
		var fetchers errgroup.Group
		budget := semaphore.NewWeighted(r.e.opts.PrefetchBytes)
		for range r.e.opts.Downloads {
			fetchers.Go(func() error {
				return inStage(ictx, "fetch", func() error { return r.fetch(ictx, budget, jobs, fetched) })
			})
		}
		inner.Go(func() error {
			defer close(fetched)
			return fetchers.Wait()
		})
		for range r.e.opts.Concurrency {
			inner.Go(func() error {
				return inStage(ictx, "decode", func() error { return r.work(ictx, fetched, msgs) })
			})
		}
		return inner.Wait()
	})
	return outer.Wait()
}

// inStage runs f with the profiler label stage=name, so that a CPU profile
// of an import tells its stages apart: list and commit run once, fetch and
// decode in as many goroutines as the options say.
func inStage(ctx context.Context, name string, f func() error) (err error) {
	pprof.Do(ctx, pprof.Labels("stage", name), func(context.Context) { err = f() })
	return err
}

// retry calls fn until it succeeds, fails for good, or the attempts run out.
func (r *run) retry(ctx context.Context, fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || !errors.Is(err, s3scan.ErrTransient) || attempt >= r.e.opts.Attempts {
			return err
		}
		r.progress.retries.Add(1)
		if err := r.sleep(ctx, attempt); err != nil {
			return err
		}
	}
}

// sleep waits before attempt+1.
func (r *run) sleep(ctx context.Context, attempt int) error {
	t := time.NewTimer(r.e.opts.Backoff << (attempt - 1))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func send(ctx context.Context, ch chan<- message, m message) error {
	select {
	case ch <- m:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// list sends the files of every day prefix that are not imported yet to the
// workers, and tells the committer what each prefix holds.
func (r *run) list(ctx context.Context, days []s3scan.DayPrefix, completed map[string]bool, jobs chan<- job, msgs chan<- message) error {
	w := r.window()
	for _, d := range days {
		known, err := r.e.store.Files(ctx, sink.FileQuery{ImportID: r.imp.ID, Prefix: d.Key})
		if err != nil {
			return fmt.Errorf("engine: read checkpoint: %w", err)
		}
		prev := make(map[string]sink.File, len(known))
		for _, f := range known {
			prev[f.Key] = f
		}
		var todo []job
		found := completed[d.Key]
		if found {
			// Listed in full by an earlier run: only its failures are left.
			for _, f := range known {
				if f.Status != sink.FileImported {
					todo = append(todo, job{file: s3scan.LogFile{Object: s3scan.Object{Key: f.Key, Size: f.Size, ETag: f.ETag}, Delivery: f.Delivery}, day: d.Key, prev: f})
				}
			}
		} else {
			skip, err := r.skipKeys(ctx, d.Key)
			if err != nil {
				return err
			}
			err = r.retry(ctx, func() error {
				todo = todo[:0]
				skipped, err := s3scan.ListDay(ctx, r.src, d, w, func(f s3scan.LogFile) error {
					found = true
					if p, ok := prev[f.Key]; (ok && p.Status == sink.FileImported) || skip[f.Key] {
						return nil
					}
					todo = append(todo, job{file: f, day: d.Key, prev: prev[f.Key]})
					return nil
				})
				if err == nil {
					r.progress.skip(skipped)
				}
				return err
			})
			if err != nil {
				return fmt.Errorf("engine: list %s: %w", d.Key, err)
			}
		}
		for _, j := range todo {
			r.progress.found(j.file.Size)
		}
		r.progress.daysListed.Add(1)
		if err := send(ctx, msgs, message{listed: &listedPrefix{key: d.Key, jobs: len(todo), found: found, completed: completed[d.Key]}}); err != nil {
			return err
		}
		for _, j := range todo {
			select {
			case jobs <- j:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return nil
}

// skipKeys returns the keys under prefix that an incremental import skips:
// those any import already imported into the same store.
func (r *run) skipKeys(ctx context.Context, prefix string) (map[string]bool, error) {
	if !r.opts.Incremental {
		return nil, nil
	}
	files, err := r.e.store.Files(ctx, sink.FileQuery{StoreID: r.imp.StoreID, Prefix: prefix, Statuses: []sink.FileStatus{sink.FileImported}})
	if err != nil {
		return nil, fmt.Errorf("engine: read checkpoint: %w", err)
	}
	skip := make(map[string]bool, len(files))
	for _, f := range files {
		skip[f.Key] = true
	}
	return skip, nil
}

// prefetch is a job whose object a fetcher opened and, when it is small,
// read into memory.
type prefetch struct {
	job
	body    io.ReadCloser // the content; nil when opening it failed
	obj     s3scan.Object
	err     error  // why opening or reading it failed
	release func() // gives back what the content held of the budget
}

// fetch opens the objects of jobs until jobs is closed, reads each into
// memory when it is at most prefetchLimit bytes and the budget has room
// for it, and hands them to the workers. Larger objects go on as streams.
func (r *run) fetch(ctx context.Context, budget *semaphore.Weighted, jobs <-chan job, out chan<- prefetch) error {
	for {
		var j job
		var ok bool
		select {
		case j, ok = <-jobs:
			if !ok {
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		}
		p := prefetch{job: j, release: func() {}}
		p.body, p.obj, p.err = r.src.Open(ctx, j.file.Key)
		if p.err == nil && p.obj.Size <= min(prefetchLimit, r.e.opts.PrefetchBytes) {
			n := max(p.obj.Size, 1)
			if err := budget.Acquire(ctx, n); err != nil {
				p.body.Close()
				return err
			}
			var buf bytes.Buffer
			buf.Grow(int(p.obj.Size))
			_, err := buf.ReadFrom(p.body)
			p.body.Close()
			if err != nil {
				budget.Release(n)
				p.body, p.err = nil, err
			} else {
				p.body, p.release = io.NopCloser(&buf), func() { budget.Release(n) }
			}
		}
		select {
		case out <- p:
		case <-ctx.Done():
			if p.body != nil {
				p.body.Close()
			}
			p.release()
			return ctx.Err()
		}
	}
}

// work reads the prefetched files until fetched is closed.
func (r *run) work(ctx context.Context, fetched <-chan prefetch, msgs chan<- message) error {
	buf := make([]sink.Event, chunkEvents)
	for {
		select {
		case p, ok := <-fetched:
			if !ok {
				return nil
			}
			err := r.readWithRetries(ctx, p, msgs, buf)
			p.release()
			if err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// readWithRetries reads one file, retrying transient failures, and reports
// the outcome to the committer. The first attempt reads what the fetcher
// opened; a retry opens the object again. It returns an error only when
// ctx ends.
func (r *run) readWithRetries(ctx context.Context, p prefetch, msgs chan<- message, buf []sink.Event) error {
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			p.body, p.obj, p.err = r.src.Open(ctx, p.file.Key)
		}
		row, err := r.readFile(ctx, p, msgs, buf)
		row.Attempts = p.prev.Attempts + attempt
		if err == nil {
			return send(ctx, msgs, message{done: &row})
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var fe fileError
		if !errors.As(err, &fe) {
			fe = classify(err, false)
		}
		final := !fe.Transient || attempt >= r.e.opts.Attempts
		row.Status = sink.FileRetry
		if final {
			row.Status = sink.FileFailed
		}
		row.ErrorType, row.ErrorMessage = fe.Type, fe.Message
		if err := send(ctx, msgs, message{failed: &row}); err != nil {
			return err
		}
		if final {
			return nil
		}
		p.prev.ErrorType, p.prev.ErrorMessage = fe.Type, fe.Message
		r.progress.retries.Add(1)
		if err := r.sleep(ctx, attempt); err != nil {
			return err
		}
	}
}

func (fe fileError) Error() string { return fe.Type + ": " + fe.Message }

// readFile streams the file p opened to the committer, or reports why
// opening it failed. The row it returns describes the file; its status and
// error are for the caller to set.
func (r *run) readFile(ctx context.Context, p prefetch, msgs chan<- message, buf []sink.Event) (sink.File, error) {
	j := p.job
	row := sink.File{
		ImportID:     r.imp.ID,
		Key:          j.file.Key,
		Prefix:       j.day,
		ETag:         j.file.ETag,
		Size:         j.file.Size,
		Delivery:     j.file.Delivery,
		Status:       sink.FileImported,
		ErrorType:    j.prev.ErrorType,
		ErrorMessage: j.prev.ErrorMessage,
	}
	if p.err != nil {
		return row, classify(p.err, true)
	}
	defer p.body.Close()
	row.ETag, row.Size = p.obj.ETag, p.obj.Size
	src := &sourceReader{r: p.body, progress: &r.progress}
	var in io.Reader = src
	if strings.HasSuffix(j.file.Key, ".gz") {
		zr, err := gzip.NewReader(src)
		if err != nil {
			switch {
			case err == io.EOF && src.n == 0:
				err = errEmptyObject
			case !bytes.HasPrefix(gzipMagic, src.head):
				err = gzip.ErrHeader
			}
			return row, src.blame(err)
		}
		defer zr.Close()
		in = zr
	}
	in = &capReader{r: in, max: r.e.opts.MaxFileSize}
	dec := logfile.NewDecoder(in, logfile.Options{MaxRecordSize: r.e.opts.MaxRecordSize})
	for {
		n, err := dec.Next(buf)
		kept := buf[:0]
		for _, ev := range buf[:n] {
			if r.inRange(ev.Time) {
				kept = append(kept, ev)
			}
		}
		r.progress.outOfRange.Add(int64(n - len(kept)))
		if len(kept) > 0 {
			events := make([]sink.Event, len(kept))
			copy(events, kept)
			row.Events += int64(len(events))
			if err := send(ctx, msgs, message{chunk: &chunk{key: row.Key, events: events}}); err != nil {
				return row, err
			}
		}
		if err == io.EOF {
			return row, nil
		}
		if err != nil {
			return row, src.blame(err)
		}
	}
}

// gzipMagic starts every gzip stream.
var gzipMagic = []byte{0x1f, 0x8b}

// sourceReader counts the bytes read from an object, keeps its first two
// and remembers the first error the object itself returned, so that a
// failure can be told apart from bad content.
type sourceReader struct {
	r        io.Reader
	n        int64
	head     []byte
	err      error
	progress *progress
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if len(s.head) < len(gzipMagic) {
		s.head = append(s.head, p[:min(n, len(gzipMagic)-len(s.head))]...)
	}
	s.n += int64(n)
	s.progress.bytesRead.Add(int64(n))
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

// capReader passes on at most max bytes of the decompressed content of a
// file, and fails with a *fileTooLargeError when there are more.
type capReader struct {
	r      io.Reader
	max, n int64 // n bytes passed on so far
}

func (c *capReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if c.n == c.max {
		// At the cap: one more byte, and the file is too large.
		var probe [1]byte
		n, err := c.r.Read(probe[:])
		if n > 0 {
			return 0, &fileTooLargeError{limit: c.max}
		}
		return 0, err
	}
	if int64(len(p)) > c.max-c.n {
		p = p[:c.max-c.n]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// blame classifies the failure err of reading through s: the object's own
// error when it returned one, else err of the layers above it.
func (s *sourceReader) blame(err error) fileError {
	if s.err != nil {
		return classify(s.err, true)
	}
	return classify(err, false)
}
