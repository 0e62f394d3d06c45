package httpapi

import (
	"errors"
	"net/http"

	"github.com/authd/authd"
	"github.com/authd/authd/account"
	"github.com/authd/authd/httpapi/pages"
)

// The pages of sign-in through other providers (issue #17, API.md
// "Signing in with another provider"): "Sign in with NAME" buttons on
// /login, and the "Linked sign-ins" section of /account with an unlink
// form per identity and a "Link NAME" button per provider not linked yet.
// The buttons are plain links (GET) to /v1/upstream/{id}/start
// (upstream.go), which works without JavaScript: a signed-in browser that
// goes there links the identity to its account. Unlinking is a POST
// answered by 303 (Post/Redirect/Get), under the same rule as the JSON
// API's DELETE /v1/identities/{upstream} (s.unlink: never the last way to
// sign in).

// providers are the buttons of the sign-in page: the current provider
// list, ordered by id; none when sign-in through other providers is off.
func (p *pageHandlers) providers() []pages.Provider {
	if p.s.deps.Upstreams == nil {
		return nil
	}
	var out []pages.Provider
	for _, u := range p.s.deps.Upstreams.Providers() {
		out = append(out, pages.Provider{ID: u.ID, Name: providerName(u)})
	}
	return out
}

// providerName is the name a button shows: the provider's name, else its
// id.
func providerName(u *authd.Upstream) string {
	if u.Name != "" {
		return u.Name
	}
	return u.ID
}

// identitiesView is the "Linked sign-ins" section of /account for the
// user userID; nil when sign-in through other providers is off.
func (p *pageHandlers) identitiesView(r *http.Request, userID string) (*pages.IdentitiesView, error) {
	if p.s.deps.Upstreams == nil {
		return nil, nil
	}
	ids, err := p.s.deps.Accounts.Identities(r.Context(), userID)
	if err != nil {
		return nil, err
	}
	provs := p.s.deps.Upstreams.Providers()
	names := make(map[string]string, len(provs))
	for _, u := range provs {
		names[u.ID] = providerName(u)
	}
	now := p.s.cfg.Now()
	v := &pages.IdentitiesView{}
	linked := map[string]bool{}
	for _, i := range ids {
		name, ok := names[i.UpstreamID]
		if !ok {
			// NOTE: a provider deleted since: the identity no longer signs
			// in, but it is still the user's, and they may unlink it.
			name = i.UpstreamID
		}
		linked[i.UpstreamID] = true
		v.Linked = append(v.Linked, pages.IdentityView{UpstreamID: i.UpstreamID, Name: name, Email: i.Email,
			Linked: pages.NewTime(i.LinkedAt, now)})
	}
	for _, u := range provs {
		if !linked[u.ID] {
			v.Unlinked = append(v.Unlinked, pages.Provider{ID: u.ID, Name: names[u.ID]})
		}
	}
	return v, nil
}

// handleUnlinkForm serves POST /account/identities/{upstream}/unlink:
// the user's identity at that provider is unlinked (audited
// identity_unlinked), unless it is their only way to sign in: then the
// account page says so (409).
func (p *pageHandlers) handleUnlinkForm(w http.ResponseWriter, r *http.Request, cur *authd.Session) {
	err := p.s.unlink(r, cur.UserID, r.PathValue("upstream"))
	switch {
	case err == nil:
		p.r.SeeOther(w, pathAccount+"?notice=unlinked")
		return
	case errors.Is(err, authd.ErrNotFound):
		// Unlinked already (another tab), or never linked: the same answer.
		p.r.SeeOther(w, pathAccount+"?notice=already-removed")
		return
	case !errors.Is(err, account.ErrLastSignIn):
		p.fail(w, r, err)
		return
	}
	v, err2 := p.accountPage(r, cur)
	if err2 != nil {
		p.fail(w, r, err2)
		return
	}
	v.Identities.Error = pages.Sentence(err.Error())
	p.render(w, r, http.StatusConflict, "account", v)
}
