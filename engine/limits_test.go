package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/engine"
	"github.com/ctimport/ctimport/internal/trailtest"
	"github.com/ctimport/ctimport/pipeline"
	"github.com/ctimport/ctimport/sink"
)

// countingReader counts the bytes read through it.
type countingReader struct {
	io.ReadCloser
	n *atomic.Int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.ReadCloser.Read(p)
	c.n.Add(int64(n))
	return n, err
}

// countReads makes the source count the bytes read of each object, and
// returns the count of all of them.
func (e *env) countReads() *atomic.Int64 {
	n := new(atomic.Int64)
	e.spy.setWrap(func(_ context.Context, _ string, r io.ReadCloser) io.ReadCloser {
		return countingReader{r, n}
	})
	return n
}

// repeated returns a gzip stream of head, n times fill, then tail, made of
// a gzip member for each, without compressing more than fill once. It also
// returns the size of fill's member.
func repeated(head string, fill []byte, n int, tail string) (data []byte, fillSize int) {
	member := trailtest.Gzip(fill)
	var b bytes.Buffer
	b.Write(trailtest.Gzip([]byte(head)))
	for range n {
		b.Write(member)
	}
	b.Write(trailtest.Gzip([]byte(tail)))
	return b.Bytes(), len(member)
}

// onlyFailure returns the one failure entry of import id, which must be
// of key and of type LimitExceeded.
func (e *env) onlyFailure(id, key string) api.ImportFailureListItem {
	e.t.Helper()
	failures := e.failureList(id)
	if len(failures) != 1 || failures[0].Location != key || failures[0].ErrorType != pipeline.ErrorLimitExceeded {
		e.t.Fatalf("failures %+v; want one LimitExceeded of %s", failures, key)
	}
	return failures[0]
}

// TestMaxFileSize checks that a file of MaxFileSize bytes imports and a
// longer one fails with LimitExceeded, whether it is gzip or plain JSON.
func TestMaxFileSize(t *testing.T) {
	at := time.Date(2023, 7, 10, 12, 0, 0, 0, time.UTC)
	doc := logDoc(record(ev{id: "capped", at: at}), record(ev{id: "capped-2", at: at}))
	size := int64(len(doc))
	for _, ext := range []string{".json.gz", ".json"} {
		for _, tt := range []struct {
			max    int64
			failed bool
		}{{size, false}, {size - 1, true}, {2 * size, false}, {1, true}} {
			t.Run(fmt.Sprintf("%s max %d of %d", ext, tt.max, size), func(t *testing.T) {
				e := newEnv(t, engine.Options{Config: pipeline.Config{MaxFileSize: tt.max}})
				k := logKey("", account, region, at, "Capped0000000001", ext)
				data := doc
				if ext == ".json.gz" {
					data = trailtest.Gzip(doc)
				}
				e.putRaw(k, data)
				imp, _ := e.run()
				if !tt.failed {
					if imp.ImportStatus != api.StatusCompleted || imp.ImportStatistics.EventsCompleted != 2 {
						t.Fatalf("import ended %s with %+v; want 2 events imported", imp.ImportStatus, imp.ImportStatistics)
					}
					return
				}
				if imp.ImportStatus != api.StatusFailed {
					t.Fatalf("import ended %s, want FAILED", imp.ImportStatus)
				}
				f := e.onlyFailure(imp.ImportId, k)
				if want := fmt.Sprintf("larger than %d bytes decompressed; raise the cap with --max-file-size", tt.max); !strings.Contains(f.ErrorMessage, want) {
					t.Errorf("ErrorMessage %q does not say %q", f.ErrorMessage, want)
				}
				e.checkStored(e.eds, nil)
			})
		}
	}
}

