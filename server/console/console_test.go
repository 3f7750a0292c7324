package console

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"
)

// fakeBackend knows one admin key and one read key, and answers every
// operation with its name, the key and the body it was given.
type fakeBackend struct{}

func (fakeBackend) Authenticate(_ context.Context, id, secret string) (string, bool) {
	switch {
	case id == "admin-key" && secret == "admin-secret":
		return "admin", true
	case id == "read-key" && secret == "read-secret":
		return "read", true
	}
	return "", false
}

func (fakeBackend) Serve(w http.ResponseWriter, r *http.Request, key, op string) {
	body, _ := io.ReadAll(r.Body)
	io.WriteString(w, op+" "+key+" "+string(body))
}

const origin = "http://console.test"

// client is a browser of the console: its cookie jar holds one cookie.
type client struct {
	t      *testing.T
	h      http.Handler
	cookie *http.Cookie
	token  string
}

func (c *client) do(method, path, body string, header map[string]string) *httptest.ResponseRecorder {
	c.t.Helper()
	req := httptest.NewRequest(method, origin+path, strings.NewReader(body))
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if c.cookie != nil {
		req.AddCookie(c.cookie)
	}
	rec := httptest.NewRecorder()
	c.h.ServeHTTP(rec, req)
	for _, ck := range rec.Result().Cookies() {
		if ck.Name == cookieName {
			c.cookie = ck
			if ck.MaxAge < 0 {
				c.cookie = nil
			}
		}
	}
	return rec
}

var tokenMeta = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)

// login signs c in with id and secret and returns the status of the
// sign-in; once signed in, c holds the session's CSRF token.
func (c *client) login(id, secret string) int {
	c.t.Helper()
	rec := c.do(http.MethodPost, "/console/login", `{"accessKeyId":"`+id+`","secretAccessKey":"`+secret+`"}`, map[string]string{"Origin": origin, "Sec-Fetch-Site": "same-origin"})
	if rec.Code == http.StatusNoContent {
		page := c.do(http.MethodGet, "/console/", "", nil).Body.String()
		m := tokenMeta.FindStringSubmatch(page)
		if m == nil {
			c.t.Fatalf("the console's page after sign-in has no CSRF token:\n%s", page)
		}
		c.token = m[1]
	}
	return rec.Code
}

