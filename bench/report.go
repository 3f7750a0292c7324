// Package bench measures ctimport against the physical floors of the
// hardware and against its peers, over one generated corpus, and checks
// its performance targets.
//
// Run builds ctimport and the helper benchrow, starts MinIO, generates a
// corpus (see package corpus) and runs every row of the report as a child
// process: ctimport end to end (row 1), the floors (2, 3, 3b) and the
// peers (4, 5), then row 1 with other settings and corpora for the
// scaling, latency and memory sections, the listing section, and the
// section of the server under load, where ctimport serve imports the corpus
// while clients of the AWS SDK call it. Every run and import is checked
// against the corpus's Truth. Report.Print shows the report as
// tables; Report.Save keeps it as JSON so that runs can be compared.
//
// `make bench` runs the full report through cmd/benchreport. The Go
// benchmarks of this package give the rows' throughput on a small corpus.
package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/ctimport/ctimport/bench/corpus"
)

// The targets the report checks.
const (
	targetPeerS3    = 1.5       // row 1's throughput (from MinIO) over read_json's (row 4)
	targetPeerLocal = 2.0       // row 1L's throughput (from the local disk) over read_json's
	targetBusy      = 0.90      // the least share of the machine's cores an import keeps busy
	targetSerial    = 0.10      // the most of an import's CPU that its single-goroutine stages may take
	targetPeakRSS   = 300 << 20 // bytes
	targetFlatRSS   = 1.25      // the most a bigger corpus may raise row 1's peak RSS, as a factor
	targetLinear    = 1.20      // the most a corpus Grow times as big may cost over Grow times the time
	targetLatency   = 0.70      // row 1's throughput with delayed S3 requests over without
	targetBase      = 0.90      // row 1's throughput over the base revision's, measured beside it
	targetStoreSize = 1.5       // the most row 1's store may take per event over the base revision's
	targetQuery     = 1.0       // the most a query of Lake's form may take over its JSON form
	targetMemory    = 1.0       // the least row 1's throughput with bigMemory may be over row 1's
	targetLoadKeep  = 0.80      // the least an import through the server under load keeps of its throughput unloaded
	bigMemory       = "2GiB"    // the --memory-limit of row "1 mem"
	maxShards       = 3         // the shards section runs 1 to maxShards shard processes
	listingAccounts = 3
	listingRegions  = 2
)

// Config is what Run measures.
type Config struct {
	// Root is the root directory of the ctimport module.
	Root string
	// Work is the directory of the binaries, corpora and databases; ""
	// means a temporary directory, removed at the end.
	Work string
	// Spec is the corpus of the rows.
	Spec corpus.Spec
	// Grow is how many times more days the corpus of the scaling section
	// has.
	Grow int
	// GiantBytes is the JSON size of the one big file added to Spec for
	// the memory section.
	GiantBytes int64
	// ListingDays are the days of the two buckets of the listing section.
	ListingDays [2]int
	// Latency is the delay the proxy of the latency section adds to every
	// S3 request.
	Latency time.Duration
	// Load is what the load section runs.
	Load LoadConfig
	// Base is a git revision of the module whose ctimport runs row 1
	// again beside this one, as row "1 base", for the targets that compare
	// them; "" runs no base.
	Base string
	// Logf tells of progress; nil is quiet.
	Logf func(format string, args ...any)
}

// DefaultConfig returns the full benchmark of the module at root: the
// corpus of corpus.Full, 4 times as many days for the scaling section, a
// file of 1 GiB of JSON for the memory section, buckets of 30 and 365 days
// for the listing section, 30 ms of latency, and 64 clients calling the
// server for 30 seconds in the load section, which serves at most 40
// requests a second.
func DefaultConfig(root string) Config {
	return Config{
		Root:        root,
		Spec:        corpus.Full(filepath.Join(root, "testdata", "corpus")),
		Grow:        4,
		GiantBytes:  1 << 30,
		ListingDays: [2]int{30, 365},
		Latency:     30 * time.Millisecond,
		Load:        LoadConfig{Clients: 64, Duration: 30 * time.Second, PerSecond: 40},
	}
}

