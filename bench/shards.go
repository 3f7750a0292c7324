package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/minio/minio-go/v7"
	"golang.org/x/sync/errgroup"

	"github.com/ctimport/ctimport/internal/pgtest"
)

// Shards imports the bucket of c as n shard processes started together,
// into an Iceberg table of a new warehouse bucket, with the state in a new
// database of a PostgreSQL server that the Harness starts on first use.
// The Measure's time runs from the start of the shards to the end of the
// last; its CPU time is theirs together, its peak RSS the largest, its
// store the files of the warehouse bucket. Then ctimport query checks the
// table against the corpus's Truth.
func (h *Harness) Shards(ctx context.Context, c *Corpus, n int) (Measure, error) {
	if h.pg == nil {
		pg, err := pgtest.Launch()
		if err != nil {
			return Measure{}, fmt.Errorf("bench: %w", err)
		}
		h.pg = pg
	}
	db, err := h.pg.CreateDatabase()
	if err != nil {
		return Measure{}, fmt.Errorf("bench: %w", err)
	}
	warehouse := h.name("warehouse")
	if err := h.minio.Client().MakeBucket(ctx, warehouse, minio.MakeBucketOptions{}); err != nil {
		return Measure{}, fmt.Errorf("bench: make bucket %s: %w", warehouse, err)
	}
	env := append(h.s3Env(), "AWS_ENDPOINT_URL_S3="+h.minio.Endpoint(), "CTIMPORT_DB="+db, "CTIMPORT_WAREHOUSE=s3://"+warehouse+"/tables")
	id, err := h.createStore(ctx, env, h.ctimport)
	if err != nil {
		return Measure{}, err
	}
	usages := make([]usage, n)
	outs := make([][]byte, n)
	g, gctx := errgroup.WithContext(ctx)
	start := time.Now()
	for i := range n {
		g.Go(func() error {
			var err error
			usages[i], outs[i], err = h.measured(gctx, env, h.ctimport, "start-import", "--destinations", "bench",
				"--import-source", "S3={S3LocationUri=s3://"+c.Bucket+"/}", "--shard", strconv.Itoa(i)+"/"+strconv.Itoa(n))
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return Measure{}, err
	}
	m := Measure{Seconds: time.Since(start).Seconds()}
	for _, u := range usages {
		m.CPUSeconds += u.CPUSeconds
		m.PeakRSS = max(m.PeakRSS, u.PeakRSSBytes)
	}
	// The import ends with its last shard: GetImport tells its status.
	var imp struct{ ImportId, ImportStatus string }
	if err := json.Unmarshal(outs[0], &imp); err != nil {
		return Measure{}, fmt.Errorf("bench: start-import printed %q: %w", outs[0], err)
	}
	out, err := h.run(ctx, env, h.ctimport, "get-import", "--import-id", imp.ImportId, "--output", "json")
	if err != nil {
		return Measure{}, err
	}
	if err := json.Unmarshal(out, &imp); err != nil {
		return Measure{}, fmt.Errorf("bench: get-import printed %q: %w", out, err)
	}
	// The store's size: the table's data and metadata files.
	for obj := range h.minio.Client().ListObjects(ctx, warehouse, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			return Measure{}, fmt.Errorf("bench: list %s: %w", warehouse, obj.Err)
		}
		m.StoreBytes += obj.Size
	}
	stored, err := h.stored(ctx, env, h.ctimport, db, id)
	if err != nil {
		return Measure{}, err
	}
	m.Complete, m.Check = matchImport(c.Truth, imp.ImportStatus, stored)
	return m, nil
}
