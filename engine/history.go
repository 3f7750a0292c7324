package engine

import (
	"context"
	"slices"
	"time"

	"github.com/ctimport/ctimport/api"
)

// The queries ListQueries lists: those of the last historyAge, the most
// recent historyCount of them.
const (
	historyAge   = 7 * 24 * time.Hour
	historyCount = 10_000
)

// queryRecord is what the Engine keeps of a query for ListQueries, after
// it forgets the query and its results.
type queryRecord struct {
	id      string
	created time.Time
	stores  []string // the IDs of the event data stores its statement names
	// q is the query while the Engine keeps it; status is its final status
	// once forgotten.
	q      *query
	status api.QueryStatus
}

// history is the records of the queries started, oldest first. The
// Engine's mu guards it.
type history struct {
	records []*queryRecord
	byID    map[string]*queryRecord
}

// add records a query started at now, dropping the records that are too
// old or too many.
func (h *history) add(r *queryRecord, now time.Time) {
	h.records = append(h.records, r)
	h.byID[r.id] = r
	h.prune(now)
}

// prune drops the records older than historyAge and the oldest beyond
// historyCount.
func (h *history) prune(now time.Time) {
	drop := max(len(h.records)-historyCount, 0)
	for drop < len(h.records) && now.Sub(h.records[drop].created) > historyAge {
		drop++
	}
	for _, r := range h.records[:drop] {
		delete(h.byID, r.id)
	}
	h.records = slices.Delete(h.records, 0, drop)
}

// forget keeps the final status of q, which the Engine forgets.
func (h *history) forget(q *query) {
	if r := h.byID[q.id]; r != nil {
		r.status, r.q = q.snapshot().status, nil
	}
}

// item returns the record as ListQueries lists it.
func (r *queryRecord) item() api.QueryListItem {
	status := r.status
	if r.q != nil {
		status = r.q.snapshot().status
	}
	return api.QueryListItem{QueryId: r.id, QueryStatus: status, CreationTime: r.created}
}

// ListQueries lists the queries of the last seven days whose statement
// names the event data store in.EventDataStore (by ARN or ID), newest
// first, optionally only those of a QueryStatus and created within
// [StartTime, EndTime]. The Engine lists at most the 10,000 most recent
// queries, even those whose results it has forgotten.
func (e *Engine) ListQueries(ctx context.Context, in api.ListQueriesInput) (api.ListQueriesOutput, error) {
	max, err := maxResults(in.MaxResults, api.ErrInvalidMaxResults)
	if err != nil {
		return api.ListQueriesOutput{}, err
	}
	if in.QueryStatus != "" && !in.QueryStatus.Valid() {
		return api.ListQueriesOutput{}, api.ErrInvalidQueryStatus.New("QueryStatus %q is not one of QUEUED, RUNNING, FINISHED, FAILED, CANCELLED, TIMED_OUT", in.QueryStatus)
	}
	var from, to time.Time
	if in.StartTime != nil {
		from = *in.StartTime
	}
	if in.EndTime != nil {
		to = *in.EndTime
	}
	if !from.IsZero() && !to.IsZero() && from.After(to) {
		return api.ListQueriesOutput{}, api.ErrInvalidDateRange.New("StartTime %s is after EndTime %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	s, err := e.activeStore(ctx, in.EventDataStore)
	if err != nil {
		return api.ListQueriesOutput{}, err
	}
	var items []api.QueryListItem
	e.mu.Lock()
	e.history.prune(e.now())
	for _, r := range slices.Backward(e.history.records) {
		it := r.item()
		if slices.Contains(r.stores, s.ID) && (in.QueryStatus == "" || it.QueryStatus == in.QueryStatus) &&
			(from.IsZero() || !it.CreationTime.Before(from)) && (to.IsZero() || !it.CreationTime.After(to)) {
			items = append(items, it)
		}
	}
	e.mu.Unlock()
	filter := "queries|" + s.ID + "|" + string(in.QueryStatus) + "|" + from.Format(time.RFC3339Nano) + "|" + to.Format(time.RFC3339Nano)
	page, next, err := paginate(items, func(q api.QueryListItem) string { return q.QueryId }, in.NextToken, filter, max)
	if err != nil {
		return api.ListQueriesOutput{}, err
	}
	return api.ListQueriesOutput{Queries: append([]api.QueryListItem{}, page...), NextToken: next}, nil
}

// recorded returns what the Engine keeps of a query for ListQueries, and
// whether it keeps it.
func (e *Engine) recorded(id string) (api.QueryListItem, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.history.prune(e.now())
	r := e.history.byID[id]
	if r == nil {
		return api.QueryListItem{}, false
	}
	return r.item(), true
}
