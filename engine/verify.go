package engine

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/pipeline"
	"github.com/ctimport/ctimport/s3scan"
	"github.com/ctimport/ctimport/selector"
	"github.com/ctimport/ctimport/sink"
)

// DriftKind names a kind of difference Verify finds.
type DriftKind string

// The kinds of drift.
const (
	// DriftUnimported is a log file the source lists within the import's
	// window that has no checkpoint row of the import, and that no other
	// import into the same event data store imported.
	DriftUnimported DriftKind = "unimported"
	// DriftVanished is a file with a checkpoint row that the source lists
	// no more.
	DriftVanished DriftKind = "vanished"
	// DriftChanged is an imported file whose size or ETag differs from
	// the ones it had when it was read.
	DriftChanged DriftKind = "changed"
	// DriftFailed is a file the import failed to read: its row has status
	// FAILED, or RETRY when the import ended before its next attempt.
	DriftFailed DriftKind = "failed"
	// DriftEvents is an imported file whose events in the store do not
	// agree with its checkpoint row.
	DriftEvents DriftKind = "events"
	// DriftTotals means the import's statistics do not agree with its
	// checkpoint rows.
	DriftTotals DriftKind = "totals"
)

// Drift is one difference between an import's source, its checkpoint and
// its event data store.
type Drift struct {
	Kind DriftKind
	// Location is the key of the file; "" for DriftTotals.
	Location string
	// Detail says what differs, in one line.
	Detail string
}

// VerifySummary counts what Verify compared.
type VerifySummary struct {
	// Files is how many files were compared: those the source lists
	// within the import's window, and those with a checkpoint row.
	Files int64
	// Events is how many events the checkpoint rows record as imported.
	Events int64
	// Drifts is how many differences were reported; 0 when the source,
	// the checkpoint and the store agree.
	Drifts int64
}

// verifyBatch is how many identities a re-read file looks up at once.
const verifyBatch = 8192

// Verify lists the source of import id again and compares it with the
// import's checkpoint rows and with the events its event data store holds.
// It calls report with each difference, day prefix by day prefix and in
// key order within a day, then with the totals, and returns what it
// compared. It writes nothing, and refuses, with
// AccountHasOngoingImportException, an import that has not ended.
//
// The source is listed as the import listed it: the same day prefixes
// within the same delivery window, with the same objects skipped as not
// being a trail's log files. A listed file that has no row of the import
// but that another import into the same event data store imported, as an
// incremental import leaves them, counts as imported.
//
// For each imported file, the events the store holds within the import's
// time range that were read from it are compared with the events its
// checkpoint row records. More is drift. Fewer can be right: an event
// delivered twice is stored once, from the file that brought it first,
// which may be another one. So a file with fewer is read again, and is
// drift only when some of its events are in the store from no file at
// all. A file that cannot be read as it was imported, having vanished or
// changed, cannot be told apart so, and its shortfall is reported. A file
// that cannot be read again fails Verify.
func (e *Engine) Verify(ctx context.Context, id string, report func(Drift)) (VerifySummary, error) {
	imp, err := e.loadImport(ctx, id)
	if err != nil {
		return VerifySummary{}, err
	}
	switch {
	case e.isRunning(imp.ID):
		return VerifySummary{}, api.ErrAccountHasOngoingImport.New("import %s is running: verify it once it has ended", imp.ID)
	case !api.ImportStatus(imp.Status).Done():
		return VerifySummary{}, api.ErrAccountHasOngoingImport.New("import %s is %s: verify it once it has ended", imp.ID, imp.Status)
	}
	loc, err := s3scan.ParseLocation(imp.SourceURI)
	if err != nil {
		return VerifySummary{}, api.ErrInvalidImportSource.New("%v", err)
	}
	src, err := e.openSource(ctx, loc, sourceOf(imp))
	if err != nil {
		return VerifySummary{}, err
	}
	// A store removed since has no retention period or selectors left: its
	// events are compared as the source has them.
	dest, err := e.resolveStore(ctx, imp.StoreID)
	if err != nil && !errors.Is(err, api.ErrEventDataStoreNotFound) {
		return VerifySummary{}, fmt.Errorf("engine: verify import %s: %w", imp.ID, err)
	}
	m, err := storeMatcher(dest)
	if err != nil {
		return VerifySummary{}, err
	}
	v := &verifier{store: e.store, imp: imp, src: src, cfg: e.opts.Config, notBefore: e.retentionStart(dest), selectors: m, report: report}
	if err := v.verify(ctx, loc.Prefix); err != nil {
		return VerifySummary{}, fmt.Errorf("engine: verify import %s: %w", imp.ID, err)
	}
	return v.sum, nil
}

