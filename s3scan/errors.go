package s3scan

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"syscall"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// opError is a failed operation of a source. Its text names the operation
// and the key or prefix, then the kind (one of the sentinel errors), then
// what went wrong, without the query strings of request URLs.
type opError struct {
	op   string // "list", "get", "read", ...
	name string // what op was applied to
	kind error  // a sentinel error, or nil
	err  error
}

func (e *opError) Error() string {
	var b strings.Builder
	b.WriteString("s3scan: ")
	b.WriteString(e.op)
	b.WriteString(" ")
	b.WriteString(e.name)
	if e.kind != nil {
		b.WriteString(": ")
		b.WriteString(strings.TrimPrefix(e.kind.Error(), "s3scan: "))
	}
	if d := detail(e.err); d != "" {
		b.WriteString(": ")
		b.WriteString(d)
	}
	return b.String()
}

func (e *opError) Unwrap() []error {
	if e.kind == nil {
		return []error{e.err}
	}
	return []error{e.kind, e.err}
}

// detail describes err in one line: failures to assume a role by role,
// S3 and STS error responses by code and message, URL errors without the
// URL's query.
func detail(err error) string {
	var re *roleError
	if errors.As(err, &re) {
		return re.Error()
	}
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		return codeMessage(er.Code, er.Message)
	}
	var sts credentials.ErrorResponse
	if errors.As(err, &sts) {
		return codeMessage(sts.STSError.Code, sts.STSError.Message)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		where := ue.URL
		if u, perr := url.Parse(ue.URL); perr == nil {
			where = u.Scheme + "://" + u.Host + u.EscapedPath()
		}
		return ue.Op + " " + where + ": " + detail(ue.Err)
	}
	if err == nil {
		return ""
	}
	return strings.Join(strings.Fields(err.Error()), " ")
}

// codeMessage describes an error response by its code and message, cut to
// one line of at most 200 bytes.
func codeMessage(code, message string) string {
	msg := strings.Join(strings.Fields(message), " ")
	if len(msg) > 200 {
		msg = msg[:200] + "..."
	}
	switch {
	case code == "":
		return msg
	case msg == "" || msg == code:
		return code
	}
	return code + ": " + msg
}

// s3Transient are the S3 error codes of answers that may change on retry.
var s3Transient = map[string]bool{
	"InternalError":              true,
	"ServiceUnavailable":         true,
	"SlowDown":                   true,
	"SlowDownRead":               true,
	"SlowDownWrite":              true,
	"RequestTimeout":             true,
	"Throttling":                 true,
	"ThrottlingException":        true,
	"RequestLimitExceeded":       true,
	"RequestThrottled":           true,
	"ExpiredToken":               true,
	"ExpiredTokenException":      true,
	"XMinioServerNotInitialized": true,
	"XMinioReadQuorum":           true,
}

// classify returns the sentinel error err is an instance of, or nil. A 404
// without a code is ErrNotFound for an object and ErrNoBucket otherwise.
func classify(err error, object bool) error {
	var re *roleError
	if errors.As(err, &re) {
		return re.kind()
	}
	var er minio.ErrorResponse
	if errors.As(err, &er) {
		switch er.Code {
		case minio.NoSuchKey, "XMinioInvalidObjectName":
			return ErrNotFound
		case minio.NoSuchBucket:
			return ErrNoBucket
		case minio.AccessDenied, "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccountProblem", "InvalidToken":
			return ErrAccessDenied
		}
		if s3Transient[er.Code] {
			return ErrTransient
		}
		switch s := er.StatusCode; {
		case s == http.StatusNotFound && object:
			return ErrNotFound
		case s == http.StatusNotFound:
			return ErrNoBucket
		case s == http.StatusForbidden:
			return ErrAccessDenied
		case s == http.StatusRequestTimeout, s == http.StatusTooManyRequests, s == 499, s >= 500:
			return ErrTransient
		}
		return nil
	}
	if transientNet(err) {
		return ErrTransient
	}
	return nil
}

// transientNet reports whether err is a network failure that may not
// happen again: a timeout, a refused, reset or broken connection, a
// response cut short. Certificate errors and unknown hosts are not.
func transientNet(err error) bool {
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalidCert      x509.CertificateInvalidError
		verify           *tls.CertificateVerificationError
		dns              *net.DNSError
	)
	switch {
	case errors.As(err, &unknownAuthority), errors.As(err, &hostname),
		errors.As(err, &invalidCert), errors.As(err, &verify):
		return false
	case errors.As(err, &dns):
		return !dns.IsNotFound
	case errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET),
		errors.Is(err, syscall.ECONNABORTED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, syscall.ETIMEDOUT), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH):
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op)
}
