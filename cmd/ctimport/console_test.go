package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail"
	"github.com/aws/aws-sdk-go-v2/service/cloudtrail/types"
	"github.com/chromedp/cdproto/browser"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/ctimport/ctimport/api"
)

// The read-only key of the console's server.
const (
	readKeyID  = "AKIDCONSOLEREAD01"
	readSecret = "read-Secret-7hQm2Vx9cLp4Zr"
)

// chromium returns the path of the browser the console's tests drive,
// Debian's chromium. Without it they fail, so that no run of the whole
// suite passes without trying the console in a browser; go test -short
// skips them.
func chromium(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if testing.Short() {
			t.Skip("no chromium on the PATH")
		}
		t.Fatalf("the console's tests need a browser: install chromium (apt-get install chromium): %v", err)
	}
	return path
}

// tab is a tab of a headless chromium, which records the errors of its
// pages: exceptions, and error entries of the console other than failed
// network requests (among which are the calls the test expects refused).
type tab struct {
	t   *testing.T
	ctx context.Context
	url string // of the server

	mu     sync.Mutex
	errors []string
}

func newTab(t *testing.T, url string) *tab {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium(t)), chromedp.WindowSize(1280, 900),
		chromedp.Flag("disable-dev-shm-usage", true))
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(t.Context(), opts...)
	t.Cleanup(cancelAlloc)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(cancel)
	b := &tab{t: t, ctx: ctx, url: url}
	err := chromedp.Listen(ctx, func(ev any) {
		b.mu.Lock()
		defer b.mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			b.errors = append(b.errors, fmt.Sprintf("exception: %s %v", ev.ExceptionDetails.Text, ev.ExceptionDetails.Exception.Description))
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.EntryLevelError && ev.Entry.Source != cdplog.EntrySourceNetwork {
				b.errors = append(b.errors, fmt.Sprintf("%s: %s", ev.Entry.Source, ev.Entry.Text))
			}
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.ConsoleAPICalledTypeError {
				b.errors = append(b.errors, "console.error")
			}
		}
	})
	if err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	t.Cleanup(func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		for _, e := range b.errors {
			t.Errorf("the page had an error: %s", e)
		}
	})
	return b
}

// do runs actions in the tab, failing the test with what was doing.
func (b *tab) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval returns the value of a JavaScript expression in the page.
func eval[T any](b *tab, expr string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		b.t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// wait waits until a JavaScript expression is true in the page, for up to
// a minute, across navigations.
func (b *tab) wait(what, expr string) {
	b.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		// A page that navigates fails the evaluation: try again.
		ok, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](expr))
		switch {
		case err == nil && ok:
			return
		case time.Now().After(deadline):
			shown, _ := chromedp.Run(b.ctx, chromedp.Evaluate[string](`location.hash + ': ' + (document.getElementById('error')?.textContent ?? '') + ' / ' + document.getElementById('view')?.textContent`))
			b.t.Fatalf("waiting for %s: timed out (last error: %v; the page %s)", what, err, shown)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// text returns the text of the element id, or "" when there is none.
func (b *tab) text(id string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`document.getElementById(%q)?.textContent ?? ""`, id))
}

// choose sets the value of a form field as a person would, firing its
// change event.
func (b *tab) choose(id, value string) {
	b.t.Helper()
	eval[bool](b, fmt.Sprintf(`(() => { const e = document.getElementById(%q); e.value = %q; e.dispatchEvent(new Event('change')); return e.value === %q; })()`, id, value, value))
}

// screenshot saves a screenshot of the page as an artifact of the test.
func (b *tab) screenshot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(b.t.ArtifactDir(), name+".png"), png, 0o644); err != nil {
		b.t.Fatal(err)
	}
}

// open opens a page of the console by its hash route and waits until it
// shows el.
func (b *tab) open(route, el string) {
	b.t.Helper()
	b.do("opening "+route, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`location.hash = %q`, route)))
	b.wait(el+" on "+route, fmt.Sprintf(`document.querySelector(%q) !== null`, el))
}

// tableRows returns the text of the cells of the body of table id.
func (b *tab) tableRows(id string) [][]string {
	b.t.Helper()
	return eval[[][]string](b, fmt.Sprintf(`[...document.querySelectorAll('#%s tbody tr')].map((tr) => [...tr.cells].map((td) => td.textContent))`, id))
}

