package pipeline_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/internal/trailtest"
	"github.com/ctimport/ctimport/pipeline"
	"github.com/ctimport/ctimport/s3scan"
	"github.com/ctimport/ctimport/selector"
	"github.com/ctimport/ctimport/sink"
)

// logDoc returns a log file holding one record per eventTime, a minute
// apart from 2023-07-10T12:00:00Z.
func logDoc(n int) []byte {
	var recs []string
	for i := range n {
		recs = append(recs, fmt.Sprintf(`{"eventVersion":"1.08","eventTime":"2023-07-10T12:%02d:00Z","eventID":"id-%d","eventName":"GetObject"}`, i, i))
	}
	return []byte(`{"Records":[` + strings.Join(recs, ",") + `]}`)
}

// TestReader reads well-formed and broken files and checks the events it
// passes on and the failure it reports.
func TestReader(t *testing.T) {
	doc := logDoc(10)
	at := time.Date(2023, 7, 10, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		key      string
		body     []byte
		imp      sink.Import
		maxSize  int64
		events   int64
		outRange int64
		errType  string // "" for none
	}{
		{"gzip", "a.json.gz", trailtest.Gzip(doc), sink.Import{}, 1 << 20, 10, 0, ""},
		{"plain", "a.json", doc, sink.Import{}, 1 << 20, 10, 0, ""},
		{"time range", "a.json.gz", trailtest.Gzip(doc), sink.Import{StartEventTime: at.Add(2 * time.Minute), EndEventTime: at.Add(4 * time.Minute)}, 1 << 20, 3, 7, ""},
		{"empty", "a.json.gz", nil, sink.Import{}, 1 << 20, 0, 0, pipeline.ErrorEmptyFile},
		{"not gzip", "a.json.gz", doc, sink.Import{}, 1 << 20, 0, 0, pipeline.ErrorInvalidGzip},
		{"truncated gzip", "a.json.gz", trailtest.Gzip(doc)[:len(trailtest.Gzip(doc))/2], sink.Import{}, 1 << 20, 0, 0, pipeline.ErrorTruncatedFile},
		{"not JSON", "a.json", []byte("hello"), sink.Import{}, 1 << 20, 0, 0, pipeline.ErrorInvalidJSON},
		{"no Records", "a.json", []byte(`{"other":[]}`), sink.Import{}, 1 << 20, 0, 0, pipeline.ErrorMissingRecords},
		{"exactly the cap", "a.json", doc, sink.Import{}, int64(len(doc)), 10, 0, ""},
		{"over the cap", "a.json.gz", trailtest.Gzip(doc), sink.Import{}, int64(len(doc)) - 1, 0, 0, pipeline.ErrorLimitExceeded},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &pipeline.Counters{}
			rd := pipeline.Reader{MaxFileSize: tc.maxSize, MaxRecordSize: 1 << 20, Import: tc.imp, Progress: p}
			var got int64
			n, err := rd.Read(tc.key, bytes.NewReader(tc.body), func(events []sink.Event) error {
				got += int64(len(events))
				return nil
			})
			var fe *pipeline.FileError
			switch {
			case tc.errType == "" && err != nil:
				t.Fatalf("Read: %v", err)
			case tc.errType != "" && (!errors.As(err, &fe) || fe.Type != tc.errType):
				t.Fatalf("Read: %v, want a %s FileError", err, tc.errType)
			}
			if tc.errType == "" && (n != tc.events || got != tc.events) {
				t.Errorf("Read returned %d events and passed on %d; want %d", n, got, tc.events)
			}
			s := p.Snapshot()
			if s.EventsOutOfRange != tc.outRange || s.BytesRead != int64(len(tc.body)) && tc.errType == "" {
				t.Errorf("counted %d events out of range, %d bytes read; want %d, %d", s.EventsOutOfRange, s.BytesRead, tc.outRange, len(tc.body))
			}
		})
	}
}

