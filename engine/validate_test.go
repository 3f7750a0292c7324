package engine_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/engine"
	"github.com/ctimport/ctimport/pipeline"
	"github.com/ctimport/ctimport/sink/memsink"
)

// TestStartImportValidation checks that StartImport refuses each invalid
// request with the API's exception, before it writes or reads anything.
func TestStartImportValidation(t *testing.T) {
	e := newEnv(t, engine.Options{})
	day := time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC)
	e.put(key(day.Add(12*time.Hour)), evs("v", 3, day.Add(11*time.Hour))...)
	arn := e.eds.EventDataStoreArn
	src := func(uri string) *api.ImportSource {
		return &api.ImportSource{S3: api.S3ImportSource{S3LocationUri: uri}}
	}
	t1, t2 := day, day.Add(time.Hour)
	missingDir := "file://" + filepath.ToSlash(filepath.Join(t.TempDir(), "missing")) + "/"
	unknownARN := strings.TrimSuffix(arn, storeID(e.eds)) + "00000000-0000-4000-8000-000000000000"

	tests := []struct {
		name string
		in   api.StartImportInput
		opts engine.StartOptions
		want *api.Exception
	}{
		{"no destinations", api.StartImportInput{ImportSource: src(srcURI)}, engine.StartOptions{}, api.ErrInvalidParameter},
		{"empty destinations", api.StartImportInput{Destinations: []string{}, ImportSource: src(srcURI)}, engine.StartOptions{}, api.ErrInvalidParameter},
		{"two destinations", api.StartImportInput{Destinations: []string{arn, arn}, ImportSource: src(srcURI)}, engine.StartOptions{}, api.ErrInvalidParameter},
		{"no import source", api.StartImportInput{Destinations: []string{arn}}, engine.StartOptions{}, api.ErrInvalidParameter},
		{"empty location", api.StartImportInput{Destinations: []string{arn}, ImportSource: src("")}, engine.StartOptions{}, api.ErrInvalidParameter},
		{"malformed ARN", newImport("arn:aws:cloudtrail:us-east-1:000000000000:trail/x", srcURI), engine.StartOptions{}, api.ErrEventDataStoreARNInvalid},
		{"malformed ARN account", newImport("arn:aws:cloudtrail:us-east-1:123:eventdatastore/"+storeID(e.eds), srcURI), engine.StartOptions{}, api.ErrEventDataStoreARNInvalid},
		{"ARN prefix only", newImport("arn:", srcURI), engine.StartOptions{}, api.ErrEventDataStoreARNInvalid},
		{"unknown ARN", newImport(unknownARN, srcURI), engine.StartOptions{}, api.ErrEventDataStoreNotFound},
		{"unknown name", newImport("no-such-store", srcURI), engine.StartOptions{}, api.ErrEventDataStoreNotFound},
		{"no scheme", newImport(arn, bucket), engine.StartOptions{}, api.ErrInvalidImportSource},
		{"http scheme", newImport(arn, "https://"+bucket+"/"), engine.StartOptions{}, api.ErrInvalidImportSource},
		{"no bucket name", newImport(arn, "s3://"), engine.StartOptions{}, api.ErrInvalidImportSource},
		{"bad bucket name", newImport(arn, "s3://Trail_Bucket/"), engine.StartOptions{}, api.ErrInvalidImportSource},
		{"dot-dot prefix", newImport(arn, "s3://"+bucket+"/a/../b/"), engine.StartOptions{}, api.ErrInvalidImportSource},
		{"query string", newImport(arn, "s3://"+bucket+"/?x=1"), engine.StartOptions{}, api.ErrInvalidImportSource},
		{"not a trail prefix", newImport(arn, "s3://"+bucket+"/AWSLogs/"+account+"/Config/"), engine.StartOptions{}, api.ErrInvalidImportSource},
		{"missing bucket", newImport(arn, "s3://no-such-bucket/"), engine.StartOptions{}, api.ErrInvalidImportSource},
		{"missing directory", newImport(arn, missingDir), engine.StartOptions{}, api.ErrInvalidImportSource},
		{"start after end", api.StartImportInput{Destinations: []string{arn}, ImportSource: src(srcURI), StartEventTime: &t2, EndEventTime: &t1}, engine.StartOptions{}, api.ErrInvalidParameter},
		{"negative allowance", newImport(arn, srcURI), engine.StartOptions{Allowance: -time.Minute}, api.ErrInvalidParameter},
		{"incremental with start", api.StartImportInput{Destinations: []string{arn}, ImportSource: src(srcURI), StartEventTime: &t1}, engine.StartOptions{Incremental: true}, api.ErrInvalidParameterCombination},
		{"retry with destinations", api.StartImportInput{ImportId: "00000000-0000-4000-8000-000000000000", Destinations: []string{arn}}, engine.StartOptions{}, api.ErrInvalidParameterCombination},
		{"retry with source", api.StartImportInput{ImportId: "00000000-0000-4000-8000-000000000000", ImportSource: src(srcURI)}, engine.StartOptions{}, api.ErrInvalidParameterCombination},
		{"retry with start", api.StartImportInput{ImportId: "00000000-0000-4000-8000-000000000000", StartEventTime: &t1}, engine.StartOptions{}, api.ErrInvalidParameterCombination},
		{"retry with end", api.StartImportInput{ImportId: "00000000-0000-4000-8000-000000000000", EndEventTime: &t2}, engine.StartOptions{}, api.ErrInvalidParameterCombination},
		{"unknown import", api.StartImportInput{ImportId: "00000000-0000-4000-8000-000000000000"}, engine.StartOptions{}, api.ErrImportNotFound},
		{"malformed import ID", api.StartImportInput{ImportId: "not-an-import-id"}, engine.StartOptions{}, api.ErrInvalidParameter},
		{"import ID with path", api.StartImportInput{ImportId: "../../00000000-0000-4000-8000-00000000"}, engine.StartOptions{}, api.ErrInvalidParameter},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := e.store.Imports(e.ctx)
			imp, err := e.eng.StartImportWith(e.ctx, tt.in, tt.opts)
			if err == nil {
				// Let the wrongly accepted import end, so that it does
				// not disturb the other cases.
				done, _ := e.wait(imp.ImportId)
				e.spy.reset()
				t.Fatalf("StartImport accepted the request (the import ended %s: %q); want %s",
					done.ImportStatus, e.message(imp.ImportId), tt.want.Name)
			}
			if !isExc(err, tt.want) {
				t.Fatalf("StartImport = %v; want %s", err, tt.want.Name)
			}
			if api.ExceptionName(err) != tt.want.Name {
				t.Errorf("ExceptionName = %q, want %q", api.ExceptionName(err), tt.want.Name)
			}
			if after, _ := e.store.Imports(e.ctx); len(after) != len(before) {
				t.Errorf("a refused request stored %d imports", len(after)-len(before))
			}
			if opens, lists := e.spy.reset(); len(opens)+len(lists) != 0 {
				t.Errorf("a refused request read the source: opens %v, lists %v", opens, lists)
			}
		})
	}
}

