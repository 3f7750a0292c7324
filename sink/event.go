package sink

import "time"

// Column is one stored field of an event. Columns are named as CloudTrail
// names the fields of a record.
type Column uint8

// The event columns, in table order. Besides these, every stored event row
// has a sourceObjectKey column: the key of the object it was read from.
const (
	EventVersion Column = iota
	EventTime
	EventSource
	EventName
	AWSRegion
	SourceIPAddress
	UserAgent
	ErrorCode
	ErrorMessage
	RequestID
	EventID
	EventType
	EventCategory
	ReadOnly
	ManagementEvent
	RecipientAccountID
	SharedEventID
	VPCEndpointID
	APIVersion
	SessionCredentialFromConsole
	UserIdentity
	RequestParameters
	ResponseElements
	AdditionalEventData
	Resources
	TLSDetails
	ServiceEventDetails
	InsightDetails
	// ExtraFields holds, as one JSON object, every member of a record that
	// its column does not hold as delivered: members with no column of
	// their own, repeats of a member, members whose value does not fit
	// their column's kind, and an eventTime not written as
	// 2006-01-02T15:04:05Z. With the columns it keeps every member of the
	// record, so that the record can be rebuilt.
	ExtraFields
	// NumColumns is the number of event columns.
	NumColumns
)

// Kind is the type of a column.
type Kind uint8

// Column kinds.
const (
	Text Kind = iota
	Timestamp
	Bool
	JSON
)

// SourceKeyColumn is the name of the column holding an event's object key.
const SourceKeyColumn = "sourceObjectKey"

var columns = [NumColumns]struct {
	name string
	kind Kind
}{
	EventVersion:                 {"eventVersion", Text},
	EventTime:                    {"eventTime", Timestamp},
	EventSource:                  {"eventSource", Text},
	EventName:                    {"eventName", Text},
	AWSRegion:                    {"awsRegion", Text},
	SourceIPAddress:              {"sourceIPAddress", Text},
	UserAgent:                    {"userAgent", Text},
	ErrorCode:                    {"errorCode", Text},
	ErrorMessage:                 {"errorMessage", Text},
	RequestID:                    {"requestID", Text},
	EventID:                      {"eventID", Text},
	EventType:                    {"eventType", Text},
	EventCategory:                {"eventCategory", Text},
	ReadOnly:                     {"readOnly", Bool},
	ManagementEvent:              {"managementEvent", Bool},
	RecipientAccountID:           {"recipientAccountId", Text},
	SharedEventID:                {"sharedEventID", Text},
	VPCEndpointID:                {"vpcEndpointId", Text},
	APIVersion:                   {"apiVersion", Text},
	SessionCredentialFromConsole: {"sessionCredentialFromConsole", Text},
	UserIdentity:                 {"userIdentity", JSON},
	RequestParameters:            {"requestParameters", JSON},
	ResponseElements:             {"responseElements", JSON},
	AdditionalEventData:          {"additionalEventData", JSON},
	Resources:                    {"resources", JSON},
	TLSDetails:                   {"tlsDetails", JSON},
	ServiceEventDetails:          {"serviceEventDetails", JSON},
	InsightDetails:               {"insightDetails", JSON},
	ExtraFields:                  {"extraFields", JSON},
}

// Name returns the column name, as CloudTrail names the field.
func (c Column) Name() string { return columns[c].name }

// Kind returns the column type.
func (c Column) Kind() Kind { return columns[c].kind }

// ColumnSet is a set of columns.
type ColumnSet uint64

// Has reports whether c is in the set.
func (s ColumnSet) Has(c Column) bool { return s&(1<<c) != 0 }

// With returns the set with c added.
func (s ColumnSet) With(c Column) ColumnSet { return s | 1<<c }

// Event is one CloudTrail record, split into columns.
type Event struct {
	// Time is the eventTime column. It is never zero.
	Time time.Time
	// Values holds the Text and JSON columns, indexed by Column; a JSON
	// column holds valid JSON text, "null" for a member whose value is
	// null. Values of other kinds are unused.
	Values [NumColumns]string
	// Null holds the columns that are NULL: absent from the record, or, for
	// a Text or Bool column, a member whose value is null or of another
	// type, which ExtraFields then holds.
	Null ColumnSet
	// True holds the Bool columns that are true; a Bool column neither in
	// Null nor in True is false.
	True ColumnSet
}

// ID returns the event's eventID.
func (e *Event) ID() string { return e.Values[EventID] }

// Identity identifies an event for deduplication. CloudTrail delivers some
// events more than once; the copies have the same eventID and eventTime.
type Identity struct {
	ID   string
	Time time.Time // to the microsecond, as stores keep times
}

// Identity returns the identity of e, and false when e has none, lacking
// an eventID or an eventTime: such an event is never a duplicate.
func (e *Event) Identity() (Identity, bool) {
	if e.Null.Has(EventID) || e.Null.Has(EventTime) {
		return Identity{}, false
	}
	return Identity{ID: e.Values[EventID], Time: e.Time.UTC().Truncate(time.Microsecond)}, true
}
