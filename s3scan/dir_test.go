package s3scan_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctimport/ctimport/s3scan"
	"github.com/ctimport/ctimport/s3scan/s3scantest"
)

// writeTree writes objects as files below dir; keys ending in "/" are
// directories.
func writeTree(t testing.TB, dir string, objects map[string][]byte) {
	t.Helper()
	for key, data := range objects {
		p := filepath.Join(dir, filepath.FromSlash(key))
		if strings.HasSuffix(key, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func newDir(t *testing.T, objects map[string][]byte) s3scan.Source {
	dir := t.TempDir()
	writeTree(t, dir, objects)
	src, err := s3scan.NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestDirSuite(t *testing.T) {
	s3scantest.RunSuite(t, newDir)
}

func TestNewDirErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, root := range []string{filepath.Join(dir, "missing"), file} {
		if _, err := s3scan.NewDir(root); !errors.Is(err, s3scan.ErrNoBucket) {
			t.Errorf("NewDir(%q): %v, want ErrNoBucket", root, err)
		}
	}
	src, err := s3scan.NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := src.String(), "file://"+filepath.ToSlash(dir); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestDirStaysInRoot(t *testing.T) {
	parent := t.TempDir()
	writeTree(t, parent, map[string][]byte{"secret": []byte("s"), "root/in/file": []byte("f")})
	root := filepath.Join(parent, "root")
	if err := os.Symlink(filepath.Join(parent, "secret"), filepath.Join(root, "in", "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(parent, filepath.Join(root, "up")); err != nil {
		t.Fatal(err)
	}
	src, err := s3scan.NewDir(root)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"../secret", "in/../../secret", "/secret", "in/link", "up/secret", "in//file", "./in/file", ""} {
		rc, _, err := src.Open(context.Background(), key)
		if err == nil {
			data, _ := io.ReadAll(rc)
			rc.Close()
			t.Errorf("Open(%q) read %q", key, data)
		}
	}
	for _, prefix := range []string{"../", "in/../../", "up/", "/"} {
		p, err := src.List(context.Background(), prefix, "")
		if len(p.Objects)+len(p.Prefixes) != 0 {
			t.Errorf("List(%q) = %+v, %v", prefix, p, err)
		}
	}
	p, err := src.List(context.Background(), "", "")
	if err != nil || len(p.Prefixes) != 1 || p.Prefixes[0] != "in/" || len(p.Objects) != 0 {
		t.Errorf("List(\"\") = %+v, %v; want only in/", p, err)
	}
}

func TestDirETag(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "k")
	writeTree(t, dir, map[string][]byte{"k": []byte("aaaa")})
	src, err := s3scan.NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	etag := func() string {
		t.Helper()
		rc, o, err := src.Open(context.Background(), "k")
		if err != nil {
			t.Fatal(err)
		}
		rc.Close()
		return o.ETag
	}
	mtime := time.Date(2024, 1, 2, 3, 4, 5, 6, time.UTC)
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	e1 := etag()
	if e1 != etag() {
		t.Error("ETag of an unchanged file changed")
	}
	if err := os.WriteFile(p, []byte("bbbb"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime.Add(time.Millisecond), mtime.Add(time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if e2 := etag(); e2 == e1 {
		t.Errorf("ETag %q did not change with the content", e2)
	}
}

func TestDirShrinkWhileReading(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string][]byte{"k": []byte(strings.Repeat("x", 1000))})
	src, err := s3scan.NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	rc, o, err := src.Open(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if err := os.Truncate(filepath.Join(dir, "k"), 10); err != nil {
		t.Fatal(err)
	}
	data, err := io.ReadAll(rc)
	if !errors.Is(err, s3scan.ErrTransient) || !errors.Is(err, io.ErrUnexpectedEOF) || o.Size != 1000 {
		t.Errorf("read %d of %d bytes: %v; want a transient unexpected EOF", len(data), o.Size, err)
	}
}

func TestDirPermissions(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads files whatever their mode")
	}
	dir := t.TempDir()
	writeTree(t, dir, map[string][]byte{"locked/k": []byte("x"), "k": []byte("y")})
	for _, p := range []string{filepath.Join(dir, "locked"), filepath.Join(dir, "k")} {
		if err := os.Chmod(p, 0); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Chmod(p, 0o755) })
	}
	src, err := s3scan.NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := src.Open(context.Background(), "k"); !errors.Is(err, s3scan.ErrAccessDenied) {
		t.Errorf("Open of an unreadable file: %v, want ErrAccessDenied", err)
	}
	if _, err := src.List(context.Background(), "locked/", ""); !errors.Is(err, s3scan.ErrAccessDenied) {
		t.Errorf("List of an unreadable directory: %v, want ErrAccessDenied", err)
	}
}
