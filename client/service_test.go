package client_test

import (
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/api/apitest"
	"github.com/ctimport/ctimport/client"
	"github.com/ctimport/ctimport/engine"
	"github.com/ctimport/ctimport/internal/sigv4"
	"github.com/ctimport/ctimport/pipeline"
	"github.com/ctimport/ctimport/server"
	"github.com/ctimport/ctimport/sink/duckdbsink"
)

// TestService runs the api.Service suite against both implementations: an
// Engine over a DuckDB store, and a Client of a server on 127.0.0.1 over
// such an Engine.
func TestService(t *testing.T) {
	t.Run("Engine", func(t *testing.T) {
		apitest.Run(t, func(t *testing.T) api.Service { return newEngine(t) })
	})
	t.Run("Client", func(t *testing.T) {
		apitest.Run(t, func(t *testing.T) api.Service {
			srv, err := server.New(server.Config{Engine: newEngine(t), Keys: sigv4.Keys{accessKeyID: secretKey}})
			if err != nil {
				t.Fatal(err)
			}
			hs := httptest.NewServer(srv)
			t.Cleanup(hs.Close)
			c, err := client.New(hs.URL, goodKey, "")
			if err != nil {
				t.Fatal(err)
			}
			return c
		})
	})
}

// newEngine returns an Engine over a new DuckDB store, closed with t.
func newEngine(t *testing.T) *engine.Engine {
	t.Helper()
	store, err := duckdbsink.Open(t.Context(), filepath.Join(t.TempDir(), "service.duckdb"), duckdbsink.Options{Holder: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	eng := engine.New(store, engine.Options{Config: pipeline.Config{Backoff: time.Millisecond}})
	t.Cleanup(func() { eng.Close() })
	return eng
}
