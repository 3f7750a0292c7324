package duckdbsink

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/ctimport/ctimport/sink"
)

// schemaVersion is the version of the tables this package creates. Open
// upgrades a database of version 1, 2 or 3 when it opens it for writing,
// and refuses any other.
const schemaVersion = 4

// schemaDDL creates ctimport's own tables, which live in schema ctimport;
// event tables live in schema main, one per event data store.
var schemaDDL = []string{
	`CREATE TABLE ctimport.schema_version (version INTEGER NOT NULL)`,
	`CREATE TABLE ctimport.event_data_stores (
		id VARCHAR PRIMARY KEY,
		name VARCHAR NOT NULL UNIQUE,
		arn VARCHAR NOT NULL,
		created TIMESTAMPTZ` + storeColumnsV3 + storeColumnsV4 + `
	)`,
	`CREATE TABLE ctimport.imports (
		id VARCHAR PRIMARY KEY,
		store_id VARCHAR NOT NULL,
		source_uri VARCHAR NOT NULL,
		source_region VARCHAR NOT NULL,
		role_arn VARCHAR NOT NULL,
		start_event_time TIMESTAMPTZ,
		end_event_time TIMESTAMPTZ,
		allowance_ns BIGINT NOT NULL,
		status VARCHAR NOT NULL,
		created TIMESTAMPTZ,
		updated TIMESTAMPTZ,
		newest_delivery TIMESTAMPTZ,
		message VARCHAR NOT NULL
	)`,
	`CREATE TABLE ctimport.prefixes (
		import_id VARCHAR NOT NULL,
		key VARCHAR NOT NULL,
		completed BOOLEAN NOT NULL,
		updated TIMESTAMPTZ,
		PRIMARY KEY (import_id, key)
	)`,
	`CREATE TABLE ctimport.files (
		import_id VARCHAR NOT NULL,
		key VARCHAR NOT NULL,
		prefix VARCHAR NOT NULL,
		etag VARCHAR NOT NULL,
		size BIGINT NOT NULL,
		delivery TIMESTAMPTZ,
		status VARCHAR NOT NULL,
		events BIGINT NOT NULL,
		error_type VARCHAR NOT NULL,
		error_message VARCHAR NOT NULL,
		attempts INTEGER NOT NULL,
		updated TIMESTAMPTZ,
		PRIMARY KEY (import_id, key)
	)`,
}

// ensureSchema learns the name of the database's catalog, then creates
// the tables of a new database, or checks the version of an existing one.
func (s *Store) ensureSchema(ctx context.Context, progress func(done, total int64)) error {
	var catalog string
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT current_database(), (SELECT count(*) FROM duckdb_schemas()
		WHERE database_name = current_database() AND schema_name = 'ctimport')`).Scan(&catalog, &n)
	if err != nil {
		return err
	}
	s.catalog = quoteIdent(catalog)
	s.replacer = strings.NewReplacer("ctimport.", s.catalog+".ctimport.")
	if n == 0 {
		if s.readOnly {
			return errNoSchema
		}
		return inTx(ctx, s.db, func(tx *sql.Tx) error {
			for _, schema := range []string{"ctimport", eventsSchema} {
				if _, err := tx.ExecContext(ctx, "CREATE SCHEMA "+s.catalog+"."+schema); err != nil {
					return err
				}
			}
			for _, stmt := range schemaDDL {
				if _, err := tx.ExecContext(ctx, s.sql(stmt)); err != nil {
					return err
				}
			}
			if err := createMacros(ctx, tx); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, s.sql(`INSERT INTO ctimport.schema_version VALUES (?)`), schemaVersion)
			return err
		})
	}
	var version int
	if err := s.db.QueryRowContext(ctx, s.sql(`SELECT max(version) FROM ctimport.schema_version`)).Scan(&version); err != nil {
		return err
	}
	switch {
	case version == schemaVersion && s.readOnly:
		return nil
	case version == schemaVersion:
		// A writer replaces the Lake functions, so that a database made by
		// an earlier build gets their fixes.
		return inTx(ctx, s.db, func(tx *sql.Tx) error { return createMacros(ctx, tx) })
	case version >= 1 && version < schemaVersion && s.readOnly:
		return fmt.Errorf("%w: the database has schema version %d, from an older ctimport", ErrNeedsUpgrade, version)
	case version == 1:
		if err := s.upgrade1(ctx, progress); err != nil {
			return err
		}
		return s.addStoreColumns(ctx, version, storeColumnsV3+storeColumnsV4)
	case version == 2:
		return s.addStoreColumns(ctx, version, storeColumnsV3+storeColumnsV4)
	case version == 3:
		return s.addStoreColumns(ctx, version, storeColumnsV4)
	}
	return fmt.Errorf("database schema version %d is not supported (want %d)", version, schemaVersion)
}

// inTx runs f in a transaction of db and commits it, or rolls it back when
// f fails.
func inTx(ctx context.Context, db *sql.DB, f func(tx *sql.Tx) error) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := f(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// sql qualifies the names of ctimport's tables in query with the
// database's catalog: a database file named ctimport.duckdb has a catalog
// named ctimport, which makes "ctimport.files" ambiguous.
func (s *Store) sql(query string) string {
	return s.replacer.Replace(query)
}

// eventsSchema holds the events tables. It is not ctimport's schema: a view
// names its table without the catalog, so that the database file can be
// renamed, and in a file named ctimport.duckdb "ctimport" also names the
// catalog.
const eventsSchema = "ctimport_events"

// eventTableName returns the name of the events table of event data store
// storeID, qualified by its schema only.
func eventTableName(storeID string) string {
	return eventsSchema + "." + quoteIdent(storeID)
}

// eventTable returns the qualified name of the events table of event data
// store storeID.
func (s *Store) eventTable(storeID string) string {
	return s.catalog + "." + eventTableName(storeID)
}

// lakeView returns the qualified name of the view of event data store
// storeID, which queries read.
func (s *Store) lakeView(storeID string) string {
	return s.catalog + ".main." + quoteIdent(storeID)
}

// eventTableDDL returns the statement creating the events table named
// table.
func eventTableDDL(table string) string {
	var b strings.Builder
	b.WriteString("CREATE TABLE ")
	b.WriteString(table)
	b.WriteString(" (")
	for c := range sink.NumColumns {
		b.WriteString(quoteIdent(c.Name()))
		b.WriteString(" ")
		b.WriteString(sqlType(c.Kind()))
		b.WriteString(", ")
	}
	b.WriteString(quoteIdent(sink.SourceKeyColumn))
	b.WriteString(" VARCHAR)")
	return b.String()
}

func sqlType(k sink.Kind) string {
	switch k {
	case sink.Timestamp:
		return "TIMESTAMP"
	case sink.Bool:
		return "BOOLEAN"
	case sink.JSON:
		return "JSON"
	default:
		return "VARCHAR"
	}
}
