package server_test

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/engine"
	"github.com/ctimport/ctimport/internal/awsmodel"
	"github.com/ctimport/ctimport/internal/sigv4"
	"github.com/ctimport/ctimport/pipeline"
	"github.com/ctimport/ctimport/s3scan"
	"github.com/ctimport/ctimport/s3scan/s3scantest"
	"github.com/ctimport/ctimport/server"
	"github.com/ctimport/ctimport/sink"
	"github.com/ctimport/ctimport/sink/duckdbsink"
	"github.com/ctimport/ctimport/sink/memsink"
)

const (
	accessKeyID = "AKIDSERVERTEST01"
	// secretKey is distinctive so that a search of the log for it cannot
	// match anything else.
	secretKey   = "srv-Secret/Key+9f3kQz7WmXv2"
	wrongSecret = "wrong-Secret/Key+Lr8pT4nYc6"
	region      = "us-east-1"
	bucket      = "trail-bucket"
	account     = "111122223333"
	jsonType    = "application/x-amz-json-1.1"
	// waitTimeout bounds every poll of a test.
	waitTimeout = 60 * time.Second
	// blockQuery runs until it is cancelled; see blockingStore.
	blockQuery = "SELECT 'blocks until cancelled' AS b"
)

// source is the ImportSource of the imports of the tests.
const source = `{"S3":{"S3LocationUri":"s3://` + bucket + `/","S3BucketRegion":"us-east-1","S3BucketAccessRoleArn":"arn:aws:iam::111122223333:role/import"}}`

var (
	goodKey = sigv4.Key{AccessKeyID: accessKeyID, SecretAccessKey: secretKey}
	// readKey has the role read; the other keys of a fixture are admins.
	readKey  = sigv4.Key{AccessKeyID: "AKIDREADONLY0003", SecretAccessKey: "read-Only/Secret+77"}
	wrongKey = sigv4.Key{AccessKeyID: accessKeyID, SecretAccessKey: wrongSecret}
	// day is the day of the log files every fixture serves.
	day = time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC)
)

// syncBuffer is a bytes.Buffer safe for concurrent use, for the log.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fixture is a server over an engine reading an in-memory bucket.
type fixture struct {
	t      *testing.T
	ctx    context.Context
	eng    *engine.Engine
	store  sink.Store
	mem    *s3scantest.Mem
	url    string
	log    *syncBuffer
	keys   []string // the log files put, in delivery order
	events int      // the events in them
	size   int64    // their total size
}

// config configures a fixture.
type config struct {
	// store is the engine's store; nil means a new DuckDB store.
	store sink.Store
	// maxBody is the server's MaxBodyBytes.
	maxBody int64
	// maxConcurrent, perSecond and now are the server's
	// MaxConcurrentRequests, MaxRequestsPerSecond and Now.
	maxConcurrent, perSecond int
	now                      func() time.Time
	// wrap, when set, wraps the bucket the engine reads.
	wrap func(s3scan.Source) s3scan.Source
}

