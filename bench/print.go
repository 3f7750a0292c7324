package bench

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
)

// Print writes the report as text tables.
func (r *Report) Print(w io.Writer) error {
	p := &printer{w: w}
	commit := ""
	if r.Commit != "" {
		commit = ", commit " + r.Commit
	}
	p.f("ctimport benchmark, %s%s, %s/%s, %d CPUs, %s\n", r.Time.Format("2006-01-02 15:04 MST"), commit, r.Host.OS, r.Host.Arch, r.Host.CPUs, r.Host.Go)
	s, t := r.Spec, r.Truth
	org := ""
	if s.OrgTrail {
		org = " (organization trail)"
	}
	p.f("corpus x1: %s events in %s files (%d delivered late), %.1f MB gzip, %.1f MB JSON;\n", thousands(t.Events), thousands(int64(t.Files)), t.LateFiles, mb(t.CompressedBytes), mb(t.UncompressedBytes))
	p.f("  %d accounts%s x %d regions x %d days x %d files a day x ~%d events a file, seed %d\n", s.Accounts, org, s.Regions, s.Days, s.FilesPerDay, s.EventsPerFile, s.Seed)
	p.f("row 1 reads MinIO on 127.0.0.1 (MinIO's CPU is not in row 1's, but in its own column); rows 1L, 2, 3, 4, 5 read the corpus from local disk.\n")
	p.f("floors 2 and 3 run ctimport's default worker count, %d. MB = 10^6 bytes of the corpus, as stored (gz) and as JSON.\n", r.Workers)
	p.f("row 1 / row: row 1's events/s over the row's. cores busy: CPU s over seconds times the machine's cores.\n\n")
	p.rows(r.Rows)
	if r1L := r.row("1L"); r1L != nil && len(r1L.Stages) > 0 {
		var parts []string
		for _, s := range r1L.Stages {
			parts = append(parts, fmt.Sprintf("%s %.0f%%", cmp.Or(s.Stage, "unlabeled"), 100*s.Share))
		}
		p.f("\nrow 1L's CPU by stage (pprof labels): %s; serial share (%s) %.0f%%\n",
			strings.Join(parts, ", "), strings.Join(serialStages, " and "), 100*serialShare(r1L.Stages))
	}
	p.f("\nrow 1 with other settings and corpora\n")
	p.rows(r.Variants)

	sc := r.Scaling
	p.f("\nscaling\n")
	var workers []string
	for _, v := range r.Variants {
		if n, ok := strings.CutPrefix(v.ID, "1 c="); ok {
			workers = append(workers, fmt.Sprintf("--concurrency %s %.1f s", n, v.Seconds))
		}
	}
	if r1 := r.row("1"); r1 != nil {
		workers = append(workers, fmt.Sprintf("default (%d) %.1f s", r.Workers, r1.Seconds))
		p.f("  workers: %s; the default is %.2fx as fast as 1 worker\n", strings.Join(workers, ", "), sc.Speedup)
		if g := r.row(fmt.Sprintf("1 x%d", sc.Grow)); g != nil {
			p.f("  corpus: x1 %.1f s (%s events), x%d %.1f s (%s events): %.2fx the time for %.2fx the events\n",
				r1.Seconds, thousands(r1.Events), sc.Grow, g.Seconds, thousands(g.Events), sc.GrowTime, sc.GrowEvents)
		}
	}
	if r1, mem := r.row("1"), r.row("1 mem"); r1 != nil && mem != nil {
		p.f("  memory: --memory-limit %s %.1f s, peak RSS %.0f MiB; default %.1f s, %.0f MiB: %.2fx the default's throughput\n",
			bigMemory, mem.Seconds, mem.PeakRSSMiB, r1.Seconds, r1.PeakRSSMiB, rate(mem.EventsPerSecond, r1.EventsPerSecond))
	}
	p.f("  latency: %s S3 requests each held %v: %.0f%% of row 1's throughput\n", thousands(sc.LatencyRequests), sc.Latency, 100*sc.LatencyKeep)
	if one := r.row("shards 1"); one != nil {
		var parts []string
		for n := 1; r.row(fmt.Sprintf("shards %d", n)) != nil; n++ {
			s := r.row(fmt.Sprintf("shards %d", n))
			parts = append(parts, fmt.Sprintf("%d %.0f events/s (%.2fx)", n, s.EventsPerSecond, rate(s.EventsPerSecond, one.EventsPerSecond)))
		}
		p.f("  shards into Iceberg: %s\n", strings.Join(parts, ", "))
	}
	if len(r.Listing) > 0 {
		p.f("\nlisting a one-day window (%s) of %d accounts x %d regions\n", r.Listing[0].Day, listingAccounts, listingRegions)
		tw := tabwriter.NewWriter(p, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  bucket\tday prefixes\tfiles\tLIST calls\tlisting time")
		for _, l := range r.Listing {
			fmt.Fprintf(tw, "  %d days\t%d\t%d\t%d\t%.1f ms\n", l.Days, l.DayPrefixes, l.Files, l.Lists, l.Seconds*1000)
		}
		tw.Flush()
	}
	if r1 := r.row("1"); r1 != nil {
		p.f("\nstore: row 1's database takes %.0f bytes per event", r1.StoreBytesPerEvent)
		if base := r.row("1 base"); base != nil {
			p.f(", %s's %.0f", r.Base, base.StoreBytesPerEvent)
		}
		p.f("\n")
	}
	if len(r.Queries) > 0 {
		p.f("\nqueries over row 1's database, best of 3: Lake's form (the store's view) and the JSON form (its events table)\n")
		tw := tabwriter.NewWriter(p, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  query\tLake ms\tJSON ms\tLake / JSON")
		for _, q := range r.Queries {
			fmt.Fprintf(tw, "  %s\t%.1f\t%.1f\t%.2f\n", q.Name, 1000*q.LakeSeconds, 1000*q.JSONSeconds, rate(q.LakeSeconds, q.JSONSeconds))
		}
		tw.Flush()
	}
	if l := r.Load; len(l.Operations) > 0 {
		p.f("\nthe server under load: ctimport serve --max-requests-per-second %d imports the corpus, then again into a new store\n", l.MaxRequestsPerSecond)
		p.f("while %d clients of the AWS SDK (standard retryer) call it for %.1f s, in rounds of GetImport, ListImports,\n", l.Clients, l.Seconds)
		p.f("ListImportFailures, StartQuery, and GetQueryResults every %v until the query ends. The query:\n  %s\n", loadPoll, fmt.Sprintf(loadQuery, "<the store under load>"))
		p.f("latency: of the SDK's calls, retries included. throttled answers: ThrottlingException, which the SDK retries up to twice.\n\n")
		tw := tabwriter.NewWriter(p, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  import\tseconds\tevents/s\tserver CPU s\tstatus\tcomplete")
		for _, imp := range []struct {
			name string
			ServedImport
		}{{"unloaded", l.Unloaded}, {"under load", l.Loaded}} {
			fmt.Fprintf(tw, "  %s\t%.2f\t%s\t%.2f\t%s\t%s\n", imp.name, imp.Seconds, thousands(int64(imp.EventsPerSecond)), imp.ServerCPUSeconds, imp.Status, yesNo(imp.Complete))
		}
		tw.Flush()
		p.f("\n")
		tw = tabwriter.NewWriter(p, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  operation\tcalls\tcalls/s\tp50 ms\tp99 ms\tthrottled answers\tfailed calls")
		for _, o := range l.Operations {
			var failed []string
			for _, e := range slices.Sorted(maps.Keys(o.Errors)) {
				failed = append(failed, fmt.Sprintf("%d %s", o.Errors[e], e))
			}
			fmt.Fprintf(tw, "  %s\t%d\t%.1f\t%.1f\t%.1f\t%d\t%s\n", o.Name, o.Calls, o.PerSecond, 1000*o.P50Seconds, 1000*o.P99Seconds, o.Throttled, cmp.Or(strings.Join(failed, ", "), "0"))
		}
		tw.Flush()
	}
	p.f("\ntargets\n")
	for _, c := range r.Checks {
		verdict := "FAIL"
		if c.Pass {
			verdict = "PASS"
		}
		p.f("  %s  %s: %s (target %s)\n", verdict, c.Name, c.Value, c.Target)
	}
	return p.err
}

// rows prints a table of rows.
func (p *printer) rows(rows []Row) {
	tw := tabwriter.NewWriter(p, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "row\twhat\tsource\tseconds\tevents/s\tMB/s gz\tMB/s JSON\tCPU s\tcores busy\tpeak RSS MiB\trow 1 / row\tcomplete\tMinIO CPU s")
	for _, r := range rows {
		minio := "-"
		if r.MinIOCPUSeconds > 0 {
			minio = fmt.Sprintf("%.2f", r.MinIOCPUSeconds)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2f\t%s\t%.1f\t%.1f\t%.2f\t%.0f%%\t%.0f\t%.2f\t%s\t%s\n",
			r.ID, r.Name, r.Source, r.Seconds, thousands(int64(r.EventsPerSecond)), r.CompressedMBps, r.UncompressedMBps,
			r.CPUSeconds, 100*r.CoresBusy, r.PeakRSSMiB, r.Row1Ratio, yesNo(r.Complete), minio)
	}
	tw.Flush()
}

// yesNo is how the tables tell whether a run was complete.
func yesNo(complete bool) string {
	if complete {
		return "yes"
	}
	return "NO"
}

// printer keeps the first error of its writes.
type printer struct {
	w   io.Writer
	err error
}

func (p *printer) Write(b []byte) (int, error) {
	if p.err != nil {
		return 0, p.err
	}
	n, err := p.w.Write(b)
	p.err = err
	return n, err
}

func (p *printer) f(format string, args ...any) { fmt.Fprintf(p, format, args...) }

// thousands formats n with commas between groups of three digits.
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// Save writes the report as JSON to a new file in dir, named by its time,
// and returns the file's path.
func (r *Report) Save(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("bench: %w", err)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", fmt.Errorf("bench: %w", err)
	}
	path := filepath.Join(dir, "report-"+r.Time.Format("20060102T150405Z")+".json")
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("bench: %w", err)
	}
	return path, nil
}

// commit names the commit of the checkout at root, "+modified" when its
// files differ from it, or "" when git cannot tell.
func commit(root string) string {
	out, err := exec.Command("git", "-C", root, "rev-parse", "--short", "HEAD").Output()
	if err != nil {
		return ""
	}
	c := strings.TrimSpace(string(out))
	if out, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(out) > 0 {
		c += "+modified"
	}
	return c
}
