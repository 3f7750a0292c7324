package corpus

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/gzip"
)

// field is a value of a record that Generate fills in.
type field uint8

const (
	literal field = iota
	fieldTime
	fieldID
	fieldRegion
	fieldAccount
)

// replaced are the members of a record that Generate rewrites, in the
// order they are added to a record lacking them.
var replaced = []struct {
	name  string
	field field
}{
	{"eventTime", fieldTime},
	{"eventID", fieldID},
	{"awsRegion", fieldRegion},
	{"recipientAccountId", fieldAccount},
}

// part is a piece of a template: literal text, or a field to fill in.
type part struct {
	field field
	text  []byte
}

// template is a real record, compacted and cut around the string values
// Generate replaces.
type template []part

// loadTemplates reads the records of every log file (.json.gz or .json)
// below dir, in path order.
func loadTemplates(dir string) ([]template, error) {
	var out []template
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !(strings.HasSuffix(path, ".json.gz") || strings.HasSuffix(path, ".json")) {
			return nil
		}
		records, err := readRecords(path)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		for i, r := range records {
			t, err := cut(r)
			if err != nil {
				return fmt.Errorf("%s: record %d: %w", path, i, err)
			}
			out = append(out, t)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("corpus: read records: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("corpus: no CloudTrail records below %s", dir)
	}
	return out, nil
}

func readRecords(path string) ([]json.RawMessage, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		r = zr
	}
	var doc struct{ Records []json.RawMessage }
	if err := json.NewDecoder(r).Decode(&doc); err != nil {
		return nil, err
	}
	return doc.Records, nil
}

// cut compacts the record raw and cuts it around the values of the
// replaced members, adding those it lacks.
func cut(raw json.RawMessage) (template, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("not a JSON object")
	}
	var t template
	var b bytes.Buffer
	have := map[field]bool{}
	put := func(name string, f field) {
		k, _ := json.Marshal(name)
		b.Write(k)
		b.WriteString(`:"`)
		t = append(t, part{text: bytes.Clone(b.Bytes())}, part{field: f})
		b.Reset()
		b.WriteByte('"')
		have[f] = true
	}
	b.WriteByte('{')
	members := 0
	sep := func() {
		if members > 0 {
			b.WriteByte(',')
		}
		members++
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := tok.(string)
		var val json.RawMessage
		if err := dec.Decode(&val); err != nil {
			return nil, err
		}
		sep()
		if f, ok := replacedField(name); ok && !have[f] {
			put(name, f)
			continue
		}
		k, _ := json.Marshal(name)
		b.Write(k)
		b.WriteByte(':')
		if err := json.Compact(&b, val); err != nil {
			return nil, err
		}
	}
	for _, r := range replaced {
		if !have[r.field] {
			sep()
			put(r.name, r.field)
		}
	}
	b.WriteByte('}')
	return append(t, part{text: bytes.Clone(b.Bytes())}), nil
}

func replacedField(name string) (field, bool) {
	for _, r := range replaced {
		if r.name == name {
			return r.field, true
		}
	}
	return literal, false
}
