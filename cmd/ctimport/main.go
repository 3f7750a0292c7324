// Command ctimport imports CloudTrail trail logs from an S3 bucket, MinIO or
// a local copy of a bucket into a local DuckDB event store, with the
// operations and shapes of the CloudTrail Lake import API.
//
// Run "ctimport help" for the commands.
package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/budget"
	"github.com/ctimport/ctimport/engine"
	"github.com/ctimport/ctimport/sink"
	"github.com/ctimport/ctimport/sink/duckdbsink"
)

// Exit codes.
const (
	exitOK      = 0
	exitError   = 1 // bad input, an API exception or a failure of the tool
	exitUsage   = 2 // the command line is wrong
	exitFailed  = 3 // the import ended FAILED
	exitStopped = 4 // the import ended STOPPED
	exitLocked  = 5 // another process holds the database
	exitDrift   = 6 // verify found drift

	exitInterrupted = 130 // start-import was interrupted again while it stopped the import
)

// defaultDB is the database used without --db or CTIMPORT_DB.
const defaultDB = "ctimport.duckdb"

// lockWait is how long a command waits for another process to release the
// database before it gives up.
const lockWait = 3 * time.Second

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// cli is one invocation of the command.
type cli struct {
	args   *args
	stdout io.Writer
	stderr io.Writer
	db     string
	format string
	// mem is the command's memory budget.
	mem budget.Budget
	// endpoint is the ctimport server the command calls; "" when it
	// opens the database itself.
	endpoint string
	// recovered are the imports open found left running by a process that
	// ended.
	recovered []engine.Recovered
}

// ended is the error of a start-import whose import did not complete.
type ended struct{ status api.ImportStatus }

func (e *ended) Error() string { return "the import ended " + string(e.status) }

func run(ctx context.Context, argv []string, stdout, stderr io.Writer) int {
	if len(argv) == 2 && argv[0] == "help" {
		if _, ok := commands[argv[1]]; ok {
			printCommandHelp(stdout, argv[1])
			return exitOK
		}
	}
	a, err := parseArgs(argv)
	if err != nil {
		fmt.Fprintf(stderr, "ctimport: %v\n", err)
		return exitUsage
	}
	if a.command == "" || a.command == "help" {
		printHelp(stdout)
		if a.command == "" && !a.has("help") {
			return exitUsage
		}
		return exitOK
	}
	if a.has("help") {
		printCommandHelp(stdout, a.command)
		return exitOK
	}
	c := &cli{args: a, stdout: stdout, stderr: stderr, db: a.str("db"), format: a.str("output"), endpoint: a.str("endpoint-url")}
	if c.endpoint == "" && !a.has("endpoint-url") {
		c.endpoint = os.Getenv("CTIMPORT_ENDPOINT_URL")
	}
	if c.db == "" {
		c.db = os.Getenv("CTIMPORT_DB")
	}
	if c.db == "" {
		c.db = defaultDB
	}
	if c.mem, err = memoryBudget(a); err != nil {
		fmt.Fprintf(stderr, "ctimport: %v\n", err)
		return exitUsage
	}
	debug.SetMemoryLimit(c.mem.GoHeap)
	if path := os.Getenv(cpuProfileEnv); path != "" {
		stop, err := startCPUProfile(path)
		if err != nil {
			fmt.Fprintf(stderr, "ctimport: %v\n", err)
			return exitError
		}
		defer func() {
			if err := stop(); err != nil {
				fmt.Fprintf(stderr, "ctimport: %s: %v\n", cpuProfileEnv, err)
			}
		}()
	}
	allowed := commands[a.command].formats
	if allowed == nil {
		allowed = formats
	}
	if c.format == "" {
		c.format = "json"
	} else if !slices.Contains(allowed, c.format) {
		fmt.Fprintf(stderr, "ctimport: --output must be one of %s, not %q\n", strings.Join(allowed, ", "), c.format)
		return exitUsage
	}
	err = commands[a.command].run(ctx, c)
	var ue *usageError
	var end *ended
	var drift *drifted
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "ctimport: %s: %v\n", a.command, err)
		return exitUsage
	case errors.As(err, &end):
		if end.status == api.StatusStopped {
			return exitStopped
		}
		return exitFailed
	case errors.Is(err, duckdbsink.ErrNeedsUpgrade):
		fmt.Fprintf(stderr, "ctimport: %s: %v; upgrade it with: ctimport --db %s upgrade\n", a.command, err, c.db)
		return exitError
	case errors.Is(err, sink.ErrLocked):
		fmt.Fprintf(stderr, "ctimport: %s: %v\n", a.command, err)
		return exitLocked
	case errors.As(err, &drift):
		fmt.Fprintf(stderr, "ctimport: %s: %v\n", a.command, err)
		return exitDrift
	}
	fmt.Fprintf(stderr, "ctimport: %s: %v\n", a.command, err)
	return exitError
}

