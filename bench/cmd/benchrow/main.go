// Command benchrow runs the rows of the ctimport benchmark that are not
// ctimport itself, one per run, and measures processes for the report.
//
// Usage:
//
//	benchrow measure -usage FILE -- PROGRAM [ARG...]
//	benchrow gunzip -dir CORPUS -workers N
//	benchrow decode -dir CORPUS -workers N
//	benchrow ctas -db DB [-schema SCHEMA] -table TABLE
//	benchrow readjson -dir CORPUS -db DB [-max-object BYTES]
//	benchrow plaingo -dir CORPUS -db DB
//	benchrow verify -db DB -table TABLE
//	benchrow queries -db DB -store ID
//	benchrow list -endpoint URL -bucket BUCKET -day YYYY-MM-DD
//
// measure runs PROGRAM, passing on its standard streams, and writes its
// wall time, CPU time, peak RSS and exit code to FILE as JSON. A child
// starts with the peak RSS of the process that started it (Linux counts
// the parent's memory in the child's until exec), so the report starts
// every row through measure: the peak RSS it reports is the row's own, or
// measure's at its start (about 25 MiB), whichever is more.
//
// The other commands print one JSON object on standard output: what they
// read, stored or found. gunzip and decode read every .json.gz file below
// CORPUS with N workers and store nothing: gunzip decompresses to
// io.Discard, decode also runs ctimport's log file decoder. ctas copies
// the events table TABLE of a ctimport database into a new table t2.
// readjson loads CORPUS with DuckDB's read_json, and plaingo with
// compress/gzip, encoding/json and one Appender, into a new database DB
// holding a table "events" shaped as ctimport's. verify counts the events
// of TABLE and digests their eventIDs as corpus.Truth does. list lists a
// one-day window of a trail bucket with s3scan and counts the requests.
// queries times queries over the event data store ID in the form of Lake's
// schema and in the form of the JSON columns of its events table, and
// checks that both forms give the same answer.
package main

import (
	"encoding/json"
	"fmt"
	"os"
)

// result is what a row command read, stored or found.
type result struct {
	Events int64  `json:"events"`
	Bytes  int64  `json:"bytes,omitempty"`
	Files  int64  `json:"files,omitempty"`
	IDs    int64  `json:"ids,omitempty"`
	Digest string `json:"digest,omitempty"`
}

var commands = map[string]func(args []string) (any, error){
	"measure":  measure,
	"gunzip":   gunzip,
	"decode":   decode,
	"ctas":     ctas,
	"readjson": readJSON,
	"plaingo":  plainGo,
	"verify":   verify,
	"list":     list,
	"queries":  queries,
}

func main() {
	if len(os.Args) < 2 || commands[os.Args[1]] == nil {
		fmt.Fprintln(os.Stderr, "usage: benchrow measure|gunzip|decode|ctas|readjson|plaingo|verify|list|queries [flags]")
		os.Exit(2)
	}
	out, err := commands[os.Args[1]](os.Args[2:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "benchrow %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
	if out != nil {
		if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
			fmt.Fprintf(os.Stderr, "benchrow %s: %v\n", os.Args[1], err)
			os.Exit(1)
		}
	}
}
