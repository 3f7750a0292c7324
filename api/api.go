// Package api holds the CloudTrail API that ctimport serves: the Service
// interface of its operations, and their request, response and exception
// types, with the member names of the CloudTrail API model (service
// cloudtrail, version 2013-11-01), so that ctimport speaks the same shapes
// as the AWS CLI and SDKs.
package api

import "time"

// ImportStatus is the state of an import.
type ImportStatus string

// Import statuses, as the API names them.
const (
	StatusInitializing ImportStatus = "INITIALIZING"
	StatusInProgress   ImportStatus = "IN_PROGRESS"
	StatusFailed       ImportStatus = "FAILED"
	StatusStopped      ImportStatus = "STOPPED"
	StatusCompleted    ImportStatus = "COMPLETED"
)

// Valid reports whether s is one of the statuses the API defines.
func (s ImportStatus) Valid() bool {
	switch s {
	case StatusInitializing, StatusInProgress, StatusFailed, StatusStopped, StatusCompleted:
		return true
	}
	return false
}

// Done reports whether an import in status s has ended its run.
func (s ImportStatus) Done() bool {
	return s == StatusFailed || s == StatusStopped || s == StatusCompleted
}

// FailureStatus is the state of one import failure entry.
type FailureStatus string

// Failure statuses, as the API names them.
const (
	FailureFailed    FailureStatus = "FAILED"
	FailureRetry     FailureStatus = "RETRY"
	FailureSucceeded FailureStatus = "SUCCEEDED"
)

// S3ImportSource is the S3 bucket (or local directory tree) an import reads.
type S3ImportSource struct {
	S3LocationUri         string `json:"S3LocationUri"`
	S3BucketRegion        string `json:"S3BucketRegion"`
	S3BucketAccessRoleArn string `json:"S3BucketAccessRoleArn"`
}

// ImportSource is the source of an import.
type ImportSource struct {
	S3 S3ImportSource `json:"S3"`
}

// ImportStatistics counts the progress of an import.
type ImportStatistics struct {
	PrefixesFound     int64 `json:"PrefixesFound"`
	PrefixesCompleted int64 `json:"PrefixesCompleted"`
	FilesCompleted    int64 `json:"FilesCompleted"`
	EventsCompleted   int64 `json:"EventsCompleted"`
	FailedEntries     int64 `json:"FailedEntries"`
}

// ImportBytes is ctimport's extension of GetImport, beside the members of
// the CloudTrail API (the AWS CLI and SDKs ignore it): the compressed size
// of an import's log files, for rates and the time left in bytes.
type ImportBytes struct {
	// BytesCompleted is the size of the files imported, over all runs, as
	// FilesCompleted counts them.
	BytesCompleted int64 `json:"BytesCompleted"`
	// BytesRemaining is the size of the files the running import has
	// listed and neither imported nor given up on yet. It is known, and
	// present, only while a run is under way and has listed every prefix.
	BytesRemaining *int64 `json:"BytesRemaining,omitempty"`
}

// StartImportInput starts a new import (Destinations and ImportSource set)
// or retries an existing one (only ImportId set).
type StartImportInput struct {
	Destinations   []string      `json:"Destinations,omitempty"`
	ImportSource   *ImportSource `json:"ImportSource,omitempty"`
	StartEventTime *time.Time    `json:"StartEventTime,omitempty"`
	EndEventTime   *time.Time    `json:"EndEventTime,omitempty"`
	ImportId       string        `json:"ImportId,omitempty"`
}

// GetImportInput names the import to describe.
type GetImportInput struct {
	ImportId string `json:"ImportId"`
}

// StopImportInput names the import to stop.
type StopImportInput struct {
	ImportId string `json:"ImportId"`
}

// Import describes one import. It is the shape of the GetImport and
// StopImport responses; StartImport returns it without ImportStatistics
// and CtimportBytes.
type Import struct {
	ImportId         string            `json:"ImportId"`
	Destinations     []string          `json:"Destinations"`
	ImportSource     ImportSource      `json:"ImportSource"`
	StartEventTime   *time.Time        `json:"StartEventTime,omitempty"`
	EndEventTime     *time.Time        `json:"EndEventTime,omitempty"`
	ImportStatus     ImportStatus      `json:"ImportStatus"`
	CreatedTimestamp time.Time         `json:"CreatedTimestamp"`
	UpdatedTimestamp time.Time         `json:"UpdatedTimestamp"`
	ImportStatistics *ImportStatistics `json:"ImportStatistics,omitempty"`
	// CtimportBytes comes with ImportStatistics; it is not CloudTrail's.
	CtimportBytes *ImportBytes `json:"CtimportBytes,omitempty"`
}

// ListImportsInput filters and pages ListImports.
type ListImportsInput struct {
	MaxResults   int          `json:"MaxResults,omitempty"`
	Destination  string       `json:"Destination,omitempty"`
	ImportStatus ImportStatus `json:"ImportStatus,omitempty"`
	NextToken    string       `json:"NextToken,omitempty"`
}

// ImportsListItem is one entry of ListImports.
type ImportsListItem struct {
	ImportId         string       `json:"ImportId"`
	ImportStatus     ImportStatus `json:"ImportStatus"`
	Destinations     []string     `json:"Destinations"`
	CreatedTimestamp time.Time    `json:"CreatedTimestamp"`
	UpdatedTimestamp time.Time    `json:"UpdatedTimestamp"`
}

// ListImportsOutput is one page of ListImports.
type ListImportsOutput struct {
	Imports   []ImportsListItem `json:"Imports"`
	NextToken string            `json:"NextToken,omitempty"`
}

