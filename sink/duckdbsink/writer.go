package duckdbsink

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/ctimport/ctimport/sink"
)

// writer is the sink.Writer of a Store. It stages appended events per
// object key: in memory up to the Store's stage limit, beyond it in a TEMP
// table of its own connection (see the package documentation). At Commit
// it loads them, on that connection, in the commit's transaction.
type writer struct {
	s       *Store
	storeID string
	limit   int64
	// db is a pool holding conn, a connection of the Store's database that
	// only w uses: its TEMP table lives as long as the connection, which
	// closing db ends.
	db   *sql.DB
	conn *sql.Conn

	mu     sync.Mutex // guards the fields below against Store.Close
	staged map[string]*stage
	mem    int64 // estimated memory of the staged batches
	seq    int64 // the number of the last event staged
	lastID int64 // the last stage ID given to a key
	table  bool  // the staging table exists
	tx     bool  // conn has a transaction open: commits not synced yet
	err    error // why w failed; a failed writer does nothing more
	closed bool
}

// stage is what a writer has staged for one object key.
type stage struct {
	batches []batch // in memory, in order of Append
	mem     int64   // estimated memory of batches
	// id is the stage column of the key's rows in the staging table, or 0
	// when it has none there. A key staged anew gets a new ID, so rows a
	// failed delete left behind are never read.
	id     int64
	rows   int64     // rows in the staging table
	size   int64     // estimated memory of their events
	lo, hi time.Time // eventTime range of those rows
}

// batch is the events of one Append. Events are numbered in order of
// Append across keys; the first of a batch has number seq.
type batch struct {
	seq    int64
	events []sink.Event
}

// eventSize is the memory of an Event besides the bytes of its strings.
const eventSize = int64(unsafe.Sizeof(sink.Event{}))

// eventsSize estimates the memory of staged copies of events.
func eventsSize(events []sink.Event) int64 {
	n := eventSize * int64(len(events))
	for i := range events {
		for _, v := range &events[i].Values {
			n += int64(len(v))
		}
	}
	return n
}

var errWriterClosed = errors.New("duckdbsink: writer is closed")

// usable returns why w cannot be used, or nil.
func (w *writer) usable() error {
	switch {
	case w.closed:
		return errWriterClosed
	case w.err != nil:
		return fmt.Errorf("duckdbsink: writer failed before: %w", w.err)
	}
	return nil
}

// begin opens the transaction of w's connection, unless it is open. Every
// change w makes, staged rows included, belongs to that transaction until
// Sync commits it.
func (w *writer) begin(ctx context.Context) error {
	if w.tx {
		return nil
	}
	if _, err := w.conn.ExecContext(ctx, `BEGIN TRANSACTION`); err != nil {
		return err
	}
	w.tx = true
	return nil
}

// fail rolls back w's transaction, which an error inside it has spoiled,
// and keeps err: w does nothing more. It returns err.
func (w *writer) fail(err error) error {
	if w.tx {
		_, _ = w.conn.ExecContext(context.Background(), `ROLLBACK`)
		w.tx = false
	}
	w.err = err
	w.staged, w.mem = map[string]*stage{}, 0
	return err
}

// ownConnector opens connections of a Store's database for a pool of
// their own, which closes them when it closes and leaves the database
// open: it lacks the Close method of the Store's connector.
type ownConnector struct{ driver.Connector }

// NewWriter returns a Writer loading events into event data store storeID:
// sink.ErrNotFound when there is no such store, an error when the store
// already has an open Writer.
func (s *Store) NewWriter(ctx context.Context, storeID string) (sink.Writer, error) {
	if err := s.checkWritable(); err != nil {
		return nil, err
	}
	var n int
	err := s.db.QueryRowContext(ctx, s.sql(`SELECT count(*) FROM ctimport.event_data_stores WHERE id = ?`), storeID).Scan(&n)
	if err != nil {
		return nil, fmt.Errorf("duckdbsink: new writer: %w", err)
	}
	if n == 0 {
		return nil, fmt.Errorf("duckdbsink: new writer: event data store %s: %w", storeID, sink.ErrNotFound)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("duckdbsink: new writer: store is closed")
	}
	if _, ok := s.writers[storeID]; ok {
		return nil, fmt.Errorf("duckdbsink: new writer: event data store %s already has an open writer", storeID)
	}
	db := sql.OpenDB(ownConnector{s.connector})
	db.SetMaxOpenConns(1)
	conn, err := db.Conn(ctx)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("duckdbsink: new writer: %w", err)
	}
	if err := registerFeed(conn, s.connector); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("duckdbsink: new writer: %w", err)
	}
	w := &writer{s: s, storeID: storeID, limit: s.stageLimit, db: db, conn: conn, staged: map[string]*stage{}}
	s.writers[storeID] = w
	return w, nil
}

