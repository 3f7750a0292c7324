package s3scan_test

import (
	"bufio"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ctimport/ctimport/s3scan"
	"github.com/ctimport/ctimport/s3scan/s3scantest"
)

// trailKeyRE matches the key of a log file of a trail at the root of a
// bucket: AWSLogs/[org/]account/CloudTrail/region/YYYY/MM/DD/name.
var trailKeyRE = regexp.MustCompile(`^AWSLogs/(?:o-[a-z0-9]{10,32}/)?[0-9]{12}/CloudTrail/([a-z][a-z0-9]*(?:-[a-z0-9]+)+)/([0-9]{4}/[0-9]{2}/[0-9]{2})/([^/]*)$`)

// trailFile is what the walk must find of a log file of a trail.
type trailFile struct {
	day             time.Time // of its prefix
	account, region string    // of its name
	delivery        time.Time
}

// trailKey tells what the walk must find of key, independently of the
// walk, and whether key is that of a log file of a trail.
func trailKey(key string) (trailFile, bool) {
	m := trailKeyRE.FindStringSubmatch(key)
	if m == nil || len(m[1]) < 4 || len(m[1]) > 64 {
		return trailFile{}, false
	}
	day, err := time.Parse("2006/01/02", m[2])
	if err != nil || day.Year() == 0 {
		return trailFile{}, false
	}
	account, region, delivery, ok := s3scan.ParseLogFileName(m[3])
	return trailFile{day, account, region, delivery}, ok
}

// discoverSeeds returns the keys of the corpus, and those the golden files
// of Discover list, as seeds.
func discoverSeeds(f *testing.F) []string {
	var keys []string
	for _, set := range corpusSets {
		root := corpusDir(set)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, err := filepath.Rel(root, p)
			keys = append(keys, filepath.ToSlash(rel))
			return err
		})
		if err != nil {
			f.Fatal(err)
		}
		goldens, err := filepath.Glob(filepath.Join("testdata", "discover", set, "*.golden"))
		if err != nil {
			f.Fatal(err)
		}
		for _, g := range goldens {
			keys = append(keys, goldenKeys(f, g)...)
		}
	}
	return keys
}

// goldenKeys returns the keys of the log files a golden file of describe
// lists: each day prefix followed by the names below it.
func goldenKeys(f *testing.F, path string) []string {
	file, err := os.Open(path)
	if err != nil {
		f.Fatal(err)
	}
	defer file.Close()
	var keys []string
	prefix := ""
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		switch {
		case len(fields) > 1 && strings.HasPrefix(sc.Text(), "  "):
			keys = append(keys, prefix+fields[0])
		case len(fields) > 1 && strings.HasSuffix(fields[1], "/"):
			prefix = fields[1]
		}
	}
	if err := sc.Err(); err != nil {
		f.Fatal(err)
	}
	return keys
}

// FuzzDiscover puts one object into a bucket and walks it: Discover and
// ListDay find it exactly when its key is that of a log file of a trail,
// both when they list the days and when they make up the days of a
// window, and what they say of it is what its key says.
func FuzzDiscover(f *testing.F) {
	for _, k := range discoverSeeds(f) {
		f.Add(k)
	}
	for _, k := range []string{
		"AWSLogs/o-abc123defg/111122223333/CloudTrail/us-gov-west-1/2024/02/29/111122223333_CloudTrail_us-gov-west-1_20240229T2355Z_x.json",
		"AWSLogs/111122223333/CloudTrail/us-east-1/2023/02/29/111122223333_CloudTrail_us-east-1_20230228T2355Z_x.json.gz",
		"AWSLogs/111122223333/CloudTrail/us-east-1/0000/01/01/111122223333_CloudTrail_us-east-1_00000101T0000Z_x.json.gz",
		"AWSLogs/111122223333/CloudTrail/us-east-1/2024/1/01/111122223333_CloudTrail_us-east-1_20240101T0000Z_x.json.gz",
		"AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/01//111122223333_CloudTrail_us-east-1_20240101T0000Z_x.json.gz",
		"AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/01/01/111122223333_CloudTrail-Digest_us-east-1_t_us-east-1_20240101T000000Z.json.gz",
		"p/AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/01/111122223333_CloudTrail_us-east-1_20240101T0000Z_x.json.gz",
	} {
		f.Add(k)
	}
	f.Fuzz(func(t *testing.T, key string) {
		if key == "" {
			return
		}
		m := s3scantest.NewMem()
		m.Put(key, nil)
		tf, want := trailKey(key)
		check := func(w s3scan.Window) {
			t.Helper()
			days, _, err := s3scan.Discover(context.Background(), m, "", w)
			if err != nil {
				t.Fatalf("Discover(%q, %+v): %v", key, w, err)
			}
			found := 0
			for _, d := range days {
				if !strings.HasSuffix(d.Key, d.Day.Format("/2006/01/02/")) || d.Day.Location() != time.UTC || !d.Day.Equal(d.Day.Truncate(24*time.Hour)) ||
					!strings.Contains(d.Key, "/"+d.Account+"/CloudTrail/"+d.Region+"/") || s3scan.CheckRoot(d.Key) != nil {
					t.Fatalf("Discover(%q, %+v) made the day prefix %+v", key, w, d)
				}
				_, err := s3scan.ListDay(context.Background(), m, d, w, func(lf s3scan.LogFile) error {
					found++
					if lf.Key != key || !d.Day.Equal(tf.day) || !lf.Delivery.Equal(tf.delivery) || lf.Account != tf.account || lf.Region != tf.region {
						t.Fatalf("walking %q in %+v found %+v in %+v", key, w, lf, d)
					}
					return nil
				})
				if err != nil {
					t.Fatalf("ListDay(%+v): %v", d, err)
				}
			}
			if wantFound := want && (w.Start.IsZero() || tf.delivery.Equal(w.Start)); found != map[bool]int{true: 1}[wantFound] {
				t.Fatalf("walking %q in %+v found it %d times", key, w, found)
			}
		}
		check(s3scan.Window{})
		if want {
			// A window of one minute on the prefix's day, of at most one
			// day: its day prefix is made up, not listed.
			at := tf.day.Add(tf.delivery.Sub(tf.delivery.Truncate(24 * time.Hour)))
			check(s3scan.Window{Start: at, End: at})
		}
	})
}
