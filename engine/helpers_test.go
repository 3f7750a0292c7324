package engine_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/engine"
	"github.com/ctimport/ctimport/internal/trailtest"
	"github.com/ctimport/ctimport/s3scan"
	"github.com/ctimport/ctimport/s3scan/s3scantest"
	"github.com/ctimport/ctimport/sink"
	"github.com/ctimport/ctimport/sink/memsink"
)

// The bucket every test environment serves, and the account and region of
// the crafted log files.
const (
	bucket  = "trail-bucket"
	srcURI  = "s3://" + bucket + "/"
	account = "111122223333"
	region  = "us-east-1"
)

// waitTimeout bounds every wait for an import's run, so that a hung
// engine fails the test instead of the whole package.
const waitTimeout = 60 * time.Second

// corpusDir holds the real CloudTrail deliveries of the project.
const corpusDir = "../testdata/corpus"

// corpusFile is one real log file of the corpus. Its records and ids are
// those an import into an event data store with CloudTrail Lake's default
// retention period keeps today; expired counts the others.
type corpusFile struct {
	set     string // the corpus set, e.g. "invictus-2023-07-10"
	key     string // the key within the set: AWSLogs/...
	gz      []byte // the file as delivered
	records []json.RawMessage
	ids     []string // eventID of each record
	expired int      // records older than the default retention period
}

// retentionStart is the start of the default retention period of an
// event data store created today.
func retentionStart() time.Time {
	return time.Now().Add(-time.Duration(api.DefaultRetentionPeriod) * 24 * time.Hour)
}

var (
	corpusOnce  sync.Once
	corpusFiles []corpusFile
	corpusErr   error
)

// loadCorpus reads the corpus once per test binary; files are in set,
// then key order.
func loadCorpus(tb testing.TB) []corpusFile {
	tb.Helper()
	files, err := corpus()
	if err != nil {
		tb.Fatalf("read corpus: %v", err)
	}
	return files
}

func corpus() ([]corpusFile, error) {
	corpusOnce.Do(func() { corpusFiles, corpusErr = readCorpus() })
	return corpusFiles, corpusErr
}

func readCorpus() ([]corpusFile, error) {
	logs, err := trailtest.LogFiles(corpusDir)
	if err != nil {
		return nil, err
	}
	files := make([]corpusFile, len(logs))
	for i, lf := range logs {
		set, key, _ := strings.Cut(lf.Key, "/")
		zr, err := gzip.NewReader(bytes.NewReader(lf.Data))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", lf.Key, err)
		}
		var doc struct{ Records []json.RawMessage }
		if err := json.NewDecoder(zr).Decode(&doc); err != nil {
			return nil, fmt.Errorf("%s: %w", lf.Key, err)
		}
		f := corpusFile{set: set, key: key, gz: lf.Data}
		for _, r := range doc.Records {
			var rec struct {
				EventID   string    `json:"eventID"`
				EventTime time.Time `json:"eventTime"`
			}
			if err := json.Unmarshal(r, &rec); err != nil || rec.EventID == "" {
				return nil, fmt.Errorf("%s: record without eventID or eventTime", lf.Key)
			}
			if rec.EventTime.Before(retentionStart()) {
				f.expired++
				continue
			}
			f.records = append(f.records, r)
			f.ids = append(f.ids, rec.EventID)
		}
		files[i] = f
	}
	return files, nil
}

