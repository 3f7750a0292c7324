package pipeline

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/ctimport/ctimport/s3scan"
)

// Shard is one part of an import that several processes run together,
// each over its own part of the source. The zero Shard is the whole import.
//
// The source is split by account and region: every day prefix of one
// account and region goes to the same shard, so that the events CloudTrail
// may deliver twice, which stay within their account and region, are
// deduplicated by one process; so do the prefixes of an account under an
// organization trail and under a trail of the account's own, which hold
// the same events. Each account and
// region goes to the shard that ranks highest for it by rendezvous
// hashing: every process computes the split alone from the prefix's name,
// with nothing to agree on, and the split does not depend on which other
// prefixes a process sees, so shards started at different times, on a
// bucket that CloudTrail still writes to, never leave a prefix out or
// read one twice. The shards get equal numbers of accounts and regions,
// as a random split would; sizes are balanced only as far as the accounts'
// sizes are.
type Shard struct {
	Index int // from 0
	Count int // 0 for an import that is not split
}

// ParseShard parses "I/N", shard I (from 0) of N.
func ParseShard(s string) (Shard, error) {
	i, n, ok := strings.Cut(s, "/")
	if !ok {
		return Shard{}, fmt.Errorf("pipeline: shard %q is not I/N", s)
	}
	index, err1 := strconv.Atoi(i)
	count, err2 := strconv.Atoi(n)
	if err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("pipeline: shard %q is not I/N with whole numbers", s)
	}
	sh := Shard{Index: index, Count: count}
	if count < 1 {
		return Shard{}, fmt.Errorf("pipeline: shard %q: the number of shards must be at least 1", s)
	}
	return sh, sh.Check()
}

// Check reports whether s is a valid shard.
func (s Shard) Check() error {
	switch {
	case s == Shard{}:
		return nil
	case s.Count < 1 || s.Count > MaxShards:
		return fmt.Errorf("pipeline: the number of shards must be from 1 to %d, not %d", MaxShards, s.Count)
	case s.Index < 0 || s.Index >= s.Count:
		return fmt.Errorf("pipeline: shard index %d is not from 0 to %d", s.Index, s.Count-1)
	}
	return nil
}

// MaxShards is the most shards an import may have.
const MaxShards = 10_000

// String returns "I/N".
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// Owns reports whether the day prefix d is the shard's to read.
func (s Shard) Owns(d s3scan.DayPrefix) bool {
	if s.Count <= 1 {
		return true
	}
	return s.owner(d.Account, d.Region) == s.Index
}

// owner returns the shard that ranks highest for an account and region.
func (s Shard) owner(account, region string) int {
	h := fnv.New64a()
	for _, part := range []string{account, region} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	unit := h.Sum64()
	best, bestScore := 0, uint64(0)
	for i := range s.Count {
		if score := mix(unit ^ mix(uint64(i)+1)); i == 0 || score > bestScore {
			best, bestScore = i, score
		}
	}
	return best
}

// mix is the finalizer of SplitMix64.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}
