package logfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf8"

	"github.com/ctimport/ctimport/sink"
)

func FuzzDecoder(f *testing.F) {
	for _, path := range corpusFiles(f) {
		if fi, err := os.Stat(path); err == nil && fi.Size() < 2048 && strings.HasPrefix(path, filepath.Clean(corpusDir)) {
			f.Add(gunzipFile(f, path))
		}
	}
	for _, tc := range errorCases() {
		if len(tc.input) < 4096 {
			f.Add([]byte(tc.input))
		}
	}
	f.Add([]byte(`{"Records":[{"a":` + strings.Repeat("[", defaultMaxDepth-2)))
	f.Add([]byte("\xef\xbb\xbf{\"Records\":[{\"eventTime\":\"2023-07-10T11:42:36.5+01:00\",\"eventID\":\"\\u00e9\",\"readOnly\":false," +
		"\"eventName\":\"a\\ud800\xff\",\"x\":[{\"y\":-1.5e-3}],\"userAgent\":7,\"eventName\":null}]} "))

	f.Fuzz(func(t *testing.T, data []byte) {
		events, err := decodeAll(NewDecoder(bytes.NewReader(data), Options{}))
		var e *Error
		if err != nil && !errors.As(err, &e) {
			t.Fatalf("error %v is not an *Error", err)
		}

		valid := json.Valid(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")))
		switch {
		case !valid && err == nil:
			t.Fatalf("decoded %d events from invalid JSON", len(events))
		case valid && (errors.Is(err, ErrEmpty) || errors.Is(err, ErrTruncated) || errors.Is(err, ErrTooDeep) ||
			errors.Is(err, ErrSyntax) && e.Msg != "duplicate Records member"):
			t.Fatalf("valid JSON gave %v", err)
		}
		for i := range events {
			checkEvent(t, &events[i])
		}
		if err == nil && utf8.Valid(data) && !duplicateKeys(data) {
			want, extras := expectEvents(t, data)
			if len(want) != len(events) {
				t.Fatalf("decoded %d events, encoding/json %d", len(events), len(want))
			}
			for i := range events {
				var got map[string]json.RawMessage
				if x := events[i].Values[sink.ExtraFields]; x != "" {
					if err := json.Unmarshal([]byte(x), &got); err != nil {
						t.Fatalf("event %d: ExtraFields: %v", i, err)
					}
				}
				if !equalRaw(got, extras[i]) {
					t.Fatalf("event %d: ExtraFields %s, want %v", i, events[i].Values[sink.ExtraFields], extras[i])
				}
				want[i].Values[sink.ExtraFields] = events[i].Values[sink.ExtraFields]
				if diff := diffEvents(events[i], want[i]); diff != "" {
					t.Fatalf("event %d differs from encoding/json:\n%s", i, diff)
				}
			}
		}

		// Input arriving a byte at a time into a tiny buffer gives the same.
		again, err2 := decodeAll(newSmallDecoder(iotest.OneByteReader(bytes.NewReader(data)), Options{}, 3))
		if len(again) != len(events) || (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() {
			t.Fatalf("with a small buffer: %d events, %v; want %d events, %v", len(again), err2, len(events), err)
		}
		for i := range again {
			if diff := diffEvents(again[i], events[i]); diff != "" {
				t.Fatalf("with a small buffer, event %d:\n%s", i, diff)
			}
		}
	})
}

// duplicateKeys reports whether an object of the valid JSON data has two
// members of the same name, which encoding/json resolves otherwise.
func duplicateKeys(data []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	var keys []map[string]bool // the names seen in each open object
	var inObject []bool        // whether each open container is an object
	expectKey := false
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch tok {
		case json.Delim('{'):
			keys = append(keys, map[string]bool{})
			inObject = append(inObject, true)
			expectKey = true
			continue
		case json.Delim('['):
			inObject = append(inObject, false)
			expectKey = false
			continue
		case json.Delim('}'):
			keys = keys[:len(keys)-1]
			inObject = inObject[:len(inObject)-1]
		case json.Delim(']'):
			inObject = inObject[:len(inObject)-1]
		default:
			if expectKey {
				name := tok.(string)
				if keys[len(keys)-1][name] {
					return true
				}
				keys[len(keys)-1][name] = true
				expectKey = false
				continue
			}
		}
		expectKey = len(inObject) > 0 && inObject[len(inObject)-1]
	}
}

// checkEvent checks the invariants of a decoded event.
func checkEvent(t *testing.T, ev *sink.Event) {
	t.Helper()
	if ev.Time.IsZero() || ev.Time.Location() != time.UTC {
		t.Errorf("Time %v", ev.Time)
	}
	if ev.ID() == "" {
		t.Error("empty eventID")
	}
	if ev.Null.Has(sink.EventTime) || ev.Null&ev.True != 0 {
		t.Errorf("Null %b, True %b", ev.Null, ev.True)
	}
	for c := range sink.NumColumns {
		v := ev.Values[c]
		if !utf8.ValidString(v) {
			t.Errorf("%s = %q is not valid UTF-8", c.Name(), v)
		}
		if ev.True.Has(c) && c.Kind() != sink.Bool {
			t.Errorf("%s is true", c.Name())
		}
		switch {
		case c.Kind() == sink.JSON && !ev.Null.Has(c) && !json.Valid([]byte(v)):
			t.Errorf("%s = %q is not valid JSON", c.Name(), v)
		case c == sink.ExtraFields && !ev.Null.Has(c) && !strings.HasPrefix(v, "{"):
			t.Errorf("ExtraFields = %q is not an object", v)
		case (ev.Null.Has(c) || c.Kind() == sink.Bool || c.Kind() == sink.Timestamp) && v != "":
			t.Errorf("%s = %q, but it has no text", c.Name(), v)
		}
	}
}
