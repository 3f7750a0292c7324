package engine

import (
	"strconv"
	"testing"
	"time"
)

// TestHistoryPrune checks that the records of queries are dropped, oldest
// first, once they are older than seven days or more than 10,000.
func TestHistoryPrune(t *testing.T) {
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		n         int           // records added, a second apart
		after     time.Duration // the time of the prune after the last record
		wantFirst int           // the first record kept, -1 for none
	}{
		{"few and recent", 3, time.Hour, 0},
		{"one too many", historyCount + 1, 0, 1},
		{"the oldest expired", 3, historyAge - time.Second, 1},
		{"all expired", 3, historyAge + time.Second, -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := history{byID: make(map[string]*queryRecord)}
			var last time.Time
			for i := range tc.n {
				last = start.Add(time.Duration(i) * time.Second)
				h.add(&queryRecord{id: strconv.Itoa(i), created: last}, last)
			}
			h.prune(last.Add(tc.after))
			want := 0
			if tc.wantFirst >= 0 {
				want = tc.n - tc.wantFirst
			}
			if len(h.records) != want || len(h.byID) != want {
				t.Fatalf("%d records, %d by ID; want %d", len(h.records), len(h.byID), want)
			}
			if want > 0 && h.records[0].id != strconv.Itoa(tc.wantFirst) {
				t.Errorf("the oldest record kept is %s, want %d", h.records[0].id, tc.wantFirst)
			}
		})
	}
}
