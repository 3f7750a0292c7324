package engine_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/engine"
	"github.com/ctimport/ctimport/internal/miniotest"
	"github.com/ctimport/ctimport/internal/trailtest"
	"github.com/ctimport/ctimport/pipeline"
	"github.com/ctimport/ctimport/s3scan"
	"github.com/ctimport/ctimport/sink/memsink"
)

// TestStartImportRoleARN checks that StartImport takes an empty role or
// the ARN of an IAM role, and refuses anything else with an
// InvalidParameterException before it writes or reads anything.
func TestStartImportRoleARN(t *testing.T) {
	e := newEnv(t, engine.Options{})
	day := time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC)
	e.put(key(day.Add(12*time.Hour)), evs("r", 2, day.Add(11*time.Hour))...)
	tests := []struct {
		role  string
		valid bool
	}{
		{"", true},
		{"arn:aws:iam::123456789012:role/r", true},
		{"arn:aws:iam::123456789012:role/service-role/ctimport.Import+a=b,c@d_e-f", true},
		{"arn:aws:iam::123456789012:role/a/b/c/" + strings.Repeat("n", 64), true},
		{"arn:aws-cn:iam::123456789012:role/import", true},
		{"arn:aws-us-gov:iam::123456789012:role/import", true},

		{"import", false},
		{"role/import", false},
		{"arn:aws:iam::123456789012:role/", false},
		{"arn:aws:iam::123456789012:role/" + strings.Repeat("n", 65), false},
		{"arn:aws:iam::123456789012:role/r/", false},
		{"arn:aws:iam::123456789012:role//r", false},
		{"arn:aws:iam::123456789012:role/a b", false},
		{"arn:aws:iam::123456789012:role/a*", false},
		{"arn:aws:iam::12345678901:role/r", false},
		{"arn:aws:iam::1234567890123:role/r", false},
		{"arn:aws:iam::12345678901x:role/r", false},
		{"arn:aws:iam:us-east-1:123456789012:role/r", false},
		{"arn:aws:iam::123456789012:user/r", false},
		{"arn:aws:sts::123456789012:assumed-role/r/session", false},
		{"arn:aws:s3:::trail-bucket", false},
		{"arn:azure:iam::123456789012:role/r", false},
		{"ARN:aws:iam::123456789012:role/r", false},
		{" arn:aws:iam::123456789012:role/r", false},
		{"arn:aws:iam::123456789012:role/r\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.role, func(t *testing.T) {
			in := newImport(e.eds.EventDataStoreArn, srcURI)
			in.ImportSource.S3.S3BucketAccessRoleArn = tt.role
			before, _ := e.store.Imports(e.ctx)
			imp, err := e.eng.StartImport(e.ctx, in)
			if tt.valid {
				if err != nil {
					t.Fatalf("StartImport: %v", err)
				}
				done, _ := e.wait(imp.ImportId)
				if done.ImportStatus != api.StatusCompleted || done.ImportSource.S3.S3BucketAccessRoleArn != tt.role {
					t.Errorf("import ended %s with role %q, want COMPLETED with %q", done.ImportStatus, done.ImportSource.S3.S3BucketAccessRoleArn, tt.role)
				}
				e.spy.reset()
				return
			}
			if err == nil {
				e.wait(imp.ImportId)
				e.spy.reset()
				t.Fatal("StartImport accepted the role")
			}
			if !isExc(err, api.ErrInvalidParameter) || !strings.Contains(err.Error(), "S3BucketAccessRoleArn") {
				t.Errorf("StartImport = %v; want an InvalidParameterException about S3BucketAccessRoleArn", err)
			}
			if after, _ := e.store.Imports(e.ctx); len(after) != len(before) {
				t.Errorf("a refused request stored %d imports", len(after)-len(before))
			}
			if opens, lists := e.spy.reset(); len(opens)+len(lists) != 0 {
				t.Errorf("a refused request read the source: opens %v, lists %v", opens, lists)
			}
		})
	}
}

// renewals passes requests on to MinIO, making the credentials of each
// AssumeRole expire at once, so that every request assumes the role again;
// once deny is set, it refuses AssumeRole as STS does.
type renewals struct {
	deny atomic.Bool
}

