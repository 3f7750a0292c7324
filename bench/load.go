package bench

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/aws/smithy-go"
	"golang.org/x/sync/errgroup"
)

const (
	// loadPoll is how long a client waits between polls of its query's
	// results, and the harness between polls of an import.
	loadPoll = 100 * time.Millisecond
	// loadQuery is the statement of the clients' queries, over the store
	// the import under load fills.
	loadQuery = "SELECT eventName, count(*) AS n FROM %s GROUP BY eventName ORDER BY n DESC LIMIT 10"
	// throttling is the exception of a server that sheds load.
	throttling = "ThrottlingException"
)

// loadOperations are the operations the clients of the load section call,
// in the order of the report.
var loadOperations = []string{"GetImport", "ListImports", "ListImportFailures", "StartQuery", "GetQueryResults"}

// LoadConfig is what the load section runs.
type LoadConfig struct {
	// Clients is how many clients call the server, and Duration how long
	// at least: as long as the import under load runs, when that is
	// longer.
	Clients  int
	Duration time.Duration
	// PerSecond is the server's --max-requests-per-second; 0 leaves the
	// requests a second unbounded.
	PerSecond int
}

// Load is the section of the server under load: ctimport serve imports the
// corpus unloaded, then again into a fresh event data store while Clients
// signed clients of the AWS SDK call it.
type Load struct {
	Clients int `json:"clients"`
	// MaxRequestsPerSecond is the server's --max-requests-per-second.
	MaxRequestsPerSecond int `json:"maxRequestsPerSecond"`
	// Seconds is how long the clients called the server.
	Seconds    float64         `json:"seconds"`
	Unloaded   ServedImport    `json:"unloaded"`
	Loaded     ServedImport    `json:"loaded"`
	Operations []LoadOperation `json:"operations"`
}

// ServedImport is an import of the corpus through ctimport serve's API.
type ServedImport struct {
	Status string `json:"status"`
	// Seconds is from the import's CreatedTimestamp to its
	// UpdatedTimestamp once it ended.
	Seconds         float64 `json:"seconds"`
	EventsPerSecond float64 `json:"eventsPerSecond"`
	// ServerCPUSeconds is the CPU time of the server meanwhile, where the
	// system tells (Linux).
	ServerCPUSeconds float64 `json:"serverCPUSeconds,omitempty"`
	// Complete reports whether the import ended COMPLETED with every
	// event of the corpus stored once; Check says what was compared.
	Complete bool   `json:"complete"`
	Check    string `json:"check"`
}

// LoadOperation is what the clients of the load section got of one
// operation.
type LoadOperation struct {
	Name string `json:"name"`
	// Calls counts the calls of the SDK, each with the retries of its
	// standard retryer; PerSecond is Calls over the load's Seconds.
	Calls     int64   `json:"calls"`
	PerSecond float64 `json:"perSecond"`
	// P50Seconds and P99Seconds are percentiles of the calls' latency,
	// retries included.
	P50Seconds float64 `json:"p50Seconds"`
	P99Seconds float64 `json:"p99Seconds"`
	// Throttled counts the server's ThrottlingException answers, which
	// the SDK retried, or returned once its attempts were spent.
	Throttled int64 `json:"throttled"`
	// Errors counts the calls that failed, by exception name (or by error
	// when the server gave no exception), and the queries that did not
	// finish, by their status.
	Errors map[string]int64 `json:"errors,omitempty"`
}

// Load runs the section of the server under load over c: ctimport serve
// imports c into a new event data store, then into another while the
// clients of cfg, signed clients of the AWS SDK, call it. Once the server
// has stopped, each store is checked against the corpus's Truth.
func (h *Harness) Load(ctx context.Context, c *Corpus, cfg LoadConfig) (Load, error) {
	db := filepath.Join(h.work, "db", h.name("serve")+".duckdb")
	defer removeDB(db)
	srv, err := h.startServe(ctx, db, "--max-requests-per-second", strconv.Itoa(cfg.PerSecond))
	if err != nil {
		return Load{}, err
	}
	l, stores, err := h.loadServer(ctx, srv, c, cfg)
	if serr := srv.stop(); err == nil {
		err = serr
	}
	if err != nil {
		return Load{}, err
	}
	for i, imp := range []*ServedImport{&l.Unloaded, &l.Loaded} {
		r, err := h.stored(ctx, h.s3Env(), h.ctimport, db, stores[i])
		if err != nil {
			return Load{}, err
		}
		imp.Complete, imp.Check = matchImport(c.Truth, imp.Status, r)
	}
	return l, nil
}

