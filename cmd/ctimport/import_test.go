package main

import (
	"fmt"
	"os"
	"path"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/engine"
	"github.com/ctimport/ctimport/internal/miniotest"
	"github.com/ctimport/ctimport/internal/trailtest"
)

// dayPrefixes returns the number of day prefixes holding the keys.
func dayPrefixes(keys []string) int64 {
	days := map[string]bool{}
	for _, k := range keys {
		days[path.Dir(k)] = true
	}
	return int64(len(days))
}

// checkImport fails unless imp ended in status with the statistics want.
func checkImport(t *testing.T, imp api.Import, status api.ImportStatus, want api.ImportStatistics) {
	t.Helper()
	if imp.ImportStatus != status {
		t.Errorf("ImportStatus %s, want %s", imp.ImportStatus, status)
	}
	if imp.ImportStatistics == nil {
		t.Fatalf("no ImportStatistics")
	}
	if *imp.ImportStatistics != want {
		t.Errorf("ImportStatistics %+v, want %+v", *imp.ImportStatistics, want)
	}
}

// addDecoy adds an object that holds valid records but is not a trail log
// file, so that importing it shows as events that should not be there.
func addDecoy(l *layout, key string) {
	l.t.Helper()
	records := []any{record(event{id: "decoy-" + key, at: time.Date(2023, 7, 10, 12, 0, 0, 0, time.UTC)})}
	l.put(key, trailtest.Gzip(mustJSON(l.t, map[string]any{"Records": records})))
}

// addNoise adds what real trail buckets hold besides log files: digest,
// insight and Config files, folder markers and stray files at several
// levels, also in the day prefix of a log file.
func addNoise(l *layout, logKey string) {
	l.t.Helper()
	parts := strings.Split(logKey, "/") // AWSLogs/account/CloudTrail/region/YYYY/MM/DD/name
	account, day := parts[1], path.Dir(logKey)+"/"
	accountDir := "AWSLogs/" + account + "/"
	for _, key := range []string{"README", "AWSLogs/README.md", accountDir + "README", accountDir + "CloudTrail/README.txt", day + "README"} {
		l.put(key, []byte("Logs of the trail. Do not delete.\n"))
	}
	for _, key := range []string{"x/", "AWSLogs/", accountDir + "CloudTrail/", day} {
		l.put(key, nil)
	}
	addDecoy(l, accountDir+"CloudTrail-Digest/us-east-1/2023/07/10/"+account+"_CloudTrail-Digest_us-east-1_trail_us-east-1_20230710T120000Z.json.gz")
	addDecoy(l, accountDir+"CloudTrail-Insight/us-east-1/2023/07/10/"+account+"_CloudTrail-Insight_us-east-1_20230710T1200Z_AbCdEfGh12345678.json.gz")
	addDecoy(l, accountDir+"Config/us-east-1/2023/7/10/ConfigHistory/"+account+"_Config_us-east-1_ConfigHistory_AWS::S3::Bucket_20230710T120000Z_20230710T120000Z_1.json.gz")
	addDecoy(l, day+"copy-of-a-log-file.json.gz")
	addDecoy(l, day+account+"_CloudTrail-Digest_us-east-1_trail_us-east-1_20230710T120000Z.json.gz")
}

