// Package sink is the boundary between the import engine and the place
// imported events live. A Store keeps event data stores, imports and their
// per-file checkpoints; a Writer loads events, and commits a file's events
// together with its checkpoint row, so that an import that stops or crashes
// can be retried without losing or duplicating an event.
//
// The engine only speaks this package's types. The DuckDB implementation is
// in sink/duckdbsink; sink/memsink is an in-memory one for tests; both pass
// the shared suite in sink/sinktest.
package sink

import (
	"context"
	"errors"
	"time"
)

// Errors returned by Store implementations; test with errors.Is.
var (
	// ErrNotFound means the import, event data store or table asked for does not exist.
	ErrNotFound = errors.New("sink: not found")
	// ErrExists means an event data store with that name already exists.
	ErrExists = errors.New("sink: already exists")
	// ErrLocked means another process holds the store open for writing.
	// The error's text names the holder when it is known.
	ErrLocked = errors.New("sink: store is in use by another process")
	// ErrReadOnly means a write was asked of a store opened read-only.
	ErrReadOnly = errors.New("sink: store is open read-only")
	// ErrOutOfMemory means a query needed more memory than the store may
	// take.
	ErrOutOfMemory = errors.New("sink: out of the store's memory")
)

// EventDataStore is a named destination for imported events.
type EventDataStore struct {
	ID      string // the last segment of the ARN; unique
	Name    string // unique
	ARN     string
	Created time.Time
	// Updated is when the store was last changed; a zero Updated is
	// stored as Created.
	Updated time.Time
	// RetentionPeriod is how many days the store keeps events.
	RetentionPeriod int
	// TerminationProtection forbids deleting the store.
	TerminationProtection bool
	// Selectors are the advanced event selectors that choose the events
	// imports store, as JSON that the store keeps as it is given; empty
	// when the store keeps every event.
	Selectors string
	// Deleted is when the store was deleted; while it is set the store is
	// pending deletion and Query does not resolve its ID. Zero means the
	// store is active.
	Deleted time.Time
}

// Import is the stored state of one import.
type Import struct {
	ID           string
	StoreID      string // the destination event data store
	SourceURI    string
	SourceRegion string
	RoleARN      string
	// StartEventTime and EndEventTime bound the events imported; zero means unbounded.
	StartEventTime time.Time
	EndEventTime   time.Time
	// Allowance is how long after an event its log file may be delivered.
	Allowance time.Duration
	Status    string
	Created   time.Time
	Updated   time.Time
	// NewestDelivery is the newest delivery time of the files the import read.
	NewestDelivery time.Time
	// Message says why the last run ended early, when no file failure explains it.
	Message string
}

// FileStatus is the checkpoint state of one source file.
type FileStatus string

// File statuses. A file with no row has not been read yet.
const (
	FileImported FileStatus = "IMPORTED" // its events are committed
	FileRetry    FileStatus = "RETRY"    // it failed and will be read again
	FileFailed   FileStatus = "FAILED"   // it failed and will not be read again by this run
)

// File is the checkpoint row of one source file of an import.
type File struct {
	ImportID string
	Key      string
	Prefix   string // the day prefix the key is listed under
	ETag     string
	Size     int64
	Delivery time.Time // from the file name
	Status   FileStatus
	Events   int64 // events of the file within the import's time range
	// ErrorType and ErrorMessage describe the last failure. They stay set
	// after a later success, which is how a failure reads as SUCCEEDED.
	ErrorType    string
	ErrorMessage string
	Attempts     int
	Updated      time.Time
}

// Prefix is the checkpoint row of one account/region/day prefix.
type Prefix struct {
	ImportID  string
	Key       string
	Completed bool // every file under it is imported or has failed for good
	Updated   time.Time
}

// Stats are an import's statistics, derived from its checkpoint rows.
type Stats struct {
	PrefixesFound     int64 // prefix rows
	PrefixesCompleted int64 // prefix rows with Completed
	FilesCompleted    int64 // file rows with FileImported
	EventsCompleted   int64 // sum of Events over file rows with FileImported
	BytesCompleted    int64 // sum of Size over file rows with FileImported
	FailedEntries     int64 // file rows with FileRetry or FileFailed
}

