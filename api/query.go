package api

import "time"

// QueryStatus is the state of a query.
type QueryStatus string

// Query statuses, as the API names them.
const (
	QueryQueued    QueryStatus = "QUEUED"
	QueryRunning   QueryStatus = "RUNNING"
	QueryFinished  QueryStatus = "FINISHED"
	QueryFailed    QueryStatus = "FAILED"
	QueryCancelled QueryStatus = "CANCELLED"
	QueryTimedOut  QueryStatus = "TIMED_OUT"
)

// Done reports whether a query in status s has ended.
func (s QueryStatus) Done() bool {
	return s == QueryFinished || s == QueryFailed || s == QueryCancelled || s == QueryTimedOut
}

// Valid reports whether s is one of the query statuses.
func (s QueryStatus) Valid() bool {
	return s == QueryQueued || s == QueryRunning || s.Done()
}

// StartQueryInput starts a query. QueryParameters take the places of the
// statement's ? placeholders, in order.
type StartQueryInput struct {
	QueryStatement               string   `json:"QueryStatement,omitempty"`
	DeliveryS3Uri                string   `json:"DeliveryS3Uri,omitempty"`
	QueryAlias                   string   `json:"QueryAlias,omitempty"`
	QueryParameters              []string `json:"QueryParameters,omitempty"`
	EventDataStoreOwnerAccountId string   `json:"EventDataStoreOwnerAccountId,omitempty"`
}

// StartQueryOutput names the query started.
type StartQueryOutput struct {
	QueryId                      string `json:"QueryId"`
	EventDataStoreOwnerAccountId string `json:"EventDataStoreOwnerAccountId,omitempty"`
}

// DescribeQueryInput names the query to describe. EventDataStore is
// deprecated in the API: a query is not bound to one event data store.
type DescribeQueryInput struct {
	EventDataStore               string `json:"EventDataStore,omitempty"`
	QueryId                      string `json:"QueryId,omitempty"`
	QueryAlias                   string `json:"QueryAlias,omitempty"`
	RefreshId                    string `json:"RefreshId,omitempty"`
	EventDataStoreOwnerAccountId string `json:"EventDataStoreOwnerAccountId,omitempty"`
}

// QueryStatisticsForDescribeQuery counts the work of a query.
type QueryStatisticsForDescribeQuery struct {
	EventsMatched         int64      `json:"EventsMatched"`
	EventsScanned         int64      `json:"EventsScanned"`
	BytesScanned          int64      `json:"BytesScanned"`
	ExecutionTimeInMillis int        `json:"ExecutionTimeInMillis"`
	CreationTime          *time.Time `json:"CreationTime,omitempty"`
}

// DescribeQueryOutput describes a query.
type DescribeQueryOutput struct {
	QueryId                      string                           `json:"QueryId"`
	QueryString                  string                           `json:"QueryString"`
	QueryStatus                  QueryStatus                      `json:"QueryStatus"`
	QueryStatistics              *QueryStatisticsForDescribeQuery `json:"QueryStatistics,omitempty"`
	ErrorMessage                 string                           `json:"ErrorMessage,omitempty"`
	EventDataStoreOwnerAccountId string                           `json:"EventDataStoreOwnerAccountId,omitempty"`
}

// GetQueryResultsInput pages the results of a query.
type GetQueryResultsInput struct {
	EventDataStore               string `json:"EventDataStore,omitempty"`
	QueryId                      string `json:"QueryId"`
	NextToken                    string `json:"NextToken,omitempty"`
	MaxQueryResults              int    `json:"MaxQueryResults,omitempty"`
	EventDataStoreOwnerAccountId string `json:"EventDataStoreOwnerAccountId,omitempty"`
}

// QueryStatistics counts the results of a query.
type QueryStatistics struct {
	ResultsCount      int   `json:"ResultsCount"`
	TotalResultsCount int   `json:"TotalResultsCount"`
	BytesScanned      int64 `json:"BytesScanned"`
}

// GetQueryResultsOutput is one page of a query's results. Each row is a
// list of one-entry maps, column name to value, in column order.
type GetQueryResultsOutput struct {
	QueryStatus     QueryStatus           `json:"QueryStatus"`
	QueryStatistics *QueryStatistics      `json:"QueryStatistics,omitempty"`
	QueryResultRows [][]map[string]string `json:"QueryResultRows"`
	NextToken       string                `json:"NextToken,omitempty"`
	ErrorMessage    string                `json:"ErrorMessage,omitempty"`
}

// CancelQueryInput names the query to cancel.
type CancelQueryInput struct {
	EventDataStore               string `json:"EventDataStore,omitempty"`
	QueryId                      string `json:"QueryId"`
	EventDataStoreOwnerAccountId string `json:"EventDataStoreOwnerAccountId,omitempty"`
}

// CancelQueryOutput tells the status of a query after CancelQuery.
type CancelQueryOutput struct {
	QueryId                      string      `json:"QueryId"`
	QueryStatus                  QueryStatus `json:"QueryStatus"`
	EventDataStoreOwnerAccountId string      `json:"EventDataStoreOwnerAccountId,omitempty"`
}

// ListQueriesInput filters and pages ListQueries. EventDataStore, the ARN
// or ID of an event data store, is required; StartTime and EndTime bound
// the queries' creation times.
type ListQueriesInput struct {
	EventDataStore string      `json:"EventDataStore"`
	NextToken      string      `json:"NextToken,omitempty"`
	MaxResults     int         `json:"MaxResults,omitempty"`
	StartTime      *time.Time  `json:"StartTime,omitempty"`
	EndTime        *time.Time  `json:"EndTime,omitempty"`
	QueryStatus    QueryStatus `json:"QueryStatus,omitempty"`
}

// QueryListItem is one entry of ListQueries.
type QueryListItem struct {
	QueryId      string      `json:"QueryId"`
	QueryStatus  QueryStatus `json:"QueryStatus"`
	CreationTime time.Time   `json:"CreationTime"`
}

// ListQueriesOutput is one page of ListQueries.
type ListQueriesOutput struct {
	Queries   []QueryListItem `json:"Queries"`
	NextToken string          `json:"NextToken,omitempty"`
}

// GetEventDataStoreInput names an event data store by ARN, name or ID.
type GetEventDataStoreInput struct {
	EventDataStore string `json:"EventDataStore"`
}
