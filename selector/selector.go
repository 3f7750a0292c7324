// Package selector compiles the advanced event selectors of an event data
// store into a Matcher that tells, event by event, whether an import keeps
// an event, as CloudTrail Lake selects the events an event data store
// stores.
//
// An event is kept when it matches any selector. A selector matches when
// all its field selectors hold. A field selector holds when every operator
// it gives holds: Equals, StartsWith and EndsWith when the field's value
// matches one of their values, NotEquals, NotStartsWith and NotEndsWith
// when it matches none. Matching is case-sensitive.
//
// A field an event lacks matches no value: the positive operators do not
// hold on it, the negative ones do. resources.type and resources.ARN have a
// value for each resource of the event: a positive operator holds when one
// of them matches, a negative one when none does.
//
// eventCategory is the record's eventCategory. A record without one (they
// were written before CloudTrail added the member) is a Management event,
// unless its managementEvent member is false, which makes it a Data event.
package selector

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/ctimport/ctimport/api"
	"github.com/ctimport/ctimport/sink"
)

// Limits of what Compile accepts. MaxSelectors is CloudTrail Lake's
// number of advanced event selectors of an event data store; MaxValues is
// its number of values of all the conditions of all the selectors of a
// trail, which ctimport keeps for event data stores too.
const (
	MaxSelectors = 5
	MaxValues    = 500
)

// Lengths the API model allows; longer or shorter is an
// InvalidParameterException, as a server's validation of a request says.
const (
	maxNameLen  = 1000
	maxFieldLen = 1000
	maxValueLen = 2048
)

// field is a member of a record that a field selector can test.
type field uint8

const (
	fieldEventCategory field = iota
	fieldEventSource
	fieldEventName
	fieldEventType
	fieldErrorCode
	fieldReadOnly
	fieldResourcesType
	fieldResourcesARN
	fieldSessionCredentialFromConsole
	fieldUserIdentityARN
	fieldVPCEndpointID
)

// fields names the fields Compile accepts, as CloudTrail names them, with
// the column each is read from.
var fields = []struct {
	name   string
	column sink.Column
}{
	fieldEventCategory:                {"eventCategory", sink.EventCategory},
	fieldEventSource:                  {"eventSource", sink.EventSource},
	fieldEventName:                    {"eventName", sink.EventName},
	fieldEventType:                    {"eventType", sink.EventType},
	fieldErrorCode:                    {"errorCode", sink.ErrorCode},
	fieldReadOnly:                     {"readOnly", sink.ReadOnly},
	fieldResourcesType:                {"resources.type", sink.Resources},
	fieldResourcesARN:                 {"resources.ARN", sink.Resources},
	fieldSessionCredentialFromConsole: {"sessionCredentialFromConsole", sink.SessionCredentialFromConsole},
	fieldUserIdentityARN:              {"userIdentity.arn", sink.UserIdentity},
	fieldVPCEndpointID:                {"vpcEndpointId", sink.VPCEndpointID},
}

// Fields returns the names of the fields a field selector may test.
func Fields() []string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	return names
}

// Categories of events, the values of eventCategory that ctimport can
// select: those of the records in a trail's log files.
var categories = []string{"Management", "Data", "NetworkActivity"}

// otherCategories are the values of eventCategory that CloudTrail Lake
// accepts for event data stores of other kinds of events, which a trail's
// log files do not hold.
var otherCategories = map[string]string{
	"Insight":           "Insights events",
	"ConfigurationItem": "Config configuration items",
	"ActivityAuditLog":  "events from outside AWS",
	"Evidence":          "Audit Manager evidence",
}

// op is one operator of a field selector.
type op uint8

const (
	opEquals op = iota
	opStartsWith
	opEndsWith
)

// test is one operator of a field selector with its values.
type test struct {
	op     op
	negate bool
	values []string
}

// condition is a compiled field selector: every test must hold.
type condition struct {
	field field
	tests []test
}

