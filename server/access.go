package server

import (
	"sync"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/internal/awsjson"
)

// Role is what the holder of an access key may do.
type Role string

// The roles of access keys.
const (
	// RoleAdmin may call every operation.
	RoleAdmin Role = "admin"
	// RoleRead may describe and list event data stores, imports and their
	// failures, run queries and read their results, and cancel the queries
	// it started.
	RoleRead Role = "read"
)

// readOperations are the operations RoleRead may call; CancelQuery only
// for its own queries.
var readOperations = map[string]bool{
	"GetEventDataStore":   true,
	"ListEventDataStores": true,
	"GetImport":           true,
	"ListImports":         true,
	"ListImportFailures":  true,
	"StartQuery":          true,
	"DescribeQuery":       true,
	"GetQueryResults":     true,
	"CancelQuery":         true,
	"ListQueries":         true,
}

// maxOwners is how many queries the server remembers the starter of.
const maxOwners = 10_000

// owners remembers which access key started each query, the most recent
// maxOwners of them.
type owners struct {
	mu    sync.Mutex
	by    map[string]string // access key ID by query ID
	order []string          // query IDs, oldest first
}

func (o *owners) add(queryID, key string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.by == nil {
		o.by = make(map[string]string)
	}
	if len(o.order) == maxOwners {
		delete(o.by, o.order[0])
		o.order = o.order[1:]
	}
	o.by[queryID] = key
	o.order = append(o.order, queryID)
}

func (o *owners) owner(queryID string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.by[queryID]
}

// authorize returns an AccessDeniedException unless the holder of key may
// call operation op with body.
func (s *Server) authorize(key, op string, body []byte) error {
	role, ok := s.roles[key]
	if !ok || role == RoleAdmin {
		return nil
	}
	if !readOperations[op] {
		return api.ErrAccessDenied.New("access key %s has the role %s, which may not call %s", key, role, op)
	}
	if op == "CancelQuery" {
		var in api.CancelQueryInput
		if err := awsjson.Unmarshal(body, &in); err == nil && s.owners.owner(in.QueryId) != key {
			return api.ErrAccessDenied.New("access key %s has the role %s, which may cancel only the queries it started", key, role)
		}
	}
	return nil
}
