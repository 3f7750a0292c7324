package engine_test

import (
	"slices"
	"testing"
	"time"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/engine"
)

// listQueries returns the IDs ListQueries lists, reading every page.
func (q *queryEnv) listQueries(eng *engine.Engine, in api.ListQueriesInput) []string {
	q.t.Helper()
	var ids []string
	for {
		out, err := eng.ListQueries(q.ctx, in)
		if err != nil {
			q.t.Fatalf("ListQueries(%+v): %v", in, err)
		}
		if in.MaxResults > 0 && len(out.Queries) > in.MaxResults {
			q.t.Fatalf("ListQueries(%+v): %d queries in a page of %d", in, len(out.Queries), in.MaxResults)
		}
		for _, it := range out.Queries {
			if d := q.describe(eng, it.QueryId); d.QueryStatus != it.QueryStatus || !d.QueryStatistics.CreationTime.Equal(it.CreationTime) {
				q.t.Errorf("ListQueries lists %+v; DescribeQuery tells %s, created %v", it, d.QueryStatus, d.QueryStatistics.CreationTime)
			}
			ids = append(ids, it.QueryId)
		}
		if out.NextToken == "" {
			return ids
		}
		in.NextToken = out.NextToken
	}
}

// TestListQueries checks that ListQueries lists the queries naming an event
// data store, newest first, filtered by status and creation time and
// paged, cancelled ones as CANCELLED.
func TestListQueries(t *testing.T) {
	clk := newClock()
	q := newQueryEnv(t, engine.Options{Now: clk.Now})
	other, err := q.eng.CreateEventDataStore(q.ctx, api.CreateEventDataStoreInput{Name: "other", EventDataStoreSettings: api.EventDataStoreSettings{TerminationProtectionEnabled: ptr(false)}})
	if err != nil {
		t.Fatal(err)
	}
	finished := q.start(q.eng, "SELECT count(*) FROM "+q.table)
	q.await(q.eng, finished, api.QueryFinished)
	q.start(q.eng, "SELECT 1")
	onOther := q.start(q.eng, "SELECT count(*) FROM "+storeID(other))
	cancelled := q.start(q.eng, slowQuery+", "+q.table)
	q.await(q.eng, cancelled, api.QueryRunning)
	if _, err := q.eng.CancelQuery(q.ctx, api.CancelQueryInput{QueryId: cancelled}); err != nil {
		t.Fatal(err)
	}
	created := func(id string) *time.Time { return q.describe(q.eng, id).QueryStatistics.CreationTime }
	arn := "arn:aws:cloudtrail:us-east-1:000000000000:eventdatastore/" + q.table

	tests := []struct {
		name string
		in   api.ListQueriesInput
		want []string
	}{
		{"by ID", api.ListQueriesInput{EventDataStore: q.table}, []string{cancelled, finished}},
		{"by ARN, in pages of one", api.ListQueriesInput{EventDataStore: arn, MaxResults: 1}, []string{cancelled, finished}},
		{"other store", api.ListQueriesInput{EventDataStore: other.EventDataStoreArn}, []string{onOther}},
		{"finished", api.ListQueriesInput{EventDataStore: q.table, QueryStatus: api.QueryFinished}, []string{finished}},
		{"cancelled", api.ListQueriesInput{EventDataStore: q.table, QueryStatus: api.QueryCancelled}, []string{cancelled}},
		{"running", api.ListQueriesInput{EventDataStore: q.table, QueryStatus: api.QueryRunning}, nil},
		{"from the cancelled", api.ListQueriesInput{EventDataStore: q.table, StartTime: created(cancelled)}, []string{cancelled}},
		{"to the finished", api.ListQueriesInput{EventDataStore: q.table, EndTime: created(finished)}, []string{finished}},
		{"between", api.ListQueriesInput{EventDataStore: q.table, StartTime: created(finished), EndTime: created(cancelled), MaxResults: 1}, []string{cancelled, finished}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := q.listQueries(q.eng, tc.in); !slices.Equal(got, tc.want) {
				t.Errorf("ListQueries lists %v, want %v", got, tc.want)
			}
		})
	}

	first, err := q.eng.ListQueries(q.ctx, api.ListQueriesInput{EventDataStore: q.table, MaxResults: 1})
	if err != nil || first.NextToken == "" {
		t.Fatalf("ListQueries with MaxResults 1 = %+v, %v; want a NextToken", first, err)
	}
	start, end := time.Date(2030, 2, 1, 0, 0, 0, 0, time.UTC), time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	errs := []struct {
		name string
		in   api.ListQueriesInput
		want *api.Exception
	}{
		{"no store", api.ListQueriesInput{}, api.ErrInvalidParameter},
		{"unknown store", api.ListQueriesInput{EventDataStore: "nowhere"}, api.ErrEventDataStoreNotFound},
		{"MaxResults", api.ListQueriesInput{EventDataStore: q.table, MaxResults: 1001}, api.ErrInvalidMaxResults},
		{"status", api.ListQueriesInput{EventDataStore: q.table, QueryStatus: "DONE"}, api.ErrInvalidQueryStatus},
		{"range", api.ListQueriesInput{EventDataStore: q.table, StartTime: &start, EndTime: &end}, api.ErrInvalidDateRange},
		{"token of other filters", api.ListQueriesInput{EventDataStore: q.table, QueryStatus: api.QueryFinished, NextToken: first.NextToken}, api.ErrInvalidNextToken},
	}
	for _, tc := range errs {
		if _, err := q.eng.ListQueries(q.ctx, tc.in); !isExc(err, tc.want) {
			t.Errorf("ListQueries with a wrong %s: %v, want %s", tc.name, err, tc.want.Name)
		}
	}

	if _, err := q.eng.DeleteEventDataStore(q.ctx, api.DeleteEventDataStoreInput{EventDataStore: other.EventDataStoreArn}); err != nil {
		t.Fatal(err)
	}
	if _, err := q.eng.ListQueries(q.ctx, api.ListQueriesInput{EventDataStore: other.EventDataStoreArn}); !isExc(err, api.ErrInactiveEventDataStore) {
		t.Errorf("ListQueries of a store pending deletion: %v, want InactiveEventDataStoreException", err)
	}
}

