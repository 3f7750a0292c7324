package pgsink

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/table"

	"github.com/ctimport/ctimport/sink"
)

// row is what the Store reads back of a stored event.
type row struct {
	key    string
	id     string
	at     time.Time
	noID   bool
	noTime bool
}

// timeRange is the filter eventTime >= start AND eventTime < end; a zero
// bound is open.
func timeRange(start, end time.Time) iceberg.BooleanExpression {
	var parts []iceberg.BooleanExpression
	if !start.IsZero() {
		parts = append(parts, iceberg.GreaterThanEqual(iceberg.Reference("eventTime"), iceberg.Timestamp(start.UnixMicro())))
	}
	if !end.IsZero() {
		parts = append(parts, iceberg.LessThan(iceberg.Reference("eventTime"), iceberg.Timestamp(end.UnixMicro())))
	}
	switch len(parts) {
	case 0:
		return iceberg.AlwaysTrue{}
	case 1:
		return parts[0]
	}
	return iceberg.NewAnd(parts[0], parts[1])
}

// scan reads the eventID, eventTime and object key of the events of table
// id whose eventTime is within [start, end) (a zero bound is open; an event
// without an eventTime is within open bounds only). The scan asks
// iceberg-go for whole days, which the tables' day partitions answer
// without evaluating rows (iceberg-go v0.7.0 evaluates a row filter
// wrongly over tables with nested columns), and keeps the bounds itself.
func (s *Store) scan(ctx context.Context, id table.Identifier, start, end time.Time) iter.Seq2[row, error] {
	return func(yield func(row, error) bool) {
		tbl, err := s.cat.LoadTable(ctx, id)
		if err != nil {
			yield(row{}, err)
			return
		}
		days := timeRange(start.Truncate(24*time.Hour), ceilDay(end))
		_, batches, err := tbl.Scan(table.WithRowFilter(days), table.WithSelectedFields(sink.SourceKeyColumn, "eventID", "eventTime")).ToArrowRecords(ctx)
		if err != nil {
			yield(row{}, err)
			return
		}
		for rec, err := range batches {
			if err != nil {
				yield(row{}, err)
				return
			}
			cols := func(name string) arrow.Array { return rec.Column(rec.Schema().FieldIndices(name)[0]) }
			keys, ids, times := cols(sink.SourceKeyColumn).(*array.String), cols("eventID").(*array.String), cols("eventTime").(*array.Timestamp)
			for i := range int(rec.NumRows()) {
				r := row{key: keys.Value(i), id: ids.Value(i), noID: ids.IsNull(i), noTime: times.IsNull(i)}
				if !r.noTime {
					r.at = times.Value(i).ToTime(arrow.Microsecond).UTC()
				}
				switch {
				case r.noTime && (!start.IsZero() || !end.IsZero()),
					!start.IsZero() && r.at.Before(start),
					!end.IsZero() && !r.at.Before(end):
					continue
				}
				if !yield(r, nil) {
					rec.Release()
					return
				}
			}
			rec.Release()
		}
	}
}

// ceilDay returns the start of the day after t's, or t at a day's start.
func ceilDay(t time.Time) time.Time {
	if d := t.Truncate(24 * time.Hour); !d.Equal(t) {
		return d.Add(24 * time.Hour)
	}
	return t
}

// identities returns the identities of the events of table id whose
// eventTime is within [start, end).
func (s *Store) identities(ctx context.Context, id table.Identifier, start, end time.Time) (map[sink.Identity]struct{}, error) {
	ids := map[sink.Identity]struct{}{}
	for r, err := range s.scan(ctx, id, start, end) {
		if err != nil {
			return nil, err
		}
		if !r.noID && !r.noTime {
			ids[sink.Identity{ID: r.id, Time: r.at}] = struct{}{}
		}
	}
	return ids, nil
}

// Events returns the eventID, eventTime and object key of the events
// stored in event data store storeID, as the table's scan gives them. It
// is for tests; a read error ends the sequence early.
func (s *Store) Events(storeID string) iter.Seq2[string, sink.Event] {
	return func(yield func(string, sink.Event) bool) {
		for r, err := range s.scan(context.Background(), ident(storeID), time.Time{}, time.Time{}) {
			if err != nil {
				return
			}
			ev := sink.Event{Time: r.at}
			ev.Values[sink.EventID] = r.id
			if r.noID {
				ev.Null = ev.Null.With(sink.EventID)
			}
			if r.noTime {
				ev.Null = ev.Null.With(sink.EventTime)
			}
			if !yield(r.key, ev) {
				return
			}
		}
	}
}

// EventCounts counts the events q selects in event data store storeID by
// the key of the object each was read from; see sink.Store.
func (s *Store) EventCounts(ctx context.Context, storeID string, q sink.EventCountQuery) (map[string]int64, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	eds, err := s.store(ctx, storeID)
	if err != nil {
		return nil, fmt.Errorf("pgsink: event counts: %w", err)
	}
	end := q.End
	if !end.IsZero() {
		end = end.Add(time.Microsecond)
	}
	counts := map[string]int64{}
	for r, err := range s.scan(ctx, ident(eds.ID), q.Start, end) {
		if err != nil {
			return nil, fmt.Errorf("pgsink: event counts: %w", err)
		}
		if strings.HasPrefix(r.key, q.Prefix) {
			counts[r.key]++
		}
	}
	return counts, nil
}

