package duckdbsink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/duckdb/duckdb-go/v2"

	"github.com/ctimport/ctimport/sink"
)

// Files are event data stores whose events are Parquet files with Lake's
// columns, such as the data files of the Iceberg tables of
// sink/icebergsink, for QueryFiles.
type Files struct {
	// Tables maps each store's ID to its files.
	Tables map[string][]string
	// Empty is a file with the columns and no rows: the events of a store
	// with no files.
	Empty string
	// Dir holds every file: a statement may read nothing else. DuckDB
	// writes there what does not fit in MemoryLimit.
	Dir string
	// MemoryLimit is DuckDB's memory_limit in bytes; 0 keeps DuckDB's
	// default.
	MemoryLimit int64
}

// QueryFiles runs one read-only statement over the stores of f, as
// Store.Query runs it over a database's, in an in-memory database of its
// own with Lake's functions, which closing the Rows releases. The statement
// cannot change DuckDB's settings.
func QueryFiles(ctx context.Context, f Files, statement string, args ...any) (sink.Rows, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, fmt.Errorf("duckdbsink: %w", err)
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("duckdbsink: %w", err)
	}
	fail := func(err error) (sink.Rows, error) {
		discard(conn)
		db.Close()
		return nil, err
	}
	setup := slices.Clone(lakeMacros)
	if f.MemoryLimit > 0 {
		setup = append(setup, fmt.Sprintf("SET memory_limit = '%dKiB'", f.MemoryLimit>>10))
	}
	setup = append(setup, "SET temp_directory = "+quoteString(f.Dir))
	ids := slices.Sorted(maps.Keys(f.Tables))
	for _, id := range ids {
		files := f.Tables[id]
		if len(files) == 0 {
			files = []string{f.Empty}
		}
		quoted := make([]string, len(files))
		for i, name := range files {
			quoted[i] = quoteString(name)
		}
		setup = append(setup, "CREATE VIEW "+quoteIdent(id)+" AS SELECT * FROM read_parquet(["+strings.Join(quoted, ", ")+"], union_by_name = true)")
	}
	setup = append(setup,
		"SET allowed_directories = ["+quoteString(f.Dir)+"]",
		"SET enable_external_access = false",
		"SET lock_configuration = true")
	for _, stmt := range setup {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			return fail(fmt.Errorf("duckdbsink: set up the query: %w", err))
		}
	}
	body, multiple := splitStatement(rewriteStoreIDs(statement, ids))
	var kind duckdb.StmtType
	var params int
	switch {
	case body == "":
		err = errors.New("empty statement")
	case multiple:
		err = errors.New("more than one statement")
	default:
		kind, params, err = prepare(conn, body)
	}
	switch {
	case err != nil:
	case kind != duckdb.STATEMENT_TYPE_SELECT && kind != duckdb.STATEMENT_TYPE_EXPLAIN && kind != duckdb.STATEMENT_TYPE_CALL:
		err = errors.New("only queries, EXPLAIN and CALL can be run")
	case params != len(args):
		err = fmt.Errorf("parameters: the statement has %d, %d given", params, len(args))
	}
	if err != nil {
		return fail(queryError(err))
	}
	r, err := runQuery(ctx, conn, body, kind, args, true, false)
	if err != nil {
		return fail(queryError(err))
	}
	r.db = db
	return r, nil
}
