package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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
	for _, f := range []struct {
		name string
		dst  **time.Time
	}{{"start-event-time", &in.StartEventTime}, {"end-event-time", &in.EndEventTime}} {
		if !a.has(f.name) {
			continue
		}
		t, err := parseTime(a.str(f.name))
		if err != nil {
			return in, opts, usagef("--%s: %v", f.name, err)
		}
		*f.dst = &t
	}
	if a.has("allowance") {
		d, err := time.ParseDuration(a.str("allowance"))
		if err != nil || d < 0 {
			return in, opts, usagef("--allowance takes a duration such as 1h or 90m, not %q", a.str("allowance"))
		}
		opts.Allowance = d
	}
	opts.Incremental = a.has("incremental")
	return in, opts, nil
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
		return c.remoteStartImport(ctx, in)
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
	imp, err := eng.StartImportWith(ctx, in, opts)
	if err != nil {
		return err
	}
	id := imp.ImportId
	fmt.Fprintf(c.stderr, "import %s %s\n", id, map[bool]string{true: "retrying", false: "started"}[in.ImportId != ""])

	var wg sync.WaitGroup
	quit := make(chan struct{})
	var stopping atomic.Bool
	stopImport := func(why string) {
		if stopping.Swap(true) {
			return
		}
		fmt.Fprintf(c.stderr, "\r%s: stopping import %s; files read in full are committed\n", why, id)
		wg.Go(func() { eng.StopImport(context.WithoutCancel(ctx), api.StopImportInput{ImportId: id}) })
	}
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	wg.Go(func() {
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case s := <-sig:
				if s == os.Interrupt && stopping.Load() {
					fmt.Fprintln(c.stderr, "interrupted again: quitting; the import stays STOPPED once ctimport is run again")
					os.Exit(130)
				}
				stopImport(s.String())
			case <-tick.C:
				if b, err := os.ReadFile(c.stopFile()); err == nil && strings.TrimSpace(string(b)) == id {
					os.Remove(c.stopFile())
					stopImport("stop-import")
				}
			case <-quit:
				return
			}
		}
	})
	if f, ok := c.stderr.(*os.File); ok && isTerminal(f) {
		wg.Go(func() { showProgress(c.stderr, func() (engine.Progress, bool) { return eng.Progress(id) }, quit) })
	}
	final, prog, err := eng.Wait(ctx, id)
	close(quit)
	wg.Wait()
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stderr, "import %s %s: %s\n", id, final.ImportStatus, summary(prog, time.Now()))
	if msg, err := eng.Message(ctx, id); err == nil && msg != "" {
		fmt.Fprintf(c.stderr, "import %s: %s\n", id, msg)
	}
	if st := final.ImportStatistics; st != nil && st.PrefixesFound == 0 && final.ImportStatus == api.StatusCompleted {
		fmt.Fprintf(c.stderr, "no CloudTrail log files found under %s in the time range: S3LocationUri names the bucket or prefix that holds AWSLogs/\n", final.ImportSource.S3.S3LocationUri)
	}
	if st := final.ImportStatistics; st != nil && st.FailedEntries > 0 {
		fmt.Fprintf(c.stderr, "%d files failed; see ctimport list-import-failures --import-id %s\n", st.FailedEntries, id)
	}
	if final.ImportStatus != api.StatusCompleted {
		fmt.Fprintf(c.stderr, "retry with: ctimport start-import --import-id %s\n", id)
	}
	if err := c.output(final); err != nil {
		return err
	}
	if final.ImportStatus != api.StatusCompleted {
		return &ended{final.ImportStatus}
	}
	return nil
}

func cmdStopImport(ctx context.Context, c *cli) error {
	if err := c.requireFlag("import-id"); err != nil {
		return err
	}
	id := c.args.str("import-id")
	if c.endpoint != "" {
		return c.simple(ctx, func(svc api.Service) (any, error) { return svc.StopImport(ctx, api.StopImportInput{ImportId: id}) })
	}
	eng, done, err := c.open(ctx, duckdbsink.Options{Holder: "ctimport stop-import"}, engine.Options{})
	if errors.Is(err, sink.ErrLocked) {
		// Another process holds the database: ask it to stop the import,
		// and wait until it lets go of the database.
		if werr := os.WriteFile(c.stopFile(), []byte(id+"\n"), 0o644); werr != nil {
			return fmt.Errorf("%w; asking it to stop failed: %v", err, werr)
		}
		fmt.Fprintf(c.stderr, "%v\nasked it to stop import %s; waiting\n", err, id)
		deadline := time.Now().Add(stopWait)
		for errors.Is(err, sink.ErrLocked) && time.Now().Before(deadline) {
			eng, done, err = c.open(ctx, duckdbsink.Options{Holder: "ctimport stop-import"}, engine.Options{})
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
	out, err := eng.StopImport(ctx, api.StopImportInput{ImportId: id})
	if err != nil {
		return err
	}
	return c.output(out)
}
