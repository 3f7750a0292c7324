package main

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/ctimport/ctimport/engine"
	"github.com/ctimport/ctimport/pipeline"
	"github.com/ctimport/ctimport/sink"
	"github.com/ctimport/ctimport/sink/duckdbsink"
)

// verifyOutput is what verify prints.
type verifyOutput struct {
	// Import is the ID of the import verified.
	Import string
	// Agrees is true when no drift was found.
	Agrees bool
	// Files and Events are what was compared; see engine.VerifySummary.
	Files  int64
	Events int64
	Drift  []engine.Drift
}

// drifted is the error of a verify that found drift.
type drifted struct {
	id    string
	drift []engine.Drift
}

func (d *drifted) Error() string {
	var kinds []engine.DriftKind
	n := map[engine.DriftKind]int{}
	for _, x := range d.drift {
		if n[x.Kind] == 0 {
			kinds = append(kinds, x.Kind)
		}
		n[x.Kind]++
	}
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = fmt.Sprintf("%d %s", n[k], k)
	}
	return fmt.Sprintf("import %s does not agree with its source and store: %s", d.id, strings.Join(parts, ", "))
}

// cmdVerify lists an import's source again and compares it with the
// import's checkpoint and its event data store. It opens the database
// read-only: it never writes, and a process that holds the database, such
// as one running an import, keeps it out.
func cmdVerify(ctx context.Context, c *cli) error {
	if err := c.requireFlag("import-id"); err != nil {
		return err
	}
	if c.endpoint != "" {
		return usagef("not an operation of the API: run verify where the database is, without --endpoint-url")
	}
	var store sink.Store
	if c.sharedDB() {
		s, err := c.openShared(ctx, c.mem)
		if err != nil {
			return err
		}
		store = s
	} else {
		if _, err := os.Stat(c.db); err != nil {
			return fmt.Errorf("no database at %s", c.db)
		}
		s, err := duckdbsink.Open(ctx, c.db, duckdbsink.Options{ReadOnly: true, MemoryLimit: c.mem.DuckDB})
		if err != nil {
			return err
		}
		store = s
	}
	defer store.Close()
	eng := engine.New(store, engine.Options{Config: pipeline.Config{PrefetchBytes: c.mem.Prefetch}, OpenSource: engine.Sources(c.args.str("s3-endpoint-url"))})
	defer eng.Close()
	out := verifyOutput{Import: c.args.str("import-id"), Drift: []engine.Drift{}}
	sum, err := eng.Verify(ctx, out.Import, func(d engine.Drift) { out.Drift = append(out.Drift, d) })
	if err != nil {
		return err
	}
	out.Agrees, out.Files, out.Events = sum.Drifts == 0, sum.Files, sum.Events
	if err := c.output(out); err != nil {
		return err
	}
	if !out.Agrees {
		return &drifted{id: out.Import, drift: out.Drift}
	}
	return nil
}
