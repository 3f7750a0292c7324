package main

import (
	"cmp"
	"context"
	"net/url"
	"os"
	"strings"

	"github.com/apache/iceberg-go"

	"github.com/ctimport/ctimport/budget"
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
// data stores keep their events in Iceberg tables below --warehouse, with
// the shares of mem: the Iceberg writers gather up to its stage of events
// for each commit, and a query's DuckDB takes its DuckDB share, or else
// its share of query results.
func (c *cli) openShared(ctx context.Context, mem budget.Budget) (*pgsink.Store, error) {
	wh := cmp.Or(c.args.str("warehouse"), os.Getenv("CTIMPORT_WAREHOUSE"))
	if wh == "" {
		return nil, usagef("--db %s needs --warehouse s3://BUCKET/PREFIX (or CTIMPORT_WAREHOUSE): where the event data stores' Iceberg tables go", c.dbName())
	}
	props, err := catalogProperties(c.args.list("iceberg-catalog"), os.Getenv("CTIMPORT_ICEBERG_CATALOG"))
	if err != nil {
		return nil, err
	}
	return pgsink.Open(ctx, pgsink.Options{
		URL:         c.db,
		Warehouse:   wh,
		S3:          pgsink.S3Options{EndpointURL: c.args.str("warehouse-endpoint-url")},
		Writer:      icebergsink.Options{TargetFileSize: mem.Stage},
		QueryMemory: cmp.Or(mem.DuckDB, mem.QueryResults),
		Catalog:     props,
	})
}

// catalogProperties parses --iceberg-catalog, else env: KEY=VALUE
// properties, of which type is required. None means the SQL catalog in the
// state database.
func catalogProperties(flag []string, env string) (iceberg.Properties, error) {
	if len(flag) == 0 {
		flag = strings.Fields(env)
	}
	if len(flag) == 0 {
		return nil, nil
	}
	props := iceberg.Properties{}
	for _, kv := range flag {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usagef("--iceberg-catalog takes KEY=VALUE properties, not %q", kv)
		}
		props[k] = v
	}
	if props["type"] == "" {
		return nil, usagef("--iceberg-catalog needs type=rest, type=glue or type=sql")
	}
	return props, nil
}
