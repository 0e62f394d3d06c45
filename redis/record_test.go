package redis

import (
	"bytes"
	"encoding/hex"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd"
)

func sameSession(t *testing.T, want, got *authd.Session) {
	t.Helper()
	eqTime := func(a, b time.Time) bool { return a.Equal(b) && a.IsZero() == b.IsZero() }
	if got.ID != want.ID || got.UserID != want.UserID || got.Email != want.Email || got.IP != want.IP ||
		got.UserAgent != want.UserAgent || !bytes.Equal(got.Hash, want.Hash) ||
		!slices.Equal(got.Roles, want.Roles) || !slices.Equal(got.AMR, want.AMR) || got.Pending != want.Pending ||
		!eqTime(got.CreatedAt, want.CreatedAt) || !eqTime(got.LastSeenAt, want.LastSeenAt) ||
		!eqTime(got.ExpiresAt, want.ExpiresAt) || !eqTime(got.AbsoluteExpiresAt, want.AbsoluteExpiresAt) {
		t.Fatalf("round trip:\n got %#v\nwant %#v", got, want)
	}
}

func TestRecordRoundTrip(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	base := authd.Session{
		ID: authd.NewID(), Hash: bytes.Repeat([]byte{7}, 32), UserID: authd.NewID(), Email: "a@example.com",
		Roles: []string{"admin", "ops"}, CreatedAt: now, LastSeenAt: now.Add(time.Second),
		ExpiresAt: now.Add(time.Hour), AbsoluteExpiresAt: now.Add(720 * time.Hour),
		IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
		AMR: []string{authd.AMRPassword, authd.AMROTP, authd.AMRMFA},
	}
	cases := map[string]func(s *authd.Session){
		"as made by authd":             func(*authd.Session) {},
		"no roles, IP or UA":           func(s *authd.Session) { s.Roles, s.IP, s.UserAgent = nil, "", "" },
		"non-canonical base64 id":      func(s *authd.Session) { s.ID = s.ID[:21] + "B" }, // may or may not be canonical
		"ids that are not base64":      func(s *authd.Session) { s.ID, s.UserID = "sess-0123456789abcdef", "user-!!" },
		"22-char id with padding char": func(s *authd.Session) { s.ID = strings.Repeat("=", 22) },
		"empty ids":                    func(s *authd.Session) { s.ID, s.UserID = "", "" },
		"IPv6":                         func(s *authd.Session) { s.IP = "2001:db8::1" },
		"IPv4-mapped IPv6":             func(s *authd.Session) { s.IP = "::ffff:192.0.2.1" },
		"IPv6 with zone":               func(s *authd.Session) { s.IP = "fe80::1%eth0" },
		"non-canonical IPv6":           func(s *authd.Session) { s.IP = "2001:DB8::0001" },
		"IPv4 with leading zero":       func(s *authd.Session) { s.IP = "010.1.1.1" },
		"not an IP":                    func(s *authd.Session) { s.IP = "unknown" },
		"zero times": func(s *authd.Session) {
			s.CreatedAt, s.LastSeenAt, s.ExpiresAt, s.AbsoluteExpiresAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		},
		"control bytes in UA": func(s *authd.Session) { s.UserAgent = "a\x00b\x01\tc\x1f" + uaTokens[0] + "\x00" },
		"every UA token":      func(s *authd.Session) { s.UserAgent = strings.Join(uaTokens[:], "|") },
		"long fields":         func(s *authd.Session) { s.Email, s.UserAgent = strings.Repeat("e", 300), strings.Repeat("u", 600) },
		"empty role":          func(s *authd.Session) { s.Roles = []string{""} },
		"non-UTF-8":           func(s *authd.Session) { s.Email, s.UserAgent = "\xff\xfe", "\xc3" },
		"pending":             func(s *authd.Session) { s.Pending, s.AMR = true, []string{authd.AMRPassword} },
		"pending, packed ids and IPv6": func(s *authd.Session) {
			s.Pending, s.IP = true, "2001:db8::1"
		},
		"no AMR":           func(s *authd.Session) { s.AMR = nil },
		"empty AMR":        func(s *authd.Session) { s.AMR = []string{} },
		"passkey AMR":      func(s *authd.Session) { s.AMR = []string{authd.AMRHardware, authd.AMRUser} },
		"odd AMR":          func(s *authd.Session) { s.AMR = []string{"", "\xff", strings.Repeat("m", 200)} },
		"AMR but no roles": func(s *authd.Session) { s.Roles = nil },
		"pending, no AMR":  func(s *authd.Session) { s.Pending, s.AMR = true, nil },
		"many AMR and roles": func(s *authd.Session) {
			for i := range 200 {
				s.Roles = append(s.Roles, strings.Repeat("r", i))
				s.AMR = append(s.AMR, strings.Repeat("a", i))
			}
		},
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			s := base
			s.Roles = slices.Clone(base.Roles)
			mod(&s)
			rec := encodeRecord(&s)
			got, err := decodeRecord(string(rec), s.Hash)
			if err != nil {
				t.Fatal(err)
			}
			sameSession(t, &s, got)
			u, err := recordUserID(string(rec))
			if err != nil || u != s.UserID {
				t.Fatalf("recordUserID: %q, %v; want %q", u, err, s.UserID)
			}
		})
	}
}

