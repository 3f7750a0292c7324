package bench

import (
	"context"
	"os"
	"path/filepath"
	"runtime/pprof"
	"testing"
	"time"
)

// spin is where burn leaves its work, so that the compiler keeps it.
var spin uint64

// TestReadStages profiles two labeled stretches of work, one three times
// the other, and reads their shares back.
func TestReadStages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.pprof")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		t.Fatal(err)
	}
	// A unit of work takes about 0.3 s of CPU: counted in work, not in
	// wall time, the ratio holds on a busy machine too.
	unit := calibrate(300 * time.Millisecond)
	burn := func(stage string, units int) {
		pprof.Do(context.Background(), pprof.Labels("stage", stage), func(context.Context) {
			for range units {
				work(unit)
			}
		})
	}
	burn("decode", 1)
	burn("commit", 3)
	pprof.StopCPUProfile()
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}

	stages, err := readStages(path)
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]StageShare{}
	for _, s := range stages {
		by[s.Stage] = s
	}
	commit, decode := by["commit"], by["decode"]
	if len(stages) == 0 || stages[0].Stage != "commit" {
		t.Errorf("stages %+v; want commit first", stages)
	}
	if ratio := commit.CPUSeconds / decode.CPUSeconds; ratio < 2 || ratio > 4.5 {
		t.Errorf("commit %+v over decode %+v: %.2f; want about 3", commit, decode, ratio)
	}
	if got, want := serialShare(stages), commit.Share; got != want {
		t.Errorf("serialShare = %v, want commit's %v", got, want)
	}
	if _, err := readStages(filepath.Join(t.TempDir(), "missing.pprof")); err == nil {
		t.Error("readStages of a missing file succeeded")
	}
}

// work does n steps of arithmetic.
func work(n int) {
	x := spin
	for i := range n {
		x = x*6364136223846793005 + uint64(i)
	}
	spin = x
}

// calibrate returns the steps of work that take about d.
func calibrate(d time.Duration) int {
	n := 1 << 16
	for {
		start := time.Now()
		work(n)
		if el := time.Since(start); el >= d/8 {
			return int(float64(n) * float64(d) / float64(el))
		}
		n *= 2
	}
}
