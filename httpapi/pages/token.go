package pages

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
)

// errNotJWT is a string that is not a compact JWT.
var errNotJWT = errors.New("pages: not a compact JWT")

// DecodeJWT returns the header and the claims of a compact JWT as indented
// JSON, for display. It does not verify anything: the pages only show a
// token authd has just issued to the same response.
func DecodeJWT(tok string) (header, claims string, err error) {
	parts := strings.Split(tok, ".")
	if len(tok) > 16<<10 || len(parts) != 3 {
		return "", "", errNotJWT
	}
	out := [2]string{}
	for i := range out {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			return "", "", errNotJWT
		}
		var buf bytes.Buffer
		if err := json.Indent(&buf, raw, "", "  "); err != nil {
			return "", "", errNotJWT
		}
		out[i] = buf.String()
	}
	return out[0], out[1], nil
}