// newFixture serves an engine whose bucket holds 3 log files of 4 events
// each.
func newFixture(t *testing.T, cfg config) *fixture {
	t.Helper()
	f := &fixture{t: t, ctx: t.Context(), store: cfg.store, mem: s3scantest.NewMem(), log: &syncBuffer{}}
	if f.store == nil {
		db, err := duckdbsink.Open(f.ctx, filepath.Join(t.TempDir(), "server.duckdb"), duckdbsink.Options{Holder: "test"})
		if err != nil {
			t.Fatal(err)
		}
		f.store = blockingStore{db}
	}
	t.Cleanup(func() { f.store.Close() })
	for i := range 3 {
		at := day.Add(time.Duration(i+1) * time.Hour)
		k := logKey(at, i)
		data := logFile(fmt.Sprintf("f%d", i), 4, at.Add(-10*time.Minute))
		f.mem.Put(k, data)
		f.keys = append(f.keys, k)
		f.events += 4
		f.size += int64(len(data))
	}
	f.eng = engine.New(f.store, engine.Options{
		Config: pipeline.Config{Backoff: time.Millisecond},
		OpenSource: func(ctx context.Context, loc s3scan.Location, src api.S3ImportSource) (s3scan.Source, error) {
			if loc.Bucket != bucket {
				return nil, fmt.Errorf("open %s: %w", loc, s3scan.ErrNoBucket)
			}
			if cfg.wrap != nil {
				return cfg.wrap(f.mem), nil
			}
			return f.mem, nil
		},
	})
	t.Cleanup(func() { f.eng.Close() })
	logger := slog.New(slog.NewJSONHandler(f.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := server.New(server.Config{
		Engine:                f.eng,
		Keys:                  sigv4.Keys{accessKeyID: secretKey, "AKIDOTHERKEY02": "other-Secret/Key+55", readKey.AccessKeyID: readKey.SecretAccessKey},
		Roles:                 map[string]server.Role{readKey.AccessKeyID: server.RoleRead, "AKIDOTHERKEY02": server.RoleAdmin},
		MaxBodyBytes:          cfg.maxBody,
		MaxConcurrentRequests: cfg.maxConcurrent,
		MaxRequestsPerSecond:  cfg.perSecond,
		Logger:                logger,
		Now:                   cfg.now,
	})
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	f.url = hs.URL
	return f
}

// with returns f for the subtest t.
func (f *fixture) with(t *testing.T) *fixture {
	g := *f
	g.t, g.ctx = t, t.Context()
	return &g
}

// blockingStore is a DuckDB store whose Query of blockQuery waits for its
// context to end, without reaching DuckDB: a cancelled DuckDB query may not
// end at once.
type blockingStore struct{ *duckdbsink.Store }

func (s blockingStore) Query(ctx context.Context, statement string, args ...any) (sink.Rows, error) {
	if statement == blockQuery {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return s.Store.Query(ctx, statement, args...)
}

// logKey returns the key of a log file of the trail delivered at delivery.
func logKey(delivery time.Time, n int) string {
	return fmt.Sprintf("AWSLogs/%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_Srv%013d.json.gz",
		account, region, delivery.Format("2006/01/02"), account, region, delivery.Format("20060102T1504Z"), n)
}

// logFile returns a gzip CloudTrail log file of n events with IDs
// prefix-0..., a second apart from at.
func logFile(prefix string, n int, at time.Time) []byte {
	type record struct {
		EventVersion       string `json:"eventVersion"`
		EventTime          string `json:"eventTime"`
		EventSource        string `json:"eventSource"`
		EventName          string `json:"eventName"`
		AWSRegion          string `json:"awsRegion"`
		EventID            string `json:"eventID"`
		RecipientAccountID string `json:"recipientAccountId"`
	}
	var doc struct {
		Records []record
	}
	for i := range n {
		doc.Records = append(doc.Records, record{
			EventVersion:       "1.08",
			EventTime:          at.Add(time.Duration(i) * time.Second).Format(time.RFC3339),
			EventSource:        "s3.amazonaws.com",
			EventName:          "GetObject",
			AWSRegion:          region,
			EventID:            fmt.Sprintf("%s-%d", prefix, i),
			RecipientAccountID: account,
		})
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write(raw)
	zw.Close()
	return b.Bytes()
}

// request is an HTTP request to the server.
type request struct {
	method  string // "" means POST
	path    string // "" means /
	target  string // X-Amz-Target; "" sends none
	ctype   string // Content-Type; "" sends none
	body    string
	key     *sigv4.Key    // signs the request when set
	basic   *sigv4.Key    // authenticates the request by HTTP Basic when set
	skew    time.Duration // added to the signing time
	service string        // the signing service; "" means server.Service
}

// response is what the server answered.
type response struct {
	status int
	header http.Header
	body   []byte
	sig    string // the signature the request carried
}

// op returns a signed request of operation name with body.
func op(name, body string) request {
	return request{target: server.TargetPrefix + name, ctype: jsonType, body: body, key: &goodKey}
}

func (f *fixture) do(r request) response {
	f.t.Helper()
	req := f.request(r)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	_, sig, _ := strings.Cut(req.Header.Get("Authorization"), "Signature=")
	return response{status: resp.StatusCode, header: resp.Header, body: body, sig: sig}
}

// request returns the HTTP request of r, signed when r has a key.
func (f *fixture) request(r request) *http.Request {
	f.t.Helper()
	method, path := r.method, r.path
	if method == "" {
		method = http.MethodPost
	}
	if path == "" {
		path = "/"
	}
	req, err := http.NewRequestWithContext(f.ctx, method, f.url+path, strings.NewReader(r.body))
	if err != nil {
		f.t.Fatal(err)
	}
	if r.target != "" {
		req.Header.Set("X-Amz-Target", r.target)
	}
	if r.ctype != "" {
		req.Header.Set("Content-Type", r.ctype)
	}
	if r.key != nil {
		if err := sigv4.Sign(req, []byte(r.body), *r.key, region, cmp.Or(r.service, server.Service), time.Now().Add(r.skew)); err != nil {
			f.t.Fatal(err)
		}
	}
	if r.basic != nil {
		req.SetBasicAuth(r.basic.AccessKeyID, r.basic.SecretAccessKey)
	}
	return req
}

// call runs operation name with body and fails the test unless it
// succeeds; it returns the response decoded with numbers kept as they are.
func (f *fixture) call(name, body string) map[string]any {
	f.t.Helper()
	resp := f.do(op(name, body))
	if resp.status != http.StatusOK {
		f.t.Fatalf("%s: HTTP %d: %s", name, resp.status, resp.body)
	}
	return decode(f.t, resp.body)
}

func decode(t *testing.T, body []byte) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("response %q is not a JSON object: %v", body, err)
	}
	return m
}

// path returns the value at a path of member names and array indexes.
func path(v any, steps ...any) any {
	for _, s := range steps {
		switch s := s.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[s]
		case int:
			a, _ := v.([]any)
			if s >= len(a) {
				return nil
			}
			v = a[s]
		}
	}
	return v
}

// timeMembers are the timestamp members of the responses.
var timeMembers = map[string]bool{
	"CreatedTimestamp": true, "UpdatedTimestamp": true, "StartEventTime": true,
	"EndEventTime": true, "CreationTime": true, "LastUpdatedTime": true,
}

// checkTimes checks that every timestamp member in v is a JSON number of
// epoch seconds, and returns how many there are.
func checkTimes(t *testing.T, where string, v any) int {
	t.Helper()
	n := 0
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if timeMembers[k] {
				n++
				num, ok := x.(json.Number)
				if !ok {
					t.Errorf("%s: %s is %#v, want a JSON number", where, k, x)
					continue
				}
				if f, err := num.Float64(); err != nil || f < 1e9 || f > 1e11 {
					t.Errorf("%s: %s is %s, not epoch seconds", where, k, num)
				}
				continue
			}
			n += checkTimes(t, where, x)
		}
	case []any:
		for _, x := range v {
			n += checkTimes(t, where, x)
		}
	}
	return n
}

// eventually polls cond until it holds, failing the test after waitTimeout.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitImport waits for the run of import id to end.
func (f *fixture) waitImport(id string) api.Import {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(f.ctx, waitTimeout)
	defer cancel()
	imp, _, err := f.eng.Wait(ctx, id)
	if err != nil {
		f.t.Fatalf("Wait(%s): %v", id, err)
	}
	return imp
}

// storeID returns the ID of an event data store from its ARN.
func storeID(arn string) string { return arn[strings.LastIndexByte(arn, '/')+1:] }