// verifier is one run of Verify.
type verifier struct {
	store sink.Store
	imp   sink.Import
	src   s3scan.Source
	cfg   pipeline.Config // the retries and caps the import read with
	// notBefore is the start of the store's retention period: older
	// events are not kept, so not missed.
	notBefore time.Time
	// selectors are the event data store's advanced event selectors,
	// which choose the events a file read again should have brought.
	selectors *selector.Matcher
	report    func(Drift)
	sum       VerifySummary
	stored    map[string]int64 // events in the store within the time range, by key
	// The checkpoint rows compared: imported and failed ones.
	imported, failed int64
}

func (v *verifier) drift(kind DriftKind, key, format string, args ...any) {
	v.sum.Drifts++
	v.report(Drift{Kind: kind, Location: key, Detail: fmt.Sprintf(format, args...)})
}

// verify compares the day prefixes of the source below root, then those
// with checkpoint rows that the source does not have any more, then the
// totals.
func (v *verifier) verify(ctx context.Context, root string) error {
	imp := v.imp
	var days []s3scan.DayPrefix
	err := v.cfg.Retry(ctx, nil, func() error {
		var err error
		days, _, err = s3scan.Discover(ctx, v.src, root, pipeline.Window(v.imp))
		return err
	})
	if err != nil {
		return fmt.Errorf("discover prefixes of %s: %w", imp.SourceURI, err)
	}
	v.stored, err = v.store.EventCounts(ctx, imp.StoreID, sink.EventCountQuery{Prefix: root, Start: imp.StartEventTime, End: imp.EndEventTime})
	if err != nil {
		return err
	}
	rows, err := v.store.Prefixes(ctx, imp.ID)
	if err != nil {
		return err
	}
	listed := make(map[string]bool, len(days))
	for _, d := range days {
		listed[d.Key] = true
		if err := v.day(ctx, d, true); err != nil {
			return err
		}
	}
	for _, p := range rows {
		if !listed[p.Key] {
			if err := v.day(ctx, s3scan.DayPrefix{Key: p.Key}, false); err != nil {
				return err
			}
		}
	}
	return v.totals(ctx)
}

