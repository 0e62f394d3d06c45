package pages

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
)

//go:embed templates/*.html static/*
var files embed.FS

// ContentSecurityPolicy is sent with every page and asset. NOTE: no inline
// script or style and nothing from another origin may run or load (C4);
// form-action keeps forms posting to authd itself, frame-ancestors refuses
// framing (clickjacking), base-uri refuses a planted <base>.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'; connect-src 'self'"

// HSTS is the Strict-Transport-Security value sent when authd serves TLS
// itself. NOTE: without includeSubDomains: authd may live on a host whose
// sibling or child hosts are not ours to force onto HTTPS.
const HSTS = "max-age=31536000"

// Options configure a Renderer.
type Options struct {
	// TLS is true when the server terminates TLS itself: pages send HSTS.
	TLS bool
}

// Renderer writes the pages: it owns the embedded templates and assets and
// the security headers every page carries.
type Renderer struct {
	opts   Options
	pages  map[string]*template.Template
	assets map[string]asset
}

type asset struct {
	body  []byte
	ctype string
	hash  string // first 12 hex digits of its SHA-256: the ?v= cache key
}

// pageNames are the templates under templates/ besides layout.html and
// partials.html (pieces that several pages share, parsed into every page).
var pageNames = []string{"signin", "account", "message", "consent", "logout", "secondfactor", "forgot", "recover", "verify", "admin", "adminuser"}

// New returns a Renderer. The templates are parsed here; a template that
// does not parse is a programming error, so it panics (every test that
// builds a server finds it).
func New(opts Options) *Renderer {
	r := &Renderer{opts: opts, pages: map[string]*template.Template{}, assets: map[string]asset{}}
	entries, err := fs.ReadDir(files, "static")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		b, err := files.ReadFile("static/" + e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(e.Name()))
		if ct == "" {
			ct = "application/octet-stream"
		}
		r.assets[e.Name()] = asset{body: b, ctype: ct, hash: hex.EncodeToString(sum[:6])}
	}
	funcs := template.FuncMap{"asset": r.assetURL}
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/partials.html"))
	for _, name := range pageNames {
		t := template.Must(template.Must(base.Clone()).ParseFS(files, "templates/"+name+".html"))
		r.pages[name] = t
	}
	return r
}

// assetURL is the path of an embedded asset with its content hash, so a
// browser may keep it as long as it likes and still never uses a stale one.
func (r *Renderer) assetURL(name string) (string, error) {
	a, ok := r.assets[name]
	if !ok {
		return "", fmt.Errorf("pages: no asset %q", name)
	}
	return "/assets/" + name + "?v=" + a.hash, nil
}

// The Referrer-Policy values of the pages.
const (
	// ReferrerSameOrigin is every page's policy.
	ReferrerSameOrigin = "same-origin"
	// ReferrerNone is the policy of the pages of mailed links.
	ReferrerNone = "no-referrer"
)

// WithholdReferrer marks a response as one of the pages of mailed links:
// its Referrer-Policy is no-referrer, which SetHeaders, Render and
// SeeOther then keep (a handler sets it first, so that every answer of
// the route, error pages and redirects too, carries it).
func WithholdReferrer(h http.Header) { h.Set("Referrer-Policy", ReferrerNone) }

// SetHeaders sets the security headers every page, redirect and asset
// carries.
func (r *Renderer) SetHeaders(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	// NOTE: same-origin, not no-referrer: under no-referrer browsers send
	// "Origin: null" with same-origin form posts, which an Origin-based
	// cross-origin check (older browsers without Sec-Fetch-Site) would
	// refuse. Other origins get no Referer at all, so no path or query
	// leaks out. A response marked with WithholdReferrer (the pages of
	// mailed links, whose address holds a token) keeps no-referrer.
	if h.Get("Referrer-Policy") != ReferrerNone {
		h.Set("Referrer-Policy", ReferrerSameOrigin)
	}
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	if r.opts.TLS {
		h.Set("Strict-Transport-Security", HSTS)
	}
}

// Render writes the page name with data and status. The page is executed
// into a buffer first, so a template error never leaves half a page: it
// answers a plain 500 and returns the error for the caller to log.
func (r *Renderer) Render(w http.ResponseWriter, status int, name string, data any) error {
	t, ok := r.pages[name]
	var buf bytes.Buffer
	err := fmt.Errorf("pages: no page %q", name)
	if ok {
		err = t.ExecuteTemplate(&buf, "layout.html", data)
	}
	h := w.Header()
	r.SetHeaders(h)
	csp := ContentSecurityPolicy
	if ft, ok := data.(interface{ FormTargetSources() []string }); ok {
		if src := ft.FormTargetSources(); len(src) > 0 {
			// NOTE: browsers apply form-action to the redirects that answer
			// a form too; a page whose form ends at a registered client
			// (consent, sign-in on the way back to an app, logout) allows
			// that client's origin, and only it.
			csp = strings.Replace(csp, "form-action 'self'", "form-action 'self' "+strings.Join(src, " "), 1)
		}
	}
	if di, ok := data.(interface{ AllowsDataImages() bool }); ok && di.AllowsDataImages() {
		// NOTE: only the page that shows an authenticator app's QR code
		// (a PNG data: URL made by package mfa) allows data: images; an
		// image never runs script, and scripts stay 'self' only.
		csp = strings.Replace(csp, "img-src 'self'", "img-src 'self' data:", 1)
	}
	h.Set("Content-Security-Policy", csp)
	if nr, ok := data.(interface{ WithholdsReferrer() bool }); ok && nr.WithholdsReferrer() {
		// NOTE: a page of a mailed link (SECURITY E3): its address may
		// hold the token, which not even authd's own assets may receive
		// in a Referer (proxies and CDNs log those).
		WithholdReferrer(h)
	}
	// NOTE: pages show the user and their sessions: never stored, so Back
	// after signing out shows nothing (S8). The server's default already
	// says so; this keeps it true if that default ever changes.
	h.Set("Cache-Control", "no-store")
	if err != nil {
		h.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("internal error\n"))
		return err
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
	return nil
}

// SeeOther answers a redirect to the same-site path loc (Post/Redirect/Get).
// loc must already be safe: a constant or a SafeReturn result.
func (r *Renderer) SeeOther(w http.ResponseWriter, loc string) {
	r.SetHeaders(w.Header())
	w.Header().Set("Location", loc)
	w.WriteHeader(http.StatusSeeOther)
}

// ServeAsset serves GET /assets/{name}: the embedded CSS, script and icon.
// It reports false, writing nothing, when there is no such asset.
func (r *Renderer) ServeAsset(w http.ResponseWriter, req *http.Request, name string) bool {
	a, ok := r.assets[name]
	if !ok {
		return false
	}
	h := w.Header()
	r.SetHeaders(h)
	h.Set("Content-Type", a.ctype)
	h.Set("Content-Length", strconv.Itoa(len(a.body)))
	// Public and unchanging for its hash; any other ?v= must be checked again.
	if req.URL.Query().Get("v") == a.hash {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	w.WriteHeader(http.StatusOK)
	if req.Method != http.MethodHead {
		_, _ = w.Write(a.body)
	}
	return true
}
