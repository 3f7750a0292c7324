package duckdbsink

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"math"
	"math/big"
	"os"
	"strconv"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/ctimport/ctimport/sink"
)

// Query runs one read-only SQL statement: a query (SELECT, FROM, WITH,
// VALUES, DESCRIBE, SHOW, SUMMARIZE and the PRAGMAs DuckDB answers with a
// query), EXPLAIN or CALL. An event data store's ID names its events table,
// bare as CloudTrail Lake writes it or double-quoted. The statement runs in
// a transaction that closing the Rows rolls back, so it cannot change the
// database. args are bound to the statement's parameters (? or $n), never
// pasted into its text; a statement with another number of parameters than
// args fails. A store opened with Options.AllowWrite runs any one statement
// instead, and commits it.
//
// Columns are named as CloudTrail Lake names them: an expression that is
// neither a column nor aliased is _col0, _col1, ... by its position.
// Values are converted as sink.Rows says; besides, JSON values are their
// text, UUIDs, INTERVALs and BLOBs (as DuckDB prints them) are strings,
// integers that do not fit an int64 and DECIMALs of more than 15 digits are
// decimal strings, and MAP values are map[string]any with keys printed by
// fmt.
func (s *Store) Query(ctx context.Context, statement string, args ...any) (sink.Rows, error) {
	conn, body, kind, err := s.prepareQuery(ctx, statement, len(args))
	if err != nil {
		return nil, queryError(err)
	}
	rows, err := runQuery(ctx, conn, body, kind, args, !s.allowWrite, s.profile && kind == duckdb.STATEMENT_TYPE_SELECT)
	if err != nil {
		discard(conn)
		return nil, queryError(err)
	}
	rows.path = s.path
	return rows, nil
}

// CheckQuery reports whether Query would accept statement with nargs
// arguments, without running it.
func (s *Store) CheckQuery(ctx context.Context, statement string, nargs int) error {
	conn, _, _, err := s.prepareQuery(ctx, statement, nargs)
	if err != nil {
		return queryError(err)
	}
	return conn.Close()
}

// prepareQuery checks statement as Query runs it, with nargs arguments, and
// returns a connection to run it on, its text with the event data stores'
// tables named, and its type.
func (s *Store) prepareQuery(ctx context.Context, statement string, nargs int) (*sql.Conn, string, duckdb.StmtType, error) {
	ids, err := s.storeIDs(ctx)
	if err != nil {
		return nil, "", 0, err
	}
	body, multiple := splitStatement(rewriteStoreIDs(statement, ids))
	switch {
	case body == "":
		return nil, "", 0, errors.New("empty statement")
	case multiple:
		return nil, "", 0, errors.New("more than one statement")
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, "", 0, err
	}
	kind, params, err := prepare(conn, body)
	switch {
	case err != nil:
	case !s.allowWrite && kind != duckdb.STATEMENT_TYPE_SELECT && kind != duckdb.STATEMENT_TYPE_EXPLAIN && kind != duckdb.STATEMENT_TYPE_CALL:
		err = errors.New("only queries, EXPLAIN and CALL can be run")
	case params != nargs:
		err = fmt.Errorf("parameters: the statement has %d, %d given", params, nargs)
	}
	if err != nil {
		_ = conn.Close()
		return nil, "", 0, err
	}
	return conn, body, kind, nil
}

// runQuery runs a prepared statement on conn; with rollback, in a
// transaction that closing the rows rolls back, else in one of its own;
// with profile, profiled, so that the rows can tell what it scanned. When
// it fails, conn may be left in the transaction or profiling (a statement
// interrupted by ctx may have taken effect all the same): the caller must
// discard it.
func runQuery(ctx context.Context, conn *sql.Conn, body string, kind duckdb.StmtType, args []any, rollback, profile bool) (*rows, error) {
	query := body
	if kind == duckdb.STATEMENT_TYPE_SELECT {
		if q := textColumns(ctx, conn, body, args); q != body {
			if _, _, err := prepare(conn, q); err == nil {
				query = q
			}
		}
	}
	lakeNames := func(names []string) []string { return names }
	if kind == duckdb.STATEMENT_TYPE_SELECT {
		lakeNames = lakeNamer(ctx, conn, body)
	}
	if profile {
		if _, err := conn.ExecContext(ctx, `SET enable_profiling = 'no_output'`); err != nil {
			return nil, err
		}
	}
	if rollback {
		if _, err := conn.ExecContext(ctx, `BEGIN TRANSACTION`); err != nil {
			return nil, err
		}
	}
	r, err := conn.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	cols, err := r.Columns()
	if err != nil {
		_ = r.Close()
		return nil, err
	}
	cols = lakeNames(cols)
	return &rows{conn: conn, rows: r, cols: cols, rollback: rollback, profile: profile}, nil
}

