package engine

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/google/uuid"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/budget"
	"github.com/ctimport/ctimport/sink"
)

// maxQueries is how many queries an Engine keeps, ended or not.
const maxQueries = 100

// The most QueryParameters the API allows, and the longest one.
const (
	maxQueryParameters = 10
	maxParameterLength = 1024
)

// resultTimeLayout is how CloudTrail Lake prints timestamps in query results.
const resultTimeLayout = "2006-01-02 15:04:05.000"

// query is a query StartQuery started.
type query struct {
	id        string
	statement string
	args      []any
	owner     string // the EventDataStoreOwnerAccountId StartQuery was given
	created   time.Time
	ctx       context.Context
	cancel    context.CancelFunc
	matched   atomic.Int64 // the rows read so far

	mu    sync.Mutex
	state queryState
	held  int64 // bytes of Options.QueryResultBytes it holds; guarded by Engine.mu
}

// queryState is what changes in a query's life.
type queryState struct {
	status  api.QueryStatus
	started time.Time // when it began running
	ended   time.Time
	results table  // the results, once FINISHED
	message string // why it FAILED
	// scanned and bytes are the events the query read from event data
	// stores and their estimated stored bytes, once it ended, where the
	// store tells.
	scanned, bytes int64
}

// millis returns how long the query has run by now, in milliseconds.
func (s queryState) millis(now time.Time) int {
	if s.started.IsZero() {
		return 0
	}
	if !s.ended.IsZero() {
		now = s.ended
	}
	return int(now.Sub(s.started).Milliseconds())
}

func (q *query) snapshot() queryState {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.state
}

// begin makes a queued query RUNNING, and reports whether it was queued.
func (q *query) begin(now time.Time) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.state.status != api.QueryQueued {
		return false
	}
	q.state.status, q.state.started = api.QueryRunning, now
	return true
}

// finish records the outcome of a run, unless the query was cancelled.
func (q *query) finish(now time.Time, res results, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.state.status.Done() {
		return
	}
	q.state.ended = now
	if err != nil {
		q.state.status, q.state.message = api.QueryFailed, errorMessage(err)
		return
	}
	q.state.status, q.state.results = api.QueryFinished, res.table
	q.state.scanned, q.state.bytes = res.scanned, res.bytes
}

// results are what a query's run found: its rows, and what it scanned.
type results struct {
	table
	scanned, bytes int64
}

// table is the rows of a query's results, as text.
type table struct {
	cols  []string
	cells []string // the values, row by row, len(cols) to a row
	null  []bool   // which cells are NULL
	rows  int
}

// cellBytes is what the record of one value takes beside its text.
const cellBytes = int64(unsafe.Sizeof("")) + 1

// add appends a row of values, as sink.Rows gives them, and returns the
// bytes it takes.
func (t *table) add(vals []any) int64 {
	size := int64(len(vals)) * cellBytes
	for _, v := range vals {
		text := ""
		if v != nil {
			text = resultText(v)
		}
		size += int64(len(text))
		t.cells = append(t.cells, text)
		t.null = append(t.null, v == nil)
	}
	t.rows++
	return size
}

// page returns rows [start, end) as the API gives them: each row lists its
// non-NULL columns in order, each a one-entry map of name to value.
func (t *table) page(start, end int) [][]map[string]string {
	out := make([][]map[string]string, 0, end-start)
	n := len(t.cols)
	for r := start; r < end; r++ {
		row := make([]map[string]string, 0, n)
		for i, col := range t.cols {
			if !t.null[r*n+i] {
				row = append(row, map[string]string{col: t.cells[r*n+i]})
			}
		}
		out = append(out, row)
	}
	return out
}

// abort cancels a queued or running query, and reports whether it was one.
func (q *query) abort(now time.Time) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.state.status.Done() {
		return false
	}
	q.state.status, q.state.ended = api.QueryCancelled, now
	q.cancel()
	return true
}