// corpusSet returns the files of one set of the corpus.
func corpusSet(tb testing.TB, set string) []corpusFile {
	tb.Helper()
	var out []corpusFile
	for _, f := range loadCorpus(tb) {
		if f.set == set {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		tb.Fatalf("no corpus set %s", set)
	}
	return out
}

// realRecords returns every record of the invictus set: rich, real
// CloudTrail records that crafted log files are made of.
var realRecords = sync.OnceValue(func() []map[string]json.RawMessage {
	files, err := corpus()
	if err != nil {
		panic(err)
	}
	var out []map[string]json.RawMessage
	for _, f := range files {
		if f.set != "invictus-2023-07-10" {
			continue
		}
		for _, r := range f.records {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(r, &m); err != nil {
				panic(err)
			}
			out = append(out, m)
		}
	}
	return out
})

// ev is an event of a crafted log file.
type ev struct {
	id string
	at time.Time
}

// record returns a real record of the corpus (chosen by id) with its
// eventID and eventTime replaced.
func record(e ev) json.RawMessage {
	pool := realRecords()
	h := fnv.New32a()
	h.Write([]byte(e.id))
	m := maps.Clone(pool[int(h.Sum32())%len(pool)])
	m["eventID"] = mustJSON(e.id)
	m["eventTime"] = mustJSON(e.at.UTC().Format(time.RFC3339))
	return mustJSON(m)
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// logDoc returns a log file's JSON with the given records.
func logDoc(records ...json.RawMessage) []byte {
	var b bytes.Buffer
	b.WriteString(`{"Records":[`)
	for i, r := range records {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(r)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// evs returns n events with IDs prefix-0... at times from at, a second apart.
func evs(prefix string, n int, at time.Time) []ev {
	out := make([]ev, n)
	for i := range out {
		out[i] = ev{id: fmt.Sprintf("%s-%d", prefix, i), at: at.Add(time.Duration(i) * time.Second)}
	}
	return out
}

func idsOf(events []ev) []string {
	out := make([]string, len(events))
	for i, e := range events {
		out[i] = e.id
	}
	return out
}

// logKey returns the key of a log file of the trail under root, as
// CloudTrail names it; ext is ".json.gz" or ".json".
func logKey(root, acct, reg string, delivery time.Time, random, ext string) string {
	return orgLogKey(root, "", acct, reg, delivery, random, ext)
}

// orgLogKey is logKey for the trail of organization org.
func orgLogKey(root, org, acct, reg string, delivery time.Time, random, ext string) string {
	if org != "" {
		org += "/"
	}
	delivery = delivery.UTC()
	return fmt.Sprintf("%sAWSLogs/%s%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_%s%s",
		root, org, acct, reg, delivery.Format("2006/01/02"), acct, reg, delivery.Format("20060102T1504Z"), random, ext)
}

var keySeq atomic.Int64

// key returns the key of a new .json.gz log file of the default account
// and region delivered at delivery.
func key(delivery time.Time) string {
	return logKey("", account, region, delivery, fmt.Sprintf("Rnd%013d", keySeq.Add(1)), ".json.gz")
}

// spy is the source the engine reads in tests: the Mem, with a record of
// the calls made and an optional hook run before each Open.
type spy struct {
	s3scan.Source

	mu    sync.Mutex
	opens map[string]int
	lists []string
	hook  func(ctx context.Context, key string) error
	wrap  func(ctx context.Context, key string, r io.ReadCloser) io.ReadCloser
}

func (s *spy) Open(ctx context.Context, key string) (io.ReadCloser, s3scan.Object, error) {
	s.mu.Lock()
	s.opens[key]++
	hook := s.hook
	s.mu.Unlock()
	if hook != nil {
		if err := hook(ctx, key); err != nil {
			return nil, s3scan.Object{}, err
		}
	}
	rc, obj, err := s.Source.Open(ctx, key)
	s.mu.Lock()
	wrap := s.wrap
	s.mu.Unlock()
	if err == nil && wrap != nil {
		rc = wrap(ctx, key, rc)
	}
	return rc, obj, err
}

// setWrap sets the function that wraps each reader Open returns.
func (s *spy) setWrap(fn func(ctx context.Context, key string, r io.ReadCloser) io.ReadCloser) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.wrap = fn
}

// stallingReader returns the first n bytes of r, then blocks until ctx
// ends (closing reached once it blocks) and returns ctx's error.
type stallingReader struct {
	io.ReadCloser
	ctx     context.Context
	n       int64
	reached chan struct{}
	once    *sync.Once
}

func (s *stallingReader) Read(p []byte) (int, error) {
	if s.n <= 0 {
		s.once.Do(func() { close(s.reached) })
		<-s.ctx.Done()
		return 0, s.ctx.Err()
	}
	if int64(len(p)) > s.n {
		p = p[:s.n]
	}
	n, err := s.ReadCloser.Read(p)
	s.n -= int64(n)
	return n, err
}

func (s *spy) List(ctx context.Context, prefix, token string) (s3scan.Page, error) {
	s.mu.Lock()
	s.lists = append(s.lists, prefix)
	s.mu.Unlock()
	return s.Source.List(ctx, prefix, token)
}

// setHook sets the function run before each Open.
func (s *spy) setHook(fn func(ctx context.Context, key string) error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hook = fn
}

// reset returns the Opens and Lists made since the last reset.
func (s *spy) reset() (opens map[string]int, lists []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	opens, lists = s.opens, s.lists
	s.opens, s.lists = map[string]int{}, nil
	return opens, lists
}

// gate returns a wrapper for spy.setWrap that blocks the first read of
// the content of key until the run stops (its context ends), and a
// channel closed when that read starts. Tests using it fetch one file at
// a time and read none ahead (Options Downloads 1 and PrefetchBytes 1), so
// that the files reach the worker in order and the worker, not a fetcher,
// reads them: the files before key are then read in full.
func gate(key string) (func(ctx context.Context, k string, r io.ReadCloser) io.ReadCloser, <-chan struct{}) {
	reached := make(chan struct{})
	var once sync.Once
	var gated atomic.Bool
	return func(ctx context.Context, k string, r io.ReadCloser) io.ReadCloser {
		if k != key || gated.Swap(true) {
			return r
		}
		return &stallingReader{ReadCloser: r, ctx: ctx, reached: reached, once: &once}
	}, reached
}

// startGated puts one log file, starts an import of it into the default
// store whose read of it stalls until the run stops, and returns the
// import's ID once the read stalls. The Engine must fetch one file at a
// time and read none ahead (see gate).
func (e *env) startGated() string {
	e.t.Helper()
	day := time.Date(2023, 7, 10, 0, 0, 0, 0, time.UTC)
	k := key(day.Add(time.Hour))
	e.put(k, evs("x", 2, day)...)
	hook, reached := gate(k)
	e.spy.setWrap(hook)
	id := e.startNew()
	waitClosed(e.t, reached, "the gated read")
	return id
}

// env is an Engine over a memsink store reading a Mem bucket.
type env struct {
	t     *testing.T
	ctx   context.Context
	store *memsink.Store
	mem   *s3scantest.Mem
	spy   *spy
	opts  engine.Options
	eng   *engine.Engine
	eds   api.EventDataStore // the default destination, named "trail"
	want  map[string][]string
}

// newEnv returns an environment whose Engine has opts, with OpenSource
// serving the Mem as bucket trail-bucket (any other bucket does not
// exist; file URIs are local directories), and a 1ms Backoff unless opts
// set one.
func newEnv(t *testing.T, opts engine.Options) *env {
	t.Helper()
	e := &env{t: t, ctx: t.Context(), store: memsink.New(), mem: s3scantest.NewMem(), want: map[string][]string{}}
	e.spy = &spy{Source: e.mem, opens: map[string]int{}}
	if opts.Backoff == 0 {
		opts.Backoff = time.Millisecond
	}
	opts.OpenSource = e.openSource
	e.opts = opts
	e.eng = engine.New(e.store, opts)
	t.Cleanup(func() {
		e.eng.Close()
		e.store.Close()
	})
	e.eds = e.createStore("trail")
	return e
}

func (e *env) openSource(ctx context.Context, loc s3scan.Location, src api.S3ImportSource) (s3scan.Source, error) {
	switch {
	case loc.Scheme == "file":
		return engine.Sources("")(ctx, loc, src)
	case loc.Bucket != bucket:
		return nil, fmt.Errorf("open %s: %w", loc, s3scan.ErrNoBucket)
	}
	return e.spy, nil
}

// reopen replaces the Engine by a new one over the same store and bucket,
// as a new process would be; the old one is not closed.
func (e *env) reopen() {
	e.eng = engine.New(e.store, e.opts)
	eng := e.eng
	e.t.Cleanup(func() { eng.Close() })
}

func (e *env) createStore(name string) api.EventDataStore {
	e.t.Helper()
	s, err := e.eng.CreateEventDataStore(e.ctx, api.CreateEventDataStoreInput{Name: name})
	if err != nil {
		e.t.Fatalf("CreateEventDataStore(%q): %v", name, err)
	}
	return s
}

// storeID returns the ID of an event data store, the last segment of its ARN.
func storeID(s api.EventDataStore) string {
	return s.EventDataStoreArn[strings.LastIndexByte(s.EventDataStoreArn, '/')+1:]
}

// put stores a gzip log file (plain JSON when key ends in .json) of the
// given events, and remembers them as the key's events.
func (e *env) put(key string, events ...ev) {
	recs := make([]json.RawMessage, len(events))
	for i, x := range events {
		recs[i] = record(x)
	}
	data := logDoc(recs...)
	if strings.HasSuffix(key, ".gz") {
		data = trailtest.Gzip(data)
	}
	e.mem.Put(key, data)
	e.want[key] = idsOf(events)
}

// putRaw stores data under key as it is; the key has no expected events.
func (e *env) putRaw(key string, data []byte) {
	e.mem.Put(key, data)
	delete(e.want, key)
}

// wantIDs returns the events of the given keys (of all keys put when none
// is given), as put.
func (e *env) wantIDs(keys ...string) []string {
	if len(keys) == 0 {
		keys = slices.Collect(maps.Keys(e.want))
	}
	var out []string
	for _, k := range keys {
		out = append(out, e.want[k]...)
	}
	return out
}

func newImport(dest string, uri string) api.StartImportInput {
	return api.StartImportInput{Destinations: []string{dest}, ImportSource: &api.ImportSource{S3: api.S3ImportSource{S3LocationUri: uri}}}
}

// start starts an import and fails the test when it is refused.
func (e *env) start(in api.StartImportInput, opts engine.StartOptions) string {
	e.t.Helper()
	imp, err := e.eng.StartImportWith(e.ctx, in, opts)
	if err != nil {
		e.t.Fatalf("StartImport(%+v): %v", in, err)
	}
	if imp.ImportId == "" {
		e.t.Fatalf("StartImport returned no ImportId")
	}
	return imp.ImportId
}

// startNew starts a new import of the bucket into the default store.
func (e *env) startNew() string {
	e.t.Helper()
	return e.start(newImport(e.eds.EventDataStoreArn, srcURI), engine.StartOptions{})
}

// retry starts a retry of import id.
func (e *env) retry(id string) {
	e.t.Helper()
	e.start(api.StartImportInput{ImportId: id}, engine.StartOptions{})
}

// wait waits for the run of import id to end.
func (e *env) wait(id string) (api.Import, engine.Progress) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, waitTimeout)
	defer cancel()
	imp, p, err := e.eng.Wait(ctx, id)
	if err != nil {
		e.t.Fatalf("Wait(%s): %v", id, err)
	}
	return imp, p
}

// doneSignal is a context that tells when its Done method is first called.
type doneSignal struct {
	context.Context
	once   sync.Once
	called chan struct{}
}

func (d *doneSignal) Done() <-chan struct{} {
	d.once.Do(func() { close(d.called) })
	return d.Context.Done()
}

// waitHeld is wait for a run held back until release is closed: it closes
// release once Wait has found the run (Wait looks at its context's Done
// only then), so that the run cannot end before Wait sees it.
func (e *env) waitHeld(id string, release chan struct{}) (api.Import, engine.Progress) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, waitTimeout)
	defer cancel()
	sig := &doneSignal{Context: ctx, called: make(chan struct{})}
	type result struct {
		imp api.Import
		p   engine.Progress
		err error
	}
	res := make(chan result, 1)
	go func() {
		imp, p, err := e.eng.Wait(sig, id)
		res <- result{imp, p, err}
	}()
	select {
	case <-sig.called:
	case r := <-res:
		close(release)
		e.t.Fatalf("Wait(%s) returned before the run ended: %+v, %v", id, r.imp, r.err)
	}
	close(release)
	r := <-res
	if r.err != nil {
		e.t.Fatalf("Wait(%s): %v", id, r.err)
	}
	return r.imp, r.p
}

