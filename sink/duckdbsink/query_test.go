package duckdbsink

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/ctimport/ctimport/sink"
	"github.com/ctimport/ctimport/sink/sinktest"
)

// queryAll runs statement with args and returns its columns and rows.
func queryAll(t *testing.T, s sink.Store, statement string, args ...any) ([]string, [][]any) {
	t.Helper()
	rows, err := s.Query(t.Context(), statement, args...)
	if err != nil {
		t.Fatalf("Query(%s): %v", statement, err)
	}
	defer rows.Close()
	var out [][]any
	for rows.Next() {
		v, err := rows.Values()
		if err != nil {
			t.Fatalf("Query(%s): %v", statement, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("Query(%s): %v", statement, err)
	}
	if err := rows.Close(); err != nil {
		t.Fatalf("Query(%s): Close: %v", statement, err)
	}
	return rows.Columns(), out
}

// corpusStore returns a store holding the events of the corpus files, and
// those files.
func corpusStore(t *testing.T) (*Store, []logFile) {
	t.Helper()
	s, _ := openTemp(t)
	t.Cleanup(func() { s.Close() })
	if err := s.CreateEventDataStore(t.Context(), eds); err != nil {
		t.Fatal(err)
	}
	w, err := s.NewWriter(t.Context(), eds.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	files := loadCorpus(t)
	loadFiles(t, w, &sink.Import{ID: "import", StoreID: eds.ID, Status: "COMPLETED"}, files, 1000)
	return s, files
}

// TestQueryEvents reads stored corpus events back through an event data
// store's view and compares them with the records of the corpus: eventJson
// parses to the record as delivered, and Lake's struct, map and list
// columns give what the record holds.
func TestQueryEvents(t *testing.T) {
	s, files := corpusStore(t)
	records := map[string]map[string]any{}
	raws := map[string]json.RawMessage{}
	keys := map[string]string{}
	for _, f := range files {
		for i, e := range f.events {
			if _, ok := records[e.ID()]; ok {
				continue
			}
			records[e.ID()], raws[e.ID()], keys[e.ID()] = decodeRecord(t, f.records[i]), f.records[i], f.key
		}
	}
	cols, rows := queryAll(t, s, `SELECT eventID, eventJson, eventJsonChecksum, sourceObjectKey,
		userIdentity.principalid, useridentity.sessioncontext.sessionissuer.arn, tlsdetails.tlsversion,
		element_at(requestParameters, 'bucketName'), cardinality(resources), element_at(resources, 1).arn,
		element_at(additionalEventData, 'MFAUsed'), userIdentity.type, readOnly, eventTime
		FROM `+eds.ID+` ORDER BY eventTime, eventID`)
	wantCols := []string{"eventID", "eventJson", "eventJsonChecksum", "sourceObjectKey", "principalid", "arn", "tlsversion"}
	if !slices.Equal(cols[:len(wantCols)], wantCols) {
		t.Errorf("columns %v, want them to start with %v", cols, wantCols)
	}
	if len(rows) != len(records) {
		t.Errorf("%d events stored, want %d (the distinct events of the corpus)", len(rows), len(records))
	}
	var last time.Time
	for _, row := range rows {
		id, _ := row[0].(string)
		rec, ok := records[id]
		if !ok {
			t.Fatalf("stored event %q is not in the corpus", id)
		}
		text, _ := row[1].(string)
		if got := decodeRecord(t, json.RawMessage(text)); !reflect.DeepEqual(got, rec) {
			t.Errorf("event %s: eventJson %s\ndoes not parse to the record %s", id, text, raws[id])
		}
		sum := sha256.Sum256([]byte(text))
		if row[2] != base64.StdEncoding.EncodeToString(sum[:]) {
			t.Errorf("event %s: eventJsonChecksum %v", id, row[2])
		}
		ui, _ := rec["userIdentity"].(map[string]any)
		sc, _ := ui["sessionContext"].(map[string]any)
		issuer, _ := sc["sessionIssuer"].(map[string]any)
		tls, _ := rec["tlsDetails"].(map[string]any)
		params, _ := rec["requestParameters"].(map[string]any)
		extra, _ := rec["additionalEventData"].(map[string]any)
		var resources, firstARN any
		if list, ok := rec["resources"].([]any); ok {
			resources = int64(len(list))
			if len(list) > 0 {
				firstARN = text0(list[0].(map[string]any)["ARN"])
			}
		}
		want := []any{id, text, row[2], keys[id], text0(ui["principalId"]), text0(issuer["arn"]), text0(tls["tlsVersion"]),
			text0(params["bucketName"]), resources, firstARN, text0(extra["MFAUsed"]), text0(ui["type"]), rec["readOnly"]}
		for i, w := range want {
			if row[i] != w {
				t.Errorf("event %s: %s = %#v, want %#v", id, cols[i], row[i], w)
			}
		}
		tm := row[len(want)].(time.Time)
		if wantTime, _ := time.Parse(time.RFC3339, rec["eventTime"].(string)); !tm.Equal(wantTime) || tm.Location() != time.UTC {
			t.Errorf("event %s: eventTime %v, want %v", id, tm, wantTime)
		}
		if tm.Before(last) {
			t.Errorf("rows out of order")
		}
		last = tm
	}
}

// decodeRecord decodes a record as JSON, numbers as json.Number.
func decodeRecord(t *testing.T, raw json.RawMessage) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var r map[string]any
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("record %s: %v", raw, err)
	}
	return r
}

// text0 returns a string member's value, or nil for any other.
func text0(v any) any {
	if s, ok := v.(string); ok {
		return s
	}
	return nil
}

// TestQueryJSON runs JSON queries over the stored corpus and checks them
// against the corpus records.
func TestQueryJSON(t *testing.T) {
	s, files := corpusStore(t)
	wantARN := map[string]any{}
	for _, f := range files {
		for _, e := range f.events {
			var ui struct{ ARN *string }
			if e.Null.Has(sink.UserIdentity) || json.Unmarshal([]byte(e.Values[sink.UserIdentity]), &ui) != nil || ui.ARN == nil {
				wantARN[e.ID()] = nil
				continue
			}
			wantARN[e.ID()] = *ui.ARN
		}
	}
	_, rows := queryAll(t, s, `SELECT eventID, eventJson->>'$.userIdentity.arn', json_extract_string(eventJson, '$.userIdentity.arn'),
		eventJson->'$.userIdentity.arn', json_type(eventJson->'$.requestParameters') FROM "`+eds.ID+`"`)
	for _, r := range rows {
		id := r[0].(string)
		if r[1] != wantARN[id] || r[2] != wantARN[id] {
			t.Errorf("event %s: arn = %v, %v; want %v", id, r[1], r[2], wantARN[id])
		}
		if arn, ok := wantARN[id].(string); ok {
			if quoted, _ := json.Marshal(arn); r[3] != string(quoted) {
				t.Errorf("event %s: userIdentity->'$.arn' = %#v, want the JSON text %s", id, r[3], quoted)
			}
		}
		if r[4] != nil && r[4] != "OBJECT" && r[4] != "NULL" {
			t.Errorf("event %s: json_type(requestParameters) = %v", id, r[4])
		}
	}

	_, rows = queryAll(t, s, `SELECT eventJson->>'$.userIdentity.type' AS type, count(*) AS n FROM `+eds.ID+`
		WHERE userIdentity IS NOT NULL GROUP BY ALL ORDER BY n DESC, type LIMIT 1`)
	if len(rows) != 1 || rows[0][0] != "AssumedRole" && rows[0][0] != "IAMUser" {
		t.Errorf("most frequent userIdentity.type = %v", rows)
	}

	// JSON values come back as their text, also from a query that orders
	// them or names two columns alike.
	_, rows = queryAll(t, s, `SELECT a.eventJson::JSON, b.eventJson::JSON, a.eventTime FROM `+eds.ID+` a
		JOIN `+eds.ID+` b USING (eventID) WHERE a.userIdentity IS NOT NULL ORDER BY a.eventTime DESC, a.eventID`)
	if len(rows) == 0 {
		t.Fatal("no rows")
	}
	for i, r := range rows {
		text, ok := r[0].(string)
		if !ok || !json.Valid([]byte(text)) || r[1] != text {
			t.Fatalf("eventJson = %#v, %#v; want the same JSON text", r[0], r[1])
		}
		if i > 0 && r[2].(time.Time).After(rows[i-1][2].(time.Time)) {
			t.Fatalf("rows are not ordered by eventTime descending")
		}
	}
}

func TestQueryValues(t *testing.T) {
	s, _ := openTemp(t)
	defer s.Close()
	cols, rows := queryAll(t, s, `SELECT NULL AS n, true AS b, 7::TINYINT AS i8, 300::SMALLINT AS i16, 70000::INTEGER AS i32,
		-5::BIGINT AS i64, 200::UTINYINT AS u8, 4000000000::UINTEGER AS u32, 18446744073709551615::UBIGINT AS u64,
		42::HUGEINT AS h, 170141183460469231731687303715884105727::HUGEINT AS hbig,
		1.25::DECIMAL(4,2) AS d, 12345678901234567.89::DECIMAL(20,2) AS dbig, 2.5::FLOAT AS f, 0.1::DOUBLE AS g,
		'x' AS s, '6b54e0ad-c23c-4850-b896-7533a3558526'::UUID AS u,
		INTERVAL '1 year 2 months 3 days 04:05:06.5' AS iv, INTERVAL '0 seconds' AS iv0, INTERVAL '-90 minutes' AS ivneg,
		'a\x5Cb\x00\xFF'::BLOB AS bl, TIMESTAMPTZ '2023-07-10 12:00:00+00' AS ts, DATE '2023-07-10' AS dt,
		[1, 2, NULL] AS l, {'a': 1, 'b': ['x']} AS st, MAP {'k': 1::HUGEINT} AS m, '{"a": [1, 2.50]}'::JSON AS j,
		['6b54e0ad-c23c-4850-b896-7533a3558526'::UUID] AS lu, 'b'::ENUM('a', 'b') AS e,
		{'id': '6b54e0ad-c23c-4850-b896-7533a3558526'::UUID, 'json': '{"b":true}'::JSON} AS sj, ['{"a":1}'::JSON, NULL] AS lj`)
	want := []any{nil, true, int64(7), int64(300), int64(70000),
		int64(-5), int64(200), int64(4000000000), "18446744073709551615",
		int64(42), "170141183460469231731687303715884105727",
		1.25, "12345678901234567.89", 2.5, 0.1,
		"x", "6b54e0ad-c23c-4850-b896-7533a3558526",
		"1 year 2 months 3 days 04:05:06.5", "00:00:00", "-01:30:00",
		`a\x5Cb\x00\xFF`, time.Date(2023, 7, 10, 12, 0, 0, 0, time.UTC), time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC),
		[]any{int64(1), int64(2), nil}, map[string]any{"a": int64(1), "b": []any{"x"}}, map[string]any{"k": int64(1)}, `{"a": [1, 2.50]}`,
		[]any{"6b54e0ad-c23c-4850-b896-7533a3558526"}, "b",
		map[string]any{"id": "6b54e0ad-c23c-4850-b896-7533a3558526", "json": `{"b":true}`}, []any{`{"a":1}`, nil}}
	if len(rows) != 1 || len(rows[0]) != len(want) {
		t.Fatalf("got %d rows, %v", len(rows), rows)
	}
	for i, w := range want {
		got := rows[0][i]
		if tm, ok := got.(time.Time); ok {
			if !tm.Equal(w.(time.Time)) {
				t.Errorf("%s = %v, want %v", cols[i], got, w)
			}
			continue
		}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("%s = %#v (%T), want %#v", cols[i], got, got, w)
		}
	}
}

