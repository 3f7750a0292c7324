package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/engine"
	"github.com/ctimport/ctimport/internal/trailtest"
	"github.com/ctimport/ctimport/pipeline"
	"github.com/ctimport/ctimport/s3scan"
	"github.com/ctimport/ctimport/s3scan/s3scantest"
	"github.com/ctimport/ctimport/sink"
)

// putCorpus puts every file of the corpus into the bucket under its key,
// and returns the distinct eventIDs and the number of records within the
// default retention period, and the number of those older.
func putCorpus(t *testing.T, e *env) (ids map[string][]string, records, expired int) {
	ids = map[string][]string{} // eventID -> keys holding it
	for _, f := range loadCorpus(t) {
		e.mem.Put(f.key, f.gz)
		e.want[f.key] = f.ids
		for _, id := range f.ids {
			if !slices.Contains(ids[id], f.key) {
				ids[id] = append(ids[id], f.key)
			}
		}
		records += len(f.records)
		expired += f.expired
	}
	return ids, records, expired
}

// TestImportCorpus imports the real corpus, among objects that are not
// trail log files, and checks the statistics and the stored events.
func TestImportCorpus(t *testing.T) {
	e := newEnv(t, engine.Options{})
	ids, records, expired := putCorpus(t, e)
	if expired == 0 {
		t.Fatal("the corpus has no event older than the default retention period")
	}
	prefixes := map[string]bool{}
	for k := range e.want {
		prefixes[k[:strings.LastIndexByte(k, '/')+1]] = true
	}
	logFiles := len(e.want)

	// Objects that are not log files of a trail, at every level.
	day := "AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/10/"
	strays := []string{
		"index.html",
		"AWSLogs/",
		"AWSLogs/README.txt",
		"AWSLogs/218007301253/",
		"AWSLogs/218007301253/CloudTrail/",
		"AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/",
		day,
		day + "notes.txt",
		day + "218007301253_CloudTrail_us-east-1_20230710T1200Z.json.gz",
		day + "218007301253_CloudTrail-Digest_us-east-1_20230710T1200Z.json.gz",
		day + "copy/218007301253_CloudTrail_us-east-1_20230710T1200Z_AAAAAAAAAAAAAAAA.json.gz",
		"AWSLogs/218007301253/CloudTrail-Digest/us-east-1/2023/07/10/218007301253_CloudTrail-Digest_us-east-1_20230710T1200Z.json.gz",
		"AWSLogs/218007301253/CloudTrail-Insight/us-east-1/2023/07/10/218007301253_CloudTrail-Insight_us-east-1_20230710T1200Z_AAAAAAAAAAAAAAAA.json.gz",
		"AWSLogs/218007301253/Config/us-east-1/2023/7/10/ConfigSnapshot/218007301253_Config_us-east-1_ConfigSnapshot_20230710T120000Z_x.json.gz",
		"AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/10.json.gz",
		"AWSLogs/not-an-account/CloudTrail/us-east-1/2023/07/10/x.json.gz",
		"other/AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/10/218007301253_CloudTrail_us-east-1_20230710T1200Z_BBBBBBBBBBBBBBBB.json.gz",
	}
	for _, k := range strays {
		e.mem.Put(k, []byte("not a log file"))
	}

	imp, p := e.run()
	if imp.ImportStatus != api.StatusCompleted {
		t.Fatalf("status %s (%q), want COMPLETED", imp.ImportStatus, e.message(imp.ImportId))
	}
	want := api.ImportStatistics{
		PrefixesFound:     int64(len(prefixes)),
		PrefixesCompleted: int64(len(prefixes)),
		FilesCompleted:    int64(logFiles),
		EventsCompleted:   int64(records),
	}
	if *imp.ImportStatistics != want {
		t.Errorf("statistics %+v, want %+v", *imp.ImportStatistics, want)
	}
	if f := e.failureList(imp.ImportId); len(f) != 0 {
		t.Errorf("failures %+v, want none", f)
	}
	opens, _ := e.spy.reset()
	for _, k := range strays {
		if opens[k] > 0 {
			t.Errorf("opened %s, which is not a trail log file", k)
		}
	}
	for k := range e.want {
		if opens[k] != 1 {
			t.Errorf("opened %s %d times, want 1", k, opens[k])
		}
	}
	if known(t, p) && (p.SkippedObjects == 0 || p.SkippedPrefixes == 0) {
		t.Errorf("progress skipped %d objects and %d prefixes; want both counted", p.SkippedObjects, p.SkippedPrefixes)
	}

	e.checkStored(e.eds, slices.Collect(maps.Keys(ids)))
	_, keys := e.stored(e.eds)
	for id, k := range keys {
		if !slices.Contains(ids[id], k) {
			t.Errorf("event %s stored from %s; it is in %v", id, k, ids[id])
		}
	}
	if known(t, p) && (p.Stored != int64(len(ids)) || p.Events != int64(records) || p.Duplicates != int64(records-len(ids)) || p.EventsPastRetention != int64(expired)) {
		t.Errorf("progress stored %d, events %d, duplicates %d, past retention %d; want %d, %d, %d, %d",
			p.Stored, p.Events, p.Duplicates, p.EventsPastRetention, len(ids), records, records-len(ids), expired)
	}
}

