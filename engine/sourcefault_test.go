package engine_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/engine"
	"github.com/ctimport/ctimport/internal/miniotest"
	"github.com/ctimport/ctimport/internal/trailtest"
	"github.com/ctimport/ctimport/pipeline"
	"github.com/ctimport/ctimport/s3scan"
	"github.com/ctimport/ctimport/sink/memsink"
)

// holdingTransport carries the requests of an S3 source and holds GETs of
// objects while a policy says so: hold returns, for the attempt-th GET of
// a key, a channel to wait on before the request is sent, or nil.
type holdingTransport struct {
	rt     http.RoundTripper
	bucket string
	hold   func(key string, attempt int) <-chan struct{}

	mu      sync.Mutex
	gets    map[string]int
	waiting atomic.Int64 // requests being held
}

func (h *holdingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	key, ok := strings.CutPrefix(r.URL.Path, "/"+h.bucket+"/")
	if r.Method != http.MethodGet || !ok || key == "" {
		return h.rt.RoundTrip(r)
	}
	h.mu.Lock()
	h.gets[key]++
	n := h.gets[key]
	h.mu.Unlock()
	if ch := h.hold(key, n); ch != nil {
		h.waiting.Add(1)
		select {
		case <-ch:
			h.waiting.Add(-1)
		case <-r.Context().Done():
			h.waiting.Add(-1)
			return nil, r.Context().Err()
		}
	}
	return h.rt.RoundTrip(r)
}

// resetGets returns the GETs of each key so far and starts counting anew.
func (h *holdingTransport) resetGets() map[string]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	gets := h.gets
	h.gets = map[string]int{}
	return gets
}

