package pipeline

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"

	"github.com/ctimport/ctimport/pipeline/logfile"
	"github.com/ctimport/ctimport/s3scan"
	"github.com/ctimport/ctimport/selector"
	"github.com/ctimport/ctimport/sink"
)

// Reader reads log files as an import reads them: it decompresses a .gz
// object, caps its decompressed size, decodes its records and keeps the
// events within the import's time range that its selectors select. A Reader is used by one goroutine
// at a time: it keeps its decoding buffer from one file to the next.
type Reader struct {
	// MaxFileSize caps the decompressed size of a file, in bytes.
	MaxFileSize int64
	// MaxRecordSize caps the size of one record, in bytes.
	MaxRecordSize int
	// Import is the import whose time range the events kept are in.
	Import sink.Import
	// NotBefore, when set, drops the events whose eventTime is before it,
	// as past the retention period of the event data store.
	NotBefore time.Time
	// Selectors choose, among the other events, those kept: the advanced
	// event selectors of the import's event data store. nil keeps them all.
	Selectors *selector.Matcher
	// Progress counts the bytes read and the events out of range, past the
	// retention period or not selected; nil counts nothing.
	Progress *Counters

	buf []sink.Event
}

// Read reads the object key, whose content body yields, and calls emit
// with its events within the time range and the retention period that the
// selectors select, a chunk at a time, in the order
// of the file; emit may keep the slice. It returns how many events it
// passed to emit. A failure of the file is returned as a *FileError; an
// error of emit is returned as it is.
func (r *Reader) Read(key string, body io.Reader, emit func([]sink.Event) error) (int64, error) {
	progress := r.Progress
	if progress == nil {
		progress = new(Counters)
	}
	if r.buf == nil {
		r.buf = make([]sink.Event, chunkEvents)
	}
	src := &sourceReader{r: body, progress: progress}
	var in io.Reader = src
	if strings.HasSuffix(key, ".gz") {
		zr, err := gzip.NewReader(src)
		if err != nil {
			switch {
			case err == io.EOF && src.n == 0:
				err = errEmptyObject
			case !bytes.HasPrefix(gzipMagic, src.head):
				err = gzip.ErrHeader
			}
			return 0, src.blame(err)
		}
		defer zr.Close()
		in = zr
	}
	in = &capReader{r: in, max: r.MaxFileSize}
	dec := logfile.NewDecoder(in, logfile.Options{MaxRecordSize: r.MaxRecordSize})
	var events int64
	for {
		n, err := dec.Next(r.buf)
		kept := r.buf[:0]
		var outOfRange, expired, unselected int64
		for i := range r.buf[:n] {
			switch ev := &r.buf[i]; {
			case !InRange(r.Import, ev.Time):
				outOfRange++
			case !ev.Null.Has(sink.EventTime) && ev.Time.Before(r.NotBefore):
				expired++
			case !r.Selectors.Match(ev):
				unselected++
			default:
				kept = append(kept, *ev)
			}
		}
		progress.outOfRange.Add(outOfRange)
		progress.expired.Add(expired)
		progress.unselected.Add(unselected)
		if len(kept) > 0 {
			events += int64(len(kept))
			if err := emit(slices.Clone(kept)); err != nil {
				return events, err
			}
		}
		if err == io.EOF {
			return events, nil
		}
		if err != nil {
			return events, src.blame(err)
		}
	}
}

// gzipMagic starts every gzip stream.
var gzipMagic = []byte{0x1f, 0x8b}