// TestStoredEventContent checks that a stored event holds the fields of
// its record.
func TestStoredEventContent(t *testing.T) {
	e := newEnv(t, engine.Options{})
	f := corpusSet(t, "invictus-2023-07-10")[0]
	e.mem.Put(f.key, f.gz)
	if imp, _ := e.run(); imp.ImportStatus != api.StatusCompleted {
		t.Fatalf("status %s", imp.ImportStatus)
	}
	recs := map[string]map[string]any{}
	for _, r := range f.records {
		var m map[string]any
		json.Unmarshal(r, &m)
		recs[m["eventID"].(string)] = m
	}
	n := 0
	for k, x := range e.store.Events(storeID(e.eds)) {
		n++
		r := recs[x.ID()]
		if r == nil || k != f.key {
			t.Fatalf("stored event %s from %s, not a record of %s", x.ID(), k, f.key)
		}
		if got := x.Time.Format(time.RFC3339); got != r["eventTime"] {
			t.Errorf("event %s: time %s, want %s", x.ID(), got, r["eventTime"])
		}
		for _, c := range []struct {
			name string
			got  string
		}{{"eventName", x.Values[sink.EventName]}, {"eventSource", x.Values[sink.EventSource]}, {"awsRegion", x.Values[sink.AWSRegion]}, {"eventID", x.Values[sink.EventID]}} {
			if c.got != r[c.name] {
				t.Errorf("event %s: %s = %q, want %q", x.ID(), c.name, c.got, r[c.name])
			}
		}
	}
	if n != len(f.records) {
		t.Errorf("stored %d events, want %d", n, len(f.records))
	}
}

// TestLayouts imports an organization trail below a bucket prefix, with
// plain .json and .json.gz files, and checks that only what the URI names
// is read.
func TestLayouts(t *testing.T) {
	at := time.Date(2024, 1, 15, 8, 30, 0, 0, time.UTC)
	const root = "logs/trail/"
	const org = "o-a1b2c3d4e5"
	type file struct{ key, name string }
	files := []file{
		{orgLogKey(root, org, "111122223333", "eu-west-1", at, "Aaaaaaaaaaaaaaaa", ".json.gz"), "org-a-gz"},
		{orgLogKey(root, org, "111122223333", "eu-west-1", at.Add(5*time.Minute), "Bbbbbbbbbbbbbbbb", ".json"), "org-a-plain"},
		{orgLogKey(root, org, "444455556666", "us-west-2", at.Add(24*time.Hour), "Cccccccccccccccc", ".json.gz"), "org-b"},
		{logKey(root, "777788889999", "ap-south-1", at, "Dddddddddddddddd", ".json"), "account-trail"},
		{logKey("other/", "111122223333", "eu-west-1", at, "Eeeeeeeeeeeeeeee", ".json.gz"), "outside-prefix"},
		{logKey("", "111122223333", "eu-west-1", at, "Ffffffffffffffff", ".json.gz"), "bucket-root"},
	}
	setup := func(t *testing.T) *env {
		e := newEnv(t, engine.Options{})
		for _, f := range files {
			e.put(f.key, evs(f.name, 3, at.Add(-time.Minute))...)
		}
		return e
	}
	keysOf := func(names ...string) []string {
		var out []string
		for _, f := range files {
			if slices.Contains(names, f.name) {
				out = append(out, f.key)
			}
		}
		return out
	}
	tests := []struct {
		uri  string
		want []string
	}{
		{"s3://" + bucket + "/logs/trail/", []string{"org-a-gz", "org-a-plain", "org-b", "account-trail"}},
		{"s3://" + bucket + "/logs/trail", []string{"org-a-gz", "org-a-plain", "org-b", "account-trail"}},
		{"s3://" + bucket + "/logs/trail/AWSLogs/" + org + "/", []string{"org-a-gz", "org-a-plain", "org-b"}},
		{"s3://" + bucket + "/logs/trail/AWSLogs/" + org + "/444455556666/CloudTrail/", []string{"org-b"}},
		{"s3://" + bucket + "/logs/trail/AWSLogs/" + org + "/111122223333/CloudTrail/eu-west-1/2024/01/15/", []string{"org-a-gz", "org-a-plain"}},
		{"s3://" + bucket + "/", []string{"bucket-root"}},
		{"s3://" + bucket + "/other", []string{"outside-prefix"}},
	}
	for _, tt := range tests {
		t.Run(tt.uri, func(t *testing.T) {
			e := setup(t)
			id := e.start(newImport(e.eds.Name, tt.uri), engine.StartOptions{})
			imp, _ := e.wait(id)
			if imp.ImportStatus != api.StatusCompleted {
				t.Fatalf("status %s (%q)", imp.ImportStatus, e.message(id))
			}
			want := keysOf(tt.want...)
			e.checkStored(e.eds, e.wantIDs(want...))
			e.checkKeys(e.eds)
			if st := *imp.ImportStatistics; st.FilesCompleted != int64(len(want)) || st.EventsCompleted != int64(3*len(want)) {
				t.Errorf("statistics %+v, want %d files, %d events", st, len(want), 3*len(want))
			}
			opens, _ := e.spy.reset()
			if len(opens) != len(want) {
				t.Errorf("opened %v, want only %v", slices.Sorted(maps.Keys(opens)), want)
			}
		})
	}
}

