// Package logfile decodes CloudTrail log files into events.
//
// A log file, once decompressed, is one JSON object whose Records member is
// an array of event records. The Decoder streams it: it validates the whole
// document as JSON and holds at most one record in memory at a time, so the
// size of a file is bounded only by the size of its largest record. Each
// record becomes a sink.Event; members with no column of their own are kept
// in the ExtraFields column, so nothing in a record is dropped.
//
// Input CloudTrail never writes is read rather than refused where nothing
// is lost: a UTF-8 byte-order mark at the start is skipped; a byte that is
// not UTF-8 becomes U+FFFD, as encoding/json makes it; a number keeps its
// text, however large; and of the members of one name in a record, the
// first fills its column and the others go to ExtraFields.
package logfile

import (
	"fmt"
	"io"

	"github.com/ctimport/ctimport/sink"
)

// Options bound the resources a Decoder may use.
type Options struct {
	// MaxRecordSize is the size in bytes of the largest record accepted;
	// 0 means 64 MiB. It also bounds the members of the top-level object
	// other than Records, which the Decoder validates and ignores.
	MaxRecordSize int
	// MaxDepth is the deepest JSON nesting accepted, counted from the
	// top-level object (depth 1), so a record is at depth 3; 0 means 10000.
	MaxDepth int
}

const (
	defaultMaxRecordSize = 64 << 20
	defaultMaxDepth      = 10000
	// defaultBufferSize is the size the read buffer grows to while the
	// input goes on; past it, it grows only as a record needs it, up to
	// MaxRecordSize+1.
	defaultBufferSize = 256 << 10
	// firstBufferSize is the size of the first read buffer: a small log
	// file, of which CloudTrail delivers many, needs no larger one.
	firstBufferSize = 4 << 10
	// recordDepth is the nesting depth of a record object.
	recordDepth = 3
)

// The states of the decoder outside records.
const (
	stStart       = iota // before the top-level object
	stKeyOrEnd           // just after '{' of the top-level object
	stKey                // after ',' in the top-level object
	stAfterMember        // after a member of the top-level object
	stFirst              // just after the '[' of Records
	stElem               // after ',' in Records
	stNext               // after a record
	stTrailer            // after the top-level object
)

// The units scanUnit scans whole.
const (
	unitKey = iota
	unitValue
	unitRecord
)

// A Decoder reads the records of one CloudTrail log file.
type Decoder struct {
	r   io.Reader
	buf []byte
	// buf[pos:end] is the input read and not yet consumed; buf[0] is at
	// offset base of the stream.
	pos, end int
	base     int64
	eof      bool
	rerr     error // the error that ended reading, wrapped

	maxRecord int
	maxDepth  int
	bufSize   int // the size the buffer grows to while the input goes on
	maxBuf    int // the largest the buffer grows

	state       int
	seenRecords bool
	records     int
	cur         int   // the index of the record being decoded, or -1
	err         error // the error that ended decoding, or io.EOF

	// Scratch state of the record being scanned, reused across records.
	stack  []byte
	bad    bool // the record holds invalid UTF-8
	keyEsc bool // the key scanned by scanUnit holds escapes
	seen   sink.ColumnSet
	esc    sink.ColumnSet // string columns whose value holds escapes
	cols   [sink.NumColumns]span
	extra  []member
	key    []byte
	san    []byte
	out    []byte
}

// NewDecoder returns a Decoder reading the decompressed log file from r.
func NewDecoder(r io.Reader, opts Options) *Decoder {
	d := &Decoder{r: r, maxRecord: opts.MaxRecordSize, maxDepth: opts.MaxDepth, bufSize: defaultBufferSize, cur: -1}
	if d.maxRecord <= 0 {
		d.maxRecord = defaultMaxRecordSize
	}
	if d.maxDepth <= 0 {
		d.maxDepth = defaultMaxDepth
	}
	d.maxBuf = max(d.bufSize, d.maxRecord+1)
	return d
}

// Next decodes up to len(dst) records into dst and returns how many it
// decoded. It returns either n > 0 and a nil error, or 0 and an error:
// io.EOF after the last record of a valid log file; otherwise an *Error
// wrapping one of the sentinel errors of this package when the log file is
// malformed, or an error wrapping the one r returned. Any error but a nil
// one is final.
//
// The events share no memory with the Decoder: they stay valid after later
// calls.
func (d *Decoder) Next(dst []sink.Event) (int, error) {
	n := 0
	for n < len(dst) && d.err == nil {
		if err := d.seekRecord(); err != nil {
			d.err = err
			break
		}
		if err := d.decodeRecord(&dst[n]); err != nil {
			d.err = err
			break
		}
		n++
	}
	if n > 0 {
		return n, nil
	}
	return 0, d.err
}

