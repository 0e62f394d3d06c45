package redis

import (
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math"
	"net/netip"
	"strings"
	"time"

	"github.com/authd/authd"
)

// A session record is the value of a session's hash key: every field of
// authd.Session but Hash (which is the key), packed in a compact binary form
// so that one GET is one validation and 10 million sessions fit in a few GB.
//
//	offset  size  field
//	0       1     format version (recordV2; recordV1 is still read)
//	1       8     LastSeenAt, µs since the Unix epoch, big-endian int64
//	9       8     ExpiresAt
//	17      8     CreatedAt
//	25      8     AbsoluteExpiresAt
//	33      1     flags: which of ID, UserID and IP are packed, and Pending
//	              (below)
//	34      …     ID, UserID, Email, IP, UserAgent (compacted, see uaTokens):
//	              each a uvarint length then the bytes, except that an ID or
//	              UserID that is the base64url form of 16 bytes (as
//	              authd.NewID makes) is those 16 bytes, and an IP address in
//	              its canonical text form is its 4 or 16 bytes, without length;
//	              then a uvarint count of Roles and each role likewise;
//	              then (version 2 only) a uvarint count of AMR and each
//	              method likewise.
//
// A version 1 record (written before sessions recorded their sign-in) has
// no AMR and no Pending flag: it reads back with AMR nil and Pending false,
// a password sign-in. Records are written as version 2.
//
// NOTE: a node of an authd that knows version 1 only refuses a version 2
// record as malformed (an error, never a session without its pending
// flag): while nodes are upgraded one by one, a session created on a new
// node fails its lookups on an old one.
//
// The four times come first, at fixed offsets, so that TouchSession can
// rewrite LastSeenAt and ExpiresAt with SETRANGE inside a script and the
// script can read ExpiresAt and AbsoluteExpiresAt with struct.unpack. A zero
// time.Time is stored as math.MinInt64. Both versions keep these offsets.
const (
	recordV1        = 1
	recordV2        = 2
	offLastSeen     = 1
	offExpires      = 9
	offCreated      = 17
	offAbsExpires   = 25
	offFlags        = 33
	recordFixedSize = 34
)

// Flags of packed fields.
const (
	flagIDRaw   = 1 << iota // ID is 16 raw bytes
	flagUserRaw             // UserID is 16 raw bytes
	flagIPv4                // IP is 4 raw bytes
	flagIPv6                // IP is 16 raw bytes
	flagPending             // Pending (version 2 only)
)

// flagsV1 are the flags a version 1 record may hold.
const flagsV1 = flagIDRaw | flagUserRaw | flagIPv4 | flagIPv6

var errBadRecord = errors.New("malformed session record")

func micros(t time.Time) int64 {
	if t.IsZero() {
		return math.MinInt64
	}
	return t.UnixMicro()
}

func fromMicros(us int64) time.Time {
	if us == math.MinInt64 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

// millisCeil is the PEXPIREAT value for a time stored in µs: the first
// millisecond at or after it, so a key never expires before its data does.
func millisCeil(t time.Time) int64 {
	us := micros(t)
	if us <= 0 {
		return 1 // the epoch: already expired
	}
	return (us + 999) / 1000
}

// encodeRecord packs s (but s.Hash) into a version 2 record.
func encodeRecord(s *authd.Session) []byte {
	ua := compactUA(s.UserAgent)
	n := recordFixedSize + len(s.ID) + len(s.UserID) + len(s.Email) + len(s.IP) + len(ua) + 7*binary.MaxVarintLen32
	for _, l := range [][]string{s.Roles, s.AMR} {
		for _, r := range l {
			n += len(r) + binary.MaxVarintLen32
		}
	}
	b := make([]byte, recordFixedSize, n)
	b[0] = recordV2
	if s.Pending {
		b[offFlags] |= flagPending
	}
	binary.BigEndian.PutUint64(b[offLastSeen:], uint64(micros(s.LastSeenAt)))
	binary.BigEndian.PutUint64(b[offExpires:], uint64(micros(s.ExpiresAt)))
	binary.BigEndian.PutUint64(b[offCreated:], uint64(micros(s.CreatedAt)))
	binary.BigEndian.PutUint64(b[offAbsExpires:], uint64(micros(s.AbsoluteExpiresAt)))
	str := func(f string) {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	for i, id := range []string{s.ID, s.UserID} {
		if raw, ok := rawID(id); ok {
			b[offFlags] |= flagIDRaw << i
			b = append(b, raw[:]...)
		} else {
			str(id)
		}
	}
	str(s.Email)
	if ip, err := netip.ParseAddr(s.IP); err == nil && ip.Zone() == "" && ip.String() == s.IP {
		if ip.Is4() {
			b[offFlags] |= flagIPv4
		} else {
			b[offFlags] |= flagIPv6
		}
		b = append(b, ip.AsSlice()...)
	} else {
		str(s.IP)
	}
	str(ua)
	for _, l := range [][]string{s.Roles, s.AMR} {
		b = binary.AppendUvarint(b, uint64(len(l)))
		for _, r := range l {
			str(r)
		}
	}
	return b
}

// touchBytes is what TouchSession writes at offLastSeen: LastSeenAt then
// ExpiresAt.
func touchBytes(lastSeen, expiresAt time.Time) []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b, uint64(micros(lastSeen)))
	binary.BigEndian.PutUint64(b[8:], uint64(micros(expiresAt)))
	return b
}