// Append stages events read from the object key. When the staged events
// would take more memory than the limit, it first moves those of the
// largest keys into the staging table; when that is the key of events, it
// moves events there too, without copying them in memory.
func (w *writer) Append(ctx context.Context, key string, events []sink.Event) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("duckdbsink: append %s: %w", key, err)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	if len(events) == 0 {
		return nil
	}
	st := w.staged[key]
	if st == nil {
		st = &stage{}
	}
	b := batch{seq: w.seq + 1, events: events}
	size := eventsSize(events)
	for w.mem+size > w.limit {
		largest := w.largest(st, size)
		if largest != st {
			if err := w.spill(ctx, largest, batch{}, 0); err != nil {
				return w.fail(fmt.Errorf("duckdbsink: append %s: %w", key, err))
			}
			continue
		}
		if err := w.spill(ctx, st, b, size); err != nil {
			return w.fail(fmt.Errorf("duckdbsink: append %s: %w", key, err))
		}
		w.staged[key] = st
		w.seq += int64(len(events))
		return nil
	}
	b.events = events
	st.batches = append(st.batches, b)
	st.mem += size
	w.mem += size
	w.staged[key] = st
	w.seq += int64(len(events))
	return nil
}

// largest returns the stage holding the most memory, counting size more
// for st.
func (w *writer) largest(st *stage, size int64) *stage {
	top, most := st, st.mem+size
	for _, o := range w.staged {
		if o.mem > most {
			top, most = o, o.mem
		}
	}
	return top
}

// stagingTable is the TEMP table in which a writer stages events beyond
// its limit. Its rows have the event columns, with JSON ones as VARCHAR
// and eventTime never NULL, then the stage ID of the event's key, the
// event's number, the nanoseconds of its eventTime below the microsecond
// (DuckDB keeps microseconds), and whether its eventTime is NULL: sorted
// by eventTime, nanos and seq, the rows are in the order in which the
// in-memory path sorts events.
const (
	stagingName  = "ctimport_staged"
	stagingTable = "temp.main." + stagingName
)

var stagingTableDDL = func() string {
	var b strings.Builder
	b.WriteString("CREATE TEMP TABLE " + stagingName + " (")
	for c := range sink.NumColumns {
		b.WriteString(quoteIdent(c.Name()))
		if c.Kind() == sink.JSON {
			b.WriteString(" VARCHAR, ")
		} else {
			b.WriteString(" " + sqlType(c.Kind()) + ", ")
		}
	}
	b.WriteString("stage BIGINT NOT NULL, seq BIGINT NOT NULL, nanos SMALLINT NOT NULL, time_null BOOLEAN NOT NULL)")
	return b.String()
}()

