package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/engine"
	"github.com/ctimport/ctimport/internal/trailtest"
	"github.com/ctimport/ctimport/s3scan"
	"github.com/ctimport/ctimport/s3scan/s3scantest"
	"github.com/ctimport/ctimport/sink/duckdbsink"
)

// slowQuery runs until it is cancelled.
const slowQuery = "SELECT count(*) FROM range(9223372036854775807)"

// queryEnv is an Engine over a DuckDB store whose event data store "trail"
// holds the events of one imported log file.
type queryEnv struct {
	t      *testing.T
	ctx    context.Context
	store  *duckdbsink.Store
	eng    *engine.Engine
	table  string // the ID of the event data store, which names its table
	events []ev   // the events stored, in time order
}

func newQueryEnv(t *testing.T, opts engine.Options) *queryEnv {
	t.Helper()
	ctx := t.Context()
	store, err := duckdbsink.Open(ctx, filepath.Join(t.TempDir(), "query.duckdb"), duckdbsink.Options{Holder: "engine test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	mem := s3scantest.NewMem()
	day := time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC)
	q := &queryEnv{t: t, ctx: ctx, store: store, events: evs("q", 25, day.Add(time.Hour))}
	recs := make([]json.RawMessage, len(q.events))
	for i, x := range q.events {
		recs[i] = record(x)
	}
	mem.Put(key(day.Add(2*time.Hour)), trailtest.Gzip(logDoc(recs...)))
	opts.OpenSource = func(ctx context.Context, loc s3scan.Location, src api.S3ImportSource) (s3scan.Source, error) {
		return mem, nil
	}
	q.eng = q.engine(opts)
	eds, err := q.eng.CreateEventDataStore(ctx, api.CreateEventDataStoreInput{Name: "trail"})
	if err != nil {
		t.Fatal(err)
	}
	q.table = storeID(eds)
	imp, err := q.eng.StartImport(ctx, newImport(eds.Name, srcURI))
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, waitTimeout)
	defer cancel()
	if done, _, err := q.eng.Wait(wctx, imp.ImportId); err != nil || done.ImportStatus != api.StatusCompleted {
		t.Fatalf("import: %v, %v", done.ImportStatus, err)
	}
	return q
}

// engine returns another Engine over the store, closed at the end of the test.
func (q *queryEnv) engine(opts engine.Options) *engine.Engine {
	eng := engine.New(q.store, opts)
	q.t.Cleanup(func() { eng.Close() })
	return eng
}

// start starts a query and fails the test when it is refused.
func (q *queryEnv) start(eng *engine.Engine, statement string, params ...string) string {
	q.t.Helper()
	out, err := eng.StartQuery(q.ctx, api.StartQueryInput{QueryStatement: statement, QueryParameters: params})
	if err != nil {
		q.t.Fatalf("StartQuery(%q): %v", statement, err)
	}
	return out.QueryId
}

func (q *queryEnv) describe(eng *engine.Engine, id string) api.DescribeQueryOutput {
	q.t.Helper()
	out, err := eng.DescribeQuery(q.ctx, api.DescribeQueryInput{QueryId: id})
	if err != nil {
		q.t.Fatalf("DescribeQuery(%s): %v", id, err)
	}
	return out
}

// await waits until query id is in status want, and fails the test when it
// ends in another.
func (q *queryEnv) await(eng *engine.Engine, id string, want api.QueryStatus) api.DescribeQueryOutput {
	q.t.Helper()
	var out api.DescribeQueryOutput
	eventually(q.t, fmt.Sprintf("query %s to be %s", id, want), func() bool {
		out = q.describe(eng, id)
		if out.QueryStatus != want && out.QueryStatus.Done() {
			q.t.Fatalf("query %s is %s (%q), want %s", id, out.QueryStatus, out.ErrorMessage, want)
		}
		return out.QueryStatus == want
	})
	return out
}

