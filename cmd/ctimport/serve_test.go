package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/smithy-go"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/internal/miniotest"
)

// The access key the servers of these tests accept.
const (
	serveKeyID  = "AKIDSERVETEST0001"
	serveSecret = "srv-Secret-q8WzX3vN5bK2pL7t"
)

// serveKeyEnv is the environment that gives the server, or a client of it,
// the access key of the tests.
func serveKeyEnv() []string {
	return []string{"CTIMPORT_ACCESS_KEY_ID=" + serveKeyID, "CTIMPORT_SECRET_ACCESS_KEY=" + serveSecret}
}

// cloudTrailTarget starts the X-Amz-Target of every CloudTrail operation.
const cloudTrailTarget = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."

// testRole is the S3BucketAccessRoleArn of the imports. ctimport assumes
// it with MinIO's STS, which lets the root user assume any role ARN and
// gives it the root user's access.
const testRole = "arn:aws:iam::123456789012:role/ctimport-import"

// serverProc is a "ctimport serve" process.
type serverProc struct {
	t      *testing.T
	args   []string
	cmd    *exec.Cmd
	stderr *syncBuffer
	stdout *syncBuffer
	done   chan struct{}
	err    error // of Wait, once done is closed
	url    string
}

var (
	servingText = regexp.MustCompile(`msg=serving url=(\S+)`)
	servingJSON = regexp.MustCompile(`"msg":"serving","url":"([^"]+)"`)
)

// serve starts "ctimport serve" on the harness's database, listening on a
// free port of the loopback interface, with the access key of the tests
// and env in its environment, and returns once it serves.
func (h *harness) serve(env []string, flags ...string) *serverProc {
	h.t.Helper()
	t := h.t
	args := append([]string{"--db", h.db, "serve", "--listen", "127.0.0.1:0"}, flags...)
	cmd := exec.Command(binary, args...)
	cmd.Dir = h.dir
	cmd.Env = append(append(slices.Clip(h.env), serveKeyEnv()...), env...)
	p := &serverProc{t: t, args: args, cmd: cmd, stderr: &syncBuffer{}, stdout: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			p.cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("ctimport %s\nstdout:\n%s\nlog:\n%s", strings.Join(p.args, " "), p.stdout.String(), p.log())
		}
	})
	deadline := time.Now().Add(time.Minute)
	for p.url == "" {
		log := p.log()
		if m := servingText.FindStringSubmatch(log); m != nil {
			p.url = m[1]
		} else if m := servingJSON.FindStringSubmatch(log); m != nil {
			p.url = m[1]
		}
		switch {
		case p.url != "":
		case p.exited():
			t.Fatalf("the server exited (%v) before serving\n%s", p.err, log)
		case time.Now().After(deadline):
			t.Fatalf("the server did not say where it serves within a minute\n%s", log)
		default:
			time.Sleep(20 * time.Millisecond)
		}
	}
	return p
}

// log is what the server logged so far.
func (p *serverProc) log() string { return p.stderr.String() }

func (p *serverProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// code is the exit code of the ended process; -1 when a signal ended it.
func (p *serverProc) code() int {
	var exit *exec.ExitError
	switch {
	case p.err == nil:
		return 0
	case errors.As(p.err, &exit):
		return exit.ExitCode()
	}
	return -1
}

// stop sends sig and waits for the process to end, at most within; it
// returns the exit code and how long the process took to end.
func (p *serverProc) stop(sig os.Signal, within time.Duration) (int, time.Duration) {
	p.t.Helper()
	start := time.Now()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(within):
		p.cmd.Process.Kill()
		<-p.done
		p.t.Fatalf("the server did not end within %s of %s", within, sig)
	}
	return p.code(), time.Since(start)
}

// kill ends the process at once, as a crash would.
func (p *serverProc) kill() {
	p.t.Helper()
	if err := p.cmd.Process.Kill(); err != nil {
		p.t.Fatal(err)
	}
	<-p.done
}

// waitLog waits until the log holds s.
func (p *serverProc) waitLog(s string) {
	p.t.Helper()
	poll(p.t, "the server to log "+s, func() bool {
		if p.exited() {
			p.t.Fatalf("the server exited (%v) before logging %q", p.err, s)
		}
		return strings.Contains(p.log(), s)
	})
}

// sdk returns a CloudTrail client of the AWS SDK for the server, signing
// with the access key of the tests. It does not retry.
func (p *serverProc) sdk(optFns ...func(*cloudtrail.Options)) *cloudtrail.Client {
	return sdkClient(p.url, serveKeyID, serveSecret, optFns...)
}

func sdkClient(url, id, secret string, optFns ...func(*cloudtrail.Options)) *cloudtrail.Client {
	return cloudtrail.New(cloudtrail.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(url),
		Credentials:      credentials.NewStaticCredentialsProvider(id, secret, ""),
		RetryMaxAttempts: 1,
	}, optFns...)
}

// serveLayout returns a layout of files log files in one day prefix, each
// with per events, their eventIDs made from tag.
func serveLayout(t *testing.T, tag string, files, per int) *layout {
	at := time.Date(2024, 9, 2, 10, 0, 0, 0, time.UTC)
	l := newLayout(t)
	for i := range files {
		delivery := at.Add(time.Duration(i) * 5 * time.Minute)
		l.log(logKey("AWSLogs/", "123456789012", "us-east-1", delivery, fmt.Sprintf("Serve%03d", i)),
			events(fmt.Sprintf("%s-%03d", tag, i), delivery.Add(-4*time.Minute), per)...)
	}
	return l
}

// frozenSource is a bucket of log files behind a gate that holds the GETs
// of all files but the first few, so that an import of it stops at a known
// point until the gate opens.
type frozenSource struct {
	l      *layout
	srv    *miniotest.Server
	bucket string
	keys   []string
	first  int // the files the gate lets through
	g      *gate
}

func newFrozenSource(t *testing.T, tag string, files, per, first int) *frozenSource {
	t.Helper()
	f := &frozenSource{l: serveLayout(t, tag, files, per), first: first}
	f.srv, f.bucket = f.l.newBucket()
	f.keys = f.l.logKeys()
	held := map[string]bool{}
	for _, k := range f.keys[first:] {
		held["/"+f.bucket+"/"+k] = true
	}
	f.g = newGate(t, f.srv.Endpoint(), func(path string) bool { return held[path] })
	return f
}

// serverFlags are the flags of a server that reads the source through its gate.
func (f *frozenSource) serverFlags() []string { return []string{"--s3-endpoint-url", f.g.endpoint()} }

// waitHeld waits until an import holds a GET of every held file: the
// files before them are read, or being read.
func (f *frozenSource) waitHeld(t *testing.T) {
	t.Helper()
	poll(t, "the import to wait for the held files", func() bool {
		return f.g.waiting.Load() == int64(len(f.keys)-f.first)
	})
}

// s3Source is the ImportSource of an import of uri.
func s3Source(uri string) *types.ImportSource {
	return &types.ImportSource{S3: &types.S3ImportSource{
		S3LocationUri:         aws.String(uri),
		S3BucketRegion:        aws.String("us-east-1"),
		S3BucketAccessRoleArn: aws.String(testRole),
	}}
}

func createStoreSDK(t *testing.T, cl *cloudtrail.Client, name string) *cloudtrail.CreateEventDataStoreOutput {
	t.Helper()
	out, err := cl.CreateEventDataStore(t.Context(), &cloudtrail.CreateEventDataStoreInput{Name: aws.String(name)})
	if err != nil {
		t.Fatalf("CreateEventDataStore %s: %v", name, err)
	}
	return out
}

