package corpus

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/minio/minio-go/v7"
	"golang.org/x/sync/errgroup"
)

// Upload puts the log files of the corpus generated in dir into bucket,
// each keyed by its path below dir, with up to workers PUT requests in
// flight.
func Upload(ctx context.Context, client *minio.Client, bucket, dir string, workers int) error {
	g, ctx := errgroup.WithContext(ctx)
	paths := make(chan string)
	g.Go(func() error {
		defer close(paths)
		return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json.gz") {
				return err
			}
			select {
			case paths <- path:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	})
	for range max(1, workers) {
		g.Go(func() error {
			for path := range paths {
				if err := put(ctx, client, bucket, dir, path); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("corpus: upload to %s: %w", bucket, err)
	}
	return nil
}

func put(ctx context.Context, client *minio.Client, bucket, dir, path string) error {
	rel, err := filepath.Rel(dir, path)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	_, err = client.PutObject(ctx, bucket, filepath.ToSlash(rel), f, st.Size(), minio.PutObjectOptions{ContentType: "application/json"})
	return err
}