func TestQueryStatements(t *testing.T) {
	s, _ := corpusStore(t)
	ctx := t.Context()
	n := mustCount(t, s, "SELECT count(*) FROM "+eds.ID)
	for _, stmt := range []string{
		"DELETE FROM " + eds.ID,
		"INSERT INTO " + eds.ID + " (eventID) VALUES ('x')",
		"CREATE TABLE t AS SELECT 1",
		"COPY " + eds.ID + " TO 'out.csv'",
		"SELECT 1; DELETE FROM " + eds.ID,
		"DELETE FROM " + eds.ID + "; SELECT 1",
		"SELECT * FROM nowhere",
		"SELEC 1",
		" -- nothing\n;",
	} {
		if rows, err := s.Query(ctx, stmt); err == nil {
			rows.Close()
			t.Errorf("Query(%q) succeeded", stmt)
		}
	}
	// EXPLAIN ANALYZE runs its statement, in a transaction that is rolled back.
	queryAll(t, s, `EXPLAIN ANALYZE DELETE FROM ctimport_events."`+eds.ID+`"`)
	if got := mustCount(t, s, "SELECT count(*) FROM "+eds.ID); got != n {
		t.Errorf("after the queries, %d events, want %d", got, n)
	}

	for _, stmt := range []string{
		"DESCRIBE " + eds.ID,
		"SHOW TABLES",
		"SUMMARIZE SELECT eventName FROM " + eds.ID,
		"PRAGMA table_info('" + eds.ID + "')",
		"CALL pragma_table_info('" + eds.ID + "')",
		"EXPLAIN SELECT * FROM " + eds.ID,
		"WITH x AS (SELECT * FROM " + eds.ID + ") SELECT count(*) FROM x;",
		"FROM " + eds.ID + " SELECT eventName LIMIT 1 -- trailing comment",
	} {
		if _, rows := queryAll(t, s, stmt); len(rows) == 0 {
			t.Errorf("Query(%q) returned no rows", stmt)
		}
	}
	_, rows := queryAll(t, s, "DESCRIBE "+eds.ID)
	var types []string
	for _, r := range rows {
		types = append(types, r[0].(string)+" "+r[1].(string))
	}
	want, err := os.ReadFile(filepath.Join("testdata", "lake_schema.golden"))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(types, "\n") + "\n"; got != string(want) {
		t.Errorf("event data store columns:\n%s\nwant (testdata/lake_schema.golden):\n%s", got, want)
	}
}

