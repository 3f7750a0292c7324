package main

import (
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctimport/ctimport/api"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		err  string // part of the error; "" means none
	}{
		{in: "1", want: 1},
		{in: "67108864", want: 64 << 20},
		{in: "64MiB", want: 64 << 20},
		{in: "64mib", want: 64 << 20},
		{in: "2GiB", want: 2 << 30},
		{in: "512KiB", want: 512 << 10},
		{in: "1TiB", want: 1 << 40},
		{in: "10KB", want: 10_000},
		{in: "3MB", want: 3_000_000},
		{in: "2GB", want: 2_000_000_000},
		{in: "1TB", want: 1_000_000_000_000},
		{in: "100B", want: 100},
		{in: "64 MiB", want: 64 << 20},
		{in: "9223372036854775807", want: 1<<63 - 1},

		{in: "", err: "positive number"},
		{in: "0", err: "positive number"},
		{in: "0MiB", err: "positive number"},
		{in: "-1", err: "positive number"},
		{in: "MiB", err: "positive number"},
		{in: "1.5GiB", err: "positive number"},
		{in: "64M", err: "positive number"},
		{in: "64iB", err: "positive number"},
		{in: "64 ", err: "positive number"},
		{in: "0x40", err: "positive number"},
		{in: "9223372036854775808", err: "positive number"},
		{in: "8388608TiB", err: "too large"},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseSize(%q) = %d, %v; want an error with %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestSizeLimits(t *testing.T) {
	tests := []struct {
		argv      []string
		record    int
		file      int64
		usageWant string // part of a usage error; "" means none
	}{
		{argv: nil},
		{argv: []string{"--max-record-size", "256MiB"}, record: 256 << 20},
		{argv: []string{"--max-file-size=4GiB"}, file: 4 << 30},
		{argv: []string{"--max-record-size", "1000", "--max-file-size", "2000"}, record: 1000, file: 2000},
		{argv: []string{"--max-record-size", "0"}, usageWant: "--max-record-size: want a positive number"},
		{argv: []string{"--max-file-size", "lots"}, usageWant: `--max-file-size: want a positive number of bytes, such as 67108864 or 64MiB, not "lots"`},
		{argv: []string{"--max-record-size", "9223372036854775807"}, usageWant: "--max-record-size: 9223372036854775807 bytes is too large"},
	}
	for _, cmd := range []string{"start-import", "serve"} {
		for _, tt := range tests {
			a, err := parseArgs(append([]string{cmd}, tt.argv...))
			if err != nil {
				t.Fatalf("%s %v: %v", cmd, tt.argv, err)
			}
			record, file, err := (&cli{args: a}).sizeLimits()
			var ue *usageError
			switch {
			case tt.usageWant != "":
				if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.usageWant) {
					t.Errorf("%s %v: %v; want a usage error with %q", cmd, tt.argv, err, tt.usageWant)
				}
			case err != nil || record != tt.record || file != tt.file:
				t.Errorf("%s %v: %d, %d, %v; want %d, %d", cmd, tt.argv, record, file, err, tt.record, tt.file)
			}
		}
	}
}

// TestImportSizeFlags checks that start-import hands --max-record-size and
// --max-file-size to the import: each fails the file that passes it, with
// LimitExceeded and a message naming the flag, and spares the others.
func TestImportSizeFlags(t *testing.T) {
	t.Parallel()
	const root = "AWSLogs/"
	at := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	l := newLayout(t)
	small := logKey(root, "123456789012", "us-east-1", at, "Small")
	l.log(small, events("small", at.Add(-time.Minute), 1)...)
	// About 12 KB once decompressed, of small records.
	many := logKey(root, "123456789012", "us-east-1", at.Add(5*time.Minute), "Many")
	l.log(many, events("many", at, 20)...)
	// One record of about 5 KB.
	bigRecord := logKey(root, "123456789012", "us-east-1", at.Add(10*time.Minute), "Big")
	big := record(event{id: "big-record", at: at})
	big["requestParameters"] = map[string]any{"blob": strings.Repeat("x", 5000)}
	l.logRaw(bigRecord, []json.RawMessage{mustJSON(t, big)})
	dir := t.TempDir()
	l.write(dir)
	uri := "file://" + filepath.ToSlash(dir) + "/"

	tests := []struct {
		name   string
		flags  []string
		failed string // the key that fails; "" means none
		flag   string // the flag its ErrorMessage names
	}{
		{"defaults", nil, "", ""},
		{"record size", []string{"--max-record-size", "4KiB"}, bigRecord, "--max-record-size"},
		{"file size", []string{"--max-file-size", "10KB"}, many, "--max-file-size"},
		{"both raised", []string{"--max-record-size", "6KB", "--max-file-size", "1MiB"}, "", ""},
	}
	h := newHarness(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := h.in(t)
			store := h.createStore(strings.ReplaceAll(tt.name, " ", "-"))
			code, status := exitOK, api.StatusCompleted
			if tt.failed != "" {
				code, status = exitFailed, api.StatusFailed
			}
			imp, _ := h.startImport(code, store.EventDataStoreArn, uri, tt.flags...)
			if imp.ImportStatus != status {
				t.Fatalf("status %s, want %s", imp.ImportStatus, status)
			}
			failures := h.failures(imp.ImportId)
			if tt.failed == "" {
				if len(failures) != 0 {
					t.Fatalf("failures %+v", failures)
				}
				return
			}
			f, ok := failures[tt.failed]
			if len(failures) != 1 || !ok || f.ErrorType != "LimitExceeded" || !strings.Contains(f.ErrorMessage, tt.flag) {
				t.Fatalf("failures %+v; want only %s, LimitExceeded, naming %s", failures, tt.failed, tt.flag)
			}
		})
	}
}
