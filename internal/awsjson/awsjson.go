// Package awsjson encodes and decodes the bodies of AWS JSON 1.1 requests and
// responses. It works as encoding/json does, except that timestamps
// (time.Time and *time.Time values) travel as epoch seconds, a JSON number
// such as 1700000000.123, and that decoding follows the AWS rules: members
// are matched by their exact names, unknown members are ignored, and a body
// that does not fit the Go type is refused with ErrSerialization.
package awsjson

import (
	"bytes"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrSerialization is wrapped by every error Unmarshal returns for a body
// that is not valid JSON, not one JSON object, or does not fit the type it is
// decoded into. The text after its own names the member path and the fault.
var ErrSerialization = errors.New("awsjson: serialization error")

// Marshal returns the JSON encoding of v as encoding/json would, except that
// every time.Time and *time.Time reachable through struct fields, slices,
// arrays, maps and pointers is a number of seconds since the epoch with
// millisecond precision: 1700000000.123, or 1700000000 when there are no
// milliseconds. Nil pointers and omitempty follow the json tags. Times held
// in interface values are left as encoding/json writes them.
func Marshal(v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("awsjson: %w", err)
	}
	if v == nil {
		return data, nil
	}
	return convert(data, reflect.TypeOf(v), "", false)
}

// Unmarshal decodes data, which must be one JSON object, into v (a non-nil
// pointer) as encoding/json would, except that time.Time and *time.Time take
// a JSON number of epoch seconds, integer or fractional (kept to the
// microsecond), or an RFC 3339 string; decoded times are in UTC. Members are
// matched by their exact names and unknown members are ignored. An empty body
// decodes as {}. A body that is not valid JSON, not one object, or has a
// value of the wrong type or out of range for its field returns an error
// wrapping ErrSerialization that names the member path, for example
// "ImportSource.S3.S3LocationUri: expected a string".
func Unmarshal(data []byte, v any) error {
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Pointer || rv.IsNil() {
		return fmt.Errorf("awsjson: unmarshal into non-pointer or nil %T", v)
	}
	data = bytes.Trim(data, " \t\r\n")
	if len(data) == 0 {
		data = []byte("{}")
	}
	if !json.Valid(data) {
		return fmt.Errorf("%w: body is not valid JSON", ErrSerialization)
	}
	if data[0] != '{' {
		return fmt.Errorf("%w: body is not a JSON object", ErrSerialization)
	}
	out, err := convert(data, rv.Type().Elem(), "", true)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(out, v); err != nil {
		return fmt.Errorf("%w: %v", ErrSerialization, err)
	}
	return nil
}

var (
	timeType            = reflect.TypeFor[time.Time]()
	marshalerType       = reflect.TypeFor[json.Marshaler]()
	textMarshalerType   = reflect.TypeFor[encoding.TextMarshaler]()
	unmarshalerType     = reflect.TypeFor[json.Unmarshaler]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

// convert rewrites the JSON value raw of Go type t. Encoding, it turns the
// RFC 3339 strings encoding/json wrote for times into epoch numbers.
// Decoding, it checks raw against t, drops unknown members, and turns epoch
// numbers and RFC 3339 strings at time positions into the strings
// encoding/json reads.
func convert(raw []byte, t reflect.Type, path string, decode bool) ([]byte, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if raw[0] == 'n' {
		return raw, nil
	}
	if t == timeType {
		if decode {
			return decodeTime(raw, path)
		}
		return encodeTime(raw, path)
	}
	if custom(t, decode) || !decode && !hasTime(t) {
		return raw, nil
	}
	switch t.Kind() {
	case reflect.Struct:
		fs := fields(t)
		return convertObject(raw, path, decode, func(key string) (reflect.Type, bool) {
			ft, ok := fs[key]
			return ft, ok
		})
	case reflect.Map:
		return convertObject(raw, path, decode, func(string) (reflect.Type, bool) {
			return t.Elem(), true
		})
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 {
			return raw, expect(raw, '"', path, "expected a base64 string")
		}
		return convertArray(raw, t.Elem(), path, decode)
	case reflect.String:
		return raw, expect(raw, '"', path, "expected a string")
	case reflect.Bool:
		if raw[0] != 't' && raw[0] != 'f' {
			return nil, fault(path, "expected a boolean")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if !isNumber(raw) {
			return nil, fault(path, "expected an integer")
		}
		_, err := strconv.ParseInt(string(raw), 10, t.Bits())
		return raw, numberError(err, path, "expected an integer")
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		if !isNumber(raw) {
			return nil, fault(path, "expected a non-negative integer")
		}
		_, err := strconv.ParseUint(string(raw), 10, t.Bits())
		return raw, numberError(err, path, "expected a non-negative integer")
	case reflect.Float32, reflect.Float64:
		if !isNumber(raw) {
			return nil, fault(path, "expected a number")
		}
		_, err := strconv.ParseFloat(string(raw), t.Bits())
		return raw, numberError(err, path, "expected a number")
	}
	return raw, nil
}

// custom reports whether values of t encode (or decode) themselves, so that
// their JSON is theirs to judge.
func custom(t reflect.Type, decode bool) bool {
	p := reflect.PointerTo(t)
	if decode {
		return p.Implements(unmarshalerType) || p.Implements(textUnmarshalerType)
	}
	return p.Implements(marshalerType) || p.Implements(textMarshalerType)
}

func convertObject(raw []byte, path string, decode bool, member func(string) (reflect.Type, bool)) ([]byte, error) {
	if raw[0] != '{' {
		return nil, fault(path, "expected an object")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, fault(path, err.Error())
	}
	var buf bytes.Buffer
	buf.WriteByte('{')
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fault(path, err.Error())
		}
		key := tok.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, fault(path, err.Error())
		}
		t, ok := member(key)
		if !ok && decode {
			continue
		}
		if ok {
			if val, err = convert(val, t, join(path, key), decode); err != nil {
				return nil, err
			}
		}
		if buf.Len() > 1 {
			buf.WriteByte(',')
		}
		k, _ := json.Marshal(key)
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(val)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func convertArray(raw []byte, elem reflect.Type, path string, decode bool) ([]byte, error) {
	if raw[0] != '[' {
		return nil, fault(path, "expected an array")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil {
		return nil, fault(path, err.Error())
	}
	var buf bytes.Buffer
	buf.WriteByte('[')
	for i := 0; dec.More(); i++ {
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, fault(path, err.Error())
		}
		out, err := convert(val, elem, fmt.Sprintf("%s[%d]", path, i), decode)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(out)
	}
	buf.WriteByte(']')
	return buf.Bytes(), nil
}

func encodeTime(raw []byte, path string) ([]byte, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, fault(path, "expected a timestamp")
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return nil, fault(path, err.Error())
	}
	return []byte(formatEpoch(t)), nil
}

