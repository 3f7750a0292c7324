package duckdbsink

import (
	"context"
	"database/sql"
	"encoding/json"
	"strconv"
)

// lakeParse is the part of json_serialize_sql's answer that lakeNamer
// reads: the parsed statements, or Error for a statement DuckDB cannot
// parse or serialize (anything but a query).
type lakeParse struct {
	Error      bool            `json:"error"`
	Statements []lakeStatement `json:"statements"`
}

type lakeStatement struct {
	Node lakeNode `json:"node"`
}

// lakeNode is a query node: a SELECT_NODE with its select list, or a
// SET_OPERATION_NODE whose Left operand names the result's columns. WITH
// and ORDER BY, LIMIT and the other modifiers are fields of the node
// (cte_map, modifiers) that lakeNamer does not need.
type lakeNode struct {
	Type       string            `json:"type"`
	SetopType  string            `json:"setop_type"`
	Left       *lakeNode         `json:"left"`
	SelectList []json.RawMessage `json:"select_list"`
}

// lakeExpr is a select-list item: its expression class (COLUMN_REF,
// FUNCTION, OPERATOR, CAST, CASE, CONSTANT, SUBQUERY, STAR, ...) and its
// alias, empty when it has none.
type lakeExpr struct {
	Class string `json:"class"`
	Alias string `json:"alias"`
}

// lakeNamer returns the function that gives the result columns of query,
// a SELECT statement, the names CloudTrail Lake gives them, from the names
// DuckDB gives them (as rows.Columns gives them). Lake names them as Presto
// does: an item with an alias gets its alias, a column reference gets the
// column's name (for a struct field path such as userIdentity.principalid,
// its last component), and any other item (a function call, count(*), an
// operator, a cast, a literal, a CASE, a subquery) gets _col<i>, i being its
// 0-based position in the select list. In a UNION, EXCEPT or INTERSECT, the
// left-most SELECT names the columns. Aliased items and column references
// keep DuckDB's names, which are the alias and the column's name (a table
// column's as the table spells it, a struct field's as written); only the
// other items are renamed. Two columns may end up with the same name, as
// they may in Lake.
//
// The statement is parsed, not run, by DuckDB's json_serialize_sql on conn,
// before the statement runs. The function never fails: it returns the
// names it is given when the statement cannot be parsed or is not a query
// (EXPLAIN, PRAGMA, PIVOT), is a UNION BY NAME, has a select list that
// expands a star or COLUMNS expression (DuckDB parses DESCRIBE, SHOW,
// SUMMARIZE, VALUES and FROM-first statements as SELECT *), or has a select
// list of another length than the names.
func lakeNamer(ctx context.Context, conn *sql.Conn, query string) func(names []string) []string {
	same := func(names []string) []string { return names }
	var text string
	err := conn.QueryRowContext(ctx, `SELECT CAST(json_serialize_sql(CAST(? AS VARCHAR)) AS VARCHAR)`, query).Scan(&text)
	if err != nil {
		return same
	}
	var parse lakeParse
	if err := json.Unmarshal([]byte(text), &parse); err != nil || parse.Error || len(parse.Statements) != 1 {
		return same
	}
	node := &parse.Statements[0].Node
	for node.Type == "SET_OPERATION_NODE" {
		switch node.SetopType {
		case "UNION", "EXCEPT", "INTERSECT":
		default: // UNION BY NAME names columns from both sides.
			return same
		}
		if node = node.Left; node == nil {
			return same
		}
	}
	if node.Type != "SELECT_NODE" {
		return same
	}
	renamed := make([]bool, len(node.SelectList))
	for i, raw := range node.SelectList {
		var item lakeExpr
		if err := json.Unmarshal(raw, &item); err != nil || expandsStar(raw) {
			return same
		}
		renamed[i] = item.Alias == "" && item.Class != "COLUMN_REF"
	}
	return func(names []string) []string {
		if len(names) != len(renamed) {
			return names
		}
		out := make([]string, len(names))
		for i, name := range names {
			out[i] = name
			if renamed[i] {
				out[i] = "_col" + strconv.Itoa(i)
			}
		}
		return out
	}
}

// expandsStar reports whether the serialized expression raw is or contains
// a star expression (*, t.*, COLUMNS(...), *COLUMNS(...)), which DuckDB
// expands into any number of columns. Stars in a subquery's own select list
// are not looked at: they do not expand the outer one.
func expandsStar(raw json.RawMessage) bool {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return true
	}
	var walk func(v any) bool
	walk = func(v any) bool {
		switch v := v.(type) {
		case map[string]any:
			if v["class"] == "STAR" {
				return true
			}
			for k, e := range v {
				if k != "subquery" && walk(e) {
					return true
				}
			}
		case []any:
			for _, e := range v {
				if walk(e) {
					return true
				}
			}
		}
		return false
	}
	return walk(v)
}
