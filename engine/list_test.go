package engine_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/engine"
	"github.com/ctimport/ctimport/pipeline"
)

// pages collects every page of a listing made with max results per page,
// checking that only the last page has no NextToken.
func pages[T any](t *testing.T, max int, list func(token string) ([]T, string, error)) []T {
	t.Helper()
	var all []T
	token := ""
	for n := 0; ; n++ {
		items, next, err := list(token)
		if err != nil {
			t.Fatalf("page %d: %v", n, err)
		}
		if max > 0 && len(items) > max {
			t.Fatalf("page %d has %d items, more than MaxResults %d", n, len(items), max)
		}
		if next != "" && len(items) == 0 {
			t.Fatalf("page %d is empty but has a NextToken", n)
		}
		all = append(all, items...)
		if next == "" {
			return all
		}
		if n > 10000 {
			t.Fatalf("paging does not end")
		}
		token = next
	}
}

// importSetup runs imports into two stores, some COMPLETED and some
// FAILED, and returns their IDs, oldest first, by store and by status.
type importSetup struct {
	e        *env
	a, b     api.EventDataStore
	ids      []string // oldest first
	byStore  map[string][]string
	byStatus map[api.ImportStatus][]string
}

func setupImports(t *testing.T) *importSetup {
	e := newEnv(t, engine.Options{Now: newClock().Now})
	s := &importSetup{e: e, a: e.eds, b: e.createStore("beta"), byStore: map[string][]string{}, byStatus: map[api.ImportStatus][]string{}}
	day := time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC)
	e.put(key(day.Add(time.Hour)), evs("l", 2, day)...)
	plan := []struct {
		store api.EventDataStore
		fail  bool
	}{{s.a, false}, {s.b, false}, {s.a, true}, {s.a, false}, {s.b, true}, {s.a, false}, {s.b, false}}
	for _, p := range plan {
		if p.fail {
			e.store.FailCommits(1, errors.New("disk full"))
		}
		imp, _ := e.wait(e.start(newImport(p.store.EventDataStoreArn, srcURI), engine.StartOptions{}))
		if want := map[bool]api.ImportStatus{false: api.StatusCompleted, true: api.StatusFailed}[p.fail]; imp.ImportStatus != want {
			t.Fatalf("import %d ended %s, want %s", len(s.ids), imp.ImportStatus, want)
		}
		s.ids = append(s.ids, imp.ImportId)
		s.byStore[p.store.Name] = append(s.byStore[p.store.Name], imp.ImportId)
		s.byStatus[imp.ImportStatus] = append(s.byStatus[imp.ImportStatus], imp.ImportId)
	}
	return s
}

func reversed(s []string) []string {
	s = slices.Clone(s)
	slices.Reverse(s)
	return s
}