func TestRecordPacksAuthdFields(t *testing.T) {
	s := &authd.Session{ID: authd.NewID(), UserID: authd.NewID(), IP: "192.0.2.1"}
	rec := encodeRecord(s)
	if rec[offFlags] != flagIDRaw|flagUserRaw|flagIPv4 {
		t.Fatalf("flags %08b: ids and IPv4 not packed", rec[offFlags])
	}
	if rec[0] != recordV2 {
		t.Fatalf("version %d, want records written as version %d", rec[0], recordV2)
	}
	s.Pending = true
	if rec := encodeRecord(s); rec[offFlags] != flagIDRaw|flagUserRaw|flagIPv4|flagPending {
		t.Fatalf("flags %08b of a pending session: want the pending flag", rec[offFlags])
	}
	ua := "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
	if c := compactUA(ua); len(c) > 16 {
		t.Errorf("compactUA of desktop Chrome: %d bytes (%q), want at most 16", len(c), c)
	}
}

func TestTouchBytesAtOffsets(t *testing.T) {
	s := &authd.Session{ID: "x", LastSeenAt: time.UnixMicro(1), ExpiresAt: time.UnixMicro(2)}
	rec := encodeRecord(s)
	seen, exp := time.UnixMicro(1780000000000001).UTC(), time.UnixMicro(1780000000000002).UTC()
	copy(rec[offLastSeen:], touchBytes(seen, exp))
	got, err := decodeRecord(string(rec), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !got.LastSeenAt.Equal(seen) || !got.ExpiresAt.Equal(exp) {
		t.Fatalf("after patching: LastSeenAt %s ExpiresAt %s", got.LastSeenAt, got.ExpiresAt)
	}
}

// v1Record is a version 1 record as authd wrote it before sessions
// recorded their sign-in (the encoder of that version, on v1Session).
const v1Record = "01000652e68bc28240000652e76246e400000652e68bb34000000655420af0800005000102030405060708090a0b0c0d0e0f06757365722d37106a616e65406578616d706c652e636f6dcb0071070401071938020561646d696e036f7073"

func v1Session() *authd.Session {
	at := time.UnixMicro(1780000000000000).UTC()
	return &authd.Session{
		ID: "AAECAwQFBgcICQoLDA0ODw", UserID: "user-7", Email: "jane@example.com", Roles: []string{"admin", "ops"},
		CreatedAt: at, LastSeenAt: at.Add(time.Second), ExpiresAt: at.Add(time.Hour), AbsoluteExpiresAt: at.Add(720 * time.Hour),
		IP: "203.0.113.7", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) curl/8",
	}
}

