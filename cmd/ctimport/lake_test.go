package main

import (
	"compress/gzip"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
)

// lakeServer serves a store into which the invictus sample of real
// deliveries is imported, and returns the server, the store's ARN and a
// record of the sample to query: an assumed role's call with resources.
func lakeServer(t *testing.T) (*serverProc, string, map[string]any) {
	t.Helper()
	sample, err := filepath.Abs(filepath.Join(corpusDir, "invictus-2023-07-10"))
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	err = filepath.WalkDir(sample, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".gz" || rec != nil {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			return err
		}
		var doc struct{ Records []map[string]any }
		if err := json.NewDecoder(zr).Decode(&doc); err != nil {
			return err
		}
		for _, r := range doc.Records {
			ui, _ := r["userIdentity"].(map[string]any)
			res, _ := r["resources"].([]any)
			if ui["type"] == "AssumedRole" && len(res) > 0 {
				rec = r
				break
			}
		}
		return nil
	})
	if err != nil || rec == nil {
		t.Fatalf("no record of an assumed role with resources in the sample: %v", err)
	}
	h := newHarness(t)
	s := h.serve(nil, "--file-sources", sample)
	cl := s.sdk()
	arn := aws.ToString(createStoreSDK(t, cl, "lake").EventDataStoreArn)
	imp := startImportSDK(t, cl, arn, "file://"+filepath.ToSlash(sample)+"/")
	if out := waitImport(t, cl, aws.ToString(imp.ImportId)); out.ImportStatus != types.ImportStatusCompleted {
		t.Fatalf("import ended %s", out.ImportStatus)
	}
	return s, arn, rec
}

// TestServeLakeQueriesSDK reads Lake's result shape through the SDK's
// CloudTrail client: every value a string, timestamps as Lake prints them,
// struct fields and map values as their text, nested values as JSON text,
// unnamed expressions _col<i>, and the statistics of what was scanned.
// Each answer is taken from the sample's own record.
func TestServeLakeQueriesSDK(t *testing.T) {
	t.Parallel()
	s, arn, rec := lakeServer(t)
	cl := s.sdk()
	id := rec["eventID"].(string)
	rows, qid := sdkQuery(t, cl, `SELECT eventTime, userIdentity.arn, useridentity.sessioncontext.sessionissuer.arn AS issuer,
		cardinality(resources), resources, userIdentity, readOnly, element_at(requestParameters, 'noSuchMember'), eventJson
		FROM `+storeID(arn)+` WHERE eventID = '`+id+`'`, 10)
	if len(rows) != 1 {
		t.Fatalf("%d rows for event %s", len(rows), id)
	}
	row := rows[0]
	ui := rec["userIdentity"].(map[string]any)
	issuer := ui["sessionContext"].(map[string]any)["sessionIssuer"].(map[string]any)["arn"].(string)
	at, _ := time.Parse(time.RFC3339, rec["eventTime"].(string))
	want := []map[string]string{
		{"eventTime": at.Format("2006-01-02 15:04:05.000")},
		{"arn": ui["arn"].(string)},
		{"issuer": issuer},
		{"_col3": strconv.Itoa(len(rec["resources"].([]any)))},
	}
	for i, w := range want {
		if len(row) <= i || !equalCell(row[i], w) {
			t.Errorf("column %d: %v, want %v", i, row, w)
		}
	}
	// Nested values are JSON text with the record's values.
	var resources []map[string]any
	if v, _ := cell(row, "resources"); json.Unmarshal([]byte(v), &resources) != nil || len(resources) != len(rec["resources"].([]any)) {
		t.Errorf("resources = %q, want a JSON list of %d", v, len(rec["resources"].([]any)))
	}
	var gotUI map[string]any
	if v, _ := cell(row, "userIdentity"); json.Unmarshal([]byte(v), &gotUI) != nil || gotUI["arn"] != ui["arn"] {
		t.Errorf("userIdentity = %q, want JSON text with arn %v", v, ui["arn"])
	}
	if v, _ := cell(row, "readOnly"); v != strconv.FormatBool(rec["readOnly"] == true) {
		t.Errorf("readOnly = %q, want %v", v, rec["readOnly"])
	}
	if _, ok := cell(row, "_col7"); ok {
		t.Errorf("a NULL value is in the row: %v", row)
	}
	var gotRec map[string]any
	if v, _ := cell(row, "eventJson"); json.Unmarshal([]byte(v), &gotRec) != nil || gotRec["eventID"] != id || gotRec["eventTime"] != rec["eventTime"] {
		t.Errorf("eventJson = %q, want the record", v)
	}

	desc, err := cl.DescribeQuery(t.Context(), &cloudtrail.DescribeQueryInput{QueryId: aws.String(qid)})
	if err != nil {
		t.Fatal(err)
	}
	if st := desc.QueryStatistics; st == nil || aws.ToInt64(st.EventsMatched) != 1 || aws.ToInt64(st.EventsScanned) < 1 || aws.ToInt64(st.BytesScanned) <= 0 {
		t.Errorf("DescribeQuery statistics %+v, want 1 event matched and events and bytes scanned", desc.QueryStatistics)
	}
}