// TestStartImportDestinations checks that a destination can be named by
// its ARN, its name or its ID, and that the import goes to that store.
func TestStartImportDestinations(t *testing.T) {
	e := newEnv(t, engine.Options{})
	other := e.createStore("other")
	day := time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC)
	e.put(key(day.Add(12*time.Hour)), evs("d", 2, day.Add(11*time.Hour))...)
	for _, dest := range []string{other.EventDataStoreArn, other.Name, storeID(other)} {
		imp, err := e.eng.StartImport(e.ctx, newImport(dest, srcURI))
		if err != nil {
			t.Fatalf("StartImport(destination %q): %v", dest, err)
		}
		if len(imp.Destinations) != 1 || imp.Destinations[0] != other.EventDataStoreArn {
			t.Errorf("destination %q: Destinations = %v, want [%s]", dest, imp.Destinations, other.EventDataStoreArn)
		}
		if imp.ImportSource.S3.S3LocationUri != srcURI {
			t.Errorf("ImportSource = %+v, want %s", imp.ImportSource, srcURI)
		}
		if done, _ := e.wait(imp.ImportId); done.ImportStatus != api.StatusCompleted {
			t.Errorf("destination %q: status %s", dest, done.ImportStatus)
		}
	}
	e.checkStored(other, e.wantIDs())
	e.checkStored(e.eds, nil)
}

// TestOngoingImport checks that a store has one running import at a time,
// also when more imports may run, and that a running import cannot be
// retried.
func TestOngoingImport(t *testing.T) {
	e := newEnv(t, engine.Options{Config: pipeline.Config{Concurrency: 1, Downloads: 1, PrefetchBytes: 1}, MaxOngoingImports: 2})
	day := time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC)
	k := key(day.Add(12 * time.Hour))
	e.put(k, evs("o", 2, day.Add(11*time.Hour))...)
	hook, reached := gate(k)
	e.spy.setWrap(hook)
	id := e.startNew()
	waitClosed(t, reached, "the gated read")

	if _, err := e.eng.StartImport(e.ctx, newImport(e.eds.Name, srcURI)); !isExc(err, api.ErrAccountHasOngoingImport) {
		t.Errorf("second import into a busy store: %v, want AccountHasOngoingImportException", err)
	}
	if _, err := e.eng.StartImport(e.ctx, api.StartImportInput{ImportId: id}); !isExc(err, api.ErrAccountHasOngoingImport) {
		t.Errorf("retry of a running import: %v, want AccountHasOngoingImportException", err)
	}
	// Another store is free.
	other := e.createStore("other")
	oid := e.start(newImport(other.Name, srcURI), engine.StartOptions{})
	if imp, _ := e.wait(oid); imp.ImportStatus != api.StatusCompleted {
		t.Errorf("import into another store: %s", imp.ImportStatus)
	}
	if imps, _ := e.store.Imports(e.ctx); len(imps) != 2 {
		t.Errorf("%d imports stored, want 2", len(imps))
	}
	if imp, err := e.eng.StopImport(e.ctx, api.StopImportInput{ImportId: id}); err != nil || imp.ImportStatus != api.StatusStopped {
		t.Fatalf("StopImport = %v, %v", imp.ImportStatus, err)
	}
}

