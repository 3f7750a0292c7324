package s3scan_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"golang.org/x/sync/errgroup"

	"github.com/ctimport/ctimport/internal/miniotest"
	"github.com/ctimport/ctimport/s3scan"
	"github.com/ctimport/ctimport/s3scan/s3scantest"
)

// isolateAWS clears the AWS settings of the environment for the test, so
// that no credentials or profile of the machine are used.
func isolateAWS(t *testing.T) {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "AWS_") {
			t.Setenv(k, "")
			os.Unsetenv(k)
		}
	}
	t.Setenv("HOME", t.TempDir())
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

// useRootKeys makes the server's root keys the credentials of the
// environment.
func useRootKeys(t *testing.T, srv *miniotest.Server) {
	t.Helper()
	isolateAWS(t)
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey())
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey())
}

// putAll stores objects in bucket with a few requests at a time.
func putAll(t *testing.T, srv *miniotest.Server, bucket string, objects map[string][]byte) {
	t.Helper()
	keys := make(chan string)
	g, ctx := errgroup.WithContext(context.Background())
	g.Go(func() error {
		defer close(keys)
		for k := range objects {
			select {
			case keys <- k:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	})
	for range 8 {
		g.Go(func() error {
			for k := range keys {
				data := objects[k]
				if _, err := srv.Client().PutObject(ctx, bucket, k, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
					return fmt.Errorf("put %q: %w", k, err)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
}

func newS3(t *testing.T, objects map[string][]byte) s3scan.Source {
	srv := miniotest.Shared(t)
	bucket := srv.NewBucket(t)
	putAll(t, srv, bucket, objects)
	useRootKeys(t, srv)
	src, err := s3scan.NewS3(context.Background(), s3scan.S3Config{Bucket: bucket, Endpoint: srv.Endpoint()})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestS3Suite(t *testing.T) {
	s3scantest.RunSuite(t, newS3)
}

// openS3 opens bucket of srv with the credentials of the environment.
func openS3(t *testing.T, srv *miniotest.Server, bucket string, rt http.RoundTripper) (s3scan.Source, error) {
	t.Helper()
	return s3scan.NewS3(context.Background(), s3scan.S3Config{Bucket: bucket, Endpoint: srv.Endpoint(), Transport: rt})
}

// checkClean fails when err's text holds a secret or a signed request.
func checkClean(t *testing.T, err error, secrets ...string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range append(secrets, "X-Amz-Signature", "X-Amz-Credential", "list-type") {
		if strings.Contains(err.Error(), s) {
			t.Errorf("error %q holds %q", err, s)
		}
	}
}

func TestNewS3(t *testing.T) {
	srv := miniotest.Shared(t)
	bucket := srv.NewBucket(t)
	useRootKeys(t, srv)

	src, err := openS3(t, srv, bucket, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := src.String(), "s3://"+bucket+" (endpoint "+srv.Endpoint()+")"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}

	_, err = openS3(t, srv, "no-such-bucket", nil)
	if !errors.Is(err, s3scan.ErrNoBucket) {
		t.Errorf("missing bucket: %v, want ErrNoBucket", err)
	}
	_, err = openS3(t, srv, "Not_A_Bucket", nil)
	if !errors.Is(err, s3scan.ErrBadURI) {
		t.Errorf("invalid bucket name: %v, want ErrBadURI", err)
	}

	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-value")
	_, err = openS3(t, srv, bucket, nil)
	if !errors.Is(err, s3scan.ErrAccessDenied) || !strings.Contains(err.Error(), "credentials from the environment") {
		t.Errorf("wrong secret key: %v, want ErrAccessDenied naming where the keys came from", err)
	}
	checkClean(t, err, "wrong-secret-value", srv.SecretKey())
}

func TestNewS3Unreachable(t *testing.T) {
	isolateAWS(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "id")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret-key-value")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	endpoint := "http://" + l.Addr().String()
	l.Close()
	start := time.Now()
	_, err = s3scan.NewS3(context.Background(), s3scan.S3Config{Bucket: "bucket", Endpoint: endpoint})
	if !errors.Is(err, s3scan.ErrTransient) || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), endpoint) {
		t.Errorf("unreachable endpoint: %v, want a transient error naming the endpoint", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("NewS3 took %v to give up", d)
	}
	checkClean(t, err, "secret-key-value")
}

func TestNewS3Endpoint(t *testing.T) {
	srv := miniotest.Shared(t)
	bucket := srv.NewBucket(t)
	useRootKeys(t, srv)
	for _, bad := range []string{"ftp://host", "localhost:9000", "http://host/path", "http://host?x=1", "http://user:hidden-pass@host"} {
		_, err := s3scan.NewS3(context.Background(), s3scan.S3Config{Bucket: bucket, Endpoint: bad})
		if err == nil {
			t.Errorf("endpoint %q accepted", bad)
		}
		checkClean(t, err, "hidden-pass")
	}

	t.Setenv("AWS_ENDPOINT_URL", srv.Endpoint())
	if _, err := s3scan.NewS3(context.Background(), s3scan.S3Config{Bucket: bucket}); err != nil {
		t.Errorf("endpoint from AWS_ENDPOINT_URL: %v", err)
	}
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")
	t.Setenv("AWS_ENDPOINT_URL_S3", srv.Endpoint())
	if _, err := s3scan.NewS3(context.Background(), s3scan.S3Config{Bucket: bucket}); err != nil {
		t.Errorf("endpoint from AWS_ENDPOINT_URL_S3: %v", err)
	}
	t.Setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:1")
	if _, err := s3scan.NewS3(context.Background(), s3scan.S3Config{Bucket: bucket, Endpoint: srv.Endpoint()}); err != nil {
		t.Errorf("configured endpoint: %v", err)
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestS3Credentials(t *testing.T) {
	srv := miniotest.Shared(t)
	bucket := srv.NewBucket(t)
	srv.Put(t, bucket, "k", []byte("v"))
	keys := fmt.Sprintf("aws_access_key_id = %s\naws_secret_access_key = %s\n", srv.AccessKey(), srv.SecretKey())
	wrongKeys := "aws_access_key_id = nobody\naws_secret_access_key = wrong-secret\n"

	creds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "token-1" {
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, `{"AccessKeyId":%q,"SecretAccessKey":%q,"Expiration":%q}`,
			srv.AccessKey(), srv.SecretKey(), time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	}))
	defer creds.Close()

	imds := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodPut && r.URL.Path == "/latest/api/token":
			fmt.Fprint(w, "imds-token")
		case r.Header.Get("X-aws-ec2-metadata-token") != "imds-token":
			http.Error(w, "no token", http.StatusUnauthorized)
		case r.URL.Path == "/latest/meta-data/iam/security-credentials/":
			fmt.Fprint(w, "trail-reader\n")
		case r.URL.Path == "/latest/meta-data/iam/security-credentials/trail-reader":
			fmt.Fprintf(w, `{"Code":"Success","AccessKeyId":%q,"SecretAccessKey":%q,"Expiration":%q}`,
				srv.AccessKey(), srv.SecretKey(), time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
		default:
			http.NotFound(w, r)
		}
	}))
	defer imds.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	tests := []struct {
		name  string
		setup func(t *testing.T, home string)
		err   error  // nil: NewS3, List and Open succeed
		text  string // part of the error
	}{
		{"environment", func(t *testing.T, home string) {
			t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey())
			t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey())
		}, nil, ""},
		{"default credentials file", func(t *testing.T, home string) {
			writeFile(t, home, ".aws/credentials", "[default]\n"+keys)
		}, nil, ""},
		{"credentials file from the environment", func(t *testing.T, home string) {
			t.Setenv("AWS_SHARED_CREDENTIALS_FILE", writeFile(t, home, "creds", "[default]\n"+keys))
		}, nil, ""},
		{"static keys in the config file", func(t *testing.T, home string) {
			t.Setenv("AWS_CONFIG_FILE", writeFile(t, home, "config", "[profile ct]\nregion = us-east-1\n"+keys))
			t.Setenv("AWS_PROFILE", "ct")
		}, nil, ""},
		{"credentials file over config file", func(t *testing.T, home string) {
			writeFile(t, home, ".aws/config", "[profile ct]\n"+wrongKeys)
			writeFile(t, home, ".aws/credentials", "[ct]\n"+keys)
			t.Setenv("AWS_PROFILE", "ct")
		}, nil, ""},
		{"environment over files", func(t *testing.T, home string) {
			writeFile(t, home, ".aws/credentials", "[default]\n"+keys)
			t.Setenv("AWS_ACCESS_KEY_ID", "nobody")
			t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret")
		}, s3scan.ErrAccessDenied, "credentials from the environment"},
		{"container credentials", func(t *testing.T, home string) {
			t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", creds.URL+"/creds")
			t.Setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "token-1")
		}, nil, ""},
		{"container credentials refused", func(t *testing.T, home string) {
			t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", creds.URL+"/creds")
		}, nil, "AWS_CONTAINER_CREDENTIALS_FULL_URI"},
		{"instance metadata", func(t *testing.T, home string) {
			t.Setenv("AWS_EC2_METADATA_DISABLED", "")
			t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.URL)
		}, nil, ""},
		{"instance metadata disabled", func(t *testing.T, home string) {
			t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", imds.URL)
		}, s3scan.ErrAccessDenied, "anonymous"},
		{"instance metadata unreachable", func(t *testing.T, home string) {
			t.Setenv("AWS_EC2_METADATA_DISABLED", "")
			t.Setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", closed.URL)
		}, s3scan.ErrAccessDenied, "anonymous"},
		{"anonymous", func(t *testing.T, home string) {}, s3scan.ErrAccessDenied, "anonymous"},
		{"missing named profile", func(t *testing.T, home string) {
			writeFile(t, home, ".aws/credentials", "[default]\n"+keys)
			t.Setenv("AWS_PROFILE", "nope")
		}, nil, `profile "nope"`},
		{"named profile without keys", func(t *testing.T, home string) {
			writeFile(t, home, ".aws/config", "[profile ct]\nregion = us-east-1\n")
			t.Setenv("AWS_PROFILE", "ct")
		}, nil, "no access keys"},
		{"partial keys in the environment", func(t *testing.T, home string) {
			t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey())
		}, nil, "AWS_SECRET_ACCESS_KEY is not"},
		{"broken credentials file", func(t *testing.T, home string) {
			writeFile(t, home, ".aws/credentials", "[default]\naws_secret_access_key wrong-secret\n")
		}, nil, "not valid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolateAWS(t)
			tt.setup(t, os.Getenv("HOME"))
			src, err := openS3(t, srv, bucket, nil)
			checkClean(t, err, srv.SecretKey(), "wrong-secret")
			switch {
			case tt.err == nil && tt.text == "":
				if err != nil {
					t.Fatal(err)
				}
				if _, err := src.List(context.Background(), "", ""); err != nil {
					t.Errorf("List: %v", err)
				}
				rc, _, err := src.Open(context.Background(), "k")
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				rc.Close()
			case err == nil:
				t.Fatalf("NewS3 succeeded; want an error saying %q", tt.text)
			case tt.err != nil && !errors.Is(err, tt.err), !strings.Contains(err.Error(), tt.text):
				t.Errorf("NewS3: %v; want %v saying %q", err, tt.err, tt.text)
			}
		})
	}
}

