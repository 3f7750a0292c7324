package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctimport/ctimport/api"
)

// crashProxy is an HTTP proxy in front of an S3 server through which a
// test steers an import to the point where it kills it. It paces the GETs
// of objects, one every pace, so that an import lasts long enough to be
// killed at chosen moments and to sync some of its commits on the way;
// and, once each when armed, it holds the LIST of a chosen prefix, or
// sends the first half of a chosen object and holds the rest.
type crashProxy struct {
	srv   *httptest.Server
	proxy *httputil.ReverseProxy
	pace  time.Duration
	paced sync.Mutex // serializes the pacing of object GETs

	mu         sync.Mutex
	listPrefix string // the prefix whose next LIST to hold; "" for none
	cutPath    string // "/bucket/key" of the object whose next GET to cut; "" for none
	putSuffix  string // the suffix of the path of a PUT to hold; "" for none
	putsLeft   int    // how many PUTs with putSuffix pass before the one held

	held   chan struct{} // receives once a request is held
	gets   atomic.Int64  // object GETs passed on
	closed chan struct{}
}

// errHeld ends the copy of a response the proxy holds.
var errHeld = errors.New("response held")

func newCrashProxy(t *testing.T, endpoint string, pace time.Duration) *crashProxy {
	t.Helper()
	target, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	p := &crashProxy{pace: pace, held: make(chan struct{}, 1), closed: make(chan struct{})}
	// The proxy keeps the Host header the client signed.
	p.proxy = httputil.NewSingleHostReverseProxy(target)
	p.proxy.ErrorLog = log.New(io.Discard, "", 0) // the killed clients' broken requests
	p.srv = httptest.NewServer(p)
	t.Cleanup(func() {
		close(p.closed)
		p.srv.Close()
	})
	return p
}

func (p *crashProxy) endpoint() string { return p.srv.URL }

// isObject reports whether the path of a request names an object rather
// than a bucket.
func isObject(p string) bool {
	_, key, _ := strings.Cut(strings.TrimPrefix(p, "/"), "/")
	return key != ""
}

func (p *crashProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPut && p.takePut(r.URL.Path) {
		p.hold(r)
		return
	}
	if r.Method != http.MethodGet {
		p.proxy.ServeHTTP(w, r)
		return
	}
	if q := r.URL.Query(); q.Has("list-type") {
		if p.take(&p.listPrefix, q.Get("prefix")) {
			p.hold(r)
			return
		}
		p.proxy.ServeHTTP(w, r)
		return
	}
	if !isObject(r.URL.Path) {
		p.proxy.ServeHTTP(w, r)
		return
	}
	p.paced.Lock()
	select {
	case <-time.After(p.pace):
	case <-r.Context().Done():
	}
	p.paced.Unlock()
	p.gets.Add(1)
	if p.take(&p.cutPath, r.URL.Path) {
		p.proxy.ServeHTTP(&halfWriter{ResponseWriter: w, hold: func() { p.hold(r) }}, r)
		return
	}
	p.proxy.ServeHTTP(w, r)
}

// take reports whether armed is value, and disarms it if so.
func (p *crashProxy) take(armed *string, value string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if *armed == "" || *armed != value {
		return false
	}
	*armed = ""
	return true
}

// takePut reports whether the PUT of path is the one to hold, and
// disarms the hold if so.
func (p *crashProxy) takePut(path string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.putSuffix == "" || !strings.HasSuffix(path, p.putSuffix) {
		return false
	}
	if p.putsLeft > 0 {
		p.putsLeft--
		return false
	}
	p.putSuffix = ""
	return true
}

// armPut holds the PUT of a path ending in suffix that comes after n
// others.
func (p *crashProxy) armPut(suffix string, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.putSuffix, p.putsLeft = suffix, n
}

// arm sets what to hold next.
func (p *crashProxy) arm(armed *string, value string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	*armed = value
}

// hold tells that r is held, then holds it until its client goes away.
func (p *crashProxy) hold(r *http.Request) {
	select {
	case p.held <- struct{}{}:
	case <-r.Context().Done():
		return
	case <-p.closed:
		return
	}
	select {
	case <-r.Context().Done():
	case <-p.closed:
	}
}

// halfWriter passes on the first half of a response body, by its
// Content-Length, then flushes it and holds the rest.
type halfWriter struct {
	http.ResponseWriter
	left int64
	hold func()
}

