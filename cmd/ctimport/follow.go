package main

import (
	"context"
	"sync"
	"time"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/engine"
)

// runner is what an api.Service that runs its imports in this process, the
// engine, tells of them beyond the API; start-import shows it when the
// service has it.
type runner interface {
	// Progress returns the live counters of a running import, and false
	// when it is not running.
	Progress(id string) (engine.Progress, bool)
	// Wait waits for the run of an import to end and returns the import
	// and the run's last counters.
	Wait(ctx context.Context, id string) (api.Import, engine.Progress, error)
	// Message tells why an import's last run ended early, or "".
	Message(ctx context.Context, id string) (string, error)
}

// tracker follows an import for start-import.
type tracker interface {
	// status tells how far the import got by now, and false when there
	// is nothing to show.
	status(now time.Time) (status, bool)
	// wait waits for the import to end.
	wait(ctx context.Context) (ending, error)
}

// ending is how an import's run ended.
type ending struct {
	imp api.Import
	// summary sums up the run in a sentence; message tells why it ended
	// early, when the service says.
	summary, message string
}

// running follows an import that runs in this process, by its live
// counters.
type running struct {
	r  runner
	id string
}

func (t running) status(now time.Time) (status, bool) {
	p, ok := t.r.Progress(t.id)
	if !ok {
		return status{}, false
	}
	return progressStatus(p, now), true
}

func (t running) wait(ctx context.Context) (ending, error) {
	imp, p, err := t.r.Wait(ctx, t.id)
	if err != nil {
		return ending{}, err
	}
	msg, err := t.r.Message(ctx, t.id)
	if err != nil {
		return ending{}, err
	}
	return ending{imp: imp, summary: summary(p, time.Now()), message: msg}, nil
}

// polled follows an import by asking svc for it every pollInterval.
type polled struct {
	svc     api.Service
	id      string
	started time.Time

	mu    sync.Mutex
	last  *api.ImportStatistics
	bytes *api.ImportBytes
	// first and firstAt are the bytes of the first poll that told them,
	// and its time: the rate counts from there, so that a retry's rate
	// leaves out the bytes of the runs before.
	first   int64
	firstAt time.Time
	rate    float64
}

func (t *polled) status(now time.Time) (status, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return status{text: statisticsLine(t.last, t.bytes, t.rate, now.Sub(t.started))}, true
}

// polledAt records what a poll at now told of the import.
func (t *polled) polledAt(imp api.Import, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.last, t.bytes = imp.ImportStatistics, imp.CtimportBytes
	switch {
	case t.bytes == nil:
	case t.firstAt.IsZero():
		t.first, t.firstAt = t.bytes.BytesCompleted, now
	case now.After(t.firstAt):
		t.rate = float64(t.bytes.BytesCompleted-t.first) / now.Sub(t.firstAt).Seconds()
	}
}

func (t *polled) wait(ctx context.Context) (ending, error) {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ending{}, ctx.Err()
		case <-tick.C:
		}
		imp, err := t.svc.GetImport(ctx, api.GetImportInput{ImportId: t.id})
		if err != nil {
			return ending{}, err
		}
		t.polledAt(imp, time.Now())
		if imp.ImportStatus.Done() {
			t.mu.Lock()
			defer t.mu.Unlock()
			return ending{imp: imp, summary: statisticsLine(t.last, t.bytes, t.rate, time.Since(t.started))}, nil
		}
	}
}