// TestListQueriesKept checks that queries are listed for seven days, even
// once the Engine has forgotten their results, and that DescribeQuery
// still tells their status.
func TestListQueriesKept(t *testing.T) {
	clk := newClock()
	q := newQueryEnv(t, engine.Options{})
	eng := q.engine(engine.Options{Now: clk.Now, QueryResultBytes: 2 * (1 + 10*rowBytes)})
	tenRows := "SELECT 'abcd' AS c FROM range(10), " + q.table + " LIMIT 10"
	old := q.start(eng, tenRows)
	q.await(eng, old, api.QueryFinished)
	clk.advance(3 * 24 * time.Hour)
	var recent []string
	for range 3 {
		id := q.start(eng, tenRows)
		q.await(eng, id, api.QueryFinished)
		recent = append([]string{id}, recent...)
	}
	list := api.ListQueriesInput{EventDataStore: q.table}
	if got, want := q.listQueries(eng, list), append(slices.Clone(recent), old); !slices.Equal(got, want) {
		t.Errorf("ListQueries lists %v, want %v", got, want)
	}
	if _, err := eng.GetQueryResults(q.ctx, api.GetQueryResultsInput{QueryId: old}); !isExc(err, api.ErrQueryIdNotFound) {
		t.Errorf("GetQueryResults of a query whose results are forgotten: %v, want QueryIdNotFoundException", err)
	}

	clk.advance(4*24*time.Hour + time.Minute)
	if got := q.listQueries(eng, list); !slices.Equal(got, recent) {
		t.Errorf("after seven days ListQueries lists %v, want %v", got, recent)
	}
	if _, err := eng.DescribeQuery(q.ctx, api.DescribeQueryInput{QueryId: old}); !isExc(err, api.ErrQueryIdNotFound) {
		t.Errorf("DescribeQuery of a query of eight days ago: %v, want QueryIdNotFoundException", err)
	}
	clk.advance(3 * 24 * time.Hour)
	if got := q.listQueries(eng, list); len(got) != 0 {
		t.Errorf("after ten days ListQueries lists %v, want none", got)
	}
}