// TestReaderSelectors checks that a Reader passes on the events within the
// time range that its selectors select, and counts those it leaves out of
// each kind apart.
func TestReaderSelectors(t *testing.T) {
	var recs []string
	for i := range 10 {
		recs = append(recs, fmt.Sprintf(`{"eventTime":"2023-07-10T12:%02d:00Z","eventID":"id-%d","eventName":"%s"}`, i, i, []string{"GetObject", "PutObject"}[i%2]))
	}
	m, err := selector.Compile([]api.AdvancedEventSelector{{FieldSelectors: []api.AdvancedFieldSelector{{Field: "eventName", StartsWith: []string{"Put"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2023, 7, 10, 12, 0, 0, 0, time.UTC)
	p := &pipeline.Counters{}
	rd := pipeline.Reader{MaxFileSize: 1 << 20, MaxRecordSize: 1 << 20, Selectors: m, Progress: p,
		Import: sink.Import{StartEventTime: at.Add(2 * time.Minute), EndEventTime: at.Add(6 * time.Minute)}}
	var ids []string
	n, err := rd.Read("a.json", strings.NewReader(`{"Records":[`+strings.Join(recs, ",")+`]}`), func(events []sink.Event) error {
		for i := range events {
			ids = append(ids, events[i].ID())
		}
		return nil
	})
	s := p.Snapshot()
	if err != nil || n != 2 || strings.Join(ids, " ") != "id-3 id-5" || s.EventsOutOfRange != 5 || s.EventsUnselected != 3 {
		t.Errorf("Read = %d, %v, passing on %v, with %d events out of range and %d not selected; want 2 events, id-3 id-5, 5 and 3",
			n, err, ids, s.EventsOutOfRange, s.EventsUnselected)
	}
}

// TestReaderEmitError checks that Read stops at, and returns, the error of
// its emit function as it is.
func TestReaderEmitError(t *testing.T) {
	stop := errors.New("stop")
	rd := pipeline.Reader{MaxFileSize: 1 << 20, MaxRecordSize: 1 << 20}
	calls := 0
	_, err := rd.Read("a.json", bytes.NewReader(logDoc(3)), func([]sink.Event) error {
		calls++
		return stop
	})
	if err != stop || calls != 1 {
		t.Errorf("Read = %v after %d calls; want %v after 1", err, calls, stop)
	}
}

// TestRetry checks which failures Config.Retry tries again, and how often.
func TestRetry(t *testing.T) {
	transient := fmt.Errorf("flaky: %w", s3scan.ErrTransient)
	final := errors.New("gone")
	cfg := pipeline.Config{Attempts: 3, Backoff: time.Microsecond}
	for _, tc := range []struct {
		name    string
		errs    []error // of each call; nil after the last
		calls   int
		retried int
		want    error
	}{
		{"success", nil, 1, 0, nil},
		{"transient then success", []error{transient, transient}, 3, 2, nil},
		{"transient to the end", []error{transient, transient, transient, transient}, 3, 2, transient},
		{"final", []error{transient, final}, 2, 1, final},
	} {
		t.Run(tc.name, func(t *testing.T) {
			calls, retried := 0, 0
			err := cfg.Retry(context.Background(), func() { retried++ }, func() error {
				calls++
				if calls <= len(tc.errs) {
					return tc.errs[calls-1]
				}
				return nil
			})
			if err != tc.want || calls != tc.calls || retried != tc.retried {
				t.Errorf("Retry = %v after %d calls, %d retries; want %v, %d, %d", err, calls, retried, tc.want, tc.calls, tc.retried)
			}
		})
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	slow := pipeline.Config{Attempts: 3, Backoff: time.Hour}
	if err := slow.Retry(ctx, nil, func() error { return transient }); !errors.Is(err, context.Canceled) {
		t.Errorf("Retry with an ended context = %v, want context.Canceled", err)
	}
}

// TestReaderRetention checks that Read drops, and counts apart, the events
// from before NotBefore, and keeps the time range apart from them.
func TestReaderRetention(t *testing.T) {
	at := time.Date(2023, 7, 10, 12, 0, 0, 0, time.UTC)
	p := &pipeline.Counters{}
	rd := pipeline.Reader{MaxFileSize: 1 << 20, MaxRecordSize: 1 << 20, Progress: p,
		Import: sink.Import{EndEventTime: at.Add(8 * time.Minute)}, NotBefore: at.Add(3 * time.Minute)}
	n, err := rd.Read("a.json", bytes.NewReader(logDoc(10)), func([]sink.Event) error { return nil })
	s := p.Snapshot()
	if err != nil || n != 6 || s.EventsPastRetention != 3 || s.EventsOutOfRange != 1 {
		t.Errorf("Read = %d, %v, with %d events past retention and %d out of range; want 6, 3 and 1", n, err, s.EventsPastRetention, s.EventsOutOfRange)
	}
}
