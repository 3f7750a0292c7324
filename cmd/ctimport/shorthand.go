package main

import (
	"encoding/json"
	"fmt"
	"strings"
)

// parseShorthand reads a structured option value the way the AWS CLI does:
// JSON when it is JSON, otherwise the AWS CLI shorthand syntax, such as
// S3={S3LocationUri=s3://bucket/,S3BucketRegion=us-east-1}. Values are
// map[string]any, []any or string.
func parseShorthand(s string) (any, error) {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[") {
		var v any
		if err := json.Unmarshal([]byte(t), &v); err == nil {
			return v, nil
		}
	}
	p := &shorthand{s: t}
	var v any
	var err error
	if strings.HasPrefix(t, "[") {
		v, err = p.value()
	} else {
		v, err = p.pairs(0)
	}
	if err != nil {
		return nil, err
	}
	if p.i < len(p.s) {
		return nil, p.errorf("unexpected %q", p.s[p.i:])
	}
	return v, nil
}

type shorthand struct {
	s string
	i int
}

func (p *shorthand) errorf(format string, args ...any) error {
	return fmt.Errorf("invalid shorthand syntax at character %d: %s", p.i+1, fmt.Sprintf(format, args...))
}

// peek returns the next byte after blanks, or 0 at the end.
func (p *shorthand) peek() byte {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
	if p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

// pairs reads key=value pairs separated by commas, up to close (0 for the
// end of the input).
func (p *shorthand) pairs(close byte) (map[string]any, error) {
	m := make(map[string]any)
	for {
		start := p.i
		for p.i < len(p.s) && p.s[p.i] != '=' && p.s[p.i] != ',' && p.s[p.i] != close {
			p.i++
		}
		key := strings.TrimSpace(p.s[start:p.i])
		if key == "" || p.peek() != '=' {
			return nil, p.errorf("expected key=value")
		}
		p.i++
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		if _, dup := m[key]; dup {
			return nil, p.errorf("%s is given twice", key)
		}
		m[key] = v
		if p.peek() != ',' {
			return m, nil
		}
		p.i++
	}
}

func (p *shorthand) value() (any, error) {
	switch p.peek() {
	case '{':
		p.i++
		m, err := p.pairs('}')
		if err != nil {
			return nil, err
		}
		if p.peek() != '}' {
			return nil, p.errorf("expected }")
		}
		p.i++
		return m, nil
	case '[':
		p.i++
		list := []any{}
		for p.peek() != ']' {
			v, err := p.value()
			if err != nil {
				return nil, err
			}
			list = append(list, v)
			if p.peek() == ',' {
				p.i++
			} else if p.peek() != ']' {
				return nil, p.errorf("expected , or ]")
			}
		}
		p.i++
		return list, nil
	case '"', '\'':
		q := p.s[p.i]
		end := strings.IndexByte(p.s[p.i+1:], q)
		if end < 0 {
			return nil, p.errorf("unterminated quote")
		}
		v := p.s[p.i+1 : p.i+1+end]
		p.i += end + 2
		return v, nil
	}
	start := p.i
	for p.i < len(p.s) && !strings.ContainsRune(",}]", rune(p.s[p.i])) {
		p.i++
	}
	return strings.TrimSpace(p.s[start:p.i]), nil
}
