// Package corpus generates CloudTrail trail buckets for benchmarks.
//
// Generate takes the records of real CloudTrail log files, re-dates them
// into the minutes before each generated file's delivery time, gives them
// fresh eventIDs, and writes them as gzip log files in the AWSLogs layout
// CloudTrail writes, at the size a Spec asks for. The output is the same,
// byte for byte, for the same Spec and source records. Generate also
// returns, and writes next to the files, the Truth: what a complete import
// of the corpus holds. Upload puts a generated corpus into a bucket.
package corpus

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/klauspost/compress/gzip"
	"golang.org/x/sync/errgroup"
)

// TruthFile is the name of the file, at the root of a generated corpus,
// holding its Truth as JSON.
const TruthFile = "truth.json"

// LatePercent is the share of log files, in percent, delivered late: their
// events are 15 to 60 minutes older than the delivery time in their name,
// so a file delivered just after midnight holds events of the day before.
// The events of other files are at most 5 minutes older.
const LatePercent = 3

// DefaultStart is the first day of a Spec that sets none.
var DefaultStart = time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)

// regions are the regions of a corpus, in the order a Spec takes them.
var regions = []string{
	"us-east-1", "eu-west-1", "us-west-2", "ap-southeast-2", "eu-central-1", "ap-northeast-1",
	"us-east-2", "eu-north-1", "sa-east-1", "ca-central-1", "ap-south-1", "eu-west-3",
}

// Spec describes a corpus: every account delivers FilesPerDay log files a
// day to each region's prefix, for Days days from Start.
type Spec struct {
	// Seed chooses the corpus: account IDs, delivery times, records,
	// eventIDs and file names.
	Seed uint64 `json:"seed"`
	// Source is the directory of the real log files whose records the
	// corpus re-uses; every .json.gz and .json file below it is read.
	Source string `json:"-"`
	// Accounts is the number of accounts.
	Accounts int `json:"accounts"`
	// OrgTrail puts the accounts below an organization ID, as an
	// organization trail does: AWSLogs/o-.../<account>/CloudTrail/...
	OrgTrail bool `json:"orgTrail"`
	// Regions is the number of regions, at most 12.
	Regions int `json:"regions"`
	// Start is the first day; the zero time means DefaultStart.
	Start time.Time `json:"start"`
	// Days is the number of days.
	Days int `json:"days"`
	// FilesPerDay is the number of log files per account, region and day.
	FilesPerDay int `json:"filesPerDay"`
	// EventsPerFile is the mean number of events of a file; each file
	// holds between half and one and a half times as many.
	EventsPerFile int `json:"eventsPerFile"`
	// GiantBytes, when positive, adds one more log file holding at least
	// this many bytes of JSON, delivered at noon of the first day to the
	// first account's first region.
	GiantBytes int64 `json:"giantBytes,omitempty"`
}

// Full returns the spec of the full benchmark: 3 accounts of an
// organization trail, 2 regions, 12 days, 45 files a day, 100 events per
// file: about 324,000 events and 420 MB of JSON.
func Full(source string) Spec {
	return Spec{Seed: 1, Source: source, Accounts: 3, OrgTrail: true, Regions: 2, Days: 12, FilesPerDay: 45, EventsPerFile: 100}
}

func (s Spec) check() error {
	switch {
	case s.Source == "":
		return errors.New("corpus: the spec names no source of records")
	case s.Accounts < 1 || s.Accounts > 1000:
		return fmt.Errorf("corpus: %d accounts; want 1 to 1000", s.Accounts)
	case s.Regions < 1 || s.Regions > len(regions):
		return fmt.Errorf("corpus: %d regions; want 1 to %d", s.Regions, len(regions))
	case s.Days < 1:
		return fmt.Errorf("corpus: %d days; want at least 1", s.Days)
	case s.FilesPerDay < 1 || s.FilesPerDay > 24*60:
		return fmt.Errorf("corpus: %d files per day; want 1 to 1440", s.FilesPerDay)
	case s.EventsPerFile < 1:
		return fmt.Errorf("corpus: %d events per file; want at least 1", s.EventsPerFile)
	case s.GiantBytes < 0:
		return fmt.Errorf("corpus: giant file of %d bytes", s.GiantBytes)
	}
	return nil
}