// TestOngoingImportLimit checks that at most MaxOngoingImports imports run
// at once, new ones and retries alike.
func TestOngoingImportLimit(t *testing.T) {
	for _, limit := range []int{1, 2} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			e := newEnv(t, engine.Options{MaxOngoingImports: limit})
			day := time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC)
			e.put(key(day.Add(time.Hour)), evs("l", 2, day)...)
			// Every read waits until its import is stopped.
			e.spy.setHook(func(ctx context.Context, _ string) error {
				<-ctx.Done()
				return ctx.Err()
			})
			var ids []string
			for i := range limit {
				s := e.createStore(fmt.Sprintf("store-%d", i))
				ids = append(ids, e.start(newImport(s.Name, srcURI), engine.StartOptions{}))
			}
			extra := e.createStore("extra")
			if _, err := e.eng.StartImport(e.ctx, newImport(extra.Name, srcURI)); !isExc(err, api.ErrAccountHasOngoingImport) {
				t.Fatalf("import beyond %d running: %v, want AccountHasOngoingImportException", limit, err)
			}
			if imp, err := e.eng.StopImport(e.ctx, api.StopImportInput{ImportId: ids[0]}); err != nil || imp.ImportStatus != api.StatusStopped {
				t.Fatalf("StopImport = %v, %v", imp.ImportStatus, err)
			}
			e.start(newImport(extra.Name, srcURI), engine.StartOptions{})
			if _, err := e.eng.StartImport(e.ctx, api.StartImportInput{ImportId: ids[0]}); !isExc(err, api.ErrAccountHasOngoingImport) {
				t.Errorf("retry beyond %d running: %v, want AccountHasOngoingImportException", limit, err)
			}
		})
	}
}

// TestImportLookups checks GetImport, StopImport and Message on unknown
// and malformed import IDs.
func TestImportLookups(t *testing.T) {
	e := newEnv(t, engine.Options{})
	unknown := "00000000-0000-4000-8000-000000000000"
	for name, fn := range map[string]func(id string) error{
		"GetImport": func(id string) error { _, err := e.eng.GetImport(e.ctx, api.GetImportInput{ImportId: id}); return err },
		"StopImport": func(id string) error {
			_, err := e.eng.StopImport(e.ctx, api.StopImportInput{ImportId: id})
			return err
		},
		"Message": func(id string) error { _, err := e.eng.Message(e.ctx, id); return err },
		"ListImportFailures": func(id string) error {
			_, err := e.eng.ListImportFailures(e.ctx, api.ListImportFailuresInput{ImportId: id})
			return err
		},
	} {
		if err := fn(unknown); !isExc(err, api.ErrImportNotFound) {
			t.Errorf("%s(unknown) = %v, want ImportNotFoundException", name, err)
		}
		for _, bad := range []string{"", "x", "00000000_0000_4000_8000_000000000000"} {
			if err := fn(bad); !isExc(err, api.ErrInvalidParameter) {
				t.Errorf("%s(%q) = %v, want InvalidParameterException", name, bad, err)
			}
		}
	}
	if imps, _ := e.store.Imports(e.ctx); len(imps) != 0 {
		t.Errorf("lookups stored %d imports", len(imps))
	}
}

