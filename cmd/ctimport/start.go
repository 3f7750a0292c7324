package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/engine"
	"github.com/ctimport/ctimport/pipeline"
	"github.com/ctimport/ctimport/sink"
	"github.com/ctimport/ctimport/sink/duckdbsink"
)

// stopWait is how long stop-import waits for another process to stop an import.
const stopWait = 2 * time.Minute

// stopFile is where stop-import asks the process running an import to stop it.
func (c *cli) stopFile() string { return c.db + ".stop" }

// startInput builds the StartImport request and options from the flags.
func (c *cli) startInput() (api.StartImportInput, engine.StartOptions, error) {
	a := c.args
	in := api.StartImportInput{ImportId: a.str("import-id")}
	var opts engine.StartOptions
	if a.has("destinations") {
		d, err := parseList(a.list("destinations"))
		if err != nil {
			return in, opts, usagef("--destinations: %v", err)
		}
		in.Destinations = d
	}
	if a.has("import-source") {
		src, err := parseImportSource(a.str("import-source"))
		if err != nil {
			return in, opts, usagef("--import-source: %v", err)
		}
		in.ImportSource = src
	}
	var err error
	if in.StartEventTime, err = a.timestamp("start-event-time"); err != nil {
		return in, opts, err
	}
	if in.EndEventTime, err = a.timestamp("end-event-time"); err != nil {
		return in, opts, err
	}
	if a.has("allowance") {
		d, err := time.ParseDuration(a.str("allowance"))
		if err != nil || d < 0 {
			return in, opts, usagef("--allowance takes a duration such as 1h or 90m, not %q", a.str("allowance"))
		}
		opts.Allowance = d
	}
	opts.Incremental = a.has("incremental")
	if a.has("shard") {
		if opts.Shard, err = parseShardFlag(a.str("shard"), os.Getenv); err != nil {
			return in, opts, err
		}
	}
	return in, opts, nil
}

// shardIndexVars are the variables that tell a process of a batch job its
// index: Kubernetes' Indexed Jobs, then AWS Batch's array jobs.
var shardIndexVars = []string{"JOB_COMPLETION_INDEX", "AWS_BATCH_JOB_ARRAY_INDEX"}

// parseShardFlag parses --shard: I/N, or N with I from the first of
// shardIndexVars that getenv finds set.
func parseShardFlag(v string, getenv func(string) string) (pipeline.Shard, error) {
	if !strings.Contains(v, "/") {
		for _, name := range shardIndexVars {
			if i := getenv(name); i != "" {
				v = i + "/" + v
				break
			}
		}
		if !strings.Contains(v, "/") {
			return pipeline.Shard{}, usagef("--shard %s gives the number of shards; the shard's index comes from I/N or from %s", v, strings.Join(shardIndexVars, " or "))
		}
	}
	sh, err := pipeline.ParseShard(v)
	if err != nil {
		return pipeline.Shard{}, usagef("--shard: %s", strings.TrimPrefix(err.Error(), "pipeline: "))
	}
	return sh, nil
}

// sizeLimits reads --max-record-size and --max-file-size; an absent flag
// is 0, the engine's default.
func (c *cli) sizeLimits() (maxRecord int, maxFile int64, err error) {
	var sizes [2]int64
	for i, name := range []string{"max-record-size", "max-file-size"} {
		if !c.args.has(name) {
			continue
		}
		if sizes[i], err = parseSize(c.args.str(name)); err != nil {
			return 0, 0, usagef("--%s: %v", name, err)
		}
	}
	if sizes[0] >= math.MaxInt {
		return 0, 0, usagef("--max-record-size: %d bytes is too large", sizes[0])
	}
	return int(sizes[0]), sizes[1], nil
}

// sizeUnits are the units parseSize takes, the longer suffixes first.
var sizeUnits = []struct {
	suffix string
	bytes  int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"B", 1},
}

