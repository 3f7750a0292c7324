package main

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/internal/miniotest"
	"github.com/ctimport/ctimport/sink/duckdbsink"
)

func TestDatabaseInUse(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	store := h.createStore("locked")
	dir := t.TempDir()
	held, err := duckdbsink.Open(t.Context(), h.db, duckdbsink.Options{Holder: "test holder"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { held.Close() }) // when a subtest fails; closing twice is fine

	// The subtests run side by side, and end before the database is let go.
	t.Run("commands", func(t *testing.T) {
		for _, args := range [][]string{
			{"get-import", "--import-id", "00000000-0000-4000-8000-000000000000"},
			{"start-import", "--destinations", store.Name, "--import-source", importSource("file://" + dir)},
			{"query", "--query-statement", "SELECT 1"},
		} {
			t.Run(args[0], func(t *testing.T) {
				t.Parallel()
				o := h.in(t).expect(exitLocked, args...)
				checkOneLine(t, o, "ctimport: "+args[0]+": ", "is in use by test holder")
			})
		}
	})
	if err := held.Close(); err != nil {
		t.Fatal(err)
	}
	if imps := h.listImports(); len(imps) != 0 {
		t.Errorf("imports were made while the database was in use: %+v", imps)
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	srv := miniotest.Shared(t)
	bucket := srv.NewBucket(t)
	h := newHarness(t, s3Env(srv)...)
	store := h.createStore("target")
	arn := store.EventDataStoreArn
	src := importSource("s3://" + bucket + "/")
	unknownID := "6f1c2a52-4a52-4c1e-9d0c-8b6f5a3e2d10"
	start := func(extra ...string) []string { return append([]string{"start-import"}, extra...) }

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"start after end", start("--destinations", arn, "--import-source", src, "--start-event-time", "2024-03-02T00:00:00Z", "--end-event-time", "2024-03-01T00:00:00Z"), exitError, "InvalidParameterException"},
		{"no destinations", start("--import-source", src), exitError, "InvalidParameterException"},
		{"no import source", start("--destinations", arn), exitError, "InvalidParameterException"},
		{"two destinations", start("--destinations", arn, arn, "--import-source", src), exitError, "InvalidParameterException"},
		{"source without URI", start("--destinations", arn, "--import-source", "S3={S3BucketRegion=us-east-1}"), exitError, "InvalidParameterException"},
		{"not an s3 URI", start("--destinations", arn, "--import-source", importSource("https://"+bucket+"/")), exitError, "InvalidImportSourceException"},
		{"bad bucket name", start("--destinations", arn, "--import-source", importSource("s3://Bad_Bucket/")), exitError, "InvalidImportSourceException"},
		{"bad prefix", start("--destinations", arn, "--import-source", importSource("s3://"+bucket+"/AWSLogs/123/")), exitError, "InvalidImportSourceException"},
		{"unknown bucket", start("--destinations", arn, "--import-source", importSource("s3://no-such-bucket-"+bucket+"/")), exitError, "InvalidImportSourceException"},
		{"unreachable endpoint", start("--destinations", arn, "--import-source", src, "--s3-endpoint-url", "http://127.0.0.1:1"), exitError, "InvalidImportSourceException"},
		{"missing directory", start("--destinations", arn, "--import-source", importSource("file://"+filepath.Join(h.dir, "missing"))), exitError, "InvalidImportSourceException"},
		{"unknown destination", start("--destinations", "no-such-store", "--import-source", src), exitError, "EventDataStoreNotFoundException"},
		{"unknown destination ARN", start("--destinations", strings.Replace(arn, storeID(arn), unknownID, 1), "--import-source", src), exitError, "EventDataStoreNotFoundException"},
		{"malformed ARN", start("--destinations", "arn:aws:cloudtrail:us-east-1:123:eventdatastore/x", "--import-source", src), exitError, "EventDataStoreARNInvalidException"},
		{"retry with a source", start("--import-id", unknownID, "--import-source", src), exitError, "InvalidParameterCombinationException"},
		{"incremental with a start", start("--destinations", arn, "--import-source", src, "--incremental", "--start-event-time", "2024-03-01T00:00:00Z"), exitError, "InvalidParameterCombinationException"},
		{"retry of an unknown import", start("--import-id", unknownID), exitError, "ImportNotFoundException"},
		{"get an unknown import", []string{"get-import", "--import-id", unknownID}, exitError, "ImportNotFoundException"},
		{"stop an unknown import", []string{"stop-import", "--import-id", unknownID}, exitError, "ImportNotFoundException"},
		{"import ID not a UUID", []string{"get-import", "--import-id", "import-1"}, exitError, "InvalidParameterException"},
		{"list-imports bad token", []string{"list-imports", "--next-token", "not-a-token"}, exitError, "InvalidNextTokenException"},
		{"list-event-data-stores bad token", []string{"list-event-data-stores", "--next-token", "bm90IGEgdG9rZW4"}, exitError, "InvalidNextTokenException"},
		{"list-imports max results 0", []string{"list-imports", "--max-results", "0"}, exitError, "InvalidParameterException"},
		{"list-imports max results 1001", []string{"list-imports", "--max-results", "1001"}, exitError, "InvalidParameterException"},
		{"list-event-data-stores max results -1", []string{"list-event-data-stores", "--max-results", "-1"}, exitError, "InvalidMaxResultsException"},
		{"list-event-data-stores max results 0", []string{"list-event-data-stores", "--max-results", "0"}, exitError, "InvalidMaxResultsException"},
		{"list-imports unknown status", []string{"list-imports", "--import-status", "DONE"}, exitError, "InvalidParameterException"},
		{"list-imports unknown destination", []string{"list-imports", "--destination", "no-such-store"}, exitError, "EventDataStoreARNInvalidException"},
		{"store name too short", []string{"create-event-data-store", "--name", "ab"}, exitError, "InvalidParameterException"},
		{"store name taken", []string{"create-event-data-store", "--name", store.Name}, exitError, "EventDataStoreAlreadyExistsException"},
		{"max results not a number", []string{"list-imports", "--max-results", "ten"}, exitUsage, "--max-results"},
		{"memory limit not a size", []string{"list-imports", "--memory-limit", "lots"}, exitUsage, "--memory-limit"},
		{"memory limit too small", []string{"list-imports", "--memory-limit", "64MiB"}, exitUsage, "--memory-limit: budget: memory limit too small: 64 MiB; want at least 224 MiB"},
		{"start time in milliseconds", start("--destinations", arn, "--import-source", src, "--start-event-time", "1709287200000"), exitUsage, "--start-event-time"},
		{"start time not a time", start("--destinations", arn, "--import-source", src, "--start-event-time", "yesterday"), exitUsage, "--start-event-time"},
		{"import source not shorthand", start("--destinations", arn, "--import-source", "S3={S3LocationUri=s3://"+bucket+"/"), exitUsage, "--import-source"},
		{"import source unknown key", start("--destinations", arn, "--import-source", "S3={S3LocationUri=s3://"+bucket+"/,Region=us-east-1}"), exitUsage, "Region"},
		{"negative allowance", start("--destinations", arn, "--import-source", src, "--allowance", "-1h"), exitUsage, "--allowance"},
		{"no import ID", []string{"get-import"}, exitUsage, "--import-id is required"},
		{"csv for get-import", []string{"get-import", "--import-id", unknownID, "--output", "csv"}, exitUsage, "--output"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := h.in(t).expect(tc.code, tc.args...)
			if tc.code == exitError {
				// An API exception: "ctimport: COMMAND: NameException: reason".
				checkOneLine(t, o, "ctimport: "+tc.args[0]+": "+tc.want+": ")
			} else {
				checkOneLine(t, o, tc.want)
			}
		})
	}
	if imps := h.listImports(); len(imps) != 0 {
		t.Errorf("bad requests made imports: %+v", imps)
	}
	stores := decode[api.ListEventDataStoresOutput](t, h.expect(exitOK, "list-event-data-stores")).EventDataStores
	if len(stores) != 1 {
		t.Errorf("bad requests made event data stores: %+v", stores)
	}
}

