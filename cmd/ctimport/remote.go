package main

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/client"
	"github.com/ctimport/ctimport/internal/sigv4"
)

// pollInterval is how often a command waiting on a server asks it how far
// an import or a query got.
const pollInterval = time.Second

// client returns a client of the server at --endpoint-url, signing with the
// access key in the environment.
func (c *cli) client() (*client.Client, error) {
	key := sigv4.Key{
		AccessKeyID:     cmp.Or(os.Getenv("CTIMPORT_ACCESS_KEY_ID"), os.Getenv("AWS_ACCESS_KEY_ID")),
		SecretAccessKey: cmp.Or(os.Getenv("CTIMPORT_SECRET_ACCESS_KEY"), os.Getenv("AWS_SECRET_ACCESS_KEY")),
	}
	if key.AccessKeyID == "" || key.SecretAccessKey == "" {
		return nil, usagef("--endpoint-url needs an access key of the server: set CTIMPORT_ACCESS_KEY_ID and CTIMPORT_SECRET_ACCESS_KEY")
	}
	region := cmp.Or(os.Getenv("AWS_REGION"), os.Getenv("AWS_DEFAULT_REGION"))
	cl, err := client.New(c.endpoint, key, region)
	if err != nil {
		return nil, usagef("%v", err)
	}
	return cl, nil
}

// where tells where the command's imports run: "" in this process, else
// " on " the server.
func (c *cli) where() string {
	if c.endpoint == "" {
		return ""
	}
	return " on " + c.endpoint
}

// self is the command line that calls the same service as this one.
func (c *cli) self() string {
	if c.endpoint == "" {
		return "ctimport"
	}
	return "ctimport --endpoint-url " + c.endpoint
}

// statisticsLine renders an import's statistics and bytes, as a server
// reports them, as one line; rate is the bytes imported a second, 0 while
// not known.
func statisticsLine(st *api.ImportStatistics, bytes *api.ImportBytes, rate float64, elapsed time.Duration) string {
	if st == nil {
		return "starting…"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "prefixes %s/%s  files %s  events %s", count(st.PrefixesCompleted), count(st.PrefixesFound), count(st.FilesCompleted), count(st.EventsCompleted))
	if s := elapsed.Seconds(); s > 0 {
		fmt.Fprintf(&b, "  %s events/s", count(int64(float64(st.EventsCompleted)/s)))
	}
	if bytes != nil {
		fmt.Fprintf(&b, "  %s", megabytes(bytes.BytesCompleted))
		if rate > 0 {
			fmt.Fprintf(&b, "  %.2f MB/s", rate/1e6)
		}
		if left := bytes.BytesRemaining; left != nil {
			fmt.Fprintf(&b, "  %s left", megabytes(*left))
			if rate > 0 {
				fmt.Fprintf(&b, "  ETA %s", clock(time.Duration(float64(*left)/rate*float64(time.Second))))
			}
		}
	}
	if st.FailedEntries > 0 {
		fmt.Fprintf(&b, "  %s failed", count(st.FailedEntries))
	}
	fmt.Fprintf(&b, "  %s", clock(elapsed))
	return b.String()
}

// remoteQuery runs the query on a server, waits for it and prints its
// results. A server returns every value as text, and leaves NULLs out.
func (c *cli) remoteQuery(ctx context.Context) error {
	cl, err := c.client()
	if err != nil {
		return err
	}
	q, err := cl.StartQuery(ctx, api.StartQueryInput{QueryStatement: c.args.str("query-statement")})
	if err != nil {
		return err
	}
	tick := time.NewTicker(pollInterval / 4)
	defer tick.Stop()
	var desc api.DescribeQueryOutput
	for {
		desc, err = cl.DescribeQuery(ctx, api.DescribeQueryInput{QueryId: q.QueryId})
		if err != nil {
			return err
		}
		if desc.QueryStatus != api.QueryQueued && desc.QueryStatus != api.QueryRunning {
			break
		}
		select {
		case <-ctx.Done():
			cl.CancelQuery(context.WithoutCancel(ctx), api.CancelQueryInput{QueryId: q.QueryId})
			return ctx.Err()
		case <-tick.C:
		}
	}
	if desc.QueryStatus != api.QueryFinished {
		msg := cmp.Or(desc.ErrorMessage, "the query ended "+string(desc.QueryStatus))
		return api.ErrInvalidQueryStatement.New("%s", msg)
	}
	var rows [][]map[string]string
	in := api.GetQueryResultsInput{QueryId: q.QueryId}
	for {
		page, err := cl.GetQueryResults(ctx, in)
		if err != nil {
			return err
		}
		rows = append(rows, page.QueryResultRows...)
		if page.NextToken == "" {
			break
		}
		in.NextToken = page.NextToken
	}
	cols := resultColumns(rows)
	qw := newQueryWriter(c.stdout, c.format, cols)
	for _, row := range rows {
		vals := make([]any, len(cols))
		for _, cell := range row {
			for k, v := range cell {
				vals[slices.Index(cols, k)] = v
			}
		}
		if err := qw.row(vals); err != nil {
			return err
		}
	}
	return qw.close()
}

// resultColumns returns the columns of query result rows, in their order.
// A row leaves out its NULL columns, so the columns are merged over all
// rows.
func resultColumns(rows [][]map[string]string) []string {
	var cols []string
	for _, row := range rows {
		at := 0
		for _, cell := range row {
			for k := range cell {
				if i := slices.Index(cols, k); i >= 0 {
					at = i + 1
					continue
				}
				cols = slices.Insert(cols, at, k)
				at++
			}
		}
	}
	return cols
}
