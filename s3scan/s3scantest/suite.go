package s3scantest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctimport/ctimport/s3scan"
)

// RunSuite checks that the sources made by newSource behave as the
// s3scan.Source contract says. newSource returns a source holding exactly
// objects (keys ending in "/" are folder markers); it is called once per
// subtest. The objects never hold both a key "k" and keys below "k/", so
// that a directory tree can stand for them.
//
// Sources may return a folder marker "p/" as an object of the listing of
// "p/" (as S3 does) or not (as a directory cannot); the suite accepts both.
func RunSuite(t *testing.T, newSource func(t *testing.T, objects map[string][]byte) s3scan.Source) {
	t.Run("Levels", func(t *testing.T) { testLevels(t, newSource) })
	t.Run("Order", func(t *testing.T) { testOrder(t, newSource) })
	t.Run("Pagination", func(t *testing.T) { testPagination(t, newSource) })
	t.Run("Empty", func(t *testing.T) { testEmpty(t, newSource) })
	t.Run("PartialPrefix", func(t *testing.T) { testPartialPrefix(t, newSource) })
	t.Run("Content", func(t *testing.T) { testContent(t, newSource) })
	t.Run("Missing", func(t *testing.T) { testMissing(t, newSource) })
	t.Run("SpecialKeys", func(t *testing.T) { testSpecialKeys(t, newSource) })
	t.Run("FolderMarkers", func(t *testing.T) { testFolderMarkers(t, newSource) })
	t.Run("Canceled", func(t *testing.T) { testCanceled(t, newSource) })
	t.Run("Concurrent", func(t *testing.T) { testConcurrent(t, newSource) })
}

type newSourceFunc = func(t *testing.T, objects map[string][]byte) s3scan.Source

// listing is the entries of one or more pages: keys of objects, and
// common prefixes.
type listing struct {
	Objects  []string
	Prefixes []string
}

func (l listing) String() string {
	return fmt.Sprintf("objects %q, prefixes %q", l.Objects, l.Prefixes)
}

// listAll lists every page of prefix, checking the contract of each page,
// and returns the entries in order and the number of pages.
func listAll(t *testing.T, src s3scan.Source, prefix string) (listing, []s3scan.Object, int) {
	t.Helper()
	var (
		l       listing
		objs    []s3scan.Object
		token   string
		pages   int
		lastKey string
	)
	for {
		p, err := src.List(context.Background(), prefix, token)
		if err != nil {
			t.Fatalf("List(%q, %q): %v", prefix, token, err)
		}
		pages++
		if n := len(p.Objects) + len(p.Prefixes); n > 1000 {
			t.Fatalf("List(%q) page %d holds %d entries, more than 1000", prefix, pages, n)
		}
		var entries []string
		for _, o := range p.Objects {
			if !strings.HasPrefix(o.Key, prefix) || strings.Contains(strings.TrimSuffix(o.Key[len(prefix):], "/"), "/") {
				t.Errorf("List(%q) returned object %q, which is not directly below the prefix", prefix, o.Key)
			}
			entries = append(entries, o.Key)
			objs = append(objs, o)
			l.Objects = append(l.Objects, o.Key)
		}
		for _, cp := range p.Prefixes {
			rest := strings.TrimPrefix(cp, prefix)
			if !strings.HasPrefix(cp, prefix) || !strings.HasSuffix(rest, "/") || strings.Count(rest, "/") != 1 {
				t.Errorf("List(%q) returned common prefix %q, which is not one level below the prefix", prefix, cp)
			}
			entries = append(entries, cp)
			l.Prefixes = append(l.Prefixes, cp)
		}
		if !slices.IsSortedFunc(p.Objects, func(a, b s3scan.Object) int { return strings.Compare(a.Key, b.Key) }) {
			t.Errorf("List(%q) page %d: objects are not sorted", prefix, pages)
		}
		if !slices.IsSorted(p.Prefixes) {
			t.Errorf("List(%q) page %d: prefixes are not sorted: %q", prefix, pages, p.Prefixes)
		}
		slices.Sort(entries)
		if len(entries) > 0 {
			if entries[0] <= lastKey {
				t.Errorf("List(%q) page %d starts with %q, not after %q, the end of the page before", prefix, pages, entries[0], lastKey)
			}
			lastKey = entries[len(entries)-1]
		}
		if p.Next == "" {
			return l, objs, pages
		}
		if len(entries) == 0 {
			t.Fatalf("List(%q) page %d is empty but not the last", prefix, pages)
		}
		token = p.Next
	}
}

