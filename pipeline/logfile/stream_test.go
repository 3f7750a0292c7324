package logfile

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/ctimport/ctimport/sink"
)

// recordStream generates a log file of n records without holding it.
type recordStream struct {
	n, next int
	huge    int // index of a record padded to hugeSize bytes, or -1
	pending []byte
	done    bool
}

const hugeSize = 8 << 20

func (s *recordStream) Read(p []byte) (int, error) {
	for len(s.pending) == 0 {
		switch {
		case s.done:
			return 0, io.EOF
		case s.next == 0 && s.pending == nil:
			s.pending = []byte(`{"Records":[` + "\n")
		case s.next == s.n:
			s.pending = []byte("]}\n")
			s.done = true
		default:
			pad := 600 + s.next%300
			if s.next == s.huge {
				pad = hugeSize
			}
			sep := ","
			if s.next == 0 {
				sep = ""
			}
			s.pending = fmt.Appendf(nil, `%s{"eventVersion":"1.08","eventTime":"2023-07-10T11:42:36Z","eventID":"id-%d",`+
				`"requestParameters":{"k":[1,2,{"x":"%s"}]},"readOnly":true,"other":"\n%d"}`+"\n",
				sep, s.next, strings.Repeat("x", pad), s.next)
			s.next++
		}
	}
	n := copy(p, s.pending)
	s.pending = s.pending[n:]
	return n, nil
}

func TestStreamingMemoryIsBounded(t *testing.T) {
	const records, maxRecord = 30000, 4096 // about 30 MB
	for _, size := range []int{defaultBufferSize, 512} {
		d := newSmallDecoder(&recordStream{n: records, huge: -1}, Options{MaxRecordSize: maxRecord}, size)
		bound := max(size, maxRecord+1)
		batch := make([]sink.Event, 100)
		total := 0
		for {
			n, err := d.Next(batch)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			for i, ev := range batch[:n] {
				if want := fmt.Sprintf("id-%d", total+i); ev.ID() != want {
					t.Fatalf("event %d has ID %q, want %q", total+i, ev.ID(), want)
				}
			}
			total += n
			if cap(d.buf) > bound || cap(d.out) > 2*maxRecord || cap(d.san) > 0 {
				t.Fatalf("after %d records: buffers of %d, %d and %d bytes exceed the bound of %d",
					total, cap(d.buf), cap(d.out), cap(d.san), bound)
			}
		}
		if total != records || d.Records() != records {
			t.Errorf("decoded %d records (Records %d), want %d", total, d.Records(), records)
		}
		if d.base < 20<<20 {
			t.Errorf("the stream was only %d bytes long", d.base)
		}
	}
}

func TestOversizedRecordInAStream(t *testing.T) {
	d := NewDecoder(&recordStream{n: 100, huge: 50}, Options{MaxRecordSize: 64 << 10})
	events, err := decodeAll(d)
	var e *Error
	if !errors.As(err, &e) || !errors.Is(err, ErrTooLarge) || e.Record != 50 {
		t.Fatalf("got %v, want ErrTooLarge at record 50", err)
	}
	if len(events) != 50 {
		t.Errorf("decoded %d events before the error, want 50", len(events))
	}
	if cap(d.buf) > defaultBufferSize {
		t.Errorf("the buffer grew to %d bytes", cap(d.buf))
	}
}

// TestBufferFitsTheInput checks that a small log file is read with a small
// buffer, and a long one with a buffer of defaultBufferSize.
func TestBufferFitsTheInput(t *testing.T) {
	tests := []struct {
		name string
		r    io.Reader
		want int
	}{
		{"one record", strings.NewReader(`{"Records":[{` + testTime + `,` + testID + `}]}`), firstBufferSize},
		{"no records", strings.NewReader(`{"Records":[]}`), firstBufferSize},
		{"30,000 records", &recordStream{n: 30000, huge: -1}, defaultBufferSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDecoder(tt.r, Options{})
			if _, err := decodeAll(d); err != nil {
				t.Fatal(err)
			}
			if cap(d.buf) != tt.want {
				t.Errorf("the buffer is %d bytes, want %d", cap(d.buf), tt.want)
			}
		})
	}
}

func TestRecordLargerThanTheBuffer(t *testing.T) {
	events, err := decodeAll(NewDecoder(&recordStream{n: 3, huge: 1}, Options{}))
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 3 || len(events[1].Values[sink.RequestParameters]) < hugeSize {
		t.Fatalf("got %d events", len(events))
	}
}

func TestOneBytePerRead(t *testing.T) {
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, &recordStream{n: 200, huge: -1}); err != nil {
		t.Fatal(err)
	}
	want, err := decodeAll(NewDecoder(bytes.NewReader(buf.Bytes()), Options{}))
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeAll(NewDecoder(iotest.OneByteReader(bytes.NewReader(buf.Bytes())), Options{}))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || len(got) != 200 {
		t.Fatalf("got %d events, want %d", len(got), len(want))
	}
	for i := range got {
		if diff := diffEvents(got[i], want[i]); diff != "" {
			t.Fatalf("event %d:\n%s", i, diff)
		}
	}
}

// stallReader returns no bytes and no error.
type stallReader struct{}

func (stallReader) Read([]byte) (int, error) { return 0, nil }

func TestReaderErrors(t *testing.T) {
	rec := `{` + testTime + `,` + testID + `}`
	doc := `{"Records":[` + rec + `,` + rec + `]}`
	boom := errors.New("connection reset")

	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := io.Copy(zw, &recordStream{n: 2000, huge: -1}); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	cut, err := gzip.NewReader(bytes.NewReader(gz.Bytes()[:gz.Len()/2]))
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		r    io.Reader
		want error
	}{
		{"error before any data", iotest.ErrReader(boom), boom},
		{"error inside a record", io.MultiReader(strings.NewReader(doc[:20]), iotest.ErrReader(boom)), boom},
		{"error after the document", io.MultiReader(strings.NewReader(doc), iotest.ErrReader(boom)), boom},
		{"timeout", iotest.TimeoutReader(strings.NewReader(doc)), iotest.ErrTimeout},
		{"truncated gzip stream", cut, io.ErrUnexpectedEOF},
		{"reader makes no progress", stallReader{}, io.ErrNoProgress},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeAll(NewDecoder(tt.r, Options{}))
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want an error wrapping %v", err, tt.want)
			}
			var e *Error
			if errors.As(err, &e) {
				t.Fatalf("got %v, an *Error", err)
			}
			for _, s := range []error{ErrEmpty, ErrSyntax, ErrTruncated, ErrNoRecords, ErrRecord, ErrTooLarge, ErrTooDeep} {
				if errors.Is(err, s) {
					t.Fatalf("got %v, which wraps %v", err, s)
				}
			}
			if !strings.HasPrefix(err.Error(), "logfile: reading at byte ") {
				t.Errorf("error text %q", err)
			}
		})
	}
}

func TestDataWithEOF(t *testing.T) {
	rec := `{` + testTime + `,` + testID + `}`
	events, err := decodeAll(NewDecoder(iotest.DataErrReader(strings.NewReader(`{"Records":[`+rec+`]}`)), Options{}))
	if err != nil || len(events) != 1 {
		t.Fatalf("got %d events, %v", len(events), err)
	}
}