// run imports the bucket into the default store and waits for the end.
func (e *env) run() (api.Import, engine.Progress) {
	e.t.Helper()
	return e.wait(e.startNew())
}

// stats returns an import's statistics.
func (e *env) stats(id string) api.ImportStatistics {
	e.t.Helper()
	imp, err := e.eng.GetImport(e.ctx, api.GetImportInput{ImportId: id})
	if err != nil {
		e.t.Fatalf("GetImport(%s): %v", id, err)
	}
	if imp.ImportStatistics == nil {
		e.t.Fatalf("GetImport(%s) has no statistics", id)
	}
	return *imp.ImportStatistics
}

// size returns the size of the object k of the source.
func (e *env) size(k string) int64 {
	e.t.Helper()
	rc, obj, err := e.mem.Open(e.ctx, k)
	if err != nil {
		e.t.Fatal(err)
	}
	rc.Close()
	return obj.Size
}

func (e *env) status(id string) api.ImportStatus {
	e.t.Helper()
	imp, err := e.eng.GetImport(e.ctx, api.GetImportInput{ImportId: id})
	if err != nil {
		e.t.Fatalf("GetImport(%s): %v", id, err)
	}
	return imp.ImportStatus
}

func (e *env) message(id string) string {
	e.t.Helper()
	msg, err := e.eng.Message(e.ctx, id)
	if err != nil {
		e.t.Fatalf("Message(%s): %v", id, err)
	}
	return msg
}

