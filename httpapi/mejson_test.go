package httpapi

import (
	"bytes"
	"encoding/json"
	"testing"
)

// encodingJSON is what json.Encoder writes for m: the reference appendJSON
// must match byte for byte.
func encodingJSON(t testing.TB, m *meJSON) []byte {
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestMeJSON(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    meJSON
	}{
		{"session", meJSON{AAL: 1, AMR: []string{"pwd"}, Auth: "session", Email: "ann@example.com", ID: "u_123", Roles: []string{}, SessionID: "s_1"}},
		{"token, no session id", meJSON{AAL: 2, AMR: []string{"pwd", "otp"}, Auth: "token", Email: "bob@example.com", EmailVerified: true, ID: "u_9", Roles: []string{"admin", "ops"}}},
		{"nil slices", meJSON{Auth: "token"}},
		{"empty strings", meJSON{AMR: []string{""}, Roles: []string{"", ""}}},
		{"escapes", meJSON{Email: "a\"b\\c<d>e&f@example.com", ID: "\x00\x1f\x7f", Roles: []string{"\t\n\r"}, SessionID: "\u2028\u2029"}},
		{"unicode", meJSON{Email: "jürgen@bücher.example", Roles: []string{"管理者", "😀"}}},
		{"invalid UTF-8", meJSON{Email: "\xff\xfe@example.com", ID: "a\xc3", SessionID: "\xed\xa0\x80"}},
		{"negative aal", meJSON{AAL: -1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := encodingJSON(t, &tc.m)
			if got := tc.m.appendJSON(nil); !bytes.Equal(got, want) {
				t.Errorf("appendJSON:\n got %q\nwant %q", got, want)
			}
		})
	}
}

// FuzzMeJSON holds appendJSON to encoding/json for any strings.
func FuzzMeJSON(f *testing.F) {
	f.Add(1, "pwd", "session", "ann@example.com", true, "u_1", "admin", "s_1")
	f.Add(0, "", "", "", false, "", "", "")
	f.Add(2, "<>&", "\u2028", "\xff", false, "\"\\", "\x00", "é")
	f.Fuzz(func(t *testing.T, aal int, amr, auth, email string, verified bool, id, role, sid string) {
		m := meJSON{AAL: aal, AMR: []string{amr}, Auth: auth, Email: email, EmailVerified: verified, ID: id, Roles: []string{role, amr}, SessionID: sid}
		if got, want := m.appendJSON(nil), encodingJSON(t, &m); !bytes.Equal(got, want) {
			t.Fatalf("appendJSON:\n got %q\nwant %q", got, want)
		}
	})
}