// badFile is a malformed log file and the failure it must cause.
type badFile struct {
	name      string
	key       string
	data      []byte
	fault     *s3scantest.Fault
	errorType string
	ids       []string // events of the file that must not be stored
}

// badFiles returns one file of each kind of failure, delivered on day.
func badFiles(day time.Time) []badFile {
	k := func(i int, ext string) string {
		return logKey("", account, region, day.Add(time.Duration(i)*time.Minute), fmt.Sprintf("Bad%013d", i), ext)
	}
	good := func(prefix string, n int) ([]json.RawMessage, []string) {
		var recs []json.RawMessage
		var ids []string
		for _, x := range evs(prefix, n, day) {
			recs = append(recs, record(x))
			ids = append(ids, x.id)
		}
		return recs, ids
	}
	var out []badFile
	add := func(name, ext string, data []byte, fault *s3scantest.Fault, errorType string, ids []string) {
		out = append(out, badFile{name: name, key: k(len(out)+1, ext), data: data, fault: fault, errorType: errorType, ids: ids})
	}

	// A big file cut short: its first records decode before the end.
	recs, ids := good("truncated", 3000)
	whole := trailtest.Gzip(logDoc(recs...))
	add("truncated gzip", ".json.gz", whole[:len(whole)*2/3], nil, pipeline.ErrorTruncatedFile, ids)
	recs, ids = good("notgzip", 3)
	add("not gzip", ".json.gz", logDoc(recs...), nil, pipeline.ErrorInvalidGzip, ids)
	add("short, not gzip", ".json.gz", []byte("garbage"), nil, pipeline.ErrorInvalidGzip, nil)
	// Every record is valid but the gzip trailer's checksum is not.
	recs, ids = good("checksum", 1500)
	data := trailtest.Gzip(logDoc(recs...))
	data[len(data)-8] ^= 0xff
	add("bad gzip checksum", ".json.gz", data, nil, pipeline.ErrorInvalidGzip, ids)
	recs, ids = good("badjson", 2)
	add("invalid JSON", ".json.gz", trailtest.Gzip([]byte(`{"Records":[`+string(recs[0])+`,`+string(recs[1])+`,{"eventID" "x"}]}`)), nil, pipeline.ErrorInvalidJSON, ids)
	add("invalid JSON, plain", ".json", []byte(`{"Records":[}`), nil, pipeline.ErrorInvalidJSON, nil)
	add("no Records", ".json.gz", trailtest.Gzip([]byte(`{"records":[],"Events":[1]}`)), nil, pipeline.ErrorMissingRecords, nil)
	add("Records not an array", ".json.gz", trailtest.Gzip([]byte(`{"Records":{"eventID":"x"}}`)), nil, pipeline.ErrorMissingRecords, nil)
	add("top level array", ".json.gz", trailtest.Gzip([]byte(`[{"Records":[]}]`)), nil, pipeline.ErrorMissingRecords, nil)
	// More than one chunk of good records before the bad one.
	recs, ids = good("notobject", 1100)
	add("record not an object", ".json.gz", trailtest.Gzip(logDoc(append(recs, json.RawMessage(`42`))...)), nil, pipeline.ErrorInvalidRecord, ids)
	recs, ids = good("notime", 2)
	var m map[string]json.RawMessage
	json.Unmarshal(record(ev{id: "notime-x", at: day}), &m)
	delete(m, "eventTime")
	add("record without eventTime", ".json.gz", trailtest.Gzip(logDoc(append(recs, mustJSON(m))...)), nil, pipeline.ErrorInvalidRecord, ids)
	m["eventTime"] = mustJSON("yesterday")
	add("record with invalid eventTime", ".json.gz", trailtest.Gzip(logDoc(mustJSON(m))), nil, pipeline.ErrorInvalidRecord, nil)
	recs, ids = good("noid", 2)
	json.Unmarshal(record(ev{id: "noid-x", at: day}), &m)
	delete(m, "eventID")
	add("record without eventID", ".json.gz", trailtest.Gzip(logDoc(append(recs, mustJSON(m))...)), nil, pipeline.ErrorInvalidRecord, ids)
	add("empty object", ".json.gz", nil, nil, pipeline.ErrorEmptyFile, nil)
	add("empty plain object", ".json", nil, nil, pipeline.ErrorEmptyFile, nil)
	add("empty gzip content", ".json.gz", trailtest.Gzip(nil), nil, pipeline.ErrorEmptyFile, nil)
	recs, ids = good("vanished", 2)
	add("vanished object", ".json.gz", trailtest.Gzip(logDoc(recs...)), &s3scantest.Fault{Open: fmt.Errorf("get: %w", s3scan.ErrNotFound)}, pipeline.ErrorObjectNotFound, ids)
	recs, ids = good("denied", 2)
	add("access denied", ".json.gz", trailtest.Gzip(logDoc(recs...)), &s3scantest.Fault{Open: fmt.Errorf("get: %w", s3scan.ErrAccessDenied)}, pipeline.ErrorAccessDenied, ids)
	recs, ids = good("reset", 2000)
	data = trailtest.Gzip(logDoc(recs...))
	add("read error", ".json.gz", data, &s3scantest.Fault{Read: errors.New("connection reset by peer"), ReadAfter: int64(len(data) / 2)}, pipeline.ErrorSourceRead, ids)
	recs, ids = good("huge", 1)
	json.Unmarshal(record(ev{id: "huge-x", at: day}), &m)
	m["requestParameters"] = mustJSON(map[string]string{"blob": strings.Repeat("x", 100<<10)})
	add("record too large", ".json.gz", trailtest.Gzip(logDoc(append(recs, mustJSON(m))...)), nil, pipeline.ErrorLimitExceeded, append(ids, "huge-x"))
	return out
}

