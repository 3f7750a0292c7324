// Package trailtest holds what tests of several packages use to build
// CloudTrail log files.
package trailtest

import (
	"bytes"
	"compress/gzip"
)

// Gzip compresses data as CloudTrail compresses its log files.
func Gzip(data []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data) // writes to a bytes.Buffer cannot fail
	zw.Close()
	return buf.Bytes()
}