func startImportSDK(t *testing.T, cl *cloudtrail.Client, storeARN, uri string) *cloudtrail.StartImportOutput {
	t.Helper()
	out, err := cl.StartImport(t.Context(), &cloudtrail.StartImportInput{Destinations: []string{storeARN}, ImportSource: s3Source(uri)})
	if err != nil {
		t.Fatalf("StartImport of %s: %v", uri, err)
	}
	if st := out.ImportStatus; st != types.ImportStatusInitializing && st != types.ImportStatusInProgress {
		t.Errorf("StartImport returned status %s, want INITIALIZING or IN_PROGRESS", st)
	}
	return out
}

func getImportSDK(t *testing.T, cl *cloudtrail.Client, id string) *cloudtrail.GetImportOutput {
	t.Helper()
	out, err := cl.GetImport(t.Context(), &cloudtrail.GetImportInput{ImportId: aws.String(id)})
	if err != nil {
		t.Fatalf("GetImport %s: %v", id, err)
	}
	return out
}

// importEnded reports whether an import in status st has ended.
func importEnded(st types.ImportStatus) bool {
	return st == types.ImportStatusCompleted || st == types.ImportStatusFailed || st == types.ImportStatusStopped
}

// waitImport polls GetImport until the import ends.
func waitImport(t *testing.T, cl *cloudtrail.Client, id string) *cloudtrail.GetImportOutput {
	t.Helper()
	var out *cloudtrail.GetImportOutput
	poll(t, "import "+id+" to end", func() bool {
		out = getImportSDK(t, cl, id)
		return importEnded(out.ImportStatus)
	})
	return out
}

// sdkStats is ImportStatistics of the SDK in the API's own type.
func sdkStats(t *testing.T, st *types.ImportStatistics) api.ImportStatistics {
	t.Helper()
	if st == nil {
		t.Fatal("no ImportStatistics")
	}
	return api.ImportStatistics{
		PrefixesFound:     aws.ToInt64(st.PrefixesFound),
		PrefixesCompleted: aws.ToInt64(st.PrefixesCompleted),
		FilesCompleted:    aws.ToInt64(st.FilesCompleted),
		EventsCompleted:   aws.ToInt64(st.EventsCompleted),
		FailedEntries:     aws.ToInt64(st.FailedEntries),
	}
}

// checkSDKImport fails unless imp ended in status with the statistics want.
func checkSDKImport(t *testing.T, imp *cloudtrail.GetImportOutput, status types.ImportStatus, want api.ImportStatistics) {
	t.Helper()
	if imp.ImportStatus != status {
		t.Errorf("import %s is %s, want %s", aws.ToString(imp.ImportId), imp.ImportStatus, status)
	}
	if got := sdkStats(t, imp.ImportStatistics); got != want {
		t.Errorf("ImportStatistics %+v, want %+v", got, want)
	}
}

// sdkQuery runs statement through StartQuery, DescribeQuery and
// GetQueryResults pages of at most page rows, and returns the rows and the
// query's ID.
func sdkQuery(t *testing.T, cl *cloudtrail.Client, statement string, page int32) ([][]map[string]string, string) {
	t.Helper()
	ctx := t.Context()
	start, err := cl.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String(statement)})
	if err != nil {
		t.Fatalf("StartQuery %q: %v", statement, err)
	}
	id := aws.ToString(start.QueryId)
	var desc *cloudtrail.DescribeQueryOutput
	poll(t, "query "+id+" to end", func() bool {
		desc, err = cl.DescribeQuery(ctx, &cloudtrail.DescribeQueryInput{QueryId: aws.String(id)})
		if err != nil {
			t.Fatalf("DescribeQuery: %v", err)
		}
		return desc.QueryStatus != types.QueryStatusQueued && desc.QueryStatus != types.QueryStatusRunning
	})
	if desc.QueryStatus != types.QueryStatusFinished {
		t.Fatalf("query %q ended %s: %s", statement, desc.QueryStatus, aws.ToString(desc.ErrorMessage))
	}
	var rows [][]map[string]string
	pages := cloudtrail.NewGetQueryResultsPaginator(cl, &cloudtrail.GetQueryResultsInput{QueryId: aws.String(id), MaxQueryResults: aws.Int32(page)})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatalf("GetQueryResults: %v", err)
		}
		if len(out.QueryResultRows) > int(page) {
			t.Errorf("a page of GetQueryResults has %d rows, more than MaxQueryResults %d", len(out.QueryResultRows), page)
		}
		if out.QueryStatus != types.QueryStatusFinished {
			t.Errorf("GetQueryResults says the query is %s", out.QueryStatus)
		}
		rows = append(rows, out.QueryResultRows...)
	}
	return rows, id
}

// cell returns the value of column col in a row of query results.
func cell(row []map[string]string, col string) (string, bool) {
	for _, c := range row {
		if v, ok := c[col]; ok {
			return v, true
		}
	}
	return "", false
}

// checkStoredSDK fails unless the event data store with ID id holds
// exactly the events of want, each once, as a server's queries tell.
func checkStoredSDK(t *testing.T, cl *cloudtrail.Client, id string, want map[string]bool) {
	t.Helper()
	rows, _ := sdkQuery(t, cl, "SELECT count(*) AS n, count(DISTINCT eventID) AS d FROM "+id, 10)
	if len(rows) != 1 {
		t.Fatalf("the count query returned %d rows", len(rows))
	}
	n, _ := cell(rows[0], "n")
	d, _ := cell(rows[0], "d")
	if n != strconv.Itoa(len(want)) || d != strconv.Itoa(len(want)) {
		t.Errorf("count(*) %s, count(DISTINCT eventID) %s; want %d each", n, d, len(want))
	}
	rows, _ = sdkQuery(t, cl, "SELECT eventID FROM "+id, 1000)
	got := map[string]bool{}
	for _, row := range rows {
		e, _ := cell(row, "eventID")
		got[e] = true
	}
	if !maps.Equal(got, want) {
		t.Errorf("stored eventIDs differ from the imported ones: %d stored, %d imported", len(got), len(want))
	}
}

// apiError returns the API error of err, failing the test when it has none.
func apiError(t *testing.T, err error) smithy.APIError {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want an API error, got %v", err)
	}
	return ae
}

// httpStatus returns the HTTP status of the response err came with.
func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

// wantError fails unless err is of type E, an exception of the SDK.
func wantError[E error](t *testing.T, what string, err error) {
	t.Helper()
	var e E
	if !errors.As(err, &e) {
		t.Errorf("%s: got error %v, want %T", what, err, e)
	}
}

// rawResponse is the answer to a request sent without the SDK.
type rawResponse struct {
	status  int
	header  http.Header
	body    string
	Type    string `json:"__type"`
	Message string `json:"message"`
}

