package budget

import (
	"errors"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	tests := []struct {
		limit  int64
		duckdb int64
		goHeap int64
	}{
		{Min, 60 << 20, 36 << 20},
		{Default, 90 << 20, 54 << 20},
		{2 << 30, 1200 << 20, 720 << 20},
	}
	for _, tt := range tests {
		b, err := New(tt.limit)
		if err != nil {
			t.Fatalf("New(%s): %v", Size(tt.limit), err)
		}
		if b.Limit != tt.limit || b.DuckDB != tt.duckdb || b.GoHeap != tt.goHeap {
			t.Errorf("New(%s) = %v; want DuckDB %s, Go heap %s", Size(tt.limit), b, Size(tt.duckdb), Size(tt.goHeap))
		}
		if b.Stage != b.GoHeap/4 || b.Prefetch != b.GoHeap/4 || b.QueryResults != b.GoHeap/4 {
			t.Errorf("New(%s) = %v; want a quarter of the Go heap each for staged events, prefetched objects and query results", Size(tt.limit), b)
		}
		if sum := fixed + b.DuckDB + b.GoHeap; sum != b.Limit {
			t.Errorf("New(%s): the parts add up to %s", Size(tt.limit), Size(sum))
		}
	}
}

func TestTooSmall(t *testing.T) {
	for _, limit := range []int64{0, 1, Min - 1} {
		if _, err := New(limit); !errors.Is(err, ErrTooSmall) {
			t.Errorf("New(%d) = %v, want ErrTooSmall", limit, err)
		}
	}
}

// TestCheck breaks each rule between the parts of a good budget.
func TestCheck(t *testing.T) {
	good, err := New(Default)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		change func(*Budget)
		want   string
	}{
		{"DuckDB below twice the stage", func(b *Budget) { b.DuckDB = 2*b.Stage - 1 }, "less than twice the stage limit"},
		{"nothing left for the decoders", func(b *Budget) { b.QueryResults = b.GoHeap - b.Stage - b.Prefetch }, "leaves the decoders nothing"},
		{"more than the limit", func(b *Budget) { b.Limit-- }, "add up to more than"},
	}
	for _, tt := range tests {
		b := good
		tt.change(&b)
		if err := b.check(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: check() = %v, want an error saying %q", tt.name, err, tt.want)
		}
	}
	if err := good.check(); err != nil {
		t.Errorf("check() of New(Default) = %v", err)
	}
}

func TestBatchEvents(t *testing.T) {
	for _, tt := range []struct {
		limit int64
		want  int
	}{
		{Default, 6912},
		{2 << 30, 92160},
	} {
		b, err := New(tt.limit)
		if err != nil {
			t.Fatal(err)
		}
		if got := b.BatchEvents(); got != tt.want {
			t.Errorf("New(%s).BatchEvents() = %d, want %d", Size(tt.limit), got, tt.want)
		}
	}
	if got := (Budget{Stage: 100}).BatchEvents(); got != 1 {
		t.Errorf("BatchEvents of a tiny stage = %d, want 1", got)
	}
}

func TestQueryOnly(t *testing.T) {
	b, err := New(Default)
	if err != nil {
		t.Fatal(err)
	}
	ro := b.QueryOnly()
	if ro.DuckDB != 117<<20 || ro.GoHeap != 27<<20 || ro.Stage != 0 || ro.Prefetch != 0 || ro.QueryResults != b.QueryResults {
		t.Errorf("QueryOnly() = %v; want DuckDB 117 MiB, Go heap 27 MiB, nothing staged or fetched", ro)
	}
	if err := ro.check(); err != nil {
		t.Errorf("QueryOnly().check() = %v", err)
	}
}

func TestWithoutDuckDB(t *testing.T) {
	b, err := New(Default)
	if err != nil {
		t.Fatal(err)
	}
	got := b.WithoutDuckDB()
	want := Budget{Limit: b.Limit, GoHeap: 144 << 20, Stage: 36 << 20, Prefetch: 36 << 20, QueryResults: 36 << 20}
	if got != want {
		t.Errorf("WithoutDuckDB() = %v, want %v", got, want)
	}
}

func TestPerImport(t *testing.T) {
	b, err := New(Default)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.PerImport(1); got != b {
		t.Errorf("PerImport(1) = %v, want %v", got, b)
	}
	got := b.PerImport(3)
	want := b
	want.Stage, want.Prefetch = b.Stage/3, b.Prefetch/3
	if got != want {
		t.Errorf("PerImport(3) = %v, want %v", got, want)
	}
}

func TestSize(t *testing.T) {
	tests := []struct {
		n    int64
		want string
	}{
		{0, "0 B"},
		{1023, "1023 B"},
		{1 << 10, "1 KiB"},
		{256 << 20, "256 MiB"},
		{3 << 29, "1.5 GiB"},
		{(1 << 30) + 1, "1.0 GiB"},
	}
	for _, tt := range tests {
		if got := Size(tt.n); got != tt.want {
			t.Errorf("Size(%d) = %q, want %q", tt.n, got, tt.want)
		}
	}
}
