// Package sigv4 signs and verifies HTTP requests with AWS Signature Version 4
// in its header form (AWS4-HMAC-SHA256), as the AWS SDKs and the AWS CLI sign
// their requests to JSON services. The server authenticates unmodified AWS
// clients with a Verifier; ctimport's own client signs its requests with Sign.
//
// Presigned URLs (signatures in the query string), chunked payload signing
// and SigV4a are not supported, and session tokens are not validated.
package sigv4

import (
	"cmp"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

const (
	algorithm       = "AWS4-HMAC-SHA256"
	terminator      = "aws4_request"
	amzDateFormat   = "20060102T150405Z"
	scopeDateFormat = "20060102"
	unsignedPayload = "UNSIGNED-PAYLOAD"
	defaultMaxSkew  = 15 * time.Minute
)

// Key is an AWS access key.
type Key struct {
	AccessKeyID, SecretAccessKey string
}

// Keys maps access key IDs to their secret access keys: the keys a server
// accepts.
type Keys map[string]string

// Error is why a request's signature was refused, named as AWS names the error
// (its Code), with the HTTP status AWS answers it with. Its message never
// contains a secret key or a signature.
type Error struct {
	Code    string
	Message string
	Status  int
}

// Error returns "Code: Message".
func (e *Error) Error() string { return e.Code + ": " + e.Message }

func incomplete(msg string) *Error {
	return &Error{Code: "IncompleteSignatureException", Message: msg, Status: http.StatusBadRequest}
}

func invalid(msg string) *Error {
	return &Error{Code: "InvalidSignatureException", Message: msg, Status: http.StatusBadRequest}
}

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
// key ID that signed it. Every error it returns is an *Error.
func (v *Verifier) Verify(r *http.Request, body []byte) (accessKeyID string, err error) {
	header := r.Header.Get("Authorization")
	if header == "" {
		msg := "Request is missing Authentication Token"
		if r.URL.Query().Has("X-Amz-Algorithm") {
			msg += " (presigned URLs are not supported: sign the Authorization header)"
		}
		return "", &Error{Code: "MissingAuthenticationTokenException", Message: msg, Status: http.StatusBadRequest}
	}
	a, e := parseAuthorization(header)
	if e != nil {
		return "", e
	}
	if a.service != v.Service {
		return "", incomplete(fmt.Sprintf("Credential should be scoped to correct service: '%s'.", v.Service))
	}
	t, amzDate, e := requestTime(r)
	if e != nil {
		return "", e
	}
	if a.date != amzDate[:len(scopeDateFormat)] {
		return "", incomplete("Credential should be scoped to the day of the request date " + amzDate[:len(scopeDateFormat)] + ".")
	}
	if e := v.checkSkew(t, amzDate); e != nil {
		return "", e
	}
	secret, ok := v.Keys[a.accessKeyID]
	if !ok {
		return "", &Error{Code: "UnrecognizedClientException", Message: "The security token included in the request is invalid.", Status: http.StatusBadRequest}
	}
	payloadHash := hexSHA256(body)
	if h := r.Header.Get("X-Amz-Content-Sha256"); h == unsignedPayload {
		payloadHash = h
	} else if h != "" && h != payloadHash {
		return "", invalid("X-Amz-Content-Sha256: the payload hash does not match the body.")
	}
	want := signature(r, secret, amzDate, a.region, a.service, a.signedHeaders, payloadHash)
	if !hmac.Equal([]byte(want), []byte(a.signature)) {
		return "", invalid("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.")
	}
	return a.accessKeyID, nil
}

// requestTime returns the time of r from its X-Amz-Date header, else from its
// Date header, and that time in the form of X-Amz-Date.
func requestTime(r *http.Request) (time.Time, string, *Error) {
	if s := r.Header.Get("X-Amz-Date"); s != "" {
		t, err := time.Parse(amzDateFormat, s)
		if err != nil {
			return time.Time{}, "", incomplete("X-Amz-Date must be in ISO 8601 basic format, like 20060102T150405Z.")
		}
		return t, s, nil
	}
	if s := r.Header.Get("Date"); s != "" {
		t, err := http.ParseTime(s)
		if err != nil {
			return time.Time{}, "", incomplete("Date must be an HTTP date, like Mon, 02 Jan 2006 15:04:05 GMT.")
		}
		return t, t.UTC().Format(amzDateFormat), nil
	}
	return time.Time{}, "", incomplete("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.")
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

// Sign signs r with key for region and service at time t: it sets
// X-Amz-Date, X-Amz-Content-Sha256 (the hex SHA-256 of body) and
// Authorization, signing host, x-amz-date, x-amz-content-sha256, content-type
// (when set) and every x-amz-* header present. body must be what r sends.
func Sign(r *http.Request, body []byte, key Key, region, service string, t time.Time) {
	if r.Header == nil {
		r.Header = make(http.Header)
	}
	amzDate := t.UTC().Format(amzDateFormat)
	payloadHash := hexSHA256(body)
	r.Header.Set("X-Amz-Date", amzDate)
	r.Header.Set("X-Amz-Content-Sha256", payloadHash)
	names := []string{"host"}
	for name := range r.Header {
		lower := strings.ToLower(name)
		if lower == "content-type" || strings.HasPrefix(lower, "x-amz-") {
			names = append(names, lower)
		}
	}
	slices.Sort(names)
	names = slices.Compact(names)
	sig := signature(r, key.SecretAccessKey, amzDate, region, service, names, payloadHash)
	r.Header.Set("Authorization", algorithm+" Credential="+key.AccessKeyID+"/"+scope(amzDate, region, service)+
		", SignedHeaders="+strings.Join(names, ";")+", Signature="+sig)
}

func scope(amzDate, region, service string) string {
	return amzDate[:len(scopeDateFormat)] + "/" + region + "/" + service + "/" + terminator
}

// signature returns the hex signature of r, signed with secret at amzDate
// (in X-Amz-Date form) over the headers signedHeaders.
func signature(r *http.Request, secret, amzDate, region, service string, signedHeaders []string, payloadHash string) string {
	stringToSign := algorithm + "\n" + amzDate + "\n" + scope(amzDate, region, service) + "\n" +
		hexSHA256([]byte(canonicalRequest(r, signedHeaders, payloadHash)))
	k := hmacSHA256([]byte("AWS4"+secret), amzDate[:len(scopeDateFormat)])
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	k = hmacSHA256(k, terminator)
	return hex.EncodeToString(hmacSHA256(k, stringToSign))
}

func canonicalRequest(r *http.Request, signedHeaders []string, payloadHash string) string {
	values := make(map[string][]string, len(r.Header))
	for name, vs := range r.Header {
		lower := strings.ToLower(name)
		values[lower] = append(values[lower], vs...)
	}
	var b strings.Builder
	b.WriteString(r.Method)
	b.WriteByte('\n')
	b.WriteString(canonicalURI(r.URL))
	b.WriteByte('\n')
	b.WriteString(canonicalQuery(r.URL.RawQuery))
	b.WriteByte('\n')
	for _, name := range signedHeaders {
		vs := values[name]
		switch {
		case name == "host":
			vs = []string{cmp.Or(r.Host, r.URL.Host)}
		case name == "content-length" && len(vs) == 0 && r.ContentLength >= 0:
			vs = []string{strconv.FormatInt(r.ContentLength, 10)}
		}
		b.WriteString(name)
		b.WriteByte(':')
		for i, v := range vs {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(trimAll(v))
		}
		b.WriteByte('\n')
	}
	b.WriteByte('\n')
	b.WriteString(strings.Join(signedHeaders, ";"))
	b.WriteByte('\n')
	b.WriteString(payloadHash)
	return b.String()
}

// canonicalURI returns the path of u, escaped (again) as SigV4 asks of every
// service but S3.
func canonicalURI(u *url.URL) string {
	p := u.EscapedPath()
	if p == "" {
		return "/"
	}
	return escape(p, true)
}

func canonicalQuery(raw string) string {
	type param struct{ key, value string }
	var params []param
	for part := range strings.SplitSeq(raw, "&") {
		if part == "" {
			continue
		}
		k, v, _ := strings.Cut(part, "=")
		params = append(params, param{escape(unescapeQuery(k), false), escape(unescapeQuery(v), false)})
	}
	slices.SortFunc(params, func(a, b param) int {
		return cmp.Or(strings.Compare(a.key, b.key), strings.Compare(a.value, b.value))
	})
	var b strings.Builder
	for i, p := range params {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(p.key)
		b.WriteByte('=')
		b.WriteString(p.value)
	}
	return b.String()
}

// unescapeQuery decodes a query component as the AWS SDK for Go does ('+' is
// a space); a component that does not decode is taken as it is.
func unescapeQuery(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// escape percent-encodes every byte of s but the RFC 3986 unreserved
// characters and, if keepSlash, '/'.
func escape(s string, keepSlash bool) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if unreserved(c) || (keepSlash && c == '/') {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

func unreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.' || c == '~'
}

// trimAll trims the spaces around v and collapses the runs of spaces in it.
func trimAll(v string) string {
	v = strings.TrimSpace(v)
	if !strings.Contains(v, "  ") {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == ' ' && v[i-1] == ' ' {
			continue
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

func hexSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}