// TestMemoryLimit checks that --memory-limit, or CTIMPORT_MEMORY_LIMIT,
// sets the memory DuckDB may take in a query: five eighths of what the
// limit leaves after a fixed share, and the shares that an import would
// stage and prefetch in; that the flag wins over the environment; and
// that a query that needs more says how to give it more.
func TestMemoryLimit(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	h.createStore("target")
	limit := func(h *harness, args ...string) string {
		h.t.Helper()
		args = append([]string{"query", "--output", "text", "--query-statement", "SELECT current_setting('memory_limit')"}, args...)
		return strings.TrimSpace(h.expect(exitOK, args...).stdout)
	}
	for _, tc := range []struct {
		h    *harness
		args []string
		want string
	}{
		{h, nil, "117.0 MiB"},
		{h, []string{"--memory-limit", "2GiB"}, "1.5 GiB"},
		{h.with("CTIMPORT_MEMORY_LIMIT=1GiB"), nil, "728.0 MiB"},
		{h.with("CTIMPORT_MEMORY_LIMIT=1GiB"), []string{"--memory-limit", "2GiB"}, "1.5 GiB"},
	} {
		if got := limit(tc.h, tc.args...); got != tc.want {
			t.Errorf("%q: DuckDB's memory_limit is %q, want %q", tc.args, got, tc.want)
		}
	}
	// A query that needs more fails with a way out.
	o := h.expect(exitError, "--memory-limit", "224MiB", "query", "--query-statement",
		"SELECT length(string_agg(repeat('x', 1000) || i, '')) FROM range(200000) AS t(i)")
	checkOneLine(t, o, "Out of Memory Error")
	if !strings.HasSuffix(strings.TrimSpace(o.stderr), "give it more with --memory-limit (now 224 MiB)") {
		t.Errorf("a query out of memory says %q; want the way out", o.stderr)
	}
}

