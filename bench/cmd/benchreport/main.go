// Command benchreport runs the ctimport benchmark and prints its report:
// ctimport end to end against the floors of the hardware and its peers,
// over one generated corpus, with the scaling, latency, memory, listing and
// server-under-load sections and the targets met or missed. It saves the report as JSON in
// bench/out. `make bench` runs it.
//
// Usage:
//
//	benchreport [-scale F] [-giant BYTES] [-base REV] [-out DIR] [-work DIR]
//
// -scale multiplies the days of the corpus (default $BENCH_SCALE, else 1:
// about 324,000 events and 420 MB of JSON). -base names a git revision
// whose ctimport runs row 1 again beside this one, to compare throughput
// and store size with (default $BENCH_BASE, else none).
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/ctimport/ctimport/bench"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintf(os.Stderr, "benchreport: %v\n", err)
		os.Exit(1)
	}
}

func run() error {
	root, err := bench.ModuleRoot()
	if err != nil {
		return err
	}
	cfg := bench.DefaultConfig(root)
	scale := 1.0
	if s := os.Getenv("BENCH_SCALE"); s != "" {
		if scale, err = strconv.ParseFloat(s, 64); err != nil {
			return fmt.Errorf("BENCH_SCALE: %w", err)
		}
	}
	flag.Float64Var(&scale, "scale", scale, "multiplies the days of the corpus")
	flag.Int64Var(&cfg.GiantBytes, "giant", cfg.GiantBytes, "the JSON size of the big file of the memory section, in bytes")
	out := flag.String("out", filepath.Join(root, "bench", "out"), "the directory the JSON report is saved in")
	flag.StringVar(&cfg.Base, "base", os.Getenv("BENCH_BASE"), "a git revision whose ctimport runs row 1 again beside this one (default $BENCH_BASE)")
	flag.StringVar(&cfg.Work, "work", "", "the directory of binaries, corpora and databases, kept afterwards (default: a temporary one)")
	flag.Parse()
	if scale <= 0 {
		return fmt.Errorf("-scale %v is not positive", scale)
	}
	cfg.Spec.Days = max(1, int(math.Round(float64(cfg.Spec.Days)*scale)))
	cfg.Logf = func(format string, args ...any) { fmt.Fprintf(os.Stderr, "bench: "+format+"\n", args...) }
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := bench.Run(ctx, cfg)
	if err != nil {
		return err
	}
	if err := r.Print(os.Stdout); err != nil {
		return err
	}
	path, err := r.Save(*out)
	if err != nil {
		return err
	}
	fmt.Printf("\nsaved %s\n", path)
	return nil
}
