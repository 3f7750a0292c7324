package pipeline

import (
	"fmt"
	"math"
	"testing"

	"github.com/ctimport/ctimport/s3scan"
)

func TestParseShard(t *testing.T) {
	tests := []struct {
		in      string
		want    Shard
		wantErr bool
	}{
		{in: "0/1", want: Shard{0, 1}},
		{in: "2/3", want: Shard{2, 3}},
		{in: "9999/10000", want: Shard{9999, 10000}},
		{in: "3/3", wantErr: true},
		{in: "-1/3", wantErr: true},
		{in: "0/0", wantErr: true},
		{in: "0/10001", wantErr: true},
		{in: "1", wantErr: true},
		{in: "a/b", wantErr: true},
		{in: "1/2/3", wantErr: true},
		{in: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := ParseShard(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want && !tt.wantErr {
			t.Errorf("ParseShard(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

// units returns the day prefixes of an organization's accounts and
// regions, two days each.
func units(accounts, regions int) []s3scan.DayPrefix {
	var days []s3scan.DayPrefix
	for a := range accounts {
		for r := range regions {
			for d := range 2 {
				days = append(days, s3scan.DayPrefix{
					Org:     "o-abc123",
					Account: fmt.Sprintf("%012d", 100000000000+a*7919),
					Region:  fmt.Sprintf("region-%d", r),
					Key:     fmt.Sprintf("AWSLogs/o-abc123/%012d/CloudTrail/region-%d/2024/01/%02d/", 100000000000+a*7919, r, d+1),
				})
			}
		}
	}
	return days
}

// TestShardSplit checks that every day prefix goes to exactly one shard,
// that the days of one account and region go to the same shard, and that
// the shards get about as many accounts and regions each.
func TestShardSplit(t *testing.T) {
	days := units(200, 17)
	for _, n := range []int{1, 2, 3, 7, 50} {
		perShard := make([]int, n)
		owner := map[string]int{}
		for _, d := range days {
			i := (Shard{Count: n}).owner(d.Account, d.Region)
			perShard[i]++
			unit := d.Account + "/" + d.Region
			if o, ok := owner[unit]; ok && o != i {
				t.Fatalf("%d shards: %s goes to shards %d and %d", n, unit, o, i)
			}
			owner[unit] = i
			if !(Shard{i, n}).Owns(d) || n > 1 && (Shard{(i + 1) % n, n}).Owns(d) {
				t.Fatalf("%d shards: %s is not owned by shard %d alone", n, d.Key, i)
			}
		}
		// The split should be as even as a random one: the spread of
		// the shards' shares no wider than 1.5 times a binomial's.
		mean := float64(len(days)) / float64(n)
		var sq float64
		for _, c := range perShard {
			sq += (float64(c) - mean) * (float64(c) - mean)
		}
		sd := math.Sqrt(sq / float64(n))
		// Two day prefixes per account and region: the count of units
		// is binomial, the count of days twice one.
		want := 2 * math.Sqrt(mean/2*(1-1/float64(n)))
		if sd > 1.5*want {
			t.Errorf("%d shards: the shards' day prefixes %v spread by %.1f; a random split spreads by %.1f", n, perShard, sd, want)
		}
	}
	if !(Shard{}).Owns(days[0]) {
		t.Error("the zero Shard does not own every prefix")
	}
	// An account's prefixes of an organization trail and of its own
	// trail hold the same events: one shard reads both.
	own := days[0]
	own.Org = ""
	for i := range 7 {
		if (Shard{i, 7}).Owns(days[0]) != (Shard{i, 7}).Owns(own) {
			t.Errorf("shard %d of 7 reads one of the organization's and the account's prefixes of %s/%s", i, own.Account, own.Region)
		}
	}
}

// TestShardStable checks that adding a shard moves only the accounts and
// regions the new shard takes, as rendezvous hashing promises.
func TestShardStable(t *testing.T) {
	days := units(100, 17)
	moved := 0
	for _, d := range days {
		before, after := (Shard{Count: 4}).owner(d.Account, d.Region), (Shard{Count: 5}).owner(d.Account, d.Region)
		if before != after {
			if after != 4 {
				t.Fatalf("%s moved from shard %d to shard %d, not to the new shard", d.Key, before, after)
			}
			moved++
		}
	}
	if share := float64(moved) / float64(len(days)); share < 0.1 || share > 0.3 {
		t.Errorf("%.0f%% of the prefixes moved to the fifth shard; want about 20%%", 100*share)
	}
}