// rawRequest sends a POST of body to the server with the target
// operation; it signs it with key at the time at unless key is nil, and
// returns the signature it sent ("" when unsigned).
func rawRequest(t *testing.T, url, op string, body []byte, key *aws.Credentials, at time.Time) (rawResponse, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, url+"/", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", cloudTrailTarget+op)
	sig := ""
	if key != nil {
		sum := sha256.Sum256(body)
		if err := v4.NewSigner().SignHTTP(t.Context(), *key, req, hex.EncodeToString(sum[:]), "cloudtrail", "us-east-1", at); err != nil {
			t.Fatal(err)
		}
		_, sig, _ = strings.Cut(req.Header.Get("Authorization"), "Signature=")
		if sig == "" {
			t.Fatalf("the signer set no signature: %q", req.Header.Get("Authorization"))
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", op, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	r := rawResponse{status: resp.StatusCode, header: resp.Header, body: string(b)}
	if resp.StatusCode != http.StatusOK {
		if err := json.Unmarshal(b, &r); err != nil {
			t.Errorf("%s: the error response is not JSON: %v\n%s", op, err, b)
		}
	}
	return r, sig
}

// badFiles returns the log files of malformedFiles with the names given,
// by name.
func badFiles(t *testing.T, names ...string) map[string]malformed {
	bad := map[string]malformed{}
	for _, m := range malformedFiles(t) {
		if slices.Contains(names, m.name) {
			bad[m.name] = m
		}
	}
	if len(bad) != len(names) {
		t.Fatalf("malformedFiles has %d of the files %v", len(bad), names)
	}
	return bad
}

func TestServeLifecycleSDK(t *testing.T) {
	t.Parallel()
	const files, perFile = 5, 4
	l := serveLayout(t, "life", files, perFile)
	good := l.logKeys()
	at := time.Date(2024, 9, 2, 11, 0, 0, 0, time.UTC)
	bad := map[string]malformed{} // by key
	for i, m := range slices.Collect(maps.Values(badFiles(t, "not gzip", "truncated gzip", "invalid json"))) {
		key := logKey("AWSLogs/", "123456789012", "us-east-1", at.Add(time.Duration(i)*time.Minute), fmt.Sprintf("Bad%02d", i))
		l.put(key, m.data)
		bad[key] = m
	}
	srv, bucket := l.newBucket()
	h := newHarness(t)
	s := h.serve(s3Creds(srv), "--s3-endpoint-url", srv.Endpoint())
	cl := s.sdk()
	ctx := t.Context()

	before := time.Now()
	store := createStoreSDK(t, cl, "lifecycle")
	arn := aws.ToString(store.EventDataStoreArn)
	if aws.ToString(store.Name) != "lifecycle" || store.Status != types.EventDataStoreStatusEnabled || !strings.HasPrefix(arn, "arn:aws:cloudtrail:") {
		t.Errorf("CreateEventDataStore returned name %q, status %s, ARN %q", aws.ToString(store.Name), store.Status, arn)
	}
	// The server's times are kept to the microsecond and sent to the millisecond.
	near := func(what string, tm *time.Time) {
		t.Helper()
		if tm == nil || tm.Before(before.Add(-time.Second)) || tm.After(time.Now().Add(time.Second)) {
			t.Errorf("%s %v, want a time between %v and now", what, tm, before)
		}
	}
	near("CreatedTimestamp of the event data store", store.CreatedTimestamp)
	got, err := cl.GetEventDataStore(ctx, &cloudtrail.GetEventDataStoreInput{EventDataStore: aws.String(arn)})
	if err != nil {
		t.Fatalf("GetEventDataStore: %v", err)
	}
	if aws.ToString(got.EventDataStoreArn) != arn || aws.ToString(got.Name) != "lifecycle" || !aws.ToTime(got.CreatedTimestamp).Equal(aws.ToTime(store.CreatedTimestamp)) {
		t.Errorf("GetEventDataStore returned %s %s %v; CreateEventDataStore %s %s %v",
			aws.ToString(got.EventDataStoreArn), aws.ToString(got.Name), aws.ToTime(got.CreatedTimestamp), arn, "lifecycle", aws.ToTime(store.CreatedTimestamp))
	}
	other := createStoreSDK(t, cl, "lifecycle-other")

	var storePages int
	var arns []string
	stores := cloudtrail.NewListEventDataStoresPaginator(cl, &cloudtrail.ListEventDataStoresInput{MaxResults: aws.Int32(1)})
	for stores.HasMorePages() {
		page, err := stores.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListEventDataStores: %v", err)
		}
		storePages++
		for _, s := range page.EventDataStores {
			arns = append(arns, aws.ToString(s.EventDataStoreArn))
			near("CreatedTimestamp of a listed event data store", s.CreatedTimestamp)
		}
	}
	if want := []string{arn, aws.ToString(other.EventDataStoreArn)}; storePages != 2 || !slices.Equal(arns, want) {
		t.Errorf("ListEventDataStores pages of 1: %d pages listing %v; want 2 pages listing %v", storePages, arns, want)
	}

	// An import with failed files ends FAILED, with the others imported.
	started := startImportSDK(t, cl, arn, "s3://"+bucket+"/")
	id := aws.ToString(started.ImportId)
	if !slices.Equal(started.Destinations, []string{arn}) || aws.ToString(started.ImportSource.S3.S3LocationUri) != "s3://"+bucket+"/" {
		t.Errorf("StartImport returned destinations %v, source %s", started.Destinations, aws.ToString(started.ImportSource.S3.S3LocationUri))
	}
	near("CreatedTimestamp of the import", started.CreatedTimestamp)
	imp := waitImport(t, cl, id)
	checkSDKImport(t, imp, types.ImportStatusFailed, api.ImportStatistics{
		PrefixesFound: 1, PrefixesCompleted: 1,
		FilesCompleted: int64(len(good)), EventsCompleted: int64(l.count()), FailedEntries: int64(len(bad)),
	})
	near("UpdatedTimestamp of the import", imp.UpdatedTimestamp)
	if !aws.ToTime(imp.CreatedTimestamp).Equal(aws.ToTime(started.CreatedTimestamp)) {
		t.Errorf("GetImport says the import was created at %v, StartImport said %v", imp.CreatedTimestamp, started.CreatedTimestamp)
	}

	seen := map[string]bool{}
	failurePages := 0
	failures := cloudtrail.NewListImportFailuresPaginator(cl, &cloudtrail.ListImportFailuresInput{ImportId: aws.String(id), MaxResults: aws.Int32(1)})
	for failures.HasMorePages() {
		page, err := failures.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListImportFailures: %v", err)
		}
		failurePages++
		if len(page.Failures) > 1 {
			t.Errorf("a page of ListImportFailures with MaxResults 1 has %d failures", len(page.Failures))
		}
		for _, f := range page.Failures {
			key := aws.ToString(f.Location)
			m, ok := bad[key]
			switch {
			case !ok:
				t.Errorf("%s is listed as a failure", key)
				continue
			case seen[key]:
				t.Errorf("%s is listed twice", key)
			case f.Status != types.ImportFailureStatusFailed || aws.ToString(f.ErrorType) != m.errorType:
				t.Errorf("%s (%s) is listed as %s %s, want FAILED %s", key, m.name, f.Status, aws.ToString(f.ErrorType), m.errorType)
			case !strings.Contains(aws.ToString(f.ErrorMessage), m.message):
				t.Errorf("%s (%s): ErrorMessage %q does not mention %q", key, m.name, aws.ToString(f.ErrorMessage), m.message)
			}
			near("LastUpdatedTime of "+key, f.LastUpdatedTime)
			seen[key] = true
		}
	}
	if len(seen) != len(bad) || failurePages < len(bad) {
		t.Errorf("ListImportFailures listed %d of the %d failed files in %d pages", len(seen), len(bad), failurePages)
	}

	// Two more imports, into the other store and again into the first.
	second := startImportSDK(t, cl, aws.ToString(other.EventDataStoreArn), "s3://"+bucket+"/")
	waitImport(t, cl, aws.ToString(second.ImportId))
	third := startImportSDK(t, cl, arn, "s3://"+bucket+"/")
	checkSDKImport(t, waitImport(t, cl, aws.ToString(third.ImportId)), types.ImportStatusFailed, sdkStats(t, imp.ImportStatistics))
	var listed []string
	var created []time.Time
	imports := cloudtrail.NewListImportsPaginator(cl, &cloudtrail.ListImportsInput{MaxResults: aws.Int32(1)})
	for imports.HasMorePages() {
		page, err := imports.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListImports: %v", err)
		}
		if len(page.Imports) != 1 {
			t.Errorf("a page of ListImports with MaxResults 1 has %d imports", len(page.Imports))
		}
		for _, it := range page.Imports {
			listed = append(listed, aws.ToString(it.ImportId))
			created = append(created, aws.ToTime(it.CreatedTimestamp))
			if it.ImportStatus != types.ImportStatusFailed || len(it.Destinations) != 1 {
				t.Errorf("ListImports lists %s as %s into %v", aws.ToString(it.ImportId), it.ImportStatus, it.Destinations)
			}
		}
	}
	// Newest first.
	if want := []string{aws.ToString(third.ImportId), aws.ToString(second.ImportId), id}; !slices.Equal(listed, want) {
		t.Errorf("ListImports lists %v, want %v", listed, want)
	}
	if !slices.IsSortedFunc(created, func(a, b time.Time) int { return b.Compare(a) }) {
		t.Errorf("ListImports is not newest first: %v", created)
	}
	only, err := cl.ListImports(ctx, &cloudtrail.ListImportsInput{Destination: other.EventDataStoreArn})
	if err != nil {
		t.Fatalf("ListImports of one destination: %v", err)
	}
	if len(only.Imports) != 1 || aws.ToString(only.Imports[0].ImportId) != aws.ToString(second.ImportId) || only.NextToken != nil {
		t.Errorf("ListImports of %s: %+v", aws.ToString(other.EventDataStoreArn), only.Imports)
	}

	// Every eventID once, read in pages smaller than the results.
	rows, qid := sdkQuery(t, cl, "SELECT eventID FROM "+storeID(arn), 7)
	ids := map[string]int{}
	for _, row := range rows {
		e, ok := cell(row, "eventID")
		if !ok || len(row) != 1 {
			t.Errorf("a result row is %v, want only eventID", row)
		}
		ids[e]++
	}
	want := l.ids(nil)
	for e := range want {
		if ids[e] != 1 {
			t.Errorf("event %s is in the results %d times", e, ids[e])
		}
	}
	if len(rows) != len(want) || len(ids) != len(want) {
		t.Errorf("the query returned %d rows, %d eventIDs; want %d", len(rows), len(ids), len(want))
	}
	_, err = cl.CancelQuery(ctx, &cloudtrail.CancelQueryInput{QueryId: aws.String(qid)})
	wantError[*types.InactiveQueryException](t, "CancelQuery of a finished query", err)
}