func (h *halfWriter) WriteHeader(code int) {
	n, _ := strconv.ParseInt(h.Header().Get("Content-Length"), 10, 64)
	h.left = n / 2
	h.ResponseWriter.WriteHeader(code)
}

func (h *halfWriter) Write(b []byte) (int, error) {
	if int64(len(b)) < h.left {
		h.left -= int64(len(b))
		return h.ResponseWriter.Write(b)
	}
	n, err := h.ResponseWriter.Write(b[:h.left])
	h.left = 0
	if err == nil {
		err = http.NewResponseController(h.ResponseWriter).Flush()
	}
	if err == nil {
		h.hold()
		err = errHeld
	}
	return n, err
}

func (h *halfWriter) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// crashImport is one import that a test kills again and again, retrying
// it each time, on one database.
type crashImport struct {
	t      *testing.T
	h      *harness
	px     *crashProxy
	l      *layout
	bucket string
	store  string // the ID of the event data store
	id     string // the import's ID, once known
	kills  map[string]int
	// completed is set when the import completed before a kill took effect.
	completed bool
}

// start starts the import, or its retry once it has an ID.
func (c *crashImport) start() *process {
	c.t.Helper()
	if c.id == "" {
		return c.h.start("start-import", "--destinations", c.store, "--import-source", importSource("s3://"+c.bucket+"/"))
	}
	return c.h.start("start-import", "--import-id", c.id)
}

// learnID waits for a new import's ID on the stderr of p.
func (c *crashImport) learnID(p *process) {
	c.t.Helper()
	poll(c.t, "the import's ID", func() bool {
		if m := startedRE.FindStringSubmatch(p.stderr.String()); m != nil {
			c.id = m[1]
		}
		return c.id != ""
	})
}

// waitHeld waits until the proxy holds a request, and fails the test when
// p ends first.
func (c *crashImport) waitHeld(p *process) {
	c.t.Helper()
	select {
	case <-c.px.held:
	case <-p.done:
		c.t.Fatalf("the import ended before the proxy held a request\n%s", p.result)
	case <-time.After(time.Minute):
		c.t.Fatal("timed out waiting for the proxy to hold a request")
	}
}

// kill kills p with SIGKILL and reports whether it was still running;
// when it was not, it must have completed the import.
func (c *crashImport) kill(p *process, phase string) bool {
	c.t.Helper()
	_ = p.cmd.Process.Kill() // SIGKILL
	o := p.wait()
	switch o.code {
	case -1:
		c.kills[phase]++
		return true
	case exitOK:
		return false
	}
	c.t.Fatalf("%s: the import ended before the kill\n%s", phase, o)
	return false
}

// check checks the database after a kill: it opens; the import is STOPPED
// (or COMPLETED, when the kill came as the process ended) with the
// statistics of its checkpoint rows; every file with an IMPORTED
// row has all of its events stored, once, and no other event is stored. It
// returns the number of files imported.
func (c *crashImport) check(phase string) int {
	c.t.Helper()
	imp := c.h.getImport(c.id)
	files := c.files()
	var st api.ImportStatistics
	for key, f := range files {
		if f.status != "IMPORTED" {
			c.t.Errorf("%s: file %s has status %s after a kill", phase, key, f.status)
			continue
		}
		st.FilesCompleted++
		st.EventsCompleted += f.events
		if want := int64(len(c.l.events[key])); f.events != want {
			c.t.Errorf("%s: the row of %s counts %d events, the file holds %d", phase, key, f.events, want)
		}
	}
	// A kill may land after the run recorded its end.
	c.completed = imp.ImportStatus == api.StatusCompleted && int(st.FilesCompleted) == len(c.l.events)
	if imp.ImportStatus != api.StatusStopped && !c.completed {
		c.t.Errorf("%s: import %s after a kill, want STOPPED", phase, imp.ImportStatus)
	}
	if got := imp.ImportStatistics; got == nil || got.FilesCompleted != st.FilesCompleted || got.EventsCompleted != st.EventsCompleted || got.FailedEntries != 0 {
		c.t.Errorf("%s: statistics %+v, want those of the checkpoint rows %+v", phase, got, st)
	}
	want := map[string]bool{}
	for key, f := range files {
		if f.status == "IMPORTED" {
			for _, e := range c.l.events[key] {
				want[e.id] = true
			}
		}
	}
	c.h.checkStored(c.store, want)
	return int(st.FilesCompleted)
}

// fileRow is what a test reads of a checkpoint row.
type fileRow struct {
	status string
	events int64
	etag   string
}

