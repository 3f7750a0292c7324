package main

import (
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"
)

// queryPair is one question asked in two forms: through an event data
// store's view of Lake's schema, and through the JSON columns of its events
// table, as queries were written before the view. {view} and {table} stand
// for the two.
type queryPair struct {
	Name string
	Lake string
	JSON string
}

var queryPairs = []queryPair{
	{"struct field: userIdentity.arn",
		`SELECT count(*) FROM {view} WHERE userIdentity.arn LIKE '%:user/%'`,
		`SELECT count(*) FROM {table} WHERE userIdentity->>'arn' LIKE '%:user/%'`},
	{"nested struct field: sessionIssuer.arn",
		`SELECT count(DISTINCT userIdentity.sessionContext.sessionIssuer.arn) FROM {view}`,
		`SELECT count(DISTINCT userIdentity->'sessionContext'->'sessionIssuer'->>'arn') FROM {table}`},
	{"map value: element_at(requestParameters)",
		`SELECT count(*) FROM {view} WHERE element_at(requestParameters, 'bucketName') IS NOT NULL`,
		`SELECT count(*) FROM {table} WHERE requestParameters->>'bucketName' IS NOT NULL`},
	{"group by a struct field",
		`SELECT userIdentity.type, count(*) FROM {view} GROUP BY ALL ORDER BY ALL`,
		`SELECT userIdentity->>'type', count(*) FROM {table} GROUP BY ALL ORDER BY ALL`},
	{"one day of eventTime",
		`SELECT count(*), count(DISTINCT eventName) FROM {view} WHERE eventTime >= '2024-03-05 00:00:00' AND eventTime < '2024-03-06 00:00:00'`,
		`SELECT count(*), count(DISTINCT eventName) FROM {table} WHERE eventTime >= '2024-03-05 00:00:00' AND eventTime < '2024-03-06 00:00:00'`},
}

// queryTiming is the best of three runs of each form of a query pair.
type queryTiming struct {
	Name        string  `json:"name"`
	LakeSeconds float64 `json:"lakeSeconds"`
	JSONSeconds float64 `json:"jsonSeconds"`
}

func queries(args []string) (any, error) {
	flags := flag.NewFlagSet("queries", flag.ContinueOnError)
	path := flags.String("db", "", "the database")
	store := flags.String("store", "", "the ID of the event data store")
	if err := flags.Parse(args); err != nil {
		return nil, err
	}
	if *path == "" || *store == "" {
		return nil, errors.New("-db and -store are required")
	}
	db, err := sql.Open("duckdb", *path+"?access_mode=read_only")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	names := strings.NewReplacer("{view}", quoteIdent(*store), "{table}", "ctimport_events."+quoteIdent(*store))
	var out struct {
		Queries []queryTiming `json:"queries"`
	}
	for _, q := range queryPairs {
		lake, lakeAnswer, err := timeQuery(db, names.Replace(q.Lake))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", q.Name, err)
		}
		plain, jsonAnswer, err := timeQuery(db, names.Replace(q.JSON))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", q.Name, err)
		}
		if lakeAnswer != jsonAnswer {
			return nil, fmt.Errorf("%s: the two forms answer differently:\n%s\n%s", q.Name, lakeAnswer, jsonAnswer)
		}
		out.Queries = append(out.Queries, queryTiming{q.Name, lake, plain})
	}
	return out, nil
}

// timeQuery runs query three times and returns its best time and its rows
// as text.
func timeQuery(db *sql.DB, query string) (float64, string, error) {
	best, answer := 0.0, ""
	for range 3 {
		start := time.Now()
		rows, err := db.Query(query)
		if err != nil {
			return 0, "", err
		}
		cols, _ := rows.Columns()
		var b strings.Builder
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		for rows.Next() {
			if err := rows.Scan(ptrs...); err != nil {
				rows.Close()
				return 0, "", err
			}
			fmt.Fprintln(&b, vals...)
		}
		if err := errors.Join(rows.Err(), rows.Close()); err != nil {
			return 0, "", err
		}
		if s := time.Since(start).Seconds(); best == 0 || s < best {
			best = s
		}
		answer = b.String()
	}
	return best, answer, nil
}