func TestServeErrorsSDK(t *testing.T) {
	t.Parallel()
	f := newFrozenSource(t, "errors", 2, 3, 0)
	h := newHarness(t)
	s := h.serve(s3Creds(f.srv), f.serverFlags()...)
	cl := s.sdk()
	ctx := t.Context()
	store := createStoreSDK(t, cl, "errors")
	arn := aws.ToString(store.EventDataStoreArn)
	other := createStoreSDK(t, cl, "errors-other")
	unknownID := "0b7b3c1e-8d6a-4f1e-9a55-3c2d1e0f9a8b"

	_, err := cl.GetImport(ctx, &cloudtrail.GetImportInput{ImportId: aws.String(unknownID)})
	wantError[*types.ImportNotFoundException](t, "GetImport of an unknown import", err)
	_, err = cl.StopImport(ctx, &cloudtrail.StopImportInput{ImportId: aws.String(unknownID)})
	wantError[*types.ImportNotFoundException](t, "StopImport of an unknown import", err)
	for _, bad := range []string{"abc", "zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz"} {
		_, err = cl.GetImport(ctx, &cloudtrail.GetImportInput{ImportId: aws.String(bad)})
		wantError[*types.InvalidParameterException](t, "GetImport of "+bad, err)
		if httpStatus(err) != http.StatusBadRequest {
			t.Errorf("GetImport of %s: HTTP status %d, want 400", bad, httpStatus(err))
		}
	}
	for _, n := range []int32{0, 1001} {
		_, err = cl.ListEventDataStores(ctx, &cloudtrail.ListEventDataStoresInput{MaxResults: aws.Int32(n)})
		wantError[*types.InvalidMaxResultsException](t, fmt.Sprintf("ListEventDataStores with MaxResults %d", n), err)
	}
	_, err = cl.ListImports(ctx, &cloudtrail.ListImportsInput{NextToken: aws.String("garbage-token")})
	wantError[*types.InvalidNextTokenException](t, "ListImports with a NextToken of garbage", err)
	_, err = cl.CreateEventDataStore(ctx, &cloudtrail.CreateEventDataStoreInput{Name: aws.String("errors")})
	wantError[*types.EventDataStoreAlreadyExistsException](t, "CreateEventDataStore of a name taken", err)

	start := func(dest, uri string) error {
		_, err := cl.StartImport(ctx, &cloudtrail.StartImportInput{Destinations: []string{dest}, ImportSource: s3Source(uri)})
		return err
	}
	err = start("arn:aws:cloudtrail:us-east-1:000000000000:eventdatastore/"+unknownID, "s3://"+f.bucket+"/")
	wantError[*types.EventDataStoreNotFoundException](t, "StartImport into an unknown event data store", err)
	err = start("arn:aws:cloudtrail:us-east-1:000000000000:trail/x", "s3://"+f.bucket+"/")
	wantError[*types.EventDataStoreARNInvalidException](t, "StartImport into the ARN of a trail", err)
	err = start(arn, "s3://no-such-bucket-"+strings.ToLower(unknownID[:8])+"/")
	wantError[*types.InvalidImportSourceException](t, "StartImport from a bucket that does not exist", err)
	err = start(arn, "file://"+filepath.ToSlash(h.dir)+"/")
	wantError[*types.InvalidImportSourceException](t, "StartImport from a local directory without --file-sources", err)
	if err != nil && !strings.Contains(err.Error(), "--file-sources") {
		t.Errorf("the refusal of a local directory does not name --file-sources: %v", err)
	}

	// One import at a time, by default.
	running := startImportSDK(t, cl, arn, "s3://"+f.bucket+"/")
	f.waitHeld(t)
	err = start(aws.ToString(other.EventDataStoreArn), "s3://"+f.bucket+"/")
	wantError[*types.AccountHasOngoingImportException](t, "StartImport while another import runs", err)
	_, err = cl.StartImport(ctx, &cloudtrail.StartImportInput{ImportId: running.ImportId})
	wantError[*types.AccountHasOngoingImportException](t, "StartImport of the running import", err)
	if st := getImportSDK(t, cl, aws.ToString(running.ImportId)).ImportStatus; st != types.ImportStatusInProgress && st != types.ImportStatusInitializing {
		t.Errorf("the held import is %s", st)
	}

	_, err = cl.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String("")})
	wantError[*types.InvalidQueryStatementException](t, "StartQuery of an empty statement", err)
	// The statement is checked as the query runs: either StartQuery
	// refuses it, or the query ends FAILED and says why.
	q, err := cl.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String("SELEC eventID FROM " + storeID(arn))})
	if err != nil {
		wantError[*types.InvalidQueryStatementException](t, "StartQuery of a statement with a syntax error", err)
	} else {
		var desc *cloudtrail.DescribeQueryOutput
		poll(t, "the wrong query to end", func() bool {
			desc, err = cl.DescribeQuery(ctx, &cloudtrail.DescribeQueryInput{QueryId: q.QueryId})
			if err != nil {
				t.Fatalf("DescribeQuery: %v", err)
			}
			return desc.QueryStatus != types.QueryStatusQueued && desc.QueryStatus != types.QueryStatusRunning
		})
		if desc.QueryStatus != types.QueryStatusFailed || !strings.Contains(aws.ToString(desc.ErrorMessage), "syntax") {
			t.Errorf("a query with a syntax error is %s: %q", desc.QueryStatus, aws.ToString(desc.ErrorMessage))
		}
	}
	_, err = cl.GetQueryResults(ctx, &cloudtrail.GetQueryResultsInput{QueryId: aws.String(unknownID)})
	wantError[*types.QueryIdNotFoundException](t, "GetQueryResults of an unknown query", err)
	_, err = cl.GetQueryResults(ctx, &cloudtrail.GetQueryResultsInput{QueryId: aws.String(unknownID), MaxQueryResults: aws.Int32(0)})
	wantError[*types.InvalidMaxResultsException](t, "GetQueryResults with MaxQueryResults 0", err)

	key := aws.Credentials{AccessKeyID: serveKeyID, SecretAccessKey: serveSecret}
	r, _ := rawRequest(t, s.url, "NoSuchOperation", []byte("{}"), &key, time.Now())
	if r.status != http.StatusBadRequest || r.Type != "UnknownOperationException" {
		t.Errorf("an unknown operation: HTTP %d, __type %q; want 400 UnknownOperationException\n%s", r.status, r.Type, r.body)
	}
	r, _ = rawRequest(t, s.url, "ListImports", []byte("{not json"), &key, time.Now())
	if r.status != http.StatusBadRequest || r.Type != "SerializationException" {
		t.Errorf("a body that is not JSON: HTTP %d, __type %q; want 400 SerializationException\n%s", r.status, r.Type, r.body)
	}
	r, _ = rawRequest(t, s.url, "ListImports", []byte("{}"), &key, time.Now())
	if r.status != http.StatusOK || r.header.Get("X-Amzn-RequestId") == "" {
		t.Errorf("a raw signed ListImports: HTTP %d, request ID %q\n%s", r.status, r.header.Get("X-Amzn-RequestId"), r.body)
	}
}