// TestQueryParameters checks that arguments are bound to the statement's
// parameters as values, also in a query whose JSON columns are cast to
// text, and that a statement with another number of parameters fails.
// TestQueryOutOfMemory checks that a query that needs more than the
// store's MemoryLimit fails with sink.ErrOutOfMemory, and that the store
// answers the next query.
func TestQueryOutOfMemory(t *testing.T) {
	s, _ := openTempWith(t, Options{MemoryLimit: 32 << 20})
	defer s.Close()
	ctx := t.Context()
	rows, err := s.Query(ctx, `SELECT length(string_agg(repeat('x', 1000) || i, '')) FROM range(100000) AS t(i)`)
	if err == nil {
		for rows.Next() {
		}
		err = errors.Join(rows.Err(), rows.Close())
	}
	if !errors.Is(err, sink.ErrOutOfMemory) {
		t.Errorf("a query of 100 MB in 32 MiB: %v, want sink.ErrOutOfMemory", err)
	}
	if n := mustCount(t, s, `SELECT 42`); n != 42 {
		t.Errorf("the next query answered %d, want 42", n)
	}
	if _, err := s.Query(ctx, `SELECT * FROM no_such_table`); err == nil || errors.Is(err, sink.ErrOutOfMemory) {
		t.Errorf("a wrong statement: %v, want an error other than sink.ErrOutOfMemory", err)
	}
}

