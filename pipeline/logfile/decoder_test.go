package logfile

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/ctimport/ctimport/sink"
)

// decodeAll decodes input with d, a few records per call, until io.EOF or
// an error; it returns the events and the error, nil at io.EOF.
func decodeAll(d *Decoder) ([]sink.Event, error) {
	var events []sink.Event
	batch := make([]sink.Event, 3)
	for {
		n, err := d.Next(batch)
		if n > 0 && err != nil {
			return events, fmt.Errorf("Next returned %d events and error %v", n, err)
		}
		events = append(events, batch[:n]...)
		if err == io.EOF {
			return events, nil
		}
		if err != nil {
			return events, err
		}
	}
}

func decodeString(input string, opts Options) ([]sink.Event, error) {
	return decodeAll(NewDecoder(strings.NewReader(input), opts))
}

// newSmallDecoder returns a Decoder whose buffer grows past size bytes only
// when it is full, so that tests with a small size reach the paths that
// read more input in the middle of a value.
func newSmallDecoder(r io.Reader, opts Options, size int) *Decoder {
	d := NewDecoder(r, opts)
	d.bufSize = size
	d.maxBuf = max(size, d.maxRecord+1)
	return d
}

// diffEvents describes how got differs from want, or returns "".
func diffEvents(got, want sink.Event) string {
	var b strings.Builder
	if !got.Time.Equal(want.Time) || got.Time.Location() != time.UTC {
		fmt.Fprintf(&b, "Time = %v, want %v in UTC\n", got.Time, want.Time)
	}
	if got.Null != want.Null {
		fmt.Fprintf(&b, "Null = %s, want %s\n", setNames(got.Null), setNames(want.Null))
	}
	if got.True != want.True {
		fmt.Fprintf(&b, "True = %s, want %s\n", setNames(got.True), setNames(want.True))
	}
	for c := range sink.NumColumns {
		if got.Values[c] != want.Values[c] {
			fmt.Fprintf(&b, "%s = %q, want %q\n", c.Name(), got.Values[c], want.Values[c])
		}
	}
	return b.String()
}

func setNames(s sink.ColumnSet) string {
	var names []string
	for c := range sink.NumColumns {
		if s.Has(c) {
			names = append(names, c.Name())
		}
	}
	return "{" + strings.Join(names, ",") + "}"
}

const (
	testTime = `"eventTime":"2023-07-10T11:42:36Z"`
	testID   = `"eventID":"e1"`
)

var testInstant = time.Date(2023, 7, 10, 11, 42, 36, 0, time.UTC)

// event builds the expected event: vals are the non-null Text and JSON
// columns (EventID included), bools the non-null Bool columns, and every
// other column but EventTime is null.
func event(at time.Time, vals map[sink.Column]string, bools map[sink.Column]bool) sink.Event {
	ev := sink.Event{Time: at, Null: allColumns &^ (1 << sink.EventTime)}
	for c, v := range vals {
		ev.Values[c] = v
		ev.Null &^= 1 << c
	}
	for c, v := range bools {
		ev.Null &^= 1 << c
		if v {
			ev.True |= 1 << c
		}
	}
	return ev
}