func TestS3Anonymous(t *testing.T) {
	srv := miniotest.Shared(t)
	bucket := srv.NewBucket(t)
	srv.Put(t, bucket, "public/k", []byte("v"))
	srv.Put(t, bucket, "private/k", []byte("v"))
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:ListBucket"],"Resource":["arn:aws:s3:::%[1]s"]},
		{"Effect":"Allow","Principal":{"AWS":["*"]},"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::%[1]s/public/*"]}]}`, bucket)
	if err := srv.Client().SetBucketPolicy(context.Background(), bucket, policy); err != nil {
		t.Fatal(err)
	}
	isolateAWS(t)
	src, err := openS3(t, srv, bucket, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := src.List(context.Background(), "", "")
	if err != nil || !slices.Equal(p.Prefixes, []string{"private/", "public/"}) {
		t.Errorf("List = %+v, %v", p, err)
	}
	rc, _, err := src.Open(context.Background(), "public/k")
	if err != nil {
		t.Fatalf("Open of a public object: %v", err)
	}
	rc.Close()
	_, _, err = src.Open(context.Background(), "private/k")
	if !errors.Is(err, s3scan.ErrAccessDenied) || !strings.Contains(err.Error(), "private/k") {
		t.Errorf("Open of a private object: %v, want ErrAccessDenied naming the key", err)
	}
}

// faultTransport answers the requests fn answers, and passes on the others.
type faultTransport struct {
	rt http.RoundTripper
	fn func(r *http.Request) (*http.Response, error)
}

func (f faultTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if resp, err := f.fn(r); resp != nil || err != nil {
		return resp, err
	}
	return f.rt.RoundTrip(r)
}

func isList(r *http.Request) bool {
	return r.URL.Query().Get("list-type") == "2"
}

func isGet(r *http.Request) bool {
	return r.Method == http.MethodGet && !isList(r) && strings.Count(strings.Trim(r.URL.Path, "/"), "/") >= 1
}

func s3Error(r *http.Request, status int, code string) *http.Response {
	body := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>injected</Message></Error>`, code)
	return &http.Response{
		Status:     http.StatusText(status),
		StatusCode: status,
		Header:     http.Header{"Content-Type": {"application/xml"}},
		Body:       io.NopCloser(strings.NewReader(body)),
		Request:    r,
	}
}

