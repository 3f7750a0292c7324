package s3scan

import (
	"fmt"
	"strings"
	"time"
)

// Window bounds the delivery times of the log files to read. A zero bound
// is open. Delivery times have minute precision, so a file delivered at
// 11:45 is within a window starting at 11:45:30.
type Window struct{ Start, End time.Time }

// contains reports whether the delivery minute t is within w.
func (w Window) contains(t time.Time) bool {
	return (w.Start.IsZero() || !t.Before(w.Start.UTC().Truncate(time.Minute))) &&
		(w.End.IsZero() || !t.After(w.End))
}

// overlaps reports whether some minute of [from, to) is within w.
func (w Window) overlaps(from, to time.Time) bool {
	return (w.Start.IsZero() || to.After(w.Start.UTC().Truncate(time.Minute))) &&
		(w.End.IsZero() || !from.After(w.End))
}

// maxGeneratedDays is the longest window whose day prefixes Discover makes
// up instead of listing years, months and days.
const maxGeneratedDays = 31

// days returns the number of UTC days w touches, or -1 when w is open.
func (w Window) days() int {
	if w.Start.IsZero() || w.End.IsZero() {
		return -1
	}
	first, last := utcDay(w.Start), utcDay(w.End)
	if last.Before(first) {
		return 0
	}
	return int(last.Sub(first)/(24*time.Hour)) + 1
}

