package pipeline

import (
	"context"
	"errors"
	"time"

	"github.com/ctimport/ctimport/s3scan"
)

// Retry calls fn until it succeeds, fails with an error that is not
// s3scan.ErrTransient, or c.Attempts attempts have failed. It waits
// c.Backoff before the second attempt, twice that before the third, and so
// on, and calls retried, unless it is nil, before each new attempt. It
// returns the last error of fn, or that of ctx when ctx ends during a wait.
func (c Config) Retry(ctx context.Context, retried func(), fn func() error) error {
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || !errors.Is(err, s3scan.ErrTransient) || attempt >= c.Attempts {
			return err
		}
		if retried != nil {
			retried()
		}
		if err := c.wait(ctx, attempt); err != nil {
			return err
		}
	}
}

// wait waits before attempt+1.
func (c Config) wait(ctx context.Context, attempt int) error {
	t := time.NewTimer(c.Backoff << (attempt - 1))
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
