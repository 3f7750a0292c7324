// Package apitest is the conformance suite of api.Service implementations.
// Run drives a Service through the operations of event data stores,
// imports and queries, and checks what they return and the exceptions they
// answer bad input with, so that every implementation, the engine over a
// store as well as a client of a server, is held to the same answers.
package apitest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctimport/ctimport/api"
)

// Run runs the suite. open must return a Service over a new, empty store
// for each call, which reads import sources given as file:// URIs of
// directories of this machine and runs SQL queries in which an event data
// store's ID names its events. Each test waits for the imports and queries
// it starts to end.
func Run(t *testing.T, open func(t *testing.T) api.Service) {
	tests := []struct {
		name string
		f    func(t *testing.T, s api.Service)
	}{
		{"EventDataStores", testEventDataStores},
		{"EventDataStoreLifecycle", testLifecycle},
		{"Imports", testImports},
		{"Queries", testQueries},
		{"AdvancedEventSelectors", testSelectors},
		{"Exceptions", testExceptions},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.f(t, open(t)) })
	}
}

const (
	account = "111122223333"
	region  = "us-east-1"
	// unknownID is a UUID no import or query has.
	unknownID = "00000000-0000-4000-8000-0000000000ff"
	// waitTimeout bounds every wait of the suite.
	waitTimeout = time.Minute
)

// day is the day of the events the suite imports.
var day = time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC)

// bucket is a local copy of a trail bucket: three log files of four events
// each, and a file that is not gzip data.
type bucket struct {
	source api.ImportSource
	dir    string
	ids    []string // the eventIDs of the log files, sorted
	bytes  int64    // the size of the log files
	broken string   // the key of the broken file
}

func newBucket(t *testing.T) *bucket {
	t.Helper()
	b := &bucket{dir: t.TempDir()}
	b.source = api.ImportSource{S3: api.S3ImportSource{S3LocationUri: "file://" + filepath.ToSlash(b.dir), S3BucketRegion: region}}
	for i := range 3 {
		at := day.Add(time.Duration(i+1) * time.Hour)
		ids := make([]string, 4)
		for j := range ids {
			ids[j] = fmt.Sprintf("ev%d-%d", i, j)
		}
		data := LogFile(ids, at.Add(-5*time.Minute))
		b.put(t, LogKey(at, i), data)
		b.ids = append(b.ids, ids...)
		b.bytes += int64(len(data))
	}
	slices.Sort(b.ids)
	b.broken = LogKey(day.Add(5*time.Hour), 9)
	b.put(t, b.broken, []byte("this is no gzip stream"))
	return b
}

