package awsmodel

import (
	"encoding/json"
	"errors"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ctimport/ctimport/api"
)

var served = []string{
	"StartImport", "GetImport", "ListImports", "StopImport", "ListImportFailures",
	"CreateEventDataStore", "GetEventDataStore", "ListEventDataStores",
	"UpdateEventDataStore", "DeleteEventDataStore", "RestoreEventDataStore",
	"StartQuery", "DescribeQuery", "GetQueryResults", "CancelQuery", "ListQueries",
}

const (
	uuid = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
	arn  = "arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
)

func TestValidate(t *testing.T) {
	long := strings.Repeat("a", 10001)
	tests := []struct {
		op, body string
		want     string // exception name, "" for none
		message  string // a part of the message
	}{
		{"StartImport", `{"Destinations":["` + arn + `"],"ImportSource":{"S3":{"S3LocationUri":"s3://bucket/AWSLogs/","S3BucketRegion":"us-east-1","S3BucketAccessRoleArn":"arn:aws:iam::123456789012:role/import"}},"StartEventTime":1700000000,"EndEventTime":1700003600.5}`, "", ""},
		{"StartImport", `{"ImportId":"` + uuid + `"}`, "", ""},
		{"StartImport", `{"StartEventTime":"2023-11-14T22:13:20Z","EndEventTime":1.7e9}`, "", ""},
		{"GetImport", `{"ImportId":"` + uuid + `","Unknown":{"x":[1]},"Other":null}`, "", ""},
		{"StopImport", `{"ImportId":"` + uuid + `"}`, "", ""},
		{"ListImports", ``, "", ""},
		{"ListImports", " {} \n", "", ""},
		{"ListImports", `{"MaxResults":1000,"Destination":"` + arn + `","ImportStatus":"COMPLETED","NextToken":"abcd"}`, "", ""},
		{"ListImports", `{"MaxResults":null,"NextToken":null}`, "", ""},
		{"ListImportFailures", `{"ImportId":"` + uuid + `","MaxResults":1,"NextToken":"next"}`, "", ""},
		{"CreateEventDataStore", `{"Name":"my-store","RetentionPeriod":7,"MultiRegionEnabled":true,"TerminationProtectionEnabled":false,"TagsList":[{"Key":"k","Value":"v"}],"AdvancedEventSelectors":[{"Name":"mgmt","FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]}]}],"BillingMode":"FIXED_RETENTION_PRICING"}`, "", ""},
		{"CreateEventDataStore", `{"Name":"abc","TagsList":[{"Key":"` + strings.Repeat("é", 128) + `"}]}`, "", ""},
		{"GetEventDataStore", `{"EventDataStore":"` + arn + `"}`, "", ""},
		{"ListEventDataStores", `{"MaxResults":1,"NextToken":"abcd"}`, "", ""},
		{"UpdateEventDataStore", `{"EventDataStore":"` + arn + `","Name":"renamed","RetentionPeriod":3653,"TerminationProtectionEnabled":false}`, "", ""},
		{"DeleteEventDataStore", `{"EventDataStore":"` + uuid + `"}`, "", ""},
		{"RestoreEventDataStore", `{"EventDataStore":"` + arn + `"}`, "", ""},
		{"StartQuery", `{"QueryStatement":"SELECT eventID FROM eds\nWHERE eventTime > '2023-01-01'"}`, "", ""},
		{"StartQuery", `{"QueryAlias":"alias","QueryParameters":["p"],"EventDataStoreOwnerAccountId":"x123456789012"}`, "", ""},
		{"DescribeQuery", `{"QueryId":"` + uuid + `"}`, "", ""},
		{"GetQueryResults", `{"QueryId":"` + uuid + `","MaxQueryResults":1000,"NextToken":"next"}`, "", ""},
		{"CancelQuery", `{"QueryId":"` + uuid + `","EventDataStore":"` + arn + `"}`, "", ""},
		{"ListQueries", `{"EventDataStore":"` + arn + `","MaxResults":1000,"NextToken":"abcd","StartTime":1700000000,"EndTime":"2023-11-14T22:13:20Z","QueryStatus":"CANCELLED"}`, "", ""},

		{"GetImport", `{"ImportId":"abc"}`, "InvalidParameterException",
			"1 validation error detected: Value 'abc' at 'importId' failed to satisfy constraint: Member must have length greater than or equal to 36"},
		{"GetImport", `{"ImportId":"0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0"}`, "InvalidParameterException",
			"Member must satisfy regular expression pattern: ^[a-f0-9\\-]+$"},
		{"GetImport", `{}`, "InvalidParameterException",
			"1 validation error detected: Value null at 'importId' failed to satisfy constraint: Member must not be null"},
		{"GetImport", `{"ImportId":null}`, "InvalidParameterException", "at 'importId'"},
		{"GetImport", `{"importId":"` + uuid + `"}`, "InvalidParameterException", "Member must not be null"},
		{"ListEventDataStores", `{"MaxResults":0}`, "InvalidMaxResultsException",
			"Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1"},
		{"ListEventDataStores", `{"MaxResults":1001}`, "InvalidMaxResultsException", "Member must have value less than or equal to 1000"},
		{"ListEventDataStores", `{"NextToken":"abc"}`, "InvalidNextTokenException", "at 'nextToken'"},
		{"ListImports", `{"MaxResults":0}`, "InvalidParameterException", "at 'maxResults'"},
		{"ListImports", `{"NextToken":"abc"}`, "InvalidNextTokenException",
			"Value 'abc' at 'nextToken' failed to satisfy constraint: Member must have length greater than or equal to 4"},
		{"ListImports", `{"Destination":"a b"}`, "EventDataStoreARNInvalidException", "Member must satisfy regular expression pattern"},
		{"ListImports", `{"ImportStatus":"DONE"}`, "InvalidParameterException",
			"Value 'DONE' at 'importStatus' failed to satisfy constraint: Member must satisfy enum value set: [INITIALIZING, IN_PROGRESS, FAILED, STOPPED, COMPLETED]"},
		{"ListImports", `{"MaxResults":0,"NextToken":"abc"}`, "InvalidParameterException",
			"2 validation errors detected: Value '0' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1; Value 'abc' at 'nextToken'"},
		{"ListQueries", `{}`, "InvalidParameterException", "Value null at 'eventDataStore'"},
		{"ListQueries", `{"EventDataStore":"` + arn + `","MaxResults":0}`, "InvalidMaxResultsException", "at 'maxResults'"},
		{"ListQueries", `{"EventDataStore":"` + arn + `","NextToken":"abc"}`, "InvalidNextTokenException", "at 'nextToken'"},
		{"ListQueries", `{"EventDataStore":"a b"}`, "EventDataStoreARNInvalidException", "at 'eventDataStore'"},
		{"ListQueries", `{"EventDataStore":"` + arn + `","QueryStatus":"DONE"}`, "InvalidQueryStatusException",
			"Value 'DONE' at 'queryStatus' failed to satisfy constraint: Member must satisfy enum value set: [QUEUED, RUNNING, FINISHED, FAILED, CANCELLED, TIMED_OUT]"},
		{"ListImportFailures", `{"ImportId":"` + uuid + `","MaxResults":1001}`, "InvalidParameterException", "at 'maxResults'"},
		{"GetQueryResults", `{"QueryId":"` + uuid + `","MaxQueryResults":0}`, "InvalidMaxResultsException", "at 'maxQueryResults'"},
		{"StartQuery", `{"QueryStatement":""}`, "InvalidQueryStatementException",
			"Value '' at 'queryStatement' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"StartQuery", `{"QueryStatement":"` + long + `"}`, "InvalidQueryStatementException",
			"Value '" + long[:64] + "...' at 'queryStatement' failed to satisfy constraint: Member must have length less than or equal to 10000"},
		{"StartQuery", `{"QueryAlias":"1alias"}`, "InvalidParameterException", "at 'queryAlias'"},
		{"StartQuery", `{"QueryParameters":[]}`, "InvalidParameterException",
			"Value '[]' at 'queryParameters' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"StartQuery", `{"EventDataStoreOwnerAccountId":"abcdefghijkl"}`, "InvalidParameterException", "pattern: \\d+"},
		{"StartImport", `{"Destinations":[]}`, "InvalidParameterException",
			"Value '[]' at 'destinations' failed to satisfy constraint: Member must have length greater than or equal to 1"},
		{"StartImport", `{"Destinations":["a","b"]}`, "InvalidParameterException",
			"Value '[a, b]' at 'destinations' failed to satisfy constraint: Member must have length less than or equal to 1"},
		{"StartImport", `{"Destinations":["a b"]}`, "EventDataStoreARNInvalidException", "at 'destinations.1.member'"},
		{"StartImport", `{"Destinations":[null]}`, "EventDataStoreARNInvalidException",
			"Value null at 'destinations.1.member' failed to satisfy constraint: Member must not be null"},
		{"StartImport", `{"ImportSource":{}}`, "InvalidParameterException", "Value null at 'importSource.s3'"},
		{"StartImport", `{"ImportSource":{"S3":{"S3LocationUri":"s3://b/","S3BucketAccessRoleArn":"r"}}}`, "InvalidParameterException",
			"1 validation error detected: Value null at 'importSource.s3.s3BucketRegion' failed to satisfy constraint: Member must not be null"},
		{"StopImport", `{"ImportId":""}`, "InvalidParameterException", "Member must have length greater than or equal to 36"},
		{"CreateEventDataStore", `{"Name":"ab"}`, "InvalidParameterException", "at 'name'"},
		{"CreateEventDataStore", `{}`, "InvalidParameterException", "Value null at 'name'"},
		{"CreateEventDataStore", `{"Name":"abc","RetentionPeriod":6}`, "InvalidParameterException", "Member must have value greater than or equal to 7"},
		{"CreateEventDataStore", `{"Name":"abc","TagsList":[{"Key":"` + strings.Repeat("é", 129) + `"}]}`, "InvalidParameterException",
			"at 'tagsList.1.member.key' failed to satisfy constraint: Member must have length less than or equal to 128"},
		{"CreateEventDataStore", `{"Name":"abc","AdvancedEventSelectors":[{"FieldSelectors":[{"Field":"eventCategory","Equals":[]}]}]}`, "InvalidParameterException",
			"at 'advancedEventSelectors.1.member.fieldSelectors.1.member.equals'"},
		{"CreateEventDataStore", `{"Name":"abc","BillingMode":"FREE"}`, "InvalidParameterException", "enum value set"},
		{"GetEventDataStore", `{"EventDataStore":"ab"}`, "EventDataStoreARNInvalidException", "at 'eventDataStore'"},
		{"GetEventDataStore", `{}`, "InvalidParameterException", "Value null at 'eventDataStore'"},
		{"UpdateEventDataStore", `{"Name":"renamed"}`, "InvalidParameterException", "Value null at 'eventDataStore'"},
		{"UpdateEventDataStore", `{"EventDataStore":"` + uuid + `","RetentionPeriod":3654}`, "InvalidParameterException", "Member must have value less than or equal to 3653"},
		{"UpdateEventDataStore", `{"EventDataStore":"` + uuid + `","Name":"a b"}`, "InvalidParameterException", "at 'name'"},
		{"DeleteEventDataStore", `{}`, "InvalidParameterException", "Value null at 'eventDataStore'"},
		{"RestoreEventDataStore", `{"EventDataStore":"a b"}`, "EventDataStoreARNInvalidException", "at 'eventDataStore'"},
		{"DescribeQuery", `{"RefreshId":"123"}`, "InvalidParameterException", "at 'refreshId'"},
		{"CancelQuery", `{"QueryId":"` + uuid + `","EventDataStore":"a b"}`, "EventDataStoreARNInvalidException", "at 'eventDataStore'"},

		{"GetImport", `{"ImportId":5}`, "SerializationException", "Value at 'importId' must be a string."},
		{"ListImports", `{"MaxResults":"5"}`, "SerializationException", "'maxResults' must be an integer"},
		{"ListImports", `{"MaxResults":1.5}`, "SerializationException", "'maxResults' must be a 32-bit integer"},
		{"ListImports", `{"MaxResults":2147483648}`, "SerializationException", "'maxResults' must be a 32-bit integer"},
		{"StartImport", `{"StartEventTime":true}`, "SerializationException", "'startEventTime' must be a timestamp"},
		{"StartImport", `{"StartEventTime":"yesterday"}`, "SerializationException", "'startEventTime' must be epoch seconds or an RFC 3339 timestamp"},
		{"StartImport", `{"Destinations":"` + arn + `"}`, "SerializationException", "'destinations' must be an array"},
		{"StartImport", `{"ImportSource":[]}`, "SerializationException", "'importSource' must be an object"},
		{"StartImport", `{"ImportSource":{"S3":{"S3LocationUri":1}}}`, "SerializationException", "'importSource.s3.s3LocationUri' must be a string"},
		{"StartImport", `{"ImportId":"abc","Destinations":[1]}`, "SerializationException", "'destinations.1.member' must be a string"},
		{"CreateEventDataStore", `{"Name":"abc","MultiRegionEnabled":"yes"}`, "SerializationException", "'multiRegionEnabled' must be a boolean"},
		{"GetImport", `[]`, "SerializationException", "not a JSON object"},
		{"GetImport", `null`, "SerializationException", "not a JSON object"},
		{"GetImport", `{`, "SerializationException", "not valid JSON"},
		{"GetImport", `{} {}`, "SerializationException", "after its JSON object"},
	}
	for _, tt := range tests {
		op, ok := Lookup(tt.op)
		if !ok {
			t.Fatalf("Lookup(%q) failed", tt.op)
		}
		err := op.Validate([]byte(tt.body))
		if tt.want == "" {
			if err != nil {
				t.Errorf("%s %s: %v", tt.op, tt.body, err)
			}
			continue
		}
		var e *api.Exception
		if !errors.As(err, &e) || e.Name != tt.want || !strings.Contains(e.Message, tt.message) {
			t.Errorf("%s %.100s:\n got %v\nwant %s with %q", tt.op, tt.body, err, tt.want, tt.message)
		}
	}
}

func TestLookup(t *testing.T) {
	for _, name := range served {
		op, ok := Lookup(name)
		if !ok || op.Name() != name || op.input == nil {
			t.Errorf("Lookup(%q) = %v, %v", name, op, ok)
		}
	}
	if _, ok := Lookup("DeleteTrail"); ok {
		t.Error("Lookup found an operation ctimport does not serve")
	}
	if got, want := Operations(), slices.Sorted(slices.Values(served)); !slices.Equal(got, want) {
		t.Errorf("Operations() = %v, want %v", got, want)
	}
}

func TestErrors(t *testing.T) {
	op, _ := Lookup("StartImport")
	got := op.Errors()
	want := []string{
		"AccountHasOngoingImportException", "EventDataStoreARNInvalidException", "EventDataStoreNotFoundException",
		"InvalidEventDataStoreStatusException", "InvalidEventDataStoreCategoryException", "InactiveEventDataStoreException",
		"InvalidImportSourceException", "ImportNotFoundException", "InvalidParameterException",
		"InsufficientEncryptionPolicyException", "OperationNotPermittedException", "UnsupportedOperationException",
	}
	if !slices.Equal(got, want) {
		t.Errorf("StartImport errors = %v, want %v", got, want)
	}
	got[0] = "changed"
	if op.Errors()[0] == "changed" {
		t.Error("Errors shares its slice with the model")
	}
	op, _ = Lookup("ListImports")
	if slices.Contains(op.Errors(), "InvalidMaxResultsException") {
		t.Error("ListImports lists InvalidMaxResultsException")
	}
}

// skippedPatterns are the shapes whose patterns Go cannot compile.
var skippedPatterns []string

func TestPatterns(t *testing.T) {
	if !slices.Equal(loaded.skipped, skippedPatterns) {
		t.Errorf("skipped patterns = %v, want %v", loaded.skipped, skippedPatterns)
	}
	n := 0
	for name, sh := range loaded.shapes {
		if sh.pattern == "" {
			continue
		}
		n++
		if (sh.re == nil) != slices.Contains(skippedPatterns, name) {
			t.Errorf("shape %s: pattern %q compiled to %v", name, sh.pattern, sh.re)
		}
	}
	if n == 0 {
		t.Error("the model has no patterns")
	}
}

func TestGoPattern(t *testing.T) {
	p := loaded.shapes["PartitionKeyName"].pattern
	want := `[\x{0020}-\x{D7FF}\x{E000}-\x{FFFD}\x{10000}-\x{10FFFF}\t]*`
	if got := goPattern(p); got != want {
		t.Fatalf("goPattern(%q) = %q, want %q", p, got, want)
	}
	re := regexp.MustCompile("^" + want + "$")
	for s, match := range map[string]bool{"key\t😀 é": true, "\x01": false, "\n": false, "": true} {
		if re.MatchString(s) != match {
			t.Errorf("%q matches %v, want %v", s, !match, match)
		}
	}
}

func TestModelTrimmed(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(modelJSON, &doc); err != nil {
		t.Fatal(err)
	}
	if keys := slices.Sorted(maps.Keys(doc)); !slices.Equal(keys, []string{"metadata", "operations", "shapes"}) {
		t.Errorf("top-level keys = %v", keys)
	}
	ops := doc["operations"].(map[string]any)
	shapes := doc["shapes"].(map[string]any)
	if keys := slices.Sorted(maps.Keys(ops)); !slices.Equal(keys, slices.Sorted(slices.Values(served))) {
		t.Errorf("operations = %v, want %v", keys, served)
	}

	reach := map[string]bool{}
	var visit func(name string)
	visit = func(name string) {
		if reach[name] {
			return
		}
		reach[name] = true
		sh, ok := shapes[name].(map[string]any)
		if !ok {
			t.Errorf("shape %s is missing", name)
			return
		}
		if members, ok := sh["members"].(map[string]any); ok {
			for _, m := range members {
				visit(m.(map[string]any)["shape"].(string))
			}
		}
		for _, k := range []string{"member", "key", "value"} {
			if ref, ok := sh[k].(map[string]any); ok {
				visit(ref["shape"].(string))
			}
		}
	}
	for name, o := range ops {
		op := o.(map[string]any)
		if keys := slices.Sorted(maps.Keys(op)); !slices.Equal(keys, []string{"errors", "http", "input", "name", "output"}) {
			t.Errorf("operation %s has keys %v", name, keys)
		}
		visit(op["input"].(map[string]any)["shape"].(string))
		visit(op["output"].(map[string]any)["shape"].(string))
		for _, e := range op["errors"].([]any) {
			visit(e.(map[string]any)["shape"].(string))
		}
	}
	for name := range shapes {
		if !reach[name] {
			t.Errorf("shape %s is not reachable from the operations", name)
		}
	}

	var noDocs func(path string, v any)
	noDocs = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if k == "documentation" {
					t.Errorf("%s has documentation", path)
				}
				noDocs(path+"."+k, x)
			}
		case []any:
			for _, x := range v {
				noDocs(path, x)
			}
		}
	}
	noDocs("model", doc)
}