func TestImportCorpusWithNoise(t *testing.T) {
	t.Parallel()
	l := newLayout(t)
	for _, set := range corpusSets(t) {
		l.corpus(set, "")
	}
	keys := l.logKeys()
	want := l.ids(nil)
	addNoise(l, keys[0])
	srv, bucket := l.newBucket()
	h := newHarness(t, s3Env(srv)...)
	store := h.createStore("corpus")

	imp, o := h.startImport(exitOK, store.EventDataStoreArn, "s3://"+bucket+"/")
	days := dayPrefixes(keys)
	checkImport(t, imp, api.StatusCompleted, api.ImportStatistics{
		PrefixesFound: days, PrefixesCompleted: days,
		FilesCompleted: int64(len(keys)), EventsCompleted: int64(l.count()),
	})
	if !strings.Contains(o.stderr, "skipped") {
		t.Errorf("the summary does not say that objects were skipped\n%s", o)
	}
	if f := h.failures(imp.ImportId); len(f) != 0 {
		t.Errorf("skipped objects are listed as failures: %v", f)
	}
	if got := h.getImport(imp.ImportId); got.ImportStatus != api.StatusCompleted || *got.ImportStatistics != *imp.ImportStatistics {
		t.Errorf("get-import says %s %+v, start-import said %s %+v", got.ImportStatus, got.ImportStatistics, imp.ImportStatus, imp.ImportStatistics)
	}
	id := storeID(store.EventDataStoreArn)
	h.checkStored(id, want)
	counts := h.query(fmt.Sprintf("SELECT count(*) AS n, count(DISTINCT eventID) AS d FROM %s", id))
	if n, d := counts[0]["n"], counts[0]["d"]; n != float64(len(want)) || d != float64(len(want)) {
		t.Errorf("count(*) %v, count(DISTINCT eventID) %v; want %d", n, d, len(want))
	}
}

// keysUnder returns the keys of log files of l below prefix.
func keysUnder(l *layout, prefix string) []string {
	var keys []string
	for _, k := range l.logKeys() {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	return keys
}

func TestImportOrganizationTrailUnderPrefix(t *testing.T) {
	t.Parallel()
	const (
		root    = "some/prefix/AWSLogs/o-abc123def4/"
		account = "218007301253"
		day     = root + account + "/CloudTrail/us-east-1/2023/07/10/"
	)
	l := newLayout(t)
	l.corpus(corpusDir+"/invictus-2023-07-10/AWSLogs", root)
	nextDay := time.Date(2023, 7, 11, 0, 5, 0, 0, time.UTC)
	l.log(logKey(root, account, "us-east-1", nextDay, "NextDay1"), events("next-day", nextDay.Add(-3*time.Minute), 3)...)
	other := time.Date(2023, 7, 10, 12, 0, 0, 0, time.UTC)
	l.log(logKey(root, "111122223333", "eu-west-1", other, "OtherAcct1"), events("other-account", other.Add(-10*time.Minute), 4)...)
	// Trails outside the imported prefix.
	outside := newLayout(t)
	outside.log(logKey("AWSLogs/", "999988887777", "us-east-1", other, "Outside1"), events("outside-root", other, 2)...)
	outside.log(logKey("other/prefix/AWSLogs/o-abc123def4/", account, "us-east-1", other, "Outside2"), events("outside-prefix", other, 2)...)
	for k, data := range outside.objects {
		l.put(k, data)
	}
	l.put(root+"README", []byte("organization trail\n"))
	srv, bucket := l.newBucket()
	creds := s3Creds(srv) // the endpoint is given with --s3-endpoint-url

	for _, tc := range []struct {
		name, uri, under string
	}{
		{"bucket prefix", "some/prefix/", root},
		{"organization", root, root},
		{"account", root + account + "/", root + account + "/"},
		{"day", day, day},
		{"day without slash", strings.TrimSuffix(day, "/"), day},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, creds...)
			store := h.createStore("org")
			imp, _ := h.startImport(exitOK, store.EventDataStoreArn, "s3://"+bucket+"/"+tc.uri, "--s3-endpoint-url", srv.Endpoint())
			keys := keysUnder(l, tc.under)
			days := dayPrefixes(keys)
			checkImport(t, imp, api.StatusCompleted, api.ImportStatistics{
				PrefixesFound: days, PrefixesCompleted: days,
				FilesCompleted: int64(len(keys)), EventsCompleted: int64(l.count(keys...)),
			})
			h.checkStored(storeID(store.EventDataStoreArn), l.ids(nil, keys...))
		})
	}
}

// malformed is a broken log file and how the import must describe it.
type malformed struct {
	name      string
	data      []byte
	errorType string // see engine/failure.go
	message   string // a part of the ErrorMessage
}

