package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/ctimport/ctimport/engine"
)

// formats are the values of --output.
var formats = []string{"json", "table", "text"}

// node is a JSON value that keeps the order of object members.
type node struct {
	keys   []string // object member names, in order
	fields []*node  // object member values
	items  []*node  // array items
	kind   byte     // '{', '[' or 0 for a scalar
	text   string   // a scalar's text; "" for null
}

// tree turns v into a node through its JSON encoding, so that the output
// formats show exactly the fields the json output shows.
func tree(v any) (*node, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return readNode(dec)
}

func readNode(dec *json.Decoder) (*node, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		n := &node{kind: byte(t)}
		for dec.More() {
			if t == '{' {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				n.keys = append(n.keys, k.(string))
			}
			child, err := readNode(dec)
			if err != nil {
				return nil, err
			}
			if t == '{' {
				n.fields = append(n.fields, child)
			} else {
				n.items = append(n.items, child)
			}
		}
		_, err := dec.Token()
		return n, err
	case nil:
		return &node{}, nil
	case string:
		return &node{text: t}, nil
	case bool:
		return &node{text: strconv.FormatBool(t)}, nil
	case json.Number:
		return &node{text: t.String()}, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

// isRecords reports whether n is a non-empty array of objects.
func (n *node) isRecords() bool {
	if n.kind != '[' || len(n.items) == 0 {
		return false
	}
	for _, it := range n.items {
		if it.kind != '{' {
			return false
		}
	}
	return true
}

// flatten appends the scalar leaves of n as dotted paths; arrays of
// scalars are joined with commas.
func (n *node) flatten(prefix string, keys, vals *[]string) {
	switch n.kind {
	case '{':
		for i, k := range n.keys {
			p := k
			if prefix != "" {
				p = prefix + "." + k
			}
			n.fields[i].flatten(p, keys, vals)
		}
	case '[':
		parts := make([]string, 0, len(n.items))
		for _, it := range n.items {
			var k, v []string
			it.flatten("", &k, &v)
			parts = append(parts, strings.Join(v, " "))
		}
		*keys = append(*keys, prefix)
		*vals = append(*vals, strings.Join(parts, ","))
	default:
		*keys = append(*keys, prefix)
		*vals = append(*vals, n.text)
	}
}

// columns returns the columns and rows of an array of objects.
func (n *node) columns() ([]string, [][]string) {
	var cols []string
	index := map[string]int{}
	var rows []map[string]string
	for _, it := range n.items {
		var keys, vals []string
		it.flatten("", &keys, &vals)
		row := map[string]string{}
		for i, k := range keys {
			if _, ok := index[k]; !ok {
				index[k] = len(cols)
				cols = append(cols, k)
			}
			row[k] = vals[i]
		}
		rows = append(rows, row)
	}
	out := make([][]string, len(rows))
	for i, row := range rows {
		out[i] = make([]string, len(cols))
		for j, c := range cols {
			out[i][j] = row[c]
		}
	}
	return cols, out
}

// writeOutput prints v, an API response, in format.
func writeOutput(w io.Writer, format string, v any) error {
	if format == "json" {
		b, err := json.MarshalIndent(v, "", "    ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	n, err := tree(v)
	if err != nil {
		return err
	}
	// Members that are arrays of objects get a block of their own; the
	// rest form one key/value block.
	var keys, vals []string
	var lists []int
	for i, f := range n.fields {
		if f.isRecords() {
			lists = append(lists, i)
			continue
		}
		f.flatten(n.keys[i], &keys, &vals)
	}
	if format == "text" {
		for i, k := range keys {
			if vals[i] != "" {
				fmt.Fprintf(w, "%s\t%s\n", k, vals[i])
			}
		}
		for _, i := range lists {
			_, rows := n.fields[i].columns()
			for _, row := range rows {
				fmt.Fprintf(w, "%s\t%s\n", strings.ToUpper(n.keys[i]), strings.Join(row, "\t"))
			}
		}
		return nil
	}
	if len(keys) > 0 {
		rows := make([][]string, len(keys))
		for i := range keys {
			rows[i] = []string{keys[i], vals[i]}
		}
		writeTable(w, nil, rows)
	}
	for _, i := range lists {
		cols, rows := n.fields[i].columns()
		fmt.Fprintf(w, "%s\n", n.keys[i])
		writeTable(w, cols, rows)
	}
	return nil
}

// writeTable draws rows in a box, with a header row when header is not nil.
func writeTable(w io.Writer, header []string, rows [][]string) {
	width := make([]int, 0)
	grow := func(row []string) {
		for i, c := range row {
			if i >= len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	grow(header)
	for _, r := range rows {
		grow(r)
	}
	rule := "+"
	for _, n := range width {
		rule += strings.Repeat("-", n+2) + "+"
	}
	line := func(row []string) {
		var b strings.Builder
		b.WriteString("|")
		for i, n := range width {
			c := ""
			if i < len(row) {
				c = row[i]
			}
			b.WriteString(" " + c + strings.Repeat(" ", n-utf8.RuneCountInString(c)) + " |")
		}
		fmt.Fprintln(w, b.String())
	}
	fmt.Fprintln(w, rule)
	if header != nil {
		line(header)
		fmt.Fprintln(w, rule)
	}
	for _, r := range rows {
		line(r)
	}
	fmt.Fprintln(w, rule)
}

// escaper makes control characters visible, so that a value stays on its
// line and in its column of text and table output.
var escaper = strings.NewReplacer("\\", "\\\\", "\t", "\\t", "\n", "\\n", "\r", "\\r")

// queryValue renders one value of a query result as one line of text.
func queryValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return escaper.Replace(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []any, map[string]any:
		b, _ := json.Marshal(engine.JSONValue(x))
		return string(b)
	}
	return fmt.Sprint(v)
}

// queryWriter prints query results row by row.
type queryWriter struct {
	w      io.Writer
	format string
	cols   []string
	rows   int
	table  [][]string
	csv    *csv.Writer
}

func newQueryWriter(w io.Writer, format string, cols []string) *queryWriter {
	q := &queryWriter{w: w, format: format, cols: cols}
	switch format {
	case "json":
		fmt.Fprint(w, "[")
	case "csv":
		q.csv = csv.NewWriter(w)
		q.csv.Write(cols)
	}
	return q
}

func (q *queryWriter) row(vals []any) error {
	q.rows++
	switch q.format {
	case "json":
		var b bytes.Buffer
		b.WriteString("{")
		for i, c := range q.cols {
			if i > 0 {
				b.WriteString(", ")
			}
			k, _ := json.Marshal(c)
			v, err := json.Marshal(engine.JSONValue(vals[i]))
			if err != nil {
				return err
			}
			b.Write(k)
			b.WriteString(": ")
			b.Write(v)
		}
		b.WriteString("}")
		sep := ",\n    "
		if q.rows == 1 {
			sep = "\n    "
		}
		_, err := fmt.Fprint(q.w, sep+b.String())
		return err
	case "csv":
		rec := make([]string, len(vals))
		for i, v := range vals {
			rec[i] = queryValue(v)
		}
		return q.csv.Write(rec)
	case "text":
		rec := make([]string, len(vals))
		for i, v := range vals {
			rec[i] = queryValue(v)
		}
		_, err := fmt.Fprintln(q.w, strings.Join(rec, "\t"))
		return err
	}
	rec := make([]string, len(vals))
	for i, v := range vals {
		rec[i] = queryValue(v)
	}
	q.table = append(q.table, rec)
	return nil
}

func (q *queryWriter) close() error {
	switch q.format {
	case "json":
		end := "\n]\n"
		if q.rows == 0 {
			end = "]\n"
		}
		_, err := fmt.Fprint(q.w, end)
		return err
	case "csv":
		q.csv.Flush()
		return q.csv.Error()
	case "table":
		writeTable(q.w, q.cols, q.table)
	}
	return nil
}