// Truth is what a complete import of a corpus holds.
type Truth struct {
	// Events is the number of events (records) of all files.
	Events int64 `json:"events"`
	// Files is the number of log files, and LateFiles how many of them
	// were delivered late.
	Files     int `json:"files"`
	LateFiles int `json:"lateFiles"`
	// CompressedBytes and UncompressedBytes are the sizes of all files, as
	// stored (gzip) and as JSON.
	CompressedBytes   int64 `json:"compressedBytes"`
	UncompressedBytes int64 `json:"uncompressedBytes"`
	// LargestFile is the JSON size of the largest file.
	LargestFile int64 `json:"largestFile"`
	// IDDigest is the hex SHA-256 of the distinct eventIDs, sorted
	// bytewise and joined by "\n" with none after the last. In DuckDB:
	// sha256(string_agg(eventID, chr(10) ORDER BY eventID)) over a table
	// holding each event once.
	IDDigest string `json:"idDigest"`
}

// logFile is a planned log file.
type logFile struct {
	key      string
	region   string
	account  string
	delivery time.Time
	events   int   // 0 for the giant file
	giant    int64 // the JSON size of the giant file
	late     bool
}

// fileTruth is what writing one file gave.
type fileTruth struct {
	events       int64
	compressed   int64
	uncompressed int64
	ids          [][16]byte
}

