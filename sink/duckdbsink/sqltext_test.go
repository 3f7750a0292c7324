package duckdbsink

import "testing"

func TestRewriteStoreIDs(t *testing.T) {
	const id = "3f1c0a7e-0b4c-4b8e-9d55-7d2c1f0e8a11"
	const other = "0b9e8d7c-6a5b-4c3d-8e2f-1a0b9c8d7e6f"
	ids := []string{id, other, "abc"}
	tests := []struct {
		name, in, want string
	}{
		{"bare", "SELECT eventName FROM " + id, `SELECT eventName FROM "` + id + `"`},
		{"quoted", `SELECT * FROM "` + id + `"`, `SELECT * FROM "` + id + `"`},
		{"two stores", "SELECT * FROM " + id + " a JOIN " + other + " b USING (eventID)",
			`SELECT * FROM "` + id + `" a JOIN "` + other + `" b USING (eventID)`},
		{"upper case", "SELECT * FROM 3F1C0A7E-0B4C-4B8E-9D55-7D2C1F0E8A11", `SELECT * FROM "` + id + `"`},
		{"qualified", "SELECT * FROM main." + id, `SELECT * FROM main."` + id + `"`},
		{"qualifying a column", "SELECT " + id + ".eventName FROM " + id, `SELECT "` + id + `".eventName FROM "` + id + `"`},
		{"at the end with semicolon", "FROM " + id + ";", `FROM "` + id + `";`},
		{"newline and parenthesis", "SELECT count(*) FROM (SELECT * FROM\n" + id + ")", "SELECT count(*) FROM (SELECT * FROM\n\"" + id + "\")"},
		{"followed by a comment", "FROM " + id + "-- comment", `FROM "` + id + `"-- comment`},
		{"string literal", "SELECT '" + id + "' FROM " + id, `SELECT '` + id + `' FROM "` + id + `"`},
		{"escaped quote in literal", "SELECT 'it''s " + id + "'", "SELECT 'it''s " + id + "'"},
		{"escape string", `SELECT E'\' ` + id + `'`, `SELECT E'\' ` + id + `'`},
		{"e ending a word is no escape string", `SELECT 'x' AS e, 'y' FROM ` + id, `SELECT 'x' AS e, 'y' FROM "` + id + `"`},
		{"dollar quoted", "SELECT $$ " + id + " $$, $q$ " + id + " $q$", "SELECT $$ " + id + " $$, $q$ " + id + " $q$"},
		{"parameter is no dollar quote", "SELECT $1 FROM " + id, `SELECT $1 FROM "` + id + `"`},
		{"quoted identifier", `SELECT "x ` + id + `" FROM t`, `SELECT "x ` + id + `" FROM t`},
		{"line comment", "SELECT 1 -- " + id + "\nFROM t", "SELECT 1 -- " + id + "\nFROM t"},
		{"block comment", "SELECT /* " + id + " /* nested */ " + id + " */ 1", "SELECT /* " + id + " /* nested */ " + id + " */ 1"},
		{"part of a longer word", "SELECT x" + id + ", " + id + "x, " + id + "-1, " + id + "_a", "SELECT x" + id + ", " + id + "x, " + id + "-1, " + id + "_a"},
		{"hyphen before", "SELECT 1-" + id, "SELECT 1-" + id},
		{"short id as a word", "SELECT abc, abcd, xabc FROM abc", `SELECT "abc", abcd, xabc FROM "abc"`},
		{"unterminated literal", "SELECT '" + id, "SELECT '" + id},
		{"no ids", "SELECT 1", "SELECT 1"},
	}
	for _, tt := range tests {
		if got := rewriteStoreIDs(tt.in, ids); got != tt.want {
			t.Errorf("%s: rewriteStoreIDs(%q) =\n%q, want\n%q", tt.name, tt.in, got, tt.want)
		}
	}
	if got := rewriteStoreIDs("SELECT * FROM "+id, nil); got != "SELECT * FROM "+id {
		t.Errorf("rewriteStoreIDs without IDs changed the statement: %q", got)
	}
}

func TestSplitStatement(t *testing.T) {
	tests := []struct {
		in, body string
		multiple bool
	}{
		{"SELECT 1", "SELECT 1", false},
		{"SELECT 1;", "SELECT 1", false},
		{"SELECT 1 ; ;\n", "SELECT 1", false},
		{"SELECT 1 -- trailing comment", "SELECT 1", false},
		{"SELECT 1; -- comment\n/* block */", "SELECT 1", false},
		{"SELECT ';'", "SELECT ';'", false},
		{`SELECT ";" FROM t;`, `SELECT ";" FROM t`, false},
		{"SELECT 1; SELECT 2", "SELECT 1; SELECT 2", true},
		{"SELECT 1; 'x'", "SELECT 1; 'x'", true},
		{"DELETE FROM t; SELECT 1;", "DELETE FROM t; SELECT 1", true},
		{"  ;  ", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		body, multiple := splitStatement(tt.in)
		if body != tt.body || multiple != tt.multiple {
			t.Errorf("splitStatement(%q) = %q, %v; want %q, %v", tt.in, body, multiple, tt.body, tt.multiple)
		}
	}
}

func TestTextType(t *testing.T) {
	tests := []struct{ in, want string }{
		{"JSON", "VARCHAR"},
		{"UUID", "VARCHAR"},
		{"VARCHAR", "VARCHAR"},
		{"TIMESTAMP WITH TIME ZONE", "TIMESTAMP WITH TIME ZONE"},
		{"DECIMAL(18,3)", "DECIMAL(18,3)"},
		{"JSON[]", "VARCHAR[]"},
		{"UUID[2][]", "VARCHAR[2][]"},
		{"MAP(VARCHAR, JSON)", "MAP(VARCHAR, VARCHAR)"},
		{`STRUCT(uuid UUID, "json" JSON, "a b" INTEGER, Mixed UUID[])`, `STRUCT(uuid VARCHAR, "json" VARCHAR, "a b" INTEGER, Mixed VARCHAR[])`},
		{`STRUCT("a""b" STRUCT(c JSON)[], d ENUM('x', 'JSON)'))[]`, `STRUCT("a""b" STRUCT(c VARCHAR)[], d ENUM('x', 'JSON)'))[]`},
		{"UNION(k UUID, n INTEGER)", "UNION(k VARCHAR, n INTEGER)"},
		{"STRUCT(a JSON", "STRUCT(a JSON"},
		{"STRUCT(a)", "STRUCT(a)"},
		{"JSON)", "JSON)"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := textType(tt.in); got != tt.want {
			t.Errorf("textType(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
