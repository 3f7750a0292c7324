// Package pgsink is the store that processes on several machines share:
// event data stores, imports, their checkpoint rows and the shards of
// imports live in a PostgreSQL database, and each event data store keeps
// its events in an Apache Iceberg table of Lake's schema (see
// sink/icebergsink), in an S3 bucket, catalogued by Iceberg's SQL catalog
// in the same database. Athena, Trino, Spark and DuckDB read the tables.
//
// A Writer appends events in Iceberg commits whose snapshot summaries name
// the source objects they carry, and writes a commit's checkpoint rows to
// PostgreSQL after the Iceberg commit. A process that dies between the two
// leaves objects whose events the table holds and whose rows are missing:
// the next run reads them again, finds their events in the table, and
// writes the rows, so that no event is lost or stored twice.
//
// Queries run in DuckDB over local copies of the data files of each
// table's current snapshot, with Lake's functions (see sink/duckdbsink).
package pgsink

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	_ "github.com/apache/iceberg-go/catalog/glue" // the catalog type "glue"
	_ "github.com/apache/iceberg-go/catalog/rest" // the catalog type "rest"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	iceio "github.com/apache/iceberg-go/io"
	_ "github.com/apache/iceberg-go/io/gocloud/s3" // the s3:// FileIO
	"github.com/apache/iceberg-go/table"
	_ "github.com/jackc/pgx/v5/stdlib" // the database/sql driver "pgx"

	"github.com/ctimport/ctimport/sink"
	"github.com/ctimport/ctimport/sink/icebergsink"
)

// CatalogName is the name of the SQL catalog of the tables, and Namespace
// their Iceberg namespace; a table is named by its event data store's ID.
const (
	CatalogName = "ctimport"
	Namespace   = "ctimport"
)

// maxConns is the most connections a Store opens to the database.
const maxConns = 4

// schemaVersion is the version of the state tables this package writes.
const schemaVersion = 1

// schemaLock is the key of the PostgreSQL advisory lock under which Open
// creates the tables, so that shards starting together do not race.
const schemaLock = 0x637469_6d706f72 // "ctimpor"

// Options configure a Store.
type Options struct {
	// URL is the PostgreSQL connection URL, postgres://...; the state
	// tables and Iceberg's SQL catalog live in that database.
	URL string
	// Warehouse is s3://bucket[/prefix]: each event data store's table is
	// at <Warehouse>/<store ID>.
	Warehouse string
	// S3 is how the tables' files are reached; empty fields come from the
	// AWS environment variables.
	S3 S3Options
	// CacheDir holds local copies of data files for Query; "" means a
	// temporary directory that Close removes.
	CacheDir string
	// QueryMemory bounds the memory of a query's DuckDB, in bytes; beyond
	// it DuckDB writes to CacheDir. 0 keeps DuckDB's default.
	QueryMemory int64
	// Writer tunes the Iceberg writers.
	Writer icebergsink.Options
	// Catalog, when set, are the properties of the Iceberg catalog of the
	// tables, as iceberg-go's catalog.Load takes them: "type" is "rest"
	// (with "uri", and "credential" or "token"), "glue" or "sql". The S3
	// options are added to them. Unset, the catalog is the SQL catalog in
	// the state database.
	Catalog iceberg.Properties
}

// S3Options are the S3 endpoint and credentials of the tables' files.
type S3Options struct {
	EndpointURL, Region, AccessKeyID, SecretAccessKey, SessionToken string
}

