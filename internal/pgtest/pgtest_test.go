package pgtest_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/ctimport/ctimport/internal/pgtest"
	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) {
	defer pgtest.StopShared()
	m.Run()
}

func connect(t *testing.T, url string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

func TestStartAndStop(t *testing.T) {
	s := pgtest.Start(t)
	if s.Pid() <= 0 {
		t.Fatalf("a running server has pid %d", s.Pid())
	}
	conn := connect(t, s.URL("postgres"))
	var user string
	if err := conn.QueryRow(context.Background(), "SELECT current_user").Scan(&user); err != nil {
		t.Fatal(err)
	}
	if user != pgtest.User {
		t.Errorf("connected as %q, want %q", user, pgtest.User)
	}
	conn.Close(context.Background())

	s.Stop()
	s.Stop() // stopping twice is fine
	if s.Pid() != 0 {
		t.Errorf("a stopped server has pid %d", s.Pid())
	}
	c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(s.Port()), time.Second)
	if err == nil {
		c.Close()
		t.Fatal("the server accepts connections after Stop")
	}
}

func TestSharedDatabases(t *testing.T) {
	a := pgtest.Shared(t)
	if b := pgtest.Shared(t); a != b {
		t.Fatal("Shared started a second server")
	}
	u1, u2 := a.NewDatabase(t), a.NewDatabase(t)
	if u1 == u2 {
		t.Fatalf("NewDatabase returned %s twice", u1)
	}
	ctx := context.Background()
	c1, c2 := connect(t, u1), connect(t, u2)
	if _, err := c1.Exec(ctx, "CREATE TABLE t (v int); INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := c1.QueryRow(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil || n != 1 {
		t.Fatalf("count = %d, %v", n, err)
	}
	if _, err := c2.Exec(ctx, "SELECT * FROM t"); err == nil {
		t.Error("a table of one database shows in another")
	}
}
