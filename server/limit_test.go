package server_test

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/ctimport/ctimport/s3scan"
	"github.com/ctimport/ctimport/server"
	"github.com/ctimport/ctimport/sink/memsink"
)

// noQuery is a query ID no server knows.
const noQuery = `{"QueryId":"00000000-0000-4000-8000-0000000000ff"}`

// checkThrottled checks that resp is a ThrottlingException that tells the
// client to retry after a second, and that the log records it.
func (f *fixture) checkThrottled(resp response, op string) {
	f.t.Helper()
	checkError(f.t, resp, http.StatusBadRequest, "ThrottlingException")
	if got := resp.header.Get("Retry-After"); got != "1" {
		f.t.Errorf("Retry-After %q, want 1", got)
	}
	rec := f.record("request", resp.header.Get("X-Amzn-RequestId"))
	if rec["operation"] != op || rec["error"] != "ThrottlingException" || rec["access_key_id"] != accessKeyID {
		f.t.Errorf("logged %v for a throttled %s", rec, op)
	}
}

// TestMaxConcurrentRequests fills the bound on the requests served at once
// with a StartImport held while it opens its source, and checks that
// another request is throttled, that DescribeQuery and GetQueryResults are
// not, and that requests are served again once the held one is.
func TestMaxConcurrentRequests(t *testing.T) {
	reached, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	f := newFixture(t, config{maxConcurrent: 1, wrap: func(src s3scan.Source) s3scan.Source {
		once.Do(func() { close(reached) })
		<-release
		return src
	}})
	f.call("CreateEventDataStore", `{"Name":"held"}`)
	req := f.request(op("StartImport", `{"Destinations":["held"],"ImportSource":`+source+`}`))
	held := make(chan int, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			held <- 0
			return
		}
		resp.Body.Close()
		held <- resp.StatusCode
	}()
	select {
	case <-reached:
	case <-time.After(waitTimeout):
		close(release)
		t.Fatal("StartImport did not open its source")
	}
	f.checkThrottled(f.do(op("ListEventDataStores", `{}`)), "ListEventDataStores")
	for _, name := range []string{"DescribeQuery", "GetQueryResults"} {
		checkError(t, f.do(op(name, noQuery)), http.StatusBadRequest, "QueryIdNotFoundException")
	}
	close(release)
	if status := <-held; status != http.StatusOK {
		t.Errorf("the held StartImport: HTTP %d", status)
	}
	f.call("ListEventDataStores", `{}`)
}

// TestMaxRequestsPerSecond checks the bound on the requests served a second
// against the server's clock: requests refused for their signature do not
// count, a burst of as many requests as the bound is served, the next is
// throttled, and a request is served again once the clock has moved on by
// the time of one.
func TestMaxRequestsPerSecond(t *testing.T) {
	var mu sync.Mutex
	at := time.Now()
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return at
	}
	f := newFixture(t, config{store: memsink.New(), perSecond: 2, now: clock})
	for range 3 {
		unsigned := request{target: server.TargetPrefix + "ListEventDataStores", ctype: jsonType, body: `{}`}
		checkError(t, f.do(unsigned), http.StatusBadRequest, "MissingAuthenticationTokenException")
	}
	f.call("ListEventDataStores", `{}`)
	f.call("ListImports", `{}`)
	f.checkThrottled(f.do(op("ListEventDataStores", `{}`)), "ListEventDataStores")
	for _, name := range []string{"DescribeQuery", "GetQueryResults"} {
		checkError(t, f.do(op(name, noQuery)), http.StatusBadRequest, "QueryIdNotFoundException")
	}
	mu.Lock()
	at = at.Add(500 * time.Millisecond)
	mu.Unlock()
	f.call("ListEventDataStores", `{}`)
	f.checkThrottled(f.do(op("ListImports", `{}`)), "ListImports")
}
