package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/api/apitest"
	"github.com/ctimport/ctimport/client"
	"github.com/ctimport/ctimport/engine"
	"github.com/ctimport/ctimport/internal/sigv4"
	"github.com/ctimport/ctimport/pipeline"
	"github.com/ctimport/ctimport/s3scan"
	"github.com/ctimport/ctimport/s3scan/s3scantest"
	"github.com/ctimport/ctimport/server"
	"github.com/ctimport/ctimport/sink"
	"github.com/ctimport/ctimport/sink/duckdbsink"
)

const (
	accessKeyID = "AKIDCLIENTTEST01"
	secretKey   = "cli-Secret/Key+Jw5Rt8Hq1Zs"
	bucket      = "trail-bucket"
	region      = "us-east-1"
	// waitTimeout bounds the waits of a test.
	waitTimeout = 60 * time.Second
	// blockQuery runs until it is cancelled; see blockingStore.
	blockQuery = "SELECT 'blocks until cancelled' AS b"
	// unknownID is a UUID no import or query has.
	unknownID = "00000000-0000-4000-8000-0000000000ff"
)

var (
	goodKey = sigv4.Key{AccessKeyID: accessKeyID, SecretAccessKey: secretKey}
	day     = time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC)
	source  = api.ImportSource{S3: api.S3ImportSource{
		S3LocationUri:         "s3://" + bucket + "/",
		S3BucketRegion:        region,
		S3BucketAccessRoleArn: "arn:aws:iam::111122223333:role/import",
	}}
)

// env is a server over an engine over a DuckDB store, reading an
// in-memory bucket of 3 log files of 4 events each. The bucket's Opens
// wait until release is called.
type env struct {
	t       *testing.T
	eng     *engine.Engine
	url     string
	reached chan struct{}
	gate    chan struct{}
	once    sync.Once
}

