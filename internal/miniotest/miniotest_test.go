package miniotest_test

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/ctimport/ctimport/internal/miniotest"
	"github.com/minio/minio-go/v7"
)

func TestMain(m *testing.M) {
	defer miniotest.StopShared()
	m.Run()
}

func get(t *testing.T, s *miniotest.Server, bucket, key string) string {
	t.Helper()
	obj, err := s.Client().GetObject(context.Background(), bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	data, err := io.ReadAll(obj)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func TestRestartKeepsData(t *testing.T) {
	s := miniotest.Start(t)
	s.MakeBucket(t, "keep")
	s.Put(t, "keep", "a/b.json", []byte("hello"))
	if got := get(t, s, "keep", "a/b.json"); got != "hello" {
		t.Fatalf("got %q", got)
	}
	endpoint := s.Endpoint()

	s.Stop()
	s.Stop() // stopping twice is fine
	resp, err := http.Get(endpoint + "/minio/health/live")
	if err == nil {
		resp.Body.Close()
		t.Fatal("the server answers after Stop")
	}

	s.Restart(t)
	if s.Endpoint() != endpoint {
		t.Errorf("endpoint changed from %s to %s", endpoint, s.Endpoint())
	}
	if got := get(t, s, "keep", "a/b.json"); got != "hello" {
		t.Fatalf("after restart got %q", got)
	}
}

func TestShared(t *testing.T) {
	a := miniotest.Shared(t)
	b := miniotest.Shared(t)
	if a != b {
		t.Fatal("Shared started a second server")
	}
	b1, b2 := a.NewBucket(t), a.NewBucket(t)
	if b1 == b2 {
		t.Fatalf("NewBucket returned %s twice", b1)
	}
	a.Put(t, b1, "k", []byte("v"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := a.Client().StatObject(ctx, b2, "k", minio.StatObjectOptions{}); err == nil {
		t.Error("an object of one bucket shows in another")
	}
	if a.AccessKey() == "" || a.SecretKey() == "" {
		t.Error("empty root keys")
	}
}

func TestLaunch(t *testing.T) {
	s, err := miniotest.Launch(t.Logf)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Client().MakeBucket(ctx, "launched", minio.MakeBucketOptions{}); err != nil {
		s.Close()
		t.Fatal(err)
	}
	if s.Pid() <= 0 {
		t.Errorf("a running server has pid %d", s.Pid())
	}
	s.Close()
	if s.Pid() != 0 {
		t.Errorf("a stopped server has pid %d", s.Pid())
	}
	resp, err := http.Get(s.Endpoint() + "/minio/health/live")
	if err == nil {
		resp.Body.Close()
		t.Fatal("the server answers after Close")
	}
}
