package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/engine"
	"github.com/ctimport/ctimport/internal/sigv4"
	"github.com/ctimport/ctimport/pipeline"
	"github.com/ctimport/ctimport/s3scan"
	"github.com/ctimport/ctimport/server"
	"github.com/ctimport/ctimport/server/console"
	"github.com/ctimport/ctimport/sink/duckdbsink"
)

// defaultListen is where serve listens without --listen.
const defaultListen = "127.0.0.1:8099"

// shutdownWait bounds how long serve waits for requests in flight when it
// is told to stop.
const shutdownWait = 30 * time.Second

func cmdServe(ctx context.Context, c *cli) error {
	if c.endpoint != "" {
		return usagef("serve opens the database itself: drop --endpoint-url and CTIMPORT_ENDPOINT_URL")
	}
	a := c.args
	listen := a.str("listen")
	if listen == "" {
		listen = defaultListen
	}
	cert, key := a.str("tls-cert"), a.str("tls-key")
	if (cert == "") != (key == "") {
		return usagef("--tls-cert and --tls-key go together")
	}
	var handler slog.Handler
	switch a.str("log-format") {
	case "", "text":
		handler = slog.NewTextHandler(c.stderr, nil)
	case "json":
		handler = slog.NewJSONHandler(c.stderr, nil)
	default:
		return usagef("--log-format must be text or json, not %q", a.str("log-format"))
	}
	maxBody, err := a.int("max-body-bytes")
	if err == nil && maxBody < 0 {
		err = usagef("--max-body-bytes must be positive")
	}
	if err != nil {
		return err
	}
	ongoing, err := a.int("max-ongoing-imports")
	if err == nil && ongoing < 0 {
		err = usagef("--max-ongoing-imports must be positive")
	}
	if err != nil {
		return err
	}
	maxRequests, err := a.count("max-concurrent-requests")
	if err != nil {
		return err
	}
	perSecond, err := a.count("max-requests-per-second")
	if err != nil {
		return err
	}
	conc, err := a.int("concurrency")
	if err == nil && conc < 0 {
		err = usagef("--concurrency must be positive")
	}
	if err != nil {
		return err
	}
	maxRecord, maxFile, err := c.sizeLimits()
	if err != nil {
		return err
	}
	root := a.str("file-sources")
	if root != "" {
		if root, err = filepath.Abs(root); err == nil {
			root, err = filepath.EvalSymlinks(root)
		}
		if err != nil {
			return usagef("--file-sources: %v", err)
		}
	}
	keys, roles, err := serverKeys(a.str("credentials-file"))
	if err != nil {
		return err
	}
	log := slog.New(handler)

	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	opts := engine.Options{
		Config: pipeline.Config{
			Concurrency:   conc,
			MaxRecordSize: maxRecord,
			MaxFileSize:   maxFile,
		},
		MaxOngoingImports: ongoing,
		OpenSource:        fileSourcesUnder(root, engine.Sources(a.str("s3-endpoint-url"))),
		// A server's imports outlive a restart, unless the database is
		// shared: there the server cannot tell the imports it left
		// running from those other processes run.
		Resume: !c.sharedDB(),
	}
	// The clients of a server write the queries; they must not reach the
	// server's files.
	store := duckdbsink.Options{Holder: "ctimport serve on " + ln.Addr().String(), NoFileAccess: true}
	eng, done, err := c.open(ctx, store, opts)
	if err != nil {
		ln.Close()
		return err
	}
	defer done()
	var samples []console.Sample
	for _, q := range duckdbsink.ExampleQueries {
		samples = append(samples, console.Sample(q))
	}
	srv, err := server.New(server.Config{Engine: eng, Keys: keys, Roles: roles, Samples: samples, MaxBodyBytes: int64(maxBody), MaxConcurrentRequests: maxRequests, MaxRequestsPerSecond: perSecond, OpenMetrics: a.has("open-metrics"), Logger: log})
	if err != nil {
		ln.Close()
		return err
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(handler, slog.LevelWarn),
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sig)
	served := make(chan error, 1)
	scheme := "http"
	if cert != "" {
		scheme = "https"
	}
	c.logRecovered(log)
	go func() {
		if cert != "" {
			served <- hs.ServeTLS(ln, cert, key)
		} else {
			served <- hs.Serve(ln)
		}
	}()
	log.Info("serving", "url", scheme+"://"+ln.Addr().String(), "db", c.dbName(), "keys", len(keys), "memory", c.mem.String())
	mctx, stopMaintaining := context.WithCancel(ctx)
	maintained := make(chan struct{})
	go func() {
		defer close(maintained)
		maintain(mctx, eng, log)
	}()
	defer func() {
		stopMaintaining()
		<-maintained
	}()

	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case s := <-sig:
		log.Info("stopping", "signal", s.String())
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownWait)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		log.Warn("requests still in flight were cut off", "error", err.Error())
	}
	<-served
	// done closes the engine: the imports running commit what they read
	// and are resumed at the next start.
	return nil
}

