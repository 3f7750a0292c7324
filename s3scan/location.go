package s3scan

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
)

// Location is a parsed source URI: a bucket and key prefix, or a local
// directory standing in for a bucket.
type Location struct {
	// Scheme is "s3" or "file".
	Scheme string
	// Bucket is the bucket name; "" for file locations.
	Bucket string
	// Dir is the absolute directory of a file location; "" for s3.
	Dir string
	// Prefix is the key prefix inside the bucket or directory: "" or a
	// string ending in "/".
	Prefix string
}

// ParseLocation parses a source URI:
//
//	s3://bucket
//	s3://bucket/prefix/
//	file:///absolute/directory
//
// An s3 prefix is taken literally (no percent-decoding, as the AWS CLI does)
// and always names whole path segments: "s3://b/logs" is the prefix "logs/".
// A file URI is percent-decoded like any file URI. When its path goes
// through an AWSLogs directory, Dir stops before the last AWSLogs segment
// and the rest becomes Prefix, so that a URI pointing inside a local copy of
// a trail's tree reads as the same place an s3 URI would.
//
// Errors wrap ErrBadURI and say what is wrong.
func ParseLocation(uri string) (Location, error) {
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok {
		return Location{}, badURI(uri, `want s3://bucket/prefix or file:///directory`)
	}
	switch strings.ToLower(scheme) {
	case "s3":
		return parseS3(uri, rest)
	case "file":
		return parseFile(uri)
	}
	return Location{}, badURI(uri, fmt.Sprintf("scheme %q is not s3 or file", scheme))
}

func parseS3(uri, rest string) (Location, error) {
	if strings.ContainsAny(rest, "?#") {
		return Location{}, badURI(uri, "query strings and fragments are not allowed")
	}
	bucket, prefix, _ := strings.Cut(rest, "/")
	if err := checkBucketName(bucket); err != nil {
		return Location{}, badURI(uri, err.Error())
	}
	prefix = strings.TrimSuffix(prefix, "/")
	if prefix != "" {
		if err := checkSegments(prefix); err != nil {
			return Location{}, badURI(uri, err.Error())
		}
		prefix += "/"
	}
	return Location{Scheme: "s3", Bucket: bucket, Prefix: prefix}, nil
}

func parseFile(uri string) (Location, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return Location{}, badURI(uri, "not a valid URI")
	}
	switch {
	case u.Host != "" || u.User != nil:
		return Location{}, badURI(uri, "a file URI names a local directory: file:///absolute/path, without a host")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(uri, "#"):
		return Location{}, badURI(uri, "query strings and fragments are not allowed")
	case !strings.HasPrefix(u.Path, "/"):
		return Location{}, badURI(uri, "the directory must be an absolute path")
	}
	p := strings.TrimSuffix(u.Path, "/")
	if p != "" {
		if err := checkSegments(p[1:]); err != nil {
			return Location{}, badURI(uri, err.Error())
		}
	}
	dir, prefix := p, ""
	if i := strings.LastIndex(p+"/", "/AWSLogs/"); i >= 0 {
		dir, prefix = p[:i], p[i+1:]+"/"
	}
	if dir == "" {
		dir = "/"
	}
	dir = filepath.FromSlash(dir)
	if !filepath.IsAbs(dir) {
		return Location{}, badURI(uri, "the directory must be an absolute path")
	}
	return Location{Scheme: "file", Dir: dir, Prefix: prefix}, nil
}

// String formats l as a URI that ParseLocation reads back to l.
func (l Location) String() string {
	if l.Scheme == "file" {
		u := url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Join(l.Dir, filepath.FromSlash(l.Prefix)))}
		if l.Prefix != "" {
			u.Path += "/"
		}
		return u.String()
	}
	return "s3://" + l.Bucket + "/" + l.Prefix
}

func badURI(uri, why string) error {
	return fmt.Errorf("%w %q: %s", ErrBadURI, uri, why)
}

// checkSegments rejects empty, "." and ".." segments of a "/"-separated path.
func checkSegments(p string) error {
	for seg := range strings.SplitSeq(p, "/") {
		switch seg {
		case "":
			return fmt.Errorf("empty path segment in %q", p)
		case ".", "..":
			return fmt.Errorf("%q segments are not allowed", seg)
		}
	}
	return nil
}

// checkBucketName applies the S3 rules for general purpose bucket names.
func checkBucketName(b string) error {
	if b == "" {
		return fmt.Errorf("no bucket name")
	}
	if len(b) < 3 || len(b) > 63 {
		return fmt.Errorf("bucket name %q must be 3 to 63 characters long", b)
	}
	for _, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-') {
			return fmt.Errorf("bucket name %q may only hold lowercase letters, digits, dots and hyphens", b)
		}
	}
	if !alnum(b[0]) || !alnum(b[len(b)-1]) {
		return fmt.Errorf("bucket name %q must begin and end with a letter or digit", b)
	}
	if strings.Contains(b, "..") {
		return fmt.Errorf("bucket name %q has two adjacent dots", b)
	}
	if ip := net.ParseIP(b); ip != nil {
		return fmt.Errorf("bucket name %q looks like an IP address", b)
	}
	for _, p := range []string{"xn--", "sthree-", "amzn-s3-demo-"} {
		if strings.HasPrefix(b, p) {
			return fmt.Errorf("bucket name %q has the reserved prefix %q", b, p)
		}
	}
	for _, s := range []string{"-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"} {
		if strings.HasSuffix(b, s) {
			return fmt.Errorf("bucket name %q has the reserved suffix %q", b, s)
		}
	}
	return nil
}

func alnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9'
}