// Records returns the number of records decoded so far.
func (d *Decoder) Records() int { return d.records }

// more reads input into the buffer, keeping buf[from:end] and shifting it
// to the front. It returns io.EOF at the end of the input.
func (d *Decoder) more(from int) error {
	if d.rerr != nil {
		return d.rerr
	}
	if d.eof {
		return io.EOF
	}
	if from > 0 {
		d.end = copy(d.buf, d.buf[from:d.end])
		d.pos -= from
		d.base += int64(from)
	}
	// The buffer grows when it is full, and up to bufSize while the input
	// goes on, so that a small file needs only a small buffer.
	if full := d.end == len(d.buf); full || len(d.buf) < d.bufSize {
		limit := d.bufSize
		if full {
			// Callers keep what is buffered at most d.maxRecord bytes
			// long, so the buffer can grow.
			limit = d.maxBuf
		}
		if size := min(max(2*len(d.buf), min(firstBufferSize, d.bufSize)), limit); size > len(d.buf) {
			buf := make([]byte, size)
			copy(buf, d.buf[:d.end])
			d.buf = buf
		}
	}
	// Fill the buffer, so that a unit scanned again after more input
	// arrives is scanned a bounded number of times.
	start := d.end
	for empty := 0; d.end < len(d.buf); {
		n, err := d.r.Read(d.buf[d.end:])
		if n < 0 || n > len(d.buf)-d.end {
			d.rerr = fmt.Errorf("logfile: reading at byte %d: reader returned invalid count %d", d.base+int64(d.end), n)
			break
		}
		d.end += n
		if err == io.EOF {
			d.eof = true
			break
		}
		if err != nil {
			d.rerr = fmt.Errorf("logfile: reading at byte %d: %w", d.base+int64(d.end), err)
			break
		}
		if n > 0 {
			empty = 0
		} else if empty++; empty == 100 {
			d.rerr = fmt.Errorf("logfile: reading at byte %d: %w", d.base+int64(d.end), io.ErrNoProgress)
			break
		}
	}
	switch {
	case d.end > start:
		return nil
	case d.rerr != nil:
		return d.rerr
	}
	return io.EOF
}

// next skips whitespace and returns the next byte without consuming it;
// ok is false at the end of the input.
func (d *Decoder) next() (c byte, ok bool, err error) {
	for {
		if d.pos = skipSpace(d.buf[:d.end], d.pos); d.pos < d.end {
			return d.buf[d.pos], true, nil
		}
		if err := d.more(d.pos); err == io.EOF {
			return 0, false, nil
		} else if err != nil {
			return 0, false, err
		}
	}
}

// peek is next where the input may not end.
func (d *Decoder) peek() (byte, error) {
	c, ok, err := d.next()
	if err == nil && !ok {
		err = d.truncated()
	}
	return c, err
}

func (d *Decoder) truncated() error {
	return d.errAt(ErrTruncated, d.end, "unexpected end of input")
}

// skipBOM skips a UTF-8 byte-order mark at the start of the input.
func (d *Decoder) skipBOM() {
	for d.end < 3 && d.more(0) == nil {
	}
	if d.end >= 3 && d.buf[0] == 0xef && d.buf[1] == 0xbb && d.buf[2] == 0xbf {
		d.pos = 3
	}
}

// scanUnit scans the key, value or record whose first byte is buf[pos],
// reading more input until the unit is whole, and returns the index past it.
func (d *Decoder) scanUnit(unit int) (int, error) {
	for {
		var (
			end int
			err error
		)
		b := d.buf[:d.end]
		switch unit {
		case unitKey:
			end, d.keyEsc, err = d.scanString(b, d.pos)
		case unitValue:
			end, err = d.scanValue(b, d.pos, 1)
		default:
			end, err = d.scanRecord(b, d.pos)
		}
		if err == nil && end-d.pos <= d.maxRecord {
			return end, nil
		}
		if err != nil && err != errNeedMore {
			return 0, err
		}
		if end-d.pos > d.maxRecord || d.end-d.pos > d.maxRecord {
			what := "value"
			if unit == unitRecord {
				what = "record"
			}
			return 0, d.errAt(ErrTooLarge, d.pos, fmt.Sprintf("%s is larger than %d bytes", what, d.maxRecord))
		}
		if err := d.more(d.pos); err == io.EOF {
			return 0, d.truncated()
		} else if err != nil {
			return 0, err
		}
	}
}