// day compares the files of one day prefix, which the source lists when
// list is true, with their checkpoint rows, in key order.
func (v *verifier) day(ctx context.Context, d s3scan.DayPrefix, list bool) error {
	rows, err := v.store.Files(ctx, sink.FileQuery{ImportID: v.imp.ID, Prefix: d.Key})
	if err != nil {
		return err
	}
	var files []s3scan.LogFile
	if list {
		err = v.cfg.Retry(ctx, nil, func() error {
			files = files[:0]
			_, err := s3scan.ListDay(ctx, v.src, d, pipeline.Window(v.imp), func(f s3scan.LogFile) error {
				files = append(files, f)
				return nil
			})
			return err
		})
		if err != nil {
			return fmt.Errorf("list %s: %w", d.Key, err)
		}
	}
	var covered map[string]bool // imported by any import into the store
	for i, j := 0, 0; i < len(files) || j < len(rows); {
		var err error
		switch {
		case j == len(rows) || (i < len(files) && files[i].Key < rows[j].Key):
			if covered == nil {
				if covered, err = v.covered(ctx, d.Key); err != nil {
					return err
				}
			}
			v.unimported(files[i], covered)
			i++
		case i == len(files) || rows[j].Key < files[i].Key:
			err = v.file(ctx, nil, rows[j])
			j++
		default:
			err = v.file(ctx, &files[i], rows[j])
			i, j = i+1, j+1
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// covered returns the keys under prefix that some import into the
// import's event data store imported: those an incremental import skips.
func (v *verifier) covered(ctx context.Context, prefix string) (map[string]bool, error) {
	files, err := v.store.Files(ctx, sink.FileQuery{StoreID: v.imp.StoreID, Prefix: prefix, Statuses: []sink.FileStatus{sink.FileImported}})
	if err != nil {
		return nil, err
	}
	keys := make(map[string]bool, len(files))
	for _, f := range files {
		keys[f.Key] = true
	}
	return keys, nil
}

// unimported checks a listed file that has no checkpoint row.
func (v *verifier) unimported(f s3scan.LogFile, covered map[string]bool) {
	v.sum.Files++
	if !covered[f.Key] {
		v.drift(DriftUnimported, f.Key, "delivered %s, %d bytes: the import has no checkpoint row for it",
			f.Delivery.Format(time.RFC3339), f.Size)
	}
}

// file checks a checkpoint row, and the file the source lists under its
// key, if any.
func (v *verifier) file(ctx context.Context, f *s3scan.LogFile, row sink.File) error {
	v.sum.Files++
	if row.Status != sink.FileImported {
		v.failed++
	} else {
		v.imported++
		v.sum.Events += row.Events
	}
	switch {
	case f == nil:
		v.drift(DriftVanished, row.Key, "the checkpoint has it %s with %d events, %d bytes: the source lists it no more",
			row.Status, row.Events, row.Size)
	case row.Status != sink.FileImported:
		v.drift(DriftFailed, row.Key, "%s after %d attempts: %s: %s", row.Status, row.Attempts, row.ErrorType, row.ErrorMessage)
		return nil
	case f.Size != row.Size || f.ETag != row.ETag:
		v.drift(DriftChanged, row.Key, "read as %d bytes with ETag %q, now %d bytes with ETag %q",
			row.Size, row.ETag, f.Size, f.ETag)
		f = nil
	}
	if row.Status != sink.FileImported {
		return nil
	}
	return v.events(ctx, f, row)
}

// events compares the events the store holds from an imported file with
// its checkpoint row. f is the file as it was imported, or nil when it
// vanished or changed.
func (v *verifier) events(ctx context.Context, f *s3scan.LogFile, row sink.File) error {
	stored := v.stored[row.Key]
	switch {
	case stored == row.Events:
	case stored > row.Events:
		v.drift(DriftEvents, row.Key, "the checkpoint records %d events, the store holds %d from it", row.Events, stored)
	case f == nil:
		v.drift(DriftEvents, row.Key, "the checkpoint records %d events, the store holds %d from it; "+
			"the file cannot be read as it was imported to tell duplicates from lost events", row.Events, stored)
	default:
		lost, err := v.lost(ctx, *f)
		if err != nil {
			return err
		}
		if lost > 0 {
			v.drift(DriftEvents, row.Key, "the checkpoint records %d events, the store holds %d from it; %d of them are not in the store",
				row.Events, stored, lost)
		}
	}
	return nil
}

// lost reads file f again, as the import read it, and
// counts its events within the import's time range that the event data
// store's selectors select and that the store holds from no file.
func (v *verifier) lost(ctx context.Context, f s3scan.LogFile) (int64, error) {
	body, _, err := v.src.Open(ctx, f.Key)
	if err != nil {
		return 0, fmt.Errorf("read %s again: %w", f.Key, err)
	}
	defer body.Close()
	rd := pipeline.Reader{MaxFileSize: v.cfg.MaxFileSize, MaxRecordSize: v.cfg.MaxRecordSize, Import: v.imp, NotBefore: v.notBefore, Selectors: v.selectors}
	var ids []sink.Identity
	var lost int64
	look := func() error {
		if len(ids) == 0 {
			return nil
		}
		missing, err := v.store.MissingEvents(ctx, v.imp.StoreID, ids)
		lost += int64(len(missing))
		ids = ids[:0]
		return err
	}
	_, err = rd.Read(f.Key, body, func(events []sink.Event) error {
		for i := range events {
			if id, ok := events[i].Identity(); ok {
				ids = append(ids, id)
			}
		}
		if len(ids) >= verifyBatch {
			return look()
		}
		return nil
	})
	var fe *pipeline.FileError
	if errors.As(err, &fe) {
		return 0, fmt.Errorf("read %s again: %w", f.Key, err)
	}
	if err == nil {
		err = look()
	}
	return lost, err
}

// totals compares the import's statistics with the checkpoint rows
// compared.
func (v *verifier) totals(ctx context.Context) error {
	st, err := v.store.Stats(ctx, v.imp.ID)
	if err != nil {
		return err
	}
	if st.FilesCompleted != v.imported || st.EventsCompleted != v.sum.Events || st.FailedEntries != v.failed {
		v.drift(DriftTotals, "", "the statistics count %d files, %d events and %d failed entries; "+
			"the checkpoint rows under the import's day prefixes %d files, %d events and %d failed",
			st.FilesCompleted, st.EventsCompleted, st.FailedEntries, v.imported, v.sum.Events, v.failed)
	}
	return nil
}
