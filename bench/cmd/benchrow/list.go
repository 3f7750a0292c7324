package main

import (
	"context"
	"errors"
	"flag"
	"time"

	"github.com/ctimport/ctimport/s3scan"
)

// listing is what list found and how many requests it took.
type listing struct {
	DayPrefixes int     `json:"dayPrefixes"`
	Files       int     `json:"files"`
	Lists       int64   `json:"lists"`
	Seconds     float64 `json:"seconds"`
}

// list finds the log files of one day of a trail bucket as an import of
// that day does: s3scan.Discover, then s3scan.ListDay of each day prefix,
// counting the list requests.
func list(args []string) (any, error) {
	flags := flag.NewFlagSet("list", flag.ContinueOnError)
	endpoint := flags.String("endpoint", "", "the S3 endpoint URL")
	bucket := flags.String("bucket", "", "the bucket")
	day := flags.String("day", "", "the day, YYYY-MM-DD")
	if err := flags.Parse(args); err != nil {
		return nil, err
	}
	if *bucket == "" || *day == "" {
		return nil, errors.New("-bucket and -day are required")
	}
	start, err := time.Parse(time.DateOnly, *day)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	s3, err := s3scan.NewS3(ctx, s3scan.S3Config{Bucket: *bucket, Endpoint: *endpoint})
	if err != nil {
		return nil, err
	}
	src := s3scan.Count(s3)
	w := s3scan.Window{Start: start, End: start.Add(24*time.Hour - time.Second)}
	began := time.Now()
	days, _, err := s3scan.Discover(ctx, src, "", w)
	if err != nil {
		return nil, err
	}
	var l listing
	for _, d := range days {
		_, err := s3scan.ListDay(ctx, src, d, w, func(s3scan.LogFile) error {
			l.Files++
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	l.Seconds = time.Since(began).Seconds()
	l.DayPrefixes = len(days)
	l.Lists = src.Lists()
	return l, nil
}