func checkListing(t *testing.T, src s3scan.Source, prefix string, want listing) {
	t.Helper()
	got, _, _ := listAll(t, src, prefix)
	if !slices.Equal(got.Objects, want.Objects) || !slices.Equal(got.Prefixes, want.Prefixes) {
		t.Errorf("List(%q):\n got %v\nwant %v", prefix, got, want)
	}
}

func objects(keys ...string) map[string][]byte {
	m := make(map[string][]byte, len(keys))
	for _, k := range keys {
		if strings.HasSuffix(k, "/") {
			m[k] = nil
		} else {
			m[k] = []byte("content of " + k)
		}
	}
	return m
}

func testLevels(t *testing.T, newSource newSourceFunc) {
	src := newSource(t, objects("a.json", "b/c.json", "b/d/e.json", "b/d/f/g.json", "h", "i/j/k/l"))
	if src.String() == "" {
		t.Error("String() is empty")
	}
	checkListing(t, src, "", listing{Objects: []string{"a.json", "h"}, Prefixes: []string{"b/", "i/"}})
	checkListing(t, src, "b/", listing{Objects: []string{"b/c.json"}, Prefixes: []string{"b/d/"}})
	checkListing(t, src, "b/d/", listing{Objects: []string{"b/d/e.json"}, Prefixes: []string{"b/d/f/"}})
	checkListing(t, src, "i/", listing{Prefixes: []string{"i/j/"}})
	checkListing(t, src, "i/j/k/", listing{Objects: []string{"i/j/k/l"}})
}

func testOrder(t *testing.T, newSource newSourceFunc) {
	// Byte order, not locale order: ' ' < 'K' < '_' < "k-" < "k." < "k/" < "k0" < '~' < 'é'.
	src := newSource(t, objects(" space", "K", "_u", "k-b", "k.json", "k/x", "k0", "~t", "é"))
	checkListing(t, src, "", listing{
		Objects:  []string{" space", "K", "_u", "k-b", "k.json", "k0", "~t", "é"},
		Prefixes: []string{"k/"},
	})
}

func testPagination(t *testing.T, newSource newSourceFunc) {
	const n = 1050
	objs := make(map[string][]byte, n)
	var want listing
	for i := range n {
		if i%3 == 0 {
			objs[fmt.Sprintf("p/%04d/x", i)] = []byte{byte(i)}
			want.Prefixes = append(want.Prefixes, fmt.Sprintf("p/%04d/", i))
		} else {
			objs[fmt.Sprintf("p/%04d", i)] = []byte{byte(i)}
			want.Objects = append(want.Objects, fmt.Sprintf("p/%04d", i))
		}
	}
	src := newSource(t, objs)
	got, _, pages := listAll(t, src, "p/")
	if pages < 2 {
		t.Errorf("List(%q) of %d entries took %d page(s)", "p/", n, pages)
	}
	if !slices.Equal(got.Objects, want.Objects) || !slices.Equal(got.Prefixes, want.Prefixes) {
		t.Errorf("List(%q): got %d objects and %d prefixes, want %d and %d", "p/", len(got.Objects), len(got.Prefixes), len(want.Objects), len(want.Prefixes))
	}

	// A token may be used again and gives the same page.
	first, err := src.List(context.Background(), "p/", "")
	if err != nil {
		t.Fatal(err)
	}
	a, err := src.List(context.Background(), "p/", first.Next)
	if err != nil {
		t.Fatal(err)
	}
	b, err := src.List(context.Background(), "p/", first.Next)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(keys(a.Objects), keys(b.Objects)) || !slices.Equal(a.Prefixes, b.Prefixes) || a.Next != b.Next {
		t.Errorf("two Lists with the same token differ")
	}
}