// Report is the result of Run.
type Report struct {
	Time   time.Time `json:"time"`
	Commit string    `json:"commit,omitempty"`
	Host   Host      `json:"host"`
	// Workers is ctimport's default concurrency, the worker count of the
	// floors.
	Workers int          `json:"workers"`
	Spec    corpus.Spec  `json:"spec"`
	Truth   corpus.Truth `json:"truth"`
	// Rows are rows 1 to 5, over the corpus of Spec.
	Rows []Row `json:"rows"`
	// Variants are runs of row 1 with other settings or corpora.
	Variants []Row     `json:"variants"`
	Scaling  Scaling   `json:"scaling"`
	Listing  []Listing `json:"listing"`
	// Base is the revision of row "1 base", if any.
	Base string `json:"base,omitempty"`
	// Queries are the query timings over row 1's database.
	Queries []QueryTiming `json:"queries"`
	Load    Load          `json:"load"`
	Checks  []Check       `json:"checks"`
}

// QueryTiming is the best of three runs of a query in Lake's form, over an
// event data store's view, and in the form of the JSON columns of its
// events table, which give the same answer.
type QueryTiming struct {
	Name        string  `json:"name"`
	LakeSeconds float64 `json:"lakeSeconds"`
	JSONSeconds float64 `json:"jsonSeconds"`
}

// Host is the machine of a report.
type Host struct {
	OS   string `json:"os"`
	Arch string `json:"arch"`
	CPUs int    `json:"cpus"`
	Go   string `json:"go"`
}

// Row is one measured run. Its rates are of the whole corpus it ran on,
// whatever the row did with it; MB are 10^6 bytes.
type Row struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Source string `json:"source"`
	Corpus string `json:"corpus"`
	// Events is the number of events of the corpus.
	Events           int64   `json:"events"`
	Seconds          float64 `json:"seconds"`
	EventsPerSecond  float64 `json:"eventsPerSecond"`
	CompressedMBps   float64 `json:"compressedMBps"`
	UncompressedMBps float64 `json:"uncompressedMBps"`
	CPUSeconds       float64 `json:"cpuSeconds"`
	PeakRSSMiB       float64 `json:"peakRSSMiB"`
	// MinIOCPUSeconds is the CPU time of MinIO during a run that read
	// it, where the system tells (Linux).
	MinIOCPUSeconds float64 `json:"minioCPUSeconds,omitempty"`
	// CoresBusy is CPUSeconds over Seconds times the machine's cores.
	CoresBusy float64 `json:"coresBusy"`
	// StoreBytesPerEvent is the size of the database an import wrote over
	// the corpus's events; 0 for the rows that are not imports.
	StoreBytesPerEvent float64 `json:"storeBytesPerEvent,omitempty"`
	// Row1Ratio is row 1's events per second over this row's.
	Row1Ratio float64 `json:"row1Ratio"`
	// Complete reports whether the run read, stored or counted all of
	// the corpus; Check says what was compared.
	Complete bool   `json:"complete"`
	Check    string `json:"check"`
	// Stages is the CPU of an import by stage of its pipeline, for the
	// rows that profile it.
	Stages []StageShare `json:"stages,omitempty"`
}

// NewRow returns the row of the measure m of a run over c.
func NewRow(id, name, source string, c *Corpus, m Measure) Row {
	t := c.Truth
	return Row{
		ID: id, Name: name, Source: source, Corpus: c.Name,
		Events:             t.Events,
		Seconds:            m.Seconds,
		EventsPerSecond:    rate(float64(t.Events), m.Seconds),
		CompressedMBps:     rate(mb(t.CompressedBytes), m.Seconds),
		UncompressedMBps:   rate(mb(t.UncompressedBytes), m.Seconds),
		CPUSeconds:         m.CPUSeconds,
		PeakRSSMiB:         float64(m.PeakRSS) / (1 << 20),
		CoresBusy:          rate(m.CPUSeconds, m.Seconds*float64(runtime.NumCPU())),
		MinIOCPUSeconds:    m.MinIOCPUSeconds,
		StoreBytesPerEvent: rate(float64(m.StoreBytes), float64(t.Events)),
		Complete:           m.Complete,
		Check:              m.Check,
		Stages:             m.Stages,
	}
}

func rate(n, seconds float64) float64 {
	if seconds <= 0 {
		return 0
	}
	return n / seconds
}