// TestOperations sends each operation of the model, signed, and checks
// that it reaches the engine and that its response follows AWS JSON 1.1.
func TestOperations(t *testing.T) {
	f := newFixture(t, config{})
	const (
		start = "1688947200"    // 2023-07-10T00:00:00Z
		end   = "1689033600.25" // 2023-07-11T00:00:00.25Z
	)
	var arn, importID, queryID, blockedID string
	steps := []struct {
		op        string
		body      func() string
		wantTimes int // the least number of timestamps in the response
		check     func(t *testing.T, out map[string]any)
	}{
		{"CreateEventDataStore", func() string { return `{"Name":"proto"}` }, 2, func(t *testing.T, out map[string]any) {
			arn, _ = out["EventDataStoreArn"].(string)
			if out["Name"] != "proto" || !strings.HasPrefix(arn, "arn:aws:cloudtrail:") || out["Status"] != "ENABLED" {
				t.Errorf("created %v", out)
			}
		}},
		{"GetEventDataStore", func() string { return `{"EventDataStore":"proto"}` }, 2, func(t *testing.T, out map[string]any) {
			if out["EventDataStoreArn"] != arn {
				t.Errorf("GetEventDataStore returned ARN %v, want %s", out["EventDataStoreArn"], arn)
			}
		}},
		{"ListEventDataStores", func() string { return `{}` }, 2, func(t *testing.T, out map[string]any) {
			if path(out, "EventDataStores", 0, "EventDataStoreArn") != arn || path(out, "EventDataStores", 1) != nil {
				t.Errorf("listed %v, want the one store", out)
			}
		}},
		{"StartImport", func() string {
			return `{"Destinations":["` + arn + `"],"ImportSource":{"S3":{"S3LocationUri":"s3://` + bucket + `/","S3BucketRegion":"us-east-1","S3BucketAccessRoleArn":"arn:aws:iam::111122223333:role/r"}},` +
				`"StartEventTime":` + start + `,"EndEventTime":` + end + `}`
		}, 4, func(t *testing.T, out map[string]any) {
			importID, _ = out["ImportId"].(string)
			if importID == "" {
				t.Fatalf("StartImport returned no ImportId: %v", out)
			}
			if s := path(out, "StartEventTime"); s != json.Number(start) {
				t.Errorf("StartImport returned StartEventTime %#v, want %s", s, start)
			}
			if imp := f.waitImport(importID); imp.ImportStatus != api.StatusCompleted {
				t.Fatalf("the import ended %s", imp.ImportStatus)
			}
		}},
		{"GetImport", func() string { return `{"ImportId":"` + importID + `"}` }, 4, func(t *testing.T, out map[string]any) {
			if s := out["StartEventTime"]; s != json.Number(start) {
				t.Errorf("StartEventTime %#v, want the number %s", s, start)
			}
			if e := out["EndEventTime"]; e != json.Number(end) {
				t.Errorf("EndEventTime %#v, want the number %s", e, end)
			}
			if out["ImportStatus"] != "COMPLETED" || path(out, "Destinations", 0) != arn ||
				path(out, "ImportSource", "S3", "S3LocationUri") != "s3://"+bucket+"/" {
				t.Errorf("GetImport returned %v", out)
			}
			st := path(out, "ImportStatistics")
			if path(st, "FilesCompleted") != json.Number("3") || path(st, "EventsCompleted") != json.Number(strconv.Itoa(f.events)) {
				t.Errorf("statistics %v, want 3 files and %d events", st, f.events)
			}
		}},
		{"ListImports", func() string { return `{"ImportStatus":"COMPLETED"}` }, 2, func(t *testing.T, out map[string]any) {
			if path(out, "Imports", 0, "ImportId") != importID || path(out, "Imports", 1) != nil {
				t.Errorf("listed %v, want the import", out)
			}
		}},
		{"ListImportFailures", func() string { return `{"ImportId":"` + importID + `","MaxResults":10}` }, 0, func(t *testing.T, out map[string]any) {
			if f, ok := out["Failures"].([]any); !ok || len(f) != 0 {
				t.Errorf("failures %v, want an empty list", out["Failures"])
			}
		}},
		{"StopImport", func() string { return `{"ImportId":"` + importID + `"}` }, 4, func(t *testing.T, out map[string]any) {
			if out["ImportId"] != importID || out["ImportStatus"] != "COMPLETED" {
				t.Errorf("StopImport of an ended import returned %v", out)
			}
		}},
		{"StartQuery", func() string {
			return `{"QueryStatement":"SELECT count(*) AS n FROM ` + storeID(arn) + ` WHERE eventID LIKE ?","QueryParameters":["f%"]}`
		}, 0, func(t *testing.T, out map[string]any) {
			queryID, _ = out["QueryId"].(string)
			if queryID == "" {
				t.Fatalf("StartQuery returned %v", out)
			}
			eventually(t, "the query to end", func() bool {
				d, err := f.eng.DescribeQuery(f.ctx, api.DescribeQueryInput{QueryId: queryID})
				return err == nil && d.QueryStatus.Done()
			})
		}},
		{"DescribeQuery", func() string { return `{"QueryId":"` + queryID + `"}` }, 1, func(t *testing.T, out map[string]any) {
			if out["QueryStatus"] != "FINISHED" || out["QueryId"] != queryID || !strings.HasPrefix(out["QueryString"].(string), "SELECT count(*)") {
				t.Errorf("DescribeQuery returned %v", out)
			}
		}},
		{"GetQueryResults", func() string { return `{"QueryId":"` + queryID + `"}` }, 0, func(t *testing.T, out map[string]any) {
			if n := path(out, "QueryResultRows", 0, 0, "n"); n != strconv.Itoa(f.events) || out["QueryStatus"] != "FINISHED" {
				t.Errorf("GetQueryResults returned %v, want n = %d", out, f.events)
			}
		}},
		{"CancelQuery", func() string {
			q, err := f.eng.StartQuery(f.ctx, api.StartQueryInput{QueryStatement: blockQuery})
			if err != nil {
				t.Fatal(err)
			}
			blockedID = q.QueryId
			eventually(t, "the query to run", func() bool {
				d, err := f.eng.DescribeQuery(f.ctx, api.DescribeQueryInput{QueryId: blockedID})
				return err == nil && d.QueryStatus == api.QueryRunning
			})
			return `{"QueryId":"` + blockedID + `"}`
		}, 0, func(t *testing.T, out map[string]any) {
			if out["QueryId"] != blockedID || out["QueryStatus"] != "CANCELLED" {
				t.Errorf("CancelQuery returned %v", out)
			}
			if d, err := f.eng.DescribeQuery(f.ctx, api.DescribeQueryInput{QueryId: blockedID}); err != nil || d.QueryStatus != api.QueryCancelled {
				t.Errorf("the engine has the query %s, %v", d.QueryStatus, err)
			}
		}},
		{"ListQueries", func() string {
			return `{"EventDataStore":"` + arn + `","StartTime":1000000000,"QueryStatus":"FINISHED","MaxResults":10}`
		}, 1, func(t *testing.T, out map[string]any) {
			if path(out, "Queries", 0, "QueryId") != queryID || path(out, "Queries", 0, "QueryStatus") != "FINISHED" || path(out, "Queries", 1) != nil {
				t.Errorf("ListQueries returned %v, want query %s FINISHED", out, queryID)
			}
		}},
		{"UpdateEventDataStore", func() string {
			return `{"EventDataStore":"` + arn + `","Name":"renamed","RetentionPeriod":30,"TerminationProtectionEnabled":false}`
		}, 2, func(t *testing.T, out map[string]any) {
			if out["EventDataStoreArn"] != arn || out["Name"] != "renamed" || out["RetentionPeriod"] != json.Number("30") || out["TerminationProtectionEnabled"] != false {
				t.Errorf("UpdateEventDataStore returned %v", out)
			}
		}},
		{"DeleteEventDataStore", func() string { return `{"EventDataStore":"` + storeID(arn) + `"}` }, 0, func(t *testing.T, out map[string]any) {
			if len(out) != 0 {
				t.Errorf("DeleteEventDataStore returned %v, want {}", out)
			}
			if got, err := f.eng.GetEventDataStore(f.ctx, api.GetEventDataStoreInput{EventDataStore: arn}); err != nil || got.Status != api.EventDataStorePendingDeletion {
				t.Errorf("the engine has the store %+v, %v; want it PENDING_DELETION", got, err)
			}
		}},
		{"RestoreEventDataStore", func() string { return `{"EventDataStore":"` + arn + `"}` }, 2, func(t *testing.T, out map[string]any) {
			if out["EventDataStoreArn"] != arn || out["Status"] != "ENABLED" || out["Name"] != "renamed" {
				t.Errorf("RestoreEventDataStore returned %v", out)
			}
		}},
	}

	var covered []string
	ids := map[string]bool{}
	for _, s := range steps {
		covered = append(covered, s.op)
		resp := f.do(op(s.op, s.body()))
		if resp.status != http.StatusOK {
			t.Fatalf("%s: HTTP %d: %s", s.op, resp.status, resp.body)
		}
		if ct := resp.header.Get("Content-Type"); ct != jsonType {
			t.Errorf("%s: Content-Type %q, want %s", s.op, ct, jsonType)
		}
		id := resp.header.Get("X-Amzn-RequestId")
		if id == "" || ids[id] {
			t.Errorf("%s: X-Amzn-RequestId %q, want a new one", s.op, id)
		}
		ids[id] = true
		out := decode(t, resp.body)
		if n := checkTimes(t, s.op, out); n < s.wantTimes {
			t.Errorf("%s: %d timestamps in %s, want at least %d", s.op, n, resp.body, s.wantTimes)
		}
		s.check(t, out)
	}
	slices.Sort(covered)
	if want := awsmodel.Operations(); !slices.Equal(covered, want) {
		t.Errorf("covered %v, want every operation of the model %v", covered, want)
	}
}