// TestRecordReadsVersion1: records written before version 2 read back
// with every field, AMR nil and Pending false, and TouchSession's offsets
// patch them as before.
func TestRecordReadsVersion1(t *testing.T) {
	b, err := hex.DecodeString(v1Record)
	if err != nil {
		t.Fatal(err)
	}
	want := v1Session()
	want.Hash = bytes.Repeat([]byte{9}, 32)
	got, err := decodeRecord(string(b), want.Hash)
	if err != nil {
		t.Fatalf("decodeRecord of a version 1 record: %v", err)
	}
	if got.AMR != nil || got.Pending {
		t.Fatalf("version 1 record: AMR %q, Pending %v; want nil, false", got.AMR, got.Pending)
	}
	sameSession(t, want, got)
	if u, err := recordUserID(string(b)); err != nil || u != want.UserID {
		t.Fatalf("recordUserID of a version 1 record: %q, %v", u, err)
	}
	seen, exp := want.LastSeenAt.Add(time.Hour), want.ExpiresAt.Add(time.Hour)
	copy(b[offLastSeen:], touchBytes(seen, exp))
	got, err = decodeRecord(string(b), nil)
	if err != nil || !got.LastSeenAt.Equal(seen) || !got.ExpiresAt.Equal(exp) {
		t.Fatalf("touched version 1 record: %v, %v", got, err)
	}
	// A version 1 record is a version 2 one without the AMR count and
	// the pending flag: the same session written today differs only so.
	v2 := encodeRecord(v1Session())
	if v2[0] != recordV2 || !bytes.Equal(v2[1:len(v2)-1], []byte(must(hex.DecodeString(v1Record)))[1:]) || v2[len(v2)-1] != 0 {
		t.Fatalf("version 2 of the same session:\n%x\nwant the version 1 record with version 2 and an AMR count of 0", v2)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func TestDecodeRecordRefusesGarbage(t *testing.T) {
	good := string(encodeRecord(&authd.Session{ID: "a", UserID: "b", Roles: []string{"r"}}))
	for name, v := range map[string]string{
		"empty":         "",
		"short":         good[:10],
		"version":       "\x03" + good[1:],
		"version 0":     "\x00" + good[1:],
		"truncated":     good[:len(good)-1],
		"trailing":      good + "x",
		"unknown flags": good[:offFlags] + "\x80" + good[offFlags+1:],
		"both IP flags": good[:offFlags] + string(rune(flagIPv4|flagIPv6)) + good[offFlags+1:],
		"huge roles":    good[:len(good)-4] + "\xff\xff\xff\xff\x0f\x00",
		"huge AMR":      good[:len(good)-1] + "\xff\xff\xff\xff\x0f",
		"no AMR count":  good[:len(good)-1],
		"AMR too short": good[:len(good)-1] + "\x02\x01a",
		"pending in v1": "\x01" + good[1:offFlags] + string(rune(good[offFlags]|flagPending)) + good[offFlags+1:len(good)-1],
		"v1 with AMR":   "\x01" + good[1:],
		"unknown flag":  good[:offFlags] + string(rune(good[offFlags]|flagPending<<1)) + good[offFlags+1:],
	} {
		if _, err := decodeRecord(v, nil); err == nil {
			t.Errorf("decodeRecord(%s) succeeded", name)
		}
	}
}

func FuzzUA(f *testing.F) {
	for _, s := range []string{"", "Mozilla/5.0 (", "\x00", "\x01\x02", "curl/8.5.0", strings.Join(uaTokens[:], "")} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, ua string) {
		got, err := expandUA(compactUA(ua))
		if err != nil || got != ua {
			t.Fatalf("expandUA(compactUA(%q)) = %q, %v", ua, got, err)
		}
		expandUA(ua) // never panics on anything
	})
}

func FuzzRecord(f *testing.F) {
	f.Add("id", "user", "e@x", "192.0.2.1", "Mozilla/5.0 (", "admin", "pwd", false, int64(1), int64(2))
	f.Add(authd.NewID(), authd.NewID(), "", "::1", "", "", "", true, int64(-1), int64(1<<60))
	f.Fuzz(func(t *testing.T, id, user, email, ip, ua, role, amr string, pending bool, t1, t2 int64) {
		s := &authd.Session{
			ID: id, UserID: user, Email: email, IP: ip, UserAgent: ua, Roles: []string{role, role},
			CreatedAt: time.UnixMicro(t1).UTC(), LastSeenAt: time.UnixMicro(t2).UTC(),
			ExpiresAt: time.UnixMicro(t1 / 2).UTC(), AbsoluteExpiresAt: time.UnixMicro(t2 / 3).UTC(),
			AMR: []string{amr, authd.AMRMFA}, Pending: pending,
		}
		rec := encodeRecord(s)
		got, err := decodeRecord(string(rec), nil)
		if err != nil {
			t.Fatal(err)
		}
		sameSession(t, s, got)
		// Any prefix of a record, or a mangled one, decodes or fails: it never panics.
		for i := range rec {
			decodeRecord(string(rec[:i]), nil)
		}
		// As a version 1 record: it decodes or fails, and when it
		// decodes, it has no AMR and is not pending.
		rec[0] = recordV1
		if got, err := decodeRecord(string(rec), nil); err == nil && (got.AMR != nil || got.Pending) {
			t.Fatalf("a version 1 record decoded with AMR %q, Pending %v", got.AMR, got.Pending)
		}
	})
}

