package duckdbsink

import (
	"strings"

	"github.com/ctimport/ctimport/sink"
)

// An event data store is two objects of the database: its events table,
// ctimport_events."<ID>", with one column per sink.Column as the Writer stores
// them, and a view, main."<ID>", with CloudTrail Lake's event schema, which
// queries read. The view holds nothing: it derives Lake's columns from the
// table's when a query reads them, so the store keeps one copy of every
// event.

// lakeStructs are the json_transform structures of Lake's typed columns,
// with the members named as CloudTrail spells them in its records (DuckDB
// matches JSON keys case-sensitively, and struct fields in queries
// regardless of case).
const (
	lakeMap          = `"MAP(VARCHAR, VARCHAR)"`
	lakeUserIdentity = `{"type":"VARCHAR","principalId":"VARCHAR","arn":"VARCHAR","accountId":"VARCHAR",` +
		`"accessKeyId":"VARCHAR","userName":"VARCHAR",` +
		`"sessionContext":{"attributes":{"creationDate":"TIMESTAMP","mfaAuthenticated":"VARCHAR"},` +
		`"sessionIssuer":{"type":"VARCHAR","principalId":"VARCHAR","arn":"VARCHAR","accountId":"VARCHAR","userName":"VARCHAR"},` +
		`"webIdFederationData":{"federatedProvider":"VARCHAR","attributes":"MAP(VARCHAR, VARCHAR)"},` +
		`"sourceIdentity":"VARCHAR","ec2RoleDelivery":"VARCHAR","ec2IssuedInVPC":"VARCHAR"},` +
		`"onBehalfOf":{"userId":"VARCHAR","identityStoreArn":"VARCHAR"},` +
		`"inScopeOf":{"sourceArn":"VARCHAR","sourceAccount":"VARCHAR","issuerType":"VARCHAR","credentialsIssuedTo":"VARCHAR"},` +
		`"invokedBy":"VARCHAR","identityProvider":"VARCHAR"}`
	lakeResources  = `[{"accountId":"VARCHAR","type":"VARCHAR","ARN":"VARCHAR","ARNPrefix":"VARCHAR"}]`
	lakeTLSDetails = `{"tlsVersion":"VARCHAR","cipherSuite":"VARCHAR","clientProvidedHostHeader":"VARCHAR"}`
)

// lakeColumns are the columns of an event data store's view, in the order
// of Lake's schema, each with its expression over the events table e (and
// eventJson, computed beneath them). A member that the events table keeps
// in extraFields only is read from there.
var lakeColumns = []struct{ name, expr string }{
	{"eventVersion", col(sink.EventVersion)},
	{"userIdentity", transform(col(sink.UserIdentity), lakeUserIdentity)},
	{"eventTime", col(sink.EventTime)},
	{"eventSource", col(sink.EventSource)},
	{"eventName", col(sink.EventName)},
	{"awsRegion", col(sink.AWSRegion)},
	{"sourceIPAddress", col(sink.SourceIPAddress)},
	{"userAgent", col(sink.UserAgent)},
	{"errorCode", col(sink.ErrorCode)},
	{"errorMessage", col(sink.ErrorMessage)},
	{"requestParameters", transform(col(sink.RequestParameters), lakeMap)},
	{"responseElements", transform(col(sink.ResponseElements), lakeMap)},
	{"additionalEventData", transform(col(sink.AdditionalEventData), lakeMap)},
	{"requestID", col(sink.RequestID)},
	{"eventID", col(sink.EventID)},
	{"readOnly", col(sink.ReadOnly)},
	{"resources", transform(col(sink.Resources), lakeResources)},
	{"eventType", col(sink.EventType)},
	{"apiVersion", col(sink.APIVersion)},
	{"managementEvent", col(sink.ManagementEvent)},
	{"recipientAccountId", col(sink.RecipientAccountID)},
	{"sharedEventID", col(sink.SharedEventID)},
	{"annotation", extraText("annotation")},
	{"vpcEndpointId", col(sink.VPCEndpointID)},
	{"vpcEndpointAccountId", extraText("vpcEndpointAccountId")},
	{"serviceEventDetails", transform(col(sink.ServiceEventDetails), lakeMap)},
	{"addendum", transform(extraJSON("addendum"), lakeMap)},
	{"edgeDeviceDetails", transform(extraJSON("edgeDeviceDetails"), lakeMap)},
	{"insightDetails", transform(col(sink.InsightDetails), lakeMap)},
	{"eventCategory", col(sink.EventCategory)},
	{"tlsDetails", transform(col(sink.TLSDetails), lakeTLSDetails)},
	{"sessionCredentialFromConsole", col(sink.SessionCredentialFromConsole)},
	{"eventJson", "e.eventJson"},
	// Lake does not document its checksum; this is the base64 SHA-256
	// that CloudTrail uses for the checksums it does document.
	{"eventJsonChecksum", "to_base64(from_hex(sha256(e.eventJson)))"},
	{sink.SourceKeyColumn, "e." + quoteIdent(sink.SourceKeyColumn)},
}

func col(c sink.Column) string { return "e." + quoteIdent(c.Name()) }

func transform(expr, structure string) string {
	return "json_transform(" + expr + ", " + quoteString(structure) + ")"
}

func extraText(member string) string {
	return col(sink.ExtraFields) + " ->> " + quoteString(member)
}

func extraJSON(member string) string {
	return col(sink.ExtraFields) + " -> " + quoteString(member)
}

// quoteString returns s as an SQL string literal.
func quoteString(s string) string {
	return "'" + strings.ReplaceAll(s, "'", "''") + "'"
}

// eventJSONExpr rebuilds a record's JSON text from the columns of the
// events table e: each member a column holds, then the members of
// extraFields, which hold the rest (see sink.ExtraFields). The text
// parses to the record as delivered, its members in another order.
var eventJSONExpr = func() string {
	var parts []string
	for c := range sink.ExtraFields {
		key := quoteString(`"` + c.Name() + `":`)
		switch c.Kind() {
		case sink.Text:
			parts = append(parts, key+" || CAST(to_json("+col(c)+") AS VARCHAR)")
		case sink.Bool:
			parts = append(parts, key+" || CASE WHEN "+col(c)+" THEN 'true' WHEN NOT "+col(c)+" THEN 'false' END")
		case sink.JSON:
			parts = append(parts, key+" || CAST("+col(c)+" AS VARCHAR)")
		case sink.Timestamp:
			// An eventTime written otherwise is in extraFields as written.
			extra := col(sink.ExtraFields)
			parts = append(parts, "CASE WHEN "+extra+" IS NULL OR NOT json_exists("+extra+", "+
				quoteString("$."+c.Name())+") THEN strftime("+col(c)+", "+
				quoteString(`"`+c.Name()+`":"%Y-%m-%dT%H:%M:%SZ"`)+") END")
		}
	}
	parts = append(parts, "CAST("+col(sink.ExtraFields)+" AS VARCHAR)[2:-2]")
	return "'{' || concat_ws(',', " + strings.Join(parts, ", ") + ") || '}'"
}()

// lakeViewDDL returns the statement creating the view of Lake's schema
// named view over the events table named table, which must not name the
// catalog, so that the view keeps working in a copy of the database file.
func lakeViewDDL(view, table string) string {
	var b strings.Builder
	b.WriteString("CREATE VIEW " + view + " AS SELECT ")
	for i, c := range lakeColumns {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(c.expr + " AS " + quoteIdent(c.name))
	}
	b.WriteString(" FROM (SELECT *, " + eventJSONExpr + " AS eventJson FROM " + table + " AS e) AS e")
	return b.String()
}
