// Package duckdbsink is the sink.Store of ctimport on an embedded DuckDB
// database file.
//
// The database keeps ctimport's catalog and checkpoint tables in schema
// ctimport and the events of each event data store in a table of schema
// main named by the store's ID, with one column per sink.Column and a
// sourceObjectKey column. The event tables are plain DuckDB tables: any
// DuckDB client can query them, and Store.Query runs SQL over them as
// CloudTrail Lake does.
//
// One process at a time may open a database for writing: DuckDB locks the
// file. Open reports a conflict as a *LockedError naming the process that
// holds the database.
//
// # Staging and memory
//
// A Writer stages appended events per object key until the Commit that
// imports the key, and a file may hold a million events or more. It keeps
// them in memory up to Options.StageLimit, counted as the bytes of the
// events' strings plus a fixed size per event. When an Append would take
// the staged total over the limit, the Writer first moves the staged
// events of the largest keys, each sorted by eventTime, into a TEMP table
// of DuckDB; the events of that Append go there directly when their key is
// the largest. The table is on a connection the Writer holds for its
// life, on which it also commits: no other connection sees the table, and
// it goes with the connection, at Writer.Close, Store.Close or the end of
// the process. A Commit of a file with status FileRetry or FileFailed
// deletes the file's rows from it.
//
// A Commit none of whose imported files has rows in the table inserts
// their events from memory. Otherwise it moves their remaining events to
// the table too and works through ranges of eventTime of about StageLimit
// bytes each: in each it deletes from the table the events the commit does
// not store (repeats, and those whose Identity the events table holds),
// then inserts the others, sorted by DuckDB. A duplicate has the eventTime
// of its original, so both fall in the same range. The result is the same
// as from memory: the same events, counts and order.
//
// DuckDB holds the TEMP table and the sorts within its memory_limit
// (Options.MemoryLimit), which should be at least about twice StageLimit,
// and beyond it writes to its temp directory: the database path with
// ".tmp" appended. The memory of an import is so bounded by StageLimit,
// the events of one Append, and DuckDB's memory_limit with DuckDB's own
// overhead, whatever the size of a file.
package duckdbsink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/ctimport/ctimport/sink"
)

// Options configure Open.
type Options struct {
	// ReadOnly opens the database for reading only. Several processes may
	// read a database at once, but not while one writes it.
	ReadOnly bool
	// Holder describes this process to others that find the database in
	// use, e.g. "ctimport start-import (import 5f…)".
	Holder string
	// MemoryLimit is DuckDB's memory_limit in bytes, rounded down to KiB;
	// 0 keeps DuckDB's default (80% of the machine's memory). Beyond it,
	// DuckDB writes what it holds, such as events a Writer staged, to its
	// temp directory.
	MemoryLimit int64
	// Threads is the number of DuckDB worker threads; 0 keeps DuckDB's
	// default.
	Threads int
	// StageLimit bounds, in bytes, the memory of the events a Writer
	// stages: beyond it the Writer moves staged events into a TEMP table
	// of DuckDB, and a Commit of events from that table sorts about this
	// much at a time (see the package documentation). 0 or less means
	// DefaultStageLimit. A very small limit makes such commits slow.
	StageLimit int64
	// NoFileAccess keeps queries from reading or writing files other than
	// the database's own, for stores whose queries come from others, such
	// as a server's.
	NoFileAccess bool
	// LockSettings keeps queries from changing DuckDB's settings. Only a
	// read-only store may lock them: writing changes some.
	LockSettings bool
	// AllowWrite lets Query run any statement and commit what it changes,
	// for an operator who knows what the change does to the imports'
	// checkpoints.
	AllowWrite bool
	// UpgradeProgress, when set, is called as Open upgrades a database
	// written by an older version of this package, with the events copied
	// so far and the events in all.
	UpgradeProgress func(done, total int64)
}

// DefaultStageLimit is the StageLimit of Options that set none: 64 MiB.
const DefaultStageLimit int64 = 64 << 20

// checkpointThreshold is the write-ahead log size at which DuckDB folds
// the log into the database file. Loading is faster when that happens
// every few commits rather than at nearly every one.
const checkpointThreshold = "128MB"

var errNoSchema = errors.New("not a ctimport database (it has no ctimport schema)")

// ErrNeedsUpgrade means a database opened read-only was written by an
// older version of this package: opening it for writing upgrades it.
var ErrNeedsUpgrade = errors.New("duckdbsink: database needs an upgrade")

