package icebergsink

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/ctimport/ctimport/pipeline/logfile"
	"github.com/ctimport/ctimport/sink"
)

func decodeRecord(t *testing.T, record string) sink.Event {
	t.Helper()
	dst := make([]sink.Event, 1)
	n, err := logfile.NewDecoder(strings.NewReader(`{"Records":[`+record+`]}`), logfile.Options{}).Next(dst)
	if n != 1 {
		t.Fatalf("decode %s: %v", record, err)
	}
	return dst[0]
}

func TestRows(t *testing.T) {
	tests := []struct {
		name   string
		record string
		// want holds columns of the row as JSON text, NULL as null.
		want map[string]string
	}{{
		name:   "plain",
		record: `{"eventVersion":"1.08","eventTime":"2024-03-01T10:00:00Z","eventID":"a","readOnly":true,"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::1:user/x","sessionContext":{"attributes":{"creationDate":"2024-03-01T09:00:00Z","mfaAuthenticated":"false"}}},"requestParameters":{"bucketName":"b","count":3,"nested":{"k":[1,2]}},"resources":[{"ARN":"arn:r","type":"AWS::S3::Bucket"}]}`,
		want: map[string]string{
			"eventTime":         `"2024-03-01T10:00:00"`,
			"readOnly":          `true`,
			"managementEvent":   `null`,
			"userIdentity":      `{"type":"IAMUser","arn":"arn:aws:iam::1:user/x","sessionContext":{"attributes":{"creationDate":"2024-03-01T09:00:00","mfaAuthenticated":"false"}}}`,
			"requestParameters": `[{"key":"bucketName","value":"b"},{"key":"count","value":"3"},{"key":"nested","value":"{\"k\":[1,2]}"}]`,
			"resources":         `[{"ARN":"arn:r","type":"AWS::S3::Bucket"}]`,
			"annotation":        `null`,
		},
	}, {
		name:   "members in extraFields",
		record: `{"eventTime":"2024-03-01T10:00:00.5Z","eventID":"b","annotation":"note","addendum":{"reason":"DELIVERY_DELAY"},"vpcEndpointAccountId":"2","readOnly":"yes","userIdentity":"odd"}`,
		want: map[string]string{
			"eventTime":            `"2024-03-01T10:00:00.5"`,
			"annotation":           `"note"`,
			"vpcEndpointAccountId": `"2"`,
			"addendum":             `[{"key":"reason","value":"DELIVERY_DELAY"}]`,
			"readOnly":             `null`,
			"userIdentity":         `null`,
		},
	}}
	schema := lakeArrowSchema()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := decodeRecord(t, tt.record)
			rec, err := buildRecord(schema, []row{{key: "k", ev: &ev}})
			if err != nil {
				t.Fatal(err)
			}
			defer rec.Release()
			for col, want := range tt.want {
				i := schema.FieldIndices(col)[0]
				got, err := json.Marshal(rec.Column(i).GetOneForMarshal(0))
				if err != nil {
					t.Fatal(err)
				}
				if !jsonEqual(t, string(got), want) {
					t.Errorf("%s = %s, want %s", col, got, want)
				}
			}
			js := rec.Column(schema.FieldIndices(eventJSONColumn)[0]).(*array.String).Value(0)
			if !jsonEqual(t, js, tt.record) {
				t.Errorf("eventJson = %s, want the record %s", js, tt.record)
			}
			if key := rec.Column(schema.FieldIndices(sink.SourceKeyColumn)[0]).(*array.String).Value(0); key != "k" {
				t.Errorf("sourceObjectKey = %q", key)
			}
		})
	}
}

// jsonEqual reports whether a and b are the same JSON value; members of
// objects that are NULL in a count as absent.
func jsonEqual(t *testing.T, a, b string) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal([]byte(a), &va); err != nil {
		t.Fatalf("%s: %v", a, err)
	}
	if err := json.Unmarshal([]byte(b), &vb); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return reflect.DeepEqual(dropNulls(va), dropNulls(vb))
}

func dropNulls(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if x == nil {
				delete(v, k)
			} else {
				v[k] = dropNulls(x)
			}
		}
	case []any:
		for i := range v {
			v[i] = dropNulls(v[i])
		}
	}
	return v
}
