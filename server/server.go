// Package server serves the operations of an api.Service, an engine's, over
// HTTP with the protocol of the CloudTrail API (AWS JSON 1.1, Signature
// Version 4), so that the AWS CLI and SDKs drive ctimport by pointing their
// endpoint at it.
//
// Every API request is a signed POST to "/" naming its operation in the
// X-Amz-Target header. The web console, package console, is served under
// /console/ and calls the same operations as the access key signed in to
// it. Besides, GET /healthz answers whether the server is
// up, to anyone, and GET /metrics gives its metrics in the Prometheus
// exposition format to a caller that authenticates with an access key ID
// and its secret by HTTP Basic authentication, unless Config.OpenMetrics.
package server

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/engine"
	"github.com/ctimport/ctimport/internal/awsjson"
	"github.com/ctimport/ctimport/internal/awsmodel"
	"github.com/ctimport/ctimport/internal/sigv4"
	"github.com/ctimport/ctimport/server/console"
)

// TargetPrefix starts the X-Amz-Target header of every CloudTrail request;
// the operation's name follows it.
const TargetPrefix = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101."

// shortTargetPrefix starts the X-Amz-Target header of the SDKs generated
// from the Smithy model, such as the AWS SDK for Go v2, which leave out the
// namespace; CloudTrail accepts both forms.
const shortTargetPrefix = "CloudTrail_20131101."

// operationName returns the operation an X-Amz-Target header names, and
// false when the header has neither prefix.
func operationName(target string) (string, bool) {
	if name, ok := strings.CutPrefix(target, TargetPrefix); ok {
		return name, true
	}
	return strings.CutPrefix(target, shortTargetPrefix)
}

// Service is the name requests are signed for.
const Service = "cloudtrail"

// DefaultMaxBodyBytes is the default limit of a request body's size.
const DefaultMaxBodyBytes = 1 << 20