func TestServeSignatures(t *testing.T) {
	t.Parallel()
	const wrongSecret = "wrong-Secret-R4nd0mV4lue99x"
	const secondID, secondSecret = "AKIDSERVETEST0002", "second-Secret-7hQm2Vx9"
	h := newHarness(t)
	keys := filepath.Join(h.dir, "keys")
	content := "# access keys of the server\n" + serveKeyID + " " + serveSecret + "\n\n" + secondID + "\t" + secondSecret + "\n"
	if err := os.WriteFile(keys, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	s := h.serve(nil, "--max-body-bytes", "2048", "--log-format", "json", "--credentials-file", keys)
	ctx := t.Context()
	if _, err := sdkClient(s.url, secondID, secondSecret).ListEventDataStores(ctx, &cloudtrail.ListEventDataStoresInput{}); err != nil {
		t.Errorf("the second key of the credentials file: %v", err)
	}

	check := func(what string, err error, code string, status int, msg string) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: no error", what)
			return
		}
		ae := apiError(t, err)
		if ae.ErrorCode() != code || httpStatus(err) != status || !strings.Contains(ae.ErrorMessage(), msg) {
			t.Errorf("%s: %s (HTTP %d) %q; want %s (HTTP %d) with %q", what, ae.ErrorCode(), httpStatus(err), ae.ErrorMessage(), code, status, msg)
		}
	}
	_, err := sdkClient(s.url, serveKeyID, wrongSecret).ListEventDataStores(ctx, &cloudtrail.ListEventDataStoresInput{})
	check("a wrong secret", err, "InvalidSignatureException", http.StatusBadRequest, "signature")
	_, err = sdkClient(s.url, "AKIDUNKNOWN00000", serveSecret).ListEventDataStores(ctx, &cloudtrail.ListEventDataStoresInput{})
	check("an unknown access key", err, "UnrecognizedClientException", http.StatusBadRequest, "")
	if _, err := s.sdk().ListEventDataStores(ctx, &cloudtrail.ListEventDataStoresInput{}); err != nil {
		t.Fatalf("the right key: %v", err)
	}

	var sigs []string
	r, _ := rawRequest(t, s.url, "ListEventDataStores", []byte("{}"), nil, time.Time{})
	if r.status != http.StatusBadRequest || r.Type != "MissingAuthenticationTokenException" {
		t.Errorf("an unsigned request: HTTP %d %s, want 400 MissingAuthenticationTokenException\n%s", r.status, r.Type, r.body)
	}
	key := aws.Credentials{AccessKeyID: serveKeyID, SecretAccessKey: serveSecret}
	r, sig := rawRequest(t, s.url, "ListEventDataStores", []byte("{}"), &key, time.Now().Add(-20*time.Minute))
	sigs = append(sigs, sig)
	if r.status != http.StatusBadRequest || r.Type != "InvalidSignatureException" || !strings.Contains(r.Message, "Signature expired") {
		t.Errorf("a request signed 20 minutes ago: HTTP %d %s %q, want 400 InvalidSignatureException, Signature expired", r.status, r.Type, r.Message)
	}
	wrong := aws.Credentials{AccessKeyID: serveKeyID, SecretAccessKey: wrongSecret}
	r, sig = rawRequest(t, s.url, "ListEventDataStores", []byte("{}"), &wrong, time.Now())
	sigs = append(sigs, sig)
	if r.status != http.StatusBadRequest || r.Type != "InvalidSignatureException" {
		t.Errorf("a raw request with a wrong secret: HTTP %d %s, want 400 InvalidSignatureException", r.status, r.Type)
	}
	big := []byte(`{"Name": "` + strings.Repeat("x", 4096) + `"}`)
	r, sig = rawRequest(t, s.url, "CreateEventDataStore", big, &key, time.Now())
	sigs = append(sigs, sig)
	if r.status != http.StatusRequestEntityTooLarge || r.Type != "RequestEntityTooLargeException" {
		t.Errorf("a body over --max-body-bytes: HTTP %d %s, want 413 RequestEntityTooLargeException\n%s", r.status, r.Type, r.body)
	}
	// Just under the limit is read, and refused by the model instead.
	r, sig = rawRequest(t, s.url, "CreateEventDataStore", []byte(`{"Name": "`+strings.Repeat("x", 1900)+`"}`), &key, time.Now())
	sigs = append(sigs, sig)
	if r.status != http.StatusBadRequest || r.Type != "InvalidParameterException" {
		t.Errorf("a body under --max-body-bytes with a name too long: HTTP %d %s, want 400 InvalidParameterException\n%s", r.status, r.Type, r.body)
	}

	// The log records every refusal, each line a JSON object, and never a
	// secret or a signature. A request is logged after its answer.
	want := map[string]int{
		"InvalidSignatureException":           3,
		"UnrecognizedClientException":         1,
		"MissingAuthenticationTokenException": 1,
		"RequestEntityTooLargeException":      1,
		"InvalidParameterException":           1,
	}
	total := 0
	for _, n := range want {
		total += n
	}
	var log string
	refusals := map[string]int{}
	poll(t, "the log to record the refused requests", func() bool {
		log = s.log()
		clear(refusals)
		n := 0
		for line := range strings.Lines(log) {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatalf("a log line is not JSON: %q", line)
			}
			if code, ok := rec["error"].(string); ok && rec["msg"] == "request" {
				refusals[code]++
				n++
			}
		}
		return n >= total
	})
	if !maps.Equal(refusals, want) {
		t.Errorf("the log records the refusals %v, want %v", refusals, want)
	}
	for _, secret := range append([]string{serveSecret, secondSecret, wrongSecret, "Signature="}, sigs...) {
		if strings.Contains(log, secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
}

func TestServeStopAndRetry(t *testing.T) {
	t.Parallel()
	f := newFrozenSource(t, "stop", 12, 5, 8)
	h := newHarness(t)
	s := h.serve(s3Creds(f.srv), f.serverFlags()...)
	cl := s.sdk()
	ctx := t.Context()
	store := createStoreSDK(t, cl, "stop")
	id := aws.ToString(startImportSDK(t, cl, aws.ToString(store.EventDataStoreArn), "s3://"+f.bucket+"/").ImportId)
	f.waitHeld(t)

	// StopImport returns once the run ended: the held GETs are given up.
	sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	begun := time.Now()
	stopped, err := cl.StopImport(sctx, &cloudtrail.StopImportInput{ImportId: aws.String(id)})
	if err != nil {
		t.Fatalf("StopImport of an import waiting on its source (after %s): %v", time.Since(begun), err)
	}
	t.Logf("StopImport took %s", time.Since(begun))
	if stopped.ImportStatus != types.ImportStatusStopped {
		t.Errorf("StopImport returned status %s, want STOPPED", stopped.ImportStatus)
	}
	st := sdkStats(t, stopped.ImportStatistics)
	if st.FilesCompleted > int64(f.first) || st.EventsCompleted > int64(f.l.count(f.keys[:f.first]...)) || st.FailedEntries != 0 || st.PrefixesCompleted != 0 {
		t.Errorf("statistics of the stopped import %+v; want at most the %d files before the held ones", st, f.first)
	}
	if got := getImportSDK(t, cl, id); got.ImportStatus != types.ImportStatusStopped || sdkStats(t, got.ImportStatistics) != st {
		t.Errorf("GetImport after StopImport: %s %+v; StopImport said STOPPED %+v", got.ImportStatus, sdkStats(t, got.ImportStatistics), st)
	}
	// The stop gave up the held GETs: the gate sees them go.
	poll(t, "the held GETs to be given up", func() bool { return f.g.waiting.Load() == 0 })
	failures, err := cl.ListImportFailures(ctx, &cloudtrail.ListImportFailuresInput{ImportId: aws.String(id)})
	if err != nil {
		t.Fatal(err)
	}
	if len(failures.Failures) != 0 {
		t.Errorf("the files being read when the import stopped are listed as failures: %+v", failures.Failures)
	}

	f.g.open()
	retried, err := cl.StartImport(ctx, &cloudtrail.StartImportInput{ImportId: aws.String(id)})
	if err != nil {
		t.Fatalf("StartImport to retry %s: %v", id, err)
	}
	if aws.ToString(retried.ImportId) != id {
		t.Errorf("the retry has import ID %s, want %s", aws.ToString(retried.ImportId), id)
	}
	checkSDKImport(t, waitImport(t, cl, id), types.ImportStatusCompleted, api.ImportStatistics{
		PrefixesFound: 1, PrefixesCompleted: 1, FilesCompleted: int64(len(f.keys)), EventsCompleted: int64(f.l.count()),
	})
	list, err := cl.ListImports(ctx, &cloudtrail.ListImportsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Imports) != 1 || aws.ToString(list.Imports[0].ImportId) != id {
		t.Errorf("ListImports lists %+v, want only import %s", list.Imports, id)
	}
	checkStoredSDK(t, cl, storeID(aws.ToString(store.EventDataStoreArn)), f.l.ids(nil))
}

func TestServeRestartResumes(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"SIGKILL", "SIGTERM"} {
		t.Run(how, func(t *testing.T) {
			t.Parallel()
			f := newFrozenSource(t, "restart", 12, 5, 8)
			h := newHarness(t)
			env := s3Creds(f.srv)
			s := h.serve(env, f.serverFlags()...)
			cl := s.sdk()
			store := createStoreSDK(t, cl, "restart")
			id := aws.ToString(startImportSDK(t, cl, aws.ToString(store.EventDataStoreArn), "s3://"+f.bucket+"/").ImportId)
			f.waitHeld(t)

			switch how {
			case "SIGKILL":
				// The files before the held ones are committed before the crash.
				poll(t, "the files before the held ones to be committed", func() bool {
					st := getImportSDK(t, cl, id).ImportStatistics
					return st != nil && aws.ToInt64(st.FilesCompleted) == int64(f.first)
				})
				s.kill()
			case "SIGTERM":
				code, took := s.stop(syscall.SIGTERM, 30*time.Second)
				t.Logf("the server ended %s after SIGTERM", took)
				if code != 0 {
					t.Errorf("the server exited %d after SIGTERM, want 0", code)
				}
				if !strings.Contains(s.log(), "msg=stopping signal=terminated") {
					t.Errorf("the server did not log that it stops")
				}
				// The import is left running, to be resumed; a read-only
				// query does not recover it.
				rows := h.query("SELECT status FROM ctimport.imports WHERE id = '" + id + "'")
				if len(rows) != 1 || rows[0]["status"] != string(api.StatusInProgress) {
					t.Errorf("after SIGTERM the import is %v, want IN_PROGRESS", rows)
				}
			}

			f.g.open()
			s2 := h.serve(env, f.serverFlags()...)
			s2.waitLog("resumed the import left running by the last server")
			if !strings.Contains(s2.log(), "import_id="+id) {
				t.Errorf("the server does not log the ID of the import it resumed")
			}
			cl2 := s2.sdk()
			checkSDKImport(t, waitImport(t, cl2, id), types.ImportStatusCompleted, api.ImportStatistics{
				PrefixesFound: 1, PrefixesCompleted: 1, FilesCompleted: int64(len(f.keys)), EventsCompleted: int64(f.l.count()),
			})
			checkStoredSDK(t, cl2, storeID(aws.ToString(store.EventDataStoreArn)), f.l.ids(nil))
			code, _ := s2.stop(syscall.SIGTERM, 30*time.Second)
			if code != 0 {
				t.Errorf("the second server exited %d after SIGTERM, want 0", code)
			}
		})
	}
}

