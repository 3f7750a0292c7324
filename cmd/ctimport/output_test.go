package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/ctimport/ctimport/api"
)

// checkGolden compares got with the golden file testdata/golden/name, or
// rewrites the file with -update.
func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test -update if the change is intended)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// The API responses the golden files show.
var (
	created  = time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	updated  = time.Date(2024, 3, 1, 10, 5, 30, 250_000_000, time.UTC)
	storeARN = "arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/0b2a6b3c-5d1e-4f7a-9c8b-1a2b3c4d5e6f"
)

func outputShapes() map[string]any {
	start, end := created.Add(-48*time.Hour), created
	return map[string]any{
		"import": api.Import{
			ImportId:     "3f9b6c2e-1d4a-4e5b-8c7d-6a5b4c3d2e1f",
			Destinations: []string{storeARN},
			ImportSource: api.ImportSource{S3: api.S3ImportSource{
				S3LocationUri:         "s3://trail-bucket/AWSLogs/",
				S3BucketRegion:        "us-east-1",
				S3BucketAccessRoleArn: "arn:aws:iam::123456789012:role/import",
			}},
			StartEventTime:   &start,
			EndEventTime:     &end,
			ImportStatus:     api.StatusFailed,
			CreatedTimestamp: created,
			UpdatedTimestamp: updated,
			ImportStatistics: &api.ImportStatistics{PrefixesFound: 3, PrefixesCompleted: 3, FilesCompleted: 1250, EventsCompleted: 1234567, FailedEntries: 2},
			CtimportBytes:    &api.ImportBytes{BytesCompleted: 987654321},
		},
		"import-without-statistics": api.Import{
			ImportId:         "3f9b6c2e-1d4a-4e5b-8c7d-6a5b4c3d2e1f",
			Destinations:     []string{storeARN},
			ImportSource:     api.ImportSource{S3: api.S3ImportSource{S3LocationUri: "file:///srv/trail-copy/"}},
			ImportStatus:     api.StatusInitializing,
			CreatedTimestamp: created,
			UpdatedTimestamp: created,
		},
		"list-imports": api.ListImportsOutput{
			Imports: []api.ImportsListItem{
				{ImportId: "3f9b6c2e-1d4a-4e5b-8c7d-6a5b4c3d2e1f", ImportStatus: api.StatusCompleted, Destinations: []string{storeARN}, CreatedTimestamp: created, UpdatedTimestamp: updated},
				{ImportId: "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d", ImportStatus: api.StatusStopped, Destinations: []string{storeARN}, CreatedTimestamp: created.Add(-time.Hour), UpdatedTimestamp: created},
			},
			NextToken: "eyJhIjoiOWE4YiJ9",
		},
		"list-imports-empty": api.ListImportsOutput{Imports: []api.ImportsListItem{}},
		"list-import-failures": api.ListImportFailuresOutput{Failures: []api.ImportFailureListItem{
			{
				Location:        "AWSLogs/123456789012/CloudTrail/us-east-1/2024/03/01/123456789012_CloudTrail_us-east-1_20240301T0955Z_a1B2c3D4e5F6g7H8.json.gz",
				Status:          api.FailureFailed,
				ErrorType:       "InvalidRecord",
				ErrorMessage:    `record 17 at byte 48213: eventTime "yesterday" is not an RFC 3339 time`,
				LastUpdatedTime: updated,
			},
			{
				Location:        "AWSLogs/123456789012/CloudTrail/us-east-1/2024/03/01/123456789012_CloudTrail_us-east-1_20240301T1000Z_Z9y8X7w6V5u4T3s2.json.gz",
				Status:          api.FailureSucceeded,
				ErrorType:       "AccessDenied",
				ErrorMessage:    "access denied reading the object",
				LastUpdatedTime: updated,
			},
		}},
		"list-event-data-stores": api.ListEventDataStoresOutput{EventDataStores: []api.EventDataStore{
			{EventDataStoreArn: storeARN, Name: "main", Status: api.EventDataStoreEnabled, RetentionPeriod: 2557, TerminationProtectionEnabled: true,
				CreatedTimestamp: created, UpdatedTimestamp: created},
			{EventDataStoreArn: "arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9", Name: "incident-2024-03",
				Status: api.EventDataStorePendingDeletion, RetentionPeriod: 90, CreatedTimestamp: updated, UpdatedTimestamp: updated},
		}},
		"event-data-store": api.EventDataStore{EventDataStoreArn: storeARN, Name: "main", Status: api.EventDataStoreEnabled, RetentionPeriod: 2557,
			TerminationProtectionEnabled: true, CreatedTimestamp: created, UpdatedTimestamp: created},
	}
}

func TestWriteOutput(t *testing.T) {
	for name, v := range outputShapes() {
		for _, format := range formats {
			t.Run(name+"."+format, func(t *testing.T) {
				var buf bytes.Buffer
				if err := writeOutput(&buf, format, v); err != nil {
					t.Fatal(err)
				}
				checkGolden(t, name+"."+format, buf.Bytes())
			})
		}
	}
}

