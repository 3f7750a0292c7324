// Package s3scantest helps test code that reads s3scan sources: Mem is an
// in-memory source with fault injection, and RunSuite is the conformance
// suite every s3scan.Source implementation passes.
package s3scantest

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ctimport/ctimport/s3scan"
)

// Mem is an in-memory s3scan.Source. Its listings follow S3's rules for
// prefixes, delimiters and continuation tokens; its ETags are the MD5 of
// the content, as S3's are for simple uploads. It is safe for concurrent
// use.
type Mem struct {
	mu       sync.Mutex
	keys     []string // sorted
	objects  map[string]memObject
	pageSize int
	faults   map[string]*Fault
	listErrs map[string]*listFault

	lists, opens, open atomic.Int64
}

type memObject struct {
	data []byte
	obj  s3scan.Object
}

// Fault makes Open or the reads of one key fail.
type Fault struct {
	// Open, when set, is returned by Open.
	Open error
	// Read, when set, is returned by Read once ReadAfter bytes have been
	// read; the bytes before it are the object's.
	Read      error
	ReadAfter int64
	// Times is how many Opens the fault applies to before it is removed;
	// 0 means every Open.
	Times int
}

type listFault struct {
	err   error
	times int
}

// NewMem returns an empty Mem with pages of at most 1000 entries.
func NewMem() *Mem {
	return &Mem{
		objects:  make(map[string]memObject),
		pageSize: 1000,
		faults:   make(map[string]*Fault),
		listErrs: make(map[string]*listFault),
	}
}

// SetPageSize makes pages hold at most n entries, so that tests can
// exercise pagination with few keys.
func (m *Mem) SetPageSize(n int) {
	if n < 1 {
		panic("s3scantest: page size must be positive")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pageSize = n
}

// Put stores a copy of data under key, replacing any object there. The
// object's LastModified is the current time.
func (m *Mem) Put(key string, data []byte) {
	sum := md5.Sum(data)
	o := memObject{
		data: bytes.Clone(data),
		obj: s3scan.Object{
			Key:          key,
			Size:         int64(len(data)),
			ETag:         hex.EncodeToString(sum[:]),
			LastModified: time.Now().UTC().Truncate(time.Millisecond),
		},
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.objects[key]; !ok {
		i, _ := slices.BinarySearch(m.keys, key)
		m.keys = slices.Insert(m.keys, i, key)
	}
	m.objects[key] = o
}

// Delete removes key; deleting a missing key does nothing.
func (m *Mem) Delete(key string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.objects[key]; !ok {
		return
	}
	delete(m.objects, key)
	i, _ := slices.BinarySearch(m.keys, key)
	m.keys = slices.Delete(m.keys, i, i+1)
}

// Inject sets the fault of key, replacing any earlier one.
func (m *Mem) Inject(key string, f Fault) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.faults[key] = &f
}

// FailList makes List of prefix return err, for the given number of calls
// (0 means every call).
func (m *Mem) FailList(prefix string, err error, times int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.listErrs[prefix] = &listFault{err: err, times: times}
}

// Lists returns the number of List calls so far.
func (m *Mem) Lists() int64 { return m.lists.Load() }

// Opens returns the number of Open calls so far.
func (m *Mem) Opens() int64 { return m.opens.Load() }

// Unclosed returns the number of readers returned by Open and not closed.
func (m *Mem) Unclosed() int64 { return m.open.Load() }

// List returns the keys directly below prefix, continuing after token,
// which is the last key or common prefix of the previous page.
func (m *Mem) List(ctx context.Context, prefix, token string) (s3scan.Page, error) {
	m.lists.Add(1)
	if err := ctx.Err(); err != nil {
		return s3scan.Page{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if f := m.listErrs[prefix]; f != nil {
		if f.times > 0 {
			if f.times--; f.times == 0 {
				delete(m.listErrs, prefix)
			}
		}
		return s3scan.Page{}, f.err
	}

	i, _ := slices.BinarySearch(m.keys, prefix)
	if token != "" {
		i = max(i, sortedAfter(m.keys, token))
		// A token that is a common prefix (not the marker object equal to
		// prefix) stands for every key below it.
		if strings.HasSuffix(token, "/") && token != prefix {
			for i < len(m.keys) && strings.HasPrefix(m.keys[i], token) {
				i++
			}
		}
	}
	var (
		p    s3scan.Page
		n    int
		last string
	)
	for ; i < len(m.keys) && strings.HasPrefix(m.keys[i], prefix); i++ {
		key := m.keys[i]
		entry := key
		j := strings.IndexByte(key[len(prefix):], '/')
		if j >= 0 {
			entry = key[:len(prefix)+j+1]
			if entry == last {
				continue
			}
		}
		if n == m.pageSize {
			p.Next = last
			break
		}
		if j < 0 {
			p.Objects = append(p.Objects, m.objects[key].obj)
		} else {
			p.Prefixes = append(p.Prefixes, entry)
		}
		last = entry
		n++
	}
	return p, nil
}

// sortedAfter returns the index of the first key greater than k.
func sortedAfter(keys []string, k string) int {
	i, found := slices.BinarySearch(keys, k)
	if found {
		i++
	}
	return i
}

// Open returns a reader of key's content as it is now, or the injected
// fault.
func (m *Mem) Open(ctx context.Context, key string) (io.ReadCloser, s3scan.Object, error) {
	m.opens.Add(1)
	if err := ctx.Err(); err != nil {
		return nil, s3scan.Object{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var f Fault
	if p := m.faults[key]; p != nil {
		f = *p
		if p.Times > 0 {
			if p.Times--; p.Times == 0 {
				delete(m.faults, key)
			}
		}
	}
	if f.Open != nil {
		return nil, s3scan.Object{}, f.Open
	}
	o, ok := m.objects[key]
	if !ok {
		return nil, s3scan.Object{}, fmt.Errorf("s3scantest: get %q: %w", key, s3scan.ErrNotFound)
	}
	m.open.Add(1)
	r := &memReader{m: m, r: bytes.NewReader(o.data), err: f.Read, after: f.ReadAfter}
	return r, o.obj, nil
}

// String describes the source.
func (m *Mem) String() string { return "mem://" }

type memReader struct {
	m      *Mem
	r      *bytes.Reader
	err    error
	after  int64
	read   int64
	closed bool
}

func (r *memReader) Read(p []byte) (int, error) {
	if r.closed {
		return 0, fmt.Errorf("s3scantest: read after close")
	}
	if r.err != nil {
		left := r.after - r.read
		if left <= 0 {
			return 0, r.err
		}
		if int64(len(p)) > left {
			p = p[:left]
		}
	}
	n, err := r.r.Read(p)
	r.read += int64(n)
	return n, err
}

func (r *memReader) Close() error {
	if !r.closed {
		r.closed = true
		r.m.open.Add(-1)
	}
	return nil
}
