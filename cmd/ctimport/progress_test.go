package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/engine"
)

func TestCount(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{
		{0, "0"}, {7, "7"}, {999, "999"}, {1000, "1,000"}, {12345, "12,345"}, {999999, "999,999"},
		{1000000, "1,000,000"}, {1234567890, "1,234,567,890"}, {-5, "-5"},
	} {
		if got := count(tc.n); got != tc.want {
			t.Errorf("count(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestMegabytesAndClock(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		want string
	}{{0, "0.0 MB"}, {49_999, "0.0 MB"}, {50_000, "0.1 MB"}, {1_500_000, "1.5 MB"}, {1_234_567_890, "1234.6 MB"}} {
		if got := megabytes(tc.n); got != tc.want {
			t.Errorf("megabytes(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0:00"}, {400 * time.Millisecond, "0:00"}, {1500 * time.Millisecond, "0:02"}, {65 * time.Second, "1:05"},
		{59*time.Minute + 59*time.Second, "59:59"}, {time.Hour, "1:00:00"}, {26*time.Hour + 3*time.Minute + 9*time.Second, "26:03:09"},
	} {
		if got := clock(tc.d); got != tc.want {
			t.Errorf("clock(%v) = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestProgressStatus(t *testing.T) {
	started := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	now := started.Add(10 * time.Second)
	for _, tc := range []struct {
		name        string
		p           engine.Progress
		now         time.Time
		text        string
		done, total int64
	}{
		{
			"at the start",
			engine.Progress{Started: started, Listing: true},
			started,
			"files 0  events 0  listing…", 0, 0,
		},
		{
			"listing",
			engine.Progress{Started: started, Listing: true, FilesFound: 500, FilesDone: 120, Events: 45_000, BytesDone: 2_500_000, BytesFound: 3_000_000},
			now,
			"files 120  events 45,000  4,500 events/s  listing…", 2_500_000, 3_000_000,
		},
		{
			// A quarter of the days are listed: the work is about four
			// times what they hold.
			"listing days",
			engine.Progress{Started: started, Listing: true, Days: 40, DaysListed: 10, FilesFound: 500, BytesFound: 5_000_000, FilesDone: 200, BytesDone: 2_000_000, Events: 20_000},
			now,
			"files 200  events 20,000  2,000 events/s  listing 10/40 days", 2_000_000, 20_000_000,
		},
		{
			"listed",
			engine.Progress{Started: started, FilesFound: 1200, BytesFound: 20_000_000, FilesDone: 300, BytesDone: 5_000_000, Events: 123_456},
			now,
			"files 300/1,200  events 123,456  12,345 events/s", 5_000_000, 20_000_000,
		},
		{
			"with failures",
			engine.Progress{Started: started, FilesFound: 10, BytesFound: 1_000_000, FilesDone: 5, BytesDone: 500_000, Events: 50, FilesFailed: 2},
			now,
			"files 5/10  events 50  5 events/s  2 failed", 500_000, 1_000_000,
		},
		{
			// A retry lists a failed file with the size it had; it may be
			// larger once fixed.
			"more done than found",
			engine.Progress{Started: started, FilesFound: 1, BytesFound: 100, FilesDone: 1, BytesDone: 5_000, Events: 10},
			now,
			"files 1/1  events 10  1 events/s", 5_000, 5_000,
		},
	} {
		got := progressStatus(tc.p, tc.now)
		if want := (status{text: tc.text, sized: true, done: tc.done, total: tc.total}); got != want {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.name, got, want)
		}
	}
}

// TestPolledStatus follows an import through the GetImport answers of a
// server, as start-import --wait does: the counts, the bytes and their
// rate since the first poll, and while the server tells the bytes left,
// those and the time left.
func TestPolledStatus(t *testing.T) {
	started := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	st := &api.ImportStatistics{PrefixesFound: 2, PrefixesCompleted: 1, FilesCompleted: 40, EventsCompleted: 10_000}
	left := int64(30_000_000)
	for _, tc := range []struct {
		name  string
		polls []api.Import // a second apart, from started
		want  string
	}{
		{"before the first poll", nil, "starting…"},
		{"without bytes", []api.Import{{ImportStatistics: st}}, "prefixes 1/2  files 40  events 10,000  1,000 events/s  0:10"},
		{
			// A retry: the 5 MB of the runs before count in the MB imported, not in the rate.
			"while listing",
			[]api.Import{
				{ImportStatistics: st, CtimportBytes: &api.ImportBytes{BytesCompleted: 5_000_000}},
				{ImportStatistics: st, CtimportBytes: &api.ImportBytes{BytesCompleted: 8_000_000}},
			},
			"prefixes 1/2  files 40  events 10,000  1,000 events/s  8.0 MB  3.00 MB/s  0:10",
		},
		{
			"listed",
			[]api.Import{
				{ImportStatistics: st, CtimportBytes: &api.ImportBytes{BytesCompleted: 0}},
				{ImportStatistics: st, CtimportBytes: &api.ImportBytes{BytesCompleted: 3_000_000, BytesRemaining: &left}},
			},
			"prefixes 1/2  files 40  events 10,000  1,000 events/s  3.0 MB  3.00 MB/s  30.0 MB left  ETA 0:10  0:10",
		},
		{
			"one poll: no rate yet",
			[]api.Import{{ImportStatistics: st, CtimportBytes: &api.ImportBytes{BytesCompleted: 3_000_000, BytesRemaining: &left}}},
			"prefixes 1/2  files 40  events 10,000  1,000 events/s  3.0 MB  30.0 MB left  0:10",
		},
	} {
		p := &polled{started: started}
		for i, imp := range tc.polls {
			p.polledAt(imp, started.Add(time.Duration(i+1)*time.Second))
		}
		if got, ok := p.status(started.Add(10 * time.Second)); !ok || got.text != tc.want || got.sized {
			t.Errorf("%s:\n got %+v\nwant %q", tc.name, got, tc.want)
		}
	}
}

// TestShowProgress draws a bar and a spinner into a buffer and checks
// that they show the counts, and the bar its percentage and the time left;
// that a line written to the terminal meanwhile is shown too; and that
// showProgress returns once stop is closed.
func TestShowProgress(t *testing.T) {
	const line = "SIGINT: stopping import 42\n"
	for _, tc := range []struct {
		name string
		st   status
		want []string
	}{
		{"bar", status{text: "files 1/2  events 10", sized: true, done: 50, total: 100}, []string{"files 1/2  events 10", "50 %", "ETA", line}},
		{"spinner", status{text: "prefixes 0/1  files 3"}, []string{"prefixes 0/1  files 3", line}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out syncBuffer
			term := &terminal{w: &out}
			stop := make(chan struct{})
			done := make(chan struct{})
			calls := 0
			go func() {
				defer close(done)
				showProgress(term, func(time.Time) (status, bool) {
					calls++
					return tc.st, calls > 1
				}, stop)
			}()
			deadline := time.Now().Add(10 * time.Second)
			for !strings.Contains(out.String(), tc.st.text) && time.Now().Before(deadline) {
				time.Sleep(50 * time.Millisecond)
			}
			if _, err := io.WriteString(term, line); err != nil {
				t.Fatal(err)
			}
			time.Sleep(3 * refresh)
			close(stop)
			<-done
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("the progress drawn, %q, does not show %q", out.String(), w)
				}
			}
		})
	}
}

func TestSummary(t *testing.T) {
	started := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		p    engine.Progress
		took time.Duration
		want string
	}{
		{
			"nothing",
			engine.Progress{Started: started},
			30 * time.Millisecond,
			"0 files, 0 events (0 new, 0 already stored), 0.0 MB, in 0s",
		},
		{
			"completed",
			engine.Progress{Started: started, FilesDone: 1250, Events: 1_234_567, Stored: 1_234_000, Duplicates: 567, BytesDone: 98_760_000},
			83*time.Second + 449*time.Millisecond,
			"1,250 files, 1,234,567 events (1,234,000 new, 567 already stored), 98.8 MB, in 1m23.4s",
		},
		{
			"everything to say",
			engine.Progress{Started: started, FilesDone: 3, Events: 12, Stored: 10, Duplicates: 2, BytesDone: 4_000, FilesFailed: 2, EventsOutOfRange: 1500, EventsPastRetention: 7, EventsUnselected: 8, SkippedObjects: 4, SkippedPrefixes: 1},
			1500 * time.Millisecond,
			"3 files, 12 events (10 new, 2 already stored), 0.0 MB, 2 files failed, 1,500 events outside the time range, 7 events older than the store's retention period, 8 events not selected by the store's advanced event selectors, skipped 4 objects and 1 prefixes that are not trail logs, in 1.5s",
		},
	} {
		if got := summary(tc.p, started.Add(tc.took)); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}