// formatEpoch writes t as seconds since the epoch, to the millisecond, with
// no trailing zeros in the fraction.
func formatEpoch(t time.Time) string {
	ms := t.UnixMilli()
	sign := ""
	if ms < 0 {
		sign, ms = "-", -ms
	}
	s := sign + strconv.FormatInt(ms/1000, 10)
	if frac := ms % 1000; frac != 0 {
		s += strings.TrimRight(fmt.Sprintf(".%03d", frac), "0")
	}
	return s
}

func decodeTime(raw []byte, path string) ([]byte, error) {
	var t time.Time
	switch {
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fault(path, "expected a timestamp")
		}
		var err error
		if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return nil, fault(path, "expected epoch seconds or an RFC 3339 timestamp")
		}
	case isNumber(raw):
		var ok bool
		if t, ok = parseEpoch(string(raw)); !ok {
			return nil, fault(path, "timestamp out of range")
		}
	default:
		return nil, fault(path, "expected a timestamp")
	}
	t = t.UTC()
	if t.Year() < 0 || t.Year() > 9999 {
		return nil, fault(path, "timestamp out of range")
	}
	return json.Marshal(t.Format(time.RFC3339Nano))
}

// parseEpoch reads a JSON number of seconds since the epoch, rounded to the
// microsecond; exactly so when the number has no exponent.
func parseEpoch(num string) (time.Time, bool) {
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.Abs(f) > 1e12 {
		return time.Time{}, false
	}
	if strings.ContainsAny(num, "eE") {
		return time.UnixMicro(int64(math.Round(f * 1e6))), true
	}
	digits, neg := strings.CutPrefix(num, "-")
	whole, frac, _ := strings.Cut(digits, ".")
	sec, err := strconv.ParseInt(whole, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	micro, _ := strconv.ParseInt((frac + "000000")[:6], 10, 64)
	if len(frac) > 6 && frac[6] >= '5' {
		micro++
	}
	us := sec*1e6 + micro
	if neg {
		us = -us
	}
	return time.UnixMicro(us), true
}

func isNumber(raw []byte) bool {
	return raw[0] == '-' || raw[0] >= '0' && raw[0] <= '9'
}

func expect(raw []byte, first byte, path, msg string) error {
	if raw[0] != first {
		return fault(path, msg)
	}
	return nil
}

func numberError(err error, path, msg string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, strconv.ErrRange):
		return fault(path, "out of range")
	}
	return fault(path, msg)
}

func fault(path, msg string) error {
	if path == "" {
		return fmt.Errorf("%w: %s", ErrSerialization, msg)
	}
	return fmt.Errorf("%w: %s: %s", ErrSerialization, path, msg)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

var fieldCache, timeCache sync.Map

// fields maps the JSON member names of struct type t to their field types,
// as encoding/json names them, with the fields of embedded structs promoted
// unless a shallower field has the same name.
func fields(t reflect.Type) map[string]reflect.Type {
	if fs, ok := fieldCache.Load(t); ok {
		return fs.(map[string]reflect.Type)
	}
	fs := map[string]reflect.Type{}
	depth := map[string]int{}
	var add func(t reflect.Type, d int, seen map[reflect.Type]bool)
	add = func(t reflect.Type, d int, seen map[reflect.Type]bool) {
		if seen[t] {
			return
		}
		seen[t] = true
		for i := range t.NumField() {
			f := t.Field(i)
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if !f.IsExported() && !(f.Anonymous && ft.Kind() == reflect.Struct) {
				continue
			}
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, _, _ := strings.Cut(tag, ",")
			if name == "" && f.Anonymous && ft.Kind() == reflect.Struct {
				add(ft, d+1, seen)
				continue
			}
			if !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			if old, ok := depth[name]; !ok || d < old {
				fs[name], depth[name] = f.Type, d
			}
		}
	}
	add(t, 0, map[reflect.Type]bool{})
	fieldCache.Store(t, fs)
	return fs
}

// hasTime reports whether a value of type t can hold a time.Time that
// encoding/json writes as part of the value's own structure.
func hasTime(t reflect.Type) bool {
	if b, ok := timeCache.Load(t); ok {
		return b.(bool)
	}
	b := findTime(t, map[reflect.Type]bool{})
	timeCache.Store(t, b)
	return b
}

func findTime(t reflect.Type, seen map[reflect.Type]bool) bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == timeType {
		return true
	}
	if seen[t] || custom(t, false) {
		return false
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Struct:
		for _, ft := range fields(t) {
			if findTime(ft, seen) {
				return true
			}
		}
	case reflect.Slice, reflect.Array, reflect.Map:
		return findTime(t.Elem(), seen)
	}
	return false
}