func TestServeCLIClient(t *testing.T) {
	t.Parallel()
	done := serveLayout(t, "cli", 3, 4)
	srv, doneBucket := done.newBucket()
	// The second import waits at the gate for its last file, a bad one.
	held := serveLayout(t, "cliheld", 3, 2)
	badKey := logKey("AWSLogs/", "123456789012", "us-east-1", time.Date(2024, 9, 2, 12, 0, 0, 0, time.UTC), "BadGzip")
	held.put(badKey, []byte("not gzip at all\n"))
	_, heldBucket := held.newBucket()
	heldBad := map[string]bool{"/" + heldBucket + "/" + badKey: true}
	g := newGate(t, srv.Endpoint(), func(path string) bool { return heldBad[path] })

	h := newHarness(t)
	s := h.serve(s3Creds(srv), "--s3-endpoint-url", g.endpoint())
	c := h.with(serveKeyEnv()...)
	remote := func(code int, args ...string) outcome {
		t.Helper()
		return c.want(code, c.exec(append([]string{"--endpoint-url", s.url}, args...)...))
	}
	source := func(bucket string) string {
		return "S3={S3LocationUri=s3://" + bucket + "/,S3BucketRegion=us-east-1,S3BucketAccessRoleArn=" + testRole + "}"
	}

	store := decode[api.EventDataStore](t, remote(exitOK, "create-event-data-store", "--name", "cli"))
	arn := store.EventDataStoreArn
	if store.Name != "cli" || !strings.HasPrefix(arn, "arn:aws:cloudtrail:") {
		t.Errorf("create-event-data-store printed %+v", store)
	}
	if list := decode[api.ListEventDataStoresOutput](t, remote(exitOK, "list-event-data-stores")); len(list.EventDataStores) != 1 || list.EventDataStores[0].EventDataStoreArn != arn {
		t.Errorf("list-event-data-stores printed %+v", list)
	}
	if got := decode[api.EventDataStore](t, remote(exitOK, "get-event-data-store", "--event-data-store", "cli")); got.EventDataStoreArn != arn {
		t.Errorf("get-event-data-store printed %+v, want ARN %s", got, arn)
	}

	o := remote(exitOK, "start-import", "--destinations", arn, "--import-source", source(doneBucket), "--wait")
	first := decode[api.Import](t, o)
	checkImport(t, first, api.StatusCompleted, api.ImportStatistics{
		PrefixesFound: 1, PrefixesCompleted: 1, FilesCompleted: int64(len(done.logKeys())), EventsCompleted: int64(done.count()),
	})
	for _, want := range []string{"import " + first.ImportId + " started on " + s.url, "import " + first.ImportId + " COMPLETED"} {
		if !strings.Contains(o.stderr, want) {
			t.Errorf("stderr does not say %q\n%s", want, o)
		}
	}

	// Without --wait, start-import returns while the import runs.
	o = remote(exitOK, "start-import", "--destinations", arn, "--import-source", source(heldBucket))
	second := decode[api.Import](t, o)
	if st := second.ImportStatus; st != api.StatusInitializing && st != api.StatusInProgress {
		t.Errorf("start-import without --wait printed status %s, want INITIALIZING or IN_PROGRESS", st)
	}
	poll(t, "the import to wait for its held file", func() bool { return g.waiting.Load() == 1 })
	if got := decode[api.Import](t, remote(exitOK, "get-import", "--import-id", second.ImportId)); got.ImportStatus != api.StatusInProgress {
		t.Errorf("get-import of the held import printed status %s, want IN_PROGRESS", got.ImportStatus)
	}
	list := decode[api.ListImportsOutput](t, remote(exitOK, "list-imports"))
	if len(list.Imports) != 2 || list.Imports[0].ImportId != second.ImportId || list.Imports[1].ImportId != first.ImportId {
		t.Errorf("list-imports printed %+v, want imports %s and %s", list.Imports, second.ImportId, first.ImportId)
	}
	if fl := decode[api.ListImportFailuresOutput](t, remote(exitOK, "list-import-failures", "--import-id", first.ImportId)); len(fl.Failures) != 0 {
		t.Errorf("list-import-failures of a COMPLETED import printed %+v", fl.Failures)
	}
	if stop := decode[api.Import](t, remote(exitOK, "stop-import", "--import-id", second.ImportId)); stop.ImportStatus != api.StatusStopped {
		t.Errorf("stop-import printed status %s, want STOPPED", stop.ImportStatus)
	}

	// A retry that waits for the import stops it on SIGINT.
	p := c.start("--endpoint-url", s.url, "start-import", "--import-id", second.ImportId, "--wait")
	poll(t, "the retry to wait for its held file", func() bool {
		return strings.Contains(p.stderr.String(), "import "+second.ImportId+" retrying on "+s.url) && g.waiting.Load() == 1
	})
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if o = p.wait(); o.code != exitStopped {
		t.Fatalf("want exit %d\n%s", exitStopped, o)
	}
	if st := decode[api.Import](t, o).ImportStatus; st != api.StatusStopped {
		t.Errorf("the retry stopped by SIGINT printed status %s, want STOPPED", st)
	}
	for _, want := range []string{
		"stopping import " + second.ImportId,
		"import " + second.ImportId + " STOPPED: ",
		"retry with: ctimport --endpoint-url " + s.url + " start-import --import-id " + second.ImportId,
	} {
		if !strings.Contains(o.stderr, want) {
			t.Errorf("stderr does not say %q\n%s", want, o)
		}
	}

	// The retry reads the bad file and ends FAILED.
	g.open()
	o = remote(exitFailed, "start-import", "--import-id", second.ImportId, "--wait")
	retried := decode[api.Import](t, o)
	checkImport(t, retried, api.StatusFailed, api.ImportStatistics{
		PrefixesFound: 1, PrefixesCompleted: 1, FilesCompleted: int64(len(held.logKeys())), EventsCompleted: int64(held.count()), FailedEntries: 1,
	})
	for _, want := range []string{
		"import " + second.ImportId + " retrying on " + s.url,
		"1 files failed; see ctimport --endpoint-url " + s.url + " list-import-failures --import-id " + second.ImportId,
		"retry with: ctimport --endpoint-url " + s.url + " start-import --import-id " + second.ImportId,
	} {
		if !strings.Contains(o.stderr, want) {
			t.Errorf("stderr does not say %q\n%s", want, o)
		}
	}
	fl := decode[api.ListImportFailuresOutput](t, remote(exitOK, "list-import-failures", "--import-id", second.ImportId))
	if len(fl.Failures) != 1 || fl.Failures[0].Location != badKey || fl.Failures[0].ErrorType != "InvalidGzip" || fl.Failures[0].Status != api.FailureFailed {
		t.Errorf("list-import-failures printed %+v, want %s FAILED InvalidGzip", fl.Failures, badKey)
	}

	total := done.count() + held.count()
	o = remote(exitOK, "query", "--query-statement", "SELECT count(*) AS n FROM "+storeID(arn), "--output", "csv")
	if want := fmt.Sprintf("n\n%d\n", total); o.stdout != want {
		t.Errorf("query --output csv printed %q, want %q", o.stdout, want)
	}
	// DuckDB's message of a syntax error takes several lines.
	o = remote(exitError, "query", "--query-statement", "SELEC 1")
	if !strings.HasPrefix(o.stderr, "ctimport: query: InvalidQueryStatementException: ") || !strings.Contains(o.stderr, "syntax error") || o.stdout != "" {
		t.Errorf("a query with a syntax error: want an InvalidQueryStatementException\n%s", o)
	}
	o = remote(exitOK, "list-queries", "--event-data-store", arn, "--query-status", "FINISHED", "--start-time", "2000-01-01", "--max-results", "5")
	if l := decode[api.ListQueriesOutput](t, o); len(l.Queries) != 1 || l.Queries[0].QueryStatus != api.QueryFinished || l.NextToken != "" {
		t.Errorf("list-queries printed %+v, want the one query", l)
	}
	o = remote(exitOK, "list-queries", "--event-data-store", storeID(arn), "--end-time", "2000-01-01T00:00:00Z")
	if l := decode[api.ListQueriesOutput](t, o); len(l.Queries) != 0 {
		t.Errorf("list-queries of queries before 2000 printed %+v", l.Queries)
	}
	checkOneLine(t, remote(exitUsage, "list-queries"), "--event-data-store")
	checkOneLine(t, remote(exitUsage, "list-queries", "--event-data-store", arn, "--start-time", "yesterday"), "--start-time")
	checkOneLine(t, remote(exitError, "list-queries", "--event-data-store", arn, "--query-status", "DONE"), "InvalidQueryStatusException")

	// The endpoint from the environment.
	viaEnv := c.with("CTIMPORT_ENDPOINT_URL=" + s.url)
	o = viaEnv.want(exitOK, viaEnv.exec("list-imports", "--import-status", "FAILED"))
	if l := decode[api.ListImportsOutput](t, o); len(l.Imports) != 1 || l.Imports[0].ImportId != second.ImportId {
		t.Errorf("list-imports with CTIMPORT_ENDPOINT_URL printed %+v", l.Imports)
	}

	// Mistakes.
	o = h.want(exitUsage, h.exec("--endpoint-url", s.url, "list-imports"))
	checkOneLine(t, o, "CTIMPORT_ACCESS_KEY_ID")
	wrong := h.with("CTIMPORT_ACCESS_KEY_ID="+serveKeyID, "CTIMPORT_SECRET_ACCESS_KEY=not-the-secret-1234")
	o = wrong.want(exitError, wrong.exec("--endpoint-url", s.url, "list-imports"))
	checkOneLine(t, o, "InvalidSignatureException")
	o = remote(exitUsage, "start-import", "--destinations", arn, "--import-source", source(doneBucket), "--allowance", "10m")
	checkOneLine(t, o, "--allowance")
	o = c.want(exitUsage, c.run("--endpoint-url", s.url, "serve"))
	checkOneLine(t, o, "--endpoint-url")
	o = remote(exitError, "get-import", "--import-id", "0b7b3c1e-8d6a-4f1e-9a55-3c2d1e0f9a8b")
	checkOneLine(t, o, "ImportNotFoundException")

	// The server holds the database.
	o = h.expect(exitLocked, "list-imports")
	checkOneLine(t, o, "serve")
	h.expect(exitLocked, "query", "--query-statement", "SELECT 1")
}

