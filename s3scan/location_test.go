package s3scan_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ctimport/ctimport/s3scan"
)

func TestParseLocation(t *testing.T) {
	tests := []struct {
		uri  string
		want s3scan.Location
		str  string // String(); "" means uri
	}{
		{uri: "s3://bucket", want: s3scan.Location{Scheme: "s3", Bucket: "bucket"}, str: "s3://bucket/"},
		{uri: "s3://bucket/", want: s3scan.Location{Scheme: "s3", Bucket: "bucket"}},
		{uri: "s3://my.bucket-1/logs", want: s3scan.Location{Scheme: "s3", Bucket: "my.bucket-1", Prefix: "logs/"}, str: "s3://my.bucket-1/logs/"},
		{uri: "s3://b12/a/b/AWSLogs/111122223333/", want: s3scan.Location{Scheme: "s3", Bucket: "b12", Prefix: "a/b/AWSLogs/111122223333/"}},
		{uri: "s3://b12/my%20logs/", want: s3scan.Location{Scheme: "s3", Bucket: "b12", Prefix: "my%20logs/"}},
		{uri: "s3://b12/über logs/", want: s3scan.Location{Scheme: "s3", Bucket: "b12", Prefix: "über logs/"}},
		{uri: "S3://bucket/x/", want: s3scan.Location{Scheme: "s3", Bucket: "bucket", Prefix: "x/"}, str: "s3://bucket/x/"},
		{uri: "file:///", want: s3scan.Location{Scheme: "file", Dir: "/"}},
		{uri: "file:///srv/trail", want: s3scan.Location{Scheme: "file", Dir: "/srv/trail"}},
		{uri: "file:///srv/trail/", want: s3scan.Location{Scheme: "file", Dir: "/srv/trail"}, str: "file:///srv/trail"},
		{uri: "file:///srv/my%20trail", want: s3scan.Location{Scheme: "file", Dir: "/srv/my trail"}},
		{uri: "file:///srv/AWSLogs/111122223333", want: s3scan.Location{Scheme: "file", Dir: "/srv", Prefix: "AWSLogs/111122223333/"}, str: "file:///srv/AWSLogs/111122223333/"},
		{uri: "file:///AWSLogs/", want: s3scan.Location{Scheme: "file", Dir: "/", Prefix: "AWSLogs/"}},
		{uri: "file:///a/AWSLogs/b/AWSLogs/", want: s3scan.Location{Scheme: "file", Dir: "/a/AWSLogs/b", Prefix: "AWSLogs/"}},
	}
	for _, tt := range tests {
		got, err := s3scan.ParseLocation(tt.uri)
		if err != nil || got != tt.want {
			t.Errorf("ParseLocation(%q) = %+v, %v; want %+v", tt.uri, got, err, tt.want)
			continue
		}
		str := tt.str
		if str == "" {
			str = tt.uri
		}
		if got.String() != str {
			t.Errorf("ParseLocation(%q).String() = %q, want %q", tt.uri, got.String(), str)
		}
	}
}

func TestParseLocationErrors(t *testing.T) {
	tests := []struct{ uri, why string }{
		{"", "want s3://"},
		{"bucket/prefix", "want s3://"},
		{"http://bucket/x", `scheme "http"`},
		{"s3://", "no bucket name"},
		{"s3:///prefix", "no bucket name"},
		{"s3://ab", "3 to 63"},
		{"s3://" + strings.Repeat("a", 64), "3 to 63"},
		{"s3://My-Bucket", "lowercase"},
		{"s3://my_bucket", "lowercase"},
		{"s3://-bucket", "begin and end"},
		{"s3://bucket-", "begin and end"},
		{"s3://my..bucket", "adjacent dots"},
		{"s3://192.168.1.10", "IP address"},
		{"s3://xn--bucket", "reserved prefix"},
		{"s3://sthree-bucket", "reserved prefix"},
		{"s3://bucket-s3alias", "reserved suffix"},
		{"s3://bucket--ol-s3", "reserved suffix"},
		{"s3://bucket/a?versionId=1", "query"},
		{"s3://bucket/a#frag", "fragment"},
		{"s3://bucket/a//b/", "empty path segment"},
		{"s3://bucket/a/../b/", `".."`},
		{"s3://bucket/./b/", `"."`},
		{"file://host/srv", "without a host"},
		{"file://localhost/srv", "without a host"},
		{"file://relative/path", "without a host"},
		{"file:relative", "want s3://"},
		{"file:///srv/../etc", `".."`},
		{"file:///srv?x=1", "query"},
		{"file:///srv#x", "fragment"},
		{"file://user:pw@/srv", "without a host"},
	}
	for _, tt := range tests {
		got, err := s3scan.ParseLocation(tt.uri)
		if err == nil {
			t.Errorf("ParseLocation(%q) = %+v, want an error", tt.uri, got)
			continue
		}
		if !errors.Is(err, s3scan.ErrBadURI) || !strings.Contains(err.Error(), tt.why) {
			t.Errorf("ParseLocation(%q): %v; want ErrBadURI saying %q", tt.uri, err, tt.why)
		}
	}
}

func FuzzParseLocation(f *testing.F) {
	for _, s := range []string{"s3://bucket/prefix/", "file:///srv/AWSLogs/1/", "s3://b.c/%zz/", "file:///a%2Fb/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		loc, err := s3scan.ParseLocation(uri)
		if err != nil {
			if !errors.Is(err, s3scan.ErrBadURI) {
				t.Fatalf("ParseLocation(%q): %v does not wrap ErrBadURI", uri, err)
			}
			return
		}
		if loc.Prefix != "" && !strings.HasSuffix(loc.Prefix, "/") {
			t.Fatalf("ParseLocation(%q).Prefix = %q", uri, loc.Prefix)
		}
		again, err := s3scan.ParseLocation(loc.String())
		if err != nil || again != loc {
			t.Fatalf("ParseLocation(%q) = %+v, but its String %q parses to %+v, %v", uri, loc, loc.String(), again, err)
		}
	})
}
