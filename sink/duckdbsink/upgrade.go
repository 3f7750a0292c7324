package duckdbsink

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/ctimport/ctimport/sink"
)

// upgradeChunk is how many events one statement of an upgrade copies, so
// that it can tell its progress.
const upgradeChunk = 256 << 10

// createMacros creates the functions that give queries CloudTrail Lake's
// meaning of their names, in tx.
func createMacros(ctx context.Context, tx *sql.Tx) error {
	for _, stmt := range lakeMacros {
		if _, err := tx.ExecContext(ctx, stmt); err != nil {
			return fmt.Errorf("create lake functions: %w", err)
		}
	}
	return nil
}

// upgrade1 upgrades a database of schema version 1, in one transaction, so
// that a failure or a crash leaves it as it was. Version 1 kept each event
// data store's events in a table main."<ID>", with eventTime a TIMESTAMPTZ;
// the upgrade copies them into the events table of version 2, eventTime in
// UTC, replaces the old table with the store's view, and creates the Lake
// functions. progress, when not nil, is called after each chunk of events.
//
// Version 1 kept a member whose value was null as if it were absent, and an
// eventTime only as a time: the eventJson of the events it imported lacks
// such members and has its eventTime written as 2006-01-02T15:04:05Z.
func (s *Store) upgrade1(ctx context.Context, progress func(done, total int64)) error {
	ids, err := s.storeIDs(ctx)
	if err != nil {
		return err
	}
	// Version 1's events table has the name of version 2's view.
	var total int64
	for _, id := range ids {
		var n int64
		if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM `+s.lakeView(id)).Scan(&n); err != nil {
			return fmt.Errorf("upgrade: count the events of %s: %w", id, err)
		}
		total += n
	}
	var cols []string
	for c := range sink.NumColumns {
		if c == sink.EventTime {
			cols = append(cols, "timezone('UTC', "+quoteIdent(c.Name())+")")
		} else {
			cols = append(cols, quoteIdent(c.Name()))
		}
	}
	cols = append(cols, quoteIdent(sink.SourceKeyColumn))
	var done int64
	err = inTx(ctx, s.db, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "CREATE SCHEMA "+s.catalog+"."+eventsSchema); err != nil {
			return err
		}
		for _, id := range ids {
			old, table := s.lakeView(id), s.eventTable(id)
			if _, err := tx.ExecContext(ctx, eventTableDDL(table)); err != nil {
				return err
			}
			var rows int64
			if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(rowid) + 1, 0) FROM `+old).Scan(&rows); err != nil {
				return err
			}
			copySQL := `INSERT INTO ` + table + ` SELECT ` + strings.Join(cols, ", ") + ` FROM ` + old +
				` WHERE rowid >= ? AND rowid < ? ORDER BY rowid`
			for lo := int64(0); lo < rows; lo += upgradeChunk {
				r, err := tx.ExecContext(ctx, copySQL, lo, lo+upgradeChunk)
				if err != nil {
					return fmt.Errorf("copy the events of %s: %w", id, err)
				}
				n, err := r.RowsAffected()
				if err != nil {
					return err
				}
				done += n
				if progress != nil {
					progress(done, total)
				}
			}
			if _, err := tx.ExecContext(ctx, `DROP TABLE `+old); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, lakeViewDDL(old, eventTableName(id))); err != nil {
				return err
			}
		}
		if err := createMacros(ctx, tx); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.sql(`UPDATE ctimport.schema_version SET version = 2`))
		return err
	})
	if err != nil {
		return fmt.Errorf("upgrade from schema version 1: %w", err)
	}
	return nil
}

// storeColumnsV3 are the columns of ctimport.event_data_stores that
// version 3 added, with the defaults an upgrade gives the stores it finds:
// CloudTrail Lake's retention period and termination protection, active.
const storeColumnsV3 = `,
		updated TIMESTAMPTZ,
		retention_period INTEGER DEFAULT 2557,
		termination_protection BOOLEAN DEFAULT true,
		deleted TIMESTAMPTZ`

// storeColumnsV4 is the column of ctimport.event_data_stores that version
// 4 added: the advanced event selectors of a store, NULL for none, which
// the stores an upgrade finds have.
const storeColumnsV4 = `,
		advanced_event_selectors VARCHAR`

// addStoreColumns upgrades a database of schema version from, 2 or more
// (version 1 once upgrade1 has run): it adds the columns of
// ctimport.event_data_stores that the later versions added, given as
// their definitions each after a comma, replaces the Lake functions, and
// sets the version. DuckDB alters a table once a transaction, so each
// column is added in a transaction of its own, IF NOT EXISTS, and an
// upgrade that stopped halfway is taken up again at the next Open.
func (s *Store) addStoreColumns(ctx context.Context, from int, columns string) error {
	for col := range strings.SplitSeq(strings.TrimPrefix(columns, ","), ",") {
		_, err := s.db.ExecContext(ctx, s.sql(`ALTER TABLE ctimport.event_data_stores ADD COLUMN IF NOT EXISTS `+strings.TrimSpace(col)))
		if err != nil {
			return fmt.Errorf("upgrade from schema version %d: %w", from, err)
		}
	}
	err := inTx(ctx, s.db, func(tx *sql.Tx) error {
		if err := createMacros(ctx, tx); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, s.sql(`UPDATE ctimport.schema_version SET version = ?`), schemaVersion)
		return err
	})
	if err != nil {
		return fmt.Errorf("upgrade from schema version %d: %w", from, err)
	}
	return nil
}
