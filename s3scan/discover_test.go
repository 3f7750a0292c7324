package s3scan_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctimport/ctimport/s3scan"
	"github.com/ctimport/ctimport/s3scan/s3scantest"
)

var update = flag.Bool("update", false, "rewrite the golden files of testdata/")

var (
	accounts = []string{"111111111111", "222222222222", "333333333333"}
	regions  = []string{"us-east-1", "eu-west-1"}
)

func logKey(root, org, account, region string, t time.Time) string {
	dir := root + "AWSLogs/"
	if org != "" {
		dir += org + "/"
	}
	return fmt.Sprintf("%s%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_Ab12Cd34Ef56Gh78.json.gz",
		dir, account, region, t.Format("2006/01/02"), account, region, t.Format("20060102T1504Z"))
}

// trailBucket returns a bucket with one log file a day at 12:05 for the
// given days from 2023-01-01, of three accounts in two regions, and
// digest, insight and Config files beside them.
func trailBucket(days int) *s3scantest.Mem {
	m := s3scantest.NewMem()
	first := time.Date(2023, 1, 1, 12, 5, 0, 0, time.UTC)
	for _, a := range accounts {
		for _, r := range regions {
			for d := range days {
				m.Put(logKey("", "", a, r, first.AddDate(0, 0, d)), []byte("{}"))
			}
		}
		m.Put("AWSLogs/"+a+"/CloudTrail-Digest/us-east-1/2023/01/01/"+a+"_CloudTrail-Digest_us-east-1_t_us-east-1_20230101T120500Z.json.gz", nil)
		m.Put("AWSLogs/"+a+"/CloudTrail-Insight/us-east-1/2023/01/01/"+a+"_CloudTrail-Insight_us-east-1_20230101T1205Z_x.json.gz", nil)
		m.Put("AWSLogs/"+a+"/Config/us-east-1/2023/1/1/ConfigSnapshot/x.json.gz", nil)
	}
	return m
}

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestDiscoverListsDaysOfTheWindowOnly(t *testing.T) {
	w := s3scan.Window{Start: at("2023-01-15T00:00:00Z"), End: at("2023-01-15T23:59:59Z")}
	for _, size := range []int{30, 365} {
		src := s3scan.Count(trailBucket(size))
		days, sk, err := s3scan.Discover(context.Background(), src, "", w)
		if err != nil {
			t.Fatal(err)
		}
		// AWSLogs/, then each account, then each account's CloudTrail/.
		if got := src.Lists(); got != 7 {
			t.Errorf("%d-day bucket: Discover made %d lists, want 7", size, got)
		}
		if len(days) != len(accounts)*len(regions) {
			t.Fatalf("%d-day bucket: %d day prefixes, want %d: %+v", size, len(days), len(accounts)*len(regions), days)
		}
		if sk != (s3scan.Skipped{Prefixes: 9}) {
			t.Errorf("%d-day bucket: skipped %+v, want 9 prefixes", size, sk)
		}
		files := 0
		for _, d := range days {
			if !d.Day.Equal(day("2023-01-15")) {
				t.Errorf("day prefix %+v is not of 2023-01-15", d)
			}
			if _, err := s3scan.ListDay(context.Background(), src, d, w, func(s3scan.LogFile) error { files++; return nil }); err != nil {
				t.Fatal(err)
			}
		}
		if got := src.Lists(); got != 13 || files != 6 {
			t.Errorf("%d-day bucket: %d files with %d lists in all, want 6 with 13", size, files, got)
		}
	}
}

