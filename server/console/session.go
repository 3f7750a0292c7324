package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net/http"
	"sync"
	"time"
)

// Session lifetimes: a session ends after idleTimeout without a request,
// and after maxLifetime in any case.
const (
	idleTimeout = time.Hour
	maxLifetime = 12 * time.Hour
)

// maxSessions bounds the sessions held at once.
const maxSessions = 1000

// cookieName names the session cookie; tokenHeader, the header that
// carries a session's CSRF token.
const (
	cookieName  = "ctimport_console"
	tokenHeader = "X-Csrf-Token"
)

// errTooManySessions refuses a sign-in while maxSessions are held.
var errTooManySessions = errors.New("console: too many sessions are open: sign out of one or wait for one to expire")

// session is a signed-in browser: the access key it acts as and the role
// of that key. Its fields are read by app.html.
type session struct {
	id      string
	token   string
	key     string
	role    string
	created time.Time
	seen    time.Time
}

// KeyID is the access key the session acts as.
func (s *session) KeyID() string { return s.key }

// Role is the role of that key.
func (s *session) Role() string { return s.role }

// Token is the CSRF token the session's requests must carry.
func (s *session) Token() string { return s.token }

// checkToken reports whether token is the session's CSRF token.
func (s *session) checkToken(token string) bool {
	return token != "" && subtle.ConstantTimeCompare([]byte(token), []byte(s.token)) == 1
}

// sessions are the sessions held, by ID, in memory only: a restart of the
// server signs everyone out.
type sessions struct {
	now func() time.Time
	mu  sync.Mutex
	by  map[string]*session
}

func newSessions(now func() time.Time) *sessions {
	return &sessions{now: now, by: make(map[string]*session)}
}

// start opens a session for access key key of role role.
func (ss *sessions) start(key, role string) (*session, error) {
	id, token := randomID(), randomID()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := ss.now()
	if len(ss.by) >= maxSessions {
		for id, s := range ss.by {
			if s.expired(now) {
				delete(ss.by, id)
			}
		}
	}
	if len(ss.by) >= maxSessions {
		return nil, errTooManySessions
	}
	s := &session{id: id, token: token, key: key, role: role, created: now, seen: now}
	ss.by[id] = s
	return s, nil
}

// get returns the live session with ID id, or nil, and counts the request
// against its idle timeout.
func (ss *sessions) get(id string) *session {
	if id == "" {
		return nil
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.by[id]
	if !ok {
		return nil
	}
	now := ss.now()
	if s.expired(now) {
		delete(ss.by, id)
		return nil
	}
	s.seen = now
	return s
}

// drop ends the session with ID id.
func (ss *sessions) drop(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.by, id)
}

func (s *session) expired(now time.Time) bool {
	return now.Sub(s.seen) > idleTimeout || now.Sub(s.created) > maxLifetime
}

// randomID returns 256 random bits as unpadded base64url.
func randomID() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails: it crashes the program instead
	return base64.RawURLEncoding.EncodeToString(b)
}

// sessionID returns the session ID of a request's cookie, or "".
func sessionID(r *http.Request) string {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return ""
	}
	return c.Value
}

// sessionCookie is the cookie that holds session ID id.
func sessionCookie(r *http.Request, id string) *http.Cookie {
	return &http.Cookie{
		Name:     cookieName,
		Value:    id,
		Path:     Prefix,
		MaxAge:   int(maxLifetime / time.Second),
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	}
}

// clearCookie is the cookie that makes a browser forget the session's.
func clearCookie(r *http.Request) *http.Cookie {
	c := sessionCookie(r, "")
	c.MaxAge = -1
	return c
}
