package duckdbsink

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ctimport/ctimport/sink"
)

// missingBatch is how many identities one statement of MissingEvents
// looks up.
const missingBatch = 8192

// storeExists returns sink.ErrNotFound when there is no event data store
// storeID.
func (s *Store) storeExists(ctx context.Context, storeID string) error {
	var n int
	err := s.db.QueryRowContext(ctx, s.sql(`SELECT count(*) FROM ctimport.event_data_stores WHERE id = ?`), storeID).Scan(&n)
	if err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("event data store %s: %w", storeID, sink.ErrNotFound)
	}
	return nil
}

// EventCounts counts the events q selects in event data store storeID by
// their sourceObjectKey. It returns sink.ErrNotFound when there is no such
// event data store.
func (s *Store) EventCounts(ctx context.Context, storeID string, q sink.EventCountQuery) (map[string]int64, error) {
	if err := s.storeExists(ctx, storeID); err != nil {
		return nil, fmt.Errorf("duckdbsink: event counts: %w", err)
	}
	key, t := quoteIdent(sink.SourceKeyColumn), quoteIdent(sink.EventTime.Name())
	where := []string{`starts_with(` + key + `, ?)`}
	args := []any{q.Prefix}
	if !q.Start.IsZero() {
		where = append(where, t+` >= ?`)
		args = append(args, q.Start.UTC())
	}
	if !q.End.IsZero() {
		where = append(where, t+` <= ?`)
		args = append(args, q.End.UTC())
	}
	rows, err := s.db.QueryContext(ctx, `SELECT `+key+`, count(*) FROM `+s.eventTable(storeID)+
		` WHERE `+strings.Join(where, ` AND `)+` GROUP BY `+key, args...)
	if err != nil {
		return nil, fmt.Errorf("duckdbsink: event counts of %s: %w", storeID, err)
	}
	defer rows.Close()
	counts := map[string]int64{}
	for rows.Next() {
		var k string
		var n int64
		if err := rows.Scan(&k, &n); err != nil {
			return nil, fmt.Errorf("duckdbsink: event counts of %s: %w", storeID, err)
		}
		counts[k] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("duckdbsink: event counts of %s: %w", storeID, err)
	}
	return counts, nil
}

// MissingEvents returns the identities among ids of which event data store
// storeID holds no event, in the order of ids. It looks them up a batch at
// a time, reading only the events within the batch's range of eventTime.
// It returns sink.ErrNotFound when there is no such event data store.
func (s *Store) MissingEvents(ctx context.Context, storeID string, ids []sink.Identity) ([]sink.Identity, error) {
	if err := s.storeExists(ctx, storeID); err != nil {
		return nil, fmt.Errorf("duckdbsink: missing events: %w", err)
	}
	query := missingSQL(s.eventTable(storeID))
	var missing []sink.Identity
	for batch := range slices.Chunk(ids, missingBatch) {
		idx := make([]int64, len(batch))
		eventIDs := make([]string, len(batch))
		times := make([]time.Time, len(batch))
		lo, hi := batch[0].Time, batch[0].Time
		for i, id := range batch {
			idx[i], eventIDs[i], times[i] = int64(i), id.ID, id.Time.UTC()
			lo, hi = minTime(lo, id.Time), maxTime(hi, id.Time)
		}
		rows, err := s.db.QueryContext(ctx, query, idx, eventIDs, times, lo.UTC(), hi.UTC())
		if err != nil {
			return nil, fmt.Errorf("duckdbsink: missing events of %s: %w", storeID, err)
		}
		for rows.Next() {
			var i int64
			if err := rows.Scan(&i); err != nil {
				rows.Close()
				return nil, fmt.Errorf("duckdbsink: missing events of %s: %w", storeID, err)
			}
			missing = append(missing, batch[i])
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("duckdbsink: missing events of %s: %w", storeID, err)
		}
	}
	return missing, nil
}

// missingSQL returns the statement selecting the positions of the
// identities ($1, $2 and $3: positions, eventIDs and eventTimes) that the
// events table holds no event of, in order. $4 and $5 are the earliest and
// latest eventTime among them: comparing with them plainly lets DuckDB skip
// the row groups outside the range.
func missingSQL(table string) string {
	id, t := quoteIdent(sink.EventID.Name()), quoteIdent(sink.EventTime.Name())
	return `SELECT q.i FROM (SELECT unnest($1::BIGINT[]) AS i, unnest($2::VARCHAR[]) AS id, unnest($3::TIMESTAMP[]) AS t) AS q
		WHERE NOT EXISTS (SELECT 1 FROM ` + table + ` AS e WHERE e.` + id + ` = q.id AND e.` + t + ` = q.t
			AND e.` + t + ` >= $4 AND e.` + t + ` <= $5)
		ORDER BY q.i`
}
