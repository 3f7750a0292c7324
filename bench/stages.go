package bench

import (
	"cmp"
	"fmt"
	"os"
	"slices"

	"github.com/google/pprof/profile"
)

// serialStages are the stages of an import that run in one goroutine
// whatever the machine: more cores do not make them faster.
var serialStages = []string{"list", "commit"}

// StageShare is the CPU an import spent in one stage of its pipeline, by
// the label stage of its CPU profile; Stage "" holds the samples without
// one (the Go runtime's own work, such as garbage collection, and threads
// that are not Go's).
type StageShare struct {
	Stage      string  `json:"stage"`
	CPUSeconds float64 `json:"cpuSeconds"`
	Share      float64 `json:"share"`
}

// readStages sums the CPU samples of the profile at path by stage, largest
// first.
func readStages(path string) ([]StageShare, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("bench: CPU profile %s: %w", path, err)
	}
	cpu := -1
	for i, st := range p.SampleType {
		if st.Type == "cpu" && st.Unit == "nanoseconds" {
			cpu = i
		}
	}
	if cpu < 0 {
		return nil, fmt.Errorf("bench: CPU profile %s has no cpu/nanoseconds samples", path)
	}
	by := map[string]int64{}
	var total int64
	for _, s := range p.Sample {
		var stage string
		if l := s.Label["stage"]; len(l) > 0 {
			stage = l[0]
		}
		by[stage] += s.Value[cpu]
		total += s.Value[cpu]
	}
	var out []StageShare
	for stage, ns := range by {
		out = append(out, StageShare{Stage: stage, CPUSeconds: float64(ns) / 1e9, Share: rate(float64(ns), float64(total))})
	}
	slices.SortFunc(out, func(a, b StageShare) int {
		return cmp.Or(cmp.Compare(b.CPUSeconds, a.CPUSeconds), cmp.Compare(a.Stage, b.Stage))
	})
	return out, nil
}

// serialShare is the share of the CPU that stages spent in serialStages.
func serialShare(stages []StageShare) float64 {
	var share float64
	for _, s := range stages {
		if slices.Contains(serialStages, s.Stage) {
			share += s.Share
		}
	}
	return share
}
