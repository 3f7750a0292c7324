package main

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/ctimport/ctimport/sink/duckdbsink"
)

// verified is the JSON verify prints.
type verified struct {
	Import string
	Agrees bool
	Files  int64
	Events int64
	Drift  []struct{ Kind, Location, Detail string }
}

// verifyJSON runs verify of import id, expects exit code, and returns its
// output, which must have exactly the members of verified.
func (h *harness) verifyJSON(code int, id string) (verified, outcome) {
	h.t.Helper()
	o := h.expect(code, "verify", "--import-id", id)
	var members map[string]json.RawMessage
	if err := json.Unmarshal([]byte(o.stdout), &members); err != nil {
		h.t.Fatalf("verify printed no JSON object: %v\n%s", err, o)
	}
	want := []string{"Agrees", "Drift", "Events", "Files", "Import"}
	if got := slices.Sorted(maps.Keys(members)); !slices.Equal(got, want) {
		h.t.Errorf("verify printed the members %v, want %v\n%s", got, want, o)
	}
	if string(members["Drift"]) == "null" {
		h.t.Errorf("verify printed Drift null, want a list\n%s", o)
	}
	return decode[verified](h.t, o), o
}

func TestVerify(t *testing.T) {
	t.Parallel()
	at := time.Date(2024, 5, 2, 9, 0, 0, 0, time.UTC)
	l := newLayout(t)
	var keys []string
	for i, name := range []string{"First", "Second", "Third"} {
		delivery := at.Add(time.Duration(10*(i+1)) * time.Minute)
		keys = append(keys, logKey("AWSLogs/", "123456789012", "us-east-1", delivery, name))
		l.log(keys[i], events(strings.ToLower(name), delivery.Add(-5*time.Minute), i+2)...)
	}
	l.put("AWSLogs/123456789012/CloudTrail/us-east-1/2024/05/02/notes.txt", []byte("not a log file"))
	srv, bucket := l.newBucket()
	h := newHarness(t, s3Env(srv)...)
	store := h.createStore("verify")
	imp, _ := h.startImport(exitOK, store.EventDataStoreArn, "s3://"+bucket+"/")

	got, _ := h.verifyJSON(exitOK, imp.ImportId)
	if want := (verified{Import: imp.ImportId, Agrees: true, Files: 3, Events: int64(l.count())}); got.Import != want.Import ||
		got.Agrees != want.Agrees || got.Files != want.Files || got.Events != want.Events || len(got.Drift) != 0 {
		t.Errorf("verify of the import as it is = %+v, want %+v", got, want)
	}

	// The second file goes; a fourth comes.
	if err := srv.Client().RemoveObject(t.Context(), bucket, keys[1], minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	delete(l.objects, keys[1])
	fourth := logKey("AWSLogs/", "123456789012", "us-east-1", at.Add(40*time.Minute), "Fourth")
	l.log(fourth, events("fourth", at.Add(35*time.Minute), 2)...)
	l.upload(srv, bucket)

	got, o := h.verifyJSON(exitDrift, imp.ImportId)
	var drift []string
	for _, d := range got.Drift {
		drift = append(drift, d.Kind+" "+d.Location)
		if d.Detail == "" {
			t.Errorf("drift %s of %s has no detail", d.Kind, d.Location)
		}
	}
	if want := []string{"vanished " + keys[1], "unimported " + fourth}; got.Agrees || !slices.Equal(drift, want) {
		t.Errorf("verify after a change of the bucket: Agrees %v, drift %q; want %q", got.Agrees, drift, want)
	}
	if msg := strings.TrimSuffix(o.stderr, "\n"); strings.Contains(msg, "\n") || !strings.Contains(msg, "1 vanished, 1 unimported") {
		t.Errorf("want one line on stderr counting the drift\n%s", o)
	}

	o = h.expect(exitDrift, "verify", "--import-id", imp.ImportId, "--output", "text")
	if n := strings.Count(o.stdout, "\nDRIFT\t"); n != 2 {
		t.Errorf("verify --output text printed %d DRIFT lines, want 2\n%s", n, o)
	}
}

func TestVerifyRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	h := newHarness(t)
	store := h.createStore("refused")
	imp, _ := h.startImport(exitOK, store.EventDataStoreArn, "file://"+dir+"/")

	o := h.expect(exitError, "verify", "--import-id", "00000000-0000-4000-8000-000000000000")
	checkOneLine(t, o, "ctimport: verify: ImportNotFoundException")
	o = h.expect(exitUsage, "verify", "--import-id", imp.ImportId, "--endpoint-url", "http://127.0.0.1:1")
	checkOneLine(t, o, "without --endpoint-url")
	o = h.expect(exitUsage, "verify")
	checkOneLine(t, o, "--import-id is required")

	held, err := duckdbsink.Open(t.Context(), h.db, duckdbsink.Options{Holder: "test holder"})
	if err != nil {
		t.Fatal(err)
	}
	o = h.expect(exitLocked, "verify", "--import-id", imp.ImportId)
	checkOneLine(t, o, "ctimport: verify: ", "is in use by test holder")
	if err := held.Close(); err != nil {
		t.Fatal(err)
	}
	h.verifyJSON(exitOK, imp.ImportId)
}
