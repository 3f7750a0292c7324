// Package console is the web console of a ctimport server: pages in a
// browser for the event data stores, the imports with their progress and
// failures, and a query editor with Lake's example queries, charts and
// downloads. The server mounts it under /console/ on its own listener.
//
// The console is a client of the server's operations: its pages call them
// through POST /console/api/<Operation> with the JSON body of the AWS JSON
// protocol, which the Backend runs exactly as a signed request of the
// signed-in access key, so the console shows nothing the API would not.
//
// A person signs in with one of the server's access key pairs. The secret
// is checked once and kept nowhere; the browser holds a random session ID
// in an HttpOnly, SameSite=Strict cookie scoped to /console/. Every request
// that changes state must come from the server's own origin (Origin, and
// Sec-Fetch-Site when the browser sends it) and carry the session's CSRF
// token in a header. Without a session the console serves only its sign-in
// page and the files that page is made of.
package console

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

// Prefix is the path under which the server mounts the console.
const Prefix = "/console/"

// Backend is the server the console is part of: its access keys and its
// operations.
type Backend interface {
	// Authenticate returns the role of access key id ("admin" or "read")
	// when secret is its secret, compared in constant time, and false for
	// an unknown key or any other secret.
	Authenticate(ctx context.Context, id, secret string) (role string, ok bool)
	// Serve runs operation op with the request body of r as the holder of
	// access key key: with the same limits, checks of the input and of the
	// key's role, logs and metrics as a signed API request, and writes the
	// API's response (AWS JSON 1.1, or an exception with its HTTP status)
	// to w. It reads r's body and honours r's context.
	Serve(w http.ResponseWriter, r *http.Request, key, op string)
}

// Sample is one of the example queries the query editor offers; the
// placeholder event_data_store_ID in its statement stands for the ID of
// the event data store chosen in the editor.
type Sample struct {
	Name      string `json:"name"`
	Statement string `json:"statement"`
}

// Config configures a Console.
type Config struct {
	// Backend authenticates access keys and runs the operations; required.
	Backend Backend
	// Samples are the example queries of the query editor.
	Samples []Sample
	// Now tells the time, for the expiry of sessions; nil means time.Now.
	Now func() time.Time
}

// Console is an http.Handler serving the web console under Prefix.
type Console struct {
	backend  Backend
	samples  []byte // Samples as JSON
	sessions *sessions
	files    fs.FS
	app      *template.Template
}

//go:embed assets
var assets embed.FS

// public are the files of assets/ served without a session: the sign-in
// page's.
var public = map[string]bool{"login.js": true, "style.css": true}

// maxLoginBytes bounds the body of a sign-in request.
const maxLoginBytes = 4 << 10

// New returns a Console; it fails without a Backend.
func New(cfg Config) (*Console, error) {
	if cfg.Backend == nil {
		return nil, errors.New("console: no backend")
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	samples := cfg.Samples
	if samples == nil {
		samples = []Sample{}
	}
	b, err := json.Marshal(samples)
	if err != nil {
		return nil, fmt.Errorf("console: encoding the samples: %w", err)
	}
	files, err := fs.Sub(assets, "assets")
	if err != nil {
		return nil, fmt.Errorf("console: assets: %w", err)
	}
	app, err := template.ParseFS(files, "app.html")
	if err != nil {
		return nil, fmt.Errorf("console: app.html: %w", err)
	}
	return &Console{backend: cfg.Backend, samples: b, sessions: newSessions(now), files: files, app: app}, nil
}

// ServeHTTP serves one request under Prefix.
func (c *Console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	secure(w)
	rest, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
		return
	}
	get := r.Method == http.MethodGet || r.Method == http.MethodHead
	switch {
	case rest == "" && get:
		c.serveIndex(w, r)
	case rest == "login" && r.Method == http.MethodPost:
		c.serveLogin(w, r)
	case rest == "logout" && r.Method == http.MethodPost:
		if s := c.guard(w, r); s != nil {
			c.sessions.drop(s.id)
			http.SetCookie(w, clearCookie(r))
			w.WriteHeader(http.StatusNoContent)
		}
	case rest == "samples" && get:
		if s := c.session(w, r); s != nil {
			w.Header().Set("Content-Type", "application/json")
			w.Write(c.samples)
		}
	case strings.HasPrefix(rest, "api/") && r.Method == http.MethodPost:
		if s := c.guard(w, r); s != nil {
			c.backend.Serve(w, r, s.key, strings.TrimPrefix(rest, "api/"))
		}
	case strings.HasPrefix(rest, "static/") && get:
		c.serveStatic(w, r, strings.TrimPrefix(rest, "static/"))
	default:
		fail(w, http.StatusNotFound, "no such page or call in the console")
	}
}