var arnRE = regexp.MustCompile(`^arn:aws:cloudtrail:us-east-1:\d{12}:eventdatastore/[0-9a-f-]{36}$`)

func TestEventDataStores(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	var created []api.EventDataStore
	for _, name := range []string{"alpha", "beta.2", "gamma_3"} {
		s := h.createStore(name)
		if !arnRE.MatchString(s.EventDataStoreArn) || s.Name != name || s.Status != "ENABLED" || s.CreatedTimestamp.IsZero() {
			t.Errorf("create-event-data-store --name %s printed %+v", name, s)
		}
		created = append(created, s)
	}
	list := func(args ...string) api.ListEventDataStoresOutput {
		return decode[api.ListEventDataStoresOutput](t, h.expect(exitOK, append([]string{"list-event-data-stores"}, args...)...))
	}
	all := list()
	if len(all.EventDataStores) != len(created) || all.NextToken != "" {
		t.Fatalf("list-event-data-stores: %+v, want the %d stores created", all, len(created))
	}
	for i, s := range all.EventDataStores {
		c := created[i]
		if s.EventDataStoreArn != c.EventDataStoreArn || s.Name != c.Name || s.Status != c.Status ||
			!s.CreatedTimestamp.Equal(c.CreatedTimestamp) || !s.UpdatedTimestamp.Equal(c.UpdatedTimestamp) {
			t.Errorf("store %d is listed as\n%+v\nbut was created as\n%+v", i, s, c)
		}
	}

	page1 := list("--max-results", "2")
	if len(page1.EventDataStores) != 2 || page1.NextToken == "" {
		t.Fatalf("first page of 2: %+v", page1)
	}
	page2 := list("--max-results", "2", "--next-token", page1.NextToken)
	if len(page2.EventDataStores) != 1 || page2.NextToken != "" || page2.EventDataStores[0].Name != "gamma_3" {
		t.Errorf("second page: %+v, want gamma_3 and no NextToken", page2)
	}

	text := h.expect(exitOK, "list-event-data-stores", "--output", "text").stdout
	for _, s := range created {
		if !strings.Contains(text, "EVENTDATASTORES\t"+s.EventDataStoreArn+"\t"+s.Name+"\tENABLED\t2557\ttrue\t") {
			t.Errorf("text output has no line for %s:\n%s", s.Name, text)
		}
	}
	table := h.expect(exitOK, "list-event-data-stores", "--output", "table").stdout
	if !regexp.MustCompile(`(?m)^\| EventDataStoreArn +\| Name +\| Status +\| RetentionPeriod +\| TerminationProtectionEnabled +\| CreatedTimestamp +\| UpdatedTimestamp +\|$`).MatchString(table) {
		t.Errorf("table output has no header row:\n%s", table)
	}
}