// malformedFiles returns one log file of each kind of damage.
func malformedFiles(t *testing.T) []malformed {
	good := trailtest.Gzip(mustJSON(t, map[string]any{"Records": []any{record(event{id: "in-a-truncated-file", at: time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)})}}))
	valid := record(event{id: "before-a-bad-record", at: time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)})
	badTime := record(event{id: "with-a-bad-time"})
	badTime["eventTime"] = "yesterday"
	noTime := record(event{id: "without-a-time"})
	delete(noTime, "eventTime")
	doc := func(v any) []byte { return trailtest.Gzip(mustJSON(t, v)) }
	return []malformed{
		{"truncated gzip", good[:len(good)/2], "TruncatedFile", "ends"},
		{"not gzip", []byte("this is not gzip data, just text\n"), "InvalidGzip", "gzip"},
		{"invalid json", trailtest.Gzip([]byte(`{"Records": [{"eventID": "x",,}]}`)), "InvalidJson", "invalid character"},
		{"truncated json", trailtest.Gzip([]byte(`{"Records": [{"eventID": "x", "eventTime": "2024-05-01T09:00:00Z"}`)), "TruncatedFile", "end"},
		{"no records array", doc(map[string]any{"Events": []any{valid}}), "MissingRecords", "Records"},
		{"records not an array", doc(map[string]any{"Records": valid}), "MissingRecords", "Records"},
		{"record not an object", doc(map[string]any{"Records": []any{valid, "GetObject"}}), "InvalidRecord", "not an object"},
		{"record with a bad eventTime", doc(map[string]any{"Records": []any{valid, badTime}}), "InvalidRecord", "eventTime"},
		{"record without eventTime", doc(map[string]any{"Records": []any{valid, noTime}}), "InvalidRecord", "eventTime"},
		{"empty object", []byte{}, "EmptyFile", "empty"},
		{"empty gzip stream", trailtest.Gzip(nil), "EmptyFile", "no json"},
	}
}

func TestImportMalformedFiles(t *testing.T) {
	t.Parallel()
	const root = "AWSLogs/"
	at := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	l := newLayout(t)
	for i := range 4 {
		delivery := at.Add(time.Duration(i) * 5 * time.Minute)
		l.log(logKey(root, "123456789012", "us-east-1", delivery, fmt.Sprintf("Good%d", i)), events(fmt.Sprintf("good-%d", i), delivery.Add(-5*time.Minute), 5)...)
	}
	good := l.logKeys()
	bad := map[string]malformed{}
	for i, m := range malformedFiles(t) {
		key := logKey(root, "123456789012", "us-east-1", at.Add(time.Duration(i)*time.Minute), fmt.Sprintf("Bad%02d", i))
		l.put(key, m.data)
		bad[key] = m
	}
	srv, bucket := l.newBucket()
	h := newHarness(t, s3Env(srv)...)
	store := h.createStore("malformed")

	imp, o := h.startImport(exitFailed, store.EventDataStoreArn, "s3://"+bucket+"/")
	checkImport(t, imp, api.StatusFailed, api.ImportStatistics{
		PrefixesFound: 1, PrefixesCompleted: 1,
		FilesCompleted: int64(len(good)), EventsCompleted: int64(l.count()), FailedEntries: int64(len(bad)),
	})
	for _, want := range []string{
		fmt.Sprintf("%d files failed; see ctimport list-import-failures --import-id %s", len(bad), imp.ImportId),
		"retry with: ctimport start-import --import-id " + imp.ImportId,
	} {
		if !strings.Contains(o.stderr, want) {
			t.Errorf("stderr does not say %q\n%s", want, o)
		}
	}
	failures := h.failures(imp.ImportId)
	for key, m := range bad {
		f, ok := failures[key]
		switch {
		case !ok:
			t.Errorf("%s: %s is not listed as a failure", m.name, key)
			continue
		case f.Status != api.FailureFailed || f.ErrorType != m.errorType:
			t.Errorf("%s: listed as %s %s, want FAILED %s (%s)", m.name, f.Status, f.ErrorType, m.errorType, f.ErrorMessage)
		case f.ErrorMessage == "" || strings.Contains(f.ErrorMessage, "\n") || !strings.Contains(f.ErrorMessage, m.message):
			t.Errorf("%s: ErrorMessage %q does not say clearly what is wrong (want a line mentioning %q)", m.name, f.ErrorMessage, m.message)
		}
		if f.LastUpdatedTime.IsZero() {
			t.Errorf("%s: no LastUpdatedTime", m.name)
		}
	}
	for key := range failures {
		if _, ok := bad[key]; !ok {
			t.Errorf("%s is listed as a failure", key)
		}
	}
	h.checkStored(storeID(store.EventDataStoreArn), l.ids(nil))
}