func keys(objs []s3scan.Object) []string {
	var k []string
	for _, o := range objs {
		k = append(k, o.Key)
	}
	return k
}

func testEmpty(t *testing.T, newSource newSourceFunc) {
	src := newSource(t, nil)
	checkListing(t, src, "", listing{})
	src = newSource(t, objects("a/b"))
	checkListing(t, src, "nothing/", listing{})
	checkListing(t, src, "a/b/", listing{})
}

func testPartialPrefix(t *testing.T, newSource newSourceFunc) {
	src := newSource(t, objects("logs/a1", "logs/a2/x", "logs/a3/y/z", "logs/b1"))
	checkListing(t, src, "logs/a", listing{Objects: []string{"logs/a1"}, Prefixes: []string{"logs/a2/", "logs/a3/"}})
	checkListing(t, src, "lo", listing{Prefixes: []string{"logs/"}})
}

func testContent(t *testing.T, newSource newSourceFunc) {
	big := make([]byte, 3<<20+17)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(r.Uint32())
	}
	objs := map[string][]byte{
		"d/small.json": []byte(`{"Records":[]}`),
		"d/empty":      {},
		"d/big.bin":    big,
	}
	src := newSource(t, objs)
	_, listed, _ := listAll(t, src, "d/")
	if len(listed) != len(objs) {
		t.Fatalf("List(%q) returned %d objects, want %d", "d/", len(listed), len(objs))
	}
	for _, lo := range listed {
		data := objs[lo.Key]
		if lo.Size != int64(len(data)) {
			t.Errorf("List: %q has size %d, want %d", lo.Key, lo.Size, len(data))
		}
		if lo.ETag == "" || lo.LastModified.IsZero() {
			t.Errorf("List: %q has ETag %q and LastModified %v", lo.Key, lo.ETag, lo.LastModified)
		}
		rc, o, err := src.Open(context.Background(), lo.Key)
		if err != nil {
			t.Fatalf("Open(%q): %v", lo.Key, err)
		}
		got, err := io.ReadAll(rc)
		if cerr := rc.Close(); cerr != nil {
			t.Errorf("Close(%q): %v", lo.Key, cerr)
		}
		if err != nil {
			t.Fatalf("read %q: %v", lo.Key, err)
		}
		if !bytes.Equal(got, data) {
			t.Errorf("Open(%q) read %d bytes that differ from the %d stored", lo.Key, len(got), len(data))
		}
		if o.Key != lo.Key || o.Size != lo.Size || o.ETag != lo.ETag {
			t.Errorf("Open(%q) returned %+v; List returned %+v", lo.Key, o, lo)
		}
		if d := o.LastModified.Sub(lo.LastModified); d < -time.Second || d > time.Second {
			t.Errorf("Open(%q) LastModified %v; List says %v", lo.Key, o.LastModified, lo.LastModified)
		}
	}

	// Content changes show in the ETag.
	a := newSource(t, map[string][]byte{"k": []byte("version 1")})
	b := newSource(t, map[string][]byte{"k": []byte("version 2")})
	pa, errA := a.List(context.Background(), "", "")
	pb, errB := b.List(context.Background(), "", "")
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	if len(pa.Objects) != 1 || len(pb.Objects) != 1 || pa.Objects[0].ETag == pb.Objects[0].ETag {
		t.Errorf("objects of different content have the same ETag: %+v, %+v", pa.Objects, pb.Objects)
	}
}

func testMissing(t *testing.T, newSource newSourceFunc) {
	src := newSource(t, objects("dir/file", "top"))
	for _, key := range []string{"nope", "dir", "dir/nope", "top/x", "di"} {
		rc, _, err := src.Open(context.Background(), key)
		if err == nil {
			rc.Close()
			t.Errorf("Open(%q) succeeded", key)
			continue
		}
		if !errors.Is(err, s3scan.ErrNotFound) {
			t.Errorf("Open(%q): %v, want ErrNotFound", key, err)
		}
	}
}

