package logfile

import (
	"math/bits"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/ctimport/ctimport/sink"
)

// span is where the value of a column lies in its record.
type span struct {
	vs, ve int  // the raw value
	lo, hi int  // the text of a string value, once unescaped
	kind   byte // the first byte of the value
}

// member is a record member going to ExtraFields.
type member struct {
	ks, ke int // the raw key, quotes included
	vs, ve int // the raw value
}

var kinds = func() (k [sink.NumColumns]sink.Kind) {
	for c := range sink.NumColumns {
		k[c] = c.Kind()
	}
	return k
}()

const allColumns = sink.ColumnSet(1)<<sink.NumColumns - 1

// lookup returns the column named key, or sink.ExtraFields when no column
// has that name.
func lookup(key []byte) sink.Column {
	switch string(key) {
	case "eventVersion":
		return sink.EventVersion
	case "eventTime":
		return sink.EventTime
	case "eventSource":
		return sink.EventSource
	case "eventName":
		return sink.EventName
	case "awsRegion":
		return sink.AWSRegion
	case "sourceIPAddress":
		return sink.SourceIPAddress
	case "userAgent":
		return sink.UserAgent
	case "errorCode":
		return sink.ErrorCode
	case "errorMessage":
		return sink.ErrorMessage
	case "requestID":
		return sink.RequestID
	case "eventID":
		return sink.EventID
	case "eventType":
		return sink.EventType
	case "eventCategory":
		return sink.EventCategory
	case "readOnly":
		return sink.ReadOnly
	case "managementEvent":
		return sink.ManagementEvent
	case "recipientAccountId":
		return sink.RecipientAccountID
	case "sharedEventID":
		return sink.SharedEventID
	case "vpcEndpointId":
		return sink.VPCEndpointID
	case "apiVersion":
		return sink.APIVersion
	case "sessionCredentialFromConsole":
		return sink.SessionCredentialFromConsole
	case "userIdentity":
		return sink.UserIdentity
	case "requestParameters":
		return sink.RequestParameters
	case "responseElements":
		return sink.ResponseElements
	case "additionalEventData":
		return sink.AdditionalEventData
	case "resources":
		return sink.Resources
	case "tlsDetails":
		return sink.TLSDetails
	case "serviceEventDetails":
		return sink.ServiceEventDetails
	case "insightDetails":
		return sink.InsightDetails
	}
	return sink.ExtraFields
}

// scanRecord scans the record object whose '{' is b[s], validating it and
// noting where each member goes, and returns the index just past it.
func (d *Decoder) scanRecord(b []byte, s int) (int, error) {
	d.seen, d.esc, d.bad = 0, 0, false
	d.extra = d.extra[:0]
	i := skipSpace(b, s+1)
	if i >= len(b) {
		return 0, errNeedMore
	}
	if b[i] == '}' {
		return i + 1, nil
	}
	for {
		if b[i] != '"' {
			return 0, d.syntaxAt(b, i, "looking for beginning of object key string")
		}
		ks := i
		ke, kesc, err := d.scanString(b, i)
		if err != nil {
			return 0, err
		}
		if i = skipSpace(b, ke); i >= len(b) {
			return 0, errNeedMore
		}
		if b[i] != ':' {
			return 0, d.syntaxAt(b, i, "after object key")
		}
		if i = skipSpace(b, i+1); i >= len(b) {
			return 0, errNeedMore
		}
		vs := i
		vesc := false
		switch c := b[i]; {
		case c == '"':
			i, vesc, err = d.scanString(b, i)
		case c == '{' || c == '[':
			i, err = d.scanNested(b, i, recordDepth)
		case c == 't' || c == 'f' || c == 'n':
			i, err = d.scanLiteral(b, i)
		case c == '-' || isDigit(c):
			i, err = d.scanNumber(b, i)
		default:
			return 0, d.syntaxAt(b, i, "looking for beginning of value")
		}
		if err != nil {
			return 0, err
		}
		d.assign(b, s, ks, ke, kesc, vs, i, vesc)
		if i = skipSpace(b, i); i >= len(b) {
			return 0, errNeedMore
		}
		switch b[i] {
		case ',':
			if i = skipSpace(b, i+1); i >= len(b) {
				return 0, errNeedMore
			}
		case '}':
			return i + 1, nil
		default:
			return 0, d.syntaxAt(b, i, "after object key:value pair")
		}
	}
}

