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

// sentinels maps each error code to the sentinel its errors wrap.
var sentinels = map[string]error{
	"MissingAuthenticationTokenException": ErrMissingAuthenticationToken,
	"IncompleteSignatureException":        ErrIncompleteSignature,
	"InvalidSignatureException":           ErrInvalidSignature,
	"UnrecognizedClientException":         ErrUnrecognizedClient,
}

func mustSign(t *testing.T, r *http.Request, body []byte, key Key, region, service string, at time.Time) {
	t.Helper()
	if err := Sign(r, body, key, region, service, at); err != nil {
		t.Fatal(err)
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
		service string // "" means cloudtrail
		code    string // "" means accepted
	}{
		{name: "plain", creds: creds, path: "/"},
		{name: "session token", creds: withToken, path: "/"},
		{name: "empty body", creds: creds, path: "/", signed: []byte{}, sent: []byte{}},
		{name: "content sha256 header", creds: creds, path: "/", prepare: func(r *http.Request) {
			r.Header.Set("X-Amz-Content-Sha256", sha256Hex(body))
		}},
		{name: "unsigned payload", creds: creds, path: "/", hash: "UNSIGNED-PAYLOAD", prepare: func(r *http.Request) {
			r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		}, code: "InvalidSignatureException"},
		{name: "query, path and spaces", creds: creds, path: "/some%20path/x?b=2&a=x%20y&c=a%2Fb&c=a-b&d=&e=%E2%9C%93", prepare: func(r *http.Request) {
			r.Header.Set("X-Amz-Meta-Note", "  a   b  c ")
			r.Header.Add("X-Amz-Meta-Multi", "one")
			r.Header.Add("X-Amz-Meta-Multi", "two  values")
		}},
		{name: "signed for s3", creds: creds, path: "/", service: "s3", code: "IncompleteSignatureException"},
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
			service := tt.service
			if service == "" {
				service = "cloudtrail"
			}
			id, err := overWire(t, testVerifier(signTime), func(serverURL string) *http.Request {
				req := newJSONRequest(t, serverURL+tt.path, sent)
				if tt.prepare != nil {
					tt.prepare(req)
				}
				if err := v4.NewSigner().SignHTTP(context.Background(), tt.creds, req, hash, service, "eu-west-3", signTime); err != nil {
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
	if !errors.Is(err, sentinels[wantCode]) {
		t.Fatalf("Verify = %v, which does not wrap %v", err, sentinels[wantCode])
	}
}

func TestSign(t *testing.T) {
	body := []byte(testBody)
	r := newJSONRequest(t, "https://cloudtrail.example.com:443/?x=1&a=b%20c", body)
	r.Header.Set("X-Amz-Security-Token", "FwoGZXIvYXdzEXAMPLEsessiontoken//+==")
	r.Header.Set("User-Agent", "ctimport")
	mustSign(t, r, body, Key{testID, testSecret}, "us-east-1", "cloudtrail", signTime)

	want := map[string]string{
		"X-Amz-Date":           "20261121T103000Z",
		"X-Amz-Content-Sha256": sha256Hex(body),
		"Authorization": algorithm + " Credential=" + testID + "/20261121/us-east-1/cloudtrail/aws4_request, " +
			"SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-amz-target, Signature=",
	}
	for name, value := range want {
		if got := r.Header.Get(name); !strings.HasPrefix(got, value) {
			t.Errorf("Sign: %s = %q, want %q", name, got, value)
		}
	}
	if r.Host != "cloudtrail.example.com" {
		t.Errorf("Sign: Host = %q, want it without the default port", r.Host)
	}
}

func TestSignVerifyOverWire(t *testing.T) {
	body := []byte(testBody)
	for _, path := range []string{"", "/", "/?b=2&a=1&a=0&c=x+y"} {
		id, err := overWire(t, testVerifier(signTime.Add(-time.Minute)), func(serverURL string) *http.Request {
			req := newJSONRequest(t, serverURL+path, body)
			req.Header.Set("X-Amz-Security-Token", "token")
			mustSign(t, req, body, Key{testID, testSecret}, "ap-south-1", "cloudtrail", signTime)
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

// TestVerifyUserAgentSigned verifies signatures over User-Agent, which some
// AWS SDKs sign and the Go SDK does not, signing it under its lowercase name.
func TestVerifyUserAgentSigned(t *testing.T) {
	const agent = "aws-sdk-java/1.12.780 Linux/6.1"
	tests := []struct {
		name, sent, code string
	}{
		{name: "as signed", sent: agent},
		{name: "changed", sent: agent + " x", code: "InvalidSignatureException"},
	}
	body := []byte(testBody)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newJSONRequest(t, "http://cloudtrail.local/", body)
			r.Header["user-agent"] = []string{agent}
			if err := sign(r, Key{testID, testSecret}, sha256Hex(body), "us-east-1", "cloudtrail", signTime); err != nil {
				t.Fatal(err)
			}
			if _, signed, _ := authParts(r); !strings.Contains(signed, ";user-agent;") {
				t.Fatalf("%s does not sign user-agent", signed)
			}
			delete(r.Header, "user-agent")
			r.Header.Set("User-Agent", tt.sent)
			id, err := testVerifier(signTime).Verify(r, body)
			checkResult(t, id, err, testID, tt.code)
		})
	}
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
		name     string
		key      Key
		service  string
		noTarget bool // sign without X-Amz-Target
		mutate   func(r *http.Request, body *[]byte)
		now      time.Duration // the server's clock minus the signing time
		code     string
		msg      string // a part of the message
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
		{name: "scope region changed", mutate: func(r *http.Request, _ *[]byte) {
			_, s, sig := authParts(r)
			setAuth(r, "Credential="+testID+"/20261121/eu-west-1/cloudtrail/aws4_request", s, sig)
		}, code: invalid, msg: "does not match the signature"},
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
			code: incomplete, msg: "'X-Amz-Date'"},
		{name: "Date instead of X-Amz-Date", mutate: func(r *http.Request, _ *[]byte) {
			r.Header.Set("Date", r.Header.Get("X-Amz-Date"))
			r.Header.Del("X-Amz-Date")
		}, code: incomplete, msg: "'X-Amz-Date'"},
		{name: "bad X-Amz-Date", mutate: func(r *http.Request, _ *[]byte) { r.Header.Set("X-Amz-Date", "2026-11-21T10:30:00Z") },
			code: incomplete, msg: "ISO 8601"},
		{name: "unknown key", key: Key{"AKIDUNKNOWN", testSecret}, code: unknown, msg: "security token"},
		{name: "wrong secret", key: Key{testID, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEX"}, code: invalid, msg: "does not match the signature"},
		{name: "other known key's secret", key: Key{"AKIDOTHER", testSecret}, code: invalid, msg: "does not match the signature"},
		{name: "body tampered", mutate: func(_ *http.Request, body *[]byte) { *body = []byte(`{"MaxResults":11}`) },
			code: invalid, msg: "payload hash"},
		{name: "body and its hash tampered", mutate: func(r *http.Request, body *[]byte) {
			*body = []byte(`{"MaxResults":11}`)
			r.Header.Set("X-Amz-Content-Sha256", sha256Hex(*body))
		}, code: invalid, msg: "does not match the signature"},
		{name: "unsigned payload", mutate: func(r *http.Request, _ *[]byte) {
			r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		}, code: invalid, msg: "payload hash"},
		{name: "target added after signing", noTarget: true, mutate: func(r *http.Request, _ *[]byte) {
			r.Header.Set("X-Amz-Target", testTarget)
		}, code: incomplete, msg: "SignedHeaders must include x-amz-target"},
		{name: "target left out of signed headers", mutate: func(r *http.Request, _ *[]byte) {
			c, _, sig := authParts(r)
			setAuth(r, c, "SignedHeaders=content-length;content-type;host;x-amz-content-sha256;x-amz-date", sig)
		}, code: incomplete, msg: "SignedHeaders must include x-amz-target"},
		{name: "no target", noTarget: true},
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
		{name: "14m late", now: 14 * time.Minute},
		{name: "16m late", now: 16 * time.Minute, code: invalid, msg: "Signature expired"},
		{name: "14m early", now: -14 * time.Minute},
		{name: "16m early", now: -16 * time.Minute, code: invalid, msg: "Signature not yet current"},
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
			r := httptest.NewRequest(http.MethodPost, "http://cloudtrail.local/", bytes.NewReader(body))
			r.Header.Set("Content-Type", "application/x-amz-json-1.1")
			if !tt.noTarget {
				r.Header.Set("X-Amz-Target", testTarget)
			}
			key := tt.key
			if key == (Key{}) {
				key = Key{testID, testSecret}
			}
			service := tt.service
			if service == "" {
				service = "cloudtrail"
			}
			mustSign(t, r, body, key, "us-east-1", service, signTime)
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
			want:   "sigv4: InvalidSignatureException: Signature expired: 20261121T101010Z is now earlier than 20261121T103000Z (20261121T104500Z - 15 min.)",
		},
		{
			signed: time.Date(2026, 11, 21, 11, 0, 0, 0, time.UTC),
			now:    time.Date(2026, 11, 21, 10, 30, 0, 0, time.FixedZone("CET", 3600)).Add(time.Hour),
			want:   "sigv4: InvalidSignatureException: Signature not yet current: 20261121T110000Z is still later than 20261121T104500Z (20261121T103000Z + 15 min.)",
		},
		{
			signed:  time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC),
			now:     time.Date(2026, 11, 21, 10, 6, 0, 0, time.UTC),
			maxSkew: 5 * time.Minute,
			want:    "sigv4: InvalidSignatureException: Signature expired: 20261121T100000Z is now earlier than 20261121T100100Z (20261121T100600Z - 5 min.)",
		},
		{
			signed:  time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC),
			now:     time.Date(2026, 11, 21, 10, 0, 45, 0, time.UTC),
			maxSkew: 30 * time.Second,
			want:    "sigv4: InvalidSignatureException: Signature expired: 20261121T100000Z is now earlier than 20261121T100015Z (20261121T100045Z - 30s)",
		},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodPost, "http://cloudtrail.local/", nil)
		mustSign(t, r, nil, Key{testID, testSecret}, "us-east-1", "cloudtrail", tt.signed)
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
	mustSign(t, r, nil, Key{testID, testSecret}, "us-east-1", "cloudtrail", time.Now())
	v := testVerifier(time.Time{})
	v.Now = nil
	id, err := v.Verify(r, nil)
	checkResult(t, id, err, testID, "")
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
