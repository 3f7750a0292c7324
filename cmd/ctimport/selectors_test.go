package main

import (
	"encoding/json"
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
