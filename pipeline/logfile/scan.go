package logfile

import (
	"encoding/binary"
	"errors"
	"math/bits"
	"strconv"
	"unicode/utf8"
)

// errNeedMore reports that the bytes at hand end inside the value being
// scanned. The decoder then reads more input and scans the value again.
var errNeedMore = errors.New("logfile: need more input")

// plain marks the bytes a string may hold without a closer look: not a
// quote, a backslash, a control character or a non-ASCII byte.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// special returns a word with the high bit set in each byte of w that is
// not plain. Above the lowest such byte it may set bits of plain bytes too,
// so only the lowest set bit is meaningful.
func special(w uint64) uint64 {
	const lo, hi = 0x0101010101010101, 0x8080808080808080
	q := w ^ (lo * '"')
	s := w ^ (lo * '\\')
	return (w | ((q - lo) &^ q) | ((s - lo) &^ s) | ((w - lo*0x20) &^ w)) & hi
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\r' || c == '\t'
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && b[i] <= ' ' && isSpace(b[i]) {
		i++
	}
	return i
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// errAt returns an *Error of kind at index i of the buffer.
func (d *Decoder) errAt(kind error, i int, msg string) *Error {
	return &Error{Err: kind, Record: d.cur, Offset: d.base + int64(i), Msg: msg}
}

// syntaxAt reports the unexpected byte b[i].
func (d *Decoder) syntaxAt(b []byte, i int, context string) error {
	return d.errAt(ErrSyntax, i, "invalid character "+quoteByte(b[i])+" "+context)
}

func (d *Decoder) tooDeep(i int) error {
	return d.errAt(ErrTooDeep, i, "json is nested more than "+strconv.Itoa(d.maxDepth)+" levels deep")
}

// scanString scans the string whose opening quote is b[i]. It returns the
// index just past the closing quote and whether the string holds escapes;
// it sets d.bad when the string holds invalid UTF-8.
func (d *Decoder) scanString(b []byte, i int) (int, bool, error) {
	esc := false
	i++
	for {
		if i+8 <= len(b) {
			m := special(binary.LittleEndian.Uint64(b[i:]))
			if m == 0 {
				i += 8
				continue
			}
			i += bits.TrailingZeros64(m) >> 3
		} else {
			for i < len(b) && plain[b[i]] {
				i++
			}
			if i >= len(b) {
				return 0, false, errNeedMore
			}
		}
		switch c := b[i]; {
		case c == '"':
			return i + 1, esc, nil
		case c == '\\':
			esc = true
			if i+1 >= len(b) {
				return 0, false, errNeedMore
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				for j := i + 2; j < i+6; j++ {
					if j >= len(b) {
						return 0, false, errNeedMore
					}
					if !isHex(b[j]) {
						return 0, false, d.syntaxAt(b, j, "in \\u hexadecimal character escape")
					}
				}
				i += 6
			default:
				return 0, false, d.syntaxAt(b, i+1, "in string escape code")
			}
		case c < 0x20:
			return 0, false, d.syntaxAt(b, i, "in string literal")
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				if !utf8.FullRune(b[i:]) {
					return 0, false, errNeedMore
				}
				d.bad = true
			}
			i += size
		}
	}
}

// scanNumber scans the number starting at b[i] and returns the index just
// past it. A number running to the end of b may go on, so it needs more.
func (d *Decoder) scanNumber(b []byte, i int) (int, error) {
	if b[i] == '-' {
		if i++; i >= len(b) {
			return 0, errNeedMore
		}
	}
	switch {
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
	default:
		return 0, d.syntaxAt(b, i, "in numeric literal")
	}
	if i >= len(b) {
		return 0, errNeedMore
	}
	if b[i] == '.' {
		if i++; i >= len(b) {
			return 0, errNeedMore
		}
		if !isDigit(b[i]) {
			return 0, d.syntaxAt(b, i, "after decimal point in numeric literal")
		}
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
		if i >= len(b) {
			return 0, errNeedMore
		}
	}
	if b[i] == 'e' || b[i] == 'E' {
		if i++; i >= len(b) {
			return 0, errNeedMore
		}
		if b[i] == '+' || b[i] == '-' {
			if i++; i >= len(b) {
				return 0, errNeedMore
			}
		}
		if !isDigit(b[i]) {
			return 0, d.syntaxAt(b, i, "in exponent of numeric literal")
		}
		for i++; i < len(b) && isDigit(b[i]); i++ {
		}
		if i >= len(b) {
			return 0, errNeedMore
		}
	}
	return i, nil
}