func (b *bucket) put(t *testing.T, key string, data []byte) {
	t.Helper()
	path := filepath.Join(b.dir, filepath.FromSlash(key))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// LogKey returns the key CloudTrail gives the n-th log file of account
// 111122223333 in us-east-1 that it delivers at delivery.
func LogKey(delivery time.Time, n int) string {
	return fmt.Sprintf("AWSLogs/%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_Api%013d.json.gz",
		account, region, delivery.Format("2006/01/02"), account, region, delivery.Format("20060102T1504Z"), n)
}

// LogFile returns a gzip log file of IAM ListUsers events of account
// 111122223333 in us-east-1 with the given IDs, a second apart from at.
func LogFile(ids []string, at time.Time) []byte {
	recs := make([]map[string]any, len(ids))
	for i, id := range ids {
		recs[i] = map[string]any{
			"eventVersion":       "1.08",
			"eventTime":          at.Add(time.Duration(i) * time.Second).Format(time.RFC3339),
			"eventSource":        "iam.amazonaws.com",
			"eventName":          "ListUsers",
			"awsRegion":          region,
			"eventID":            id,
			"recipientAccountId": account,
		}
	}
	return recordsFile(recs)
}

// recordsFile returns a gzip log file of the records recs.
func recordsFile(recs []map[string]any) []byte {
	raw, err := json.Marshal(map[string]any{"Records": recs})
	if err != nil {
		panic(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(raw)
	zw.Close()
	return buf.Bytes()
}

// storeID returns the ID of an event data store, the end of its ARN.
func storeID(s api.EventDataStore) string {
	return s.EventDataStoreArn[strings.LastIndexByte(s.EventDataStoreArn, '/')+1:]
}

func createStore(t *testing.T, s api.Service, name string) api.EventDataStore {
	t.Helper()
	eds, err := s.CreateEventDataStore(t.Context(), api.CreateEventDataStoreInput{Name: name})
	if err != nil {
		t.Fatalf("CreateEventDataStore(%q): %v", name, err)
	}
	return eds
}

// Poll calls fn until it reports done, failing the test after a minute,
// for the tests of an implementation that wait for its work to end.
func Poll(t *testing.T, what string, fn func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !fn() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitImport polls GetImport until import id has ended, and returns it.
func waitImport(t *testing.T, s api.Service, id string) api.Import {
	t.Helper()
	var imp api.Import
	Poll(t, "import "+id+" to end", func() bool {
		var err error
		if imp, err = s.GetImport(t.Context(), api.GetImportInput{ImportId: id}); err != nil {
			t.Fatalf("GetImport: %v", err)
		}
		return imp.ImportStatus.Done()
	})
	return imp
}

// waitQuery polls DescribeQuery until query id has ended, and returns it.
func waitQuery(t *testing.T, s api.Service, id string) api.DescribeQueryOutput {
	t.Helper()
	var d api.DescribeQueryOutput
	Poll(t, "query "+id+" to end", func() bool {
		var err error
		if d, err = s.DescribeQuery(t.Context(), api.DescribeQueryInput{QueryId: id}); err != nil {
			t.Fatalf("DescribeQuery: %v", err)
		}
		return d.QueryStatus.Done()
	})
	return d
}

// checkTime fails the test unless at is set, in UTC.
func checkTime(t *testing.T, what string, at time.Time) {
	t.Helper()
	if at.IsZero() || at.Location() != time.UTC {
		t.Errorf("%s is %v, want a time in UTC", what, at)
	}
}

func sameStore(a, b api.EventDataStore) bool {
	return a.EventDataStoreArn == b.EventDataStoreArn && a.Name == b.Name && a.Status == b.Status &&
		a.RetentionPeriod == b.RetentionPeriod && a.TerminationProtectionEnabled == b.TerminationProtectionEnabled &&
		a.CreatedTimestamp.Equal(b.CreatedTimestamp) && a.UpdatedTimestamp.Equal(b.UpdatedTimestamp) &&
		reflect.DeepEqual(a.AdvancedEventSelectors, b.AdvancedEventSelectors)
}

// queryIDs runs a query of every eventID of the store with that ID, and
// returns them sorted.
func queryIDs(t *testing.T, s api.Service, id string) []string {
	t.Helper()
	q, err := s.StartQuery(t.Context(), api.StartQueryInput{QueryStatement: "SELECT eventID FROM " + id + " ORDER BY eventID"})
	if err != nil {
		t.Fatalf("StartQuery: %v", err)
	}
	if d := waitQuery(t, s, q.QueryId); d.QueryStatus != api.QueryFinished {
		t.Fatalf("the query ended %+v", d)
	}
	var ids []string
	in := api.GetQueryResultsInput{QueryId: q.QueryId}
	for {
		out, err := s.GetQueryResults(t.Context(), in)
		if err != nil {
			t.Fatalf("GetQueryResults: %v", err)
		}
		for _, row := range out.QueryResultRows {
			ids = append(ids, row[0]["eventID"])
		}
		if in.NextToken = out.NextToken; in.NextToken == "" {
			return ids
		}
	}
}

// wantException fails the test unless err is the exception want, with a
// message.
func wantException(t *testing.T, what string, err error, want *api.Exception) {
	t.Helper()
	var exc *api.Exception
	if !errors.As(err, &exc) || !errors.Is(err, want) {
		t.Errorf("%s: error %v (%T), want an *api.Exception %s", what, err, err, want.Name)
	} else if exc.Message == "" {
		t.Errorf("%s: %s has no message", what, exc.Name)
	}
}

func testEventDataStores(t *testing.T, s api.Service) {
	ctx := t.Context()
	trail := createStore(t, s, "trail")
	if trail.Name != "trail" || trail.Status != api.EventDataStoreEnabled ||
		!strings.HasPrefix(trail.EventDataStoreArn, "arn:aws:cloudtrail:") || !strings.Contains(trail.EventDataStoreArn, ":eventdatastore/") {
		t.Errorf("CreateEventDataStore returned %+v", trail)
	}
	checkTime(t, "CreatedTimestamp", trail.CreatedTimestamp)
	if !trail.UpdatedTimestamp.Equal(trail.CreatedTimestamp) {
		t.Errorf("UpdatedTimestamp %v, want CreatedTimestamp %v", trail.UpdatedTimestamp, trail.CreatedTimestamp)
	}
	if trail.RetentionPeriod != api.DefaultRetentionPeriod || !trail.TerminationProtectionEnabled {
		t.Errorf("CreateEventDataStore returned retention %d, protection %v; want Lake's %d and true",
			trail.RetentionPeriod, trail.TerminationProtectionEnabled, api.DefaultRetentionPeriod)
	}
	days, off, on := 30, false, true
	other, err := s.CreateEventDataStore(ctx, api.CreateEventDataStoreInput{Name: "other", TagsList: []api.Tag{}, StartIngestion: &off,
		EventDataStoreSettings: api.EventDataStoreSettings{RetentionPeriod: &days, TerminationProtectionEnabled: &off, MultiRegionEnabled: &on, OrganizationEnabled: &off}})
	if err != nil || other.RetentionPeriod != days || other.TerminationProtectionEnabled || other.Status != api.EventDataStoreEnabled {
		t.Fatalf("CreateEventDataStore with settings = %+v, %v; want retention 30, protection off", other, err)
	}
	for _, name := range []string{trail.Name, trail.EventDataStoreArn, storeID(trail)} {
		got, err := s.GetEventDataStore(ctx, api.GetEventDataStoreInput{EventDataStore: name})
		if err != nil || !sameStore(got, trail) {
			t.Errorf("GetEventDataStore(%s) = %+v, %v; want %+v", name, got, err, trail)
		}
	}
	var listed []api.EventDataStore
	in := api.ListEventDataStoresInput{MaxResults: 1}
	for page := 1; ; page++ {
		out, err := s.ListEventDataStores(ctx, in)
		if err != nil {
			t.Fatalf("ListEventDataStores: %v", err)
		}
		if len(out.EventDataStores) != 1 || page > 2 {
			t.Fatalf("page %d: %+v", page, out)
		}
		listed = append(listed, out.EventDataStores...)
		if in.NextToken = out.NextToken; in.NextToken == "" {
			break
		}
	}
	if len(listed) != 2 || !sameStore(listed[0], trail) || !sameStore(listed[1], other) {
		t.Errorf("listed %+v, want trail and other, oldest first", listed)
	}
}

// testLifecycle renames an event data store holding events, deletes it,
// checks what a store PENDING_DELETION refuses, and restores it whole.
func testLifecycle(t *testing.T, s api.Service) {
	ctx := t.Context()
	b := newBucket(t)
	trail := createStore(t, s, "trail")
	id := storeID(trail)
	src := b.source
	imp, err := s.StartImport(ctx, api.StartImportInput{Destinations: []string{trail.EventDataStoreArn}, ImportSource: &src})
	if err != nil {
		t.Fatal(err)
	}
	waitImport(t, s, imp.ImportId)
	before := queryIDs(t, s, id)
	if len(before) != len(b.ids) {
		t.Fatalf("%d events imported, want %d", len(before), len(b.ids))
	}

	days, off := 3000, false // longer than the events' age, which a shorter period would remove
	renamed, err := s.UpdateEventDataStore(ctx, api.UpdateEventDataStoreInput{EventDataStore: trail.EventDataStoreArn, Name: "renamed",
		EventDataStoreSettings: api.EventDataStoreSettings{RetentionPeriod: &days}})
	if err != nil || renamed.EventDataStoreArn != trail.EventDataStoreArn || renamed.Name != "renamed" || renamed.RetentionPeriod != days ||
		!renamed.TerminationProtectionEnabled || !renamed.CreatedTimestamp.Equal(trail.CreatedTimestamp) || renamed.UpdatedTimestamp.Before(trail.UpdatedTimestamp) {
		t.Fatalf("UpdateEventDataStore = %+v, %v; want %s renamed, retention %d, protection on", renamed, err, trail.EventDataStoreArn, days)
	}
	for _, name := range []string{"renamed", id, trail.EventDataStoreArn} {
		if got, err := s.GetEventDataStore(ctx, api.GetEventDataStoreInput{EventDataStore: name}); err != nil || !sameStore(got, renamed) {
			t.Errorf("GetEventDataStore(%s) after the rename = %+v, %v; want %+v", name, got, err, renamed)
		}
	}
	_, err = s.GetEventDataStore(ctx, api.GetEventDataStoreInput{EventDataStore: "trail"})
	wantException(t, "GetEventDataStore of the old name", err, api.ErrEventDataStoreNotFound)
	if got := queryIDs(t, s, id); !slices.Equal(got, before) {
		t.Errorf("a query by ID after the rename returned %d events, want %d", len(got), len(before))
	}

	_, err = s.DeleteEventDataStore(ctx, api.DeleteEventDataStoreInput{EventDataStore: id})
	wantException(t, "DeleteEventDataStore with termination protection", err, api.ErrEventDataStoreTerminationProtected)
	if _, err := s.UpdateEventDataStore(ctx, api.UpdateEventDataStoreInput{EventDataStore: id,
		EventDataStoreSettings: api.EventDataStoreSettings{TerminationProtectionEnabled: &off}}); err != nil {
		t.Fatalf("UpdateEventDataStore turning protection off: %v", err)
	}
	if _, err := s.DeleteEventDataStore(ctx, api.DeleteEventDataStoreInput{EventDataStore: trail.EventDataStoreArn}); err != nil {
		t.Fatalf("DeleteEventDataStore: %v", err)
	}
	got, err := s.GetEventDataStore(ctx, api.GetEventDataStoreInput{EventDataStore: id})
	if err != nil || got.Status != api.EventDataStorePendingDeletion {
		t.Errorf("GetEventDataStore after the delete = %+v, %v; want PENDING_DELETION", got, err)
	}
	list, err := s.ListEventDataStores(ctx, api.ListEventDataStoresInput{})
	if err != nil || len(list.EventDataStores) != 1 || !sameStore(list.EventDataStores[0], got) {
		t.Errorf("ListEventDataStores after the delete = %+v, %v; want %+v", list, err, got)
	}

	refused := []struct {
		name string
		call func() error
		want *api.Exception
	}{
		{"StartQuery", func() error {
			_, err := s.StartQuery(ctx, api.StartQueryInput{QueryStatement: "SELECT count(*) FROM " + strings.ToUpper(id)})
			return err
		}, api.ErrInactiveEventDataStore},
		{"StartImport", func() error {
			_, err := s.StartImport(ctx, api.StartImportInput{Destinations: []string{trail.EventDataStoreArn}, ImportSource: &src})
			return err
		}, api.ErrInvalidEventDataStoreStatus},
		{"StartImport of a retry", func() error {
			_, err := s.StartImport(ctx, api.StartImportInput{ImportId: imp.ImportId})
			return err
		}, api.ErrInvalidEventDataStoreStatus},
		{"UpdateEventDataStore", func() error {
			_, err := s.UpdateEventDataStore(ctx, api.UpdateEventDataStoreInput{EventDataStore: id, Name: "again"})
			return err
		}, api.ErrInactiveEventDataStore},
		{"DeleteEventDataStore", func() error {
			_, err := s.DeleteEventDataStore(ctx, api.DeleteEventDataStoreInput{EventDataStore: id})
			return err
		}, api.ErrInactiveEventDataStore},
	}
	for _, r := range refused {
		wantException(t, r.name+" of a store PENDING_DELETION", r.call(), r.want)
	}

	restored, err := s.RestoreEventDataStore(ctx, api.RestoreEventDataStoreInput{EventDataStore: trail.EventDataStoreArn})
	if err != nil || restored.Status != api.EventDataStoreEnabled || restored.Name != "renamed" || restored.RetentionPeriod != days ||
		restored.TerminationProtectionEnabled || restored.EventDataStoreArn != trail.EventDataStoreArn {
		t.Fatalf("RestoreEventDataStore = %+v, %v; want renamed, ENABLED, with its settings", restored, err)
	}
	if got := queryIDs(t, s, id); !slices.Equal(got, before) {
		t.Errorf("after the restore the store has %d events, want the %d it had", len(got), len(before))
	}
	_, err = s.RestoreEventDataStore(ctx, api.RestoreEventDataStoreInput{EventDataStore: id})
	wantException(t, "RestoreEventDataStore of an ENABLED store", err, api.ErrInvalidEventDataStoreStatus)
	retry, err := s.StartImport(ctx, api.StartImportInput{Destinations: []string{id}, ImportSource: &src})
	if err != nil {
		t.Fatalf("StartImport into the restored store: %v", err)
	}
	if end := waitImport(t, s, retry.ImportId); end.ImportStatistics == nil || end.ImportStatistics.FilesCompleted != 3 {
		t.Errorf("the import into the restored store ended %+v", end)
	}
}

// checkBytes checks ctimport's byte counts of an ended import: the size of
// its imported files, and nothing left.
func checkBytes(t *testing.T, what string, imp api.Import, completed int64) {
	t.Helper()
	if b := imp.CtimportBytes; b == nil || b.BytesCompleted != completed || b.BytesRemaining != nil {
		t.Errorf("%s has CtimportBytes %+v, want %d bytes completed and none remaining", what, b, completed)
	}
}

// testImports imports the bucket into a store, which ends FAILED for the
// broken file, and retries the import once the file is fixed.
func testImports(t *testing.T, s api.Service) {
	ctx := t.Context()
	b := newBucket(t)
	trail := createStore(t, s, "trail")
	start, end := day, day.Add(24*time.Hour)
	src := b.source
	imp, err := s.StartImport(ctx, api.StartImportInput{
		Destinations:   []string{trail.Name},
		ImportSource:   &src,
		StartEventTime: &start,
		EndEventTime:   &end,
	})
	if err != nil {
		t.Fatalf("StartImport: %v", err)
	}
	id := imp.ImportId
	if len(id) != 36 || !slices.Equal(imp.Destinations, []string{trail.EventDataStoreArn}) || imp.ImportSource != b.source ||
		imp.ImportStatistics != nil || (imp.ImportStatus != api.StatusInitializing && imp.ImportStatus != api.StatusInProgress) {
		t.Errorf("StartImport returned %+v", imp)
	}
	if imp.StartEventTime == nil || !imp.StartEventTime.Equal(start) || imp.EndEventTime == nil || !imp.EndEventTime.Equal(end) {
		t.Errorf("StartImport returned the time range %v to %v, want %v to %v", imp.StartEventTime, imp.EndEventTime, start, end)
	}
	checkTime(t, "CreatedTimestamp", imp.CreatedTimestamp)

	got := waitImport(t, s, id)
	want := api.ImportStatistics{PrefixesFound: 1, PrefixesCompleted: 1, FilesCompleted: 3, EventsCompleted: int64(len(b.ids)), FailedEntries: 1}
	if got.ImportStatus != api.StatusFailed || got.ImportStatistics == nil || *got.ImportStatistics != want {
		t.Errorf("the import ended %s with %+v, want FAILED with %+v", got.ImportStatus, got.ImportStatistics, want)
	}
	checkBytes(t, "the failed import", got, b.bytes)
	if got.ImportId != id || !slices.Equal(got.Destinations, imp.Destinations) || got.ImportSource != b.source ||
		!got.CreatedTimestamp.Equal(imp.CreatedTimestamp) || got.UpdatedTimestamp.Before(got.CreatedTimestamp) {
		t.Errorf("GetImport returned %+v", got)
	}
	if stopped, err := s.StopImport(ctx, api.StopImportInput{ImportId: id}); err != nil || stopped.ImportStatus != api.StatusFailed || *stopped.ImportStatistics != want {
		t.Errorf("StopImport of an ended import = %+v, %v; want it FAILED as it is", stopped, err)
	}

	for _, tc := range []struct {
		in   api.ListImportsInput
		want int
	}{
		{api.ListImportsInput{}, 1},
		{api.ListImportsInput{Destination: trail.EventDataStoreArn, ImportStatus: api.StatusFailed, MaxResults: 5}, 1},
		{api.ListImportsInput{ImportStatus: api.StatusCompleted}, 0},
	} {
		out, err := s.ListImports(ctx, tc.in)
		if err != nil || len(out.Imports) != tc.want || out.NextToken != "" {
			t.Errorf("ListImports(%+v) = %+v, %v; want %d imports", tc.in, out, err, tc.want)
			continue
		}
		if tc.want == 1 {
			item := out.Imports[0]
			if item.ImportId != id || item.ImportStatus != api.StatusFailed || !slices.Equal(item.Destinations, imp.Destinations) ||
				!item.CreatedTimestamp.Equal(got.CreatedTimestamp) || !item.UpdatedTimestamp.Equal(got.UpdatedTimestamp) {
				t.Errorf("ListImports(%+v) listed %+v", tc.in, item)
			}
		}
	}

	failures, err := s.ListImportFailures(ctx, api.ListImportFailuresInput{ImportId: id})
	if err != nil || len(failures.Failures) != 1 || failures.NextToken != "" {
		t.Fatalf("ListImportFailures = %+v, %v; want the broken file", failures, err)
	}
	if f := failures.Failures[0]; f.Location != b.broken || f.Status != api.FailureFailed || f.ErrorType != "InvalidGzip" || f.ErrorMessage == "" {
		t.Errorf("failure %+v, want %s FAILED with InvalidGzip", f, b.broken)
	}
	checkTime(t, "LastUpdatedTime", failures.Failures[0].LastUpdatedTime)

	// The retry reads the fixed file only.
	fixed := LogFile([]string{"fixed"}, day.Add(5*time.Hour-time.Minute))
	b.put(t, b.broken, fixed)
	retry, err := s.StartImport(ctx, api.StartImportInput{ImportId: id})
	if err != nil || retry.ImportId != id || !slices.Equal(retry.Destinations, imp.Destinations) {
		t.Fatalf("StartImport of a retry = %+v, %v", retry, err)
	}
	got = waitImport(t, s, id)
	want = api.ImportStatistics{PrefixesFound: 1, PrefixesCompleted: 1, FilesCompleted: 4, EventsCompleted: int64(len(b.ids) + 1)}
	if got.ImportStatus != api.StatusCompleted || *got.ImportStatistics != want {
		t.Errorf("the retry ended %s with %+v, want COMPLETED with %+v", got.ImportStatus, *got.ImportStatistics, want)
	}
	checkBytes(t, "the retried import", got, b.bytes+int64(len(fixed)))
	failures, err = s.ListImportFailures(ctx, api.ListImportFailuresInput{ImportId: id})
	if err != nil || len(failures.Failures) != 1 || failures.Failures[0].Status != api.FailureSucceeded {
		t.Errorf("ListImportFailures after the retry = %+v, %v; want the fixed file SUCCEEDED", failures, err)
	}
}

// testQueries runs a query over an imported store to its end and reads
// its results in pages.
func testQueries(t *testing.T, s api.Service) {
	ctx := t.Context()
	b := newBucket(t)
	trail := createStore(t, s, "trail")
	src := b.source
	imp, err := s.StartImport(ctx, api.StartImportInput{Destinations: []string{trail.EventDataStoreArn}, ImportSource: &src})
	if err != nil {
		t.Fatal(err)
	}
	waitImport(t, s, imp.ImportId)

	stmt := "SELECT eventID, eventName FROM " + storeID(trail) + " WHERE eventSource = ? ORDER BY eventID"
	q, err := s.StartQuery(ctx, api.StartQueryInput{QueryStatement: stmt, QueryParameters: []string{"iam.amazonaws.com"}})
	if err != nil || len(q.QueryId) != 36 {
		t.Fatalf("StartQuery = %+v, %v", q, err)
	}
	d := waitQuery(t, s, q.QueryId)
	if d.QueryStatus != api.QueryFinished || d.QueryId != q.QueryId || d.QueryString != stmt || d.ErrorMessage != "" ||
		d.QueryStatistics == nil || d.QueryStatistics.EventsMatched != int64(len(b.ids)) || d.QueryStatistics.CreationTime == nil {
		t.Errorf("DescribeQuery = %+v", d)
	}
	var ids []string
	in := api.GetQueryResultsInput{QueryId: q.QueryId, MaxQueryResults: 5}
	for page := 1; ; page++ {
		out, err := s.GetQueryResults(ctx, in)
		if err != nil {
			t.Fatalf("GetQueryResults: %v", err)
		}
		if out.QueryStatus != api.QueryFinished || out.QueryStatistics == nil || out.QueryStatistics.TotalResultsCount != len(b.ids) ||
			out.QueryStatistics.ResultsCount != len(out.QueryResultRows) || page > 3 {
			t.Fatalf("page %d: %+v", page, out)
		}
		for _, row := range out.QueryResultRows {
			if len(row) != 2 || row[1]["eventName"] != "ListUsers" {
				t.Errorf("row %v, want eventID and eventName", row)
			}
			ids = append(ids, row[0]["eventID"])
		}
		if in.NextToken = out.NextToken; in.NextToken == "" {
			break
		}
	}
	if !slices.Equal(ids, b.ids) {
		t.Errorf("the query returned %v, want %v", ids, b.ids)
	}
	if _, err := s.CancelQuery(ctx, api.CancelQueryInput{QueryId: q.QueryId}); !errors.Is(err, api.ErrInactiveQuery) {
		t.Errorf("CancelQuery of a FINISHED query = %v, want InactiveQueryException", err)
	}

	slow, err := s.StartQuery(ctx, api.StartQueryInput{QueryStatement: "SELECT count(*) FROM range(9223372036854775807), " + storeID(trail)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CancelQuery(ctx, api.CancelQueryInput{QueryId: slow.QueryId}); err != nil {
		t.Fatalf("CancelQuery of a new query: %v", err)
	}
	want := []api.QueryStatus{api.QueryCancelled, api.QueryFinished}
	var listed []api.QueryListItem
	list := api.ListQueriesInput{EventDataStore: trail.EventDataStoreArn, MaxResults: 1}
	for {
		out, err := s.ListQueries(ctx, list)
		if err != nil || len(out.Queries) > 1 || len(listed) > len(want) {
			t.Fatalf("ListQueries(%+v) = %+v, %v", list, out, err)
		}
		listed = append(listed, out.Queries...)
		if list.NextToken = out.NextToken; list.NextToken == "" {
			break
		}
	}
	if len(listed) != 2 || listed[0].QueryId != slow.QueryId || listed[1].QueryId != q.QueryId ||
		!slices.Equal([]api.QueryStatus{listed[0].QueryStatus, listed[1].QueryStatus}, want) {
		t.Errorf("ListQueries lists %+v, want the cancelled query, then the finished one", listed)
	}
	for _, it := range listed {
		checkTime(t, "CreationTime of "+it.QueryId, it.CreationTime)
	}
	finished, err := s.ListQueries(ctx, api.ListQueriesInput{EventDataStore: storeID(trail), QueryStatus: api.QueryFinished, EndTime: &listed[0].CreationTime})
	if err != nil || len(finished.Queries) != 1 || finished.Queries[0].QueryId != q.QueryId {
		t.Errorf("ListQueries of the FINISHED queries = %+v, %v; want %s", finished, err, q.QueryId)
	}
}

// testExceptions checks the exception each bad input is answered with.
func testExceptions(t *testing.T, s api.Service) {
	trail := createStore(t, s, "trail")
	other := createStore(t, s, "other")
	yes, no := true, false
	later := day.Add(time.Hour)
	selectors := api.EventDataStoreSettings{AdvancedEventSelectors: []api.AdvancedEventSelector{
		{Name: "insights", FieldSelectors: []api.AdvancedFieldSelector{{Field: "eventCategory", Equals: []string{"Insight"}}}},
	}}
	b := newBucket(t)
	src := b.source
	missing := api.ImportSource{S3: api.S3ImportSource{S3LocationUri: b.source.S3.S3LocationUri + "/missing", S3BucketRegion: region}}
	later, earlier := day.Add(time.Hour), day
	dest := []string{trail.EventDataStoreArn}
	tests := []struct {
		name string
		call func(ctx context.Context) error
		want *api.Exception
	}{
		{"store name too short", func(ctx context.Context) error {
			_, err := s.CreateEventDataStore(ctx, api.CreateEventDataStoreInput{Name: "x"})
			return err
		}, api.ErrInvalidParameter},
		{"retention period too short", func(ctx context.Context) error {
			days := 6
			_, err := s.CreateEventDataStore(ctx, api.CreateEventDataStoreInput{Name: "short", EventDataStoreSettings: api.EventDataStoreSettings{RetentionPeriod: &days}})
			return err
		}, api.ErrInvalidParameter},
		{"advanced event selectors of Insights events", func(ctx context.Context) error {
			_, err := s.CreateEventDataStore(ctx, api.CreateEventDataStoreInput{Name: "selected", EventDataStoreSettings: selectors})
			return err
		}, api.ErrInvalidEventSelectors},
		{"an advanced event selector of an unknown field", func(ctx context.Context) error {
			_, err := s.CreateEventDataStore(ctx, api.CreateEventDataStoreInput{Name: "selected", EventDataStoreSettings: api.EventDataStoreSettings{
				AdvancedEventSelectors: []api.AdvancedEventSelector{{FieldSelectors: []api.AdvancedFieldSelector{{Field: "awsRegion", Equals: []string{region}}}}}}})
			return err
		}, api.ErrInvalidEventSelectors},
		{"a field selector without an operator", func(ctx context.Context) error {
			_, err := s.CreateEventDataStore(ctx, api.CreateEventDataStoreInput{Name: "selected", EventDataStoreSettings: api.EventDataStoreSettings{
				AdvancedEventSelectors: []api.AdvancedEventSelector{{FieldSelectors: []api.AdvancedFieldSelector{{Field: "eventName"}}}}}})
			return err
		}, api.ErrInvalidEventSelectors},
		{"readOnly with StartsWith", func(ctx context.Context) error {
			_, err := s.CreateEventDataStore(ctx, api.CreateEventDataStoreInput{Name: "selected", EventDataStoreSettings: api.EventDataStoreSettings{
				AdvancedEventSelectors: []api.AdvancedEventSelector{{FieldSelectors: []api.AdvancedFieldSelector{{Field: "readOnly", StartsWith: []string{"t"}}}}}}})
			return err
		}, api.ErrInvalidEventSelectors},
		{"an advanced event selector with an empty value", func(ctx context.Context) error {
			_, err := s.CreateEventDataStore(ctx, api.CreateEventDataStoreInput{Name: "selected", EventDataStoreSettings: api.EventDataStoreSettings{
				AdvancedEventSelectors: []api.AdvancedEventSelector{{FieldSelectors: []api.AdvancedFieldSelector{{Field: "eventName", Equals: []string{""}}}}}}})
			return err
		}, api.ErrInvalidParameter},
		{"a KMS key", func(ctx context.Context) error {
			_, err := s.CreateEventDataStore(ctx, api.CreateEventDataStoreInput{Name: "kms", EventDataStoreSettings: api.EventDataStoreSettings{KmsKeyId: "alias/trails"}})
			return err
		}, api.ErrUnsupportedOperation},
		{"a billing mode", func(ctx context.Context) error {
			_, err := s.CreateEventDataStore(ctx, api.CreateEventDataStoreInput{Name: "billed", EventDataStoreSettings: api.EventDataStoreSettings{BillingMode: "FIXED_RETENTION_PRICING"}})
			return err
		}, api.ErrUnsupportedOperation},
		{"an organization store", func(ctx context.Context) error {
			_, err := s.CreateEventDataStore(ctx, api.CreateEventDataStoreInput{Name: "org", EventDataStoreSettings: api.EventDataStoreSettings{OrganizationEnabled: &yes}})
			return err
		}, api.ErrUnsupportedOperation},
		{"a single-region store", func(ctx context.Context) error {
			_, err := s.CreateEventDataStore(ctx, api.CreateEventDataStoreInput{Name: "region", EventDataStoreSettings: api.EventDataStoreSettings{MultiRegionEnabled: &no}})
			return err
		}, api.ErrUnsupportedOperation},
		{"tags", func(ctx context.Context) error {
			_, err := s.CreateEventDataStore(ctx, api.CreateEventDataStoreInput{Name: "tagged", TagsList: []api.Tag{{Key: "team", Value: "sec"}}})
			return err
		}, api.ErrUnsupportedOperation},
		{"ingestion", func(ctx context.Context) error {
			_, err := s.CreateEventDataStore(ctx, api.CreateEventDataStoreInput{Name: "live", StartIngestion: &yes})
			return err
		}, api.ErrUnsupportedOperation},
		{"update of an unknown store", func(ctx context.Context) error {
			_, err := s.UpdateEventDataStore(ctx, api.UpdateEventDataStoreInput{EventDataStore: unknownID, Name: "x-y-z"})
			return err
		}, api.ErrEventDataStoreNotFound},
		{"update to the name of another store", func(ctx context.Context) error {
			_, err := s.UpdateEventDataStore(ctx, api.UpdateEventDataStoreInput{EventDataStore: trail.EventDataStoreArn, Name: other.Name})
			return err
		}, api.ErrEventDataStoreAlreadyExists},
		{"update with advanced event selectors of Insights events", func(ctx context.Context) error {
			_, err := s.UpdateEventDataStore(ctx, api.UpdateEventDataStoreInput{EventDataStore: trail.EventDataStoreArn, EventDataStoreSettings: selectors})
			return err
		}, api.ErrInvalidEventSelectors},
		{"update with a KMS key", func(ctx context.Context) error {
			_, err := s.UpdateEventDataStore(ctx, api.UpdateEventDataStoreInput{EventDataStore: trail.EventDataStoreArn, EventDataStoreSettings: api.EventDataStoreSettings{KmsKeyId: "alias/trails"}})
			return err
		}, api.ErrUnsupportedOperation},
		{"update with a malformed ARN", func(ctx context.Context) error {
			_, err := s.UpdateEventDataStore(ctx, api.UpdateEventDataStoreInput{EventDataStore: "arn:aws:cloudtrail:us-east-1:" + account + ":trail/x"})
			return err
		}, api.ErrEventDataStoreARNInvalid},
		{"delete an unknown store", func(ctx context.Context) error {
			_, err := s.DeleteEventDataStore(ctx, api.DeleteEventDataStoreInput{EventDataStore: unknownID})
			return err
		}, api.ErrEventDataStoreNotFound},
		{"delete a protected store", func(ctx context.Context) error {
			_, err := s.DeleteEventDataStore(ctx, api.DeleteEventDataStoreInput{EventDataStore: trail.EventDataStoreArn})
			return err
		}, api.ErrEventDataStoreTerminationProtected},
		{"restore an unknown store", func(ctx context.Context) error {
			_, err := s.RestoreEventDataStore(ctx, api.RestoreEventDataStoreInput{EventDataStore: unknownID})
			return err
		}, api.ErrEventDataStoreNotFound},
		{"restore a store that is not deleted", func(ctx context.Context) error {
			_, err := s.RestoreEventDataStore(ctx, api.RestoreEventDataStoreInput{EventDataStore: trail.EventDataStoreArn})
			return err
		}, api.ErrInvalidEventDataStoreStatus},
		{"store exists", func(ctx context.Context) error {
			_, err := s.CreateEventDataStore(ctx, api.CreateEventDataStoreInput{Name: trail.Name})
			return err
		}, api.ErrEventDataStoreAlreadyExists},
		{"unknown store", func(ctx context.Context) error {
			_, err := s.GetEventDataStore(ctx, api.GetEventDataStoreInput{EventDataStore: "nowhere"})
			return err
		}, api.ErrEventDataStoreNotFound},
		{"malformed store ARN", func(ctx context.Context) error {
			_, err := s.GetEventDataStore(ctx, api.GetEventDataStoreInput{EventDataStore: "arn:aws:cloudtrail:us-east-1:" + account + ":trail/x"})
			return err
		}, api.ErrEventDataStoreARNInvalid},
		{"MaxResults of stores too large", func(ctx context.Context) error {
			_, err := s.ListEventDataStores(ctx, api.ListEventDataStoresInput{MaxResults: 5000})
			return err
		}, api.ErrInvalidMaxResults},
		{"bad NextToken of stores", func(ctx context.Context) error {
			_, err := s.ListEventDataStores(ctx, api.ListEventDataStoresInput{NextToken: "not-a-token"})
			return err
		}, api.ErrInvalidNextToken},
		{"no destination", func(ctx context.Context) error {
			_, err := s.StartImport(ctx, api.StartImportInput{ImportSource: &src})
			return err
		}, api.ErrInvalidParameter},
		{"unknown destination", func(ctx context.Context) error {
			_, err := s.StartImport(ctx, api.StartImportInput{Destinations: []string{"nowhere"}, ImportSource: &src})
			return err
		}, api.ErrEventDataStoreNotFound},
		{"missing source directory", func(ctx context.Context) error {
			_, err := s.StartImport(ctx, api.StartImportInput{Destinations: dest, ImportSource: &missing})
			return err
		}, api.ErrInvalidImportSource},
		{"start after end", func(ctx context.Context) error {
			_, err := s.StartImport(ctx, api.StartImportInput{Destinations: dest, ImportSource: &src, StartEventTime: &later, EndEventTime: &earlier})
			return err
		}, api.ErrInvalidParameter},
		{"retry with a source", func(ctx context.Context) error {
			_, err := s.StartImport(ctx, api.StartImportInput{ImportId: unknownID, ImportSource: &src})
			return err
		}, api.ErrInvalidParameterCombination},
		{"retry of an unknown import", func(ctx context.Context) error {
			_, err := s.StartImport(ctx, api.StartImportInput{ImportId: unknownID})
			return err
		}, api.ErrImportNotFound},
		{"ImportId not a UUID", func(ctx context.Context) error {
			_, err := s.GetImport(ctx, api.GetImportInput{ImportId: "abc"})
			return err
		}, api.ErrInvalidParameter},
		{"unknown import", func(ctx context.Context) error {
			_, err := s.GetImport(ctx, api.GetImportInput{ImportId: unknownID})
			return err
		}, api.ErrImportNotFound},
		{"stop an unknown import", func(ctx context.Context) error {
			_, err := s.StopImport(ctx, api.StopImportInput{ImportId: unknownID})
			return err
		}, api.ErrImportNotFound},
		{"unknown import status", func(ctx context.Context) error {
			_, err := s.ListImports(ctx, api.ListImportsInput{ImportStatus: "DONE"})
			return err
		}, api.ErrInvalidParameter},
		{"imports of an unknown destination", func(ctx context.Context) error {
			_, err := s.ListImports(ctx, api.ListImportsInput{Destination: "nowhere"})
			return err
		}, api.ErrEventDataStoreARNInvalid},
		{"bad NextToken of imports", func(ctx context.Context) error {
			_, err := s.ListImports(ctx, api.ListImportsInput{NextToken: "not-a-token"})
			return err
		}, api.ErrInvalidNextToken},
		{"failures of an unknown import", func(ctx context.Context) error {
			_, err := s.ListImportFailures(ctx, api.ListImportFailuresInput{ImportId: unknownID})
			return err
		}, api.ErrImportNotFound},
		{"empty statement", func(ctx context.Context) error {
			_, err := s.StartQuery(ctx, api.StartQueryInput{})
			return err
		}, api.ErrInvalidQueryStatement},
		{"query of no table", func(ctx context.Context) error {
			_, err := s.StartQuery(ctx, api.StartQueryInput{QueryStatement: "SELECT * FROM no_such_table"})
			return err
		}, api.ErrInvalidQueryStatement},
		{"results delivered to S3", func(ctx context.Context) error {
			_, err := s.StartQuery(ctx, api.StartQueryInput{QueryStatement: "SELECT 1", DeliveryS3Uri: "s3://results/"})
			return err
		}, api.ErrInvalidParameter},
		{"unknown query", func(ctx context.Context) error {
			_, err := s.DescribeQuery(ctx, api.DescribeQueryInput{QueryId: unknownID})
			return err
		}, api.ErrQueryIdNotFound},
		{"results of an unknown query", func(ctx context.Context) error {
			_, err := s.GetQueryResults(ctx, api.GetQueryResultsInput{QueryId: unknownID})
			return err
		}, api.ErrQueryIdNotFound},
		{"MaxQueryResults too large", func(ctx context.Context) error {
			_, err := s.GetQueryResults(ctx, api.GetQueryResultsInput{QueryId: unknownID, MaxQueryResults: 5000})
			return err
		}, api.ErrInvalidMaxResults},
		{"queries of no store", func(ctx context.Context) error {
			_, err := s.ListQueries(ctx, api.ListQueriesInput{EventDataStore: "nowhere"})
			return err
		}, api.ErrEventDataStoreNotFound},
		{"queries of a wrong status", func(ctx context.Context) error {
			_, err := s.ListQueries(ctx, api.ListQueriesInput{EventDataStore: trail.EventDataStoreArn, QueryStatus: "DONE"})
			return err
		}, api.ErrInvalidQueryStatus},
		{"queries in a reversed range", func(ctx context.Context) error {
			_, err := s.ListQueries(ctx, api.ListQueriesInput{EventDataStore: trail.EventDataStoreArn, StartTime: &later, EndTime: &day})
			return err
		}, api.ErrInvalidDateRange},
		{"queries with MaxResults too large", func(ctx context.Context) error {
			_, err := s.ListQueries(ctx, api.ListQueriesInput{EventDataStore: trail.EventDataStoreArn, MaxResults: 1001})
			return err
		}, api.ErrInvalidMaxResults},
		{"queries with a token of garbage", func(ctx context.Context) error {
			_, err := s.ListQueries(ctx, api.ListQueriesInput{EventDataStore: trail.EventDataStoreArn, NextToken: "not-a-token"})
			return err
		}, api.ErrInvalidNextToken},
		{"cancel an unknown query", func(ctx context.Context) error {
			_, err := s.CancelQuery(ctx, api.CancelQueryInput{QueryId: unknownID})
			return err
		}, api.ErrQueryIdNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantException(t, tt.name, tt.call(t.Context()), tt.want) })
	}
}

// testSelectors creates an event data store with advanced event selectors,
// checks that the operations describing it return them, imports a log file
// of events of each kind into it and checks that it stores the events its
// selectors select; then it updates the selectors, imports again, and
// checks that the events stored before stay.
func testSelectors(t *testing.T, s api.Service) {
	ctx := t.Context()
	writes := []api.AdvancedEventSelector{{Name: "write management events", FieldSelectors: []api.AdvancedFieldSelector{
		{Field: "eventCategory", Equals: []string{"Management"}},
		{Field: "readOnly", Equals: []string{"false"}},
	}}}
	created, err := s.CreateEventDataStore(ctx, api.CreateEventDataStoreInput{Name: "writes",
		EventDataStoreSettings: api.EventDataStoreSettings{AdvancedEventSelectors: writes}})
	if err != nil || !reflect.DeepEqual(created.AdvancedEventSelectors, writes) {
		t.Fatalf("CreateEventDataStore with selectors = %+v, %v; want the selectors %+v", created, err, writes)
	}
	if got, err := s.GetEventDataStore(ctx, api.GetEventDataStoreInput{EventDataStore: created.EventDataStoreArn}); err != nil || !sameStore(got, created) {
		t.Errorf("GetEventDataStore = %+v, %v; want %+v", got, err, created)
	}
	plain := createStore(t, s, "plain")
	if plain.AdvancedEventSelectors != nil {
		t.Errorf("a store created without selectors has %+v", plain.AdvancedEventSelectors)
	}
	list, err := s.ListEventDataStores(ctx, api.ListEventDataStoresInput{})
	if err != nil || len(list.EventDataStores) != 2 || !sameStore(list.EventDataStores[0], created) || !sameStore(list.EventDataStores[1], plain) {
		t.Errorf("ListEventDataStores = %+v, %v; want %+v and %+v", list, err, created, plain)
	}

	b := &bucket{dir: t.TempDir()}
	b.source = api.ImportSource{S3: api.S3ImportSource{S3LocationUri: "file://" + filepath.ToSlash(b.dir), S3BucketRegion: region}}
	at := day.Add(time.Hour)
	rec := func(id, source, name string, members map[string]any) map[string]any {
		r := map[string]any{"eventVersion": "1.09", "eventTime": at.Format(time.RFC3339), "eventID": id,
			"eventSource": source, "eventName": name, "awsRegion": region, "recipientAccountId": account}
		for k, v := range members {
			r[k] = v
		}
		return r
	}
	mgmt := func(readOnly bool) map[string]any {
		return map[string]any{"eventCategory": "Management", "managementEvent": true, "readOnly": readOnly}
	}
	b.put(t, LogKey(at, 1), recordsFile([]map[string]any{
		rec("decrypt", "kms.amazonaws.com", "Decrypt", mgmt(true)),
		rec("create-key", "kms.amazonaws.com", "CreateKey", mgmt(false)),
		rec("list-users", "iam.amazonaws.com", "ListUsers", mgmt(true)),
		rec("create-user", "iam.amazonaws.com", "CreateUser", mgmt(false)),
		rec("put-object", "s3.amazonaws.com", "PutObject", map[string]any{"eventCategory": "Data", "managementEvent": false, "readOnly": false,
			"resources": []map[string]string{{"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::b/k"}}}),
		rec("old-write", "ec2.amazonaws.com", "RunInstances", map[string]any{"readOnly": false}),
	}))
	importInto := func(dest string) api.Import {
		t.Helper()
		src := b.source
		imp, err := s.StartImport(ctx, api.StartImportInput{Destinations: []string{dest}, ImportSource: &src})
		if err != nil {
			t.Fatalf("StartImport: %v", err)
		}
		return waitImport(t, s, imp.ImportId)
	}
	imp := importInto(created.EventDataStoreArn)
	want := []string{"create-key", "create-user", "old-write"}
	if imp.ImportStatus != api.StatusCompleted || imp.ImportStatistics.EventsCompleted != int64(len(want)) {
		t.Errorf("the import ended %+v, want COMPLETED with %d events", imp, len(want))
	}
	if got := queryIDs(t, s, storeID(created)); !slices.Equal(got, want) {
		t.Errorf("the store with selectors holds %v, want %v", got, want)
	}

	data := []api.AdvancedEventSelector{{FieldSelectors: []api.AdvancedFieldSelector{
		{Field: "eventCategory", Equals: []string{"Data"}},
		{Field: "resources.ARN", StartsWith: []string{"arn:aws:s3:::b/"}},
	}}, {FieldSelectors: []api.AdvancedFieldSelector{
		{Field: "eventSource", Equals: []string{"kms.amazonaws.com"}},
		{Field: "eventName", NotEquals: []string{"CreateKey"}},
	}}}
	updated, err := s.UpdateEventDataStore(ctx, api.UpdateEventDataStoreInput{EventDataStore: created.Name,
		EventDataStoreSettings: api.EventDataStoreSettings{AdvancedEventSelectors: data}})
	if err != nil || !reflect.DeepEqual(updated.AdvancedEventSelectors, data) {
		t.Fatalf("UpdateEventDataStore with selectors = %+v, %v; want the selectors %+v", updated, err, data)
	}
	renamed, err := s.UpdateEventDataStore(ctx, api.UpdateEventDataStoreInput{EventDataStore: created.Name, Name: "selected"})
	if err != nil || !reflect.DeepEqual(renamed.AdvancedEventSelectors, data) {
		t.Errorf("UpdateEventDataStore without selectors = %+v, %v; want the selectors kept", renamed, err)
	}
	importInto(created.EventDataStoreArn)
	want = []string{"create-key", "create-user", "decrypt", "old-write", "put-object"}
	if got := queryIDs(t, s, storeID(created)); !slices.Equal(got, want) {
		t.Errorf("after the update and a second import the store holds %v, want %v", got, want)
	}
	if imp := importInto(plain.EventDataStoreArn); imp.ImportStatistics.EventsCompleted != 6 {
		t.Errorf("the import into a store without selectors stored %+v, want all 6 events", imp.ImportStatistics)
	}
}
