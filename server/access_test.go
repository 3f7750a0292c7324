package server_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/ctimport/ctimport/internal/awsmodel"
	"github.com/ctimport/ctimport/server"
)

// TestRoles calls every operation with a key of each role, and checks
// that the read role is refused every operation but those that read, that
// it cancels only its own queries, and that the refusals are logged with
// the key.
func TestRoles(t *testing.T) {
	f := newFixture(t, config{})
	arn := f.call("CreateEventDataStore", `{"Name":"roles"}`)["EventDataStoreArn"].(string)
	adminQuery := f.call("StartQuery", `{"QueryStatement":"SELECT count(*) FROM `+storeID(arn)+`"}`)["QueryId"].(string)
	as := func(role server.Role, name, body string) response {
		r := op(name, body)
		if role == server.RoleRead {
			r.key = &readKey
		}
		return f.do(r)
	}
	readQuery := decode(t, as(server.RoleRead, "StartQuery", `{"QueryStatement":"SELECT 1"}`).body)["QueryId"].(string)

	tests := []struct {
		op       string
		body     string
		readable bool // the read role may call it
	}{
		{"CreateEventDataStore", `{"Name":"roles2"}`, false},
		{"GetEventDataStore", `{"EventDataStore":"roles"}`, true},
		{"ListEventDataStores", `{}`, true},
		{"UpdateEventDataStore", `{"EventDataStore":"` + arn + `","RetentionPeriod":30}`, false},
		{"DeleteEventDataStore", `{"EventDataStore":"` + arn + `"}`, false},
		{"RestoreEventDataStore", `{"EventDataStore":"` + arn + `"}`, false},
		{"StartImport", `{"Destinations":["` + arn + `"],"ImportSource":` + source + `}`, false},
		{"GetImport", `{"ImportId":"00000000-0000-0000-0000-000000000000"}`, true},
		{"StopImport", `{"ImportId":"00000000-0000-0000-0000-000000000000"}`, false},
		{"ListImports", `{}`, true},
		{"ListImportFailures", `{"ImportId":"00000000-0000-0000-0000-000000000000"}`, true},
		{"StartQuery", `{"QueryStatement":"SELECT 2"}`, true},
		{"DescribeQuery", `{"QueryId":"` + adminQuery + `"}`, true},
		{"GetQueryResults", `{"QueryId":"` + adminQuery + `"}`, true},
		{"CancelQuery", `{"QueryId":"` + readQuery + `"}`, true},
		{"CancelQuery", `{"QueryId":"` + adminQuery + `"}`, false},
		{"ListQueries", `{"EventDataStore":"` + arn + `"}`, true},
	}
	var covered []string
	for _, tc := range tests {
		covered = append(covered, tc.op)
	}
	slices.Sort(covered)
	if want := awsmodel.Operations(); !slices.Equal(slices.Compact(covered), want) {
		t.Errorf("roles tested with %v, want every operation of the model %v", slices.Compact(covered), want)
	}
	for _, tc := range tests {
		for _, role := range []server.Role{server.RoleAdmin, server.RoleRead} {
			t.Run(tc.op+"/"+string(role), func(t *testing.T) {
				resp := as(role, tc.op, tc.body)
				denied := resp.header.Get("X-Amzn-ErrorType") == "AccessDeniedException"
				switch want := role == server.RoleRead && !tc.readable; {
				case want && !denied:
					t.Fatalf("%s by a read key answered HTTP %d (%s); want AccessDeniedException", tc.op, resp.status, resp.body)
				case want:
					checkError(t, resp, http.StatusBadRequest, "AccessDeniedException")
					rec := f.with(t).record("request", resp.header.Get("X-Amzn-RequestId"))
					if rec["access_key_id"] != readKey.AccessKeyID || rec["error"] != "AccessDeniedException" {
						t.Errorf("log record of the refusal %v; want the key and the exception", rec)
					}
				case denied:
					t.Errorf("%s by a %s key refused: %s", tc.op, role, resp.body)
				}
			})
		}
	}
}
