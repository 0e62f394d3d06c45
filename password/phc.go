package password

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrMalformedHash is wrapped by every error Verify returns for an encoded
// hash that is not a well-formed argon2id PHC string within bounds.
var ErrMalformedHash = errors.New("password: malformed hash")

// maxPHCLen bounds an encoded hash before it is split or decoded. The
// longest string within the parameter bounds is about 210 bytes.
const maxPHCLen = 256

// phc is a parsed PHC string.
type phc struct {
	params Params // SaltLen and KeyLen are len(salt) and len(key)
	salt   []byte
	key    []byte
}

var b64 = base64.RawStdEncoding.Strict()

// encode returns the PHC string
// $argon2id$v=19$m=<m>,t=<t>,p=<p>$<salt>$<key>, base64 standard alphabet
// without padding.
func (h phc) encode() string {
	var b strings.Builder
	b.Grow(64 + b64.EncodedLen(len(h.salt)) + b64.EncodedLen(len(h.key)))
	b.WriteString("$argon2id$v=19$m=")
	b.WriteString(strconv.FormatUint(uint64(h.params.Memory), 10))
	b.WriteString(",t=")
	b.WriteString(strconv.FormatUint(uint64(h.params.Time), 10))
	b.WriteString(",p=")
	b.WriteString(strconv.FormatUint(uint64(h.params.Threads), 10))
	b.WriteByte('$')
	b.WriteString(b64.EncodeToString(h.salt))
	b.WriteByte('$')
	b.WriteString(b64.EncodeToString(h.key))
	return b.String()
}

func malformed(reason string) error {
	// NOTE: the reason never quotes the input: hashes are never logged (P6).
	return fmt.Errorf("%w: %s", ErrMalformedHash, reason)
}

// parsePHC parses an argon2id PHC string strictly: exactly the form encode
// writes (version 19, parameters m, t, p in that order, decimal without sign
// or leading zeros, no keyid or data, strict unpadded base64), within the
// bounds of Params.Validate. Anything else is an error wrapping
// ErrMalformedHash. It never panics and allocates at most O(maxPHCLen).
func parsePHC(s string) (phc, error) {
	if len(s) > maxPHCLen {
		return phc{}, malformed("too long")
	}
	fields := strings.SplitN(s, "$", 7)
	if len(fields) != 6 || fields[0] != "" {
		return phc{}, malformed("want $argon2id$v=19$m=…,t=…,p=…$salt$hash")
	}
	if fields[1] != "argon2id" {
		return phc{}, malformed("algorithm is not argon2id")
	}
	if fields[2] != "v=19" {
		return phc{}, malformed("version is not v=19")
	}
	var p Params
	ps := strings.Split(fields[3], ",")
	if len(ps) != 3 {
		return phc{}, malformed("want parameters m=…,t=…,p=…")
	}
	m, err := parseParam(ps[0], "m=", maxMemory)
	if err != nil {
		return phc{}, err
	}
	t, err := parseParam(ps[1], "t=", maxTime)
	if err != nil {
		return phc{}, err
	}
	th, err := parseParam(ps[2], "p=", maxThreads)
	if err != nil {
		return phc{}, err
	}
	p.Memory, p.Time, p.Threads = m, t, uint8(th)
	salt, err := decodeB64(fields[4], "salt")
	if err != nil {
		return phc{}, err
	}
	key, err := decodeB64(fields[5], "hash")
	if err != nil {
		return phc{}, err
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	if reason := p.outOfBounds(); reason != "" {
		return phc{}, malformed(reason)
	}
	return phc{params: p, salt: salt, key: key}, nil
}

// parseParam parses "<prefix><decimal>" with the decimal at most max.
func parseParam(s, prefix string, max uint32) (uint32, error) {
	name := prefix[:1]
	v, ok := strings.CutPrefix(s, prefix)
	if !ok {
		return 0, malformed("want parameters m=…,t=…,p=… in that order")
	}
	if v == "" || len(v) > 10 || (len(v) > 1 && v[0] == '0') {
		return 0, malformed("parameter " + name + " is not a canonical decimal")
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return 0, malformed("parameter " + name + " is not a canonical decimal")
		}
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || n > uint64(max) {
		return 0, malformed("parameter " + name + " out of range")
	}
	return uint32(n), nil
}

// decodeB64 decodes unpadded standard base64, refusing anything outside the
// alphabet (encoding/base64 silently skips CR and LF, even when Strict) and
// non-zero trailing bits.
func decodeB64(s, what string) ([]byte, error) {
	if s == "" {
		return nil, malformed(what + " is empty")
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '+' || c == '/') {
			return nil, malformed(what + " is not unpadded standard base64")
		}
	}
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, malformed(what + " is not unpadded standard base64")
	}
	return b, nil
}
