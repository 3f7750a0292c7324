package main

import (
	"strings"
	"testing"
	"time"

	"github.com/ctimport/ctimport/api"
)

func TestParseTime(t *testing.T) {
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	for _, tc := range []struct {
		in   string
		want time.Time
	}{
		{"2024-03-01T10:00:00Z", at("2024-03-01T10:00:00Z")},
		{"2024-03-01T10:00:00.123456789Z", at("2024-03-01T10:00:00.123456789Z")},
		{"2024-03-01T10:00:00.5+02:00", at("2024-03-01T08:00:00.5Z")},
		{"2024-03-01T10:00:00-05:30", at("2024-03-01T15:30:00Z")},
		{"2024-03-01T10:00:00", at("2024-03-01T10:00:00Z")},
		{"2024-03-01T10:00:00.25", at("2024-03-01T10:00:00.25Z")},
		{"2024-03-01T10:00Z", at("2024-03-01T10:00:00Z")},
		{"2024-03-01T10:00+01:00", at("2024-03-01T09:00:00Z")},
		{"2024-03-01T10:00", at("2024-03-01T10:00:00Z")},
		{"2024-03-01 10:00:00Z", at("2024-03-01T10:00:00Z")},
		{"2024-03-01 10:00:00.5", at("2024-03-01T10:00:00.5Z")},
		{"2024-03-01 10:00:00+01:00", at("2024-03-01T09:00:00Z")},
		{"2024-03-01", at("2024-03-01T00:00:00Z")},
		{" 2024-03-01T10:00:00Z\n", at("2024-03-01T10:00:00Z")},
		{"1709287200", at("2024-03-01T10:00:00Z")},
		{"1709287200.5", at("2024-03-01T10:00:00.5Z")},
		{"1709287200.25", at("2024-03-01T10:00:00.25Z")},
		{"0", at("1970-01-01T00:00:00Z")},
		{"-86400", at("1969-12-31T00:00:00Z")},
		{"-1.5", at("1969-12-31T23:59:58.5Z")},
	} {
		got, err := parseTime(tc.in)
		if err != nil || !got.Equal(tc.want) || got.Location() != time.UTC {
			t.Errorf("parseTime(%q) = %v, %v; want %v in UTC", tc.in, got, err, tc.want)
		}
	}
}

func TestParseTimeErrors(t *testing.T) {
	for _, in := range []string{
		"", "yesterday", "now", "2024-13-01", "2024-02-30", "2024-03-01T25:00:00Z", "2024-03-01T10:00:00 UTC",
		"03/01/2024", "1709287200e0", "1e9", "12h",
		// Numbers that are not seconds since the epoch.
		"NaN", "Inf", "-inf", "infinity", "0x1p30",
		// Times the API cannot show: its timestamps have four-digit years.
		"1709287200000", "99999999999999999999", "-99999999999",
	} {
		got, err := parseTime(in)
		if err == nil {
			t.Errorf("parseTime(%q) = %v, want an error", in, got)
			continue
		}
		if !strings.Contains(err.Error(), "is not an ISO 8601 time (2024-03-01T10:00:00Z) or epoch seconds") {
			t.Errorf("parseTime(%q): error %q does not say what is expected", in, err)
		}
	}
}

func TestParseImportSource(t *testing.T) {
	full := api.ImportSource{S3: api.S3ImportSource{
		S3LocationUri:         "s3://trail-bucket/logs/",
		S3BucketRegion:        "eu-west-1",
		S3BucketAccessRoleArn: "arn:aws:iam::123456789012:role/import",
	}}
	for _, tc := range []struct {
		in   string
		want api.ImportSource
	}{
		{"S3={S3LocationUri=s3://trail-bucket/logs/,S3BucketRegion=eu-west-1,S3BucketAccessRoleArn=arn:aws:iam::123456789012:role/import}", full},
		{`{"S3":{"S3LocationUri":"s3://trail-bucket/logs/","S3BucketRegion":"eu-west-1","S3BucketAccessRoleArn":"arn:aws:iam::123456789012:role/import"}}`, full},
		{"S3={S3LocationUri=file:///srv/trail/}", api.ImportSource{S3: api.S3ImportSource{S3LocationUri: "file:///srv/trail/"}}},
		{`S3={S3LocationUri="s3://b/a,b/",S3BucketRegion=us-east-1}`, api.ImportSource{S3: api.S3ImportSource{S3LocationUri: "s3://b/a,b/", S3BucketRegion: "us-east-1"}}},
	} {
		got, err := parseImportSource(tc.in)
		if err != nil || *got != tc.want {
			t.Errorf("parseImportSource(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseImportSourceErrors(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"S4={S3LocationUri=s3://b/}", "unknown key S4 (expected S3)"},
		{"S3={S3LocationUri=s3://b/},Extra=1", "unknown key Extra (expected S3)"},
		{"S3={S3LocationUri=s3://b/,Region=r,Bucket=b}", "unknown key Bucket, Region (expected S3LocationUri, S3BucketRegion, S3BucketAccessRoleArn)"},
		{"S3={s3LocationUri=s3://b/}", "unknown key s3LocationUri"},
		{`{"S3":{"S3LocationUri":"s3://b/","S3BucketName":"b"}}`, "unknown key S3BucketName"},
		{"S3=s3://b/", "S3 must be a structure: S3={S3LocationUri=...}"},
		{"{}", "S3 must be a structure"},
		{"[S3]", "expected S3={S3LocationUri=...,S3BucketRegion=...,S3BucketAccessRoleArn=...}"},
		{`{"S3":{"S3LocationUri":5}}`, "S3LocationUri must be a string"},
		{"S3={S3LocationUri=[s3://b/]}", "S3LocationUri must be a string"},
		{"S3={S3LocationUri={b=c}}", "S3LocationUri must be a string"},
		{"S3={S3LocationUri=s3://b/", "invalid shorthand syntax"},
		{"S3={S3LocationUri=s3://b/},S3={S3LocationUri=s3://c/}", "S3 is given twice"},
	} {
		got, err := parseImportSource(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("parseImportSource(%q) = %+v, %v; want an error with %q", tc.in, got, err, tc.want)
		}
	}
}
