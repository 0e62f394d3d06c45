package jws

import (
	"bytes"
	"encoding/json"
)

// walker walks one JSON document, the decoded header or payload, as a
// strict validator: it accepts exactly what json.Valid accepts, less
// duplicate member names, nesting deeper than MaxDepth and a top-level
// value other than an object, and hands each top-level member to
// headerMember or claim. It never reads past the end of b and allocates
// only to unescape a name or header value that has escapes or non-ASCII
// bytes, and for an object of more than 16 members.
type walker struct {
	b      []byte
	i      int
	p      *Profile
	t      *Token
	header bool // walking the header, else the payload

	// the header's
	haveAlg, haveTyp bool
	have             Header // kid, jwk seen
	typ              []byte

	// the payload's
	next int // where claim starts its search of p.Claims
}

// document walks b as one JSON object and nothing else.
func (w *walker) document() error {
	w.space()
	if w.peek() != '{' {
		return errSyntax
	}
	if err := w.object(1); err != nil {
		return err
	}
	w.space()
	if w.i != len(w.b) {
		return errSyntax
	}
	return nil
}

// peek returns the byte at w.i, or 0 at the end (0 is valid nowhere).
func (w *walker) peek() byte {
	if w.i < len(w.b) {
		return w.b[w.i]
	}
	return 0
}

func (w *walker) space() {
	for w.i < len(w.b) {
		switch w.b[w.i] {
		case ' ', '\t', '\r', '\n':
			w.i++
		default:
			return
		}
	}
}

// object walks the object at w.i (its '{'), at depth (the top-level
// object is at 1).
func (w *walker) object(depth int) error {
	if more, err := w.open(depth, '}'); !more {
		return err
	}
	var buf [16][]byte
	names := buf[:0]
	var many map[string]struct{} // replaces names past 16 members
	for {
		if w.peek() != '"' {
			return errSyntax
		}
		name, err := w.str(true)
		if err != nil {
			return err
		}
		if many == nil && len(names) == cap(names) {
			many = make(map[string]struct{}, 2*len(names))
			for _, n := range names {
				many[string(n)] = struct{}{}
			}
		}
		if many != nil {
			if _, dup := many[string(name)]; dup {
				return errDuplicate
			}
			many[string(name)] = struct{}{}
		} else {
			for _, n := range names {
				if bytes.Equal(n, name) {
					return errDuplicate
				}
			}
			names = append(names, name)
		}
		w.space()
		if w.peek() != ':' {
			return errSyntax
		}
		w.i++
		w.space()
		switch {
		case depth > 1:
			err = w.value(depth)
		case w.header:
			err = w.headerMember(name)
		default:
			err = w.claim(name)
		}
		if err != nil {
			return err
		}
		if more, err := w.after('}'); !more {
			return err
		}
	}
}

// array walks the array at w.i (its '['), at depth.
func (w *walker) array(depth int) error {
	if more, err := w.open(depth, ']'); !more {
		return err
	}
	for {
		if err := w.value(depth); err != nil {
			return err
		}
		if more, err := w.after(']'); !more {
			return err
		}
	}
}

// open walks the opening bracket at w.i of a container at depth, and
// reports whether a member or element follows (false when the container
// closes at once, or on an error).
func (w *walker) open(depth int, closing byte) (more bool, err error) {
	if depth > MaxDepth {
		return false, errTooDeep
	}
	w.i++
	w.space()
	if w.peek() == closing {
		w.i++
		return false, nil
	}
	return true, nil
}

// after walks what follows a member or element: a comma, and then reports
// true, or the container's closing bracket (false). Anything else is an
// error.
func (w *walker) after(closing byte) (more bool, err error) {
	w.space()
	switch w.peek() {
	case ',':
		w.i++
		w.space()
		return true, nil
	case closing:
		w.i++
		return false, nil
	}
	return false, errSyntax
}

// value walks the value at w.i, inside a container at depth.
func (w *walker) value(depth int) error {
	switch c := w.peek(); {
	case c == '{':
		return w.object(depth + 1)
	case c == '[':
		return w.array(depth + 1)
	case c == '"':
		_, err := w.str(false)
		return err
	case c == 't':
		return w.literal("true")
	case c == 'f':
		return w.literal("false")
	case c == 'n':
		return w.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		return w.number()
	}
	return errSyntax
}

func (w *walker) literal(lit string) error {
	if len(w.b)-w.i < len(lit) || string(w.b[w.i:w.i+len(lit)]) != lit {
		return errSyntax
	}
	w.i += len(lit)
	return nil
}

// number walks -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? (RFC 8259 §6).
func (w *walker) number() error {
	if w.peek() == '-' {
		w.i++
	}
	switch c := w.peek(); {
	case c == '0':
		w.i++
	case '1' <= c && c <= '9':
		w.digits()
	default:
		return errSyntax
	}
	if w.peek() == '.' {
		w.i++
		if !w.digits() {
			return errSyntax
		}
	}
	if c := w.peek(); c == 'e' || c == 'E' {
		w.i++
		if c := w.peek(); c == '+' || c == '-' {
			w.i++
		}
		if !w.digits() {
			return errSyntax
		}
	}
	return nil
}

// digits walks [0-9]* and reports whether there was one.
func (w *walker) digits() bool {
	start := w.i
	for w.i < len(w.b) && '0' <= w.b[w.i] && w.b[w.i] <= '9' {
		w.i++
	}
	return w.i > start
}

// str walks the string at w.i (its opening quote). With unescape it
// returns the content as a decoder sees it: escapes and non-ASCII go
// through encoding/json, so that invalid UTF-8 becomes U+FFFD exactly as
// in the caller's decoder. Without, it returns nil.
func (w *walker) str(unescape bool) ([]byte, error) {
	start := w.i
	plain := true
	for j := start + 1; j < len(w.b); j++ {
		switch c := w.b[j]; {
		case c == '"':
			w.i = j + 1
			switch {
			case !unescape:
				return nil, nil
			case plain:
				return w.b[start+1 : j : j], nil
			}
			var s string
			if json.Unmarshal(w.b[start:w.i], &s) != nil {
				return nil, errSyntax // not reached: the string is valid
			}
			return []byte(s), nil
		case c == '\\':
			plain = false
			j++
			if j >= len(w.b) {
				return nil, errSyntax
			}
			switch w.b[j] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(w.b)-j <= 4 || !isHex(w.b[j+1]) || !isHex(w.b[j+2]) || !isHex(w.b[j+3]) || !isHex(w.b[j+4]) {
					return nil, errSyntax
				}
				j += 4
			default:
				return nil, errSyntax
			}
		case c < 0x20:
			return nil, errSyntax
		case c >= 0x80:
			plain = false
		}
	}
	return nil, errSyntax
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}