// decodeRecord unpacks a record (version 1 or 2) read from Redis. Its
// strings share v's memory (Redis replies are immutable); Roles, AMR and
// Hash are fresh.
func decodeRecord(v string, hash []byte) (*authd.Session, error) {
	if len(v) < recordFixedSize || v[0] != recordV1 && v[0] != recordV2 {
		return nil, errBadRecord
	}
	i64 := func(off int) int64 {
		_ = v[off+7]
		return int64(uint64(v[off])<<56 | uint64(v[off+1])<<48 | uint64(v[off+2])<<40 | uint64(v[off+3])<<32 |
			uint64(v[off+4])<<24 | uint64(v[off+5])<<16 | uint64(v[off+6])<<8 | uint64(v[off+7]))
	}
	s := &authd.Session{
		LastSeenAt:        fromMicros(i64(offLastSeen)),
		ExpiresAt:         fromMicros(i64(offExpires)),
		CreatedAt:         fromMicros(i64(offCreated)),
		AbsoluteExpiresAt: fromMicros(i64(offAbsExpires)),
	}
	if hash != nil {
		s.Hash = append([]byte(nil), hash...)
	}
	flags, known := v[offFlags], byte(flagsV1)
	if v[0] == recordV2 {
		known |= flagPending
	}
	if flags&^known != 0 || flags&flagIPv4 != 0 && flags&flagIPv6 != 0 {
		return nil, errBadRecord
	}
	s.Pending = flags&flagPending != 0
	r := reader{s: v, i: recordFixedSize}
	s.ID, s.UserID = r.ids(flags)
	s.Email = r.str()
	switch {
	case flags&flagIPv4 != 0:
		if b := r.raw(4); b != "" {
			s.IP = netip.AddrFrom4([4]byte([]byte(b))).String()
		}
	case flags&flagIPv6 != 0:
		if b := r.raw(16); b != "" {
			s.IP = netip.AddrFrom16([16]byte([]byte(b))).String()
		}
	default:
		s.IP = r.str()
	}
	ua := r.str()
	s.Roles = r.strs()
	if v[0] == recordV2 {
		s.AMR = r.strs()
	}
	if r.err != nil || r.i != len(v) {
		return nil, errBadRecord
	}
	var err error
	if s.UserAgent, err = expandUA(ua); err != nil {
		return nil, err
	}
	return s, nil
}

// recordUserID returns the UserID of a record without decoding the rest.
func recordUserID(v string) (string, error) {
	if len(v) < recordFixedSize || v[0] != recordV1 && v[0] != recordV2 {
		return "", errBadRecord
	}
	r := reader{s: v, i: recordFixedSize}
	_, u := r.ids(v[offFlags])
	return u, r.err
}

// rawID returns the 16 bytes whose base64url form id is, when it is one.
func rawID(id string) (raw [16]byte, ok bool) {
	if len(id) != 22 {
		return raw, false
	}
	n, err := base64.RawURLEncoding.Strict().Decode(raw[:], []byte(id))
	return raw, err == nil && n == 16
}

// ids reads ID and UserID, each 16 raw bytes when flags say it is packed,
// else a string. Packed ones are encoded into one allocation.
func (r *reader) ids(flags byte) (id, userID string) {
	var raw [2]string
	for i := range raw {
		if flags&(flagIDRaw<<i) != 0 {
			raw[i] = r.raw(16)
		} else {
			raw[i] = r.str()
		}
	}
	if r.err != nil {
		return "", ""
	}
	var buf [44]byte
	n := 0
	for i := range raw {
		if flags&(flagIDRaw<<i) != 0 {
			base64.RawURLEncoding.Encode(buf[n:n+22], []byte(raw[i]))
			n += 22
		}
	}
	enc := string(buf[:n])
	for i := range raw {
		if flags&(flagIDRaw<<i) != 0 {
			raw[i], enc = enc[:22], enc[22:]
		}
	}
	return raw[0], raw[1]
}

// raw reads n bytes.
func (r *reader) raw(n int) string {
	if r.err != nil {
		return ""
	}
	if n > len(r.s)-r.i {
		r.err = errBadRecord
		return ""
	}
	b := r.s[r.i : r.i+n]
	r.i += n
	return b
}

