package duckdbsink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/ctimport/ctimport/sink"
)

// feedFunction is the table function through which a writer hands the
// events of a commit to DuckDB: `SELECT * FROM ctimport_feed(id)` returns
// the rows of the feed registered under id, in order, filling DuckDB's
// vectors directly, a chunk at a time. idsFunction returns only their
// eventIDs.
const (
	feedFunction = "ctimport_feed"
	idsFunction  = "ctimport_feed_ids"
)

// feeds holds the feeds of the writers of this process, by ID.
var feeds = struct {
	sync.Mutex
	next int64
	m    map[int64]*feed
}{m: map[int64]*feed{}}

// registered tells, per database, whether feedFunction is in its catalog.
var registered sync.Map // *duckdb.Connector -> struct{}

// feed is the events one INSERT reads through feedFunction.
type feed struct {
	rows []stagedEvent
	next atomic.Int64 // the first row not handed out yet
}

// stagedEvent is an event to insert and the key of its object.
type stagedEvent struct {
	key string
	e   *sink.Event
}

// registerFeed adds feedFunction and idsFunction to the catalog of the
// database of conn, once per database.
func registerFeed(conn *sql.Conn, db *duckdb.Connector) error {
	if _, ok := registered.Load(db); ok {
		return nil
	}
	infos, err := feedColumns()
	if err != nil {
		return err
	}
	bigint, err := duckdb.NewTypeInfo(duckdb.TYPE_BIGINT)
	if err != nil {
		return err
	}
	for name, cols := range map[string][]duckdb.ColumnInfo{feedFunction: infos, idsFunction: infos[sink.EventID : sink.EventID+1]} {
		f := duckdb.ParallelChunkTableFunction{
			Config: duckdb.TableFunctionConfig{Arguments: []duckdb.TypeInfo{bigint}},
			BindArguments: func(_ map[string]any, args ...any) (duckdb.ParallelChunkTableSource, error) {
				id, _ := args[0].(int64)
				feeds.Lock()
				fd := feeds.m[id]
				feeds.Unlock()
				if fd == nil {
					return nil, errors.New("no such feed")
				}
				return &feedSource{fd: fd, cols: cols}, nil
			},
		}
		if err := duckdb.RegisterTableUDF(conn, name, f); err != nil {
			return err
		}
	}
	registered.Store(db, struct{}{})
	return nil
}

// feedColumns returns the columns of feedFunction: the event columns, with
// JSON ones as VARCHAR, then the object key.
var feedColumns = sync.OnceValues(func() ([]duckdb.ColumnInfo, error) {
	var infos []duckdb.ColumnInfo
	add := func(name string, t duckdb.Type) error {
		info, err := duckdb.NewTypeInfo(t)
		infos = append(infos, duckdb.ColumnInfo{Name: name, T: info})
		return err
	}
	for c := range sink.NumColumns {
		t := duckdb.TYPE_VARCHAR
		switch c.Kind() {
		case sink.Timestamp:
			t = duckdb.TYPE_TIMESTAMP
		case sink.Bool:
			t = duckdb.TYPE_BOOLEAN
		}
		if err := add(c.Name(), t); err != nil {
			return nil, err
		}
	}
	if err := add(sink.SourceKeyColumn, duckdb.TYPE_VARCHAR); err != nil {
		return nil, err
	}
	return infos, nil
})

// feedSource is the table source of one call of feedFunction, or of
// idsFunction when cols is its one column.
type feedSource struct {
	fd   *feed
	cols []duckdb.ColumnInfo
}

func (s *feedSource) ColumnInfos() []duckdb.ColumnInfo { return s.cols }

// Init asks for one thread: the rows go into the table in the order of
// the feed only when one thread reads them.
func (s *feedSource) Init() duckdb.ParallelTableSourceInfo {
	return duckdb.ParallelTableSourceInfo{MaxThreads: 1}
}

func (s *feedSource) NewLocalState() any { return nil }

func (s *feedSource) Cardinality() *duckdb.CardinalityInfo {
	return &duckdb.CardinalityInfo{Cardinality: uint(len(s.fd.rows)), Exact: true}
}

