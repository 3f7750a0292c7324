package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	testID     = "AKIDEXAMPLE"
	testSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	testBody   = `{"EventDataStore":"arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/x","MaxResults":10}`
	testTarget = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.ListImports"
)

var signTime = time.Date(2026, 11, 21, 10, 30, 0, 0, time.UTC)

func testVerifier(now time.Time) *Verifier {
	return &Verifier{
		Keys:    Keys{testID: testSecret, "AKIDOTHER": "another-secret-key"},
		Service: "cloudtrail",
		Now:     func() time.Time { return now },
	}
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// newJSONRequest returns a client request of the CloudTrail JSON 1.1
// protocol.
func newJSONRequest(t *testing.T, url string, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", testTarget)
	return req
}

// overWire sends the request that build returns to a server that verifies it
// with v, and returns what Verify returned there.
func overWire(t *testing.T, v *Verifier, build func(serverURL string) *http.Request) (string, error) {
	t.Helper()
	var (
		id  string
		err error
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, rerr := io.ReadAll(r.Body)
		if rerr != nil {
			t.Error(rerr)
		}
		id, err = v.Verify(r, body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	resp, cerr := srv.Client().Do(build(srv.URL))
	if cerr != nil {
		t.Fatal(cerr)
	}
	resp.Body.Close()
	return id, err
}

func TestVerifySDKSignedOverWire(t *testing.T) {
	creds := aws.Credentials{AccessKeyID: testID, SecretAccessKey: testSecret}
	withToken := creds
	withToken.SessionToken = "FwoGZXIvYXdzEXAMPLEsessiontoken//+=="
	body := []byte(testBody)
	tests := []struct {
		name    string
		creds   aws.Credentials
		path    string
		signed  []byte // the body the signature covers
		sent    []byte // the body sent
		prepare func(*http.Request)
		hash    string // the payload hash given to the signer; "" means sha256(signed)
		code    string // "" means accepted
	}{
		{name: "plain", creds: creds, path: "/"},
		{name: "session token", creds: withToken, path: "/"},
		{name: "empty body", creds: creds, path: "/", signed: []byte{}, sent: []byte{}},
		{name: "content sha256 header", creds: creds, path: "/", prepare: func(r *http.Request) {
			r.Header.Set("X-Amz-Content-Sha256", sha256Hex(body))
		}},
		{name: "unsigned payload", creds: creds, path: "/", hash: unsignedPayload, prepare: func(r *http.Request) {
			r.Header.Set("X-Amz-Content-Sha256", unsignedPayload)
		}},
		{name: "query, path and spaces", creds: creds, path: "/some%20path/x?b=2&a=x%20y&c=a%2Fb&c=a-b&d=&e=%E2%9C%93", prepare: func(r *http.Request) {
			r.Header.Set("X-Amz-Meta-Note", "  a   b  c ")
			r.Header.Add("X-Amz-Meta-Multi", "one")
			r.Header.Add("X-Amz-Meta-Multi", "two  values")
		}},
		{name: "body tampered", creds: creds, path: "/", sent: []byte(`{"MaxResults":11}`), code: "InvalidSignatureException"},
		{name: "wrong secret", creds: aws.Credentials{AccessKeyID: testID, SecretAccessKey: "not-the-secret"}, path: "/", code: "InvalidSignatureException"},
		{name: "unknown key", creds: aws.Credentials{AccessKeyID: "AKIDUNKNOWN", SecretAccessKey: testSecret}, path: "/", code: "UnrecognizedClientException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			signed := body
			if tt.signed != nil {
				signed = tt.signed
			}
			sent := signed
			if tt.sent != nil {
				sent = tt.sent
			}
			hash := tt.hash
			if hash == "" {
				hash = sha256Hex(signed)
			}
			id, err := overWire(t, testVerifier(signTime), func(serverURL string) *http.Request {
				req := newJSONRequest(t, serverURL+tt.path, sent)
				if tt.prepare != nil {
					tt.prepare(req)
				}
				if err := v4.NewSigner().SignHTTP(context.Background(), tt.creds, req, hash, "cloudtrail", "eu-west-3", signTime); err != nil {
					t.Fatal(err)
				}
				if tt.prepare == nil && req.Header.Get("X-Amz-Content-Sha256") != "" {
					t.Errorf("the SDK signer set X-Amz-Content-Sha256 by itself")
				}
				return req
			})
			checkResult(t, id, err, tt.creds.AccessKeyID, tt.code)
		})
	}
}

func checkResult(t *testing.T, id string, err error, wantID, wantCode string) {
	t.Helper()
	if wantCode == "" {
		if err != nil || id != wantID {
			t.Fatalf("Verify = %q, %v; want %q, nil", id, err, wantID)
		}
		return
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Verify = %q, %v; want an *Error %s", id, err, wantCode)
	}
	if e.Code != wantCode || e.Status != http.StatusBadRequest || id != "" {
		t.Fatalf("Verify = %q, %v (status %d); want %s, status 400", id, err, e.Status, wantCode)
	}
}

func TestSignMatchesSDK(t *testing.T) {
	body := []byte(testBody)
	const url = "https://cloudtrail.example.com:8443/?x=1&a=b%20c"
	const token = "FwoGZXIvYXdzEXAMPLEsessiontoken//+=="

	ours := newJSONRequest(t, url, body)
	ours.Header.Set("X-Amz-Security-Token", token)
	ours.Header.Set("User-Agent", "ctimport")
	Sign(ours, body, Key{testID, testSecret}, "us-east-1", "cloudtrail", signTime)

	sdk := newJSONRequest(t, url, body)
	sdk.Header.Set("X-Amz-Content-Sha256", sha256Hex(body))
	sdk.ContentLength = 0 // the SDK signs Content-Length when it is positive; Sign does not
	creds := aws.Credentials{AccessKeyID: testID, SecretAccessKey: testSecret, SessionToken: token}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, sdk, sha256Hex(body), "cloudtrail", "us-east-1", signTime); err != nil {
		t.Fatal(err)
	}

	got, want := ours.Header.Get("Authorization"), sdk.Header.Get("Authorization")
	if got != want {
		t.Errorf("Sign: Authorization\n%s\nwant (SDK)\n%s", got, want)
	}
	for _, h := range []string{"X-Amz-Date", "X-Amz-Content-Sha256"} {
		if ours.Header.Get(h) != sdk.Header.Get(h) {
			t.Errorf("Sign: %s = %q, want %q", h, ours.Header.Get(h), sdk.Header.Get(h))
		}
	}
}

func TestSignVerifyOverWire(t *testing.T) {
	body := []byte(testBody)
	for _, path := range []string{"", "/", "/?b=2&a=1&a=0&c=x+y"} {
		id, err := overWire(t, testVerifier(signTime.Add(-time.Minute)), func(serverURL string) *http.Request {
			req := newJSONRequest(t, serverURL+path, body)
			req.Header.Set("X-Amz-Security-Token", "token")
			Sign(req, body, Key{testID, testSecret}, "ap-south-1", "cloudtrail", signTime)
			return req
		})
		checkResult(t, id, err, testID, "")
	}
}

// TestVerifyDocumentedExample verifies the example of the S3 documentation
// ("Signature Calculations for the Authorization Header").
func TestVerifyDocumentedExample(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "http://examplebucket.s3.amazonaws.com/test.txt", nil)
	r.Header.Set("Range", "bytes=0-9")
	r.Header.Set("X-Amz-Content-Sha256", sha256Hex(nil))
	r.Header.Set("X-Amz-Date", "20130524T000000Z")
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"+
		"SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"+
		"Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
	v := &Verifier{
		Keys:    Keys{"AKIAIOSFODNN7EXAMPLE": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"},
		Service: "s3",
		Now:     func() time.Time { return time.Date(2013, 5, 24, 0, 5, 0, 0, time.UTC) },
	}
	id, err := v.Verify(r, nil)
	checkResult(t, id, err, "AKIAIOSFODNN7EXAMPLE", "")
}

func TestVerifyDateHeader(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "http://cloudtrail.local/", nil)
	r.Header.Set("Date", signTime.Format(http.TimeFormat))
	headers := []string{"date", "host"}
	sig := signature(r, testSecret, signTime.Format(amzDateFormat), "us-east-1", "cloudtrail", headers, sha256Hex(nil))
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+testID+"/20261121/us-east-1/cloudtrail/aws4_request, SignedHeaders=date;host, Signature="+sig)
	id, err := testVerifier(signTime).Verify(r, nil)
	checkResult(t, id, err, testID, "")

	r.Header.Set("Date", signTime.Add(time.Second).Format(http.TimeFormat))
	id, err = testVerifier(signTime).Verify(r, nil)
	checkResult(t, id, err, testID, "InvalidSignatureException")
}

