package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/pipeline"
	"github.com/ctimport/ctimport/s3scan"
	"github.com/ctimport/ctimport/sink"
)

var (
	errStopped   = errors.New("engine: import stopped")
	errSuspended = errors.New("engine: import suspended by a shutdown")
)

// run is one execution of an import: from discovering its prefixes to
// its final status.
type run struct {
	storeID  string      // the destination; fixed for the run's life
	imp      sink.Import // as the run started; execute owns it
	src      s3scan.Source
	opts     StartOptions
	ctx      context.Context
	cancel   context.CancelCauseFunc
	done     chan struct{}
	progress pipeline.Counters
	counted  bool // its last progress is in Engine.ended; guarded by Engine.mu
	// unrecorded is why the store does not hold the run's end; set before
	// done is closed.
	unrecorded error
}

func newRun(imp sink.Import, src s3scan.Source, opts StartOptions, started time.Time) *run {
	ctx, cancel := context.WithCancelCause(context.Background())
	r := &run{storeID: imp.StoreID, imp: imp, src: src, opts: opts, ctx: ctx, cancel: cancel, done: make(chan struct{})}
	r.progress.Started = started
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

// execute runs the import of r to its final status and records it; a
// shard's run records its shard's status, of which the import's derives.
func (e *Engine) execute(r *run) {
	defer r.cancel(nil)
	bg := context.WithoutCancel(r.ctx)
	sharded := r.opts.Shard.Count > 0
	imp := r.imp
	imp.Status = string(api.StatusInProgress)
	imp.Updated = e.now()
	err := e.store.PutImport(bg, imp)
	if err == nil && sharded {
		err = e.recordShard(bg, r, api.StatusInProgress, "")
	}
	if err == nil {
		err = e.pipelineWatched(r, imp)
	}

	if cur, gerr := e.store.Import(bg, imp.ID); gerr == nil {
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
		imp.Message = api.ShortMessage(err.Error())
	case sharded:
		// The import's failed files are counted over every shard.
		imp.Status = string(api.StatusCompleted)
	default:
		imp.Status = string(api.StatusCompleted)
		st, serr := e.store.Stats(bg, imp.ID)
		if serr != nil {
			imp.Status = string(api.StatusFailed)
			imp.Message = api.ShortMessage(serr.Error())
		} else if st.FailedEntries > 0 {
			imp.Status = string(api.StatusFailed)
		}
	}
	imp.Updated = e.now()
	// The store may be failing; the import then stays IN_PROGRESS and
	// Recover marks it STOPPED at the next start.
	var perr error
	if sharded {
		perr = e.recordShard(bg, r, api.ImportStatus(imp.Status), imp.Message)
	} else {
		perr = e.store.PutImport(bg, imp)
	}
	if perr != nil {
		why := imp.Status
		if imp.Message != "" {
			why += ": " + imp.Message
		}
		r.unrecorded = fmt.Errorf("engine: recording that import %s ended %s: %w", imp.ID, why, perr)
	}
}

// pipelineWatched runs the pipeline of r, stopping it when a stop of its
// import is asked through a store that processes share.
func (e *Engine) pipelineWatched(r *run, imp sink.Import) error {
	st, ok := e.store.(sink.Stopper)
	if !ok {
		return e.pipeline(r, imp)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { e.watchStop(r, st, done) })
	defer wg.Wait()
	defer close(done)
	return e.pipeline(r, imp)
}

// pipeline loads the files of r's import, IN_PROGRESS as imp.
func (e *Engine) pipeline(r *run, imp sink.Import) error {
	loc, err := s3scan.ParseLocation(imp.SourceURI)
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	dest, err := e.resolveStore(r.ctx, imp.StoreID)
	if err != nil {
		return fmt.Errorf("engine: %w", err)
	}
	// Events past the store's retention period are removed before the run
	// (by the first shard alone, when the import runs as shards) and not
	// imported by it.
	notBefore := e.retentionStart(dest)
	if r.opts.Shard.Index == 0 {
		if _, notBefore, err = e.pruneStore(r.ctx, dest); err != nil {
			return err
		}
	}
	m, err := storeMatcher(dest)
	if err != nil {
		return err
	}
	cfg := e.opts.Config
	if r.opts.Shard.Count > 0 {
		// Every sync of a shard is a commit to a table that all shards
		// commit to, one at a time.
		cfg.SyncInterval = max(cfg.SyncInterval, ShardSyncInterval)
	}
	p := pipeline.Run{
		Import:      imp,
		NotBefore:   notBefore,
		Incremental: r.opts.Incremental,
		Selectors:   m,
		Shard:       r.opts.Shard,
		Source:      r.src,
		Store:       e.store,
		Config:      cfg,
		Now:         e.now,
		Progress:    &r.progress,
	}
	return p.Execute(r.ctx, loc.Prefix)
}
