package trailtest_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/ctimport/ctimport/internal/trailtest"
)

func TestGzip(t *testing.T) {
	want := []byte(`{"Records":[]}`)
	zr, err := gzip.NewReader(bytes.NewReader(trailtest.Gzip(want)))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(zr)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("Gzip then gunzip = %q, %v; want %q", got, err, want)
	}
}

func TestLogFiles(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{
		"b/2.json.gz":   "two",
		"a/1.json.gz":   "one",
		"a/notes.txt":   "not a log file",
		"a/1.json":      "not gzip",
		"c/d/3.json.gz": "three",
	} {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	files, err := trailtest.LogFiles(dir)
	want := []trailtest.File{{Key: "a/1.json.gz", Data: []byte("one")}, {Key: "b/2.json.gz", Data: []byte("two")}, {Key: "c/d/3.json.gz", Data: []byte("three")}}
	if err != nil || len(files) != len(want) {
		t.Fatalf("LogFiles = %v, %v; want %v", files, err, want)
	}
	for i := range want {
		if files[i].Key != want[i].Key || !bytes.Equal(files[i].Data, want[i].Data) {
			t.Errorf("file %d = %s %q, want %s %q", i, files[i].Key, files[i].Data, want[i].Key, want[i].Data)
		}
	}
	if _, err := trailtest.LogFiles(t.TempDir()); err == nil {
		t.Errorf("LogFiles of an empty directory did not fail")
	}
}
