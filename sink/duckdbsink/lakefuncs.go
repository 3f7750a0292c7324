package duckdbsink

// lakeMacros give DuckDB the CloudTrail Lake (Presto/Trino) meaning of the
// functions Lake queries use, where DuckDB's built-in of the same name means
// something else or is missing. Macros live in schema main, so they shadow
// built-ins; a shadowed built-in stays reachable as system.main.<name>.
//
// left to DuckDB's built-in, which means the same for these inputs:
// map_keys, map_values, date, date_trunc, day, hour, minute, month, quarter,
// second, week, year, now, current_timestamp; and json_extract, which a
// macro cannot shadow without breaking DuckDB's -> operator, so that for
// text that is not JSON it fails where Lake's gives NULL.
var lakeMacros = []string{
	// map: the value, not a one-element list; array: 1-based, negative from the end, missing in duckdb.
	`CREATE OR REPLACE MACRO main.element_at(x, k) AS x[k]`,

	// counts arrays as well as maps; duckdb's takes maps only.
	`CREATE OR REPLACE MACRO main.cardinality(x) AS
		CAST(system.main.json_array_length(to_json(x)) + len(json_keys(to_json(x))) AS BIGINT)`,

	// NULL, not false, when the element is absent and the array holds a NULL; strings and maps keep duckdb's meaning.
	`CREATE OR REPLACE MACRO main.contains(x, e) AS CASE
		WHEN x IS NULL OR e IS NULL THEN NULL
		WHEN system.main.contains(x, e) THEN true
		WHEN list_contains(CAST(json_extract(to_json(x), '$[*]') AS JSON[]), 'null') THEN NULL
		ELSE false END`,

	// keeps first-occurrence order and one NULL; duckdb's reorders and drops NULLs.
	`CREATE OR REPLACE MACRO main.array_distinct(x) AS
		list_filter(x, lambda e, i: list_position(x, e) = i)`,

	// NULL when any element is NULL; missing in duckdb.
	`CREATE OR REPLACE MACRO main.array_max(x) AS
		CASE WHEN list_count(x) < len(x) THEN NULL ELSE list_max(x) END`,

	// NULL when any element is NULL; missing in duckdb.
	`CREATE OR REPLACE MACRO main.array_min(x) AS
		CASE WHEN list_count(x) < len(x) THEN NULL ELSE list_min(x) END`,

	// slice(array, start, length), negative start from the end; missing in duckdb.
	`CREATE OR REPLACE MACRO main.slice(x, s, n) AS CASE
		WHEN s = 0 THEN error('SQL array indices start at 1')
		WHEN n < 0 THEN error('length must be greater than or equal to 0')
		WHEN s < 0 AND len(x) + s < 0 THEN list_slice(x, 1, 0)
		ELSE list_slice(x, CASE WHEN s > 0 THEN s ELSE len(x) + s + 1 END,
			CASE WHEN s > 0 THEN s ELSE len(x) + s + 1 END + n - 1) END`,

	// varchar to minified json, error if malformed; missing in duckdb.
	`CREATE OR REPLACE MACRO main.json_parse(s) AS json(s)`,

	// true for a number, string, boolean or null; missing in duckdb.
	`CREATE OR REPLACE MACRO main.is_json_scalar(j) AS json_type(j) NOT IN ('OBJECT', 'ARRAY')`,

	// scalar as text, NULL for an object, array, json null or malformed json; missing in duckdb.
	`CREATE OR REPLACE MACRO main.json_extract_scalar(j, p) AS CASE
		WHEN NOT json_valid(j) THEN NULL
		WHEN json_type(j, p) IN ('OBJECT', 'ARRAY') THEN NULL
		ELSE json_extract_string(j, p) END`,

	// json as its minified text; missing in duckdb.
	`CREATE OR REPLACE MACRO main.json_format(j) AS CAST(json(j) AS VARCHAR)`,

	// matches top-level elements of the value's json type, NULL if not an array; missing in duckdb.
	`CREATE OR REPLACE MACRO main.json_array_contains(j, v) AS CASE
		WHEN v IS NULL OR NOT json_valid(j) THEN NULL
		WHEN json_type(j) <> 'ARRAY' THEN NULL
		ELSE len(list_filter(CAST(json_extract(j, '$[*]') AS JSON[]), lambda e: CASE
			WHEN typeof(v) = 'BOOLEAN' THEN json_type(e) = 'BOOLEAN' AND CAST(e AS VARCHAR) = CAST(v AS VARCHAR)
			WHEN typeof(v) = 'VARCHAR' THEN json_type(e) = 'VARCHAR' AND json_extract_string(e, '$') = CAST(v AS VARCHAR)
			WHEN typeof(v) IN ('TINYINT', 'SMALLINT', 'INTEGER', 'BIGINT', 'HUGEINT', 'UTINYINT', 'USMALLINT', 'UINTEGER', 'UBIGINT')
				THEN json_type(e) IN ('BIGINT', 'UBIGINT') AND TRY_CAST(CAST(e AS VARCHAR) AS HUGEINT) = TRY_CAST(v AS HUGEINT)
			ELSE json_type(e) = 'DOUBLE' AND TRY_CAST(CAST(e AS VARCHAR) AS DOUBLE) = TRY_CAST(v AS DOUBLE)
			END)) > 0 END`,

	// 0-based, negative from the end, strings unquoted, NULL out of range or not an array; missing in duckdb.
	`CREATE OR REPLACE MACRO main.json_array_get(j, i) AS CASE
		WHEN NOT json_valid(j) THEN NULL
		WHEN json_type(j) <> 'ARRAY' THEN NULL
		ELSE json_extract_string(j, '$[' || i || ']') END`,

	// NULL when not an array, where duckdb's gives 0; the two-argument form stays duckdb's.
	`CREATE OR REPLACE MACRO main.json_array_length(j) AS CASE
		WHEN NOT json_valid(j) THEN NULL
		WHEN json_type(j) <> 'ARRAY' THEN NULL
		ELSE system.main.json_array_length(j) END,
		(j, p) AS system.main.json_array_length(j, p)`,

	// missing in duckdb, which calls it dayofmonth.
	`CREATE OR REPLACE MACRO main.day_of_month(t) AS dayofmonth(t)`,

	// iso, monday = 1 to sunday = 7; missing in duckdb, whose dayofweek has sunday = 0.
	`CREATE OR REPLACE MACRO main.day_of_week(t) AS isodow(t)`,

	// same as day_of_week; missing in duckdb.
	`CREATE OR REPLACE MACRO main.dow(t) AS isodow(t)`,

	// missing in duckdb, which calls it dayofyear.
	`CREATE OR REPLACE MACRO main.day_of_year(t) AS dayofyear(t)`,

	// same as day_of_year; missing in duckdb.
	`CREATE OR REPLACE MACRO main.doy(t) AS dayofyear(t)`,

	// 0-999 within the second; duckdb's adds the seconds times 1000.
	`CREATE OR REPLACE MACRO main.millisecond(t) AS system.main.millisecond(t) % 1000`,

	// iso week; missing in duckdb, which calls it weekofyear.
	`CREATE OR REPLACE MACRO main.week_of_year(t) AS weekofyear(t)`,

	// iso week-numbering year; missing in duckdb, which calls it isoyear.
	`CREATE OR REPLACE MACRO main.year_of_week(t) AS isoyear(t)`,

	// same as year_of_week; missing in duckdb.
	`CREATE OR REPLACE MACRO main.yow(t) AS isoyear(t)`,

	// date_add(unit, value, timestamp), missing in duckdb; the two-argument form stays duckdb's.
	`CREATE OR REPLACE MACRO main.date_add(a, b) AS system.main.date_add(a, b),
		(u, v, t) AS t + v * CASE lower(u)
			WHEN 'millisecond' THEN INTERVAL 1 MILLISECOND
			WHEN 'second' THEN INTERVAL 1 SECOND
			WHEN 'minute' THEN INTERVAL 1 MINUTE
			WHEN 'hour' THEN INTERVAL 1 HOUR
			WHEN 'day' THEN INTERVAL 1 DAY
			WHEN 'week' THEN INTERVAL 7 DAY
			WHEN 'month' THEN INTERVAL 1 MONTH
			WHEN 'quarter' THEN INTERVAL 3 MONTH
			WHEN 'year' THEN INTERVAL 1 YEAR
			ELSE error('invalid unit for date_add: ' || u) END`,
}
