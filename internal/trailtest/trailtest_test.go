package trailtest_test

import (
	"bytes"
	"compress/gzip"
	"io"
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
