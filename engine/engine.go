// Package engine implements the CloudTrail import, query and event data
// store operations over one store: it validates their input, keeps the
// lifecycle of imports (start, stop, retry, the final status, recovery
// after a crash), of queries and of event data stores (update, deletion
// with its wait, restore), and verifies ended imports. The files of an import are loaded by
// package pipeline, one run at a time.
//
// The engine knows sources only as s3scan.Source and stores only as
// sink.Store; it holds no details of either.
package engine

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/pipeline"
	"github.com/ctimport/ctimport/s3scan"
	"github.com/ctimport/ctimport/sink"
)

// Defaults of Options.
const (
	DefaultAllowance     = time.Hour
	DefaultDownloads     = 64
	DefaultPrefetchBytes = 16 << 20
	DefaultAttempts      = 4
	DefaultBackoff       = time.Second
	DefaultBatchEvents   = 8_000
	DefaultSyncInterval  = 5 * time.Second
	DefaultRegion        = "us-east-1"
	DefaultAccount       = "000000000000"

	DefaultMaxOngoingImports = 1
	DefaultMaxRunningQueries = 2
	DefaultQueryResultBytes  = 64 << 20

	// DefaultMaxRecordSize is the default of Options.MaxRecordSize: far
	// above the size of the records CloudTrail writes, and a bound on the
	// memory a worker holds for one record.
	DefaultMaxRecordSize = 64 << 20
	// DefaultMaxFileSize is the default of Options.MaxFileSize. CloudTrail
	// delivers a log file every few minutes per account and region; the
	// largest are a few hundred MB once decompressed, so 2 GiB leaves them
	// ample room while a gzip bomb, which expands a thousandfold, is cut off
	// after a few MB of input.
	DefaultMaxFileSize = 2 << 30
)

// DefaultConcurrency is the default number of files decoded at once: one
// per CPU. Downloads wait on the network in fetchers of their own.
func DefaultConcurrency() int { return runtime.NumCPU() }

// SourceOpener opens the source of an import.
type SourceOpener func(ctx context.Context, loc s3scan.Location, src api.S3ImportSource) (s3scan.Source, error)

// Options configure an Engine. The zero value of each field means its default.
type Options struct {
	// Config sizes and paces the pipelines of imports: Concurrency
	// decoders, Downloads fetchers ahead of them within PrefetchBytes,
	// Attempts at a file with Backoff between them, BatchEvents events a
	// commit, a sync every SyncInterval, and the caps MaxRecordSize and
	// MaxFileSize, beyond which a file fails with LimitExceeded.
	pipeline.Config
	// OpenSource opens import sources; the default is Sources("").
	OpenSource SourceOpener
	// Region and Account go into the ARNs of new event data stores.
	Region  string
	Account string
	// Now tells the time.
	Now func() time.Time
	// MaxOngoingImports is how many imports run at once; StartImport
	// refuses more with AccountHasOngoingImportException. The default, 1,
	// is CloudTrail Lake's: an account runs one import at a time.
	MaxOngoingImports int
	// MaxRunningQueries is how many queries run at once; more wait, QUEUED.
	MaxRunningQueries int
	// Resume carries the imports of an Engine over to the next Engine over
	// the store, as a server that is restarted wants: Close leaves the
	// imports it stops IN_PROGRESS, with what they read committed, and
	// Recover starts again the imports a process left running. Without it,
	// Close stops them as StopImport does, and Recover leaves them STOPPED
	// for a retry.
	Resume bool
	// QueryResultBytes caps the results the Engine holds, all queries
	// together, counted as the bytes of their values and column names and
	// of the Engine's record of each value. A query whose results need more
	// than older queries' results leave makes the Engine forget the oldest
	// ended queries; it fails when they are not enough.
	QueryResultBytes int64
}

func (o Options) withDefaults() Options {
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency()
	}
	if o.Downloads <= 0 {
		o.Downloads = DefaultDownloads
	}
	if o.PrefetchBytes <= 0 {
		o.PrefetchBytes = DefaultPrefetchBytes
	}
	if o.Attempts <= 0 {
		o.Attempts = DefaultAttempts
	}
	if o.Backoff <= 0 {
		o.Backoff = DefaultBackoff
	}
	if o.BatchEvents <= 0 {
		o.BatchEvents = DefaultBatchEvents
	}
	if o.SyncInterval <= 0 {
		o.SyncInterval = DefaultSyncInterval
	}
	if o.OpenSource == nil {
		o.OpenSource = Sources("")
	}
	if o.Region == "" {
		o.Region = DefaultRegion
	}
	if o.Account == "" {
		o.Account = DefaultAccount
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxOngoingImports <= 0 {
		o.MaxOngoingImports = DefaultMaxOngoingImports
	}
	if o.MaxRunningQueries <= 0 {
		o.MaxRunningQueries = DefaultMaxRunningQueries
	}
	if o.QueryResultBytes <= 0 {
		o.QueryResultBytes = DefaultQueryResultBytes
	}
	if o.MaxRecordSize <= 0 {
		o.MaxRecordSize = DefaultMaxRecordSize
	}
	if o.MaxFileSize <= 0 {
		o.MaxFileSize = DefaultMaxFileSize
	}
	return o
}

