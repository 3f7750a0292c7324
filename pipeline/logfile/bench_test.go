package logfile

import (
	"bytes"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/ctimport/ctimport/sink"
)

var (
	benchOnce    sync.Once
	benchData    []byte
	benchRecords int
)

// benchLog returns one log file of about 50 MB holding the records of the
// corpus again and again, and its number of records.
func benchLog(b *testing.B) ([]byte, int) {
	benchOnce.Do(func() {
		var records []json.RawMessage
		for _, path := range corpusFiles(b) {
			if !strings.HasPrefix(path, filepath.Clean(corpusDir)) {
				continue
			}
			var doc struct{ Records []json.RawMessage }
			if err := json.Unmarshal(gunzipFile(b, path), &doc); err != nil {
				b.Fatal(err)
			}
			records = append(records, doc.Records...)
		}
		var buf bytes.Buffer
		buf.WriteString(`{"Records":[`)
		for buf.Len() < 50<<20 {
			for _, r := range records {
				if benchRecords > 0 {
					buf.WriteByte(',')
				}
				buf.Write(r)
				benchRecords++
			}
		}
		buf.WriteString("]}\n")
		benchData = buf.Bytes()
	})
	return benchData, benchRecords
}

func reportEvents(b *testing.B, records int) {
	b.ReportMetric(float64(records)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

func BenchmarkDecode(b *testing.B) {
	data, records := benchLog(b)
	batch := make([]sink.Event, 256)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		d := NewDecoder(bytes.NewReader(data), Options{})
		for {
			_, err := d.Next(batch)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
		}
		if d.Records() != records {
			b.Fatalf("decoded %d records, want %d", d.Records(), records)
		}
	}
	reportEvents(b, records)
}

// BenchmarkDecodeEncodingJSON is the baseline: encoding/json decoding the
// same bytes into raw members.
func BenchmarkDecodeEncodingJSON(b *testing.B) {
	data, records := benchLog(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		var doc struct{ Records []map[string]json.RawMessage }
		if err := json.Unmarshal(data, &doc); err != nil {
			b.Fatal(err)
		}
		if len(doc.Records) != records {
			b.Fatalf("decoded %d records, want %d", len(doc.Records), records)
		}
	}
	reportEvents(b, records)
}
