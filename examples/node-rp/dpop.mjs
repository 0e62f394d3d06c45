// DPoP (RFC 9449) against authd with openid-client's own support (v6,
// its DPoP from oauth4webapi), for examples/dpop_node_test.go. It reads
// one JSON object on stdin:
//
//   {"issuer", "client_id", "client_secret", "public_client_id", "username", "password"}
//
// and prints one JSON object a line, {"step": NAME, ...}, for each step:
//
//   discovery          authd's metadata: dpop_signing_alg_values_supported
//   client_credentials the confidential client's grant with a DPoP proof:
//                      token_type, the access token's cnf.jkt and the
//                      thumbprint of the key pair's public key
//   client_me          GET /v1/me with that token and a proof: the token
//                      names no user (authd answers 403, not 401)
//   password           the password grant (openid-client's
//                      genericGrantRequest, a public client) with a proof
//   me                 GET /v1/me with its token and a proof
//   refresh            refreshTokenGrant with a proof of the same key
//   me_refreshed       GET /v1/me with the refreshed token and a proof
//   bearer             the refreshed token as "Authorization: Bearer", no
//                      proof: status and WWW-Authenticate
//   other_key          GET /v1/me with the refreshed token and a proof of
//                      another key
//   refresh_other_key  refreshTokenGrant with a proof of another key
//   refresh_again      refreshTokenGrant with a proof of the right key
//                      after that refusal
//
// then {"done": true, "nonce_challenges", "nonces_seen"}: how many
// answers asked for a server nonce (use_dpop_nonce, which openid-client
// answers by retrying with it) and how many carried a DPoP-Nonce header. The script checks nothing itself: the Go test
// does. Any unexpected error ends it with a message on stderr,
// {"error": ...} on stdout and exit status 1.
//
// The only departure from what an app would do is allowInsecureRequests:
// authd runs on http://127.0.0.1 in the test.

import { createHash } from 'node:crypto'
import { createInterface } from 'node:readline'
import * as client from 'openid-client'

function send(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n')
}

async function readParams() {
  const lines = createInterface({ input: process.stdin })
  for await (const line of lines) {
    lines.close()
    return JSON.parse(line)
  }
  throw new Error('stdin ended before the parameters')
}