func TestServeHealthMetrics(t *testing.T) {
	t.Parallel()
	l := serveLayout(t, "metrics", 3, 7)
	srv, bucket := l.newBucket()
	h := newHarness(t)
	s := h.serve(s3Creds(srv), "--s3-endpoint-url", srv.Endpoint())
	get := func(path string) (int, string, http.Header) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth(serveKeyID, serveSecret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(b), resp.Header
	}
	if code, body, _ := get("/healthz"); code != http.StatusOK || body != "ok\n" {
		t.Errorf("GET /healthz: %d %q, want 200 \"ok\\n\"", code, body)
	}
	if code, _, _ := get("/no-such-page"); code != http.StatusNotFound {
		t.Errorf("GET /no-such-page: %d, want 404", code)
	}

	cl := s.sdk()
	store := createStoreSDK(t, cl, "metrics")
	id := aws.ToString(startImportSDK(t, cl, aws.ToString(store.EventDataStoreArn), "s3://"+bucket+"/").ImportId)
	checkSDKImport(t, waitImport(t, cl, id), types.ImportStatusCompleted, api.ImportStatistics{
		PrefixesFound: 1, PrefixesCompleted: 1, FilesCompleted: 3, EventsCompleted: int64(l.count()),
	})
	_, err := cl.GetImport(t.Context(), &cloudtrail.GetImportInput{ImportId: aws.String("0b7b3c1e-8d6a-4f1e-9a55-3c2d1e0f9a8b")})
	wantError[*types.ImportNotFoundException](t, "GetImport of an unknown import", err)

	var metrics string
	// The run is counted as ended a moment after its status is stored.
	poll(t, "the metrics to count no import running", func() bool {
		var code int
		var header http.Header
		code, metrics, header = get("/metrics")
		if code != http.StatusOK || !strings.HasPrefix(header.Get("Content-Type"), "text/plain") {
			t.Fatalf("GET /metrics: %d, Content-Type %q", code, header.Get("Content-Type"))
		}
		return strings.Contains(metrics, "\nctimport_imports_running 0\n")
	})
	value := func(series string) int64 {
		t.Helper()
		for line := range strings.Lines(metrics) {
			if v, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), series+" "); ok {
				n, err := strconv.ParseFloat(v, 64)
				if err != nil {
					t.Fatalf("metric %s has value %q", series, v)
				}
				return int64(n)
			}
		}
		t.Errorf("the metrics have no %s\n%s", series, metrics)
		return -1
	}
	for series, want := range map[string]int64{
		"ctimport_events_imported_total":                                           int64(l.count()),
		"ctimport_files_imported_total":                                            3,
		"ctimport_import_failures_total":                                           0,
		`ctimport_api_requests_total{code="200",operation="StartImport"}`:          1,
		`ctimport_api_requests_total{code="200",operation="CreateEventDataStore"}`: 1,
		`ctimport_api_requests_total{code="400",operation="GetImport"}`:            1,
	} {
		if got := value(series); got != want {
			t.Errorf("%s is %d, want %d", series, got, want)
		}
	}
	if value(`ctimport_api_requests_total{code="200",operation="GetImport"}`) < 1 {
		t.Errorf("the metrics count no GetImport answered")
	}
	if n := value("ctimport_bytes_imported_total"); n <= 0 {
		t.Errorf("ctimport_bytes_imported_total is %d", n)
	}
	for _, want := range []string{"# TYPE ctimport_imports_running gauge", "# TYPE ctimport_events_imported_total counter"} {
		if !strings.Contains(metrics, want) {
			t.Errorf("the metrics lack %q", want)
		}
	}
}

