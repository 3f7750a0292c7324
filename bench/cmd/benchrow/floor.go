package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/klauspost/compress/gzip"
	"golang.org/x/sync/errgroup"

	"github.com/ctimport/ctimport/pipeline/logfile"
	"github.com/ctimport/ctimport/sink"
)

func gunzip(args []string) (any, error) { return floor("gunzip", args, false) }

func decode(args []string) (any, error) { return floor("decode", args, true) }

// floor reads every log file below -dir with -workers workers, as
// ctimport's workers do, and stores nothing. With decode it runs the log
// file decoder over the JSON; without, it only decompresses.
func floor(name string, args []string, decode bool) (any, error) {
	flags := flag.NewFlagSet(name, flag.ContinueOnError)
	dir := flags.String("dir", "", "the corpus directory")
	workers := flags.Int("workers", 1, "the number of files read at once")
	if err := flags.Parse(args); err != nil {
		return nil, err
	}
	if *dir == "" || *workers < 1 {
		return nil, errors.New("-dir and a positive -workers are required")
	}
	g, ctx := errgroup.WithContext(context.Background())
	paths := make(chan string)
	g.Go(func() error {
		defer close(paths)
		return walkLogFiles(*dir, func(path string) error {
			select {
			case paths <- path:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	})
	var events, bytes, files atomic.Int64
	for range *workers {
		g.Go(func() error {
			var zr gzip.Reader
			br := bufio.NewReaderSize(nil, 64<<10)
			batch := make([]sink.Event, 256)
			for path := range paths {
				f, err := os.Open(path)
				if err != nil {
					return err
				}
				br.Reset(f)
				err = zr.Reset(br)
				if err == nil && decode {
					cr := &countingReader{r: &zr}
					d := logfile.NewDecoder(cr, logfile.Options{})
					for err == nil {
						_, err = d.Next(batch)
					}
					if err == io.EOF {
						err = nil
					}
					events.Add(int64(d.Records()))
					bytes.Add(cr.n)
				} else if err == nil {
					var n int64
					n, err = io.Copy(io.Discard, &zr)
					bytes.Add(n)
				}
				f.Close()
				if err != nil {
					return &fs.PathError{Op: name, Path: path, Err: err}
				}
				files.Add(1)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return result{Events: events.Load(), Bytes: bytes.Load(), Files: files.Load()}, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// walkLogFiles calls fn with the path of every .json.gz file below dir, in
// lexical order.
func walkLogFiles(dir string, fn func(path string) error) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json.gz") {
			return err
		}
		return fn(path)
	})
}