// Store is a sink.Store on a DuckDB database file. Its methods are safe for
// concurrent use.
type Store struct {
	path       string
	abs        string
	readOnly   bool
	allowWrite bool // Query runs any statement and commits it
	profile    bool // Query counts what it scans; not with locked settings
	db         *sql.DB
	catalog    string            // the quoted name of the database's catalog
	replacer   *strings.Replacer // qualifies ctimport's table names; see sql

	// connector opens the connections of db, and those Writers hold.
	connector  *duckdb.Connector
	stageLimit int64

	// write serializes the transactions that change ctimport's tables, so
	// that they never conflict with each other.
	write sync.Mutex

	mu      sync.Mutex
	writers map[string]*writer // open writers by store ID
	closed  bool
}

var _ sink.Store = (*Store)(nil)

// openPaths holds the databases this process has open, by absolute path:
// DuckDB shares one database instance within a process, so its file lock
// does not keep a second Store of the same process out.
var openPaths = struct {
	sync.Mutex
	m map[string]*openPath
}{m: map[string]*openPath{}}

type openPath struct {
	readOnly bool
	holder   holderInfo
	stores   int // read-only stores share a path
}

// Open opens the database at path, creating it and its tables when it does
// not exist, unless opts.ReadOnly. When another process holds the database
// the error is a *LockedError, which wraps sink.ErrLocked.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("duckdbsink: open %s: %w", path, err)
	}
	if opts.ReadOnly {
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("duckdbsink: open %s: %w", path, fs.ErrNotExist)
		}
	}
	self := holderInfo{PID: os.Getpid(), Holder: opts.Holder, Since: time.Now()}

	openPaths.Lock()
	defer openPaths.Unlock()
	if other, ok := openPaths.m[abs]; ok && !(other.readOnly && opts.ReadOnly) {
		return nil, &LockedError{Path: path, Holder: other.holder.Holder, PID: other.holder.PID, Since: other.holder.Since}
	}

	params := url.Values{}
	if opts.ReadOnly {
		params.Set("access_mode", "READ_ONLY")
	} else {
		params.Set("checkpoint_threshold", checkpointThreshold)
	}
	if opts.MemoryLimit > 0 {
		params.Set("memory_limit", strconv.FormatInt(opts.MemoryLimit>>10, 10)+"KiB")
	}
	if opts.Threads > 0 {
		params.Set("threads", strconv.Itoa(opts.Threads))
	}
	if opts.NoFileAccess {
		params.Set("enable_external_access", "false")
	}
	if opts.LockSettings {
		if !opts.ReadOnly {
			return nil, errors.New("duckdbsink: open: only a read-only store can lock its settings")
		}
		params.Set("lock_configuration", "true")
	}
	if opts.AllowWrite && opts.ReadOnly {
		return nil, errors.New("duckdbsink: open: a read-only store cannot allow writes")
	}
	connector, err := duckdb.NewConnector(path+"?"+params.Encode(), nil)
	if err != nil {
		if lerr := lockError(path, err); lerr != nil {
			return nil, lerr
		}
		return nil, fmt.Errorf("duckdbsink: open %s: %w", path, err)
	}
	s := &Store{
		path:       path,
		abs:        abs,
		readOnly:   opts.ReadOnly,
		allowWrite: opts.AllowWrite,
		profile:    !opts.LockSettings,
		db:         sql.OpenDB(connector),
		connector:  connector,
		stageLimit: opts.StageLimit,
		writers:    map[string]*writer{},
	}
	if s.stageLimit <= 0 {
		s.stageLimit = DefaultStageLimit
	}
	if err := s.ensureSchema(ctx, opts.UpgradeProgress); err != nil {
		_ = s.db.Close()
		return nil, fmt.Errorf("duckdbsink: open %s: %w", path, err)
	}
	if !opts.ReadOnly {
		if err := writeHolder(holderPath(path), self); err != nil {
			_ = s.db.Close()
			return nil, fmt.Errorf("duckdbsink: open %s: %w", path, err)
		}
	}
	if p := openPaths.m[abs]; p != nil {
		p.stores++
	} else {
		openPaths.m[abs] = &openPath{readOnly: opts.ReadOnly, holder: self, stores: 1}
	}
	return s, nil
}

// Close closes the database. It drops what open Writers have staged.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	var errs []error
	for _, w := range s.writers {
		errs = append(errs, w.drop())
	}
	s.writers = nil
	s.mu.Unlock()

	openPaths.Lock()
	defer openPaths.Unlock()
	err := errors.Join(append(errs, s.db.Close())...)
	if !s.readOnly {
		removeHolder(holderPath(s.path), os.Getpid())
	}
	if p := openPaths.m[s.abs]; p != nil {
		if p.stores--; p.stores == 0 {
			delete(openPaths.m, s.abs)
		}
	}
	if err != nil {
		return fmt.Errorf("duckdbsink: close %s: %w", s.path, err)
	}
	return nil
}

// checkWritable returns sink.ErrReadOnly for a read-only store.
func (s *Store) checkWritable() error {
	if s.readOnly {
		return fmt.Errorf("duckdbsink: %s: %w", s.path, sink.ErrReadOnly)
	}
	return nil
}
