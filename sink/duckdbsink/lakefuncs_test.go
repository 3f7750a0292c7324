package duckdbsink

import (
	"database/sql"
	"regexp"
	"strings"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
)

func val(s string) sql.NullString { return sql.NullString{String: s, Valid: true} }

var null = sql.NullString{}

// lakeFunctionCases hold Lake's answer for each expression, cast to varchar.
// same says whether DuckDB's built-in (without lakeMacros) gives that answer
// too; where it does not, it must give another answer or fail.
var lakeFunctionCases = []struct {
	expr string
	want sql.NullString
	same bool
}{
	{`element_at(MAP {'a': '1', 'b': '2'}, 'b')`, val("2"), false},
	{`element_at(MAP {'a': '1'}, 'z')`, null, false},
	{`element_at([1, 2, 3], 1)`, val("1"), false},
	{`element_at([1, 2, 3], -1)`, val("3"), false},
	{`element_at([1, 2, 3], 4)`, null, false},
	{`element_at([1, 2, 3], -4)`, null, false},

	{`cardinality(MAP {'a': '1', 'b': '2'})`, val("2"), true},
	{`cardinality([1, NULL, 3])`, val("3"), false},
	{`cardinality([]::INTEGER[])`, val("0"), false},
	{`cardinality([{'a': 1}, {'a': 2}])`, val("2"), false},
	{`cardinality(NULL::INTEGER[])`, null, true},
	{`typeof(cardinality(MAP {'a': '1'}))`, val("BIGINT"), false},
	{`typeof(cardinality([1]))`, val("BIGINT"), false},

	{`map_keys(MAP {'a': '1', 'b': '2'})`, val("[a, b]"), true},
	{`map_values(MAP {'a': '1', 'b': '2'})`, val("[1, 2]"), true},

	{`contains([1, 2, NULL], 2)`, val("true"), true},
	{`contains([1, 2], 3)`, val("false"), true},
	{`contains([1, NULL], 3)`, null, false},
	{`contains([1, 2], NULL)`, null, true},
	{`contains(NULL::INTEGER[], 1)`, null, true},
	{`contains('abc', 'b')`, val("true"), true},

	{`array_distinct([3, 1, NULL, 3, NULL, 1])`, val("[3, 1, NULL]"), false},
	{`array_distinct([]::INTEGER[])`, val("[]"), true},

	{`array_max([1, 3, 2])`, val("3"), false},
	{`array_max([1, NULL, 3])`, null, false},
	{`array_min([2, 1, 3])`, val("1"), false},
	{`array_min(['b', NULL])`, null, false},

	{`slice([1, 2, 3, 4, 5], 2, 2)`, val("[2, 3]"), false},
	{`slice([1, 2, 3, 4, 5], -2, 5)`, val("[4, 5]"), false},
	{`slice([1, 2, 3, 4, 5], -6, 1)`, val("[]"), false},
	{`slice([1, 2, 3], 4, 1)`, val("[]"), false},

	{`json_parse('{"a": [1, 2]}')`, val(`{"a":[1,2]}`), false},

	{`is_json_scalar('1')`, val("true"), false},
	{`is_json_scalar('null')`, val("true"), false},
	{`is_json_scalar('[1]')`, val("false"), false},

	{`json_extract('{"a": {"b": 1}}', '$.a')`, val(`{"b":1}`), true},
	{`json_extract('{"a": [1, 2]}', '$.a[1]')`, val("2"), true},
	{`json_extract('{"a": null}', '$.a')`, val("null"), true},

	{`json_extract_scalar('{"a": {"b": "x"}}', '$.a.b')`, val("x"), false},
	{`json_extract_scalar('{"a": 1.5}', '$.a')`, val("1.5"), false},
	{`json_extract_scalar('{"a": true}', '$.a')`, val("true"), false},
	{`json_extract_scalar('{"a": {"b": 1}}', '$.a')`, null, false},
	{`json_extract_scalar('{"a": [1]}', '$.a')`, null, false},
	{`json_extract_scalar('{"a": null}', '$.a')`, null, false},
	{`json_extract_scalar('eu-west-1', '$.a')`, null, false},

	{`json_format(json_parse('{"a": 1, "b": [true, null]}'))`, val(`{"a":1,"b":[true,null]}`), false},
	{`json_format(json_parse('"x"'))`, val(`"x"`), false},

	{`json_array_contains('[1, 2, 3]', 2)`, val("true"), false},
	{`json_array_contains('["a", "b"]', 'b')`, val("true"), false},
	{`json_array_contains('[false, true]', true)`, val("true"), false},
	{`json_array_contains('[1.5]', 1.5)`, val("true"), false},
	{`json_array_contains('[1.0]', 1)`, val("false"), false},
	{`json_array_contains('["1"]', 1)`, val("false"), false},
	{`json_array_contains('[[1]]', 1)`, val("false"), false},
	{`json_array_contains('{"a": 1}', 1)`, null, false},
	{`json_array_contains(NULL, 1)`, null, false},

	{`json_array_get('["a", [3, 9], "c"]', 0)`, val("a"), false},
	{`json_array_get('["a", [3, 9], "c"]', 1)`, val("[3,9]"), false},
	{`json_array_get('["a", [3, 9], "c"]', -1)`, val("c"), false},
	{`json_array_get('["a", [3, 9], "c"]', 3)`, null, false},
	{`json_array_get('["a", [3, 9], "c"]', -4)`, null, false},
	{`json_array_get('{"a": 1}', 0)`, null, false},

	{`json_array_length('[1, 2, 3]')`, val("3"), true},
	{`json_array_length('{"a": 1}')`, null, false},
	{`json_array_length('"x"')`, null, false},
	{`json_array_length('{"a": [1, 2]}', '$.a')`, val("2"), true},

	{`date(TIMESTAMP '2023-01-01 12:34:56.789')`, val("2023-01-01"), true},
	{`date_trunc('week', TIMESTAMP '2023-01-01 12:34:56.789')`, val("2022-12-26 00:00:00"), true},
	{`date_trunc('hour', TIMESTAMP '2023-01-01 12:34:56.789')`, val("2023-01-01 12:00:00"), true},
	{`day(TIMESTAMP '2020-12-31 12:00:00')`, val("31"), true},
	{`day_of_month(TIMESTAMP '2020-12-31 12:00:00')`, val("31"), false},
	{`day_of_week(TIMESTAMP '2023-01-01 12:00:00')`, val("7"), false},
	{`day_of_week(TIMESTAMP '2023-01-02 12:00:00')`, val("1"), false},
	{`dow(TIMESTAMP '2023-01-01 12:00:00')`, val("7"), false},
	{`day_of_year(TIMESTAMP '2020-12-31 12:00:00')`, val("366"), false},
	{`doy(TIMESTAMP '2020-12-31 12:00:00')`, val("366"), false},
	{`hour(TIMESTAMP '2023-01-01 12:34:56.789')`, val("12"), true},
	{`minute(TIMESTAMP '2023-01-01 12:34:56.789')`, val("34"), true},
	{`second(TIMESTAMP '2023-01-01 12:34:56.789')`, val("56"), true},
	{`millisecond(TIMESTAMP '2023-01-01 12:34:56.789')`, val("789"), false},
	{`month(TIMESTAMP '2023-08-15 00:00:00')`, val("8"), true},
	{`quarter(TIMESTAMP '2023-08-15 00:00:00')`, val("3"), true},
	{`week(TIMESTAMP '2021-01-01 00:00:00')`, val("53"), true},
	{`week_of_year(TIMESTAMP '2021-01-01 00:00:00')`, val("53"), false},
	{`week_of_year(TIMESTAMP '2023-01-01 00:00:00')`, val("52"), false},
	{`year(TIMESTAMP '2021-01-01 00:00:00')`, val("2021"), true},
	{`year_of_week(TIMESTAMP '2021-01-01 00:00:00')`, val("2020"), false},
	{`year_of_week(TIMESTAMP '2024-12-30 00:00:00')`, val("2025"), false},
	{`yow(TIMESTAMP '2021-01-01 00:00:00')`, val("2020"), false},

	{`date_add('week', -1, TIMESTAMP '2023-01-08 10:00:00')`, val("2023-01-01 10:00:00"), false},
	{`date_add('month', 1, TIMESTAMP '2023-01-31 00:00:00')`, val("2023-02-28 00:00:00"), false},
	{`date_add('quarter', 1, TIMESTAMP '2023-01-31 00:00:00')`, val("2023-04-30 00:00:00"), false},
	{`date_add('hour', 25, TIMESTAMP '2023-01-31 00:00:00')`, val("2023-02-01 01:00:00"), false},
	{`date_add('millisecond', 5, TIMESTAMP '2023-01-01 00:00:00')`, val("2023-01-01 00:00:00.005"), false},
	{`date_add('week', -1, current_timestamp) < current_timestamp`, val("true"), false},
	{`date_add(TIMESTAMP '2023-01-01 00:00:00', INTERVAL 1 DAY)`, val("2023-01-02 00:00:00"), true},

	{`now() = current_timestamp`, val("true"), true},
}

func openDuckDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

func evalText(db *sql.DB, expr string) (sql.NullString, error) {
	var s sql.NullString
	err := db.QueryRow("SELECT CAST((" + expr + ") AS VARCHAR)").Scan(&s)
	return s, err
}

func show(s sql.NullString) string {
	if !s.Valid {
		return "NULL"
	}
	return "'" + s.String + "'"
}

func TestLakeFunctions(t *testing.T) {
	lake := openDuckDB(t)
	for _, m := range lakeMacros {
		if _, err := lake.Exec(m); err != nil {
			t.Fatalf("%v\n%s", err, m)
		}
	}
	builtin := openDuckDB(t)

	for _, c := range lakeFunctionCases {
		got, err := evalText(lake, c.expr)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
		} else if got != c.want {
			t.Errorf("%s = %s, want %s", c.expr, show(got), show(c.want))
		}
		got, err = evalText(builtin, c.expr)
		switch {
		case c.same && err != nil:
			t.Errorf("built-in %s: %v", c.expr, err)
		case c.same && got != c.want:
			t.Errorf("built-in %s = %s, want %s", c.expr, show(got), show(c.want))
		case !c.same && err == nil && got == c.want:
			t.Errorf("built-in %s gives Lake's answer %s already", c.expr, show(got))
		}
	}

	// each macro has a case, and one where the built-in answers otherwise.
	name := regexp.MustCompile(`MACRO main\.(\w+)\(`)
	for _, m := range lakeMacros {
		fn := name.FindStringSubmatch(m)[1]
		needed := false
		for _, c := range lakeFunctionCases {
			if strings.HasPrefix(c.expr, fn+"(") && !c.same {
				needed = true
			}
		}
		if !needed {
			t.Errorf("%s: no case where the built-in differs", fn)
		}
	}
}
