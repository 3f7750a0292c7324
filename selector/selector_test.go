package selector_test

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/pipeline/logfile"
	"github.com/ctimport/ctimport/selector"
	"github.com/ctimport/ctimport/sink"
)

// decode decodes records, given as the JSON objects of a log file's
// Records, into events as an import decodes them.
func decode(t testing.TB, records ...string) []sink.Event {
	t.Helper()
	body := `{"Records":[` + strings.Join(records, ",") + `]}`
	dec := logfile.NewDecoder(strings.NewReader(body), logfile.Options{})
	events := make([]sink.Event, len(records))
	n, err := dec.Next(events)
	if err != nil && err != io.EOF || n != len(records) {
		t.Fatalf("decoding %s: %d events, %v", body, n, err)
	}
	return events
}

// record returns a record with an eventTime and an eventID, and the members
// of extra, a JSON object's members without its braces.
func record(extra string) string {
	r := `{"eventTime":"2024-03-01T10:00:00Z","eventID":"e"`
	if extra != "" {
		r += "," + extra
	}
	return r + "}"
}

// fs returns a field selector of field with values for operator op; with
// an op of no operator, it has none.
func fs(field, op string, values ...string) api.AdvancedFieldSelector {
	f := api.AdvancedFieldSelector{Field: field}
	ops := map[string]*[]string{
		"Equals": &f.Equals, "StartsWith": &f.StartsWith, "EndsWith": &f.EndsWith,
		"NotEquals": &f.NotEquals, "NotStartsWith": &f.NotStartsWith, "NotEndsWith": &f.NotEndsWith,
	}
	if p, ok := ops[op]; ok {
		*p = values
	}
	return f
}

func sel(fields ...api.AdvancedFieldSelector) api.AdvancedEventSelector {
	return api.AdvancedEventSelector{FieldSelectors: fields}
}

const (
	kmsDecrypt = `"eventSource":"kms.amazonaws.com","eventName":"Decrypt","readOnly":true,"eventCategory":"Management","managementEvent":true,"eventType":"AwsApiCall"`
	s3Put      = `"eventSource":"s3.amazonaws.com","eventName":"PutObject","readOnly":false,"eventCategory":"Data","managementEvent":false,"eventType":"AwsApiCall",` +
		`"resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::logs/2024/a.txt"},{"accountId":"111122223333","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::logs"}],` +
		`"userIdentity":{"type":"AssumedRole","sessionContext":{"attributes":{"arn":"nested"}},"arn":"arn:aws:sts::111122223333:assumed-role/app/i-1"}`
	iamCreate = `"eventSource":"iam.amazonaws.com","eventName":"CreateUser","readOnly":false,"eventCategory":"Management","managementEvent":true,"eventType":"AwsApiCall",` +
		`"errorCode":"AccessDenied","sessionCredentialFromConsole":"true","userIdentity":{"arn":"arn:aws:iam::111122223333:user/ad\u006din"}`
	signIn   = `"eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","eventType":"AwsConsoleSignIn","eventCategory":"Management","userIdentity":null`
	old      = `"eventSource":"ec2.amazonaws.com","eventName":"RunInstances","readOnly":false`
	oldData  = `"eventSource":"s3.amazonaws.com","eventName":"GetObject","readOnly":true,"managementEvent":false`
	vpce     = `"eventSource":"kms.amazonaws.com","eventName":"Decrypt","eventCategory":"NetworkActivity","vpcEndpointId":"vpce-0abc","errorCode":"VpceAccessDenied"`
	wrongOne = `"eventCategory":7,"readOnly":"yes","resources":{"type":"AWS::S3::Object"},"userIdentity":{"arn":5}`
)

var corpus = []struct {
	name, record string
}{
	{"kms decrypt", kmsDecrypt},
	{"s3 put", s3Put},
	{"iam create", iamCreate},
	{"sign-in", signIn},
	{"old management", old},
	{"old data", oldData},
	{"network activity", vpce},
	{"members of other types", wrongOne},
	{"bare", ""},
}