// assign notes where the member with key b[ks:ke] and value b[vs:ve] of
// the record starting at b[s] goes: to its column, to ExtraFields, or to
// both when its value has the wrong type for the column.
func (d *Decoder) assign(b []byte, s, ks, ke int, kesc bool, vs, ve int, vesc bool) {
	key := b[ks+1 : ke-1]
	if kesc {
		d.key = appendUnescaped(d.key[:0], key)
		key = d.key
	}
	if col := lookup(key); col != sink.ExtraFields && !d.seen.Has(col) {
		d.seen = d.seen.With(col)
		sp := &d.cols[col]
		sp.vs, sp.ve, sp.lo, sp.hi, sp.kind = vs-s, ve-s, vs-s+1, ve-s-1, b[vs]
		if k := kinds[col]; vesc && (k == sink.Text || k == sink.Timestamp) {
			d.esc = d.esc.With(col)
		}
		if fits(kinds[col], sp.kind) && (col != sink.EventTime || canonicalTime(b[vs:ve])) {
			return
		}
	}
	d.extra = append(d.extra, member{ks - s, ke - s, vs - s, ve - s})
}

// fits reports whether a value that starts with byte v belongs in a column
// of kind k. One that does not, a null of a Text or Bool column included,
// goes to ExtraFields, and the column is null: so the record can be
// rebuilt member for member from its columns.
func fits(k sink.Kind, v byte) bool {
	switch k {
	case sink.Text:
		return v == '"'
	case sink.Bool:
		return v == 't' || v == 'f'
	}
	// A JSON column takes any value, null as its text; a Timestamp that
	// is not a string fails the record.
	return true
}

// canonicalTime reports whether the raw JSON string v is a time as
// CloudTrail writes it, 2006-01-02T15:04:05Z, which the eventTime column
// gives back exactly. Another eventTime also goes to ExtraFields, so that
// its text is kept.
func canonicalTime(v []byte) bool {
	const layout = `"dddd-dd-ddTdd:dd:ddZ"`
	if len(v) != len(layout) {
		return false
	}
	for i := range len(layout) {
		if c := layout[i]; c == 'd' && !isDigit(v[i]) || c != 'd' && v[i] != c {
			return false
		}
	}
	return true
}

// build fills ev from the record rec, which starts at buf[start] and which
// scanRecord has scanned.
func (d *Decoder) build(rec []byte, start int, ev *sink.Event) error {
	for _, c := range [...]sink.Column{sink.EventTime, sink.EventID} {
		if !d.seen.Has(c) {
			return d.errAt(ErrRecord, start, c.Name()+" is missing")
		}
		if k := d.cols[c].kind; k != '"' {
			return d.errAt(ErrRecord, start, c.Name()+" is "+jsonType(k)+", not a string")
		}
	}

	var str string
	xs := -1
	if len(d.extra) == 0 && d.esc == 0 {
		str = string(rec)
	} else {
		out := append(d.out[:0], rec...)
		for set := d.esc; set != 0; set &= set - 1 {
			sp := &d.cols[bits.TrailingZeros64(uint64(set))]
			sp.lo = len(out)
			out = appendUnescaped(out, rec[sp.vs+1:sp.ve-1])
			sp.hi = len(out)
		}
		if len(d.extra) > 0 {
			xs = len(out)
			out = append(out, '{')
			for j, m := range d.extra {
				if j > 0 {
					out = append(out, ',')
				}
				out = append(out, rec[m.ks:m.ke]...)
				out = append(out, ':')
				out = append(out, rec[m.vs:m.ve]...)
			}
			out = append(out, '}')
		}
		d.out = out
		str = string(out)
	}

	*ev = sink.Event{}
	null, truth := allColumns&^(1<<sink.EventTime), sink.ColumnSet(0)
	for set := d.seen &^ (1 << sink.EventTime); set != 0; set &= set - 1 {
		c := sink.Column(bits.TrailingZeros64(uint64(set)))
		sp := &d.cols[c]
		switch kinds[c] {
		case sink.Text:
			if sp.kind == '"' {
				ev.Values[c] = str[sp.lo:sp.hi]
				null &^= 1 << c
			}
		case sink.JSON:
			ev.Values[c] = str[sp.vs:sp.ve]
			null &^= 1 << c
		case sink.Bool:
			switch sp.kind {
			case 't':
				truth |= 1 << c
				null &^= 1 << c
			case 'f':
				null &^= 1 << c
			}
		}
	}
	if xs >= 0 {
		ev.Values[sink.ExtraFields] = str[xs:]
		null &^= 1 << sink.ExtraFields
	}
	when := str[d.cols[sink.EventTime].lo:d.cols[sink.EventTime].hi]
	t, ok := parseTime(when)
	if !ok {
		return d.errAt(ErrRecord, start, "eventTime "+quoteValue(when)+" is not an RFC 3339 time")
	}
	if ev.Values[sink.EventID] == "" {
		return d.errAt(ErrRecord, start, "eventID is empty")
	}
	ev.Time = t
	ev.Null, ev.True = null, truth
	return nil
}