// endQuery ends a statement that Query ran on conn, whose rows were read
// to their end or closed without an error, and releases conn: it rolls back
// the transaction when there is one, turns profiling off and returns conn
// to the pool. When either statement fails, or takes longer than endWait,
// conn is discarded instead.
func endQuery(conn *sql.Conn, rollback, profile bool) error {
	ctx, cancel := context.WithTimeout(context.Background(), endWait)
	defer cancel()
	if rollback {
		if _, err := conn.ExecContext(ctx, `ROLLBACK`); err != nil {
			discard(conn)
			return nil
		}
	}
	if profile {
		if _, err := conn.ExecContext(ctx, `RESET enable_profiling`); err != nil {
			discard(conn)
			return nil
		}
	}
	return conn.Close()
}

// endWait bounds endQuery. One that takes longer is behind a statement a
// cancellation did not stop: the wait's end interrupts both.
const endWait = 10 * time.Second

// discard closes conn and the connection to DuckDB under it, instead of
// returning it to the pool: a connection whose last statement failed or
// was interrupted may be in a transaction or profiling. Closing DuckDB's
// connection rolls back its transaction.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
}

// prepare prepares statement, which must be one statement, and returns its
// type and the number of its parameters.
func prepare(conn *sql.Conn, statement string) (kind duckdb.StmtType, params int, err error) {
	err = conn.Raw(func(dc any) error {
		st, err := dc.(driver.Conn).Prepare(statement)
		if err != nil {
			return err
		}
		defer st.Close()
		params = st.NumInput()
		kind, err = st.(*duckdb.Stmt).StatementType()
		return err
	})
	return kind, params, err
}

// textColumns returns query wrapped so that its JSON and UUID values, also
// those nested in lists, structs and maps, are cast to VARCHAR: the driver
// would return JSON values decoded and UUIDs as bytes. It returns query
// itself when it has no such column, or cannot be described. args are
// the query's parameters.
func textColumns(ctx context.Context, conn *sql.Conn, query string, args []any) string {
	r, err := conn.QueryContext(ctx, "DESCRIBE "+query, args...)
	if err != nil {
		return query
	}
	defer r.Close()
	var names, types []string
	for r.Next() {
		var name, typ string
		var null, key, deflt, extra sql.NullString
		if err := r.Scan(&name, &typ, &null, &key, &deflt, &extra); err != nil {
			return query
		}
		names, types = append(names, name), append(types, typ)
	}
	if r.Err() != nil {
		return query
	}
	var sel, aliases []string
	cast := false
	for i := range names {
		alias := quoteIdent("c" + strconv.Itoa(i+1))
		aliases = append(aliases, alias)
		if t := textType(types[i]); t != types[i] {
			sel = append(sel, "CAST("+alias+" AS "+t+") AS "+quoteIdent(names[i]))
			cast = true
		} else {
			sel = append(sel, alias+" AS "+quoteIdent(names[i]))
		}
	}
	if !cast {
		return query
	}
	return "SELECT " + strings.Join(sel, ", ") + " FROM (\n" + query + "\n) AS q(" + strings.Join(aliases, ", ") + ")"
}

// rows is the sink.Rows of Query.
type rows struct {
	conn     *sql.Conn
	rows     *sql.Rows
	cols     []string
	vals     []any
	ptrs     []any
	rollback bool    // Close rolls the statement back
	profile  bool    // the statement is profiled; Close turns profiling off
	path     string  // the database file, for Scanned
	db       *sql.DB // closed with the rows, for the databases of QueryFiles

	scanned       bool // events and bytes are known
	events, bytes int64
}

func (r *rows) Columns() []string { return r.cols }

func (r *rows) Next() bool { return r.rows.Next() }

func (r *rows) Err() error {
	if err := r.rows.Err(); err != nil {
		return queryError(err)
	}
	return nil
}

func (r *rows) Values() ([]any, error) {
	if r.vals == nil {
		r.vals = make([]any, len(r.cols))
		r.ptrs = make([]any, len(r.cols))
		for i := range r.vals {
			r.ptrs[i] = &r.vals[i]
		}
	}
	if err := r.rows.Scan(r.ptrs...); err != nil {
		return nil, queryError(err)
	}
	out := make([]any, len(r.vals))
	for i, v := range r.vals {
		out[i] = goValue(v)
	}
	return out, nil
}

func (r *rows) Close() error {
	if r.conn == nil {
		return nil
	}
	err := r.rows.Close()
	if err != nil || r.rows.Err() != nil {
		discard(r.conn)
	} else {
		err = endQuery(r.conn, r.rollback, r.profile)
	}
	r.conn = nil
	if r.db != nil {
		r.db.Close()
	}
	if err != nil {
		return queryError(err)
	}
	return nil
}