// results returns every row of a finished query, reading pages of max rows.
func (q *queryEnv) results(eng *engine.Engine, id string, max int) [][]map[string]string {
	q.t.Helper()
	var rows [][]map[string]string
	token := ""
	for {
		out, err := eng.GetQueryResults(q.ctx, api.GetQueryResultsInput{QueryId: id, MaxQueryResults: max, NextToken: token})
		if err != nil {
			q.t.Fatalf("GetQueryResults(%s): %v", id, err)
		}
		if out.QueryStatus != api.QueryFinished {
			q.t.Fatalf("GetQueryResults(%s): status %s (%q)", id, out.QueryStatus, out.ErrorMessage)
		}
		if out.QueryStatistics == nil || out.QueryStatistics.ResultsCount != len(out.QueryResultRows) {
			q.t.Fatalf("GetQueryResults(%s): statistics %+v for a page of %d rows", id, out.QueryStatistics, len(out.QueryResultRows))
		}
		if max > 0 && len(out.QueryResultRows) > max {
			q.t.Fatalf("GetQueryResults(%s): %d rows in a page of %d", id, len(out.QueryResultRows), max)
		}
		rows = append(rows, out.QueryResultRows...)
		if out.NextToken == "" {
			if out.QueryStatistics.TotalResultsCount != len(rows) {
				q.t.Fatalf("GetQueryResults(%s): TotalResultsCount %d, %d rows read", id, out.QueryStatistics.TotalResultsCount, len(rows))
			}
			return rows
		}
		token = out.NextToken
	}
}

// TestQueryResults checks that a query finishes with the rows of the
// imported events, in pages of the requested size.
func TestQueryResults(t *testing.T) {
	q := newQueryEnv(t, engine.Options{})
	stmt := "SELECT eventID, eventTime FROM " + q.table + " ORDER BY eventTime"
	id := q.start(q.eng, stmt)
	d := q.await(q.eng, id, api.QueryFinished)
	if d.QueryId != id || d.QueryString != stmt || d.ErrorMessage != "" {
		t.Errorf("DescribeQuery = %+v", d)
	}
	n := int64(len(q.events))
	if s := d.QueryStatistics; s == nil || s.EventsMatched != n || s.EventsScanned != n || s.BytesScanned <= 0 || s.CreationTime == nil || s.ExecutionTimeInMillis < 0 {
		t.Errorf("DescribeQuery statistics %+v, want %d events matched and scanned, and bytes", d.QueryStatistics, n)
	}
	if r, err := q.eng.GetQueryResults(q.ctx, api.GetQueryResultsInput{QueryId: id}); err != nil || r.QueryStatistics.BytesScanned != d.QueryStatistics.BytesScanned {
		t.Errorf("GetQueryResults statistics %+v, %v; want BytesScanned %d", r.QueryStatistics, err, d.QueryStatistics.BytesScanned)
	}
	// A query that reads no event data store scans no events.
	one := q.await(q.eng, q.start(q.eng, "SELECT count(*) AS n FROM (SELECT 1)"), api.QueryFinished)
	if s := one.QueryStatistics; s.EventsScanned != 0 || s.BytesScanned != 0 {
		t.Errorf("statistics of a query of no store %+v, want nothing scanned", s)
	}
	var want [][]map[string]string
	for _, x := range q.events {
		want = append(want, []map[string]string{{"eventID": x.id}, {"eventTime": x.at.Format("2006-01-02 15:04:05.000")}})
	}
	for _, max := range []int{0, 1, 10, 25, 1000} {
		if got := q.results(q.eng, id, max); !reflect.DeepEqual(got, want) {
			t.Errorf("MaxQueryResults %d: rows %v, want %v", max, got, want)
		}
	}

	first, err := q.eng.GetQueryResults(q.ctx, api.GetQueryResultsInput{QueryId: id, MaxQueryResults: 10})
	if err != nil || first.NextToken == "" {
		t.Fatalf("first page: %v, token %q", err, first.NextToken)
	}
	other := q.start(q.eng, "SELECT 1 AS one")
	q.await(q.eng, other, api.QueryFinished)
	for _, tt := range []struct {
		name string
		in   api.GetQueryResultsInput
		want *api.Exception
	}{
		{"token of another query", api.GetQueryResultsInput{QueryId: other, NextToken: first.NextToken}, api.ErrInvalidNextToken},
		{"garbage token", api.GetQueryResultsInput{QueryId: id, NextToken: "garbage"}, api.ErrInvalidNextToken},
		{"page too large", api.GetQueryResultsInput{QueryId: id, MaxQueryResults: 1001}, api.ErrInvalidMaxResults},
		{"negative page", api.GetQueryResultsInput{QueryId: id, MaxQueryResults: -1}, api.ErrInvalidMaxResults},
	} {
		if _, err := q.eng.GetQueryResults(q.ctx, tt.in); !isExc(err, tt.want) {
			t.Errorf("%s: %v, want %s", tt.name, err, tt.want.Name)
		}
	}
}