// Scaling holds the ratios of the scaling and latency sections.
type Scaling struct {
	// Speedup is row 1's time with --concurrency 1 over its time with the
	// default concurrency.
	Speedup float64 `json:"speedup"`
	// Grow is how many times more days the bigger corpus has, and
	// GrowEvents how many times more events; GrowTime is row 1's time over
	// it, over row 1's time.
	Grow       int     `json:"grow"`
	GrowEvents float64 `json:"growEvents"`
	GrowTime   float64 `json:"growTime"`
	// LatencyKeep is row 1's throughput with every S3 request delayed by
	// Latency over its throughput without; LatencyRequests is the number
	// of requests delayed.
	Latency         time.Duration `json:"latency"`
	LatencyKeep     float64       `json:"latencyKeep"`
	LatencyRequests int64         `json:"latencyRequests"`
}

// Listing is the listing of a one-day window over a bucket.
type Listing struct {
	Days        int     `json:"days"`
	Day         string  `json:"day"`
	DayPrefixes int     `json:"dayPrefixes"`
	Files       int     `json:"files"`
	Lists       int64   `json:"lists"`
	Seconds     float64 `json:"seconds"`
}

// Check is a target and whether the report meets it.
type Check struct {
	Name   string `json:"name"`
	Target string `json:"target"`
	Value  string `json:"value"`
	Pass   bool   `json:"pass"`
}

// RowKind is a row of the report's main table.
type RowKind struct {
	ID     string
	Name   string
	Source string
	Run    func(h *Harness, ctx context.Context, c *Corpus) (Measure, error)
}

// Rows are the rows of the report's main table, in order.
var Rows = []RowKind{
	{"1", "ctimport end to end, default settings", "MinIO to DuckDB",
		func(h *Harness, ctx context.Context, c *Corpus) (Measure, error) {
			return h.Import(ctx, c, ImportOptions{})
		}},
	{"1L", "ctimport from a local copy, default settings", "local disk to DuckDB",
		func(h *Harness, ctx context.Context, c *Corpus) (Measure, error) {
			return h.Import(ctx, c, ImportOptions{Source: "file://" + c.Dir + "/", Profile: true})
		}},
	{"2", "floor: parallel gunzip to io.Discard", "local disk", (*Harness).Gunzip},
	{"3", "floor: gunzip + ctimport's JSON decoder, nothing stored", "local disk", (*Harness).Decode},
	{"3b", "floor: DuckDB CREATE TABLE t2 AS SELECT * FROM events", "row 1's database", (*Harness).Rewrite},
	{"4", "peer: DuckDB read_json into a typed table", "local disk", (*Harness).ReadJSON},
	{"5", "peer: plain Go, compress/gzip + encoding/json + 1 Appender, 1 worker", "local disk", (*Harness).PlainGo},
}