// importCorpusSet imports a set of the corpus from its directory into a new
// event data store and returns the store's ID and the set.
func importCorpusSet(h *harness, set string) (string, *layout) {
	h.t.Helper()
	dir, err := filepath.Abs(filepath.Join(corpusDir, set))
	if err != nil {
		h.t.Fatal(err)
	}
	l := newLayout(h.t)
	l.corpus(dir, "")
	store := h.createStore("queried")
	imp, _ := h.startImport(exitOK, store.EventDataStoreArn, "file://"+filepath.ToSlash(dir)+"/")
	if imp.ImportStatistics.EventsCompleted != int64(l.count()) {
		h.t.Fatalf("imported %d events, want %d", imp.ImportStatistics.EventsCompleted, l.count())
	}
	return storeID(store.EventDataStoreArn), l
}

func TestQuery(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	id, l := importCorpusSet(h, "invictus-2023-07-10")
	ids := slices.Sorted(maps.Keys(l.ids(nil)))[:4]
	var first time.Time
	for _, k := range l.logKeys() {
		for _, e := range l.events[k] {
			if first.IsZero() || e.at.Before(first) {
				first = e.at
			}
		}
	}
	summary := fmt.Sprintf("SELECT count(*) AS n, min(eventTime) AS first FROM %s", id)
	firstIDs := fmt.Sprintf("SELECT eventID, readOnly FROM %s ORDER BY eventID LIMIT 4", id)

	t.Run("bare and quoted store ID", func(t *testing.T) {
		h := h.in(t)
		for _, q := range []string{summary, strings.Replace(summary, id, `"`+id+`"`, 1)} {
			rows := h.query(q)
			want := []map[string]any{{"n": float64(l.count()), "first": first.Format(time.RFC3339)}}
			if !reflect.DeepEqual(rows, want) {
				t.Errorf("%s:\n%v, want %v", q, rows, want)
			}
		}
	})
	t.Run("json", func(t *testing.T) {
		o := h.in(t).expect(exitOK, "query", "--query-statement", firstIDs)
		var rows []map[string]any
		if err := json.Unmarshal([]byte(o.stdout), &rows); err != nil || len(rows) != len(ids) {
			t.Fatalf("not a JSON array of %d row objects (%v)\n%s", len(ids), err, o)
		}
		for i, row := range rows {
			if len(row) != 2 || row["eventID"] != ids[i] || row["readOnly"] == nil {
				t.Errorf("row %d: %v, want eventID %s and readOnly", i, row, ids[i])
			}
		}
	})
	t.Run("csv", func(t *testing.T) {
		o := h.in(t).expect(exitOK, "query", "--query-statement", firstIDs, "--output", "csv")
		recs, err := csv.NewReader(strings.NewReader(o.stdout)).ReadAll()
		if err != nil || len(recs) != len(ids)+1 || !slices.Equal(recs[0], []string{"eventID", "readOnly"}) {
			t.Fatalf("want a header and %d rows (%v)\n%s", len(ids), err, o)
		}
		for i, rec := range recs[1:] {
			if rec[0] != ids[i] || (rec[1] != "true" && rec[1] != "false") {
				t.Errorf("row %d: %q", i, rec)
			}
		}
	})
	t.Run("table", func(t *testing.T) {
		o := h.in(t).expect(exitOK, "query", "--query-statement", firstIDs, "--output", "table")
		lines := strings.Split(strings.TrimSuffix(o.stdout, "\n"), "\n")
		if len(lines) != len(ids)+4 || !regexp.MustCompile(`^\| eventID +\| readOnly \|$`).MatchString(lines[1]) {
			t.Fatalf("want a table with a header and %d rows\n%s", len(ids), o)
		}
		for i, id := range ids {
			if !strings.HasPrefix(lines[i+3], "| "+id+" ") {
				t.Errorf("row %d: %q, want eventID %s", i, lines[i+3], id)
			}
		}
	})
	t.Run("text", func(t *testing.T) {
		o := h.in(t).expect(exitOK, "query", "--query-statement", firstIDs, "--output", "text")
		lines := strings.Split(strings.TrimSuffix(o.stdout, "\n"), "\n")
		if len(lines) != len(ids) {
			t.Fatalf("want %d lines\n%s", len(ids), o)
		}
		for i, line := range lines {
			if id, _, _ := strings.Cut(line, "\t"); id != ids[i] {
				t.Errorf("line %d: %q, want eventID %s first", i, line, ids[i])
			}
		}
	})
	t.Run("no rows", func(t *testing.T) {
		if rows := h.in(t).query("SELECT eventID FROM " + id + " WHERE false"); len(rows) != 0 {
			t.Errorf("rows %v", rows)
		}
	})
	t.Run("special floats", func(t *testing.T) {
		o := h.in(t).expect(exitOK, "query", "--query-statement", "SELECT 'nan'::DOUBLE AS x, 'inf'::DOUBLE AS y, 1.5::DOUBLE AS z")
		if !json.Valid([]byte(o.stdout)) {
			t.Errorf("the output is not JSON\n%s", o)
		}
	})
	t.Run("invalid statements", func(t *testing.T) {
		h := h.in(t)
		for _, q := range []string{"SELEC 1", "DELETE FROM " + id, "DROP TABLE " + id, "SELECT 1; SELECT 2"} {
			o := h.expect(exitError, "query", "--query-statement", q)
			if !strings.HasPrefix(o.stderr, "ctimport: query: InvalidQueryStatementException") {
				t.Errorf("%q: want an InvalidQueryStatementException\n%s", q, o)
			}
		}
		if rows := h.query(summary); rows[0]["n"] != float64(l.count()) {
			t.Errorf("after the refused statements %v events are stored, want %d", rows[0]["n"], l.count())
		}
	})
	t.Run("no file access", func(t *testing.T) {
		h := h.in(t)
		secret := filepath.Join(h.dir, "secret.txt")
		if err := os.WriteFile(secret, []byte("not for queries"), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, q := range []string{"SELECT content FROM read_text('" + secret + "')", "SET threads = 1"} {
			o := h.expect(exitError, "query", "--query-statement", q)
			if strings.Contains(o.stdout, "not for queries") {
				t.Errorf("%q read the file\n%s", q, o)
			}
		}
		o := h.expect(exitOK, "query", "--allow-write", "--output", "csv", "--query-statement", "SELECT content FROM read_text('"+secret+"')")
		if !strings.Contains(o.stdout, "not for queries") {
			t.Errorf("--allow-write: the file was not read\n%s", o)
		}
	})
	t.Run("allow write", func(t *testing.T) {
		h := h.in(t)
		h.expect(exitError, "query", "--query-statement", "CREATE TABLE notes AS SELECT 1 AS x")
		h.expect(exitOK, "query", "--allow-write", "--query-statement", "CREATE TABLE notes AS SELECT 1 AS x")
		if rows := h.query("SELECT count(*) AS n FROM notes"); rows[0]["n"] != float64(1) {
			t.Errorf("after --allow-write: %v", rows)
		}
	})
}

func TestQueryWithoutDatabase(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	o := h.expect(exitError, "query", "--query-statement", "SELECT 1")
	checkOneLine(t, o, "no database at "+h.db)
	if _, err := os.Stat(h.db); err == nil {
		t.Errorf("query created the database")
	}
}

func TestGlobalFlagsAndEnvironment(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	envDB := filepath.Join(h.dir, "from-env.duckdb")
	flagDB := filepath.Join(h.dir, "from-flag.duckdb")
	ok := func(h *harness, args ...string) outcome { h.t.Helper(); return h.want(exitOK, h.exec(args...)) }
	names := func(h *harness, args ...string) []string {
		h.t.Helper()
		var names []string
		out := decode[api.ListEventDataStoresOutput](h.t, ok(h, append([]string{"list-event-data-stores"}, args...)...))
		for _, s := range out.EventDataStores {
			names = append(names, s.Name)
		}
		return names
	}

	ok(h, "create-event-data-store", "--name", "in-default")
	ok(h, "--db", flagDB, "create-event-data-store", "--name", "flag-before")
	ok(h, "create-event-data-store", "--name", "flag-after", "--db", flagDB)
	ok(h, "create-event-data-store", "--name=flag-equals", "--db="+flagDB)
	withEnv := h.with("CTIMPORT_DB=" + envDB)
	ok(withEnv, "create-event-data-store", "--name", "from-env")
	ok(withEnv, "create-event-data-store", "--name", "flag-over-env", "--db", flagDB)

	for _, tc := range []struct {
		db   string
		want []string
	}{
		{filepath.Join(h.dir, "ctimport.duckdb"), []string{"in-default"}},
		{flagDB, []string{"flag-before", "flag-after", "flag-equals", "flag-over-env"}},
		{envDB, []string{"from-env"}},
	} {
		if got := names(h, "--db", tc.db); !slices.Equal(got, tc.want) {
			t.Errorf("%s holds stores %q, want %q", filepath.Base(tc.db), got, tc.want)
		}
	}
	if got := names(withEnv); !slices.Equal(got, []string{"from-env"}) {
		t.Errorf("with CTIMPORT_DB, list-event-data-stores shows %q", got)
	}

	before := ok(h, "--output", "text", "--db", flagDB, "list-event-data-stores")
	after := ok(h, "list-event-data-stores", "--db="+flagDB, "--output=text")
	if before.stdout != after.stdout || !strings.HasPrefix(before.stdout, "EVENTDATASTORES\t") {
		t.Errorf("global flags before and after the command differ:\n%s\n%s", before, after)
	}
}

func TestHelpAndUsage(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	for _, tc := range []struct {
		args   []string
		code   int
		stdout string // a part of stdout
		stderr string // a part of stderr
	}{
		{nil, exitUsage, "usage: ctimport", ""},
		{[]string{"help"}, exitOK, "exit status: 0 done", ""},
		{[]string{"--help"}, exitOK, "commands:", ""},
		{[]string{"help", "start-import"}, exitOK, "--destinations", ""},
		{[]string{"start-import", "--help"}, exitOK, "--import-source", ""},
		{[]string{"--help", "list-imports"}, exitOK, "--import-status", ""},
		{[]string{"frobnicate"}, exitUsage, "", `ctimport: unknown command "frobnicate"`},
		{[]string{"help", "frobnicate"}, exitUsage, "", `unexpected argument "frobnicate"`},
		{[]string{"get-import", "--frobnicate"}, exitUsage, "", "unknown option --frobnicate for get-import"},
		{[]string{"--destinations", "x", "start-import"}, exitUsage, "", "unknown option --destinations"},
		{[]string{"--db", "a.duckdb", "list-imports", "--db", "b.duckdb"}, exitUsage, "", "--db is given twice"},
		{[]string{"list-imports", "--output", "yaml"}, exitUsage, "", `--output must be one of json, table, text, not "yaml"`},
		{[]string{"list-imports", "--output"}, exitUsage, "", "--output needs a value"},
	} {
		o := h.exec(tc.args...)
		if o.code != tc.code || !strings.Contains(o.stdout, tc.stdout) || !strings.Contains(o.stderr, tc.stderr) {
			t.Errorf("want exit %d, stdout with %q, stderr with %q\n%s", tc.code, tc.stdout, tc.stderr, o)
		}
		if tc.stderr != "" {
			checkOneLine(t, o, tc.stderr)
		}
	}
	if entries, err := os.ReadDir(h.dir); err != nil || len(entries) != 1 {
		t.Errorf("the command lines above made files: %v %v", entries, err)
	}
}

func TestLocalCopyOfBucket(t *testing.T) {
	t.Parallel()
	l := newLayout(t)
	l.corpus(filepath.Join(corpusDir, "invictus-2023-07-10"), "")
	l.corpus(filepath.Join(corpusDir, "traildiscover-examples"), "")
	keys := l.logKeys()
	addNoise(l, keys[0])
	dir := filepath.Join(t.TempDir(), "bucket copy")
	l.write(dir)
	uri := "file://" + filepath.ToSlash(dir)
	day := path.Dir(keys[0]) + "/"

	escaped := func(uri string) string { return strings.ReplaceAll(uri, " ", "%20") }
	for _, tc := range []struct{ name, source, under string }{
		{"bucket", importSource(escaped(uri + "/")), ""},
		{"bucket without slash", importSource(escaped(uri)), ""},
		{"day", importSource(escaped(uri + "/" + day)), day},
		{"day, source as JSON", `{"S3": {"S3LocationUri": "` + escaped(uri+"/"+day) + `"}}`, day},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			store := h.createStore("local")
			imp := decode[api.Import](t, h.expect(exitOK, "start-import", "--destinations", store.EventDataStoreArn, "--import-source", tc.source))
			keys := keysUnder(l, tc.under)
			days := dayPrefixes(keys)
			checkImport(t, imp, api.StatusCompleted, api.ImportStatistics{
				PrefixesFound: days, PrefixesCompleted: days, FilesCompleted: int64(len(keys)), EventsCompleted: int64(l.count(keys...)),
			})
			h.checkStored(storeID(store.EventDataStoreArn), l.ids(nil, keys...))
		})
	}
}

