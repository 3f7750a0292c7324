package main

import (
	"cmp"
	"reflect"
	"testing"
)

func TestParseArgs(t *testing.T) {
	for _, tc := range []struct {
		name    string
		argv    []string
		command string
		values  map[string][]string
	}{
		{"nothing", nil, "", map[string][]string{}},
		{"command alone", []string{"list-imports"}, "list-imports", map[string][]string{}},
		{
			"global flags before the command",
			[]string{"--db", "x.duckdb", "--output", "table", "get-import", "--import-id", "id-1"},
			"get-import", map[string][]string{"db": {"x.duckdb"}, "output": {"table"}, "import-id": {"id-1"}},
		},
		{
			"global flags after the command",
			[]string{"get-import", "--import-id", "id-1", "--db", "x.duckdb", "--s3-endpoint-url", "http://127.0.0.1:9000"},
			"get-import", map[string][]string{"import-id": {"id-1"}, "db": {"x.duckdb"}, "s3-endpoint-url": {"http://127.0.0.1:9000"}},
		},
		{
			"name=value",
			[]string{"--db=x.duckdb", "query", "--query-statement=SELECT a = b FROM t", "--output=csv"},
			"query", map[string][]string{"db": {"x.duckdb"}, "query-statement": {"SELECT a = b FROM t"}, "output": {"csv"}},
		},
		{
			"empty value",
			[]string{"list-imports", "--next-token="},
			"list-imports", map[string][]string{"next-token": {""}},
		},
		{
			"value that looks like a number or flag",
			[]string{"list-imports", "--max-results", "-1", "--import-status", "-"},
			"list-imports", map[string][]string{"max-results": {"-1"}, "import-status": {"-"}},
		},
		{
			"list flag takes values up to the next flag",
			[]string{"start-import", "--destinations", "a", "b", "--import-source", "S3={S3LocationUri=s3://b/}"},
			"start-import", map[string][]string{"destinations": {"a", "b"}, "import-source": {"S3={S3LocationUri=s3://b/}"}},
		},
		{
			"list flag with =",
			[]string{"start-import", "--destinations=a", "b", "--incremental"},
			"start-import", map[string][]string{"destinations": {"a", "b"}, "incremental": nil},
		},
		{
			"list flag at the end",
			[]string{"start-import", "--incremental", "--destinations", "arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/x"},
			"start-import", map[string][]string{"incremental": nil, "destinations": {"arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/x"}},
		},
		{
			"help flag",
			[]string{"--help", "start-import"},
			"start-import", map[string][]string{"help": nil},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := parseArgs(tc.argv)
			if err != nil {
				t.Fatalf("parseArgs(%q): %v", tc.argv, err)
			}
			if a.command != tc.command || !reflect.DeepEqual(a.values, tc.values) {
				t.Errorf("parseArgs(%q) = %q %#v, want %q %#v", tc.argv, a.command, a.values, tc.command, tc.values)
			}
		})
	}
}

func TestParseArgsErrors(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate" (run ctimport help)`},
		{[]string{"-h"}, `unknown command "-h" (run ctimport help)`},
		{[]string{"list-imports", "get-import"}, `unexpected argument "get-import"`},
		{[]string{"get-import", "--import-id", "a", "b"}, `unexpected argument "b"`},
		{[]string{"--import-id", "a", "get-import"}, "unknown option --import-id (give the command first, or run ctimport help)"},
		{[]string{"get-import", "--destinations", "a"}, "unknown option --destinations for get-import (run ctimport get-import --help)"},
		{[]string{"get-import", "--"}, "unknown option -- for get-import (run ctimport get-import --help)"},
		{[]string{"--db", "a", "get-import", "--db", "b"}, "--db is given twice"},
		{[]string{"start-import", "--destinations", "a", "--destinations", "b"}, "--destinations is given twice"},
		{[]string{"get-import", "--import-id"}, "--import-id needs a value"},
		{[]string{"start-import", "--destinations", "--incremental"}, "--destinations needs a value"},
		{[]string{"start-import", "--incremental=yes"}, "--incremental takes no value"},
		{[]string{"--help=1"}, "--help takes no value"},
	} {
		_, err := parseArgs(tc.argv)
		if _, ok := err.(*usageError); !ok || err.Error() != tc.want {
			t.Errorf("parseArgs(%q): error %v, want usage error %q", tc.argv, err, tc.want)
		}
	}
}

// TestArgsInt checks int, and count, which also refuses negative numbers.
func TestArgsInt(t *testing.T) {
	for _, tc := range []struct {
		argv    []string
		want    int
		wantErr string
		// countErr is count's error where it is not wantErr.
		countErr string
	}{
		{[]string{"list-imports"}, 0, "", ""},
		{[]string{"list-imports", "--max-results", "25"}, 25, "", ""},
		{[]string{"list-imports", "--max-results=-3"}, -3, "", "--max-results must be positive"},
		{[]string{"list-imports", "--max-results", "ten"}, 0, `--max-results takes a whole number, not "ten"`, ""},
		{[]string{"list-imports", "--max-results", "2.5"}, 0, `--max-results takes a whole number, not "2.5"`, ""},
	} {
		a, err := parseArgs(tc.argv)
		if err != nil {
			t.Fatal(err)
		}
		n, err := a.int("max-results")
		if gotErr := errText(err); n != tc.want || gotErr != tc.wantErr {
			t.Errorf("%q: %d, %q; want %d, %q", tc.argv, n, gotErr, tc.want, tc.wantErr)
		}
		n, err = a.count("max-results")
		if gotErr, wantErr := errText(err), cmp.Or(tc.countErr, tc.wantErr); n != tc.want || gotErr != wantErr {
			t.Errorf("count %q: %d, %q; want %d, %q", tc.argv, n, gotErr, tc.want, wantErr)
		}
	}
}

func TestParseList(t *testing.T) {
	for _, tc := range []struct {
		vals    []string
		want    []string
		wantErr string
	}{
		{[]string{"a"}, []string{"a"}, ""},
		{[]string{"a", "b"}, []string{"a", "b"}, ""},
		{[]string{`["arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/x", "b"]`}, []string{"arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/x", "b"}, ""},
		{[]string{"[a,b]"}, []string{"a", "b"}, ""},
		{[]string{" [a] "}, []string{"a"}, ""},
		{[]string{"[]"}, []string{}, ""},
		{[]string{"[1]"}, nil, "expected a list of strings"},
		{[]string{"[a,{b=c}]"}, nil, "expected a list of strings"},
		{[]string{"[a"}, nil, "invalid shorthand syntax at character 3: expected , or ]"},
	} {
		got, err := parseList(tc.vals)
		if gotErr := errText(err); !reflect.DeepEqual(got, tc.want) || gotErr != tc.wantErr {
			t.Errorf("parseList(%q) = %q, %q; want %q, %q", tc.vals, got, gotErr, tc.want, tc.wantErr)
		}
	}
}

// errText is the text of err, or "" for nil.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
