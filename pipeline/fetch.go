package pipeline

import (
	"bytes"
	"context"
	"io"

	"golang.org/x/sync/semaphore"

	"github.com/ctimport/ctimport/s3scan"
)

// fetcher is the stage that opens the objects of the listed files, ahead
// of the decoders, and reads the small ones into memory.
type fetcher struct {
	src    s3scan.Source
	budget *semaphore.Weighted // bytes of the objects held in memory
	limit  int64               // the largest object read into memory
}

// fetchedFile is a job whose object a fetcher opened and, when it is
// small, read into memory.
type fetchedFile struct {
	job
	body    io.ReadCloser // the content; nil when opening it failed
	obj     s3scan.Object
	err     error  // why opening or reading it failed
	release func() // gives back what the content held of the budget
}

// run opens the objects of jobs until jobs is closed, reads each into
// memory when it is at most f.limit bytes, once the budget has room for
// it, and hands them on. Larger objects go on as streams.
func (f *fetcher) run(ctx context.Context, jobs <-chan job, out chan<- fetchedFile) error {
	for {
		var j job
		var ok bool
		select {
		case j, ok = <-jobs:
			if !ok {
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		}
		p, err := f.fetch(ctx, j)
		if err != nil {
			return err
		}
		select {
		case out <- p:
		case <-ctx.Done():
			p.close()
			return ctx.Err()
		}
	}
}

// fetch opens the object of j. It returns an error only when ctx ends
// while it waits for the budget.
func (f *fetcher) fetch(ctx context.Context, j job) (fetchedFile, error) {
	p := fetchedFile{job: j, release: func() {}}
	p.body, p.obj, p.err = f.src.Open(ctx, j.file.Key)
	if p.err != nil || p.obj.Size > f.limit {
		return p, nil
	}
	n := max(p.obj.Size, 1)
	if err := f.budget.Acquire(ctx, n); err != nil {
		p.body.Close()
		return p, err
	}
	var buf bytes.Buffer
	buf.Grow(int(p.obj.Size))
	_, err := buf.ReadFrom(p.body)
	p.body.Close()
	if err != nil {
		f.budget.Release(n)
		p.body, p.err = nil, err
		return p, nil
	}
	p.body, p.release = io.NopCloser(&buf), func() { f.budget.Release(n) }
	return p, nil
}

// close drops what p holds: its content and its share of the budget.
func (p fetchedFile) close() {
	if p.body != nil {
		p.body.Close()
	}
	p.release()
}