// StartQuery validates in and runs its statement in the background. The
// statement is read-only SQL over the event data stores, as Query runs it;
// QueryParameters are bound to its ? placeholders, in order. A query is
// QUEUED until fewer than Options.MaxRunningQueries run, then RUNNING until
// it is FINISHED, FAILED (a wrong statement, a wrong number of parameters,
// or results larger than Options.QueryResultBytes) or CANCELLED.
//
// The Engine keeps the last 100 queries, and their results in memory
// within Options.QueryResultBytes; a new query makes it forget the oldest
// ended one, and so do results that need the room. When all 100 are queued
// or running, StartQuery fails with MaxConcurrentQueriesException.
func (e *Engine) StartQuery(ctx context.Context, in api.StartQueryInput) (api.StartQueryOutput, error) {
	switch {
	case in.QueryStatement == "":
		return api.StartQueryOutput{}, api.ErrInvalidQueryStatement.New("the query statement is empty")
	case in.DeliveryS3Uri != "":
		return api.StartQueryOutput{}, api.ErrInvalidParameter.New("ctimport keeps query results in memory; DeliveryS3Uri is not supported")
	case in.QueryAlias != "":
		return api.StartQueryOutput{}, api.ErrInvalidParameter.New("query templates are not supported; QueryAlias must not be set")
	case len(in.QueryParameters) > maxQueryParameters:
		return api.StartQueryOutput{}, api.ErrInvalidParameter.New("at most %d QueryParameters are allowed, not %d", maxQueryParameters, len(in.QueryParameters))
	}
	if err := e.checkOwner(in.EventDataStoreOwnerAccountId); err != nil {
		return api.StartQueryOutput{}, err
	}
	args := make([]any, len(in.QueryParameters))
	for i, p := range in.QueryParameters {
		if p == "" || len(p) > maxParameterLength {
			return api.StartQueryOutput{}, api.ErrInvalidParameter.New("query parameter %d must be 1 to %d characters long", i+1, maxParameterLength)
		}
		args[i] = p
	}
	stores, err := e.queryStores(ctx, in.QueryStatement)
	if err != nil {
		return api.StartQueryOutput{}, err
	}
	if c, ok := e.store.(sink.QueryChecker); ok {
		if err := c.CheckQuery(ctx, in.QueryStatement, len(args)); err != nil {
			return api.StartQueryOutput{}, api.ErrInvalidQueryStatement.New("%s", OneLine(err.Error()))
		}
	}
	qctx, cancel := context.WithCancel(context.Background())
	q := &query{
		id:        uuid.NewString(),
		statement: in.QueryStatement,
		args:      args,
		owner:     in.EventDataStoreOwnerAccountId,
		created:   e.now(),
		ctx:       qctx,
		cancel:    cancel,
		state:     queryState{status: api.QueryQueued},
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		cancel()
		return api.StartQueryOutput{}, errors.New("engine: closed")
	}
	if len(e.order) >= maxQueries && !e.forgetQuery() {
		cancel()
		return api.StartQueryOutput{}, api.ErrMaxConcurrentQueries.New("%d queries are queued or running; wait for one to end or cancel one", len(e.order))
	}
	e.queries[q.id] = q
	e.order = append(e.order, q)
	e.history.add(&queryRecord{id: q.id, created: q.created, stores: stores, q: q}, q.created)
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.runQuery(q)
	}()
	return api.StartQueryOutput{QueryId: q.id, EventDataStoreOwnerAccountId: q.owner}, nil
}

// QueriesRunning returns how many queries are RUNNING now; queries QUEUED
// for a slot are not counted.
func (e *Engine) QueriesRunning() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, q := range e.order {
		if q.snapshot().status == api.QueryRunning {
			n++
		}
	}
	return n
}

// forgetQuery forgets the oldest ended query, and the room its results
// held, and reports whether there was one. The caller holds e.mu.
func (e *Engine) forgetQuery() bool {
	for i, q := range e.order {
		if q.snapshot().status.Done() {
			delete(e.queries, q.id)
			e.order = slices.Delete(e.order, i, i+1)
			e.history.forget(q)
			e.held -= q.held
			q.held = 0
			return true
		}
	}
	return false
}

// hold gives q n more bytes of Options.QueryResultBytes for its results,
// forgetting the oldest ended queries to make room, and reports whether
// there was room. Results are counted as they are read, so a query that
// fails for want of room may have made older queries forgotten.
func (e *Engine) hold(q *query, n int64) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	if q.held+n > e.opts.QueryResultBytes {
		return false
	}
	for e.held+n > e.opts.QueryResultBytes {
		if !e.forgetQuery() {
			return false
		}
	}
	e.held += n
	q.held += n
	return true
}

// release gives back the room q's results held, once they are not kept:
// it failed or was cancelled.
func (e *Engine) release(q *query) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.held -= q.held
	q.held = 0
}