// spill moves the batches of st, then b, whose events take size bytes,
// into the staging table, in a transaction of their own. It adds them in order of
// eventTime, so that the table holds sorted runs, which lets a commit read
// a range of eventTime without reading every row.
func (w *writer) spill(ctx context.Context, st *stage, b batch, size int64) error {
	batches := st.batches
	if len(b.events) > 0 {
		batches = append(slices.Clip(batches), b)
	}
	if len(batches) == 0 {
		return nil
	}
	var rows []seqEvent
	for _, b := range batches {
		for i := range b.events {
			rows = append(rows, seqEvent{b.seq + int64(i), &b.events[i]})
		}
	}
	slices.SortStableFunc(rows, func(a, b seqEvent) int { return a.e.Time.Compare(b.e.Time) })
	// Staged rows in a transaction stay in DuckDB's memory until it ends;
	// committed, DuckDB can write them out to its temp directory. So the
	// commits so far are synced first, and the rows staged on their own.
	if err := w.sync(ctx); err != nil {
		return err
	}
	if !w.table {
		if _, err := w.conn.ExecContext(ctx, stagingTableDDL); err != nil {
			return fmt.Errorf("create staging table: %w", err)
		}
		w.table = true
	}
	id := st.id
	if id == 0 {
		id = w.lastID + 1
	}
	err := w.conn.Raw(func(dc any) error {
		a, err := duckdb.NewAppender(dc.(driver.Conn), "temp", "main", stagingName)
		if err != nil {
			return err
		}
		vals := make([]driver.Value, sink.NumColumns+4)
		vals[sink.NumColumns] = id
		for _, r := range rows {
			eventValues(vals, r.e)
			vals[sink.EventTime] = r.e.Time
			vals[sink.NumColumns+1] = r.seq
			vals[sink.NumColumns+2] = int16(r.e.Time.Nanosecond() % 1000)
			vals[sink.NumColumns+3] = r.e.Null.Has(sink.EventTime)
			if err := a.AppendRow(vals...); err != nil {
				_ = a.Clear()
				_ = a.Close()
				return err
			}
		}
		return a.CloseWithCancel(ctx)
	})
	if err != nil {
		return fmt.Errorf("stage events in table: %w", err)
	}
	lo, hi := rows[0].e.Time, rows[len(rows)-1].e.Time
	if st.rows > 0 {
		lo, hi = minTime(lo, st.lo), maxTime(hi, st.hi)
	}
	w.lastID = max(w.lastID, id)
	st.id, st.rows, st.size, st.lo, st.hi = id, st.rows+int64(len(rows)), st.size+st.mem+size, lo, hi
	w.mem -= st.mem
	st.batches, st.mem = nil, 0
	return nil
}

// seqEvent is a staged event and its number.
type seqEvent struct {
	seq int64
	e   *sink.Event
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// forget drops what w has staged for keys: it deletes their rows from the
// staging table, or drops the table when no other key has rows there.
func (w *writer) forget(ctx context.Context, keys ...string) error {
	var ids []int64
	for _, key := range keys {
		st := w.staged[key]
		if st == nil {
			continue
		}
		if st.id != 0 {
			ids = append(ids, st.id)
		}
		w.mem -= st.mem
		delete(w.staged, key)
	}
	if len(ids) == 0 {
		return nil
	}
	if err := w.begin(ctx); err != nil {
		return err
	}
	for _, st := range w.staged {
		if st.id != 0 {
			_, err := w.conn.ExecContext(ctx, `DELETE FROM `+stagingTable+` WHERE stage IN (SELECT unnest(?::BIGINT[]))`, ids)
			return err
		}
	}
	if _, err := w.conn.ExecContext(ctx, `DROP TABLE `+stagingTable); err != nil {
		return err
	}
	w.table = false
	return nil
}

// Close drops everything staged, and rolls back the commits not synced.
func (w *writer) Close() error {
	w.s.mu.Lock()
	if w.s.writers[w.storeID] == w {
		delete(w.s.writers, w.storeID)
	}
	w.s.mu.Unlock()
	if err := w.drop(); err != nil {
		return fmt.Errorf("duckdbsink: close writer: %w", err)
	}
	return nil
}

// drop drops the staged events and closes w and its connection, which
// takes the staging table with it.
func (w *writer) drop() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	w.staged, w.mem = nil, 0
	var rollback error
	if w.tx {
		_, rollback = w.conn.ExecContext(context.Background(), `ROLLBACK`)
		w.tx = false
	}
	return errors.Join(rollback, w.conn.Close(), w.db.Close())
}