// TestBadFiles checks that each bad file is one failure of the right type,
// stores none of its events, and does not keep the other files from being
// imported.
func TestBadFiles(t *testing.T) {
	e := newEnv(t, engine.Options{Config: pipeline.Config{MaxRecordSize: 64 << 10, BatchEvents: 100}})
	day := time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC)
	bad := badFiles(day.Add(time.Hour))
	for _, b := range bad {
		e.putRaw(b.key, b.data)
		if b.fault != nil {
			e.mem.Inject(b.key, *b.fault)
		}
	}
	// Good files around the bad ones, in the same and another day.
	var goodKeys []string
	for i := range 6 {
		k := key(day.Add(time.Duration(i*50) * time.Minute))
		e.put(k, evs(fmt.Sprintf("good%d", i), 200, day)...)
		goodKeys = append(goodKeys, k)
	}
	k := key(day.Add(30 * time.Hour))
	e.put(k, evs("nextday", 5, day.Add(29*time.Hour))...)
	goodKeys = append(goodKeys, k)

	imp, p := e.run()
	if imp.ImportStatus != api.StatusFailed {
		t.Errorf("status %s, want FAILED", imp.ImportStatus)
	}
	want := api.ImportStatistics{PrefixesFound: 2, PrefixesCompleted: 2, FilesCompleted: int64(len(goodKeys)), EventsCompleted: 6*200 + 5, FailedEntries: int64(len(bad))}
	if *imp.ImportStatistics != want {
		t.Errorf("statistics %+v, want %+v", *imp.ImportStatistics, want)
	}
	if msg := e.message(imp.ImportId); msg != "" {
		t.Errorf("Message = %q; file failures explain the status", msg)
	}
	failures := e.failureList(imp.ImportId)
	byKey := map[string]api.ImportFailureListItem{}
	for _, f := range failures {
		if _, dup := byKey[f.Location]; dup {
			t.Errorf("two failure entries for %s", f.Location)
		}
		byKey[f.Location] = f
	}
	if len(failures) != len(bad) {
		t.Errorf("%d failure entries, want %d", len(failures), len(bad))
	}
	if !slices.IsSortedFunc(failures, func(a, b api.ImportFailureListItem) int { return strings.Compare(a.Location, b.Location) }) {
		t.Errorf("failures are not in key order")
	}
	opens, _ := e.spy.reset()
	for _, b := range bad {
		f, ok := byKey[b.key]
		switch {
		case !ok:
			t.Errorf("%s: no failure entry for %s", b.name, b.key)
			continue
		case f.ErrorType != b.errorType:
			t.Errorf("%s: ErrorType %s (%s), want %s", b.name, f.ErrorType, f.ErrorMessage, b.errorType)
		case f.Status != api.FailureFailed:
			t.Errorf("%s: status %s, want FAILED", b.name, f.Status)
		case f.ErrorMessage == "" || len(f.ErrorMessage) > 1000:
			t.Errorf("%s: ErrorMessage %q", b.name, f.ErrorMessage)
		case f.LastUpdatedTime.IsZero():
			t.Errorf("%s: no LastUpdatedTime", b.name)
		}
		// None of these failures is transient: one attempt each.
		if opens[b.key] != 1 {
			t.Errorf("%s: opened %d times, want 1", b.name, opens[b.key])
		}
	}
	e.checkStored(e.eds, e.wantIDs(goodKeys...))
	e.checkKeys(e.eds)
	if known(t, p) && (p.FilesFailed != int64(len(bad)) || p.FilesDone != int64(len(goodKeys)) || p.Retries != 0) {
		t.Errorf("progress: %d failed, %d done, %d retries; want %d, %d, 0", p.FilesFailed, p.FilesDone, p.Retries, len(bad), len(goodKeys))
	}
	if e.mem.Unclosed() != 0 {
		t.Errorf("%d object readers left open", e.mem.Unclosed())
	}
}

