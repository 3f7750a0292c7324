package engine

// Totals counts the work of every import run an Engine started, for
// metrics. Its counters never go down.
type Totals struct {
	// ImportsRunning is how many runs are under way now.
	ImportsRunning int
	// Files, Events and Bytes count the files committed, their events and
	// their size; FilesFailed counts files that failed for good.
	Files, Events, Bytes, FilesFailed int64
}

func (t *Totals) add(p Progress) {
	t.Files += p.FilesDone
	t.Events += p.Events
	t.Bytes += p.BytesDone
	t.FilesFailed += p.FilesFailed
}

// Totals returns the counters of the runs that ended and the live progress
// of those under way. A run whose store failed uncounts the commits the
// store dropped; the counters keep them rather than go down.
func (e *Engine) Totals() Totals {
	e.mu.Lock()
	defer e.mu.Unlock()
	t := e.ended
	for _, r := range e.runs {
		if !r.counted {
			t.ImportsRunning++
			t.add(r.progress.Snapshot())
		}
	}
	last := &e.reported
	t.Files, t.Events = max(t.Files, last.Files), max(t.Events, last.Events)
	t.Bytes, t.FilesFailed = max(t.Bytes, last.Bytes), max(t.FilesFailed, last.FilesFailed)
	*last = t
	return t
}

// count moves the last progress of run r, which has ended, into the
// counters of the ended runs.
func (e *Engine) count(r *run) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ended.add(r.progress.Snapshot())
	r.counted = true
}