func newEnv(t *testing.T, held bool) *env {
	t.Helper()
	ctx := t.Context()
	e := &env{t: t, reached: make(chan struct{}, 1), gate: make(chan struct{})}
	if !held {
		e.release()
	}
	store, err := duckdbsink.Open(ctx, filepath.Join(t.TempDir(), "client.duckdb"), duckdbsink.Options{Holder: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	mem := s3scantest.NewMem()
	for i := range 3 {
		at := day.Add(time.Duration(i+1) * time.Hour)
		ids := make([]string, 4)
		for j := range ids {
			ids[j] = fmt.Sprintf("ev%d-%d", i, j)
		}
		mem.Put(apitest.LogKey(at, i), apitest.LogFile(ids, at.Add(-5*time.Minute)))
	}
	e.eng = engine.New(blockingStore{store}, engine.Options{
		Config: pipeline.Config{Backoff: time.Millisecond},
		OpenSource: func(ctx context.Context, loc s3scan.Location, src api.S3ImportSource) (s3scan.Source, error) {
			if loc.Bucket != bucket {
				return nil, fmt.Errorf("open %s: %w", loc, s3scan.ErrNoBucket)
			}
			return gated{Source: mem, e: e}, nil
		},
	})
	t.Cleanup(func() {
		e.release()
		e.eng.Close()
	})
	srv, err := server.New(server.Config{Engine: e.eng, Keys: sigv4.Keys{accessKeyID: secretKey}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	e.url = hs.URL
	return e
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

// release lets the Opens of the bucket go on.
func (e *env) release() { e.once.Do(func() { close(e.gate) }) }

// gated is the bucket of an env.
type gated struct {
	s3scan.Source
	e *env
}

func (g gated) Open(ctx context.Context, key string) (io.ReadCloser, s3scan.Object, error) {
	select {
	case g.e.reached <- struct{}{}:
	default:
	}
	select {
	case <-g.e.gate:
	case <-ctx.Done():
		return nil, s3scan.Object{}, ctx.Err()
	}
	return g.Source.Open(ctx, key)
}

func (e *env) client(key sigv4.Key) *client.Client {
	e.t.Helper()
	c, err := client.New(e.url, key, "")
	if err != nil {
		e.t.Fatalf("client.New: %v", err)
	}
	return c
}

// TestTimestamps checks that the timestamps a client returns are the
// engine's, in UTC, to the millisecond: the precision of the protocol.
func TestTimestamps(t *testing.T) {
	e := newEnv(t, false)
	ctx := t.Context()
	trail, err := e.client(goodKey).CreateEventDataStore(ctx, api.CreateEventDataStoreInput{Name: "trail"})
	if err != nil {
		t.Fatalf("CreateEventDataStore: %v", err)
	}
	direct, err := e.eng.GetEventDataStore(ctx, api.GetEventDataStoreInput{EventDataStore: "trail"})
	if err != nil {
		t.Fatal(err)
	}
	if want := direct.CreatedTimestamp.Truncate(time.Millisecond); !trail.CreatedTimestamp.Equal(want) || trail.CreatedTimestamp.Location() != time.UTC {
		t.Errorf("CreatedTimestamp %v, want the engine's in UTC to the millisecond, %v", trail.CreatedTimestamp, want)
	}
}

// TestStopImport stops an import while it runs, as TestService cannot:
// its time range is kept to the millisecond, the precision of the protocol.
func TestStopImport(t *testing.T) {
	e := newEnv(t, true)
	c := e.client(goodKey)
	ctx := t.Context()
	trail, err := c.CreateEventDataStore(ctx, api.CreateEventDataStoreInput{Name: "trail"})
	if err != nil {
		t.Fatal(err)
	}
	start := day.Add(123456789 * time.Nanosecond)
	end := day.Add(48 * time.Hour)
	src := source
	imp, err := c.StartImport(ctx, api.StartImportInput{
		Destinations:   []string{trail.EventDataStoreArn},
		ImportSource:   &src,
		StartEventTime: &start,
		EndEventTime:   &end,
	})
	if err != nil {
		t.Fatalf("StartImport: %v", err)
	}
	id := imp.ImportId
	if imp.StartEventTime == nil || !imp.StartEventTime.Equal(start.Truncate(time.Millisecond)) {
		t.Errorf("StartEventTime %v, want %v to the millisecond", imp.StartEventTime, start)
	}
	if imp.EndEventTime == nil || !imp.EndEventTime.Equal(end) {
		t.Errorf("EndEventTime %v, want %v", imp.EndEventTime, end)
	}

	select {
	case <-e.reached:
	case <-time.After(waitTimeout):
		t.Fatal("the import opened no file")
	}
	if got, err := c.GetImport(ctx, api.GetImportInput{ImportId: id}); err != nil || got.ImportStatus != api.StatusInProgress {
		t.Errorf("GetImport while it runs = %s, %v; want IN_PROGRESS", got.ImportStatus, err)
	}
	stopped, err := c.StopImport(ctx, api.StopImportInput{ImportId: id})
	if err != nil || stopped.ImportId != id || stopped.ImportStatus != api.StatusStopped || stopped.ImportStatistics == nil ||
		!stopped.StartEventTime.Equal(*imp.StartEventTime) {
		t.Fatalf("StopImport = %+v, %v; want STOPPED with statistics", stopped, err)
	}
	if out, err := c.ListImports(ctx, api.ListImportsInput{ImportStatus: api.StatusStopped}); err != nil || len(out.Imports) != 1 || out.Imports[0].ImportId != id {
		t.Errorf("ListImports of STOPPED = %+v, %v", out, err)
	}
}

// TestCancelQuery cancels a query while it runs, as TestService cannot.
func TestCancelQuery(t *testing.T) {
	e := newEnv(t, false)
	c := e.client(goodKey)
	ctx := t.Context()
	blocked, err := c.StartQuery(ctx, api.StartQueryInput{QueryStatement: blockQuery})
	if err != nil {
		t.Fatal(err)
	}
	apitest.Poll(t, "the query to run", func() bool {
		d, err := c.DescribeQuery(ctx, api.DescribeQueryInput{QueryId: blocked.QueryId})
		return err == nil && d.QueryStatus == api.QueryRunning
	})
	cancelled, err := c.CancelQuery(ctx, api.CancelQueryInput{QueryId: blocked.QueryId})
	if err != nil || cancelled.QueryId != blocked.QueryId || cancelled.QueryStatus != api.QueryCancelled {
		t.Fatalf("CancelQuery = %+v, %v", cancelled, err)
	}
	if d, err := c.DescribeQuery(ctx, api.DescribeQueryInput{QueryId: blocked.QueryId}); err != nil || d.QueryStatus != api.QueryCancelled {
		t.Errorf("DescribeQuery of the cancelled query = %s, %v", d.QueryStatus, err)
	}
	if _, err := c.CancelQuery(ctx, api.CancelQueryInput{QueryId: blocked.QueryId}); !errors.Is(err, api.ErrInactiveQuery) {
		t.Errorf("CancelQuery of an ended query = %v, want InactiveQueryException", err)
	}
}

// TestSignatureExceptions checks the exceptions of requests the server
// does not authenticate.
func TestSignatureExceptions(t *testing.T) {
	e := newEnv(t, false)
	tests := []struct {
		name string
		key  sigv4.Key
		want string
	}{
		{"wrong secret", sigv4.Key{AccessKeyID: accessKeyID, SecretAccessKey: "wrong-Secret/Key+0000"}, "InvalidSignatureException"},
		{"unknown key", sigv4.Key{AccessKeyID: "AKIDNOBODY", SecretAccessKey: secretKey}, "UnrecognizedClientException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := client.New(e.url, tt.key, "")
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.ListEventDataStores(t.Context(), api.ListEventDataStoresInput{})
			var exc *api.Exception
			if !errors.As(err, &exc) || exc.Name != tt.want || exc.Message == "" {
				t.Errorf("error %v, want an exception %s", err, tt.want)
			}
			if errors.Is(err, client.ErrEndpoint) {
				t.Errorf("an exception wraps ErrEndpoint: %v", err)
			}
		})
	}
}

// stub is a server answering every request with status, header and body,
// and keeping the last request.
type stub struct {
	status int
	header map[string]string
	body   string

	mu   sync.Mutex
	req  *http.Request
	data []byte
}

func (s *stub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	data, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.req, s.data = r, data
	s.mu.Unlock()
	for k, v := range s.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(s.status)
	io.WriteString(w, s.body)
}

func (s *stub) last() (*http.Request, []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.req, s.data
}

// serveStub serves s and returns a client of it.
func serveStub(t *testing.T, s *stub, endpointPath, region string) *client.Client {
	t.Helper()
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)
	c, err := client.New(hs.URL+endpointPath, goodKey, region)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestResponseErrors checks how the client reads error responses.
func TestResponseErrors(t *testing.T) {
	tests := []struct {
		name     string
		stub     *stub
		wantName string // the exception's name; "" for an ErrEndpoint error
		wantMsg  string // in the exception's message, or in the error's text
	}{
		{"namespace", &stub{status: 400, body: `{"__type":"com.amazon.coral.service#Foo","message":"m1"}`}, "Foo", "m1"},
		{"suffix", &stub{status: 400, body: `{"__type":"Foo:http://internal.amazon.com/coral/com.amazon.coral.validate/","message":"m2"}`}, "Foo", "m2"},
		{"namespace and suffix", &stub{status: 400, body: `{"__type":"aws.protocoltests.json#Foo:http://internal.amazon.com/coral/","Message":"m3"}`}, "Foo", "m3"},
		{"header only", &stub{status: 400, header: map[string]string{"X-Amzn-ErrorType": "Bar:http://internal.amazon.com/coral/"}}, "Bar", ""},
		{"header and HTML", &stub{status: 403, header: map[string]string{"X-Amzn-ErrorType": "com.amazon.coral.service#AccessDeniedException"}, body: "<html>denied</html>"}, "AccessDeniedException", ""},
		{"body over header", &stub{status: 400, header: map[string]string{"X-Amzn-ErrorType": "Header"}, body: `{"__type":"Body","message":"m4"}`}, "Body", "m4"},
		{"sentinel with namespace", &stub{status: 400, body: `{"__type":"com.amazonaws.cloudtrail.v20131101#ImportNotFoundException","message":"gone"}`}, "ImportNotFoundException", "gone"},
		{"HTML 502", &stub{status: 502, body: "<html><body>Bad Gateway</body></html>"}, "", "502"},
		{"JSON without type", &stub{status: 500, body: `{"message":"oops"}`}, "", "500"},
		{"empty 503", &stub{status: 503}, "", "503"},
		{"200 not JSON", &stub{status: 200, body: "ok"}, "", "GetImport"},
		{"200 wrong type", &stub{status: 200, body: `{"ImportId":5}`}, "", "ImportId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := serveStub(t, tt.stub, "", "")
			_, err := c.GetImport(t.Context(), api.GetImportInput{ImportId: unknownID})
			if err == nil {
				t.Fatal("no error")
			}
			var exc *api.Exception
			isExc := errors.As(err, &exc)
			if tt.wantName == "" {
				if isExc || !errors.Is(err, client.ErrEndpoint) || !strings.Contains(err.Error(), tt.wantMsg) {
					t.Errorf("error %q (%T), want an ErrEndpoint error naming %q", err, err, tt.wantMsg)
				}
				return
			}
			if !isExc || exc.Name != tt.wantName || exc.Message != tt.wantMsg || errors.Is(err, client.ErrEndpoint) {
				t.Errorf("error %#v, want an exception %s with message %q", err, tt.wantName, tt.wantMsg)
			}
		})
	}
	c := serveStub(t, &stub{status: 400, body: `{"__type":"com.amazonaws.cloudtrail.v20131101#ImportNotFoundException"}`}, "", "")
	if _, err := c.GetImport(t.Context(), api.GetImportInput{ImportId: unknownID}); !errors.Is(err, api.ErrImportNotFound) {
		t.Errorf("error %v does not match api.ErrImportNotFound", err)
	}
}

// TestEndpointErrors checks the errors of a server that cannot be reached.
func TestEndpointErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + ln.Addr().String()
	ln.Close()
	live := newEnv(t, false).url
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	tests := []struct {
		name     string
		endpoint string
		ctx      context.Context
		want     error // also wrapped, besides ErrEndpoint
	}{
		{"connection refused", refused, t.Context(), nil},
		{"cancelled", live, cancelled, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := client.New(tt.endpoint, goodKey, "")
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.ListImports(tt.ctx, api.ListImportsInput{})
			var exc *api.Exception
			if !errors.Is(err, client.ErrEndpoint) || errors.As(err, &exc) {
				t.Errorf("error %v, want one wrapping ErrEndpoint", err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v, want it to wrap %v", err, tt.want)
			}
			if err != nil && !strings.Contains(err.Error(), "ListImports") {
				t.Errorf("error %q does not name the operation", err)
			}
		})
	}
}

// TestRequests checks the request of every method: a signed POST to /
// naming its operation, with its input as the body.
func TestRequests(t *testing.T) {
	s := &stub{status: 200, body: "{}"}
	c := serveStub(t, s, "/ignored/path?x=1", "eu-west-1")
	start := time.Date(2024, 1, 2, 3, 4, 5, 600_000_000, time.UTC)
	src := source
	tests := []struct {
		op   string
		call func(ctx context.Context) error
		body string
	}{
		{"StartImport", func(ctx context.Context) error {
			_, err := c.StartImport(ctx, api.StartImportInput{Destinations: []string{"trail"}, ImportSource: &src, StartEventTime: &start})
			return err
		}, `{"Destinations":["trail"],"ImportSource":{"S3":{"S3LocationUri":"s3://trail-bucket/","S3BucketRegion":"us-east-1","S3BucketAccessRoleArn":"arn:aws:iam::111122223333:role/import"}},"StartEventTime":1704164645.6}`},
		{"GetImport", func(ctx context.Context) error {
			_, err := c.GetImport(ctx, api.GetImportInput{ImportId: unknownID})
			return err
		}, `{"ImportId":"` + unknownID + `"}`},
		{"StopImport", func(ctx context.Context) error {
			_, err := c.StopImport(ctx, api.StopImportInput{ImportId: unknownID})
			return err
		}, `{"ImportId":"` + unknownID + `"}`},
		{"ListImports", func(ctx context.Context) error {
			_, err := c.ListImports(ctx, api.ListImportsInput{ImportStatus: api.StatusFailed})
			return err
		}, `{"ImportStatus":"FAILED"}`},
		{"ListImportFailures", func(ctx context.Context) error {
			_, err := c.ListImportFailures(ctx, api.ListImportFailuresInput{ImportId: unknownID, MaxResults: 3})
			return err
		}, `{"ImportId":"` + unknownID + `","MaxResults":3}`},
		{"CreateEventDataStore", func(ctx context.Context) error {
			_, err := c.CreateEventDataStore(ctx, api.CreateEventDataStoreInput{Name: "trail"})
			return err
		}, `{"Name":"trail"}`},
		{"GetEventDataStore", func(ctx context.Context) error {
			_, err := c.GetEventDataStore(ctx, api.GetEventDataStoreInput{EventDataStore: "trail"})
			return err
		}, `{"EventDataStore":"trail"}`},
		{"ListEventDataStores", func(ctx context.Context) error {
			_, err := c.ListEventDataStores(ctx, api.ListEventDataStoresInput{})
			return err
		}, `{}`},
		{"StartQuery", func(ctx context.Context) error {
			_, err := c.StartQuery(ctx, api.StartQueryInput{QueryStatement: "SELECT 1"})
			return err
		}, `{"QueryStatement":"SELECT 1"}`},
		{"DescribeQuery", func(ctx context.Context) error {
			_, err := c.DescribeQuery(ctx, api.DescribeQueryInput{QueryId: unknownID})
			return err
		}, `{"QueryId":"` + unknownID + `"}`},
		{"GetQueryResults", func(ctx context.Context) error {
			_, err := c.GetQueryResults(ctx, api.GetQueryResultsInput{QueryId: unknownID, MaxQueryResults: 7})
			return err
		}, `{"QueryId":"` + unknownID + `","MaxQueryResults":7}`},
		{"CancelQuery", func(ctx context.Context) error {
			_, err := c.CancelQuery(ctx, api.CancelQueryInput{QueryId: unknownID})
			return err
		}, `{"QueryId":"` + unknownID + `"}`},
	}
	verifier := &sigv4.Verifier{Keys: sigv4.Keys{accessKeyID: secretKey}, Service: server.Service}
	for _, tt := range tests {
		t.Run(tt.op, func(t *testing.T) {
			if err := tt.call(t.Context()); err != nil {
				t.Fatalf("%s: %v", tt.op, err)
			}
			r, body := s.last()
			if r.Method != http.MethodPost || r.URL.Path != "/" || r.URL.RawQuery != "" {
				t.Errorf("request %s %s, want POST /", r.Method, r.URL)
			}
			if got := r.Header.Get("X-Amz-Target"); got != server.TargetPrefix+tt.op {
				t.Errorf("X-Amz-Target %q, want %s", got, server.TargetPrefix+tt.op)
			}
			if got := r.Header.Get("Content-Type"); got != "application/x-amz-json-1.1" {
				t.Errorf("Content-Type %q", got)
			}
			if string(body) != tt.body {
				t.Errorf("body %s, want %s", body, tt.body)
			}
			if key, err := verifier.Verify(r, body); err != nil || key != accessKeyID {
				t.Errorf("the signature does not verify: %q, %v", key, err)
			}
			if auth := r.Header.Get("Authorization"); !strings.Contains(auth, "/eu-west-1/cloudtrail/aws4_request") {
				t.Errorf("Authorization %q is not scoped to eu-west-1 and cloudtrail", auth)
			}
		})
	}
}

// TestDefaultRegion checks that a client given no region signs for us-east-1.
func TestDefaultRegion(t *testing.T) {
	s := &stub{status: 200, body: "{}"}
	c := serveStub(t, s, "", "")
	if _, err := c.ListImports(t.Context(), api.ListImportsInput{}); err != nil {
		t.Fatal(err)
	}
	r, _ := s.last()
	if auth := r.Header.Get("Authorization"); !strings.Contains(auth, "/us-east-1/cloudtrail/aws4_request") {
		t.Errorf("Authorization %q is not scoped to us-east-1", auth)
	}
}

// TestNew checks the endpoints and keys New accepts.
func TestNew(t *testing.T) {
	tests := []struct {
		endpoint string
		key      sigv4.Key
		ok       bool
	}{
		{"http://127.0.0.1:8099", goodKey, true},
		{"https://ctimport.example.com/base/?q=1#f", goodKey, true},
		{"", goodKey, false},
		{"127.0.0.1:8099", goodKey, false},
		{"localhost:8099", goodKey, false},
		{"ftp://127.0.0.1/", goodKey, false},
		{"http://", goodKey, false},
		{"http:///path", goodKey, false},
		{"http://[::1", goodKey, false},
		{"http://127.0.0.1:8099", sigv4.Key{SecretAccessKey: secretKey}, false},
		{"http://127.0.0.1:8099", sigv4.Key{AccessKeyID: accessKeyID}, false},
		{"http://127.0.0.1:8099", sigv4.Key{}, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %q", tt.endpoint, tt.key.AccessKeyID), func(t *testing.T) {
			c, err := client.New(tt.endpoint, tt.key, "")
			if tt.ok != (err == nil) || tt.ok != (c != nil) {
				t.Errorf("New(%q) = %v, %v; want ok %v", tt.endpoint, c, err, tt.ok)
			}
			if err != nil && strings.Contains(err.Error(), secretKey) {
				t.Errorf("the error %q holds the secret key", err)
			}
		})
	}
}

// throttler answers ThrottlingException, with a Retry-After of 0 seconds,
// to the first throttled requests, then an empty ListEventDataStores.
type throttler struct {
	throttled int
	mu        sync.Mutex
	requests  int
}

func (s *throttler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.requests++
	n := s.requests
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if n <= s.throttled {
		w.Header().Set("Retry-After", "0")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"__type":"ThrottlingException","message":"slow down"}`)
		return
	}
	io.WriteString(w, `{"EventDataStores":[]}`)
}

// TestThrottlingRetried checks that a request the server sheds is sent
// again, up to five times in all.
func TestThrottlingRetried(t *testing.T) {
	for _, tc := range []struct {
		throttled, requests int
		shed                bool // the call fails with ThrottlingException
	}{
		{0, 1, false},
		{4, 5, false},
		{5, 5, true},
		{9, 5, true},
	} {
		t.Run(fmt.Sprint(tc.throttled), func(t *testing.T) {
			s := &throttler{throttled: tc.throttled}
			hs := httptest.NewServer(s)
			t.Cleanup(hs.Close)
			c, err := client.New(hs.URL, goodKey, "")
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.ListEventDataStores(t.Context(), api.ListEventDataStoresInput{})
			if errors.Is(err, api.ErrThrottling) != tc.shed || (!tc.shed && err != nil) {
				t.Errorf("ListEventDataStores after %d throttled answers: %v", tc.throttled, err)
			}
			if s.requests != tc.requests {
				t.Errorf("%d requests sent, want %d", s.requests, tc.requests)
			}
		})
	}
}
