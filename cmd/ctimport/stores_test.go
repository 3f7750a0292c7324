package main

import (
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"

	"github.com/ctimport/ctimport/api"
)

// TestEventDataStoreLifecycle renames, deletes, restores and deletes at
// once an event data store holding events, through the commands, and
// checks each refusal on the way.
func TestEventDataStoreLifecycle(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	l := serveLayout(t, "eds", 3, 4)
	dir := t.TempDir()
	l.write(dir)
	uri := "file://" + filepath.ToSlash(dir) + "/"

	store := decode[api.EventDataStore](t, h.expect(exitOK, "create-event-data-store", "--name", "lifecycle", "--retention-period", "3000"))
	if store.RetentionPeriod != 3000 || !store.TerminationProtectionEnabled || store.Status != api.EventDataStoreEnabled {
		t.Errorf("create-event-data-store printed %+v; want retention 3000, protection on", store)
	}
	id := storeID(store.EventDataStoreArn)
	h.startImport(exitOK, id, uri)
	h.checkStored(id, l.ids(nil))

	renamed := decode[api.EventDataStore](t, h.expect(exitOK, "update-event-data-store", "--event-data-store", store.EventDataStoreArn,
		"--name", "renamed", "--retention-period", "3653"))
	if renamed.EventDataStoreArn != store.EventDataStoreArn || renamed.Name != "renamed" || renamed.RetentionPeriod != 3653 {
		t.Errorf("update-event-data-store printed %+v", renamed)
	}
	h.checkStored(id, l.ids(nil))

	refused := func(code int, exception string, args ...string) {
		t.Helper()
		checkOneLine(t, h.expect(code, args...), "ctimport: "+args[0]+": ", exception)
	}
	refused(exitError, "EventDataStoreTerminationProtectedException", "delete-event-data-store", "--event-data-store", id)
	refused(exitError, "InvalidEventSelectorsException", "update-event-data-store", "--event-data-store", id,
		"--advanced-event-selectors", `[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Insight"]}]}]`)
	refused(exitError, "UnsupportedOperationException", "update-event-data-store", "--event-data-store", id, "--billing-mode", "FIXED_RETENTION_PRICING")
	refused(exitError, "InvalidParameterException", "update-event-data-store", "--event-data-store", id, "--retention-period", "6")
	refused(exitUsage, "not both", "update-event-data-store", "--event-data-store", id,
		"--termination-protection-enabled", "--no-termination-protection-enabled")

	h.expect(exitOK, "update-event-data-store", "--event-data-store", "renamed", "--no-termination-protection-enabled")
	if o := h.expect(exitOK, "delete-event-data-store", "--event-data-store", id); o.stdout != "" {
		t.Errorf("delete-event-data-store printed %q, want nothing", o.stdout)
	}
	if got := decode[api.EventDataStore](t, h.expect(exitOK, "get-event-data-store", "--event-data-store", id)); got.Status != api.EventDataStorePendingDeletion {
		t.Errorf("get-event-data-store after the delete: %+v, want PENDING_DELETION", got)
	}
	refused(exitError, "InactiveEventDataStoreException", "query", "--query-statement", "SELECT count(*) FROM "+id)
	refused(exitError, "InvalidEventDataStoreStatusException", "start-import", "--destinations", id, "--import-source", importSource(uri))
	refused(exitError, "InactiveEventDataStoreException", "delete-event-data-store", "--event-data-store", id)
	refused(exitError, "InactiveEventDataStoreException", "update-event-data-store", "--event-data-store", id, "--name", "again")

	restored := decode[api.EventDataStore](t, h.expect(exitOK, "restore-event-data-store", "--event-data-store", store.EventDataStoreArn))
	if restored.Status != api.EventDataStoreEnabled || restored.Name != "renamed" || restored.TerminationProtectionEnabled {
		t.Errorf("restore-event-data-store printed %+v", restored)
	}
	h.checkStored(id, l.ids(nil))
	refused(exitError, "InvalidEventDataStoreStatusException", "restore-event-data-store", "--event-data-store", id)
	refused(exitUsage, "--endpoint-url", "delete-event-data-store", "--event-data-store", id, "--now", "--endpoint-url", "http://127.0.0.1:1")

	h.expect(exitOK, "delete-event-data-store", "--event-data-store", id, "--now")
	refused(exitError, "EventDataStoreNotFoundException", "get-event-data-store", "--event-data-store", id)
	refused(exitError, "EventDataStoreNotFoundException", "restore-event-data-store", "--event-data-store", id)
	again := h.createStore("renamed")
	if storeID(again.EventDataStoreArn) == id {
		t.Errorf("a new store of the removed one's name has its ID")
	}
	if n := h.query("SELECT count(*) AS n FROM " + storeID(again.EventDataStoreArn)); n[0]["n"] != float64(0) {
		t.Errorf("the new store holds events: %v", n)
	}
}