// scanLiteral scans the literal true, false or null that b[i] begins.
func (d *Decoder) scanLiteral(b []byte, i int) (int, error) {
	var lit string
	switch b[i] {
	case 't':
		lit = "true"
	case 'f':
		lit = "false"
	default:
		lit = "null"
	}
	for k := 1; k < len(lit); k++ {
		if i+k >= len(b) {
			return 0, errNeedMore
		}
		if b[i+k] != lit[k] {
			return 0, d.syntaxAt(b, i+k, "in literal "+lit+" (expecting "+quoteByte(lit[k])+")")
		}
	}
	return i + len(lit), nil
}

// scanValue scans the JSON value starting at b[i] and returns the index
// just past it. depth is the nesting depth of the value's container.
func (d *Decoder) scanValue(b []byte, i, depth int) (int, error) {
	switch c := b[i]; c {
	case '"':
		i, _, err := d.scanString(b, i)
		return i, err
	case '{', '[':
		return d.scanNested(b, i, depth)
	case 't', 'f', 'n':
		return d.scanLiteral(b, i)
	default:
		if c == '-' || isDigit(c) {
			return d.scanNumber(b, i)
		}
		return 0, d.syntaxAt(b, i, "looking for beginning of value")
	}
}

// scanNested scans the object or array starting at b[i] without
// recursion: d.stack holds the open brackets.
func (d *Decoder) scanNested(b []byte, i, depth int) (int, error) {
	stack := d.stack[:0]
	var err error
open:
	if depth++; depth > d.maxDepth {
		d.stack = stack
		return 0, d.tooDeep(i)
	}
	stack = append(stack, b[i])
	if i = skipSpace(b, i+1); i >= len(b) {
		goto more
	}
	if b[i] == stack[len(stack)-1]+2 { // '{'+2 is '}' and '['+2 is ']'
		goto closed
	}
	if stack[len(stack)-1] == '[' {
		goto value
	}
key:
	if b[i] != '"' {
		d.stack = stack
		return 0, d.syntaxAt(b, i, "looking for beginning of object key string")
	}
	if i, _, err = d.scanString(b, i); err != nil {
		goto fail
	}
	if i = skipSpace(b, i); i >= len(b) {
		goto more
	}
	if b[i] != ':' {
		d.stack = stack
		return 0, d.syntaxAt(b, i, "after object key")
	}
	if i = skipSpace(b, i+1); i >= len(b) {
		goto more
	}
value:
	switch c := b[i]; {
	case c == '"':
		i, _, err = d.scanString(b, i)
	case c == '{' || c == '[':
		goto open
	case c == 't' || c == 'f' || c == 'n':
		i, err = d.scanLiteral(b, i)
	case c == '-' || isDigit(c):
		i, err = d.scanNumber(b, i)
	default:
		d.stack = stack
		return 0, d.syntaxAt(b, i, "looking for beginning of value")
	}
	if err != nil {
		goto fail
	}
next:
	if len(stack) == 0 {
		d.stack = stack
		return i, nil
	}
	if i = skipSpace(b, i); i >= len(b) {
		goto more
	}
	if b[i] == ',' {
		if i = skipSpace(b, i+1); i >= len(b) {
			goto more
		}
		if stack[len(stack)-1] == '{' {
			goto key
		}
		goto value
	}
	if b[i] != stack[len(stack)-1]+2 {
		d.stack = stack
		if stack[len(stack)-1] == '{' {
			return 0, d.syntaxAt(b, i, "after object key:value pair")
		}
		return 0, d.syntaxAt(b, i, "after array element")
	}
closed:
	i++
	depth--
	stack = stack[:len(stack)-1]
	goto next
more:
	err = errNeedMore
fail:
	d.stack = stack
	return 0, err
}