func TestShapeTypes(t *testing.T) {
	known := []string{"structure", "list", "map", "string", "integer", "long", "boolean", "timestamp"}
	for name, sh := range loaded.shapes {
		if !slices.Contains(known, sh.typ) {
			t.Errorf("shape %s has type %q, which Validate does not check", name, sh.typ)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	for _, data := range []string{
		`{`,
		`{"shapes":{"A":{"type":"list","member":{"shape":"B"}}}}`,
		`{"shapes":{"A":{"type":"structure","members":{"x":{"shape":"B"}}}}}`,
		`{"operations":{"Op":{"input":{"shape":"B"}}}}`,
	} {
		if _, err := load([]byte(data)); err == nil || !strings.HasPrefix(err.Error(), "awsmodel: ") {
			t.Errorf("load(%s) = %v, want an error", data, err)
		}
	}
}

func FuzzValidate(f *testing.F) {
	for _, seed := range []string{
		``,
		`{}`,
		`{"Destinations":["` + arn + `"],"ImportSource":{"S3":{"S3LocationUri":"s3://b/","S3BucketRegion":"us-east-1","S3BucketAccessRoleArn":"r"}},"StartEventTime":1700000000}`,
		`{"ImportId":"abc","MaxResults":0,"NextToken":"abc","QueryStatement":""}`,
		`{"TagsList":[{"Key":null}],"AdvancedEventSelectors":[{"FieldSelectors":[{"Field":"a","Equals":["x"]}]}]}`,
		`[1]`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		for _, name := range served {
			op, _ := Lookup(name)
			err := op.Validate([]byte(body))
			var e *api.Exception
			if err != nil && (!errors.As(err, &e) || e.Name == "" || e.Message == "") {
				t.Fatalf("%s: Validate(%q) = %v", name, body, err)
			}
		}
	})
}