// Matcher tells whether the selectors it was compiled from select an
// event. A nil *Matcher selects every event. Its methods are safe for
// concurrent use.
type Matcher struct {
	selectors [][]condition
}

// Compile checks the selectors and compiles them into a Matcher; it
// returns nil, selecting every event, when there are none. A selector
// ctimport cannot evaluate (an unknown field, a field selector without an
// operator, an operator a field does not take, an event category that a
// trail's log files do not hold, too many selectors or values) is refused
// with an InvalidEventSelectorsException; a member of a length the API model
// does not allow, with an InvalidParameterException.
func Compile(sels []api.AdvancedEventSelector) (*Matcher, error) {
	if len(sels) == 0 {
		return nil, nil
	}
	if len(sels) > MaxSelectors {
		return nil, api.ErrInvalidEventSelectors.New("an event data store has at most %d advanced event selectors, not %d", MaxSelectors, len(sels))
	}
	m := &Matcher{}
	values := 0
	for i, sel := range sels {
		if utf8.RuneCountInString(sel.Name) > maxNameLen {
			return nil, api.ErrInvalidParameter.New("the Name of advanced event selector %d is longer than %d characters", i+1, maxNameLen)
		}
		if len(sel.FieldSelectors) == 0 {
			return nil, api.ErrInvalidParameter.New("advanced event selector %d has no FieldSelectors", i+1)
		}
		var conds []condition
		for _, fs := range sel.FieldSelectors {
			c, err := compileField(i+1, fs)
			if err != nil {
				return nil, err
			}
			for _, t := range c.tests {
				values += len(t.values)
			}
			conds = append(conds, c)
		}
		m.selectors = append(m.selectors, conds)
	}
	if values > MaxValues {
		return nil, api.ErrInvalidEventSelectors.New("the advanced event selectors have %d values in all; at most %d are allowed", values, MaxValues)
	}
	return m, nil
}

// compileField compiles field selector fs of selector number n.
func compileField(n int, fs api.AdvancedFieldSelector) (condition, error) {
	switch l := utf8.RuneCountInString(fs.Field); {
	case l == 0:
		return condition{}, api.ErrInvalidParameter.New("a field selector of advanced event selector %d has no Field", n)
	case l > maxFieldLen:
		return condition{}, api.ErrInvalidParameter.New("a Field of advanced event selector %d is longer than %d characters", n, maxFieldLen)
	}
	f, ok := lookupField(fs.Field)
	if !ok {
		return condition{}, api.ErrInvalidEventSelectors.New("advanced event selector %d: ctimport cannot select on field %q; the fields are %s",
			n, fs.Field, strings.Join(Fields(), ", "))
	}
	c := condition{field: f}
	for _, o := range []struct {
		name   string
		op     op
		negate bool
		values []string
	}{
		{"Equals", opEquals, false, fs.Equals},
		{"StartsWith", opStartsWith, false, fs.StartsWith},
		{"EndsWith", opEndsWith, false, fs.EndsWith},
		{"NotEquals", opEquals, true, fs.NotEquals},
		{"NotStartsWith", opStartsWith, true, fs.NotStartsWith},
		{"NotEndsWith", opEndsWith, true, fs.NotEndsWith},
	} {
		if len(o.values) == 0 {
			continue
		}
		for _, v := range o.values {
			if l := utf8.RuneCountInString(v); l == 0 || l > maxValueLen {
				return condition{}, api.ErrInvalidParameter.New("advanced event selector %d: the values of %s of %s must be 1 to %d characters long", n, o.name, fs.Field, maxValueLen)
			}
		}
		if (o.op != opEquals || o.negate) && equalsOnly(f) {
			return condition{}, api.ErrInvalidEventSelectors.New("advanced event selector %d: %s takes only the Equals operator, not %s", n, fs.Field, o.name)
		}
		c.tests = append(c.tests, test{op: o.op, negate: o.negate, values: o.values})
	}
	if len(c.tests) == 0 {
		return condition{}, api.ErrInvalidEventSelectors.New("advanced event selector %d: the field selector of %s has no operator (Equals, StartsWith, EndsWith, NotEquals, NotStartsWith or NotEndsWith)", n, fs.Field)
	}
	return c, checkValues(n, f, fs.Equals)
}