// selfSigned writes a self-signed certificate of 127.0.0.1 and its key in
// PEM files under dir, and returns their paths and a pool that trusts it.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "ctimport test server"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestServeTLS(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	s := h.serve(nil, "--tls-cert", certFile, "--tls-key", keyFile)
	if !strings.HasPrefix(s.url, "https://") {
		t.Fatalf("the server serves %s, want https://", s.url)
	}
	trusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	cl := s.sdk(func(o *cloudtrail.Options) { o.HTTPClient = trusting })
	createStoreSDK(t, cl, "tls")
	out, err := cl.ListEventDataStores(t.Context(), &cloudtrail.ListEventDataStoresInput{})
	if err != nil {
		t.Fatalf("ListEventDataStores over TLS: %v", err)
	}
	if len(out.EventDataStores) != 1 || aws.ToString(out.EventDataStores[0].Name) != "tls" {
		t.Errorf("ListEventDataStores over TLS: %+v", out.EventDataStores)
	}
	// A client that does not trust the certificate is refused.
	_, err = s.sdk().ListEventDataStores(t.Context(), &cloudtrail.ListEventDataStoresInput{})
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Errorf("a client that does not trust the certificate: %v, want x509.UnknownAuthorityError", err)
	}
	if runtime.GOOS == "linux" {
		// ctimport's own client trusts the certificates of SSL_CERT_FILE.
		c := h.with(append(serveKeyEnv(), "SSL_CERT_FILE="+certFile)...)
		o := c.want(exitOK, c.exec("--endpoint-url", s.url, "list-event-data-stores"))
		if l := decode[api.ListEventDataStoresOutput](t, o); len(l.EventDataStores) != 1 {
			t.Errorf("list-event-data-stores over TLS printed %+v", l.EventDataStores)
		}
	}
	if code, _ := s.stop(syscall.SIGTERM, 30*time.Second); code != 0 {
		t.Errorf("the server exited %d after SIGTERM, want 0", code)
	}
}

func TestServeFileSources(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	root := filepath.Join(h.dir, "sources")
	inside := serveLayout(t, "local", 2, 3)
	inside.write(filepath.Join(root, "trail"))
	// A day of logs outside the directory of the sources, linked from
	// inside an imported tree and from the directory of the sources.
	outside := filepath.Join(h.dir, "outside")
	other := newLayout(t)
	day := time.Date(2024, 9, 3, 10, 0, 0, 0, time.UTC)
	other.log(logKey("AWSLogs/", "123456789012", "us-east-1", day, "Outside1"), events("outside", day.Add(-time.Minute), 2)...)
	other.write(outside)
	dayDir := filepath.FromSlash("AWSLogs/123456789012/CloudTrail/us-east-1/2024/09/03")
	if err := os.Symlink(filepath.Join(outside, dayDir), filepath.Join(root, "trail", dayDir)); err != nil {
		t.Skipf("no symbolic links here: %v", err)
	}
	if err := os.Symlink(outside, filepath.Join(root, "escape")); err != nil {
		t.Fatal(err)
	}
	s := h.serve(nil, "--file-sources", root)
	cl := s.sdk()
	store := createStoreSDK(t, cl, "local")
	arn := aws.ToString(store.EventDataStoreArn)
	uri := func(dir string) string { return "file://" + filepath.ToSlash(dir) + "/" }

	imp := startImportSDK(t, cl, arn, uri(filepath.Join(root, "trail")))
	checkSDKImport(t, waitImport(t, cl, aws.ToString(imp.ImportId)), types.ImportStatusCompleted, api.ImportStatistics{
		PrefixesFound: 1, PrefixesCompleted: 1, FilesCompleted: int64(len(inside.logKeys())), EventsCompleted: int64(inside.count()),
	})
	checkStoredSDK(t, cl, storeID(arn), inside.ids(nil))

	for _, dir := range []string{outside, filepath.Join(root, "escape"), root + "/../outside"} {
		_, err := cl.StartImport(t.Context(), &cloudtrail.StartImportInput{Destinations: []string{arn}, ImportSource: s3Source(uri(dir))})
		wantError[*types.InvalidImportSourceException](t, "StartImport from "+dir, err)
	}
}
