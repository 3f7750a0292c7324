package api

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// Exception is an error the API returns to its caller, named as the
// CloudTrail API names it (for example "ImportNotFoundException").
//
// The package-level Err values are sentinels: test for one with errors.Is,
// which matches any Exception of the same name, and make one carrying a
// reason with its New method.
type Exception struct {
	Name    string
	Message string
}

// Exceptions of the import operations.
var (
	ErrAccountHasOngoingImport     = &Exception{Name: "AccountHasOngoingImportException"}
	ErrEventDataStoreAlreadyExists = &Exception{Name: "EventDataStoreAlreadyExistsException"}
	ErrEventDataStoreARNInvalid    = &Exception{Name: "EventDataStoreARNInvalidException"}
	ErrEventDataStoreNotFound      = &Exception{Name: "EventDataStoreNotFoundException"}
	ErrImportNotFound              = &Exception{Name: "ImportNotFoundException"}
	ErrInvalidImportSource         = &Exception{Name: "InvalidImportSourceException"}
	ErrInvalidMaxResults           = &Exception{Name: "InvalidMaxResultsException"}
	ErrInvalidNextToken            = &Exception{Name: "InvalidNextTokenException"}
	ErrInvalidParameter            = &Exception{Name: "InvalidParameterException"}
	ErrInvalidParameterCombination = &Exception{Name: "InvalidParameterCombinationException"}
	ErrInvalidQueryStatement       = &Exception{Name: "InvalidQueryStatementException"}
)

// Exceptions of any operation: the caller's key may not call it, or the
// server sheds the request for now (retry it after a wait).
var (
	ErrAccessDenied = &Exception{Name: "AccessDeniedException"}
	ErrThrottling   = &Exception{Name: "ThrottlingException"}
)

// Exceptions of the event data store operations.
var (
	ErrEventDataStoreTerminationProtected = &Exception{Name: "EventDataStoreTerminationProtectedException"}
	ErrEventDataStoreHasOngoingImport     = &Exception{Name: "EventDataStoreHasOngoingImportException"}
	ErrInactiveEventDataStore             = &Exception{Name: "InactiveEventDataStoreException"}
	ErrInvalidEventDataStoreStatus        = &Exception{Name: "InvalidEventDataStoreStatusException"}
	ErrInvalidEventSelectors              = &Exception{Name: "InvalidEventSelectorsException"}
)

// Exceptions of the query operations.
var (
	ErrQueryIdNotFound      = &Exception{Name: "QueryIdNotFoundException"}
	ErrInactiveQuery        = &Exception{Name: "InactiveQueryException"}
	ErrInvalidDateRange     = &Exception{Name: "InvalidDateRangeException"}
	ErrInvalidQueryStatus   = &Exception{Name: "InvalidQueryStatusException"}
	ErrMaxConcurrentQueries = &Exception{Name: "MaxConcurrentQueriesException"}
	ErrUnsupportedOperation = &Exception{Name: "UnsupportedOperationException"}
)

// New returns an exception with e's name and a reason made from format and args.
func (e *Exception) New(format string, args ...any) *Exception {
	return &Exception{Name: e.Name, Message: fmt.Sprintf(format, args...)}
}

func (e *Exception) Error() string {
	if e.Message == "" {
		return e.Name
	}
	return e.Name + ": " + e.Message
}

// Is reports whether target is an exception of the same name.
func (e *Exception) Is(target error) bool {
	t, ok := target.(*Exception)
	return ok && t.Name == e.Name
}

// ExceptionName returns the API exception name carried by err, or "" when
// err is not (and does not wrap) an Exception.
func ExceptionName(err error) string {
	var e *Exception
	if errors.As(err, &e) {
		return e.Name
	}
	return ""
}

// MaxMessage is the longest ErrorMessage of an import failure, and of an
// import's or a query's error message, that the API allows.
const MaxMessage = 1000

// ShortMessage shortens s to MaxMessage bytes, on a rune boundary, ending
// it with "..." when it cuts.
func ShortMessage(s string) string {
	if len(s) <= MaxMessage {
		return s
	}
	s = s[:MaxMessage-3]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s + "..."
}
