package main

import (
	"bufio"
	"compress/gzip"
	"context"
	"database/sql"
	"database/sql/driver"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	duckdb "github.com/duckdb/duckdb-go/v2"

	"github.com/ctimport/ctimport/sink"
)

func quoteIdent(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

func quoteString(s string) string { return `'` + strings.ReplaceAll(s, `'`, `''`) + `'` }

func sqlType(k sink.Kind) string {
	switch k {
	case sink.Timestamp:
		return "TIMESTAMP"
	case sink.Bool:
		return "BOOLEAN"
	case sink.JSON:
		return "JSON"
	}
	return "VARCHAR"
}

// eventsDDL creates the table events with the columns and types of
// ctimport's event tables.
func eventsDDL() string {
	cols := make([]string, 0, sink.NumColumns+1)
	for c := range sink.NumColumns {
		cols = append(cols, quoteIdent(c.Name())+" "+sqlType(c.Kind()))
	}
	cols = append(cols, quoteIdent(sink.SourceKeyColumn)+" VARCHAR")
	return "CREATE TABLE events (" + strings.Join(cols, ", ") + ")"
}

// newDatabase opens the database path, which must not exist yet.
func newDatabase(path string) (*duckdb.Connector, *sql.DB, error) {
	if _, err := os.Stat(path); err == nil {
		return nil, nil, fmt.Errorf("%s exists", path)
	}
	c, err := duckdb.NewConnector(path, nil)
	if err != nil {
		return nil, nil, err
	}
	return c, sql.OpenDB(c), nil
}

// finish checkpoints db, so that the rows are written to its file, counts
// the rows of table and closes db.
func finish(db *sql.DB, table string) (result, error) {
	var r result
	_, err := db.Exec("CHECKPOINT")
	if err == nil {
		err = db.QueryRow("SELECT count(*) FROM " + quoteIdent(table)).Scan(&r.Events)
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	return r, err
}

func ctas(args []string) (any, error) {
	flags := flag.NewFlagSet("ctas", flag.ContinueOnError)
	path := flags.String("db", "", "the database")
	schema := flags.String("schema", "main", "the schema of the events table")
	table := flags.String("table", "", "the events table to copy")
	if err := flags.Parse(args); err != nil {
		return nil, err
	}
	if *path == "" || *table == "" {
		return nil, errors.New("-db and -table are required")
	}
	db, err := sql.Open("duckdb", *path)
	if err != nil {
		return nil, err
	}
	if _, err := db.Exec("CREATE TABLE t2 AS SELECT * FROM " + quoteIdent(*schema) + "." + quoteIdent(*table)); err != nil {
		db.Close()
		return nil, err
	}
	return finish(db, "t2")
}

func readJSON(args []string) (any, error) {
	flags := flag.NewFlagSet("readjson", flag.ContinueOnError)
	dir := flags.String("dir", "", "the corpus directory")
	path := flags.String("db", "", "the database to create")
	maxObject := flags.Int64("max-object", 64<<20, "read_json's maximum_object_size: at least the JSON size of the largest file")
	if err := flags.Parse(args); err != nil {
		return nil, err
	}
	if *dir == "" || *path == "" {
		return nil, errors.New("-dir and -db are required")
	}
	root, err := filepath.Abs(*dir)
	if err != nil {
		return nil, err
	}
	fields := make([]string, 0, sink.NumColumns)
	sel := make([]string, 0, sink.NumColumns+1)
	for c := range sink.NumColumns {
		if c == sink.ExtraFields {
			sel = append(sel, "NULL::JSON AS "+quoteIdent(c.Name()))
			continue
		}
		fields = append(fields, quoteIdent(c.Name())+" "+sqlType(c.Kind()))
		sel = append(sel, "r."+quoteIdent(c.Name()))
	}
	sel = append(sel, fmt.Sprintf("substr(filename, %d) AS %s", len(root)+2, quoteIdent(sink.SourceKeyColumn)))
	records := "STRUCT(" + strings.Join(fields, ", ") + ")[]"
	query := fmt.Sprintf(`CREATE TABLE events AS SELECT %s FROM (
		SELECT unnest(Records) AS r, filename FROM read_json(%s,
			columns = {'Records': %s}, format = 'unstructured', filename = true, maximum_object_size = %d))`,
		strings.Join(sel, ", "), quoteString(filepath.ToSlash(root)+"/**/*.json.gz"), quoteString(records), *maxObject)
	_, db, err := newDatabase(*path)
	if err != nil {
		return nil, err
	}
	if _, err := db.Exec(query); err != nil {
		db.Close()
		return nil, err
	}
	return finish(db, "events")
}

func plainGo(args []string) (any, error) {
	flags := flag.NewFlagSet("plaingo", flag.ContinueOnError)
	dir := flags.String("dir", "", "the corpus directory")
	path := flags.String("db", "", "the database to create")
	if err := flags.Parse(args); err != nil {
		return nil, err
	}
	if *dir == "" || *path == "" {
		return nil, errors.New("-dir and -db are required")
	}
	connector, db, err := newDatabase(*path)
	if err != nil {
		return nil, err
	}
	err = appendAll(connector, db, *dir)
	if err != nil {
		db.Close()
		return nil, err
	}
	return finish(db, "events")
}

// appendAll loads the log files below dir into the table events, one file
// after the other, through one Appender.
func appendAll(connector *duckdb.Connector, db *sql.DB, dir string) error {
	if _, err := db.Exec(eventsDDL()); err != nil {
		return err
	}
	conn, err := connector.Connect(context.Background())
	if err != nil {
		return err
	}
	defer conn.Close()
	app, err := duckdb.NewAppenderFromConn(conn, "", "events")
	if err != nil {
		return err
	}
	columns := map[string]sink.Column{}
	for c := range sink.NumColumns {
		columns[c.Name()] = c
	}
	vals := make([]driver.Value, sink.NumColumns+1)
	err = walkLogFiles(dir, func(path string) error {
		key, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		return appendFile(app, path, filepath.ToSlash(key), columns, vals)
	})
	if err != nil {
		app.Close()
		return err
	}
	return app.Close()
}

// appendFile appends the records of the log file path to app.
func appendFile(app *duckdb.Appender, path, key string, columns map[string]sink.Column, vals []driver.Value) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	dec := json.NewDecoder(zr)
	if err := expect(dec, json.Delim('{')); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if tok != "Records" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			continue
		}
		if err := expect(dec, json.Delim('[')); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for dec.More() {
			var rec map[string]json.RawMessage
			if err := dec.Decode(&rec); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			if err := recordValues(rec, columns, vals); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			vals[sink.NumColumns] = key
			if err := app.AppendRow(vals...); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
		}
		if err := expect(dec, json.Delim(']')); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return expect(dec, json.Delim('}'))
}

