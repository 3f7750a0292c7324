package main

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ctimport/ctimport/api"
)

// timeLayouts are the ISO 8601 forms a timestamp option takes. A time
// without a zone is UTC.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

// epochRE matches seconds since the epoch, with an optional fraction.
var epochRE = regexp.MustCompile(`^-?[0-9]{1,12}(\.[0-9]{1,9})?$`)

// parseTime reads a timestamp as the AWS CLI takes it: ISO 8601, or
// seconds since the epoch. Years outside 0001-9999 are refused.
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	var t time.Time
	ok := false
	if epochRE.MatchString(s) {
		secs, frac, _ := strings.Cut(s, ".")
		sec, _ := strconv.ParseInt(secs, 10, 64)
		nsec, _ := strconv.Atoi((frac + "000000000")[:9])
		if sec < 0 {
			nsec = -nsec
		}
		t, ok = time.Unix(sec, int64(nsec)).UTC(), true
	}
	for _, layout := range timeLayouts {
		if ok {
			break
		}
		if p, err := time.Parse(layout, s); err == nil {
			t, ok = p.UTC(), true
		}
	}
	const notTime = "%q is not an ISO 8601 time (2024-03-01T10:00:00Z) or epoch seconds"
	if !ok {
		return time.Time{}, fmt.Errorf(notTime, s)
	}
	if t.Year() < 1 || t.Year() > 9999 {
		return time.Time{}, fmt.Errorf(notTime+": its year is outside 0001-9999 (epoch times are seconds, not milliseconds)", s)
	}
	return t, nil
}

// parseImportSource reads --import-source, in shorthand or JSON.
func parseImportSource(s string) (*api.ImportSource, error) {
	v, err := parseShorthand(s)
	if err != nil {
		return nil, err
	}
	top, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("expected S3={S3LocationUri=...,S3BucketRegion=...,S3BucketAccessRoleArn=...}")
	}
	if err := onlyKeys(top, "S3"); err != nil {
		return nil, err
	}
	s3, ok := top["S3"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("S3 must be a structure: S3={S3LocationUri=...}")
	}
	fields := map[string]*string{}
	var src api.ImportSource
	fields["S3LocationUri"] = &src.S3.S3LocationUri
	fields["S3BucketRegion"] = &src.S3.S3BucketRegion
	fields["S3BucketAccessRoleArn"] = &src.S3.S3BucketAccessRoleArn
	if err := onlyKeys(s3, "S3LocationUri", "S3BucketRegion", "S3BucketAccessRoleArn"); err != nil {
		return nil, err
	}
	for k, v := range s3 {
		str, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%s must be a string", k)
		}
		*fields[k] = str
	}
	return &src, nil
}

func onlyKeys(m map[string]any, allowed ...string) error {
	var unknown []string
	for k := range m {
		found := false
		for _, a := range allowed {
			found = found || k == a
		}
		if !found {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("unknown key %s (expected %s)", strings.Join(unknown, ", "), strings.Join(allowed, ", "))
	}
	return nil
}
