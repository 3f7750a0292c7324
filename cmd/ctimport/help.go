package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
)

// command is one ctimport command.
type command struct {
	summary string
	flags   []flagSpec
	// formats are the values of --output it takes; nil means formats.
	formats []string
	run     func(context.Context, *cli) error
}

var commands map[string]command

func init() {
	importID := flagSpec{"import-id", flagString, "the ID of the import"}
	maxResults := flagSpec{"max-results", flagInt, "the most items to return (1-1000)"}
	nextToken := flagSpec{"next-token", flagString, "the NextToken of the previous page"}
	maxRecordSize := flagSpec{"max-record-size", flagString, "the largest record a file may hold, else the file fails with LimitExceeded: bytes, or with a unit as in 256MiB (default 64MiB)"}
	eventDataStore := flagSpec{"event-data-store", flagString, "the ARN, name or ID of the event data store"}
	storeSettings := []flagSpec{
		{"retention-period", flagInt, "how many days the store keeps events, 7 to 3653 (default 2557)"},
		{"termination-protection-enabled", flagBool, "forbid deleting the store (the default of a new store)"},
		{"no-termination-protection-enabled", flagBool, "allow deleting the store"},
		{"advanced-event-selectors", flagList, "the events imports store: up to 5 selectors, each Name=NAME,FieldSelectors=[{Field=FIELD,Equals=[V,...],NotStartsWith=[V,...]},...], " +
			"or a JSON list of them, or file://PATH of a file holding that JSON; an event is stored when one selector matches it (see the README)"},
		{"multi-region-enabled", flagBool, "keep the events of every region (what ctimport does)"},
		{"no-multi-region-enabled", flagBool, "keep the events of one region: not supported, refused"},
		{"organization-enabled", flagBool, "collect an organization's events: not supported, refused"},
		{"no-organization-enabled", flagBool, "do not collect an organization's events (what ctimport does)"},
		{"kms-key-id", flagString, "a KMS key to encrypt the store with: not supported, refused"},
		{"billing-mode", flagString, "a billing mode: not supported, refused"},
	}
	maxFileSize := flagSpec{"max-file-size", flagString, "the largest a file may be once decompressed, else it fails with LimitExceeded; reading stops at the cap (default 2GiB)"}
	commands = map[string]command{
		"start-import": {
			summary: "import trail logs into an event data store, or retry an import",
			flags: []flagSpec{
				{"destinations", flagList, "the ARN, name or ID of the event data store to import into"},
				{"import-source", flagString, "S3={S3LocationUri=s3://bucket/prefix/,S3BucketRegion=REGION,S3BucketAccessRoleArn=ARN}, or the same as JSON; S3LocationUri may be file:///abs/dir"},
				{"start-event-time", flagString, "import only events at or after this time (ISO 8601 or epoch seconds)"},
				{"end-event-time", flagString, "import only events at or before this time"},
				{"import-id", flagString, "retry this import instead of starting a new one"},
				{"incremental", flagBool, "start where the last import of the same source into the same store ended"},
				{"shard", flagString, "run shard I (from 0) of N of the import, as I/N; N alone takes I from JOB_COMPLETION_INDEX or AWS_BATCH_JOB_ARRAY_INDEX. " +
					"Every shard runs the same command and joins the same import; needs --db postgres://..."},
				{"allowance", flagString, "how long after an event its log file may be delivered (default 1h)"},
				{"concurrency", flagInt, "how many files to decode at once (default one per CPU; downloads run ahead of them)"},
				maxRecordSize, maxFileSize,
				{"wait", flagBool, "with --endpoint-url: wait for the import to end, showing its progress (without a server, start-import always waits)"},
			},
			run: cmdStartImport,
		},
		"get-import":           {summary: "describe an import, with its statistics", flags: []flagSpec{importID}, run: cmdGetImport},
		"stop-import":          {summary: "stop a running import; retry it later with start-import --import-id", flags: []flagSpec{importID}, run: cmdStopImport},
		"list-import-failures": {summary: "list the files an import failed to read, and why", flags: []flagSpec{importID, maxResults, nextToken}, run: cmdListImportFailures},
		"create-event-data-store": {
			summary: "create an event data store to import into",
			flags: append([]flagSpec{{"name", flagString, "the name of the event data store"}}, append(storeSettings,
				flagSpec{"tags-list", flagString, "tags, as JSON: not supported, refused"},
				flagSpec{"start-ingestion", flagBool, "ingest live events: not supported, refused"},
				flagSpec{"no-start-ingestion", flagBool, "do not ingest live events (what ctimport does)"})...),
			run: cmdCreateEventDataStore,
		},
		"update-event-data-store": {
			summary: "rename an event data store or change its settings; its ARN and ID stay",
			flags:   append([]flagSpec{eventDataStore, {"name", flagString, "the new name of the event data store"}}, storeSettings...),
			run:     cmdUpdateEventDataStore,
		},
		"delete-event-data-store": {
			summary: "delete an event data store: it is PENDING_DELETION for 7 days, restorable, then its events are removed",
			flags: []flagSpec{eventDataStore,
				{"now", flagBool, "remove the store and its events at once, not after 7 days (not with --endpoint-url)"}},
			run: cmdDeleteEventDataStore,
		},
		"restore-event-data-store": {
			summary: "restore an event data store that is PENDING_DELETION, with all its events",
			flags:   []flagSpec{eventDataStore},
			run:     cmdRestoreEventDataStore,
		},
		"get-event-data-store": {
			summary: "describe an event data store",
			flags:   []flagSpec{eventDataStore},
			run:     cmdGetEventDataStore,
		},
		"serve": {
			summary: "serve the CloudTrail import and query API over HTTP, for the AWS CLI and SDKs",
			flags: []flagSpec{
				{"listen", flagString, "the address to listen on (default 127.0.0.1:8099)"},
				{"credentials-file", flagString, "a file of access keys, one \"ACCESS_KEY_ID SECRET_ACCESS_KEY [ROLE]\" per line (ROLE admin, the default, or read), mode 600 (env CTIMPORT_CREDENTIALS_FILE); else the key in CTIMPORT_ACCESS_KEY_ID and CTIMPORT_SECRET_ACCESS_KEY"},
				{"file-sources", flagString, "let imports read local directories (file:// S3LocationUri) under this directory; by default the server reads only S3"},
				{"tls-cert", flagString, "serve HTTPS with this certificate file (PEM)"},
				{"tls-key", flagString, "the private key file of --tls-cert (PEM)"},
				{"max-body-bytes", flagInt, "the largest request body accepted (default 1048576)"},
				{"max-ongoing-imports", flagInt, "how many imports may run at once (default 1, as in CloudTrail Lake)"},
				{"max-concurrent-requests", flagInt, "how many API requests are served at once; more are answered ThrottlingException (default 8)"},
				{"open-metrics", flagBool, "serve /metrics to anyone; by default it asks for HTTP Basic authentication with an access key ID and its secret"},
				{"max-requests-per-second", flagInt, "how many API requests are served a second; more are answered ThrottlingException (default: no bound)"},
				{"concurrency", flagInt, "how many files each import decodes at once (default one per CPU)"},
				maxRecordSize, maxFileSize,
				{"log-format", flagString, "log format: text or json (default text)"},
			},
			run: cmdServe,
		},
		"list-event-data-stores": {summary: "list the event data stores", flags: []flagSpec{maxResults, nextToken}, run: cmdListEventDataStores},
		"help":                   {summary: "show this help, or a command's (ctimport help COMMAND)"},
		"list-imports": {
			summary: "list imports, newest first",
			flags: []flagSpec{
				{"destination", flagString, "only imports into this event data store (ARN, name or ID)"},
				{"import-status", flagString, "only imports in this status: INITIALIZING, IN_PROGRESS, FAILED, STOPPED or COMPLETED"},
				maxResults, nextToken,
			},
			run: cmdListImports,
		},
		"list-queries": {
			summary: "list the queries of the last seven days that name an event data store, newest first; a server keeps them, so use it with --endpoint-url",
			flags: []flagSpec{eventDataStore,
				{"start-time", flagString, "only queries created at or after this time (ISO 8601 or epoch seconds)"},
				{"end-time", flagString, "only queries created at or before this time"},
				{"query-status", flagString, "only queries in this status: QUEUED, RUNNING, FINISHED, FAILED, CANCELLED or TIMED_OUT"},
				maxResults, nextToken,
			},
			run: cmdListQueries,
		},
		"query": {
			summary: "run SQL over the event data stores; name a store by its ID, as CloudTrail Lake does",
			flags: []flagSpec{
				{"query-statement", flagString, `the SQL, e.g. "SELECT eventName, count(*) FROM <store ID> GROUP BY 1"`},
				{"allow-write", flagBool, "run any statement, with access to files, and commit it; without it, queries cannot write, read files or change settings"},
			},
			formats: append(slices.Clone(formats), "csv"),
			run:     cmdQuery,
		},
		"prune": {
			summary: "remove from every event data store the events older than its retention period (imports do it for their store when they start; a server does it daily)",
			run:     cmdPrune,
		},
		"upgrade": {summary: "upgrade a database written by an older ctimport (any command that writes it does so too)", run: cmdUpgrade},
		"verify": {
			summary: "list an ended import's source again and compare it with the import's checkpoint and event data store; exit status 6 on drift",
			flags:   []flagSpec{importID},
			run:     cmdVerify,
		},
	}
}