// TestQueryValues checks how values are written in the results.
func TestQueryValues(t *testing.T) {
	q := newQueryEnv(t, engine.Options{})
	id := q.start(q.eng, `SELECT NULL AS n, true AS b, 42 AS i, -1.5::DOUBLE AS f, 'NaN'::DOUBLE AS nan, '-inf'::DOUBLE AS ninf,
		TIMESTAMPTZ '2023-07-10 12:00:00.123456+00' AS ts, 'x' AS s, [1, NULL] AS l,
		{'t': TIMESTAMPTZ '2023-07-10 12:00:00+00', 'h': '<&>', 'f': 'inf'::DOUBLE} AS st`)
	q.await(q.eng, id, api.QueryFinished)
	want := [][]map[string]string{{
		{"b": "true"}, {"i": "42"}, {"f": "-1.5"}, {"nan": "NaN"}, {"ninf": "-Infinity"},
		{"ts": "2023-07-10 12:00:00.123"}, {"s": "x"}, {"l": "[1,null]"},
		{"st": `{"f":"Infinity","h":"<&>","t":"2023-07-10T12:00:00Z"}`},
	}}
	if got := q.results(q.eng, id, 0); !reflect.DeepEqual(got, want) {
		t.Errorf("rows %v, want %v", got, want)
	}
}

// TestQueryParameters checks that QueryParameters are bound to the ?
// placeholders as values.
func TestQueryParameters(t *testing.T) {
	q := newQueryEnv(t, engine.Options{})
	stmt := "SELECT eventID FROM " + q.table + " WHERE eventID IN (?, ?) ORDER BY eventID"
	tests := []struct {
		name   string
		params []string
		want   [][]map[string]string
	}{
		{"two events", []string{"q-3", "q-12"}, [][]map[string]string{{{"eventID": "q-12"}}, {{"eventID": "q-3"}}}},
		{"quotes", []string{"q-1' OR '1'='1", "q-2') OR ('1'='1"}, nil},
	}
	for _, tt := range tests {
		id := q.start(q.eng, stmt, tt.params...)
		q.await(q.eng, id, api.QueryFinished)
		if got := q.results(q.eng, id, 0); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: rows %v, want %v", tt.name, got, tt.want)
		}
	}

	_, err := q.eng.StartQuery(q.ctx, api.StartQueryInput{QueryStatement: stmt, QueryParameters: []string{"q-1"}})
	if !isExc(err, api.ErrInvalidQueryStatement) || !strings.Contains(err.Error(), "parameters") {
		t.Errorf("too few parameters: %v, want InvalidQueryStatementException about parameters", err)
	}
}

// TestQueryInvalid checks that StartQuery refuses a statement the store
// cannot run, on one line, before running anything.
func TestQueryInvalid(t *testing.T) {
	q := newQueryEnv(t, engine.Options{})
	for _, stmt := range []string{"SELEC 1", "SELECT * FROM no_such_table", "DELETE FROM " + q.table, "SELECT 1; SELECT 2"} {
		_, err := q.eng.StartQuery(q.ctx, api.StartQueryInput{QueryStatement: stmt})
		if !isExc(err, api.ErrInvalidQueryStatement) || strings.Contains(err.Error(), "\n") {
			t.Errorf("StartQuery(%q): %v, want a one-line InvalidQueryStatementException", stmt, err)
		}
	}
}