// TestJSONOutputIsTheAPIShape checks that the json output reads back into
// the API type it was made from, with nothing lost or added.
func TestJSONOutputIsTheAPIShape(t *testing.T) {
	for name, v := range outputShapes() {
		var buf bytes.Buffer
		if err := writeOutput(&buf, "json", v); err != nil {
			t.Fatal(err)
		}
		back := reflect.New(reflect.TypeOf(v))
		dec := json.NewDecoder(&buf)
		dec.DisallowUnknownFields()
		if err := dec.Decode(back.Interface()); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if !reflect.DeepEqual(back.Elem().Interface(), v) {
			t.Errorf("%s: read back as %+v, want %+v", name, back.Elem().Interface(), v)
		}
	}
}

// queryResult is a query result with a value of every kind sink.Rows returns.
var queryResult = struct {
	cols []string
	rows [][]any
}{
	cols: []string{"eventName", "n", "share", "readOnly", "eventTime", "resources", "userIdentity", "errorCode"},
	rows: [][]any{
		{"GetObject", int64(1234567), 0.25, true, updated, []any{map[string]any{"ARN": "arn:aws:s3:::b"}}, map[string]any{"type": "IAMUser", "userName": "alice"}, nil},
		{"PutObject, \"quoted\"", int64(-3), 1e-7, false, created.In(time.FixedZone("CET", 3600)), []any{}, map[string]any{}, "AccessDenied"},
		{"Ünïcødé", int64(0), float64(42), nil, nil, nil, nil, ""},
	},
}

func TestQueryWriter(t *testing.T) {
	for _, format := range []string{"json", "table", "text", "csv"} {
		for _, tc := range []struct {
			name string
			rows [][]any
		}{{"rows", queryResult.rows}, {"no-rows", nil}} {
			t.Run(tc.name+"."+format, func(t *testing.T) {
				var buf bytes.Buffer
				q := newQueryWriter(&buf, format, queryResult.cols)
				for _, row := range tc.rows {
					if err := q.row(row); err != nil {
						t.Fatal(err)
					}
				}
				if err := q.close(); err != nil {
					t.Fatal(err)
				}
				checkGolden(t, "query-"+tc.name+"."+format, buf.Bytes())
				if format == "json" {
					var rows []map[string]any
					if err := json.Unmarshal(buf.Bytes(), &rows); err != nil || len(rows) != len(tc.rows) {
						t.Errorf("not a JSON array of %d row objects: %v", len(tc.rows), err)
					}
				}
			})
		}
	}
}

// TestQueryWriterControlCharacters checks that a value holding a tab or a
// line break, as CloudTrail's errorMessage and userAgent values can, keeps
// the table and text outputs one line per row and one column per value.
func TestQueryWriterControlCharacters(t *testing.T) {
	cols := []string{"errorMessage", "userAgent"}
	rows := [][]any{
		{"Access denied.\nSee the policy.", "agent\twith tab"},
		{"plain", "aws-cli/2.15.0"},
	}
	write := func(format string) string {
		var buf bytes.Buffer
		q := newQueryWriter(&buf, format, cols)
		for _, row := range rows {
			if err := q.row(row); err != nil {
				t.Fatal(err)
			}
		}
		if err := q.close(); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}

	text := write("text")
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) != len(rows) {
		t.Errorf("text output has %d lines for %d rows:\n%s", len(lines), len(rows), text)
	}
	for _, line := range lines {
		if n := len(strings.Split(line, "\t")); n != len(cols) {
			t.Errorf("text line %q has %d fields, want %d", line, n, len(cols))
		}
	}

	table := write("table")
	lines = strings.Split(strings.TrimSuffix(table, "\n"), "\n")
	if len(lines) != len(rows)+4 {
		t.Errorf("table has %d lines for %d rows:\n%s", len(lines), len(rows), table)
	}
	for _, line := range lines {
		if utf8.RuneCountInString(line) != utf8.RuneCountInString(lines[0]) || strings.Contains(line, "\t") {
			t.Errorf("table is not aligned:\n%s", table)
			break
		}
	}
}

// TestQueryWriterJSONSpecialFloats checks that results DuckDB can return,
// such as the NaN and infinite DOUBLEs of 'nan'::DOUBLE and 1/0.0, still
// make a JSON document.
func TestQueryWriterJSONSpecialFloats(t *testing.T) {
	var buf bytes.Buffer
	q := newQueryWriter(&buf, "json", []string{"a", "b", "c"})
	err := q.row([]any{math.NaN(), math.Inf(1), math.Inf(-1)})
	if err == nil {
		err = q.close()
	}
	if err != nil || !json.Valid(buf.Bytes()) {
		t.Errorf("row of NaN and infinities: error %v, output %q; want a valid JSON document", err, buf.String())
	}
}