// TestStartImportTimes checks the forms of StartEventTime a request may
// take, and that GetImport returns it as epoch seconds.
func TestStartImportTimes(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"1688947200", "1688947200"},
		{"1688947200.5", "1688947200.5"},
		{"1688947200.123456", "1688947200.123"},
		{`"2023-07-10T00:00:00Z"`, "1688947200"},
		{`"2023-07-10T02:00:00+02:00"`, "1688947200"},
		{"1.6889472e9", "1688947200"},
	}
	f := newFixture(t, config{store: memsink.New()})
	f.call("CreateEventDataStore", `{"Name":"times"}`)
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			f := f.with(t)
			out := f.call("StartImport", `{"Destinations":["times"],"ImportSource":`+source+`,"StartEventTime":`+tt.in+`}`)
			id, _ := out["ImportId"].(string)
			f.waitImport(id)
			got := f.call("GetImport", `{"ImportId":"`+id+`"}`)
			if s := got["StartEventTime"]; s != json.Number(tt.want) {
				t.Errorf("StartEventTime %s came back as %#v, want %s", tt.in, s, tt.want)
			}
			imp, err := f.eng.GetImport(f.ctx, api.GetImportInput{ImportId: id})
			if err != nil {
				t.Fatal(err)
			}
			want, _ := strconv.ParseFloat(tt.want, 64)
			if imp.StartEventTime == nil || imp.StartEventTime.UnixMilli() != int64(want*1000+0.5) {
				t.Errorf("the engine has StartEventTime %v, want %s", imp.StartEventTime, tt.want)
			}
		})
	}
}

// checkError checks that resp is an AWS JSON 1.1 error named name.
func checkError(t *testing.T, resp response, status int, name string) {
	t.Helper()
	if resp.status != status {
		t.Errorf("HTTP %d, want %d (%s)", resp.status, status, resp.body)
	}
	if got := resp.header.Get("X-Amzn-ErrorType"); got != name {
		t.Errorf("X-Amzn-ErrorType %q, want %q", got, name)
	}
	if ct := resp.header.Get("Content-Type"); ct != jsonType {
		t.Errorf("Content-Type %q, want %s", ct, jsonType)
	}
	var body map[string]any
	if err := json.Unmarshal(resp.body, &body); err != nil {
		t.Fatalf("error body %q: %v", resp.body, err)
	}
	if body["__type"] != name {
		t.Errorf("__type %v, want %s", body["__type"], name)
	}
	if msg, ok := body["message"].(string); !ok || msg == "" {
		t.Errorf("message %#v, want one", body["message"])
	}
	if keys := slices.Sorted(maps.Keys(body)); !slices.Equal(keys, []string{"__type", "message"}) {
		t.Errorf("error body has members %v, want __type and message", keys)
	}
}

