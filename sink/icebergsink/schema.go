package icebergsink

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/ctimport/ctimport/sink"
)

// The Arrow types of Lake's typed columns; the table's Iceberg schema is
// derived from them. Members are named as CloudTrail spells them.
var (
	text        = arrow.BinaryTypes.String
	lakeMap     = arrow.MapOf(text, text)
	lakeTime    = &arrow.TimestampType{Unit: arrow.Microsecond}
	lakeIssuer  = structOf("type", "principalId", "arn", "accountId", "userName")
	lakeSession = arrow.StructOf(
		arrow.Field{Name: "attributes", Type: arrow.StructOf(
			arrow.Field{Name: "creationDate", Type: lakeTime, Nullable: true},
			arrow.Field{Name: "mfaAuthenticated", Type: text, Nullable: true}), Nullable: true},
		arrow.Field{Name: "sessionIssuer", Type: lakeIssuer, Nullable: true},
		arrow.Field{Name: "webIdFederationData", Type: arrow.StructOf(
			arrow.Field{Name: "federatedProvider", Type: text, Nullable: true},
			arrow.Field{Name: "attributes", Type: lakeMap, Nullable: true}), Nullable: true},
		arrow.Field{Name: "sourceIdentity", Type: text, Nullable: true},
		arrow.Field{Name: "ec2RoleDelivery", Type: text, Nullable: true},
		arrow.Field{Name: "ec2IssuedInVPC", Type: text, Nullable: true},
	)
	lakeUserIdentity = arrow.StructOf(append(fieldsOf("type", "principalId", "arn", "accountId", "accessKeyId", "userName"),
		arrow.Field{Name: "sessionContext", Type: lakeSession, Nullable: true},
		arrow.Field{Name: "onBehalfOf", Type: structOf("userId", "identityStoreArn"), Nullable: true},
		arrow.Field{Name: "inScopeOf", Type: structOf("sourceArn", "sourceAccount", "issuerType", "credentialsIssuedTo"), Nullable: true},
		arrow.Field{Name: "invokedBy", Type: text, Nullable: true},
		arrow.Field{Name: "identityProvider", Type: text, Nullable: true},
	)...)
	lakeResources  = arrow.ListOf(structOf("accountId", "type", "ARN", "ARNPrefix"))
	lakeTLSDetails = structOf("tlsVersion", "cipherSuite", "clientProvidedHostHeader")
)

func fieldsOf(names ...string) []arrow.Field {
	fields := make([]arrow.Field, len(names))
	for i, n := range names {
		fields[i] = arrow.Field{Name: n, Type: text, Nullable: true}
	}
	return fields
}

func structOf(names ...string) *arrow.StructType { return arrow.StructOf(fieldsOf(names...)...) }

// A lakeColumn is one column of Lake's schema and how an event fills it.
type lakeColumn struct {
	name string
	typ  arrow.DataType
	// col is the event column it is taken from; extra, when not empty,
	// names instead the member of ExtraFields it is taken from.
	col   sink.Column
	extra string
}

// lakeColumns are Lake's columns, in the order of its schema, as the
// DuckDB view of sink/duckdbsink has them; eventJson, eventJsonChecksum
// and sourceObjectKey follow them.
var lakeColumns = []lakeColumn{
	{name: "eventVersion", typ: text, col: sink.EventVersion},
	{name: "userIdentity", typ: lakeUserIdentity, col: sink.UserIdentity},
	{name: "eventTime", typ: lakeTime, col: sink.EventTime},
	{name: "eventSource", typ: text, col: sink.EventSource},
	{name: "eventName", typ: text, col: sink.EventName},
	{name: "awsRegion", typ: text, col: sink.AWSRegion},
	{name: "sourceIPAddress", typ: text, col: sink.SourceIPAddress},
	{name: "userAgent", typ: text, col: sink.UserAgent},
	{name: "errorCode", typ: text, col: sink.ErrorCode},
	{name: "errorMessage", typ: text, col: sink.ErrorMessage},
	{name: "requestParameters", typ: lakeMap, col: sink.RequestParameters},
	{name: "responseElements", typ: lakeMap, col: sink.ResponseElements},
	{name: "additionalEventData", typ: lakeMap, col: sink.AdditionalEventData},
	{name: "requestID", typ: text, col: sink.RequestID},
	{name: "eventID", typ: text, col: sink.EventID},
	{name: "readOnly", typ: arrow.FixedWidthTypes.Boolean, col: sink.ReadOnly},
	{name: "resources", typ: lakeResources, col: sink.Resources},
	{name: "eventType", typ: text, col: sink.EventType},
	{name: "apiVersion", typ: text, col: sink.APIVersion},
	{name: "managementEvent", typ: arrow.FixedWidthTypes.Boolean, col: sink.ManagementEvent},
	{name: "recipientAccountId", typ: text, col: sink.RecipientAccountID},
	{name: "sharedEventID", typ: text, col: sink.SharedEventID},
	{name: "annotation", typ: text, extra: "annotation"},
	{name: "vpcEndpointId", typ: text, col: sink.VPCEndpointID},
	{name: "vpcEndpointAccountId", typ: text, extra: "vpcEndpointAccountId"},
	{name: "serviceEventDetails", typ: lakeMap, col: sink.ServiceEventDetails},
	{name: "addendum", typ: lakeMap, extra: "addendum"},
	{name: "edgeDeviceDetails", typ: lakeMap, extra: "edgeDeviceDetails"},
	{name: "insightDetails", typ: lakeMap, col: sink.InsightDetails},
	{name: "eventCategory", typ: text, col: sink.EventCategory},
	{name: "tlsDetails", typ: lakeTLSDetails, col: sink.TLSDetails},
	{name: "sessionCredentialFromConsole", typ: text, col: sink.SessionCredentialFromConsole},
}