// TestServeEventDataStoresSDK drives the event data store operations
// through the SDK's CloudTrail client against a server, with every
// exception they answer.
func TestServeEventDataStoresSDK(t *testing.T) {
	t.Parallel()
	f := newFrozenSource(t, "eds", 2, 3, 1)
	h := newHarness(t)
	s := h.serve(s3Creds(f.srv), f.serverFlags()...)
	cl := s.sdk()
	ctx := t.Context()

	created, err := cl.CreateEventDataStore(ctx, &cloudtrail.CreateEventDataStoreInput{Name: aws.String("sdk-store"),
		RetentionPeriod: aws.Int32(3000), TerminationProtectionEnabled: aws.Bool(false), MultiRegionEnabled: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	arn := aws.ToString(created.EventDataStoreArn)
	if aws.ToInt32(created.RetentionPeriod) != 3000 || aws.ToBool(created.TerminationProtectionEnabled) || created.Status != types.EventDataStoreStatusEnabled {
		t.Errorf("CreateEventDataStore returned retention %d, protection %v, status %s", aws.ToInt32(created.RetentionPeriod),
			aws.ToBool(created.TerminationProtectionEnabled), created.Status)
	}
	_, err = cl.CreateEventDataStore(ctx, &cloudtrail.CreateEventDataStoreInput{Name: aws.String("kms"), KmsKeyId: aws.String("alias/trails")})
	wantError[*types.UnsupportedOperationException](t, "CreateEventDataStore with a KMS key", err)
	_, err = cl.CreateEventDataStore(ctx, &cloudtrail.CreateEventDataStoreInput{Name: aws.String("org"), OrganizationEnabled: aws.Bool(true)})
	wantError[*types.UnsupportedOperationException](t, "CreateEventDataStore of an organization", err)
	selectors := []types.AdvancedEventSelector{{FieldSelectors: []types.AdvancedFieldSelector{{Field: aws.String("eventCategory"), Equals: []string{"Insight"}}}}}
	_, err = cl.CreateEventDataStore(ctx, &cloudtrail.CreateEventDataStoreInput{Name: aws.String("selected"), AdvancedEventSelectors: selectors})
	wantError[*types.InvalidEventSelectorsException](t, "CreateEventDataStore with advanced event selectors of Insights events", err)
	writes := []types.AdvancedEventSelector{{Name: aws.String("writes"), FieldSelectors: []types.AdvancedFieldSelector{
		{Field: aws.String("eventCategory"), Equals: []string{"Management"}},
		{Field: aws.String("readOnly"), Equals: []string{"false"}},
		{Field: aws.String("eventName"), NotStartsWith: []string{"Put", "Delete"}, NotEndsWith: []string{"Key"}},
	}}}
	selected, err := cl.CreateEventDataStore(ctx, &cloudtrail.CreateEventDataStoreInput{Name: aws.String("selected"), AdvancedEventSelectors: writes})
	if err != nil {
		t.Fatalf("CreateEventDataStore with advanced event selectors: %v", err)
	}
	described, err := cl.GetEventDataStore(ctx, &cloudtrail.GetEventDataStoreInput{EventDataStore: selected.EventDataStoreArn})
	if err != nil || !reflect.DeepEqual(described.AdvancedEventSelectors, writes) || !reflect.DeepEqual(selected.AdvancedEventSelectors, writes) {
		t.Errorf("the selectors of a store created with %+v: created %+v, described %+v, %v", writes, selected.AdvancedEventSelectors, described.AdvancedEventSelectors, err)
	}
	_, err = cl.CreateEventDataStore(ctx, &cloudtrail.CreateEventDataStoreInput{Name: aws.String("short"), RetentionPeriod: aws.Int32(6)})
	wantError[*types.InvalidParameterException](t, "CreateEventDataStore with a retention period of 6 days", err)

	// While an import runs into the store, it can be neither updated nor deleted.
	imp := startImportSDK(t, cl, arn, "s3://"+f.bucket+"/")
	f.waitHeld(t)
	_, err = cl.DeleteEventDataStore(ctx, &cloudtrail.DeleteEventDataStoreInput{EventDataStore: aws.String(arn)})
	wantError[*types.EventDataStoreHasOngoingImportException](t, "DeleteEventDataStore while an import runs", err)
	_, err = cl.UpdateEventDataStore(ctx, &cloudtrail.UpdateEventDataStoreInput{EventDataStore: aws.String(arn), Name: aws.String("busy")})
	wantError[*types.EventDataStoreHasOngoingImportException](t, "UpdateEventDataStore while an import runs", err)
	f.g.open()
	waitImport(t, cl, aws.ToString(imp.ImportId))
	before, _ := sdkQuery(t, cl, "SELECT eventID FROM "+storeID(arn)+" ORDER BY eventID", 100)
	if len(before) != 6 {
		t.Fatalf("%d events imported, want 6", len(before))
	}

	updated, err := cl.UpdateEventDataStore(ctx, &cloudtrail.UpdateEventDataStoreInput{EventDataStore: aws.String(storeID(arn)),
		Name: aws.String("sdk-renamed"), TerminationProtectionEnabled: aws.Bool(true)})
	if err != nil || aws.ToString(updated.EventDataStoreArn) != arn || aws.ToString(updated.Name) != "sdk-renamed" || !aws.ToBool(updated.TerminationProtectionEnabled) {
		t.Fatalf("UpdateEventDataStore = %+v, %v", updated, err)
	}
	_, err = cl.UpdateEventDataStore(ctx, &cloudtrail.UpdateEventDataStoreInput{EventDataStore: aws.String(arn), BillingMode: types.BillingModeFixedRetentionPricing})
	wantError[*types.UnsupportedOperationException](t, "UpdateEventDataStore of the billing mode", err)
	_, err = cl.UpdateEventDataStore(ctx, &cloudtrail.UpdateEventDataStoreInput{EventDataStore: aws.String(arn), AdvancedEventSelectors: selectors})
	wantError[*types.InvalidEventSelectorsException](t, "UpdateEventDataStore with advanced event selectors of Insights events", err)
	_, err = cl.UpdateEventDataStore(ctx, &cloudtrail.UpdateEventDataStoreInput{EventDataStore: aws.String(arn), AdvancedEventSelectors: []types.AdvancedEventSelector{
		{FieldSelectors: []types.AdvancedFieldSelector{{Field: aws.String("eventName"), Equals: []string{"x"}, StartsWith: []string{""}}}}}})
	wantError[*types.InvalidParameterException](t, "UpdateEventDataStore with an empty value of an advanced event selector", err)
	reselected, err := cl.UpdateEventDataStore(ctx, &cloudtrail.UpdateEventDataStoreInput{EventDataStore: aws.String(arn), AdvancedEventSelectors: writes})
	if err != nil || !reflect.DeepEqual(reselected.AdvancedEventSelectors, writes) {
		t.Errorf("UpdateEventDataStore with advanced event selectors = %+v, %v; want them", reselected, err)
	}
	_, err = cl.DeleteEventDataStore(ctx, &cloudtrail.DeleteEventDataStoreInput{EventDataStore: aws.String(arn)})
	wantError[*types.EventDataStoreTerminationProtectedException](t, "DeleteEventDataStore with termination protection", err)
	if _, err := cl.UpdateEventDataStore(ctx, &cloudtrail.UpdateEventDataStoreInput{EventDataStore: aws.String(arn), TerminationProtectionEnabled: aws.Bool(false)}); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.DeleteEventDataStore(ctx, &cloudtrail.DeleteEventDataStoreInput{EventDataStore: aws.String(arn)}); err != nil {
		t.Fatalf("DeleteEventDataStore: %v", err)
	}
	got, err := cl.GetEventDataStore(ctx, &cloudtrail.GetEventDataStoreInput{EventDataStore: aws.String(arn)})
	if err != nil || got.Status != types.EventDataStoreStatusPendingDeletion {
		t.Errorf("GetEventDataStore after the delete = %+v, %v; want PENDING_DELETION", got, err)
	}
	_, err = cl.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String("SELECT count(*) FROM " + storeID(arn))})
	wantError[*types.InactiveEventDataStoreException](t, "StartQuery of a store PENDING_DELETION", err)
	_, err = cl.StartImport(ctx, &cloudtrail.StartImportInput{Destinations: []string{arn}, ImportSource: s3Source("s3://" + f.bucket + "/")})
	wantError[*types.InvalidEventDataStoreStatusException](t, "StartImport into a store PENDING_DELETION", err)
	_, err = cl.DeleteEventDataStore(ctx, &cloudtrail.DeleteEventDataStoreInput{EventDataStore: aws.String(arn)})
	wantError[*types.InactiveEventDataStoreException](t, "DeleteEventDataStore of a store PENDING_DELETION", err)
	_, err = cl.UpdateEventDataStore(ctx, &cloudtrail.UpdateEventDataStoreInput{EventDataStore: aws.String(arn), RetentionPeriod: aws.Int32(7)})
	wantError[*types.InactiveEventDataStoreException](t, "UpdateEventDataStore of a store PENDING_DELETION", err)

	restored, err := cl.RestoreEventDataStore(ctx, &cloudtrail.RestoreEventDataStoreInput{EventDataStore: aws.String(arn)})
	if err != nil || restored.Status != types.EventDataStoreStatusEnabled || aws.ToString(restored.Name) != "sdk-renamed" {
		t.Fatalf("RestoreEventDataStore = %+v, %v", restored, err)
	}
	after, _ := sdkQuery(t, cl, "SELECT eventID FROM "+storeID(arn)+" ORDER BY eventID", 100)
	if got, want := column(after, "eventID"), column(before, "eventID"); !slices.Equal(got, want) {
		t.Errorf("after the restore the store holds %v, want %v", got, want)
	}
	_, err = cl.RestoreEventDataStore(ctx, &cloudtrail.RestoreEventDataStoreInput{EventDataStore: aws.String(arn)})
	wantError[*types.InvalidEventDataStoreStatusException](t, "RestoreEventDataStore of an ENABLED store", err)
	_, err = cl.RestoreEventDataStore(ctx, &cloudtrail.RestoreEventDataStoreInput{EventDataStore: aws.String("0b7b3c1e-8d6a-4f1e-9a55-3c2d1e0f9a8b")})
	wantError[*types.EventDataStoreNotFoundException](t, "RestoreEventDataStore of an unknown store", err)
	_, err = cl.DeleteEventDataStore(ctx, &cloudtrail.DeleteEventDataStoreInput{EventDataStore: aws.String("arn:aws:cloudtrail:us-east-1:000000000000:trail/x")})
	wantError[*types.EventDataStoreARNInvalidException](t, "DeleteEventDataStore of the ARN of a trail", err)
}

// column returns the values of column col of rows.
func column(rows [][]map[string]string, col string) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i], _ = cell(r, col)
	}
	return out
}
