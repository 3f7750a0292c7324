package main

import (
	"testing"
	"time"

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

func TestProgressLine(t *testing.T) {
	started := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	now := started.Add(10 * time.Second)
	for _, tc := range []struct {
		name string
		p    engine.Progress
		now  time.Time
		want string
	}{
		{
			"at the start",
			engine.Progress{Started: started, Listing: true},
			started,
			"files 0  events 0  0.0 MB  listing…",
		},
		{
			"listing",
			engine.Progress{Started: started, Listing: true, FilesFound: 500, FilesDone: 120, Events: 45_000, BytesDone: 2_500_000, BytesRead: 3_000_000},
			now,
			"files 120  events 45,000  2.5 MB  0.3 MB/s  4,500 events/s  listing…",
		},
		{
			// A quarter of the days are listed: the work is about four
			// times what they hold.
			"listing days",
			engine.Progress{Started: started, Listing: true, Days: 40, DaysListed: 10, FilesFound: 500, BytesFound: 5_000_000, FilesDone: 200, BytesDone: 2_000_000, BytesRead: 2_000_000, Events: 20_000},
			now,
			"files 200  events 20,000  2.0 MB  0.2 MB/s  2,000 events/s  ETA ~1:30  listing 10/40 days",
		},
		{
			"listed",
			engine.Progress{Started: started, FilesFound: 1200, BytesFound: 20_000_000, FilesDone: 300, BytesDone: 5_000_000, BytesRead: 6_000_000, Events: 123_456},
			now,
			"files 300/1,200  events 123,456  5.0 MB/20.0 MB  0.6 MB/s  12,345 events/s  ETA 0:30",
		},
		{
			"with failures",
			engine.Progress{Started: started, FilesFound: 10, BytesFound: 1_000_000, FilesDone: 5, BytesDone: 500_000, BytesRead: 600_000, Events: 50, FilesFailed: 2},
			now,
			"files 5/10  events 50  0.5 MB/1.0 MB  0.1 MB/s  5 events/s  ETA 0:10  2 failed",
		},
		{
			"nothing committed yet",
			engine.Progress{Started: started, FilesFound: 10, BytesFound: 1_000_000, BytesRead: 100_000},
			now,
			"files 0/10  events 0  0.0 MB/1.0 MB  0.0 MB/s  0 events/s",
		},
		{
			"long",
			engine.Progress{Started: started, FilesFound: 100_000, BytesFound: 7_200_000_000, FilesDone: 1000, BytesDone: 10_000_000, BytesRead: 10_000_000, Events: 1_000_000},
			now,
			"files 1,000/100,000  events 1,000,000  10.0 MB/7200.0 MB  1.0 MB/s  100,000 events/s  ETA 1:59:50",
		},
		{
			// A retry lists a failed file with the size it had; it may be
			// larger once fixed.
			"more done than found",
			engine.Progress{Started: started, FilesFound: 1, BytesFound: 100, FilesDone: 1, BytesDone: 5_000, BytesRead: 5_000, Events: 10},
			now,
			"files 1/1  events 10  0.0 MB/0.0 MB  0.0 MB/s  1 events/s  ETA 0:00",
		},
	} {
		if got := progressLine(tc.p, tc.now); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
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
			engine.Progress{Started: started, FilesDone: 3, Events: 12, Stored: 10, Duplicates: 2, BytesDone: 4_000, FilesFailed: 2, EventsOutOfRange: 1500, SkippedObjects: 4, SkippedPrefixes: 1},
			1500 * time.Millisecond,
			"3 files, 12 events (10 new, 2 already stored), 0.0 MB, 2 files failed, 1,500 events outside the time range, skipped 4 objects and 1 prefixes that are not trail logs, in 1.5s",
		},
	} {
		if got := summary(tc.p, started.Add(tc.took)); got != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}
