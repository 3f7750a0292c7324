package pgsink

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/apache/iceberg-go/catalog"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ctimport/ctimport/sink"
	"github.com/ctimport/ctimport/sink/icebergsink"
)

// isUniqueViolation reports whether err is PostgreSQL's unique_violation.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// scanner is a row of a query: *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// collect runs query and returns its rows as scan reads them.
func collect[T any](ctx context.Context, db *sql.DB, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// CreateEventDataStore adds eds and creates its Iceberg table; see
// sink.Store.
func (s *Store) CreateEventDataStore(ctx context.Context, eds sink.EventDataStore) error {
	if err := s.check(); err != nil {
		return err
	}
	if !storeIDRE.MatchString(eds.ID) {
		return fmt.Errorf("pgsink: create event data store: ID %q is not letters, digits, - and _", eds.ID)
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM ctimport_event_data_stores WHERE lower(id) = lower($1) OR name = $2`, eds.ID, eds.Name).Scan(&n); err != nil {
		return fmt.Errorf("pgsink: create event data store: %w", err)
	}
	if n > 0 {
		return fmt.Errorf("pgsink: create event data store: %w: event data store %q (ID %s)", sink.ErrExists, eds.Name, eds.ID)
	}
	if _, err := icebergsink.CreateTable(ctx, s.cat, ident(eds.ID), s.location(eds.ID)); err != nil {
		return fmt.Errorf("pgsink: create event data store %s: %w", eds.ID, err)
	}
	updated := eds.Updated
	if updated.IsZero() {
		updated = eds.Created
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO ctimport_event_data_stores
		(id, name, arn, created, updated, retention_period, termination_protection, selectors, deleted)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		eds.ID, eds.Name, eds.ARN, nullTime(eds.Created).Time, nullTime(updated).Time, eds.RetentionPeriod,
		eds.TerminationProtection, eds.Selectors, nullTime(eds.Deleted))
	if isUniqueViolation(err) {
		return fmt.Errorf("pgsink: create event data store: %w: event data store %q (ID %s)", sink.ErrExists, eds.Name, eds.ID)
	}
	if err != nil {
		return fmt.Errorf("pgsink: create event data store: %w", err)
	}
	return nil
}

const storeColumns = `id, name, arn, created, updated, retention_period, termination_protection, selectors, deleted`

func scanStore(r scanner) (sink.EventDataStore, error) {
	var eds sink.EventDataStore
	var deleted sql.NullTime
	err := r.Scan(&eds.ID, &eds.Name, &eds.ARN, &eds.Created, &eds.Updated, &eds.RetentionPeriod, &eds.TerminationProtection, &eds.Selectors, &deleted)
	eds.Created, eds.Updated, eds.Deleted = eds.Created.UTC(), eds.Updated.UTC(), timeOf(deleted)
	return eds, err
}

// EventDataStores returns every event data store, oldest first (by
// Created, then ID).
func (s *Store) EventDataStores(ctx context.Context) ([]sink.EventDataStore, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	out, err := collect(ctx, s.db, scanStore, `SELECT `+storeColumns+` FROM ctimport_event_data_stores ORDER BY created, id`)
	if err != nil {
		return nil, fmt.Errorf("pgsink: list event data stores: %w", err)
	}
	return out, nil
}

// store returns the event data store with ID id, in any case, or
// sink.ErrNotFound.
func (s *Store) store(ctx context.Context, id string) (sink.EventDataStore, error) {
	eds, err := scanStore(s.db.QueryRowContext(ctx, `SELECT `+storeColumns+` FROM ctimport_event_data_stores WHERE lower(id) = lower($1)`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return eds, fmt.Errorf("event data store %s: %w", id, sink.ErrNotFound)
	}
	return eds, err
}

// UpdateEventDataStore replaces the changeable fields of the event data
// store with ID eds.ID; see sink.Store.
func (s *Store) UpdateEventDataStore(ctx context.Context, eds sink.EventDataStore) error {
	if err := s.check(); err != nil {
		return err
	}
	cur, err := s.store(ctx, eds.ID)
	if err != nil {
		return fmt.Errorf("pgsink: update event data store: %w", err)
	}
	updated := eds.Updated
	if updated.IsZero() {
		updated = cur.Created
	}
	_, err = s.db.ExecContext(ctx, `UPDATE ctimport_event_data_stores
		SET name = $2, updated = $3, retention_period = $4, termination_protection = $5, selectors = $6, deleted = $7
		WHERE id = $1`,
		cur.ID, eds.Name, nullTime(updated).Time, eds.RetentionPeriod, eds.TerminationProtection, eds.Selectors, nullTime(eds.Deleted))
	if isUniqueViolation(err) {
		return fmt.Errorf("pgsink: update event data store: %w: event data store %q", sink.ErrExists, eds.Name)
	}
	if err != nil {
		return fmt.Errorf("pgsink: update event data store: %w", err)
	}
	return nil
}

// DropEventDataStore removes the event data store with that ID, drops its
// table from the catalog and deletes the table's files, where the catalog
// can (iceberg-go's catalogs do, best effort); see sink.Store.
func (s *Store) DropEventDataStore(ctx context.Context, id string) error {
	if err := s.check(); err != nil {
		return err
	}
	cur, err := s.store(ctx, id)
	if err != nil {
		return fmt.Errorf("pgsink: drop event data store: %w", err)
	}
	drop := s.cat.DropTable
	if p, ok := s.cat.(catalog.PurgeableTable); ok {
		drop = p.PurgeTable
	}
	if err := drop(ctx, ident(cur.ID)); err != nil && !errors.Is(err, catalog.ErrNoSuchTable) {
		return fmt.Errorf("pgsink: drop event data store %s: %w", cur.ID, err)
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM ctimport_event_data_stores WHERE id = $1`, cur.ID); err != nil {
		return fmt.Errorf("pgsink: drop event data store %s: %w", cur.ID, err)
	}
	return nil
}

const importColumns = `id, store_id, source_uri, source_region, role_arn, start_event_time, end_event_time,
	allowance_ns, status, created, updated, newest_delivery, message`

// PutImport inserts imp, or replaces the import with the same ID.
func (s *Store) PutImport(ctx context.Context, imp sink.Import) error {
	if err := s.check(); err != nil {
		return err
	}
	if err := putImport(ctx, s.db, imp); err != nil {
		return fmt.Errorf("pgsink: put import: %w", err)
	}
	return nil
}

// execer is a database or a transaction.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func putImport(ctx context.Context, db execer, imp sink.Import) error {
	if imp.ID == "" {
		return errors.New("empty import ID")
	}
	_, err := db.ExecContext(ctx, `INSERT INTO ctimport_imports (`+importColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
		ON CONFLICT (id) DO UPDATE SET store_id = EXCLUDED.store_id, source_uri = EXCLUDED.source_uri,
			source_region = EXCLUDED.source_region, role_arn = EXCLUDED.role_arn,
			start_event_time = EXCLUDED.start_event_time, end_event_time = EXCLUDED.end_event_time,
			allowance_ns = EXCLUDED.allowance_ns, status = EXCLUDED.status, created = EXCLUDED.created,
			updated = EXCLUDED.updated, newest_delivery = EXCLUDED.newest_delivery, message = EXCLUDED.message`,
		imp.ID, imp.StoreID, imp.SourceURI, imp.SourceRegion, imp.RoleARN, nullTime(imp.StartEventTime), nullTime(imp.EndEventTime),
		int64(imp.Allowance), imp.Status, nullTime(imp.Created), nullTime(imp.Updated), nullTime(imp.NewestDelivery), imp.Message)
	return err
}

func scanImport(r scanner) (sink.Import, error) {
	var imp sink.Import
	var start, end, created, updated, newest sql.NullTime
	var allowance int64
	err := r.Scan(&imp.ID, &imp.StoreID, &imp.SourceURI, &imp.SourceRegion, &imp.RoleARN, &start, &end,
		&allowance, &imp.Status, &created, &updated, &newest, &imp.Message)
	imp.StartEventTime, imp.EndEventTime = timeOf(start), timeOf(end)
	imp.Created, imp.Updated, imp.NewestDelivery = timeOf(created), timeOf(updated), timeOf(newest)
	imp.Allowance = time.Duration(allowance)
	return imp, err
}

// Import returns the import with that ID, or sink.ErrNotFound.
func (s *Store) Import(ctx context.Context, id string) (sink.Import, error) {
	if err := s.check(); err != nil {
		return sink.Import{}, err
	}
	imp, err := scanImport(s.db.QueryRowContext(ctx, `SELECT `+importColumns+` FROM ctimport_imports WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return sink.Import{}, fmt.Errorf("pgsink: import %s: %w", id, sink.ErrNotFound)
	}
	if err != nil {
		return sink.Import{}, fmt.Errorf("pgsink: import %s: %w", id, err)
	}
	return imp, nil
}

