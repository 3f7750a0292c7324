package s3scantest_test

import (
	"context"
	"errors"
	"io"
	"slices"
	"testing"

	"github.com/ctimport/ctimport/s3scan"
	"github.com/ctimport/ctimport/s3scan/s3scantest"
)

func newMem(t *testing.T, objects map[string][]byte) s3scan.Source {
	m := s3scantest.NewMem()
	for k, v := range objects {
		m.Put(k, v)
	}
	return m
}

func TestMemSuite(t *testing.T) {
	s3scantest.RunSuite(t, newMem)
}

func TestMemSuiteSmallPages(t *testing.T) {
	s3scantest.RunSuite(t, func(t *testing.T, objects map[string][]byte) s3scan.Source {
		m := newMem(t, objects).(*s3scantest.Mem)
		m.SetPageSize(2)
		return m
	})
}

func listKeys(t *testing.T, m *s3scantest.Mem, prefix string) []string {
	t.Helper()
	var all []string
	token := ""
	for {
		p, err := m.List(context.Background(), prefix, token)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range p.Objects {
			all = append(all, o.Key)
		}
		all = append(all, p.Prefixes...)
		if p.Next == "" {
			slices.Sort(all)
			return all
		}
		token = p.Next
	}
}

func TestMemPagination(t *testing.T) {
	m := s3scantest.NewMem()
	for _, k := range []string{"p/", "p/a", "p/b/1", "p/b/2", "p/b/3", "p/c", "p/d/", "p/d/x"} {
		m.Put(k, nil)
	}
	for size := 1; size <= 6; size++ {
		m.SetPageSize(size)
		before := m.Lists()
		got := listKeys(t, m, "p/")
		want := []string{"p/", "p/a", "p/b/", "p/c", "p/d/"}
		if !slices.Equal(got, want) {
			t.Errorf("page size %d: got %q, want %q", size, got, want)
		}
		if pages, want := m.Lists()-before, int64((len(want)+size-1)/size); pages != want {
			t.Errorf("page size %d: %d lists, want %d", size, pages, want)
		}
	}
}

func TestMemPutDelete(t *testing.T) {
	m := s3scantest.NewMem()
	m.Put("k", []byte("one"))
	_, o1, err := m.Open(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	m.Put("k", []byte("two"))
	rc, o2, err := m.Open(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(rc)
	rc.Close()
	if string(data) != "two" || o1.ETag == o2.ETag {
		t.Errorf("after overwrite read %q with ETag %q (was %q)", data, o2.ETag, o1.ETag)
	}
	m.Delete("k")
	m.Delete("k")
	if _, _, err := m.Open(context.Background(), "k"); !errors.Is(err, s3scan.ErrNotFound) {
		t.Errorf("Open after Delete: %v", err)
	}
	if got := listKeys(t, m, ""); len(got) != 0 {
		t.Errorf("List after Delete: %q", got)
	}
}

func TestMemFaults(t *testing.T) {
	errBoom := errors.New("boom")
	m := s3scantest.NewMem()
	m.Put("k", []byte("0123456789"))

	m.Inject("k", s3scantest.Fault{Open: errBoom, Times: 2})
	for i := range 2 {
		if _, _, err := m.Open(context.Background(), "k"); !errors.Is(err, errBoom) {
			t.Fatalf("Open %d: %v, want the injected error", i, err)
		}
	}
	rc, _, err := m.Open(context.Background(), "k")
	if err != nil {
		t.Fatalf("Open after the fault ran out: %v", err)
	}
	rc.Close()

	m.Inject("k", s3scantest.Fault{Read: s3scan.ErrTransient, ReadAfter: 4})
	for range 3 {
		rc, _, err := m.Open(context.Background(), "k")
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if string(data) != "0123" || !errors.Is(err, s3scan.ErrTransient) {
			t.Fatalf("read %q, %v; want %q and the injected error", data, err, "0123")
		}
	}

	m.Inject("k", s3scantest.Fault{})
	m.FailList("a/", errBoom, 1)
	if _, err := m.List(context.Background(), "a/", ""); !errors.Is(err, errBoom) {
		t.Errorf("List: %v, want the injected error", err)
	}
	if _, err := m.List(context.Background(), "a/", ""); err != nil {
		t.Errorf("List after the fault ran out: %v", err)
	}

	if m.Unclosed() != 0 {
		t.Errorf("%d readers unclosed", m.Unclosed())
	}
	rc, _, err = m.Open(context.Background(), "k")
	if err != nil {
		t.Fatal(err)
	}
	if m.Unclosed() != 1 {
		t.Errorf("%d readers unclosed, want 1", m.Unclosed())
	}
	rc.Close()
	rc.Close()
	if m.Unclosed() != 0 || m.Opens() != 7 || m.Lists() != 2 {
		t.Errorf("Unclosed %d, Opens %d, Lists %d; want 0, 7, 2", m.Unclosed(), m.Opens(), m.Lists())
	}
}