// Commit adds c to w's transaction; see sink.Writer. When c holds more
// than one row for the same file (or prefix), the last one counts. When it
// fails, w rolls back its transaction and fails for good.
//
// When no file c imports has rows in the staging table, Commit inserts
// their events from memory. Otherwise it moves their events in memory to
// the table too, and inserts them from there.
func (w *writer) Commit(ctx context.Context, c sink.Commit) (sink.CommitResult, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return sink.CommitResult{}, err
	}
	files := lastRows(c.Files, fileID)
	status := make(map[string]sink.FileStatus, len(files))
	for _, f := range files {
		status[f.Key] = f.Status
	}
	var imported []keyedStage
	spilled := false
	for key, st := range status {
		if s := w.staged[key]; s != nil && st == sink.FileImported {
			imported = append(imported, keyedStage{key, s})
			spilled = spilled || s.id != 0
		}
	}
	keys := make([]string, len(c.Files))
	for i, f := range c.Files {
		keys[i] = f.Key
	}
	for _, f := range files {
		switch f.Status {
		case sink.FileImported, sink.FileRetry, sink.FileFailed:
		default:
			return sink.CommitResult{}, w.fail(fmt.Errorf("duckdbsink: commit: file %s: invalid status %q", f.Key, f.Status))
		}
	}
	table := w.s.eventTable(w.storeID)
	var insert func(ctx context.Context, conn *sql.Conn) (sink.CommitResult, error)
	if spilled {
		for _, k := range imported {
			if err := w.spill(ctx, k.stage, batch{}, 0); err != nil {
				return sink.CommitResult{}, w.fail(fmt.Errorf("duckdbsink: commit: %w", err))
			}
		}
		insert = func(ctx context.Context, conn *sql.Conn) (sink.CommitResult, error) {
			return insertStaged(ctx, conn, table, imported, w.limit)
		}
	} else {
		var batches []keyedBatch
		for _, k := range imported {
			for _, b := range k.batches {
				batches = append(batches, keyedBatch{k.key, b})
			}
		}
		slices.SortFunc(batches, func(a, b keyedBatch) int { return cmp.Compare(a.seq, b.seq) })
		insert = func(ctx context.Context, conn *sql.Conn) (sink.CommitResult, error) {
			return insertEvents(ctx, conn, table, batches)
		}
	}
	err := w.begin(ctx)
	var res sink.CommitResult
	if err == nil {
		res, err = w.s.commit(ctx, w.conn, files, lastRows(c.Prefixes, prefixID), c.Import, insert)
	}
	if err == nil {
		err = w.forget(ctx, keys...)
	}
	if err != nil {
		return sink.CommitResult{}, w.fail(fmt.Errorf("duckdbsink: commit: %w", err))
	}
	return res, nil
}

// Sync commits w's transaction, which makes every Commit so far durable.
func (w *writer) Sync(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if err := w.usable(); err != nil {
		return err
	}
	if err := w.sync(ctx); err != nil {
		return w.fail(fmt.Errorf("duckdbsink: sync: %w", err))
	}
	return nil
}

// sync commits w's transaction, if one is open.
func (w *writer) sync(ctx context.Context) error {
	if !w.tx {
		return nil
	}
	w.s.write.Lock()
	_, err := w.conn.ExecContext(ctx, `COMMIT`)
	w.s.write.Unlock()
	if err != nil {
		return err
	}
	w.tx = false
	return nil
}

type keyedBatch struct {
	key string
	batch
}

type keyedStage struct {
	key string
	*stage
}

// lastRows returns rows less every row followed by one with the same
// import and key: the last row of a file, or a prefix, counts.
func lastRows[T any](rows []T, id func(T) [2]string) []T {
	last := make(map[[2]string]int, len(rows))
	for i, r := range rows {
		last[id(r)] = i
	}
	out := make([]T, 0, len(last))
	for i, r := range rows {
		if last[id(r)] == i {
			out = append(out, r)
		}
	}
	return out
}

func fileID(f sink.File) [2]string { return [2]string{f.ImportID, f.Key} }

func prefixID(p sink.Prefix) [2]string { return [2]string{p.ImportID, p.Key} }

// commit runs one Writer.Commit in the open transaction of conn: it
// upserts the rows, then inserts the events with insert.
func (s *Store) commit(ctx context.Context, conn *sql.Conn, files []sink.File, prefixes []sink.Prefix, imp *sink.Import,
	insert func(ctx context.Context, conn *sql.Conn) (sink.CommitResult, error)) (sink.CommitResult, error) {
	s.write.Lock()
	defer s.write.Unlock()
	if err := s.upsertRows(ctx, conn, files, prefixes); err != nil {
		return sink.CommitResult{}, err
	}
	if imp != nil {
		if _, err := conn.ExecContext(ctx, s.sql(putImportSQL), importArgs(imp)...); err != nil {
			return sink.CommitResult{}, fmt.Errorf("import %s: %w", imp.ID, err)
		}
	}
	return insert(ctx, conn)
}

