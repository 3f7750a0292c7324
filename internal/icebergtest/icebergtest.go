// Package icebergtest reads the Iceberg tables of tests the ways query
// engines read them: with iceberg-go's scan, and with DuckDB's read_parquet
// over the data files the table's current snapshot lists, as Athena or
// Trino plan them.
package icebergtest

import (
	"context"
	"database/sql"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/iceberg-go"
	"github.com/apache/iceberg-go/catalog"
	sqlcat "github.com/apache/iceberg-go/catalog/sql"
	iceio "github.com/apache/iceberg-go/io"
	_ "github.com/apache/iceberg-go/io/gocloud/s3" // the s3:// FileIO
	"github.com/apache/iceberg-go/table"
	_ "github.com/duckdb/duckdb-go/v2" // read_parquet
	_ "github.com/jackc/pgx/v5/stdlib" // the SQL catalog's database
	"github.com/minio/minio-go/v7"

	"github.com/ctimport/ctimport/internal/miniotest"
)

// Catalog opens the SQL catalog name on the PostgreSQL database at dbURL,
// with files on srv; it is closed when tb ends.
func Catalog(tb testing.TB, dbURL, name string, srv *miniotest.Server) catalog.Catalog {
	tb.Helper()
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	cat, err := sqlcat.NewCatalog(name, db, sqlcat.Postgres, iceberg.Properties{
		iceio.S3EndpointURL:     srv.Endpoint(),
		iceio.S3Region:          "us-east-1",
		iceio.S3AccessKeyID:     srv.AccessKey(),
		iceio.S3SecretAccessKey: srv.SecretKey(),
	})
	if err != nil {
		tb.Fatal(err)
	}
	return cat
}

// Table is a table of a catalog whose files are on a MinIO server.
type Table struct {
	cat   catalog.Catalog
	ident table.Identifier
	srv   *miniotest.Server
}

// New returns the table ident of cat, whose files are on srv.
func New(cat catalog.Catalog, ident table.Identifier, srv *miniotest.Server) *Table {
	return &Table{cat: cat, ident: ident, srv: srv}
}

func (t *Table) load(tb testing.TB) *table.Table {
	tb.Helper()
	tbl, err := t.cat.LoadTable(context.Background(), t.ident)
	if err != nil {
		tb.Fatal(err)
	}
	return tbl
}

// DataFiles returns the data files of the table's current snapshot, as a
// query engine plans them.
func (t *Table) DataFiles(tb testing.TB) []iceberg.DataFile {
	tb.Helper()
	tasks, err := t.load(tb).Scan().PlanFiles(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	files := make([]iceberg.DataFile, len(tasks))
	for i, task := range tasks {
		files[i] = task.File
	}
	return files
}

// ScanIDs reads the table with iceberg-go's scan and counts its events by
// eventID.
func (t *Table) ScanIDs(tb testing.TB) map[string]int {
	tb.Helper()
	_, batches, err := t.load(tb).Scan(table.WithSelectedFields("eventID")).ToArrowRecords(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	ids := map[string]int{}
	for rec, err := range batches {
		if err != nil {
			tb.Fatal(err)
		}
		col := rec.Column(0).(*array.String)
		for i := range col.Len() {
			ids[col.Value(i)]++
		}
		rec.Release()
	}
	return ids
}

// Download copies the data files of the table's current snapshot into a
// temporary directory and returns their paths there.
func (t *Table) Download(tb testing.TB) []string {
	tb.Helper()
	dir := tb.TempDir()
	var paths []string
	for i, f := range t.DataFiles(tb) {
		bucket, key, ok := strings.Cut(strings.TrimPrefix(f.FilePath(), "s3://"), "/")
		if !ok {
			tb.Fatalf("data file %s is not in a bucket", f.FilePath())
		}
		local := filepath.Join(dir, strconv.Itoa(i)+".parquet")
		if err := t.srv.Client().FGetObject(context.Background(), bucket, key, local, minio.GetObjectOptions{}); err != nil {
			tb.Fatal(err)
		}
		paths = append(paths, local)
	}
	return paths
}

// ParquetIDs reads the data files of the table's current snapshot with
// DuckDB's read_parquet and counts the events by eventID.
func (t *Table) ParquetIDs(tb testing.TB) map[string]int {
	tb.Helper()
	paths := t.Download(tb)
	ids := map[string]int{}
	if len(paths) == 0 {
		return ids
	}
	duck, err := sql.Open("duckdb", "")
	if err != nil {
		tb.Fatal(err)
	}
	defer duck.Close()
	rows, err := duck.Query("SELECT eventID, count(*) FROM read_parquet(?) GROUP BY eventID", filepath.Join(filepath.Dir(paths[0]), "*.parquet"))
	if err != nil {
		tb.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			tb.Fatal(err)
		}
		ids[id] = n
	}
	if err := rows.Err(); err != nil {
		tb.Fatal(err)
	}
	return ids
}