// appendUnescaped appends the text of the JSON string body s, which is
// valid UTF-8 with valid escapes, to dst. A lone surrogate escape becomes
// U+FFFD, as in encoding/json.
func appendUnescaped(dst, s []byte) []byte {
	for i := 0; i < len(s); {
		if s[i] != '\\' {
			j := i + 1
			for j < len(s) && s[j] != '\\' {
				j++
			}
			dst = append(dst, s[i:j]...)
			i = j
			continue
		}
		c := s[i+1]
		i += 2
		switch c {
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			r := hex4(s[i:])
			i += 4
			if utf16.IsSurrogate(r) {
				if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
					if pair := utf16.DecodeRune(r, hex4(s[i+2:])); pair != utf8.RuneError {
						r = pair
						i += 6
						dst = utf8.AppendRune(dst, r)
						continue
					}
				}
				r = utf8.RuneError
			}
			dst = utf8.AppendRune(dst, r)
		default: // '"', '\\' and '/' stand for themselves
			dst = append(dst, c)
		}
	}
	return dst
}

// hex4 decodes the four hexadecimal digits starting s.
func hex4(s []byte) rune {
	var r rune
	for _, c := range s[:4] {
		switch {
		case c <= '9':
			c -= '0'
		case c <= 'F':
			c -= 'A' - 10
		default:
			c -= 'a' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// sanitize appends b to dst with each byte that does not begin a valid
// UTF-8 sequence replaced by U+FFFD, as encoding/json does in strings.
func sanitize(dst, b []byte) []byte {
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			dst = append(dst, b[i])
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			dst = utf8.AppendRune(dst, utf8.RuneError)
		} else {
			dst = append(dst, b[i:i+size]...)
		}
		i += size
	}
	return dst
}

// parseTime parses an RFC 3339 time and returns it in UTC. The form
// CloudTrail writes takes a fast path; any other goes to time.Parse.
func parseTime(s string) (time.Time, bool) {
	if len(s) == 20 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' && s[19] == 'Z' {
		year, ok1 := digits(s[0:4])
		month, ok2 := digits(s[5:7])
		day, ok3 := digits(s[8:10])
		hour, ok4 := digits(s[11:13])
		minute, ok5 := digits(s[14:16])
		sec, ok6 := digits(s[17:19])
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 &&
			month >= 1 && month <= 12 && day >= 1 && day <= daysIn(month, year) &&
			hour < 24 && minute < 60 && sec < 60 {
			return time.Date(year, time.Month(month), day, hour, minute, sec, 0, time.UTC), true
		}
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, false
	}
	return t.UTC(), true
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
