package awsjson_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/internal/awsjson"
)

var (
	t0 = time.Unix(1700000000, 0).UTC()
	t1 = time.UnixMilli(1700000000123).UTC()
	t2 = time.UnixMilli(1700003600500).UTC()
)

type inner struct {
	When  time.Time  `json:"When"`
	Maybe *time.Time `json:"Maybe,omitempty"`
	Name  string     `json:"Name"`
}

type Embedded struct {
	Promoted time.Time `json:"Promoted"`
}

type nested struct {
	Embedded
	Items   []inner                `json:"Items"`
	Ptrs    []*inner               `json:"Ptrs"`
	ByName  map[string]inner       `json:"ByName"`
	Times   map[string][]time.Time `json:"Times"`
	PtrList []*time.Time           `json:"PtrList"`
	Rows    [][]map[string]string  `json:"Rows"`
	Fixed   [2]time.Time           `json:"Fixed"`
	Deep    **inner                `json:"Deep"`
	Count   int32                  `json:"Count"`
	Ratio   float64                `json:"Ratio"`
	On      bool                   `json:"On"`
	Skipped time.Time              `json:"-"`
	Plain   time.Time
}

func TestRoundTrip(t *testing.T) {
	deep := &inner{When: t2, Name: "deep"}
	tests := []struct {
		name string
		in   any
	}{
		{"Import", &api.Import{
			ImportId:     "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
			Destinations: []string{"arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/eds"},
			ImportSource: api.ImportSource{S3: api.S3ImportSource{
				S3LocationUri:         "s3://bucket/AWSLogs/",
				S3BucketRegion:        "us-east-1",
				S3BucketAccessRoleArn: "arn:aws:iam::123456789012:role/import",
			}},
			StartEventTime:   &t0,
			ImportStatus:     api.StatusInProgress,
			CreatedTimestamp: t1,
			UpdatedTimestamp: t2,
			ImportStatistics: &api.ImportStatistics{PrefixesFound: 3, FilesCompleted: 1 << 40},
		}},
		{"ListImportFailuresOutput", &api.ListImportFailuresOutput{
			Failures: []api.ImportFailureListItem{
				{Location: "s3://b/k1.json.gz", Status: api.FailureFailed, ErrorType: "ParseError", ErrorMessage: "bad", LastUpdatedTime: t1},
				{Location: "s3://b/k2.json.gz", Status: api.FailureRetry, LastUpdatedTime: t2},
			},
			NextToken: "token",
		}},
		{"ListImportsOutput", &api.ListImportsOutput{Imports: []api.ImportsListItem{
			{ImportId: "a", ImportStatus: api.StatusCompleted, Destinations: []string{"d"}, CreatedTimestamp: t0, UpdatedTimestamp: t1},
		}}},
		{"ListEventDataStoresOutput", &api.ListEventDataStoresOutput{EventDataStores: []api.EventDataStore{
			{EventDataStoreArn: "arn", Name: "eds", Status: api.EventDataStoreEnabled, CreatedTimestamp: t0, UpdatedTimestamp: t2},
		}}},
		{"StartImportInput", &api.StartImportInput{ImportId: "x", StartEventTime: &t1, EndEventTime: &t2}},
		{"nested", &nested{
			Embedded: Embedded{Promoted: t1},
			Items:    []inner{{When: t0, Maybe: &t1, Name: "a"}, {When: t2}},
			Ptrs:     []*inner{nil, {When: t1}},
			ByName:   map[string]inner{"x": {When: t2, Maybe: &t0}},
			Times:    map[string][]time.Time{"k": {t0, t1}, "empty": {}},
			PtrList:  []*time.Time{&t2, nil},
			Rows:     [][]map[string]string{{{"a": "1", "b": "2"}}, {}},
			Fixed:    [2]time.Time{t0, t2},
			Deep:     &deep,
			Count:    -7,
			Ratio:    0.25,
			On:       true,
			Plain:    t2,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := awsjson.Marshal(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(data), `"20`) {
				t.Errorf("a time was left as a string: %s", data)
			}
			out := reflect.New(reflect.TypeOf(tt.in).Elem())
			if err := awsjson.Unmarshal(data, out.Interface()); err != nil {
				t.Fatalf("Unmarshal(%s): %v", data, err)
			}
			if !reflect.DeepEqual(out.Interface(), tt.in) {
				t.Errorf("round trip of %s:\n got %+v\nwant %+v", data, out.Elem(), reflect.ValueOf(tt.in).Elem())
			}
		})
	}
}

