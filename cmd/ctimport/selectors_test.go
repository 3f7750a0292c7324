package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ctimport/ctimport/api"
)

func TestParseSelectors(t *testing.T) {
	writes := []api.AdvancedEventSelector{{Name: "writes", FieldSelectors: []api.AdvancedFieldSelector{
		{Field: "eventCategory", Equals: []string{"Management"}},
		{Field: "readOnly", Equals: []string{"false"}},
	}}}
	two := []api.AdvancedEventSelector{
		{FieldSelectors: []api.AdvancedFieldSelector{{Field: "eventCategory", Equals: []string{"Data"}}, {Field: "resources.ARN", StartsWith: []string{"arn:aws:s3:::a/", "arn:aws:s3:::b/"}}}},
		{Name: "no kms", FieldSelectors: []api.AdvancedFieldSelector{{Field: "eventSource", NotEquals: []string{"kms.amazonaws.com"}, NotEndsWith: []string{"x,y"}}}},
	}
	file := filepath.Join(t.TempDir(), "selectors.json")
	raw, err := json.Marshal(two)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		in   []string
		want []api.AdvancedEventSelector
	}{
		{"shorthand", []string{"Name=writes,FieldSelectors=[{Field=eventCategory,Equals=[Management]},{Field=readOnly,Equals=[false]}]"}, writes},
		{"shorthand, one value without brackets", []string{"Name=writes,FieldSelectors=[{Field=eventCategory,Equals=Management},{Field=readOnly,Equals=false}]"}, writes},
		{"JSON", []string{`[{"Name":"writes","FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]},{"Field":"readOnly","Equals":["false"]}]}]`}, writes},
		{"two selectors in shorthand", []string{
			"FieldSelectors=[{Field=eventCategory,Equals=[Data]},{Field=resources.ARN,StartsWith=[arn:aws:s3:::a/,arn:aws:s3:::b/]}]",
			`Name="no kms",FieldSelectors=[{Field=eventSource,NotEquals=[kms.amazonaws.com],NotEndsWith=["x,y"]}]`,
		}, two},
		{"a file", []string{"file://" + file}, two},
		{"none", []string{"[]"}, []api.AdvancedEventSelector{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseSelectors(tc.in)
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parseSelectors(%q) = %+v, %v\nwant %+v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestParseSelectorsErrors(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{[]string{"Name=x"}, "selector 1: FieldSelectors must be a list"},
		{[]string{"Name=x,FieldSelectors=[]", "Nme=y,FieldSelectors=[]"}, "selector 2: unknown key Nme"},
		{[]string{"FieldSelectors=[{Equals=[a]}]"}, "needs a Field"},
		{[]string{"FieldSelectors=[{Field=eventName,Equal=[a]}]"}, "unknown key Equal"},
		{[]string{"FieldSelectors=[{Field=eventName,Equals=[[a]]}]"}, "Equals of eventName: expected a list of strings"},
		{[]string{"FieldSelectors=[x]"}, "must be a structure"},
		{[]string{`[{"FieldSelectors":[{"Field":"eventName","Equals":[1]}]}]`}, "expected a list of strings"},
		{[]string{`[{"Name":1,"FieldSelectors":[]}]`}, "Name must be a string"},
		{[]string{"[a]"}, "selector 1: expected Name=NAME"},
		{[]string{"FieldSelectors=[{Field=a"}, "invalid shorthand syntax"},
		{[]string{"file:///no/such/file"}, "no such file"},
	} {
		got, err := parseSelectors(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseSelectors(%q) = %+v, %v; want an error saying %q", tc.in, got, err, tc.want)
		}
	}
}

// FuzzParseSelectors parses selectors in shorthand syntax or JSON: what it
// accepts survives a round trip through JSON.
func FuzzParseSelectors(f *testing.F) {
	f.Add("Name=writes,FieldSelectors=[{Field=eventCategory,Equals=[Management]},{Field=readOnly,Equals=false}]")
	f.Add(`FieldSelectors=[{Field=eventSource,NotEquals=["kms.amazonaws.com",'x']}]`)
	f.Add(`[{"FieldSelectors":[{"Field":"eventName","StartsWith":["Get"]}]}]`)
	f.Add("FieldSelectors=[{Field=a,Equals=[b,{c=d}]}")
	f.Fuzz(func(t *testing.T, in string) {
		if strings.HasPrefix(strings.TrimSpace(in), "file://") {
			return
		}
		sels, err := parseSelectors([]string{in})
		if err != nil {
			return
		}
		raw, err := json.Marshal(sels)
		if err != nil {
			t.Fatal(err)
		}
		again, err := parseSelectors([]string{string(raw)})
		if err != nil || len(again) != len(sels) {
			t.Fatalf("parseSelectors(%q) = %+v, but its JSON %s parses to %+v, %v", in, sels, raw, again, err)
		}
	})
}

// TestImportWithSelectors creates an event data store whose one selector,
// given in shorthand syntax, keeps the write management events, imports a
// set of the corpus with KMS Decrypt events into it, and checks that it
// holds exactly the write events, none of them a Decrypt, which the test
// finds by reading the corpus's records itself; then it lists the store
// with its selectors.
func TestImportWithSelectors(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	dir, err := filepath.Abs(filepath.Join(corpusDir, "invictus-2023-07-10"))
	if err != nil {
		t.Fatal(err)
	}
	l := newLayout(t)
	l.corpus(dir, "")
	want, decrypts, records := map[string]bool{}, 0, 0
	for _, data := range l.objects {
		for _, raw := range readRecords(t, data) {
			var r struct {
				EventID       string `json:"eventID"`
				EventSource   string `json:"eventSource"`
				EventName     string `json:"eventName"`
				EventCategory string `json:"eventCategory"`
				ReadOnly      *bool  `json:"readOnly"`
			}
			if err := json.Unmarshal(raw, &r); err != nil {
				t.Fatal(err)
			}
			records++
			if r.EventSource == "kms.amazonaws.com" && r.EventName == "Decrypt" {
				decrypts++
				continue
			}
			if r.EventCategory == "Management" && r.ReadOnly != nil && !*r.ReadOnly {
				want[r.EventID] = true
			}
		}
	}
	if decrypts == 0 || len(want) == 0 {
		t.Fatalf("the corpus set has %d KMS Decrypt events and %d write events; want some of each", decrypts, len(want))
	}

	store := decode[api.EventDataStore](t, h.expect(exitOK, "create-event-data-store", "--name", "writes", "--advanced-event-selectors",
		"Name=writes,FieldSelectors=[{Field=eventCategory,Equals=[Management]},{Field=readOnly,Equals=[false]}]"))
	sels := []api.AdvancedEventSelector{{Name: "writes", FieldSelectors: []api.AdvancedFieldSelector{
		{Field: "eventCategory", Equals: []string{"Management"}},
		{Field: "readOnly", Equals: []string{"false"}},
	}}}
	if !reflect.DeepEqual(store.AdvancedEventSelectors, sels) {
		t.Errorf("create-event-data-store printed the selectors %+v, want %+v", store.AdvancedEventSelectors, sels)
	}
	imp, o := h.startImport(exitOK, store.Name, "file://"+filepath.ToSlash(dir)+"/")
	if imp.ImportStatistics.EventsCompleted != int64(len(want)) {
		t.Errorf("the import stored %d events, want %d", imp.ImportStatistics.EventsCompleted, len(want))
	}
	if unselected := fmt.Sprintf("%s events not selected", count(int64(records-len(want)))); !strings.Contains(o.stderr, unselected) {
		t.Errorf("the summary does not say %q:\n%s", unselected, o.stderr)
	}
	h.checkStored(storeID(store.EventDataStoreArn), want)

	listed := decode[api.ListEventDataStoresOutput](t, h.expect(exitOK, "list-event-data-stores"))
	if len(listed.EventDataStores) != 1 || !reflect.DeepEqual(listed.EventDataStores[0].AdvancedEventSelectors, sels) {
		t.Errorf("list-event-data-stores printed %+v, want the store with its selectors", listed)
	}
	checkOneLine(t, h.expect(exitError, "update-event-data-store", "--event-data-store", store.Name, "--advanced-event-selectors",
		"FieldSelectors=[{Field=readOnly,Equals=[yes]}]"), "ctimport: update-event-data-store: ", "InvalidEventSelectorsException")
	checkOneLine(t, h.expect(exitUsage, "update-event-data-store", "--event-data-store", store.Name, "--advanced-event-selectors",
		"FieldSelectors=[{Field=readOnly,Equals=[true]"), "ctimport: ", "invalid shorthand syntax")
}
