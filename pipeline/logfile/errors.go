package logfile

import (
	"errors"
	"fmt"
	"strconv"
)

// The kinds of malformed log file; test with errors.Is. The Decoder returns
// them inside an *Error that says where the problem is.
var (
	// ErrEmpty means the input holds no JSON at all: zero bytes or only whitespace.
	ErrEmpty = errors.New("logfile: empty log file")
	// ErrSyntax means the input is not valid JSON.
	ErrSyntax = errors.New("logfile: invalid json")
	// ErrTruncated means the input ends inside the JSON document.
	ErrTruncated = errors.New("logfile: log file is truncated")
	// ErrNoRecords means the top-level value is not an object with a
	// Records array.
	ErrNoRecords = errors.New("logfile: no records array")
	// ErrRecord means a record is not an object, or lacks a valid eventTime
	// or eventID.
	ErrRecord = errors.New("logfile: invalid record")
	// ErrTooLarge means a record, or another value the decoder must hold
	// whole, is larger than Options.MaxRecordSize.
	ErrTooLarge = errors.New("logfile: record too large")
	// ErrTooDeep means the JSON nests deeper than Options.MaxDepth.
	ErrTooDeep = errors.New("logfile: json nested too deeply")
)

// Error describes a malformed log file.
type Error struct {
	// Err is one of the sentinel errors of this package.
	Err error
	// Record is the 0-based index of the record at fault, or -1 when the
	// fault is outside every record.
	Record int
	// Offset is the byte offset of the fault in the decompressed stream.
	Offset int64
	// Msg says what is wrong.
	Msg string
}

// Error returns a one-line description, such as
// `record 17 at byte 48213: eventID is missing`.
func (e *Error) Error() string {
	if e.Record >= 0 {
		return "record " + strconv.Itoa(e.Record) + " at byte " + strconv.FormatInt(e.Offset, 10) + ": " + e.Msg
	}
	return "at byte " + strconv.FormatInt(e.Offset, 10) + ": " + e.Msg
}

// Unwrap returns the sentinel error.
func (e *Error) Unwrap() error { return e.Err }

// quoteByte renders c for an error message.
func quoteByte(c byte) string {
	switch {
	case c == '\'':
		return `'\''`
	case c == '"':
		return `'"'`
	case c >= 0x20 && c < 0x7f:
		return "'" + string(rune(c)) + "'"
	}
	return fmt.Sprintf("byte 0x%02x", c)
}

// jsonType names the type of the JSON value that starts with byte c.
func jsonType(c byte) string {
	switch c {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// startsValue reports whether c can begin a JSON value.
func startsValue(c byte) bool {
	switch c {
	case '{', '[', '"', 't', 'f', 'n', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return true
	}
	return false
}

// quoteValue quotes s for an error message, shortening it when it is long.
func quoteValue(s string) string {
	const max = 64
	if len(s) > max {
		cut := max
		for cut > 0 && s[cut]&0xc0 == 0x80 {
			cut--
		}
		return strconv.Quote(s[:cut]) + "..."
	}
	return strconv.Quote(s)
}