// cutBody yields left bytes of r, then a reset connection.
type cutBody struct {
	r    io.ReadCloser
	left int
}

func (b *cutBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
	}
	if len(p) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= n
	return n, err
}

func (b *cutBody) Close() error { return b.r.Close() }

func TestS3Faults(t *testing.T) {
	srv := miniotest.Shared(t)
	bucket := srv.NewBucket(t)
	data := bytes.Repeat([]byte("0123456789"), 10000)
	srv.Put(t, bucket, "dir/obj", data)
	useRootKeys(t, srv)

	tests := []struct {
		name string
		fn   func(r *http.Request) (*http.Response, error)
		list error // of List("dir/")
		open error // of Open("dir/obj")
		read error // of reading it
		text string
	}{
		{name: "no fault"},
		{name: "SlowDown", fn: func(r *http.Request) (*http.Response, error) {
			if isList(r) {
				return s3Error(r, http.StatusServiceUnavailable, "SlowDown"), nil
			}
			return nil, nil
		}, list: s3scan.ErrTransient, text: "SlowDown"},
		{name: "InternalError", fn: func(r *http.Request) (*http.Response, error) {
			if isGet(r) {
				return s3Error(r, http.StatusInternalServerError, "InternalError"), nil
			}
			return nil, nil
		}, open: s3scan.ErrTransient, text: "InternalError"},
		{name: "bad gateway", fn: func(r *http.Request) (*http.Response, error) {
			if isGet(r) {
				return &http.Response{StatusCode: http.StatusBadGateway, Status: "502 Bad Gateway", Header: http.Header{}, Body: io.NopCloser(strings.NewReader("<html>proxy</html>")), Request: r}, nil
			}
			return nil, nil
		}, open: s3scan.ErrTransient, text: "502"},
		{name: "RequestTimeout", fn: func(r *http.Request) (*http.Response, error) {
			if isList(r) {
				return s3Error(r, http.StatusBadRequest, "RequestTimeout"), nil
			}
			return nil, nil
		}, list: s3scan.ErrTransient, text: "RequestTimeout"},
		{name: "AccessDenied", fn: func(r *http.Request) (*http.Response, error) {
			if isList(r) || isGet(r) {
				return s3Error(r, http.StatusForbidden, "AccessDenied"), nil
			}
			return nil, nil
		}, list: s3scan.ErrAccessDenied, open: s3scan.ErrAccessDenied, text: "AccessDenied"},
		{name: "NoSuchBucket", fn: func(r *http.Request) (*http.Response, error) {
			if isList(r) {
				return s3Error(r, http.StatusNotFound, "NoSuchBucket"), nil
			}
			return nil, nil
		}, list: s3scan.ErrNoBucket, text: "NoSuchBucket"},
		{name: "connection reset", fn: func(r *http.Request) (*http.Response, error) {
			if isList(r) || isGet(r) {
				return nil, &net.OpError{Op: "read", Net: "tcp", Err: syscall.ECONNRESET}
			}
			return nil, nil
		}, list: s3scan.ErrTransient, open: s3scan.ErrTransient, text: "connection reset"},
		{name: "reset mid-stream", fn: func(r *http.Request) (*http.Response, error) {
			if !isGet(r) {
				return nil, nil
			}
			resp, err := http.DefaultTransport.RoundTrip(r)
			if err == nil {
				resp.Body = &cutBody{r: resp.Body, left: 5000}
			}
			return resp, err
		}, read: s3scan.ErrTransient, text: "dir/obj"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fn := tt.fn
			if fn == nil {
				fn = func(*http.Request) (*http.Response, error) { return nil, nil }
			}
			src, err := openS3(t, srv, bucket, faultTransport{rt: http.DefaultTransport, fn: fn})
			if err != nil {
				t.Fatal(err)
			}
			check := func(op string, err, want error) {
				t.Helper()
				checkClean(t, err, srv.SecretKey())
				switch {
				case want == nil && err != nil:
					t.Errorf("%s: %v", op, err)
				case want != nil && (!errors.Is(err, want) || !strings.Contains(err.Error(), tt.text)):
					t.Errorf("%s: %v; want %v saying %q", op, err, want, tt.text)
				}
			}
			_, err = src.List(context.Background(), "dir/", "")
			check("List", err, tt.list)
			rc, o, err := src.Open(context.Background(), "dir/obj")
			check("Open", err, tt.open)
			if err != nil {
				return
			}
			defer rc.Close()
			got, err := io.ReadAll(rc)
			check("read", err, tt.read)
			if err == nil && (!bytes.Equal(got, data) || o.Size != int64(len(data))) {
				t.Errorf("read %d bytes of %d", len(got), o.Size)
			}
		})
	}
}