// open opens the database for writing, with the options of store, and
// returns an engine over it with the options of opts; open sets their
// sizes from the memory budget and the S3 endpoint from the flags. When
// another process holds the database it waits up to lockWait.
func (c *cli) open(ctx context.Context, store duckdbsink.Options, opts engine.Options) (*engine.Engine, func(), error) {
	if c.sharedDB() {
		c.mem = c.mem.WithoutDuckDB()
		debug.SetMemoryLimit(c.mem.GoHeap)
	}
	mem := c.mem.PerImport(opts.MaxOngoingImports)
	store.MemoryLimit, store.StageLimit, store.UpgradeProgress = mem.DuckDB, mem.Stage, c.upgradeProgress()
	db, err := c.openStore(ctx, store, mem)
	if err != nil {
		return nil, nil, err
	}
	opts.PrefetchBytes, opts.QueryResultBytes, opts.BatchEvents = mem.Prefetch, mem.QueryResults, mem.BatchEvents()
	if opts.OpenSource == nil {
		opts.OpenSource = engine.Sources(c.args.str("s3-endpoint-url"))
	}
	opts.Region = cmp.Or(os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION"))
	eng := engine.New(db, opts)
	// Other processes run imports on a shared database: its imports left
	// running are retried by hand (start-import --import-id), or by their
	// shards' jobs.
	if !c.sharedDB() {
		if c.recovered, err = eng.Recover(ctx); err != nil {
			db.Close()
			return nil, nil, err
		}
	}
	if _, err := eng.PurgeDeleted(ctx); err != nil {
		db.Close()
		return nil, nil, err
	}
	return eng, func() {
		eng.Close()
		db.Close()
	}, nil
}

// openStore opens the database of --db for writing: a PostgreSQL state
// database with the shares of mem, or a DuckDB file with the options of
// store. When another process holds the DuckDB file it waits up to
// lockWait.
func (c *cli) openStore(ctx context.Context, store duckdbsink.Options, mem budget.Budget) (sink.Store, error) {
	if c.sharedDB() {
		return c.openShared(ctx, mem)
	}
	deadline := time.Now().Add(lockWait)
	for {
		db, err := duckdbsink.Open(ctx, c.db, store)
		if err == nil || !errors.Is(err, sink.ErrLocked) || time.Now().After(deadline) {
			return db, err
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// service returns the API the command calls: the server at
// --endpoint-url, else an engine over the database, opened for writing as
// holder. done releases it.
func (c *cli) service(ctx context.Context, holder string) (api.Service, func(), error) {
	if c.endpoint != "" {
		cl, err := c.client()
		if err != nil {
			return nil, nil, err
		}
		return cl, func() {}, nil
	}
	eng, done, err := c.open(ctx, duckdbsink.Options{Holder: holder}, engine.Options{})
	if err != nil {
		return nil, nil, err
	}
	return eng, done, nil
}

// output prints an API response in the chosen format.
func (c *cli) output(v any) error { return writeOutput(c.stdout, c.format, v) }

// simple runs a command that makes one call of the API and prints its
// result.
func (c *cli) simple(ctx context.Context, fn func(api.Service) (any, error)) error {
	svc, done, err := c.service(ctx, "ctimport "+c.args.command)
	if err != nil {
		return err
	}
	defer done()
	out, err := fn(svc)
	if err != nil {
		return err
	}
	return c.output(out)
}

// requireFlag fails with a usage error when a required flag is missing.
func (c *cli) requireFlag(names ...string) error {
	for _, n := range names {
		if c.args.str(n) == "" {
			return usagef("--%s is required", n)
		}
	}
	return nil
}

func cmdGetImport(ctx context.Context, c *cli) error {
	if err := c.requireFlag("import-id"); err != nil {
		return err
	}
	return c.simple(ctx, func(svc api.Service) (any, error) {
		return svc.GetImport(ctx, api.GetImportInput{ImportId: c.args.str("import-id")})
	})
}

// maxResults reads --max-results; the API takes 1 to 1000, and an absent
// flag means the largest page.
func (c *cli) maxResults(exc *api.Exception) (int, error) {
	if !c.args.has("max-results") {
		return 0, nil
	}
	n, err := c.args.int("max-results")
	if err == nil && n < 1 {
		err = exc.New("MaxResults must be between 1 and 1000, not %d", n)
	}
	return n, err
}

func cmdListImports(ctx context.Context, c *cli) error {
	max, err := c.maxResults(api.ErrInvalidParameter)
	if err != nil {
		return err
	}
	in := api.ListImportsInput{
		MaxResults:   max,
		Destination:  c.args.str("destination"),
		ImportStatus: api.ImportStatus(c.args.str("import-status")),
		NextToken:    c.args.str("next-token"),
	}
	return c.simple(ctx, func(svc api.Service) (any, error) { return svc.ListImports(ctx, in) })
}

func cmdListQueries(ctx context.Context, c *cli) error {
	if err := c.requireFlag("event-data-store"); err != nil {
		return err
	}
	max, err := c.maxResults(api.ErrInvalidMaxResults)
	if err != nil {
		return err
	}
	in := api.ListQueriesInput{
		EventDataStore: c.args.str("event-data-store"),
		MaxResults:     max,
		NextToken:      c.args.str("next-token"),
		QueryStatus:    api.QueryStatus(c.args.str("query-status")),
	}
	if in.StartTime, err = c.args.timestamp("start-time"); err != nil {
		return err
	}
	if in.EndTime, err = c.args.timestamp("end-time"); err != nil {
		return err
	}
	return c.simple(ctx, func(svc api.Service) (any, error) { return svc.ListQueries(ctx, in) })
}

func cmdListImportFailures(ctx context.Context, c *cli) error {
	if err := c.requireFlag("import-id"); err != nil {
		return err
	}
	max, err := c.maxResults(api.ErrInvalidParameter)
	if err != nil {
		return err
	}
	in := api.ListImportFailuresInput{ImportId: c.args.str("import-id"), MaxResults: max, NextToken: c.args.str("next-token")}
	return c.simple(ctx, func(svc api.Service) (any, error) { return svc.ListImportFailures(ctx, in) })
}

func cmdGetEventDataStore(ctx context.Context, c *cli) error {
	if err := c.requireFlag("event-data-store"); err != nil {
		return err
	}
	in := api.GetEventDataStoreInput{EventDataStore: c.args.str("event-data-store")}
	return c.simple(ctx, func(svc api.Service) (any, error) { return svc.GetEventDataStore(ctx, in) })
}

func cmdListEventDataStores(ctx context.Context, c *cli) error {
	max, err := c.maxResults(api.ErrInvalidMaxResults)
	if err != nil {
		return err
	}
	in := api.ListEventDataStoresInput{MaxResults: max, NextToken: c.args.str("next-token")}
	return c.simple(ctx, func(svc api.Service) (any, error) { return svc.ListEventDataStores(ctx, in) })
}

func cmdQuery(ctx context.Context, c *cli) error {
	if err := c.requireFlag("query-statement"); err != nil {
		return err
	}
	write := c.args.has("allow-write")
	if c.endpoint != "" {
		if write {
			return usagef("--allow-write is not part of the API: a server runs read-only queries")
		}
		return c.remoteQuery(ctx)
	}
	mem := c.mem.QueryOnly()
	if c.sharedDB() {
		if write {
			return usagef("--allow-write takes a DuckDB file: the tables of --db %s are Iceberg tables, read-only to queries", c.dbName())
		}
		store, err := c.openShared(ctx, mem)
		if err != nil {
			return err
		}
		defer store.Close()
		return c.runQuery(ctx, store, mem)
	}
	if _, err := os.Stat(c.db); err != nil {
		return fmt.Errorf("no database at %s: create an event data store and import into it first", c.db)
	}
	opts := duckdbsink.Options{ReadOnly: true, NoFileAccess: true, LockSettings: true, MemoryLimit: mem.DuckDB}
	if write {
		opts = duckdbsink.Options{Holder: "ctimport query --allow-write", AllowWrite: true, MemoryLimit: mem.DuckDB}
	}
	store, err := duckdbsink.Open(ctx, c.db, opts)
	if err != nil {
		return err
	}
	defer store.Close()
	return c.runQuery(ctx, store, mem)
}

// runQuery runs the statement of --query-statement over store and prints
// its rows.
func (c *cli) runQuery(ctx context.Context, store sink.Store, mem budget.Budget) error {
	debug.SetMemoryLimit(mem.GoHeap)
	rows, err := engine.New(store, engine.Options{}).Query(ctx, c.args.str("query-statement"))
	if err != nil {
		return c.queryFailed(err)
	}
	defer rows.Close()
	qw := newQueryWriter(c.stdout, c.format, rows.Columns())
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return err
		}
		if err := qw.row(vals); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		if errors.Is(err, sink.ErrOutOfMemory) {
			return c.queryFailed(err)
		}
		return api.ErrInvalidQueryStatement.New("%s", engine.OneLine(err.Error()))
	}
	return qw.close()
}

// queryFailed tells how to give a query that ran out of memory more.
func (c *cli) queryFailed(err error) error {
	if !errors.Is(err, sink.ErrOutOfMemory) {
		return err
	}
	return fmt.Errorf("%s; give it more with --memory-limit (now %s)", engine.OneLine(err.Error()), budget.Size(c.mem.Limit))
}

// memoryBudget divides the memory limit --memory-limit or
// CTIMPORT_MEMORY_LIMIT sets, or the default one.
func memoryBudget(a *args) (budget.Budget, error) {
	s, set := a.str("memory-limit"), a.has("memory-limit")
	if env := os.Getenv("CTIMPORT_MEMORY_LIMIT"); !set && env != "" {
		s, set = env, true
	}
	limit := budget.Default
	if set {
		var err error
		if limit, err = parseSize(s); err != nil {
			return budget.Budget{}, fmt.Errorf("--memory-limit: %w", err)
		}
	}
	b, err := budget.New(limit)
	if err != nil {
		return budget.Budget{}, fmt.Errorf("--memory-limit: %w", err)
	}
	return b, nil
}