// TestGzipBomb imports 10 MB of gzip that expands to 10 GiB of whitespace
// between two records: valid JSON, every record small. The file cap stops
// the reading a few MiB past it.
func TestGzipBomb(t *testing.T) {
	const maxFile = 8 << 20
	e := newEnv(t, engine.Options{Config: pipeline.Config{MaxFileSize: maxFile, PrefetchBytes: 1}})
	at := time.Date(2023, 7, 10, 12, 0, 0, 0, time.UTC)
	k := key(at)
	bomb, member := repeated(`{"Records":[`+string(record(ev{id: "bomb-1", at: at})), bytes.Repeat([]byte(" "), 1<<20), 10<<10,
		","+string(record(ev{id: "bomb-2", at: at}))+"]}")
	e.putRaw(k, bomb)
	read := e.countReads()

	start := time.Now()
	imp, _ := e.run()
	if imp.ImportStatus != api.StatusFailed {
		t.Fatalf("import ended %s, want FAILED", imp.ImportStatus)
	}
	f := e.onlyFailure(imp.ImportId, k)
	if !strings.Contains(f.ErrorMessage, "--max-file-size") {
		t.Errorf("ErrorMessage %q does not name --max-file-size", f.ErrorMessage)
	}
	// Each member read is at most 1 MiB decompressed; the gzip reader
	// reads a few KB ahead.
	if n := read.Load(); n > int64((maxFile>>20+16)*member) {
		t.Errorf("read %d of %d bytes of gzip, %d MiB decompressed at most; want the reading to stop near the cap of %d MiB",
			n, len(bomb), n/int64(member), maxFile>>20)
	}
	t.Logf("%d of %d bytes of gzip read in %v", read.Load(), len(bomb), time.Since(start))
	e.checkStored(e.eds, nil)
}

// TestLargeRecord imports a file of one 200 MiB record: the default record
// cap fails it without reading the file whole, and a cap of 256 MiB
// imports it.
func TestLargeRecord(t *testing.T) {
	const size = 200 << 20
	at := time.Date(2023, 7, 10, 12, 0, 0, 0, time.UTC)
	k := key(at)
	head := `{"Records":[{"eventTime":"2023-07-10T11:59:00Z","eventID":"large","requestParameters":{"blob":"`
	data, member := repeated(head, bytes.Repeat([]byte("x"), 1<<20), size>>20, `"}}]}`)

	t.Run("default cap", func(t *testing.T) {
		e := newEnv(t, engine.Options{Config: pipeline.Config{PrefetchBytes: 1}})
		e.putRaw(k, data)
		read := e.countReads()
		imp, _ := e.run()
		if imp.ImportStatus != api.StatusFailed {
			t.Fatalf("import ended %s, want FAILED", imp.ImportStatus)
		}
		f := e.onlyFailure(imp.ImportId, k)
		if want := fmt.Sprintf("record is larger than %d bytes; raise the cap with --max-record-size", engine.DefaultMaxRecordSize); !strings.Contains(f.ErrorMessage, want) {
			t.Errorf("ErrorMessage %q does not say %q", f.ErrorMessage, want)
		}
		if n := read.Load(); n > int64((engine.DefaultMaxRecordSize>>20+16)*member) {
			t.Errorf("read %d of %d bytes of gzip, %d MiB decompressed at most; want the reading to stop near the cap",
				n, len(data), n/int64(member))
		}
	})

	t.Run("256MiB cap", func(t *testing.T) {
		if testing.Short() {
			t.Skip("decodes 200 MiB")
		}
		e := newEnv(t, engine.Options{Config: pipeline.Config{MaxRecordSize: 256 << 20, PrefetchBytes: 1}})
		e.putRaw(k, data)
		imp, _ := e.run()
		if imp.ImportStatus != api.StatusCompleted || imp.ImportStatistics.EventsCompleted != 1 {
			t.Fatalf("import ended %s with %+v (%v); want the record imported", imp.ImportStatus, imp.ImportStatistics, e.failureList(imp.ImportId))
		}
		n := 0
		for _, x := range e.store.Events(storeID(e.eds)) {
			n++
			if got := x.Values[sink.RequestParameters]; x.ID() != "large" || len(got) != size+len(`{"blob":""}`) || strings.Trim(got[9:len(got)-2], "x") != "" {
				t.Errorf("stored event %s with requestParameters of %d bytes", x.ID(), len(got))
			}
		}
		if n != 1 {
			t.Errorf("stored %d events, want 1", n)
		}
	})
}
