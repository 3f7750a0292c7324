package pipeline

import (
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/pipeline/logfile"
	"github.com/ctimport/ctimport/s3scan"
)

// The ErrorType values of import failures.
const (
	// ErrorAccessDenied: the credentials may not read the object.
	ErrorAccessDenied = "AccessDenied"
	// ErrorObjectNotFound: the object vanished between listing and reading.
	ErrorObjectNotFound = "ObjectNotFound"
	// ErrorSourceRead: reading the object kept failing (network, throttling, 5xx).
	ErrorSourceRead = "SourceReadError"
	// ErrorEmptyFile: the object holds no data at all.
	ErrorEmptyFile = "EmptyFile"
	// ErrorInvalidGzip: a .gz object that is not valid gzip data.
	ErrorInvalidGzip = "InvalidGzip"
	// ErrorTruncatedFile: the gzip stream or the JSON document ends early.
	ErrorTruncatedFile = "TruncatedFile"
	// ErrorInvalidJSON: the content is not valid JSON.
	ErrorInvalidJSON = "InvalidJson"
	// ErrorMissingRecords: the JSON has no top-level Records array.
	ErrorMissingRecords = "MissingRecords"
	// ErrorInvalidRecord: a record is not an object or lacks a valid eventTime or eventID.
	ErrorInvalidRecord = "InvalidRecord"
	// ErrorLimitExceeded: a record is too large or too deeply nested, or
	// the file is larger than Config.MaxFileSize once decompressed.
	ErrorLimitExceeded = "LimitExceeded"
	// ErrorInternal: anything else; the message says what.
	ErrorInternal = "InternalError"
)

// FileError is why reading one log file failed: the ErrorType and
// ErrorMessage of its failure entry.
type FileError struct {
	Type      string // one of the Error constants
	Message   string // at most api.MaxMessage bytes
	Transient bool   // reading the file again may succeed
}

func (fe *FileError) Error() string { return fe.Type + ": " + fe.Message }

// classify turns the error of reading one file into a failure entry.
// fromSource tells whether the object reader itself returned err, as opposed
// to the gzip or JSON decoder above it.
func classify(err error, fromSource bool) *FileError {
	var lerr *logfile.Error
	var corrupt flate.CorruptInputError
	var big *fileTooLargeError
	switch {
	case errors.Is(err, s3scan.ErrNotFound):
		return &FileError{Type: ErrorObjectNotFound, Message: "the object no longer exists"}
	case errors.Is(err, s3scan.ErrAccessDenied) && errors.Is(err, s3scan.ErrAssumeRole):
		return &FileError{Type: ErrorAccessDenied, Message: api.ShortMessage(err.Error())}
	case errors.Is(err, s3scan.ErrAccessDenied):
		return &FileError{Type: ErrorAccessDenied, Message: "access denied reading the object"}
	case fromSource || errors.Is(err, s3scan.ErrTransient):
		return &FileError{Type: ErrorSourceRead, Message: api.ShortMessage(err.Error()), Transient: errors.Is(err, s3scan.ErrTransient)}
	case errors.As(err, &big):
		return &FileError{Type: ErrorLimitExceeded, Message: fmt.Sprintf("the file is larger than %d bytes decompressed; raise the cap with --max-file-size", big.limit)}
	case errors.As(err, &lerr):
		msg := lerr.Error()
		if errors.Is(lerr, logfile.ErrTooLarge) {
			msg += "; raise the cap with --max-record-size"
		}
		return &FileError{Type: logfileType(lerr.Err), Message: api.ShortMessage(msg)}
	case errors.Is(err, gzip.ErrHeader):
		return &FileError{Type: ErrorInvalidGzip, Message: "not gzip data: the file does not start with a gzip header"}
	case errors.Is(err, gzip.ErrChecksum):
		return &FileError{Type: ErrorInvalidGzip, Message: "corrupt gzip data: checksum mismatch"}
	case errors.As(err, &corrupt):
		return &FileError{Type: ErrorInvalidGzip, Message: api.ShortMessage("corrupt gzip data: " + corrupt.Error())}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &FileError{Type: ErrorTruncatedFile, Message: "the gzip stream ends before its end marker"}
	case errors.Is(err, errEmptyObject):
		return &FileError{Type: ErrorEmptyFile, Message: "the object is empty"}
	}
	return &FileError{Type: ErrorInternal, Message: api.ShortMessage(err.Error())}
}

func logfileType(sentinel error) string {
	switch sentinel {
	case logfile.ErrEmpty:
		return ErrorEmptyFile
	case logfile.ErrTruncated:
		return ErrorTruncatedFile
	case logfile.ErrNoRecords:
		return ErrorMissingRecords
	case logfile.ErrRecord:
		return ErrorInvalidRecord
	case logfile.ErrTooLarge, logfile.ErrTooDeep:
		return ErrorLimitExceeded
	}
	return ErrorInvalidJSON
}

var errEmptyObject = errors.New("pipeline: empty object")

// fileTooLargeError is the error of reading a file past Config.MaxFileSize.
type fileTooLargeError struct{ limit int64 }

func (e *fileTooLargeError) Error() string {
	return fmt.Sprintf("pipeline: the file is larger than %d bytes decompressed", e.limit)
}