// loadServer runs the two imports of the load section through srv and
// returns the section and the IDs of the two stores.
func (h *Harness) loadServer(ctx context.Context, srv *serveProc, c *Corpus, cfg LoadConfig) (Load, [2]string, error) {
	l := Load{Clients: cfg.Clients, MaxRequestsPerSecond: cfg.PerSecond}
	var stores [2]string
	ct := srv.client(nil)
	// The harness's polls are not retried, so that they see the end of an
	// import soon after it, throttled or not.
	poll := srv.client(nil, func(o *cloudtrail.Options) { o.RetryMaxAttempts = 1 })
	h.logf("load: an import through ctimport serve")
	store, id, err := startServedImport(ctx, ct, c, "unloaded")
	if err != nil {
		return l, stores, err
	}
	cpu := srv.cpu()
	end, err := waitServedImport(ctx, poll, id)
	if err != nil {
		return l, stores, err
	}
	stores[0], l.Unloaded = store, servedImport(end, c.Truth.Events, srv.cpu()-cpu)

	h.logf("load: an import through ctimport serve, with %d clients calling it", cfg.Clients)
	unloaded := time.Duration(l.Unloaded.Seconds * float64(time.Second))
	lctx, cancel := context.WithTimeout(ctx, cfg.Duration+10*unloaded+time.Minute)
	defer cancel()
	if store, id, err = startServedImport(lctx, ct, c, "loaded"); err != nil {
		return l, stores, err
	}
	cpu = srv.cpu()
	w := newWorkload(srv, id, store, cfg.Clients)
	stop := make(chan struct{})
	g, gctx := errgroup.WithContext(lctx)
	start := time.Now()
	for _, lc := range w.clients {
		g.Go(func() error { return lc.run(gctx, stop) })
	}
	end, err = waitServedImport(gctx, poll, id)
	used := srv.cpu() - cpu
	if err == nil {
		err = sleep(gctx, time.Until(start.Add(cfg.Duration)))
	}
	close(stop)
	if gerr := g.Wait(); gerr != nil {
		err = gerr
	}
	if err != nil {
		return l, stores, err
	}
	l.Seconds = time.Since(start).Seconds()
	stores[1], l.Loaded = store, servedImport(end, c.Truth.Events, used)
	l.Operations = w.operations(l.Seconds)
	return l, stores, nil
}

// startServedImport creates an event data store named name and starts an
// import of c's bucket into it through the API, and returns the store's
// and the import's IDs.
func startServedImport(ctx context.Context, ct *cloudtrail.Client, c *Corpus, name string) (store, id string, err error) {
	s, err := ct.CreateEventDataStore(ctx, &cloudtrail.CreateEventDataStoreInput{Name: aws.String(name)})
	if err != nil {
		return "", "", fmt.Errorf("bench: create event data store %s: %w", name, err)
	}
	arn := aws.ToString(s.EventDataStoreArn)
	imp, err := ct.StartImport(ctx, &cloudtrail.StartImportInput{
		Destinations: []string{arn},
		ImportSource: &types.ImportSource{S3: &types.S3ImportSource{
			S3LocationUri:         aws.String("s3://" + c.Bucket + "/"),
			S3BucketRegion:        aws.String("us-east-1"),
			S3BucketAccessRoleArn: aws.String(""),
		}},
	})
	if err != nil {
		return "", "", fmt.Errorf("bench: start import into %s: %w", name, err)
	}
	return storeID(arn), aws.ToString(imp.ImportId), nil
}

// waitServedImport polls GetImport until the import id has ended, and
// returns it as it ended. A throttled poll is polled again.
func waitServedImport(ctx context.Context, ct *cloudtrail.Client, id string) (*cloudtrail.GetImportOutput, error) {
	for {
		imp, err := ct.GetImport(ctx, &cloudtrail.GetImportInput{ImportId: aws.String(id)})
		switch {
		case err == nil && imp.ImportStatus != types.ImportStatusInitializing && imp.ImportStatus != types.ImportStatusInProgress:
			return imp, nil
		case err != nil && exceptionName(err) != throttling:
			return nil, fmt.Errorf("bench: get import %s: %w", id, err)
		}
		if err := sleep(ctx, loadPoll); err != nil {
			return nil, err
		}
	}
}