// TestErrors checks the error responses of requests the server refuses.
func TestErrors(t *testing.T) {
	const maxBody = 512
	f := newFixture(t, config{maxBody: maxBody})
	list := server.TargetPrefix + "ListEventDataStores"
	unknownID := "00000000-0000-4000-8000-0000000000ff"
	other := sigv4.Key{AccessKeyID: "AKIDUNKNOWNKEY", SecretAccessKey: secretKey}
	tests := []struct {
		name string
		req  request
		// want is the status and the error name; 200 and "" for success.
		status int
		want   string
	}{
		{"unknown operation", request{target: server.TargetPrefix + "Nope", ctype: jsonType, body: `{}`, key: &goodKey}, 400, "UnknownOperationException"},
		{"operation of another service", request{target: server.TargetPrefix + "DeleteTrail", ctype: jsonType, body: `{}`, key: &goodKey}, 400, "UnknownOperationException"},
		{"no target", request{ctype: jsonType, body: `{}`, key: &goodKey}, 400, "UnknownOperationException"},
		{"target without prefix", request{target: "GetImport", ctype: jsonType, body: `{}`, key: &goodKey}, 400, "UnknownOperationException"},
		{"target of another version", request{target: "com.amazonaws.cloudtrail.v20121101.CloudTrail_20121101.GetImport", ctype: jsonType, body: `{}`, key: &goodKey}, 400, "UnknownOperationException"},
		{"target prefix only", request{target: server.TargetPrefix, ctype: jsonType, body: `{}`, key: &goodKey}, 400, "UnknownOperationException"},
		{"GET /", request{method: http.MethodGet}, 404, "UnknownOperationException"},
		{"POST elsewhere", request{path: "/import", target: list, ctype: jsonType, body: `{}`, key: &goodKey}, 404, "UnknownOperationException"},
		{"PUT /", request{method: http.MethodPut, target: list, ctype: jsonType, body: `{}`, key: &goodKey}, 404, "UnknownOperationException"},
		{"text/plain", request{target: list, ctype: "text/plain", body: `{}`, key: &goodKey}, 415, "UnsupportedMediaTypeException"},
		{"bad content type", request{target: list, ctype: "application/x-amz-json-1.1;;=", body: `{}`, key: &goodKey}, 415, "UnsupportedMediaTypeException"},
		{"json 1.0", request{target: list, ctype: "application/x-amz-json-1.0", body: `{}`, key: &goodKey}, 200, ""},
		{"application/json", request{target: list, ctype: "application/json", body: `{}`, key: &goodKey}, 200, ""},
		{"with charset", request{target: list, ctype: jsonType + "; charset=utf-8", body: `{}`, key: &goodKey}, 200, ""},
		{"no content type", request{target: list, body: `{}`, key: &goodKey}, 200, ""},
		{"not JSON", op("GetImport", `{"ImportId":`), 400, "SerializationException"},
		{"not an object", op("GetImport", `["ImportId"]`), 400, "SerializationException"},
		{"two objects", op("ListEventDataStores", `{}{}`), 400, "SerializationException"},
		{"number for a string", op("GetImport", `{"ImportId":5}`), 400, "SerializationException"},
		{"string for a list", op("StartImport", `{"Destinations":"trail"}`), 400, "SerializationException"},
		{"fraction for an integer", op("ListImports", `{"MaxResults":1.5}`), 400, "SerializationException"},
		{"bad timestamp", op("StartImport", `{"StartEventTime":"yesterday"}`), 400, "SerializationException"},
		{"ImportId not a UUID", op("GetImport", `{"ImportId":"abc"}`), 400, "InvalidParameterException"},
		{"MaxResults 0", op("ListEventDataStores", `{"MaxResults":0}`), 400, "InvalidMaxResultsException"},
		{"MaxResults too large", op("ListEventDataStores", `{"MaxResults":1001}`), 400, "InvalidMaxResultsException"},
		{"bad enum", op("ListImports", `{"ImportStatus":"DONE"}`), 400, "InvalidParameterException"},
		{"import not found", op("GetImport", `{"ImportId":"`+unknownID+`"}`), 400, "ImportNotFoundException"},
		{"store not found", op("GetEventDataStore", `{"EventDataStore":"nowhere"}`), 400, "EventDataStoreNotFoundException"},
		{"query not found", op("DescribeQuery", `{"QueryId":"`+unknownID+`"}`), 400, "QueryIdNotFoundException"},
		{"body at the limit", op("ListEventDataStores", "{}"+strings.Repeat(" ", maxBody-2)), 200, ""},
		{"body over the limit", op("ListEventDataStores", "{}"+strings.Repeat(" ", maxBody-1)), 413, "RequestEntityTooLargeException"},
		{"unsigned body over the limit", request{target: list, ctype: jsonType, body: strings.Repeat("x", 4*maxBody)}, 413, "RequestEntityTooLargeException"},
		{"empty body", op("ListEventDataStores", ""), 200, ""},
		{"blank body", op("ListEventDataStores", " \n "), 200, ""},
		{"empty body, required member", op("GetImport", ""), 400, "InvalidParameterException"},
		{"unsigned", request{target: list, ctype: jsonType, body: `{}`}, 400, "MissingAuthenticationTokenException"},
		{"wrong secret", request{target: list, ctype: jsonType, body: `{}`, key: &wrongKey}, 400, "InvalidSignatureException"},
		{"unknown access key", request{target: list, ctype: jsonType, body: `{}`, key: &other}, 400, "UnrecognizedClientException"},
		{"signed long ago", request{target: list, ctype: jsonType, body: `{}`, key: &goodKey, skew: -20 * time.Minute}, 400, "InvalidSignatureException"},
		{"signed in the future", request{target: list, ctype: jsonType, body: `{}`, key: &goodKey, skew: 20 * time.Minute}, 400, "InvalidSignatureException"},
		{"signed 14 minutes ago", request{target: list, ctype: jsonType, body: `{}`, key: &goodKey, skew: -14 * time.Minute}, 200, ""},
		{"signed 16 minutes ago", request{target: list, ctype: jsonType, body: `{}`, key: &goodKey, skew: -16 * time.Minute}, 400, "InvalidSignatureException"},
		{"signed for s3", request{target: list, ctype: jsonType, body: `{}`, key: &goodKey, service: "s3"}, 400, "IncompleteSignatureException"},
		{"unsigned unknown operation", request{target: server.TargetPrefix + "Nope", ctype: jsonType, body: `{}`}, 400, "MissingAuthenticationTokenException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := f.with(t)
			resp := f.do(tt.req)
			if tt.want == "" {
				if resp.status != tt.status {
					t.Fatalf("HTTP %d, want %d: %s", resp.status, tt.status, resp.body)
				}
				decode(t, resp.body)
				return
			}
			checkError(t, resp, tt.status, tt.want)
			if tt.req.path == "" && (tt.req.method == "" || tt.req.method == http.MethodPost) && resp.header.Get("X-Amzn-RequestId") == "" {
				t.Errorf("an API error without X-Amzn-RequestId")
			}
		})
	}
}

// TestTamperedRequest checks that a request changed after it was signed is
// refused.
func TestTamperedRequest(t *testing.T) {
	f := newFixture(t, config{store: memsink.New()})
	const invalid = "InvalidSignatureException"
	tests := []struct {
		name   string
		tamper func(r *http.Request)
		want   string
	}{
		{"target", func(r *http.Request) { r.Header.Set("X-Amz-Target", server.TargetPrefix+"ListImports") }, invalid},
		{"body", func(r *http.Request) {
			r.Body = io.NopCloser(strings.NewReader(`{"MaxResults":2}`))
			r.ContentLength = 16
		}, invalid},
		{"content type", func(r *http.Request) { r.Header.Set("Content-Type", "application/json") }, invalid},
		{"target not signed", func(r *http.Request) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), ";x-amz-target", "", 1))
		}, "IncompleteSignatureException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"MaxResults":1}`
			req, err := http.NewRequestWithContext(f.ctx, http.MethodPost, f.url+"/", strings.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", jsonType)
			req.Header.Set("X-Amz-Target", server.TargetPrefix+"ListEventDataStores")
			if err := sigv4.Sign(req, []byte(body), goodKey, region, server.Service, time.Now()); err != nil {
				t.Fatal(err)
			}
			tt.tamper(req)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			checkError(t, response{status: resp.StatusCode, header: resp.Header, body: b}, 400, tt.want)
		})
	}
}

