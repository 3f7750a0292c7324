package duckdbsink

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"testing"
	"time"

	"github.com/ctimport/ctimport/internal/trailtest"
	"github.com/ctimport/ctimport/sink"
)

// corpusDir holds real CloudTrail log files.
const corpusDir = "../../testdata/corpus"

// logFile is the events of one log file of the corpus, and its records.
type logFile struct {
	key     string
	events  []sink.Event
	records []json.RawMessage
}

// loadCorpus reads every log file of the corpus, in key order.
func loadCorpus(tb testing.TB) []logFile {
	tb.Helper()
	logs, err := trailtest.LogFiles(corpusDir)
	if err != nil {
		tb.Fatalf("load corpus: %v", err)
	}
	var files []logFile
	for _, lf := range logs {
		events, records, err := readLogFile(lf.Data)
		if err != nil {
			tb.Fatalf("load corpus: %s: %v", lf.Key, err)
		}
		files = append(files, logFile{key: lf.Key, events: events, records: records})
	}
	return files
}

// readLogFile decodes a gzip CloudTrail log file into events, and returns
// its records too.
func readLogFile(data []byte) ([]sink.Event, []json.RawMessage, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, nil, err
	}
	var doc struct{ Records []json.RawMessage }
	if err := json.NewDecoder(zr).Decode(&doc); err != nil {
		return nil, nil, err
	}
	events := make([]sink.Event, len(doc.Records))
	for i, raw := range doc.Records {
		var r map[string]json.RawMessage
		if err := json.Unmarshal(raw, &r); err != nil {
			return nil, nil, err
		}
		if events[i], err = recordEvent(r); err != nil {
			return nil, nil, err
		}
	}
	return events, doc.Records, nil
}

var columnsByName = func() map[string]sink.Column {
	m := map[string]sink.Column{}
	for c := range sink.ExtraFields {
		m[c.Name()] = c
	}
	return m
}()

// recordEvent splits a record into an event's columns.
func recordEvent(r map[string]json.RawMessage) (sink.Event, error) {
	var e sink.Event
	extra := map[string]json.RawMessage{}
	for c := range sink.ExtraFields {
		if _, ok := r[c.Name()]; !ok {
			e.Null = e.Null.With(c)
		}
	}
	for name, raw := range r {
		c, ok := columnsByName[name]
		if !ok {
			extra[name] = raw
			continue
		}
		if string(raw) == "null" && c.Kind() != sink.JSON {
			e.Null = e.Null.With(c)
			extra[name] = raw
			continue
		}
		switch c.Kind() {
		case sink.Text:
			var s string
			if json.Unmarshal(raw, &s) != nil {
				s = string(raw)
			}
			e.Values[c] = s
		case sink.Timestamp:
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return e, err
			}
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return e, err
			}
			e.Time = t
		case sink.Bool:
			var b bool
			if err := json.Unmarshal(raw, &b); err != nil {
				return e, err
			}
			if b {
				e.True = e.True.With(c)
			}
		case sink.JSON:
			var b bytes.Buffer
			if err := json.Compact(&b, raw); err != nil {
				return e, err
			}
			e.Values[c] = b.String()
		}
	}
	if len(extra) == 0 {
		e.Null = e.Null.With(sink.ExtraFields)
		return e, nil
	}
	b, err := json.Marshal(extra)
	if err != nil {
		return e, err
	}
	e.Values[sink.ExtraFields] = string(b)
	return e, nil
}
