package pages_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/authd/authd/httpapi/pages"
)

func TestQRImage(t *testing.T) {
	for in, ok := range map[string]bool{
		"data:image/png;base64,iVBORw0KGgo=":                  true,
		"data:image/png;base64,":                              false,
		"data:image/svg+xml;base64,PHN2Zz4=":                  false,
		"data:text/html;base64,PHNjcmlwdD4=":                  false,
		"javascript:alert(1)":                                 false,
		`data:image/png;base64,iVBOR"><script>`:               false,
		"https://example.com/qr.png":                          false,
		"data:image/png;base64,iVBOR w0KGgo=":                 false,
		"data:image/png;base64," + strings.Repeat("A", 70000): false,
	} {
		got, gotOK := pages.QRImage(in)
		if gotOK != ok || ok && string(got) != in || !ok && got != "" {
			t.Errorf("QRImage(%.40q) = %q, %v; want ok %v", in, got, gotOK, ok)
		}
	}
}

func TestOTPAuthURL(t *testing.T) {
	for in, ok := range map[string]bool{
		"otpauth://totp/authd:ann%40example.com?issuer=authd&secret=ABC": true,
		"otpauth://hotp/authd:ann?secret=ABC":                            false,
		"javascript://totp/%0aalert(1)":                                  false,
		"otpauth://totp/a\"b":                                            false,
		"https://totp/x":                                                 false,
	} {
		if _, got := pages.OTPAuthURL(in); got != ok {
			t.Errorf("OTPAuthURL(%q) ok = %v, want %v", in, got, ok)
		}
	}
	if g := pages.GroupSecret("ABCDEFGHIJ"); g != "ABCD EFGH IJ" {
		t.Errorf("GroupSecret = %q", g)
	}
}

// TestDataImagesPolicy: only a page that asks for it allows data: images,
// and its QR code survives the template's URL filter.
func TestDataImagesPolicy(t *testing.T) {
	r := pages.New(pages.Options{})
	qr, _ := pages.QRImage("data:image/png;base64,iVBORw0KGgo=")
	v := pages.AccountPage{Page: pages.Page{Title: "Your account", DataImages: true}, Email: "ann@example.com",
		Security: &pages.SecurityView{Recent: true, Setup: &pages.TOTPSetup{Secret: "ABCD", Grouped: "ABCD", QR: qr}}}
	w := httptest.NewRecorder()
	if err := r.Render(w, http.StatusOK, "account", v); err != nil {
		t.Fatal(err)
	}
	if got := w.Header().Get("Content-Security-Policy"); !strings.Contains(got, "img-src 'self' data:;") || !strings.Contains(got, "script-src 'self';") {
		t.Errorf("CSP %q", got)
	}
	if !strings.Contains(w.Body.String(), `src="data:image/png;base64,iVBORw0KGgo="`) {
		t.Errorf("QR code missing:\n%s", w.Body.String())
	}
	v.DataImages = false
	w = httptest.NewRecorder()
	if err := r.Render(w, http.StatusOK, "account", v); err != nil {
		t.Fatal(err)
	}
	if got := w.Header().Get("Content-Security-Policy"); got != pages.ContentSecurityPolicy {
		t.Errorf("CSP without DataImages %q", got)
	}
}