// describe is everything openid-client says about an error: its code,
// the OAuth error and description, the HTTP status, the
// WWW-Authenticate challenges, and the cause.
function describe(err) {
  const out = { message: String(err?.message ?? err) }
  for (const k of ['name', 'code', 'error', 'error_description', 'status']) {
    if (err?.[k] !== undefined) out[k] = err[k]
  }
  if (err?.response instanceof Response) {
    out.status ??= err.response.status
    out.www_authenticate = err.response.headers.get('www-authenticate')
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

// claims decodes a JWT's payload without checking it: the test only
// reads cnf.jkt (authd's verification is tested elsewhere).
function claims(jwt) {
  const parts = jwt.split('.')
  if (parts.length !== 3) throw new Error('the access token is not a JWS compact serialization')
  return JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'))
}

// thumbprint is the RFC 7638 SHA-256 thumbprint of a public CryptoKey,
// computed here from its JWK rather than taken from openid-client.
async function thumbprint(publicKey) {
  const jwk = await crypto.subtle.exportKey('jwk', publicKey)
  const members = {
    EC: ['crv', 'kty', 'x', 'y'],
    OKP: ['crv', 'kty', 'x'],
    RSA: ['e', 'kty', 'n'],
  }[jwk.kty]
  if (!members) throw new Error(`unexpected key type ${jwk.kty}`)
  // The required members in lexicographic order, no whitespace.
  const canonical = '{' + members.map((m) => `${JSON.stringify(m)}:${JSON.stringify(jwk[m])}`).join(',') + '}'
  return createHash('sha256').update(canonical).digest('base64url')
}

// token summarizes a token response.
function token(t) {
  const c = claims(t.access_token)
  return {
    token_type: t.token_type,
    access_token: t.access_token,
    has_refresh_token: typeof t.refresh_token === 'string',
    sub: c.sub ?? null,
    jkt: c.cnf?.jkt ?? null,
  }
}

// resource calls url with openid-client's fetchProtectedResource (the
// DPoP scheme and a proof of dpop's key) and returns the status, the
// WWW-Authenticate header and the JSON body. A challenge in the answer
// makes openid-client throw: it is returned the same way.
async function resource(config, accessToken, url, dpop) {
  try {
    const res = await client.fetchProtectedResource(config, accessToken, url, 'GET', undefined, undefined, { DPoP: dpop })
    const text = await res.text()
    let body = null
    try {
      body = JSON.parse(text)
    } catch {
      body = text
    }
    return { status: res.status, www_authenticate: res.headers.get('www-authenticate'), body }
  } catch (err) {
    const d = describe(err)
    if (d.status === undefined) throw err
    return { status: d.status, www_authenticate: d.www_authenticate ?? null, error: d }
  }
}

// Every request openid-client makes goes through counted: the nonce
// answers (RFC 9449 §8) it handled on its own.
const nonces = { challenges: 0, seen: 0 }

async function countedFetch(url, options) {
  const res = await fetch(url, options)
  if (res.headers.has('dpop-nonce')) nonces.seen++
  if (res.status === 401 && /use_dpop_nonce/.test(res.headers.get('www-authenticate') ?? '')) {
    nonces.challenges++
  } else if (res.status === 400) {
    try {
      if ((await res.clone().json()).error === 'use_dpop_nonce') nonces.challenges++
    } catch {}
  }
  return res
}

async function discover(issuer, clientID, secret, auth) {
  const config = await client.discovery(issuer, clientID, secret, auth, {
    execute: [client.allowInsecureRequests],
    [client.customFetch]: countedFetch,
  })
  config[client.customFetch] = countedFetch
  return config
}

async function main() {
  const params = await readParams()
  const issuer = new URL(params.issuer)
  const me = new URL('/v1/me', issuer)

  // The confidential client, with openid-client's default client
  // authentication (client_secret_post).
  const confidential = await discover(issuer, params.client_id, params.client_secret, undefined)
  const md = confidential.serverMetadata()
  send({ step: 'discovery', issuer: md.issuer, dpop_signing_alg_values_supported: md.dpop_signing_alg_values_supported ?? null })

  // A fresh key pair and handle per grant, as an app would have one per
  // installation.
  const keys = await client.randomDPoPKeyPair()
  const jkt = await thumbprint(keys.publicKey)
  const dpop = client.getDPoPHandle(confidential, keys)

  const cc = await client.clientCredentialsGrant(confidential, undefined, { DPoP: dpop })
  send({ step: 'client_credentials', thumbprint: jkt, ...token(cc) })
  send({ step: 'client_me', ...(await resource(confidential, cc.access_token, me, dpop)) })

  // The password grant names no client at authd: a public client (no
  // authentication, client.None()) whose id authd does not know.
  const pub = await discover(issuer, params.public_client_id, undefined, client.None())
  const userKeys = await client.randomDPoPKeyPair()
  const userJKT = await thumbprint(userKeys.publicKey)
  const userDPoP = client.getDPoPHandle(pub, userKeys)

  const pw = await client.genericGrantRequest(pub, 'password', { username: params.username, password: params.password }, { DPoP: userDPoP })
  send({ step: 'password', thumbprint: userJKT, ...token(pw) })
  send({ step: 'me', ...(await resource(pub, pw.access_token, me, userDPoP)) })

  if (!pw.refresh_token) throw new Error('the password grant gave no refresh token')
  const refreshed = await client.refreshTokenGrant(pub, pw.refresh_token, undefined, { DPoP: userDPoP })
  send({
    step: 'refresh',
    thumbprint: userJKT,
    ...token(refreshed),
    new_access_token: refreshed.access_token !== pw.access_token,
    refresh_token_rotated: typeof refreshed.refresh_token === 'string' && refreshed.refresh_token !== pw.refresh_token,
  })
  send({ step: 'me_refreshed', ...(await resource(pub, refreshed.access_token, me, userDPoP)) })

  // The bound token as a plain bearer token, without a proof.
  const res = await fetch(me, { headers: { authorization: `Bearer ${refreshed.access_token}`, accept: 'application/json' } })
  let body = await res.text()
  try {
    body = JSON.parse(body)
  } catch {}
  send({ step: 'bearer', status: res.status, www_authenticate: res.headers.get('www-authenticate'), body })

  // Proofs of another key: at a resource, and to refresh.
  const otherDPoP = client.getDPoPHandle(pub, await client.randomDPoPKeyPair())
  send({ step: 'other_key', ...(await resource(pub, refreshed.access_token, me, otherDPoP)) })
  const refreshToken = refreshed.refresh_token ?? pw.refresh_token
  let other
  try {
    const t = await client.refreshTokenGrant(pub, refreshToken, undefined, { DPoP: otherDPoP })
    other = { refused: false, ...token(t) }
  } catch (err) {
    other = { refused: true, ...describe(err) }
  }
  send({ step: 'refresh_other_key', ...other })
  // That refusal changed nothing: the right key still refreshes.
  const again = await client.refreshTokenGrant(pub, refreshToken, undefined, { DPoP: userDPoP })
  send({ step: 'refresh_again', thumbprint: userJKT, ...token(again) })

  send({ done: true, nonce_challenges: nonces.challenges, nonces_seen: nonces.seen })
}

main().then(
  () => process.exit(0),
  (err) => {
    const d = describe(err)
    process.stderr.write(`dpop.mjs: ${d.message}\n${err?.stack ?? ''}\n${JSON.stringify(d)}\n`)
    send({ error: d })
    process.exit(1)
  },
)