// secure sets the headers every answer of the console carries: scripts,
// styles and connections from the server's origin only, no framing, no
// sniffing of types, no referrer.
func secure(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
}

// serveIndex serves the console's page to a signed-in browser, and the
// sign-in page to any other.
func (c *Console) serveIndex(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	s := c.sessions.get(sessionID(r))
	if s == nil {
		c.serveFile(w, r, "login.html")
		return
	}
	var buf bytes.Buffer
	if err := c.app.Execute(&buf, s); err != nil {
		fail(w, http.StatusInternalServerError, "rendering the console failed")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}

// serveStatic serves a file of the console: those of the sign-in page to
// anyone, the others with a session.
func (c *Console) serveStatic(w http.ResponseWriter, r *http.Request, name string) {
	if name == "" || name != path.Clean(name) || strings.HasPrefix(name, ".") || name == "app.html" || name == "login.html" {
		fail(w, http.StatusNotFound, "no such file in the console")
		return
	}
	if !public[name] && c.session(w, r) == nil {
		return
	}
	w.Header().Set("Cache-Control", "no-cache")
	c.serveFile(w, r, name)
}

func (c *Console) serveFile(w http.ResponseWriter, r *http.Request, name string) {
	b, err := fs.ReadFile(c.files, name)
	if err != nil {
		fail(w, http.StatusNotFound, "no such file in the console")
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	if r.Method == http.MethodHead {
		return
	}
	w.Write(b)
}

// credentials is the body of a sign-in request.
type credentials struct {
	AccessKeyID     string `json:"accessKeyId"`
	SecretAccessKey string `json:"secretAccessKey"`
}

// serveLogin signs a browser in with an access key pair of the server.
func (c *Console) serveLogin(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(w, r) {
		return
	}
	var in credentials
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxLoginBytes))
	if err == nil {
		err = json.Unmarshal(b, &in)
	}
	if err != nil || in.AccessKeyID == "" || in.SecretAccessKey == "" {
		fail(w, http.StatusBadRequest, "send an access key ID and its secret access key")
		return
	}
	role, ok := c.backend.Authenticate(r.Context(), in.AccessKeyID, in.SecretAccessKey)
	if !ok {
		fail(w, http.StatusUnauthorized, "the access key ID or the secret access key is wrong")
		return
	}
	s, err := c.sessions.start(in.AccessKeyID, role)
	if err != nil {
		fail(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	http.SetCookie(w, sessionCookie(r, s.id))
	w.WriteHeader(http.StatusNoContent)
}

// session returns the session of a request, or answers 401 and returns nil.
func (c *Console) session(w http.ResponseWriter, r *http.Request) *session {
	s := c.sessions.get(sessionID(r))
	if s == nil {
		fail(w, http.StatusUnauthorized, "sign in first")
	}
	return s
}

// guard returns the session of a request that changes state, or answers
// and returns nil: it must come from the server's own origin and carry its
// session's CSRF token.
func (c *Console) guard(w http.ResponseWriter, r *http.Request) *session {
	if !sameOrigin(w, r) {
		return nil
	}
	s := c.session(w, r)
	if s == nil {
		return nil
	}
	if !s.checkToken(r.Header.Get(tokenHeader)) {
		fail(w, http.StatusForbidden, "the request lacks the session's CSRF token")
		return nil
	}
	return s
}

// sameOrigin reports whether a request comes from a page of the server's
// own origin, or answers 403 and returns false. Browsers send Origin with
// every POST; Sec-Fetch-Site, when they send it, must say same-origin.
func sameOrigin(w http.ResponseWriter, r *http.Request) bool {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	origin := r.Header.Get("Origin")
	site := r.Header.Get("Sec-Fetch-Site")
	if origin == "" || origin != scheme+"://"+r.Host || (site != "" && site != "same-origin") {
		fail(w, http.StatusForbidden, "the console answers requests of its own pages only")
		return false
	}
	return true
}

// fail answers with an error of the console (not of an operation) as JSON,
// shaped like the API's errors.
func fail(w http.ResponseWriter, status int, message string) {
	b, _ := json.Marshal(map[string]string{"__type": "ConsoleException", "message": message})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(b)
}