// insertStaged inserts the events of stages, all in the staging table,
// into the events table, in conn's transaction, as insertEvents does: in
// order of eventTime, then of Append, less those whose Identity the table
// holds, and less repeats (the first staged is kept). It works through
// ranges of eventTime holding about chunk bytes of events each, so that
// what DuckDB holds at a time does not grow with the staged events: in
// each, it deletes the events it drops from the staging table, then
// inserts the others. Repeats have the same eventTime, so they fall in the
// same range.
func insertStaged(ctx context.Context, conn *sql.Conn, table string, stages []keyedStage, chunk int64) (sink.CommitResult, error) {
	var total, size int64
	var ids []int64
	var keys []string
	var lo, hi time.Time
	for _, st := range stages {
		if st.rows == 0 {
			continue
		}
		if total == 0 {
			lo, hi = st.lo, st.hi
		}
		lo, hi = minTime(lo, st.lo), maxTime(hi, st.hi)
		total += st.rows
		size += st.size
		ids = append(ids, st.id)
		keys = append(keys, st.key)
	}
	if total == 0 {
		return sink.CommitResult{}, nil
	}
	// One thread needs less of DuckDB's memory for the sorts of the ranges.
	var threads int64
	if err := conn.QueryRowContext(ctx, `SELECT current_setting('threads')`).Scan(&threads); err != nil {
		return sink.CommitResult{}, fmt.Errorf("read threads: %w", err)
	}
	if _, err := conn.ExecContext(ctx, `SET threads = 1`); err != nil {
		return sink.CommitResult{}, fmt.Errorf("set threads: %w", err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SET threads = `+strconv.FormatInt(threads, 10))
	var bounds []time.Time
	if parts := min((size+chunk-1)/chunk, total); parts > 1 {
		var err error
		if bounds, err = chunkBounds(ctx, conn, ids, parts); err != nil {
			return sink.CommitResult{}, err
		}
	}
	var res sink.CommitResult
	for i := range len(bounds) + 1 {
		// The range holds the events from bounds[i-1] up to bounds[i]. The
		// first starts at the zero time, which the staging table holds for
		// the events without an eventTime, and the last ends after every
		// time.
		from, to := time.Time{}, endOfTime
		if i > 0 {
			from = bounds[i-1]
		}
		if i < len(bounds) {
			to = bounds[i]
		}
		r, err := conn.ExecContext(ctx, deleteDuplicatesSQL(table), ids, from, to)
		if err != nil {
			return sink.CommitResult{}, fmt.Errorf("drop duplicate events: %w", err)
		}
		dropped, err := r.RowsAffected()
		if err != nil {
			return sink.CommitResult{}, fmt.Errorf("drop duplicate events: %w", err)
		}
		r, err = conn.ExecContext(ctx, insertStagedSQL(table), ids, from, to, keys)
		if err != nil {
			return sink.CommitResult{}, fmt.Errorf("insert events: %w", err)
		}
		stored, err := r.RowsAffected()
		if err != nil {
			return sink.CommitResult{}, fmt.Errorf("insert events: %w", err)
		}
		res.Stored += stored
		res.Duplicates += dropped
	}
	return res, nil
}

// chunkBounds splits the rows of stages ids into about parts ranges of
// eventTime holding about as many rows each, and returns the distinct
// bounds between them, in order. The bounds are approximate quantiles,
// which DuckDB finds in bounded memory.
func chunkBounds(ctx context.Context, conn *sql.Conn, ids []int64, parts int64) ([]time.Time, error) {
	qs := make([]float32, parts-1)
	for i := range qs {
		qs[i] = float32(i+1) / float32(parts)
	}
	rows, err := conn.QueryContext(ctx, `SELECT unnest(approx_quantile(`+quoteIdent(sink.EventTime.Name())+`, $2::FLOAT[])) AS bound
		FROM `+stagingTable+` WHERE stage IN (SELECT unnest($1::BIGINT[])) ORDER BY bound`, ids, qs)
	if err != nil {
		return nil, fmt.Errorf("split staged events: %w", err)
	}
	defer rows.Close()
	var bounds []time.Time
	for rows.Next() {
		var b time.Time
		if err := rows.Scan(&b); err != nil {
			return nil, fmt.Errorf("split staged events: %w", err)
		}
		if len(bounds) == 0 || b.After(bounds[len(bounds)-1]) {
			bounds = append(bounds, b)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("split staged events: %w", err)
	}
	return bounds, nil
}

// endOfTime is after every eventTime.
var endOfTime = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)

// stagedInRange is the condition selecting the staged rows s of a range of
// eventTime: its parameters are the stage IDs of the commit, then the
// bounds of the range. It compares the bounds plainly, so that DuckDB
// skips the row groups outside the range.
var stagedInRange = func() string {
	t := "s." + quoteIdent(sink.EventTime.Name())
	return "s.stage IN (SELECT unnest($1::BIGINT[])) AND " + t + " >= $2 AND " + t + " < $3"
}()

// deleteDuplicatesSQL returns the statement deleting from the staging
// table the events of a commit in a range of eventTime that are not to
// be stored: those whose Identity the events table holds, and repeats.
// Its parameters are those of stagedInRange; the events table is read
// within the same range.
func deleteDuplicatesSQL(table string) string {
	id, t := quoteIdent(sink.EventID.Name()), quoteIdent(sink.EventTime.Name())
	identified := stagedInRange + ` AND s.` + id + ` IS NOT NULL AND NOT s.time_null`
	return `DELETE FROM ` + stagingTable + ` AS s
		WHERE ` + identified + ` AND (
			s.seq NOT IN (SELECT min(s.seq) FROM ` + stagingTable + ` AS s WHERE ` + identified + ` GROUP BY s.` + id + `, s.` + t + `)
			OR EXISTS (SELECT 1 FROM ` + table + ` AS e WHERE e.` + id + ` = s.` + id + ` AND e.` + t + ` = s.` + t + `
				AND e.` + t + ` >= $2 AND e.` + t + ` < $3))`
}

// insertStagedSQL returns the statement inserting the staged events of a
// commit in a range of eventTime, in order. Its parameters are those of
// stagedInRange, then the keys of the stages.
func insertStagedSQL(table string) string {
	t := "s." + quoteIdent(sink.EventTime.Name())
	return insertSQL(table, "CASE WHEN s.time_null THEN NULL ELSE "+t+" END", `FROM `+stagingTable+` AS s
		JOIN (SELECT unnest($1::BIGINT[]) AS stage, unnest($4::VARCHAR[]) AS `+quoteIdent(sink.SourceKeyColumn)+`) AS k
		USING (stage) WHERE `+stagedInRange+` ORDER BY `+t+`, s.nanos, s.seq`)
}

// insertEvents inserts the events of batches into the events table, in
// conn's transaction: in order of eventTime, then of Append, less those
// whose Identity the table holds, and less repeats (the first staged is
// kept).
func insertEvents(ctx context.Context, conn *sql.Conn, table string, batches []keyedBatch) (sink.CommitResult, error) {
	var total int64
	for _, b := range batches {
		total += int64(len(b.events))
	}
	if total == 0 {
		return sink.CommitResult{}, nil
	}
	rows := make([]stagedEvent, 0, total)
	seen := make(map[sink.Identity]struct{}, total)
	lo, hi := batches[0].events[0].Time, batches[0].events[0].Time
	for _, b := range batches {
		for i := range b.events {
			e := &b.events[i]
			lo, hi = minTime(lo, e.Time), maxTime(hi, e.Time)
			if id, ok := e.Identity(); ok {
				if _, repeat := seen[id]; repeat {
					continue
				}
				seen[id] = struct{}{}
			}
			rows = append(rows, stagedEvent{b.key, e})
		}
	}
	slices.SortStableFunc(rows, func(a, b stagedEvent) int { return a.e.Time.Compare(b.e.Time) })
	stored, err := insertFed(ctx, conn, table, rows, lo, hi)
	if err != nil {
		return sink.CommitResult{}, fmt.Errorf("insert events: %w", err)
	}
	return sink.CommitResult{Stored: stored, Duplicates: total - stored}, nil
}

// appendedTable names the rows of a query appender in its query.
const appendedTable = "ctimport_rows"

// insertSQL returns an INSERT into the events table of the rows of from
// (a FROM clause and what follows), which have the columns of the events
// table with JSON ones as VARCHAR; eventTime is the expression of the
// eventTime column.
func insertSQL(table, eventTime, from string) string {
	var cols, exprs []string
	for c := range sink.NumColumns {
		name := quoteIdent(c.Name())
		cols = append(cols, name)
		switch {
		case c == sink.EventTime:
			exprs = append(exprs, eventTime)
		case c.Kind() == sink.JSON:
			exprs = append(exprs, "CAST("+name+" AS JSON)")
		default:
			exprs = append(exprs, name)
		}
	}
	key := quoteIdent(sink.SourceKeyColumn)
	cols = append(cols, key)
	exprs = append(exprs, key)
	return "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") SELECT " +
		strings.Join(exprs, ", ") + " " + from
}

// eventValues sets vals[:sink.NumColumns] to the column values of e.
func eventValues(vals []driver.Value, e *sink.Event) {
	for c := range sink.NumColumns {
		switch {
		case e.Null.Has(c):
			vals[c] = nil
		case c.Kind() == sink.Timestamp:
			vals[c] = e.Time
		case c.Kind() == sink.Bool:
			vals[c] = e.True.Has(c)
		default:
			vals[c] = e.Values[c]
		}
	}
}

// upsertRows inserts or replaces the checkpoint rows, in conn's
// transaction.
func (s *Store) upsertRows(ctx context.Context, conn *sql.Conn, files []sink.File, prefixes []sink.Prefix) error {
	if len(files) > 0 {
		err := appendRows(ctx, conn, s.sql(`INSERT OR REPLACE INTO ctimport.files (`+fileColumns+`) SELECT * FROM `+appendedTable),
			fileTypes, nil, len(files), func(i int, vals []driver.Value) {
				f := &files[i]
				vals[0], vals[1], vals[2], vals[3], vals[4] = f.ImportID, f.Key, f.Prefix, f.ETag, f.Size
				vals[5], vals[6], vals[7], vals[8] = dbTime(f.Delivery), string(f.Status), f.Events, f.ErrorType
				vals[9], vals[10], vals[11] = f.ErrorMessage, int32(f.Attempts), dbTime(f.Updated)
			})
		if err != nil {
			return fmt.Errorf("put files: %w", err)
		}
	}
	if len(prefixes) > 0 {
		err := appendRows(ctx, conn, s.sql(`INSERT OR REPLACE INTO ctimport.prefixes (import_id, key, completed, updated) SELECT * FROM `+appendedTable),
			prefixTypes, nil, len(prefixes), func(i int, vals []driver.Value) {
				p := &prefixes[i]
				vals[0], vals[1], vals[2], vals[3] = p.ImportID, p.Key, p.Completed, dbTime(p.Updated)
			})
		if err != nil {
			return fmt.Errorf("put prefixes: %w", err)
		}
	}
	return nil
}

// appendRows runs query over n rows, which row sets, through a query
// appender whose rows have columns of types, named names (or col1, col2 …
// when names is nil).
func appendRows(ctx context.Context, conn *sql.Conn, query string, types func() ([]duckdb.TypeInfo, error), names []string, n int, row func(i int, vals []driver.Value)) error {
	return conn.Raw(func(dc any) error {
		ts, err := types()
		if err != nil {
			return err
		}
		a, err := duckdb.NewQueryAppender(dc.(driver.Conn), query, appendedTable, ts, names)
		if err != nil {
			return err
		}
		vals := make([]driver.Value, len(ts))
		for i := range n {
			row(i, vals)
			if err := a.AppendRow(vals...); err != nil {
				_ = a.Clear()
				_ = a.Close()
				return err
			}
		}
		return a.CloseWithCancel(ctx)
	})
}

var fileTypes = typeInfos(duckdb.TYPE_VARCHAR, duckdb.TYPE_VARCHAR, duckdb.TYPE_VARCHAR, duckdb.TYPE_VARCHAR,
	duckdb.TYPE_BIGINT, duckdb.TYPE_TIMESTAMP_TZ, duckdb.TYPE_VARCHAR, duckdb.TYPE_BIGINT, duckdb.TYPE_VARCHAR,
	duckdb.TYPE_VARCHAR, duckdb.TYPE_INTEGER, duckdb.TYPE_TIMESTAMP_TZ)

var prefixTypes = typeInfos(duckdb.TYPE_VARCHAR, duckdb.TYPE_VARCHAR, duckdb.TYPE_BOOLEAN, duckdb.TYPE_TIMESTAMP_TZ)

// typeInfos returns a function making the TypeInfos of ts once.
func typeInfos(ts ...duckdb.Type) func() ([]duckdb.TypeInfo, error) {
	return sync.OnceValues(func() ([]duckdb.TypeInfo, error) {
		infos := make([]duckdb.TypeInfo, len(ts))
		for i, t := range ts {
			info, err := duckdb.NewTypeInfo(t)
			if err != nil {
				return nil, err
			}
			infos[i] = info
		}
		return infos, nil
	})
}
