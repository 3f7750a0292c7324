package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"golang.org/x/sync/errgroup"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/internal/miniotest"
	"github.com/ctimport/ctimport/internal/trailtest"
)

// The real CloudTrail log files the tests import. The shared corpus is used
// when it is there.
const (
	corpusDir       = "../../testdata/corpus"
	sharedCorpusDir = "../../../shared/corpus"
)

// corpusSets returns the directories of the corpus sets, each laid out as a
// bucket with an AWSLogs/ tree.
func corpusSets(t *testing.T) []string {
	t.Helper()
	sets := []string{
		filepath.Join(corpusDir, "invictus-2023-07-10"),
		filepath.Join(corpusDir, "traildiscover-examples"),
	}
	flaws := filepath.Join(sharedCorpusDir, "flaws2-2018-11-28")
	if _, err := os.Stat(flaws); err == nil {
		sets = append(sets, flaws)
	}
	return sets
}

// event is what a test knows of a record it put in a log file.
type event struct {
	id string
	at time.Time
}

// layout is the content of a bucket under test: its objects, and the events
// of each log file among them.
type layout struct {
	t       *testing.T
	objects map[string][]byte
	events  map[string][]event // by key of log file
	// retention is the retention period, in days, of the event data store
	// the layout is imported into: count and ids leave out the events
	// older than it.
	retention int
}

func newLayout(t *testing.T) *layout {
	return &layout{t: t, objects: map[string][]byte{}, events: map[string][]event{}, retention: api.DefaultRetentionPeriod}
}

// retained reports whether an import into a store of l's retention period
// keeps e.
func (l *layout) retained(e event) bool {
	return !e.at.Before(time.Now().Add(-time.Duration(l.retention) * 24 * time.Hour))
}

// put adds an object that is not a log file to import.
func (l *layout) put(key string, data []byte) {
	l.objects[key] = data
	delete(l.events, key)
}

// log adds a log file holding a minimal record for each event.
func (l *layout) log(key string, events ...event) {
	l.t.Helper()
	records := make([]any, len(events))
	for i, e := range events {
		records[i] = record(e)
	}
	l.objects[key] = trailtest.Gzip(mustJSON(l.t, map[string]any{"Records": records}))
	l.events[key] = events
}

// logRaw adds a log file made of records as they are, gzipped.
func (l *layout) logRaw(key string, records []json.RawMessage) {
	l.t.Helper()
	l.objects[key] = trailtest.Gzip(mustJSON(l.t, map[string]any{"Records": records}))
	l.events[key] = eventsOf(l.t, records)
}

// corpus adds every log file below dir, keyed by its path relative to dir
// after root.
func (l *layout) corpus(dir, root string) {
	l.t.Helper()
	files, err := trailtest.LogFiles(dir)
	if err != nil {
		l.t.Fatalf("read corpus %s: %v", dir, err)
	}
	for _, f := range files {
		key := root + f.Key
		l.objects[key] = f.Data
		l.events[key] = eventsOf(l.t, readRecords(l.t, f.Data))
	}
}

// logKeys returns the keys of the log files, sorted.
func (l *layout) logKeys() []string {
	return slices.Sorted(maps.Keys(l.events))
}

// count returns the number of events within the retention period in the
// log files of keys, or of every log file when keys is empty.
func (l *layout) count(keys ...string) int {
	if len(keys) == 0 {
		keys = l.logKeys()
	}
	n := 0
	for _, k := range keys {
		for _, e := range l.events[k] {
			if l.retained(e) {
				n++
			}
		}
	}
	return n
}

// size returns the size of the log files of keys, or of every log file
// when keys is empty.
func (l *layout) size(keys ...string) int64 {
	if len(keys) == 0 {
		keys = l.logKeys()
	}
	var n int64
	for _, k := range keys {
		n += int64(len(l.objects[k]))
	}
	return n
}

// ids returns the eventIDs within the retention period of the log files of
// keys (of every log file when keys is empty) whose events keep tells to
// keep (all when keep is nil).
func (l *layout) ids(keep func(event) bool, keys ...string) map[string]bool {
	if len(keys) == 0 {
		keys = l.logKeys()
	}
	ids := map[string]bool{}
	for _, k := range keys {
		for _, e := range l.events[k] {
			if l.retained(e) && (keep == nil || keep(e)) {
				ids[e.id] = true
			}
		}
	}
	return ids
}

