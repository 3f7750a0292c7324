package main

import (
	"context"
	"fmt"
	"os"

	"github.com/ctimport/ctimport/sink/duckdbsink"
)

// upgradeProgress returns the function that shows an upgrade's progress on
// stderr, or nil when stderr is not a terminal.
func (c *cli) upgradeProgress() func(done, total int64) {
	if !c.stderrIsTerminal() {
		return nil
	}
	return func(done, total int64) {
		fmt.Fprintf(c.stderr, "\rupgrading %s: events %s/%s", c.db, count(done), count(total))
		if done == total {
			fmt.Fprintln(c.stderr)
		}
	}
}

// cmdUpgrade opens the database for writing, which upgrades a database
// written by an older ctimport.
func cmdUpgrade(ctx context.Context, c *cli) error {
	if c.sharedDB() {
		store, err := c.openShared(ctx, c.mem)
		if err != nil {
			return err
		}
		if err := store.Close(); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s is up to date\n", c.dbName())
		return nil
	}
	if _, err := os.Stat(c.db); err != nil {
		return fmt.Errorf("no database at %s", c.db)
	}
	store, err := duckdbsink.Open(ctx, c.db, duckdbsink.Options{
		Holder:          "ctimport upgrade",
		MemoryLimit:     c.mem.DuckDB,
		UpgradeProgress: c.upgradeProgress(),
	})
	if err != nil {
		return err
	}
	if err := store.Close(); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s is up to date\n", c.db)
	return nil
}