// failures returns every failure entry of an import, by location.
func (e *env) failures(id string) map[string]api.ImportFailureListItem {
	e.t.Helper()
	out := map[string]api.ImportFailureListItem{}
	for _, f := range e.failureList(id) {
		out[f.Location] = f
	}
	return out
}

func (e *env) failureList(id string) []api.ImportFailureListItem {
	e.t.Helper()
	out, err := e.eng.ListImportFailures(e.ctx, api.ListImportFailuresInput{ImportId: id})
	if err != nil {
		e.t.Fatalf("ListImportFailures(%s): %v", id, err)
	}
	if out.NextToken != "" {
		e.t.Fatalf("ListImportFailures(%s) has more than one page", id)
	}
	return out.Failures
}

// stored returns how often each eventID is stored in an event data store,
// and the object key each was stored from.
func (e *env) stored(s api.EventDataStore) (count map[string]int, keys map[string]string) {
	count, keys = map[string]int{}, map[string]string{}
	for k, x := range e.store.Events(storeID(s)) {
		count[x.ID()]++
		keys[x.ID()] = k
	}
	return count, keys
}

// checkStored checks that the event data store holds exactly the events
// want, each once.
func (e *env) checkStored(s api.EventDataStore, want []string) {
	e.t.Helper()
	count, _ := e.stored(s)
	wantSet := map[string]bool{}
	for _, id := range want {
		wantSet[id] = true
	}
	var missing, extra, dup []string
	for id := range wantSet {
		if count[id] == 0 {
			missing = append(missing, id)
		}
	}
	for id, n := range count {
		if !wantSet[id] {
			extra = append(extra, id)
		}
		if n > 1 {
			dup = append(dup, id)
		}
	}
	if len(missing)+len(extra)+len(dup) > 0 {
		slices.Sort(missing)
		slices.Sort(extra)
		slices.Sort(dup)
		e.t.Errorf("store %s holds %d events, want %d: missing %s; unexpected %s; duplicated %s",
			s.Name, len(count), len(wantSet), short(missing), short(extra), short(dup))
	}
}