func TestListImportsAndFailures(t *testing.T) {
	t.Parallel()
	at := time.Date(2024, 4, 2, 8, 0, 0, 0, time.UTC)
	good, bad := newLayout(t), newLayout(t)
	for i := range 2 {
		delivery := at.Add(time.Duration(i) * 5 * time.Minute)
		good.log(logKey("AWSLogs/", "123456789012", "us-east-1", delivery, fmt.Sprint("Good", i)), events(fmt.Sprint("good-", i), delivery, 2)...)
		bad.put(logKey("AWSLogs/", "123456789012", "us-east-1", delivery, fmt.Sprint("Bad", i)), []byte("not gzip"))
	}
	goodDir, badDir := filepath.Join(t.TempDir(), "good"), filepath.Join(t.TempDir(), "bad")
	good.write(goodDir)
	bad.write(badDir)
	h := newHarness(t)
	first, second := h.createStore("first"), h.createStore("second")
	imp1, _ := h.startImport(exitOK, first.EventDataStoreArn, "file://"+goodDir)
	imp2, _ := h.startImport(exitOK, `["first"]`, "file://"+goodDir) // the JSON form of a list
	imp3, _ := h.startImport(exitFailed, storeID(second.EventDataStoreArn), "file://"+badDir)

	list := func(args ...string) api.ListImportsOutput {
		t.Helper()
		return decode[api.ListImportsOutput](t, h.expect(exitOK, append([]string{"list-imports"}, args...)...))
	}
	ids := func(out api.ListImportsOutput) []string {
		var ids []string
		for _, imp := range out.Imports {
			ids = append(ids, imp.ImportId)
		}
		return ids
	}
	all := list()
	if got, want := ids(all), []string{imp3.ImportId, imp2.ImportId, imp1.ImportId}; !slices.Equal(got, want) || all.NextToken != "" {
		t.Errorf("list-imports: %q, want %q newest first", got, want)
	}
	if it := all.Imports[0]; it.ImportStatus != api.StatusFailed || !slices.Equal(it.Destinations, []string{second.EventDataStoreArn}) ||
		!it.CreatedTimestamp.Equal(imp3.CreatedTimestamp) || !it.UpdatedTimestamp.Equal(imp3.UpdatedTimestamp) {
		t.Errorf("list-imports item %+v does not describe import %+v", it, imp3)
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"--destination", first.EventDataStoreArn}, []string{imp2.ImportId, imp1.ImportId}},
		{[]string{"--destination", "first"}, []string{imp2.ImportId, imp1.ImportId}},
		{[]string{"--import-status", "FAILED"}, []string{imp3.ImportId}},
		{[]string{"--import-status", "COMPLETED", "--destination", storeID(first.EventDataStoreArn)}, []string{imp2.ImportId, imp1.ImportId}},
		{[]string{"--import-status", "COMPLETED", "--destination", second.EventDataStoreArn}, nil},
	} {
		out := list(tc.args...)
		if got := ids(out); !slices.Equal(got, tc.want) || out.Imports == nil {
			t.Errorf("list-imports %q: %q, want %q", tc.args, got, tc.want)
		}
	}

	page1 := list("--max-results", "2")
	page2 := list("--max-results", "2", "--next-token", page1.NextToken)
	if got := append(ids(page1), ids(page2)...); !slices.Equal(got, ids(all)) || page1.NextToken == "" || page2.NextToken != "" {
		t.Errorf("pages of 2: %q then %q (token %q), want %q", ids(page1), ids(page2), page2.NextToken, ids(all))
	}
	o := h.expect(exitError, "list-imports", "--import-status", "COMPLETED", "--next-token", page1.NextToken)
	checkOneLine(t, o, "InvalidNextTokenException")

	failures := func(args ...string) api.ListImportFailuresOutput {
		t.Helper()
		return decode[api.ListImportFailuresOutput](t, h.expect(exitOK, append([]string{"list-import-failures", "--import-id", imp3.ImportId}, args...)...))
	}
	f1 := failures("--max-results", "1")
	f2 := failures("--max-results", "1", "--next-token", f1.NextToken)
	badKeys := slices.Sorted(maps.Keys(bad.objects))
	if len(f1.Failures) != 1 || len(f2.Failures) != 1 || f1.Failures[0].Location != badKeys[0] || f2.Failures[0].Location != badKeys[1] || f2.NextToken != "" {
		t.Errorf("failures in pages of 1: %+v then %+v, want %q in key order", f1, f2, badKeys)
	}
	if out := decode[api.ListImportFailuresOutput](t, h.expect(exitOK, "list-import-failures", "--import-id", imp1.ImportId)); out.Failures == nil || len(out.Failures) != 0 {
		t.Errorf("failures of a COMPLETED import: %+v, want an empty list", out)
	}
}

func TestImportSourceAccessDenied(t *testing.T) {
	t.Parallel()
	srv := miniotest.Shared(t)
	bucket := srv.NewBucket(t)
	for _, tc := range []struct {
		name string
		env  []string
	}{
		{"wrong secret key", []string{"AWS_ENDPOINT_URL_S3=" + srv.Endpoint(), "AWS_ACCESS_KEY_ID=" + srv.AccessKey(), "AWS_SECRET_ACCESS_KEY=wrong-secret"}},
		{"anonymous", []string{"AWS_ENDPOINT_URL_S3=" + srv.Endpoint()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, tc.env...)
			store := h.createStore("denied")
			o := h.expect(exitError, "start-import", "--destinations", store.Name, "--import-source", importSource("s3://"+bucket+"/"))
			checkOneLine(t, o, "InvalidImportSourceException", "denied")
			if imps := h.listImports(); len(imps) != 0 {
				t.Errorf("a refused import was recorded: %+v", imps)
			}
		})
	}
}
