package logfile

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/ctimport/ctimport/sink"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

const (
	corpusDir       = "../../testdata/corpus"
	sharedCorpusDir = "../../../shared/corpus" // used when present
)

// corpusFiles returns the .json.gz files of the corpus directories.
func corpusFiles(t testing.TB) []string {
	var files []string
	for _, root := range []string{corpusDir, sharedCorpusDir} {
		err := filepath.WalkDir(root, func(path string, e fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if strings.HasSuffix(path, ".json.gz") {
				files = append(files, path)
			}
			return nil
		})
		if errors.Is(err, fs.ErrNotExist) && root == sharedCorpusDir {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(files) == 0 {
		t.Fatal("no corpus files")
	}
	return files
}

func gunzipFile(t testing.TB, path string) []byte {
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return data
}

// expectEvents derives the events of a log file with encoding/json,
// independently of the Decoder. Extra fields are returned apart, since
// their order is lost in a map.
func expectEvents(t testing.TB, data []byte) ([]sink.Event, []map[string]json.RawMessage) {
	byName := map[string]sink.Column{}
	for c := range sink.ExtraFields {
		byName[c.Name()] = c
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")), &doc); err != nil {
		t.Fatal(err)
	}
	var records []json.RawMessage
	if err := json.Unmarshal(doc["Records"], &records); err != nil {
		t.Fatal(err)
	}
	events := make([]sink.Event, len(records))
	extras := make([]map[string]json.RawMessage, len(records))
	for i, raw := range records {
		var members map[string]json.RawMessage
		if err := json.Unmarshal(raw, &members); err != nil {
			t.Fatal(err)
		}
		ev := &events[i]
		ev.Null = 1<<sink.NumColumns - 1
		ev.Null &^= 1 << sink.EventTime
		extra := map[string]json.RawMessage{}
		for name, v := range members {
			c, ok := byName[name]
			if !ok {
				extra[name] = v
				continue
			}
			switch c.Kind() {
			case sink.Timestamp:
				var s string
				if err := json.Unmarshal(v, &s); err != nil {
					t.Fatalf("record %d: eventTime: %v", i, err)
				}
				at, err := time.Parse(time.RFC3339, s)
				if err != nil {
					t.Fatalf("record %d: %v", i, err)
				}
				ev.Time = at.UTC()
				if at.UTC().Format(time.RFC3339) != s || !bytes.Equal(v, []byte(`"`+s+`"`)) {
					extra[name] = v
				}
			case sink.Text:
				var s *string
				if err := json.Unmarshal(v, &s); err != nil || s == nil {
					extra[name] = v
				} else {
					ev.Values[c] = *s
					ev.Null &^= 1 << c
				}
			case sink.Bool:
				var b *bool
				if err := json.Unmarshal(v, &b); err != nil || b == nil {
					extra[name] = v
				} else {
					ev.Null &^= 1 << c
					if *b {
						ev.True |= 1 << c
					}
				}
			case sink.JSON:
				ev.Values[c] = string(v)
				ev.Null &^= 1 << c
			}
		}
		if len(extra) > 0 {
			ev.Null &^= 1 << sink.ExtraFields
			extras[i] = extra
		}
	}
	return events, extras
}

func TestCorpusMatchesEncodingJSON(t *testing.T) {
	total := 0
	for _, path := range corpusFiles(t) {
		data := gunzipFile(t, path)
		got, err := decodeAll(NewDecoder(bytes.NewReader(data), Options{}))
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		want, extras := expectEvents(t, data)
		if len(got) != len(want) {
			t.Fatalf("%s: %d events, want %d", path, len(got), len(want))
		}
		for i := range got {
			if extras[i] != nil {
				var m map[string]json.RawMessage
				if err := json.Unmarshal([]byte(got[i].Values[sink.ExtraFields]), &m); err != nil {
					t.Fatalf("%s: record %d: ExtraFields: %v", path, i, err)
				}
				if !equalRaw(m, extras[i]) {
					t.Errorf("%s: record %d: ExtraFields %s, want %v", path, i, got[i].Values[sink.ExtraFields], extras[i])
				}
				want[i].Values[sink.ExtraFields] = got[i].Values[sink.ExtraFields]
			}
			if diff := diffEvents(got[i], want[i]); diff != "" {
				t.Errorf("%s: record %d:\n%s", path, i, diff)
			}
		}
		total += len(got)

		// The same events come out however the input arrives.
		for name, d := range map[string]*Decoder{
			"one byte per read": NewDecoder(iotest.OneByteReader(bytes.NewReader(data)), Options{}),
			"small buffer":      newSmallDecoder(iotest.HalfReader(bytes.NewReader(data)), Options{}, 100),
		} {
			again, err := decodeAll(d)
			if err != nil {
				t.Fatalf("%s: %s: %v", path, name, err)
			}
			if len(again) != len(got) {
				t.Fatalf("%s: %s: %d events, want %d", path, name, len(again), len(got))
			}
			for i := range again {
				if diff := diffEvents(again[i], got[i]); diff != "" {
					t.Errorf("%s: %s: record %d:\n%s", path, name, i, diff)
				}
			}
		}
	}
	t.Logf("%d events compared", total)
}

func equalRaw(a, b map[string]json.RawMessage) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !bytes.Equal(v, w) {
			return false
		}
	}
	return true
}

// goldenEvent is how the golden files show an event.
type goldenEvent struct {
	EventTime string            `json:"eventTime"`
	Values    map[string]string `json:"values"`
	Null      []string          `json:"null"`
	True      []string          `json:"true"`
}

func TestGolden(t *testing.T) {
	for _, name := range []string{
		"invictus-2023-07-10/AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/10/218007301253_CloudTrail_us-east-1_20230710T1215Z_dTTFsx4I2m3om5Oy.json.gz",
		"invictus-2023-07-10/AWSLogs/218007301253/CloudTrail/us-east-1/2023/07/10/218007301253_CloudTrail_us-east-1_20230710T1210Z_2ru8PrDKZmsO3yWC.json.gz",
		"traildiscover-examples/AWSLogs/111111111111/CloudTrail/us-east-1/2016/04/13/111111111111_CloudTrail_us-east-1_20160413T1810Z_n2Khd9fsuUeRSeZ5.json.gz",
	} {
		golden := filepath.Join("testdata", "golden", strings.TrimSuffix(filepath.Base(name), ".json.gz")+".json")
		t.Run(filepath.Base(golden), func(t *testing.T) {
			events, err := decodeAll(NewDecoder(bytes.NewReader(gunzipFile(t, filepath.Join(corpusDir, name))), Options{}))
			if err != nil {
				t.Fatal(err)
			}
			shown := make([]goldenEvent, len(events))
			for i, ev := range events {
				g := goldenEvent{EventTime: ev.Time.Format(time.RFC3339Nano), Values: map[string]string{}, Null: []string{}, True: []string{}}
				for c := range sink.NumColumns {
					switch {
					case ev.Null.Has(c):
						g.Null = append(g.Null, c.Name())
					case c.Kind() == sink.Bool && ev.True.Has(c):
						g.True = append(g.True, c.Name())
					case c.Kind() == sink.Text || c.Kind() == sink.JSON:
						g.Values[c.Name()] = ev.Values[c]
					}
				}
				shown[i] = g
			}
			got, err := json.MarshalIndent(shown, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("decoded events differ from %s (run go test -update to rewrite it):\n%s", golden, got)
			}
		})
	}
}