// maintain runs eng.Maintain now and every engine.MaintenanceInterval
// until ctx ends, and logs what it removed.
func maintain(ctx context.Context, eng *engine.Engine, log *slog.Logger) {
	t := time.NewTicker(engine.MaintenanceInterval)
	defer t.Stop()
	for {
		m, err := eng.Maintain(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.Error("maintenance: removing what is past its retention period failed", "error", err.Error())
		}
		for _, id := range m.Purged {
			log.Info("maintenance: removed an event data store deleted 7 days ago", "event_data_store", id)
		}
		for _, id := range slices.Sorted(maps.Keys(m.Expired)) {
			if n := m.Expired[id]; n > 0 {
				log.Info("maintenance: removed the events past the retention period", "event_data_store", id, "events", n)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// fileSourcesUnder lets next open local directories (file:// sources) only
// under root, and none when root is "": a server's clients name the
// directories, and they are the server's.
func fileSourcesUnder(root string, next engine.SourceOpener) engine.SourceOpener {
	return func(ctx context.Context, loc s3scan.Location, src api.S3ImportSource) (s3scan.Source, error) {
		if loc.Scheme != "file" {
			return next(ctx, loc, src)
		}
		if root == "" {
			return nil, fmt.Errorf("%w: the server reads no local directories unless started with --file-sources", s3scan.ErrAccessDenied)
		}
		dir, err := filepath.EvalSymlinks(loc.Dir)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", s3scan.ErrNoBucket, err)
		}
		if rel, err := filepath.Rel(root, dir); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			return nil, fmt.Errorf("%w: %s is outside the --file-sources directory", s3scan.ErrAccessDenied, loc.Dir)
		}
		loc.Dir = dir
		return next(ctx, loc, src)
	}
}

// logRecovered logs the imports that the last process serving the
// database left running, which open resumed before any request could take
// their place.
func (c *cli) logRecovered(log *slog.Logger) {
	for _, r := range c.recovered {
		if r.Resumed {
			log.Info("resumed the import left running by the last server", "import_id", r.ImportID)
			continue
		}
		log.Warn("import left running by the last server stays STOPPED; retry it with StartImport", "import_id", r.ImportID, "error", r.Err)
	}
}

// serverKeys reads the access keys the server accepts and their roles: the
// credentials file, else the key in the environment, with the role admin.
func serverKeys(file string) (sigv4.Keys, map[string]server.Role, error) {
	if file == "" {
		file = os.Getenv("CTIMPORT_CREDENTIALS_FILE")
	}
	if file != "" {
		return server.LoadCredentials(file)
	}
	id, secret := os.Getenv("CTIMPORT_ACCESS_KEY_ID"), os.Getenv("CTIMPORT_SECRET_ACCESS_KEY")
	if id == "" || secret == "" {
		return nil, nil, errors.New("serve needs access keys to check request signatures: set CTIMPORT_ACCESS_KEY_ID and CTIMPORT_SECRET_ACCESS_KEY, or give --credentials-file")
	}
	return sigv4.Keys{id: secret}, map[string]server.Role{id: server.RoleAdmin}, nil
}