// authParts returns the three parts of r's Authorization header after the
// algorithm.
func authParts(r *http.Request) (credential, signedHeaders, signature string) {
	for part := range strings.SplitSeq(strings.TrimPrefix(r.Header.Get("Authorization"), algorithm+" "), ", ") {
		name, value, _ := strings.Cut(part, "=")
		switch name {
		case "Credential":
			credential = part
		case "SignedHeaders":
			signedHeaders = part
		case "Signature":
			signature = value
		}
	}
	return credential, signedHeaders, "Signature=" + signature
}

func setAuth(r *http.Request, parts ...string) {
	r.Header.Set("Authorization", algorithm+" "+strings.Join(parts, ", "))
}

func TestVerifyRefusals(t *testing.T) {
	const (
		missing    = "MissingAuthenticationTokenException"
		incomplete = "IncompleteSignatureException"
		invalid    = "InvalidSignatureException"
		unknown    = "UnrecognizedClientException"
	)
	tests := []struct {
		name    string
		key     Key
		service string
		mutate  func(r *http.Request, body *[]byte)
		now     time.Duration // the server's clock minus the signing time
		code    string
		msg     string // a part of the message
	}{
		{name: "accepted"},
		{name: "reordered parts without spaces", mutate: func(r *http.Request, _ *[]byte) {
			c, s, sig := authParts(r)
			r.Header.Set("Authorization", algorithm+"  "+sig+","+s+" ,  "+c)
		}},
		{name: "no authorization", mutate: func(r *http.Request, _ *[]byte) { r.Header.Del("Authorization") },
			code: missing, msg: "Request is missing Authentication Token"},
		{name: "presigned", mutate: func(r *http.Request, _ *[]byte) {
			r.Header.Del("Authorization")
			r.URL.RawQuery = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00"
		}, code: missing, msg: "presigned"},
		{name: "other algorithm", mutate: func(r *http.Request, _ *[]byte) {
			r.Header.Set("Authorization", strings.Replace(r.Header.Get("Authorization"), algorithm, "AWS4-HMAC-SHA1", 1))
		}, code: incomplete, msg: "algorithm"},
		{name: "algorithm only", mutate: func(r *http.Request, _ *[]byte) { r.Header.Set("Authorization", algorithm) },
			code: incomplete, msg: "requires 'Credential' parameter"},
		{name: "no credential", mutate: func(r *http.Request, _ *[]byte) {
			_, s, sig := authParts(r)
			setAuth(r, s, sig)
		}, code: incomplete, msg: "requires 'Credential' parameter"},
		{name: "no signed headers", mutate: func(r *http.Request, _ *[]byte) {
			c, _, sig := authParts(r)
			setAuth(r, c, sig)
		}, code: incomplete, msg: "requires 'SignedHeaders' parameter"},
		{name: "no signature", mutate: func(r *http.Request, _ *[]byte) {
			c, s, _ := authParts(r)
			setAuth(r, c, s)
		}, code: incomplete, msg: "requires 'Signature' parameter"},
		{name: "part without value", mutate: func(r *http.Request, _ *[]byte) {
			c, s, _ := authParts(r)
			setAuth(r, c, s, "Signature")
		}, code: incomplete, msg: "empty Signature"},
		{name: "unknown part", mutate: func(r *http.Request, _ *[]byte) {
			c, s, sig := authParts(r)
			setAuth(r, c, s, sig, "Extra=1")
		}, code: incomplete, msg: "only the parts"},
		{name: "signature twice", mutate: func(r *http.Request, _ *[]byte) {
			c, s, sig := authParts(r)
			setAuth(r, c, sig, s, sig)
		}, code: incomplete, msg: "more than once"},
		{name: "short credential", mutate: func(r *http.Request, _ *[]byte) {
			_, s, sig := authParts(r)
			setAuth(r, "Credential="+testID+"/20261121/us-east-1/cloudtrail", s, sig)
		}, code: incomplete, msg: "form ACCESS_KEY_ID/"},
		{name: "bad scope date", mutate: func(r *http.Request, _ *[]byte) {
			_, s, sig := authParts(r)
			setAuth(r, "Credential="+testID+"/2026-11-21/us-east-1/cloudtrail/aws4_request", s, sig)
		}, code: incomplete, msg: "YYYYMMDD"},
		{name: "bad terminator", mutate: func(r *http.Request, _ *[]byte) {
			_, s, sig := authParts(r)
			setAuth(r, "Credential="+testID+"/20261121/us-east-1/cloudtrail/aws5_request", s, sig)
		}, code: incomplete, msg: "aws4_request"},
		{name: "scope date mismatch", mutate: func(r *http.Request, _ *[]byte) {
			_, s, sig := authParts(r)
			setAuth(r, "Credential="+testID+"/20261120/us-east-1/cloudtrail/aws4_request", s, sig)
		}, code: incomplete, msg: "20261121"},
		{name: "scope service wrong", service: "s3", code: incomplete, msg: "'cloudtrail'"},
		{name: "host not signed", mutate: func(r *http.Request, _ *[]byte) {
			c, _, sig := authParts(r)
			setAuth(r, c, "SignedHeaders=content-type;x-amz-content-sha256;x-amz-date;x-amz-target", sig)
		}, code: incomplete, msg: "host"},
		{name: "uppercase signed header", mutate: func(r *http.Request, _ *[]byte) {
			c, _, sig := authParts(r)
			setAuth(r, c, "SignedHeaders=Host;x-amz-date", sig)
		}, code: incomplete, msg: "lowercase"},
		{name: "empty signed header", mutate: func(r *http.Request, _ *[]byte) {
			c, _, sig := authParts(r)
			setAuth(r, c, "SignedHeaders=host;;x-amz-date", sig)
		}, code: incomplete, msg: "lowercase"},
		{name: "short signature", mutate: func(r *http.Request, _ *[]byte) {
			c, s, sig := authParts(r)
			setAuth(r, c, s, sig[:len(sig)-1])
		}, code: incomplete, msg: "64"},
		{name: "uppercase signature", mutate: func(r *http.Request, _ *[]byte) {
			c, s, sig := authParts(r)
			setAuth(r, c, s, "Signature="+strings.ToUpper(strings.TrimPrefix(sig, "Signature=")))
		}, code: incomplete, msg: "64"},
		{name: "no date", mutate: func(r *http.Request, _ *[]byte) { r.Header.Del("X-Amz-Date") },
			code: incomplete, msg: "'X-Amz-Date' or a 'Date'"},
		{name: "bad X-Amz-Date", mutate: func(r *http.Request, _ *[]byte) { r.Header.Set("X-Amz-Date", "2026-11-21T10:30:00Z") },
			code: incomplete, msg: "ISO 8601"},
		{name: "bad Date", mutate: func(r *http.Request, _ *[]byte) {
			r.Header.Del("X-Amz-Date")
			r.Header.Set("Date", "yesterday")
		}, code: incomplete, msg: "HTTP date"},
		{name: "unknown key", key: Key{"AKIDUNKNOWN", testSecret}, code: unknown, msg: "security token"},
		{name: "wrong secret", key: Key{testID, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEX"}, code: invalid, msg: "does not match the signature"},
		{name: "other known key's secret", key: Key{"AKIDOTHER", testSecret}, code: invalid, msg: "does not match the signature"},
		{name: "body tampered", mutate: func(_ *http.Request, body *[]byte) { *body = []byte(`{"MaxResults":11}`) },
			code: invalid, msg: "payload hash"},
		{name: "body and its hash tampered", mutate: func(r *http.Request, body *[]byte) {
			*body = []byte(`{"MaxResults":11}`)
			r.Header.Set("X-Amz-Content-Sha256", sha256Hex(*body))
		}, code: invalid, msg: "does not match the signature"},
		{name: "unsigned payload not signed so", mutate: func(r *http.Request, _ *[]byte) {
			r.Header.Set("X-Amz-Content-Sha256", unsignedPayload)
		}, code: invalid, msg: "does not match the signature"},
		{name: "target tampered", mutate: func(r *http.Request, _ *[]byte) {
			r.Header.Set("X-Amz-Target", "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.StartImport")
		}, code: invalid, msg: "does not match the signature"},
		{name: "host tampered", mutate: func(r *http.Request, _ *[]byte) { r.Host = "other.local" },
			code: invalid, msg: "does not match the signature"},
		{name: "signed header removed", mutate: func(r *http.Request, _ *[]byte) { r.Header.Del("Content-Type") },
			code: invalid, msg: "does not match the signature"},
		{name: "query added", mutate: func(r *http.Request, _ *[]byte) { r.URL.RawQuery = "a=1" },
			code: invalid, msg: "does not match the signature"},
		{name: "method changed", mutate: func(r *http.Request, _ *[]byte) { r.Method = http.MethodPut },
			code: invalid, msg: "does not match the signature"},
		{name: "date changed", mutate: func(r *http.Request, _ *[]byte) { r.Header.Set("X-Amz-Date", "20261121T103001Z") },
			code: invalid, msg: "does not match the signature"},
		{name: "14m59s late", now: 14*time.Minute + 59*time.Second},
		{name: "15m late", now: 15 * time.Minute},
		{name: "15m01s late", now: 15*time.Minute + time.Second, code: invalid, msg: "Signature expired: 20261121T103000Z is now earlier than"},
		{name: "14m59s early", now: -14*time.Minute - 59*time.Second},
		{name: "15m early", now: -15 * time.Minute},
		{name: "15m01s early", now: -15*time.Minute - time.Second, code: invalid, msg: "Signature not yet current: 20261121T103000Z is still later than"},
	}
	body := []byte(testBody)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "http://cloudtrail.local/", nil)
			r.Header.Set("Content-Type", "application/x-amz-json-1.1")
			r.Header.Set("X-Amz-Target", testTarget)
			key := tt.key
			if key == (Key{}) {
				key = Key{testID, testSecret}
			}
			service := tt.service
			if service == "" {
				service = "cloudtrail"
			}
			Sign(r, body, key, "us-east-1", service, signTime)
			_, _, sig := authParts(r)
			sent := body
			if tt.mutate != nil {
				tt.mutate(r, &sent)
			}
			id, err := testVerifier(signTime.Add(tt.now)).Verify(r, sent)
			checkResult(t, id, err, testID, tt.code)
			if err == nil {
				return
			}
			text := err.Error()
			if !strings.Contains(text, tt.msg) {
				t.Errorf("Verify: %q does not say %q", text, tt.msg)
			}
			for _, secret := range []string{key.SecretAccessKey, testSecret, strings.TrimPrefix(sig, "Signature=")} {
				if strings.Contains(text, secret) {
					t.Errorf("Verify: %q contains a secret or the signature", text)
				}
			}
		})
	}
}

