package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"time"

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

// progressLine renders a running import's progress as one line.
func progressLine(p engine.Progress, now time.Time) string {
	elapsed := now.Sub(p.Started).Seconds()
	var b strings.Builder
	fmt.Fprintf(&b, "files %s", count(p.FilesDone))
	if !p.Listing {
		fmt.Fprintf(&b, "/%s", count(p.FilesFound))
	}
	fmt.Fprintf(&b, "  events %s  %s", count(p.Events), megabytes(p.BytesDone))
	if !p.Listing {
		fmt.Fprintf(&b, "/%s", megabytes(p.BytesFound))
	}
	if elapsed > 0 {
		rate := float64(p.BytesRead) / elapsed
		fmt.Fprintf(&b, "  %s/s  %s events/s", megabytes(int64(rate)), count(int64(float64(p.Events)/elapsed)))
		// While listing, the work to do is extrapolated from the days
		// listed so far.
		total, approx := float64(p.BytesFound), ""
		if p.Listing && p.DaysListed > 0 {
			total, approx = total*float64(p.Days)/float64(p.DaysListed), "~"
		}
		if p.BytesDone > 0 && (!p.Listing || p.DaysListed > 0) {
			left := max(0, total-float64(p.BytesDone)) / (float64(p.BytesDone) / elapsed)
			fmt.Fprintf(&b, "  ETA %s%s", approx, clock(time.Duration(left*float64(time.Second))))
		}
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
	return b.String()
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
	if p.SkippedObjects+p.SkippedPrefixes > 0 {
		fmt.Fprintf(&b, ", skipped %s objects and %s prefixes that are not trail logs", count(p.SkippedObjects), count(p.SkippedPrefixes))
	}
	fmt.Fprintf(&b, ", in %s", now.Sub(p.Started).Round(100*time.Millisecond))
	return b.String()
}

// showProgress redraws the progress line that line renders on w until
// stop is closed.
func showProgress(w io.Writer, line func(now time.Time) (string, bool), stop <-chan struct{}) {
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	last := 0
	for {
		select {
		case <-stop:
			fmt.Fprintf(w, "\r%s\r", strings.Repeat(" ", last))
			return
		case now := <-t.C:
			l, ok := line(now)
			if !ok {
				continue
			}
			pad := max(0, last-len(l))
			fmt.Fprintf(w, "\r%s%s", l, strings.Repeat(" ", pad))
			last = len(l)
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