func lookupField(name string) (field, bool) {
	for i, f := range fields {
		if f.name == name {
			return field(i), true
		}
	}
	return 0, false
}

// equalsOnly reports whether f takes only the Equals operator, as
// CloudTrail says of eventCategory, readOnly and resources.type.
func equalsOnly(f field) bool {
	return f == fieldEventCategory || f == fieldReadOnly || f == fieldResourcesType
}

// checkValues refuses the values of Equals that a field of selector n
// cannot have.
func checkValues(n int, f field, values []string) error {
	for _, v := range values {
		switch f {
		case fieldReadOnly:
			if v != "true" && v != "false" {
				return api.ErrInvalidEventSelectors.New("advanced event selector %d: readOnly is \"true\" or \"false\", not %q", n, v)
			}
		case fieldEventCategory:
			if kind, ok := otherCategories[v]; ok {
				return api.ErrInvalidEventSelectors.New("advanced event selector %d: eventCategory %s selects %s, which a trail's log files do not hold; ctimport imports management, data and network activity events (%s)",
					n, v, kind, strings.Join(categories, ", "))
			}
			if !slices.Contains(categories, v) {
				return api.ErrInvalidEventSelectors.New("advanced event selector %d: %q is not an event category ctimport can select (%s)", n, v, strings.Join(categories, ", "))
			}
		}
	}
	return nil
}

// Match reports whether the selectors select ev.
func (m *Matcher) Match(ev *sink.Event) bool {
	if m == nil {
		return true
	}
	for _, conds := range m.selectors {
		if matchAll(conds, ev) {
			return true
		}
	}
	return false
}

func matchAll(conds []condition, ev *sink.Event) bool {
	for i := range conds {
		if !conds[i].holds(ev) {
			return false
		}
	}
	return true
}

// holds reports whether every test of c holds on ev.
func (c *condition) holds(ev *sink.Event) bool {
	for i := range c.tests {
		if t := &c.tests[i]; hit(c.field, ev, t) == t.negate {
			return false
		}
	}
	return true
}

// hit reports whether a value of field f of ev matches one of t's values.
func hit(f field, ev *sink.Event, t *test) bool {
	col := fields[f].column
	if ev.Null.Has(col) && f != fieldEventCategory {
		return false
	}
	switch f {
	case fieldEventCategory:
		return t.matches(category(ev))
	case fieldReadOnly:
		return t.matches(boolText(ev.True.Has(sink.ReadOnly)))
	case fieldUserIdentityARN:
		arn := gjson.Get(ev.Values[col], "arn")
		return arn.Type == gjson.String && t.matches(arn.Str)
	case fieldResourcesType, fieldResourcesARN:
		key := "type"
		if f == fieldResourcesARN {
			key = "ARN"
		}
		found := false
		gjson.Parse(ev.Values[col]).ForEach(func(_, res gjson.Result) bool {
			v := res.Get(key)
			found = v.Type == gjson.String && t.matches(v.Str)
			return !found
		})
		return found
	}
	return t.matches(ev.Values[col])
}

// category returns the event category of ev, derived from managementEvent
// for a record written before CloudTrail added eventCategory.
func category(ev *sink.Event) string {
	switch {
	case !ev.Null.Has(sink.EventCategory):
		return ev.Values[sink.EventCategory]
	case !ev.Null.Has(sink.ManagementEvent) && !ev.True.Has(sink.ManagementEvent):
		return "Data"
	}
	return "Management"
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// matches reports whether s matches one of t's values.
func (t *test) matches(s string) bool {
	for _, v := range t.values {
		switch t.op {
		case opEquals:
			if s == v {
				return true
			}
		case opStartsWith:
			if strings.HasPrefix(s, v) {
				return true
			}
		case opEndsWith:
			if strings.HasSuffix(s, v) {
				return true
			}
		}
	}
	return false
}
