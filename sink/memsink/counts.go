package memsink

import (
	"context"
	"fmt"
	"strings"

	"github.com/ctimport/ctimport/sink"
)

// eventTable returns the events of event data store storeID, or
// sink.ErrNotFound. The caller holds s.mu.
func (s *Store) eventTable(storeID string) (*table, error) {
	if s.closed {
		return nil, errClosed
	}
	t := s.tables[storeID]
	if t == nil {
		return nil, fmt.Errorf("event data store %s: %w", storeID, sink.ErrNotFound)
	}
	return t, nil
}

// EventCounts counts the events q selects in event data store storeID by
// the key of the object each was read from, or returns sink.ErrNotFound.
func (s *Store) EventCounts(ctx context.Context, storeID string, q sink.EventCountQuery) (map[string]int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.eventTable(storeID)
	if err != nil {
		return nil, fmt.Errorf("memsink: event counts: %w", err)
	}
	start, end := norm(q.Start), norm(q.End)
	counts := map[string]int64{}
	for i, key := range t.keys {
		at := norm(t.events[i].Time)
		if !strings.HasPrefix(key, q.Prefix) || (!start.IsZero() && at.Before(start)) || (!end.IsZero() && at.After(end)) {
			continue
		}
		counts[key]++
	}
	return counts, nil
}

// MissingEvents returns the identities among ids of which event data store
// storeID holds no event, in the order of ids, or returns
// sink.ErrNotFound.
func (s *Store) MissingEvents(ctx context.Context, storeID string, ids []sink.Identity) ([]sink.Identity, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.eventTable(storeID)
	if err != nil {
		return nil, fmt.Errorf("memsink: missing events: %w", err)
	}
	var missing []sink.Identity
	for _, id := range ids {
		if _, ok := t.ids[sink.Identity{ID: id.ID, Time: norm(id.Time)}]; !ok {
			missing = append(missing, id)
		}
	}
	return missing, nil
}
