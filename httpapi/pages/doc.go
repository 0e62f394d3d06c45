// Package pages renders authd's server-side HTML pages: the sign-in and
// sign-up page, the second step of a sign-in, the account page, the pages
// of mailed links (a forgotten password, a new password, an address to
// confirm), the administration page, the buttons and the account section
// of sign-in through other providers, and the message pages (errors,
// 404). It owns the templates (html/template), the
// stylesheet, the one small script and the icon, all embedded in the
// binary, and the security headers every page carries. It imports the
// standard library only and knows nothing of sessions or accounts.
//
// # Where things live
//
// The split is: package pages renders, package httpapi decides.
//
//   - httpapi/pages/ (this package): [Renderer] (templates, embed, headers
//     and assets), the view models the templates read ([SignInPage],
//     [AccountPage], ...), and small pure helpers with their own unit tests:
//     [SafeReturn] (the open-redirect check), [Device] (a "Chrome on Linux"
//     name from a User-Agent) and [DecodeJWT] (a token's header and claims
//     for display).
//   - httpapi/pages.go (package httpapi): the handlers. They call the same
//     services and helpers as the JSON API (s.login, s.logout,
//     s.fromSession, the session manager, the account service, the token
//     service), so the rules — throttling, fixation, audit, revocation —
//     hold the same on both. The routes are one marked block in
//     httpapi/routes.go.
//
// The handlers stay in package httpapi because the helpers they share with
// the JSON API are unexported there; moving them here would mean exporting
// the server's internals for one caller.
//
// # Pages and routes
//
//	GET  /, /login                        sign in and sign up; ?return=PATH, ?notice=CODE
//	POST /login                           sign in; 303 to the return path or /account
//	POST /signup                          create the account, sign in, 303
//	POST /logout                          end this session, 303 to /login
//	GET  /account                         the user, the live sessions, the forms below
//	POST /account/sessions/{id}/revoke    end one session (this one: sign out)
//	POST /account/sessions/revoke-others  end every other session
//	POST /account/signout-everywhere      end every session and refresh family, 303 to /login
//	POST /account/password                change the password (ends every other session)
//	POST /account/token                   exchange the session for an access token, shown decoded
//	GET  /assets/{name}                   app.css, app.js, icon.svg (cached by content hash)
//
// With second factors (httpapi/pages_mfa.go, when the server has them):
//
//	GET  /login/second-factor                   the second step of a sign-in (pending sign-in only)
//	POST /login/second-factor/totp              finish it with the authenticator app's code
//	POST /login/second-factor/recovery          finish it with a recovery code
//	POST /login/second-factor/enrol/totp        a user whose role requires a second factor and who has
//	                                            none (--require-mfa-role) sets up an authenticator app
//	POST /login/second-factor/enrol/totp/confirm  turn it on and finish the sign-in; recovery codes shown once
//	POST /account/security/totp                 set up an authenticator app: QR code, secret, confirm form
//	POST /account/security/totp/confirm         turn it on; the first factor shows the recovery codes once
//	POST /account/security/totp/remove          remove it
//	POST /account/security/passkeys/{id}/remove remove a passkey
//	POST /account/security/recovery-codes       a new set of recovery codes, shown once
//
// A GET on any of these POST URLs redirects to the page with the form. The
// account changes need a recent sign-in (--reauth-window); an older session
// gets a page that links to /login?reauth=1&return=/account.
//
// Mailed links and leaving (httpapi/pages_mail.go):
//
//	GET  /forgot                ask for a link that sets a new password ("Forgot password?" on /login)
//	POST /forgot                the same page and status whether an account has the address or not
//	GET  /recover?token=…       the new-password form, the token in a hidden field
//	POST /recover               set the password (every session ends), 303 to /login?notice=password-reset
//	GET  /verify?token=…        a "Confirm my address" button
//	POST /verify                verify the address, or make a change of address (every session ends)
//	POST /account/email         mail a link that moves the account to a new address (current password asked)
//	POST /account/email/resend  mail a new verification link
//	POST /account/delete        delete the account (current password and a ticked box), 303 to /login
//
// /account shows whether the address is verified and links to GET
// /v1/account/export (a JSON attachment: a GET that changes nothing). On a
// server that cannot send mail the forms that need mail are replaced by a
// line saying so, and /forgot says so at once. A GET of /recover or
// /verify never uses the token: mail scanners and link previews fetch the
// links in mails, so only the form's POST spends it. A bad, spent or
// expired token is one page (400) with the way to a new link. A GET on
// /account/email, /account/email/resend or /account/delete redirects to
// /account. Three posts are answered by a page rather than a redirect:
// POST /forgot ("check your mail", naming the address typed), POST /verify
// (what happened to the address) and the change of address (the account
// page, naming the new address): a notice code cannot carry an address.
//
// Administration (httpapi/pages_admin.go, when the server has a user
// directory):
//
//	GET  /admin?query=&cursor=             the users, 50 a page: email, roles, locked, verified, second
//	                                       factors, created, last sign-in; a search by part of the email
//	GET  /admin/users/{id}                 one user, their live sessions (device, IP, last use), the actions
//	POST /admin/users/{id}/lock            lock (every session and token family ends); /unlock
//	POST /admin/users/{id}/sessions/revoke end every session and token family of the user
//	POST /admin/users/{id}/mfa/reset       remove the user's second factors
//	POST /admin/users/{id}/roles           replace the roles (space or comma separated; the user's sessions end)
//	POST /admin/users/{id}/delete          delete the user: confirm_email must be their address
//
// Every handler, GET and POST, checks the administrator itself on every
// request (SECURITY D1) with the same rule as the JSON API under /admin/v1
// (httpapi's adminActor: the role admin, and a second factor at sign-in
// under --require-mfa-role admin), from the browser's session: without one
// the browser goes to /login?return=…; a user without the role gets a 403
// page "Administrators only"; an administrator whose session lacks the
// second factor gets a 403 page with a link to sign in again. Every action
// calls the account and mfa rules with the administrator as the actor, so
// the audit log's admin_action rows name "user:ID". A GET of an action's
// URL redirects to the user's page; /account links to /admin only when the
// session's roles hold admin (the link decides nothing). An administrator
// may not lock or delete their own account there (the page says why; their
// own deletion is /account's); ending their own sessions or changing their
// own roles ends this session too and goes to /login. The list is a table
// that becomes one card per user on a narrow screen, without script.
//
// Sign-in through other providers (httpapi/pages_upstream.go, when the
// server has them; the flow itself is httpapi/upstream.go):
//
//	GET  /v1/upstream/{id}/start?return=      to the provider; a signed-in browser links the identity
//	GET  /v1/upstream/{id}/callback           back from it: a session (or the second step), or, for a
//	                                          link, 303 to /account?notice=linked
//	POST /account/identities/{upstream}/unlink  unlink, 303 to /account?notice=unlinked
//
// /login shows a "Sign in with NAME" button per registered provider
// (the list as last reloaded, ordered by id), each a plain link (GET, no
// script) to its start URL carrying the page's validated return path, so
// that an app's authorization request that came through /login goes on
// after the provider's sign-in. The page that answers a failed upstream
// sign-in is /login with the message at the top of the sign-in form
// (role="alert") and the same buttons. /account has "Linked sign-ins":
// each identity (the provider's name, the address it gave, when it was
// linked) with an Unlink form, and a "Link NAME" link per provider not
// linked yet (its start URL, returning to /account). Unlinking follows
// the JSON API's rule: never the user's last way to sign in (no
// password, no passkey, no other identity); a refusal is the account
// page with the reason (409). A GET of the unlink URL redirects to
// /account.
//
// Every state change is a POST answered by 303 See Other (Post/Redirect/Get);
// a form with a mistake is answered by the same page with the message next
// to the field (aria-invalid, aria-describedby) and a 4xx status. Without a
// live session the account routes answer 303 to /login, adding
// ?notice=ended (and clearing the dead cookie) when the browser came with a
// session cookie that has expired or been revoked. Errors become pages:
// the throttle says "Too many attempts. Try again in N minutes." (429 with
// Retry-After); a locked account reads exactly like a wrong password, by
// design (P4); a store that is down is a 503 page. Notices after a redirect
// are fixed texts chosen by a code ([NoticeFor]): nothing from the URL is
// ever shown.
//
// The pages work without JavaScript, except passkeys: WebAuthn exists
// only in script. The one script, app.js, is served from the embed and
// loaded with defer; it counts down the access token's lifetime (without
// it the page shows the expiry time), and runs the passkey ceremonies
// against the JSON API: "Sign in with a passkey" and passkey autofill
// (a conditional request, the email field being autocomplete="username
// webauthn") on /login, "Use a passkey" at the second step, "Add a
// passkey" on /account and at the second step of a user who must set up
// a first factor (the JSON API then finishes the sign-in). Their buttons are rendered hidden and shown by the
// script when the browser has WebAuthn; it uses the WebAuthn L3 JSON
// helpers (parse*OptionsFromJSON, toJSON) when the browser has them, else
// converts base64url itself. The access token, a new TOTP secret and
// recovery codes are shown by a form post whose response renders them:
// they never appear in a URL, a redirect or a cookie.
//
// The QR code of an authenticator app's set-up is a PNG data: URL made by
// package mfa. The page that shows it, and only that page, allows data:
// images in its CSP ([Page.DataImages]); an image cannot run script, and
// script-src stays 'self'. [QRImage] checks the URL before the template
// may put it in src.
//
// # Security
//
// Cookie. The pages use the JSON API's cookie helpers: the session cookie
// is HttpOnly (no script, ours included, can read it), SameSite=Lax,
// Path=/, and __Host-authd_session with Secure unless --dev (then
// authd_session, for plain-HTTP localhost).
//
// Headers (SECURITY.md C4). Every page, redirect and asset carries
// [ContentSecurityPolicy] (no inline script or style, nothing from another
// origin, form-action 'self', frame-ancestors 'none', base-uri 'none'),
// X-Frame-Options: DENY, X-Content-Type-Options: nosniff,
// Referrer-Policy: same-origin (not no-referrer, which makes browsers send
// "Origin: null" on same-origin form posts and so trips an Origin-based
// check in browsers without Sec-Fetch-Site), Cross-Origin-Opener-Policy and
// Cross-Origin-Resource-Policy: same-origin, and [HSTS] when authd serves
// TLS itself (httpapi.Config.TLS).
//
// The pages of mailed links differ (SECURITY E3): /forgot, /recover and
// /verify, their error pages and their redirects are sent with
// Referrer-Policy: no-referrer, in the header and the meta tag
// ([Page.NoReferrer], [WithholdReferrer]). The address of /recover and
// /verify holds the link's token; under same-origin the browser would send
// that address as Referer with every request the page makes to authd (its
// stylesheet, script and icon, the form post), and a proxy, CDN or access
// log in front of authd may keep it. No URL these pages link to or load
// carries the token: it goes on in the POST body. Their form posts then
// carry "Origin: null", which a browser without Sec-Fetch-Site (Safari
// before 16.4, Chrome before 76, Firefox before 90) would have refused by
// the cross-origin check; so POST /forgot, /recover and /verify bypass it
// (httpapi.New). NOTE: none of the three acts on the session cookie: a
// forged post can only ask for a mail anyone can ask for, or spend a token
// the forger already holds, on the forger's own account. Pages are Cache-Control: no-store (S8):
// after signing out, Back asks the server again and gets the sign-in page.
//
// Open redirects. The return path is checked by [SafeReturn] before it is
// put in a form or a Location header: a relative path with a single
// leading slash, no "//", no backslash, no control character or space, no
// scheme; anything else goes to /account.
//
// # Why there is no CSRF token
//
// Every state-changing page route is a POST (GET never changes anything,
// C2), and every POST — the sign-in form included, against login CSRF —
// goes through net/http.CrossOriginProtection, which the server puts in
// front of every route. It refuses a request whose Sec-Fetch-Site is
// anything but same-origin or none (a user typing the URL), and, in
// browsers that do not send Sec-Fetch-Site, one whose Origin does not
// match the Host. That refuses same-site attacks too (a sibling subdomain,
// or another port on the same host: the browser test posts from one), which
// SameSite cookies alone would let through. SameSite=Lax on the session
// cookie is a second, independent layer: a cross-site POST does not carry
// the cookie at all.
//
// This pair is the defence Go recommends for modern browsers (the
// CrossOriginProtection documentation; Filippo Valsorda's "CSRF" write-up
// behind it), and OWASP's CSRF cheat sheet accepts Fetch Metadata as a
// primary defence. A synchronizer token would add server state or a second
// secret cookie to every form, for no gain in the browsers authd supports,
// so there is none.
//
// The caveat is old browsers. Requests that carry neither Sec-Fetch-Site
// nor Origin are let through, because that is what non-browser clients
// look like. Every current browser sends Sec-Fetch-Site (Safari since
// 16.4, March 2023) and Origin on cross-origin POSTs, and has honoured
// SameSite since about 2019; a browser older than that could be made to
// post a form cross-site with the cookie attached. Such browsers no longer
// get security fixes; authd accepts that risk rather than carry tokens. If
// it ever must not, the place to add a token is the page forms here.
package pages