// Imports returns every import, newest first (by Created, then ID, both
// descending).
func (s *Store) Imports(ctx context.Context) ([]sink.Import, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	out, err := collect(ctx, s.db, scanImport, `SELECT `+importColumns+` FROM ctimport_imports ORDER BY created DESC NULLS LAST, id DESC`)
	if err != nil {
		return nil, fmt.Errorf("pgsink: list imports: %w", err)
	}
	return out, nil
}

// Stats derives an import's statistics from its checkpoint rows, or
// returns sink.ErrNotFound.
func (s *Store) Stats(ctx context.Context, importID string) (sink.Stats, error) {
	if _, err := s.Import(ctx, importID); err != nil {
		return sink.Stats{}, err
	}
	var st sink.Stats
	err := s.db.QueryRowContext(ctx, `SELECT
			count(*) FILTER (WHERE status = 'IMPORTED'),
			coalesce(sum(events) FILTER (WHERE status = 'IMPORTED'), 0),
			coalesce(sum(size) FILTER (WHERE status = 'IMPORTED'), 0),
			count(*) FILTER (WHERE status IN ('RETRY', 'FAILED'))
		FROM ctimport_files WHERE import_id = $1`, importID).Scan(&st.FilesCompleted, &st.EventsCompleted, &st.BytesCompleted, &st.FailedEntries)
	if err == nil {
		err = s.db.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE completed)
			FROM ctimport_prefixes WHERE import_id = $1`, importID).Scan(&st.PrefixesFound, &st.PrefixesCompleted)
	}
	if err != nil {
		return sink.Stats{}, fmt.Errorf("pgsink: stats of import %s: %w", importID, err)
	}
	return st, nil
}

// Prefixes returns an import's prefix rows ordered by key, or
// sink.ErrNotFound.
func (s *Store) Prefixes(ctx context.Context, importID string) ([]sink.Prefix, error) {
	if _, err := s.Import(ctx, importID); err != nil {
		return nil, err
	}
	scan := func(r scanner) (sink.Prefix, error) {
		p := sink.Prefix{ImportID: importID}
		var updated sql.NullTime
		err := r.Scan(&p.Key, &p.Completed, &updated)
		p.Updated = timeOf(updated)
		return p, err
	}
	out, err := collect(ctx, s.db, scan, `SELECT key, completed, updated FROM ctimport_prefixes WHERE import_id = $1 ORDER BY key`, importID)
	if err != nil {
		return nil, fmt.Errorf("pgsink: prefixes of import %s: %w", importID, err)
	}
	return out, nil
}

const fileColumns = `f.import_id, f.key, f.prefix, f.etag, f.size, f.delivery, f.status, f.events,
	f.error_type, f.error_message, f.attempts, f.updated`

// Files returns the checkpoint rows q selects; see sink.Store.
func (s *Store) Files(ctx context.Context, q sink.FileQuery) ([]sink.File, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if q.ImportID != "" {
		where = append(where, "f.import_id = "+arg(q.ImportID))
	}
	if q.StoreID != "" {
		where = append(where, "f.import_id IN (SELECT id FROM ctimport_imports WHERE lower(store_id) = lower("+arg(q.StoreID)+"))")
	}
	if q.Prefix != "" {
		where = append(where, "starts_with(f.key, "+arg(q.Prefix)+")")
	}
	if len(q.Statuses) > 0 {
		statuses := make([]string, len(q.Statuses))
		for i, st := range q.Statuses {
			statuses[i] = string(st)
		}
		where = append(where, "f.status = ANY("+arg(statuses)+")")
	}
	if q.Failed {
		where = append(where, "(f.error_type <> '' OR f.error_message <> '')")
	}
	if q.After != "" {
		where = append(where, "f.key > "+arg(q.After))
	}
	stmt := `SELECT ` + fileColumns + ` FROM ctimport_files f`
	if len(where) > 0 {
		stmt += " WHERE " + strings.Join(where, " AND ")
	}
	stmt += ` ORDER BY f.key COLLATE "C", f.import_id COLLATE "C"`
	if q.Limit > 0 {
		stmt += " LIMIT " + arg(q.Limit)
	}
	out, err := collect(ctx, s.db, scanFile, stmt, args...)
	if err != nil {
		return nil, fmt.Errorf("pgsink: files: %w", err)
	}
	return out, nil
}

func scanFile(r scanner) (sink.File, error) {
	var f sink.File
	var delivery, updated sql.NullTime
	var status string
	err := r.Scan(&f.ImportID, &f.Key, &f.Prefix, &f.ETag, &f.Size, &delivery, &status, &f.Events,
		&f.ErrorType, &f.ErrorMessage, &f.Attempts, &updated)
	f.Status, f.Delivery, f.Updated = sink.FileStatus(status), timeOf(delivery), timeOf(updated)
	return f, err
}

// writeRows writes the rows of c in tx: files, prefixes, then the import.
func writeRows(ctx context.Context, tx *sql.Tx, c sink.Commit) error {
	for _, f := range c.Files {
		_, err := tx.ExecContext(ctx, `INSERT INTO ctimport_files
			(import_id, key, prefix, etag, size, delivery, status, events, error_type, error_message, attempts, updated)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
			ON CONFLICT (import_id, key) DO UPDATE SET prefix = EXCLUDED.prefix, etag = EXCLUDED.etag,
				size = EXCLUDED.size, delivery = EXCLUDED.delivery, status = EXCLUDED.status, events = EXCLUDED.events,
				error_type = EXCLUDED.error_type, error_message = EXCLUDED.error_message,
				attempts = EXCLUDED.attempts, updated = EXCLUDED.updated`,
			f.ImportID, f.Key, f.Prefix, f.ETag, f.Size, nullTime(f.Delivery), string(f.Status), f.Events,
			f.ErrorType, f.ErrorMessage, f.Attempts, nullTime(f.Updated))
		if err != nil {
			return fmt.Errorf("file row %s: %w", f.Key, err)
		}
	}
	for _, p := range c.Prefixes {
		_, err := tx.ExecContext(ctx, `INSERT INTO ctimport_prefixes (import_id, key, completed, updated)
			VALUES ($1, $2, $3, $4)
			ON CONFLICT (import_id, key) DO UPDATE SET completed = EXCLUDED.completed, updated = EXCLUDED.updated`,
			p.ImportID, p.Key, p.Completed, nullTime(p.Updated))
		if err != nil {
			return fmt.Errorf("prefix row %s: %w", p.Key, err)
		}
	}
	if c.Import != nil {
		if err := putImport(ctx, tx, *c.Import); err != nil {
			return fmt.Errorf("import row: %w", err)
		}
	}
	return nil
}

// PutShardRun inserts r, or replaces the row of the same import and Index.
func (s *Store) PutShardRun(ctx context.Context, r sink.ShardRun) error {
	if err := s.check(); err != nil {
		return err
	}
	if r.ImportID == "" || r.Index < 0 || r.Index >= r.Count {
		return fmt.Errorf("pgsink: put shard run: bad shard %d of %d of import %q", r.Index, r.Count, r.ImportID)
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO ctimport_shard_runs (import_id, index, count, status, message, updated)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (import_id, index) DO UPDATE SET count = EXCLUDED.count, status = EXCLUDED.status,
			message = EXCLUDED.message, updated = EXCLUDED.updated`,
		r.ImportID, r.Index, r.Count, r.Status, r.Message, nullTime(r.Updated))
	if err != nil {
		return fmt.Errorf("pgsink: put shard run: %w", err)
	}
	return nil
}

