package duckdbsink

import (
	"sort"
	"strings"
)

// quoteIdent returns s as a quoted SQL identifier.
func quoteIdent(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
}

// segKind is the kind of a piece of SQL text.
type segKind int

const (
	segCode    segKind = iota // keywords, bare identifiers, operators, numbers, white space
	segString                 // a string literal: '...', E'...' or $tag$...$tag$
	segQuoted                 // a quoted identifier: "..."
	segComment                // -- ... or /* ... */
)

// segment is s[start:end] of one kind.
type segment struct {
	kind       segKind
	start, end int
}

// segments splits a statement into code, literals, quoted identifiers and
// comments, following DuckDB's lexical rules. An unterminated literal or
// comment runs to the end of the text.
func segments(s string) []segment {
	var segs []segment
	code := 0
	emit := func(kind segKind, start, end int) {
		if code < start {
			segs = append(segs, segment{segCode, code, start})
		}
		segs = append(segs, segment{kind, start, end})
		code = end
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '-' && strings.HasPrefix(s[i:], "--"):
			end := strings.IndexByte(s[i:], '\n')
			if end < 0 {
				end = len(s)
			} else {
				end += i + 1
			}
			emit(segComment, i, end)
			i = end
		case c == '/' && strings.HasPrefix(s[i:], "/*"):
			end := blockCommentEnd(s, i)
			emit(segComment, i, end)
			i = end
		case c == '\'':
			start := i
			escapes := i > 0 && (s[i-1] == 'e' || s[i-1] == 'E') && (i == 1 || !isIdentByte(s[i-2]))
			if escapes {
				start = i - 1
			}
			end := quotedEnd(s, i, '\'', escapes)
			emit(segString, start, end)
			i = end
		case c == '"':
			end := quotedEnd(s, i, '"', false)
			emit(segQuoted, i, end)
			i = end
		case c == '$' && (i == 0 || !isIdentByte(s[i-1])):
			tag, ok := dollarTag(s[i:])
			if !ok {
				i++
				continue
			}
			end := strings.Index(s[i+len(tag):], tag)
			if end < 0 {
				end = len(s)
			} else {
				end += i + 2*len(tag)
			}
			emit(segString, i, end)
			i = end
		default:
			i++
		}
	}
	if code < len(s) {
		segs = append(segs, segment{segCode, code, len(s)})
	}
	return segs
}

// blockCommentEnd returns the end of the (nestable) block comment at s[i:].
func blockCommentEnd(s string, i int) int {
	depth := 0
	for i < len(s) {
		switch {
		case strings.HasPrefix(s[i:], "/*"):
			depth++
			i += 2
		case strings.HasPrefix(s[i:], "*/"):
			depth--
			i += 2
			if depth == 0 {
				return i
			}
		default:
			i++
		}
	}
	return len(s)
}

// quotedEnd returns the end of the text quoted by q at s[i:]. A doubled
// quote stands for itself; with escapes, so does a backslash sequence.
func quotedEnd(s string, i int, q byte, escapes bool) int {
	for j := i + 1; j < len(s); j++ {
		switch s[j] {
		case '\\':
			if escapes {
				j++
			}
		case q:
			if j+1 < len(s) && s[j+1] == q {
				j++
				continue
			}
			return j + 1
		}
	}
	return len(s)
}

// dollarTag returns the opening tag ($$ or $name$) of a dollar-quoted string
// at the start of s.
func dollarTag(s string) (string, bool) {
	for j := 1; j < len(s); j++ {
		c := s[j]
		switch {
		case c == '$':
			return s[:j+1], true
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80:
		case c >= '0' && c <= '9' && j > 1:
		default:
			return "", false
		}
	}
	return "", false
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c >= 0x80
}

// rewriteStoreIDs quotes every bare occurrence of one of ids in the code of
// statement, so that an event data store ID such as
// 3f1c0a7e-0b4c-4b8e-9d55-7d2c1f0e8a11, which is not a valid bare
// identifier, names its table as it does in CloudTrail Lake. IDs are
// matched case-insensitively, as DuckDB matches identifiers.
func rewriteStoreIDs(statement string, ids []string) string {
	if len(ids) == 0 {
		return statement
	}
	ids = append([]string(nil), ids...)
	sort.Slice(ids, func(i, j int) bool { return len(ids[i]) > len(ids[j]) })
	var b strings.Builder
	last := 0
	for _, seg := range segments(statement) {
		if seg.kind != segCode {
			continue
		}
		for i := seg.start; i < seg.end; i++ {
			if i > seg.start && (isIdentByte(statement[i-1]) || statement[i-1] == '-') {
				continue
			}
			for _, id := range ids {
				end := i + len(id)
				if id == "" || end > seg.end || !strings.EqualFold(statement[i:end], id) || !tokenEnds(statement[:seg.end], end) {
					continue
				}
				b.WriteString(statement[last:i])
				b.WriteString(quoteIdent(id))
				last = end
				i = end - 1
				break
			}
		}
	}
	if last == 0 {
		return statement
	}
	b.WriteString(statement[last:])
	return b.String()
}