func TestImportAccessDeniedObject(t *testing.T) {
	t.Parallel()
	l := newLayout(t)
	l.corpus(corpusDir+"/invictus-2023-07-10", "")
	keys := l.logKeys()
	denied := keys[len(keys)/2]
	srv, bucket := l.newBucket()
	denyObject(t, srv, bucket, denied)
	h := newHarness(t, "AWS_ENDPOINT_URL_S3="+srv.Endpoint()) // no credentials: anonymous requests
	store := h.createStore("anonymous")

	imp, _ := h.startImport(exitFailed, store.EventDataStoreArn, "s3://"+bucket+"/")
	checkImport(t, imp, api.StatusFailed, api.ImportStatistics{
		PrefixesFound: 1, PrefixesCompleted: 1,
		FilesCompleted: int64(len(keys) - 1), EventsCompleted: int64(l.count() - len(l.events[denied])), FailedEntries: 1,
	})
	failures := h.failures(imp.ImportId)
	if f, ok := failures[denied]; len(failures) != 1 || !ok || f.ErrorType != "AccessDenied" || f.Status != api.FailureFailed {
		t.Errorf("failures %+v, want only %s FAILED AccessDenied", failures, denied)
	}
	var rest []string
	for _, k := range keys {
		if k != denied {
			rest = append(rest, k)
		}
	}
	h.checkStored(storeID(store.EventDataStoreArn), l.ids(nil, rest...))
}

