package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// cpuProfileEnv names the file a command writes its CPU profile to, for
// the benchmark and for anyone who wants to see where an import's time
// goes; the import's goroutines carry the label stage (list, fetch, decode,
// commit).
const cpuProfileEnv = "CTIMPORT_CPUPROFILE"

// startCPUProfile profiles the CPU into the file at path until the
// returned function is called.
func startCPUProfile(path string) (stop func() error, err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cpuProfileEnv, err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", cpuProfileEnv, err)
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}
