package pgsink

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ctimport/ctimport/sink"
	"github.com/ctimport/ctimport/sink/duckdbsink"
	"github.com/ctimport/ctimport/sink/icebergsink"
)

// Query runs a read-only SQL statement over the event data stores, as
// sink.Store says (a store pending deletion is not there), with DuckDB and Lake's functions (see
// duckdbsink.QueryFiles): each store's ID names the data files of its
// table's current snapshot. Query first copies into the cache directory
// the files it has no copy of yet; data files never change, so a copy
// stays good.
func (s *Store) Query(ctx context.Context, statement string, args ...any) (sink.Rows, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	stores, err := s.EventDataStores(ctx)
	if err != nil {
		return nil, err
	}
	empty, err := s.emptyFile()
	if err != nil {
		return nil, err
	}
	tables := map[string][]string{}
	for _, eds := range stores {
		if !eds.Deleted.IsZero() {
			continue
		}
		if tables[eds.ID], err = s.localFiles(ctx, eds.ID); err != nil {
			return nil, err
		}
	}
	f := duckdbsink.Files{Tables: tables, Empty: empty, Dir: s.cacheDir, MemoryLimit: s.queryMemory}
	return duckdbsink.QueryFiles(ctx, f, statement, args...)
}

// emptyFile returns the path of a Parquet file of the tables' columns and
// no rows, written on first use.
func (s *Store) emptyFile() (string, error) {
	path := filepath.Join(s.cacheDir, "empty.parquet")
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	var b bytes.Buffer
	if err := icebergsink.WriteEmpty(&b); err != nil {
		return "", err
	}
	return path, writeFile(path, &b)
}

// localFiles returns the paths of the cache's copies of the data files of
// the current snapshot of event data store id's table, copying those the
// cache lacks.
func (s *Store) localFiles(ctx context.Context, id string) ([]string, error) {
	s.queryMu.Lock()
	defer s.queryMu.Unlock()
	tbl, err := s.cat.LoadTable(ctx, ident(id))
	if err != nil {
		return nil, fmt.Errorf("pgsink: query: load the table of %s: %w", id, err)
	}
	tasks, err := tbl.Scan().PlanFiles(ctx)
	if err != nil {
		return nil, fmt.Errorf("pgsink: query: plan the files of %s: %w", id, err)
	}
	if len(tasks) == 0 {
		return nil, nil
	}
	fsys, err := tbl.FS(ctx)
	if err != nil {
		return nil, fmt.Errorf("pgsink: query: %w", err)
	}
	var paths []string
	for _, t := range tasks {
		name := t.File.FilePath()
		sum := sha256.Sum256([]byte(name))
		local := filepath.Join(s.cacheDir, hex.EncodeToString(sum[:16])+".parquet")
		paths = append(paths, local)
		if _, err := os.Stat(local); err == nil {
			continue
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("pgsink: query: %w", err)
		}
		f, err := fsys.Open(name)
		if err != nil {
			return nil, fmt.Errorf("pgsink: query: open %s: %w", name, err)
		}
		err = writeFile(local, f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("pgsink: query: copy %s: %w", strings.TrimPrefix(name, s.warehouse+"/"), err)
		}
	}
	return paths, nil
}

// writeFile writes what r holds to path, through a temporary file, so that
// path is never seen partly written.
func writeFile(path string, r io.Reader) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".copy-*")
	if err != nil {
		return err
	}
	_, err = io.Copy(tmp, r)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}