// tokenEnds reports whether a bare word of s ends at i.
func tokenEnds(s string, i int) bool {
	if i == len(s) {
		return true
	}
	if s[i] == '-' {
		return strings.HasPrefix(s[i:], "--")
	}
	return !isIdentByte(s[i])
}

// splitStatement returns statement without the semicolons, white space and
// comments that end it, and whether more than one statement remains.
func splitStatement(statement string) (body string, multiple bool) {
	end := 0
	sawSemicolon := false
	for _, seg := range segments(statement) {
		if seg.kind == segComment {
			continue
		}
		if seg.kind != segCode {
			if sawSemicolon {
				multiple = true
			}
			end = seg.end
			continue
		}
		for i := seg.start; i < seg.end; i++ {
			switch c := statement[i]; {
			case c == ';':
				sawSemicolon = true
			case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v':
			default:
				if sawSemicolon {
					multiple = true
				}
				end = i + 1
			}
		}
	}
	return statement[:end], multiple
}

// textType returns the DuckDB type typ, as DESCRIBE prints it, with JSON
// and UUID replaced by VARCHAR wherever they occur in it, e.g.
// STRUCT("json" JSON, ids UUID[]) becomes STRUCT("json" VARCHAR, ids
// VARCHAR[]). It returns typ itself when it cannot parse it.
func textType(typ string) string {
	out, rest, ok := parseType(typ)
	if !ok || rest != "" {
		return typ
	}
	return out
}

// parseType rewrites the type at the start of s as textType does, and
// returns the rest of s.
func parseType(s string) (out, rest string, ok bool) {
	end := strings.IndexAny(s, "(),[]")
	if end < 0 {
		end = len(s)
	}
	name := s[:end]
	var b strings.Builder
	switch name {
	case "JSON", "UUID":
		b.WriteString("VARCHAR")
	default:
		b.WriteString(name)
	}
	s = s[end:]
	if strings.HasPrefix(s, "(") {
		var args string
		switch name {
		case "STRUCT", "UNION":
			args, s, ok = parseFields(s[1:])
		case "MAP":
			args, s, ok = parseTypeList(s[1:])
		default:
			args, s, ok = skipArgs(s[1:])
		}
		if !ok {
			return "", "", false
		}
		b.WriteString("(" + args + ")")
	}
	for strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", false
		}
		b.WriteString(s[:end+1])
		s = s[end+1:]
	}
	return b.String(), s, name != ""
}

// parseFields rewrites the "name type, …)" fields of a STRUCT or UNION.
func parseFields(s string) (out, rest string, ok bool) {
	var b strings.Builder
	for {
		var name string
		if strings.HasPrefix(s, `"`) {
			end := quotedEnd(s, 0, '"', false)
			name, s = s[:end], s[end:]
		} else {
			end := strings.IndexByte(s, ' ')
			if end < 0 {
				return "", "", false
			}
			name, s = s[:end], s[end:]
		}
		if !strings.HasPrefix(s, " ") {
			return "", "", false
		}
		typ, r, ok := parseType(s[1:])
		if !ok {
			return "", "", false
		}
		b.WriteString(name + " " + typ)
		switch {
		case strings.HasPrefix(r, ", "):
			b.WriteString(", ")
			s = r[2:]
		case strings.HasPrefix(r, ")"):
			return b.String(), r[1:], true
		default:
			return "", "", false
		}
	}
}

// parseTypeList rewrites the "type, …)" arguments of a MAP.
func parseTypeList(s string) (out, rest string, ok bool) {
	var b strings.Builder
	for {
		typ, r, ok := parseType(s)
		if !ok {
			return "", "", false
		}
		b.WriteString(typ)
		switch {
		case strings.HasPrefix(r, ", "):
			b.WriteString(", ")
			s = r[2:]
		case strings.HasPrefix(r, ")"):
			return b.String(), r[1:], true
		default:
			return "", "", false
		}
	}
}

// skipArgs returns, unchanged, the arguments of a type such as DECIMAL(18,
// 3) or ENUM('a', 'b'), up to the closing parenthesis.
func skipArgs(s string) (out, rest string, ok bool) {
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\'':
			i = quotedEnd(s, i, '\'', false) - 1
		case ')':
			return s[:i], s[i+1:], true
		}
	}
	return "", "", false
}
