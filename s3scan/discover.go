package s3scan

import (
	"context"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// discoverWorkers bounds the list requests Discover has in flight.
const discoverWorkers = 8

// Discover walks the CloudTrail tree of src below root and returns the day
// prefixes of every account and region whose day intersects w, sorted by
// Day, then Key.
//
// root is "" or a prefix ending in "/". When it has an AWSLogs segment,
// the segments after it fix where the walk starts:
// AWSLogs/[o-orgid/]account/CloudTrail/region/YYYY/MM/DD/, to any depth.
// A service other than CloudTrail there is an error wrapping ErrBadURI.
// Any other root is a bucket prefix, and the walk starts at its AWSLogs/.
//
// The walk lists accounts (and the accounts of organizations), follows
// only their CloudTrail/ prefix, and lists its regions. When w is bounded
// and touches at most 31 days, the day prefixes of each region are made up
// without listing them, and may not exist; otherwise years, then the
// months and days within w are listed. Either way the number of list
// requests grows with the accounts, regions and days of w, not with the
// size of the bucket. Keys that do not fit the layout are counted in
// Skipped, never an error.
func Discover(ctx context.Context, src Source, root string, w Window) ([]DayPrefix, Skipped, error) {
	start, err := parseRoot(root)
	if err != nil {
		return nil, Skipped{}, err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(discoverWorkers)
	wk := &walker{ctx: gctx, src: src, w: w, g: g, generate: w.days() >= 0 && w.days() <= maxGeneratedDays}
	g.Go(func() error { return wk.from(start) })
	err = g.Wait()
	sk := Skipped{Objects: wk.objects.Load(), Prefixes: wk.prefixes.Load()}
	if err != nil {
		return nil, sk, err
	}
	slices.SortFunc(wk.days, func(a, b DayPrefix) int {
		if c := a.Day.Compare(b.Day); c != 0 {
			return c
		}
		return strings.Compare(a.Key, b.Key)
	})
	return wk.days, sk, nil
}

// walker lists a CloudTrail tree, a level at a time.
type walker struct {
	ctx      context.Context
	src      Source
	w        Window
	g        *errgroup.Group
	generate bool // make up day prefixes instead of listing them

	mu   sync.Mutex
	days []DayPrefix

	objects, prefixes atomic.Int64
}

// node is a prefix of the tree and what its path says.
type node struct {
	key                  string
	org, account, region string
	regionKey            string
	year, month          int
}

// from starts the walk where the root put it.
func (wk *walker) from(s walkStart) error {
	n := node{key: s.key(), org: s.org, account: s.account, region: s.region}
	if s.region != "" {
		n.regionKey = walkStart{logs: s.logs, org: s.org, account: s.account, trail: true, region: s.region}.key()
	}
	n.year, n.month = s.year, s.month
	switch {
	case s.day != 0:
		day := time.Date(s.year, time.Month(s.month), s.day, 0, 0, 0, 0, time.UTC)
		if wk.w.overlaps(day, day.AddDate(0, 0, 1)) {
			wk.emit(n, day, n.key)
		}
		return nil
	case s.month != 0:
		return wk.month(n)
	case s.year != 0:
		return wk.year(n)
	case s.region != "":
		return wk.region(n)
	case s.trail:
		return wk.trail(n)
	case s.account != "":
		return wk.account(n)
	case s.org != "":
		return wk.org(n)
	}
	return wk.logs(n)
}

// spawn runs fn on a worker when one is free, else in the calling
// goroutine, so that a full pool cannot deadlock the walk.
func (wk *walker) spawn(fn func() error) error {
	if wk.g.TryGo(fn) {
		return nil
	}
	return fn()
}

// children lists every page of prefix n.key and calls fn with the name of
// each common prefix below it. Objects at this level are skipped.
func (wk *walker) children(n node, fn func(name string) error) error {
	token := ""
	for {
		p, err := wk.src.List(wk.ctx, n.key, token)
		if err != nil {
			return err
		}
		wk.objects.Add(int64(len(p.Objects)))
		for _, cp := range p.Prefixes {
			name, ok := strings.CutPrefix(cp, n.key)
			if !ok {
				wk.prefixes.Add(1)
				continue
			}
			if err := fn(strings.TrimSuffix(name, "/")); err != nil {
				return err
			}
		}
		if p.Next == "" {
			return nil
		}
		token = p.Next
	}
}

func (wk *walker) skip() error {
	wk.prefixes.Add(1)
	return nil
}

func (n node) child(name string) node {
	n.key += name + "/"
	return n
}

func (wk *walker) logs(n node) error {
	return wk.children(n, func(name string) error {
		c := n.child(name)
		switch {
		case isOrg(name):
			c.org = name
			return wk.spawn(func() error { return wk.org(c) })
		case isAccount(name):
			c.account = name
			return wk.spawn(func() error { return wk.account(c) })
		}
		return wk.skip()
	})
}

func (wk *walker) org(n node) error {
	return wk.children(n, func(name string) error {
		if !isAccount(name) {
			return wk.skip()
		}
		c := n.child(name)
		c.account = name
		return wk.spawn(func() error { return wk.account(c) })
	})
}

func (wk *walker) account(n node) error {
	return wk.children(n, func(name string) error {
		if name != "CloudTrail" {
			return wk.skip()
		}
		c := n.child(name)
		return wk.spawn(func() error { return wk.trail(c) })
	})
}

func (wk *walker) trail(n node) error {
	return wk.children(n, func(name string) error {
		if !isRegion(name) {
			return wk.skip()
		}
		c := n.child(name)
		c.region, c.regionKey = name, c.key
		return wk.spawn(func() error { return wk.region(c) })
	})
}

func (wk *walker) region(n node) error {
	if wk.generate {
		wk.makeDays(n, time.Time{}, time.Time{})
		return nil
	}
	return wk.children(n, func(name string) error {
		y, ok := digits(name)
		if !ok || len(name) != 4 || y == 0 {
			return wk.skip()
		}
		from := time.Date(y, 1, 1, 0, 0, 0, 0, time.UTC)
		if !wk.w.overlaps(from, from.AddDate(1, 0, 0)) {
			return nil
		}
		c := n.child(name)
		c.year = y
		return wk.spawn(func() error { return wk.year(c) })
	})
}

func (wk *walker) year(n node) error {
	from := time.Date(n.year, 1, 1, 0, 0, 0, 0, time.UTC)
	if wk.generate {
		wk.makeDays(n, from, from.AddDate(1, 0, 0))
		return nil
	}
	if !wk.w.overlaps(from, from.AddDate(1, 0, 0)) {
		return nil
	}
	return wk.children(n, func(name string) error {
		m, ok := digits(name)
		if !ok || len(name) != 2 || m < 1 || m > 12 {
			return wk.skip()
		}
		from := time.Date(n.year, time.Month(m), 1, 0, 0, 0, 0, time.UTC)
		if !wk.w.overlaps(from, from.AddDate(0, 1, 0)) {
			return nil
		}
		c := n.child(name)
		c.month = m
		return wk.spawn(func() error { return wk.month(c) })
	})
}

func (wk *walker) month(n node) error {
	from := time.Date(n.year, time.Month(n.month), 1, 0, 0, 0, 0, time.UTC)
	if wk.generate {
		wk.makeDays(n, from, from.AddDate(0, 1, 0))
		return nil
	}
	if !wk.w.overlaps(from, from.AddDate(0, 1, 0)) {
		return nil
	}
	return wk.children(n, func(name string) error {
		d, ok := digits(name)
		day, valid := date(n.year, n.month, d)
		if !ok || len(name) != 2 || !valid {
			return wk.skip()
		}
		if wk.w.overlaps(day, day.AddDate(0, 0, 1)) {
			wk.emit(n, day, n.key+name+"/")
		}
		return nil
	})
}

// makeDays adds the day prefixes of region n.regionKey for the days of the
// window within [from, to); a zero bound is open.
func (wk *walker) makeDays(n node, from, to time.Time) {
	first, last := utcDay(wk.w.Start), utcDay(wk.w.End)
	if !from.IsZero() && first.Before(from) {
		first = from
	}
	if !to.IsZero() && !last.Before(to) {
		last = to.AddDate(0, 0, -1)
	}
	for d := first; !d.After(last); d = d.AddDate(0, 0, 1) {
		if wk.w.overlaps(d, d.AddDate(0, 0, 1)) {
			wk.emit(n, d, n.regionKey+d.Format("2006/01/02/"))
		}
	}
}

func (wk *walker) emit(n node, day time.Time, key string) {
	wk.mu.Lock()
	defer wk.mu.Unlock()
	wk.days = append(wk.days, DayPrefix{Key: key, Org: n.org, Account: n.account, Region: n.region, Day: day})
}

// ListDay lists the log files of day that were delivered within w, and
// calls fn with each, in key order. Objects whose base name is not a log
// file name, folder markers and prefixes below the day are counted in
// Skipped. An error of fn ends the listing and is returned as it is.
func ListDay(ctx context.Context, src Source, day DayPrefix, w Window, fn func(LogFile) error) (Skipped, error) {
	var sk Skipped
	token := ""
	for {
		p, err := src.List(ctx, day.Key, token)
		if err != nil {
			return sk, err
		}
		sk.Prefixes += int64(len(p.Prefixes))
		for _, o := range p.Objects {
			name, ok := strings.CutPrefix(o.Key, day.Key)
			if !ok {
				sk.Objects++
				continue
			}
			account, region, delivery, ok := ParseLogFileName(name)
			if !ok {
				sk.Objects++
				continue
			}
			if !w.contains(delivery) {
				continue
			}
			if err := fn(LogFile{Object: o, Delivery: delivery, Account: account, Region: region}); err != nil {
				return sk, err
			}
		}
		if p.Next == "" {
			return sk, nil
		}
		token = p.Next
	}
}

// CountingSource is a Source that counts its list requests.
type CountingSource struct {
	src   Source
	lists atomic.Int64
}

// Count returns a Source that passes every call to src and counts the
// List calls.
func Count(src Source) *CountingSource {
	return &CountingSource{src: src}
}

// Lists returns the number of List calls so far.
func (c *CountingSource) Lists() int64 {
	return c.lists.Load()
}

// List counts the call and passes it on.
func (c *CountingSource) List(ctx context.Context, prefix, token string) (Page, error) {
	c.lists.Add(1)
	return c.src.List(ctx, prefix, token)
}

// Open passes the call on.
func (c *CountingSource) Open(ctx context.Context, key string) (io.ReadCloser, Object, error) {
	return c.src.Open(ctx, key)
}

// String describes the underlying source.
func (c *CountingSource) String() string {
	return c.src.String()
}
