package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"

	"github.com/ctimport/ctimport/api"
)

// daysSince returns the retention period, in days, whose start is at or
// just before day.
func daysSince(day time.Time) int {
	return int(time.Since(day)/(24*time.Hour)) + 1
}

// corpusLayout lays out the bundled corpus as a bucket copy in a new
// directory and returns it, with the directory's file URI.
func corpusLayout(t *testing.T) (*layout, string) {
	l := newLayout(t)
	l.corpus(filepath.Join(corpusDir, "invictus-2023-07-10"), "")
	l.corpus(filepath.Join(corpusDir, "traildiscover-examples"), "")
	dir := t.TempDir()
	l.write(dir)
	return l, dir
}

// checkRetained fails unless some, but not all, of l's events are within
// its retention period, so that a check of the kept events tells.
func checkRetained(t *testing.T, l *layout) {
	t.Helper()
	all := 0
	for _, evs := range l.events {
		all += len(evs)
	}
	if l.count() == 0 || l.count() == all {
		t.Fatalf("%d of the corpus's %d events are within %d days; want some and not all", l.count(), all, l.retention)
	}
}

// TestRetentionCommands imports the corpus into a store whose retention
// period keeps part of it, shortens the period, and prunes, checking the
// stored events against those the test computes from the corpus.
func TestRetentionCommands(t *testing.T) {
	t.Parallel()
	l, dir := corpusLayout(t)
	h := newHarness(t)
	l.retention = daysSince(time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC))
	checkRetained(t, l)
	store := decode[api.EventDataStore](t, h.expect(exitOK, "create-event-data-store", "--name", "retained",
		"--retention-period", fmt.Sprint(l.retention)))
	id := storeID(store.EventDataStoreArn)

	imp, o := h.startImport(exitOK, id, "file://"+filepath.ToSlash(dir)+"/")
	if imp.ImportStatistics.EventsCompleted != int64(l.count()) {
		t.Errorf("EventsCompleted %d, want the %d events within %d days", imp.ImportStatistics.EventsCompleted, l.count(), l.retention)
	}
	if !strings.Contains(o.stderr, "older than the store's retention period") {
		t.Errorf("the summary does not count the events past the retention period:\n%s", o)
	}
	h.checkStored(id, l.ids(nil))

	l.retention = daysSince(time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
	checkRetained(t, l)
	h.expect(exitOK, "update-event-data-store", "--event-data-store", id, "--retention-period", fmt.Sprint(l.retention))
	h.checkStored(id, l.ids(nil))

	pruned := decode[pruneOutput](t, h.expect(exitOK, "prune"))
	if len(pruned.EventDataStores) != 1 || pruned.EventDataStores[0] != (prunedStore{EventDataStore: id}) {
		t.Errorf("prune printed %+v; want %s with nothing more to remove", pruned, id)
	}
	h.checkStored(id, l.ids(nil))
	checkOneLine(t, h.expect(exitUsage, "prune", "--endpoint-url", "http://127.0.0.1:1"), "ctimport: prune: ", "daily")
}

// TestServeRetentionSDK does the same through the SDK against a server.
func TestServeRetentionSDK(t *testing.T) {
	t.Parallel()
	l, dir := corpusLayout(t)
	h := newHarness(t)
	s := h.serve(nil, "--file-sources", dir)
	cl := s.sdk()
	ctx := t.Context()
	l.retention = daysSince(time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC))
	created, err := cl.CreateEventDataStore(ctx, &cloudtrail.CreateEventDataStoreInput{Name: aws.String("retained"),
		RetentionPeriod: aws.Int32(int32(l.retention))})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(created.EventDataStoreArn)
	stored := func() map[string]bool {
		t.Helper()
		rows, _ := sdkQuery(t, cl, "SELECT eventID FROM "+storeID(arn), 1000)
		ids := map[string]bool{}
		for _, id := range column(rows, "eventID") {
			if ids[id] {
				t.Errorf("event %s is stored twice", id)
			}
			ids[id] = true
		}
		return ids
	}
	check := func(when string) {
		t.Helper()
		got, want := stored(), l.ids(nil)
		if len(got) != len(want) {
			t.Errorf("%s: the store holds %d events, want the %d within %d days", when, len(got), len(want), l.retention)
		}
		for id := range want {
			if !got[id] {
				t.Errorf("%s: event %s is missing", when, id)
				break
			}
		}
	}

	imp := startImportSDK(t, cl, arn, "file://"+filepath.ToSlash(dir)+"/")
	done := waitImport(t, cl, aws.ToString(imp.ImportId))
	if got := aws.ToInt64(done.ImportStatistics.EventsCompleted); got != int64(l.count()) {
		t.Errorf("EventsCompleted %d, want %d", got, l.count())
	}
	check("after the import")

	l.retention = daysSince(time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC))
	if _, err := cl.UpdateEventDataStore(ctx, &cloudtrail.UpdateEventDataStoreInput{EventDataStore: aws.String(arn),
		RetentionPeriod: aws.Int32(int32(l.retention))}); err != nil {
		t.Fatal(err)
	}
	check("after shortening the retention period")
	got, err := cl.GetEventDataStore(ctx, &cloudtrail.GetEventDataStoreInput{EventDataStore: aws.String(arn)})
	if err != nil || aws.ToInt32(got.RetentionPeriod) != int32(l.retention) {
		t.Errorf("GetEventDataStore = %+v, %v; want a retention period of %d days", got, err, l.retention)
	}
}