// TestListImports checks order, filters, page sizes and tokens.
func TestListImports(t *testing.T) {
	s := setupImports(t)
	e := s.e
	list := func(in api.ListImportsInput) ([]api.ImportsListItem, string, error) {
		out, err := e.eng.ListImports(e.ctx, in)
		return out.Imports, out.NextToken, err
	}
	ids := func(items []api.ImportsListItem) []string {
		var out []string
		for _, it := range items {
			out = append(out, it.ImportId)
		}
		return out
	}

	all, next, err := list(api.ListImportsInput{})
	if err != nil || next != "" {
		t.Fatalf("ListImports = %d items, token %q, %v", len(all), next, err)
	}
	if got, want := ids(all), reversed(s.ids); !slices.Equal(got, want) {
		t.Errorf("ListImports = %v, want newest first %v", got, want)
	}
	for i, it := range all {
		if i > 0 && it.CreatedTimestamp.After(all[i-1].CreatedTimestamp) {
			t.Errorf("item %d created after item %d", i, i-1)
		}
		if len(it.Destinations) != 1 || !strings.HasPrefix(it.Destinations[0], "arn:aws:cloudtrail:") {
			t.Errorf("item %d destinations %v", i, it.Destinations)
		}
		if it.UpdatedTimestamp.Before(it.CreatedTimestamp) {
			t.Errorf("item %d updated before it was created", i)
		}
	}

	filters := []struct {
		name string
		in   api.ListImportsInput
		want []string
	}{
		{"all", api.ListImportsInput{}, s.ids},
		{"store a by ARN", api.ListImportsInput{Destination: s.a.EventDataStoreArn}, s.byStore[s.a.Name]},
		{"store b by name", api.ListImportsInput{Destination: s.b.Name}, s.byStore[s.b.Name]},
		{"failed", api.ListImportsInput{ImportStatus: api.StatusFailed}, s.byStatus[api.StatusFailed]},
		{"completed", api.ListImportsInput{ImportStatus: api.StatusCompleted}, s.byStatus[api.StatusCompleted]},
		{"stopped", api.ListImportsInput{ImportStatus: api.StatusStopped}, nil},
		{"completed into a", api.ListImportsInput{ImportStatus: api.StatusCompleted, Destination: s.a.EventDataStoreArn},
			slices.DeleteFunc(slices.Clone(s.byStore[s.a.Name]), func(id string) bool { return slices.Contains(s.byStatus[api.StatusFailed], id) })},
	}
	for _, f := range filters {
		for _, max := range []int{0, 1, 2, 3, len(s.ids), 1000} {
			t.Run(fmt.Sprintf("%s/max %d", f.name, max), func(t *testing.T) {
				got := pages(t, max, func(token string) ([]api.ImportsListItem, string, error) {
					in := f.in
					in.MaxResults, in.NextToken = max, token
					return list(in)
				})
				if !slices.Equal(ids(got), reversed(f.want)) {
					t.Errorf("listed %v, want %v", ids(got), reversed(f.want))
				}
				for _, it := range got {
					if f.in.ImportStatus != "" && it.ImportStatus != f.in.ImportStatus {
						t.Errorf("%s listed with status %s", it.ImportId, it.ImportStatus)
					}
				}
			})
		}
	}

	for _, max := range []int{-1, 1001, 1 << 40} {
		if _, _, err := list(api.ListImportsInput{MaxResults: max}); !isExc(err, api.ErrInvalidParameter) {
			t.Errorf("MaxResults %d: %v, want InvalidParameterException", max, err)
		}
	}
	if _, _, err := list(api.ListImportsInput{ImportStatus: "DONE"}); !isExc(err, api.ErrInvalidParameter) {
		t.Errorf("ImportStatus DONE: %v, want InvalidParameterException", err)
	}
	if _, _, err := list(api.ListImportsInput{Destination: "arn:aws:cloudtrail:bad"}); !isExc(err, api.ErrEventDataStoreARNInvalid) {
		t.Errorf("malformed destination: %v, want EventDataStoreARNInvalidException", err)
	}
	// The API has no EventDataStoreNotFoundException for ListImports.
	if _, _, err := list(api.ListImportsInput{Destination: "no-such-store"}); !isExc(err, api.ErrEventDataStoreARNInvalid) {
		t.Errorf("unknown destination: %v, want EventDataStoreARNInvalidException", err)
	}

	// Tokens: garbage, and tokens of other requests.
	_, tokA, _ := list(api.ListImportsInput{MaxResults: 1, Destination: s.a.Name})
	_, tokAll, _ := list(api.ListImportsInput{MaxResults: 1})
	_, tokFailed, _ := list(api.ListImportsInput{MaxResults: 1, ImportStatus: api.StatusFailed})
	stores, _ := e.eng.ListEventDataStores(e.ctx, api.ListEventDataStoresInput{MaxResults: 1})
	if tokA == "" || tokAll == "" || tokFailed == "" || stores.NextToken == "" {
		t.Fatalf("missing tokens")
	}
	bad := []struct {
		name string
		in   api.ListImportsInput
	}{
		{"garbage", api.ListImportsInput{NextToken: "garbage!"}},
		{"base64 garbage", api.ListImportsInput{NextToken: base64.RawURLEncoding.EncodeToString([]byte("not json"))}},
		{"empty JSON", api.ListImportsInput{NextToken: base64.RawURLEncoding.EncodeToString([]byte("{}"))}},
		{"forged", api.ListImportsInput{NextToken: base64.RawURLEncoding.EncodeToString([]byte(`{"a":"00000000-0000-4000-8000-000000000000","f":"imports||"}`))}},
		{"store filter token without filter", api.ListImportsInput{NextToken: tokA}},
		{"unfiltered token with store filter", api.ListImportsInput{NextToken: tokAll, Destination: s.b.Name}},
		{"unfiltered token with status filter", api.ListImportsInput{NextToken: tokAll, ImportStatus: api.StatusFailed}},
		{"status token with other status", api.ListImportsInput{NextToken: tokFailed, ImportStatus: api.StatusCompleted}},
		{"ListEventDataStores token", api.ListImportsInput{NextToken: stores.NextToken}},
	}
	for _, b := range bad {
		if _, _, err := list(b.in); !isExc(err, api.ErrInvalidNextToken) {
			t.Errorf("%s: %v, want InvalidNextTokenException", b.name, err)
		}
	}
	// A token stays good for the same request, with another page size.
	got, _, err := list(api.ListImportsInput{NextToken: tokA, Destination: s.a.EventDataStoreArn, MaxResults: 100})
	if err != nil || !slices.Equal(ids(got), reversed(s.byStore[s.a.Name])[1:]) {
		t.Errorf("second page of store a: %v, %v", ids(got), err)
	}
}