// equalCell reports whether two result cells hold the same column and value.
func equalCell(a, b map[string]string) bool {
	if len(a) != 1 || len(b) != 1 {
		return false
	}
	for k, v := range a {
		return b[k] == v
	}
	return false
}

// TestServeLakeQueriesAWSCLI runs a Lake query through the AWS CLI against
// a server and reads its results as the CLI prints them.
func TestServeLakeQueriesAWSCLI(t *testing.T) {
	t.Parallel()
	cli, err := exec.LookPath("aws")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("no aws command: .ci/run installs the AWS CLI")
		}
		t.Skip("no aws command (the AWS CLI) on the PATH")
	}
	s, arn, rec := lakeServer(t)
	run := func(args ...string) map[string]any {
		t.Helper()
		cmd := exec.Command(cli, append([]string{"cloudtrail", "--endpoint-url", s.url, "--output", "json"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID="+serveKeyID, "AWS_SECRET_ACCESS_KEY="+serveSecret,
			"AWS_DEFAULT_REGION=us-east-1", "AWS_CONFIG_FILE="+os.DevNull, "AWS_SHARED_CREDENTIALS_FILE="+os.DevNull)
		out, err := cmd.Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, stderr)
		}
		var v map[string]any
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("aws %s printed %q", strings.Join(args, " "), out)
		}
		return v
	}
	id := rec["eventID"].(string)
	start := run("start-query", "--query-statement", `SELECT eventTime, useridentity.arn, count(*) FROM `+storeID(arn)+
		` WHERE eventID = '`+id+`' GROUP BY 1, 2`)
	qid, _ := start["QueryId"].(string)
	var res map[string]any
	poll(t, "query "+qid+" to end", func() bool {
		res = run("get-query-results", "--query-id", qid)
		return res["QueryStatus"] != "QUEUED" && res["QueryStatus"] != "RUNNING"
	})
	at, _ := time.Parse(time.RFC3339, rec["eventTime"].(string))
	want := []any{[]any{
		map[string]any{"eventTime": at.Format("2006-01-02 15:04:05.000")},
		map[string]any{"arn": rec["userIdentity"].(map[string]any)["arn"]},
		map[string]any{"_col2": "1"},
	}}
	if res["QueryStatus"] != "FINISHED" || !reflect.DeepEqual(res["QueryResultRows"], want) {
		t.Errorf("get-query-results printed %v, want the rows %v", res, want)
	}
	if st, _ := res["QueryStatistics"].(map[string]any); st["ResultsCount"] != float64(1) || st["TotalResultsCount"] != float64(1) {
		t.Errorf("QueryStatistics %v", res["QueryStatistics"])
	}
}
