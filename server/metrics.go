package server

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strconv"
	"sync"

	"github.com/ctimport/ctimport/engine"
)

// metrics counts the API requests a server answered.
type metrics struct {
	mu       sync.Mutex
	requests map[requestKey]int64
}

type requestKey struct {
	op     string
	status int
}

func newMetrics() *metrics { return &metrics{requests: make(map[requestKey]int64)} }

// request counts one request; op is "" when the request named no known
// operation.
func (m *metrics) request(op string, status int) {
	m.mu.Lock()
	m.requests[requestKey{op, status}]++
	m.mu.Unlock()
}

// write writes the engine's totals and the request counts in the
// Prometheus text exposition format.
func (m *metrics) write(w io.Writer, t engine.Totals) {
	family := func(name, kind, help string) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, kind)
	}
	family("ctimport_imports_running", "gauge", "Imports running now.")
	fmt.Fprintf(w, "ctimport_imports_running %d\n", t.ImportsRunning)
	for _, c := range []struct {
		name, help string
		v          int64
	}{
		{"ctimport_files_imported_total", "Log files imported.", t.Files},
		{"ctimport_events_imported_total", "Events imported, including those already stored.", t.Events},
		{"ctimport_bytes_imported_total", "Compressed bytes of the log files imported.", t.Bytes},
		{"ctimport_import_failures_total", "Log files that failed to import.", t.FilesFailed},
	} {
		family(c.name, "counter", c.help)
		fmt.Fprintf(w, "%s %d\n", c.name, c.v)
	}

	m.mu.Lock()
	keys := make([]requestKey, 0, len(m.requests))
	for k := range m.requests {
		keys = append(keys, k)
	}
	counts := make([]int64, len(keys))
	slices.SortFunc(keys, func(a, b requestKey) int {
		return cmp.Or(cmp.Compare(a.op, b.op), cmp.Compare(a.status, b.status))
	})
	for i, k := range keys {
		counts[i] = m.requests[k]
	}
	m.mu.Unlock()
	family("ctimport_api_requests_total", "counter", "API requests answered, by operation and HTTP status.")
	for i, k := range keys {
		fmt.Fprintf(w, "ctimport_api_requests_total{operation=%s,code=\"%d\"} %d\n", strconv.Quote(k.op), k.status, counts[i])
	}
}