// upload stores the objects in bucket of srv, a few at a time.
func (l *layout) upload(srv *miniotest.Server, bucket string) {
	l.t.Helper()
	g, ctx := errgroup.WithContext(l.t.Context())
	g.SetLimit(8)
	for key, data := range l.objects {
		g.Go(func() error {
			_, err := srv.Client().PutObject(ctx, bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
			if err != nil {
				return fmt.Errorf("put %s: %w", key, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		l.t.Fatal(err)
	}
}

// write stores the objects as files below dir, as "aws s3 sync" would;
// folder markers become directories.
func (l *layout) write(dir string) {
	l.t.Helper()
	for key, data := range l.objects {
		path := filepath.Join(dir, filepath.FromSlash(key))
		if strings.HasSuffix(key, "/") {
			if err := os.MkdirAll(path, 0o755); err != nil {
				l.t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			l.t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			l.t.Fatal(err)
		}
	}
}

// newBucket makes a bucket on the shared MinIO server and fills it with l.
func (l *layout) newBucket() (*miniotest.Server, string) {
	l.t.Helper()
	srv := miniotest.Shared(l.t)
	bucket := srv.NewBucket(l.t)
	l.upload(srv, bucket)
	return srv, bucket
}

// logKey is the key of a log file of account and region delivered at
// delivery, below root ("" or a prefix ending in "/", up to AWSLogs/ and an
// organization, if any).
func logKey(root, account, region string, delivery time.Time, random string) string {
	return fmt.Sprintf("%s%s/CloudTrail/%s/%s/%s_CloudTrail_%s_%s_%s.json.gz",
		root, account, region, delivery.Format("2006/01/02"), account, region, delivery.Format("20060102T1504Z"), random)
}

// record is a minimal CloudTrail record of e.
func record(e event) map[string]any {
	return map[string]any{
		"eventVersion":       "1.09",
		"userIdentity":       map[string]any{"type": "AWSService", "invokedBy": "cloudtrail.amazonaws.com"},
		"eventTime":          e.at.UTC().Format(time.RFC3339),
		"eventSource":        "s3.amazonaws.com",
		"eventName":          "GetBucketAcl",
		"awsRegion":          "us-east-1",
		"sourceIPAddress":    "cloudtrail.amazonaws.com",
		"userAgent":          "cloudtrail.amazonaws.com",
		"requestParameters":  map[string]any{"bucketName": "trail-bucket"},
		"responseElements":   nil,
		"requestID":          "REQ" + e.id,
		"eventID":            e.id,
		"readOnly":           true,
		"eventType":          "AwsApiCall",
		"managementEvent":    true,
		"recipientAccountId": "123456789012",
		"eventCategory":      "Management",
	}
}

// events returns n events, at every minute from first, with IDs of tag.
func events(tag string, first time.Time, n int) []event {
	evs := make([]event, n)
	for i := range evs {
		evs[i] = event{id: fmt.Sprintf("%s-%04d", tag, i), at: first.Add(time.Duration(i) * time.Minute)}
	}
	return evs
}

// rekeyed returns copies of records with the eventIDs ids.
func rekeyed(t *testing.T, records []json.RawMessage, ids []string) []json.RawMessage {
	t.Helper()
	out := make([]json.RawMessage, len(records))
	for i, rec := range records {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(rec, &m); err != nil {
			t.Fatal(err)
		}
		m["eventID"] = mustJSON(t, ids[i])
		out[i] = mustJSON(t, m)
	}
	return out
}

// readRecords returns the records of a gzip log file.
func readRecords(t *testing.T, data []byte) []json.RawMessage {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ Records []json.RawMessage }
	if err := json.NewDecoder(zr).Decode(&doc); err != nil {
		t.Fatal(err)
	}
	return doc.Records
}

// corpusRecords returns the records of every log file below dir, in path order.
func corpusRecords(t *testing.T, dir string) []json.RawMessage {
	t.Helper()
	l := newLayout(t)
	l.corpus(dir, "")
	var records []json.RawMessage
	for _, k := range l.logKeys() {
		records = append(records, readRecords(t, l.objects[k])...)
	}
	return records
}

// eventsOf returns the eventID and eventTime of records.
func eventsOf(t *testing.T, records []json.RawMessage) []event {
	t.Helper()
	evs := make([]event, len(records))
	for i, rec := range records {
		var r struct{ EventID, EventTime string }
		if err := json.Unmarshal(rec, &r); err != nil {
			t.Fatal(err)
		}
		at, err := time.Parse(time.RFC3339, r.EventTime)
		if err != nil || r.EventID == "" {
			t.Fatalf("record %d: eventID %q, eventTime %q", i, r.EventID, r.EventTime)
		}
		evs[i] = event{id: r.EventID, at: at}
	}
	return evs
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// denyObject sets a policy on bucket that lets anyone list it and read
// its objects, all but key.
func denyObject(t *testing.T, srv *miniotest.Server, bucket, key string) {
	t.Helper()
	anyone := map[string]any{"AWS": []string{"*"}}
	setPolicy(t, srv, bucket, map[string]any{
		"Version": "2012-10-17",
		"Statement": []any{
			map[string]any{"Effect": "Allow", "Principal": anyone, "Action": []string{"s3:ListBucket", "s3:GetBucketLocation"}, "Resource": []string{"arn:aws:s3:::" + bucket}},
			map[string]any{"Effect": "Allow", "Principal": anyone, "Action": []string{"s3:GetObject"}, "Resource": []string{"arn:aws:s3:::" + bucket + "/*"}},
			map[string]any{"Effect": "Deny", "Principal": anyone, "Action": []string{"s3:GetObject"}, "Resource": []string{"arn:aws:s3:::" + bucket + "/" + key}},
		},
	})
}

// setPolicy sets the bucket policy of bucket.
func setPolicy(t *testing.T, srv *miniotest.Server, bucket string, policy any) {
	t.Helper()
	if err := srv.Client().SetBucketPolicy(context.Background(), bucket, string(mustJSON(t, policy))); err != nil {
		t.Fatalf("set policy of %s: %v", bucket, err)
	}
}