// logRecords parses the JSON log.
func logRecords(t *testing.T, log string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

// record waits for the log record msg of request id, and returns it.
func (f *fixture) record(msg, id string) map[string]any {
	f.t.Helper()
	var rec map[string]any
	eventually(f.t, "the log of request "+id, func() bool {
		for _, r := range logRecords(f.t, f.log.String()) {
			if r["msg"] == msg && r["request_id"] == id {
				rec = r
				return true
			}
		}
		return false
	})
	return rec
}

// TestLog checks the record the server logs of each request, and that the
// log never holds a secret key or a signature.
func TestLog(t *testing.T) {
	f := newFixture(t, config{store: memsink.New()})
	list := server.TargetPrefix + "ListEventDataStores"
	tests := []struct {
		name    string
		req     request
		level   string
		op      string
		status  float64
		key     string // the access_key_id logged; "" for none
		errCode string // the error logged; "" for none
	}{
		{"success", op("ListEventDataStores", `{}`), "INFO", "ListEventDataStores", 200, accessKeyID, ""},
		{"engine exception", op("GetImport", `{"ImportId":"00000000-0000-4000-8000-0000000000aa"}`), "WARN", "GetImport", 400, accessKeyID, "ImportNotFoundException"},
		{"model violation", op("GetImport", `{"ImportId":"abc"}`), "WARN", "GetImport", 400, accessKeyID, "InvalidParameterException"},
		{"wrong secret", request{target: list, ctype: jsonType, body: `{}`, key: &wrongKey}, "WARN", "ListEventDataStores", 400, "", "InvalidSignatureException"},
		{"unsigned", request{target: list, ctype: jsonType, body: `{}`}, "WARN", "ListEventDataStores", 400, "", "MissingAuthenticationTokenException"},
		{"unknown operation", request{target: server.TargetPrefix + "Nope", ctype: jsonType, body: `{}`, key: &goodKey}, "WARN", "", 400, accessKeyID, "UnknownOperationException"},
		{"attacker's target", request{target: "attacker-chosen-target", ctype: jsonType, body: `{}`, key: &wrongKey}, "WARN", "", 400, "", "InvalidSignatureException"},
		{"target without prefix", request{target: "ListImports", ctype: jsonType, body: `{}`, key: &goodKey}, "WARN", "", 400, accessKeyID, "UnknownOperationException"},
	}
	var sigs []string
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := f.with(t)
			resp := f.do(tt.req)
			if resp.status != int(tt.status) {
				t.Fatalf("HTTP %d, want %v: %s", resp.status, tt.status, resp.body)
			}
			if resp.sig != "" {
				sigs = append(sigs, resp.sig)
			}
			id := resp.header.Get("X-Amzn-RequestId")
			rec := f.record("request", id)
			if rec["level"] != tt.level || rec["operation"] != tt.op || rec["status"] != tt.status {
				t.Errorf("logged %v; want level %s, operation %q, status %v", rec, tt.level, tt.op, tt.status)
			}
			if key, ok := rec["access_key_id"]; tt.key == "" && ok || tt.key != "" && key != tt.key {
				t.Errorf("logged access_key_id %#v, want %q", key, tt.key)
			}
			if code, ok := rec["error"]; tt.errCode == "" && ok || tt.errCode != "" && code != tt.errCode {
				t.Errorf("logged error %#v, want %q", code, tt.errCode)
			}
			if _, ok := rec["duration"]; !ok {
				t.Errorf("logged no duration: %v", rec)
			}
		})
	}
	log := f.log.String()
	if len(logRecords(t, log)) < len(tests) {
		t.Fatalf("the log has fewer records than requests:\n%s", log)
	}
	for _, s := range append([]string{secretKey, wrongSecret}, sigs...) {
		if strings.Contains(log, s) {
			t.Errorf("the log holds a secret or a signature %q:\n%s", s, log)
		}
	}
}

// TestInternalError checks that an engine error that is not an API
// exception is answered with InternalFailure, which does not tell the
// error, while the log records it with the request's ID.
func TestInternalError(t *testing.T) {
	store := memsink.New()
	f := newFixture(t, config{store: store})
	f.call("ListEventDataStores", `{}`)
	store.Close()
	tests := []struct{ op, body string }{
		{"ListEventDataStores", `{}`},
		{"ListImports", `{}`},
		{"CreateEventDataStore", `{"Name":"late"}`},
	}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			f := f.with(t)
			resp := f.do(op(tt.op, tt.body))
			checkError(t, resp, http.StatusInternalServerError, "InternalFailure")
			id := resp.header.Get("X-Amzn-RequestId")
			msg, _ := decode(t, resp.body)["message"].(string)
			if strings.Contains(msg, "closed") || strings.Contains(msg, "memsink") || strings.Contains(msg, "engine:") {
				t.Errorf("the message %q tells the server's error", msg)
			}
			if !strings.Contains(msg, id) {
				t.Errorf("the message %q does not name request %s", msg, id)
			}
			rec := f.record("operation failed", id)
			if e, _ := rec["error"].(string); rec["level"] != "ERROR" || !strings.Contains(e, "store is closed") || rec["operation"] != tt.op {
				t.Errorf("logged %v; want the error at level ERROR", rec)
			}
			if rec := f.record("request", id); rec["status"] != 500.0 || rec["error"] != "InternalFailure" {
				t.Errorf("logged the request as %v", rec)
			}
		})
	}
}

// scrape returns the metric families GET /metrics gives, as the Prometheus
// text parser reads them.
func (f *fixture) scrape() map[string]*dto.MetricFamily {
	f.t.Helper()
	resp := f.do(request{method: http.MethodGet, path: "/metrics", basic: &readKey})
	if resp.status != http.StatusOK || !strings.HasPrefix(resp.header.Get("Content-Type"), "text/plain") {
		f.t.Fatalf("GET /metrics: HTTP %d, %s", resp.status, resp.header.Get("Content-Type"))
	}
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(resp.body))
	if err != nil {
		f.t.Fatalf("GET /metrics: %v\n%s", err, resp.body)
	}
	return families
}

// series names a metric of family name by its labels, sorted:
// name{label="value",...}.
func series(name string, m *dto.Metric) string {
	var labels []string
	for _, l := range m.GetLabel() {
		labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
	}
	if len(labels) == 0 {
		return name
	}
	slices.Sort(labels)
	return name + "{" + strings.Join(labels, ",") + "}"
}

// ctimportValues returns the values of the counters and gauges of the
// families named ctimport_, by series.
func ctimportValues(families map[string]*dto.MetricFamily) map[string]float64 {
	out := map[string]float64{}
	for name, mf := range families {
		if !strings.HasPrefix(name, "ctimport_") {
			continue
		}
		for _, m := range mf.GetMetric() {
			switch mf.GetType() {
			case dto.MetricType_COUNTER:
				out[series(name, m)] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[series(name, m)] = m.GetGauge().GetValue()
			}
		}
	}
	return out
}