// fromEnv fills the empty fields of o from the AWS environment variables.
func (o S3Options) fromEnv() S3Options {
	o.EndpointURL = cmp.Or(o.EndpointURL, os.Getenv("AWS_ENDPOINT_URL_S3"), os.Getenv("AWS_ENDPOINT_URL"))
	o.Region = cmp.Or(o.Region, os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION"), "us-east-1")
	if o.AccessKeyID == "" && o.SecretAccessKey == "" {
		o.AccessKeyID, o.SecretAccessKey = os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY")
		o.SessionToken = cmp.Or(o.SessionToken, os.Getenv("AWS_SESSION_TOKEN"))
	}
	return o
}

func (o S3Options) properties() iceberg.Properties {
	p := iceberg.Properties{iceio.S3Region: o.Region}
	if o.EndpointURL != "" {
		p[iceio.S3EndpointURL] = o.EndpointURL
	}
	if o.AccessKeyID != "" {
		p[iceio.S3AccessKeyID], p[iceio.S3SecretAccessKey] = o.AccessKeyID, o.SecretAccessKey
	}
	if o.SessionToken != "" {
		p[iceio.S3SessionToken] = o.SessionToken
	}
	return p
}

// Store is a sink.ShardStore over PostgreSQL and Iceberg tables. Its
// methods are safe for concurrent use, also by other processes.
type Store struct {
	db        *sql.DB
	cat       catalog.Catalog
	warehouse string
	writer    icebergsink.Options

	cacheDir    string
	ownCache    bool
	queryMemory int64
	queryMu     sync.Mutex // serializes the downloads of Query

	mu      sync.Mutex
	closed  bool
	writers map[string]bool // the stores with an open Writer of this Store
}

var (
	_ sink.ShardStore = (*Store)(nil)
	_ sink.Stopper    = (*Store)(nil)
)

// ErrBadOptions means Options lack something Open needs.
var ErrBadOptions = errors.New("pgsink: bad options")

// Open connects to the database of opts.URL, creates the state tables and
// the catalog's when missing, and returns the Store.
func Open(ctx context.Context, opts Options) (*Store, error) {
	if !strings.HasPrefix(opts.URL, "postgres://") && !strings.HasPrefix(opts.URL, "postgresql://") {
		return nil, fmt.Errorf("%w: the database URL must start with postgres://", ErrBadOptions)
	}
	wh := strings.TrimSuffix(opts.Warehouse, "/")
	if bucket, _, _ := strings.Cut(strings.TrimPrefix(wh, "s3://"), "/"); !strings.HasPrefix(wh, "s3://") || bucket == "" {
		return nil, fmt.Errorf("%w: the warehouse must be s3://BUCKET[/PREFIX], not %q", ErrBadOptions, opts.Warehouse)
	}
	db, err := sql.Open("pgx", opts.URL)
	if err != nil {
		return nil, fmt.Errorf("pgsink: %w", err)
	}
	// Hundreds of shards share the server's connections.
	db.SetMaxOpenConns(maxConns)
	s := &Store{db: db, warehouse: wh, writer: opts.Writer, cacheDir: opts.CacheDir, queryMemory: opts.QueryMemory, writers: map[string]bool{}}
	if err := s.init(ctx, opts.S3.fromEnv().properties(), opts.Catalog); err != nil {
		db.Close()
		return nil, err
	}
	if s.cacheDir == "" {
		if s.cacheDir, err = os.MkdirTemp("", "ctimport-pgsink-"); err != nil {
			db.Close()
			return nil, fmt.Errorf("pgsink: %w", err)
		}
		s.ownCache = true
	}
	return s, nil
}

// init creates the state tables, and opens the catalog under the advisory
// lock: the SQL catalog creates its tables when missing.
func (s *Store) init(ctx context.Context, props, catalogProps iceberg.Properties) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("pgsink: connect: %w", err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, schemaLock); err != nil {
		return fmt.Errorf("pgsink: connect: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, schemaLock)
	for _, stmt := range schema {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("pgsink: create the state tables: %w", err)
		}
	}
	var version int
	switch err := conn.QueryRowContext(ctx, `SELECT version FROM ctimport_schema`).Scan(&version); {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := conn.ExecContext(ctx, `INSERT INTO ctimport_schema (version) VALUES ($1)`, schemaVersion); err != nil {
			return fmt.Errorf("pgsink: create the state tables: %w", err)
		}
	case err != nil:
		return fmt.Errorf("pgsink: read the schema version: %w", err)
	case version > schemaVersion:
		return fmt.Errorf("pgsink: the database was written by a newer ctimport (schema %d; this one knows %d)", version, schemaVersion)
	}
	if len(catalogProps) > 0 {
		all := maps.Clone(props)
		maps.Copy(all, catalogProps)
		s.cat, err = catalog.Load(ctx, CatalogName, all)
	} else {
		s.cat, err = sqlcat.NewCatalog(CatalogName, s.db, sqlcat.Postgres, props)
	}
	if err != nil {
		return fmt.Errorf("pgsink: open the Iceberg catalog: %w", err)
	}
	return nil
}

var schema = []string{
	`CREATE TABLE IF NOT EXISTS ctimport_schema (version integer NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS ctimport_event_data_stores (
		id text PRIMARY KEY,
		name text NOT NULL UNIQUE,
		arn text NOT NULL,
		created timestamptz NOT NULL,
		updated timestamptz NOT NULL,
		retention_period integer NOT NULL,
		termination_protection boolean NOT NULL,
		selectors text NOT NULL,
		deleted timestamptz)`,
	`CREATE TABLE IF NOT EXISTS ctimport_imports (
		id text PRIMARY KEY,
		store_id text NOT NULL,
		source_uri text NOT NULL,
		source_region text NOT NULL,
		role_arn text NOT NULL,
		start_event_time timestamptz,
		end_event_time timestamptz,
		allowance_ns bigint NOT NULL,
		status text NOT NULL,
		created timestamptz,
		updated timestamptz,
		newest_delivery timestamptz,
		message text NOT NULL)`,
	`CREATE TABLE IF NOT EXISTS ctimport_files (
		import_id text NOT NULL,
		key text NOT NULL,
		prefix text NOT NULL,
		etag text NOT NULL,
		size bigint NOT NULL,
		delivery timestamptz,
		status text NOT NULL,
		events bigint NOT NULL,
		error_type text NOT NULL,
		error_message text NOT NULL,
		attempts integer NOT NULL,
		updated timestamptz,
		PRIMARY KEY (import_id, key))`,
	`CREATE TABLE IF NOT EXISTS ctimport_prefixes (
		import_id text NOT NULL,
		key text NOT NULL,
		completed boolean NOT NULL,
		updated timestamptz,
		PRIMARY KEY (import_id, key))`,
	`CREATE TABLE IF NOT EXISTS ctimport_shard_runs (
		import_id text NOT NULL,
		index integer NOT NULL,
		count integer NOT NULL,
		status text NOT NULL,
		message text NOT NULL,
		updated timestamptz,
		PRIMARY KEY (import_id, index))`,
	`CREATE TABLE IF NOT EXISTS ctimport_stop_requests (
		import_id text PRIMARY KEY,
		requested timestamptz NOT NULL)`,
}

// storeIDRE matches the IDs that name tables: what the engine makes
// (UUIDs) and what tests use.
var storeIDRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$`)

// ident returns the table of event data store id.
func ident(id string) table.Identifier { return table.Identifier{Namespace, strings.ToLower(id)} }

// location returns where the table of event data store id lives.
func (s *Store) location(id string) string { return s.warehouse + "/" + strings.ToLower(id) }

// check returns an error once the store is closed.
func (s *Store) check() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errClosed
	}
	return nil
}

var errClosed = errors.New("pgsink: store is closed")

// Close releases the database and removes a temporary cache.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	err := s.db.Close()
	if s.ownCache {
		os.RemoveAll(s.cacheDir)
	}
	return err
}

// nullTime is t for a nullable column: NULL for the zero time.
func nullTime(t time.Time) sql.NullTime {
	return sql.NullTime{Time: t.UTC().Truncate(time.Microsecond), Valid: !t.IsZero()}
}

// timeOf is the time of a nullable column, in UTC.
func timeOf(t sql.NullTime) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}