func expect(dec *json.Decoder, want json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	if tok != want {
		return fmt.Errorf("got %v, want %v", tok, want)
	}
	return nil
}

// recordValues sets vals to the column values of the record rec: SQL NULL
// for absent and null members, and the members without a column of their
// own as one JSON object in extraFields.
func recordValues(rec map[string]json.RawMessage, columns map[string]sink.Column, vals []driver.Value) error {
	clear(vals)
	var extra map[string]json.RawMessage
	for name, raw := range rec {
		c, ok := columns[name]
		if !ok {
			if extra == nil {
				extra = map[string]json.RawMessage{}
			}
			extra[name] = raw
			continue
		}
		if string(raw) == "null" {
			continue
		}
		switch c.Kind() {
		case sink.Text:
			var s string
			if json.Unmarshal(raw, &s) != nil {
				s = string(raw)
			}
			vals[c] = s
		case sink.Timestamp:
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			vals[c] = t
		case sink.Bool:
			vals[c] = string(raw) == "true"
		case sink.JSON:
			vals[c] = string(raw)
		}
	}
	if extra != nil {
		b, err := json.Marshal(extra)
		if err != nil {
			return err
		}
		vals[sink.ExtraFields] = string(b)
	}
	return nil
}

func verify(args []string) (any, error) {
	flags := flag.NewFlagSet("verify", flag.ContinueOnError)
	path := flags.String("db", "", "the database")
	table := flags.String("table", "", "the events table")
	if err := flags.Parse(args); err != nil {
		return nil, err
	}
	if *path == "" || *table == "" {
		return nil, errors.New("-db and -table are required")
	}
	db, err := sql.Open("duckdb", *path+"?access_mode=read_only")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var r result
	err = db.QueryRow(`SELECT count(*), count(DISTINCT eventID),
		coalesce(sha256(string_agg(eventID, chr(10) ORDER BY eventID)), '') FROM `+quoteIdent(*table)).Scan(&r.Events, &r.IDs, &r.Digest)
	return r, err
}
