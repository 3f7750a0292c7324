package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"
)

// usage is what measure writes about the process it ran.
type usage struct {
	Seconds      float64 `json:"seconds"`
	CPUSeconds   float64 `json:"cpuSeconds"`
	PeakRSSBytes int64   `json:"peakRSSBytes"`
	ExitCode     int     `json:"exitCode"`
}

func measure(args []string) (any, error) {
	flags := flag.NewFlagSet("measure", flag.ContinueOnError)
	file := flags.String("usage", "", "the file to write the usage to")
	if err := flags.Parse(args); err != nil {
		return nil, err
	}
	if *file == "" || flags.NArg() == 0 {
		return nil, errors.New("-usage FILE and a program are required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := exec.CommandContext(ctx, flags.Arg(0), flags.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	err := cmd.Wait()
	wall := time.Since(start)
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return nil, err
	}
	ps := cmd.ProcessState
	peak, err := peakRSS(ps)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(usage{
		Seconds:      wall.Seconds(),
		CPUSeconds:   (ps.UserTime() + ps.SystemTime()).Seconds(),
		PeakRSSBytes: peak,
		ExitCode:     ps.ExitCode(),
	})
	if err != nil {
		return nil, err
	}
	return nil, os.WriteFile(*file, b, 0o644)
}