func TestSkewMessages(t *testing.T) {
	tests := []struct {
		signed, now time.Time
		maxSkew     time.Duration
		want        string
	}{
		{
			signed: time.Date(2026, 11, 21, 10, 10, 10, 0, time.UTC),
			now:    time.Date(2026, 11, 21, 10, 45, 0, 0, time.UTC),
			want:   "InvalidSignatureException: Signature expired: 20261121T101010Z is now earlier than 20261121T103000Z (20261121T104500Z - 15 min.)",
		},
		{
			signed: time.Date(2026, 11, 21, 11, 0, 0, 0, time.UTC),
			now:    time.Date(2026, 11, 21, 10, 30, 0, 0, time.FixedZone("CET", 3600)).Add(time.Hour),
			want:   "InvalidSignatureException: Signature not yet current: 20261121T110000Z is still later than 20261121T104500Z (20261121T103000Z + 15 min.)",
		},
		{
			signed:  time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC),
			now:     time.Date(2026, 11, 21, 10, 6, 0, 0, time.UTC),
			maxSkew: 5 * time.Minute,
			want:    "InvalidSignatureException: Signature expired: 20261121T100000Z is now earlier than 20261121T100100Z (20261121T100600Z - 5 min.)",
		},
		{
			signed:  time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC),
			now:     time.Date(2026, 11, 21, 10, 0, 45, 0, time.UTC),
			maxSkew: 30 * time.Second,
			want:    "InvalidSignatureException: Signature expired: 20261121T100000Z is now earlier than 20261121T100015Z (20261121T100045Z - 30s)",
		},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodPost, "http://cloudtrail.local/", nil)
		Sign(r, nil, Key{testID, testSecret}, "us-east-1", "cloudtrail", tt.signed)
		v := testVerifier(tt.now)
		v.MaxSkew = tt.maxSkew
		_, err := v.Verify(r, nil)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Verify = %v\nwant %s", err, tt.want)
		}
	}
}