// TestQueryFailed checks that a statement failing as it runs fails with
// its reason, and has no rows.
func TestQueryFailed(t *testing.T) {
	q := newQueryEnv(t, engine.Options{})
	id := q.start(q.eng, "SELECT CAST(eventID AS INTEGER) FROM "+q.table)
	d := q.await(q.eng, id, api.QueryFailed)
	if len(d.ErrorMessage) < 4 || !strings.Contains(d.ErrorMessage, "Conversion") {
		t.Errorf("ErrorMessage %q, want the conversion error", d.ErrorMessage)
	}
	out, err := q.eng.GetQueryResults(q.ctx, api.GetQueryResultsInput{QueryId: id})
	if err != nil {
		t.Fatal(err)
	}
	if out.QueryStatus != api.QueryFailed || out.ErrorMessage != d.ErrorMessage || out.QueryResultRows == nil || len(out.QueryResultRows) != 0 || out.NextToken != "" {
		t.Errorf("GetQueryResults of a failed query = %+v", out)
	}
	if _, err := q.eng.CancelQuery(q.ctx, api.CancelQueryInput{QueryId: id}); !isExc(err, api.ErrInactiveQuery) {
		t.Errorf("CancelQuery of a failed query: %v, want InactiveQueryException", err)
	}
}

// TestQueryResultCap checks that a query whose results are larger than
// QueryResultBytes fails.
func TestQueryResultCap(t *testing.T) {
	q := newQueryEnv(t, engine.Options{})
	tests := []struct {
		cap     int64
		rows    int
		message string
	}{
		{rowBytes*10 + 1, 10, ""},
		{rowBytes * 10, 10, fmt.Sprintf("the results are larger than the %d B this service holds for them; aggregate or add a LIMIT", rowBytes*10)},
		{1 << 10, 300, "the results are larger than the 1 KiB this service holds for them; aggregate or add a LIMIT"},
	}
	for _, tt := range tests {
		eng := q.engine(engine.Options{QueryResultBytes: tt.cap})
		id := q.start(eng, fmt.Sprintf("SELECT 'abcd' AS c FROM range(%d)", tt.rows))
		if tt.message == "" {
			q.await(eng, id, api.QueryFinished)
			if got := q.results(eng, id, 0); len(got) != tt.rows {
				t.Errorf("cap %d: %d rows, want %d", tt.cap, len(got), tt.rows)
			}
			continue
		}
		if d := q.await(eng, id, api.QueryFailed); d.ErrorMessage != tt.message {
			t.Errorf("cap %d: ErrorMessage %q, want %q", tt.cap, d.ErrorMessage, tt.message)
		}
	}
}

// rowBytes is what a row of one value, 'abcd', takes of QueryResultBytes:
// the text, its string header and its NULL flag. The column name c takes
// one byte more, once.
const rowBytes = 4 + 16 + 1

// TestQueryResultsHeld checks that QueryResultBytes bounds the results of
// all kept queries together: results that need the room make the Engine
// forget the oldest ended queries, and a failed query gives its room back.
func TestQueryResultsHeld(t *testing.T) {
	q := newQueryEnv(t, engine.Options{})
	eng := q.engine(engine.Options{QueryResultBytes: 2 * (1 + 10*rowBytes)})
	tenRows := "SELECT 'abcd' AS c FROM range(10)"
	var kept []string
	for i := range 4 {
		id := q.start(eng, tenRows)
		q.await(eng, id, api.QueryFinished)
		kept = append(kept, id)
		if i < 2 {
			continue
		}
		// Room for two: the oldest is forgotten.
		if _, err := eng.GetQueryResults(q.ctx, api.GetQueryResultsInput{QueryId: kept[0]}); !isExc(err, api.ErrQueryIdNotFound) {
			t.Errorf("query %d: GetQueryResults of the oldest: %v, want QueryIdNotFoundException", i, err)
		}
		kept = kept[1:]
		for _, id := range kept {
			if got := q.results(eng, id, 0); len(got) != 10 {
				t.Errorf("query %d: query %s has %d rows, want 10", i, id, len(got))
			}
		}
	}
	// Results larger than the whole room fail; the room they took while
	// they were read comes back, and the next query fits.
	big := q.start(eng, "SELECT 'abcd' AS c FROM range(30)")
	q.await(eng, big, api.QueryFailed)
	for range 2 {
		id := q.start(eng, tenRows)
		q.await(eng, id, api.QueryFinished)
		if got := q.results(eng, id, 0); len(got) != 10 {
			t.Errorf("after a failed query: %d rows, want 10", len(got))
		}
	}
	// Holding no room, the failed query was not forgotten to make some.
	if out, err := eng.GetQueryResults(q.ctx, api.GetQueryResultsInput{QueryId: big}); err != nil || out.QueryStatus != api.QueryFailed {
		t.Errorf("GetQueryResults of the failed query = %v, %v; want FAILED", out.QueryStatus, err)
	}
}