// Run measures what cfg says and returns the report.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	logf := cfg.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if cfg.Grow < 2 || cfg.GiantBytes <= 0 || cfg.ListingDays[0] < 1 || cfg.ListingDays[1] < cfg.ListingDays[0] || cfg.Load.Clients < 1 || cfg.Load.Duration <= 0 {
		return nil, errors.New("bench: the config needs Grow of at least 2, GiantBytes, two listing sizes, load clients and a load duration")
	}
	work := cfg.Work
	if work == "" {
		dir, err := os.MkdirTemp("", "ctimport-bench-")
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		defer os.RemoveAll(dir)
		work = dir
	}
	h, err := NewHarness(ctx, cfg.Root, work, logf)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	r := &Report{
		Time:    time.Now().UTC().Truncate(time.Second),
		Commit:  commit(cfg.Root),
		Host:    Host{OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(), Go: runtime.Version()},
		Workers: h.Workers(),
		Spec:    cfg.Spec,
	}
	x1, err := h.NewCorpus(ctx, "x1", cfg.Spec)
	if err != nil {
		return nil, err
	}
	r.Truth = x1.Truth
	for _, k := range Rows {
		logf("row %s: %s", k.ID, k.Name)
		m, err := k.Run(h, ctx, x1)
		if err != nil {
			return nil, fmt.Errorf("bench: row %s: %w", k.ID, err)
		}
		r.Rows = append(r.Rows, NewRow(k.ID, k.Name, k.Source, x1, m))
		logRow(logf, r.Rows[len(r.Rows)-1])
	}
	variant := func(id, name, source string, c *Corpus, o ImportOptions) error {
		logf("row %s: %s", id, name)
		m, err := h.Import(ctx, c, o)
		if err != nil {
			return fmt.Errorf("bench: row %s: %w", id, err)
		}
		r.Variants = append(r.Variants, NewRow(id, name, source, c, m))
		logRow(logf, r.Variants[len(r.Variants)-1])
		return nil
	}
	if cfg.Base != "" {
		bin, err := h.BuildBase(ctx, cfg.Base)
		if err != nil {
			return nil, err
		}
		r.Base = cfg.Base
		if err := variant("1 base", "ctimport at "+cfg.Base+", default settings", "MinIO to DuckDB", x1, ImportOptions{Binary: bin}); err != nil {
			return nil, err
		}
	}
	logf("queries over row 1's database")
	if r.Queries, err = h.Queries(ctx, x1); err != nil {
		return nil, err
	}
	for _, n := range []int{1, 2} {
		if n != h.Workers() {
			if err := variant(fmt.Sprintf("1 c=%d", n), fmt.Sprintf("ctimport --concurrency %d", n), "MinIO to DuckDB", x1, ImportOptions{Concurrency: n}); err != nil {
				return nil, err
			}
		}
	}
	if err := variant("1 mem", "ctimport --memory-limit "+bigMemory, "MinIO to DuckDB", x1, ImportOptions{MemoryLimit: bigMemory}); err != nil {
		return nil, err
	}
	proxy, err := startDelayProxy(h.Endpoint(), cfg.Latency)
	if err != nil {
		return nil, err
	}
	err = variant("1 +lat", fmt.Sprintf("ctimport, every S3 request %v later", cfg.Latency), "MinIO via proxy", x1, ImportOptions{Endpoint: proxy.url})
	proxy.Close()
	if err != nil {
		return nil, err
	}
	r.Scaling.Latency, r.Scaling.LatencyRequests = cfg.Latency, proxy.requests.Load()
	r.Scaling.Grow = cfg.Grow
	for _, v := range []struct {
		name, id, what string
		mutate         func(*corpus.Spec)
	}{
		{fmt.Sprintf("x%d", cfg.Grow), fmt.Sprintf("1 x%d", cfg.Grow), fmt.Sprintf("ctimport, corpus x%d", cfg.Grow),
			func(s *corpus.Spec) { s.Days *= cfg.Grow }},
		{"giant", "1 giant", fmt.Sprintf("ctimport, corpus x1 + one file of %.0f MB of JSON", mb(cfg.GiantBytes)),
			func(s *corpus.Spec) { s.GiantBytes = cfg.GiantBytes }},
	} {
		spec := cfg.Spec
		v.mutate(&spec)
		c, err := h.NewCorpus(ctx, v.name, spec)
		if err != nil {
			return nil, err
		}
		if err := variant(v.id, v.what, "MinIO to DuckDB", c, ImportOptions{}); err != nil {
			return nil, err
		}
		if err := h.Drop(ctx, c); err != nil {
			return nil, err
		}
	}
	for _, days := range cfg.ListingDays {
		l, err := listing(ctx, h, cfg, days)
		if err != nil {
			return nil, err
		}
		r.Listing = append(r.Listing, l)
	}
	for n := range maxShards {
		id := fmt.Sprintf("shards %d", n+1)
		logf("row %s", id)
		m, err := h.Shards(ctx, x1, n+1)
		if err != nil {
			return nil, fmt.Errorf("bench: row %s: %w", id, err)
		}
		r.Variants = append(r.Variants, NewRow(id, fmt.Sprintf("ctimport, one import in %d shard(s) (--shard I/%d)", n+1, n+1), "MinIO to Iceberg", x1, m))
		logRow(logf, r.Variants[len(r.Variants)-1])
	}
	logf("the server under load: %d clients for %v", cfg.Load.Clients, cfg.Load.Duration)
	if r.Load, err = h.Load(ctx, x1, cfg.Load); err != nil {
		return nil, err
	}
	r.finish()
	return r, nil
}

func logRow(logf func(string, ...any), r Row) {
	complete := "complete"
	if !r.Complete {
		complete = "INCOMPLETE: " + r.Check
	}
	logf("row %s: %.2f s, %.0f events/s, %.2f CPU s, peak RSS %.0f MiB, %s", r.ID, r.Seconds, r.EventsPerSecond, r.CPUSeconds, r.PeakRSSMiB, complete)
}

