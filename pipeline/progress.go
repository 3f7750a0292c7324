package pipeline

import (
	"sync/atomic"
	"time"

	"github.com/ctimport/ctimport/s3scan"
)

// Progress is a snapshot of a run's Counters, for progress displays.
// Unlike an import's statistics, which count what is committed over all its
// runs, it counts one run only.
type Progress struct {
	Started time.Time
	// Listing is true until every prefix of the import has been listed.
	Listing bool
	// Days counts the day prefixes to list, once they are known, and
	// DaysListed those listed so far.
	Days              int64
	DaysListed        int64
	PrefixesFound     int64
	PrefixesCompleted int64
	// FilesFound and BytesFound count the files this run reads, as listed.
	FilesFound int64
	BytesFound int64
	// FilesDone, BytesDone and Events count the files committed.
	FilesDone int64
	BytesDone int64
	Events    int64
	// Stored and Duplicates split Events into new rows and events the
	// store already held.
	Stored     int64
	Duplicates int64
	// FilesFailed counts files that failed for good, and BytesFailed
	// their size.
	FilesFailed int64
	BytesFailed int64
	// BytesRead counts the bytes read from the source, compressed.
	BytesRead int64
	// Retries counts failed attempts that were tried again.
	Retries int64
	// EventsOutOfRange counts events of read files outside the time range.
	EventsOutOfRange int64
	// EventsPastRetention counts events of read files older than the
	// retention period of the event data store.
	EventsPastRetention int64
	// EventsUnselected counts events of read files within the time range
	// that the event data store's advanced event selectors do not select.
	EventsUnselected int64
	// SkippedObjects and SkippedPrefixes count what is not trail log files.
	SkippedObjects  int64
	SkippedPrefixes int64
}

// Counters is where a run reports its progress as it goes. Its methods
// are safe for concurrent use; the zero value counts from zero.
type Counters struct {
	// Started is when the run started; set it before the run starts.
	Started time.Time

	listing                          atomic.Bool
	days, daysListed                 atomic.Int64
	prefixesFound, prefixesCompleted atomic.Int64
	filesFound, bytesFound           atomic.Int64
	filesDone, bytesDone, events     atomic.Int64
	stored, duplicates               atomic.Int64
	failed, bytesFailed              atomic.Int64
	bytesRead, retries               atomic.Int64
	outOfRange, expired, unselected  atomic.Int64
	skippedObjects, skippedPrefixes  atomic.Int64
}

func (p *Counters) skip(s s3scan.Skipped) {
	p.skippedObjects.Add(s.Objects)
	p.skippedPrefixes.Add(s.Prefixes)
}

func (p *Counters) found(size int64) {
	p.filesFound.Add(1)
	p.bytesFound.Add(size)
}

// Snapshot returns the counters' values now.
func (p *Counters) Snapshot() Progress {
	return Progress{
		Started:             p.Started,
		Listing:             p.listing.Load(),
		Days:                p.days.Load(),
		DaysListed:          p.daysListed.Load(),
		PrefixesFound:       p.prefixesFound.Load(),
		PrefixesCompleted:   p.prefixesCompleted.Load(),
		FilesFound:          p.filesFound.Load(),
		BytesFound:          p.bytesFound.Load(),
		FilesDone:           p.filesDone.Load(),
		BytesDone:           p.bytesDone.Load(),
		Events:              p.events.Load(),
		Stored:              p.stored.Load(),
		Duplicates:          p.duplicates.Load(),
		FilesFailed:         p.failed.Load(),
		BytesFailed:         p.bytesFailed.Load(),
		BytesRead:           p.bytesRead.Load(),
		Retries:             p.retries.Load(),
		EventsOutOfRange:    p.outOfRange.Load(),
		EventsPastRetention: p.expired.Load(),
		EventsUnselected:    p.unselected.Load(),
		SkippedObjects:      p.skippedObjects.Load(),
		SkippedPrefixes:     p.skippedPrefixes.Load(),
	}
}

func (p *Counters) retried() { p.retries.Add(1) }