func TestImportTimeWindowWithLateDeliveries(t *testing.T) {
	t.Parallel()
	at := func(hour, minute, sec int) time.Time { return time.Date(2024, 3, 1, hour, minute, sec, 0, time.UTC) }
	start, end := at(10, 0, 0), at(12, 0, 0)
	l := newLayout(t)
	delivered := map[string]time.Time{}
	add := func(delivery time.Time, times ...time.Time) {
		key := logKey("AWSLogs/", "123456789012", "us-east-1", delivery, "R"+delivery.Format("20060102T1504"))
		evs := make([]event, len(times))
		for i, tm := range times {
			evs[i] = event{id: fmt.Sprintf("%s-%d", delivery.Format("0102T1504"), i), at: tm}
		}
		l.log(key, evs...)
		delivered[key] = delivery
	}
	add(at(-1, 55, 0), at(-1, 50, 0))             // the day before
	add(at(9, 30, 0), at(9, 25, 0), at(9, 26, 0)) // delivered before the start
	add(at(10, 5, 0), at(9, 58, 0), at(10, 0, 0), at(10, 3, 0))
	add(at(11, 55, 0), at(11, 50, 0))
	add(at(12, 5, 0), at(11, 59, 59), at(12, 0, 0), at(12, 0, 1))
	add(at(12, 55, 0), at(11, 58, 0), at(12, 30, 0)) // late: within the default allowance of an hour
	add(at(13, 5, 0), at(12, 50, 0))                 // beyond it
	add(at(24, 5, 0), at(24, 0, 0))                  // the day after
	srv, bucket := l.newBucket()

	epoch := func(t time.Time) string { return fmt.Sprint(t.Unix()) }
	for _, tc := range []struct {
		name       string
		args       []string
		start, end time.Time // zero when open
		allowance  time.Duration
	}{
		{"ISO 8601 UTC", []string{"--start-event-time", "2024-03-01T10:00:00Z", "--end-event-time", "2024-03-01T12:00:00Z"}, start, end, time.Hour},
		{"epoch seconds", []string{"--start-event-time", epoch(start), "--end-event-time", epoch(end)}, start, end, time.Hour},
		{"ISO 8601 with offsets", []string{"--start-event-time", "2024-03-01T11:00:00+01:00", "--end-event-time", "2024-03-01T07:00:00.000-05:00"}, start, end, time.Hour},
		{"ISO 8601 without zone", []string{"--start-event-time", "2024-03-01 10:00:00", "--end-event-time=2024-03-01T12:00"}, start, end, time.Hour},
		{"shorter allowance", []string{"--start-event-time", epoch(start), "--end-event-time", epoch(end), "--allowance", "10m"}, start, end, 10 * time.Minute},
		{"start only", []string{"--start-event-time", "2024-03-01T10:00:00Z"}, start, time.Time{}, time.Hour},
		{"end only", []string{"--end-event-time", epoch(end)}, time.Time{}, end, time.Hour},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var read []string
			for key, d := range delivered {
				if (tc.start.IsZero() || !d.Before(tc.start)) && (tc.end.IsZero() || !d.After(tc.end.Add(tc.allowance))) {
					read = append(read, key)
				}
			}
			want := l.ids(func(e event) bool {
				return (tc.start.IsZero() || !e.at.Before(tc.start)) && (tc.end.IsZero() || !e.at.After(tc.end))
			}, read...)
			h := newHarness(t, s3Env(srv)...)
			store := h.createStore("window")
			imp, o := h.startImport(exitOK, store.EventDataStoreArn, "s3://"+bucket+"/", tc.args...)
			if !sameTime(imp.StartEventTime, tc.start) || !sameTime(imp.EndEventTime, tc.end) {
				t.Errorf("StartEventTime %v, EndEventTime %v; want %v, %v", imp.StartEventTime, imp.EndEventTime, tc.start, tc.end)
			}
			days := dayPrefixes(read)
			checkImport(t, imp, api.StatusCompleted, api.ImportStatistics{
				PrefixesFound: days, PrefixesCompleted: days,
				FilesCompleted: int64(len(read)), EventsCompleted: int64(len(want)),
			})
			if !strings.Contains(o.stderr, "events outside the time range") {
				t.Errorf("the summary does not count the events outside the time range\n%s", o)
			}
			h.checkStored(storeID(store.EventDataStoreArn), want)
		})
	}
}

// sameTime reports whether an optional time of the API is want, or absent
// when want is zero.
func sameTime(got *time.Time, want time.Time) bool {
	if want.IsZero() {
		return got == nil
	}
	return got != nil && got.Equal(want)
}

var startedRE = regexp.MustCompile(`import ([0-9a-f-]{36}) started`)

// stoppableImport is a bucket of log files made of real records with new
// eventIDs, with a gate in front that holds all files but the first few.
type stoppableImport struct {
	l     *layout
	keys  []string
	first int // the files the gate lets through
}

func newStoppableImport(t *testing.T) *stoppableImport {
	t.Helper()
	records := corpusRecords(t, corpusDir+"/invictus-2023-07-10")
	const files, perFile = 40, 50
	l := newLayout(t)
	delivery := time.Date(2023, 7, 10, 12, 0, 0, 0, time.UTC)
	for i := range files {
		ids := make([]string, perFile)
		for j := range ids {
			ids[j] = fmt.Sprintf("00000000-0000-4000-8000-%06d%06d", i, j)
		}
		key := logKey("AWSLogs/", "218007301253", "us-east-1", delivery.Add(time.Duration(i)*time.Minute), fmt.Sprintf("Rekeyed%03d", i))
		l.logRaw(key, rekeyed(t, records[i*perFile:(i+1)*perFile], ids))
	}
	return &stoppableImport{l: l, keys: l.logKeys(), first: 15}
}

// gatedWorkers is the --concurrency of the imports that run through a gate.
const gatedWorkers = 2

// blockedImport is an import of a stoppableImport running through a gate
// that holds all files but the first ones.
type blockedImport struct {
	h     *harness
	g     *gate
	p     *process
	id    string
	store string // the ID of the event data store
}