func TestRecordRules(t *testing.T) {
	type vals = map[sink.Column]string
	type bools = map[sink.Column]bool
	id := func(v vals) vals {
		v[sink.EventID] = "e1"
		return v
	}
	tests := []struct {
		name   string
		head   string // eventTime and eventID, when not testTime and testID
		record string // members after head
		at     time.Time
		vals   vals
		bools  bools
	}{
		{name: "text string", record: `,"eventName":"GetObject","awsRegion":"us-east-1"`,
			vals: id(vals{sink.EventName: "GetObject", sink.AWSRegion: "us-east-1"})},
		{name: "text empty string is not null", record: `,"errorCode":""`,
			vals: id(vals{sink.ErrorCode: ""})},
		{name: "text null goes to extra fields", record: `,"eventName":null`,
			vals: id(vals{sink.ExtraFields: `{"eventName":null}`})},
		{name: "text number goes to extra fields", record: `,"eventName":5`,
			vals: id(vals{sink.ExtraFields: `{"eventName":5}`})},
		{name: "text object goes to extra fields", record: `,"userAgent":{"a":[1, 2]}`,
			vals: id(vals{sink.ExtraFields: `{"userAgent":{"a":[1, 2]}}`})},
		{name: "text bool goes to extra fields", record: `,"sessionCredentialFromConsole":true`,
			vals: id(vals{sink.ExtraFields: `{"sessionCredentialFromConsole":true}`})},
		{name: "text escapes are unescaped", record: `,"userAgent":"a\"b\\c\/d\n\t\b\f\r\u00e9\ud83d\ude00"`,
			vals: id(vals{sink.UserAgent: "a\"b\\c/d\n\t\b\f\ré😀"})},
		{name: "escaped control characters are kept", record: `,"errorMessage":"\u0000\u001f"`,
			vals: id(vals{sink.ErrorMessage: "\x00\x1f"})},
		{name: "lone high surrogate becomes U+FFFD", record: `,"errorMessage":"a\ud800b"`,
			vals: id(vals{sink.ErrorMessage: "a\uFFFDb"})},
		{name: "lone low surrogate becomes U+FFFD", record: `,"errorMessage":"\udc00"`,
			vals: id(vals{sink.ErrorMessage: "\uFFFD"})},
		{name: "high surrogate before a non-surrogate escape", record: `,"errorMessage":"\ud800\u0041"`,
			vals: id(vals{sink.ErrorMessage: "\uFFFDA"})},
		{name: "two high surrogates", record: `,"errorMessage":"\ud800\ud800\udc00"`,
			vals: id(vals{sink.ErrorMessage: "\uFFFD\U00010000"})},
		{name: "non-ASCII text is kept", record: `,"errorMessage":"é日本😀"`,
			vals: id(vals{sink.ErrorMessage: "é日本😀"})},
		{name: "invalid UTF-8 in text becomes U+FFFD", record: ",\"userAgent\":\"a\xffb\"",
			vals: id(vals{sink.UserAgent: "a\uFFFDb"})},
		{name: "each byte of a cut UTF-8 sequence becomes U+FFFD", record: ",\"userAgent\":\"\xe2\x82x\"",
			vals: id(vals{sink.UserAgent: "\uFFFD\uFFFDx"})},
		{name: "UTF-8 encoded surrogate becomes U+FFFD per byte", record: ",\"userAgent\":\"\xed\xa0\x80\"",
			vals: id(vals{sink.UserAgent: "\uFFFD\uFFFD\uFFFD"})},
		{name: "invalid UTF-8 in raw JSON becomes U+FFFD", record: ",\"requestParameters\":{\"k\\n\":\"\xff\"}",
			vals: id(vals{sink.RequestParameters: "{\"k\\n\":\"\uFFFD\"}"})},
		{name: "invalid UTF-8 in an extra key becomes U+FFFD", record: ",\"\xfe\":1",
			vals: id(vals{sink.ExtraFields: "{\"\uFFFD\":1}"})},
		{name: "invalid UTF-8 with escapes in the same string", record: ",\"userAgent\":\"\\n\xff\"",
			vals: id(vals{sink.UserAgent: "\n\uFFFD"})},

		{name: "eventTime fractional seconds, kept as written", head: `"eventTime":"2023-07-10T11:42:36.123Z",` + testID,
			at: testInstant.Add(123 * time.Millisecond), vals: id(vals{sink.ExtraFields: `{"eventTime":"2023-07-10T11:42:36.123Z"}`})},
		{name: "eventTime offset is converted to UTC, kept as written", head: `"eventTime":"2023-07-10T14:12:36+02:30",` + testID,
			at: testInstant, vals: id(vals{sink.ExtraFields: `{"eventTime":"2023-07-10T14:12:36+02:30"}`})},
		{name: "eventTime escaped, kept as written", head: `"eventTime":"2023-07-10T11\u003a42:36Z",` + testID,
			at: testInstant, vals: id(vals{sink.ExtraFields: `{"eventTime":"2023-07-10T11\u003a42:36Z"}`})},
		{name: "eventTime leap day", head: `"eventTime":"2024-02-29T23:59:59Z",` + testID,
			at: time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC), vals: id(vals{})},
		{name: "eventTime and eventID anywhere", head: `"eventName":"a"`, record: `,` + testID + `,"x":1,` + testTime,
			vals: id(vals{sink.EventName: "a", sink.ExtraFields: `{"x":1}`})},
		{name: "duplicate eventTime goes to extra fields", record: `,"eventTime":"bad"`,
			vals: id(vals{sink.ExtraFields: `{"eventTime":"bad"}`})},

		{name: "bool true", record: `,"readOnly":true`, vals: id(vals{}), bools: bools{sink.ReadOnly: true}},
		{name: "bool false", record: `,"managementEvent":false`, vals: id(vals{}), bools: bools{sink.ManagementEvent: false}},
		{name: "bool null goes to extra fields", record: `,"readOnly":null`,
			vals: id(vals{sink.ExtraFields: `{"readOnly":null}`})},
		{name: "bool string goes to extra fields", record: `,"readOnly":"true"`,
			vals: id(vals{sink.ExtraFields: `{"readOnly":"true"}`})},
		{name: "bool number goes to extra fields", record: `,"managementEvent":1`,
			vals: id(vals{sink.ExtraFields: `{"managementEvent":1}`})},

		{name: "json object kept raw", record: `,"userIdentity":{ "type" : "Root", "n":[1, 2.5e3] }`,
			vals: id(vals{sink.UserIdentity: `{ "type" : "Root", "n":[1, 2.5e3] }`})},
		{name: "json array", record: `,"resources":[{"ARN":"arn:aws:s3:::b"}]`,
			vals: id(vals{sink.Resources: `[{"ARN":"arn:aws:s3:::b"}]`})},
		{name: "json string kept raw with escapes", record: `,"responseElements":"a\u0041\n"`,
			vals: id(vals{sink.ResponseElements: `"a\u0041\n"`})},
		{name: "json number", record: `,"additionalEventData":-0.5E+10`,
			vals: id(vals{sink.AdditionalEventData: `-0.5E+10`})},
		{name: "json bool", record: `,"tlsDetails":false`,
			vals: id(vals{sink.TLSDetails: `false`})},
		{name: "json null is its text", record: `,"responseElements":null`,
			vals: id(vals{sink.ResponseElements: `null`})},
		{name: "json empty containers", record: `,"requestParameters":{},"resources":[ ]`,
			vals: id(vals{sink.RequestParameters: `{}`, sink.Resources: `[ ]`})},
		{name: "huge numbers are kept as text", record: `,"n":123456789012345678901234567890,"e":1e999999,"z":-0`,
			vals: id(vals{sink.ExtraFields: `{"n":123456789012345678901234567890,"e":1e999999,"z":-0}`})},

		{name: "extra fields in input order", record: `,"zeta":1,"alpha":{"b":[true,null]},"eventName":"x","addendum":null`,
			vals: id(vals{sink.EventName: "x", sink.ExtraFields: `{"zeta":1,"alpha":{"b":[true,null]},"addendum":null}`})},
		{name: "no extra fields means null", record: `,"eventSource":"s3.amazonaws.com"`,
			vals: id(vals{sink.EventSource: "s3.amazonaws.com"})},
		{name: "a member named extraFields is an extra field", record: `,"extraFields":{"a":1}`,
			vals: id(vals{sink.ExtraFields: `{"extraFields":{"a":1}}`})},
		{name: "duplicate member: first fills the column", record: `,"eventName":"a","eventName":"b"`,
			vals: id(vals{sink.EventName: "a", sink.ExtraFields: `{"eventName":"b"}`})},
		{name: "duplicate member after a null", record: `,"eventName":null,"eventName":"b"`,
			vals: id(vals{sink.ExtraFields: `{"eventName":null,"eventName":"b"}`})},
		{name: "duplicate member after a wrong type", record: `,"eventName":5,"eventName":"b"`,
			vals: id(vals{sink.ExtraFields: `{"eventName":5,"eventName":"b"}`})},
		{name: "duplicate eventID goes to extra fields", record: `,"eventID":""`,
			vals: id(vals{sink.ExtraFields: `{"eventID":""}`})},
		{name: "duplicate bool", record: `,"readOnly":true,"readOnly":false`,
			vals: id(vals{sink.ExtraFields: `{"readOnly":false}`}), bools: bools{sink.ReadOnly: true}},
		{name: "escaped key names its column", record: `,"event\u004eame":"x"`,
			vals: id(vals{sink.EventName: "x"})},
		{name: "escaped extra key is kept raw", record: `,"a\u0062":1`,
			vals: id(vals{sink.ExtraFields: `{"a\u0062":1}`})},
		{name: "column names are case-sensitive", record: `,"EventName":"x"`,
			vals: id(vals{sink.ExtraFields: `{"EventName":"x"}`})},
		{name: "whitespace between tokens", record: " , \"eventName\" :\n\t\"x\" \r\n, \"readOnly\" : true ",
			vals: id(vals{sink.EventName: "x"}), bools: bools{sink.ReadOnly: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			head := tt.head
			if head == "" {
				head = testTime + "," + testID
			}
			at := tt.at
			if at.IsZero() {
				at = testInstant
			}
			input := `{"Records":[{` + head + tt.record + `}]}`
			for _, size := range []int{defaultBufferSize, 1, 5} {
				d := newSmallDecoder(strings.NewReader(input), Options{}, size)
				events, err := decodeAll(d)
				if err != nil {
					t.Fatalf("buffer %d: %v", size, err)
				}
				if len(events) != 1 {
					t.Fatalf("buffer %d: got %d events, want 1", size, len(events))
				}
				if diff := diffEvents(events[0], event(at, tt.vals, tt.bools)); diff != "" {
					t.Errorf("buffer %d:\n%s", size, diff)
				}
			}
		})
	}
}

