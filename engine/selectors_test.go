package engine_test

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/engine"
)

// corpusRecord holds the members of a corpus record that the selectors of
// TestSelectorsCorpus test.
type corpusRecord struct {
	EventID         string `json:"eventID"`
	EventSource     string `json:"eventSource"`
	EventName       string `json:"eventName"`
	EventCategory   *string
	ManagementEvent *bool
	ReadOnly        *bool `json:"readOnly"`
	UserIdentity    *struct {
		ARN string `json:"arn"`
	} `json:"userIdentity"`
	Resources []struct {
		Type string `json:"type"`
		ARN  string `json:"ARN"`
	} `json:"resources"`
}

// TestSelectorsCorpus imports the corpus into event data stores with
// advanced event selectors and checks that each stores the events the test
// selects by reading the corpus's records itself, that the events left
// out are counted, and that Verify finds the imports whole.
func TestSelectorsCorpus(t *testing.T) {
	var records []corpusRecord
	sets := map[string][]int{} // the indexes in records of each set's records
	decrypts := 0
	for _, f := range loadCorpus(t) {
		for _, raw := range f.records {
			var r corpusRecord
			if err := json.Unmarshal(raw, &r); err != nil {
				t.Fatal(err)
			}
			var cat struct {
				EventCategory   *string `json:"eventCategory"`
				ManagementEvent *bool   `json:"managementEvent"`
			}
			if err := json.Unmarshal(raw, &cat); err != nil {
				t.Fatal(err)
			}
			r.EventCategory, r.ManagementEvent = cat.EventCategory, cat.ManagementEvent
			sets[f.set] = append(sets[f.set], len(records))
			records = append(records, r)
			if r.EventSource == "kms.amazonaws.com" && r.EventName == "Decrypt" {
				decrypts++
				if r.ReadOnly == nil || !*r.ReadOnly {
					t.Errorf("KMS Decrypt event %s is not read-only", r.EventID)
				}
			}
		}
	}
	if decrypts == 0 {
		t.Fatal("the corpus has no KMS Decrypt event")
	}
	category := func(r corpusRecord) string {
		switch {
		case r.EventCategory != nil:
			return *r.EventCategory
		case r.ManagementEvent != nil && !*r.ManagementEvent:
			return "Data"
		}
		return "Management"
	}
	is := func(b *bool, v bool) bool { return b != nil && *b == v }

	for _, tc := range []struct {
		name string
		sels []api.AdvancedEventSelector
		keep func(r corpusRecord) bool
	}{
		{"write management events: no KMS Decrypt, nothing read-only", []api.AdvancedEventSelector{{FieldSelectors: []api.AdvancedFieldSelector{
			{Field: "eventCategory", Equals: []string{"Management"}},
			{Field: "readOnly", Equals: []string{"false"}},
		}}}, func(r corpusRecord) bool { return category(r) == "Management" && is(r.ReadOnly, false) }},
		{"data events, or reads by assumed roles outside KMS and S3", []api.AdvancedEventSelector{
			{FieldSelectors: []api.AdvancedFieldSelector{{Field: "eventCategory", Equals: []string{"Data"}}}},
			{FieldSelectors: []api.AdvancedFieldSelector{
				{Field: "readOnly", Equals: []string{"true"}},
				{Field: "userIdentity.arn", StartsWith: []string{"arn:aws:sts::"}},
				{Field: "eventSource", NotEquals: []string{"kms.amazonaws.com"}, NotStartsWith: []string{"s3."}},
				{Field: "eventName", NotEndsWith: []string{"Policy", "Policies"}},
			}},
		}, func(r corpusRecord) bool {
			return category(r) == "Data" ||
				is(r.ReadOnly, true) && r.UserIdentity != nil && strings.HasPrefix(r.UserIdentity.ARN, "arn:aws:sts::") &&
					r.EventSource != "kms.amazonaws.com" && !strings.HasPrefix(r.EventSource, "s3.") &&
					!strings.HasSuffix(r.EventName, "Policy") && !strings.HasSuffix(r.EventName, "Policies")
		}},
		{"resources of a type, of no stratus bucket", []api.AdvancedEventSelector{{FieldSelectors: []api.AdvancedFieldSelector{
			{Field: "resources.type", Equals: []string{"AWS::S3::Bucket", "AWS::IAM::Role"}},
			{Field: "resources.ARN", NotStartsWith: []string{"arn:aws:s3:::stratus-red-team-"}},
		}}}, func(r corpusRecord) bool {
			typed := false
			for _, res := range r.Resources {
				if strings.HasPrefix(res.ARN, "arn:aws:s3:::stratus-red-team-") {
					return false
				}
				typed = typed || res.Type == "AWS::S3::Bucket" || res.Type == "AWS::IAM::Role"
			}
			return typed
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, engine.Options{})
			eds, err := e.eng.CreateEventDataStore(e.ctx, api.CreateEventDataStoreInput{Name: "selected",
				EventDataStoreSettings: api.EventDataStoreSettings{AdvancedEventSelectors: tc.sels}})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, r := range records {
				if tc.keep(r) {
					want = append(want, r.EventID)
				}
			}
			if len(want) == 0 || len(want) == len(records) {
				t.Fatalf("the selectors keep %d of the corpus's %d events; want some, not all", len(want), len(records))
			}
			abs, err := filepath.Abs(corpusDir)
			if err != nil {
				t.Fatal(err)
			}
			for set, idx := range sets {
				var kept int64
				for _, i := range idx {
					if tc.keep(records[i]) {
						kept++
					}
				}
				id := e.start(newImport(eds.EventDataStoreArn, "file://"+filepath.ToSlash(filepath.Join(abs, set))+"/"), engine.StartOptions{})
				imp, p := e.wait(id)
				if imp.ImportStatus != api.StatusCompleted || imp.ImportStatistics.EventsCompleted != kept {
					t.Errorf("the import of %s ended %s with %+v; want COMPLETED with %d events", set, imp.ImportStatus, imp.ImportStatistics, kept)
				}
				if known(t, p) && p.EventsUnselected != int64(len(idx))-kept {
					t.Errorf("the import of %s counted %d events not selected, want %d", set, p.EventsUnselected, int64(len(idx))-kept)
				}
				sum, err := e.eng.Verify(e.ctx, id, func(d engine.Drift) { t.Errorf("verify %s: %+v", set, d) })
				if err != nil || sum.Drifts != 0 || sum.Events != kept {
					t.Errorf("Verify of the import of %s = %+v, %v; want no drift over %d events", set, sum, err, kept)
				}
			}
			e.checkStored(eds, want)
		})
	}
}