// runQuery runs q once a slot is free, unless it is cancelled first.
func (e *Engine) runQuery(q *query) {
	defer q.cancel()
	if err := e.querySlots.Acquire(q.ctx, 1); err != nil {
		return
	}
	defer e.querySlots.Release(1)
	if !q.begin(e.now()) {
		return
	}
	res, err := e.collect(q)
	q.finish(e.now(), res, err)
	if q.snapshot().status != api.QueryFinished {
		e.release(q)
	}
}

// collect runs q's statement and reads its results as the API returns them.
func (e *Engine) collect(q *query) (results, error) {
	rows, err := e.store.Query(q.ctx, q.statement, q.args...)
	if err != nil {
		return results{}, err
	}
	defer rows.Close()
	res := results{table: table{cols: rows.Columns()}}
	var size int64
	for _, c := range res.cols {
		size += int64(len(c))
	}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return results{}, err
		}
		size += res.add(vals)
		if !e.hold(q, size) {
			return results{}, fmt.Errorf("the results are larger than the %s this service holds for them; aggregate or add a LIMIT", budget.Size(e.opts.QueryResultBytes))
		}
		size = 0
		q.matched.Add(1)
	}
	if err := rows.Err(); err != nil {
		return results{}, err
	}
	if sc, ok := rows.(sink.ScanCounter); ok {
		res.scanned, res.bytes, _ = sc.Scanned()
	}
	return res, nil
}

// DescribeQuery describes a query. Its statistics count the rows read as
// EventsMatched; EventsScanned counts the events the query read from event
// data stores and BytesScanned estimates their stored bytes, once the query
// has ended, where the store tells (0 otherwise). Of a query whose results
// the Engine has forgotten but ListQueries still lists, it tells only the
// status and creation time.
func (e *Engine) DescribeQuery(ctx context.Context, in api.DescribeQueryInput) (api.DescribeQueryOutput, error) {
	if in.QueryAlias != "" || in.RefreshId != "" {
		return api.DescribeQueryOutput{}, api.ErrInvalidParameter.New("query templates and dashboards are not supported; give QueryId, not QueryAlias or RefreshId")
	}
	q, err := e.findQuery(ctx, in.QueryId, in.EventDataStore, in.EventDataStoreOwnerAccountId)
	if errors.Is(err, api.ErrQueryIdNotFound) {
		if it, ok := e.recorded(in.QueryId); ok {
			return api.DescribeQueryOutput{
				QueryId:         it.QueryId,
				QueryStatus:     it.QueryStatus,
				QueryStatistics: &api.QueryStatisticsForDescribeQuery{CreationTime: &it.CreationTime},
			}, nil
		}
	}
	if err != nil {
		return api.DescribeQueryOutput{}, err
	}
	st := q.snapshot()
	created := q.created
	return api.DescribeQueryOutput{
		QueryId:     q.id,
		QueryString: q.statement,
		QueryStatus: st.status,
		QueryStatistics: &api.QueryStatisticsForDescribeQuery{
			EventsMatched:         q.matched.Load(),
			EventsScanned:         st.scanned,
			BytesScanned:          st.bytes,
			ExecutionTimeInMillis: st.millis(e.now()),
			CreationTime:          &created,
		},
		ErrorMessage:                 st.message,
		EventDataStoreOwnerAccountId: q.owner,
	}, nil
}

