package s3scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7/pkg/credentials"
)

const testRole = "arn:aws:iam::111122223333:role/trail-reader"

// clock is a time a test moves on.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeSTS answers AssumeRole as AWS STS does: with the credentials
// ASIA<n>, secret-<n> and token-<n> for the nth request, expiring
// DurationSeconds after clock's time, or, once deny is set, with
// AccessDenied.
type fakeSTS struct {
	t     *testing.T
	clock *clock

	mu       sync.Mutex
	requests []*http.Request // with their forms parsed
	deny     bool
}

func (f *fakeSTS) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		f.t.Errorf("AssumeRole form: %v", err)
	}
	f.mu.Lock()
	f.requests = append(f.requests, r)
	n, deny := len(f.requests), f.deny
	f.mu.Unlock()
	if deny {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>AccessDenied</Code>`+
			`<Message>User: arn:aws:iam::111122223333:user/base is not authorized to perform: sts:AssumeRole on resource: %s</Message></Error>`+
			`<RequestId>req-%d</RequestId></ErrorResponse>`, r.Form.Get("RoleArn"), n)
		return
	}
	var secs int
	fmt.Sscan(r.Form.Get("DurationSeconds"), &secs)
	expires := f.clock.now().Add(time.Duration(secs) * time.Second).UTC().Format(time.RFC3339)
	fmt.Fprintf(w, `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>`+
		`<AssumedRoleUser><Arn>arn:aws:sts::111122223333:assumed-role/trail-reader/%s</Arn></AssumedRoleUser>`+
		`<Credentials><AccessKeyId>ASIA%d</AccessKeyId><SecretAccessKey>secret-%d</SecretAccessKey><SessionToken>token-%d</SessionToken>`+
		`<Expiration>%s</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>`, r.Form.Get("RoleSessionName"), n, n, n, expires)
}

func (f *fakeSTS) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

func (f *fakeSTS) setDeny() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deny = true
}

var sessionRE = regexp.MustCompile(`^ctimport-[0-9a-f]{8}$`)

// checkRequests checks that every AssumeRole request assumed testRole for
// an hour in one session, signed for STS in region with the base keys.
func (f *fakeSTS) checkRequests(region, baseKey, baseToken string) {
	f.t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	session := ""
	for i, r := range f.requests {
		want := url.Values{"Action": {"AssumeRole"}, "Version": {"2011-06-15"}, "RoleArn": {testRole}, "DurationSeconds": {"3600"}, "RoleSessionName": r.Form["RoleSessionName"]}
		if r.Method != http.MethodPost || r.URL.Path != "/" || r.PostForm.Encode() != want.Encode() {
			f.t.Errorf("request %d: %s %s %q, want POST / %q", i+1, r.Method, r.URL.Path, r.PostForm.Encode(), want.Encode())
		}
		name := r.PostForm.Get("RoleSessionName")
		if !sessionRE.MatchString(name) || (session != "" && name != session) {
			f.t.Errorf("request %d: RoleSessionName %q, want ctimport-<8 hex digits>, the same in each request", i+1, name)
		}
		session = name
		auth := r.Header.Get("Authorization")
		if !strings.Contains(auth, "Credential="+baseKey+"/") || !strings.Contains(auth, "/"+region+"/sts/aws4_request") {
			f.t.Errorf("request %d: Authorization %q, want a signature of %s for sts in %s", i+1, auth, baseKey, region)
		}
		if got := r.Header.Get("X-Amz-Security-Token"); got != baseToken {
			f.t.Errorf("request %d: X-Amz-Security-Token %q, want %q", i+1, got, baseToken)
		}
	}
}

// The role's credentials are cached, assumed again before they expire,
// and a refusal to assume it again is an access denied error naming the
// role.
func TestRoleCredentialsRefresh(t *testing.T) {
	clk := &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	sts := &fakeSTS{t: t, clock: clk}
	srv := httptest.NewServer(sts)
	defer srv.Close()
	base := credentials.NewStaticV4("AKIDBASE", "base-secret-value", "base-token-value")
	creds := newRoleCredentials(base, srv.URL, "eu-west-1", testRole, clk.now)

	steps := []struct {
		after time.Duration // since the step before
		key   string
		calls int
	}{
		{0, "ASIA1", 1},
		{10 * time.Minute, "ASIA1", 1},
		{37 * time.Minute, "ASIA1", 1}, // 47 minutes: still well before the expiry
		{2 * time.Minute, "ASIA2", 2},  // 49 minutes: 80% of the hour has passed
		{30 * time.Minute, "ASIA2", 2},
		{20 * time.Minute, "ASIA3", 3},
	}
	for i, s := range steps {
		clk.advance(s.after)
		v, err := creds.GetWithContext(&credentials.CredContext{Client: srv.Client()})
		if err != nil {
			t.Fatalf("step %d: %v", i+1, err)
		}
		if v.AccessKeyID != s.key || v.SessionToken != "token-"+s.key[4:] || sts.calls() != s.calls {
			t.Errorf("step %d: key %s token %s after %d AssumeRole requests, want %s after %d", i+1, v.AccessKeyID, v.SessionToken, sts.calls(), s.key, s.calls)
		}
	}
	sts.checkRequests("eu-west-1", "AKIDBASE", "base-token-value")

	sts.setDeny()
	clk.advance(time.Hour)
	_, err := creds.GetWithContext(&credentials.CredContext{Client: srv.Client()})
	if !errors.Is(err, ErrAssumeRole) || classify(err, true) != ErrAccessDenied {
		t.Fatalf("refused AssumeRole: %v, want ErrAssumeRole classified as ErrAccessDenied", err)
	}
	want := "cannot assume role " + testRole + ": AccessDenied: User: arn:aws:iam::111122223333:user/base is not authorized to perform: sts:AssumeRole on resource: " + testRole
	if err.Error() != want {
		t.Errorf("refused AssumeRole: %q, want %q", err, want)
	}
}

func TestRoleErrorKind(t *testing.T) {
	stsError := func(code string) error {
		var e credentials.ErrorResponse
		e.STSError.Code, e.STSError.Message = code, "injected"
		return e
	}
	tests := []struct {
		name string
		err  error
		kind error
		text string
	}{
		{"refused", stsError("AccessDenied"), ErrAccessDenied, "cannot assume role " + testRole + ": AccessDenied: injected"},
		{"unknown key", stsError("InvalidClientTokenId"), ErrAccessDenied, "InvalidClientTokenId: injected"},
		{"malformed role", stsError("ValidationError"), ErrAccessDenied, "ValidationError: injected"},
		{"throttled", stsError("Throttling"), ErrTransient, "Throttling: injected"},
		{"STS failure", stsError("InternalFailure"), ErrTransient, "InternalFailure: injected"},
		{"no base keys", errNoKeys, ErrAccessDenied, "cannot assume role " + testRole + ": no credentials found to assume it with"},
		{"refused connection", &url.Error{Op: "Post", URL: "https://sts.us-east-1.amazonaws.com/?X-Amz-Credential=AKIDBASE%2F20250301%2Fus-east-1%2Fsts%2Faws4_request&X-Amz-Signature=0123abcd", Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}, ErrTransient, "Post https://sts.us-east-1.amazonaws.com/: dial tcp: connection refused"},
		{"unreadable answer", io.ErrShortBuffer, nil, "short buffer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := &roleError{role: testRole, err: tt.err}
			if got := classify(err, true); got != tt.kind {
				t.Errorf("classify = %v, want %v", got, tt.kind)
			}
			op := &opError{op: "get", name: "s3://b/k", kind: classify(err, true), err: err}
			if !errors.Is(op, ErrAssumeRole) || !strings.Contains(op.Error(), tt.text) || !strings.Contains(op.Error(), testRole) {
				t.Errorf("error %q does not wrap ErrAssumeRole, or does not name the role and say %q", op, tt.text)
			}
			if strings.Contains(op.Error(), "X-Amz-") {
				t.Errorf("error %q holds the query of a signed URL", op)
			}
		})
	}
}

func TestSTSEndpoint(t *testing.T) {
	minio := endpoint{host: "127.0.0.1:9000", custom: true, display: "http://127.0.0.1:9000"}
	aws := endpoint{host: "s3.amazonaws.com", secure: true, display: "https://s3.amazonaws.com"}
	tests := []struct {
		ep             endpoint
		region         string
		want, wantSign string
	}{
		{minio, "", "http://127.0.0.1:9000", "us-east-1"},
		{minio, "eu-west-1", "http://127.0.0.1:9000", "eu-west-1"},
		{aws, "", "https://sts.us-east-1.amazonaws.com", "us-east-1"},
		{aws, "eu-central-1", "https://sts.eu-central-1.amazonaws.com", "eu-central-1"},
		{aws, "cn-north-1", "https://sts.cn-north-1.amazonaws.com.cn", "cn-north-1"},
	}
	for _, tt := range tests {
		got, sign := stsEndpoint(tt.ep, tt.region)
		if got != tt.want || sign != tt.wantSign {
			t.Errorf("stsEndpoint(%s, %q) = %q, %q; want %q, %q", tt.ep.display, tt.region, got, sign, tt.want, tt.wantSign)
		}
	}
}

// awsRoundTripper answers the requests of a test as AWS STS and S3 would.
type awsRoundTripper func(r *http.Request) *http.Response

func (f awsRoundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r), nil }

// Against AWS, the role is assumed at the regional STS endpoint with the
// credentials of the environment, and S3 requests are signed with the
// role's credentials; when they may not read the bucket, the error names
// the role.
func TestNewS3AssumesRoleWithAWS(t *testing.T) {
	for _, tt := range []struct {
		name                      string
		region, stsHost, s3Region string
		denied                    bool // the bucket refuses the role
	}{
		{"region given", "eu-west-1", "sts.eu-west-1.amazonaws.com", "eu-west-1", false},
		{"region found", "", "sts.us-east-1.amazonaws.com", "ap-south-1", false}, // with GetBucketLocation
		{"bucket refuses the role", "eu-west-1", "sts.eu-west-1.amazonaws.com", "eu-west-1", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("HOME", t.TempDir())
			t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
			t.Setenv("AWS_ENDPOINT_URL", "")
			t.Setenv("AWS_ENDPOINT_URL_S3", "")
			t.Setenv("AWS_ACCESS_KEY_ID", "AKIDBASE")
			t.Setenv("AWS_SECRET_ACCESS_KEY", "base-secret-value")
			t.Setenv("AWS_SESSION_TOKEN", "")
			sts := &fakeSTS{t: t, clock: &clock{t: time.Now()}}
			var s3Requests int
			rt := awsRoundTripper(func(r *http.Request) *http.Response {
				rec := httptest.NewRecorder()
				switch {
				case r.URL.Host == tt.stsHost:
					sts.ServeHTTP(rec, r)
				case strings.Contains(r.URL.Host, "sts."):
					t.Errorf("AssumeRole sent to %s, want %s", r.URL.Host, tt.stsHost)
					rec.WriteHeader(http.StatusBadRequest)
				default:
					s3Requests++
					if auth := r.Header.Get("Authorization"); !strings.Contains(auth, "Credential=ASIA1/") || r.Header.Get("X-Amz-Security-Token") != "token-1" {
						t.Errorf("%s %s signed with %q, token %q; want the role's credentials", r.Method, r.URL, auth, r.Header.Get("X-Amz-Security-Token"))
					}
					switch {
					case r.URL.Query().Has("location"):
						fmt.Fprintf(rec, `<LocationConstraint xmlns="http://s3.amazonaws.com/doc/2006-03-01/">%s</LocationConstraint>`, tt.s3Region)
					case tt.denied:
						rec.WriteHeader(http.StatusForbidden)
					}
				}
				return rec.Result()
			})
			src, err := NewS3(context.Background(), S3Config{Bucket: "trail-bucket", Region: tt.region, RoleARN: testRole, Transport: rt})
			if tt.denied {
				want := "role " + testRole + ", assumed with credentials from the environment"
				if !errors.Is(err, ErrAccessDenied) || errors.Is(err, ErrAssumeRole) || !strings.Contains(err.Error(), want) {
					t.Errorf("NewS3: %v, want ErrAccessDenied saying %q", err, want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := "s3://trail-bucket (endpoint https://s3.amazonaws.com, region " + tt.s3Region + ")"; src.String() != want {
				t.Errorf("String() = %q, want %q", src.String(), want)
			}
			if sts.calls() != 1 || s3Requests == 0 {
				t.Errorf("%d AssumeRole and %d S3 requests, want 1 and some", sts.calls(), s3Requests)
			}
			sts.checkRequests(tt.stsHost[len("sts."):len(tt.stsHost)-len(".amazonaws.com")], "AKIDBASE", "")
		})
	}
}
