package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// flagKind is how a flag takes its value.
type flagKind int

const (
	flagString flagKind = iota
	flagList            // one or more values, up to the next flag
	flagBool            // no value
	flagInt
)

type flagSpec struct {
	name string
	kind flagKind
	help string
}

// globalFlags are accepted before or after the command.
var globalFlags = []flagSpec{
	{"db", flagString, "database file (env CTIMPORT_DB; default ./ctimport.duckdb), or postgres://USER@HOST/DB: a state database that imports on several machines share, with events in Iceberg tables"},
	{"warehouse", flagString, "with --db postgres://...: s3://BUCKET/PREFIX where the event data stores' Iceberg tables go (env CTIMPORT_WAREHOUSE)"},
	{"warehouse-endpoint-url", flagString, "the S3 endpoint of --warehouse (default: the AWS environment, as AWS_ENDPOINT_URL_S3)"},
	{"iceberg-catalog", flagList, "with --db postgres://...: the Iceberg catalog of the tables as KEY=VALUE properties of iceberg-go, e.g. type=rest uri=https://... credential=ID:SECRET, or type=glue (env CTIMPORT_ICEBERG_CATALOG, space-separated; default: the SQL catalog in the --db database)"},
	{"output", flagString, "output format: json, table or text (query also takes csv)"},
	{"s3-endpoint-url", flagString, "S3 endpoint, e.g. http://127.0.0.1:9000 for MinIO (env AWS_ENDPOINT_URL_S3)"},
	{"memory-limit", flagString, "memory the command stays near, e.g. 2GiB; DuckDB, staged events, downloads ahead and held query results share it (env CTIMPORT_MEMORY_LIMIT; default 272MiB)"},
	{"endpoint-url", flagString, "call the ctimport server at this URL instead of opening the database (env CTIMPORT_ENDPOINT_URL); requests are signed with CTIMPORT_ACCESS_KEY_ID and CTIMPORT_SECRET_ACCESS_KEY"},
	{"help", flagBool, "show help"},
}

// usageError is a mistake in the command line.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// args are the parsed flags of one command line.
type args struct {
	command string
	values  map[string][]string
}

func (a *args) has(name string) bool { _, ok := a.values[name]; return ok }

func (a *args) str(name string) string {
	if v := a.values[name]; len(v) > 0 {
		return v[0]
	}
	return ""
}

func (a *args) list(name string) []string { return a.values[name] }

func (a *args) int(name string) (int, error) {
	s := a.str(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, usagef("--%s takes a whole number, not %q", name, s)
	}
	return n, nil
}

// timestamp returns the value of the flag name, a time as parseTime reads
// it; nil when it is not given.
func (a *args) timestamp(name string) (*time.Time, error) {
	if !a.has(name) {
		return nil, nil
	}
	t, err := parseTime(a.str(name))
	if err != nil {
		return nil, usagef("--%s: %v", name, err)
	}
	return &t, nil
}

// count returns the value of the flag name, a whole number that must not
// be negative; 0 when it is not given.
func (a *args) count(name string) (int, error) {
	n, err := a.int(name)
	if err == nil && n < 0 {
		err = usagef("--%s must be positive", name)
	}
	return n, err
}

// parseArgs splits a command line into the command and its flags. Global
// flags may stand before or after the command; --name=value and
// --name value are both accepted.
func parseArgs(argv []string) (*args, error) {
	a := &args{values: make(map[string][]string)}
	var specs []flagSpec
	lookup := func(name string) (flagSpec, bool) {
		for _, s := range globalFlags {
			if s.name == name {
				return s, true
			}
		}
		for _, s := range specs {
			if s.name == name {
				return s, true
			}
		}
		return flagSpec{}, false
	}
	for i := 0; i < len(argv); i++ {
		arg := argv[i]
		if !strings.HasPrefix(arg, "--") {
			if a.command != "" {
				return nil, usagef("unexpected argument %q", arg)
			}
			cmd, ok := commands[arg]
			if !ok {
				return nil, usagef("unknown command %q (run ctimport help)", arg)
			}
			a.command, specs = arg, cmd.flags
			continue
		}
		name, value, hasValue := strings.Cut(arg[2:], "=")
		spec, ok := lookup(name)
		if !ok {
			if a.command == "" {
				return nil, usagef("unknown option --%s (give the command first, or run ctimport help)", name)
			}
			return nil, usagef("unknown option --%s for %s (run ctimport %s --help)", name, a.command, a.command)
		}
		if _, dup := a.values[name]; dup {
			return nil, usagef("--%s is given twice", name)
		}
		switch spec.kind {
		case flagBool:
			if hasValue {
				return nil, usagef("--%s takes no value", name)
			}
			a.values[name] = nil
		case flagList:
			vals := []string{}
			if hasValue {
				vals = append(vals, value)
			}
			for i+1 < len(argv) && !strings.HasPrefix(argv[i+1], "--") {
				i++
				vals = append(vals, argv[i])
			}
			if len(vals) == 0 {
				return nil, usagef("--%s needs a value", name)
			}
			a.values[name] = vals
		default:
			if !hasValue {
				if i+1 >= len(argv) {
					return nil, usagef("--%s needs a value", name)
				}
				i++
				value = argv[i]
			}
			a.values[name] = []string{value}
		}
	}
	return a, nil
}

// parseList reads a list flag given as separate values or as a JSON array.
func parseList(vals []string) ([]string, error) {
	if len(vals) == 1 && strings.HasPrefix(strings.TrimSpace(vals[0]), "[") {
		v, err := parseShorthand(vals[0])
		if err != nil {
			return nil, err
		}
		items, ok := v.([]any)
		if !ok {
			return nil, fmt.Errorf("expected a list")
		}
		out := make([]string, 0, len(items))
		for _, it := range items {
			s, ok := it.(string)
			if !ok {
				return nil, fmt.Errorf("expected a list of strings")
			}
			out = append(out, s)
		}
		return out, nil
	}
	return vals, nil
}
