package duckdbsink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ctimport/ctimport/sink"
)

// CreateEventDataStore adds an event data store and creates its events
// table. It fails with sink.ErrExists when s.Name or s.ID is taken; IDs
// differing only in case are the same, as they name the same table.
func (s *Store) CreateEventDataStore(ctx context.Context, eds sink.EventDataStore) error {
	if eds.ID == "" || eds.Name == "" {
		return errors.New("duckdbsink: create event data store: empty ID or name")
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var n int
		err := tx.QueryRowContext(ctx, s.sql(`SELECT count(*) FROM ctimport.event_data_stores
			WHERE lower(id) = lower(?) OR name = ?`), eds.ID, eds.Name).Scan(&n)
		if err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: event data store %q (ID %s)", sink.ErrExists, eds.Name, eds.ID)
		}
		_, err = tx.ExecContext(ctx, s.sql(`INSERT INTO ctimport.event_data_stores (`+storeColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`),
			eds.ID, eds.Name, eds.ARN, dbTime(eds.Created), dbTime(eds.Updated),
			eds.RetentionPeriod, eds.TerminationProtection, dbTime(eds.Deleted), dbText(eds.Selectors))
		if err != nil {
			return err
		}
		if _, err = tx.ExecContext(ctx, eventTableDDL(s.eventTable(eds.ID))); err != nil {
			return err
		}
		if !eds.Deleted.IsZero() {
			return nil
		}
		_, err = tx.ExecContext(ctx, lakeViewDDL(s.lakeView(eds.ID), eventTableName(eds.ID)))
		return err
	})
	if err != nil {
		return fmt.Errorf("duckdbsink: create event data store: %w", err)
	}
	return nil
}

const storeColumns = `id, name, arn, created, updated, retention_period, termination_protection, deleted, advanced_event_selectors`

// storeSelect reads the columns of storeColumns; an updated time that an
// upgrade left NULL reads as the creation time.
const storeSelect = `id, name, arn, created, coalesce(updated, created), retention_period, termination_protection, deleted,
	coalesce(advanced_event_selectors, '')`

// EventDataStores returns every event data store, oldest first (by
// Created, then ID).
func (s *Store) EventDataStores(ctx context.Context) ([]sink.EventDataStore, error) {
	rows, err := s.db.QueryContext(ctx, s.sql(`SELECT `+storeSelect+`
		FROM ctimport.event_data_stores ORDER BY created NULLS FIRST, id`))
	if err != nil {
		return nil, fmt.Errorf("duckdbsink: list event data stores: %w", err)
	}
	defer rows.Close()
	var out []sink.EventDataStore
	for rows.Next() {
		var e sink.EventDataStore
		var created, updated, deleted sql.NullTime
		err := rows.Scan(&e.ID, &e.Name, &e.ARN, &created, &updated, &e.RetentionPeriod, &e.TerminationProtection, &deleted, &e.Selectors)
		if err != nil {
			return nil, fmt.Errorf("duckdbsink: list event data stores: %w", err)
		}
		e.Created, e.Updated, e.Deleted = goTime(created), goTime(updated), goTime(deleted)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("duckdbsink: list event data stores: %w", err)
	}
	return out, nil
}

// UpdateEventDataStore replaces the changeable fields of the event data
// store with ID eds.ID; see sink.Store. A store pending deletion has no
// view, so that queries do not find it; restoring it creates the view
// again.
func (s *Store) UpdateEventDataStore(ctx context.Context, eds sink.EventDataStore) error {
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var id string
		var deleted sql.NullTime
		err := tx.QueryRowContext(ctx, s.sql(`SELECT id, deleted FROM ctimport.event_data_stores WHERE lower(id) = lower(?)`), eds.ID).
			Scan(&id, &deleted)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("event data store %s: %w", eds.ID, sink.ErrNotFound)
		}
		if err != nil {
			return err
		}
		var n int
		err = tx.QueryRowContext(ctx, s.sql(`SELECT count(*) FROM ctimport.event_data_stores WHERE name = ? AND id <> ?`), eds.Name, id).Scan(&n)
		if err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: event data store %q", sink.ErrExists, eds.Name)
		}
		_, err = tx.ExecContext(ctx, s.sql(`UPDATE ctimport.event_data_stores SET name = ?, updated = ?,
			retention_period = ?, termination_protection = ?, deleted = ?, advanced_event_selectors = ? WHERE id = ?`),
			eds.Name, dbTime(eds.Updated), eds.RetentionPeriod, eds.TerminationProtection, dbTime(eds.Deleted), dbText(eds.Selectors), id)
		if err != nil {
			return err
		}
		switch {
		case deleted.Valid && eds.Deleted.IsZero():
			_, err = tx.ExecContext(ctx, lakeViewDDL(s.lakeView(id), eventTableName(id)))
		case !deleted.Valid && !eds.Deleted.IsZero():
			_, err = tx.ExecContext(ctx, `DROP VIEW `+s.lakeView(id))
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("duckdbsink: update event data store: %w", err)
	}
	return nil
}

// DropEventDataStore removes an event data store, its view and its events
// table; see sink.Store.
func (s *Store) DropEventDataStore(ctx context.Context, id string) error {
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var stored string
		err := tx.QueryRowContext(ctx, s.sql(`DELETE FROM ctimport.event_data_stores WHERE lower(id) = lower(?) RETURNING id`), id).Scan(&stored)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("event data store %s: %w", id, sink.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DROP VIEW IF EXISTS `+s.lakeView(stored)); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DROP TABLE `+s.eventTable(stored))
		return err
	})
	if err != nil {
		return fmt.Errorf("duckdbsink: drop event data store: %w", err)
	}
	return nil
}

// PurgeEvents removes the events of event data store storeID from before
// before; see sink.Store.
func (s *Store) PurgeEvents(ctx context.Context, storeID string, before time.Time) (int64, error) {
	var removed int64
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var id string
		err := tx.QueryRowContext(ctx, s.sql(`SELECT id FROM ctimport.event_data_stores WHERE lower(id) = lower(?)`), storeID).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("event data store %s: %w", storeID, sink.ErrNotFound)
		}
		if err != nil {
			return err
		}
		r, err := tx.ExecContext(ctx, `DELETE FROM `+s.eventTable(id)+` WHERE `+quoteIdent(sink.EventTime.Name())+` < ?`, before)
		if err != nil {
			return err
		}
		removed, err = r.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("duckdbsink: purge events: %w", err)
	}
	return removed, nil
}

// writeTx runs f in a transaction of the store's writes, holding the
// write lock; it fails with sink.ErrReadOnly on a read-only store.
func (s *Store) writeTx(ctx context.Context, f func(tx *sql.Tx) error) error {
	if err := s.checkWritable(); err != nil {
		return err
	}
	s.write.Lock()
	defer s.write.Unlock()
	return inTx(ctx, s.db, f)
}

// storeIDs returns the IDs of the event data stores. It reads only the
// columns of every schema version, as an upgrade needs.
func (s *Store) storeIDs(ctx context.Context) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.sql(`SELECT id FROM ctimport.event_data_stores ORDER BY created NULLS FIRST, id`))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

const importColumns = `id, store_id, source_uri, source_region, role_arn, start_event_time,
	end_event_time, allowance_ns, status, created, updated, newest_delivery, message`

const putImportSQL = `INSERT OR REPLACE INTO ctimport.imports (` + importColumns + `)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

func importArgs(imp *sink.Import) []any {
	return []any{imp.ID, imp.StoreID, imp.SourceURI, imp.SourceRegion, imp.RoleARN,
		dbTime(imp.StartEventTime), dbTime(imp.EndEventTime), int64(imp.Allowance), imp.Status,
		dbTime(imp.Created), dbTime(imp.Updated), dbTime(imp.NewestDelivery), imp.Message}
}

// PutImport inserts imp, or replaces the import with the same ID. Times
// are kept to the microsecond.
func (s *Store) PutImport(ctx context.Context, imp sink.Import) error {
	if err := s.checkWritable(); err != nil {
		return err
	}
	if imp.ID == "" {
		return errors.New("duckdbsink: put import: empty ID")
	}
	s.write.Lock()
	defer s.write.Unlock()
	if _, err := s.db.ExecContext(ctx, s.sql(putImportSQL), importArgs(&imp)...); err != nil {
		return fmt.Errorf("duckdbsink: put import %s: %w", imp.ID, err)
	}
	return nil
}

// Import returns the import with that ID, or sink.ErrNotFound.
func (s *Store) Import(ctx context.Context, id string) (sink.Import, error) {
	imps, err := s.imports(ctx, `WHERE id = ?`, id)
	if err != nil {
		return sink.Import{}, fmt.Errorf("duckdbsink: get import %s: %w", id, err)
	}
	if len(imps) == 0 {
		return sink.Import{}, fmt.Errorf("duckdbsink: import %s: %w", id, sink.ErrNotFound)
	}
	return imps[0], nil
}

// Imports returns every import, newest first (by Created, then ID, both
// descending).
func (s *Store) Imports(ctx context.Context) ([]sink.Import, error) {
	imps, err := s.imports(ctx, `ORDER BY created DESC NULLS LAST, id DESC`)
	if err != nil {
		return nil, fmt.Errorf("duckdbsink: list imports: %w", err)
	}
	return imps, nil
}

func (s *Store) imports(ctx context.Context, tail string, args ...any) ([]sink.Import, error) {
	rows, err := s.db.QueryContext(ctx, s.sql(`SELECT `+importColumns+` FROM ctimport.imports `+tail), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []sink.Import
	for rows.Next() {
		var imp sink.Import
		var start, end, created, updated, newest sql.NullTime
		var allowance int64
		err := rows.Scan(&imp.ID, &imp.StoreID, &imp.SourceURI, &imp.SourceRegion, &imp.RoleARN,
			&start, &end, &allowance, &imp.Status, &created, &updated, &newest, &imp.Message)
		if err != nil {
			return nil, err
		}
		imp.StartEventTime, imp.EndEventTime = goTime(start), goTime(end)
		imp.Created, imp.Updated, imp.NewestDelivery = goTime(created), goTime(updated), goTime(newest)
		imp.Allowance = time.Duration(allowance)
		out = append(out, imp)
	}
	return out, rows.Err()
}

// importExists returns sink.ErrNotFound when there is no import id.
func (s *Store) importExists(ctx context.Context, id string) error {
	var n int
	if err := s.db.QueryRowContext(ctx, s.sql(`SELECT count(*) FROM ctimport.imports WHERE id = ?`), id).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("import %s: %w", id, sink.ErrNotFound)
	}
	return nil
}

// Stats derives an import's statistics from its checkpoint rows. It
// returns sink.ErrNotFound when there is no such import.
func (s *Store) Stats(ctx context.Context, importID string) (sink.Stats, error) {
	if err := s.importExists(ctx, importID); err != nil {
		return sink.Stats{}, fmt.Errorf("duckdbsink: stats: %w", err)
	}
	var st sink.Stats
	err := s.db.QueryRowContext(ctx, s.sql(`SELECT
		(SELECT count(*) FROM ctimport.prefixes WHERE import_id = $1),
		(SELECT count(*) FROM ctimport.prefixes WHERE import_id = $1 AND completed),
		count(*) FILTER (WHERE status = $2),
		coalesce(sum(events) FILTER (WHERE status = $2), 0),
		coalesce(sum(size) FILTER (WHERE status = $2), 0),
		count(*) FILTER (WHERE status IN ($3, $4))
		FROM ctimport.files WHERE import_id = $1`),
		importID, string(sink.FileImported), string(sink.FileRetry), string(sink.FileFailed)).
		Scan(&st.PrefixesFound, &st.PrefixesCompleted, &st.FilesCompleted, &st.EventsCompleted, &st.BytesCompleted, &st.FailedEntries)
	if err != nil {
		return sink.Stats{}, fmt.Errorf("duckdbsink: stats of import %s: %w", importID, err)
	}
	return st, nil
}

// Prefixes returns an import's prefix rows, ordered by key. It returns
// sink.ErrNotFound when there is no such import.
func (s *Store) Prefixes(ctx context.Context, importID string) ([]sink.Prefix, error) {
	if err := s.importExists(ctx, importID); err != nil {
		return nil, fmt.Errorf("duckdbsink: prefixes: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, s.sql(`SELECT import_id, key, completed, updated
		FROM ctimport.prefixes WHERE import_id = ? ORDER BY key`), importID)
	if err != nil {
		return nil, fmt.Errorf("duckdbsink: prefixes of import %s: %w", importID, err)
	}
	defer rows.Close()
	var out []sink.Prefix
	for rows.Next() {
		var p sink.Prefix
		var updated sql.NullTime
		if err := rows.Scan(&p.ImportID, &p.Key, &p.Completed, &updated); err != nil {
			return nil, fmt.Errorf("duckdbsink: prefixes of import %s: %w", importID, err)
		}
		p.Updated = goTime(updated)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("duckdbsink: prefixes of import %s: %w", importID, err)
	}
	return out, nil
}

const fileColumns = `import_id, key, prefix, etag, size, delivery, status, events,
	error_type, error_message, attempts, updated`

// Files returns the checkpoint rows q selects, ordered by key (then import
// ID). A query that names no import and no event data store selects the
// rows of every import.
func (s *Store) Files(ctx context.Context, q sink.FileQuery) ([]sink.File, error) {
	var where []string
	var args []any
	if q.ImportID != "" {
		where = append(where, `import_id = ?`)
		args = append(args, q.ImportID)
	}
	if q.StoreID != "" {
		where = append(where, `import_id IN (SELECT id FROM ctimport.imports WHERE store_id = ?)`)
		args = append(args, q.StoreID)
	}
	if q.Prefix != "" {
		where = append(where, `starts_with(key, ?)`)
		args = append(args, q.Prefix)
	}
	if len(q.Statuses) > 0 {
		statuses := make([]string, len(q.Statuses))
		for i, st := range q.Statuses {
			statuses[i] = string(st)
		}
		where = append(where, `list_contains(?::VARCHAR[], status)`)
		args = append(args, statuses)
	}
	if q.Failed {
		where = append(where, `(error_type <> '' OR error_message <> '')`)
	}
	if q.After != "" {
		where = append(where, `key > ?`)
		args = append(args, q.After)
	}
	query := `SELECT ` + fileColumns + ` FROM ctimport.files`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, ` AND `)
	}
	query += ` ORDER BY key, import_id`
	if q.Limit > 0 {
		query += ` LIMIT ?`
		args = append(args, q.Limit)
	}
	rows, err := s.db.QueryContext(ctx, s.sql(query), args...)
	if err != nil {
		return nil, fmt.Errorf("duckdbsink: files: %w", err)
	}
	defer rows.Close()
	var out []sink.File
	for rows.Next() {
		var f sink.File
		var delivery, updated sql.NullTime
		var status string
		err := rows.Scan(&f.ImportID, &f.Key, &f.Prefix, &f.ETag, &f.Size, &delivery, &status, &f.Events,
			&f.ErrorType, &f.ErrorMessage, &f.Attempts, &updated)
		if err != nil {
			return nil, fmt.Errorf("duckdbsink: files: %w", err)
		}
		f.Status = sink.FileStatus(status)
		f.Delivery, f.Updated = goTime(delivery), goTime(updated)
		out = append(out, f)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("duckdbsink: files: %w", err)
	}
	return out, nil
}

// dbTime returns t as a query argument: NULL for the zero time.
func dbTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

// dbText returns a text to store where NULL means none: NULL for "".
func dbText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// goTime returns a time read from the database: the zero time for NULL,
// else the time in UTC.
func goTime(t sql.NullTime) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}