// TestTransientErrors checks that transient read errors are retried with
// backoff: a file that recovers is imported once and its failure entry
// reads SUCCEEDED; one that keeps failing fails after Options.Attempts.
func TestTransientErrors(t *testing.T) {
	const attempts = 3
	e := newEnv(t, engine.Options{Config: pipeline.Config{Attempts: attempts, BatchEvents: 10}})
	day := time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC)
	recoversOpen, recoversRead, fails, fine := key(day.Add(time.Hour)), key(day.Add(2*time.Hour)), key(day.Add(3*time.Hour)), key(day.Add(4*time.Hour))
	e.put(recoversOpen, evs("ro", 5, day)...)
	e.put(recoversRead, evs("rr", 2000, day)...)
	e.put(fails, evs("f", 5, day)...)
	e.put(fine, evs("ok", 5, day)...)
	e.mem.Inject(recoversOpen, s3scantest.Fault{Open: transient, Times: attempts - 1})
	e.mem.Inject(recoversRead, s3scantest.Fault{Read: transient, ReadAfter: 4000, Times: 1})
	e.mem.Inject(fails, s3scantest.Fault{Open: transient})

	imp, p := e.run()
	if imp.ImportStatus != api.StatusFailed {
		t.Errorf("status %s, want FAILED", imp.ImportStatus)
	}
	want := api.ImportStatistics{PrefixesFound: 1, PrefixesCompleted: 1, FilesCompleted: 3, EventsCompleted: 5 + 2000 + 5, FailedEntries: 1}
	if *imp.ImportStatistics != want {
		t.Errorf("statistics %+v, want %+v", *imp.ImportStatistics, want)
	}
	opens, _ := e.spy.reset()
	for k, n := range map[string]int{recoversOpen: attempts, recoversRead: 2, fails: attempts, fine: 1} {
		if opens[k] != n {
			t.Errorf("opened %s %d times, want %d", k, opens[k], n)
		}
	}
	f := e.failures(imp.ImportId)
	if len(f) != 3 {
		t.Errorf("failure entries %+v, want 3", f)
	}
	for _, k := range []string{recoversOpen, recoversRead} {
		if f[k].Status != api.FailureSucceeded || f[k].ErrorType != pipeline.ErrorSourceRead {
			t.Errorf("failure of %s: %+v, want SUCCEEDED with ErrorType %s", k, f[k], pipeline.ErrorSourceRead)
		}
	}
	if f[fails].Status != api.FailureFailed || f[fails].ErrorType != pipeline.ErrorSourceRead || !strings.Contains(f[fails].ErrorMessage, "SlowDown") {
		t.Errorf("failure of %s: %+v, want FAILED %s naming the error", fails, f[fails], pipeline.ErrorSourceRead)
	}
	if _, ok := f[fine]; ok {
		t.Errorf("a file that never failed has a failure entry")
	}
	e.checkStored(e.eds, e.wantIDs(recoversOpen, recoversRead, fine))
	if known(t, p) && p.Retries != (attempts-1)+1+(attempts-1) {
		t.Errorf("progress: %d retries, want %d", p.Retries, (attempts-1)+1+(attempts-1))
	}
	if e.mem.Unclosed() != 0 {
		t.Errorf("%d object readers left open", e.mem.Unclosed())
	}
}

// TestRetryAfterChange checks that a file read again after a transient
// error mid-read, and replaced in between, is stored as the attempt that
// succeeded read it: none of the events the failed attempt had read is kept.
func TestRetryAfterChange(t *testing.T) {
	e := newEnv(t, engine.Options{})
	day := time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC)
	k := key(day.Add(time.Hour))
	e.put(k, evs("v1", 3000, day)...)
	rc, obj, err := e.mem.Open(e.ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	rc.Close()
	e.mem.Inject(k, s3scantest.Fault{Read: transient, ReadAfter: obj.Size * 7 / 10, Times: 1})
	opens := 0
	e.spy.setHook(func(ctx context.Context, key string) error {
		if key == k {
			if opens++; opens == 2 {
				e.put(k, evs("v2", 10, day)...)
			}
		}
		return nil
	})
	imp, _ := e.run()
	if imp.ImportStatus != api.StatusCompleted || imp.ImportStatistics.EventsCompleted != 10 {
		t.Fatalf("import %s %+v, want COMPLETED with the 10 events of the new version", imp.ImportStatus, imp.ImportStatistics)
	}
	if opens != 2 {
		t.Errorf("opened %d times, want 2", opens)
	}
	e.checkStored(e.eds, idsOf(evs("v2", 10, day)))
}

// TestRetryStatusDuringRun checks that a file waiting for its next attempt
// is listed with status RETRY while the import runs.
func TestRetryStatusDuringRun(t *testing.T) {
	e := newEnv(t, engine.Options{Config: pipeline.Config{Attempts: 3, Backoff: time.Hour, BatchEvents: 1, SyncInterval: 10 * time.Millisecond}})
	day := time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC)
	flaky, fine := key(day.Add(time.Hour)), key(day.Add(2*time.Hour))
	e.put(flaky, evs("flaky", 5, day)...)
	e.put(fine, evs("fine", 5, day)...)
	e.mem.Inject(flaky, s3scantest.Fault{Open: transient})
	id := e.startNew()

	var f api.ImportFailureListItem
	eventually(t, "a RETRY failure entry", func() bool {
		f = e.failures(id)[flaky]
		return f.Status != ""
	})
	eventually(t, "the commit of the good file", func() bool { return e.importedKeys(id)[fine] })
	if f.Status != api.FailureRetry || f.ErrorType != pipeline.ErrorSourceRead || f.Location != flaky {
		t.Errorf("failure entry %+v, want RETRY %s of %s", f, pipeline.ErrorSourceRead, flaky)
	}
	if st := e.status(id); st != api.StatusInProgress {
		t.Errorf("status %s while a retry is waiting, want IN_PROGRESS", st)
	}
	if p, ok := e.eng.Progress(id); !ok || p.Retries != 1 {
		t.Errorf("Progress = %+v, %v; want running with 1 retry", p, ok)
	}

	// Stopping ends the wait for the next attempt; a retry of the import
	// reads the file again and imports it.
	stopped, err := e.eng.StopImport(e.ctx, api.StopImportInput{ImportId: id})
	if err != nil || stopped.ImportStatus != api.StatusStopped {
		t.Fatalf("StopImport = %s, %v; want STOPPED", stopped.ImportStatus, err)
	}
	if st := e.failures(id)[flaky].Status; st != api.FailureRetry {
		t.Errorf("after the stop the failure is %s, want RETRY", st)
	}
	e.mem.Inject(flaky, s3scantest.Fault{})
	e.spy.reset()
	e.retry(id)
	imp, _ := e.wait(id)
	if imp.ImportStatus != api.StatusCompleted {
		t.Fatalf("retry ended %s (%q)", imp.ImportStatus, e.message(id))
	}
	if st := e.failures(id)[flaky].Status; st != api.FailureSucceeded {
		t.Errorf("after the retry the failure is %s, want SUCCEEDED", st)
	}
	e.checkStored(e.eds, e.wantIDs())
	opens, _ := e.spy.reset()
	if opens[flaky] != 1 || opens[fine] != 0 {
		t.Errorf("the retry opened %v; want only %s, once", opens, flaky)
	}
}

