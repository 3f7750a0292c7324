package api

import "context"

// Service is the CloudTrail API that ctimport serves: the import
// operations of CloudTrail Lake and the operations of the event data
// stores and queries they need. Each method is the API operation of the
// same name, taking and returning the operation's request and response
// shapes; StartImport, GetImport and StopImport respond with an Import,
// CreateEventDataStore, GetEventDataStore, UpdateEventDataStore and
// RestoreEventDataStore with an EventDataStore.
//
// An error that is the API's answer to the request, such as a bad
// parameter or an unknown import, is an *Exception: errors.Is matches it
// against the Err sentinels of its name. Any other error is a failure of
// the implementation (its store, its connection to a server) and says
// nothing about the request. Methods are safe for concurrent use; ctx bounds
// the call, not the work it starts: an import or a query started goes on
// after its call returns.
type Service interface {
	// StartImport starts a new import (Destinations and ImportSource set)
	// or retries a FAILED or STOPPED one (only ImportId set), and returns
	// at once, with the import INITIALIZING or IN_PROGRESS.
	StartImport(ctx context.Context, in StartImportInput) (Import, error)
	// GetImport describes an import, with its statistics.
	GetImport(ctx context.Context, in GetImportInput) (Import, error)
	// StopImport stops a running import and returns it once it is
	// STOPPED; an import that has ended is returned as it is.
	StopImport(ctx context.Context, in StopImportInput) (Import, error)
	// ListImports lists imports, newest first.
	ListImports(ctx context.Context, in ListImportsInput) (ListImportsOutput, error)
	// ListImportFailures lists the files an import failed to read.
	ListImportFailures(ctx context.Context, in ListImportFailuresInput) (ListImportFailuresOutput, error)

	// CreateEventDataStore creates an event data store.
	CreateEventDataStore(ctx context.Context, in CreateEventDataStoreInput) (EventDataStore, error)
	// GetEventDataStore describes an event data store, named by its ARN,
	// its name or its ID.
	GetEventDataStore(ctx context.Context, in GetEventDataStoreInput) (EventDataStore, error)
	// ListEventDataStores lists the event data stores, oldest first, those
	// pending deletion included.
	ListEventDataStores(ctx context.Context, in ListEventDataStoresInput) (ListEventDataStoresOutput, error)
	// UpdateEventDataStore changes the name, retention period or
	// termination protection of an event data store; its ARN and ID stay.
	UpdateEventDataStore(ctx context.Context, in UpdateEventDataStoreInput) (EventDataStore, error)
	// DeleteEventDataStore deletes an event data store that has
	// termination protection off and no import running: it becomes
	// PENDING_DELETION, its ID no longer names it in queries, and it
	// refuses imports; its events are removed once it has been pending
	// deletion for seven days.
	DeleteEventDataStore(ctx context.Context, in DeleteEventDataStoreInput) (DeleteEventDataStoreOutput, error)
	// RestoreEventDataStore brings back an event data store that is
	// PENDING_DELETION, with all its events, ENABLED.
	RestoreEventDataStore(ctx context.Context, in RestoreEventDataStoreInput) (EventDataStore, error)

	// StartQuery starts a read-only SQL query over the event data stores
	// and returns at once, with the query QUEUED or RUNNING.
	StartQuery(ctx context.Context, in StartQueryInput) (StartQueryOutput, error)
	// DescribeQuery describes a query: its status and statistics.
	DescribeQuery(ctx context.Context, in DescribeQueryInput) (DescribeQueryOutput, error)
	// GetQueryResults returns a page of a query's results.
	GetQueryResults(ctx context.Context, in GetQueryResultsInput) (GetQueryResultsOutput, error)
	// CancelQuery cancels a query that is QUEUED or RUNNING.
	CancelQuery(ctx context.Context, in CancelQueryInput) (CancelQueryOutput, error)
	// ListQueries lists the queries of the past seven days that name an
	// event data store, newest first, with their status and creation time.
	ListQueries(ctx context.Context, in ListQueriesInput) (ListQueriesOutput, error)
}