// startBlocked starts importing s, and returns once the import waits for
// every held file it fetches ahead: the files before them are read, or
// being read.
func (s *stoppableImport) startBlocked(t *testing.T, srv *miniotest.Server, bucket string) *blockedImport {
	t.Helper()
	held := map[string]bool{}
	for _, k := range s.keys[s.first:] {
		held["/"+bucket+"/"+k] = true
	}
	b := &blockedImport{g: newGate(t, srv.Endpoint(), func(path string) bool { return held[path] })}
	b.h = newHarness(t, append(s3Creds(srv), "AWS_ENDPOINT_URL_S3="+b.g.endpoint())...)
	store := b.h.createStore("stop")
	b.store = storeID(store.EventDataStoreArn)
	b.p = b.h.start("start-import", "--destinations", store.EventDataStoreArn,
		"--import-source", importSource("s3://"+bucket+"/"), "--concurrency", fmt.Sprint(gatedWorkers))
	poll(t, "the import to wait for held files", func() bool {
		if m := startedRE.FindStringSubmatch(b.p.stderr.String()); m != nil {
			b.id = m[1]
		}
		return b.id != "" && b.g.waiting.Load() == int64(min(engine.DefaultDownloads, len(s.keys)-s.first))
	})
	return b
}

// retry opens the gate, retries the import and checks that it completes
// with every event stored once.
func (b *blockedImport) retry(t *testing.T, s *stoppableImport) {
	t.Helper()
	if f := b.h.failures(b.id); len(f) != 0 {
		t.Errorf("the files being read when the import ended are listed as failures: %v", f)
	}
	b.g.open()
	imp, o := b.h.retryImport(exitOK, b.id)
	if !strings.Contains(o.stderr, "import "+b.id+" retrying") {
		t.Errorf("stderr does not say that the import is retried\n%s", o)
	}
	checkImport(t, imp, api.StatusCompleted, api.ImportStatistics{
		PrefixesFound: 1, PrefixesCompleted: 1, FilesCompleted: int64(len(s.keys)), EventsCompleted: int64(s.l.count()),
	})
	if imps := b.h.listImports(); len(imps) != 1 || imps[0].ImportId != b.id {
		t.Errorf("list-imports shows %+v, want only import %s", imps, b.id)
	}
	b.h.checkStored(b.store, s.l.ids(nil))
}

func TestStopAndRetry(t *testing.T) {
	t.Parallel()
	s := newStoppableImport(t)
	srv, bucket := s.l.newBucket()
	for _, how := range []string{"SIGINT", "stop-import"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			b := s.startBlocked(t, srv, bucket)
			switch how {
			case "SIGINT":
				if err := b.p.cmd.Process.Signal(os.Interrupt); err != nil {
					t.Fatal(err)
				}
			case "stop-import":
				stop := decode[api.Import](t, b.h.expect(exitOK, "stop-import", "--import-id", b.id))
				if stop.ImportStatus != api.StatusStopped {
					t.Errorf("stop-import printed status %s, want STOPPED", stop.ImportStatus)
				}
			}
			o := b.p.wait()
			if o.code != exitStopped {
				t.Fatalf("want exit %d\n%s", exitStopped, o)
			}
			// The files read in full are committed as the import stops:
			// some of the first files, those the workers were done with.
			stopped := *decode[api.Import](t, o).ImportStatistics
			if stopped.FilesCompleted > int64(s.first) || stopped.EventsCompleted > int64(s.l.count(s.keys[:s.first]...)) ||
				stopped.FailedEntries != 0 || stopped.PrefixesFound != 1 || stopped.PrefixesCompleted != 0 {
				t.Errorf("statistics of the stopped import %+v; want at most the %d files before the held ones", stopped, s.first)
			}
			for _, want := range []string{"stopping import " + b.id, "retry with: ctimport start-import --import-id " + b.id} {
				if !strings.Contains(o.stderr, want) {
					t.Errorf("stderr does not say %q\n%s", want, o)
				}
			}
			checkImport(t, b.h.getImport(b.id), api.StatusStopped, stopped)
			b.retry(t, s)
		})
	}
}

