package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/internal/miniotest"
)

// stsProxy is an HTTP proxy in front of MinIO. It keeps the secret keys
// and session tokens of the AssumeRole answers it passes on, refuses
// AssumeRole while deny is set, and answers the GET of missing with
// NoSuchKey.
type stsProxy struct {
	srv     *httptest.Server
	missing string // "/bucket/key"
	deny    atomic.Bool

	mu      sync.Mutex
	secrets []string
}

var stsSecretRE = regexp.MustCompile(`<(?:SecretAccessKey|SessionToken)>([^<]+)</`)

func newSTSProxy(t *testing.T, endpoint, missing string) *stsProxy {
	t.Helper()
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	p := &stsProxy{missing: missing}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Method != http.MethodPost || resp.Request.URL.Path != "/" {
			return nil
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(data))
		p.mu.Lock()
		for _, m := range stsSecretRE.FindAllSubmatch(data, -1) {
			p.secrets = append(p.secrets, string(m[1]))
		}
		p.mu.Unlock()
		return nil
	}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == p.missing:
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>`+
				`<Key>%s</Key><Resource>%s</Resource><RequestId>proxy</RequestId></Error>`, p.missing, r.URL.RequestURI())
			return
		case r.Method == http.MethodPost && r.URL.Path == "/" && p.deny.Load():
			body, _ := io.ReadAll(r.Body)
			if form, err := url.ParseQuery(string(body)); err == nil && form.Get("Action") == "AssumeRole" {
				w.WriteHeader(http.StatusForbidden)
				fmt.Fprint(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Code>AccessDenied</Code>`+
					`<Message>Access denied</Message></Error><RequestId>proxy</RequestId></ErrorResponse>`)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// assumed returns the secrets of the credentials MinIO's STS gave.
func (p *stsProxy) assumed() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.secrets)
}

// secretMarks are parts of signed requests and presigned URLs, which no
// output may hold.
var secretMarks = []string{"X-Amz-Signature", "X-Amz-Credential", "X-Amz-Security-Token", "Signature="}

