package s3scan

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseRoot(t *testing.T) {
	tests := []struct {
		root string
		want walkStart
		err  string // part of the error; "" means no error
	}{
		{root: "", want: walkStart{logs: "AWSLogs/"}},
		{root: "trails/", want: walkStart{logs: "trails/AWSLogs/"}},
		{root: "a/b/", want: walkStart{logs: "a/b/AWSLogs/"}},
		{root: "AWSLogs/", want: walkStart{logs: "AWSLogs/"}},
		{root: "p/AWSLogs/", want: walkStart{logs: "p/AWSLogs/"}},
		{root: "AWSLogs/AWSLogs/", want: walkStart{logs: "AWSLogs/AWSLogs/"}},
		{root: "AWSLogs/111122223333/", want: walkStart{logs: "AWSLogs/", account: "111122223333"}},
		{root: "AWSLogs/o-abc123defg/", want: walkStart{logs: "AWSLogs/", org: "o-abc123defg"}},
		{root: "AWSLogs/o-abc123defg/111122223333/CloudTrail/", want: walkStart{logs: "AWSLogs/", org: "o-abc123defg", account: "111122223333", trail: true}},
		{root: "x/AWSLogs/111122223333/CloudTrail/us-gov-west-1/", want: walkStart{logs: "x/AWSLogs/", account: "111122223333", trail: true, region: "us-gov-west-1"}},
		{root: "AWSLogs/111122223333/CloudTrail/eu-west-1/2024/", want: walkStart{logs: "AWSLogs/", account: "111122223333", trail: true, region: "eu-west-1", year: 2024}},
		{root: "AWSLogs/111122223333/CloudTrail/eu-west-1/2024/02/", want: walkStart{logs: "AWSLogs/", account: "111122223333", trail: true, region: "eu-west-1", year: 2024, month: 2}},
		{root: "AWSLogs/111122223333/CloudTrail/eu-west-1/2024/02/29/", want: walkStart{logs: "AWSLogs/", account: "111122223333", trail: true, region: "eu-west-1", year: 2024, month: 2, day: 29}},

		{root: "trails", err: "ends in /"},
		{root: "AWSLogs/111122223333/CloudTrail-Digest/", err: `"CloudTrail-Digest" holds no CloudTrail log files`},
		{root: "AWSLogs/111122223333/CloudTrail-Insight/", err: "CloudTrail-Insight"},
		{root: "AWSLogs/111122223333/Config/", err: "Config"},
		{root: "AWSLogs/1111222233/", err: "not an account ID"},
		{root: "AWSLogs/o-short/", err: "not an account ID"},
		{root: "AWSLogs/o-abc123defg/o-abc123defg/", err: "not an account ID"},
		{root: "AWSLogs/111122223333/CloudTrail/US-EAST-1/", err: "not a region"},
		{root: "AWSLogs/111122223333/CloudTrail/us-east-1/24/", err: "not a year"},
		{root: "AWSLogs/111122223333/CloudTrail/us-east-1/2024/13/", err: "not a month"},
		{root: "AWSLogs/111122223333/CloudTrail/us-east-1/2024/2/", err: "not a month"},
		{root: "AWSLogs/111122223333/CloudTrail/us-east-1/2023/02/29/", err: "not a date"},
		{root: "AWSLogs/111122223333/CloudTrail/us-east-1/2023/02/28/x/", err: "below a day"},
	}
	for _, tt := range tests {
		got, err := parseRoot(tt.root)
		if tt.err != "" {
			if err == nil || !errors.Is(err, ErrBadURI) || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseRoot(%q) = %+v, %v; want an ErrBadURI error with %q", tt.root, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseRoot(%q) = %+v, %v; want %+v", tt.root, got, err, tt.want)
		}
	}
}

// The start key of a root that goes into AWSLogs is the root itself; of
// any other root, its AWSLogs/.
func FuzzParseRoot(f *testing.F) {
	for _, s := range []string{"", "p/", "AWSLogs/", "AWSLogs/o-abc123defg/111122223333/CloudTrail/us-east-1/2024/02/29/", "AWSLogs/1/", "a//AWSLogs/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, root string) {
		s, err := parseRoot(root)
		if err != nil {
			if !errors.Is(err, ErrBadURI) {
				t.Fatalf("parseRoot(%q): %v does not wrap ErrBadURI", root, err)
			}
			return
		}
		want := root + "AWSLogs/"
		if strings.HasPrefix(root, "AWSLogs/") || strings.Contains(root, "/AWSLogs/") {
			want = root
		}
		if got := s.key(); got != want {
			t.Fatalf("parseRoot(%q).key() = %q, want %q", root, got, want)
		}
	})
}

func TestWindow(t *testing.T) {
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	w := Window{Start: at("2024-03-10T11:45:30Z"), End: at("2024-03-12T08:00:00Z")}
	contains := []struct {
		t    string
		want bool
	}{
		{"2024-03-10T11:44:00Z", false},
		{"2024-03-10T11:45:00Z", true}, // the start's minute
		{"2024-03-12T08:00:00Z", true},
		{"2024-03-12T08:01:00Z", false},
	}
	for _, c := range contains {
		if got := w.contains(at(c.t)); got != c.want {
			t.Errorf("%+v.contains(%s) = %v", w, c.t, got)
		}
	}
	overlaps := []struct {
		from, to string
		want     bool
	}{
		{"2024-03-09T00:00:00Z", "2024-03-10T00:00:00Z", false},
		{"2024-03-10T00:00:00Z", "2024-03-11T00:00:00Z", true},
		{"2024-03-12T00:00:00Z", "2024-03-13T00:00:00Z", true},
		{"2024-03-13T00:00:00Z", "2024-03-14T00:00:00Z", false},
		{"2024-01-01T00:00:00Z", "2025-01-01T00:00:00Z", true},
	}
	for _, c := range overlaps {
		if got := w.overlaps(at(c.from), at(c.to)); got != c.want {
			t.Errorf("%+v.overlaps(%s, %s) = %v", w, c.from, c.to, got)
		}
	}
	if !(Window{}).overlaps(at("1999-01-01T00:00:00Z"), at("1999-01-02T00:00:00Z")) || !(Window{}).contains(at("1999-01-01T00:00:00Z")) {
		t.Error("an open window excludes a time")
	}
	inParis := time.FixedZone("CET", 3600)
	for _, c := range []struct {
		w    Window
		want int
	}{
		{w, 3},
		{Window{Start: at("2024-03-10T00:00:00Z")}, -1},
		{Window{End: at("2024-03-10T00:00:00Z")}, -1},
		{Window{Start: at("2024-03-10T23:59:00Z"), End: at("2024-03-10T23:59:00Z")}, 1},
		{Window{Start: at("2024-03-11T00:00:00Z"), End: at("2024-03-10T00:00:00Z")}, 0},
		{Window{Start: time.Date(2024, 3, 11, 0, 30, 0, 0, inParis), End: time.Date(2024, 3, 11, 0, 30, 0, 0, inParis)}, 1},
		{Window{Start: at("2024-01-01T00:00:00Z"), End: at("2024-01-31T23:59:59Z")}, 31},
	} {
		if got := c.w.days(); got != c.want {
			t.Errorf("%+v.days() = %d, want %d", c.w, got, c.want)
		}
	}
}