// fileRows reads the checkpoint rows of the files of import id, by key,
// with the read-only query command.
func (h *harness) fileRows(id string) map[string]fileRow {
	h.t.Helper()
	rows := h.query(fmt.Sprintf("SELECT key, status, events, etag FROM ctimport.files WHERE import_id = '%s'", id))
	files := make(map[string]fileRow, len(rows))
	for _, r := range rows {
		files[r["key"].(string)] = fileRow{status: r["status"].(string), events: int64(r["events"].(float64)), etag: r["etag"].(string)}
	}
	return files
}

// files reads the checkpoint rows of the import's files.
func (c *crashImport) files() map[string]fileRow {
	c.t.Helper()
	return c.h.fileRows(c.id)
}

// walSize is the size of the database's write-ahead log, 0 when there is none.
func walSize(db string) int64 {
	fi, err := os.Stat(db + ".wal")
	if err != nil {
		return 0
	}
	return fi.Size()
}

// TestCrashAnywhere kills start-import with SIGKILL at many points of an
// import, retrying it after each kill: while it lists, while it reads a
// file half received, after delays spread over the run, and as the
// write-ahead log grows, which is inside the commit that makes a group of
// commits durable. After every kill the database opens, the import reads
// STOPPED, and exactly the events of the files with an IMPORTED row are
// stored, each once. The last retry completes the import: every event of
// the bucket is stored once, and the statistics match the checkpoint rows
// and the bucket.
func TestCrashAnywhere(t *testing.T) {
	t.Parallel()
	l := newLayout(t)
	first := time.Date(2024, 2, 27, 0, 0, 0, 0, time.UTC)
	accounts := []string{"111111111111", "222222222222", "333333333333"}
	const days, filesPerDay, perFile = 4, 10, 40
	for a, account := range accounts {
		for d := range days {
			for f := range filesPerDay {
				delivery := first.AddDate(0, 0, d).Add(time.Duration(f*37+a*7+5) * time.Minute)
				tag := fmt.Sprintf("crash-a%d-d%d-f%02d", a, d, f)
				l.log(logKey("AWSLogs/", account, "us-east-1", delivery, fmt.Sprintf("Crash%d%d%02d", a, d, f)), events(tag, delivery.Add(-5*time.Minute), perFile)...)
			}
		}
	}
	// A plain JSON file larger than what the engine reads ahead into
	// memory: it is streamed, and its events reach the store's staging
	// as the worker decodes it.
	bigAt := first.Add(30 * time.Second)
	big := strings.TrimSuffix(logKey("AWSLogs/", accounts[0], "us-east-1", bigAt, "CrashBig"), ".gz")
	bigEvents := events("crash-big", bigAt.Add(-time.Hour), 11000)
	records := make([]any, len(bigEvents))
	for i, e := range bigEvents {
		records[i] = record(e)
	}
	l.objects[big], l.events[big] = mustJSON(t, map[string]any{"Records": records}), bigEvents
	if n := len(l.objects[big]); n < 5<<20 {
		t.Fatalf("the big file has %d bytes; it must be streamed, not read ahead", n)
	}
	keys := l.logKeys()
	srv, bucket := l.newBucket()
	px := newCrashProxy(t, srv.Endpoint(), 50*time.Millisecond)
	h := newHarness(t, append(s3Creds(srv), "AWS_ENDPOINT_URL_S3="+px.endpoint())...)
	c := &crashImport{t: t, h: h, px: px, l: l, bucket: bucket, kills: map[string]int{}}
	c.store = storeID(h.createStore("crash").EventDataStoreArn)

	// Listing: while a LIST of the discovery is held, then while the LIST
	// of a day prefix is held as the files of the days before it are read.
	px.arm(&px.listPrefix, "AWSLogs/"+accounts[1]+"/CloudTrail/")
	p := c.start()
	c.waitHeld(p)
	c.learnID(p)
	c.kill(p, "listing")
	c.check("discovery")
	px.arm(&px.listPrefix, path.Dir(keys[len(keys)-1])+"/")
	p = c.start()
	c.waitHeld(p)
	c.kill(p, "listing")
	c.check("day listing")

	// Mid-file: half of the big file is received, and decoded.
	px.arm(&px.cutPath, "/"+bucket+"/"+big)
	p = c.start()
	c.waitHeld(p)
	// What the worker received it decodes and stages within moments; the
	// checks hold wherever the kill lands.
	time.Sleep(300 * time.Millisecond)
	c.kill(p, "mid-file")
	if n := c.check("mid-file"); c.files()[big].status == "IMPORTED" {
		t.Errorf("the big file is imported though half of it was received (%d files imported)", n)
	}

	// Mid-batch and mid-commit: after delays spread over a run, from the
	// start of the process, and as soon as the write-ahead log grows once
	// the run reads files, that is while a commit is written, or a few
	// moments after.
	type round struct {
		phase string
		after time.Duration
	}
	var rounds []round
	for _, d := range []time.Duration{20, 80, 250, 600, 1200, 2500} {
		rounds = append(rounds, round{"timed", d * time.Millisecond})
	}
	// A run first syncs its commits after some seconds, most of the
	// files: the first two of these rounds kill it as it writes that
	// sync. The timed kill after them lands after the sync, and the later
	// rounds in the commits of the files left.
	rounds = append(rounds, round{"wal", 0}, round{"wal", 2 * time.Millisecond}, round{"timed", 5600 * time.Millisecond},
		round{"wal", 0}, round{"wal", 5 * time.Millisecond}, round{"wal", 30 * time.Millisecond})
	completed := false
	for i, r := range rounds {
		p := c.start()
		if r.phase == "timed" {
			time.Sleep(r.after)
		} else {
			gets := px.gets.Load()
			pollFast(t, "the retry to read a file", func() bool { return px.gets.Load() > gets || p.ended() })
			base := walSize(h.db)
			pollFast(t, "the write-ahead log to grow", func() bool { return walSize(h.db) > base || p.ended() })
			time.Sleep(r.after)
		}
		if !c.kill(p, r.phase) {
			completed = true
			t.Logf("round %d (%s %v): the import completed before the kill", i, r.phase, r.after)
			break
		}
		n := c.check(fmt.Sprintf("round %d (%s %v)", i, r.phase, r.after))
		t.Logf("round %d (%s %v): %d of %d files imported", i, r.phase, r.after, n, len(keys))
		if c.completed {
			completed = true
			t.Logf("round %d (%s %v): the import completed as it was killed", i, r.phase, r.after)
			break
		}
	}
	if c.kills["wal"] == 0 {
		t.Errorf("no kill landed as the write-ahead log grew: kills %v", c.kills)
	}

	if !completed {
		imp, o := h.retryImport(exitOK, c.id)
		if !strings.Contains(o.stderr, "import "+c.id+" retrying") {
			t.Errorf("stderr does not say that the import is retried\n%s", o)
		}
		checkImport(t, imp, api.StatusCompleted, api.ImportStatistics{
			PrefixesFound: int64(len(accounts) * days), PrefixesCompleted: int64(len(accounts) * days),
			FilesCompleted: int64(len(keys)), EventsCompleted: int64(l.count()),
		})
	}
	imp := h.getImport(c.id)
	checkImport(t, imp, api.StatusCompleted, api.ImportStatistics{
		PrefixesFound: int64(len(accounts) * days), PrefixesCompleted: int64(len(accounts) * days),
		FilesCompleted: int64(len(keys)), EventsCompleted: int64(l.count()),
	})
	var rows api.ImportStatistics
	for key, f := range c.files() {
		if f.status != "IMPORTED" || f.events != int64(len(l.events[key])) {
			t.Errorf("checkpoint row of %s: %s with %d events, want IMPORTED with %d", key, f.status, f.events, len(l.events[key]))
		}
		rows.FilesCompleted++
		rows.EventsCompleted += f.events
	}
	if rows.FilesCompleted != imp.ImportStatistics.FilesCompleted || rows.EventsCompleted != imp.ImportStatistics.EventsCompleted {
		t.Errorf("the checkpoint rows sum to %d files, %d events; the statistics say %+v", rows.FilesCompleted, rows.EventsCompleted, *imp.ImportStatistics)
	}
	if f := h.failures(c.id); len(f) != 0 {
		t.Errorf("failures after the crashes: %v", f)
	}
	counts := h.query(fmt.Sprintf("SELECT count(*) AS n, count(DISTINCT eventID) AS d FROM %s", c.store))
	if n, d := counts[0]["n"], counts[0]["d"]; n != float64(l.count()) || d != float64(l.count()) {
		t.Errorf("count(*) %v, count(DISTINCT eventID) %v; want %d", n, d, l.count())
	}
	h.checkStored(c.store, l.ids(nil))
	t.Logf("kills: %v", c.kills)
}

// pollFast is poll that checks cond every millisecond, so that what the
// test does next follows closely on what cond sees.
func pollFast(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// ended reports whether the process has ended.
func (p *process) ended() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}
