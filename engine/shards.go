package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/sink"
)

// StopPollInterval is how often a run on a store that processes share
// (a sink.Stopper) looks whether a stop of its import was asked.
const StopPollInterval = 2 * time.Second

// watchStop stops run r when a stop of its import is asked through st,
// until r's context ends or done is closed.
func (e *Engine) watchStop(r *run, st sink.Stopper, done <-chan struct{}) {
	tick := time.NewTicker(StopPollInterval)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			if asked, err := st.StopRequested(r.ctx, r.imp.ID); err == nil && asked {
				r.stop()
				return
			}
		case <-r.ctx.Done():
			return
		case <-done:
			return
		}
	}
}

// ShardSyncInterval is the least time between the syncs of a shard's run.
// A sync of the Iceberg store is a commit of the table that every shard
// commits to, each commit after the other: 200 shards syncing every
// minute make 3.3 commits a second. A shard also commits whenever it has
// gathered its memory's share of events, and a shard started again reads
// again at most what it read since its last sync.
const ShardSyncInterval = time.Minute

// shardNamespace is the namespace of the name-based UUIDs of sharded
// imports.
var shardNamespace = uuid.MustParse("9b0d4c1e-5f7a-4e2b-8c3d-6a1f2e4b7c90")

// shardImportID returns the ID of the import that every shard of imp with
// count shards joins: a name-based UUID of what the import reads and where
// it writes, so that the shards, each started alone with the same
// arguments, and a shard started again on another machine, agree on it.
func shardImportID(imp sink.Import, count int) string {
	times := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339Nano)
	}
	name := strings.Join([]string{
		imp.StoreID, imp.SourceURI, imp.SourceRegion, imp.RoleARN,
		times(imp.StartEventTime), times(imp.EndEventTime), imp.Allowance.String(), fmt.Sprint(count),
	}, "\x00")
	return uuid.NewSHA1(shardNamespace, []byte(name)).String()
}

// shardStore returns the store as a sink.ShardStore, or an error saying
// that sharded imports need one.
func (e *Engine) shardStore() (sink.ShardStore, error) {
	ss, ok := e.store.(sink.ShardStore)
	if !ok {
		return nil, api.ErrInvalidParameter.New("an import runs as shards only with a state database that every shard shares (PostgreSQL)")
	}
	return ss, nil
}

// shardRuns returns the shard rows of import id; none when the import does
// not run as shards or the store keeps no shards.
func (e *Engine) shardRuns(ctx context.Context, id string) ([]sink.ShardRun, error) {
	ss, ok := e.store.(sink.ShardStore)
	if !ok {
		return nil, nil
	}
	runs, err := ss.ShardRuns(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("engine: shards of import %s: %w", id, err)
	}
	return runs, nil
}

// withShards returns imp with the status, message and update time of its
// shards when it runs as shards: IN_PROGRESS while a shard runs or has not
// started, COMPLETED when every shard is and no file failed, FAILED when
// every shard ended and one failed or a file failed, else STOPPED.
func (e *Engine) withShards(ctx context.Context, imp sink.Import) (sink.Import, error) {
	runs, err := e.shardRuns(ctx, imp.ID)
	if err != nil || len(runs) == 0 {
		return imp, err
	}
	count := runs[0].Count
	status := deriveStatus(runs, count)
	imp.Message = ""
	for _, r := range runs {
		if r.Updated.After(imp.Updated) {
			imp.Updated = r.Updated
		}
		if r.Message != "" && imp.Message == "" {
			imp.Message = fmt.Sprintf("shard %d/%d: %s", r.Index, r.Count, r.Message)
		}
	}
	if status == api.StatusCompleted {
		st, err := e.store.Stats(ctx, imp.ID)
		if err != nil {
			return imp, fmt.Errorf("engine: import statistics: %w", err)
		}
		if st.FailedEntries > 0 {
			status = api.StatusFailed
		}
	}
	imp.Status = string(status)
	return imp, nil
}

// deriveStatus is the status of an import of count shards with rows runs.
func deriveStatus(runs []sink.ShardRun, count int) api.ImportStatus {
	if len(runs) < count {
		return api.StatusInProgress
	}
	completed, failed := 0, 0
	for _, r := range runs {
		switch api.ImportStatus(r.Status) {
		case api.StatusCompleted:
			completed++
		case api.StatusFailed:
			failed++
		case api.StatusStopped:
		default:
			return api.StatusInProgress
		}
	}
	switch {
	case completed == len(runs):
		return api.StatusCompleted
	case failed > 0:
		return api.StatusFailed
	}
	return api.StatusStopped
}

// checkShard refuses the input of a shard that cannot run.
func (e *Engine) checkShard(in api.StartImportInput, opts StartOptions) error {
	if _, err := e.shardStore(); err != nil {
		return err
	}
	if err := opts.Shard.Check(); err != nil {
		return api.ErrInvalidParameter.New("%s", strings.TrimPrefix(err.Error(), "pipeline: "))
	}
	switch {
	case in.ImportId != "":
		return api.ErrInvalidParameterCombination.New("a shard joins its import by the import's source, destination and time range, not by ImportId")
	case opts.Incremental:
		return api.ErrInvalidParameterCombination.New("an import that runs as shards cannot be incremental")
	}
	return nil
}

// joinShard returns the import that the shards of imp join: imp with the
// shards' ID when no shard recorded it yet, else the recorded import,
// whose run starts again.
func (e *Engine) joinShard(ctx context.Context, imp sink.Import, count int) (sink.Import, error) {
	imp.ID = shardImportID(imp, count)
	cur, err := e.store.Import(ctx, imp.ID)
	switch {
	case errors.Is(err, sink.ErrNotFound):
		return imp, nil
	case err != nil:
		return sink.Import{}, fmt.Errorf("engine: get import: %w", err)
	case e.isRunning(imp.ID):
		return sink.Import{}, api.ErrAccountHasOngoingImport.New("a shard of import %s is running in this process", imp.ID)
	}
	// A stop asked of the import holds while one of its shards runs: a
	// shard started again then stops too. Once every shard ended, the
	// shards are a new run of the import.
	if cur, err = e.withShards(ctx, cur); err != nil {
		return sink.Import{}, err
	}
	if api.ImportStatus(cur.Status).Done() {
		if err := e.clearStop(ctx, cur.ID); err != nil {
			return sink.Import{}, err
		}
	}
	cur.Status = string(api.StatusInitializing)
	cur.Message = ""
	cur.Updated = e.now()
	return cur, nil
}

// recordShard records the status of the shard that run r is.
func (e *Engine) recordShard(ctx context.Context, r *run, status api.ImportStatus, message string) error {
	ss, err := e.shardStore()
	if err != nil {
		return err
	}
	return ss.PutShardRun(ctx, sink.ShardRun{
		ImportID: r.imp.ID,
		Index:    r.opts.Shard.Index,
		Count:    r.opts.Shard.Count,
		Status:   string(status),
		Message:  message,
		Updated:  e.now(),
	})
}

// ShardStatus returns the status of shard index of import id as its last
// run recorded it, and why that run ended early; IN_PROGRESS while it runs.
func (e *Engine) ShardStatus(ctx context.Context, id string, index int) (api.ImportStatus, string, error) {
	runs, err := e.shardRuns(ctx, id)
	if err != nil {
		return "", "", err
	}
	for _, r := range runs {
		if r.Index == index {
			return api.ImportStatus(r.Status), r.Message, nil
		}
	}
	return "", "", api.ErrImportNotFound.New("import %s has no shard %d", id, index)
}