// listing lists a one-day window over a bucket of days days.
func listing(ctx context.Context, h *Harness, cfg Config, days int) (Listing, error) {
	spec := corpus.Spec{
		Seed: cfg.Spec.Seed, Source: cfg.Spec.Source, Accounts: listingAccounts, OrgTrail: cfg.Spec.OrgTrail,
		Regions: listingRegions, Start: cfg.Spec.Start, Days: days, FilesPerDay: 2, EventsPerFile: 1,
	}
	if spec.Start.IsZero() {
		spec.Start = corpus.DefaultStart
	}
	c, err := h.NewCorpus(ctx, fmt.Sprintf("list-%d", days), spec)
	if err != nil {
		return Listing{}, err
	}
	day := spec.Start.AddDate(0, 0, cfg.ListingDays[0]/2).Format(time.DateOnly)
	out, err := h.run(ctx, h.s3Env(), h.benchrow, "list", "-endpoint", h.Endpoint(), "-bucket", c.Bucket, "-day", day)
	if err != nil {
		return Listing{}, err
	}
	l := Listing{Days: days, Day: day}
	if err := json.Unmarshal(out, &l); err != nil {
		return Listing{}, fmt.Errorf("bench: benchrow list printed %q: %w", out, err)
	}
	return l, h.Drop(ctx, c)
}

// row returns the row or variant id, or nil.
func (r *Report) row(id string) *Row {
	for _, rows := range [][]Row{r.Rows, r.Variants} {
		for i := range rows {
			if rows[i].ID == id {
				return &rows[i]
			}
		}
	}
	return nil
}

