// Package awsmodel holds the CloudTrail API model (service cloudtrail,
// version 2013-11-01), trimmed to the operations ctimport serves, and
// validates request bodies as the model says: required members, lengths,
// ranges, patterns and enums, answered with the exceptions the model names.
package awsmodel

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/ctimport/ctimport/api"
)

//go:embed cloudtrail-2013-11-01.json
var modelJSON []byte

// Operation is one operation of the model.
type Operation struct {
	name   string
	input  *shape
	errors []string
}

type shape struct {
	name     string
	typ      string
	members  []member
	required []string
	member   *shape
	key      *shape
	value    *shape
	min, max *int64
	pattern  string
	re       *regexp.Regexp
	enum     []string
}

type member struct {
	name  string
	shape *shape
}

type model struct {
	operations map[string]*Operation
	shapes     map[string]*shape
	// skipped names the shapes whose patterns Go cannot compile, and so
	// are not checked.
	skipped []string
}

var loaded = mustLoad(modelJSON)

// Lookup returns the operation named name (for example "StartImport"), and
// false when the model, as trimmed, has no such operation.
func Lookup(name string) (*Operation, bool) {
	op, ok := loaded.operations[name]
	return op, ok
}

// Operations returns the names of all operations, sorted.
func Operations() []string {
	names := make([]string, 0, len(loaded.operations))
	for name := range loaded.operations {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Name returns the operation's name.
func (op *Operation) Name() string { return op.name }

// Errors returns the names of the exceptions the model says op can return,
// in the model's order, each once.
func (op *Operation) Errors() []string { return slices.Clone(op.errors) }

// Validate checks a request body, a JSON object, against op's input shape.
// It returns nil when the body satisfies the model, and otherwise an
// *api.Exception: SerializationException when the body is not one JSON
// object or a member has the wrong JSON type, else the exception the model
// lists for the first violated constraint (InvalidParameterException when it
// lists none better), with a message in the AWS style naming every
// violation. Unknown members are ignored, and JSON null counts as absent. An
// empty body counts as {}.
func (op *Operation) Validate(body []byte) error {
	body = bytes.Trim(body, " \t\r\n")
	if len(body) == 0 {
		body = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return serialization("The request body is not valid JSON.")
	}
	if _, err := dec.Token(); err != io.EOF {
		return serialization("The request body has data after its JSON object.")
	}
	if _, ok := doc.(map[string]any); !ok {
		return serialization("The request body is not a JSON object.")
	}
	if op.input == nil {
		return nil
	}
	v := validator{op: op}
	if err := v.check(doc, op.input, ""); err != nil {
		return err
	}
	if len(v.violations) == 0 {
		return nil
	}
	texts := make([]string, len(v.violations))
	for i, vi := range v.violations {
		texts[i] = vi.text
	}
	count := "1 validation error"
	if len(texts) > 1 {
		count = fmt.Sprintf("%d validation errors", len(texts))
	}
	return &api.Exception{
		Name:    v.violations[0].exception,
		Message: count + " detected: " + strings.Join(texts, "; "),
	}
}

type violation struct {
	exception string
	text      string
}

type validator struct {
	op         *Operation
	violations []violation
}

func serialization(format string, args ...any) *api.Exception {
	return &api.Exception{Name: "SerializationException", Message: fmt.Sprintf(format, args...)}
}

func (v *validator) fail(sh *shape, val any, path, constraint string) {
	v.violations = append(v.violations, violation{
		exception: v.exceptionFor(sh),
		text:      fmt.Sprintf("Value %s at '%s' failed to satisfy constraint: Member %s", show(val), path, constraint),
	})
}

// exceptionFor picks the exception a violation of a value of shape sh
// raises: the first of the candidates for sh that op lists.
func (v *validator) exceptionFor(sh *shape) string {
	var candidates []string
	switch {
	case sh.typ == "integer" && (strings.HasSuffix(sh.name, "MaxResultsCount") || sh.name == "MaxQueryResults"):
		candidates = []string{"InvalidMaxResultsException"}
	case sh.name == "PaginationToken":
		candidates = []string{"InvalidNextTokenException"}
	case sh.name == "EventDataStoreArn":
		candidates = []string{"EventDataStoreARNInvalidException"}
	case sh.name == "QueryStatement":
		candidates = []string{"InvalidQueryStatementException"}
	case sh.name == "QueryStatus":
		candidates = []string{"InvalidQueryStatusException"}
	}
	for _, name := range candidates {
		if slices.Contains(v.op.errors, name) {
			return name
		}
	}
	return "InvalidParameterException"
}

// check validates val, a value decoded with UseNumber, against sh. It
// records constraint violations and returns an error only for a value of the
// wrong JSON type.
func (v *validator) check(val any, sh *shape, path string) error {
	switch sh.typ {
	case "structure":
		obj, ok := val.(map[string]any)
		if !ok {
			return wrongType(path, "an object")
		}
		for _, m := range sh.members {
			mpath := joinMember(path, m.name)
			mval := obj[m.name]
			if mval == nil {
				if slices.Contains(sh.required, m.name) {
					v.violations = append(v.violations, violation{
						exception: "InvalidParameterException",
						text:      fmt.Sprintf("Value null at '%s' failed to satisfy constraint: Member must not be null", mpath),
					})
				}
				continue
			}
			if err := v.check(mval, m.shape, mpath); err != nil {
				return err
			}
		}
	case "list":
		arr, ok := val.([]any)
		if !ok {
			return wrongType(path, "an array")
		}
		v.length(sh, val, len(arr), path)
		for i, item := range arr {
			ipath := fmt.Sprintf("%s.%d.member", path, i+1)
			if err := v.element(item, sh.member, ipath); err != nil {
				return err
			}
		}
	case "map":
		obj, ok := val.(map[string]any)
		if !ok {
			return wrongType(path, "an object")
		}
		v.length(sh, val, len(obj), path)
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			kpath := path + "." + k
			v.checkString(k, sh.key, kpath)
			if err := v.element(obj[k], sh.value, kpath); err != nil {
				return err
			}
		}
	case "string":
		s, ok := val.(string)
		if !ok {
			return wrongType(path, "a string")
		}
		v.checkString(s, sh, path)
	case "integer", "long":
		n, ok := val.(json.Number)
		if !ok {
			return wrongType(path, "an integer")
		}
		bits := 64
		if sh.typ == "integer" {
			bits = 32
		}
		i, err := strconv.ParseInt(string(n), 10, bits)
		if err != nil {
			return serialization("Value at '%s' must be a %d-bit integer.", path, bits)
		}
		if sh.min != nil && i < *sh.min {
			v.fail(sh, val, path, fmt.Sprintf("must have value greater than or equal to %d", *sh.min))
		}
		if sh.max != nil && i > *sh.max {
			v.fail(sh, val, path, fmt.Sprintf("must have value less than or equal to %d", *sh.max))
		}
	case "boolean":
		if _, ok := val.(bool); !ok {
			return wrongType(path, "a boolean")
		}
	case "timestamp":
		switch t := val.(type) {
		case json.Number:
		case string:
			if _, err := time.Parse(time.RFC3339Nano, t); err != nil {
				return wrongType(path, "epoch seconds or an RFC 3339 timestamp")
			}
		default:
			return wrongType(path, "a timestamp")
		}
	}
	return nil
}

// element checks one item of a list or value of a map, which unlike a
// structure member must not be null.
func (v *validator) element(val any, sh *shape, path string) error {
	if val == nil {
		v.fail(sh, nil, path, "must not be null")
		return nil
	}
	return v.check(val, sh, path)
}

func (v *validator) checkString(s string, sh *shape, path string) {
	v.length(sh, s, utf8.RuneCountInString(s), path)
	if sh.re != nil && !sh.re.MatchString(s) {
		v.fail(sh, s, path, "must satisfy regular expression pattern: "+sh.pattern)
	}
	if len(sh.enum) > 0 && !slices.Contains(sh.enum, s) {
		v.fail(sh, s, path, "must satisfy enum value set: ["+strings.Join(sh.enum, ", ")+"]")
	}
}

func (v *validator) length(sh *shape, val any, n int, path string) {
	if sh.min != nil && int64(n) < *sh.min {
		v.fail(sh, val, path, fmt.Sprintf("must have length greater than or equal to %d", *sh.min))
	}
	if sh.max != nil && int64(n) > *sh.max {
		v.fail(sh, val, path, fmt.Sprintf("must have length less than or equal to %d", *sh.max))
	}
}

func wrongType(path, want string) *api.Exception {
	return serialization("Value at '%s' must be %s.", path, want)
}

// joinMember extends a member path as AWS writes it, with each member name
// starting in lower case.
func joinMember(path, name string) string {
	r, size := utf8.DecodeRuneInString(name)
	name = strings.ToLower(string(r)) + name[size:]
	if path == "" {
		return name
	}
	return path + "." + name
}

const maxShown = 64

// show renders a value for a message, cut to maxShown characters.
func show(val any) string {
	var s string
	switch t := val.(type) {
	case nil:
		return "null"
	case string:
		s = t
	case json.Number:
		s = string(t)
	case []any:
		items := make([]string, len(t))
		for i, item := range t {
			if str, ok := item.(string); ok {
				items[i] = str
			} else {
				b, _ := json.Marshal(item)
				items[i] = string(b)
			}
		}
		s = "[" + strings.Join(items, ", ") + "]"
	default:
		b, _ := json.Marshal(t)
		s = string(b)
	}
	if utf8.RuneCountInString(s) > maxShown {
		s = string([]rune(s)[:maxShown]) + "..."
	}
	return "'" + s + "'"
}

type modelFile struct {
	Operations map[string]struct {
		Input  *shapeRef  `json:"input"`
		Errors []shapeRef `json:"errors"`
	} `json:"operations"`
	Shapes map[string]struct {
		Type     string     `json:"type"`
		Members  memberRefs `json:"members"`
		Required []string   `json:"required"`
		Member   *shapeRef  `json:"member"`
		Key      *shapeRef  `json:"key"`
		Value    *shapeRef  `json:"value"`
		Min      *int64     `json:"min"`
		Max      *int64     `json:"max"`
		Pattern  string     `json:"pattern"`
		Enum     []string   `json:"enum"`
	} `json:"shapes"`
}

type shapeRef struct {
	Shape string `json:"shape"`
}

type memberRef struct {
	name   string
	target string
}

// memberRefs are the members of a structure in the model's order.
type memberRefs []memberRef

func (m *memberRefs) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	if _, err := dec.Token(); err != nil {
		return err
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		var ref shapeRef
		if err := dec.Decode(&ref); err != nil {
			return err
		}
		*m = append(*m, memberRef{name: tok.(string), target: ref.Shape})
	}
	return nil
}