// Config configures a Server.
type Config struct {
	// Engine runs the operations, as an api.Service, and gives the metrics
	// of the imports and queries.
	Engine *engine.Engine
	// Keys are the access keys whose signatures the server accepts.
	Keys sigv4.Keys
	// Roles are the roles of the keys; a key with none is RoleAdmin.
	Roles map[string]Role
	// OpenMetrics serves /metrics to anyone. Otherwise /metrics asks for
	// HTTP Basic authentication with an access key ID and its secret, of
	// any role, as a Prometheus scrape config's basic_auth sends them.
	OpenMetrics bool
	// MaxBodyBytes limits the size of a request body; 0 means
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MaxConcurrentRequests bounds the API requests served at once (0
	// means DefaultMaxConcurrentRequests), and MaxRequestsPerSecond, when
	// positive, the API requests served a second, in bursts of up to as
	// many. A request beyond either is answered ThrottlingException with a
	// Retry-After header, which the AWS SDKs retry: a server under many
	// clients sheds their calls instead of slowing its imports.
	// DescribeQuery and GetQueryResults are not counted.
	MaxConcurrentRequests int
	MaxRequestsPerSecond  int
	// Samples are the example queries the web console's query editor
	// offers.
	Samples []console.Sample
	// Logger receives a record of every request; nil discards them.
	Logger *slog.Logger
	// Now tells the time, for checking signatures and counting the
	// requests a second; nil means time.Now.
	Now func() time.Time
}

// Server is an http.Handler serving the CloudTrail API over an Engine.
type Server struct {
	verifier    *sigv4.Verifier
	maxBody     int64
	log         *slog.Logger
	ops         map[string]operation
	metrics     *metrics
	roles       map[string]Role
	keys        sigv4.Keys // for /metrics
	openMetrics bool
	owners      owners // of the queries started through the server
	limiter     *limiter
	console     *console.Console
}

// operation decodes a request body, runs the operation and returns its
// response.
type operation func(ctx context.Context, body []byte) (any, error)

// New returns a Server. It fails when cfg has no engine or no keys.
func New(cfg Config) (*Server, error) {
	if cfg.Engine == nil {
		return nil, errors.New("server: no engine")
	}
	if len(cfg.Keys) == 0 {
		return nil, errors.New("server: no access keys: every request must be signed with one")
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxConcurrentRequests <= 0 {
		cfg.MaxConcurrentRequests = DefaultMaxConcurrentRequests
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	s := &Server{
		verifier:    &sigv4.Verifier{Keys: cfg.Keys, Service: Service, Now: cfg.Now},
		maxBody:     cfg.MaxBodyBytes,
		log:         cfg.Logger,
		ops:         operations(cfg.Engine),
		metrics:     newMetrics(cfg.Engine, cfg.Logger),
		roles:       cfg.Roles,
		keys:        cfg.Keys,
		openMetrics: cfg.OpenMetrics,
		limiter:     newLimiter(cfg.MaxConcurrentRequests, cfg.MaxRequestsPerSecond, now),
	}
	con, err := console.New(console.Config{Backend: consoleBackend{s}, Samples: cfg.Samples, Now: cfg.Now})
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	s.console = con
	return s, nil
}

// operations returns the operations of svc, by name.
func operations(svc api.Service) map[string]operation {
	return map[string]operation{
		"StartImport":           handle(svc.StartImport),
		"GetImport":             handle(svc.GetImport),
		"StopImport":            handle(svc.StopImport),
		"ListImports":           handle(svc.ListImports),
		"ListQueries":           handle(svc.ListQueries),
		"ListImportFailures":    handle(svc.ListImportFailures),
		"CreateEventDataStore":  handle(svc.CreateEventDataStore),
		"GetEventDataStore":     handle(svc.GetEventDataStore),
		"ListEventDataStores":   handle(svc.ListEventDataStores),
		"UpdateEventDataStore":  handle(svc.UpdateEventDataStore),
		"DeleteEventDataStore":  handle(svc.DeleteEventDataStore),
		"RestoreEventDataStore": handle(svc.RestoreEventDataStore),
		"StartQuery":            handle(svc.StartQuery),
		"DescribeQuery":         handle(svc.DescribeQuery),
		"GetQueryResults":       handle(svc.GetQueryResults),
		"CancelQuery":           handle(svc.CancelQuery),
	}
}

// handle makes an operation of fn, decoding its input from the body.
func handle[In, Out any](fn func(context.Context, In) (Out, error)) operation {
	return func(ctx context.Context, body []byte) (any, error) {
		var in In
		if err := awsjson.Unmarshal(body, &in); err != nil {
			return nil, errSerialization.New("%s", strings.TrimPrefix(err.Error(), awsjson.ErrSerialization.Error()+": "))
		}
		return fn(ctx, in)
	}
}

// Exceptions of the protocol rather than of an operation.
var (
	errSerialization      = &api.Exception{Name: "SerializationException"}
	errUnknownOperation   = &api.Exception{Name: "UnknownOperationException"}
	errTooLarge           = &api.Exception{Name: "RequestEntityTooLargeException"}
	errInternal           = &api.Exception{Name: "InternalFailure"}
	errUnsupportedContent = &api.Exception{Name: "UnsupportedMediaTypeException"}
)

// ServeHTTP serves one request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/healthz" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "ok\n")
	case r.URL.Path == "/metrics" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		if !s.openMetrics && !s.knownKey(r.BasicAuth()) {
			w.Header().Set("WWW-Authenticate", `Basic realm="ctimport metrics"`)
			http.Error(w, "metrics need HTTP Basic authentication with an access key ID and its secret", http.StatusUnauthorized)
			return
		}
		s.metrics.handler.ServeHTTP(w, r)
	case r.URL.Path == "/" && r.Method == http.MethodPost:
		s.serveAPI(w, r)
	case r.URL.Path == "/console" || strings.HasPrefix(r.URL.Path, console.Prefix):
		s.console.ServeHTTP(w, r)
	default:
		w.Header().Set("Allow", "POST")
		s.writeError(w, "", http.StatusNotFound, errUnknownOperation.New("%s %s is not an operation: send a signed POST to / with an X-Amz-Target header", r.Method, r.URL.Path))
	}
}

// knownKey reports whether secret is that of access key id, as
// Request.BasicAuth returns them; ok false is never known.
func (s *Server) knownKey(id, secret string, ok bool) bool {
	want, found := s.keys[id]
	return ok && found && subtle.ConstantTimeCompare([]byte(secret), []byte(want)) == 1
}

// call is what the log and the metrics record of one API request.
type call struct {
	id     string
	op     string
	key    string
	via    string // "console" for the calls of the web console
	start  time.Time
	status int
	code   string
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	// A target without the prefix names no operation, even when it ends
	// in the name of one.
	name, ok := operationName(r.Header.Get("X-Amz-Target"))
	if !ok {
		name = ""
	}
	c := s.begin(w, name)
	defer s.record(r, c)
	body, ok := s.readBody(w, r, c)
	if !ok {
		return
	}
	key, err := s.verifier.Verify(r, body)
	if err != nil {
		var se *sigv4.Error
		if errors.As(err, &se) {
			s.fail(w, c, se.Status, &api.Exception{Name: se.Code, Message: se.Message})
			return
		}
		s.fail(w, c, http.StatusBadRequest, errSerialization.New("%v", err))
		return
	}
	s.run(w, r, c, key, body)
}

// begin starts the record of an API request of operation op, giving the
// response its request ID.
func (s *Server) begin(w http.ResponseWriter, op string) *call {
	c := &call{id: uuid.NewString(), op: op, start: time.Now()}
	w.Header().Set("X-Amzn-RequestId", c.id)
	return c
}

// record logs an API request once answered and counts it in the metrics.
func (s *Server) record(r *http.Request, c *call) {
	if _, ok := s.ops[c.op]; !ok {
		c.op = ""
	}
	took := time.Since(c.start)
	s.metrics.request(c.op, c.status, took)
	attrs := []slog.Attr{
		slog.String("request_id", c.id),
		slog.String("operation", c.op),
		slog.Int("status", c.status),
		slog.Duration("duration", took),
		slog.String("remote", r.RemoteAddr),
	}
	if c.via != "" {
		attrs = append(attrs, slog.String("via", c.via))
	}
	if c.key != "" {
		attrs = append(attrs, slog.String("access_key_id", c.key))
	}
	level := slog.LevelInfo
	if c.code != "" {
		attrs = append(attrs, slog.String("error", c.code))
		level = slog.LevelWarn
	}
	s.log.LogAttrs(r.Context(), level, "request", attrs...)
}

// readBody reads the body of an API request within the server's limit,
// answering the request when it cannot.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request, c *call) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		s.fail(w, c, http.StatusRequestEntityTooLarge, errTooLarge.New("the request body is larger than %d bytes", s.maxBody))
		return nil, false
	case err != nil:
		s.fail(w, c, http.StatusBadRequest, errSerialization.New("reading the request body: %v", err))
		return nil, false
	}
	return body, true
}