// A list request that hangs ends with its context.
func TestS3ListHonorsContext(t *testing.T) {
	srv := miniotest.Shared(t)
	bucket := srv.NewBucket(t)
	useRootKeys(t, srv)
	src, err := openS3(t, srv, bucket, faultTransport{rt: http.DefaultTransport, fn: func(r *http.Request) (*http.Response, error) {
		if isList(r) {
			<-r.Context().Done()
			return nil, r.Context().Err()
		}
		return nil, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = src.List(ctx, "", "")
	if !errors.Is(err, context.DeadlineExceeded) || errors.Is(err, s3scan.ErrTransient) {
		t.Errorf("List: %v; want the context's error", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("List returned %v after its context ended", d)
	}
}

// Open sends the request: a missing key is an error of Open, not of Read.
func TestS3OpenRequests(t *testing.T) {
	srv := miniotest.Shared(t)
	bucket := srv.NewBucket(t)
	srv.Put(t, bucket, "k", []byte("v"))
	useRootKeys(t, srv)
	var gets atomic.Int64
	src, err := openS3(t, srv, bucket, faultTransport{rt: http.DefaultTransport, fn: func(r *http.Request) (*http.Response, error) {
		if r.Method == http.MethodGet && !isList(r) && r.URL.RawQuery == "" {
			gets.Add(1)
		}
		return nil, nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	rc, o, err := src.Open(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if gets.Load() != 1 || o.Size != 1 || o.ETag == "" {
		t.Errorf("after Open: %d GET requests, object %+v", gets.Load(), o)
	}
	if _, _, err := src.Open(context.Background(), "missing"); !errors.Is(err, s3scan.ErrNotFound) || !strings.Contains(err.Error(), "missing") {
		t.Errorf("Open of a missing key: %v, want ErrNotFound naming the key", err)
	}
}

// A server that goes away and comes back: requests fail as transient, and
// the same source works again afterwards.
func TestS3ServerRestart(t *testing.T) {
	srv := miniotest.Start(t)
	srv.MakeBucket(t, "restart")
	srv.Put(t, "restart", "a/k", []byte("v"))
	useRootKeys(t, srv)
	src, err := openS3(t, srv, "restart", nil)
	if err != nil {
		t.Fatal(err)
	}
	srv.Stop()
	if _, err := src.List(context.Background(), "a/", ""); !errors.Is(err, s3scan.ErrTransient) {
		t.Errorf("List while the server is down: %v, want ErrTransient", err)
	}
	if _, _, err := src.Open(context.Background(), "a/k"); !errors.Is(err, s3scan.ErrTransient) {
		t.Errorf("Open while the server is down: %v, want ErrTransient", err)
	}
	srv.Restart(t)
	p, err := src.List(context.Background(), "a/", "")
	if err != nil || len(p.Objects) != 1 {
		t.Errorf("List after the restart: %+v, %v", p, err)
	}
}

// fakeAWS answers as AWS S3 does for a bucket in region, to requests sent
// to any region.
func fakeAWS(t *testing.T, bucket, region, location string, hosts *[]string) http.RoundTripper {
	var mu sync.Mutex
	return faultTransport{fn: func(r *http.Request) (*http.Response, error) {
		mu.Lock()
		*hosts = append(*hosts, r.Method+" "+r.URL.Host)
		mu.Unlock()
		right := strings.Contains(r.URL.Host, "."+region+".")
		resp := &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: r}
		q := r.URL.Query()
		switch {
		case q.Has("location") && location == "":
			return s3Error(r, http.StatusForbidden, "AccessDenied"), nil
		case q.Has("location"):
			resp.Body = io.NopCloser(strings.NewReader(`<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` + location + `</LocationConstraint>`))
		case !right:
			resp.StatusCode, resp.Status = http.StatusMovedPermanently, "301 Moved Permanently"
			resp.Header.Set("x-amz-bucket-region", region)
		case r.Method == http.MethodHead:
		case isList(r):
			resp.Body = io.NopCloser(strings.NewReader(`<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>` + bucket +
				`</Name><Prefix></Prefix><KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter><IsTruncated>false</IsTruncated>` +
				`<Contents><Key>k</Key><LastModified>2024-01-02T03:04:05.000Z</LastModified><ETag>&quot;abc&quot;</ETag><Size>3</Size></Contents></ListBucketResult>`))
		default:
			t.Errorf("unexpected request %s %s", r.Method, r.URL)
			return s3Error(r, http.StatusBadRequest, "Unexpected"), nil
		}
		return resp, nil
	}}
}

func TestNewS3FindsAWSRegion(t *testing.T) {
	isolateAWS(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	for _, location := range []string{"eu-west-1", ""} {
		var hosts []string
		src, err := s3scan.NewS3(context.Background(), s3scan.S3Config{Bucket: "trail-bucket", Transport: fakeAWS(t, "trail-bucket", "eu-west-1", location, &hosts)})
		if err != nil {
			t.Fatalf("location %q: %v (requests %q)", location, err, hosts)
		}
		if got, want := src.String(), "s3://trail-bucket (endpoint https://s3.amazonaws.com, region eu-west-1)"; got != want {
			t.Errorf("String() = %q, want %q", got, want)
		}
		p, err := src.List(context.Background(), "", "")
		if err != nil || len(p.Objects) != 1 || p.Objects[0].ETag != "abc" {
			t.Errorf("List = %+v, %v", p, err)
		}
	}
}

const testRole = "arn:aws:iam::111122223333:role/trail-reader"

// stsSpy passes requests on to MinIO. It counts the AssumeRole requests,
// answers them with AccessDenied once deny is set, and, with expireAtOnce,
// makes the credentials they give expire at once, so that each request
// assumes the role again. It records the access keys of S3 requests.
type stsSpy struct {
	t            *testing.T
	expireAtOnce bool
	deny         atomic.Bool
	assumes      atomic.Int64

	mu   sync.Mutex
	keys map[string]int // access key of S3 requests: their number
}

var (
	credentialRE = regexp.MustCompile(`Credential=([^/]+)/`)
	expirationRE = regexp.MustCompile(`<Expiration>[^<]*</Expiration>`)
)

func (s *stsSpy) RoundTrip(r *http.Request) (*http.Response, error) {
	if !isAssumeRole(s.t, r) {
		s.mu.Lock()
		if m := credentialRE.FindStringSubmatch(r.Header.Get("Authorization")); m != nil && r.Header.Get("X-Amz-Security-Token") != "" {
			s.keys[m[1]+" with a token"]++
		} else if m != nil {
			s.keys[m[1]]++
		}
		s.mu.Unlock()
		return http.DefaultTransport.RoundTrip(r)
	}
	s.assumes.Add(1)
	if s.deny.Load() {
		body := `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type></Type><Code>AccessDenied</Code>` +
			`<Message>Access denied</Message></Error><RequestId>injected</RequestId></ErrorResponse>`
		return &http.Response{StatusCode: http.StatusForbidden, Status: "403 Forbidden", Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil || !s.expireAtOnce || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	now := "<Expiration>" + time.Now().UTC().Format(time.RFC3339) + "</Expiration>"
	body = expirationRE.ReplaceAll(body, []byte(now))
	resp.Body, resp.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	resp.Header.Del("Content-Length")
	return resp, nil
}

func (s *stsSpy) signers() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.keys)
}

// isAssumeRole reports whether r is an STS AssumeRole request.
func isAssumeRole(t *testing.T, r *http.Request) bool {
	if r.Method != http.MethodPost || r.URL.Path != "/" || r.GetBody == nil {
		return false
	}
	body, err := r.GetBody()
	if err != nil {
		t.Errorf("body of POST /: %v", err)
		return false
	}
	data, err := io.ReadAll(body)
	if err != nil {
		t.Errorf("body of POST /: %v", err)
		return false
	}
	form, err := url.ParseQuery(string(data))
	return err == nil && form.Get("Action") == "AssumeRole"
}

// With a role, MinIO's STS gives the credentials S3 requests are signed
// with; without one, the credentials of the environment sign them.
func TestS3AssumeRole(t *testing.T) {
	srv := miniotest.Shared(t)
	bucket := srv.NewBucket(t)
	srv.Put(t, bucket, "dir/k", []byte("v"))
	useRootKeys(t, srv)
	for _, role := range []string{"", testRole} {
		t.Run(fmt.Sprintf("role %q", role), func(t *testing.T) {
			spy := &stsSpy{t: t, keys: map[string]int{}}
			src, err := s3scan.NewS3(context.Background(), s3scan.S3Config{Bucket: bucket, Endpoint: srv.Endpoint(), RoleARN: role, Transport: spy})
			if err != nil {
				t.Fatal(err)
			}
			for range 3 {
				if p, err := src.List(context.Background(), "dir/", ""); err != nil || len(p.Objects) != 1 {
					t.Fatalf("List: %+v, %v", p, err)
				}
				rc, _, err := src.Open(context.Background(), "dir/k")
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				rc.Close()
			}
			signers := spy.signers()
			wantAssumes := int64(0)
			if role != "" {
				wantAssumes = 1
			}
			if len(signers) != 1 || spy.assumes.Load() != wantAssumes {
				t.Fatalf("%d AssumeRole requests, S3 requests signed by %v; want %d, and one signer", spy.assumes.Load(), signers, wantAssumes)
			}
			for signer := range signers {
				root := signer == srv.AccessKey()
				if role == "" && !root || role != "" && (root || !strings.HasSuffix(signer, " with a token")) {
					t.Errorf("S3 requests signed by %q", signer)
				}
			}
		})
	}
}

// A role that cannot be assumed is an access denied error naming the role,
// when NewS3 opens the bucket and when its credentials are renewed later.
func TestS3AssumeRoleRefused(t *testing.T) {
	srv := miniotest.Shared(t)
	bucket := srv.NewBucket(t)
	srv.Put(t, bucket, "k", []byte("v"))
	sts, err := credentials.NewSTSAssumeRole(srv.Endpoint(), credentials.STSAssumeRoleOptions{AccessKey: srv.AccessKey(), SecretKey: srv.SecretKey()})
	if err != nil {
		t.Fatal(err)
	}
	temp, err := sts.GetWithContext(nil)
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{srv.SecretKey(), temp.SecretAccessKey, temp.SessionToken, "wrong-secret-value"}
	wantRefusal := func(t *testing.T, err error, what string, texts ...string) {
		t.Helper()
		checkClean(t, err, secrets...)
		if !errors.Is(err, s3scan.ErrAccessDenied) || !errors.Is(err, s3scan.ErrAssumeRole) {
			t.Fatalf("%s: %v, want ErrAccessDenied and ErrAssumeRole", what, err)
		}
		for _, text := range append(texts, "cannot assume role "+testRole+": AccessDenied: ") {
			if !strings.Contains(err.Error(), text) {
				t.Errorf("%s: %q does not say %q", what, err, text)
			}
		}
	}

	t.Run("wrong secret key", func(t *testing.T) {
		useRootKeys(t, srv)
		t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong-secret-value")
		_, err := openRole(srv, bucket, &stsSpy{t: t, keys: map[string]int{}})
		wantRefusal(t, err, "NewS3", "open bucket s3://"+bucket, "credentials from the environment")
	})
	t.Run("temporary credentials", func(t *testing.T) {
		isolateAWS(t)
		t.Setenv("AWS_ACCESS_KEY_ID", temp.AccessKeyID)
		t.Setenv("AWS_SECRET_ACCESS_KEY", temp.SecretAccessKey)
		t.Setenv("AWS_SESSION_TOKEN", temp.SessionToken)
		_, err := openRole(srv, bucket, &stsSpy{t: t, keys: map[string]int{}})
		wantRefusal(t, err, "NewS3", "open bucket s3://"+bucket)
	})
	t.Run("anonymous", func(t *testing.T) {
		isolateAWS(t)
		_, err := openRole(srv, bucket, &stsSpy{t: t, keys: map[string]int{}})
		checkClean(t, err)
		if !errors.Is(err, s3scan.ErrAccessDenied) || !errors.Is(err, s3scan.ErrAssumeRole) ||
			!strings.Contains(err.Error(), "cannot assume role "+testRole+": no credentials found to assume it with") {
			t.Errorf("NewS3: %v, want an access denied error saying there are no credentials to assume the role with", err)
		}
	})
	t.Run("refused on renewal", func(t *testing.T) {
		useRootKeys(t, srv)
		spy := &stsSpy{t: t, expireAtOnce: true, keys: map[string]int{}}
		src, err := openRole(srv, bucket, spy)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := src.List(context.Background(), "", ""); err != nil {
			t.Fatalf("List: %v", err)
		}
		assumed := spy.assumes.Load()
		if assumed < 2 {
			t.Fatalf("%d AssumeRole requests for NewS3 and List, want one each", assumed)
		}
		spy.deny.Store(true)
		_, _, err = src.Open(context.Background(), "k")
		wantRefusal(t, err, "Open", "get s3://"+bucket+"/k: access denied: ")
		if spy.assumes.Load() != assumed+1 {
			t.Errorf("Open made %d AssumeRole requests, want 1", spy.assumes.Load()-assumed)
		}
	})
}

// openRole opens bucket of srv as testRole, with the credentials of the
// environment and spy as the transport.
func openRole(srv *miniotest.Server, bucket string, spy *stsSpy) (s3scan.Source, error) {
	return s3scan.NewS3(context.Background(), s3scan.S3Config{Bucket: bucket, Endpoint: srv.Endpoint(), RoleARN: testRole, Transport: spy})
}
