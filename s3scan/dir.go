package s3scan

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"syscall"
)

// NewDir returns a Source reading the directory tree root as a bucket, as
// left by "aws s3 sync s3://bucket root". Keys are the "/"-separated paths
// of regular files relative to root; directories are the common prefixes.
// Listings are sorted and paged like S3's. No key reaches outside root,
// even through symbolic links.
//
// ETags are made from a file's size and modification time, so a file
// rewritten in place gets a new one without its content being hashed.
//
// A missing root is ErrNoBucket; one that may not be read ErrAccessDenied.
func NewDir(root string) (Source, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("s3scan: %w", err)
	}
	fi, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, &opError{op: "open directory", name: abs, kind: ErrNoBucket, err: err}
	case errors.Is(err, fs.ErrPermission):
		return nil, &opError{op: "open directory", name: abs, kind: ErrAccessDenied, err: err}
	case err != nil:
		return nil, &opError{op: "open directory", name: abs, err: err}
	case !fi.IsDir():
		return nil, &opError{op: "open directory", name: abs, kind: ErrNoBucket, err: errors.New("not a directory")}
	}
	r, err := os.OpenRoot(abs)
	if err != nil {
		return nil, &opError{op: "open directory", name: abs, kind: fsKind(err, ErrNoBucket), err: err}
	}
	return &dirSource{root: r, path: abs}, nil
}

type dirSource struct {
	root *os.Root
	path string
}

// dirEntry is a key of a directory listing.
type dirEntry struct {
	key  string
	dir  bool
	info func() (fs.FileInfo, error)
}

func (d *dirSource) List(ctx context.Context, prefix, token string) (Page, error) {
	if err := ctx.Err(); err != nil {
		return Page{}, &opError{op: "list", name: d.keyName(prefix), err: err}
	}
	dirKey, namePrefix := "", prefix
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		dirKey, namePrefix = prefix[:i+1], prefix[i+1:]
	}
	dirName := "."
	if dirKey != "" {
		dirName = strings.TrimSuffix(dirKey, "/")
		if !fs.ValidPath(dirName) {
			return Page{}, nil
		}
	}
	var names []fs.DirEntry
	f, err := d.root.Open(filepath.FromSlash(dirName))
	if err == nil {
		names, err = f.ReadDir(-1)
		f.Close()
	}
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return Page{}, nil // no keys below prefix
	case err != nil:
		return Page{}, &opError{op: "list", name: d.keyName(prefix), kind: fsKind(err, nil), err: err}
	}

	entries := make([]dirEntry, 0, len(names))
	for _, e := range names {
		name := e.Name()
		if !strings.HasPrefix(name, namePrefix) {
			continue
		}
		de := dirEntry{key: dirKey + name, info: e.Info}
		typ := e.Type()
		if typ&fs.ModeSymlink != 0 {
			target := filepath.Join(filepath.FromSlash(dirName), name)
			fi, err := d.root.Stat(target)
			if err != nil {
				continue // dangling, or pointing outside root
			}
			typ = fi.Mode().Type()
			de.info = func() (fs.FileInfo, error) { return d.root.Stat(target) }
		}
		switch {
		case typ.IsDir():
			de.key += "/"
			de.dir = true
			entries = append(entries, de)
		case typ.IsRegular():
			entries = append(entries, de)
		}
	}
	slices.SortFunc(entries, func(a, b dirEntry) int { return strings.Compare(a.key, b.key) })
	entries = entries[sort.Search(len(entries), func(i int) bool { return entries[i].key > token }):]

	var p Page
	if len(entries) > pageSize {
		entries = entries[:pageSize]
		p.Next = entries[pageSize-1].key
	}
	for _, e := range entries {
		if e.dir {
			p.Prefixes = append(p.Prefixes, e.key)
			continue
		}
		fi, err := e.info()
		if err != nil {
			continue // removed since the directory was read
		}
		p.Objects = append(p.Objects, fileObject(e.key, fi))
	}
	return p, nil
}

func (d *dirSource) Open(ctx context.Context, key string) (io.ReadCloser, Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, Object{}, &opError{op: "get", name: d.keyName(key), err: err}
	}
	if !fs.ValidPath(key) || key == "." {
		return nil, Object{}, &opError{op: "get", name: d.keyName(key), kind: ErrNotFound, err: errors.New("not a file name")}
	}
	f, err := d.root.Open(filepath.FromSlash(key))
	if err != nil {
		return nil, Object{}, &opError{op: "get", name: d.keyName(key), kind: fsKind(err, ErrNotFound), err: err}
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, Object{}, &opError{op: "get", name: d.keyName(key), kind: fsKind(err, ErrNotFound), err: err}
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, Object{}, &opError{op: "get", name: d.keyName(key), kind: ErrNotFound, err: errors.New("not a regular file")}
	}
	return &dirBody{f: f, name: d.keyName(key), left: fi.Size()}, fileObject(key, fi), nil
}

func (d *dirSource) String() string {
	return Location{Scheme: "file", Dir: d.path}.String()
}

func (d *dirSource) keyName(key string) string {
	return filepath.Join(d.path, filepath.FromSlash(key))
}

func fileObject(key string, fi fs.FileInfo) Object {
	mt := fi.ModTime().UTC()
	return Object{
		Key:          key,
		Size:         fi.Size(),
		ETag:         fmt.Sprintf("%x-%x", fi.Size(), mt.UnixNano()),
		LastModified: mt,
	}
}

// fsKind returns the sentinel error of a file system error: ErrAccessDenied
// for permission errors, missing for a missing file, nil otherwise.
func fsKind(err, missing error) error {
	switch {
	case errors.Is(err, fs.ErrPermission):
		return ErrAccessDenied
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return missing
	}
	return nil
}

// dirBody reads a file up to the size Open reported: a file that grows
// while it is read is cut there, and one that shrinks is an unexpected EOF,
// which is transient as the file is being rewritten.
type dirBody struct {
	f    *os.File
	name string
	left int64
}

func (b *dirBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.f.Read(p)
	b.left -= int64(n)
	switch {
	case err == io.EOF && b.left > 0:
		return n, &opError{op: "read", name: b.name, kind: ErrTransient, err: fmt.Errorf("file shrank while it was read: %w", io.ErrUnexpectedEOF)}
	case err == io.EOF:
		return n, nil
	case err != nil:
		return n, &opError{op: "read", name: b.name, err: err}
	}
	return n, nil
}

func (b *dirBody) Close() error {
	return b.f.Close()
}
