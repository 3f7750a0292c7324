package bench

import (
	"context"
	"os"
	"path/filepath"
	"runtime/pprof"
	"testing"
	"time"
)

// TestReadStages profiles two labeled goroutines that burn CPU, one three
// times as long as the other, and reads their shares back.
func TestReadStages(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cpu.pprof")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		t.Fatal(err)
	}
	burn := func(stage string, cpu time.Duration) {
		pprof.Do(context.Background(), pprof.Labels("stage", stage), func(context.Context) {
			for start := time.Now(); time.Since(start) < cpu; {
				for i := 0; i < 1e5; i++ {
					_ = i * i
				}
			}
		})
	}
	burn("decode", 300*time.Millisecond)
	burn("commit", 900*time.Millisecond)
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