// TestSourceServerDown stops the MinIO server an import reads while GETs
// are pending, and starts it again later. The GETs sent while it is down
// fail; each file is read again with backoff, and shows RETRY while it
// waits. Files whose attempts run out while the server is down end FAILED
// with SourceReadError; a file whose next attempt comes once the server is
// back is imported, its failure SUCCEEDED; every other file imports. The
// import ends FAILED, and a retry completes it with every event once.
func TestSourceServerDown(t *testing.T) {
	const attempts = 3
	srv := miniotest.Start(t)
	srv.MakeBucket(t, bucket)
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); strings.HasPrefix(name, "AWS_") {
			t.Setenv(name, "")
		}
	}
	t.Setenv("HOME", t.TempDir())
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey())
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey())

	e := &env{t: t, ctx: t.Context(), store: memsink.New(), want: map[string][]string{}}
	day := time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC)
	var keys []string
	for d := range 2 {
		for f := range 5 {
			at := day.AddDate(0, 0, d).Add(time.Duration(f+1) * time.Hour)
			k := key(at)
			events := evs(fmt.Sprintf("down-d%d-f%d", d, f), 20, at.Add(-time.Minute))
			recs := make([]json.RawMessage, len(events))
			for i, x := range events {
				recs[i] = record(x)
			}
			srv.Put(t, bucket, k, trailtest.Gzip(logDoc(recs...)))
			e.want[k] = idsOf(events)
			keys = append(keys, k)
		}
	}
	// The attempts of lost run out while the server is down; back is read
	// again once it is up.
	lost, back := []string{keys[1], keys[7]}, keys[4]
	down, retrying, up := make(chan struct{}), make(chan struct{}), make(chan struct{})
	ht := &holdingTransport{rt: http.DefaultTransport.(*http.Transport).Clone(), bucket: bucket, gets: map[string]int{}, hold: func(key string, attempt int) <-chan struct{} {
		switch {
		case key != back && key != lost[0] && key != lost[1]:
			return nil
		case attempt == 1:
			return down
		case key == back:
			return up
		case attempt == 2:
			return retrying
		}
		return nil
	}}
	e.opts = engine.Options{
		Config: pipeline.Config{
			Attempts:     attempts,
			Backoff:      10 * time.Millisecond,
			Concurrency:  4, // a worker for each file that fails, and one more
			BatchEvents:  1,
			SyncInterval: 10 * time.Millisecond,
		},
		OpenSource: func(ctx context.Context, loc s3scan.Location, src api.S3ImportSource) (s3scan.Source, error) {
			return s3scan.NewS3(ctx, s3scan.S3Config{Bucket: loc.Bucket, Endpoint: srv.Endpoint(), Transport: ht})
		},
	}
	e.eng = engine.New(e.store, e.opts)
	t.Cleanup(func() {
		e.eng.Close()
		e.store.Close()
	})
	e.eds = e.createStore("trail")
	id := e.startNew()

	// Every other file is imported while the server is up; then the
	// server stops, and the held GETs go out.
	eventually(t, "the first GETs of the held files, and the import of the others", func() bool {
		return ht.waiting.Load() == 3 && len(e.importedKeys(id)) == len(keys)-3
	})
	srv.Stop()
	// The held GETs go out on new connections, which the stopped server
	// refuses.
	ht.rt.(*http.Transport).CloseIdleConnections()
	close(down)
	var f map[string]api.ImportFailureListItem
	eventually(t, "RETRY entries of the held files", func() bool {
		f = e.failures(id)
		return f[lost[0]].Status == api.FailureRetry && f[lost[1]].Status == api.FailureRetry && f[back].Status == api.FailureRetry
	})
	for _, k := range []string{lost[0], lost[1], back} {
		if f[k].ErrorType != pipeline.ErrorSourceRead || !strings.Contains(f[k].ErrorMessage, "connection refused") {
			t.Errorf("failure of %s while the server is down: %+v, want %s saying the connection was refused", k, f[k], pipeline.ErrorSourceRead)
		}
	}
	if st := e.status(id); st != api.StatusInProgress {
		t.Errorf("status %s while files wait for their next attempt, want IN_PROGRESS", st)
	}
	close(retrying)
	eventually(t, "FAILED entries of the files whose attempts ran out", func() bool {
		f = e.failures(id)
		return f[lost[0]].Status == api.FailureFailed && f[lost[1]].Status == api.FailureFailed
	})
	srv.Restart(t)
	close(up)

	imp, _ := e.wait(id)
	want := api.ImportStatistics{PrefixesFound: 2, PrefixesCompleted: 2, FilesCompleted: int64(len(keys) - 2), EventsCompleted: int64(20 * (len(keys) - 2)), FailedEntries: 2}
	if imp.ImportStatus != api.StatusFailed || *imp.ImportStatistics != want {
		t.Errorf("import %s with %+v, want FAILED with %+v", imp.ImportStatus, *imp.ImportStatistics, want)
	}
	f = e.failures(id)
	for _, k := range lost {
		if f[k].Status != api.FailureFailed || f[k].ErrorType != pipeline.ErrorSourceRead || !strings.Contains(f[k].ErrorMessage, "connection refused") {
			t.Errorf("failure of %s: %+v, want FAILED %s", k, f[k], pipeline.ErrorSourceRead)
		}
	}
	if f[back].Status != api.FailureSucceeded || f[back].ErrorType != pipeline.ErrorSourceRead {
		t.Errorf("failure of %s: %+v, want SUCCEEDED with its ErrorType %s", back, f[back], pipeline.ErrorSourceRead)
	}
	if len(f) != 3 {
		t.Errorf("failure entries %+v, want those of the 3 held files", f)
	}
	var rest []string
	for _, k := range keys {
		if k != lost[0] && k != lost[1] {
			rest = append(rest, k)
		}
	}
	e.checkStored(e.eds, e.wantIDs(rest...))
	gets := ht.resetGets()
	for _, k := range keys {
		want := map[string]int{lost[0]: attempts, lost[1]: attempts, back: 2}[k]
		if want == 0 {
			want = 1
		}
		if gets[k] != want {
			t.Errorf("%d GETs of %s, want %d", gets[k], k, want)
		}
	}

	// The retry reads the files that failed, and only them.
	e.retry(id)
	imp, _ = e.wait(id)
	want = api.ImportStatistics{PrefixesFound: 2, PrefixesCompleted: 2, FilesCompleted: int64(len(keys)), EventsCompleted: int64(20 * len(keys))}
	if imp.ImportStatus != api.StatusCompleted || *imp.ImportStatistics != want {
		t.Fatalf("retry ended %s with %+v (%q), want COMPLETED with %+v", imp.ImportStatus, *imp.ImportStatistics, e.message(id), want)
	}
	f = e.failures(id)
	for _, k := range append(lost, back) {
		if f[k].Status != api.FailureSucceeded || f[k].ErrorType != pipeline.ErrorSourceRead {
			t.Errorf("failure of %s after the retry: %+v, want SUCCEEDED", k, f[k])
		}
	}
	e.checkStored(e.eds, e.wantIDs())
	if gets := ht.resetGets(); len(gets) != 2 || gets[lost[0]] != 1 || gets[lost[1]] != 1 {
		t.Errorf("the retry sent GETs %v, want one of each failed file", gets)
	}
}
