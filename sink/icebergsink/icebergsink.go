// Package icebergsink writes imported events to an Apache Iceberg table,
// where query engines (Athena, Trino, Spark, DuckDB) read them, so that
// many ctimport shards can import into one table with no coordinator.
//
// The table has CloudTrail Lake's schema (the columns of the DuckDB view of
// sink/duckdbsink, then eventJson, eventJsonChecksum and sourceObjectKey),
// is partitioned by day of eventTime and sorted by eventTime, and its data
// files are Parquet compressed with zstd.
//
// A Writer appends data files in Iceberg commits, and each commit's
// snapshot summary names the source objects (key and ETag) whose events it
// carries. The data and the record of what it covers are thus one atomic
// step: a writer restarted anywhere reads the summaries (Covered) and
// knows which objects the table holds. Writers commit optimistically: a
// commit that loses the race to another writer's reloads the table, drops
// the objects the other commit covered, and tries again.
package icebergsink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	"github.com/apache/iceberg-go/table"
)

// Snapshot summary properties of the commits of a Writer.
const (
	// SummarySources holds the objects a commit covers: a JSON array of
	// {"key", "etag", "events"}.
	SummarySources = "ctimport.sources"
	// SummaryCommit holds the ID of the commit, unique to one flush of a
	// Writer, so that a retry can tell whether an earlier try landed.
	SummaryCommit = "ctimport.commit-id"
)

// dayField is the name of the partition field, day(eventTime).
const dayField = "eventTime_day"

// ErrNotFound means the table does not exist.
var ErrNotFound = errors.New("icebergsink: table not found")

// Source is an object whose events a commit carries.
type Source struct {
	Key    string `json:"key"`
	ETag   string `json:"etag"`
	Events int64  `json:"events"`
}

// CreateTable creates the table ident, and its namespace when missing,
// at location (empty: where the catalog's warehouse puts it). A table that
// exists is loaded and returned as it is.
func CreateTable(ctx context.Context, cat catalog.Catalog, ident table.Identifier, location string) (*table.Table, error) {
	if tbl, err := cat.LoadTable(ctx, ident); err == nil {
		return tbl, nil
	} else if !errors.Is(err, catalog.ErrNoSuchTable) {
		return nil, fmt.Errorf("icebergsink: load %v: %w", ident, err)
	}
	ns := catalog.NamespaceFromIdent(ident)
	if err := cat.CreateNamespace(ctx, ns, nil); err != nil && !errors.Is(err, catalog.ErrNamespaceAlreadyExists) {
		return nil, fmt.Errorf("icebergsink: create namespace %v: %w", ns, err)
	}
	schema, err := table.ArrowSchemaToIcebergWithFreshIDs(lakeArrowSchema(), false)
	if err != nil {
		return nil, fmt.Errorf("icebergsink: schema: %w", err)
	}
	timeField, ok := schema.FindFieldByName("eventTime")
	if !ok {
		return nil, errors.New("icebergsink: schema without eventTime")
	}
	spec := iceberg.NewPartitionSpec(iceberg.PartitionField{
		SourceIDs: []int{timeField.ID}, FieldID: 1000, Name: dayField, Transform: iceberg.DayTransform{},
	})
	order, err := table.NewSortOrder(1, []table.SortField{{
		SourceIDs: []int{timeField.ID}, Transform: iceberg.IdentityTransform{},
		Direction: table.SortASC, NullOrder: table.NullsFirst,
	}})
	if err != nil {
		return nil, fmt.Errorf("icebergsink: sort order: %w", err)
	}
	opts := []catalog.CreateTableOpt{
		catalog.WithPartitionSpec(&spec),
		catalog.WithSortOrder(order),
		catalog.WithProperties(iceberg.Properties{
			table.ParquetCompressionKey: "zstd",
			"format-version":            "2",
		}),
	}
	if location != "" {
		opts = append(opts, catalog.WithLocation(location))
	}
	tbl, err := cat.CreateTable(ctx, ident, schema, opts...)
	if err != nil {
		if errors.Is(err, catalog.ErrTableAlreadyExists) {
			// another shard created it first
			return cat.LoadTable(ctx, ident)
		}
		return nil, fmt.Errorf("icebergsink: create table %v: %w", ident, err)
	}
	return tbl, nil
}

// Covered returns the objects the commits of the table's current snapshot
// and its ancestors cover, by key, with the ETag each was read with.
func Covered(ctx context.Context, cat catalog.Catalog, ident table.Identifier) (map[string]Source, error) {
	tbl, err := cat.LoadTable(ctx, ident)
	if errors.Is(err, catalog.ErrNoSuchTable) {
		return nil, fmt.Errorf("%w: %v", ErrNotFound, ident)
	}
	if err != nil {
		return nil, fmt.Errorf("icebergsink: load %v: %w", ident, err)
	}
	covered := map[string]Source{}
	err = walkCommits(tbl, func(props iceberg.Properties) error {
		srcs, err := summarySources(props)
		for _, s := range srcs {
			covered[s.Key] = s
		}
		return err
	})
	return covered, err
}

// walkCommits calls fn with the summary of the current snapshot and of
// each of its ancestors, newest first.
func walkCommits(tbl *table.Table, fn func(iceberg.Properties) error) error {
	meta := tbl.Metadata()
	for s := tbl.CurrentSnapshot(); s != nil; {
		if s.Summary != nil {
			if err := fn(s.Summary.Properties); err != nil {
				return err
			}
		}
		if s.ParentSnapshotID == nil {
			break
		}
		s = meta.SnapshotByID(*s.ParentSnapshotID)
	}
	return nil
}

func summarySources(props iceberg.Properties) ([]Source, error) {
	v, ok := props[SummarySources]
	if !ok {
		return nil, nil
	}
	var srcs []Source
	if err := json.Unmarshal([]byte(v), &srcs); err != nil {
		return nil, fmt.Errorf("icebergsink: snapshot summary %s: %w", SummarySources, err)
	}
	return srcs, nil
}