var expirationRE = regexp.MustCompile(`<Expiration>[^<]*</Expiration>`)

func (rt *renewals) RoundTrip(r *http.Request) (*http.Response, error) {
	assume := false
	if r.Method == http.MethodPost && r.URL.Path == "/" && r.GetBody != nil {
		body, err := r.GetBody()
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(body)
		if err != nil {
			return nil, err
		}
		form, err := url.ParseQuery(string(data))
		assume = err == nil && form.Get("Action") == "AssumeRole"
	}
	if assume && rt.deny.Load() {
		body := `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Code>AccessDenied</Code>` +
			`<Message>Access denied</Message></Error><RequestId>injected</RequestId></ErrorResponse>`
		return &http.Response{StatusCode: http.StatusForbidden, Status: "403 Forbidden", Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil || !assume || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	data = expirationRE.ReplaceAll(data, []byte("<Expiration>"+time.Now().UTC().Format(time.RFC3339)+"</Expiration>"))
	resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(data)), int64(len(data))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// denyOnOpen is a source whose role may no longer be assumed from its
// first Open on.
type denyOnOpen struct {
	s3scan.Source
	rt *renewals
}

func (d denyOnOpen) Open(ctx context.Context, key string) (io.ReadCloser, s3scan.Object, error) {
	d.rt.deny.Store(true)
	return d.Source.Open(ctx, key)
}

// TestImportRoleRefusedOnRenewal checks that when the role of a running
// import can no longer be assumed, its files fail as AccessDenied with a
// message naming the role, and without a secret.
func TestImportRoleRefusedOnRenewal(t *testing.T) {
	const role = "arn:aws:iam::123456789012:role/trail-reader"
	srv := miniotest.Start(t)
	srv.MakeBucket(t, "renewals")
	day := time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC)
	var keys []string
	for i := range 3 {
		k := key(day.Add(time.Duration(10+i) * time.Hour))
		srv.Put(t, "renewals", k, trailtest.Gzip(logDoc(record(ev{id: k, at: day.Add(9 * time.Hour)}))))
		keys = append(keys, k)
	}
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "AWS_") {
			t.Setenv(name, "")
		}
	}
	t.Setenv("HOME", t.TempDir())
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey())
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey())

	rt := &renewals{}
	open := func(ctx context.Context, loc s3scan.Location, src api.S3ImportSource) (s3scan.Source, error) {
		s, err := s3scan.NewS3(ctx, s3scan.S3Config{Bucket: loc.Bucket, RoleARN: src.S3BucketAccessRoleArn, Endpoint: srv.Endpoint(), Transport: rt})
		if err != nil {
			return nil, err
		}
		return denyOnOpen{Source: s, rt: rt}, nil
	}
	store := memsink.New()
	defer store.Close()
	eng := engine.New(store, engine.Options{Config: pipeline.Config{Backoff: time.Millisecond}, OpenSource: open})
	defer eng.Close()
	eds, err := eng.CreateEventDataStore(t.Context(), api.CreateEventDataStoreInput{Name: "trail"})
	if err != nil {
		t.Fatal(err)
	}
	in := newImport(eds.EventDataStoreArn, "s3://renewals/")
	in.ImportSource.S3.S3BucketAccessRoleArn = role
	imp, err := eng.StartImport(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), waitTimeout)
	defer cancel()
	done, _, err := eng.Wait(ctx, imp.ImportId)
	if err != nil {
		t.Fatal(err)
	}
	if done.ImportStatus != api.StatusFailed || done.ImportStatistics.FailedEntries != int64(len(keys)) {
		t.Fatalf("import ended %s with %+v, want FAILED with %d failures", done.ImportStatus, *done.ImportStatistics, len(keys))
	}
	out, err := eng.ListImportFailures(t.Context(), api.ListImportFailuresInput{ImportId: imp.ImportId})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range out.Failures {
		if f.ErrorType != pipeline.ErrorAccessDenied || f.Status != api.FailureFailed ||
			!strings.Contains(f.ErrorMessage, "cannot assume role "+role+": AccessDenied") || strings.Contains(f.ErrorMessage, srv.SecretKey()) {
			t.Errorf("failure %+v, want FAILED AccessDenied saying the role cannot be assumed", f)
		}
	}
}