func testSpecialKeys(t *testing.T, newSource newSourceFunc) {
	names := []string{
		"sp ace/file name.json",
		"uni/日本語/ключ-é.json",
		"enc/a+b%20c?d#e&f=g;h,i:j@k$l!m'n(o)p*q~r",
		"enc/100%",
		"enc/+plus",
		"enc/[brackets]{braces}",
		"enc/quote\"d",
		"enc/tab\tand^caret`",
	}
	objs := make(map[string][]byte)
	for i, n := range names {
		objs[n] = []byte(fmt.Sprintf("object %d", i))
	}
	src := newSource(t, objs)
	checkListing(t, src, "", listing{Prefixes: []string{"enc/", "sp ace/", "uni/"}})
	checkListing(t, src, "sp ace/", listing{Objects: []string{"sp ace/file name.json"}})
	checkListing(t, src, "uni/日本語/", listing{Objects: []string{"uni/日本語/ключ-é.json"}})
	var enc []string
	for _, n := range names {
		if strings.HasPrefix(n, "enc/") {
			enc = append(enc, n)
		}
	}
	slices.Sort(enc)
	checkListing(t, src, "enc/", listing{Objects: enc})
	for key, data := range objs {
		rc, o, err := src.Open(context.Background(), key)
		if err != nil {
			t.Errorf("Open(%q): %v", key, err)
			continue
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, data) || o.Key != key {
			t.Errorf("Open(%q) = %q, %+v, %v; want %q", key, got, o, err, data)
		}
	}
}

func testFolderMarkers(t *testing.T, newSource newSourceFunc) {
	src := newSource(t, objects("m/", "m/a.json", "n/", "o/p/", "o/p/q"))
	checkListing(t, src, "", listing{Prefixes: []string{"m/", "n/", "o/"}})
	checkListing(t, src, "o/", listing{Prefixes: []string{"o/p/"}})
	for prefix, files := range map[string][]string{"m/": {"m/a.json"}, "n/": nil, "o/p/": {"o/p/q"}} {
		got, objs, _ := listAll(t, src, prefix)
		if len(got.Prefixes) != 0 {
			t.Errorf("List(%q) returned prefixes %q", prefix, got.Prefixes)
		}
		if len(objs) > 0 && objs[0].Key == prefix {
			if objs[0].Size != 0 {
				t.Errorf("List(%q): folder marker has size %d", prefix, objs[0].Size)
			}
			got.Objects = got.Objects[1:]
		}
		if !slices.Equal(got.Objects, files) {
			t.Errorf("List(%q) returned objects %q, want %q (and maybe the marker)", prefix, got.Objects, files)
		}
	}
}

func testCanceled(t *testing.T, newSource newSourceFunc) {
	src := newSource(t, objects("a/b"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := src.List(ctx, "a/", ""); !errors.Is(err, context.Canceled) {
		t.Errorf("List with a canceled context: %v, want context.Canceled", err)
	}
	rc, _, err := src.Open(ctx, "a/b")
	if err == nil {
		rc.Close()
	}
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Open with a canceled context: %v, want context.Canceled", err)
	}
}

func testConcurrent(t *testing.T, newSource newSourceFunc) {
	objs := make(map[string][]byte)
	for i := range 40 {
		objs[fmt.Sprintf("c/%02d/obj", i)] = bytes.Repeat([]byte{byte(i)}, 1000+i)
	}
	src := newSource(t, objs)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := g; i < 40; i += 8 {
				prefix := fmt.Sprintf("c/%02d/", i)
				p, err := src.List(context.Background(), prefix, "")
				if err != nil || len(p.Objects) != 1 {
					t.Errorf("List(%q) = %d objects, %v", prefix, len(p.Objects), err)
					continue
				}
				rc, _, err := src.Open(context.Background(), p.Objects[0].Key)
				if err != nil {
					t.Errorf("Open(%q): %v", p.Objects[0].Key, err)
					continue
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				if err != nil || !bytes.Equal(got, objs[p.Objects[0].Key]) {
					t.Errorf("read %q: %d bytes, %v", p.Objects[0].Key, len(got), err)
				}
			}
		})
	}
	wg.Wait()
}