// TestQueryQueue checks that queries beyond MaxRunningQueries wait QUEUED,
// without results, that queued and running queries can be cancelled, and
// that a queued query runs once a slot is free.
func TestQueryQueue(t *testing.T) {
	q := newQueryEnv(t, engine.Options{MaxRunningQueries: 1})
	slow := q.start(q.eng, slowQuery)
	q.await(q.eng, slow, api.QueryRunning)
	next := q.start(q.eng, "SELECT 1 AS one")
	queued := q.start(q.eng, slowQuery)
	for _, id := range []string{slow, next, queued} {
		out, err := q.eng.GetQueryResults(q.ctx, api.GetQueryResultsInput{QueryId: id})
		want := api.QueryQueued
		if id == slow {
			want = api.QueryRunning
		}
		if err != nil || out.QueryStatus != want || len(out.QueryResultRows) != 0 || out.NextToken != "" || out.ErrorMessage != "" {
			t.Errorf("GetQueryResults of a %s query = %+v, %v", want, out, err)
		}
	}

	out, err := q.eng.CancelQuery(q.ctx, api.CancelQueryInput{QueryId: queued})
	if err != nil || out.QueryId != queued || out.QueryStatus != api.QueryCancelled {
		t.Errorf("CancelQuery of a queued query = %+v, %v", out, err)
	}
	if d := q.describe(q.eng, queued); d.QueryStatus != api.QueryCancelled || d.QueryStatistics.ExecutionTimeInMillis != 0 {
		t.Errorf("a query cancelled while queued: %s, %d ms", d.QueryStatus, d.QueryStatistics.ExecutionTimeInMillis)
	}
	if d := q.describe(q.eng, next); d.QueryStatus != api.QueryQueued {
		t.Errorf("a query waiting for a slot is %s, want QUEUED", d.QueryStatus)
	}

	if out, err := q.eng.CancelQuery(q.ctx, api.CancelQueryInput{QueryId: slow}); err != nil || out.QueryStatus != api.QueryCancelled {
		t.Errorf("CancelQuery of a running query = %+v, %v", out, err)
	}
	q.await(q.eng, next, api.QueryFinished)
	if got := q.results(q.eng, next, 0); !reflect.DeepEqual(got, [][]map[string]string{{{"one": "1"}}}) {
		t.Errorf("rows of the queued query %v", got)
	}
	for _, id := range []string{slow, queued, next} {
		if _, err := q.eng.CancelQuery(q.ctx, api.CancelQueryInput{QueryId: id}); !isExc(err, api.ErrInactiveQuery) {
			t.Errorf("CancelQuery of an ended query: %v, want InactiveQueryException", err)
		}
	}
	if d := q.describe(q.eng, slow); d.QueryStatus != api.QueryCancelled {
		t.Errorf("cancelled query is %s", d.QueryStatus)
	}
}

// TestQueriesRunning checks that QueriesRunning counts the RUNNING queries,
// not those QUEUED or ended.
func TestQueriesRunning(t *testing.T) {
	q := newQueryEnv(t, engine.Options{MaxRunningQueries: 2})
	check := func(when string, want int) {
		t.Helper()
		if got := q.eng.QueriesRunning(); got != want {
			t.Errorf("QueriesRunning %s = %d, want %d", when, got, want)
		}
	}
	check("before any query", 0)
	q.await(q.eng, q.start(q.eng, "SELECT 1"), api.QueryFinished)
	check("after a query finished", 0)
	first, second := q.start(q.eng, slowQuery), q.start(q.eng, slowQuery)
	q.await(q.eng, first, api.QueryRunning)
	q.await(q.eng, second, api.QueryRunning)
	queued := q.start(q.eng, slowQuery)
	check("with two running and one queued", 2)
	for _, id := range []string{first, second} {
		if _, err := q.eng.CancelQuery(q.ctx, api.CancelQueryInput{QueryId: id}); err != nil {
			t.Fatal(err)
		}
	}
	q.await(q.eng, queued, api.QueryRunning)
	check("with the queued one running", 1)
	if _, err := q.eng.CancelQuery(q.ctx, api.CancelQueryInput{QueryId: queued}); err != nil {
		t.Fatal(err)
	}
	check("after every query was cancelled", 0)
}