func TestEventTimeForms(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2023-07-10T11:42:36Z", testInstant, true},
		{"2023-07-10T11:42:36.000001Z", testInstant.Add(time.Microsecond), true},
		{"2023-07-10T11:42:36-07:00", testInstant.Add(7 * time.Hour), true},
		{"2023-07-10T11:42:36.5+00:00", testInstant.Add(time.Second / 2), true},
		{"2024-02-29T00:00:00Z", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), true},
		{"2000-02-29T00:00:00Z", time.Date(2000, 2, 29, 0, 0, 0, 0, time.UTC), true},
		{"2023-12-31T23:59:59Z", time.Date(2023, 12, 31, 23, 59, 59, 0, time.UTC), true},
		{"2023-02-29T00:00:00Z", time.Time{}, false},
		{"1900-02-29T00:00:00Z", time.Time{}, false},
		{"2023-04-31T00:00:00Z", time.Time{}, false},
		{"2023-13-01T00:00:00Z", time.Time{}, false},
		{"2023-00-01T00:00:00Z", time.Time{}, false},
		{"2023-07-00T00:00:00Z", time.Time{}, false},
		{"2023-07-10T24:00:00Z", time.Time{}, false},
		{"2023-07-10T11:60:00Z", time.Time{}, false},
		{"2023-07-10T11:42:60Z", time.Time{}, false},
		{"2023-07-10 11:42:36Z", time.Time{}, false},
		{"2023-07-10T11:42:36", time.Time{}, false},
		{"2023-07-1aT11:42:36Z", time.Time{}, false},
		{"2023-13-01", time.Time{}, false},
		{"", time.Time{}, false},
	}
	for _, tt := range tests {
		got, ok := parseTime(tt.in)
		if ok != tt.ok || !got.Equal(tt.want) || ok && got.Location() != time.UTC {
			t.Errorf("parseTime(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestLookupCoversEveryColumn(t *testing.T) {
	for c := range sink.ExtraFields {
		if got := lookup([]byte(c.Name())); got != c {
			t.Errorf("lookup(%q) = %v, want %v", c.Name(), got, c)
		}
	}
	for _, name := range []string{"extraFields", "", "eventtime", "eventTimes", "Records"} {
		if got := lookup([]byte(name)); got != sink.ExtraFields {
			t.Errorf("lookup(%q) = %v, want no column", name, got)
		}
	}
}

func TestDocumentRules(t *testing.T) {
	rec := `{` + testTime + `,` + testID + `}`
	tests := []struct {
		name  string
		input string
		n     int
	}{
		{"one record", `{"Records":[` + rec + `]}`, 1},
		{"several records", `{"Records":[` + rec + `,` + rec + `,` + rec + `,` + rec + `]}`, 4},
		{"byte-order mark and whitespace", "\xef\xbb\xbf \n\t\r{\"Records\":[" + rec + "]}", 1},
		{"whitespace everywhere", " { \"Records\" : [ " + rec + " , " + rec + " ] } \n", 2},
		{"empty Records", `{"Records":[]}`, 0},
		{"empty Records with whitespace", `{"Records":[ ]}`, 0},
		{"other members are ignored", `{"a":{"x":[1,2,{"y":null}]},"Records":[` + rec + `],"b":"c","d":-1.5e3,"e":true}`, 1},
		{"escaped Records key", `{"R\u0065cords":[` + rec + `]}`, 1},
		{"trailing whitespace", `{"Records":[` + rec + "]}\n\n \t", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, size := range []int{defaultBufferSize, 1, 3} {
				events, err := decodeAll(newSmallDecoder(strings.NewReader(tt.input), Options{}, size))
				if err != nil {
					t.Fatalf("buffer %d: %v", size, err)
				}
				if len(events) != tt.n {
					t.Fatalf("buffer %d: got %d events, want %d", size, len(events), tt.n)
				}
				for _, ev := range events {
					if diff := diffEvents(ev, event(testInstant, map[sink.Column]string{sink.EventID: "e1"}, nil)); diff != "" {
						t.Errorf("buffer %d:\n%s", size, diff)
					}
				}
			}
		})
	}
}

// errorCase is a malformed input and the error it must give.
type errorCase struct {
	name   string
	input  string
	opts   Options
	err    error // nil: the input is valid
	record int
	offset int64 // -1: not checked
	msg    string
}

func errorCases() []errorCase {
	rec := `{` + testTime + `,` + testID + `}`
	doc := func(records string) string { return `{"Records":[` + records + `]}` }
	one := func(members string) string { return doc(`{` + testTime + `,` + testID + members + `}`) }
	deep := strings.Repeat("[", 100000)
	return []errorCase{
		{"zero bytes", "", Options{}, ErrEmpty, -1, 0, "log file holds no json"},
		{"only whitespace", " \n\t\r ", Options{}, ErrEmpty, -1, 5, "log file holds no json"},
		{"only a byte-order mark", "\xef\xbb\xbf", Options{}, ErrEmpty, -1, 3, "log file holds no json"},

		{"garbage", `x`, Options{}, ErrSyntax, -1, 0, "invalid character 'x' looking for beginning of value"},
		{"half a byte-order mark", "\xef\xbb{}", Options{}, ErrSyntax, -1, 0, "invalid character byte 0xef looking for beginning of value"},
		{"text after the object", doc(``) + `x`, Options{}, ErrSyntax, -1, 14, "invalid character 'x' after top-level value"},
		{"second object", doc(``) + ` {}`, Options{}, ErrSyntax, -1, 15, "after top-level value"},
		{"trailing comma in top-level object", `{"Records":[],}`, Options{}, ErrSyntax, -1, 14, "looking for beginning of object key string"},
		{"trailing comma in Records", doc(rec + `,`), Options{}, ErrSyntax, -1, -1, "invalid character ']' looking for beginning of value"},
		{"missing comma between records", doc(rec + ` ` + rec), Options{}, ErrSyntax, -1, -1, "after array element"},
		{"missing colon", `{"Records" []}`, Options{}, ErrSyntax, -1, 11, "after object key"},
		{"unquoted key", `{Records:[]}`, Options{}, ErrSyntax, -1, 1, "looking for beginning of object key string"},
		{"duplicate Records", `{"Records":[],"Records":[]}`, Options{}, ErrSyntax, -1, 14, "duplicate Records member"},
		{"bad member before Records", `{"a":[1,,2],"Records":[]}`, Options{}, ErrSyntax, -1, 8, "looking for beginning of value"},
		{"missing colon in record", doc(`{"eventTime" "x"}`), Options{}, ErrSyntax, 0, -1, "after object key"},
		{"trailing comma in record", one(`,`), Options{}, ErrSyntax, 0, -1, "looking for beginning of object key string"},
		{"missing comma in record", one(` "a":1`), Options{}, ErrSyntax, 0, -1, "after object key:value pair"},
		{"missing comma in nested array", one(`,"resources":[1 2]`), Options{}, ErrSyntax, 0, -1, "after array element"},
		{"missing comma in nested object", one(`,"resources":{"a":1 "b":2}`), Options{}, ErrSyntax, 0, -1, "after object key:value pair"},
		{"bracket mismatch", one(`,"resources":[1}`), Options{}, ErrSyntax, 0, -1, "after array element"},
		{"control character in string", one(",\"a\":\"x\x01y\""), Options{}, ErrSyntax, 0, -1, "invalid character byte 0x01 in string literal"},
		{"newline in string", one(",\"a\":\"x\ny\""), Options{}, ErrSyntax, 0, -1, "in string literal"},
		{"control character in key", one(",\"\x1f\":1"), Options{}, ErrSyntax, 0, -1, "in string literal"},
		{"bad escape", one(`,"a":"\x"`), Options{}, ErrSyntax, 0, -1, "invalid character 'x' in string escape code"},
		{"bad unicode escape", one(`,"a":"\u12g4"`), Options{}, ErrSyntax, 0, -1, "in \\u hexadecimal character escape"},
		{"leading zero", one(`,"a":01`), Options{}, ErrSyntax, 0, -1, "after object key:value pair"},
		{"bare decimal point", one(`,"a":1.}`), Options{}, ErrSyntax, 0, -1, "after decimal point in numeric literal"},
		{"lone minus", one(`,"a":-}`), Options{}, ErrSyntax, 0, -1, "in numeric literal"},
		{"empty exponent", one(`,"a":1e}`), Options{}, ErrSyntax, 0, -1, "in exponent of numeric literal"},
		{"leading plus", one(`,"a":+1`), Options{}, ErrSyntax, 0, -1, "looking for beginning of value"},
		{"leading point", one(`,"a":.5`), Options{}, ErrSyntax, 0, -1, "looking for beginning of value"},
		{"NaN", one(`,"a":NaN`), Options{}, ErrSyntax, 0, -1, "looking for beginning of value"},
		{"bad literal", one(`,"a":tru}`), Options{}, ErrSyntax, 0, -1, "in literal true"},
		{"bad nested literal", one(`,"a":[nul]`), Options{}, ErrSyntax, 0, -1, "in literal null"},
		{"single quotes", one(`,'a':1`), Options{}, ErrSyntax, 0, -1, "looking for beginning of object key string"},
		{"comment", doc(`/* */`), Options{}, ErrSyntax, 0, 12, "looking for beginning of value"},
		{"non-ASCII byte outside strings", one(",\"a\":\xff"), Options{}, ErrSyntax, 0, -1, "invalid character byte 0xff"},

		{"open brace", `{`, Options{}, ErrTruncated, -1, 1, "unexpected end of input"},
		{"open Records", `{"Records":[`, Options{}, ErrTruncated, -1, 12, "unexpected end of input"},
		{"inside key", `{"Reco`, Options{}, ErrTruncated, -1, 6, "unexpected end of input"},
		{"inside a record", `{"Records":[{"eventTime":"2023`, Options{}, ErrTruncated, 0, 30, "unexpected end of input"},
		{"after a record", `{"Records":[` + rec, Options{}, ErrTruncated, -1, -1, "unexpected end of input"},
		{"after a comma", `{"Records":[` + rec + `,`, Options{}, ErrTruncated, -1, -1, "unexpected end of input"},
		{"before the closing brace", `{"Records":[]`, Options{}, ErrTruncated, -1, 13, "unexpected end of input"},
		{"inside a literal", `{"Records":[{"readOnly":tr`, Options{}, ErrTruncated, 0, -1, "unexpected end of input"},
		{"inside a number", `{"Records":[{"n":12`, Options{}, ErrTruncated, 0, -1, "unexpected end of input"},
		{"inside an escape", `{"Records":[{"n":"\u00`, Options{}, ErrTruncated, 0, -1, "unexpected end of input"},
		{"inside a UTF-8 sequence", "{\"Records\":[{\"n\":\"\xe6\x97", Options{}, ErrTruncated, 0, -1, "unexpected end of input"},
		{"inside another member", `{"a":[1,`, Options{}, ErrTruncated, -1, 8, "unexpected end of input"},

		{"top-level array", `[]`, Options{}, ErrNoRecords, -1, 0, "top-level value is an array, not an object"},
		{"top-level string", `"Records"`, Options{}, ErrNoRecords, -1, 0, "top-level value is a string, not an object"},
		{"top-level number", ` 5`, Options{}, ErrNoRecords, -1, 1, "top-level value is a number, not an object"},
		{"top-level null", `null`, Options{}, ErrNoRecords, -1, 0, "top-level value is null, not an object"},
		{"empty object", `{}`, Options{}, ErrNoRecords, -1, 1, "top-level object has no Records member"},
		{"lowercase records", `{"records":[]}`, Options{}, ErrNoRecords, -1, 13, "top-level object has no Records member"},
		{"Records is an object", `{"Records":{}}`, Options{}, ErrNoRecords, -1, 11, "Records is an object, not an array"},
		{"Records is null", `{"Records":null}`, Options{}, ErrNoRecords, -1, 11, "Records is null, not an array"},
		{"Records is a string", `{"Records": "x"}`, Options{}, ErrNoRecords, -1, 12, "Records is a string, not an array"},

		{"record is a number", doc(`5`), Options{}, ErrRecord, 0, 12, "record is a number, not an object"},
		{"record is a string", doc(rec + `,"x"`), Options{}, ErrRecord, 1, -1, "record is a string, not an object"},
		{"record is null", doc(`null`), Options{}, ErrRecord, 0, 12, "record is null, not an object"},
		{"record is a bad literal", doc(`nope`), Options{}, ErrSyntax, 0, 13, "invalid character 'o' in literal null (expecting 'u')"},
		{"record is an array", doc(deep), Options{}, ErrRecord, 0, 12, "record is an array, not an object"},
		{"record is empty", doc(`{}`), Options{}, ErrRecord, 0, 12, "eventTime is missing"},
		{"eventTime missing", doc(`{` + testID + `}`), Options{}, ErrRecord, 0, 12, "eventTime is missing"},
		{"eventTime null", doc(`{"eventTime":null,` + testID + `}`), Options{}, ErrRecord, 0, 12, "eventTime is null, not a string"},
		{"eventTime number", doc(`{"eventTime":1688989356,` + testID + `}`), Options{}, ErrRecord, 0, 12, "eventTime is a number, not a string"},
		{"eventTime object", doc(`{"eventTime":{},` + testID + `}`), Options{}, ErrRecord, 0, 12, "eventTime is an object, not a string"},
		{"eventTime bad month", doc(`{"eventTime":"2023-13-01",` + testID + `}`), Options{}, ErrRecord, 0, 12, `eventTime "2023-13-01" is not an RFC 3339 time`},
		{"eventTime empty", doc(`{"eventTime":"",` + testID + `}`), Options{}, ErrRecord, 0, 12, `eventTime "" is not an RFC 3339 time`},
		{"eventTime long", doc(`{"eventTime":"` + strings.Repeat("9", 100) + `",` + testID + `}`), Options{}, ErrRecord, 0, 12, `eventTime "` + strings.Repeat("9", 64) + `"... is not an RFC 3339 time`},
		{"eventID missing", doc(`{` + testTime + `}`), Options{}, ErrRecord, 0, 12, "eventID is missing"},
		{"eventID empty", doc(`{` + testTime + `,"eventID":""}`), Options{}, ErrRecord, 0, 12, "eventID is empty"},
		{"eventID escaped", doc(`{` + testTime + `,"eventID":"\u0065"}`), Options{}, nil, 0, 0, ""},
		{"eventID null", doc(`{` + testTime + `,"eventID":null}`), Options{}, ErrRecord, 0, 12, "eventID is null, not a string"},
		{"eventID number", doc(`{` + testTime + `,"eventID":7}`), Options{}, ErrRecord, 0, 12, "eventID is a number, not a string"},
		{"third record bad", doc(rec + "," + rec + ",\n" + `{"eventID":"x"}`), Options{}, ErrRecord, 2, -1, "eventTime is missing"},

		{"record too large", one(`,"a":"` + strings.Repeat("x", 200) + `"`), Options{MaxRecordSize: 100}, ErrTooLarge, 0, 12, "record is larger than 100 bytes"},
		{"record too large by one", one(`,"a":"` + strings.Repeat("x", 100-len(rec)-7) + `"`), Options{MaxRecordSize: 99}, ErrTooLarge, 0, 12, "record is larger than 99 bytes"},
		{"record of the largest size", one(`,"a":"` + strings.Repeat("x", 100-len(rec)-7) + `"`), Options{MaxRecordSize: 100}, nil, 0, 0, ""},
		{"other member too large", `{"a":"` + strings.Repeat("x", 200) + `","Records":[]}`, Options{MaxRecordSize: 100}, ErrTooLarge, -1, 5, "value is larger than 100 bytes"},

		{"deep nesting in a record", doc(`{"a":` + deep), Options{}, ErrTooDeep, 0, 12 + 5 + 9997, "json is nested more than 10000 levels deep"},
		{"deep nesting in another member", `{"a":` + deep, Options{}, ErrTooDeep, -1, 5 + 9999, "json is nested more than 10000 levels deep"},
		{"nesting over MaxDepth", one(`,"a":[[[1]]]`), Options{MaxDepth: 5}, ErrTooDeep, 0, -1, "json is nested more than 5 levels deep"},
		{"nesting at MaxDepth", one(`,"a":[[1]]`), Options{MaxDepth: 5}, nil, 0, 0, ""},
		{"MaxDepth below a record", doc(rec), Options{MaxDepth: 2}, ErrTooDeep, 0, 12, "json is nested more than 2 levels deep"},
		{"MaxDepth below Records", doc(rec), Options{MaxDepth: 1}, ErrTooDeep, -1, 11, "json is nested more than 1 levels deep"},
	}
}

func TestErrors(t *testing.T) {
	for _, tt := range errorCases() {
		t.Run(tt.name, func(t *testing.T) {
			for _, size := range []int{defaultBufferSize, 1, 7} {
				_, err := decodeAll(newSmallDecoder(strings.NewReader(tt.input), tt.opts, size))
				if tt.err == nil {
					if err != nil {
						t.Fatalf("buffer %d: %v", size, err)
					}
					continue
				}
				var e *Error
				if !errors.As(err, &e) || !errors.Is(err, tt.err) {
					t.Fatalf("buffer %d: error %v, want an *Error wrapping %v", size, err, tt.err)
				}
				if e.Record != tt.record || tt.offset >= 0 && e.Offset != tt.offset || !strings.Contains(e.Msg, tt.msg) {
					t.Errorf("buffer %d: got record %d, offset %d, msg %q; want record %d, offset %d, msg containing %q",
						size, e.Record, e.Offset, e.Msg, tt.record, tt.offset, tt.msg)
				}
			}
		})
	}
}

func TestErrorText(t *testing.T) {
	input := `{"Records":[{"eventTime":"2023-13-01","eventID":"x"}]}`
	_, err := decodeString(input, Options{})
	if want := `record 0 at byte 12: eventTime "2023-13-01" is not an RFC 3339 time`; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
	_, err = decodeString(`{"Records":[]} x`, Options{})
	if want := `at byte 15: invalid character 'x' after top-level value`; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

func TestNextContract(t *testing.T) {
	rec := `{` + testTime + `,` + testID + `}`
	d := NewDecoder(strings.NewReader(`{"Records":[`+rec+`,`+rec+`,`+rec+`]}`), Options{})
	if n, err := d.Next(nil); n != 0 || err != nil {
		t.Fatalf("Next(nil) = %d, %v; want 0, nil", n, err)
	}
	dst := make([]sink.Event, 2)
	if n, err := d.Next(dst); n != 2 || err != nil || d.Records() != 2 {
		t.Fatalf("Next = %d, %v, Records %d; want 2, nil, 2", n, err, d.Records())
	}
	if n, err := d.Next(dst); n != 1 || err != nil || d.Records() != 3 {
		t.Fatalf("Next = %d, %v, Records %d; want 1, nil, 3", n, err, d.Records())
	}
	for range 2 {
		if n, err := d.Next(dst); n != 0 || err != io.EOF {
			t.Fatalf("Next at end = %d, %v; want 0, io.EOF", n, err)
		}
	}

	// Records before an error come first; the error then stays.
	d = NewDecoder(strings.NewReader(`{"Records":[`+rec+`,`+rec+`,5]}`), Options{})
	if n, err := d.Next(make([]sink.Event, 10)); n != 2 || err != nil {
		t.Fatalf("Next = %d, %v; want 2, nil", n, err)
	}
	for range 2 {
		if n, err := d.Next(dst); n != 0 || !errors.Is(err, ErrRecord) {
			t.Fatalf("Next = %d, %v; want 0, ErrRecord", n, err)
		}
	}
	if d.Records() != 2 {
		t.Errorf("Records = %d, want 2", d.Records())
	}
}

func TestEventsOutliveTheBuffer(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"Records":[`)
	for i := range 2000 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"eventTime":"2023-07-10T11:42:36Z","eventID":"id-%d","eventName":"n\n%d","x":%d}`, i, i, i)
	}
	b.WriteString(`]}`)
	events, err := decodeAll(newSmallDecoder(strings.NewReader(b.String()), Options{}, 64))
	if err != nil {
		t.Fatal(err)
	}
	for i, ev := range events {
		if ev.ID() != fmt.Sprintf("id-%d", i) || ev.Values[sink.EventName] != fmt.Sprintf("n\n%d", i) ||
			ev.Values[sink.ExtraFields] != fmt.Sprintf(`{"x":%d}`, i) {
			t.Fatalf("event %d: %q %q %q", i, ev.ID(), ev.Values[sink.EventName], ev.Values[sink.ExtraFields])
		}
	}
}

// richDocument uses every kind of JSON token in and around records.
const richDocument = "\xef\xbb\xbf {\"before\": {\"a\": [1, -2.5e+3, true, false, null, \"\\u00C9\\n\"]},\n \"Records\" : [\n" +
	`{"eventTime":"2023-07-10T11:42:36.25Z","eventID":"a\u00e9\ud83d\ude00","readOnly":false,"managementEvent":null,` +
	`"requestParameters":{"n":[0,-0.0,1E5,12.5e-3,{}],"s":"\"\\\/\b\f\n\r\t"},"userAgent":"é` + "\xff" + `","x":-7},` + "\n" +
	`{"eventTime":"2023-07-10T11:42:37Z","eventID":"b","readOnly":true,"eventName":5,"responseElements":null}` +
	"\n], \"after\": \"\"} \n"

func TestEveryPrefixIsTruncated(t *testing.T) {
	for n := range len(richDocument) - 2 {
		_, err := decodeString(richDocument[:n], Options{})
		var want error
		switch {
		case n == 1 || n == 2: // part of the byte-order mark
			want = ErrSyntax
		case n <= 4: // nothing, the byte-order mark, a space
			want = ErrEmpty
		default:
			want = ErrTruncated
		}
		if !errors.Is(err, want) {
			t.Errorf("first %d bytes: got %v, want %v", n, err, want)
		}
	}
}

func TestEveryBufferSize(t *testing.T) {
	want, err := decodeString(richDocument, Options{})
	if err != nil || len(want) != 2 {
		t.Fatalf("got %d events, %v", len(want), err)
	}
	if got := want[0].Values[sink.UserAgent]; got != "é\uFFFD" {
		t.Errorf("userAgent = %q", got)
	}
	if got := want[0].ID(); got != "aé😀" {
		t.Errorf("eventID = %q", got)
	}
	for size := 1; size <= len(richDocument); size++ {
		got, err := decodeAll(newSmallDecoder(iotest.HalfReader(strings.NewReader(richDocument)), Options{}, size))
		if err != nil || len(got) != len(want) {
			t.Fatalf("buffer %d: got %d events, %v", size, len(got), err)
		}
		for i := range got {
			if diff := diffEvents(got[i], want[i]); diff != "" {
				t.Fatalf("buffer %d, event %d:\n%s", size, i, diff)
			}
		}
	}
}

// overReader claims to have read more than it was asked for.
type overReader struct{}

func (overReader) Read(p []byte) (int, error) { return len(p) + 1, nil }

func TestReaderInvalidCount(t *testing.T) {
	_, err := decodeAll(NewDecoder(overReader{}, Options{}))
	var e *Error
	if err == nil || errors.As(err, &e) || !strings.Contains(err.Error(), "invalid count") {
		t.Fatalf("got %v, want an invalid count error", err)
	}
}
