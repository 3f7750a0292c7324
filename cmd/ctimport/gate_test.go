package main

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
)

// gate is an HTTP proxy in front of an S3 server that holds the GET
// requests of chosen objects until it is opened. An import reading through
// it reads the other objects and then waits, so that a test can act while
// the import runs, at a point it knows.
type gate struct {
	srv     *httptest.Server
	opened  chan struct{}
	once    sync.Once
	waiting atomic.Int64 // requests being held
}

// newGate starts a gate in front of endpoint that holds the requests of
// the objects whose path ("/bucket/key") held reports.
func newGate(t *testing.T, endpoint string, held func(path string) bool) *gate {
	t.Helper()
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	// The proxy keeps the Host header the client signed.
	proxy := httputil.NewSingleHostReverseProxy(target)
	g := &gate{opened: make(chan struct{})}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet && held(r.URL.Path) {
			g.waiting.Add(1)
			select {
			case <-g.opened:
				g.waiting.Add(-1)
			case <-r.Context().Done():
				g.waiting.Add(-1)
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(func() {
		g.open()
		g.srv.Close()
	})
	return g
}

// endpoint is the URL of the proxy.
func (g *gate) endpoint() string { return g.srv.URL }

// open lets every request through from now on.
func (g *gate) open() { g.once.Do(func() { close(g.opened) }) }