func TestDiscoverListsWithinTheWindow(t *testing.T) {
	tests := []struct {
		name  string
		w     s3scan.Window
		days  int
		lists int64
	}{
		// Each region: years, months of 2023, days of each month.
		{"unbounded", s3scan.Window{}, 365, 7 + 6*(1+1+12)},
		{"60 days", s3scan.Window{Start: at("2023-03-15T00:00:00Z"), End: at("2023-05-13T23:00:00Z")}, 60, 7 + 6*(1+1+3)},
		{"open start", s3scan.Window{End: at("2023-02-10T00:00:00Z")}, 41, 7 + 6*(1+1+2)},
		{"open end", s3scan.Window{Start: at("2023-12-30T00:00:00Z")}, 2, 7 + 6*(1+1+1)},
		{"after the data", s3scan.Window{Start: at("2024-01-01T00:00:00Z")}, 0, 7 + 6*1},
		// Made up: no lists below the regions, whether the days exist or not.
		{"31 days", s3scan.Window{Start: at("2023-12-15T00:00:00Z"), End: at("2024-01-14T00:00:00Z")}, 31, 7},
		{"backwards", s3scan.Window{Start: at("2023-03-15T00:00:00Z"), End: at("2023-03-14T00:00:00Z")}, 0, 7},
	}
	m := trailBucket(365)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := s3scan.Count(m)
			days, _, err := s3scan.Discover(context.Background(), src, "", tt.w)
			if err != nil {
				t.Fatal(err)
			}
			if got := src.Lists(); got != tt.lists {
				t.Errorf("%d lists, want %d", got, tt.lists)
			}
			if len(days) != tt.days*6 {
				t.Errorf("%d day prefixes, want %d", len(days), tt.days*6)
			}
			sorted := slices.IsSortedFunc(days, func(a, b s3scan.DayPrefix) int {
				if c := a.Day.Compare(b.Day); c != 0 {
					return c
				}
				return strings.Compare(a.Key, b.Key)
			})
			if !sorted {
				t.Error("day prefixes are not sorted by day, then key")
			}
			for _, d := range days {
				want := fmt.Sprintf("AWSLogs/%s/CloudTrail/%s/%s/", d.Account, d.Region, d.Day.Format("2006/01/02"))
				if d.Key != want || d.Org != "" {
					t.Errorf("day prefix %+v, want key %q", d, want)
				}
			}
		})
	}
}

// layoutBucket holds the layouts and the litter Discover must find its
// way through.
func layoutBucket() *s3scantest.Mem {
	m := s3scantest.NewMem()
	for _, k := range []string{
		"AWSLogs/",
		"AWSLogs/readme.txt",
		"AWSLogs/notes/x",
		logKey("", "", "111111111111", "us-east-1", at("2024-01-02T00:05:00Z")),
		logKey("", "", "111111111111", "us-east-1", at("2024-01-02T23:55:00Z")),
		"AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/02/",
		"AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/02/notes.txt",
		"AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/02/sub/x.json.gz",
		"AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/02/111111111111_CloudTrail-Digest_us-east-1_t_us-east-1_20240102T000500Z.json.gz",
		"AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/",
		"AWSLogs/111111111111/CloudTrail/us-east-1/2024/13/01/x",
		"AWSLogs/111111111111/CloudTrail/us-east-1/2024/02/30/x",
		"AWSLogs/111111111111/CloudTrail/us-east-1/junk/x",
		"AWSLogs/111111111111/CloudTrail/global/x",
		"AWSLogs/111111111111/CloudTrail-Digest/us-east-1/2024/01/02/x.json.gz",
		"AWSLogs/111111111111/CloudTrail-Insight/us-east-1/2024/01/02/x.json.gz",
		"AWSLogs/111111111111/Config/us-east-1/2024/1/2/x.json.gz",
		logKey("", "o-abcdefghij", "222222222222", "eu-west-1", at("2024-01-03T10:00:00Z")),
		"AWSLogs/o-abcdefghij/notanaccount/x",
		"AWSLogs/o-abcdefghij/222222222222/Config/x",
		logKey("trails/", "", "333333333333", "ap-south-1", at("2024-01-04T10:00:00Z")),
	} {
		m.Put(k, nil)
	}
	return m
}

