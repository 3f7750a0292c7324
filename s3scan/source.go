// Package s3scan finds and reads CloudTrail log files in an S3 bucket laid
// out as CloudTrail writes it, or in a local copy of such a bucket.
//
// A Source is one bucket (S3, MinIO, a local directory, or memory in tests).
// Discover walks its AWSLogs tree down to the account/region/day prefixes a
// time window can need, listing as little as it can; ListDay lists the log
// files of one day prefix.
package s3scan

import (
	"context"
	"errors"
	"io"
	"time"
)

// Errors of sources; test with errors.Is.
var (
	// ErrNoBucket means the bucket (or root directory) does not exist.
	ErrNoBucket = errors.New("s3scan: no such bucket")
	// ErrNotFound means the object does not exist.
	ErrNotFound = errors.New("s3scan: no such key")
	// ErrAccessDenied means the credentials may not list or read it.
	ErrAccessDenied = errors.New("s3scan: access denied")
	// ErrTransient marks an error that may not happen again: a 5xx answer,
	// throttling, a timeout, a reset connection. Retrying may succeed.
	ErrTransient = errors.New("s3scan: transient error")
	// ErrBadURI means a location URI is not one s3scan reads.
	ErrBadURI = errors.New("s3scan: invalid location")
	// ErrAssumeRole marks a failure to assume the role of S3Config.RoleARN.
	// Such errors also wrap ErrAccessDenied when STS refused the role, or
	// ErrTransient when assuming it again may succeed.
	ErrAssumeRole = errors.New("s3scan: cannot assume the role")
)

// Object is one object of a source.
type Object struct {
	Key          string
	Size         int64
	ETag         string
	LastModified time.Time
}

// Page is the answer to one list request.
type Page struct {
	// Objects are the keys directly below the listed prefix.
	Objects []Object
	// Prefixes are the common prefixes directly below the listed prefix,
	// each ending in "/".
	Prefixes []string
	// Next continues the listing when passed to List as its token; it is
	// "" on the last page. Tokens are opaque and may be used again.
	Next string
}

// Source is a bucket-like namespace of objects with "/"-separated keys.
// Implementations are safe for concurrent use. Their errors wrap the
// sentinel errors above where one applies, and the context's error when
// ctx ended.
type Source interface {
	// List makes exactly one list request for the keys directly below
	// prefix (delimiter "/"), continuing after token, which is "" for the
	// first page. As in S3, prefix is a plain key prefix, usually "" or
	// ending in "/"; a folder marker object equal to prefix may be listed.
	// Objects and Prefixes are in lexical (byte) order, and a page holds at
	// most 1000 of them. A prefix with no keys is an empty last page, not
	// an error.
	List(ctx context.Context, prefix, token string) (Page, error)
	// Open starts reading the object key and returns its size and ETag as
	// read; the request is made before Open returns, so that its errors
	// are Open's. A missing key is ErrNotFound. Errors of the reader's Read
	// other than io.EOF wrap ErrTransient when reading again may succeed.
	// The caller closes the reader.
	Open(ctx context.Context, key string) (io.ReadCloser, Object, error)
	// String describes the source for messages, without secrets.
	String() string
}
