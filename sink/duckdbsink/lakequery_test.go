package duckdbsink

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// lakeRecord is a record of the corpus as the example queries read it.
type lakeRecord map[string]any

func (r lakeRecord) str(path ...string) (string, bool) {
	var v any = map[string]any(r)
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return "", false
		}
		v = m[p]
	}
	s, ok := v.(string)
	return s, ok
}

func (r lakeRecord) time() time.Time {
	s, _ := r.str("eventTime")
	t, _ := time.Parse(time.RFC3339, s)
	return t
}

// TestLakeExampleQueries runs ExampleQueries over the stored corpus and
// checks each answer against one computed here from the corpus's records.
func TestLakeExampleQueries(t *testing.T) {
	s, files := corpusStore(t)
	var records []lakeRecord
	seen := map[string]bool{}
	for _, f := range files {
		for i, e := range f.events {
			if !seen[e.ID()] {
				seen[e.ID()] = true
				records = append(records, lakeRecord(decodeRecord(t, f.records[i])))
			}
		}
	}
	day := func(r lakeRecord, from, to string) bool {
		lo, _ := time.Parse(time.DateTime, from)
		hi, _ := time.Parse(time.DateTime, to)
		return r.time().After(lo) && r.time().Before(hi)
	}
	tests := []struct {
		name    string
		ordered bool
		want    func() [][]string
	}{
		{
			name: "Principals who called CreateBucket on a day",
			want: func() (out [][]string) {
				for _, r := range records {
					p, ok := r.str("userIdentity", "principalId")
					if name, _ := r.str("eventName"); ok && name == "CreateBucket" && day(r, "2023-07-10 00:00:00", "2023-07-11 00:00:00") {
						out = append(out, []string{p, name})
					}
				}
				return out
			},
		},
		{
			name: "APIs a user called on a day",
			want: func() (out [][]string) {
				for _, r := range records {
					if u, _ := r.str("userIdentity", "userName"); u == "benjamin" && day(r, "2023-07-10 00:00:00", "2023-07-11 00:00:00") {
						id, _ := r.str("eventID")
						name, _ := r.str("eventName")
						src, _ := r.str("eventSource")
						out = append(out, []string{id, name, src, r.time().Format(resultLayout)})
					}
				}
				return out
			},
		},
		{
			name:    "API calls since a day by eventSource and eventName",
			ordered: true,
			want: func() (out [][]string) {
				counts := map[[2]string]int{}
				for _, r := range records {
					if day(r, "2023-01-01 00:00:00", "9999-01-01 00:00:00") {
						src, _ := r.str("eventSource")
						name, _ := r.str("eventName")
						counts[[2]string{src, name}]++
					}
				}
				for k, n := range counts {
					out = append(out, []string{k[0], k[1], fmt.Sprint(n)})
				}
				slices.SortFunc(out, func(a, b []string) int {
					var na, nb int
					fmt.Sscan(a[2], &na)
					fmt.Sscan(b[2], &nb)
					if na != nb {
						return nb - na
					}
					return slices.Compare(a[:2], b[:2])
				})
				return out
			},
		},
		{
			name: "Console sign-ins in a set of regions",
			want: func() (out [][]string) {
				for _, r := range records {
					region, _ := r.str("awsRegion")
					if name, _ := r.str("eventName"); name == "ConsoleLogin" && (region == "us-east-1" || region == "us-west-2") {
						arn, _ := r.str("userIdentity", "arn")
						out = append(out, []string{r.time().Format(resultLayout), arn, region})
					}
				}
				return out
			},
		},
		{
			name: "Bucket names of S3 calls, with element_at",
			want: func() (out [][]string) {
				for _, r := range records {
					b, ok := r.str("requestParameters", "bucketName")
					if src, _ := r.str("eventSource"); ok && src == "s3.amazonaws.com" {
						name, _ := r.str("eventName")
						out = append(out, []string{b, name})
					}
				}
				return out
			},
		},
		{
			name: "Assumed roles by session issuer",
			want: func() (out [][]string) {
				counts := map[string]int{}
				for _, r := range records {
					if typ, _ := r.str("userIdentity", "type"); typ == "AssumedRole" {
						arn, _ := r.str("userIdentity", "sessionContext", "sessionIssuer", "arn")
						counts[arn]++
					}
				}
				for arn, n := range counts {
					out = append(out, []string{arn, fmt.Sprint(n)})
				}
				return out
			},
		},
	}
	if len(tests) != len(ExampleQueries) {
		t.Errorf("%d example queries, %d of them checked here", len(ExampleQueries), len(tests))
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			i := slices.IndexFunc(ExampleQueries, func(q ExampleQuery) bool { return q.Name == tt.name })
			if i < 0 {
				t.Fatal("no example query has this name")
			}
			want := tt.want()
			if len(want) == 0 {
				t.Fatal("the corpus has no events this query finds: the test would prove nothing")
			}
			_, rows := queryAll(t, s, strings.ReplaceAll(ExampleQueries[i].Statement, "event_data_store_ID", eds.ID))
			got := make([][]string, len(rows))
			for i, r := range rows {
				for _, v := range r {
					if tm, ok := v.(time.Time); ok {
						v = tm.UTC().Format(resultLayout)
					}
					if v == nil {
						v = ""
					}
					got[i] = append(got[i], fmt.Sprint(v))
				}
			}
			if !tt.ordered {
				slices.SortFunc(got, slices.Compare)
				slices.SortFunc(want, slices.Compare)
			}
			if !slices.EqualFunc(got, want, slices.Equal) {
				t.Errorf("got %d rows %v\nwant %d rows %v", len(got), got, len(want), want)
			}
		})
	}
}

// resultLayout is how Lake prints a timestamp.
const resultLayout = "2006-01-02 15:04:05.000"
