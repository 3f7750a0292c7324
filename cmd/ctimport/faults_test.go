package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/internal/miniotest"
)

// changingProxy is an HTTP proxy in front of an S3 server that, when the
// first GET of a chosen object arrives, changes the object on the server,
// then passes the GET on: the import listed one object and reads another,
// or none.
type changingProxy struct {
	srv *httptest.Server

	mu      sync.Mutex
	changes map[string]func() // by "/bucket/key"
}

func newChangingProxy(t *testing.T, endpoint string, changes map[string]func()) *changingProxy {
	t.Helper()
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	// The proxy keeps the Host header the client signed.
	proxy := httputil.NewSingleHostReverseProxy(target)
	p := &changingProxy{changes: changes}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			p.mu.Lock()
			change := p.changes[r.URL.Path]
			delete(p.changes, r.URL.Path)
			p.mu.Unlock()
			if change != nil {
				change()
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	return p
}

// etag returns the ETag of an object.
func etag(t *testing.T, srv *miniotest.Server, bucket, key string) string {
	t.Helper()
	info, err := srv.Client().StatObject(context.Background(), bucket, key, minio.StatObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return info.ETag
}

// TestObjectChangesUnderImport changes objects between the listing of an
// import and their reading: one is deleted, which fails that file with
// ObjectNotFound while every other file imports; one is replaced, whose
// new content is what the import stores. Put back with new content, and so
// a new ETag, the deleted object is read anew by the retry: its failure
// reads SUCCEEDED and its new events are stored.
func TestObjectChangesUnderImport(t *testing.T) {
	t.Parallel()
	at := time.Date(2024, 8, 1, 10, 0, 0, 0, time.UTC)
	l := newLayout(t)
	for i := range 8 {
		delivery := at.Add(time.Duration(i) * 5 * time.Minute)
		l.log(logKey("AWSLogs/", "123456789012", "us-east-1", delivery, fmt.Sprintf("Change%d", i)), events(fmt.Sprintf("change-%d", i), delivery.Add(-5*time.Minute), 5)...)
	}
	keys := l.logKeys()
	vanished, replaced := keys[2], keys[5]
	srv, bucket := l.newBucket()
	listed := etag(t, srv, bucket, replaced)
	l.log(replaced, events("replacement", at, 7)...)
	replacement := l.objects[replaced]
	px := newChangingProxy(t, srv.Endpoint(), map[string]func(){
		"/" + bucket + "/" + vanished: func() {
			if err := srv.Client().RemoveObject(context.Background(), bucket, vanished, minio.RemoveObjectOptions{}); err != nil {
				t.Errorf("delete %s: %v", vanished, err)
			}
		},
		"/" + bucket + "/" + replaced: func() {
			_, err := srv.Client().PutObject(context.Background(), bucket, replaced, bytes.NewReader(replacement), int64(len(replacement)), minio.PutObjectOptions{})
			if err != nil {
				t.Errorf("replace %s: %v", replaced, err)
			}
		},
	})
	h := newHarness(t, append(s3Creds(srv), "AWS_ENDPOINT_URL_S3="+px.srv.URL)...)
	store := h.createStore("changes")
	id := storeID(store.EventDataStoreArn)

	imp, _ := h.startImport(exitFailed, store.EventDataStoreArn, "s3://"+bucket+"/")
	var rest []string
	for _, k := range keys {
		if k != vanished {
			rest = append(rest, k)
		}
	}
	checkImport(t, imp, api.StatusFailed, api.ImportStatistics{
		PrefixesFound: 1, PrefixesCompleted: 1, FilesCompleted: int64(len(rest)), EventsCompleted: int64(l.count(rest...)), FailedEntries: 1,
	})
	failures := h.failures(imp.ImportId)
	if f := failures[vanished]; len(failures) != 1 || f.Status != api.FailureFailed || f.ErrorType != "ObjectNotFound" {
		t.Errorf("failures %+v, want only %s, FAILED ObjectNotFound", failures, vanished)
	}
	h.checkStored(id, l.ids(nil, rest...))
	if got, want := h.fileRows(imp.ImportId)[replaced].etag, etag(t, srv, bucket, replaced); got != want || got == listed {
		t.Errorf("the row of the replaced object has ETag %q; want %q, that of the content read, not %q, that of the listing", got, want, listed)
	}

	l.log(vanished, events("reappeared", at, 4)...)
	srv.Put(t, bucket, vanished, l.objects[vanished])
	retried, _ := h.retryImport(exitOK, imp.ImportId)
	checkImport(t, retried, api.StatusCompleted, api.ImportStatistics{
		PrefixesFound: 1, PrefixesCompleted: 1, FilesCompleted: int64(len(keys)), EventsCompleted: int64(l.count()),
	})
	failures = h.failures(imp.ImportId)
	if f := failures[vanished]; len(failures) != 1 || f.Status != api.FailureSucceeded || f.ErrorType != "ObjectNotFound" {
		t.Errorf("failures after the retry %+v, want only %s, SUCCEEDED with its ErrorType ObjectNotFound", failures, vanished)
	}
	h.checkStored(id, l.ids(nil))
	if got, want := h.fileRows(imp.ImportId)[vanished].etag, etag(t, srv, bucket, vanished); got != want {
		t.Errorf("the row of the object put back has ETag %q, want %q", got, want)
	}
}

// execCapped runs the binary on the harness's database as exec does, with
// the size of the files it writes capped at about limit KiB (RLIMIT_FSIZE;
// the shell counts in blocks of 512 or 1024 bytes). A write past the cap
// fails with EFBIG, as a write to a full disk fails with ENOSPC.
func (h *harness) execCapped(limit int, args ...string) outcome {
	h.t.Helper()
	// A write past the limit also raises SIGXFSZ, which kills the process
	// when it lands on a thread of DuckDB's. A full disk raises nothing:
	// ignore the signal, which stays ignored across exec.
	capped := func(ctx context.Context, args ...string) *exec.Cmd {
		script := fmt.Sprintf(`ulimit -f %d && trap '' XFSZ && exec "$0" "$@"`, limit)
		cmd := exec.CommandContext(ctx, "/bin/sh", append([]string{"-c", script, binary}, args...)...)
		cmd.Dir, cmd.Env = h.dir, h.env
		return cmd
	}
	return h.execWith(capped, append([]string{"--db", h.db}, args...))
}

// TestImportStoreWriteFails runs start-import where the database cannot
// grow: its commits fail in the operating system, as on a full disk. The
// import ends FAILED with a message saying what failed, its summary counts
// only what is stored, and the database stays intact: it opens, and holds
// exactly the files whose rows say IMPORTED. With room again, a retry
// completes the import with every event once.
func TestImportStoreWriteFails(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("relies on how Linux applies RLIMIT_FSIZE")
	}
	t.Parallel()
	l := newLayout(t)
	at := time.Date(2024, 9, 1, 0, 0, 0, 0, time.UTC)
	for i := range 60 {
		delivery := at.Add(time.Duration(i) * 10 * time.Minute)
		l.log(logKey("AWSLogs/", "123456789012", "us-east-1", delivery, fmt.Sprintf("Full%02d", i)), events(fmt.Sprintf("full-%02d", i), delivery.Add(-5*time.Minute), 100)...)
	}
	keys := l.logKeys()
	dir := t.TempDir()
	l.write(dir)
	source := importSource("file://" + filepath.ToSlash(dir) + "/")
	h := newHarness(t)
	store := h.createStore("capped")
	id := storeID(store.EventDataStoreArn)

	o := h.want(exitFailed, h.execCapped(1024, "start-import", "--destinations", store.Name, "--import-source", source))
	imp := decode[api.Import](t, o)
	if imp.ImportStatus != api.StatusFailed {
		t.Errorf("import %s, want FAILED", imp.ImportStatus)
	}
	if want := fmt.Sprintf("import %s: pipeline: ", imp.ImportId); !strings.Contains(o.stderr, want) || !strings.Contains(o.stderr, "File too large") {
		t.Errorf("stderr does not say that a write of the store failed (%q ... %q)\n%s", want, "File too large", o)
	}
	st := h.getImport(imp.ImportId).ImportStatistics
	if st.FilesCompleted == int64(len(keys)) || st.FailedEntries != 0 {
		t.Errorf("statistics %+v; want some files not imported, and no failure entry", *st)
	}
	if want := fmt.Sprintf("FAILED: %s files, %s events", count(st.FilesCompleted), count(st.EventsCompleted)); !strings.Contains(o.stderr, want) {
		t.Errorf("the summary does not say %q, what is stored\n%s", want, o)
	}
	if f := h.failures(imp.ImportId); len(f) != 0 {
		t.Errorf("failure entries %v, want none: the files are fine", f)
	}
	want := map[string]bool{}
	for key, f := range h.fileRows(imp.ImportId) {
		if f.status != "IMPORTED" || f.events != int64(len(l.events[key])) {
			t.Errorf("row of %s: %s with %d events, want IMPORTED with %d", key, f.status, f.events, len(l.events[key]))
		}
		for _, e := range l.events[key] {
			want[e.id] = true
		}
	}
	h.checkStored(id, want)

	retried, o := h.retryImport(exitOK, imp.ImportId)
	checkImport(t, retried, api.StatusCompleted, api.ImportStatistics{
		PrefixesFound: 1, PrefixesCompleted: 1, FilesCompleted: int64(len(keys)), EventsCompleted: int64(l.count()),
	})
	if want := fmt.Sprintf("COMPLETED: %s files, %s events", count(int64(len(keys))-st.FilesCompleted), count(int64(l.count())-st.EventsCompleted)); !strings.Contains(o.stderr, want) {
		t.Errorf("the summary of the retry does not say %q\n%s", want, o)
	}
	h.checkStored(id, l.ids(nil))
}