func TestQueryParameters(t *testing.T) {
	s, _ := corpusStore(t)
	tests := []struct {
		stmt string
		args []any
		want []any
	}{
		{"SELECT ? AS a, ?::INTEGER + 1 AS b", []any{"x'; DELETE FROM " + eds.ID + "; --", "41"}, []any{"x'; DELETE FROM " + eds.ID + "; --", int64(42)}},
		{"SELECT ?::JSON AS j, ? AS s", []any{`{"a": [1]}`, "t"}, []any{`{"a": [1]}`, "t"}},
		{"SELECT $1 || $2 || $1 AS s", []any{"a", "b"}, []any{"aba"}},
		{"SELECT '?' AS q", nil, []any{"?"}},
		{"SELECT count(*) FROM " + eds.ID + " WHERE eventName = ? AND eventTime < ?::TIMESTAMPTZ", []any{"no such event", "2100-01-01T00:00:00Z"}, []any{int64(0)}},
	}
	for _, tt := range tests {
		_, rows := queryAll(t, s, tt.stmt, tt.args...)
		if len(rows) != 1 || !reflect.DeepEqual(rows[0], tt.want) {
			t.Errorf("Query(%q, %q) = %#v, want %#v", tt.stmt, tt.args, rows, tt.want)
		}
	}
	n := mustCount(t, s, "SELECT count(*) FROM "+eds.ID)
	if n == 0 {
		t.Fatal("the corpus store is empty")
	}
	if _, rows := queryAll(t, s, "SELECT count(*) FROM "+eds.ID+" WHERE eventID <> ?", "x' OR true OR '"); rows[0][0] != n {
		t.Errorf("count with a quoting argument = %v, want %d", rows[0][0], n)
	}

	for _, tt := range []struct {
		stmt string
		args []any
	}{
		{"SELECT ? AS a", nil},
		{"SELECT ? AS a", []any{"x", "y"}},
		{"SELECT 1", []any{"x"}},
		{"SELECT $1 || $2", []any{"x"}},
	} {
		rows, err := s.Query(t.Context(), tt.stmt, tt.args...)
		if err == nil {
			rows.Close()
			t.Errorf("Query(%q, %q) succeeded", tt.stmt, tt.args)
		} else if !strings.Contains(err.Error(), "parameters") {
			t.Errorf("Query(%q, %q) = %v, want an error about parameters", tt.stmt, tt.args, err)
		}
	}
}

