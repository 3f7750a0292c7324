package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ctimport/ctimport/bench/corpus"
)

var shared struct {
	once sync.Once
	work string
	h    *Harness
	c    *Corpus
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.h != nil {
		shared.h.Close()
	}
	if shared.work != "" {
		os.RemoveAll(shared.work)
	}
	os.Exit(code)
}

func root(tb testing.TB) string {
	tb.Helper()
	r, err := ModuleRoot()
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// TestReport runs the whole report on a tiny corpus and checks that every
// row and section ran, produced numbers and read the whole corpus. It
// checks none of the performance targets.
func TestReport(t *testing.T) {
	cfg := DefaultConfig(root(t))
	cfg.Work = t.TempDir()
	cfg.Spec = corpus.Spec{Seed: 3, Source: cfg.Spec.Source, Accounts: 2, OrgTrail: true, Regions: 2, Days: 2, FilesPerDay: 4, EventsPerFile: 25}
	cfg.GiantBytes = 2 << 20
	cfg.ListingDays = [2]int{3, 9}
	cfg.Base = "HEAD"
	// A bound the clients' first rounds exceed, so that the server throttles.
	cfg.Load = LoadConfig{Clients: 8, Duration: 2 * time.Second, PerSecond: 10}
	cfg.Logf = t.Logf
	r, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}

	var ids []string
	for _, row := range r.Rows {
		ids = append(ids, row.ID)
	}
	if want := []string{"1", "1L", "2", "3", "3b", "4", "5"}; !slices.Equal(ids, want) {
		t.Errorf("rows %v, want %v", ids, want)
	}
	ids = ids[:0]
	for _, row := range r.Variants {
		ids = append(ids, row.ID)
	}
	want := []string{"1 base", "1 c=1", "1 c=2", "1 mem", "1 +lat", "1 x4", "1 giant", "shards 1", "shards 2", "shards 3"}
	if r.Workers == 2 {
		want = slices.Delete(want, 2, 3)
	}
	if !slices.Equal(ids, want) {
		t.Errorf("variants %v, want %v", ids, want)
	}
	for _, row := range append(slices.Clone(r.Rows), r.Variants...) {
		if !row.Complete {
			t.Errorf("row %s is incomplete: %s", row.ID, row.Check)
		}
		for name, v := range map[string]float64{
			"seconds": row.Seconds, "events/s": row.EventsPerSecond, "MB/s gz": row.CompressedMBps,
			"MB/s JSON": row.UncompressedMBps, "CPU seconds": row.CPUSeconds, "cores busy": row.CoresBusy, "peak RSS": row.PeakRSSMiB, "row 1 ratio": row.Row1Ratio,
		} {
			if !(v > 0) {
				t.Errorf("row %s: %s is %v", row.ID, name, v)
			}
		}
	}
	for _, row := range append(slices.Clone(r.Rows[:2]), r.Variants...) {
		if !(row.StoreBytesPerEvent > 0) {
			t.Errorf("row %s: store bytes per event %v", row.ID, row.StoreBytesPerEvent)
		}
	}
	if len(r.Queries) == 0 {
		t.Error("no query timings")
	}
	for _, q := range r.Queries {
		if !(q.LakeSeconds > 0 && q.JSONSeconds > 0) {
			t.Errorf("query timing %+v", q)
		}
	}
	// The tiny corpus takes a few samples of the profiler: each is of one
	// of the pipeline's stages or of none, and the shares add up.
	var sum float64
	for _, st := range r.Rows[1].Stages {
		if !slices.Contains([]string{"", "list", "fetch", "decode", "commit"}, st.Stage) || !(st.CPUSeconds > 0) {
			t.Errorf("row 1L's CPU by stage: %+v", st)
		}
		sum += st.Share
	}
	if len(r.Rows[1].Stages) == 0 || sum < 0.999 || sum > 1.001 {
		t.Errorf("row 1L's CPU by stage %+v: shares add up to %v", r.Rows[1].Stages, sum)
	}
	if r.Rows[0].Row1Ratio != 1 {
		t.Errorf("row 1 / row 1 is %v", r.Rows[0].Row1Ratio)
	}
	if g := r.row("1 giant"); g == nil || g.Events <= r.Truth.Events {
		t.Errorf("the giant corpus holds no more events than x1")
	}
	if sc := r.Scaling; sc.GrowEvents < 3 || sc.GrowTime <= 0 || sc.Speedup <= 0 || sc.LatencyKeep <= 0 || sc.LatencyRequests <= int64(r.Truth.Files) {
		t.Errorf("scaling %+v, for %d files", sc, r.Truth.Files)
	}
	if len(r.Listing) != 2 {
		t.Fatalf("listing %+v", r.Listing)
	}
	for _, l := range r.Listing {
		if l.Lists == 0 || l.Seconds <= 0 || l.DayPrefixes != listingAccounts*listingRegions || l.Files != 2*l.DayPrefixes {
			t.Errorf("listing %+v", l)
		}
	}
	checkLoad(t, r.Load, cfg.Load)
	if len(r.Checks) != 17+len(r.Queries) {
		t.Errorf("%d checks: %+v", len(r.Checks), r.Checks)
	}
	for _, c := range r.Checks {
		if c.Name == "" || c.Target == "" || c.Value == "" {
			t.Errorf("check %+v", c)
		}
	}
	if !r.Checks[0].Pass {
		t.Errorf("%s: %s", r.Checks[0].Name, r.Checks[0].Value)
	}

	var out bytes.Buffer
	if err := r.Print(&out); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	t.Logf("report:\n%s", text)
	for _, row := range append(slices.Clone(r.Rows), r.Variants...) {
		if !strings.Contains(text, "\n"+row.ID+" ") {
			t.Errorf("the printed report has no row %s", row.ID)
		}
	}
	for _, c := range r.Checks {
		if !strings.Contains(text, c.Name) {
			t.Errorf("the printed report lacks the check %q", c.Name)
		}
	}

	path, err := r.Save(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	saved := *r
	saved.Spec.Source = ""
	if !reflect.DeepEqual(back, saved) {
		t.Errorf("the saved report reads back as\n%+v\nnot\n%+v", back, saved)
	}
}

// checkLoad checks that the load section ran both imports to the end,
// with every event once, and that its clients called every operation, were
// throttled, and failed only with ThrottlingException.
func checkLoad(t *testing.T, l Load, cfg LoadConfig) {
	t.Helper()
	if l.Clients != cfg.Clients || l.MaxRequestsPerSecond != cfg.PerSecond || l.Seconds < cfg.Duration.Seconds() {
		t.Errorf("the load ran %d clients, at most %d requests a second, for %.2f s; want %+v", l.Clients, l.MaxRequestsPerSecond, l.Seconds, cfg)
	}
	for name, imp := range map[string]ServedImport{"unloaded": l.Unloaded, "under load": l.Loaded} {
		if !imp.Complete || imp.Status != "COMPLETED" || !(imp.Seconds > 0) || !(imp.EventsPerSecond > 0) {
			t.Errorf("the import %s: %+v", name, imp)
		}
	}
	var names []string
	var throttled int64
	for _, o := range l.Operations {
		names = append(names, o.Name)
		throttled += o.Throttled
		if o.Calls == 0 || !(o.PerSecond > 0) || !(o.P50Seconds > 0) || o.P99Seconds < o.P50Seconds || o.Throttled < 0 {
			t.Errorf("operation %+v", o)
		}
		for e := range o.Errors {
			if e != throttling {
				t.Errorf("%s failed with %s: %d calls", o.Name, e, o.Errors[e])
			}
		}
	}
	if !slices.Equal(names, loadOperations) {
		t.Errorf("operations %v, want %v", names, loadOperations)
	}
	if throttled == 0 {
		t.Errorf("no answer of a server serving at most %d requests a second to %d clients was a ThrottlingException", cfg.PerSecond, cfg.Clients)
	}
}

func TestPercentile(t *testing.T) {
	ms := func(n ...int) []time.Duration {
		var d []time.Duration
		for _, v := range n {
			d = append(d, time.Duration(v)*time.Millisecond)
		}
		return d
	}
	tests := []struct {
		sorted []time.Duration
		p      float64
		want   float64
	}{
		{nil, 0.5, 0},
		{ms(7), 0.99, 0.007},
		{ms(1, 2, 3, 4), 0.5, 0.002},
		{ms(1, 2, 3, 4, 5), 0.5, 0.003},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0.99, 0.010},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0.9, 0.009},
	}
	for _, tt := range tests {
		if got := percentile(tt.sorted, tt.p); got != tt.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", tt.sorted, tt.p, got, tt.want)
		}
	}
}