// Generate writes the corpus of spec below dir, which it creates, and its
// Truth to dir/TruthFile, and returns the Truth.
func Generate(ctx context.Context, dir string, spec Spec) (Truth, error) {
	if spec.Start.IsZero() {
		spec.Start = DefaultStart
	}
	if err := spec.check(); err != nil {
		return Truth{}, err
	}
	templates, err := loadTemplates(spec.Source)
	if err != nil {
		return Truth{}, err
	}
	files := spec.plan()
	for _, f := range files {
		if err := os.MkdirAll(filepath.Join(dir, filepath.FromSlash(filepath.Dir(f.key))), 0o755); err != nil {
			return Truth{}, fmt.Errorf("corpus: %w", err)
		}
	}
	results := make([]fileTruth, len(files))
	g, gctx := errgroup.WithContext(ctx)
	next := make(chan int)
	g.Go(func() error {
		defer close(next)
		for i := range files {
			select {
			case next <- i:
			case <-gctx.Done():
				return gctx.Err()
			}
		}
		return nil
	})
	for range runtime.NumCPU() {
		g.Go(func() error {
			for i := range next {
				r, err := writeFile(filepath.Join(dir, filepath.FromSlash(files[i].key)), files[i], spec.Seed, uint64(i)+1, templates)
				if err != nil {
					return err
				}
				results[i] = r
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return Truth{}, err
	}
	t := Truth{Files: len(files)}
	var ids [][16]byte
	for i, r := range results {
		t.Events += r.events
		t.CompressedBytes += r.compressed
		t.UncompressedBytes += r.uncompressed
		t.LargestFile = max(t.LargestFile, r.uncompressed)
		if files[i].late {
			t.LateFiles++
		}
		ids = append(ids, r.ids...)
	}
	t.IDDigest = digest(ids)
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return Truth{}, fmt.Errorf("corpus: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, TruthFile), append(b, '\n'), 0o644); err != nil {
		return Truth{}, fmt.Errorf("corpus: %w", err)
	}
	return t, nil
}

// plan chooses the accounts and the files of the corpus.
func (s Spec) plan() []logFile {
	rng := rand.New(rand.NewPCG(s.Seed, 0))
	prefix := "AWSLogs/"
	if s.OrgTrail {
		prefix += "o-" + randomText(rng, 10, lowerDigits) + "/"
	}
	seen := map[string]bool{}
	accounts := make([]string, 0, s.Accounts)
	for len(accounts) < s.Accounts {
		a := fmt.Sprintf("%012d", rng.Int64N(1e12))
		if !seen[a] {
			seen[a] = true
			accounts = append(accounts, a)
		}
	}
	slot := 24 * time.Hour / time.Duration(s.FilesPerDay)
	var files []logFile
	add := func(f logFile) {
		name := fmt.Sprintf("%s_CloudTrail_%s_%s_%s.json.gz", f.account, f.region, f.delivery.Format("20060102T1504Z"), randomText(rng, 16, mixedDigits))
		f.key = prefix + f.account + "/CloudTrail/" + f.region + "/" + f.delivery.Format("2006/01/02") + "/" + name
		files = append(files, f)
	}
	for _, account := range accounts {
		for _, region := range regions[:s.Regions] {
			for d := range s.Days {
				day := s.Start.UTC().Truncate(24*time.Hour).AddDate(0, 0, d)
				for i := range s.FilesPerDay {
					at := day.Add(slot*time.Duration(i) + time.Duration(rng.Int64N(int64(slot)))).Truncate(time.Minute)
					late := rng.IntN(100) < LatePercent
					events := max(1, s.EventsPerFile/2+rng.IntN(s.EventsPerFile+1))
					add(logFile{account: account, region: region, delivery: at, events: events, late: late})
				}
			}
		}
	}
	if s.GiantBytes > 0 {
		noon := s.Start.UTC().Truncate(24 * time.Hour).Add(12 * time.Hour)
		add(logFile{account: accounts[0], region: regions[0], delivery: noon, giant: s.GiantBytes})
	}
	return files
}

const (
	lowerDigits = "abcdefghijklmnopqrstuvwxyz0123456789"
	mixedDigits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
)

func randomText(rng *rand.Rand, n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(b)
}

// writeFile writes the log file f to path. Its records come from the
// random stream (seed, stream).
func writeFile(path string, f logFile, seed, stream uint64, templates []template) (fileTruth, error) {
	out, err := os.Create(path)
	if err != nil {
		return fileTruth{}, fmt.Errorf("corpus: %w", err)
	}
	defer out.Close()
	bw := bufio.NewWriterSize(out, 256<<10)
	zw, err := gzip.NewWriterLevel(bw, gzip.DefaultCompression)
	if err != nil {
		return fileTruth{}, fmt.Errorf("corpus: %w", err)
	}
	rng := rand.New(rand.NewPCG(seed, stream))
	minLag, maxLag := time.Duration(0), 5*time.Minute
	if f.late {
		minLag, maxLag = 15*time.Minute, time.Hour
	}
	var r fileTruth
	rec := []byte(`{"Records":[`)
	for i := 0; ; i++ {
		if (f.giant == 0 && i == f.events) || (f.giant > 0 && i > 0 && r.uncompressed >= f.giant) {
			break
		}
		if i > 0 {
			rec = append(rec, ',')
		}
		lag := minLag + time.Duration(rng.Int64N(int64(maxLag-minLag)))
		var id [16]byte
		for j := 0; j < 16; j += 8 {
			v := rng.Uint64()
			for k := range 8 {
				id[j+k] = byte(v >> (8 * k))
			}
		}
		id[6] = id[6]&0x0f | 0x40
		id[8] = id[8]&0x3f | 0x80
		r.ids = append(r.ids, id)
		for _, p := range templates[rng.IntN(len(templates))] {
			switch p.field {
			case literal:
				rec = append(rec, p.text...)
			case fieldTime:
				rec = f.delivery.Add(-lag).AppendFormat(rec, "2006-01-02T15:04:05Z")
			case fieldID:
				rec = appendUUID(rec, id)
			case fieldRegion:
				rec = append(rec, f.region...)
			case fieldAccount:
				rec = append(rec, f.account...)
			}
		}
		if _, err := zw.Write(rec); err != nil {
			return fileTruth{}, fmt.Errorf("corpus: %w", err)
		}
		r.uncompressed += int64(len(rec))
		rec = rec[:0]
		r.events++
	}
	rec = append(rec, "]}"...)
	if _, err := zw.Write(rec); err != nil {
		return fileTruth{}, fmt.Errorf("corpus: %w", err)
	}
	r.uncompressed += int64(len(rec))
	if err := zw.Close(); err != nil {
		return fileTruth{}, fmt.Errorf("corpus: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fileTruth{}, fmt.Errorf("corpus: %w", err)
	}
	st, err := out.Stat()
	if err != nil {
		return fileTruth{}, fmt.Errorf("corpus: %w", err)
	}
	r.compressed = st.Size()
	if err := out.Close(); err != nil {
		return fileTruth{}, fmt.Errorf("corpus: %w", err)
	}
	return r, nil
}

// appendUUID appends id in the text form of a UUID.
func appendUUID(b []byte, id [16]byte) []byte {
	var s [36]byte
	hex.Encode(s[0:8], id[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], id[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], id[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], id[8:10])
	s[23] = '-'
	hex.Encode(s[24:36], id[10:16])
	return append(b, s[:]...)
}

// digest returns Truth.IDDigest of ids, which it sorts. The text of UUIDs
// sorts as their bytes do.
func digest(ids [][16]byte) string {
	slices.SortFunc(ids, func(a, b [16]byte) int { return bytes.Compare(a[:], b[:]) })
	ids = slices.Compact(ids)
	h := sha256.New()
	var line []byte
	for i, id := range ids {
		line = line[:0]
		if i > 0 {
			line = append(line, '\n')
		}
		h.Write(appendUUID(line, id))
	}
	return hex.EncodeToString(h.Sum(nil))
}