// TestMatch runs selectors over a set of records and checks which each
// selects.
func TestMatch(t *testing.T) {
	records := make([]string, len(corpus))
	for i, c := range corpus {
		records[i] = record(c.record)
	}
	events := decode(t, records...)
	for _, tc := range []struct {
		name string
		sels []api.AdvancedEventSelector
		want []string
	}{
		{"none", nil, []string{"kms decrypt", "s3 put", "iam create", "sign-in", "old management", "old data", "network activity", "members of other types", "bare"}},
		{"write management events", []api.AdvancedEventSelector{sel(fs("eventCategory", "Equals", "Management"), fs("readOnly", "Equals", "false"))},
			[]string{"iam create", "old management"}},
		{"management events", []api.AdvancedEventSelector{sel(fs("eventCategory", "Equals", "Management"))},
			[]string{"kms decrypt", "iam create", "sign-in", "old management", "members of other types", "bare"}},
		{"data events, with old ones", []api.AdvancedEventSelector{sel(fs("eventCategory", "Equals", "Data"))}, []string{"s3 put", "old data"}},
		{"either of two selectors", []api.AdvancedEventSelector{
			sel(fs("eventCategory", "Equals", "Data"), fs("readOnly", "Equals", "false")),
			sel(fs("eventCategory", "Equals", "NetworkActivity")),
		}, []string{"s3 put", "network activity"}},
		{"read-only", []api.AdvancedEventSelector{sel(fs("readOnly", "Equals", "true"))}, []string{"kms decrypt", "old data"}},
		{"read-only or not: no readOnly member matches neither", []api.AdvancedEventSelector{sel(fs("readOnly", "Equals", "true", "false"))},
			[]string{"kms decrypt", "s3 put", "iam create", "old management", "old data"}},
		{"not kms", []api.AdvancedEventSelector{sel(fs("eventSource", "NotEquals", "kms.amazonaws.com"))},
			[]string{"s3 put", "iam create", "sign-in", "old management", "old data", "members of other types", "bare"}},
		{"not Decrypt", []api.AdvancedEventSelector{sel(fs("eventName", "NotEquals", "Decrypt", "Encrypt"))},
			[]string{"s3 put", "iam create", "sign-in", "old management", "old data", "members of other types", "bare"}},
		{"event names starting with", []api.AdvancedEventSelector{sel(fs("eventName", "StartsWith", "Get", "Run"))}, []string{"old management", "old data"}},
		{"event names ending with", []api.AdvancedEventSelector{sel(fs("eventName", "EndsWith", "Object", "Login"))}, []string{"s3 put", "sign-in", "old data"}},
		{"not starting with", []api.AdvancedEventSelector{sel(fs("eventSource", "NotStartsWith", "s3.", "kms."))},
			[]string{"iam create", "sign-in", "old management", "members of other types", "bare"}},
		{"not ending with", []api.AdvancedEventSelector{sel(fs("eventName", "NotEndsWith", "Object", "t"))},
			[]string{"iam create", "sign-in", "old management", "members of other types", "bare"}},
		{"two operators on one field", []api.AdvancedEventSelector{sel(api.AdvancedFieldSelector{Field: "eventSource", StartsWith: []string{"s"}, NotEquals: []string{"s3.amazonaws.com"}})},
			[]string{"sign-in"}},
		{"event type", []api.AdvancedEventSelector{sel(fs("eventType", "Equals", "AwsConsoleSignIn"))}, []string{"sign-in"}},
		{"error code", []api.AdvancedEventSelector{sel(fs("errorCode", "StartsWith", "Access", "Vpce"))}, []string{"iam create", "network activity"}},
		{"vpc endpoint", []api.AdvancedEventSelector{sel(fs("vpcEndpointId", "Equals", "vpce-0abc"))}, []string{"network activity"}},
		{"console credentials", []api.AdvancedEventSelector{sel(fs("sessionCredentialFromConsole", "Equals", "true"))}, []string{"iam create"}},
		{"user ARN, escaped, not a nested arn", []api.AdvancedEventSelector{sel(fs("userIdentity.arn", "EndsWith", "user/admin", "nested"))}, []string{"iam create"}},
		{"user ARN starting with", []api.AdvancedEventSelector{sel(fs("userIdentity.arn", "StartsWith", "arn:aws:sts::"))}, []string{"s3 put"}},
		{"no user ARN matches a negation", []api.AdvancedEventSelector{sel(fs("userIdentity.arn", "NotStartsWith", "arn:aws:iam::"))},
			[]string{"kms decrypt", "s3 put", "sign-in", "old management", "old data", "network activity", "members of other types", "bare"}},
		{"resource type of any resource", []api.AdvancedEventSelector{sel(fs("resources.type", "Equals", "AWS::S3::Bucket"))}, []string{"s3 put"}},
		{"resource ARN", []api.AdvancedEventSelector{sel(fs("resources.ARN", "StartsWith", "arn:aws:s3:::logs/2024/"))}, []string{"s3 put"}},
		{"resource ARN matched by one resource is not excluded by none",
			[]api.AdvancedEventSelector{sel(fs("eventCategory", "Equals", "Data"), fs("resources.ARN", "NotEquals", "arn:aws:s3:::logs"))}, []string{"old data"}},
		{"all field selectors must hold", []api.AdvancedEventSelector{sel(fs("eventSource", "Equals", "kms.amazonaws.com"), fs("eventCategory", "Equals", "Management"))},
			[]string{"kms decrypt"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := selector.Compile(tc.sels)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			var got []string
			for i := range events {
				if m.Match(&events[i]) {
					got = append(got, corpus[i].name)
				}
			}
			if strings.Join(got, "; ") != strings.Join(tc.want, "; ") {
				t.Errorf("selected %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestCompileErrors checks that what ctimport cannot evaluate is refused
// with InvalidEventSelectorsException, and what the API model does not
// allow with InvalidParameterException.
func TestCompileErrors(t *testing.T) {
	many := make([]string, selector.MaxValues+1)
	for i := range many {
		many[i] = "v"
	}
	six := make([]api.AdvancedEventSelector, selector.MaxSelectors+1)
	for i := range six {
		six[i] = sel(fs("eventCategory", "Equals", "Management"))
	}
	for _, tc := range []struct {
		name string
		sels []api.AdvancedEventSelector
		want *api.Exception
		msg  string
	}{
		{"too many selectors", six, api.ErrInvalidEventSelectors, "at most 5"},
		{"too many values", []api.AdvancedEventSelector{sel(fs("eventName", "Equals", many...))}, api.ErrInvalidEventSelectors, "501 values"},
		{"unknown field", []api.AdvancedEventSelector{sel(fs("awsRegion", "Equals", "us-east-1"))}, api.ErrInvalidEventSelectors, `field "awsRegion"`},
		{"field in the wrong case", []api.AdvancedEventSelector{sel(fs("resources.arn", "Equals", "x"))}, api.ErrInvalidEventSelectors, `field "resources.arn"`},
		{"no operator", []api.AdvancedEventSelector{sel(fs("eventName", ""))}, api.ErrInvalidEventSelectors, "no operator"},
		{"empty operator lists", []api.AdvancedEventSelector{sel(api.AdvancedFieldSelector{Field: "eventName", Equals: []string{}})}, api.ErrInvalidEventSelectors, "no operator"},
		{"readOnly with NotEquals", []api.AdvancedEventSelector{sel(fs("readOnly", "NotEquals", "true"))}, api.ErrInvalidEventSelectors, "only the Equals"},
		{"eventCategory with StartsWith", []api.AdvancedEventSelector{sel(fs("eventCategory", "StartsWith", "Man"))}, api.ErrInvalidEventSelectors, "only the Equals"},
		{"resources.type with EndsWith", []api.AdvancedEventSelector{sel(fs("resources.type", "EndsWith", "Object"))}, api.ErrInvalidEventSelectors, "only the Equals"},
		{"readOnly yes", []api.AdvancedEventSelector{sel(fs("readOnly", "Equals", "yes"))}, api.ErrInvalidEventSelectors, `not "yes"`},
		{"readOnly True", []api.AdvancedEventSelector{sel(fs("readOnly", "Equals", "True"))}, api.ErrInvalidEventSelectors, `not "True"`},
		{"Insights", []api.AdvancedEventSelector{sel(fs("eventCategory", "Equals", "Insight"))}, api.ErrInvalidEventSelectors, "Insights events, which a trail's log files do not hold"},
		{"Config", []api.AdvancedEventSelector{sel(fs("eventCategory", "Equals", "Management", "ConfigurationItem"))}, api.ErrInvalidEventSelectors, "Config configuration items"},
		{"outside AWS", []api.AdvancedEventSelector{sel(fs("eventCategory", "Equals", "ActivityAuditLog"))}, api.ErrInvalidEventSelectors, "outside AWS"},
		{"unknown category", []api.AdvancedEventSelector{sel(fs("eventCategory", "Equals", "management"))}, api.ErrInvalidEventSelectors, `"management" is not an event category`},
		{"no field selectors", []api.AdvancedEventSelector{sel()}, api.ErrInvalidParameter, "no FieldSelectors"},
		{"no field", []api.AdvancedEventSelector{sel(fs("", "Equals", "x"))}, api.ErrInvalidParameter, "no Field"},
		{"long field", []api.AdvancedEventSelector{sel(fs(strings.Repeat("f", 1001), "Equals", "x"))}, api.ErrInvalidParameter, "longer than 1000"},
		{"long name", []api.AdvancedEventSelector{{Name: strings.Repeat("é", 1001), FieldSelectors: []api.AdvancedFieldSelector{fs("eventName", "Equals", "x")}}},
			api.ErrInvalidParameter, "Name of advanced event selector 1"},
		{"empty value", []api.AdvancedEventSelector{sel(fs("eventName", "NotEquals", ""))}, api.ErrInvalidParameter, "1 to 2048"},
		{"long value", []api.AdvancedEventSelector{sel(fs("eventName", "Equals", strings.Repeat("é", 2049)))}, api.ErrInvalidParameter, "1 to 2048"},
		{"second selector", []api.AdvancedEventSelector{sel(fs("eventName", "Equals", "x")), sel(fs("eventname", "Equals", "x"))},
			api.ErrInvalidEventSelectors, "advanced event selector 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, err := selector.Compile(tc.sels)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) || m != nil {
				t.Errorf("Compile = %v, %v; want %s saying %q", m, err, tc.want.Name, tc.msg)
			}
		})
	}
	ok := []api.AdvancedEventSelector{
		{Name: strings.Repeat("é", 1000), FieldSelectors: []api.AdvancedFieldSelector{fs("eventName", "Equals", strings.Repeat("é", 2048))}},
		sel(fs("eventName", "Equals", many[2:]...)),
	}
	if _, err := selector.Compile(ok); err != nil {
		t.Errorf("Compile at the limits: %v", err)
	}
}

// FuzzCompile compiles selectors given as JSON: Compile either refuses
// them with one of the two exceptions or returns a Matcher that evaluates
// any event without failing.
func FuzzCompile(f *testing.F) {
	f.Add(`[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Management"]},{"Field":"readOnly","Equals":["false"]}]}]`, s3Put)
	f.Add(`[{"FieldSelectors":[{"Field":"resources.ARN","NotStartsWith":["arn:aws:s3:::logs/"],"EndsWith":["a.txt"]}]}]`, s3Put)
	f.Add(`[{"FieldSelectors":[{"Field":"userIdentity.arn","StartsWith":["arn:aws:iam::"]}]},{"FieldSelectors":[{"Field":"eventCategory","Equals":["Data"]}]}]`, iamCreate)
	f.Add(`[{"FieldSelectors":[{"Field":"eventCategory","Equals":["Insight"]}]}]`, old)
	f.Add(`[{"FieldSelectors":[]}]`, wrongOne)
	f.Fuzz(func(t *testing.T, selectors, members string) {
		var sels []api.AdvancedEventSelector
		if json.Unmarshal([]byte(selectors), &sels) != nil {
			return
		}
		m, err := selector.Compile(sels)
		if err != nil {
			if !errors.Is(err, api.ErrInvalidEventSelectors) && !errors.Is(err, api.ErrInvalidParameter) {
				t.Fatalf("Compile(%s) = %v, want an API exception", selectors, err)
			}
			return
		}
		if (m == nil) != (len(sels) == 0) {
			t.Fatalf("Compile(%s) = %v", selectors, m)
		}
		body := `{"Records":[` + record(members) + `]}`
		events := make([]sink.Event, 1)
		if n, _ := logfile.NewDecoder(strings.NewReader(body), logfile.Options{}).Next(events); n == 1 {
			m.Match(&events[0])
		}
	})
}

// BenchmarkMatch measures a Matcher over a management, a data and a
// console event, with the selectors that test the JSON columns last.
func BenchmarkMatch(b *testing.B) {
	events := decode(b, record(kmsDecrypt), record(s3Put), record(iamCreate))
	for _, bc := range []struct {
		name string
		sels []api.AdvancedEventSelector
	}{
		{"write management", []api.AdvancedEventSelector{sel(fs("eventCategory", "Equals", "Management"), fs("readOnly", "Equals", "false"))}},
		{"user ARN", []api.AdvancedEventSelector{sel(fs("userIdentity.arn", "NotStartsWith", "arn:aws:sts::", "arn:aws:iam::111122223333:root"))}},
		{"resource ARN", []api.AdvancedEventSelector{
			sel(fs("eventCategory", "Equals", "Management")),
			sel(fs("eventCategory", "Equals", "Data"), fs("resources.type", "Equals", "AWS::S3::Object"), fs("resources.ARN", "NotStartsWith", "arn:aws:s3:::logs/"))}},
	} {
		m, err := selector.Compile(bc.sels)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				m.Match(&events[i%len(events)])
			}
		})
	}
}
