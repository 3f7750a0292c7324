package corpus_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/minio/minio-go/v7"

	"github.com/ctimport/ctimport/bench/corpus"
	"github.com/ctimport/ctimport/internal/miniotest"
	"github.com/ctimport/ctimport/pipeline/logfile"
	"github.com/ctimport/ctimport/s3scan"
	"github.com/ctimport/ctimport/sink"
)

func TestMain(m *testing.M) {
	defer miniotest.StopShared()
	m.Run()
}

const source = "../../testdata/corpus"

func small() corpus.Spec {
	return corpus.Spec{Seed: 7, Source: source, Accounts: 2, OrgTrail: true, Regions: 2, Days: 3, FilesPerDay: 12, EventsPerFile: 20, GiantBytes: 1 << 20}
}

func generate(t *testing.T, spec corpus.Spec) (string, corpus.Truth) {
	t.Helper()
	dir := t.TempDir()
	truth, err := corpus.Generate(context.Background(), dir, spec)
	if err != nil {
		t.Fatal(err)
	}
	return dir, truth
}

// files returns the contents of the files below dir by relative path.
func files(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestDeterministic(t *testing.T) {
	dirA, truthA := generate(t, small())
	dirB, truthB := generate(t, small())
	if truthA != truthB {
		t.Fatalf("truths differ:\n%+v\n%+v", truthA, truthB)
	}
	a, b := files(t, dirA), files(t, dirB)
	if len(a) != len(b) {
		t.Fatalf("%d files, then %d", len(a), len(b))
	}
	for k, v := range a {
		if !bytes.Equal(v, b[k]) {
			t.Fatalf("%s differs between two runs", k)
		}
	}
	other := small()
	other.Seed++
	dirC, truthC := generate(t, other)
	if truthC.IDDigest == truthA.IDDigest {
		t.Error("another seed gave the same eventIDs")
	}
	for k := range files(t, dirC) {
		if _, ok := a[k]; ok && k != corpus.TruthFile {
			t.Errorf("another seed gave the same key %s", k)
		}
	}
}

// TestTruth reads the corpus back with ctimport's decoder and checks it
// against the Truth and the layout.
func TestTruth(t *testing.T) {
	spec := small()
	spec.Days = 10
	dir, truth := generate(t, spec)
	var ids []string
	var got corpus.Truth
	var giant bool
	late := 0
	batch := make([]sink.Event, 64)
	for key, gz := range files(t, dir) {
		if key == corpus.TruthFile {
			var written corpus.Truth
			if err := json.Unmarshal(gz, &written); err != nil || written != truth {
				t.Errorf("%s holds %s (%v), want %+v", key, gz, err, truth)
			}
			continue
		}
		name := key[strings.LastIndex(key, "/")+1:]
		account, region, delivery, ok := s3scan.ParseLogFileName(name)
		if !ok {
			t.Fatalf("%s is not a log file name", name)
		}
		want := "AWSLogs/"
		if !strings.HasPrefix(key, want) || !strings.Contains(key, "/o-") {
			t.Errorf("%s is not below AWSLogs/o-<org>/", key)
		}
		if want := "/" + account + "/CloudTrail/" + region + delivery.Format("/2006/01/02/") + name; !strings.HasSuffix(key, want) {
			t.Errorf("%s does not end in %s", key, want)
		}
		zr, err := gzip.NewReader(bytes.NewReader(gz))
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		got.Files++
		got.CompressedBytes += int64(len(gz))
		got.UncompressedBytes += int64(len(data))
		got.LargestFile = max(got.LargestFile, int64(len(data)))
		if int64(len(data)) >= spec.GiantBytes {
			giant = true
		}
		d := logfile.NewDecoder(bytes.NewReader(data), logfile.Options{})
		oldest := time.Duration(0)
		for {
			n, err := d.Next(batch)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", key, err)
			}
			for _, ev := range batch[:n] {
				ids = append(ids, ev.ID())
				lag := delivery.Sub(ev.Time)
				if lag < 0 || lag > time.Hour {
					t.Fatalf("%s: event at %v, delivered at %v", key, ev.Time, delivery)
				}
				oldest = max(oldest, lag)
				if ev.Values[sink.AWSRegion] != region || ev.Values[sink.RecipientAccountID] != account {
					t.Fatalf("%s: event of %s in %s", key, ev.Values[sink.RecipientAccountID], ev.Values[sink.AWSRegion])
				}
			}
		}
		if oldest > 5*time.Minute+time.Minute {
			late++
		}
		got.Events += int64(d.Records())
	}
	slices.Sort(ids)
	sum := sha256.Sum256([]byte(strings.Join(slices.Compact(ids), "\n")))
	got.IDDigest = hex.EncodeToString(sum[:])
	if len(ids) != int(got.Events) {
		t.Errorf("%d events, %d distinct eventIDs", got.Events, len(ids))
	}
	got.LateFiles = truth.LateFiles
	if got != truth {
		t.Errorf("read back %+v\nthe truth says %+v", got, truth)
	}
	if late == 0 || late != truth.LateFiles {
		t.Errorf("%d files hold events older than 6 minutes, the truth says %d are late", late, truth.LateFiles)
	}
	if !giant {
		t.Errorf("no file of %d bytes", spec.GiantBytes)
	}
	if want := int64(spec.Accounts*spec.Regions*spec.Days*spec.FilesPerDay + 1); int64(truth.Files) != want {
		t.Errorf("%d files, want %d", truth.Files, want)
	}
	perEvent := float64(truth.UncompressedBytes) / float64(truth.Events)
	if perEvent < 1000 || perEvent > 1700 {
		t.Errorf("%.0f bytes per event; real records are about 1300", perEvent)
	}
}

func TestFullSize(t *testing.T) {
	s := corpus.Full(source)
	events := s.Accounts * s.Regions * s.Days * s.FilesPerDay * s.EventsPerFile
	if events < 300_000 || events*1300 < 400_000_000 {
		t.Errorf("the full spec holds about %d events, %d MB; want at least 300k and 400 MB", events, events*1300/1e6)
	}
}

func TestBadSpec(t *testing.T) {
	for _, mutate := range []func(*corpus.Spec){
		func(s *corpus.Spec) { s.Accounts = 0 },
		func(s *corpus.Spec) { s.Regions = 13 },
		func(s *corpus.Spec) { s.Days = 0 },
		func(s *corpus.Spec) { s.FilesPerDay = 0 },
		func(s *corpus.Spec) { s.EventsPerFile = 0 },
		func(s *corpus.Spec) { s.Source = "" },
		func(s *corpus.Spec) { s.Source = t.TempDir() },
	} {
		s := small()
		mutate(&s)
		if _, err := corpus.Generate(context.Background(), t.TempDir(), s); err == nil {
			t.Errorf("Generate took %+v", s)
		}
	}
}

func TestUpload(t *testing.T) {
	spec := small()
	spec.GiantBytes = 0
	dir, truth := generate(t, spec)
	srv := miniotest.Shared(t)
	bucket := srv.NewBucket(t)
	if err := corpus.Upload(context.Background(), srv.Client(), bucket, dir, 4); err != nil {
		t.Fatal(err)
	}
	local := files(t, dir)
	n := 0
	for obj := range srv.Client().ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		n++
		if b, ok := local[obj.Key]; !ok || int64(len(b)) != obj.Size {
			t.Errorf("object %s of %d bytes is no file of the corpus", obj.Key, obj.Size)
		}
	}
	if n != truth.Files {
		t.Errorf("%d objects in the bucket, want %d", n, truth.Files)
	}
}