// TestQueryLimit checks that 100 queries are kept: a new one makes the
// engine forget the oldest ended one, and is refused when none has ended.
func TestQueryLimit(t *testing.T) {
	q := newQueryEnv(t, engine.Options{MaxRunningQueries: 1})
	ids := []string{q.start(q.eng, slowQuery)}
	q.await(q.eng, ids[0], api.QueryRunning)
	for len(ids) < 100 {
		ids = append(ids, q.start(q.eng, "SELECT 1"))
	}
	if _, err := q.eng.StartQuery(q.ctx, api.StartQueryInput{QueryStatement: "SELECT 1"}); !isExc(err, api.ErrMaxConcurrentQueries) {
		t.Fatalf("StartQuery with 100 queries queued or running: %v, want MaxConcurrentQueriesException", err)
	}
	// Of the ended queries, the oldest is forgotten.
	for _, i := range []int{7, 3} {
		if _, err := q.eng.CancelQuery(q.ctx, api.CancelQueryInput{QueryId: ids[i]}); err != nil {
			t.Fatal(err)
		}
	}
	q.start(q.eng, "SELECT 1")
	if _, err := q.eng.GetQueryResults(q.ctx, api.GetQueryResultsInput{QueryId: ids[3]}); !isExc(err, api.ErrQueryIdNotFound) {
		t.Errorf("GetQueryResults of the forgotten query: %v, want QueryIdNotFoundException", err)
	}
	if d := q.describe(q.eng, ids[3]); d.QueryStatus != api.QueryCancelled {
		t.Errorf("DescribeQuery of the forgotten query tells %s, want CANCELLED", d.QueryStatus)
	}
	for _, i := range []int{0, 7} {
		if _, err := q.eng.DescribeQuery(q.ctx, api.DescribeQueryInput{QueryId: ids[i]}); err != nil {
			t.Errorf("DescribeQuery of query %d: %v", i, err)
		}
	}
	q.start(q.eng, "SELECT 1")
	if _, err := q.eng.StartQuery(q.ctx, api.StartQueryInput{QueryStatement: "SELECT 1"}); !isExc(err, api.ErrMaxConcurrentQueries) {
		t.Errorf("StartQuery with 100 queries queued or running: %v, want MaxConcurrentQueriesException", err)
	}
}

// TestCloseCancelsQueries checks that Close cancels running queries and
// waits for them, and that no query starts afterwards.
func TestCloseCancelsQueries(t *testing.T) {
	q := newQueryEnv(t, engine.Options{})
	eng := q.engine(engine.Options{MaxRunningQueries: 1})
	running := q.start(eng, slowQuery)
	q.await(eng, running, api.QueryRunning)
	queued := q.start(eng, slowQuery)
	done := make(chan struct{})
	go func() { eng.Close(); close(done) }()
	waitClosed(t, done, "Close")
	for _, id := range []string{running, queued} {
		if d := q.describe(eng, id); d.QueryStatus != api.QueryCancelled {
			t.Errorf("query after Close is %s, want CANCELLED", d.QueryStatus)
		}
	}
	if _, err := eng.StartQuery(q.ctx, api.StartQueryInput{QueryStatement: "SELECT 1"}); err == nil {
		t.Errorf("StartQuery after Close succeeded")
	}
}

