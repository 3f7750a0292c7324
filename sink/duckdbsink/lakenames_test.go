package duckdbsink

import (
	"context"
	"database/sql"
	"slices"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2"
)

func TestLakeNamer(t *testing.T) {
	ctx := context.Background()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, stmt := range []string{
		`CREATE TABLE t (eventName VARCHAR, userIdentity STRUCT(principalId VARCHAR, arn VARCHAR), requestParameters MAP(VARCHAR, VARCHAR), eventTime TIMESTAMP)`,
		`INSERT INTO t VALUES ('GetObject', {'principalId': 'p', 'arn': 'a'}, MAP {'bucketName': 'b'}, TIMESTAMP '2024-01-01 00:00:00')`,
	} {
		if _, err := conn.ExecContext(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}

	tests := []struct {
		name  string
		query string
		want  []string // nil: DuckDB's names, unchanged
	}{
		{"columns", `SELECT eventName, eventTime FROM t`, []string{"eventName", "eventTime"}},
		{"qualified column", `SELECT t.eventName FROM t`, []string{"eventName"}},
		{"struct field", `SELECT userIdentity.principalid FROM t`, []string{"principalid"}},
		{"struct column", `SELECT userIdentity FROM t`, []string{"userIdentity"}},
		{"count star", `SELECT count(*) FROM t`, []string{"_col0"}},
		{"count star alias", `SELECT count(*) AS n FROM t`, []string{"n"}},
		{"group by", `SELECT eventName, count(*) FROM t GROUP BY eventName`, []string{"eventName", "_col1"}},
		{"same names", `SELECT eventName AS _col1, count(*) FROM t GROUP BY eventName`, []string{"_col1", "_col1"}},
		{"function", `SELECT eventName, element_at(requestParameters, 'bucketName') FROM t`, []string{"eventName", "_col1"}},
		{"subscript", `SELECT requestParameters['bucketName'] FROM t`, []string{"_col0"}},
		{"operator", `SELECT eventName || 'x', userIdentity.arn FROM t`, []string{"_col0", "arn"}},
		{"case", `SELECT CASE WHEN eventName = 'GetObject' THEN 1 ELSE 0 END, eventName FROM t`, []string{"_col0", "eventName"}},
		{"cast", `SELECT CAST(eventTime AS DATE), eventTime FROM t`, []string{"_col0", "eventTime"}},
		{"literals", `SELECT 1, 'x', NULL AS z FROM t`, []string{"_col0", "_col1", "z"}},
		{"scalar subquery", `SELECT (SELECT max(eventTime) FROM t), eventName FROM t`, []string{"_col0", "eventName"}},
		{"subquery with star", `SELECT (SELECT count(*) FROM (SELECT * FROM t)) FROM t`, []string{"_col0"}},
		{"window", `SELECT eventName, row_number() OVER (ORDER BY eventTime) FROM t`, []string{"eventName", "_col1"}},
		{"union", `SELECT eventName, count(*) FROM t GROUP BY 1 UNION SELECT 'x' AS a, 2`, []string{"eventName", "_col1"}},
		{"union all chain", `SELECT count(*) AS n FROM t UNION ALL SELECT 1 UNION ALL SELECT 2`, []string{"n"}},
		{"except", `SELECT eventName FROM t EXCEPT SELECT 'x'`, []string{"eventName"}},
		{"intersect left literal", `SELECT 'x' INTERSECT SELECT eventName FROM t`, []string{"_col0"}},
		{"with", `WITH c AS (SELECT eventName, count(*) AS n FROM t GROUP BY 1) SELECT eventName, n, n + 1 FROM c`, []string{"eventName", "n", "_col2"}},
		{"order by limit", `SELECT eventName, count(*) FROM t GROUP BY eventName ORDER BY 2 DESC LIMIT 10`, []string{"eventName", "_col1"}},
		{"union order by limit", `SELECT eventName, 1 FROM t UNION SELECT 'x', 2 ORDER BY 1 LIMIT 1`, []string{"eventName", "_col1"}},
		{"parameter", `SELECT ?, eventName FROM t`, []string{"_col0", "eventName"}},
		{"star", `SELECT * FROM t`, nil},
		{"star and more", `SELECT *, count(*) OVER () FROM t`, nil},
		{"struct star", `SELECT userIdentity.* FROM t`, nil},
		{"columns expression", `SELECT COLUMNS('event.*') FROM t`, nil},
		{"columns in function", `SELECT max(COLUMNS('eventName')) FROM t`, nil},
		{"union by name", `SELECT eventName FROM t UNION BY NAME SELECT 1 AS x`, nil},
		{"from first", `FROM t`, nil},
		{"values", `VALUES (1, 'a')`, nil},
		{"describe", `DESCRIBE t`, nil},
		{"explain", `EXPLAIN SELECT count(*) FROM t`, nil},
		{"pragma", `PRAGMA table_info('t')`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var args []any
			if tt.name == "parameter" {
				args = []any{int64(1)}
			}
			rows, err := conn.QueryContext(ctx, tt.query, args...)
			if err != nil {
				t.Fatal(err)
			}
			names, err := rows.Columns()
			rows.Close()
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want == nil {
				want = names
			}
			got := lakeNamer(ctx, conn, tt.query)(slices.Clone(names))
			if !slices.Equal(got, want) {
				t.Errorf("lakeNamer(%q)(%q) = %q, want %q", tt.query, names, got, want)
			}
		})
	}

	// A statement that does not parse, and names that do not fit the
	// select list, are returned unchanged.
	names := []string{"a", "b"}
	for _, q := range []string{`SELEC 1, 2`, `SELECT 1`, `SELECT 1, 2; SELECT 3, 4`, ``} {
		if got := lakeNamer(ctx, conn, q)(names); !slices.Equal(got, names) {
			t.Errorf("lakeNamer(%q)(%q) = %q, want them unchanged", q, names, got)
		}
	}
}