// parseSize parses a positive number of bytes: a whole number, or one
// followed by a unit such as MiB (2^20 bytes) or MB (10^6 bytes), in any
// case.
func parseSize(s string) (int64, error) {
	num, unit := s, int64(1)
	for _, u := range sizeUnits {
		if n := len(s) - len(u.suffix); n > 0 && strings.EqualFold(s[n:], u.suffix) {
			num, unit = strings.TrimSpace(s[:n]), u.bytes
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	switch {
	case err != nil || n <= 0:
		return 0, fmt.Errorf("want a positive number of bytes, such as 67108864 or 64MiB, not %q", s)
	case n > math.MaxInt64/unit:
		return 0, fmt.Errorf("%q is too large", s)
	}
	return n * unit, nil
}

func cmdStartImport(ctx context.Context, c *cli) error {
	in, opts, err := c.startInput()
	if err != nil {
		return err
	}
	if c.endpoint != "" {
		for _, f := range []string{"allowance", "incremental", "shard", "concurrency", "max-record-size", "max-file-size"} {
			if c.args.has(f) {
				return usagef("--%s is not part of the API: a server cannot take it with --endpoint-url", f)
			}
		}
		cl, err := c.client()
		if err != nil {
			return err
		}
		return c.startImport(ctx, cl, in, c.args.has("wait"))
	}
	conc, err := c.args.int("concurrency")
	if err != nil {
		return err
	}
	if conc < 0 {
		return usagef("--concurrency must be positive")
	}
	maxRecord, maxFile, err := c.sizeLimits()
	if err != nil {
		return err
	}
	eng, done, err := c.open(ctx, duckdbsink.Options{Holder: "ctimport start-import"}, engine.Options{Config: pipeline.Config{Concurrency: conc, MaxRecordSize: maxRecord, MaxFileSize: maxFile}})
	if err != nil {
		return err
	}
	defer done()
	// The import runs in this process, which waits for it to end.
	return c.startImport(ctx, importer{eng, opts}, in, true)
}

// importer is the engine of a start-import, starting new imports with the
// settings of its flags that the API does not carry.
type importer struct {
	*engine.Engine
	opts engine.StartOptions
}

// StartImport starts an import with the settings of the flags.
func (i importer) StartImport(ctx context.Context, in api.StartImportInput) (api.Import, error) {
	return i.StartImportWith(ctx, in, i.opts)
}

// startImport starts or retries an import through svc. Without wait it
// prints the import as StartImport returned it; with wait it follows the
// import to its end and reports how it ended.
func (c *cli) startImport(ctx context.Context, svc api.Service, in api.StartImportInput, wait bool) error {
	imp, err := svc.StartImport(ctx, in)
	if err != nil {
		return err
	}
	if !wait {
		return c.output(imp)
	}
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	fmt.Fprintf(c.stderr, "import %s %s%s\n", imp.ImportId, map[bool]string{true: "retrying", false: "started"}[in.ImportId != ""], c.where())
	end, err := c.follow(ctx, svc, imp.ImportId, sig)
	if err != nil {
		return err
	}
	if i, ok := svc.(importer); ok && i.opts.Shard.Count > 0 {
		return c.reportShard(ctx, i, end)
	}
	return c.report(end)
}

// reportShard sums up the run of a shard: the process ends well when its
// shard COMPLETED, whatever the other shards are doing, so that a batch
// job runs again only the shards that did not.
func (c *cli) reportShard(ctx context.Context, i importer, end ending) error {
	imp, sh := end.imp, i.opts.Shard
	st, msg, err := i.ShardStatus(ctx, imp.ImportId, sh.Index)
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "shard %s of import %s %s: %s\n", sh, imp.ImportId, st, end.summary)
	if msg != "" {
		fmt.Fprintf(c.stderr, "shard %s: %s\n", sh, msg)
	}
	fmt.Fprintf(c.stderr, "import %s, all shards: %s\n", imp.ImportId, imp.ImportStatus)
	if s := imp.ImportStatistics; s != nil && s.FailedEntries > 0 {
		fmt.Fprintf(c.stderr, "%d files failed; see %s list-import-failures --import-id %s\n", s.FailedEntries, c.self(), imp.ImportId)
	}
	if err := c.output(imp); err != nil {
		return err
	}
	if st != api.StatusCompleted {
		return &ended{st}
	}
	return nil
}

// follow waits for import id to end: it shows the import's progress on a
// terminal, and stops it on the first SIGINT or SIGTERM from sig (a second
// SIGINT quits at once). An import that runs in this process is followed by
// its live counters, and may be stopped through the stop file too; any
// other is polled with GetImport.
func (c *cli) follow(ctx context.Context, svc api.Service, id string, sig <-chan os.Signal) (ending, error) {
	var t tracker = &polled{svc: svc, id: id, started: time.Now()}
	r, here := svc.(runner)
	if here {
		t = running{r, id}
	}
	var wg sync.WaitGroup
	quit := make(chan struct{})
	out := io.Writer(c.stderr)
	if c.stderrIsTerminal() {
		term := &terminal{w: c.stderr}
		out = term
		wg.Go(func() { showProgress(term, t.status, quit) })
	}
	wg.Go(func() { c.stopOnRequest(ctx, svc, id, sig, here, quit, out) })
	end, err := t.wait(ctx)
	close(quit)
	wg.Wait()
	return end, err
}

// report sums up an import's run on stderr, with what to do next, prints
// the import, and returns an *ended error unless it COMPLETED.
func (c *cli) report(end ending) error {
	imp, id := end.imp, end.imp.ImportId
	fmt.Fprintf(c.stderr, "import %s %s: %s\n", id, imp.ImportStatus, end.summary)
	if end.message != "" {
		fmt.Fprintf(c.stderr, "import %s: %s\n", id, end.message)
	}
	if st := imp.ImportStatistics; st != nil && st.PrefixesFound == 0 && imp.ImportStatus == api.StatusCompleted {
		fmt.Fprintf(c.stderr, "no CloudTrail log files found under %s in the time range: S3LocationUri names the bucket or prefix that holds AWSLogs/\n", imp.ImportSource.S3.S3LocationUri)
	}
	if st := imp.ImportStatistics; st != nil && st.FailedEntries > 0 {
		fmt.Fprintf(c.stderr, "%d files failed; see %s list-import-failures --import-id %s\n", st.FailedEntries, c.self(), id)
	}
	if imp.ImportStatus != api.StatusCompleted {
		fmt.Fprintf(c.stderr, "retry with: %s start-import --import-id %s\n", c.self(), id)
	}
	if err := c.output(imp); err != nil {
		return err
	}
	if imp.ImportStatus != api.StatusCompleted {
		return &ended{imp.ImportStatus}
	}
	return nil
}

// stopOnRequest stops import id through svc on the first SIGINT or
// SIGTERM from sig and, with stopFile, when stop-import of another process
// asks for it in the stop file; a second SIGINT quits the process at once.
// It tells what it does on out. It returns once quit is closed and the
// stop it asked for has returned.
func (c *cli) stopOnRequest(ctx context.Context, svc api.Service, id string, sig <-chan os.Signal, stopFile bool, quit <-chan struct{}, out io.Writer) {
	var asked <-chan time.Time
	if stopFile {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		asked = tick.C
	}
	var stopping sync.WaitGroup
	defer stopping.Wait()
	stopped := false
	stop := func(why string) {
		if stopped {
			return
		}
		stopped = true
		fmt.Fprintf(out, "%s: stopping import %s; files read in full are committed\n", why, id)
		stopping.Go(func() {
			if _, err := svc.StopImport(context.WithoutCancel(ctx), api.StopImportInput{ImportId: id}); err != nil {
				fmt.Fprintf(out, "stopping import %s: %v\n", id, err)
			}
		})
	}
	for {
		select {
		case s := <-sig:
			if s == os.Interrupt && stopped {
				fmt.Fprintf(c.stderr, "\ninterrupted again: quitting without waiting for import %s to stop; it ends STOPPED\n", id)
				os.Exit(exitInterrupted)
			}
			stop(s.String())
		case <-asked:
			if b, err := os.ReadFile(c.stopFile()); err == nil && strings.TrimSpace(string(b)) == id {
				os.Remove(c.stopFile())
				stop("stop-import")
			}
		case <-quit:
			return
		}
	}
}

func cmdStopImport(ctx context.Context, c *cli) error {
	if err := c.requireFlag("import-id"); err != nil {
		return err
	}
	id := c.args.str("import-id")
	svc, done, err := c.service(ctx, "ctimport stop-import")
	if errors.Is(err, sink.ErrLocked) {
		// Another process holds the database: ask it to stop the import,
		// and wait until it lets go of the database.
		if werr := os.WriteFile(c.stopFile(), []byte(id+"\n"), 0o644); werr != nil {
			return fmt.Errorf("%w; asking it to stop failed: %v", err, werr)
		}
		fmt.Fprintf(c.stderr, "%v\nasked it to stop import %s; waiting\n", err, id)
		deadline := time.Now().Add(stopWait)
		for errors.Is(err, sink.ErrLocked) && time.Now().Before(deadline) {
			svc, done, err = c.service(ctx, "ctimport stop-import")
		}
		os.Remove(c.stopFile())
		if errors.Is(err, sink.ErrLocked) {
			return fmt.Errorf("%w; it did not stop import %s within %s", err, id, stopWait)
		}
	}
	if err != nil {
		return err
	}
	defer done()
	out, err := svc.StopImport(ctx, api.StopImportInput{ImportId: id})
	if err != nil {
		return err
	}
	return c.output(out)
}
