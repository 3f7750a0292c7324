// Package trailtest holds what tests of several packages use to build and
// read CloudTrail log files.
package trailtest

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Gzip compresses data as CloudTrail compresses its log files.
func Gzip(data []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data) // writes to a bytes.Buffer cannot fail
	zw.Close()
	return buf.Bytes()
}

// File is a log file below a directory, as delivered.
type File struct {
	// Key is the file's path relative to the directory, with slashes.
	Key string
	// Data is the file's content: gzip JSON.
	Data []byte
}

// LogFiles reads the .json.gz files below root, in key order. It fails
// when there is none.
func LogFiles(root string) ([]File, error) {
	var files []File
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json.gz") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		files = append(files, File{Key: filepath.ToSlash(rel), Data: data})
		return nil
	})
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("no log files below %s", root)
	}
	return files, err
}