// The columns after Lake's.
const (
	eventJSONColumn     = "eventJson"
	eventChecksumColumn = "eventJsonChecksum"
)

// lakeArrowSchema is the Arrow schema of Lake's columns, from which the
// table's Iceberg schema is made.
func lakeArrowSchema() *arrow.Schema {
	fields := make([]arrow.Field, 0, len(lakeColumns)+3)
	for _, c := range lakeColumns {
		fields = append(fields, arrow.Field{Name: c.name, Type: c.typ, Nullable: true})
	}
	fields = append(fields,
		arrow.Field{Name: eventJSONColumn, Type: text, Nullable: true},
		arrow.Field{Name: eventChecksumColumn, Type: text, Nullable: true},
		arrow.Field{Name: sink.SourceKeyColumn, Type: text, Nullable: true})
	return arrow.NewSchema(fields, nil)
}

// row is one event with the key of the object it was read from.
type row struct {
	key string
	ev  *sink.Event
}

// buildRecord returns the rows as a record of schema, the Arrow schema
// of the table, whose fields are Lake's columns by name.
func buildRecord(schema *arrow.Schema, rows []row) (arrow.RecordBatch, error) {
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	byName := map[string]int{}
	for i, f := range schema.Fields() {
		byName[f.Name] = i
	}
	for _, r := range rows {
		extra, err := decodeJSON(r.ev, sink.ExtraFields)
		if err != nil {
			return nil, err
		}
		extras, _ := extra.(map[string]any)
		for _, c := range lakeColumns {
			i, ok := byName[c.name]
			if !ok {
				return nil, fmt.Errorf("icebergsink: the table has no column %s", c.name)
			}
			var v any
			switch {
			case c.extra != "":
				v = extras[c.extra]
			case c.col == sink.EventTime:
				if !r.ev.Null.Has(c.col) {
					v = r.ev.Time
				}
			case c.col.Kind() == sink.Bool:
				if !r.ev.Null.Has(c.col) {
					v = r.ev.True.Has(c.col)
				}
			case c.col.Kind() == sink.JSON:
				if v, err = decodeJSON(r.ev, c.col); err != nil {
					return nil, err
				}
			default:
				if !r.ev.Null.Has(c.col) {
					v = r.ev.Values[c.col]
				}
			}
			if err := appendValue(b.Field(i), schema.Field(i).Type, v); err != nil {
				return nil, fmt.Errorf("icebergsink: event %s: %s: %w", r.ev.ID(), c.name, err)
			}
		}
		js := eventJSON(r.ev, extras)
		sum := sha256.Sum256([]byte(js))
		for name, v := range map[string]string{
			eventJSONColumn:      js,
			eventChecksumColumn:  base64.StdEncoding.EncodeToString(sum[:]),
			sink.SourceKeyColumn: r.key,
		} {
			i, ok := byName[name]
			if !ok {
				return nil, fmt.Errorf("icebergsink: the table has no column %s", name)
			}
			b.Field(i).(*array.StringBuilder).Append(v)
		}
	}
	return b.NewRecordBatch(), nil
}