func printHelp(w io.Writer) {
	fmt.Fprint(w, `ctimport imports CloudTrail trail logs from S3, MinIO or a local copy of a bucket
into a local DuckDB event store, with the operations of the CloudTrail Lake import API.

usage: ctimport [global options] COMMAND [options]

commands:
`)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-24s %s\n", n, commands[n].summary)
	}
	fmt.Fprint(w, "\nglobal options (before or after the command):\n")
	printFlags(w, globalFlags)
	fmt.Fprint(w, `
exit status: 0 done; 1 error; 2 bad command line; 3 import FAILED; 4 import STOPPED;
5 the database is in use by another process; 6 verify found drift; 130 start-import
interrupted a second time.
`)
}

func printCommandHelp(w io.Writer, name string) {
	cmd := commands[name]
	fmt.Fprintf(w, "ctimport %s: %s\n\noptions:\n", name, cmd.summary)
	printFlags(w, cmd.flags)
	fmt.Fprint(w, "\nglobal options:\n")
	printFlags(w, globalFlags)
}

func printFlags(w io.Writer, specs []flagSpec) {
	for _, s := range specs {
		arg := ""
		switch s.kind {
		case flagString, flagList:
			arg = " " + strings.ToUpper(strings.ReplaceAll(s.name, "-", "_"))
		case flagInt:
			arg = " N"
		}
		fmt.Fprintf(w, "  --%-28s %s\n", s.name+arg, s.help)
	}
}
