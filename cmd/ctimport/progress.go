package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/ctimport/ctimport/engine"
)

// stderrIsTerminal reports whether the command's stderr is a terminal.
func (c *cli) stderrIsTerminal() bool {
	f, ok := c.stderr.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// status is how far an import got, for the progress bar.
type status struct {
	// text tells the counts: files, events, failures, the listing.
	text string
	// sized is true when the bytes to read are known; then the bar
	// fills with done, of total.
	sized       bool
	done, total int64
}

// progressStatus renders a running import's progress. While the import
// is listed, the bytes to read are extrapolated from the days listed so
// far.
func progressStatus(p engine.Progress, now time.Time) status {
	var b strings.Builder
	fmt.Fprintf(&b, "files %s", count(p.FilesDone))
	if !p.Listing {
		fmt.Fprintf(&b, "/%s", count(p.FilesFound))
	}
	fmt.Fprintf(&b, "  events %s", count(p.Events))
	if elapsed := now.Sub(p.Started).Seconds(); elapsed > 0 {
		fmt.Fprintf(&b, "  %s events/s", count(int64(float64(p.Events)/elapsed)))
	}
	switch {
	case p.Listing && p.Days == 0:
		b.WriteString("  listing…")
	case p.Listing:
		fmt.Fprintf(&b, "  listing %s/%s days", count(p.DaysListed), count(p.Days))
	}
	if p.FilesFailed > 0 {
		fmt.Fprintf(&b, "  %s failed", count(p.FilesFailed))
	}
	st := status{text: b.String(), sized: true, done: p.BytesDone, total: p.BytesFound}
	if p.Listing && p.DaysListed > 0 {
		st.total = p.BytesFound * p.Days / p.DaysListed
	}
	// A retry lists a failed file with the size it had; it may be larger
	// once fixed.
	st.total = max(st.total, st.done)
	return st
}

// summary renders the last progress of a run as a sentence.
func summary(p engine.Progress, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s files, %s events (%s new, %s already stored), %s", count(p.FilesDone), count(p.Events),
		count(p.Stored), count(p.Duplicates), megabytes(p.BytesDone))
	if p.FilesFailed > 0 {
		fmt.Fprintf(&b, ", %s files failed", count(p.FilesFailed))
	}
	if p.EventsOutOfRange > 0 {
		fmt.Fprintf(&b, ", %s events outside the time range", count(p.EventsOutOfRange))
	}
	if p.EventsPastRetention > 0 {
		fmt.Fprintf(&b, ", %s events older than the store's retention period", count(p.EventsPastRetention))
	}
	if p.EventsUnselected > 0 {
		fmt.Fprintf(&b, ", %s events not selected by the store's advanced event selectors", count(p.EventsUnselected))
	}
	if p.SkippedObjects+p.SkippedPrefixes > 0 {
		fmt.Fprintf(&b, ", skipped %s objects and %s prefixes that are not trail logs", count(p.SkippedObjects), count(p.SkippedPrefixes))
	}
	fmt.Fprintf(&b, ", in %s", now.Sub(p.Started).Round(100*time.Millisecond))
	return b.String()
}

// refresh is how often the progress bar is drawn anew.
const refresh = 250 * time.Millisecond

// terminal is where start-import draws its progress: while a bar is
// drawn, what is written to it goes above the bar, which would otherwise
// draw over it.
type terminal struct {
	w  io.Writer
	mu sync.Mutex
	p  *mpb.Progress // while a bar is drawn
}

func (t *terminal) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.p != nil {
		return t.p.Write(b)
	}
	return t.w.Write(b)
}

// showProgress draws, on the terminal t, the progress that get tells,
// until stop is closed; then it takes the bar off again. When the bytes to
// read are known, the bar fills with the bytes committed, and tells their
// rate and the time left; otherwise a spinner turns beside the counts.
func showProgress(t *terminal, get func(now time.Time) (status, bool), stop <-chan struct{}) {
	var st status
	var ok bool
	tick := time.NewTicker(refresh)
	defer tick.Stop()
	for !ok {
		select {
		case <-stop:
			return
		case now := <-tick.C:
			st, ok = get(now)
		}
	}
	var mu sync.Mutex
	text := decor.Any(func(decor.Statistics) string {
		mu.Lock()
		defer mu.Unlock()
		return st.text
	}, decor.WCSyncSpaceR)
	p := mpb.New(mpb.WithOutput(t.w), mpb.WithRefreshRate(refresh), mpb.WithAutoRefresh())
	var bar *mpb.Bar
	if st.sized {
		bar = p.New(st.total, mpb.BarStyle(), mpb.PrependDecorators(text),
			mpb.AppendDecorators(decor.Percentage(decor.WCSyncSpace), decor.Name("  "),
				decor.EwmaSpeed(decor.SizeB1000(0), "% .1f", 60), decor.Name("  ETA "), decor.EwmaETA(decor.ET_STYLE_MMSS, 60)))
	} else {
		bar = p.New(0, mpb.SpinnerStyle(), mpb.PrependDecorators(text))
	}
	t.mu.Lock()
	t.p = p
	t.mu.Unlock()
	last := time.Now()
	for {
		select {
		case <-stop:
			t.mu.Lock()
			defer t.mu.Unlock()
			bar.Abort(true)
			p.Wait()
			t.p = nil
			return
		case now := <-tick.C:
			next, ok := get(now)
			if !ok {
				continue
			}
			mu.Lock()
			st = next
			mu.Unlock()
			if next.sized {
				bar.SetTotal(next.total, false)
				bar.EwmaSetCurrent(next.done, now.Sub(last))
			}
			last = now
		}
	}
}

func count(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return s
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func megabytes(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }

func clock(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}