// FileQuery selects checkpoint rows. Results are ordered by key.
type FileQuery struct {
	ImportID string // rows of this import; or
	StoreID  string // rows of every import into this event data store
	Prefix   string // only keys starting with Prefix
	Statuses []FileStatus
	// Failed keeps only rows that record an error.
	Failed bool
	// After keeps only keys greater than After.
	After string
	// Limit caps the rows returned; 0 means no cap.
	Limit int
}

// EventCountQuery selects the events Store.EventCounts counts.
type EventCountQuery struct {
	// Prefix keeps the events read from objects whose key starts with it.
	Prefix string
	// Start and End keep the events whose eventTime is within [Start,
	// End]; a zero bound is open.
	Start, End time.Time
}

// Commit is what one Writer.Commit makes durable.
type Commit struct {
	Files    []File
	Prefixes []Prefix
	Import   *Import
}

// CommitResult counts the events a Commit stored.
type CommitResult struct {
	Stored     int64 // new rows in the event table
	Duplicates int64 // events whose eventID the store already held
}

// Store holds event data stores, imports, checkpoints and events.
// Its methods are safe for concurrent use.
type Store interface {
	// CreateEventDataStore adds s. It fails with ErrExists when s.Name or s.ID is taken.
	CreateEventDataStore(ctx context.Context, s EventDataStore) error
	// EventDataStores returns every event data store, oldest first.
	EventDataStores(ctx context.Context) ([]EventDataStore, error)
	// UpdateEventDataStore replaces the Name, Updated, RetentionPeriod,
	// TerminationProtection, Selectors and Deleted of the event data store with ID
	// s.ID; its ARN and Created stay, and so do its events. It fails with
	// ErrNotFound when there is no such store and with ErrExists when
	// another store has s.Name.
	UpdateEventDataStore(ctx context.Context, s EventDataStore) error
	// DropEventDataStore removes the event data store with that ID and its
	// events for good, or fails with ErrNotFound. Its imports and their
	// checkpoint rows stay. It must have no open Writer.
	DropEventDataStore(ctx context.Context, id string) error
	// PurgeEvents removes for good the events of event data store storeID
	// whose eventTime is before before, as its retention period asks, and
	// returns how many it removed. Events without an eventTime stay, and so
	// do the checkpoint rows of the files they came from. It fails with
	// ErrNotFound when there is no such store.
	PurgeEvents(ctx context.Context, storeID string, before time.Time) (int64, error)

	// PutImport inserts imp, or replaces the import with the same ID.
	PutImport(ctx context.Context, imp Import) error
	// Import returns the import with that ID, or ErrNotFound.
	Import(ctx context.Context, id string) (Import, error)
	// Imports returns every import, newest first (by Created, then ID).
	Imports(ctx context.Context) ([]Import, error)
	// Stats derives an import's statistics from its checkpoint rows.
	Stats(ctx context.Context, importID string) (Stats, error)
	// Prefixes returns an import's prefix rows, ordered by key.
	Prefixes(ctx context.Context, importID string) ([]Prefix, error)
	// Files returns the checkpoint rows q selects.
	Files(ctx context.Context, q FileQuery) ([]File, error)

	// EventCounts counts the events q selects in event data store storeID
	// by the key of the object each was read from (an event the store
	// held already when another object brought it again counts for the
	// object it was first stored from). Keys with no such event are not
	// in the map. It returns ErrNotFound when there is no such event data
	// store.
	EventCounts(ctx context.Context, storeID string, q EventCountQuery) (map[string]int64, error)
	// MissingEvents returns the identities among ids of which event data
	// store storeID holds no event, whichever object it was read from, in
	// the order of ids. It returns ErrNotFound when there is no such event
	// data store.
	MissingEvents(ctx context.Context, storeID string, ids []Identity) ([]Identity, error)

	// NewWriter returns a Writer loading events into event data store storeID.
	// A store has at most one open Writer; close it before opening another.
	NewWriter(ctx context.Context, storeID string) (Writer, error)

	// Query runs a read-only SQL statement. An event data store's ID, bare
	// (as CloudTrail Lake writes it) or double-quoted, names its events table.
	// args are bound to the statement's parameters (? placeholders), in
	// order; their number must be the number of parameters. An error of
	// the query or of its Rows that wraps ErrOutOfMemory means it needed
	// more memory than the store may take.
	Query(ctx context.Context, statement string, args ...any) (Rows, error)

	// Close releases the store. Open Writers must be closed first.
	Close() error
}