// servedImport returns the ServedImport of an import of events events that
// ended as imp, while the server used cpu seconds.
func servedImport(imp *cloudtrail.GetImportOutput, events int64, cpu float64) ServedImport {
	seconds := aws.ToTime(imp.UpdatedTimestamp).Sub(aws.ToTime(imp.CreatedTimestamp)).Seconds()
	return ServedImport{
		Status:           string(imp.ImportStatus),
		Seconds:          seconds,
		EventsPerSecond:  rate(float64(events), seconds),
		ServerCPUSeconds: cpu,
	}
}

// cpu returns the CPU time of the server so far, in seconds, where the
// system tells; else 0.
func (p *serveProc) cpu() float64 {
	s, _ := processCPU(p.cmd.Process.Pid)
	return s
}

// workload is the clients of the load section and what they got.
type workload struct {
	importID  string
	statement string
	clients   []*loadClient
	// throttled counts ThrottlingException answers by operation; the map
	// does not change once made.
	throttled map[string]*atomic.Int64
}

func newWorkload(srv *serveProc, importID, store string, clients int) *workload {
	w := &workload{importID: importID, statement: fmt.Sprintf(loadQuery, store), throttled: map[string]*atomic.Int64{}}
	for _, op := range loadOperations {
		w.throttled[op] = new(atomic.Int64)
	}
	for range clients {
		w.clients = append(w.clients, &loadClient{
			w:    w,
			ct:   srv.client(throttleCounter{next: awshttp.NewBuildableClient(), throttled: w.throttled}),
			took: map[string][]time.Duration{},
			errs: map[string]map[string]int64{},
		})
	}
	return w
}

// operations sums what the clients got, over the seconds they ran.
func (w *workload) operations(seconds float64) []LoadOperation {
	var ops []LoadOperation
	for _, name := range loadOperations {
		o := LoadOperation{Name: name, Throttled: w.throttled[name].Load()}
		var took []time.Duration
		for _, lc := range w.clients {
			took = append(took, lc.took[name]...)
			for e, n := range lc.errs[name] {
				if o.Errors == nil {
					o.Errors = map[string]int64{}
				}
				o.Errors[e] += n
			}
		}
		slices.Sort(took)
		o.Calls = int64(len(took))
		o.PerSecond = rate(float64(o.Calls), seconds)
		o.P50Seconds, o.P99Seconds = percentile(took, 0.50), percentile(took, 0.99)
		ops = append(ops, o)
	}
	return ops
}

// percentile returns the p-quantile of sorted by the nearest rank, in
// seconds; 0 when sorted is empty.
func percentile(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(i, 0)].Seconds()
}

// loadClient is one client of the load section. Only its goroutine uses
// it until the load ends.
type loadClient struct {
	w    *workload
	ct   *cloudtrail.Client
	took map[string][]time.Duration  // the latency of each call, by operation
	errs map[string]map[string]int64 // by operation and exception name
}

// run calls the server in rounds until stop is closed; it fails only when
// ctx ends.
func (lc *loadClient) run(ctx context.Context, stop <-chan struct{}) error {
	for {
		select {
		case <-stop:
			return nil
		default:
		}
		if err := lc.round(ctx); err != nil {
			return err
		}
	}
}

// round calls GetImport, ListImports and ListImportFailures, then starts a
// query and polls GetQueryResults until it ends, through throttled polls.
func (lc *loadClient) round(ctx context.Context) error {
	ct, id := lc.ct, aws.String(lc.w.importID)
	calls := []struct {
		op   string
		call func() error
	}{
		{"GetImport", func() error {
			_, err := ct.GetImport(ctx, &cloudtrail.GetImportInput{ImportId: id})
			return err
		}},
		{"ListImports", func() error {
			_, err := ct.ListImports(ctx, &cloudtrail.ListImportsInput{})
			return err
		}},
		{"ListImportFailures", func() error {
			_, err := ct.ListImportFailures(ctx, &cloudtrail.ListImportFailuresInput{ImportId: id})
			return err
		}},
	}
	for _, c := range calls {
		if _, err := lc.call(ctx, c.op, c.call); err != nil {
			return err
		}
	}
	var q *cloudtrail.StartQueryOutput
	failed, err := lc.call(ctx, "StartQuery", func() (err error) {
		q, err = ct.StartQuery(ctx, &cloudtrail.StartQueryInput{QueryStatement: aws.String(lc.w.statement)})
		return err
	})
	if failed != "" || err != nil {
		return err
	}
	for {
		var res *cloudtrail.GetQueryResultsOutput
		failed, err := lc.call(ctx, "GetQueryResults", func() (err error) {
			res, err = ct.GetQueryResults(ctx, &cloudtrail.GetQueryResultsInput{QueryId: q.QueryId})
			return err
		})
		switch {
		case err != nil:
			return err
		case failed == throttling:
		case failed != "":
			return nil
		case res.QueryStatus == types.QueryStatusFinished:
			return nil
		case res.QueryStatus != types.QueryStatusQueued && res.QueryStatus != types.QueryStatusRunning:
			lc.fail("StartQuery", "query "+string(res.QueryStatus))
			return nil
		}
		if err := sleep(ctx, loadPoll); err != nil {
			return err
		}
	}
}