func TestDiscoverLayout(t *testing.T) {
	m := layoutBucket()
	days, sk, err := s3scan.Discover(context.Background(), m, "", s3scan.Window{})
	if err != nil {
		t.Fatal(err)
	}
	want := []s3scan.DayPrefix{
		{Key: "AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/02/", Account: "111111111111", Region: "us-east-1", Day: day("2024-01-02")},
		{Key: "AWSLogs/o-abcdefghij/222222222222/CloudTrail/eu-west-1/2024/01/03/", Org: "o-abcdefghij", Account: "222222222222", Region: "eu-west-1", Day: day("2024-01-03")},
	}
	if !slices.Equal(days, want) {
		t.Errorf("Discover:\n got %+v\nwant %+v", days, want)
	}
	// Objects: the AWSLogs/ marker, readme.txt, the 2024/01/ marker.
	// Prefixes: notes/, CloudTrail-Digest/, CloudTrail-Insight/, Config/
	// twice, 13/, 30/, junk/, global/, notanaccount/.
	if want := (s3scan.Skipped{Objects: 3, Prefixes: 10}); sk != want {
		t.Errorf("Discover skipped %+v, want %+v", sk, want)
	}

	var files []string
	sk, err = s3scan.ListDay(context.Background(), m, days[0], s3scan.Window{}, func(f s3scan.LogFile) error {
		if f.Account != "111111111111" || f.Region != "us-east-1" || f.Delivery.IsZero() {
			t.Errorf("ListDay: %+v", f)
		}
		files = append(files, f.Key)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := []string{
		logKey("", "", "111111111111", "us-east-1", at("2024-01-02T00:05:00Z")),
		logKey("", "", "111111111111", "us-east-1", at("2024-01-02T23:55:00Z")),
	}
	if !slices.Equal(files, wantFiles) {
		t.Errorf("ListDay:\n got %q\nwant %q", files, wantFiles)
	}
	// Objects: the day's marker, notes.txt, the digest file. Prefixes: sub/.
	if want := (s3scan.Skipped{Objects: 3, Prefixes: 1}); sk != want {
		t.Errorf("ListDay skipped %+v, want %+v", sk, want)
	}
}

func TestDiscoverRoots(t *testing.T) {
	m := layoutBucket()
	tests := []struct {
		root  string
		w     s3scan.Window
		keys  []string
		lists int64
	}{
		{root: "trails/", keys: []string{"trails/AWSLogs/333333333333/CloudTrail/ap-south-1/2024/01/04/"}, lists: 6},
		{root: "trails/AWSLogs/", keys: []string{"trails/AWSLogs/333333333333/CloudTrail/ap-south-1/2024/01/04/"}, lists: 6},
		{root: "nothing/", lists: 1},
		{root: "AWSLogs/o-abcdefghij/", keys: []string{"AWSLogs/o-abcdefghij/222222222222/CloudTrail/eu-west-1/2024/01/03/"}, lists: 6},
		{root: "AWSLogs/111111111111/CloudTrail/", keys: []string{"AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/02/"}, lists: 5},
		{root: "AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/", keys: []string{"AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/02/"}, lists: 1},
		{root: "AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/02/", keys: []string{"AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/02/"}, lists: 0},
		{root: "AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/02/", w: s3scan.Window{Start: at("2024-01-03T00:00:00Z")}, lists: 0},
		{root: "AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/", w: s3scan.Window{End: at("2023-12-31T00:00:00Z")}, lists: 0},
		{
			root: "AWSLogs/111111111111/CloudTrail/us-east-1/2024/",
			w:    s3scan.Window{Start: at("2023-12-31T12:00:00Z"), End: at("2024-01-02T08:00:00Z")},
			keys: []string{"AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/01/", "AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/02/"},
		},
	}
	for _, tt := range tests {
		src := s3scan.Count(m)
		days, _, err := s3scan.Discover(context.Background(), src, tt.root, tt.w)
		if err != nil {
			t.Errorf("Discover(%q): %v", tt.root, err)
			continue
		}
		var keys []string
		for _, d := range days {
			keys = append(keys, d.Key)
			if d.Account == "" || d.Region == "" {
				t.Errorf("Discover(%q): %+v lacks its account or region", tt.root, d)
			}
		}
		if !slices.Equal(keys, tt.keys) || src.Lists() != tt.lists {
			t.Errorf("Discover(%q, %+v) = %q with %d lists; want %q with %d", tt.root, tt.w, keys, src.Lists(), tt.keys, tt.lists)
		}
	}
	for _, root := range []string{"AWSLogs/111111111111/CloudTrail-Digest/", "AWSLogs/111111111111/Config/", "AWSLogs/x/", "no-slash"} {
		if _, _, err := s3scan.Discover(context.Background(), m, root, s3scan.Window{}); !errors.Is(err, s3scan.ErrBadURI) {
			t.Errorf("Discover(%q): %v, want ErrBadURI", root, err)
		}
	}
}

func TestListDayWindow(t *testing.T) {
	m := s3scantest.NewMem()
	var all []string
	for _, hm := range []string{"11:40", "11:45", "11:50", "11:55"} {
		k := logKey("", "", "111111111111", "us-east-1", at("2024-01-02T"+hm+":00Z"))
		m.Put(k, nil)
		all = append(all, k)
	}
	d := s3scan.DayPrefix{Key: "AWSLogs/111111111111/CloudTrail/us-east-1/2024/01/02/", Account: "111111111111", Region: "us-east-1", Day: day("2024-01-02")}
	list := func(w s3scan.Window) []string {
		var got []string
		if _, err := s3scan.ListDay(context.Background(), m, d, w, func(f s3scan.LogFile) error {
			got = append(got, f.Key)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got := list(s3scan.Window{Start: at("2024-01-02T11:45:30Z"), End: at("2024-01-02T11:50:00Z")}); !slices.Equal(got, all[1:3]) {
		t.Errorf("11:45:30 to 11:50:00: %q", got)
	}
	if got := list(s3scan.Window{Start: at("2024-01-02T11:46:00Z"), End: at("2024-01-02T11:49:59Z")}); len(got) != 0 {
		t.Errorf("11:46 to 11:49:59: %q", got)
	}
	m.SetPageSize(1)
	if got := list(s3scan.Window{}); !slices.Equal(got, all) {
		t.Errorf("pages of one: %q", got)
	}

	errStop := errors.New("stop")
	calls := 0
	_, err := s3scan.ListDay(context.Background(), m, d, s3scan.Window{}, func(s3scan.LogFile) error {
		calls++
		return errStop
	})
	if !errors.Is(err, errStop) || calls != 1 {
		t.Errorf("ListDay returned %v after %d calls; want fn's error after 1", err, calls)
	}
}

func TestDiscoverErrors(t *testing.T) {
	m := trailBucket(3)
	m.FailList("AWSLogs/222222222222/CloudTrail/", fmt.Errorf("throttled: %w", s3scan.ErrTransient), 1)
	if _, _, err := s3scan.Discover(context.Background(), m, "", s3scan.Window{}); !errors.Is(err, s3scan.ErrTransient) {
		t.Errorf("Discover: %v, want the source's error", err)
	}
	days, _, err := s3scan.Discover(context.Background(), m, "", s3scan.Window{})
	if err != nil || len(days) != 18 {
		t.Errorf("Discover once the source recovered: %d days, %v", len(days), err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := s3scan.Discover(ctx, m, "", s3scan.Window{}); !errors.Is(err, context.Canceled) {
		t.Errorf("Discover with a canceled context: %v", err)
	}
}

// describe lists what Discover and ListDay find in src, one line each.
func describe(t *testing.T, src s3scan.Source, w s3scan.Window) string {
	t.Helper()
	days, sk, err := s3scan.Discover(context.Background(), src, "", w)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "skipped %d objects, %d prefixes\n", sk.Objects, sk.Prefixes)
	for _, d := range days {
		fmt.Fprintf(&b, "%s %s org=%q account=%s region=%s\n", d.Day.Format(time.DateOnly), d.Key, d.Org, d.Account, d.Region)
		_, err := s3scan.ListDay(context.Background(), src, d, w, func(f s3scan.LogFile) error {
			fmt.Fprintf(&b, "  %s %s %d\n", f.Key[len(d.Key):], f.Delivery.Format(time.RFC3339), f.Size)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

// corpusSets are the directories of ../testdata/corpus, each a bucket.
var corpusSets = []string{"invictus-2023-07-10", "traildiscover-examples"}

func corpusDir(set string) string {
	return filepath.Join("..", "testdata", "corpus", set)
}

var corpusWindows = map[string]s3scan.Window{
	"all":        {},
	"2024-12-15": {Start: at("2024-12-15T20:00:00Z"), End: at("2024-12-15T21:20:00Z")},
	"2023-07-10": {Start: at("2023-07-10T12:00:00Z"), End: at("2023-07-10T12:10:00Z")},
	"2025":       {Start: at("2025-01-01T00:00:00Z"), End: at("2025-12-31T23:59:59Z")},
}

// checkGolden compares got with testdata/<name>, or rewrites it with -update.
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the tests with -update to make it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from what was found:\n%s", path, got)
	}
}

func testDiscoverCorpus(t *testing.T, open func(t *testing.T, set string) s3scan.Source) {
	for _, set := range corpusSets {
		src := open(t, set)
		for name, w := range corpusWindows {
			t.Run(set+"/"+name, func(t *testing.T) {
				checkGolden(t, filepath.Join("discover", set, name+".golden"), describe(t, src, w))
			})
		}
	}
}

func TestDiscoverCorpusDir(t *testing.T) {
	testDiscoverCorpus(t, func(t *testing.T, set string) s3scan.Source {
		src, err := s3scan.NewDir(corpusDir(set))
		if err != nil {
			t.Fatal(err)
		}
		return src
	})
}

func TestDiscoverCorpusMinIO(t *testing.T) {
	testDiscoverCorpus(t, func(t *testing.T, set string) s3scan.Source {
		objects := make(map[string][]byte)
		err := filepath.WalkDir(corpusDir(set), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel(corpusDir(set), p)
			if err != nil {
				return err
			}
			data, err := os.ReadFile(p)
			objects[filepath.ToSlash(rel)] = data
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return newS3(t, objects)
	})
}

func BenchmarkDiscoverUnbounded(b *testing.B) {
	m := trailBucket(365)
	for b.Loop() {
		if _, _, err := s3scan.Discover(context.Background(), m, "", s3scan.Window{}); err != nil {
			b.Fatal(err)
		}
	}
}