// TestMetrics checks the metrics /metrics gives after a mix of requests and
// an import.
func TestMetrics(t *testing.T) {
	f := newFixture(t, config{store: memsink.New()})
	broken := logKey(day.Add(5*time.Hour), 99)
	f.mem.Put(broken, []byte("not a gzip stream"))

	got := ctimportValues(f.scrape())
	if want := map[string]float64{
		"ctimport_imports_running":       0,
		"ctimport_queries_running":       0,
		"ctimport_files_imported_total":  0,
		"ctimport_events_imported_total": 0,
		"ctimport_bytes_imported_total":  0,
		"ctimport_import_failures_total": 0,
	}; !maps.Equal(got, want) {
		t.Errorf("metrics of a new server %v, want %v", got, want)
	}

	f.call("CreateEventDataStore", `{"Name":"metrics"}`)
	out := f.call("StartImport", `{"Destinations":["metrics"],"ImportSource":`+source+`}`)
	if imp := f.waitImport(out["ImportId"].(string)); imp.ImportStatus != api.StatusFailed {
		t.Fatalf("the import ended %s, want FAILED by the broken file", imp.ImportStatus)
	}
	attacker := []string{
		server.TargetPrefix + "Nope",
		"attacker-chosen-label",
		server.TargetPrefix + `Evil"} 1` + "\tx",
		"GetImport",
	}
	for _, target := range attacker {
		f.do(request{target: target, ctype: jsonType, body: `{}`, key: &goodKey})
	}
	f.do(request{target: server.TargetPrefix + "Nope", ctype: jsonType, body: `{}`})
	for range 2 {
		f.do(op("GetImport", `{"ImportId":"00000000-0000-4000-8000-0000000000bb"}`))
	}
	f.do(request{target: server.TargetPrefix + "ListImports", ctype: "text/plain", body: `{}`, key: &goodKey})
	f.do(request{method: http.MethodGet})
	f.do(request{method: http.MethodGet, path: "/healthz"})

	want := map[string]float64{
		"ctimport_imports_running":                                                 0,
		"ctimport_queries_running":                                                 0,
		"ctimport_files_imported_total":                                            float64(len(f.keys)),
		"ctimport_events_imported_total":                                           float64(f.events),
		"ctimport_bytes_imported_total":                                            float64(f.size),
		"ctimport_import_failures_total":                                           1,
		`ctimport_api_requests_total{code="400",operation=""}`:                     float64(len(attacker)) + 1,
		`ctimport_api_requests_total{code="200",operation="CreateEventDataStore"}`: 1,
		`ctimport_api_requests_total{code="200",operation="StartImport"}`:          1,
		`ctimport_api_requests_total{code="400",operation="GetImport"}`:            2,
		`ctimport_api_requests_total{code="415",operation="ListImports"}`:          1,
	}
	// A request is counted as its response is written: wait until all are.
	requests := func(values map[string]float64) (n float64) {
		for s, v := range values {
			if strings.HasPrefix(s, "ctimport_api_requests_total") {
				n += v
			}
		}
		return n
	}
	var families map[string]*dto.MetricFamily
	eventually(t, "the metrics of every request", func() bool {
		families = f.scrape()
		got = ctimportValues(families)
		return requests(got) >= requests(want)
	})
	if !maps.Equal(got, want) {
		t.Errorf("metrics %v, want %v", got, want)
	}

	durations := map[string]*dto.Histogram{}
	for _, m := range families["ctimport_api_request_duration_seconds"].GetMetric() {
		durations[series("ctimport_api_requests_total", m)] = m.GetHistogram()
	}
	for s, n := range want {
		if !strings.HasPrefix(s, "ctimport_api_requests_total") {
			continue
		}
		h := durations[s]
		delete(durations, s)
		buckets := h.GetBucket()
		if float64(h.GetSampleCount()) != n || h.GetSampleSum() <= 0 || len(buckets) == 0 || buckets[len(buckets)-1].GetCumulativeCount() != h.GetSampleCount() {
			t.Errorf("the request durations of %s: %d requests taking %gs, buckets %v; want %g requests", s, h.GetSampleCount(), h.GetSampleSum(), buckets, n)
		}
	}
	for s := range durations {
		t.Errorf("request durations of %s, which counts no request", s)
	}

	known := map[string]bool{"": true}
	for _, name := range awsmodel.Operations() {
		known[name] = true
	}
	for _, name := range []string{"ctimport_api_requests_total", "ctimport_api_request_duration_seconds"} {
		for _, m := range families[name].GetMetric() {
			labels := m.GetLabel()
			if len(labels) != 2 || labels[0].GetName() != "code" || len(labels[0].GetValue()) != 3 ||
				labels[1].GetName() != "operation" || !known[labels[1].GetValue()] {
				t.Errorf("%s has labels that are not a status and an operation", series(name, m))
			}
		}
	}

	for name, kind := range map[string]dto.MetricType{
		"ctimport_imports_running":              dto.MetricType_GAUGE,
		"ctimport_queries_running":              dto.MetricType_GAUGE,
		"ctimport_files_imported_total":         dto.MetricType_COUNTER,
		"ctimport_api_requests_total":           dto.MetricType_COUNTER,
		"ctimport_api_request_duration_seconds": dto.MetricType_HISTOGRAM,
		"go_goroutines":                         dto.MetricType_GAUGE,
		"process_cpu_seconds_total":             dto.MetricType_COUNTER,
	} {
		if mf, ok := families[name]; !ok || mf.GetType() != kind {
			t.Errorf("the metrics have %s of type %v, %v; want %v", name, mf.GetType(), ok, kind)
		}
	}
}

// TestRunningMetrics checks ctimport_imports_running and
// ctimport_queries_running while an import and a query run.
func TestRunningMetrics(t *testing.T) {
	release := make(chan struct{})
	reached := make(chan struct{}, 1)
	f := newFixture(t, config{wrap: func(src s3scan.Source) s3scan.Source {
		return heldSource{Source: src, reached: reached, release: release}
	}})
	f.call("CreateEventDataStore", `{"Name":"running"}`)
	imp := f.call("StartImport", `{"Destinations":["running"],"ImportSource":`+source+`}`)
	select {
	case <-reached:
	case <-time.After(waitTimeout):
		close(release)
		t.Fatal("the import did not open a file")
	}
	query := f.call("StartQuery", `{"QueryStatement":"`+blockQuery+`"}`)
	eventually(t, "the query to run", func() bool {
		return f.call("DescribeQuery", `{"QueryId":"`+query["QueryId"].(string)+`"}`)["QueryStatus"] == "RUNNING"
	})
	if got := ctimportValues(f.scrape()); got["ctimport_imports_running"] != 1 || got["ctimport_queries_running"] != 1 {
		t.Errorf("metrics while an import and a query run %v", got)
	}
	close(release)
	f.call("CancelQuery", `{"QueryId":"`+query["QueryId"].(string)+`"}`)
	f.waitImport(imp["ImportId"].(string))
	if got := ctimportValues(f.scrape()); got["ctimport_imports_running"] != 0 || got["ctimport_queries_running"] != 0 || got["ctimport_files_imported_total"] != float64(len(f.keys)) {
		t.Errorf("metrics after the import and the query %v", got)
	}
}