// MissingEvents returns the identities among ids of which event data
// store storeID holds no event; see sink.Store.
func (s *Store) MissingEvents(ctx context.Context, storeID string, ids []sink.Identity) ([]sink.Identity, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	eds, err := s.store(ctx, storeID)
	if err != nil {
		return nil, fmt.Errorf("pgsink: missing events: %w", err)
	}
	days := map[int64]map[sink.Identity]struct{}{}
	var missing []sink.Identity
	for _, id := range ids {
		start := id.Time.UTC().Truncate(24 * time.Hour)
		day := start.Unix()
		held, ok := days[day]
		if !ok {
			if held, err = s.identities(ctx, ident(eds.ID), start, start.Add(24*time.Hour)); err != nil {
				return nil, fmt.Errorf("pgsink: missing events: %w", err)
			}
			days[day] = held
		}
		if _, ok := held[sink.Identity{ID: id.ID, Time: id.Time.UTC().Truncate(time.Microsecond)}]; !ok {
			missing = append(missing, id)
		}
	}
	return missing, nil
}

// purgeAttempts is how many times PurgeEvents tries its commit when other
// writers' commits conflict with it.
const purgeAttempts = 5

// PurgeEvents removes the events of event data store storeID from before
// before, in one Iceberg commit; see sink.Store. The data files of the
// days before before's are dropped whole; those of before's day are
// replaced by files of the events they keep.
func (s *Store) PurgeEvents(ctx context.Context, storeID string, before time.Time) (int64, error) {
	if err := s.check(); err != nil {
		return 0, err
	}
	eds, err := s.store(ctx, storeID)
	if err != nil {
		return 0, fmt.Errorf("pgsink: purge events: %w", err)
	}
	for attempt := 1; ; attempt++ {
		n, err := s.purge(ctx, ident(eds.ID), before.UTC())
		if err == nil || attempt == purgeAttempts || ctx.Err() != nil {
			if err != nil {
				return 0, fmt.Errorf("pgsink: purge events: %w", errors.Join(err, ctx.Err()))
			}
			return n, nil
		}
	}
}

// purge makes one try of PurgeEvents.
func (s *Store) purge(ctx context.Context, id table.Identifier, before time.Time) (int64, error) {
	var n int64
	for _, err := range s.scan(ctx, id, time.Time{}, before) {
		if err != nil {
			return 0, err
		}
		n++
	}
	if n == 0 {
		return 0, nil
	}
	tbl, err := s.cat.LoadTable(ctx, id)
	if err != nil {
		return 0, err
	}
	tx := tbl.NewTransaction()
	// Whole days: every row of their files matches, so no file is
	// rewritten.
	dayStart := before.Truncate(24 * time.Hour)
	if err := tx.Delete(ctx, timeRange(time.Time{}, dayStart), nil); err != nil {
		return 0, fmt.Errorf("delete the days before %s: %w", dayStart.Format(time.DateOnly), err)
	}
	if before.After(dayStart) {
		if err := s.purgeDay(ctx, tbl, tx, dayStart, before); err != nil {
			return 0, err
		}
	}
	if _, err := tx.Commit(ctx); err != nil {
		return 0, err
	}
	return n, nil
}

// purgeDay replaces in tx the files of the day from dayStart by files of
// their events from before on.
func (s *Store) purgeDay(ctx context.Context, tbl *table.Table, tx *table.Transaction, dayStart, before time.Time) error {
	day := timeRange(dayStart, dayStart.Add(24*time.Hour))
	schema, batches, err := tbl.Scan(table.WithRowFilter(day)).ToArrowRecords(ctx)
	if err != nil {
		return fmt.Errorf("read %s: %w", dayStart.Format(time.DateOnly), err)
	}
	var kept []arrow.RecordBatch
	defer func() {
		for _, r := range kept {
			r.Release()
		}
	}()
	cutoff := arrow.Timestamp(before.UnixMicro())
	for rec, err := range batches {
		if err != nil {
			return err
		}
		times := rec.Column(rec.Schema().FieldIndices("eventTime")[0]).(*array.Timestamp)
		mask := array.NewBooleanBuilder(memory.DefaultAllocator)
		for i := range times.Len() {
			mask.Append(times.IsNull(i) || times.Value(i) >= cutoff)
		}
		m := mask.NewBooleanArray()
		out, err := compute.FilterRecordBatch(ctx, rec, m, compute.DefaultFilterOptions())
		m.Release()
		mask.Release()
		rec.Release()
		if err != nil {
			return err
		}
		kept = append(kept, out)
	}
	if err := tx.Delete(ctx, day, nil); err != nil {
		return fmt.Errorf("delete the files of %s: %w", dayStart.Format(time.DateOnly), err)
	}
	rdr, err := array.NewRecordReader(schema, kept)
	if err != nil {
		return err
	}
	defer rdr.Release()
	return tx.Append(ctx, rdr, nil)
}