// Scanned returns how many rows the query read from events tables, as
// DuckDB's profiler counts them, and their estimated stored size: the size
// of the database file and its write-ahead log over the events it holds,
// per event read. ok is false
// before the rows are read to their end, after Close, and for a store with
// locked settings, whose queries cannot be profiled.
func (r *rows) Scanned() (events, bytes int64, ok bool) {
	if r.scanned {
		return r.events, r.bytes, true
	}
	if !r.profile || r.conn == nil {
		return 0, 0, false
	}
	info, err := duckdb.GetProfilingInfo(r.conn)
	if err != nil {
		return 0, 0, false
	}
	r.events = eventsScanned(info)
	if r.events > 0 {
		var stored sql.NullInt64
		err := r.conn.QueryRowContext(context.Background(), `SELECT sum(estimated_size) FROM duckdb_tables()
			WHERE database_name = current_database() AND schema_name = ?`, eventsSchema).Scan(&stored)
		if err != nil {
			return 0, 0, false
		}
		if size := fileSizes(r.path, r.path+".wal"); stored.Int64 > 0 {
			r.bytes = int64(float64(size) / float64(stored.Int64) * float64(r.events))
		}
	}
	r.scanned = true
	return r.events, r.bytes, true
}

// eventsScanned adds up the rows that the table scans of a profile read
// from events tables.
func eventsScanned(p duckdb.ProfilingInfo) int64 {
	var n int64
	if p.Metrics["OPERATOR_TYPE"] == "TABLE_SCAN" && strings.Contains(p.Metrics["EXTRA_INFO"], "."+eventsSchema+".") {
		rows, _ := strconv.ParseInt(p.Metrics["OPERATOR_ROWS_SCANNED"], 10, 64)
		n += rows
	}
	for _, c := range p.Children {
		n += eventsScanned(c)
	}
	return n
}

// fileSizes returns the total size of the files at paths that exist.
func fileSizes(paths ...string) int64 {
	var n int64
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil {
			n += fi.Size()
		}
	}
	return n
}

// goValue converts a value of the driver to one of the types sink.Rows
// promises.
func goValue(v any) any {
	switch v := v.(type) {
	case nil, bool, int64, float64, string, time.Time:
		return v
	case int8:
		return int64(v)
	case int16:
		return int64(v)
	case int32:
		return int64(v)
	case uint8:
		return int64(v)
	case uint16:
		return int64(v)
	case uint32:
		return int64(v)
	case uint64:
		if v > math.MaxInt64 {
			return strconv.FormatUint(v, 10)
		}
		return int64(v)
	case float32:
		return float64(v)
	case *big.Int:
		if v.IsInt64() {
			return v.Int64()
		}
		return v.String()
	case duckdb.Decimal:
		if v.Width <= 15 {
			return v.Float64()
		}
		return v.String()
	case duckdb.Interval:
		return formatInterval(v)
	case []byte:
		return formatBlob(v)
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = goValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = goValue(e)
		}
		return out
	case duckdb.OrderedMap:
		out := make(map[string]any, v.Len())
		vals := v.Values()
		for i, k := range v.Keys() {
			out[fmt.Sprint(goValue(k))] = goValue(vals[i])
		}
		return out
	case duckdb.Union:
		return goValue(v.Value)
	default:
		return fmt.Sprint(v)
	}
}

// formatInterval formats an interval as DuckDB does, e.g. "1 year 2 months
// 3 days 04:05:06.5".
func formatInterval(iv duckdb.Interval) string {
	var parts []string
	unit := func(n int64, name string) {
		if n == 0 {
			return
		}
		if n == 1 || n == -1 {
			parts = append(parts, fmt.Sprintf("%d %s", n, name))
		} else {
			parts = append(parts, fmt.Sprintf("%d %ss", n, name))
		}
	}
	unit(int64(iv.Months/12), "year")
	unit(int64(iv.Months%12), "month")
	unit(int64(iv.Days), "day")
	if iv.Micros != 0 || len(parts) == 0 {
		us := iv.Micros
		sign := ""
		if us < 0 {
			sign, us = "-", -us
		}
		s := fmt.Sprintf("%s%02d:%02d:%02d", sign, us/3600e6, us/60e6%60, us/1e6%60)
		if frac := us % 1e6; frac != 0 {
			s += strings.TrimRight(fmt.Sprintf(".%06d", frac), "0")
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, " ")
}

// formatBlob formats a BLOB as DuckDB does: printable ASCII as is, other
// bytes as \xHH.
func formatBlob(b []byte) string {
	var s strings.Builder
	for _, c := range b {
		if c >= 0x20 && c < 0x7f && c != '\\' {
			s.WriteByte(c)
		} else {
			fmt.Fprintf(&s, `\x%02X`, c)
		}
	}
	return s.String()
}

// queryError wraps an error of a query, marking with sink.ErrOutOfMemory
// one that ran out of DuckDB's memory_limit.
func queryError(err error) error {
	var de *duckdb.Error
	if errors.As(err, &de) && de.Type == duckdb.ErrorTypeOutOfMemory {
		return fmt.Errorf("duckdbsink: query: %w: %w", sink.ErrOutOfMemory, err)
	}
	return fmt.Errorf("duckdbsink: query: %w", err)
}
