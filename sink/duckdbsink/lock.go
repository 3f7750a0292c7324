package duckdbsink

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ctimport/ctimport/sink"
)

// LockedError is the error of Open when another process has the database
// open. It wraps sink.ErrLocked.
type LockedError struct {
	Path string // the database, as given to Open
	// Holder describes the process holding the database: its
	// Options.Holder, or the program DuckDB names.
	Holder string
	PID    int       // 0 when unknown
	Since  time.Time // when it opened the database; zero when unknown
}

func (e *LockedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "duckdbsink: database %s is in use", e.Path)
	if e.Holder != "" {
		fmt.Fprintf(&b, " by %s", e.Holder)
	} else {
		b.WriteString(" by another process")
	}
	var details []string
	if e.PID != 0 {
		details = append(details, "pid "+strconv.Itoa(e.PID))
	}
	if !e.Since.IsZero() {
		since := e.Since.Local()
		layout := "15:04:05"
		if since.Format(time.DateOnly) != time.Now().Format(time.DateOnly) {
			layout = time.DateTime
		}
		details = append(details, "since "+since.Format(layout))
	}
	if len(details) > 0 {
		fmt.Fprintf(&b, " (%s)", strings.Join(details, ", "))
	}
	return b.String()
}

// Unwrap returns sink.ErrLocked.
func (e *LockedError) Unwrap() error { return sink.ErrLocked }

// holderInfo is the content of the holder file that a process writing a
// database keeps beside it, so that others can say who holds it.
type holderInfo struct {
	PID    int       `json:"pid"`
	Holder string    `json:"holder"`
	Since  time.Time `json:"since"`
}

func holderPath(path string) string { return path + ".holder" }

// writeHolder replaces the holder file at path with h.
func writeHolder(path string, h holderInfo) error {
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// readHolder reads the holder file at path.
func readHolder(path string) (holderInfo, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return holderInfo{}, false
	}
	var h holderInfo
	if json.Unmarshal(b, &h) != nil || h.PID == 0 {
		return holderInfo{}, false
	}
	return h, true
}

// removeHolder removes the holder file at path if process pid wrote it.
func removeHolder(path string, pid int) {
	if h, ok := readHolder(path); ok && h.PID == pid {
		_ = os.Remove(path)
	}
}

// lockHolderRE finds the holder in DuckDB's error for a database another
// process has locked, e.g. `IO Error: Could not set lock on file
// "x.duckdb": Conflicting lock is held in /usr/bin/ctimport (PID 4242). See
// also …`.
var lockHolderRE = regexp.MustCompile(`held in (.*?) \(PID (\d+)\)`)

// lockError returns a *LockedError when err is DuckDB's lock conflict
// error, and nil otherwise. It names the holder from the holder file, or
// else from DuckDB's message.
func lockError(path string, err error) error {
	msg := err.Error()
	if !strings.Contains(msg, "Could not set lock on file") {
		return nil
	}
	e := &LockedError{Path: path}
	if m := lockHolderRE.FindStringSubmatch(msg); m != nil {
		e.Holder = m[1]
		e.PID, _ = strconv.Atoi(m[2])
	}
	if h, ok := readHolder(holderPath(path)); ok && (e.PID == 0 || e.PID == h.PID) {
		e.PID, e.Since = h.PID, h.Since
		if h.Holder != "" {
			e.Holder = h.Holder
		}
	}
	return e
}