// run serves the operation of an API request whose body came from the
// holder of access key key: it sheds it beyond the bounds, checks the body
// against the model and the key's role, runs the operation and writes its
// response.
func (s *Server) run(w http.ResponseWriter, r *http.Request, c *call, key string, body []byte) {
	c.key = key
	done, err := s.limiter.admit(c.op)
	if err != nil {
		s.throttle(w, c, err)
		return
	}
	defer done()

	op, known := s.ops[c.op]
	model, inModel := awsmodel.Lookup(c.op)
	switch {
	case (!known || !inModel) && c.via != "":
		s.fail(w, c, http.StatusBadRequest, errUnknownOperation.New("unknown operation %q", c.op))
		return
	case !known || !inModel:
		s.fail(w, c, http.StatusBadRequest, errUnknownOperation.New("unknown operation %q: X-Amz-Target must be %s<Operation>", r.Header.Get("X-Amz-Target"), TargetPrefix))
		return
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/x-amz-json-1.1" && mt != "application/x-amz-json-1.0" && mt != "application/json") {
			s.fail(w, c, http.StatusUnsupportedMediaType, errUnsupportedContent.New("content type %q: send application/x-amz-json-1.1", ct))
			return
		}
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		body = []byte("{}")
	}
	if err := model.Validate(body); err != nil {
		s.fail(w, c, http.StatusBadRequest, err)
		return
	}
	if err := s.authorize(key, c.op, body); err != nil {
		s.fail(w, c, http.StatusBadRequest, err)
		return
	}
	out, err := op(r.Context(), body)
	if err != nil {
		var exc *api.Exception
		if !errors.As(err, &exc) {
			s.log.LogAttrs(r.Context(), slog.LevelError, "operation failed", slog.String("request_id", c.id), slog.String("operation", c.op), slog.String("error", err.Error()))
			s.fail(w, c, http.StatusInternalServerError, errInternal.New("the operation failed on the server; its log has request %s", c.id))
			return
		}
		s.fail(w, c, http.StatusBadRequest, exc)
		return
	}
	if q, ok := out.(api.StartQueryOutput); ok {
		s.owners.add(q.QueryId, key)
	}
	b, err := awsjson.Marshal(out)
	if err != nil {
		s.fail(w, c, http.StatusInternalServerError, errInternal.New("encoding the response: %v", err))
		return
	}
	c.status = http.StatusOK
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Write(b)
}

// fail answers a request with an exception and records it.
func (s *Server) fail(w http.ResponseWriter, c *call, status int, err error) {
	c.status = status
	c.code = api.ExceptionName(err)
	if c.code == "" {
		c.code = errInternal.Name
	}
	s.writeError(w, c.code, status, err)
}

// writeError writes an AWS JSON 1.1 error response.
func (s *Server) writeError(w http.ResponseWriter, code string, status int, err error) {
	var exc *api.Exception
	msg := err.Error()
	if errors.As(err, &exc) {
		code, msg = exc.Name, exc.Message
	}
	b, _ := awsjson.Marshal(errorBody{Type: code, Message: msg})
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", code)
	w.WriteHeader(status)
	w.Write(b)
}

// errorBody is the body of an error response.
type errorBody struct {
	Type    string `json:"__type"`
	Message string `json:"message"`
}