func newConsole(t *testing.T, now func() time.Time) *Console {
	t.Helper()
	c, err := New(Config{Backend: fakeBackend{}, Samples: []Sample{{Name: "all", Statement: "SELECT * FROM event_data_store_ID"}}, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSignIn(t *testing.T) {
	con := newConsole(t, nil)
	tests := []struct {
		name, id, secret string
		want             int
	}{
		{"admin key", "admin-key", "admin-secret", http.StatusNoContent},
		{"read key", "read-key", "read-secret", http.StatusNoContent},
		{"wrong secret", "admin-key", "read-secret", http.StatusUnauthorized},
		{"unknown key", "nobody", "admin-secret", http.StatusUnauthorized},
		{"no secret", "admin-key", "", http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &client{t: t, h: con}
			if got := c.login(tt.id, tt.secret); got != tt.want {
				t.Fatalf("sign-in: HTTP %d, want %d", got, tt.want)
			}
			if (c.cookie != nil) != (tt.want == http.StatusNoContent) {
				t.Fatalf("session cookie %v after HTTP %d", c.cookie, tt.want)
			}
			if c.cookie == nil {
				return
			}
			if !c.cookie.HttpOnly || c.cookie.SameSite != http.SameSiteStrictMode || c.cookie.Path != Prefix || len(c.cookie.Value) < 40 {
				t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=%s and a long random value", c.cookie, Prefix)
			}
			if strings.Contains(c.do(http.MethodGet, "/console/", "", nil).Body.String(), tt.secret) {
				t.Error("the console's page holds the secret")
			}
		})
	}
}

// TestRefused checks that every call of an operation needs a session, the
// server's own origin and the session's CSRF token.
func TestRefused(t *testing.T) {
	con := newConsole(t, nil)
	signedIn := &client{t: t, h: con}
	signedIn.login("admin-key", "admin-secret")
	good := func() map[string]string {
		return map[string]string{"Origin": origin, "Sec-Fetch-Site": "same-origin", tokenHeader: signedIn.token}
	}
	with := func(k, v string) map[string]string {
		h := good()
		if v == "" {
			delete(h, k)
		} else {
			h[k] = v
		}
		return h
	}
	tests := []struct {
		name    string
		session bool
		method  string
		path    string
		header  map[string]string
		want    int
	}{
		{"a call with all it needs", true, http.MethodPost, "/console/api/ListImports", good(), http.StatusOK},
		{"a call without the session cookie", false, http.MethodPost, "/console/api/ListImports", good(), http.StatusUnauthorized},
		{"a call from a foreign origin", true, http.MethodPost, "/console/api/ListImports", with("Origin", "http://evil.test"), http.StatusForbidden},
		{"a call from another port", true, http.MethodPost, "/console/api/ListImports", with("Origin", "http://console.test:8080"), http.StatusForbidden},
		{"a call without Origin", true, http.MethodPost, "/console/api/ListImports", with("Origin", ""), http.StatusForbidden},
		{"a call the browser says is cross-site", true, http.MethodPost, "/console/api/ListImports", with("Sec-Fetch-Site", "cross-site"), http.StatusForbidden},
		{"a call without the CSRF token", true, http.MethodPost, "/console/api/ListImports", with(tokenHeader, ""), http.StatusForbidden},
		{"a call with another CSRF token", true, http.MethodPost, "/console/api/ListImports", with(tokenHeader, "forged"), http.StatusForbidden},
		{"a call by GET", true, http.MethodGet, "/console/api/ListImports", good(), http.StatusNotFound},
		{"sign-out without the CSRF token", true, http.MethodPost, "/console/logout", with(tokenHeader, ""), http.StatusForbidden},
		{"sign-in from a foreign origin", false, http.MethodPost, "/console/login", with("Origin", "http://evil.test"), http.StatusForbidden},
		{"the samples without a session", false, http.MethodGet, "/console/samples", nil, http.StatusUnauthorized},
		{"the console's script without a session", false, http.MethodGet, "/console/static/app.js", nil, http.StatusUnauthorized},
		{"the chart library without a session", false, http.MethodGet, "/console/static/vendor/chart.umd.min.js", nil, http.StatusUnauthorized},
		{"the sign-in script without a session", false, http.MethodGet, "/console/static/login.js", nil, http.StatusOK},
		{"the console's script with a session", true, http.MethodGet, "/console/static/app.js", nil, http.StatusOK},
		{"the page template as a file", true, http.MethodGet, "/console/static/app.html", nil, http.StatusNotFound},
		{"a path out of the assets", true, http.MethodGet, "/console/static/../console.go", nil, http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := &client{t: t, h: con}
			if tt.session {
				c.cookie = signedIn.cookie
			}
			body := ""
			if tt.path == "/console/login" {
				body = `{"accessKeyId":"admin-key","secretAccessKey":"admin-secret"}`
			}
			rec := c.do(tt.method, tt.path, body, tt.header)
			if rec.Code != tt.want {
				t.Fatalf("HTTP %d, want %d: %s", rec.Code, tt.want, rec.Body)
			}
			for _, h := range []string{"Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options"} {
				if rec.Header().Get(h) == "" {
					t.Errorf("no %s header", h)
				}
			}
			if tt.path == "/console/login" && c.cookie != nil {
				t.Error("a refused sign-in set a session cookie")
			}
		})
	}
}

func TestCallAsSignedInKey(t *testing.T) {
	con := newConsole(t, nil)
	c := &client{t: t, h: con}
	c.login("read-key", "read-secret")
	rec := c.do(http.MethodPost, "/console/api/StartImport", `{"ImportId":"x"}`, map[string]string{"Origin": origin, tokenHeader: c.token})
	if got, want := rec.Body.String(), `StartImport read-key {"ImportId":"x"}`; got != want {
		t.Errorf("the backend got %q, want %q", got, want)
	}
	page := c.do(http.MethodGet, "/console/", "", nil).Body.String()
	if !strings.Contains(page, `<meta name="role" content="read">`) || !strings.Contains(page, `<meta name="access-key-id" content="read-key">`) {
		t.Errorf("the page does not name the key and its role:\n%s", page)
	}
	if got := c.do(http.MethodGet, "/console/samples", "", nil).Body.String(); got != `[{"name":"all","statement":"SELECT * FROM event_data_store_ID"}]` {
		t.Errorf("samples: %s", got)
	}
}

func TestSessionEnds(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	con := newConsole(t, func() time.Time { return now })
	call := func(c *client) int {
		return c.do(http.MethodPost, "/console/api/ListImports", "{}", map[string]string{"Origin": origin, tokenHeader: c.token}).Code
	}
	t.Run("sign-out", func(t *testing.T) {
		c := &client{t: t, h: con}
		c.login("admin-key", "admin-secret")
		stolen := *c.cookie
		if rec := c.do(http.MethodPost, "/console/logout", "", map[string]string{"Origin": origin, tokenHeader: c.token}); rec.Code != http.StatusNoContent || c.cookie != nil {
			t.Fatalf("sign-out: HTTP %d, cookie %v", rec.Code, c.cookie)
		}
		c.cookie = &stolen
		if got := call(c); got != http.StatusUnauthorized {
			t.Errorf("a call with the cookie of an ended session: HTTP %d", got)
		}
	})
	t.Run("idle", func(t *testing.T) {
		c := &client{t: t, h: con}
		c.login("admin-key", "admin-secret")
		now = now.Add(idleTimeout - time.Minute)
		if got := call(c); got != http.StatusOK {
			t.Fatalf("a call within the idle timeout: HTTP %d", got)
		}
		now = now.Add(idleTimeout + time.Minute)
		if got := call(c); got != http.StatusUnauthorized {
			t.Errorf("a call after the idle timeout: HTTP %d", got)
		}
	})
	t.Run("lifetime", func(t *testing.T) {
		c := &client{t: t, h: con}
		c.login("admin-key", "admin-secret")
		for range int(maxLifetime/idleTimeout) + 1 {
			now = now.Add(idleTimeout - time.Minute)
			call(c)
		}
		if got := call(c); got != http.StatusUnauthorized {
			t.Errorf("a call after the session's lifetime: HTTP %d", got)
		}
	})
}

func TestTooManySessions(t *testing.T) {
	con := newConsole(t, nil)
	for i := range maxSessions {
		if got := (&client{t: t, h: con}).login("admin-key", "admin-secret"); got != http.StatusNoContent {
			t.Fatalf("sign-in %d: HTTP %d", i, got)
		}
	}
	if got := (&client{t: t, h: con}).login("admin-key", "admin-secret"); got != http.StatusServiceUnavailable {
		t.Errorf("a sign-in beyond %d sessions: HTTP %d", maxSessions, got)
	}
}

func TestSecureCookieOverTLS(t *testing.T) {
	con := newConsole(t, nil)
	req := httptest.NewRequest(http.MethodPost, "https://console.test/console/login", strings.NewReader(`{"accessKeyId":"admin-key","secretAccessKey":"admin-secret"}`))
	req.Header.Set("Origin", "https://console.test")
	rec := httptest.NewRecorder()
	con.ServeHTTP(rec, req)
	cookies := rec.Result().Cookies()
	if rec.Code != http.StatusNoContent || len(cookies) != 1 || !cookies[0].Secure {
		t.Errorf("sign-in over TLS: HTTP %d, cookies %v; want one Secure cookie", rec.Code, cookies)
	}
	req = httptest.NewRequest(http.MethodPost, "https://console.test/console/login", strings.NewReader(`{}`))
	req.Header.Set("Origin", "http://console.test")
	rec = httptest.NewRecorder()
	con.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Errorf("a sign-in over TLS from the http origin: HTTP %d", rec.Code)
	}
}