// checkKeys checks that every stored event was stored from the object
// that holds it.
func (e *env) checkKeys(s api.EventDataStore) {
	e.t.Helper()
	from := map[string]string{}
	for k, ids := range e.want {
		for _, id := range ids {
			from[id] = k
		}
	}
	for k, x := range e.store.Events(storeID(s)) {
		if want, ok := from[x.ID()]; ok && want != k {
			e.t.Errorf("event %s stored from %s, want %s", x.ID(), k, want)
		}
	}
}

// importedKeys returns the keys with an IMPORTED checkpoint row of import id.
func (e *env) importedKeys(id string) map[string]bool {
	e.t.Helper()
	files, err := e.store.Files(e.ctx, sink.FileQuery{ImportID: id, Statuses: []sink.FileStatus{sink.FileImported}})
	if err != nil {
		e.t.Fatal(err)
	}
	out := map[string]bool{}
	for _, f := range files {
		out[f.Key] = true
	}
	return out
}

// checkConsistent checks that the default store holds exactly the events
// of the files import id has committed as IMPORTED: a file is stored whole
// or not at all.
func (e *env) checkConsistent(id string) {
	e.t.Helper()
	var want []string
	for k := range e.importedKeys(id) {
		want = append(want, e.want[k]...)
	}
	e.checkStored(e.eds, want)
}

// eventually polls cond until it holds, failing the test after waitTimeout.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// waitClosed waits for ch to be closed.
func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitTimeout):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func short(s []string) string {
	if len(s) > 8 {
		return fmt.Sprint(s[:8]) + fmt.Sprintf("...(%d)", len(s))
	}
	return fmt.Sprint(s)
}

// transient is a source error that may not happen again.
var transient = fmt.Errorf("503 SlowDown: %w", s3scan.ErrTransient)

// isExc reports whether err is the API exception want.
func isExc(err error, want *api.Exception) bool {
	return err != nil && errors.Is(err, want)
}

// clock is a fake Options.Now that moves on a second at each call, so that
// every timestamp the engine records differs.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(time.Second)
	return c.now
}

func ptr[T any](v T) *T { return &v }

// known reports whether Wait returned the run's progress. The engine
// forgets the progress of a run that ended before Wait was called (see
// TestWaitAfterRunEnded); tests then check what they can without it.
func known(t *testing.T, p engine.Progress) bool {
	t.Helper()
	if p.Started.IsZero() {
		t.Logf("the run ended before Wait: no progress to check")
		return false
	}
	return true
}

func setOf(keys ...string) map[string]bool {
	m := map[string]bool{}
	for _, k := range keys {
		m[k] = true
	}
	return m
}