// sourceReader counts the bytes read from an object, keeps its first two
// and remembers the first error the object itself returned, so that a
// failure can be told apart from bad content.
type sourceReader struct {
	r        io.Reader
	n        int64
	head     []byte
	err      error
	progress *Counters
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if len(s.head) < len(gzipMagic) {
		s.head = append(s.head, p[:min(n, len(gzipMagic)-len(s.head))]...)
	}
	s.n += int64(n)
	s.progress.bytesRead.Add(int64(n))
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

// blame classifies the failure err of reading through s: the object's own
// error when it returned one, else err of the layers above it.
func (s *sourceReader) blame(err error) *FileError {
	if s.err != nil {
		return classify(s.err, true)
	}
	return classify(err, false)
}

// capReader passes on at most max bytes of the decompressed content of a
// file, and fails with a *fileTooLargeError when there are more.
type capReader struct {
	r      io.Reader
	max, n int64 // n bytes passed on so far
}

func (c *capReader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if c.n == c.max {
		// At the cap: one more byte, and the file is too large.
		var probe [1]byte
		n, err := c.r.Read(probe[:])
		if n > 0 {
			return 0, &fileTooLargeError{limit: c.max}
		}
		return 0, err
	}
	if int64(len(p)) > c.max-c.n {
		p = p[:c.max-c.n]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// decoder is the stage that reads the fetched files and streams their
// events to the committer, retrying transient failures.
type decoder struct {
	src      s3scan.Source
	reader   Reader // copied by each decoder goroutine
	importID string
	cfg      Config
	progress *Counters
}

// run reads the fetched files until fetched is closed.
func (d *decoder) run(ctx context.Context, fetched <-chan fetchedFile, msgs chan<- message) error {
	rd := d.reader
	for {
		select {
		case p, ok := <-fetched:
			if !ok {
				return nil
			}
			err := d.read(ctx, &rd, p, msgs)
			p.release()
			if err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// read reads one file, retrying transient failures, and reports the
// outcome to the committer. The first attempt reads what the fetcher
// opened; a retry opens the object again. It returns an error only when
// ctx ends.
func (d *decoder) read(ctx context.Context, rd *Reader, p fetchedFile, msgs chan<- message) error {
	for attempt := 1; ; attempt++ {
		if attempt > 1 {
			p.body, p.obj, p.err = d.src.Open(ctx, p.file.Key)
		}
		row, err := d.attempt(ctx, rd, p, msgs)
		row.Attempts = p.prev.Attempts + attempt
		if err == nil {
			return send(ctx, msgs, message{done: &row})
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var fe *FileError
		if !errors.As(err, &fe) {
			fe = classify(err, false)
		}
		final := !fe.Transient || attempt >= d.cfg.Attempts
		row.Status = sink.FileRetry
		if final {
			row.Status = sink.FileFailed
		}
		row.ErrorType, row.ErrorMessage = fe.Type, fe.Message
		if err := send(ctx, msgs, message{failed: &row}); err != nil {
			return err
		}
		if final {
			return nil
		}
		p.prev.ErrorType, p.prev.ErrorMessage = fe.Type, fe.Message
		d.progress.retried()
		if err := d.cfg.wait(ctx, attempt); err != nil {
			return err
		}
	}
}

// attempt streams the file p opened to the committer, or reports why
// opening it failed. The row it returns describes the file; its status and
// error are for the caller to set.
func (d *decoder) attempt(ctx context.Context, rd *Reader, p fetchedFile, msgs chan<- message) (sink.File, error) {
	j := p.job
	row := sink.File{
		ImportID:     d.importID,
		Key:          j.file.Key,
		Prefix:       j.day,
		ETag:         j.file.ETag,
		Size:         j.file.Size,
		Delivery:     j.file.Delivery,
		Status:       sink.FileImported,
		ErrorType:    j.prev.ErrorType,
		ErrorMessage: j.prev.ErrorMessage,
	}
	if p.err != nil {
		return row, classify(p.err, true)
	}
	defer p.body.Close()
	row.ETag, row.Size = p.obj.ETag, p.obj.Size
	n, err := rd.Read(row.Key, p.body, func(events []sink.Event) error {
		return send(ctx, msgs, message{chunk: &chunk{key: row.Key, events: events}})
	})
	row.Events = n
	return row, err
}
