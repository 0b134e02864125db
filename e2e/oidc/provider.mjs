// A real OpenID Provider (npm `oidc-provider` 9.x, an OpenID-certified
// implementation) for Stoa's OIDC sign-in tests. Test use only: fixed cookie
// keys, in-memory storage, no passwords, an RSA signing key made at start.
//
//   OIDC_PORT=21090 node e2e/oidc/provider.mjs     (OIDC_PORT=0: any free port)
//
// Env:
//   OIDC_PORT           port on 127.0.0.1 (default 21090; 0 = pick a free one)
//   OIDC_REDIRECT_URIS  comma-separated extra exact redirect_uris for client `stoa`
//
// Prints `oidc provider listening on http://127.0.0.1:<port>` once ready; the
// issuer is exactly that URL (no trailing slash). Runs in the foreground until
// SIGINT/SIGTERM. Needs nothing from the network.
//
// Client: client_id `stoa`, client_secret `stoa-secret`, authorization_code +
// response_type code, token_endpoint_auth_method client_secret_basic (HTTP
// Basic on /token), PKCE S256 required, id_token RS256. Besides the exact
// OIDC_REDIRECT_URIS, any `http://127.0.0.1:<port>/auth/oidc/test/callback`
// is accepted (the test servers bind random ports).
//
// Users (login name = subject): `alice` (alice@example.com, verified, "Alice"),
// `unverified` (unverified@example.com, email_verified false), and any other
// name X matching [A-Za-z0-9._-]{1,64} -> X@example.com, verified, name X.
//
// Login without a browser (cookie jar on, redirects off):
//   1. GET  <authorization_endpoint>?response_type=code&client_id=stoa&...
//        -> 303 Location: /interaction/<uid>   (sets _interaction, _interaction_resume + .sig)
//   2. GET  /interaction/<uid>  -> 200 small HTML form (optional: just shows the prompt)
//   3. POST /interaction/<uid>/login  form `login=<name>`
//        -> 303 Location: http://127.0.0.1:<port>/auth/<uid>   (login + consent granted at once)
//      or POST /interaction/<uid>/abort -> 303 to /auth/<uid>, which ends in
//        redirect_uri?error=access_denied&state=...
//   4. GET  /auth/<uid>  -> 303 Location: <redirect_uri>?code=...&state=...&iss=<issuer>
//        (sets _session + .sig: a later authorize in the SAME jar signs in silently)
import * as crypto from 'node:crypto';
import * as http from 'node:http';

import Provider from 'oidc-provider';

const HOST = '127.0.0.1';
const port = Number.parseInt(process.env.OIDC_PORT ?? '21090', 10);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`bad OIDC_PORT: ${process.env.OIDC_PORT}`);
  process.exit(2);
}

const TEST_CALLBACK = /^http:\/\/127\.0\.0\.1:\d{1,5}\/auth\/oidc\/test\/callback$/;
const DEFAULT_REDIRECT = 'http://127.0.0.1/auth/oidc/test/callback';
const redirectUris = (process.env.OIDC_REDIRECT_URIS ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
if (redirectUris.length === 0) redirectUris.push(DEFAULT_REDIRECT);

const LOGIN_RE = /^[A-Za-z0-9._-]{1,64}$/;
const FIXED_USERS = {
  alice: { email: 'alice@example.com', email_verified: true, name: 'Alice' },
  unverified: { email: 'unverified@example.com', email_verified: false, name: 'Unverified' },
};

function profileFor(login) {
  if (Object.hasOwn(FIXED_USERS, login)) return FIXED_USERS[login];
  if (!LOGIN_RE.test(login)) return undefined;
  return { email: `${login}@example.com`, email_verified: true, name: login };
}

async function findAccount(ctx, id) {
  const profile = profileFor(id);
  if (!profile) return undefined;
  return {
    accountId: id,
    // oidc-provider filters these down to what the granted scopes allow.
    async claims() {
      return { sub: id, ...profile };
    },
  };
}

// Fresh signing key each run (clients must use discovery + jwks_uri anyway).
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingJwk = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256' };

const server = http.createServer();
server.listen(port, HOST, () => {
  const issuer = `http://${HOST}:${server.address().port}`;
  const provider = makeProvider(issuer);
  server.on('request', provider.callback());
  console.log(`oidc provider listening on ${issuer}`);
});
server.on('error', (err) => {
  console.error(`oidc provider: ${err.message}`);
  process.exit(1);
});

function makeProvider(issuer) {
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'stoa',
        client_secret: 'stoa-secret',
        redirect_uris: redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'RS256',
      },
    ],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    responseTypes: ['code'],
    pkce: { required: () => true }, // S256 is the only method 9.x supports
    scopes: ['openid', 'email', 'profile'],
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
    },
    // Put the scope's claims into the id_token too (as Google and Keycloak do);
    // with the default `true` they would only come from /me (userinfo).
    conformIdTokenClaims: false,
    findAccount,
    jwks: { keys: [signingJwk] },
    cookies: { keys: ['stoa-e2e-oidc-cookie-key-not-secret'] },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
    },
    ttl: {
      AuthorizationCode: 120,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
      AccessToken: 600,
      IdToken: 600,
    },
  });

  // oidc-provider's hook for redirect_uri checks (authorize + error redirects):
  // exact registered URIs, plus the test callback on any 127.0.0.1 port.
  const registeredCheck = provider.Client.prototype.redirectUriAllowed;
  provider.Client.prototype.redirectUriAllowed = function redirectUriAllowed(value) {
    if (this.clientId === 'stoa' && typeof value === 'string' && TEST_CALLBACK.test(value)) {
      return true;
    }
    return registeredCheck.call(this, value);
  };

  provider.use(interactions(provider));

  // Why a request failed (invalid_grant etc. hide the reason from clients).
  for (const event of ['grant.error', 'authorization.error', 'userinfo.error', 'server_error']) {
    provider.on(event, (ctx, err) => {
      const detail = err.error_detail ?? err.cause?.message ?? '';
      console.error(`oidc-provider ${event}: ${err.message}${detail ? ` (${detail})` : ''}`);
    });
  }
  return provider;
}