func FuzzDecodeRecord(f *testing.F) {
	f.Add(v1Record)
	f.Add(string(encodeRecord(&authd.Session{ID: "a", UserID: "b", Roles: []string{"r"}, AMR: []string{"pwd"}, Pending: true})))
	f.Fuzz(func(t *testing.T, v string) {
		if b, err := hex.DecodeString(v); err == nil {
			v = string(b)
		}
		s, err := decodeRecord(v, nil)
		if err != nil {
			return
		}
		// What decodes re-encodes to a record that decodes the same.
		again, err := decodeRecord(string(encodeRecord(s)), nil)
		if err != nil {
			t.Fatalf("re-encoding a decoded record: %v", err)
		}
		sameSession(t, s, again)
	})
}

func TestCursor(t *testing.T) {
	for _, c := range []string{"s0-0", "s1-0", "s1780000000000-12", "s18446744073709551615-0"} {
		ms, seq, err := parseCursor(c)
		if err != nil {
			t.Fatalf("parseCursor(%q): %v", c, err)
		}
		if back := formatCursor(ms, seq); back != c {
			t.Fatalf("parseCursor(%q) formats back as %q", c, back)
		}
	}
	for _, c := range []string{"s", "s0", "s-0", "s0-", "s00-1", "s1-01", "r1", "S1-1", "s1-1 ", "s+1-1", "s1--1", "s18446744073709551616-0",
		"s18446744073709551615-18446744073709551615", "s1-2-3"} {
		if _, _, err := parseCursor(c); err == nil {
			t.Errorf("parseCursor(%q) accepted", c)
		}
	}
}

func TestParseURL(t *testing.T) {
	opt, cluster, err := parseURL("redis://u:p@127.0.0.1:6380/3?client_name=x")
	if err != nil || cluster || !opt.ForceSingleClient || opt.SelectDB != 3 || opt.Password != "p" || opt.InitAddress[0] != "127.0.0.1:6380" {
		t.Fatalf("standalone: %+v %v %v", opt, cluster, err)
	}
	opt, cluster, err = parseURL("redis-cluster://:pw@10.0.0.1:7000,10.0.0.2:7001, 10.0.0.3:7002/?dial_timeout=2s")
	if err != nil || !cluster || opt.ForceSingleClient || opt.Password != "pw" || opt.Dialer.Timeout != 2*time.Second ||
		!slices.Equal(opt.InitAddress, []string{"10.0.0.1:7000", "10.0.0.2:7001", "10.0.0.3:7002"}) {
		t.Fatalf("cluster: %+v %v %v", opt, cluster, err)
	}
	if opt, _, err := parseURL("rediss-cluster://h:1"); err != nil || opt.TLSConfig == nil {
		t.Fatalf("rediss-cluster: %+v %v", opt, err)
	}
}

func BenchmarkDecodeRecord(b *testing.B) {
	now := time.Now()
	s := &authd.Session{
		ID: authd.NewID(), UserID: authd.NewID(), Email: "jane.doe@example.com", Roles: []string{"user"},
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour), AbsoluteExpiresAt: now.Add(720 * time.Hour),
		IP: "203.0.113.42", UserAgent: "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
	}
	rec := string(encodeRecord(s))
	hash := bytes.Repeat([]byte{1}, 32)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := decodeRecord(rec, hash); err != nil {
			b.Fatal(err)
		}
	}
}