// GetQueryResults returns the status of a query and, once it is FINISHED,
// a page of at most MaxQueryResults (0 means 1000) of its results; none
// before, and the reason instead when it FAILED.
//
// Each row lists its columns in order, each as a one-entry map of the
// column's name to its value as text: strings as they are, booleans as
// true or false, numbers in decimal (floats as NaN, Infinity or -Infinity
// when not finite), timestamps as 2006-01-02 15:04:05.000 in UTC, lists,
// structs and maps as compact JSON (with timestamps in RFC 3339). A NULL
// value is left out of its row.
func (e *Engine) GetQueryResults(ctx context.Context, in api.GetQueryResultsInput) (api.GetQueryResultsOutput, error) {
	max := in.MaxQueryResults
	switch {
	case max == 0:
		max = maxPage
	case max < 1 || max > maxPage:
		return api.GetQueryResultsOutput{}, api.ErrInvalidMaxResults.New("MaxQueryResults must be between 1 and %d, not %d", maxPage, max)
	}
	q, err := e.findQuery(ctx, in.QueryId, in.EventDataStore, in.EventDataStoreOwnerAccountId)
	if err != nil {
		return api.GetQueryResultsOutput{}, err
	}
	filter := "results|" + q.id
	start := 0
	if in.NextToken != "" {
		after, err := decodeToken(in.NextToken, filter)
		if err != nil {
			return api.GetQueryResultsOutput{}, err
		}
		if start, err = strconv.Atoi(after); err != nil || start < 1 {
			return api.GetQueryResultsOutput{}, api.ErrInvalidNextToken.New("the pagination token is not one this service returned")
		}
	}
	st := q.snapshot()
	out := api.GetQueryResultsOutput{QueryStatus: st.status, QueryResultRows: [][]map[string]string{}, ErrorMessage: st.message}
	total := st.results.rows
	if st.status == api.QueryFinished {
		if start > total {
			return api.GetQueryResultsOutput{}, api.ErrInvalidNextToken.New("the pagination token is not one this service returned")
		}
		end := min(start+max, total)
		out.QueryResultRows = st.results.page(start, end)
		if end < total {
			out.NextToken = encodeToken(strconv.Itoa(end), filter)
		}
	}
	out.QueryStatistics = &api.QueryStatistics{ResultsCount: len(out.QueryResultRows), TotalResultsCount: total, BytesScanned: st.bytes}
	return out, nil
}

// CancelQuery cancels a queued or running query: its status becomes
// CANCELLED at once. A query that has ended cannot be cancelled.
func (e *Engine) CancelQuery(ctx context.Context, in api.CancelQueryInput) (api.CancelQueryOutput, error) {
	q, err := e.findQuery(ctx, in.QueryId, in.EventDataStore, in.EventDataStoreOwnerAccountId)
	if err != nil {
		return api.CancelQueryOutput{}, err
	}
	if !q.abort(e.now()) {
		return api.CancelQueryOutput{}, api.ErrInactiveQuery.New("query %s has ended: it is %s", q.id, q.snapshot().status)
	}
	return api.CancelQueryOutput{QueryId: q.id, QueryStatus: api.QueryCancelled, EventDataStoreOwnerAccountId: q.owner}, nil
}

// findQuery validates what the requests naming a query share and returns
// the query. store, deprecated in the API, must name an event data store
// when given; queries are not bound to one.
func (e *Engine) findQuery(ctx context.Context, id, store, owner string) (*query, error) {
	if id == "" {
		return nil, api.ErrInvalidParameter.New("QueryId is required")
	}
	if !uuidRE.MatchString(id) {
		return nil, api.ErrInvalidParameter.New("QueryId %q is not a UUID", id)
	}
	if err := e.checkOwner(owner); err != nil {
		return nil, err
	}
	if store != "" {
		if _, err := e.activeStore(ctx, store); err != nil {
			return nil, err
		}
	}
	e.mu.Lock()
	q := e.queries[id]
	e.mu.Unlock()
	if q == nil {
		return nil, api.ErrQueryIdNotFound.New("no query %s; the last %d queries are kept", id, maxQueries)
	}
	return q, nil
}

// checkOwner checks an EventDataStoreOwnerAccountId: when given, it must be
// the account of the event data stores.
func (e *Engine) checkOwner(account string) error {
	if account != "" && account != e.opts.Account {
		return api.ErrInvalidParameter.New("the event data stores belong to account %s, not %s", e.opts.Account, account)
	}
	return nil
}

// errorMessage returns the text of err as an ErrorMessage of the API: 4 to
// 1000 characters.
func errorMessage(err error) string {
	s := OneLine(err.Error())
	if len(s) < 4 {
		s = "the query failed: " + s
	}
	return api.ShortMessage(s)
}

// resultText returns a value of a query's results as text.
func resultText(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case int64:
		return strconv.FormatInt(v, 10)
	case float64:
		return floatText(v)
	case time.Time:
		return v.UTC().Format(resultTimeLayout)
	case []any, map[string]any:
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(JSONValue(v)); err == nil {
			return string(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
		}
	}
	return fmt.Sprint(v)
}

func floatText(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// JSONValue returns a value of a query's results, as sink.Rows gives it,
// ready for encoding/json: with what JSON cannot hold as text, timestamps
// in RFC 3339 and the floats that are not finite as "NaN", "Infinity" and
// "-Infinity".
func JSONValue(v any) any {
	switch v := v.(type) {
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano)
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return floatText(v)
		}
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = JSONValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[k] = JSONValue(e)
		}
		return out
	}
	return v
}