func TestRetryAfterCrash(t *testing.T) {
	t.Parallel()
	s := newStoppableImport(t)
	srv, bucket := s.l.newBucket()
	b := s.startBlocked(t, srv, bucket)
	if err := b.p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	b.p.wait()
	// The next command finds the import left IN_PROGRESS and marks it STOPPED.
	imp := b.h.getImport(b.id)
	if imp.ImportStatus != api.StatusStopped || imp.ImportStatistics.FilesCompleted > int64(s.first) || imp.ImportStatistics.FailedEntries != 0 {
		t.Errorf("after a crash the import is %s with %+v; want STOPPED with at most the %d files read", imp.ImportStatus, *imp.ImportStatistics, s.first)
	}
	b.retry(t, s)
}

func TestRetryAfterFixingObject(t *testing.T) {
	t.Parallel()
	l := newLayout(t)
	l.corpus(corpusDir+"/invictus-2023-07-10", "")
	corrupt := logKey("AWSLogs/", "218007301253", "us-east-1", time.Date(2023, 7, 10, 12, 2, 0, 0, time.UTC), "FixedLater")
	l.put(corrupt, []byte("<html>503 Service Unavailable</html>"))
	srv, bucket := l.newBucket()
	h := newHarness(t, s3Env(srv)...)
	store := h.createStore("retry")
	keys := l.logKeys()

	imp, _ := h.startImport(exitFailed, store.EventDataStoreArn, "s3://"+bucket+"/")
	checkImport(t, imp, api.StatusFailed, api.ImportStatistics{
		PrefixesFound: 1, PrefixesCompleted: 1, FilesCompleted: int64(len(keys)), EventsCompleted: int64(l.count()), FailedEntries: 1,
	})
	if f := h.failures(imp.ImportId)[corrupt]; f.Status != api.FailureFailed || f.ErrorType != "InvalidGzip" {
		t.Errorf("failure of %s: %+v, want FAILED InvalidGzip", corrupt, f)
	}

	l.log(corrupt, events("fixed", time.Date(2023, 7, 10, 11, 58, 0, 0, time.UTC), 3)...)
	l.upload(srv, bucket)
	retried, _ := h.retryImport(exitOK, imp.ImportId)
	checkImport(t, retried, api.StatusCompleted, api.ImportStatistics{
		PrefixesFound: 1, PrefixesCompleted: 1, FilesCompleted: int64(len(keys) + 1), EventsCompleted: int64(l.count()),
	})
	failures := h.failures(imp.ImportId)
	if f := failures[corrupt]; len(failures) != 1 || f.Status != api.FailureSucceeded || f.ErrorType != "InvalidGzip" {
		t.Errorf("failures after the retry: %+v; want only %s, SUCCEEDED, with its ErrorType InvalidGzip", failures, corrupt)
	}
	h.checkStored(storeID(store.EventDataStoreArn), l.ids(nil))
	// A COMPLETED import is not retried, and stopping it changes nothing.
	o := h.expect(exitError, "start-import", "--import-id", imp.ImportId)
	checkOneLine(t, o, "InvalidParameterException")
	if stop := decode[api.Import](t, h.expect(exitOK, "stop-import", "--import-id", imp.ImportId)); stop.ImportStatus != api.StatusCompleted {
		t.Errorf("stop-import of a COMPLETED import made it %s", stop.ImportStatus)
	}
}