// decodeJSON returns the value of the JSON column c of ev, numbers kept as
// their text; nil when the column is NULL.
func decodeJSON(ev *sink.Event, c sink.Column) (any, error) {
	if ev.Null.Has(c) {
		return nil, nil
	}
	d := json.NewDecoder(strings.NewReader(ev.Values[c]))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("icebergsink: event %s: %s: %w", ev.ID(), c.Name(), err)
	}
	return v, nil
}

// appendValue appends v, a decoded JSON value (or a time or a bool), to b,
// a builder of typ,
// as Lake types it: an object fills a struct by member names and a map
// with every member; a string column holds a string as it is and any
// other value as its JSON text; a value that does not fit is NULL.
func appendValue(b array.Builder, typ arrow.DataType, v any) error {
	if v == nil {
		b.AppendNull()
		return nil
	}
	switch b := b.(type) {
	case *array.StringBuilder:
		if s, ok := v.(string); ok {
			b.Append(s)
			return nil
		}
		data, err := json.Marshal(v)
		if err != nil {
			return err
		}
		b.Append(string(data))
	case *array.BooleanBuilder:
		x, ok := v.(bool)
		if !ok {
			b.AppendNull()
			return nil
		}
		b.Append(x)
	case *array.TimestampBuilder:
		t, ok := v.(time.Time)
		if s, isText := v.(string); isText {
			var err error
			t, err = time.Parse(time.RFC3339Nano, s)
			ok = err == nil
		}
		if !ok {
			b.AppendNull()
			return nil
		}
		b.Append(arrow.Timestamp(t.UTC().UnixMicro()))
	case *array.StructBuilder:
		m, ok := v.(map[string]any)
		if !ok {
			b.AppendNull()
			return nil
		}
		b.Append(true)
		// typ, not b.Type(), which makes a new type at each call.
		for i, f := range typ.(*arrow.StructType).Fields() {
			if err := appendValue(b.FieldBuilder(i), f.Type, m[f.Name]); err != nil {
				return err
			}
		}
	case *array.MapBuilder:
		m, ok := v.(map[string]any)
		if !ok {
			b.AppendNull()
			return nil
		}
		b.Append(true)
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			b.KeyBuilder().(*array.StringBuilder).Append(k)
			if err := appendValue(b.ItemBuilder(), typ.(*arrow.MapType).ItemType(), m[k]); err != nil {
				return err
			}
		}
	case *array.ListBuilder:
		elems, ok := v.([]any)
		if !ok {
			b.AppendNull()
			return nil
		}
		b.Append(true)
		for _, e := range elems {
			if err := appendValue(b.ValueBuilder(), typ.(*arrow.ListType).Elem(), e); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("column type %s not supported", b.Type())
	}
	return nil
}

// eventJSON rebuilds the record's JSON text from the event's columns and
// ExtraFields, whose members are extras, as the DuckDB view of
// sink/duckdbsink does.
func eventJSON(ev *sink.Event, extras map[string]any) string {
	var b bytes.Buffer
	b.WriteByte('{')
	sep := func() {
		if b.Len() > 1 {
			b.WriteByte(',')
		}
	}
	extra := ""
	if !ev.Null.Has(sink.ExtraFields) {
		extra = strings.TrimSpace(ev.Values[sink.ExtraFields])
		extra = strings.TrimSpace(extra[1 : len(extra)-1])
	}
	for c := range sink.ExtraFields {
		if c == sink.EventTime {
			if _, ok := extras["eventTime"]; !ok {
				sep()
				b.WriteString(`"eventTime":"` + ev.Time.UTC().Format("2006-01-02T15:04:05Z") + `"`)
			}
			continue
		}
		if ev.Null.Has(c) {
			continue
		}
		sep()
		name, _ := json.Marshal(c.Name())
		b.Write(name)
		b.WriteByte(':')
		switch c.Kind() {
		case sink.Text:
			v, _ := json.Marshal(ev.Values[c])
			b.Write(v)
		case sink.Bool:
			if ev.True.Has(c) {
				b.WriteString("true")
			} else {
				b.WriteString("false")
			}
		default:
			b.WriteString(ev.Values[c])
		}
	}
	if extra != "" {
		sep()
		b.WriteString(extra)
	}
	b.WriteByte('}')
	return b.String()
}

// WriteEmpty writes to w a Parquet file with the table's columns and no
// rows, which reads as the table would when empty.
func WriteEmpty(w io.Writer) error {
	fw, err := pqarrow.NewFileWriter(lakeArrowSchema(), w, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
	if err != nil {
		return fmt.Errorf("icebergsink: %w", err)
	}
	if err := fw.Close(); err != nil {
		return fmt.Errorf("icebergsink: %w", err)
	}
	return nil
}
