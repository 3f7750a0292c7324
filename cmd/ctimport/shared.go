package main

import (
	"cmp"
	"context"
	"net/url"
	"os"
	"strings"

	"github.com/ctimport/ctimport/sink/icebergsink"
	"github.com/ctimport/ctimport/sink/pgsink"
)

// sharedDB reports whether --db names a PostgreSQL state database, which
// the shards of imports on several machines share, rather than a DuckDB
// file.
func (c *cli) sharedDB() bool {
	return strings.HasPrefix(c.db, "postgres://") || strings.HasPrefix(c.db, "postgresql://")
}

// dbName is --db as messages show it: without a password.
func (c *cli) dbName() string {
	if !c.sharedDB() {
		return c.db
	}
	u, err := url.Parse(c.db)
	if err != nil {
		return "the PostgreSQL database of --db"
	}
	return u.Redacted()
}

// openShared opens the PostgreSQL state database of --db, whose event
// data stores keep their events in Iceberg tables below --warehouse. The
// Iceberg writers gather up to stage bytes of events for each commit.
func (c *cli) openShared(ctx context.Context, stage int64) (*pgsink.Store, error) {
	wh := cmp.Or(c.args.str("warehouse"), os.Getenv("CTIMPORT_WAREHOUSE"))
	if wh == "" {
		return nil, usagef("--db %s needs --warehouse s3://BUCKET/PREFIX (or CTIMPORT_WAREHOUSE): where the event data stores' Iceberg tables go", c.dbName())
	}
	return pgsink.Open(ctx, pgsink.Options{
		URL:       c.db,
		Warehouse: wh,
		S3:        pgsink.S3Options{EndpointURL: c.args.str("warehouse-endpoint-url")},
		Writer:    icebergsink.Options{TargetFileSize: stage},
	})
}