func TestMarshalGolden(t *testing.T) {
	type stamp struct {
		T time.Time `json:"T"`
	}
	type pointers struct {
		A *time.Time `json:"A,omitempty"`
		B *time.Time `json:"B"`
	}
	at := func(sec, nsec int64) time.Time { return time.Unix(sec, nsec) }
	half := at(1700000000, 5e8)
	tests := []struct {
		in   any
		want string
	}{
		{stamp{at(1700000000, 0)}, `{"T":1700000000}`},
		{stamp{at(1700000000, 5e8)}, `{"T":1700000000.5}`},
		{stamp{at(1700000000, 123e6)}, `{"T":1700000000.123}`},
		{stamp{at(1700000000, 120e6)}, `{"T":1700000000.12}`},
		{stamp{at(1700000000, 123999999)}, `{"T":1700000000.123}`},
		{stamp{at(1700000000, 1e6)}, `{"T":1700000000.001}`},
		{stamp{at(-2, 5e8)}, `{"T":-1.5}`},
		{stamp{at(0, 0).In(time.FixedZone("x", 3600))}, `{"T":0}`},
		{&stamp{at(1, 0)}, `{"T":1}`},
		{pointers{}, `{"B":null}`},
		{pointers{A: &half, B: &half}, `{"A":1700000000.5,"B":1700000000.5}`},
		{map[string]time.Time{"b": at(2, 0), "a": at(1, 0)}, `{"a":1,"b":2}`},
		{[]*time.Time{&half, nil}, `[1700000000.5,null]`},
		{at(5, 0), `5`},
		{[][]map[string]string{{{"k": "v"}}}, `[[{"k":"v"}]]`},
		{map[string]any{"t": at(5, 0).UTC()}, `{"t":"1970-01-01T00:00:05Z"}`},
		{nil, `null`},
		{api.ImportsListItem{ImportId: "i", ImportStatus: api.StatusFailed, Destinations: []string{"d"}, CreatedTimestamp: at(1700000000, 0), UpdatedTimestamp: at(1700000000, 250e6)},
			`{"ImportId":"i","ImportStatus":"FAILED","Destinations":["d"],"CreatedTimestamp":1700000000,"UpdatedTimestamp":1700000000.25}`},
		{api.StartImportInput{ImportId: "i", EndEventTime: &half},
			`{"EndEventTime":1700000000.5,"ImportId":"i"}`},
	}
	for _, tt := range tests {
		got, err := awsjson.Marshal(tt.in)
		if err != nil {
			t.Errorf("Marshal(%#v): %v", tt.in, err)
			continue
		}
		if string(got) != tt.want {
			t.Errorf("Marshal(%#v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestMarshalError(t *testing.T) {
	if _, err := awsjson.Marshal(map[string]any{"f": func() {}}); err == nil {
		t.Error("Marshal of a func succeeded")
	}
}

func TestUnmarshalTime(t *testing.T) {
	tests := []struct {
		body string
		want time.Time
	}{
		{`1700000000`, time.Unix(1700000000, 0)},
		{`1700000000.5`, time.Unix(1700000000, 5e8)},
		{`1700000000.123`, time.Unix(1700000000, 123e6)},
		{`1700000000.123456`, time.Unix(1700000000, 123456e3)},
		{`1700000000.1234565`, time.Unix(1700000000, 123457e3)},
		{`1700000000.1234564999`, time.Unix(1700000000, 123456e3)},
		{`1.7e9`, time.Unix(1700000000, 0)},
		{`17000000005E-1`, time.Unix(1700000000, 5e8)},
		{`-1.5`, time.Unix(-2, 5e8)},
		{`0`, time.Unix(0, 0)},
		{`253402300799.999999`, time.Date(9999, 12, 31, 23, 59, 59, 999999e3, time.UTC)},
		{`"2023-11-14T22:13:20Z"`, time.Unix(1700000000, 0)},
		{`"2023-11-14T22:13:20.123456789Z"`, time.Unix(1700000000, 123456789)},
		{`"2023-11-14T23:13:20.5+01:00"`, time.Unix(1700000000, 5e8)},
	}
	for _, tt := range tests {
		var v struct {
			T *time.Time `json:"T"`
			U time.Time  `json:"U"`
		}
		body := `{"T":` + tt.body + `,"U":` + tt.body + `}`
		if err := awsjson.Unmarshal([]byte(body), &v); err != nil {
			t.Errorf("Unmarshal(%s): %v", body, err)
			continue
		}
		if v.T == nil || !v.T.Equal(tt.want) || !v.U.Equal(tt.want) {
			t.Errorf("Unmarshal(%s) = %v, %v, want %v", body, v.T, v.U, tt.want)
			continue
		}
		if v.T.Location() != time.UTC || v.U.Location() != time.UTC {
			t.Errorf("Unmarshal(%s) gave a time in %v, want UTC", body, v.T.Location())
		}
	}

	var v api.StartImportInput
	if err := awsjson.Unmarshal([]byte(`{"StartEventTime":null}`), &v); err != nil || v.StartEventTime != nil {
		t.Errorf("null time: %v, %v", v.StartEventTime, err)
	}
}

func TestUnmarshalErrors(t *testing.T) {
	type rows struct {
		Rows [][]map[string]string `json:"Rows"`
	}
	type flags struct {
		On    bool    `json:"On"`
		Small int8    `json:"Small"`
		Count uint    `json:"Count"`
		Ratio float32 `json:"Ratio"`
		Blob  []byte  `json:"Blob"`
		Pair  [2]int  `json:"Pair"`
	}
	tests := []struct {
		body string
		into any
		want string
	}{
		{`[]`, &api.StartImportInput{}, "body is not a JSON object"},
		{`"x"`, &api.StartImportInput{}, "body is not a JSON object"},
		{`{} {}`, &api.StartImportInput{}, "body is not valid JSON"},
		{`{"ImportId":`, &api.StartImportInput{}, "body is not valid JSON"},
		{`{"ImportSource":{"S3":{"S3LocationUri":5}}}`, &api.StartImportInput{}, ": ImportSource.S3.S3LocationUri: expected a string"},
		{`{"ImportSource":[]}`, &api.StartImportInput{}, ": ImportSource: expected an object"},
		{`{"Destinations":"a"}`, &api.StartImportInput{}, ": Destinations: expected an array"},
		{`{"Destinations":["a",1]}`, &api.StartImportInput{}, ": Destinations[1]: expected a string"},
		{`{"StartEventTime":"yesterday"}`, &api.StartImportInput{}, ": StartEventTime: expected epoch seconds or an RFC 3339 timestamp"},
		{`{"StartEventTime":true}`, &api.StartImportInput{}, ": StartEventTime: expected a timestamp"},
		{`{"EndEventTime":1e300}`, &api.StartImportInput{}, ": EndEventTime: timestamp out of range"},
		{`{"EndEventTime":253402300800}`, &api.StartImportInput{}, ": EndEventTime: timestamp out of range"},
		{`{"EndEventTime":-62167219201}`, &api.StartImportInput{}, ": EndEventTime: timestamp out of range"},
		{`{"MaxResults":1.5}`, &api.ListImportsInput{}, ": MaxResults: expected an integer"},
		{`{"MaxResults":1e3}`, &api.ListImportsInput{}, ": MaxResults: expected an integer"},
		{`{"MaxResults":"5"}`, &api.ListImportsInput{}, ": MaxResults: expected an integer"},
		{`{"MaxResults":99999999999999999999}`, &api.ListImportsInput{}, ": MaxResults: out of range"},
		{`{"Rows":[[{"a":"x","b":1}]]}`, &rows{}, ": Rows[0][0].b: expected a string"},
		{`{"Rows":[{}]}`, &rows{}, ": Rows[0]: expected an array"},
		{`{"On":"true"}`, &flags{}, ": On: expected a boolean"},
		{`{"Small":128}`, &flags{}, ": Small: out of range"},
		{`{"Count":-1}`, &flags{}, ": Count: expected a non-negative integer"},
		{`{"Count":"1"}`, &flags{}, ": Count: expected a non-negative integer"},
		{`{"Ratio":1e39}`, &flags{}, ": Ratio: out of range"},
		{`{"Ratio":"1"}`, &flags{}, ": Ratio: expected a number"},
		{`{"Blob":[1]}`, &flags{}, ": Blob: expected a base64 string"},
		{`{"Blob":"!!"}`, &flags{}, "illegal base64"},
		{`{"Pair":{}}`, &flags{}, ": Pair: expected an array"},
	}
	for _, tt := range tests {
		err := awsjson.Unmarshal([]byte(tt.body), tt.into)
		if !errors.Is(err, awsjson.ErrSerialization) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Unmarshal(%s) = %v, want ErrSerialization with %q", tt.body, err, tt.want)
		}
	}
}

func TestUnmarshalLenient(t *testing.T) {
	for _, body := range []string{"", "  \r\n\t", "{}", `{"ImportId":null,"Destinations":null}`} {
		var v api.StartImportInput
		if err := awsjson.Unmarshal([]byte(body), &v); err != nil || !reflect.DeepEqual(v, api.StartImportInput{}) {
			t.Errorf("Unmarshal(%q) = %+v, %v; want the zero value", body, v, err)
		}
	}

	var v api.StartImportInput
	body := `{"Unknown":{"deep":[1,{"x":null}]},"importId":"lower","ImportId":"exact","Other":1.5}`
	if err := awsjson.Unmarshal([]byte(body), &v); err != nil || v.ImportId != "exact" {
		t.Errorf("Unmarshal(%s) = %+v, %v", body, v, err)
	}

	v = api.StartImportInput{}
	if err := awsjson.Unmarshal([]byte(`{"importid":"lower"}`), &v); err != nil || v.ImportId != "" {
		t.Errorf("a member of another case was not ignored: %+v, %v", v, err)
	}

	var m map[string]any
	if err := awsjson.Unmarshal([]byte(`{"a":[1,"b"],"c":{"d":null}}`), &m); err != nil || len(m) != 2 {
		t.Errorf("Unmarshal into a map: %v, %v", m, err)
	}
}

func TestUnmarshalNonPointer(t *testing.T) {
	var v api.StartImportInput
	for _, into := range []any{v, (*api.StartImportInput)(nil), nil} {
		err := awsjson.Unmarshal([]byte(`{}`), into)
		if err == nil || errors.Is(err, awsjson.ErrSerialization) {
			t.Errorf("Unmarshal into %T = %v, want a usage error", into, err)
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	for _, seed := range []string{
		``,
		`{}`,
		`{"Destinations":["arn:aws:cloudtrail:us-east-1:123456789012:eventdatastore/eds"],"ImportSource":{"S3":{"S3LocationUri":"s3://b/p/","S3BucketRegion":"us-east-1","S3BucketAccessRoleArn":"arn:aws:iam::123456789012:role/r"}},"StartEventTime":1700000000.5,"EndEventTime":"2023-11-14T22:13:20Z"}`,
		`{"ImportId":"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"}`,
		`{"StartEventTime":1.7e9,"EndEventTime":-1.25}`,
		`{"StartEventTime":1700000000.1234567}`,
		`{"Destinations":[null,""],"ImportSource":null}`,
		`{"ImportSource":{"S3":{"S3LocationUri":5}}}`,
		`[1,2]`,
		`{"x":` + strings.Repeat("[", 50) + strings.Repeat("]", 50) + `}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v1 api.StartImportInput
		if err := awsjson.Unmarshal(data, &v1); err != nil {
			if !errors.Is(err, awsjson.ErrSerialization) {
				t.Fatalf("Unmarshal(%q) = %v, not ErrSerialization", data, err)
			}
			return
		}
		enc, err := awsjson.Marshal(&v1)
		if err != nil {
			t.Fatalf("Marshal(%+v): %v", v1, err)
		}
		var v2 api.StartImportInput
		if err := awsjson.Unmarshal(enc, &v2); err != nil {
			t.Fatalf("Unmarshal(%s) of Marshal output: %v", enc, err)
		}
		if want := toMillis(v1); !reflect.DeepEqual(v2, want) {
			t.Fatalf("decoding %s gave %+v, want %+v", enc, v2, want)
		}
		if again, err := awsjson.Marshal(&v2); err != nil || string(again) != string(enc) {
			t.Fatalf("Marshal again = %s, %v; want %s", again, err, enc)
		}
	})
}

// toMillis returns v as a round trip through Marshal gives it back: times in
// UTC to the millisecond, and no empty Destinations.
func toMillis(v api.StartImportInput) api.StartImportInput {
	ms := func(t *time.Time) *time.Time {
		if t == nil {
			return nil
		}
		m := time.UnixMilli(t.UnixMilli()).UTC()
		return &m
	}
	v.StartEventTime, v.EndEventTime = ms(v.StartEventTime), ms(v.EndEventTime)
	if len(v.Destinations) == 0 {
		v.Destinations = nil
	}
	return v
}