// seekRecord advances to the first byte of the next record. After the end
// of a valid log file it returns io.EOF.
func (d *Decoder) seekRecord() error {
	if d.state == stStart {
		d.skipBOM()
	}
	for {
		c, ok, err := d.next()
		switch {
		case err != nil:
			return err
		case !ok && d.state == stStart:
			return d.errAt(ErrEmpty, d.end, "log file holds no json")
		case !ok && d.state == stTrailer:
			return io.EOF
		case !ok:
			return d.truncated()
		}
		switch d.state {
		case stStart:
			if c != '{' {
				if startsValue(c) {
					return d.errAt(ErrNoRecords, d.pos, "top-level value is "+jsonType(c)+", not an object")
				}
				return d.syntaxAt(d.buf, d.pos, "looking for beginning of value")
			}
			d.pos++
			d.state = stKeyOrEnd
		case stKeyOrEnd, stKey:
			if c == '}' && d.state == stKeyOrEnd {
				if err := d.endObject(); err != nil {
					return err
				}
				continue
			}
			if c != '"' {
				return d.syntaxAt(d.buf, d.pos, "looking for beginning of object key string")
			}
			if err := d.member(); err != nil {
				return err
			}
		case stAfterMember:
			switch c {
			case ',':
				d.pos++
				d.state = stKey
			case '}':
				if err := d.endObject(); err != nil {
					return err
				}
			default:
				return d.syntaxAt(d.buf, d.pos, "after object key:value pair")
			}
		case stFirst, stElem:
			if c == ']' {
				if d.state == stElem {
					return d.syntaxAt(d.buf, d.pos, "looking for beginning of value")
				}
				d.pos++
				d.state = stAfterMember
				continue
			}
			d.state = stNext
			return nil
		case stNext:
			switch c {
			case ',':
				d.pos++
				d.state = stElem
			case ']':
				d.pos++
				d.state = stAfterMember
			default:
				return d.syntaxAt(d.buf, d.pos, "after array element")
			}
		default:
			return d.syntaxAt(d.buf, d.pos, "after top-level value")
		}
	}
}

// member reads a member of the top-level object, stopping inside Records.
func (d *Decoder) member() error {
	at := d.base + int64(d.pos)
	end, err := d.scanUnit(unitKey)
	if err != nil {
		return err
	}
	key := d.buf[d.pos+1 : end-1]
	if d.keyEsc {
		d.key = appendUnescaped(d.key[:0], key)
		key = d.key
	}
	records := string(key) == "Records"
	d.pos = end
	c, err := d.peek()
	if err != nil {
		return err
	}
	if c != ':' {
		return d.syntaxAt(d.buf, d.pos, "after object key")
	}
	d.pos++
	if c, err = d.peek(); err != nil {
		return err
	}
	if !records {
		if end, err = d.scanUnit(unitValue); err != nil {
			return err
		}
		d.pos = end
		d.state = stAfterMember
		return nil
	}
	if d.seenRecords {
		return &Error{Err: ErrSyntax, Record: -1, Offset: at, Msg: "duplicate Records member"}
	}
	d.seenRecords = true
	if c != '[' {
		if startsValue(c) {
			return d.errAt(ErrNoRecords, d.pos, "Records is "+jsonType(c)+", not an array")
		}
		return d.syntaxAt(d.buf, d.pos, "looking for beginning of value")
	}
	if d.maxDepth < recordDepth-1 {
		return d.tooDeep(d.pos)
	}
	d.pos++
	d.state = stFirst
	return nil
}

// endObject consumes the '}' that closes the top-level object.
func (d *Decoder) endObject() error {
	if !d.seenRecords {
		return d.errAt(ErrNoRecords, d.pos, "top-level object has no Records member")
	}
	d.pos++
	d.state = stTrailer
	return nil
}

// decodeRecord decodes the record starting at buf[pos] into ev.
func (d *Decoder) decodeRecord(ev *sink.Event) error {
	d.cur = d.records
	if c := d.buf[d.pos]; c != '{' {
		if !startsValue(c) {
			return d.syntaxAt(d.buf, d.pos, "looking for beginning of value")
		}
		if c != '[' && c != '"' {
			// A literal or number is only known to be one once it is
			// scanned: "nope" is a syntax error, not null.
			if _, err := d.scanUnit(unitValue); err != nil {
				return err
			}
		}
		return d.errAt(ErrRecord, d.pos, "record is "+jsonType(c)+", not an object")
	}
	if d.maxDepth < recordDepth {
		return d.tooDeep(d.pos)
	}
	end, err := d.scanUnit(unitRecord)
	if err != nil {
		return err
	}
	start := d.pos
	rec := d.buf[start:end]
	if d.bad {
		d.san = sanitize(d.san[:0], rec)
		rec = d.san
		if _, err := d.scanRecord(rec, 0); err != nil {
			return err
		}
	}
	if err := d.build(rec, start, ev); err != nil {
		return err
	}
	d.pos = end
	d.records++
	d.cur = -1
	return nil
}