// finish computes the ratios and the checks.
func (r *Report) finish() {
	r1 := r.row("1")
	for _, rows := range [][]Row{r.Rows, r.Variants} {
		for i := range rows {
			rows[i].Row1Ratio = rate(r1.EventsPerSecond, rows[i].EventsPerSecond)
		}
	}
	c1 := r.row("1 c=1")
	grown := r.row(fmt.Sprintf("1 x%d", r.Scaling.Grow))
	giant := r.row("1 giant")
	lat := r.row("1 +lat")
	r.Scaling.Speedup = rate(c1.Seconds, r1.Seconds)
	r.Scaling.GrowEvents = float64(grown.Events) / float64(r1.Events)
	r.Scaling.GrowTime = rate(grown.Seconds, r1.Seconds)
	r.Scaling.LatencyKeep = rate(lat.EventsPerSecond, r1.EventsPerSecond)

	var incomplete []string
	for _, rows := range [][]Row{r.Rows, r.Variants} {
		for _, row := range rows {
			if !row.Complete {
				incomplete = append(incomplete, "row "+row.ID+": "+row.Check)
			}
		}
	}
	runs := len(r.Rows) + len(r.Variants)
	complete := Check{Name: "every run read, stored or counted the whole corpus", Target: "all runs",
		Value: fmt.Sprintf("%d of %d runs", runs-len(incomplete), runs), Pass: len(incomplete) == 0}
	if len(incomplete) > 0 {
		complete.Value += "; " + strings.Join(incomplete, "; ")
	}
	peer, local := r.row("4"), r.row("1L")
	flat := func(row *Row) Check {
		growth := row.PeakRSSMiB / r1.PeakRSSMiB
		return Check{Name: "peak RSS flat: " + row.Name, Target: fmt.Sprintf("<= 300 MiB and <= %.2fx row 1's", targetFlatRSS),
			Value: fmt.Sprintf("%.0f MiB, %.2fx", row.PeakRSSMiB, growth),
			Pass:  row.PeakRSSMiB <= targetPeakRSS>>20 && growth <= targetFlatRSS}
	}
	short, long := r.Listing[0], r.Listing[1]
	r.Checks = []Check{
		complete,
		{Name: "throughput from the local disk over DuckDB read_json (row 1L / row 4)", Target: fmt.Sprintf(">= %.1fx", targetPeerLocal),
			Value: fmt.Sprintf("%.2fx", local.EventsPerSecond/peer.EventsPerSecond), Pass: local.EventsPerSecond >= targetPeerLocal*peer.EventsPerSecond},
		{Name: "throughput from MinIO over DuckDB read_json (row 1 / row 4)", Target: fmt.Sprintf(">= %.1fx", targetPeerS3),
			Value: fmt.Sprintf("%.2fx", r1.EventsPerSecond/peer.EventsPerSecond), Pass: r1.EventsPerSecond >= targetPeerS3*peer.EventsPerSecond},
		{Name: "cores busy importing from the local disk (row 1L)", Target: fmt.Sprintf(">= %.0f%%", 100*targetBusy),
			Value: fmt.Sprintf("%.0f%%", 100*local.CoresBusy), Pass: local.CoresBusy >= targetBusy},
		{Name: "serial share of row 1L's CPU (its stages " + strings.Join(serialStages, " and ") + ")", Target: fmt.Sprintf("<= %.0f%%", 100*targetSerial),
			Value: fmt.Sprintf("%.0f%%", 100*serialShare(local.Stages)), Pass: len(local.Stages) > 0 && serialShare(local.Stages) <= targetSerial},
		{Name: "peak RSS of row 1", Target: "<= 300 MiB", Value: fmt.Sprintf("%.0f MiB", r1.PeakRSSMiB), Pass: r1.PeakRSSMiB <= targetPeakRSS>>20},
		flat(grown),
		flat(giant),
		{Name: fmt.Sprintf("listing a day of %d and of %d days", short.Days, long.Days), Target: "same LIST calls and files",
			Value: fmt.Sprintf("%d and %d LIST calls, %d and %d files", short.Lists, long.Lists, short.Files, long.Files),
			Pass:  short.Lists == long.Lists && short.Files == long.Files && short.Files > 0},
		{Name: fmt.Sprintf("cost linear in the corpus (x%d)", r.Scaling.Grow),
			Target: fmt.Sprintf("time <= %.2fx the events' growth", targetLinear),
			Value:  fmt.Sprintf("%.2fx the time for %.2fx the events", r.Scaling.GrowTime, r.Scaling.GrowEvents),
			Pass:   r.Scaling.GrowTime <= targetLinear*r.Scaling.GrowEvents},
		{Name: fmt.Sprintf("throughput with %v per S3 request", r.Scaling.Latency), Target: fmt.Sprintf(">= %.0f%% of row 1's", targetLatency*100),
			Value: fmt.Sprintf("%.0f%%", 100*r.Scaling.LatencyKeep), Pass: r.Scaling.LatencyKeep >= targetLatency},
	}
	if base := r.row("1 base"); base != nil {
		keep := rate(r1.EventsPerSecond, base.EventsPerSecond)
		size := rate(r1.StoreBytesPerEvent, base.StoreBytesPerEvent)
		r.Checks = append(r.Checks,
			Check{Name: "throughput over " + r.Base + "'s, measured beside it (row 1 / row 1 base)", Target: fmt.Sprintf(">= %.0f%%", targetBase*100),
				Value: fmt.Sprintf("%.0f%%", 100*keep), Pass: keep >= targetBase},
			Check{Name: "store size per event over " + r.Base + "'s", Target: fmt.Sprintf("<= %.1fx", targetStoreSize),
				Value: fmt.Sprintf("%.0f bytes against %.0f, %.2fx", r1.StoreBytesPerEvent, base.StoreBytesPerEvent, size), Pass: size <= targetStoreSize})
	}
	if mem := r.row("1 mem"); mem != nil {
		gain := rate(mem.EventsPerSecond, r1.EventsPerSecond)
		r.Checks = append(r.Checks, Check{Name: "throughput with --memory-limit " + bigMemory + " over the default's (row 1 mem / row 1)",
			Target: fmt.Sprintf("> %.0f%%", targetMemory*100), Value: fmt.Sprintf("%.0f%%", 100*gain), Pass: gain > targetMemory})
	}
	r.Checks = append(r.Checks, r.Load.checks()...)
	for _, q := range r.Queries {
		ratio := rate(q.LakeSeconds, q.JSONSeconds)
		r.Checks = append(r.Checks, Check{Name: "query in Lake's form over its JSON form: " + q.Name, Target: fmt.Sprintf("<= %.1fx", targetQuery),
			Value: fmt.Sprintf("%.2fx (%.0f ms, %.0f ms)", ratio, 1000*q.LakeSeconds, 1000*q.JSONSeconds), Pass: ratio <= targetQuery})
	}
}