// heldSource holds every Open until release is closed.
type heldSource struct {
	s3scan.Source
	reached chan<- struct{}
	release <-chan struct{}
}

func (h heldSource) Open(ctx context.Context, key string) (io.ReadCloser, s3scan.Object, error) {
	select {
	case h.reached <- struct{}{}:
	default:
	}
	select {
	case <-h.release:
	case <-ctx.Done():
		return nil, s3scan.Object{}, ctx.Err()
	}
	return h.Source.Open(ctx, key)
}

// TestUnsignedPaths checks /healthz and /metrics, which need no signature:
// /metrics asks for HTTP Basic authentication with a key of the server.
func TestUnsignedPaths(t *testing.T) {
	f := newFixture(t, config{store: memsink.New()})
	const metricsType = "text/plain; version=0.0.4; charset=utf-8; escaping=underscores"
	wrong := sigv4.Key{AccessKeyID: readKey.AccessKeyID, SecretAccessKey: wrongSecret}
	unknown := sigv4.Key{AccessKeyID: "AKIDUNKNOWN00009", SecretAccessKey: readKey.SecretAccessKey}
	tests := []struct {
		method, path string
		basic        *sigv4.Key
		status       int
		body         string // "" checks nothing but for HEAD, which has none
		ctype        string
	}{
		{http.MethodGet, "/healthz", nil, 200, "ok\n", "text/plain; charset=utf-8"},
		{http.MethodHead, "/healthz", nil, 200, "", "text/plain; charset=utf-8"},
		{http.MethodGet, "/metrics", &readKey, 200, "# HELP ctimport_imports_running", metricsType},
		{http.MethodHead, "/metrics", &goodKey, 200, "", metricsType},
		{http.MethodGet, "/metrics", nil, 401, "Basic authentication", "text/plain; charset=utf-8"},
		{http.MethodGet, "/metrics", &wrong, 401, "Basic authentication", "text/plain; charset=utf-8"},
		{http.MethodGet, "/metrics", &unknown, 401, "Basic authentication", "text/plain; charset=utf-8"},
		{http.MethodPost, "/healthz", nil, 404, `"__type":"UnknownOperationException"`, jsonType},
		{http.MethodDelete, "/metrics", &goodKey, 404, `"__type":"UnknownOperationException"`, jsonType},
		{http.MethodGet, "/healthz/", nil, 404, `"__type":"UnknownOperationException"`, jsonType},
	}
	for _, tt := range tests {
		name := tt.method + " " + tt.path
		if tt.basic != nil {
			name += " as " + tt.basic.AccessKeyID
		}
		t.Run(name, func(t *testing.T) {
			f := f.with(t)
			resp := f.do(request{method: tt.method, path: tt.path, basic: tt.basic})
			if resp.status != tt.status || resp.header.Get("Content-Type") != tt.ctype {
				t.Errorf("HTTP %d, %s; want %d, %s", resp.status, resp.header.Get("Content-Type"), tt.status, tt.ctype)
			}
			switch {
			case tt.method == http.MethodHead && len(resp.body) != 0:
				t.Errorf("HEAD has a body %q", resp.body)
			case tt.method == http.MethodGet && tt.path == "/healthz" && string(resp.body) != tt.body:
				t.Errorf("body %q, want %q", resp.body, tt.body)
			case !strings.Contains(string(resp.body), tt.body):
				t.Errorf("body %q, want it to hold %q", resp.body, tt.body)
			}
		})
	}
}

// TestNew checks the configurations New refuses.
func TestNew(t *testing.T) {
	eng := engine.New(memsink.New(), engine.Options{})
	t.Cleanup(func() { eng.Close() })
	keys := sigv4.Keys{accessKeyID: secretKey}
	tests := []struct {
		name    string
		cfg     server.Config
		wantErr string
	}{
		{"no engine", server.Config{Keys: keys}, "no engine"},
		{"nil keys", server.Config{Engine: eng}, "no access keys"},
		{"empty keys", server.Config{Engine: eng, Keys: sigv4.Keys{}}, "no access keys"},
		{"defaults", server.Config{Engine: eng, Keys: keys}, ""},
		{"negative body limit", server.Config{Engine: eng, Keys: keys, MaxBodyBytes: -1}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := server.New(tt.cfg)
			if tt.wantErr == "" {
				if err != nil || srv == nil {
					t.Fatalf("New = %v, %v", srv, err)
				}
				return
			}
			if err == nil || srv != nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New = %v, %v; want an error about %q", srv, err, tt.wantErr)
			}
		})
	}
}

// TestDefaultBodyLimit checks that a server without MaxBodyBytes refuses
// bodies larger than DefaultMaxBodyBytes.
func TestDefaultBodyLimit(t *testing.T) {
	f := newFixture(t, config{store: memsink.New()})
	tests := []struct {
		size   int
		status int
	}{
		{server.DefaultMaxBodyBytes, 200},
		{server.DefaultMaxBodyBytes + 1, 413},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.size), func(t *testing.T) {
			f := f.with(t)
			resp := f.do(op("ListEventDataStores", "{}"+strings.Repeat(" ", tt.size-2)))
			if resp.status != tt.status {
				t.Errorf("a body of %d bytes: HTTP %d, want %d", tt.size, resp.status, tt.status)
			}
		})
	}
}

// TestClock checks that signatures are checked against Config.Now.
func TestClock(t *testing.T) {
	eng := engine.New(memsink.New(), engine.Options{})
	t.Cleanup(func() { eng.Close() })
	past := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	srv, err := server.New(server.Config{Engine: eng, Keys: sigv4.Keys{accessKeyID: secretKey}, Now: func() time.Time { return past }})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		at   time.Time
		want int
	}{
		{past, 200},
		{time.Now(), 400},
	}
	for _, tt := range tests {
		t.Run(tt.at.Format(time.RFC3339), func(t *testing.T) {
			req := httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/", strings.NewReader(`{}`))
			req.Header.Set("X-Amz-Target", server.TargetPrefix+"ListEventDataStores")
			req.Header.Set("Content-Type", jsonType)
			if err := sigv4.Sign(req, []byte(`{}`), goodKey, region, server.Service, tt.at); err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Errorf("signed at %v: HTTP %d, want %d: %s", tt.at, rec.Code, tt.want, rec.Body)
			}
		})
	}
}