// TestListErrors checks that transient listing errors are retried and
// that a listing that fails for good fails the import with a message.
func TestListErrors(t *testing.T) {
	day := time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC)
	dayPrefix := "AWSLogs/" + account + "/CloudTrail/" + region + "/2023/07/10/"
	t.Run("transient", func(t *testing.T) {
		e := newEnv(t, engine.Options{Config: pipeline.Config{Attempts: 3}})
		e.put(key(day.Add(time.Hour)), evs("l", 3, day)...)
		e.mem.FailList("AWSLogs/", transient, 2)
		e.mem.FailList(dayPrefix, transient, 2)
		imp, p := e.run()
		if imp.ImportStatus != api.StatusCompleted {
			t.Fatalf("status %s (%q)", imp.ImportStatus, e.message(imp.ImportId))
		}
		e.checkStored(e.eds, e.wantIDs())
		if known(t, p) && p.Retries != 4 {
			t.Errorf("progress: %d retries, want 4", p.Retries)
		}
	})
	for name, prefix := range map[string]string{"discover": "AWSLogs/" + account + "/CloudTrail/", "day": dayPrefix} {
		t.Run("denied "+name, func(t *testing.T) {
			e := newEnv(t, engine.Options{})
			e.put(key(day.Add(time.Hour)), evs("l", 3, day)...)
			// The error is final: the prefix is listed once, and the fault
			// is gone for the retry.
			e.mem.FailList(prefix, fmt.Errorf("list: %w", s3scan.ErrAccessDenied), 1)
			imp, _ := e.run()
			if imp.ImportStatus != api.StatusFailed {
				t.Errorf("status %s, want FAILED", imp.ImportStatus)
			}
			if msg := e.message(imp.ImportId); !strings.Contains(msg, "access denied") {
				t.Errorf("Message = %q, want it to say access was denied", msg)
			}
			e.checkStored(e.eds, nil)
			// Listing again succeeds: the retry completes.
			e.retry(imp.ImportId)
			if imp, _ = e.wait(imp.ImportId); imp.ImportStatus != api.StatusCompleted {
				t.Errorf("retry ended %s (%q)", imp.ImportStatus, e.message(imp.ImportId))
			}
			e.checkStored(e.eds, e.wantIDs())
		})
	}
}

// TestTimeWindow checks that only events within [StartEventTime,
// EndEventTime] are stored, that late deliveries are read, and that files
// delivered before the start or after the allowance are not opened.
func TestTimeWindow(t *testing.T) {
	e := newEnv(t, engine.Options{})
	at := func(h, m int) time.Time { return time.Date(2023, 7, 10, h, m, 0, 0, time.UTC) }
	start, end := at(10, 0), at(12, 0)
	before := key(at(9, 55))
	e.put(before, ev{"before-1", at(9, 50)})
	early := key(at(10, 5))
	e.put(early, ev{"early-out", at(9, 58)}, ev{"early-start", at(10, 0)}, ev{"early-in", at(10, 3)})
	edge := key(at(12, 5))
	e.put(edge, ev{"edge-in", at(11, 59)}, ev{"edge-end", at(12, 0)}, ev{"edge-out", at(12, 0).Add(time.Second)})
	late := key(at(12, 50))
	e.put(late, ev{"late-in", at(11, 30)}, ev{"late-out", at(12, 45)})
	tooLate := key(at(13, 30))
	e.put(tooLate, ev{"toolate-in", at(11, 0)})
	prevDay := key(at(10, 0).Add(-24 * time.Hour))
	e.put(prevDay, ev{"prevday", at(10, 30)})
	nextDay := key(at(10, 0).Add(24 * time.Hour))
	e.put(nextDay, ev{"nextday", at(11, 30)})

	in := newImport(e.eds.EventDataStoreArn, srcURI)
	in.StartEventTime, in.EndEventTime = ptr(start.In(time.FixedZone("x", 3600))), ptr(end)
	id := e.start(in, engine.StartOptions{Allowance: time.Hour})
	imp, p := e.wait(id)
	if imp.ImportStatus != api.StatusCompleted {
		t.Fatalf("status %s (%q)", imp.ImportStatus, e.message(id))
	}
	if imp.StartEventTime == nil || !imp.StartEventTime.Equal(start) || imp.EndEventTime == nil || !imp.EndEventTime.Equal(end) {
		t.Errorf("time range %v-%v, want %v-%v", imp.StartEventTime, imp.EndEventTime, start, end)
	}
	e.checkStored(e.eds, []string{"early-start", "early-in", "edge-in", "edge-end", "late-in"})
	want := api.ImportStatistics{PrefixesFound: 1, PrefixesCompleted: 1, FilesCompleted: 3, EventsCompleted: 5}
	if *imp.ImportStatistics != want {
		t.Errorf("statistics %+v, want %+v", *imp.ImportStatistics, want)
	}
	opens, lists := e.spy.reset()
	for _, k := range []string{early, edge, late} {
		if opens[k] != 1 {
			t.Errorf("opened %s %d times, want 1", k, opens[k])
		}
	}
	for _, k := range []string{before, tooLate, prevDay, nextDay} {
		if opens[k] != 0 {
			t.Errorf("opened %s, delivered outside the window", k)
		}
	}
	for _, l := range lists {
		if strings.HasSuffix(l, "/2023/07/09/") || strings.HasSuffix(l, "/2023/07/11/") {
			t.Errorf("listed %s, a day outside the window", l)
		}
	}
	if known(t, p) && p.EventsOutOfRange != 3 {
		t.Errorf("progress: %d events out of range, want 3", p.EventsOutOfRange)
	}
}

