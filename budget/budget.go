// Package budget divides one memory limit among the parts of a ctimport
// process that hold memory, so that the process as a whole stays near it.
//
// The parts are DuckDB's buffer pool (its memory_limit, beyond which it
// spills to a temporary directory next to the database), the events a
// Writer stages in Go memory before it moves them into DuckDB, the objects
// fetched ahead of the decoders, the query results an engine holds for
// GetQueryResults, and Go's heap, which holds the last three and the
// decoders' working memory. What stays is a fixed share: the program's
// code, DuckDB's structures outside its buffer pool, and the Go runtime.
//
// New derives every part from the limit and checks the rules between them.
// The ctimport command takes every memory size from a Budget; the defaults
// of the engine's and the sinks' options serve their tests and other
// programs that embed them.
package budget

import (
	"errors"
	"fmt"
)

// Default is the limit of a process that sets none. A default import, from
// the local disk or from S3, peaks near it in resident memory.
const Default int64 = 272 << 20

// Min is the least limit New accepts: with less, DuckDB runs out of memory
// writing a commit of the events that take half the stage.
const Min int64 = 224 << 20

// fixed is the memory a process takes whatever its limit.
const fixed int64 = 128 << 20

// ErrTooSmall means a limit is below Min.
var ErrTooSmall = errors.New("budget: memory limit too small")

// Budget is one limit and its parts, in bytes.
type Budget struct {
	// Limit is the memory the whole process should stay near.
	Limit int64
	// DuckDB is DuckDB's memory_limit.
	DuckDB int64
	// Stage bounds the events a Writer stages in Go memory.
	Stage int64
	// Prefetch bounds the objects fetched and not yet decoded.
	Prefetch int64
	// QueryResults bounds the results of queries an engine holds, all
	// together.
	QueryResults int64
	// GoHeap is Go's soft memory limit (runtime/debug.SetMemoryLimit).
	GoHeap int64
}

// New divides limit: after the fixed share, five eighths go to DuckDB and
// three eighths to Go's heap, of which a quarter each bounds the staged
// events, the prefetched objects and the held query results, and the last
// quarter is the decoders'.
func New(limit int64) (Budget, error) {
	if limit < Min {
		return Budget{}, fmt.Errorf("%w: %s; want at least %s", ErrTooSmall, Size(limit), Size(Min))
	}
	rest := limit - fixed
	b := Budget{Limit: limit, DuckDB: rest * 5 / 8}
	b.GoHeap = rest - b.DuckDB
	b.Stage, b.Prefetch, b.QueryResults = b.GoHeap/4, b.GoHeap/4, b.GoHeap/4
	return b, b.check()
}

// check verifies the rules between the parts of b.
func (b Budget) check() error {
	switch {
	case b.DuckDB < 2*b.Stage:
		// A commit of events that spilled into DuckDB sorts about Stage
		// bytes of them at a time beside the staging table.
		return fmt.Errorf("budget: DuckDB's %s is less than twice the stage limit, %s", Size(b.DuckDB), Size(b.Stage))
	case b.Stage+b.Prefetch+b.QueryResults >= b.GoHeap:
		return fmt.Errorf("budget: the Go heap's %s leaves the decoders nothing", Size(b.GoHeap))
	case fixed+b.DuckDB+b.GoHeap > b.Limit:
		return fmt.Errorf("budget: the parts add up to more than %s", Size(b.Limit))
	}
	return nil
}

// String lists the parts of b.
func (b Budget) String() string {
	return fmt.Sprintf("memory limit %s: DuckDB %s, Go heap %s (staged events %s, prefetched objects %s, query results %s)",
		Size(b.Limit), Size(b.DuckDB), Size(b.GoHeap), Size(b.Stage), Size(b.Prefetch), Size(b.QueryResults))
}

// Size writes n bytes in the largest binary unit that keeps one decimal
// digit or none, e.g. 256 MiB or 1.5 GiB.
func Size(n int64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	v, i := float64(n), 0
	for v >= 1024 && i < len(units)-1 {
		v, i = v/1024, i+1
	}
	if v == float64(int64(v)) {
		return fmt.Sprintf("%d %s", int64(v), units[i])
	}
	return fmt.Sprintf("%.1f %s", v, units[i])
}

// eventBytes is what a staged event takes, about: CloudTrail's records are
// mostly 1 to 2 KiB of JSON.
const eventBytes = 1 << 10

// BatchEvents is how many events an import gathers for one commit: as many
// as take half the stage limit. Larger commits load faster, and need room
// to stage.
func (b Budget) BatchEvents() int {
	return int(max(b.Stage/2/eventBytes, 1))
}

// QueryOnly returns b for a process that only runs queries: it stages and
// prefetches nothing, and DuckDB has those shares too.
func (b Budget) QueryOnly() Budget {
	b.DuckDB += b.Stage + b.Prefetch
	b.GoHeap -= b.Stage + b.Prefetch
	b.Stage, b.Prefetch = 0, 0
	return b
}

// WithoutDuckDB returns b for a process whose events go elsewhere than
// DuckDB (the Iceberg tables of sink/pgsink, whose writers hold a commit's
// events in Go's heap): DuckDB's share goes to Go's heap, and its quarters
// grow with it.
func (b Budget) WithoutDuckDB() Budget {
	b.GoHeap += b.DuckDB
	b.DuckDB = 0
	b.Stage, b.Prefetch, b.QueryResults = b.GoHeap/4, b.GoHeap/4, b.GoHeap/4
	return b
}

// PerImport returns b with Stage and Prefetch divided among n imports that
// run at once, each of which stages and prefetches on its own.
func (b Budget) PerImport(n int) Budget {
	if n > 1 {
		b.Stage /= int64(n)
		b.Prefetch /= int64(n)
	}
	return b
}
