// Package sigv4 signs and verifies HTTP requests with AWS Signature Version 4
// in its header form (AWS4-HMAC-SHA256), as the AWS SDKs and the AWS CLI sign
// their requests to JSON services. The server authenticates unmodified AWS
// clients with a Verifier; ctimport's own client signs its requests with Sign.
//
// Both compute signatures with the signer of the AWS SDK for Go v2. The SDK
// signs but does not verify, so this package keeps what verifying adds:
// parsing the Authorization header, checking its credential scope and the
// request's time against a clock-skew window, looking up the secret of its
// access key, and comparing signatures in constant time.
//
// Presigned URLs (signatures in the query string), the Date header in place
// of X-Amz-Date, UNSIGNED-PAYLOAD, chunked payload signing and SigV4a are not
// supported, and session tokens are not validated.
package sigv4

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

const (
	algorithm       = "AWS4-HMAC-SHA256"
	terminator      = "aws4_request"
	amzDateFormat   = "20060102T150405Z"
	scopeDateFormat = "20060102"
	defaultMaxSkew  = 15 * time.Minute
)

// Key is an AWS access key.
type Key struct {
	AccessKeyID, SecretAccessKey string
}

// Keys maps access key IDs to their secret access keys: the keys a server
// accepts.
type Keys map[string]string

// The sentinels that the errors of Verify wrap, one for each Code of Error.
var (
	ErrMissingAuthenticationToken = errors.New("sigv4: missing authentication token")
	ErrIncompleteSignature        = errors.New("sigv4: incomplete signature")
	ErrInvalidSignature           = errors.New("sigv4: invalid signature")
	ErrUnrecognizedClient         = errors.New("sigv4: unrecognized client")
)

var codes = map[error]string{
	ErrMissingAuthenticationToken: "MissingAuthenticationTokenException",
	ErrIncompleteSignature:        "IncompleteSignatureException",
	ErrInvalidSignature:           "InvalidSignatureException",
	ErrUnrecognizedClient:         "UnrecognizedClientException",
}

// Error is why a request's signature was refused, named as AWS names the error
// (its Code), with the HTTP status AWS answers it with. Its message never
// contains a secret key or a signature. It wraps the sentinel of its Code,
// such as ErrInvalidSignature.
type Error struct {
	Code    string
	Message string
	Status  int
	kind    error
}

// Error returns "sigv4: Code: Message".
func (e *Error) Error() string { return "sigv4: " + e.Code + ": " + e.Message }

// Unwrap returns the sentinel of e's Code.
func (e *Error) Unwrap() error { return e.kind }

func refuse(kind error, msg string) *Error {
	return &Error{Code: codes[kind], Message: msg, Status: http.StatusBadRequest, kind: kind}
}

func incomplete(msg string) *Error { return refuse(ErrIncompleteSignature, msg) }

func invalid(msg string) *Error { return refuse(ErrInvalidSignature, msg) }

// Verifier checks the signatures of requests.
type Verifier struct {
	// Keys are the access keys whose signatures are accepted.
	Keys Keys
	// Service is the signing service name, e.g. "cloudtrail".
	Service string
	// MaxSkew is how far a request's time may be from Now; 0 or less means 15 minutes.
	MaxSkew time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Verify checks r's SigV4 Authorization header against body (the whole
// request body, already read; r.Body is not touched) and returns the access
// key ID that signed it. The signature must cover X-Amz-Target when r has
// one, since it names the operation of a JSON service. Every error it returns
// is an *Error.
func (v *Verifier) Verify(r *http.Request, body []byte) (accessKeyID string, err error) {
	header := r.Header.Get("Authorization")
	if header == "" {
		msg := "Request is missing Authentication Token"
		if r.URL.Query().Has("X-Amz-Algorithm") {
			msg += " (presigned URLs are not supported: sign the Authorization header)"
		}
		return "", refuse(ErrMissingAuthenticationToken, msg)
	}
	a, e := parseAuthorization(header)
	if e != nil {
		return "", e
	}
	if a.service != v.Service {
		return "", incomplete(fmt.Sprintf("Credential should be scoped to correct service: '%s'.", v.Service))
	}
	amzDate := r.Header.Get("X-Amz-Date")
	if amzDate == "" {
		return "", incomplete("Authorization header requires existence of a 'X-Amz-Date' header.")
	}
	t, err := time.Parse(amzDateFormat, amzDate)
	if err != nil {
		return "", incomplete("X-Amz-Date must be in ISO 8601 basic format, like 20060102T150405Z.")
	}
	if a.date != amzDate[:len(scopeDateFormat)] {
		return "", incomplete("Credential should be scoped to the day of the request date " + amzDate[:len(scopeDateFormat)] + ".")
	}
	if e := v.checkSkew(t, amzDate); e != nil {
		return "", e
	}
	if r.Header.Get("X-Amz-Target") != "" && !slices.Contains(a.signedHeaders, "x-amz-target") {
		return "", incomplete("SignedHeaders must include x-amz-target.")
	}
	secret, ok := v.Keys[a.accessKeyID]
	if !ok {
		return "", refuse(ErrUnrecognizedClient, "The security token included in the request is invalid.")
	}
	payloadHash := hexSHA256(body)
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" && h != payloadHash {
		return "", invalid("X-Amz-Content-Sha256: the payload hash does not match the body.")
	}
	want, err := resign(r, a, Key{a.accessKeyID, secret}, t, payloadHash, int64(len(body)))
	if err != nil {
		return "", invalid("The request signature could not be calculated.")
	}
	if !hmac.Equal([]byte(want), []byte(a.signature)) {
		return "", invalid("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.")
	}
	return a.accessKeyID, nil
}