func TestDuplicateEventsAreStoredOnce(t *testing.T) {
	t.Parallel()
	at := time.Date(2024, 6, 1, 8, 0, 0, 0, time.UTC)
	l := newLayout(t)
	evs := events("dup", at, 6)
	first := logKey("AWSLogs/", "123456789012", "us-east-1", at.Add(5*time.Minute), "First")
	again := logKey("AWSLogs/", "123456789012", "us-east-1", at.Add(10*time.Minute), "Again")
	l.log(first, evs...)
	l.objects[again], l.events[again] = l.objects[first], evs
	l.log(logKey("AWSLogs/", "123456789012", "us-east-1", at.Add(15*time.Minute), "Other"), append(events("other", at, 2), evs[0])...)
	srv, bucket := l.newBucket()
	h := newHarness(t, s3Env(srv)...)
	store := h.createStore("dups")
	id := storeID(store.EventDataStoreArn)
	want := l.ids(nil)
	stats := api.ImportStatistics{PrefixesFound: 1, PrefixesCompleted: 1, FilesCompleted: 3, EventsCompleted: int64(l.count())}

	imp, o := h.startImport(exitOK, store.EventDataStoreArn, "s3://"+bucket+"/")
	checkImport(t, imp, api.StatusCompleted, stats)
	if s := fmt.Sprintf("%d events (%d new, %d already stored)", l.count(), len(want), l.count()-len(want)); !strings.Contains(o.stderr, s) {
		t.Errorf("the summary does not say %q\n%s", s, o)
	}
	h.checkStored(id, want)

	second, o := h.startImport(exitOK, store.EventDataStoreArn, "s3://"+bucket+"/")
	if second.ImportId == imp.ImportId {
		t.Errorf("the second import has the ID of the first")
	}
	checkImport(t, second, api.StatusCompleted, stats)
	if s := fmt.Sprintf("%d events (0 new, %d already stored)", l.count(), l.count()); !strings.Contains(o.stderr, s) {
		t.Errorf("the summary does not say %q\n%s", s, o)
	}
	h.checkStored(id, want)
}

func TestIncrementalImport(t *testing.T) {
	t.Parallel()
	day1 := time.Date(2024, 7, 1, 22, 0, 0, 0, time.UTC)
	l := newLayout(t)
	for i := range 4 {
		delivery := day1.Add(time.Duration(i) * 30 * time.Minute)
		l.log(logKey("AWSLogs/", "123456789012", "us-east-1", delivery, fmt.Sprintf("Day1x%d", i)), events(fmt.Sprintf("day1-%d", i), delivery.Add(-5*time.Minute), 4)...)
	}
	firstKeys := l.logKeys()
	srv, bucket := l.newBucket()
	h := newHarness(t, s3Env(srv)...)
	store := h.createStore("incremental")
	id := storeID(store.EventDataStoreArn)

	imp, _ := h.startImport(exitOK, store.EventDataStoreArn, "s3://"+bucket+"/", "--incremental")
	checkImport(t, imp, api.StatusCompleted, api.ImportStatistics{
		PrefixesFound: 1, PrefixesCompleted: 1, FilesCompleted: int64(len(firstKeys)), EventsCompleted: int64(l.count()),
	})
	h.checkStored(id, l.ids(nil))

	day2 := day1.Add(3 * time.Hour)
	var newKeys []string
	for i := range 3 {
		delivery := day2.Add(time.Duration(i) * 10 * time.Minute)
		key := logKey("AWSLogs/", "123456789012", "us-east-1", delivery, fmt.Sprintf("Day2x%d", i))
		l.log(key, events(fmt.Sprintf("day2-%d", i), delivery.Add(-4*time.Minute), 3)...)
		newKeys = append(newKeys, key)
	}
	l.upload(srv, bucket)
	imp2, _ := h.startImport(exitOK, store.EventDataStoreArn, "s3://"+bucket+"/", "--incremental")
	stats := *imp2.ImportStatistics
	if stats.FilesCompleted != int64(len(newKeys)) || stats.EventsCompleted != int64(l.count(newKeys...)) || stats.FailedEntries != 0 {
		t.Errorf("the incremental import read %d files, %d events; want only the %d new files, %d events",
			stats.FilesCompleted, stats.EventsCompleted, len(newKeys), l.count(newKeys...))
	}
	if imp2.ImportStatus != api.StatusCompleted || imp2.StartEventTime == nil {
		t.Errorf("incremental import: %s, StartEventTime %v; want COMPLETED with a StartEventTime", imp2.ImportStatus, imp2.StartEventTime)
	}
	h.checkStored(id, l.ids(nil))
}
