package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
)

// errBody is a request body the server cannot take; status says why.
type errBody struct {
	status int
	detail string
}

func (e *errBody) Error() string { return e.detail }

// decodeBody reads r's body, JSON always and an HTML form when form is
// true, into fields: a map from the body's member names to the string each
// must hold. Unknown members are ignored; a non-string value is 400.
//
// NOTE: the size bound comes first (413 over MaxBodyBytes), then the media
// type (415), then the syntax (400): nothing is parsed that was not bounded.
func decodeBody(w http.ResponseWriter, r *http.Request, form bool, fields map[string]*string) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		mt = ""
	}
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	switch {
	case mt == "application/json":
		return decodeJSON(body, fields)
	case form && mt == "application/x-www-form-urlencoded":
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return &errBody{http.StatusBadRequest, "malformed form body"}
		}
		for k, p := range fields {
			if v := vals[k]; len(v) > 1 {
				return &errBody{http.StatusBadRequest, fmt.Sprintf("field %q is given more than once", k)}
			}
			*p = vals.Get(k)
		}
		return nil
	}
	want := "application/json"
	if form {
		want += " or application/x-www-form-urlencoded"
	}
	return &errBody{http.StatusUnsupportedMediaType, "Content-Type must be " + want}
}

// readBody reads r's body, at most MaxBodyBytes (413 beyond).
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > MaxBodyBytes {
		return nil, &errBody{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", MaxBodyBytes)}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, &errBody{http.StatusRequestEntityTooLarge, fmt.Sprintf("request body is larger than %d bytes", MaxBodyBytes)}
	}
	if err != nil {
		return nil, &errBody{http.StatusBadRequest, "request body could not be read"}
	}
	return body, nil
}

// decodeBodyRaw reads r's body, which must be one JSON object under the
// rules of decodeJSON (bounded, no duplicate member, nothing after it),
// into raw, for a body whose members are not all strings (a WebAuthn
// credential).
func decodeBodyRaw(w http.ResponseWriter, r *http.Request, raw *[]byte) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		return &errBody{http.StatusUnsupportedMediaType, "Content-Type must be application/json"}
	}
	body, err := readBody(w, r)
	if err != nil {
		return err
	}
	if err := decodeJSON(body, nil); err != nil {
		return err
	}
	*raw = body
	return nil
}

// decodeJSON reads one JSON object whose members are fields.
//
// NOTE: encoding/json keeps the last of two members with one name and
// matches names case-insensitively; a body whose two readers (a proxy, a
// WAF, authd) could disagree on what it says is refused instead: a
// duplicate member name, or anything after the object, is 400 (the rule
// SECURITY J7 sets for tokens, kept for bodies too). Names match exactly.
func decodeJSON(body []byte, fields map[string]*string) error {
	notObject := &errBody{http.StatusBadRequest, "request body must be a JSON object"}
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return notObject
	}
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return notObject
		}
		name, ok := tok.(string)
		if !ok {
			return notObject
		}
		if seen[name] {
			return &errBody{http.StatusBadRequest, fmt.Sprintf("member %q is given more than once", name)}
		}
		seen[name] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return notObject
		}
		p, ok := fields[name]
		if !ok {
			continue
		}
		if err := json.Unmarshal(raw, p); err != nil {
			return &errBody{http.StatusBadRequest, fmt.Sprintf("field %q must be a string", name)}
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return notObject
	}
	if _, err := dec.Token(); err != io.EOF {
		return &errBody{http.StatusBadRequest, "request body must be one JSON object with nothing after it"}
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