function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

async function readForm(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > 16 * 1024) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function redirect303(ctx, location) {
  ctx.redirect(location);
  ctx.status = 303;
}

// Minimal login/consent pages: login names only, consent auto-granted.
function interactions(provider) {
  const route = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|abort))?$/;
  return async function interactionRoutes(ctx, next) {
    const m = route.exec(ctx.path);
    if (!m) return next();
    const [, uid, action] = m;
    ctx.set('cache-control', 'no-store');

    let details;
    try {
      details = await provider.interactionDetails(ctx.req, ctx.res);
    } catch (err) {
      ctx.status = 400;
      ctx.type = 'text';
      ctx.body = `interaction not found: ${err.message}\n`;
      return undefined;
    }
    if (details.uid !== uid) {
      ctx.status = 400;
      ctx.type = 'text';
      ctx.body = 'interaction cookie does not match the URL\n';
      return undefined;
    }

    if (action === undefined && ctx.method === 'GET') {
      ctx.type = 'html';
      ctx.body = `<!doctype html><title>Sign in (test)</title>
<p>prompt: ${esc(details.prompt.name)}; client: ${esc(details.params.client_id)}</p>
<form method="post" action="/interaction/${esc(uid)}/login">
<input name="login" value="${esc(details.params.login_hint ?? '')}" autofocus> <button>Sign in</button></form>
<form method="post" action="/interaction/${esc(uid)}/abort"><button>Cancel</button></form>\n`;
      return undefined;
    }
    if (ctx.method !== 'POST' || action === undefined) {
      ctx.status = 405;
      return undefined;
    }

    if (action === 'abort') {
      const to = await provider.interactionResult(ctx.req, ctx.res, {
        error: 'access_denied',
        error_description: 'End-User aborted interaction',
      }, { mergeWithLastSubmission: false });
      redirect303(ctx, to);
      return undefined;
    }

    // action === 'login': works for the login prompt and for a consent prompt
    // (then the session's account is kept and only the grant is added).
    const form = await readForm(ctx.req);
    const { prompt, params, session, grantId } = details;
    let accountId;
    if (prompt.name === 'login') {
      accountId = (form.get('login') ?? '').trim();
      if (!profileFor(accountId)) {
        ctx.status = 400;
        ctx.type = 'text';
        ctx.body = 'login must match [A-Za-z0-9._-]{1,64}\n';
        return undefined;
      }
    } else if (prompt.name === 'consent') {
      accountId = session?.accountId;
    } else {
      ctx.status = 501;
      return undefined;
    }

    const grant = (grantId && await provider.Grant.find(grantId))
      || new provider.Grant({ accountId, clientId: params.client_id });
    grant.addOIDCScope(String(params.scope ?? 'openid'));
    const newGrantId = await grant.save();

    const result = { consent: { grantId: newGrantId } };
    if (prompt.name === 'login') result.login = { accountId };
    const to = await provider.interactionResult(ctx.req, ctx.res, result, {
      mergeWithLastSubmission: prompt.name !== 'login',
    });
    redirect303(ctx, to);
    return undefined;
  };
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    server.close();
    process.exit(0);
  });
}