// ShardRuns returns the shard rows of an import, ordered by Index.
func (s *Store) ShardRuns(ctx context.Context, importID string) ([]sink.ShardRun, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	scan := func(r scanner) (sink.ShardRun, error) {
		run := sink.ShardRun{ImportID: importID}
		var updated sql.NullTime
		err := r.Scan(&run.Index, &run.Count, &run.Status, &run.Message, &updated)
		run.Updated = timeOf(updated)
		return run, err
	}
	out, err := collect(ctx, s.db, scan, `SELECT index, count, status, message, updated FROM ctimport_shard_runs
		WHERE import_id = $1 ORDER BY index`, importID)
	if err != nil {
		return nil, fmt.Errorf("pgsink: shard runs: %w", err)
	}
	return out, nil
}

// RequestStop asks the processes running import importID to stop it.
func (s *Store) RequestStop(ctx context.Context, importID string) error {
	if err := s.check(); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO ctimport_stop_requests (import_id, requested) VALUES ($1, now())
		ON CONFLICT (import_id) DO NOTHING`, importID)
	if err != nil {
		return fmt.Errorf("pgsink: request a stop of import %s: %w", importID, err)
	}
	return nil
}

// StopRequested reports whether a stop of import importID stands.
func (s *Store) StopRequested(ctx context.Context, importID string) (bool, error) {
	if err := s.check(); err != nil {
		return false, err
	}
	var n int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM ctimport_stop_requests WHERE import_id = $1`, importID).Scan(&n); err != nil {
		return false, fmt.Errorf("pgsink: stop of import %s: %w", importID, err)
	}
	return n > 0, nil
}

// ClearStop withdraws the stop asked of import importID.
func (s *Store) ClearStop(ctx context.Context, importID string) error {
	if err := s.check(); err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM ctimport_stop_requests WHERE import_id = $1`, importID); err != nil {
		return fmt.Errorf("pgsink: clear the stop of import %s: %w", importID, err)
	}
	return nil
}