// consoleServer serves a database with an admin key and a read key, with
// env added to its environment and flags to its command line.
func consoleServer(t *testing.T, env []string, flags ...string) *serverProc {
	t.Helper()
	h := newHarness(t)
	keys := filepath.Join(h.dir, "keys")
	lines := fmt.Sprintf("%s %s admin\n%s %s read\n", serveKeyID, serveSecret, readKeyID, readSecret)
	if err := os.WriteFile(keys, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	return h.serve(env, append([]string{"--credentials-file", keys}, flags...)...)
}

// TestConsole drives the web console in chromium as a person would: signs
// in, creates an event data store, imports the bundled sample and a source
// with a broken file, retries that, runs an example query and a time series,
// and checks each page against the answers of the API. Screenshots of the
// pages are artifacts of the test (go test -artifacts).
func TestConsole(t *testing.T) {
	t.Parallel()
	chromium(t)
	root, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sample := newLayout(t)
	sample.corpus(filepath.Join(corpusDir, "invictus-2023-07-10"), "")
	sample.write(filepath.Join(root, "sample"))
	at := time.Date(2024, 5, 1, 9, 0, 0, 0, time.UTC)
	broken := newLayout(t)
	broken.log(logKey("AWSLogs/", "123456789012", "us-east-1", at, "Good"), events("good", at.Add(-5*time.Minute), 3)...)
	badKey := logKey("AWSLogs/", "123456789012", "us-east-1", at.Add(5*time.Minute), "Bad")
	broken.put(badKey, []byte("this is not gzip data\n"))
	broken.write(filepath.Join(root, "broken"))

	s := consoleServer(t, nil, "--file-sources", root)
	cl := s.sdk()
	b := newTab(t, s.url)

	// A wrong secret does not sign in, and leaves no cookie.
	b.do("opening the console", chromedp.Navigate(s.url+"/console/"))
	b.wait("the sign-in form", `document.getElementById('login') !== null`)
	b.screenshot("sign-in")
	b.do("signing in with a wrong secret",
		chromedp.SetValue("#accessKeyId", serveKeyID), chromedp.SetValue("#secretAccessKey", "not-the-secret"), chromedp.Click("#signin"))
	b.wait("the sign-in error", `!document.getElementById('error').hidden`)
	if msg := b.text("error"); !strings.Contains(msg, "wrong") {
		t.Errorf("a wrong secret shows %q", msg)
	}
	cookies, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{s.url + "/console/"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(cookies.Cookies) != 0 {
		t.Errorf("a wrong secret left cookies %v", cookies.Cookies)
	}

	// The right one does; the cookie is HttpOnly and SameSite=Strict.
	b.signIn()
	cookies, err = chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{s.url + "/console/"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(cookies.Cookies) != 1 || !cookies.Cookies[0].HTTPOnly || cookies.Cookies[0].SameSite != network.CookieSameSiteStrict || cookies.Cookies[0].Path != "/console/" {
		t.Errorf("cookies after sign-in: %+v", cookies.Cookies)
	}
	if eval[string](b, `document.cookie`) != "" {
		t.Error("the page's script can read the session cookie")
	}

	b.open("#/stores", "#create-store")
	b.do("creating a store", chromedp.SetValue("#store-name", "console"), chromedp.Click("#create-store button"))
	b.wait("the store in the table", `document.querySelector('#stores-table')?.textContent.includes('console')`)
	stores, err := cl.ListEventDataStores(t.Context(), &cloudtrail.ListEventDataStoresInput{})
	if err != nil || len(stores.EventDataStores) != 1 {
		t.Fatalf("ListEventDataStores: %v, %v", stores, err)
	}
	arn := aws.ToString(stores.EventDataStores[0].EventDataStoreArn)
	id := arn[strings.LastIndex(arn, "/")+1:]
	if rows := b.tableRows("stores-table"); len(rows) != 1 || rows[0][0] != "console" || rows[0][1] != id || rows[0][2] != "ENABLED" {
		t.Errorf("the stores' table: %q", rows)
	}
	b.screenshot("stores")

	// An import of the bundled sample, watched until COMPLETED.
	sampleImport := b.startImport("file://" + filepath.ToSlash(filepath.Join(root, "sample")) + "/")
	b.wait("the import to end", `['COMPLETED', 'FAILED', 'STOPPED'].includes(document.getElementById('import-status')?.textContent)`)
	got := getImportSDK(t, cl, sampleImport)
	if st := b.text("import-status"); st != "COMPLETED" || string(got.ImportStatus) != st {
		t.Fatalf("the console shows the import %s, the API %s", st, got.ImportStatus)
	}
	b.wait("the final statistics", fmt.Sprintf(`document.getElementById('stat-events')?.textContent === %q`, thousands(aws.ToInt64(got.ImportStatistics.EventsCompleted))))
	if files := b.text("stat-files"); files != thousands(aws.ToInt64(got.ImportStatistics.FilesCompleted)) {
		t.Errorf("files imported: the console shows %s, the API %d", files, aws.ToInt64(got.ImportStatistics.FilesCompleted))
	}
	if n := int64(sample.count()); aws.ToInt64(got.ImportStatistics.EventsCompleted) != n {
		t.Errorf("the import has %d events, the sample %d", aws.ToInt64(got.ImportStatistics.EventsCompleted), n)
	}
	if bytes := ctimportBytes(t, s.url, sampleImport); bytes.BytesCompleted != sample.size() || bytes.BytesRemaining != nil {
		t.Errorf("GetImport of the ended import has CtimportBytes %+v, want the sample's %d bytes completed", bytes, sample.size())
	}
	b.wait("the bytes imported", fmt.Sprintf(`document.getElementById('stat-bytes')?.dataset.bytes === '%d'`, sample.size()))
	b.screenshot("import")
	b.do("opening the failures", chromedp.Click("#failures-link"))
	b.wait("no failures", `document.getElementById('no-failures') !== null`)

	// An import with a broken file: its failure, then a retry once fixed.
	brokenImport := b.startImport("file://" + filepath.ToSlash(filepath.Join(root, "broken")) + "/")
	b.wait("the import to fail", `document.getElementById('import-status')?.textContent === 'FAILED'`)
	b.do("opening the failures", chromedp.Click("#failures-link"))
	b.wait("the failures' table", `document.getElementById('failures-table') !== null`)
	failures, err := cl.ListImportFailures(t.Context(), &cloudtrail.ListImportFailuresInput{ImportId: aws.String(brokenImport)})
	if err != nil {
		t.Fatal(err)
	}
	var want [][]string
	for _, f := range failures.Failures {
		want = append(want, []string{aws.ToString(f.Location), aws.ToString(f.ErrorType), aws.ToString(f.ErrorMessage), string(f.Status)})
	}
	rows := b.tableRows("failures-table")
	for i := range rows {
		rows[i] = rows[i][:4]
	}
	if len(want) != 1 || want[0][1] != "InvalidGzip" || !slices.EqualFunc(rows, want, slices.Equal) {
		t.Errorf("the failures' table shows %q, the API %q", rows, want)
	}
	b.screenshot("failures")
	fixed := newLayout(t)
	fixed.log(badKey, events("fixed", at, 2)...)
	fixed.write(filepath.Join(root, "broken"))
	b.do("retrying", chromedp.Click("#retry-import"))
	b.wait("the retried file to succeed", `document.querySelector('#failures-table tbody tr td:nth-child(4)')?.textContent === 'SUCCEEDED'`)
	b.wait("the retry to complete", `document.getElementById('import-status')?.textContent === 'COMPLETED'`)

	b.open("#/imports", "#imports-table")
	b.wait("both imports ended", `[...document.querySelectorAll('#imports-table tbody tr td:nth-child(2)')].filter((td) => td.textContent === 'COMPLETED').length === 2`)
	b.screenshot("imports")

	// An example query: the table against GetQueryResults, and its bars.
	b.open("#/query", "#sample")
	sampleIndex := eval[int](b, `[...document.querySelectorAll('#sample option')].findIndex((o) => o.textContent === 'API calls since a day by eventSource and eventName') - 1`)
	if sampleIndex < 0 {
		t.Fatal("the query editor does not offer the example query")
	}
	b.choose("store", id)
	b.choose("sample", strconv.Itoa(sampleIndex))
	if stmt := eval[string](b, `document.getElementById('statement').value`); !strings.Contains(stmt, "FROM \n    "+id) {
		t.Errorf("the example query does not name the store:\n%s", stmt)
	}
	apiRows, cols := b.runQuery()
	if !slices.Equal(cols, []string{"eventSource", "eventName", "apiCount"}) {
		t.Errorf("the table's columns are %q", cols)
	}
	if len(apiRows) <= 50 {
		t.Fatalf("the query has %d rows: too few to page", len(apiRows))
	}
	b.checkPage(apiRows, cols, 0)
	b.do("next page", chromedp.Click("#next-page"))
	b.checkPage(apiRows, cols, 50)
	b.checkChart("groups")
	b.screenshot("query-groups")
	b.checkDownload(apiRows, cols)

	// A time series: events per hour draw a line, and the bars on demand.
	b.do("writing a query", chromedp.SetValue("#statement", "SELECT date_trunc('hour', eventTime) AS hour, count(*) AS events FROM "+id+" GROUP BY 1 ORDER BY 1"))
	apiRows, cols = b.runQuery()
	if len(apiRows) < 2 || !slices.Equal(cols, []string{"hour", "events"}) {
		t.Fatalf("events per hour: %d rows of %q", len(apiRows), cols)
	}
	b.checkPage(apiRows, cols, 0)
	b.checkChart("time")
	b.screenshot("query-time")
	b.choose("chart-kind", "groups")
	b.checkChart("groups")
	b.choose("chart-kind", "none")
	if eval[string](b, `document.getElementById('chart').dataset.kind`) != "none" || !eval[bool](b, `document.getElementById('chart').hidden`) {
		t.Error("choosing no chart leaves one")
	}

	// Signed out, the console is the sign-in page again and answers no call.
	b.do("signing out", chromedp.Click("#logout"))
	b.wait("the sign-in form", `document.getElementById('login') !== null`)
	status, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`fetch('api/ListImports', {method: 'POST', body: '{}'}).then((r) => r.status)`, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if status != http.StatusUnauthorized && status != http.StatusForbidden {
		t.Errorf("a call after signing out: HTTP %d", status)
	}
}

// TestConsoleStop stops a running import from its page: the import waits
// on a source that holds its last files, the page shows the bytes imported
// and those left as GetImport tells them, Stop ends the import, and the
// page and GetImport say STOPPED.
func TestConsoleStop(t *testing.T) {
	t.Parallel()
	chromium(t)
	f := newFrozenSource(t, "console-stop", 12, 5, 8)
	s := consoleServer(t, s3Creds(f.srv), f.serverFlags()...)
	cl := s.sdk()
	createStoreSDK(t, cl, "stop")
	b := newTab(t, s.url)
	b.do("opening the console", chromedp.Navigate(s.url+"/console/"))
	b.signIn()
	id := b.startImport("s3://"+f.bucket+"/", chromedp.SetValue("#region", "us-east-1"))
	f.waitHeld(t)

	done, left := f.l.size(f.keys[:f.first]...), f.l.size(f.keys[f.first:]...)
	poll(t, "GetImport to count the bytes of the files read", func() bool {
		got := ctimportBytes(t, s.url, id)
		return got.BytesCompleted == done && got.BytesRemaining != nil && *got.BytesRemaining == left
	})
	b.wait("the running import's bytes", fmt.Sprintf(`document.getElementById('import-status')?.textContent === 'IN_PROGRESS' &&
		document.getElementById('stat-bytes')?.dataset.bytes === '%d' && document.getElementById('stat-bytes-left')?.dataset.bytes === '%d'`, done, left))
	b.screenshot("import-running")

	b.do("stopping the import", chromedp.Click("#stop-import"))
	b.wait("the import to stop", `document.getElementById('import-status')?.textContent === 'STOPPED'`)
	if got := getImportSDK(t, cl, id); got.ImportStatus != types.ImportStatusStopped {
		t.Errorf("the console shows the import STOPPED, GetImport %s", got.ImportStatus)
	}
	b.wait("Retry to be offered", `!document.getElementById('retry-import').disabled && document.getElementById('stop-import').disabled`)
	b.screenshot("import-stopped")
}

// signIn signs in on the console's sign-in page with the admin key.
func (b *tab) signIn() {
	b.t.Helper()
	b.do("signing in", chromedp.SetValue("#accessKeyId", serveKeyID), chromedp.SetValue("#secretAccessKey", serveSecret), chromedp.Click("#signin"))
	b.wait("the console", `document.querySelector('main#view[data-page="stores"]') !== null`)
}

// ctimportBytes returns the CtimportBytes of GetImport of import id.
func ctimportBytes(t *testing.T, url, id string) api.ImportBytes {
	t.Helper()
	key := aws.Credentials{AccessKeyID: serveKeyID, SecretAccessKey: serveSecret}
	r, _ := rawRequest(t, url, "GetImport", fmt.Appendf(nil, `{"ImportId":%q}`, id), &key, time.Now())
	var out struct{ CtimportBytes *api.ImportBytes }
	if err := json.Unmarshal([]byte(r.body), &out); err != nil || r.status != http.StatusOK {
		t.Fatalf("GetImport %s: HTTP %d %s: %v", id, r.status, r.body, err)
	}
	if out.CtimportBytes == nil {
		t.Fatalf("GetImport %s has no CtimportBytes: %s", id, r.body)
	}
	return *out.CtimportBytes
}

// thousands writes n as the console does, with commas between thousands.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// startImport starts an import from the console's form into its only
// store, after the actions fill, and returns its ID once the console shows
// it.
func (b *tab) startImport(uri string, fill ...chromedp.Action[chromedp.Void]) string {
	b.t.Helper()
	b.open("#/start", "#start-import")
	b.do("starting an import", append(append(fill, chromedp.SetValue("#uri", uri)), chromedp.Click("#submit-import"))...)
	b.wait("the import's page", `location.hash.startsWith('#/imports/') && document.getElementById('import-status') !== null`)
	return strings.TrimPrefix(eval[string](b, `decodeURIComponent(location.hash)`), "#/imports/")
}

// runQuery runs the statement of the query editor and returns the results
// as GetQueryResults gives them, each row by column, and the columns the
// table shows.
func (b *tab) runQuery() ([]map[string]string, []string) {
	b.t.Helper()
	b.do("running the query", chromedp.Click("#run"))
	b.wait("the results", `document.getElementById('results-table') !== null && !document.getElementById('run').disabled`)
	queryID := b.text("query-id")
	out, err := sdkClient(b.url, serveKeyID, serveSecret).GetQueryResults(b.ctx, &cloudtrail.GetQueryResultsInput{QueryId: aws.String(queryID), MaxQueryResults: aws.Int32(1000)})
	if err != nil {
		b.t.Fatalf("GetQueryResults %s: %v", queryID, err)
	}
	if out.NextToken != nil {
		b.t.Fatal("the results have more than one page of 1000")
	}
	rows := make([]map[string]string, len(out.QueryResultRows))
	for i, r := range out.QueryResultRows {
		rows[i] = map[string]string{}
		for _, c := range r {
			for k, v := range c {
				rows[i][k] = v
			}
		}
	}
	return rows, eval[[]string](b, `[...document.querySelectorAll('#results-table thead th')].map((th) => th.textContent)`)
}

// checkPage checks the page of the results' table that starts at row from
// against the rows of the API.
func (b *tab) checkPage(rows []map[string]string, cols []string, from int) {
	b.t.Helper()
	var want [][]string
	for _, r := range rows[from:min(from+50, len(rows))] {
		var line []string
		for _, c := range cols {
			line = append(line, r[c])
		}
		want = append(want, line)
	}
	if got := b.tableRows("results-table"); !slices.EqualFunc(got, want, slices.Equal) {
		b.t.Errorf("the results' table from row %d shows\n%q\nthe API gives\n%q", from, got, want)
	}
	if info, want := b.text("page-info"), fmt.Sprintf("of %d", len(rows)); !strings.HasSuffix(info, want) {
		b.t.Errorf("the pager says %q, want it to end %q", info, want)
	}
}

// checkChart checks that the chart of the results is of kind and drew on
// its canvas.
func (b *tab) checkChart(kind string) {
	b.t.Helper()
	b.wait("a chart of "+kind, fmt.Sprintf(`document.getElementById('chart')?.dataset.kind === %q`, kind))
	painted := eval[int](b, `(() => {
		const c = document.querySelector('#chart canvas');
		const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
		let n = 0;
		for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
		return n;
	})()`)
	if painted < 2000 {
		b.t.Errorf("the %s chart painted %d pixels", kind, painted)
	}
}

// checkDownload downloads the results as CSV and as JSON and checks the
// files against the rows of the API.
func (b *tab) checkDownload(rows []map[string]string, cols []string) {
	b.t.Helper()
	dir := b.t.TempDir()
	if _, err := chromedp.CallBrowser(b.ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir}); err != nil {
		b.t.Fatal(err)
	}
	b.do("downloading CSV", chromedp.Click("#download-csv"))
	name := filepath.Join(dir, "query-"+b.text("query-id")+".csv")
	var records [][]string
	poll(b.t, "the CSV download", func() bool {
		f, err := os.Open(name)
		if err != nil {
			return false
		}
		defer f.Close()
		records, err = csv.NewReader(f).ReadAll()
		return err == nil && len(records) == len(rows)+1
	})
	want := [][]string{cols}
	for _, r := range rows {
		var line []string
		for _, c := range cols {
			line = append(line, r[c])
		}
		want = append(want, line)
	}
	if !slices.EqualFunc(records, want, slices.Equal) {
		b.t.Errorf("the CSV download differs from the API's rows:\n%q", records)
	}

	b.do("downloading JSON", chromedp.Click("#download-json"))
	var objects []map[string]string
	poll(b.t, "the JSON download", func() bool {
		data, err := os.ReadFile(strings.TrimSuffix(name, ".csv") + ".json")
		return err == nil && json.Unmarshal(data, &objects) == nil
	})
	if !slices.EqualFunc(objects, rows, maps.Equal) {
		b.t.Errorf("the JSON download differs from the API's rows:\n%v", objects)
	}
}

// TestConsoleRoles checks the console against the real server: a read key
// signs in but cannot start an import, and calls without the session's
// cookie, its CSRF token or from a foreign origin are refused.
func TestConsoleRoles(t *testing.T) {
	t.Parallel()
	s := consoleServer(t, nil, "--file-sources", t.TempDir())
	signIn := func(id, secret string) (*http.Cookie, string) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.url+"/console/login", strings.NewReader(fmt.Sprintf(`{"accessKeyId":%q,"secretAccessKey":%q}`, id, secret)))
		req.Header.Set("Origin", s.url)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent || len(resp.Cookies()) != 1 {
			t.Fatalf("sign-in of %s: HTTP %d, cookies %v", id, resp.StatusCode, resp.Cookies())
		}
		req, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, s.url+"/console/", nil)
		req.AddCookie(resp.Cookies()[0])
		resp2, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp2.Body.Close()
		b, _ := io.ReadAll(resp2.Body)
		page := string(b)
		_, rest, _ := strings.Cut(page, `<meta name="csrf-token" content="`)
		token, _, _ := strings.Cut(rest, `"`)
		return resp.Cookies()[0], token
	}
	call := func(cookie *http.Cookie, token, origin, op, body string) rawResponse {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, s.url+"/console/api/"+op, strings.NewReader(body))
		req.Header.Set("Origin", origin)
		req.Header.Set("X-Csrf-Token", token)
		if cookie != nil {
			req.AddCookie(cookie)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		r := rawResponse{status: resp.StatusCode}
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			t.Fatalf("%s: the answer is not JSON: %v", op, err)
		}
		return r
	}
	readCookie, readToken := signIn(readKeyID, readSecret)
	adminCookie, adminToken := signIn(serveKeyID, serveSecret)
	tests := []struct {
		name              string
		cookie            *http.Cookie
		token, origin, op string
		body              string
		wantStatus        int
		wantType          string
	}{
		{"a read key lists imports", readCookie, readToken, s.url, "ListImports", "{}", http.StatusOK, ""},
		{"a read key starts an import", readCookie, readToken, s.url, "StartImport", `{"ImportId":"00000000-0000-0000-0000-000000000000"}`, http.StatusBadRequest, "AccessDeniedException"},
		{"a read key creates a store", readCookie, readToken, s.url, "CreateEventDataStore", `{"Name":"nope"}`, http.StatusBadRequest, "AccessDeniedException"},
		{"an admin key creates a store", adminCookie, adminToken, s.url, "CreateEventDataStore", `{"Name":"yes"}`, http.StatusOK, ""},
		{"input checked as the API's", adminCookie, adminToken, s.url, "CreateEventDataStore", `{"Name":"x"}`, http.StatusBadRequest, "InvalidParameterException"},
		{"an operation the API lacks", adminCookie, adminToken, s.url, "DeleteTrail", `{}`, http.StatusBadRequest, "UnknownOperationException"},
		{"no cookie", nil, adminToken, s.url, "ListImports", "{}", http.StatusUnauthorized, "ConsoleException"},
		{"the token of another session", adminCookie, readToken, s.url, "ListImports", "{}", http.StatusForbidden, "ConsoleException"},
		{"a foreign origin", adminCookie, adminToken, "http://evil.example", "ListImports", "{}", http.StatusForbidden, "ConsoleException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(tt.cookie, tt.token, tt.origin, tt.op, tt.body)
			if r.status != tt.wantStatus || r.Type != tt.wantType {
				t.Errorf("HTTP %d %s (%s), want %d %s", r.status, r.Type, r.Message, tt.wantStatus, tt.wantType)
			}
		})
	}
	if !strings.Contains(s.log(), "via=console") {
		t.Error("the server's log does not tell the console's calls")
	}
}