// Writer loads the events of source files into one event data store.
// A Writer is used by one goroutine at a time.
//
// Events are staged per file key and stay invisible until a Commit carries
// that file's row with status FileImported: then the file's events and its
// row are stored together. A file is never partly stored.
//
// Commits are made durable in groups: Sync makes every Commit so far
// durable. Until then a crash, a failed Commit or Close may lose any of
// them, each whole, and their rows and events may be invisible to the
// Store's other methods.
type Writer interface {
	// Append stages events read from the object key. The Writer keeps
	// the slice: the caller must not change it afterwards.
	Append(ctx context.Context, key string, events []Event) error
	// Commit stores c atomically: the staged events of every file in
	// c.Files with status FileImported, less duplicates (events whose
	// Identity the store already holds, and repeats among them, of which
	// the first staged is kept), then all rows of c. Events staged for files of c with another status are dropped;
	// events staged for files not in c stay staged. When Commit returns an
	// error, nothing of c is stored, nor maybe of the Commits since the
	// last Sync, and the Writer is of no more use.
	Commit(ctx context.Context, c Commit) (CommitResult, error)
	// Sync makes every Commit so far durable. When it returns an error,
	// the Commits since the last Sync may be lost, and the Writer is of no
	// more use.
	Sync(ctx context.Context) error
	// Close drops everything staged, and the Commits not synced.
	Close() error
}

// ShardRun is the state of one shard of an import that several processes
// run together, each over its own part of the source.
type ShardRun struct {
	ImportID string
	Index    int // from 0
	Count    int // the import's number of shards
	Status   string
	// Message says why the shard's last run ended early.
	Message string
	Updated time.Time
}

// ShardStore is implemented by stores that processes on several machines
// share, where one import can run as several shards. Its methods are safe
// for concurrent use by every process.
type ShardStore interface {
	Store
	// PutShardRun inserts r, or replaces the row of the same import and
	// Index.
	PutShardRun(ctx context.Context, r ShardRun) error
	// ShardRuns returns the shard rows of an import, ordered by Index;
	// none when the import does not run as shards.
	ShardRuns(ctx context.Context, importID string) ([]ShardRun, error)
}

// Stopper is implemented by stores that processes on several machines
// share: through it a process asks the processes running an import, on
// any machine, to stop it.
type Stopper interface {
	// RequestStop asks the processes running import importID to stop it;
	// the request stands until ClearStop.
	RequestStop(ctx context.Context, importID string) error
	// StopRequested reports whether a stop of import importID stands.
	StopRequested(ctx context.Context, importID string) (bool, error)
	// ClearStop withdraws the stop asked of import importID, if any.
	ClearStop(ctx context.Context, importID string) error
}

// QueryChecker is implemented by stores that can check a statement without
// running it.
type QueryChecker interface {
	// CheckQuery reports whether Query would accept statement with nargs
	// arguments.
	CheckQuery(ctx context.Context, statement string, nargs int) error
}

// ScanCounter is implemented by Rows that can tell what their query read.
type ScanCounter interface {
	// Scanned returns, once Next has returned false, how many events the
	// query read from event data stores, and an estimate of the bytes
	// they take in the store. ok is false when the store does not know.
	Scanned() (events, bytes int64, ok bool)
}

// Rows is the result of a query. Its use mirrors database/sql.Rows.
type Rows interface {
	// Columns returns the column names.
	Columns() []string
	// Next advances to the next row; it returns false at the end or on error.
	Next() bool
	// Values returns the current row: nil, bool, int64, float64, string,
	// time.Time, or []any and map[string]any for nested values.
	Values() ([]any, error)
	// Err returns the error that ended the iteration, if any.
	Err() error
	// Close releases the rows.
	Close() error
}