// TestCreateEventDataStore checks names, ARNs and duplicates.
func TestCreateEventDataStore(t *testing.T) {
	store := memsink.New()
	t.Cleanup(func() { store.Close() })
	eng := engine.New(store, engine.Options{Region: "eu-west-3", Account: "123456789012"})
	t.Cleanup(func() { eng.Close() })
	ctx := t.Context()

	var created []api.EventDataStore
	for _, name := range []string{"abc", "My.Store_1-x", strings.Repeat("n", 128)} {
		s, err := eng.CreateEventDataStore(ctx, api.CreateEventDataStoreInput{Name: name})
		if err != nil {
			t.Fatalf("CreateEventDataStore(%q): %v", name, err)
		}
		if s.Name != name || s.Status != api.EventDataStoreEnabled || s.CreatedTimestamp.IsZero() {
			t.Errorf("CreateEventDataStore(%q) = %+v", name, s)
		}
		prefix := "arn:aws:cloudtrail:eu-west-3:123456789012:eventdatastore/"
		id, ok := strings.CutPrefix(s.EventDataStoreArn, prefix)
		if !ok || len(id) < 3 {
			t.Errorf("ARN %q, want %s<id>", s.EventDataStoreArn, prefix)
		}
		created = append(created, s)
	}
	if created[0].EventDataStoreArn == created[1].EventDataStoreArn {
		t.Errorf("two stores share ARN %s", created[0].EventDataStoreArn)
	}

	for _, name := range []string{"", "ab", strings.Repeat("n", 129), "has space", "slash/name", "ünï", "semi;colon"} {
		if _, err := eng.CreateEventDataStore(ctx, api.CreateEventDataStoreInput{Name: name}); !isExc(err, api.ErrInvalidParameter) {
			t.Errorf("CreateEventDataStore(%q) = %v, want InvalidParameterException", name, err)
		}
	}
	if _, err := eng.CreateEventDataStore(ctx, api.CreateEventDataStoreInput{Name: "abc"}); !isExc(err, api.ErrEventDataStoreAlreadyExists) {
		t.Errorf("duplicate name: %v, want EventDataStoreAlreadyExistsException", err)
	}
	out, err := eng.ListEventDataStores(ctx, api.ListEventDataStoresInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.EventDataStores) != len(created) {
		t.Errorf("%d stores listed after refused creates, want %d", len(out.EventDataStores), len(created))
	}
	for i, s := range out.EventDataStores {
		c := created[i]
		// The store keeps times to the microsecond.
		if s.EventDataStoreArn != c.EventDataStoreArn || s.Name != c.Name || s.Status != c.Status ||
			!s.CreatedTimestamp.Equal(c.CreatedTimestamp.Truncate(time.Microsecond)) {
			t.Errorf("store %d listed as %+v, created as %+v", i, s, c)
		}
	}
}

// TestGetEventDataStore checks that a store is found by ARN, name or ID.
func TestGetEventDataStore(t *testing.T) {
	e := newEnv(t, engine.Options{})
	other := e.createStore("other")
	tests := []struct {
		name string
		in   string
		want *api.Exception
	}{
		{"ARN", e.eds.EventDataStoreArn, nil},
		{"name", e.eds.Name, nil},
		{"ID", storeID(e.eds), nil},
		{"empty", "", api.ErrInvalidParameter},
		{"unknown name", "nowhere", api.ErrEventDataStoreNotFound},
		{"unknown ARN", "arn:aws:cloudtrail:us-east-1:111122223333:eventdatastore/00000000-0000-4000-8000-000000000000", api.ErrEventDataStoreNotFound},
		{"malformed ARN", "arn:aws:cloudtrail:us-east-1:eventdatastore/" + storeID(e.eds), api.ErrEventDataStoreARNInvalid},
	}
	for _, tt := range tests {
		s, err := e.eng.GetEventDataStore(e.ctx, api.GetEventDataStoreInput{EventDataStore: tt.in})
		switch {
		case tt.want != nil:
			if !isExc(err, tt.want) {
				t.Errorf("%s: %v, want %s", tt.name, err, tt.want.Name)
			}
		case err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case s.EventDataStoreArn != e.eds.EventDataStoreArn || s.Name != e.eds.Name || s.Status != api.EventDataStoreEnabled:
			t.Errorf("%s: %+v, want %+v", tt.name, s, e.eds)
		}
	}
	if s, err := e.eng.GetEventDataStore(e.ctx, api.GetEventDataStoreInput{EventDataStore: other.EventDataStoreArn}); err != nil || s.Name != "other" {
		t.Errorf("GetEventDataStore(other) = %+v, %v", s, err)
	}
}

// TestQueryErrors checks that an empty statement is refused and that store
// errors are InvalidQueryStatementException.
func TestQueryErrors(t *testing.T) {
	e := newEnv(t, engine.Options{})
	if _, err := e.eng.Query(e.ctx, ""); !isExc(err, api.ErrInvalidQueryStatement) {
		t.Errorf("Query(\"\") = %v, want InvalidQueryStatementException", err)
	}
	// memsink runs no SQL: its error must come back as the API exception.
	_, err := e.eng.Query(e.ctx, fmt.Sprintf("SELECT count(*) FROM %q", storeID(e.eds)))
	if !isExc(err, api.ErrInvalidQueryStatement) {
		t.Errorf("Query on a store without SQL = %v, want InvalidQueryStatementException", err)
	}
	if errors.Is(err, api.ErrInvalidParameter) {
		t.Errorf("Query error matches another exception: %v", err)
	}
}