// TestListImportFailures checks order and paging of failure entries.
func TestListImportFailures(t *testing.T) {
	e := newEnv(t, engine.Options{})
	day := time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC)
	var bad []string
	for i := range 7 {
		k := key(day.Add(time.Duration(i+1) * time.Hour))
		e.putRaw(k, []byte("not gzip data, and long enough for a header"))
		bad = append(bad, k)
	}
	e.put(key(day.Add(9*time.Hour)), evs("ok", 2, day)...)
	imp, _ := e.run()
	if imp.ImportStatus != api.StatusFailed || imp.ImportStatistics.FailedEntries != 7 {
		t.Fatalf("import %s %+v", imp.ImportStatus, imp.ImportStatistics)
	}
	id := imp.ImportId
	other, _ := e.run() // a second import, with failures of its own
	list := func(in api.ListImportFailuresInput) ([]api.ImportFailureListItem, string, error) {
		out, err := e.eng.ListImportFailures(e.ctx, in)
		return out.Failures, out.NextToken, err
	}
	for _, max := range []int{0, 1, 2, 3, 6, 7, 8, 1000} {
		got := pages(t, max, func(token string) ([]api.ImportFailureListItem, string, error) {
			return list(api.ListImportFailuresInput{ImportId: id, MaxResults: max, NextToken: token})
		})
		var keys []string
		for _, f := range got {
			keys = append(keys, f.Location)
			if f.Status != api.FailureFailed || f.ErrorType != pipeline.ErrorInvalidGzip {
				t.Errorf("failure %+v", f)
			}
		}
		if !slices.Equal(keys, bad) {
			t.Errorf("MaxResults %d: listed %v, want %v", max, keys, bad)
		}
	}
	for _, max := range []int{-1, 1001} {
		if _, _, err := list(api.ListImportFailuresInput{ImportId: id, MaxResults: max}); !isExc(err, api.ErrInvalidParameter) {
			t.Errorf("MaxResults %d: %v, want InvalidParameterException", max, err)
		}
	}
	_, tok, _ := list(api.ListImportFailuresInput{ImportId: id, MaxResults: 2})
	_, otherTok, _ := list(api.ListImportFailuresInput{ImportId: other.ImportId, MaxResults: 2})
	imps, _ := e.eng.ListImports(e.ctx, api.ListImportsInput{MaxResults: 1})
	if tok == "" || otherTok == "" || imps.NextToken == "" {
		t.Fatalf("missing tokens")
	}
	for name, token := range map[string]string{
		"garbage":                "%%%",
		"empty JSON":             base64.RawURLEncoding.EncodeToString([]byte("{}")),
		"another import's token": otherTok,
		"ListImports token":      imps.NextToken,
	} {
		if _, _, err := list(api.ListImportFailuresInput{ImportId: id, NextToken: token}); !isExc(err, api.ErrInvalidNextToken) {
			t.Errorf("%s: %v, want InvalidNextTokenException", name, err)
		}
	}
	if got, _, err := list(api.ListImportFailuresInput{ImportId: id, NextToken: tok}); err != nil || len(got) != 5 || got[0].Location != bad[2] {
		t.Errorf("page after the token: %d items, %v", len(got), err)
	}
}

// TestListEventDataStores checks order and paging of event data stores.
func TestListEventDataStores(t *testing.T) {
	e := newEnv(t, engine.Options{Now: newClock().Now})
	want := []string{e.eds.EventDataStoreArn}
	for i := range 6 {
		want = append(want, e.createStore(fmt.Sprintf("store-%d", i)).EventDataStoreArn)
	}
	list := func(in api.ListEventDataStoresInput) ([]api.EventDataStore, string, error) {
		out, err := e.eng.ListEventDataStores(e.ctx, in)
		return out.EventDataStores, out.NextToken, err
	}
	for _, max := range []int{0, 1, 2, 3, 7, 1000} {
		got := pages(t, max, func(token string) ([]api.EventDataStore, string, error) {
			return list(api.ListEventDataStoresInput{MaxResults: max, NextToken: token})
		})
		var arns []string
		for _, s := range got {
			arns = append(arns, s.EventDataStoreArn)
		}
		if !slices.Equal(arns, want) {
			t.Errorf("MaxResults %d: listed %v, want oldest first %v", max, arns, want)
		}
	}
	for _, max := range []int{-1, 1001} {
		if _, _, err := list(api.ListEventDataStoresInput{MaxResults: max}); !isExc(err, api.ErrInvalidMaxResults) {
			t.Errorf("MaxResults %d: %v, want InvalidMaxResultsException", max, err)
		}
	}
	day := time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC)
	e.put(key(day.Add(time.Hour)), evs("l", 2, day)...)
	e.run()
	e.run()
	imps, _ := e.eng.ListImports(e.ctx, api.ListImportsInput{MaxResults: 1})
	for name, token := range map[string]string{
		"garbage":           "garbage",
		"empty JSON":        base64.RawURLEncoding.EncodeToString([]byte("{}")),
		"ListImports token": imps.NextToken,
	} {
		if _, _, err := list(api.ListEventDataStoresInput{NextToken: token}); !isExc(err, api.ErrInvalidNextToken) {
			t.Errorf("%s: %v, want InvalidNextTokenException", name, err)
		}
	}
}