// TestCommitAtomic checks that a commit that fails in the database stores
// nothing: here the last file of the commit holds invalid JSON.
func TestCommitAtomic(t *testing.T) {
	ctx := t.Context()
	s, _ := openTemp(t)
	defer s.Close()
	if err := s.CreateEventDataStore(ctx, eds); err != nil {
		t.Fatal(err)
	}
	w, err := s.NewWriter(ctx, eds.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	bad := eventsN("bad", 3)
	bad[2].Values[sink.RequestParameters] = `{"unterminated": `
	imp := sink.Import{ID: "import", StoreID: eds.ID, Status: "IN_PROGRESS"}
	if err := s.PutImport(ctx, imp); err != nil {
		t.Fatal(err)
	}
	for key, events := range map[string][]sink.Event{"good": eventsN("good", 5), "bad": bad, "other": eventsN("other", 2)} {
		if err := w.Append(ctx, key, events); err != nil {
			t.Fatal(err)
		}
	}
	done := imp
	done.Status = "COMPLETED"
	c := sink.Commit{
		Files: []sink.File{
			{ImportID: imp.ID, Key: "good", Status: sink.FileImported},
			{ImportID: imp.ID, Key: "bad", Status: sink.FileImported},
		},
		Prefixes: []sink.Prefix{{ImportID: imp.ID, Key: "p/", Completed: true}},
		Import:   &done,
	}
	if _, err := w.Commit(ctx, c); err == nil {
		t.Fatal("commit of invalid JSON succeeded")
	}
	if n := mustCount(t, s, "SELECT count(*) FROM "+eds.ID); n != 0 {
		t.Errorf("failed commit stored %d events", n)
	}
	if files, err := s.Files(ctx, sink.FileQuery{}); err != nil || len(files) != 0 {
		t.Errorf("failed commit stored files %v (%v)", files, err)
	}
	if st, err := s.Stats(ctx, imp.ID); err != nil || st != (sink.Stats{}) {
		t.Errorf("failed commit changed the stats: %+v (%v)", st, err)
	}
	if got, err := s.Import(ctx, imp.ID); err != nil || got.Status != imp.Status {
		t.Errorf("failed commit changed the import: %+v (%v)", got, err)
	}

	if _, err := w.Commit(ctx, c); err == nil {
		t.Error("commit with a writer that failed succeeded")
	}
}

func TestGoValue(t *testing.T) {
	tests := []struct {
		in   any
		want any
	}{
		{big.NewInt(-3), int64(-3)},
		{duckdb.Decimal{Width: 18, Scale: 3, Value: big.NewInt(-1500)}, "-1.5"},
		{duckdb.Interval{Months: 14}, "1 year 2 months"},
		{duckdb.Interval{Days: 1, Micros: 1}, "1 day 00:00:00.000001"},
		{duckdb.Interval{Months: -1, Days: -2}, "-1 month -2 days"},
		{uint64(7), int64(7)},
		{float32(0.5), 0.5},
		{duckdb.Union{Tag: "n", Value: int32(5)}, int64(5)},
	}
	for _, tt := range tests {
		if got := goValue(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("goValue(%#v) = %#v, want %#v", tt.in, got, tt.want)
		}
	}
}

func TestQueryNoFileAccess(t *testing.T) {
	file := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(file, []byte("not for queries"), 0o600); err != nil {
		t.Fatal(err)
	}
	read := "SELECT content FROM read_text(?)"
	for _, tc := range []struct {
		noFileAccess bool
		wantErr      bool
	}{{false, false}, {true, true}} {
		s, _ := openTempWith(t, Options{NoFileAccess: tc.noFileAccess})
		rows, err := s.Query(t.Context(), read, file)
		if err == nil {
			for rows.Next() {
			}
			err = rows.Err()
			rows.Close()
		}
		if (err != nil) != tc.wantErr {
			t.Errorf("NoFileAccess %v: reading a file: err = %v, want error %v", tc.noFileAccess, err, tc.wantErr)
		}
		s.Close()
	}
}

func TestQueryLockedSettings(t *testing.T) {
	s, path := openTemp(t)
	s.Close()
	ro, err := Open(t.Context(), path, Options{ReadOnly: true, NoFileAccess: true, LockSettings: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	for _, stmt := range []string{
		"SET threads = 1",
		"SELECT * FROM read_text('" + path + "')",
		"CREATE TABLE t (x INTEGER)",
		"PRAGMA enable_profiling",
	} {
		rows, err := ro.Query(t.Context(), stmt)
		if err == nil {
			for rows.Next() {
			}
			err = rows.Err()
			rows.Close()
		}
		if err == nil {
			t.Errorf("Query(%q) on a locked read-only store succeeded", stmt)
		}
	}
	for name, want := range map[string]string{"lock_configuration": "true", "enable_external_access": "false"} {
		_, got := queryAll(t, ro, "SELECT value FROM duckdb_settings() WHERE name = ?", name)
		if len(got) != 1 || got[0][0] != want {
			t.Errorf("setting %s = %v, want %s", name, got, want)
		}
	}
	if _, err := Open(t.Context(), path, Options{LockSettings: true}); err == nil {
		t.Error("Open with LockSettings and not ReadOnly succeeded")
	}
	if _, err := Open(t.Context(), path, Options{ReadOnly: true, AllowWrite: true}); err == nil {
		t.Error("Open with AllowWrite and ReadOnly succeeded")
	}
}

func TestQueryAllowWrite(t *testing.T) {
	s, _ := openTempWith(t, Options{AllowWrite: true})
	defer s.Close()
	for _, stmt := range []string{"CREATE TABLE notes (x INTEGER)", "INSERT INTO notes VALUES (1), (2)"} {
		rows, err := s.Query(t.Context(), stmt)
		if err != nil {
			t.Fatalf("Query(%q): %v", stmt, err)
		}
		for rows.Next() {
		}
		if err := rows.Err(); err != nil {
			t.Fatalf("Query(%q): %v", stmt, err)
		}
		rows.Close()
	}
	_, got := queryAll(t, s, "SELECT count(*) FROM notes")
	if len(got) != 1 || got[0][0] != int64(2) {
		t.Errorf("rows after the writes: %v, want [[2]]", got)
	}
}

// TestQueryScanned checks what Rows tell of the events a query read: all
// of a store's for a full scan, fewer when DuckDB skips row groups by
// eventTime, none for a query of no store, and nothing known from a store
// whose settings are locked.
func TestQueryScanned(t *testing.T) {
	s, path := openTemp(t)
	if err := s.CreateEventDataStore(t.Context(), eds); err != nil {
		t.Fatal(err)
	}
	w, err := s.NewWriter(t.Context(), eds.ID)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	events := make([]sink.Event, 300_000)
	for i := range events {
		events[i] = sinktest.Event(fmt.Sprintf("e%d", i), at.Add(time.Duration(i)*time.Second))
	}
	loadFiles(t, w, &sink.Import{ID: "import", StoreID: eds.ID, Status: "COMPLETED"}, []logFile{{key: "k", events: events}}, len(events))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	scanned := func(s *Store, statement string) (int64, int64, bool) {
		t.Helper()
		rows, err := s.Query(t.Context(), statement)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
		}
		return rows.(sink.ScanCounter).Scanned()
	}
	all, bytes, ok := scanned(s, "SELECT count(*) FROM "+eds.ID)
	if !ok || all != int64(len(events)) || bytes <= 0 {
		t.Errorf("full scan: %d events, %d bytes, %v; want %d events and bytes", all, bytes, ok, len(events))
	}
	day, dayBytes, ok := scanned(s, "SELECT count(*) FROM "+eds.ID+" WHERE eventTime >= '2024-03-02 00:00:00' AND eventTime < '2024-03-02 01:00:00'")
	if !ok || day < 3600 || day >= all || dayBytes >= bytes {
		t.Errorf("an hour: %d events, %d bytes, %v; want at least 3600 and fewer than %d", day, dayBytes, ok, all)
	}
	if n, b, ok := scanned(s, "SELECT 42 AS n"); !ok || n != 0 || b != 0 {
		t.Errorf("no store: %d events, %d bytes, %v", n, b, ok)
	}
	s.Close()
	ro, err := Open(t.Context(), path, Options{ReadOnly: true, LockSettings: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if _, _, ok := scanned(ro, "SELECT count(*) FROM "+eds.ID); ok {
		t.Error("a store with locked settings tells what its query scanned")
	}
}

// TestQueryCancelledAnywhere checks that a query cancelled at any moment of
// its start (describing, naming, profiling, beginning its transaction,
// running) leaves no connection of the pool in a transaction: the query
// after it, which begins a transaction of its own, runs and answers.
func TestQueryCancelledAnywhere(t *testing.T) {
	s, _ := openTemp(t)
	const slow = "SELECT count(*) FROM range(9223372036854775807)"
	for i := range 300 {
		ctx, cancel := context.WithCancel(t.Context())
		// Spread the cancellations over the first milliseconds, where the
		// statements before the query run.
		timer := time.AfterFunc(time.Duration(i%60)*50*time.Microsecond, cancel)
		if rows, err := s.Query(ctx, slow); err == nil {
			for rows.Next() {
			}
			rows.Close()
		}
		timer.Stop()
		cancel()
		after := time.Duration(i%60) * 50 * time.Microsecond
		rows, err := s.Query(t.Context(), "SELECT 42 AS n")
		if err != nil {
			t.Fatalf("the query after cancelling one %v into its start: %v", after, err)
		}
		if !rows.Next() {
			t.Fatalf("the query after cancelling one %v into its start has no row: %v", after, rows.Err())
		}
		if v, err := rows.Values(); err != nil || !reflect.DeepEqual(v, []any{int64(42)}) {
			t.Fatalf("the query after cancelling one %v into its start answered %v, %v; want [42]", after, v, err)
		}
		rows.Close()
	}
}