func utcDay(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// DayPrefix is the prefix of one day of one region's log files, such as
// "AWSLogs/o-abc123defg/111122223333/CloudTrail/us-east-1/2024/05/01/".
type DayPrefix struct {
	// Key ends in "/".
	Key string
	// Org is the organization ID of an organization trail, else "".
	Org string
	// Account and Region are the account and region of the prefix.
	Account string
	Region  string
	// Day is the day's UTC midnight.
	Day time.Time
}

// LogFile is a CloudTrail log file, with what its name says.
type LogFile struct {
	Object
	// Delivery is the UTC minute in the file's name.
	Delivery time.Time
	// Account and Region are the account and region in the file's name.
	Account string
	Region  string
}

// Skipped counts the keys a walk passed over because they are not part of
// a trail's log files: stray objects, folder markers, digest and insight
// files, other services' prefixes, names that do not parse.
type Skipped struct {
	Objects, Prefixes int64
}

// ParseLogFileName parses the base name of a CloudTrail log file,
//
//	<account>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<random>.json.gz
//
// (or .json), and returns its account, region and delivery time. Digest
// and insight files and anything else do not parse.
func ParseLogFileName(name string) (account, region string, delivery time.Time, ok bool) {
	base, found := strings.CutSuffix(name, ".json.gz")
	if !found {
		if base, found = strings.CutSuffix(name, ".json"); !found {
			return "", "", time.Time{}, false
		}
	}
	account, rest, _ := strings.Cut(base, "_")
	service, rest, _ := strings.Cut(rest, "_")
	region, rest, _ = strings.Cut(rest, "_")
	stamp, random, _ := strings.Cut(rest, "_")
	if service != "CloudTrail" || !isAccount(account) || !isRegion(region) || !isRandom(random) {
		return "", "", time.Time{}, false
	}
	t, ok := parseStamp(stamp)
	if !ok {
		return "", "", time.Time{}, false
	}
	return account, region, t, true
}

// parseStamp parses "YYYYMMDDTHHmmZ".
func parseStamp(s string) (time.Time, bool) {
	if len(s) != 14 || s[8] != 'T' || s[13] != 'Z' {
		return time.Time{}, false
	}
	y, ok1 := digits(s[0:4])
	mo, ok2 := digits(s[4:6])
	d, ok3 := digits(s[6:8])
	h, ok4 := digits(s[9:11])
	mi, ok5 := digits(s[11:13])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || h > 23 || mi > 59 {
		return time.Time{}, false
	}
	day, ok := date(y, mo, d)
	if !ok {
		return time.Time{}, false
	}
	return day.Add(time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute), true
}

// date returns the UTC midnight of y-m-d if that day exists.
func date(y, m, d int) (time.Time, bool) {
	t := time.Date(y, time.Month(m), d, 0, 0, 0, 0, time.UTC)
	return t, t.Year() == y && int(t.Month()) == m && t.Day() == d
}

// digits parses a string of ASCII digits.
func digits(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func isAccount(s string) bool {
	_, ok := digits(s)
	return ok && len(s) == 12
}

// isOrg reports whether s is an organization ID: "o-" and 10 to 32
// lowercase letters or digits.
func isOrg(s string) bool {
	id, ok := strings.CutPrefix(s, "o-")
	if !ok || len(id) < 10 || len(id) > 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if !alnum(id[i]) {
			return false
		}
	}
	return true
}

// isRegion reports whether s looks like a region name: lowercase words and
// numbers joined by hyphens, starting with a letter ("us-east-1",
// "us-gov-west-1"). Unknown regions are accepted, as AWS adds them.
func isRegion(s string) bool {
	if len(s) < 4 || len(s) > 64 || s[0] < 'a' || s[0] > 'z' || !strings.Contains(s, "-") {
		return false
	}
	for part := range strings.SplitSeq(s, "-") {
		if part == "" {
			return false
		}
		for i := 0; i < len(part); i++ {
			if !alnum(part[i]) {
				return false
			}
		}
	}
	return true
}

// isRandom reports whether s is the random part of a log file name.
func isRandom(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !alnum(c) && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}

// walkStart is where the root prefix puts the walk: the AWSLogs/ prefix
// and the path segments below it that the root fixes.
type walkStart struct {
	logs    string // the key of AWSLogs/
	org     string
	account string
	trail   bool // the CloudTrail/ segment is fixed
	region  string
	year    int // 0 when not fixed
	month   int
	day     int
}

// key returns the prefix the walk starts at.
func (s walkStart) key() string {
	var b strings.Builder
	b.WriteString(s.logs)
	for _, seg := range []string{s.org, s.account} {
		if seg != "" {
			b.WriteString(seg + "/")
		}
	}
	if s.trail {
		b.WriteString("CloudTrail/")
	}
	if s.region != "" {
		b.WriteString(s.region + "/")
	}
	if s.year != 0 {
		fmt.Fprintf(&b, "%04d/", s.year)
	}
	if s.month != 0 {
		fmt.Fprintf(&b, "%02d/", s.month)
	}
	if s.day != 0 {
		fmt.Fprintf(&b, "%02d/", s.day)
	}
	return b.String()
}

// CheckRoot reports whether Discover can walk root: nil, or an error
// wrapping ErrBadURI that says what is wrong with it.
func CheckRoot(root string) error {
	_, err := parseRoot(root)
	return err
}

// parseRoot reads the root prefix of a walk. A root with an AWSLogs/
// segment (the last one, should a bucket prefix also be named so) fixes
// the segments after it; any other root is a bucket prefix whose AWSLogs/
// the walk starts at.
func parseRoot(root string) (walkStart, error) {
	bad := func(format string, args ...any) (walkStart, error) {
		return walkStart{}, fmt.Errorf("%w: prefix %q: %s", ErrBadURI, root, fmt.Sprintf(format, args...))
	}
	if root != "" && !strings.HasSuffix(root, "/") {
		return bad("a prefix is empty or ends in /")
	}
	var segs []string
	if root != "" {
		segs = strings.Split(strings.TrimSuffix(root, "/"), "/")
	}
	last := -1
	for j, seg := range segs {
		if seg == "AWSLogs" {
			last = j
		}
	}
	if last < 0 {
		return walkStart{logs: root + "AWSLogs/"}, nil
	}
	s := walkStart{logs: strings.Join(segs[:last+1], "/") + "/"}
	rest := segs[last+1:]
	next := func() (string, bool) {
		if len(rest) == 0 {
			return "", false
		}
		seg := rest[0]
		rest = rest[1:]
		return seg, true
	}
	seg, ok := next()
	if !ok {
		return s, nil
	}
	if isOrg(seg) {
		s.org = seg
		if seg, ok = next(); !ok {
			return s, nil
		}
	}
	if !isAccount(seg) {
		return bad("%q is not an account ID (12 digits) or organization ID (o-...)", seg)
	}
	s.account = seg
	if seg, ok = next(); !ok {
		return s, nil
	}
	if seg != "CloudTrail" {
		return bad("%q holds no CloudTrail log files; only CloudTrail/ is read", seg)
	}
	s.trail = true
	if seg, ok = next(); !ok {
		return s, nil
	}
	if !isRegion(seg) {
		return bad("%q is not a region", seg)
	}
	s.region = seg
	if seg, ok = next(); !ok {
		return s, nil
	}
	if s.year, ok = digits(seg); !ok || len(seg) != 4 || s.year == 0 {
		return bad("%q is not a year (YYYY)", seg)
	}
	if seg, ok = next(); !ok {
		return s, nil
	}
	if s.month, ok = digits(seg); !ok || len(seg) != 2 || s.month < 1 || s.month > 12 {
		return bad("%q is not a month (MM)", seg)
	}
	if seg, ok = next(); !ok {
		return s, nil
	}
	if s.day, ok = digits(seg); !ok || len(seg) != 2 {
		return bad("%q is not a day (DD)", seg)
	}
	if _, ok := date(s.year, s.month, s.day); !ok {
		return bad("%04d-%02d-%02d is not a date", s.year, s.month, s.day)
	}
	if len(rest) > 0 {
		return bad("nothing but log files is below a day's prefix")
	}
	return s, nil
}