type reader struct {
	s   string
	i   int
	err error
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	var x uint64
	var shift uint
	for j := 0; j < binary.MaxVarintLen64; j++ {
		if r.i >= len(r.s) {
			break
		}
		c := r.s[r.i]
		r.i++
		if c < 0x80 {
			return x | uint64(c)<<shift
		}
		x |= uint64(c&0x7f) << shift
		shift += 7
	}
	r.err = errBadRecord
	return 0
}

// strs reads a uvarint count and that many strings; nil for none.
func (r *reader) strs() []string {
	n := r.uvarint()
	if n == 0 || r.err != nil {
		return nil
	}
	if n > uint64(len(r.s)-r.i) { // each string takes at least a byte
		r.err = errBadRecord
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = r.str()
	}
	return out
}

func (r *reader) str() string {
	n := r.uvarint()
	if r.err != nil {
		return ""
	}
	if n > uint64(len(r.s)-r.i) {
		r.err = errBadRecord
		return ""
	}
	s := r.s[r.i : r.i+int(n)]
	r.i += int(n)
	return s
}

// uaTokens are fragments common in browser User-Agent headers. compactUA
// replaces each with one control byte (its index+1; tab is never used), so
// that a typical 110-byte desktop Chrome UA takes about 25 bytes of Redis
// memory. A control byte in the original text is escaped as uaEscape
// followed by the byte, so every string round-trips.
//
// NOTE: the table is part of record versions 1 and 2: never change or
// reorder it. A new table needs a new record version, and decodeRecord must
// keep the old one.
var uaTokens = [...]string{
	"Mozilla/5.0 (",
	"Windows NT 10.0; Win64; x64) ",
	"AppleWebKit/537.36 (KHTML, like Gecko) ",
	"Chrome/",
	" Safari/537.36",
	"Macintosh; Intel Mac OS X 10_15_7) ",
	"X11; Linux x86_64) ",
	"Gecko/20100101 Firefox/",
	"iPhone; CPU iPhone OS ",
	"Linux; Android ",
	"AppleWebKit/605.1.15 (KHTML, like Gecko) ",
	"Version/",
	" Mobile/15E148 Safari/604.1",
	"Linux; Android 10; K) ",
	" Mobile Safari/537.36",
	" Edg/",
	".0.0.0",
	"iPad; CPU OS ",
	"Windows NT 10.0; Win64; x64; rv:",
	"Macintosh; Intel Mac OS X 10.15; rv:",
	"X11; Ubuntu; Linux x86_64; rv:",
	"X11; Linux x86_64; rv:",
	" OPR/",
	"curl/",
	" like Mac OS X) ",
	"Mobile/15E148",
	"CriOS/",
	"FxiOS/",
	"SamsungBrowser/",
	"Firefox/",
}

const uaEscape = 0x00

// uaCode is the byte that stands for uaTokens[i]: i+1, skipping tab (9),
// which is legal in header values and kept as a plain escaped byte.
func uaCode(i int) byte {
	c := byte(i + 1)
	if c >= '\t' {
		c++
	}
	return c
}

var uaByCode = func() (m [32]int8) {
	for i := range m {
		m[i] = -1
	}
	for i := range uaTokens {
		m[uaCode(i)] = int8(i)
	}
	return m
}()

// compactUA encodes ua with uaTokens, longest match first at each position.
func compactUA(ua string) string {
	var b strings.Builder
	b.Grow(len(ua))
	for i := 0; i < len(ua); {
		best := -1
		for t, tok := range uaTokens {
			if len(tok) > 0 && strings.HasPrefix(ua[i:], tok) && (best < 0 || len(tok) > len(uaTokens[best])) {
				best = t
			}
		}
		if best >= 0 {
			b.WriteByte(uaCode(best))
			i += len(uaTokens[best])
			continue
		}
		if c := ua[i]; c < 0x20 {
			b.WriteByte(uaEscape)
		}
		b.WriteByte(ua[i])
		i++
	}
	return b.String()
}

// expandUA reverses compactUA. Text without control bytes is returned as it
// is, without copying.
func expandUA(c string) (string, error) {
	plain := true
	for i := 0; i < len(c); i++ {
		if c[i] < 0x20 {
			plain = false
			break
		}
	}
	if plain {
		return c, nil
	}
	n := 0
	for i := 0; i < len(c); i++ {
		switch ch := c[i]; {
		case ch == uaEscape:
			i++
			n++
		case ch < 0x20 && uaByCode[ch] >= 0:
			n += len(uaTokens[uaByCode[ch]])
		default:
			n++
		}
	}
	var b strings.Builder
	b.Grow(n)
	for i := 0; i < len(c); i++ {
		ch := c[i]
		switch {
		case ch >= 0x20:
			b.WriteByte(ch)
		case ch == uaEscape:
			if i+1 >= len(c) || c[i+1] >= 0x20 {
				return "", errBadRecord
			}
			i++
			b.WriteByte(c[i])
		default:
			t := uaByCode[ch]
			if t < 0 {
				return "", errBadRecord
			}
			b.WriteString(uaTokens[t])
		}
	}
	return b.String(), nil
}
