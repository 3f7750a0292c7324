package engine

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/google/uuid"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/pipeline"
	"github.com/ctimport/ctimport/s3scan"
	"github.com/ctimport/ctimport/sink"
)

// StartOptions are the settings of a new import that the API does not carry.
type StartOptions struct {
	// Allowance is how long after an event its log file may be delivered;
	// 0 means DefaultAllowance.
	Allowance time.Duration
	// Incremental starts the import where the last import of the same
	// source into the same store ended, and skips files already imported
	// into that store.
	Incremental bool
	// Shard, when its Count is set, runs this part of an import that
	// processes on several machines run together, each with the same
	// input and its own Shard. They join one import, whose ID is derived
	// from the input, and a shard started again continues where it
	// stopped. It needs a sink.ShardStore.
	Shard pipeline.Shard
}

var uuidRE = regexp.MustCompile(`^[a-f0-9\-]{36}$`)

// roleARNRE matches the ARNs of IAM roles: arn:<partition>:iam::<account>:role/<path/><name>.
var roleARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:role/(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64}$`)

// checkRoleARN returns an InvalidParameterException unless role is "" or
// the ARN of an IAM role.
func checkRoleARN(role string) error {
	if role != "" && !roleARNRE.MatchString(role) {
		return api.ErrInvalidParameter.New("S3BucketAccessRoleArn %q is not the ARN of an IAM role (arn:aws:iam::<12-digit account>:role/<name>)", role)
	}
	return nil
}

// StartImport is StartImportWith with the default StartOptions: the API's
// StartImport.
func (e *Engine) StartImport(ctx context.Context, in api.StartImportInput) (api.Import, error) {
	return e.StartImportWith(ctx, in, StartOptions{})
}

// StartImportWith validates in, records the import and starts running it
// in the background, with the settings of opts that the API does not
// carry. With only ImportId set it retries that import: the run reads the
// files that are not imported yet. Use Wait to wait for the run.
//
// It fails with AccountHasOngoingImportException when an import into the
// same event data store runs, or Options.MaxOngoingImports imports run.
func (e *Engine) StartImportWith(ctx context.Context, in api.StartImportInput, opts StartOptions) (api.Import, error) {
	var imp sink.Import
	var src s3scan.Source
	var err error
	switch {
	case opts.Shard.Count > 0:
		if err = e.checkShard(in, opts); err == nil {
			imp, src, err = e.newImport(ctx, in, opts)
		}
		if err == nil {
			imp, err = e.joinShard(ctx, imp, opts.Shard.Count)
		}
	case in.ImportId != "":
		imp, src, err = e.retryImport(ctx, in)
	default:
		imp, src, err = e.newImport(ctx, in, opts)
	}
	if err != nil {
		return api.Import{}, err
	}

	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return api.Import{}, fmt.Errorf("engine: closed")
	}
	running := 0
	for id, r := range e.runs {
		if r.ended() {
			continue
		}
		if r.storeID == imp.StoreID {
			return api.Import{}, api.ErrAccountHasOngoingImport.New("import %s into the same event data store is running", id)
		}
		running++
	}
	if running >= e.opts.MaxOngoingImports {
		return api.Import{}, api.ErrAccountHasOngoingImport.New("imports running: %d of at most %d; wait for one to end", running, e.opts.MaxOngoingImports)
	}
	if err := e.checkDestination(ctx, imp.StoreID); err != nil {
		return api.Import{}, err
	}
	if err := e.store.PutImport(ctx, imp); err != nil {
		return api.Import{}, fmt.Errorf("engine: start import: %w", err)
	}
	r := newRun(imp, src, opts, e.opts.Now())
	e.runs[imp.ID] = r
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		defer close(r.done)
		e.execute(r)
		e.count(r)
	}()
	return e.importOut(ctx, imp, false)
}

// checkDestination refuses an import into event data store storeID when
// the store is PENDING_DELETION, or was removed.
func (e *Engine) checkDestination(ctx context.Context, storeID string) error {
	s, err := e.resolveStore(ctx, storeID)
	switch {
	case err != nil:
		return err
	case !s.Deleted.IsZero():
		return api.ErrInvalidEventDataStoreStatus.New("event data store %s is %s; restore it to import into it", s.ID, api.EventDataStorePendingDeletion)
	}
	return nil
}

func (e *Engine) newImport(ctx context.Context, in api.StartImportInput, opts StartOptions) (sink.Import, s3scan.Source, error) {
	if len(in.Destinations) == 0 {
		return sink.Import{}, nil, api.ErrInvalidParameter.New("Destinations is required for a new import")
	}
	if len(in.Destinations) > 1 {
		return sink.Import{}, nil, api.ErrInvalidParameter.New("an import has exactly one destination, not %d", len(in.Destinations))
	}
	if in.ImportSource == nil || in.ImportSource.S3.S3LocationUri == "" {
		return sink.Import{}, nil, api.ErrInvalidParameter.New("ImportSource with S3LocationUri is required for a new import")
	}
	if err := checkRoleARN(in.ImportSource.S3.S3BucketAccessRoleArn); err != nil {
		return sink.Import{}, nil, err
	}
	if in.StartEventTime != nil && in.EndEventTime != nil && in.StartEventTime.After(*in.EndEventTime) {
		return sink.Import{}, nil, api.ErrInvalidParameter.New("StartEventTime %s is after EndEventTime %s",
			in.StartEventTime.UTC().Format(time.RFC3339), in.EndEventTime.UTC().Format(time.RFC3339))
	}
	if opts.Allowance < 0 {
		return sink.Import{}, nil, api.ErrInvalidParameter.New("the delivery allowance must not be negative")
	}
	if opts.Allowance == 0 {
		opts.Allowance = DefaultAllowance
	}
	store, err := e.resolveStore(ctx, in.Destinations[0])
	if err != nil {
		return sink.Import{}, nil, err
	}
	s3src := in.ImportSource.S3
	loc, err := s3scan.ParseLocation(s3src.S3LocationUri)
	if err == nil {
		err = s3scan.CheckRoot(loc.Prefix)
	}
	if err != nil {
		return sink.Import{}, nil, api.ErrInvalidImportSource.New("%v", err)
	}
	src, err := e.openSource(ctx, loc, s3src)
	if err != nil {
		return sink.Import{}, nil, err
	}

	now := e.now()
	imp := sink.Import{
		ID:           uuid.NewString(),
		StoreID:      store.ID,
		SourceURI:    loc.String(),
		SourceRegion: s3src.S3BucketRegion,
		RoleARN:      s3src.S3BucketAccessRoleArn,
		Allowance:    opts.Allowance,
		Status:       string(api.StatusInitializing),
		Created:      now,
		Updated:      now,
	}
	if in.StartEventTime != nil {
		imp.StartEventTime = stamp(*in.StartEventTime)
	}
	if in.EndEventTime != nil {
		imp.EndEventTime = stamp(*in.EndEventTime)
	}
	if opts.Incremental {
		if in.StartEventTime != nil {
			return sink.Import{}, nil, api.ErrInvalidParameterCombination.New("an incremental import starts where the last one ended; do not give StartEventTime")
		}
		start, err := e.incrementalStart(ctx, imp)
		if err != nil {
			return sink.Import{}, nil, err
		}
		imp.StartEventTime = start
		if !imp.EndEventTime.IsZero() && start.After(imp.EndEventTime) {
			return sink.Import{}, nil, api.ErrInvalidParameter.New("the last import of this source already reached %s, after EndEventTime", start.Format(time.RFC3339))
		}
	}
	return imp, src, nil
}

// incrementalStart returns where an incremental import of imp's source into
// imp's store starts: the newest delivery time read by an earlier import of
// the same source and store that ran to its end, less the allowance. It is
// zero when there is no such import.
func (e *Engine) incrementalStart(ctx context.Context, imp sink.Import) (time.Time, error) {
	imps, err := e.store.Imports(ctx)
	if err != nil {
		return time.Time{}, fmt.Errorf("engine: find earlier imports: %w", err)
	}
	var newest time.Time
	for _, p := range imps {
		st := api.ImportStatus(p.Status)
		if p.StoreID != imp.StoreID || p.SourceURI != imp.SourceURI || (st != api.StatusCompleted && st != api.StatusFailed) {
			continue
		}
		if p.NewestDelivery.After(newest) {
			newest = p.NewestDelivery
		}
	}
	if newest.IsZero() {
		return time.Time{}, nil
	}
	return newest.Add(-imp.Allowance), nil
}

func (e *Engine) retryImport(ctx context.Context, in api.StartImportInput) (sink.Import, s3scan.Source, error) {
	if len(in.Destinations) > 0 || in.ImportSource != nil || in.StartEventTime != nil || in.EndEventTime != nil {
		return sink.Import{}, nil, api.ErrInvalidParameterCombination.New("to retry an import give only its ImportId")
	}
	imp, err := e.loadImport(ctx, in.ImportId)
	if err != nil {
		return sink.Import{}, nil, err
	}
	if e.isRunning(imp.ID) {
		return sink.Import{}, nil, api.ErrAccountHasOngoingImport.New("import %s is running", imp.ID)
	}
	if runs, err := e.shardRuns(ctx, imp.ID); err != nil {
		return sink.Import{}, nil, err
	} else if len(runs) > 0 {
		return sink.Import{}, nil, api.ErrInvalidParameter.New("import %s runs as %d shards; retry it by starting its shards again", imp.ID, runs[0].Count)
	}
	if imp.Status == string(api.StatusCompleted) {
		return sink.Import{}, nil, api.ErrInvalidParameter.New("import %s is COMPLETED; only a FAILED or STOPPED import can be retried", imp.ID)
	}
	loc, err := s3scan.ParseLocation(imp.SourceURI)
	if err != nil {
		return sink.Import{}, nil, api.ErrInvalidImportSource.New("%v", err)
	}
	src, err := e.openSource(ctx, loc, sourceOf(imp))
	if err != nil {
		return sink.Import{}, nil, err
	}
	if err := e.clearStop(ctx, imp.ID); err != nil {
		return sink.Import{}, nil, err
	}
	imp.Status = string(api.StatusInitializing)
	imp.Message = ""
	imp.Updated = e.now()
	return imp, src, nil
}

// clearStop withdraws a stop asked of import id through a shared store.
func (e *Engine) clearStop(ctx context.Context, id string) error {
	if st, ok := e.store.(sink.Stopper); ok {
		if err := st.ClearStop(ctx, id); err != nil {
			return fmt.Errorf("engine: %w", err)
		}
	}
	return nil
}

// openSource opens an import's source and translates its errors into API exceptions.
func (e *Engine) openSource(ctx context.Context, loc s3scan.Location, src api.S3ImportSource) (s3scan.Source, error) {
	s, err := e.opts.OpenSource(ctx, loc, src)
	switch {
	case err == nil:
		return s, nil
	case errors.Is(err, s3scan.ErrNoBucket):
		return nil, api.ErrInvalidImportSource.New("%s does not exist", loc)
	case errors.Is(err, s3scan.ErrAccessDenied):
		return nil, api.ErrInvalidImportSource.New("access to %s is denied: %v", loc, err)
	case errors.Is(err, s3scan.ErrBadURI):
		return nil, api.ErrInvalidImportSource.New("%v", err)
	}
	return nil, api.ErrInvalidImportSource.New("cannot open %s: %v", loc, err)
}

func (e *Engine) loadImport(ctx context.Context, id string) (sink.Import, error) {
	if !uuidRE.MatchString(id) {
		return sink.Import{}, api.ErrInvalidParameter.New("ImportId %q is not a UUID", id)
	}
	imp, err := e.store.Import(ctx, id)
	if errors.Is(err, sink.ErrNotFound) {
		return sink.Import{}, api.ErrImportNotFound.New("no import %s", id)
	}
	if err != nil {
		return sink.Import{}, fmt.Errorf("engine: get import: %w", err)
	}
	return e.withShards(ctx, imp)
}

// GetImport describes an import, with its statistics.
func (e *Engine) GetImport(ctx context.Context, in api.GetImportInput) (api.Import, error) {
	imp, err := e.loadImport(ctx, in.ImportId)
	if err != nil {
		return api.Import{}, err
	}
	return e.importOut(ctx, imp, true)
}

// Message returns why an import's last run ended early when no file failure
// explains it, such as a listing or store error; "" otherwise.
func (e *Engine) Message(ctx context.Context, id string) (string, error) {
	imp, err := e.loadImport(ctx, id)
	return imp.Message, err
}

// StopImport stops a running import; its status becomes STOPPED once the
// files being committed are committed. An import no process runs any more
// is marked STOPPED at once; an ended import is returned as it is. On a
// store that processes share (a sink.Stopper), the processes running the
// import elsewhere, its shards among them, are asked to stop it too: each
// stops within StopPollInterval, and the import is returned as it stands.
func (e *Engine) StopImport(ctx context.Context, in api.StopImportInput) (api.Import, error) {
	imp, err := e.loadImport(ctx, in.ImportId)
	if err != nil {
		return api.Import{}, err
	}
	runs, err := e.shardRuns(ctx, imp.ID)
	if err != nil {
		return api.Import{}, err
	}
	stopper, shared := e.store.(sink.Stopper)
	if shared && !api.ImportStatus(imp.Status).Done() {
		if err := stopper.RequestStop(ctx, imp.ID); err != nil {
			return api.Import{}, fmt.Errorf("engine: stop import: %w", err)
		}
	}
	e.mu.Lock()
	r := e.runs[imp.ID]
	e.mu.Unlock()
	switch {
	case r != nil && !r.ended():
		r.stop()
		select {
		case <-r.done:
		case <-ctx.Done():
			return api.Import{}, ctx.Err()
		}
		return e.GetImport(ctx, api.GetImportInput{ImportId: imp.ID})
	case shared, api.ImportStatus(imp.Status).Done():
		return e.importOut(ctx, imp, true)
	case len(runs) > 0:
		return api.Import{}, api.ErrInvalidParameter.New("import %s runs as %d shards in other processes; stop their job (a Kubernetes Job or an AWS Batch array job)", imp.ID, runs[0].Count)
	}
	imp.Status = string(api.StatusStopped)
	imp.Updated = e.now()
	if err := e.store.PutImport(ctx, imp); err != nil {
		return api.Import{}, fmt.Errorf("engine: stop import: %w", err)
	}
	return e.importOut(ctx, imp, true)
}

// Wait waits until the run of import id ends and returns the import and
// the run's last progress (zero when this Engine did not run the import).
// When the store failed to record how the run ended, Wait returns that
// error, which says how it ended.
func (e *Engine) Wait(ctx context.Context, id string) (api.Import, Progress, error) {
	e.mu.Lock()
	r := e.runs[id]
	e.mu.Unlock()
	var p Progress
	if r != nil {
		select {
		case <-r.done:
		case <-ctx.Done():
			return api.Import{}, Progress{}, ctx.Err()
		}
		p = r.progress.Snapshot()
		if r.unrecorded != nil {
			return api.Import{}, p, r.unrecorded
		}
	}
	imp, err := e.GetImport(ctx, api.GetImportInput{ImportId: id})
	return imp, p, err
}

// Progress returns the live counters of a running import, and false when
// the import is not running in this Engine.
func (e *Engine) Progress(id string) (Progress, bool) {
	e.mu.Lock()
	r := e.runs[id]
	e.mu.Unlock()
	if r == nil || r.ended() {
		return Progress{}, false
	}
	return r.progress.Snapshot(), true
}

func (e *Engine) isRunning(id string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	r := e.runs[id]
	return r != nil && !r.ended()
}

// ListImports lists imports, newest first, optionally only those into one
// destination or in one status.
func (e *Engine) ListImports(ctx context.Context, in api.ListImportsInput) (api.ListImportsOutput, error) {
	max, err := maxResults(in.MaxResults, api.ErrInvalidParameter)
	if err != nil {
		return api.ListImportsOutput{}, err
	}
	if in.ImportStatus != "" && !in.ImportStatus.Valid() {
		return api.ListImportsOutput{}, api.ErrInvalidParameter.New("ImportStatus %q is not one of INITIALIZING, IN_PROGRESS, FAILED, STOPPED, COMPLETED", in.ImportStatus)
	}
	storeID := ""
	if in.Destination != "" {
		s, err := e.resolveStore(ctx, in.Destination)
		if errors.Is(err, api.ErrEventDataStoreNotFound) {
			return api.ListImportsOutput{}, api.ErrEventDataStoreARNInvalid.New("no event data store %q", in.Destination)
		}
		if err != nil {
			return api.ListImportsOutput{}, err
		}
		storeID = s.ID
	}
	all, err := e.store.Imports(ctx)
	if err != nil {
		return api.ListImportsOutput{}, fmt.Errorf("engine: list imports: %w", err)
	}
	var imps []sink.Import
	for _, imp := range all {
		if imp, err = e.withShards(ctx, imp); err != nil {
			return api.ListImportsOutput{}, err
		}
		if (storeID == "" || imp.StoreID == storeID) && (in.ImportStatus == "" || imp.Status == string(in.ImportStatus)) {
			imps = append(imps, imp)
		}
	}
	filter := "imports|" + storeID + "|" + string(in.ImportStatus)
	page, next, err := paginate(imps, func(i sink.Import) string { return i.ID }, in.NextToken, filter, max)
	if err != nil {
		return api.ListImportsOutput{}, err
	}
	arns, err := e.storeARNs(ctx)
	if err != nil {
		return api.ListImportsOutput{}, err
	}
	out := api.ListImportsOutput{Imports: []api.ImportsListItem{}, NextToken: next}
	for _, imp := range page {
		out.Imports = append(out.Imports, api.ImportsListItem{
			ImportId:         imp.ID,
			ImportStatus:     api.ImportStatus(imp.Status),
			Destinations:     []string{arns[imp.StoreID]},
			CreatedTimestamp: imp.Created,
			UpdatedTimestamp: imp.Updated,
		})
	}
	return out, nil
}

// ListImportFailures lists the files of an import that failed, in key
// order. A file that failed and was then imported by a retry is listed with
// status SUCCEEDED.
func (e *Engine) ListImportFailures(ctx context.Context, in api.ListImportFailuresInput) (api.ListImportFailuresOutput, error) {
	max, err := maxResults(in.MaxResults, api.ErrInvalidParameter)
	if err != nil {
		return api.ListImportFailuresOutput{}, err
	}
	imp, err := e.loadImport(ctx, in.ImportId)
	if err != nil {
		return api.ListImportFailuresOutput{}, err
	}
	filter := "failures|" + imp.ID
	after := ""
	if in.NextToken != "" {
		if after, err = decodeToken(in.NextToken, filter); err != nil {
			return api.ListImportFailuresOutput{}, err
		}
	}
	files, err := e.store.Files(ctx, sink.FileQuery{ImportID: imp.ID, Failed: true, After: after, Limit: max + 1})
	if err != nil {
		return api.ListImportFailuresOutput{}, fmt.Errorf("engine: list import failures: %w", err)
	}
	out := api.ListImportFailuresOutput{Failures: []api.ImportFailureListItem{}}
	if len(files) > max {
		files = files[:max]
		out.NextToken = encodeToken(files[max-1].Key, filter)
	}
	for _, f := range files {
		st := api.FailureStatus(f.Status)
		if f.Status == sink.FileImported {
			st = api.FailureSucceeded
		}
		out.Failures = append(out.Failures, api.ImportFailureListItem{
			Location:        f.Key,
			Status:          st,
			ErrorType:       f.ErrorType,
			ErrorMessage:    f.ErrorMessage,
			LastUpdatedTime: f.Updated,
		})
	}
	return out, nil
}

func (e *Engine) storeARNs(ctx context.Context) (map[string]string, error) {
	stores, err := e.store.EventDataStores(ctx)
	if err != nil {
		return nil, fmt.Errorf("engine: list event data stores: %w", err)
	}
	arns := make(map[string]string, len(stores))
	for _, s := range stores {
		arns[s.ID] = s.ARN
	}
	return arns, nil
}

// importOut shapes a stored import as the API returns it.
func (e *Engine) importOut(ctx context.Context, imp sink.Import, withStats bool) (api.Import, error) {
	arns, err := e.storeARNs(ctx)
	if err != nil {
		return api.Import{}, err
	}
	out := api.Import{
		ImportId:         imp.ID,
		Destinations:     []string{arns[imp.StoreID]},
		ImportSource:     api.ImportSource{S3: sourceOf(imp)},
		ImportStatus:     api.ImportStatus(imp.Status),
		CreatedTimestamp: imp.Created,
		UpdatedTimestamp: imp.Updated,
	}
	if !imp.StartEventTime.IsZero() {
		t := imp.StartEventTime
		out.StartEventTime = &t
	}
	if !imp.EndEventTime.IsZero() {
		t := imp.EndEventTime
		out.EndEventTime = &t
	}
	if withStats {
		st, err := e.store.Stats(ctx, imp.ID)
		if err != nil {
			return api.Import{}, fmt.Errorf("engine: import statistics: %w", err)
		}
		out.ImportStatistics = &api.ImportStatistics{
			PrefixesFound:     st.PrefixesFound,
			PrefixesCompleted: st.PrefixesCompleted,
			FilesCompleted:    st.FilesCompleted,
			EventsCompleted:   st.EventsCompleted,
			FailedEntries:     st.FailedEntries,
		}
		out.CtimportBytes = &api.ImportBytes{BytesCompleted: st.BytesCompleted}
		if p, ok := e.Progress(imp.ID); ok && !p.Listing {
			left := max(p.BytesFound-p.BytesDone-p.BytesFailed, 0)
			out.CtimportBytes.BytesRemaining = &left
		}
	}
	return out, nil
}

func sourceOf(imp sink.Import) api.S3ImportSource {
	return api.S3ImportSource{
		S3LocationUri:         imp.SourceURI,
		S3BucketRegion:        imp.SourceRegion,
		S3BucketAccessRoleArn: imp.RoleARN,
	}
}