func mustLoad(data []byte) *model {
	m, err := load(data)
	if err != nil {
		panic(err)
	}
	return m
}

func load(data []byte) (*model, error) {
	var f modelFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("awsmodel: %w", err)
	}
	m := &model{operations: map[string]*Operation{}, shapes: map[string]*shape{}}
	for name := range f.Shapes {
		m.shapes[name] = &shape{name: name}
	}
	resolve := func(ref *shapeRef, from string) (*shape, error) {
		if ref == nil {
			return nil, nil
		}
		sh, ok := m.shapes[ref.Shape]
		if !ok {
			return nil, fmt.Errorf("awsmodel: %s refers to unknown shape %q", from, ref.Shape)
		}
		return sh, nil
	}
	var err error
	for name, s := range f.Shapes {
		sh := m.shapes[name]
		sh.typ, sh.required, sh.min, sh.max, sh.enum = s.Type, s.Required, s.Min, s.Max, s.Enum
		for _, mr := range s.Members {
			target, err := resolve(&shapeRef{Shape: mr.target}, name+"."+mr.name)
			if err != nil {
				return nil, err
			}
			sh.members = append(sh.members, member{name: mr.name, shape: target})
		}
		if sh.member, err = resolve(s.Member, name); err != nil {
			return nil, err
		}
		if sh.key, err = resolve(s.Key, name); err != nil {
			return nil, err
		}
		if sh.value, err = resolve(s.Value, name); err != nil {
			return nil, err
		}
		if s.Pattern != "" {
			sh.pattern = s.Pattern
			if sh.re, err = regexp.Compile(goPattern(s.Pattern)); err != nil {
				m.skipped = append(m.skipped, name)
			}
		}
	}
	slices.Sort(m.skipped)
	for name, o := range f.Operations {
		op := &Operation{name: name}
		if op.input, err = resolve(o.Input, name); err != nil {
			return nil, err
		}
		for _, e := range o.Errors {
			if !slices.Contains(op.errors, e.Shape) {
				op.errors = append(op.errors, e.Shape)
			}
		}
		m.operations[name] = op
	}
	return m, nil
}

var (
	surrogatePair = regexp.MustCompile(`\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}`)
	unicodeEscape = regexp.MustCompile(`\\u([0-9a-fA-F]{4})`)
)

// goPattern rewrites the Java escapes of a model pattern that Go's regexp
// syntax lacks: \uXXXX becomes \x{XXXX}, and a pair of escaped UTF-16
// surrogates becomes the one code point they encode.
func goPattern(p string) string {
	p = surrogatePair.ReplaceAllStringFunc(p, func(s string) string {
		hi, _ := strconv.ParseUint(s[2:6], 16, 16)
		lo, _ := strconv.ParseUint(s[8:12], 16, 16)
		return fmt.Sprintf(`\x{%X}`, utf16.DecodeRune(rune(hi), rune(lo)))
	})
	return unicodeEscape.ReplaceAllString(p, `\x{$1}`)
}
