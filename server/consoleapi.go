package server

import (
	"context"
	"net/http"

	"github.com/ctimport/ctimport/server/console"
)

// consoleBackend is the server as its web console sees it: the console
// signs in with the server's keys and calls the server's operations.
type consoleBackend struct{ s *Server }

// Authenticate implements console.Backend.
func (b consoleBackend) Authenticate(_ context.Context, id, secret string) (string, bool) {
	if !b.s.knownKey(id, secret, true) {
		return "", false
	}
	if role, ok := b.s.roles[id]; ok {
		return string(role), true
	}
	return string(RoleAdmin), true
}

// Serve implements console.Backend: the call is served, logged and counted
// as a signed request of access key key would be.
func (b consoleBackend) Serve(w http.ResponseWriter, r *http.Request, key, op string) {
	c := b.s.begin(w, op)
	c.via = "console"
	defer b.s.record(r, c)
	body, ok := b.s.readBody(w, r, c)
	if !ok {
		return
	}
	b.s.run(w, r, c, key, body)
}

var _ console.Backend = consoleBackend{}