// call makes one call of operation op and records its latency and its
// error; it returns the exception the call failed with, "" when it
// succeeded. It fails only when ctx has ended.
func (lc *loadClient) call(ctx context.Context, op string, call func() error) (failed string, err error) {
	start := time.Now()
	cerr := call()
	if ctx.Err() != nil {
		return "", fmt.Errorf("bench: load: %w", ctx.Err())
	}
	lc.took[op] = append(lc.took[op], time.Since(start))
	if cerr != nil {
		failed = exceptionName(cerr)
		lc.fail(op, failed)
	}
	return failed, nil
}

func (lc *loadClient) fail(op, name string) {
	if lc.errs[op] == nil {
		lc.errs[op] = map[string]int64{}
	}
	lc.errs[op][name]++
}

// exceptionName returns the exception an SDK call failed with, or the
// error when the server gave none.
func exceptionName(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return err.Error()
}

// throttleCounter is the HTTP client of a load client: it counts the
// server's ThrottlingException answers by operation.
type throttleCounter struct {
	next      cloudtrail.HTTPClient
	throttled map[string]*atomic.Int64
}

func (t throttleCounter) Do(r *http.Request) (*http.Response, error) {
	resp, err := t.next.Do(r)
	if err == nil && resp.Header.Get("X-Amzn-ErrorType") == throttling {
		_, op, _ := strings.Cut(r.Header.Get("X-Amz-Target"), ".")
		if n, ok := t.throttled[op]; ok {
			n.Add(1)
		}
	}
	return resp, err
}

// sleep waits for d, or for ctx to end.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("bench: %w", ctx.Err())
	}
}

// checks returns the targets of the load section.
func (l Load) checks() []Check {
	var calls, throttled, failed, otherwise int64
	var others []string
	for _, o := range l.Operations {
		calls += o.Calls
		throttled += o.Throttled
		for _, e := range slices.Sorted(maps.Keys(o.Errors)) {
			failed += o.Errors[e]
			if e != throttling {
				otherwise += o.Errors[e]
				others = append(others, fmt.Sprintf("%s %s: %d", o.Name, e, o.Errors[e]))
			}
		}
	}
	calm := Check{Name: fmt.Sprintf("API calls of %d clients under load that failed other than with %s", l.Clients, throttling),
		Target: "none", Value: fmt.Sprintf("%d of %d calls failed, %d of them otherwise; %d throttled answers", failed, calls, otherwise, throttled),
		Pass: otherwise == 0 && calls > 0}
	if len(others) > 0 {
		calm.Value += "; " + strings.Join(others, "; ")
	}
	keep := rate(l.Loaded.EventsPerSecond, l.Unloaded.EventsPerSecond)
	return []Check{
		calm,
		{Name: "imports through ctimport serve, unloaded and under load", Target: "COMPLETED, every event stored once",
			Value: "unloaded: " + l.Unloaded.Check + "; under load: " + l.Loaded.Check, Pass: l.Unloaded.Complete && l.Loaded.Complete},
		{Name: "import throughput through ctimport serve under load over unloaded", Target: fmt.Sprintf(">= %.0f%%", 100*targetLoadKeep),
			Value: fmt.Sprintf("%.0f%% (%.0f events/s against %.0f)", 100*keep, l.Loaded.EventsPerSecond, l.Unloaded.EventsPerSecond), Pass: keep >= targetLoadKeep},
	}
}