// FillChunk fills ch with the next rows of the feed, a column at a time.
func (s *feedSource) FillChunk(_ any, ch duckdb.DataChunk) error {
	size := duckdb.GetDataChunkCapacity()
	start := int(s.fd.next.Add(int64(size))) - size
	if start >= len(s.fd.rows) {
		return ch.SetSize(0)
	}
	rows := s.fd.rows[start:min(start+size, len(s.fd.rows))]
	if len(s.cols) == 1 {
		if err := fillColumn(ch, 0, sink.EventID, rows); err != nil {
			return err
		}
		return ch.SetSize(len(rows))
	}
	for c := range sink.NumColumns {
		if err := fillColumn(ch, int(c), c, rows); err != nil {
			return err
		}
	}
	for r, row := range rows {
		if err := duckdb.SetChunkValue(ch, int(sink.NumColumns), r, bytesOf(row.key)); err != nil {
			return fmt.Errorf("duckdbsink: feed object key: %w", err)
		}
	}
	return ch.SetSize(len(rows))
}

// fillColumn sets column i of ch to the values of column c of rows.
func fillColumn(ch duckdb.DataChunk, i int, c sink.Column, rows []stagedEvent) error {
	for r, row := range rows {
		e := row.e
		var err error
		switch {
		case e.Null.Has(c):
			err = ch.SetValue(i, r, nil)
		case c.Kind() == sink.Timestamp:
			err = duckdb.SetChunkValue(ch, i, r, e.Time)
		case c.Kind() == sink.Bool:
			err = duckdb.SetChunkValue(ch, i, r, e.True.Has(c))
		default:
			err = duckdb.SetChunkValue(ch, i, r, bytesOf(e.Values[c]))
		}
		if err != nil {
			return fmt.Errorf("duckdbsink: feed column %s: %w", c.Name(), err)
		}
	}
	return nil
}

// bytesOf returns the bytes of s without copying them; DuckDB copies them
// into its vector and never writes to them.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// insertFed inserts rows, which hold no repeated Identity, into the
// events table in their order, less those whose Identity the table holds,
// in conn's transaction; lo and hi bound the eventTimes of rows. It
// returns how many it inserted.
//
// It looks for the stored duplicates first and drops them in Go, then
// inserts the rest: an anti-join in the INSERT would be planned with the
// feed as its build side, which loses the order of the rows.
func insertFed(ctx context.Context, conn *sql.Conn, table string, rows []stagedEvent, lo, hi any) (int64, error) {
	fd := &feed{rows: rows}
	feeds.Lock()
	feeds.next++
	id := feeds.next
	feeds.m[id] = fd
	feeds.Unlock()
	defer func() {
		feeds.Lock()
		delete(feeds.m, id)
		feeds.Unlock()
	}()
	eid, t := quoteIdent(sink.EventID.Name()), quoteIdent(sink.EventTime.Name())
	found, err := conn.QueryContext(ctx, `SELECT DISTINCT `+eid+`, `+t+` FROM `+table+` WHERE `+t+` BETWEEN $2 AND $3
		AND `+eid+` IN (SELECT `+eid+` FROM `+idsFunction+`($1))`, id, lo, hi)
	if err != nil {
		return 0, fmt.Errorf("find stored events: %w", err)
	}
	stored := map[sink.Identity]struct{}{}
	for found.Next() {
		var id sink.Identity
		if err := found.Scan(&id.ID, &id.Time); err != nil {
			found.Close()
			return 0, fmt.Errorf("find stored events: %w", err)
		}
		id.Time = id.Time.UTC()
		stored[id] = struct{}{}
	}
	if err := errors.Join(found.Err(), found.Close()); err != nil {
		return 0, fmt.Errorf("find stored events: %w", err)
	}
	if len(stored) > 0 {
		fd.rows = slices.DeleteFunc(rows, func(r stagedEvent) bool {
			id, ok := r.e.Identity()
			_, dup := stored[id]
			return ok && dup
		})
	}
	if len(fd.rows) == 0 {
		return 0, nil
	}
	fd.next.Store(0)
	r, err := conn.ExecContext(ctx, insertSQL(table, t, "FROM "+feedFunction+"($1)"), id)
	if err != nil {
		return 0, err
	}
	return r.RowsAffected()
}