// ListImportFailuresInput pages ListImportFailures.
type ListImportFailuresInput struct {
	ImportId   string `json:"ImportId"`
	MaxResults int    `json:"MaxResults,omitempty"`
	NextToken  string `json:"NextToken,omitempty"`
}

// ImportFailureListItem is one failed (or failed, then retried) source file.
type ImportFailureListItem struct {
	Location        string        `json:"Location"`
	Status          FailureStatus `json:"Status"`
	ErrorType       string        `json:"ErrorType"`
	ErrorMessage    string        `json:"ErrorMessage"`
	LastUpdatedTime time.Time     `json:"LastUpdatedTime"`
}

// ListImportFailuresOutput is one page of ListImportFailures.
type ListImportFailuresOutput struct {
	Failures  []ImportFailureListItem `json:"Failures"`
	NextToken string                  `json:"NextToken,omitempty"`
}

// EventDataStore describes an event data store, the destination of imports.
// It is the shape of the responses of CreateEventDataStore,
// GetEventDataStore, UpdateEventDataStore and RestoreEventDataStore, and of
// the entries of ListEventDataStores.
type EventDataStore struct {
	EventDataStoreArn            string    `json:"EventDataStoreArn"`
	Name                         string    `json:"Name"`
	Status                       string    `json:"Status"`
	RetentionPeriod              int       `json:"RetentionPeriod"`
	TerminationProtectionEnabled bool      `json:"TerminationProtectionEnabled"`
	CreatedTimestamp             time.Time `json:"CreatedTimestamp"`
	UpdatedTimestamp             time.Time `json:"UpdatedTimestamp"`
	// AdvancedEventSelectors select the events imports store; none when
	// the store keeps every event.
	AdvancedEventSelectors []AdvancedEventSelector `json:"AdvancedEventSelectors,omitempty"`
}

// AdvancedFieldSelector is one condition of an advanced event selector.
type AdvancedFieldSelector struct {
	Field         string   `json:"Field"`
	Equals        []string `json:"Equals,omitempty"`
	StartsWith    []string `json:"StartsWith,omitempty"`
	EndsWith      []string `json:"EndsWith,omitempty"`
	NotEquals     []string `json:"NotEquals,omitempty"`
	NotStartsWith []string `json:"NotStartsWith,omitempty"`
	NotEndsWith   []string `json:"NotEndsWith,omitempty"`
}

// AdvancedEventSelector selects the events an event data store keeps.
type AdvancedEventSelector struct {
	Name           string                  `json:"Name,omitempty"`
	FieldSelectors []AdvancedFieldSelector `json:"FieldSelectors"`
}

// Tag is a key and value attached to a resource.
type Tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value,omitempty"`
}

// EventDataStoreSettings are the members of CreateEventDataStore and
// UpdateEventDataStore that describe an event data store. A nil pointer or
// an empty value is a member the request leaves out.
type EventDataStoreSettings struct {
	AdvancedEventSelectors       []AdvancedEventSelector `json:"AdvancedEventSelectors,omitempty"`
	MultiRegionEnabled           *bool                   `json:"MultiRegionEnabled,omitempty"`
	OrganizationEnabled          *bool                   `json:"OrganizationEnabled,omitempty"`
	RetentionPeriod              *int                    `json:"RetentionPeriod,omitempty"`
	TerminationProtectionEnabled *bool                   `json:"TerminationProtectionEnabled,omitempty"`
	KmsKeyId                     string                  `json:"KmsKeyId,omitempty"`
	BillingMode                  string                  `json:"BillingMode,omitempty"`
}

// CreateEventDataStoreInput names and describes a new event data store.
type CreateEventDataStoreInput struct {
	Name string `json:"Name"`
	EventDataStoreSettings
	TagsList       []Tag `json:"TagsList,omitempty"`
	StartIngestion *bool `json:"StartIngestion,omitempty"`
}

// UpdateEventDataStoreInput changes the members it sets of the event data
// store named by its ARN or ID.
type UpdateEventDataStoreInput struct {
	EventDataStore string `json:"EventDataStore"`
	Name           string `json:"Name,omitempty"`
	EventDataStoreSettings
}

// DeleteEventDataStoreInput names the event data store to delete by its
// ARN or ID.
type DeleteEventDataStoreInput struct {
	EventDataStore string `json:"EventDataStore"`
}

// DeleteEventDataStoreOutput is the empty response of DeleteEventDataStore.
type DeleteEventDataStoreOutput struct{}

// RestoreEventDataStoreInput names the event data store to restore by its
// ARN or ID.
type RestoreEventDataStoreInput struct {
	EventDataStore string `json:"EventDataStore"`
}

// ListEventDataStoresInput pages ListEventDataStores.
type ListEventDataStoresInput struct {
	MaxResults int    `json:"MaxResults,omitempty"`
	NextToken  string `json:"NextToken,omitempty"`
}

// ListEventDataStoresOutput is one page of ListEventDataStores.
type ListEventDataStoresOutput struct {
	EventDataStores []EventDataStore `json:"EventDataStores"`
	NextToken       string           `json:"NextToken,omitempty"`
}

// Statuses of an event data store that ctimport reports.
const (
	EventDataStoreEnabled         = "ENABLED"
	EventDataStorePendingDeletion = "PENDING_DELETION"
)

// Retention periods of an event data store, in days: CloudTrail Lake's
// bounds, and its default.
const (
	MinRetentionPeriod     = 7
	MaxRetentionPeriod     = 3653
	DefaultRetentionPeriod = 2557
)