// TestQueryValidation checks the refusals of the query operations.
func TestQueryValidation(t *testing.T) {
	e := newEnv(t, engine.Options{Account: account})
	unknown := "00000000-0000-4000-8000-000000000000"
	tooMany := make([]string, 11)
	for i := range tooMany {
		tooMany[i] = "x"
	}
	start := []struct {
		name string
		in   api.StartQueryInput
		want *api.Exception
	}{
		{"empty statement", api.StartQueryInput{}, api.ErrInvalidQueryStatement},
		{"delivery", api.StartQueryInput{QueryStatement: "SELECT 1", DeliveryS3Uri: "s3://results/"}, api.ErrInvalidParameter},
		{"alias", api.StartQueryInput{QueryStatement: "SELECT 1", QueryAlias: "top-users"}, api.ErrInvalidParameter},
		{"other owner", api.StartQueryInput{QueryStatement: "SELECT 1", EventDataStoreOwnerAccountId: "999999999999"}, api.ErrInvalidParameter},
		{"too many parameters", api.StartQueryInput{QueryStatement: "SELECT 1", QueryParameters: tooMany}, api.ErrInvalidParameter},
		{"empty parameter", api.StartQueryInput{QueryStatement: "SELECT ?", QueryParameters: []string{""}}, api.ErrInvalidParameter},
		{"long parameter", api.StartQueryInput{QueryStatement: "SELECT ?", QueryParameters: []string{strings.Repeat("x", 1025)}}, api.ErrInvalidParameter},
	}
	for _, tt := range start {
		if _, err := e.eng.StartQuery(e.ctx, tt.in); !isExc(err, tt.want) {
			t.Errorf("StartQuery %s: %v, want %s", tt.name, err, tt.want.Name)
		}
	}

	// memsink runs no SQL: the query fails.
	out, err := e.eng.StartQuery(e.ctx, api.StartQueryInput{QueryStatement: "SELECT 1", EventDataStoreOwnerAccountId: account})
	if err != nil || out.EventDataStoreOwnerAccountId != account {
		t.Fatalf("StartQuery with the owner account = %+v, %v", out, err)
	}
	id := out.QueryId
	eventually(t, "the query to fail", func() bool {
		d, err := e.eng.DescribeQuery(e.ctx, api.DescribeQueryInput{QueryId: id})
		return err == nil && d.QueryStatus == api.QueryFailed
	})

	lookups := []struct {
		name  string
		id    string
		store string
		owner string
		want  *api.Exception
	}{
		{"known", id, "", "", nil},
		{"known in a store", id, e.eds.EventDataStoreArn, account, nil},
		{"unknown", unknown, "", "", api.ErrQueryIdNotFound},
		{"no id", "", "", "", api.ErrInvalidParameter},
		{"not a UUID", "not-a-uuid", "", "", api.ErrInvalidParameter},
		{"other owner", id, "", "999999999999", api.ErrInvalidParameter},
		{"unknown store", id, "nowhere", "", api.ErrEventDataStoreNotFound},
		{"bad ARN", id, "arn:aws:cloudtrail:nowhere", "", api.ErrEventDataStoreARNInvalid},
	}
	for _, tt := range lookups {
		ops := map[string]func() error{
			"DescribeQuery": func() error {
				_, err := e.eng.DescribeQuery(e.ctx, api.DescribeQueryInput{QueryId: tt.id, EventDataStore: tt.store, EventDataStoreOwnerAccountId: tt.owner})
				return err
			},
			"GetQueryResults": func() error {
				_, err := e.eng.GetQueryResults(e.ctx, api.GetQueryResultsInput{QueryId: tt.id, EventDataStore: tt.store, EventDataStoreOwnerAccountId: tt.owner})
				return err
			},
			"CancelQuery": func() error {
				_, err := e.eng.CancelQuery(e.ctx, api.CancelQueryInput{QueryId: tt.id, EventDataStore: tt.store, EventDataStoreOwnerAccountId: tt.owner})
				return err
			},
		}
		for op, fn := range ops {
			err := fn()
			switch {
			case tt.want == nil && op == "CancelQuery":
				if !isExc(err, api.ErrInactiveQuery) {
					t.Errorf("%s %s: %v, want InactiveQueryException", op, tt.name, err)
				}
			case tt.want == nil:
				if err != nil {
					t.Errorf("%s %s: %v", op, tt.name, err)
				}
			case !isExc(err, tt.want):
				t.Errorf("%s %s: %v, want %s", op, tt.name, err, tt.want.Name)
			}
		}
	}
	for _, in := range []api.DescribeQueryInput{{QueryId: id, QueryAlias: "top-users"}, {QueryId: id, RefreshId: "r"}} {
		if _, err := e.eng.DescribeQuery(e.ctx, in); !isExc(err, api.ErrInvalidParameter) {
			t.Errorf("DescribeQuery(%+v): %v, want InvalidParameterException", in, err)
		}
	}
}
