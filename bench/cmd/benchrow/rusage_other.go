//go:build !unix

package main

import (
	"errors"
	"os"
)

// peakRSS fails: only unix systems report the peak RSS of a process.
func peakRSS(*os.ProcessState) (int64, error) {
	return 0, errors.New("peak RSS is measured on unix systems only")
}