// TestTimeWindowOpenEnded checks a window with only a start, and one with
// only an end.
func TestTimeWindowOpenEnded(t *testing.T) {
	at := func(d, h int) time.Time { return time.Date(2023, 7, d, h, 0, 0, 0, time.UTC) }
	setup := func(t *testing.T) *env {
		e := newEnv(t, engine.Options{})
		e.put(key(at(1, 10)), ev{"d1", at(1, 9)})
		e.put(key(at(15, 10)), ev{"d15", at(15, 9)})
		e.put(key(at(15, 12)), ev{"d15-late", at(15, 9)})
		e.put(key(at(28, 10)), ev{"d28", at(28, 9)})
		e.put(logKey("", account, region, at(28, 10).AddDate(1, 0, 0), "Nextyear00000000", ".json.gz"), ev{"nextyear", at(28, 9).AddDate(1, 0, 0)})
		return e
	}
	t.Run("start", func(t *testing.T) {
		e := setup(t)
		in := newImport(e.eds.Name, srcURI)
		in.StartEventTime = ptr(at(15, 9))
		imp, _ := e.wait(e.start(in, engine.StartOptions{}))
		if imp.ImportStatus != api.StatusCompleted || imp.EndEventTime != nil {
			t.Fatalf("import %+v", imp)
		}
		e.checkStored(e.eds, []string{"d15", "d15-late", "d28", "nextyear"})
	})
	t.Run("end", func(t *testing.T) {
		e := setup(t)
		in := newImport(e.eds.Name, srcURI)
		in.EndEventTime = ptr(at(15, 9))
		imp, _ := e.wait(e.start(in, engine.StartOptions{Allowance: 2 * time.Hour}))
		if imp.ImportStatus != api.StatusCompleted || imp.StartEventTime != nil {
			t.Fatalf("import %+v", imp)
		}
		e.checkStored(e.eds, []string{"d1", "d15"})
		opens, _ := e.spy.reset()
		if len(opens) != 2 {
			t.Errorf("opened %v, want the two files delivered by the end plus the allowance", opens)
		}
	})
}

// TestDedup checks that an event is stored once per event data store,
// however often it is delivered or imported.
func TestDedup(t *testing.T) {
	e := newEnv(t, engine.Options{Config: pipeline.Config{BatchEvents: 1}})
	day := time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC)
	all := evs("e", 8, day)
	a, b, c := key(day.Add(time.Hour)), key(day.Add(2*time.Hour)), key(day.Add(26*time.Hour))
	e.put(a, all[:5]...)
	e.put(b, all[3:]...)             // repeats e-3, e-4
	e.put(c, all[0], all[7], all[7]) // repeats e-0 and e-7, and e-7 within the file
	files := 5 + 5 + 3

	imp, p := e.run()
	if imp.ImportStatus != api.StatusCompleted {
		t.Fatalf("status %s", imp.ImportStatus)
	}
	e.checkStored(e.eds, idsOf(all))
	if st := imp.ImportStatistics; st.EventsCompleted != int64(files) || st.FilesCompleted != 3 {
		t.Errorf("statistics %+v, want %d events of 3 files", st, files)
	}
	if known(t, p) && (p.Stored != 8 || p.Duplicates != int64(files-8) || p.Events != int64(files)) {
		t.Errorf("progress stored %d, duplicates %d, events %d; want 8, %d, %d", p.Stored, p.Duplicates, p.Events, files-8, files)
	}

	// A second import of the same source into the same store stores nothing new.
	imp2, p2 := e.run()
	if imp2.ImportStatus != api.StatusCompleted || imp2.ImportId == imp.ImportId {
		t.Fatalf("second import %+v", imp2)
	}
	e.checkStored(e.eds, idsOf(all))
	if known(t, p2) && (p2.Stored != 0 || p2.Duplicates != int64(files)) {
		t.Errorf("second import stored %d, duplicates %d; want 0, %d", p2.Stored, p2.Duplicates, files)
	}
	if st := imp2.ImportStatistics; st.EventsCompleted != int64(files) {
		t.Errorf("second import statistics %+v", st)
	}

	// Another store gets its own copy.
	other := e.createStore("other")
	imp3, p3 := e.wait(e.start(newImport(other.Name, srcURI), engine.StartOptions{}))
	if imp3.ImportStatus != api.StatusCompleted || known(t, p3) && p3.Stored != 8 {
		t.Errorf("import into another store: %s, stored %d", imp3.ImportStatus, p3.Stored)
	}
	e.checkStored(other, idsOf(all))
	e.checkStored(e.eds, idsOf(all))
}