func TestDelayProxy(t *testing.T) {
	var host string
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host = r.Host
		w.Write([]byte(r.URL.RequestURI()))
	}))
	defer backend.Close()
	const delay = 50 * time.Millisecond
	p, err := startDelayProxy(backend.URL, delay)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	start := time.Now()
	resp, err := http.Get(p.url + "/bucket/key?list-type=2")
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	body.ReadFrom(resp.Body)
	resp.Body.Close()
	if took := time.Since(start); took < delay {
		t.Errorf("the answer came after %v, before the delay of %v", took, delay)
	}
	if body.String() != "/bucket/key?list-type=2" {
		t.Errorf("the backend got %q", body.String())
	}
	if want := strings.TrimPrefix(p.url, "http://"); host != want {
		t.Errorf("the backend got Host %q, want the proxy's %q", host, want)
	}
	if p.requests.Load() != 1 {
		t.Errorf("%d requests counted", p.requests.Load())
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 325170: "325,170", 1234567: "1,234,567", -4500: "-4,500"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

// benchCorpus returns the harness and small corpus the benchmarks share.
func benchCorpus(b *testing.B) (*Harness, *Corpus) {
	b.Helper()
	shared.once.Do(func() {
		r, err := ModuleRoot()
		if err != nil {
			shared.err = err
			return
		}
		if shared.work, shared.err = os.MkdirTemp("", "ctimport-bench-"); shared.err != nil {
			return
		}
		quiet := func(string, ...any) {}
		ctx := context.Background()
		if shared.h, shared.err = NewHarness(ctx, r, shared.work, quiet); shared.err != nil {
			return
		}
		spec := corpus.Full(DefaultConfig(r).Spec.Source)
		spec.Accounts, spec.Days, spec.FilesPerDay = 2, 2, 25
		shared.c, shared.err = shared.h.NewCorpus(ctx, "small", spec)
	})
	if shared.err != nil {
		b.Fatal(shared.err)
	}
	return shared.h, shared.c
}

// BenchmarkRows runs each row of the report's main table over a corpus of
// about 20,000 events and reports its throughput, CPU time and peak RSS.
func BenchmarkRows(b *testing.B) {
	h, c := benchCorpus(b)
	for _, k := range Rows {
		b.Run("row"+k.ID, func(b *testing.B) {
			var seconds, cpu float64
			var peak int64
			runs := 0
			for b.Loop() {
				m, err := k.Run(h, context.Background(), c)
				if err != nil {
					b.Fatal(err)
				}
				if !m.Complete {
					b.Fatalf("row %s: %s", k.ID, m.Check)
				}
				seconds += m.Seconds
				cpu += m.CPUSeconds
				peak = max(peak, m.PeakRSS)
				runs++
			}
			n := float64(runs)
			b.ReportMetric(float64(c.Truth.Events)*n/seconds, "events/s")
			b.ReportMetric(mb(c.Truth.CompressedBytes)*n/seconds, "MB/s-gz")
			b.ReportMetric(mb(c.Truth.UncompressedBytes)*n/seconds, "MB/s-json")
			b.ReportMetric(cpu/n, "cpu-s/op")
			b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
		})
	}
}