// Sources returns a SourceOpener of local directories and S3 buckets,
// reached through the S3 endpoint when it is not empty (else the endpoint
// the environment names, else AWS). Buckets are read as the source's
// S3BucketAccessRoleArn when it is not empty; local directories ignore it.
func Sources(endpoint string) SourceOpener {
	return func(ctx context.Context, loc s3scan.Location, src api.S3ImportSource) (s3scan.Source, error) {
		if loc.Scheme == "file" {
			return s3scan.NewDir(loc.Dir)
		}
		return s3scan.NewS3(ctx, s3scan.S3Config{
			Bucket:   loc.Bucket,
			Region:   src.S3BucketRegion,
			RoleARN:  src.S3BucketAccessRoleArn,
			Endpoint: endpoint,
		})
	}
}

// Engine runs the import and query operations over one store: it is the
// api.Service of that store, with methods beyond the API for the commands
// that run imports in their own process. Its methods are safe for
// concurrent use. Imports and queries started by an Engine run in
// goroutines it owns; Close stops them.
type Engine struct {
	store sink.Store
	opts  Options

	mu       sync.Mutex
	runs     map[string]*run // the latest run of each import, by import ID
	ended    Totals          // the last progress of the runs that ended
	reported Totals          // what Totals returned last
	queries  map[string]*query
	order    []*query // the kept queries, oldest first
	held     int64    // bytes the kept queries' results take, of QueryResultBytes
	history  history
	closed   bool
	wg       sync.WaitGroup

	querySlots *semaphore.Weighted
}

var _ api.Service = (*Engine)(nil)

// New returns an Engine over store.
func New(store sink.Store, opts Options) *Engine {
	opts = opts.withDefaults()
	return &Engine{
		store:      store,
		opts:       opts,
		runs:       make(map[string]*run),
		queries:    make(map[string]*query),
		history:    history{byID: make(map[string]*queryRecord)},
		querySlots: semaphore.NewWeighted(int64(opts.MaxRunningQueries)),
	}
}

// Close stops every running import, cancels the queries, and waits for
// them to end. The imports it stops commit what they read and end STOPPED,
// as StopImport would stop them; with Options.Resume they stay IN_PROGRESS,
// for the next Engine's Recover to resume.
func (e *Engine) Close() error {
	cause := errStopped
	if e.opts.Resume {
		cause = errSuspended
	}
	e.mu.Lock()
	e.closed = true
	for _, r := range e.runs {
		r.cancel(cause)
	}
	for _, q := range e.order {
		q.abort(e.now())
	}
	e.mu.Unlock()
	e.wg.Wait()
	return nil
}

// Recovered is an import that a process left running, as Recover found it.
type Recovered struct {
	ImportID string
	// Resumed reports whether Recover started the import again, which it
	// does with Options.Resume. When it could not, Err says why, and the
	// import stays STOPPED.
	Resumed bool
	Err     error
}

// Recover marks imports left INITIALIZING or IN_PROGRESS by a process that
// ended without finishing them as STOPPED, so that they can be retried,
// and with Options.Resume retries them at once. It returns them, in the
// order of Store.Imports. Call it only while no other process can run
// imports on the store.
func (e *Engine) Recover(ctx context.Context) ([]Recovered, error) {
	imps, err := e.store.Imports(ctx)
	if err != nil {
		return nil, fmt.Errorf("engine: recover: %w", err)
	}
	var found []Recovered
	for _, imp := range imps {
		st := api.ImportStatus(imp.Status)
		if st.Done() || e.isRunning(imp.ID) {
			continue
		}
		// The shards of an import run in processes of their own, which
		// their job starts again.
		if runs, err := e.shardRuns(ctx, imp.ID); err != nil {
			return nil, fmt.Errorf("engine: recover: %w", err)
		} else if len(runs) > 0 {
			continue
		}
		imp.Status = string(api.StatusStopped)
		imp.Updated = e.now()
		imp.Message = "the process running the import ended before it finished"
		if err := e.store.PutImport(ctx, imp); err != nil {
			return nil, fmt.Errorf("engine: recover: %w", err)
		}
		r := Recovered{ImportID: imp.ID}
		if e.opts.Resume {
			_, r.Err = e.StartImport(ctx, api.StartImportInput{ImportId: imp.ID})
			r.Resumed = r.Err == nil
		}
		found = append(found, r)
	}
	return found, nil
}

// now returns the time as the store keeps it: UTC, to the microsecond.
func (e *Engine) now() time.Time { return stamp(e.opts.Now()) }

// stamp returns t as the store keeps times: UTC, to the microsecond.
func stamp(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// Query runs a read-only SQL statement over the event data stores, with
// args bound to its parameters (? placeholders) in order. Every error of
// the statement, such as a wrong number of args, is an
// InvalidQueryStatementException; a statement naming an event data store
// PENDING_DELETION is refused with InactiveEventDataStoreException.
func (e *Engine) Query(ctx context.Context, statement string, args ...any) (sink.Rows, error) {
	if statement == "" {
		return nil, api.ErrInvalidQueryStatement.New("the query statement is empty")
	}
	if _, err := e.queryStores(ctx, statement); err != nil {
		return nil, err
	}
	rows, err := e.store.Query(ctx, statement, args...)
	switch {
	case errors.Is(err, sink.ErrOutOfMemory):
		return nil, err
	case err != nil:
		return nil, api.ErrInvalidQueryStatement.New("%s", OneLine(err.Error()))
	}
	return rows, nil
}

// OneLine folds a message, such as DuckDB's errors that point at the
// statement on lines of their own, into one line.
func OneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// Progress is a snapshot of a running import's counters, for progress
// displays. Unlike the import's statistics, which count what is committed
// over all its runs, it counts this run only.
type Progress = pipeline.Progress