// TestConcurrentStores runs imports into different stores at once.
func TestConcurrentStores(t *testing.T) {
	e := newEnv(t, engine.Options{Config: pipeline.Config{Concurrency: 3, BatchEvents: 50}, MaxOngoingImports: 4})
	day := time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC)
	for i := range 20 {
		e.put(key(day.Add(time.Duration(i)*7*time.Hour)), evs(fmt.Sprintf("c%d", i), 100, day)...)
	}
	var stores []api.EventDataStore
	var ids []string
	for i := range 4 {
		s := e.createStore(fmt.Sprintf("store-%d", i))
		stores = append(stores, s)
		ids = append(ids, e.start(newImport(s.EventDataStoreArn, srcURI), engine.StartOptions{}))
	}
	for i, id := range ids {
		imp, _ := e.wait(id)
		if imp.ImportStatus != api.StatusCompleted {
			t.Errorf("import %d: %s", i, imp.ImportStatus)
		}
		e.checkStored(stores[i], e.wantIDs())
	}
}

// TestCloseStopsImports checks that Close stops running imports.
func TestCloseStopsImports(t *testing.T) {
	e := newEnv(t, engine.Options{Config: pipeline.Config{Concurrency: 1, Downloads: 1, PrefetchBytes: 1}})
	id := e.startGated()
	done := make(chan struct{})
	go func() { e.eng.Close(); close(done) }()
	waitClosed(t, done, "Close")
	if st := e.status(id); st != api.StatusStopped {
		t.Errorf("status after Close %s, want STOPPED", st)
	}
	if _, err := e.eng.StartImport(context.Background(), newImport(e.eds.Name, srcURI)); err == nil {
		t.Errorf("StartImport after Close succeeded")
	}
}

// TestPrefetch checks that objects are fetched ahead of the decoding, more
// at once than there are workers: each Open of the source waits until all
// of them are under way, which only fetchers running side by side reach.
func TestPrefetch(t *testing.T) {
	const files = 8
	e := newEnv(t, engine.Options{Config: pipeline.Config{Concurrency: 1, Downloads: files}})
	day := time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC)
	for i := range files {
		k := key(day.Add(time.Duration(i+1) * time.Minute))
		e.put(k, evs(k, 3, day)...)
	}
	var mu sync.Mutex
	opening := 0
	all := make(chan struct{})
	e.spy.setHook(func(ctx context.Context, k string) error {
		mu.Lock()
		if opening++; opening == files {
			close(all)
		}
		mu.Unlock()
		select {
		case <-all:
			return nil
		case <-time.After(10 * time.Second):
			return errors.New("the other objects were not fetched meanwhile")
		}
	})
	imp, _ := e.run()
	if imp.ImportStatus != api.StatusCompleted || imp.ImportStatistics.FilesCompleted != files {
		t.Fatalf("import ended %s with %+v (%q); want every file imported", imp.ImportStatus, imp.ImportStatistics, e.message(imp.ImportId))
	}
	e.checkStored(e.eds, e.wantIDs())
}

// TestStreamsOutliveFetchers checks that objects too large to be fetched
// into memory are read by the workers within the life of the context they
// were opened with, also once every fetcher is done.
func TestStreamsOutliveFetchers(t *testing.T) {
	e := newEnv(t, engine.Options{Config: pipeline.Config{Concurrency: 1, Downloads: 4, PrefetchBytes: 1}})
	day := time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC)
	for i := range 6 {
		k := key(day.Add(time.Duration(i+1) * time.Minute))
		e.put(k, evs(k, 3, day)...)
	}
	e.spy.setWrap(func(ctx context.Context, k string, r io.ReadCloser) io.ReadCloser {
		return ctxReader{r, ctx}
	})
	imp, _ := e.run()
	if imp.ImportStatus != api.StatusCompleted || imp.ImportStatistics.FilesCompleted != 6 {
		t.Fatalf("import ended %s with %+v (%q); want every file imported", imp.ImportStatus, imp.ImportStatistics, e.message(imp.ImportId))
	}
}

// ctxReader fails its reads once ctx ends, as a reader of an S3 response
// does when the context of its request ends. Its reads are slow, so that
// the last files are still being read when the fetchers are done.
type ctxReader struct {
	io.ReadCloser
	ctx context.Context
}

func (r ctxReader) Read(p []byte) (int, error) {
	time.Sleep(20 * time.Millisecond)
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.ReadCloser.Read(p)
}
