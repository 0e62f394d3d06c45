// A relying party built on Node's openid-client (v6), used unchanged, for
// examples/openidclient_test.go: the Go test is the browser. It speaks
// one JSON object a line:
//
//   stdin  {"issuer", "client_id", "client_secret"?, "client_auth"?, "redirect_uri"}
//   stdout {"authorization_url"}
//   stdin  {"callback"}        the URL authd redirected the browser to
//   stdout {"claims", "userinfo", "refreshed", "revoked", ...}
//
// With no client_secret the client is public (client.None()); with one it
// authenticates with openid-client's default, client_secret_post, or
// client_auth "client_secret_basic" (client.ClientSecretBasic). Any error
// ends the script with a message on stderr, {"error": ...} on stdout and
// exit status 1.
//
// The only departure from what an app would do is allowInsecureRequests:
// authd runs on http://127.0.0.1 in the test.

import { createInterface } from 'node:readline'
import * as client from 'openid-client'

const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]()

async function readLine(what) {
  const { value, done } = await lines.next()
  if (done) throw new Error(`stdin ended before ${what}`)
  return JSON.parse(value)
}

function send(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

// describe is everything openid-client says about an error: its code,
// the OAuth error and description, the HTTP status, and the cause.
function describe(err) {
  const out = { message: String(err?.message ?? err) }
  for (const k of ['name', 'code', 'error', 'error_description', 'status']) {
    if (err?.[k] !== undefined) out[k] = err[k]
  }
  if (err?.cause !== undefined) {
    const c = err.cause
    if (c instanceof Response) {
      out.cause = { status: c.status, url: c.url }
    } else if (c instanceof Error) {
      out.cause = describe(c)
    } else {
      try {
        out.cause = JSON.parse(JSON.stringify(c))
      } catch {
        out.cause = String(c)
      }
    }
  }
  return out
}

async function main() {
  const params = await readLine('the parameters')
  const insecure = { execute: [client.allowInsecureRequests] }
  let auth // openid-client's default with a secret: client_secret_post
  if (!params.client_secret) auth = client.None()
  else if (params.client_auth === 'client_secret_basic') auth = client.ClientSecretBasic(params.client_secret)
  else if (params.client_auth) throw new Error(`unknown client_auth ${params.client_auth}`)
  const config = await client.discovery(new URL(params.issuer), params.client_id, params.client_secret || undefined, auth, insecure)

  const pkceCodeVerifier = client.randomPKCECodeVerifier()
  const codeChallenge = await client.calculatePKCECodeChallenge(pkceCodeVerifier)
  const state = client.randomState()
  const nonce = client.randomNonce()
  const authorizationUrl = client.buildAuthorizationUrl(config, {
    redirect_uri: params.redirect_uri,
    scope: 'openid email offline_access',
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
    state,
    nonce,
  })
  send({ authorization_url: authorizationUrl.href })

  const { callback } = await readLine('the callback URL')
  const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier,
    expectedState: state,
    expectedNonce: nonce,
  })
  const claims = tokens.claims()
  if (!claims) throw new Error('the token response has no ID token')
  const userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub)

  if (!tokens.refresh_token) throw new Error('the token response has no refresh token (offline_access)')
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token)
  const refreshToken = refreshed.refresh_token ?? tokens.refresh_token

  // Revoke the newest refresh token; refreshing with it must then fail.
  await client.tokenRevocation(config, refreshToken, { token_type_hint: 'refresh_token' })
  let afterRevocation
  try {
    await client.refreshTokenGrant(config, refreshToken)
    afterRevocation = { refused: false }
  } catch (err) {
    afterRevocation = { refused: true, ...describe(err) }
  }

  send({
    token_type: tokens.token_type,
    scope: tokens.scope,
    expires_in: tokens.expiresIn(),
    has_id_token: typeof tokens.id_token === 'string',
    access_token: tokens.access_token,
    claims,
    userinfo,
    refreshed: {
      access_token: refreshed.access_token,
      token_type: refreshed.token_type,
      has_refresh_token: typeof refreshed.refresh_token === 'string',
      refresh_token_rotated: typeof refreshed.refresh_token === 'string' && refreshed.refresh_token !== tokens.refresh_token,
      has_id_token: typeof refreshed.id_token === 'string',
      claims: refreshed.claims() ?? null,
    },
    after_revocation: afterRevocation,
  })
}

main().then(
  () => process.exit(0),
  (err) => {
    const d = describe(err)
    process.stderr.write(`rp.mjs: ${d.message}\n${err?.stack ?? ''}\n${JSON.stringify(d)}\n`)
    send({ error: d })
    process.exit(1)
  },
)