// resign signs anew, with key, a copy of r that has only the headers a
// names, and returns the signature.
func resign(r *http.Request, a *authorization, key Key, t time.Time, payloadHash string, length int64) (string, error) {
	u := *r.URL
	u.Scheme, u.Host = "http", cmp.Or(r.Host, r.URL.Host)
	if r.TLS != nil {
		u.Scheme = "https"
	}
	c := &http.Request{Method: r.Method, URL: &u, Host: u.Host, Header: make(http.Header)}
	// The keys stay lowercase: the SDK skips User-Agent and a few other
	// headers under their canonical names, but a client may have signed them.
	lower := make(map[string][]string, len(r.Header))
	for name, values := range r.Header {
		name = strings.ToLower(name)
		lower[name] = append(lower[name], values...)
	}
	for _, name := range a.signedHeaders {
		switch name {
		case "host", "x-amz-date":
		case "content-length":
			c.ContentLength = length
		default:
			if values, ok := lower[name]; ok {
				c.Header[name] = values
			}
		}
	}
	if err := sign(c, key, payloadHash, a.region, a.service, t); err != nil {
		return "", err
	}
	_, sig, _ := strings.Cut(c.Header.Get("Authorization"), "Signature=")
	return sig, nil
}

func (v *Verifier) checkSkew(t time.Time, amzDate string) *Error {
	skew := v.MaxSkew
	if skew <= 0 {
		skew = defaultMaxSkew
	}
	now := time.Now()
	if v.Now != nil {
		now = v.Now()
	}
	now = now.UTC()
	var span string
	if skew%time.Minute == 0 {
		span = fmt.Sprintf("%d min.", skew/time.Minute)
	} else {
		span = skew.String()
	}
	if earliest := now.Add(-skew); t.Before(earliest) {
		return invalid(fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - %s)",
			amzDate, earliest.Format(amzDateFormat), now.Format(amzDateFormat), span))
	}
	if latest := now.Add(skew); t.After(latest) {
		return invalid(fmt.Sprintf("Signature not yet current: %s is still later than %s (%s + %s)",
			amzDate, latest.Format(amzDateFormat), now.Format(amzDateFormat), span))
	}
	return nil
}

// Sign signs r with key for region and service at time t, with the signer of
// the AWS SDK for Go v2: it sets X-Amz-Content-Sha256 (the hex SHA-256 of
// body), X-Amz-Date and Authorization, signing every header of r but those
// the SDK leaves out, such as User-Agent. body must be what r sends.
func Sign(r *http.Request, body []byte, key Key, region, service string, t time.Time) error {
	if r.Header == nil {
		r.Header = make(http.Header)
	}
	payloadHash := hexSHA256(body)
	r.Header.Set("X-Amz-Content-Sha256", payloadHash)
	return sign(r, key, payloadHash, region, service, t)
}

// sign signs r with the SDK's signer. It takes a new signer each time: the
// SDK caches derived keys by access key ID, not by secret.
func sign(r *http.Request, key Key, payloadHash, region, service string, t time.Time) error {
	creds := aws.Credentials{AccessKeyID: key.AccessKeyID, SecretAccessKey: key.SecretAccessKey}
	if err := v4.NewSigner().SignHTTP(r.Context(), creds, r, payloadHash, service, region, t); err != nil {
		return fmt.Errorf("sigv4: %w", err)
	}
	return nil
}

func hexSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
