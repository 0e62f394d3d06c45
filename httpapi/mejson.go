package httpapi

import (
	"encoding/json"
	"strconv"
)

// meJSON is GET /v1/me's answer.
//
// NOTE: /v1/me is the endpoint an app may call on every request, so its
// answer is appended by hand (appendJSON) rather than by encoding/json:
// first a map, then this struct through json.Encoder, were the largest
// share of what the endpoint costs beyond a bare one (issue #19, pprof:
// docs/bench/me-profile.md). The tags say what encoding/json would write,
// and TestMeJSON and FuzzMeJSON hold appendJSON to json.Encoder's output
// byte for byte, so this is an optimisation, not a second JSON encoder.
type meJSON struct {
	AAL           int      `json:"aal"`
	AMR           []string `json:"amr"`
	Auth          string   `json:"auth"`
	Email         string   `json:"email"`
	EmailVerified bool     `json:"email_verified"`
	ID            string   `json:"id"`
	Roles         []string `json:"roles"`
	SessionID     string   `json:"session_id,omitempty"`
}

// appendJSON appends m as json.Encoder.Encode writes it (newline included).
func (m *meJSON) appendJSON(b []byte) []byte {
	b = append(b, `{"aal":`...)
	b = strconv.AppendInt(b, int64(m.AAL), 10)
	b = append(b, `,"amr":`...)
	b = appendJSONStrings(b, m.AMR)
	b = append(b, `,"auth":`...)
	b = appendJSONString(b, m.Auth)
	b = append(b, `,"email":`...)
	b = appendJSONString(b, m.Email)
	b = append(b, `,"email_verified":`...)
	b = strconv.AppendBool(b, m.EmailVerified)
	b = append(b, `,"id":`...)
	b = appendJSONString(b, m.ID)
	b = append(b, `,"roles":`...)
	b = appendJSONStrings(b, m.Roles)
	if m.SessionID != "" {
		b = append(b, `,"session_id":`...)
		b = appendJSONString(b, m.SessionID)
	}
	return append(b, "}\n"...)
}

// appendJSONString appends s quoted. A string of printable ASCII that
// encoding/json would not escape is copied as it is; anything else (control
// characters, quotes, backslashes, the HTML characters < > & that
// encoding/json escapes, any non-ASCII byte) is left to json.Marshal.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendJSONStrings appends ss as a JSON array (null when nil, as
// encoding/json writes a nil slice).
func appendJSONStrings(b []byte, ss []string) []byte {
	if ss == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, s)
	}
	return append(b, ']')
}