// TestNoSecretsInOutput runs imports that fail in several ways, with the
// local commands and through a server, and checks that no secret key,
// session token or signature appears in what ctimport prints or logs.
func TestNoSecretsInOutput(t *testing.T) {
	t.Parallel()
	const role = "arn:aws:iam::123456789012:role/secrets-test"
	l := serveLayout(t, "secrets", 4, 2)
	srv, bucket := l.newBucket()
	keys := l.logKeys()
	missing, denied := keys[1], keys[2]
	denyObject(t, srv, bucket, denied)
	proxy := newSTSProxy(t, srv.Endpoint(), "/"+bucket+"/"+missing)
	temp := tempCredentials(t, srv)
	const wrongSecret = "wrong-Secret-7hQ2mV9xR4"
	source := "S3={S3LocationUri=s3://" + bucket + "/,S3BucketRegion=us-east-1,S3BucketAccessRoleArn=" + role + "}"
	noRole := "S3={S3LocationUri=s3://" + bucket + "/,S3BucketRegion=us-east-1}"

	var outputs []string
	keep := func(o outcome) outcome {
		outputs = append(outputs, o.String())
		return o
	}
	endpoint := "AWS_ENDPOINT_URL_S3=" + proxy.srv.URL
	rootKeys := append(s3Creds(srv), endpoint)

	// An import with the role that ends FAILED: a missing object, and
	// one that may be denied.
	h := newHarness(t, rootKeys...)
	store := h.createStore("secrets")
	o := keep(h.expect(exitFailed, "start-import", "--destinations", store.Name, "--import-source", source))
	imp := decode[api.Import](t, o)
	keep(h.expect(exitOK, "get-import", "--import-id", imp.ImportId))
	failed := decode[api.ListImportFailuresOutput](t, keep(h.expect(exitOK, "list-import-failures", "--import-id", imp.ImportId)))
	if !slices.ContainsFunc(failed.Failures, func(f api.ImportFailureListItem) bool { return f.ErrorType == "ObjectNotFound" }) {
		t.Errorf("failures %+v, want one ObjectNotFound", failed.Failures)
	}
	if len(proxy.assumed()) == 0 {
		t.Error("the import with a role did not assume it")
	}

	// Anonymous requests, denied one object by the bucket policy.
	anon := newHarness(t, endpoint)
	anonStore := anon.createStore("anonymous")
	o = keep(anon.expect(exitFailed, "start-import", "--destinations", anonStore.Name, "--import-source", noRole))
	failed = decode[api.ListImportFailuresOutput](t, keep(anon.expect(exitOK, "list-import-failures", "--import-id", decode[api.Import](t, o).ImportId)))
	if !slices.ContainsFunc(failed.Failures, func(f api.ImportFailureListItem) bool { return f.ErrorType == "AccessDenied" }) {
		t.Errorf("failures %+v, want one AccessDenied", failed.Failures)
	}

	// Refused before the import starts: wrong keys, and a role that
	// cannot be assumed with them or with temporary credentials.
	for _, tc := range []struct {
		name   string
		env    []string
		source string
		want   string
	}{
		{"wrong secret key", []string{"AWS_ACCESS_KEY_ID=" + srv.AccessKey(), "AWS_SECRET_ACCESS_KEY=" + wrongSecret}, noRole, "denied"},
		{"wrong secret key for the role", []string{"AWS_ACCESS_KEY_ID=" + srv.AccessKey(), "AWS_SECRET_ACCESS_KEY=" + wrongSecret}, source, "cannot assume role " + role},
		{"temporary credentials for the role", []string{"AWS_ACCESS_KEY_ID=" + temp.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + temp.SecretAccessKey, "AWS_SESSION_TOKEN=" + temp.SessionToken}, source, "cannot assume role " + role},
	} {
		c := newHarness(t, append(tc.env, endpoint)...)
		c.createStore("refused")
		o := keep(c.expect(exitError, "start-import", "--destinations", "refused", "--import-source", tc.source))
		checkOneLine(t, o, "InvalidImportSourceException", tc.want)
	}

	// Through a server: a failed import, and a role STS refuses.
	sh := newHarness(t)
	s := sh.serve(s3Creds(srv), "--s3-endpoint-url", proxy.srv.URL)
	c := sh.with(serveKeyEnv()...)
	remote := func(code int, args ...string) outcome {
		t.Helper()
		return keep(c.want(code, c.exec(append([]string{"--endpoint-url", s.url}, args...)...)))
	}
	remote(exitOK, "create-event-data-store", "--name", "served")
	o = remote(exitFailed, "start-import", "--destinations", "served", "--import-source", source, "--wait")
	served := decode[api.Import](t, o)
	remote(exitOK, "get-import", "--import-id", served.ImportId)
	remote(exitOK, "list-import-failures", "--import-id", served.ImportId)
	proxy.deny.Store(true)
	o = remote(exitError, "start-import", "--destinations", "served", "--import-source", source)
	checkOneLine(t, o, "InvalidImportSourceException", "cannot assume role "+role)
	proxy.deny.Store(false)
	outputs = append(outputs, s.stdout.String(), s.log())

	secrets := append([]string{srv.SecretKey(), temp.SecretAccessKey, temp.SessionToken, wrongSecret, serveSecret}, proxy.assumed()...)
	for _, out := range outputs {
		for _, s := range append(secrets, secretMarks...) {
			if strings.Contains(out, s) {
				t.Errorf("output holds %q:\n%s", s, out)
			}
		}
	}
}

// tempCredentials returns temporary credentials of srv's root user, from
// its STS.
func tempCredentials(t *testing.T, srv *miniotest.Server) credentials.Value {
	t.Helper()
	sts, err := credentials.NewSTSAssumeRole(srv.Endpoint(), credentials.STSAssumeRoleOptions{AccessKey: srv.AccessKey(), SecretKey: srv.SecretKey()})
	if err != nil {
		t.Fatal(err)
	}
	v, err := sts.GetWithContext(&credentials.CredContext{Client: http.DefaultClient, Context: context.Background()})
	if err != nil {
		t.Fatal(err)
	}
	return v
}
