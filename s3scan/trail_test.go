package s3scan_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ctimport/ctimport/s3scan"
)

func TestParseLogFileName(t *testing.T) {
	tests := []struct {
		name            string
		account, region string
		delivery        string // RFC 3339; "" means the name does not parse
	}{
		{"218007301253_CloudTrail_us-east-1_20230710T1145Z_7xgocspSowgK0Gto.json.gz", "218007301253", "us-east-1", "2023-07-10T11:45:00Z"},
		{"111122223333_CloudTrail_us-gov-west-1_20240229T2359Z_abc.json", "111122223333", "us-gov-west-1", "2024-02-29T23:59:00Z"},
		{"111111111111_CloudTrail_me-isob-eastcentral-1r_20250524T1330Z_uDFmi7ZCPvmW0Qdp.json.gz", "111111111111", "me-isob-eastcentral-1r", "2025-05-24T13:30:00Z"},
		{"111122223333_CloudTrail_eu-west-1_19991231T0000Z_Z.json.gz", "111122223333", "eu-west-1", "1999-12-31T00:00:00Z"},

		{name: "111122223333_CloudTrail-Digest_us-east-1_trail_us-east-1_20240101T010203Z.json.gz"},
		{name: "111122223333_CloudTrail-Insight_us-east-1_20240101T0100Z_abc.json.gz"},
		{name: "111122223333_CloudTrail_us-east-1_20240101T0100Z_abc.json.bz2"},
		{name: "111122223333_CloudTrail_us-east-1_20240101T0100Z_abc.gz"},
		{name: "111122223333_CloudTrail_us-east-1_20240101T0100Z_abc"},
		{name: "111122223333_CloudTrail_us-east-1_20240101T0100Z_.json.gz"},
		{name: "111122223333_CloudTrail_us-east-1_20240101T0100Z_a-b.json.gz"},
		{name: "111122223333_CloudTrail_us-east-1_20240101T0100Z_a_b.json.gz"},
		{name: "11112222333_CloudTrail_us-east-1_20240101T0100Z_abc.json.gz"},
		{name: "11112222333a_CloudTrail_us-east-1_20240101T0100Z_abc.json.gz"},
		{name: "111122223333_cloudtrail_us-east-1_20240101T0100Z_abc.json.gz"},
		{name: "111122223333_CloudTrail_US-EAST-1_20240101T0100Z_abc.json.gz"},
		{name: "111122223333_CloudTrail_useast1_20240101T0100Z_abc.json.gz"},
		{name: "111122223333_CloudTrail_us--east-1_20240101T0100Z_abc.json.gz"},
		{name: "111122223333_CloudTrail_us-east-1_20230229T0100Z_abc.json.gz"},
		{name: "111122223333_CloudTrail_us-east-1_20241301T0100Z_abc.json.gz"},
		{name: "111122223333_CloudTrail_us-east-1_20240101T2400Z_abc.json.gz"},
		{name: "111122223333_CloudTrail_us-east-1_20240101T0060Z_abc.json.gz"},
		{name: "111122223333_CloudTrail_us-east-1_20240101T010000Z_abc.json.gz"},
		{name: "111122223333_CloudTrail_us-east-1_2024-01-01T0100Z_abc.json.gz"},
		{name: "111122223333_CloudTrail_us-east-1_20240101t0100z_abc.json.gz"},
		{name: "AWSLogs/111122223333_CloudTrail_us-east-1_20240101T0100Z_abc.json.gz"},
		{name: ""},
		{name: ".json.gz"},
	}
	for _, tt := range tests {
		account, region, delivery, ok := s3scan.ParseLogFileName(tt.name)
		if tt.delivery == "" {
			if ok {
				t.Errorf("ParseLogFileName(%q) = %q, %q, %v; want no match", tt.name, account, region, delivery)
			}
			continue
		}
		want, err := time.Parse(time.RFC3339, tt.delivery)
		if err != nil {
			t.Fatal(err)
		}
		if !ok || account != tt.account || region != tt.region || !delivery.Equal(want) || delivery.Location() != time.UTC {
			t.Errorf("ParseLogFileName(%q) = %q, %q, %v, %v; want %q, %q, %v", tt.name, account, region, delivery, ok, tt.account, tt.region, want)
		}
	}
}

// A name that parses is its parts put back together.
func FuzzParseLogFileName(f *testing.F) {
	for _, s := range []string{
		"218007301253_CloudTrail_us-east-1_20230710T1145Z_7xgocspSowgK0Gto.json.gz",
		"111122223333_CloudTrail_us-gov-west-1_20240229T2359Z_abc.json",
		"111122223333_CloudTrail-Digest_us-east-1_trail_us-east-1_20240101T010203Z.json.gz",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		account, region, delivery, ok := s3scan.ParseLogFileName(name)
		if !ok {
			return
		}
		head := account + "_CloudTrail_" + region + "_" + delivery.Format("20060102T1504Z") + "_"
		rest, found := strings.CutPrefix(name, head)
		if !found || delivery.Location() != time.UTC || delivery.Second() != 0 || delivery.Nanosecond() != 0 {
			t.Fatalf("ParseLogFileName(%q) = %q, %q, %v", name, account, region, delivery)
		}
		random := strings.TrimSuffix(strings.TrimSuffix(rest, ".gz"), ".json")
		if random == "" || strings.ContainsAny(random, "_-./") || random+".json" != rest && random+".json.gz" != rest {
			t.Fatalf("ParseLogFileName(%q) accepted the ending %q", name, rest)
		}
	})
}

func BenchmarkParseLogFileName(b *testing.B) {
	const name = "218007301253_CloudTrail_us-east-1_20230710T1145Z_7xgocspSowgK0Gto.json.gz"
	for b.Loop() {
		if _, _, _, ok := s3scan.ParseLogFileName(name); !ok {
			b.Fatal("no match")
		}
	}
}