func TestVerifyNilNow(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "http://cloudtrail.local/", nil)
	Sign(r, nil, Key{testID, testSecret}, "us-east-1", "cloudtrail", time.Now())
	v := testVerifier(time.Time{})
	v.Now = nil
	id, err := v.Verify(r, nil)
	checkResult(t, id, err, testID, "")
}

func TestCanonicalQuery(t *testing.T) {
	tests := map[string]string{
		"":                        "",
		"a=1":                     "a=1",
		"b=2&a=1&a=0":             "a=0&a=1&b=2",
		"a-b=1&a=2":               "a=2&a-b=1",
		"c=a%2Fb&c=a-b":           "c=a%2Fb&c=a-b",
		"k=x+y&k2=x%20y&flag&&":   "flag=&k=x%20y&k2=x%20y",
		"~k=%7e._-&sp ace=%zz%":   "sp%20ace=%25zz%25&~k=~._-",
		"e=%E2%9C%93&q=%3D%26%3F": "e=%E2%9C%93&q=%3D%26%3F",
	}
	for raw, want := range tests {
		if got := canonicalQuery(raw); got != want {
			t.Errorf("canonicalQuery(%q) = %q, want %q", raw, got, want)
		}
	}
}

func TestTrimAll(t *testing.T) {
	tests := map[string]string{
		"":                "",
		"  a  ":           "a",
		"a   b  c":        "a b c",
		"\ta \t b":        "a \t b",
		"application/x-1": "application/x-1",
	}
	for in, want := range tests {
		if got := trimAll(in); got != want {
			t.Errorf("trimAll(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseAuthorization(f *testing.F) {
	for _, seed := range []string{
		"",
		algorithm,
		algorithm + " Credential=AKID/20261121/us-east-1/cloudtrail/aws4_request, SignedHeaders=host;x-amz-date, Signature=" + strings.Repeat("0a", 32),
		algorithm + " Signature=" + strings.Repeat("f", 64) + ",SignedHeaders=host,Credential=A/20261121/r/s/aws4_request",
		algorithm + " Credential=/////, SignedHeaders=;;, Signature==",
		algorithm + " ,,, Credential=a=b=c",
		"AWS4-HMAC-SHA256\tCredential=x",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, header string) {
		a, err := parseAuthorization(header)
		if err != nil {
			if a != nil || err.Code != "IncompleteSignatureException" || err.Status != http.StatusBadRequest {
				t.Fatalf("parseAuthorization = %+v, %v", a, err)
			}
			return
		}
		if a.accessKeyID == "" || len(a.date) != 8 || a.region == "" || a.service == "" || len(a.signature) != 64 {
			t.Fatalf("parseAuthorization(%q) = %+v", header, a)
		}
	})
}
