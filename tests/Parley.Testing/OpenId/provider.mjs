// The OpenID provider of Parley's sign-in tests: oidc-provider 9 on 127.0.0.1 (started by OpenIdProvider.cs).
//   OP_PORT                 the port (the issuer is http://127.0.0.1:<port>)
//   OP_MODULES              the node_modules folder that holds oidc-provider (npm install --prefix <repo>/.cache/oidc-provider)
//   OP_REGISTRATION_TOKEN   the initial access token for dynamic client registration (POST /reg), so each
//                           test registers its own confidential client with its own redirect URI
// Logging in: the provider's own login form accepts any login and password; the login becomes the subject.
// For HTTP-level tests an authorization request with login_hint=<login>, or the interaction URL it redirects to with
// ?login_hint=<login> (the way with pushed authorization requests, whose parameters the browser never carries), logs
// in without the form.
// Consent is granted without a page (the gateway counts as a first-party client here).
// Misbehaving on purpose, for refusal tests (Bearer OP_REGISTRATION_TOKEN, per client):
//   POST /test/id-token?client_id=<id>&mode=<mode>   from now on the client's token responses carry another id_token:
//     no-nonce  the genuine one without its nonce claim, signed with the provider's key
//     replay    the genuine id_token of the client's previous token response (another flow's nonce)
//     aud       the genuine one for audience 'another-client', signed with the provider's key
//     expired   the genuine one issued two hours and expired one hour ago, signed with the provider's key
//     none      the genuine claims unsigned (alg none)
//     hs256     the genuine claims signed with HS256, the client's secret as the key
//     genuine   what the provider issued (the default)
//   POST /test/rotate?client_id=<id>   a new signing key (kid rotated-<n>) is published in /jwks from now on and signs
//                                      the client's id_tokens

import { createHmac, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const port = Number(process.env.OP_PORT);
const registrationToken = process.env.OP_REGISTRATION_TOKEN;
const modules = process.env.OP_MODULES;
if (!Number.isInteger(port) || port <= 0 || !registrationToken || !modules) {
  console.error('OP_PORT, OP_MODULES and OP_REGISTRATION_TOKEN are required');
  process.exit(2);
}

// The script lives in the test's instance folder, the package in the repository's cache: import it by path.
const packageDir = join(modules, 'oidc-provider');
const { main = 'index.js' } = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8'));
const { default: Provider } = await import(pathToFileURL(join(packageDir, main)).href);

const issuer = `http://127.0.0.1:${port}`;
// P-256 rather than RSA: generating an RSA key takes seconds of CPU on a loaded machine. Clients ask for ES256 id_tokens.
const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });

// Accounts with particular profiles; any other login gets the name "<login> at the OP".
const profiles = {
  alice: { name: 'Alice Liddell', email: 'alice@example.org', email_verified: true },
  bob: { name: 'Bob Marley', email: 'bob@example.org', email_verified: false },
  nameless: { preferred_username: 'nameless-nick' },
  mallory: { name: '\u202Egnp.exe\u0007  Mallory\n\t the   Evil ' + 'x'.repeat(200) },
};

const provider = new Provider(issuer, {
  jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'parley-test', use: 'sig', alg: 'ES256' }] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  pkce: { required: () => true },
  claims: { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email', 'email_verified'] },
  features: {
    devInteractions: { enabled: true },
    registration: { enabled: true, initialAccessToken: registrationToken },
    userinfo: { enabled: true },
  },
  async findAccount(ctx, sub) {
    return { accountId: sub, async claims() { return { sub, ...(profiles[sub] ?? { name: `${sub} at the OP` }) }; } };
  },
  async loadExistingGrant(ctx) {
    const { client, session } = ctx.oidc;
    if (!session.accountId) return undefined;
    const grantId = ctx.oidc.result?.consent?.grantId || session.grantIdFor(client.clientId);
    const existing = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
    if (existing) return existing;
    const grant = new ctx.oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
    grant.addOIDCScope('openid profile email');
    await grant.save();
    return grant;
  },
});

provider.use(async (ctx, next) => {
  if (ctx.method === 'GET' && /^\/interaction\/[^/]+$/.test(ctx.path)) {
    const details = await provider.interactionDetails(ctx.req, ctx.res);
    // What the client asked for, whether in the browser's URL or pushed over the back channel (PAR), for tests to read.
    console.log(`interaction ${JSON.stringify(details.params)}`);
    const hint = ctx.query.login_hint ?? details.params.login_hint;
    if (details.prompt.name === 'login' && typeof hint === 'string' && /^[a-z0-9-]{1,64}$/.test(hint)) {
      const to = await provider.interactionResult(ctx.req, ctx.res, { login: { accountId: hint } }, { mergeWithLastSubmission: false });
      ctx.status = 303;
      ctx.redirect(to);
      return;
    }
  }
  await next();
});

const controls = { modes: new Map(), previous: new Map(), rotated: new Map(), published: [] };
const base64url = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

function es256(header, payload, key) {
  const input = `${base64url(header)}.${base64url(payload)}`;
  return `${input}.${sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`;
}

function misbehave(genuine, mode, client) {
  const [h, p] = genuine.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url'));
  const payload = JSON.parse(Buffer.from(p, 'base64url'));
  const now = Math.floor(Date.now() / 1000);
  switch (mode) {
    case 'no-nonce': delete payload.nonce; return es256(header, payload, privateKey);
    case 'replay': return controls.previous.get(client.clientId) ?? genuine;
    case 'aud': payload.aud = 'another-client'; return es256(header, payload, privateKey);
    case 'expired': payload.iat = now - 7200; payload.exp = now - 3600; return es256(header, payload, privateKey);
    case 'none': return `${base64url({ alg: 'none', typ: header.typ })}.${base64url(payload)}.`;
    case 'hs256': {
      const input = `${base64url({ alg: 'HS256', typ: header.typ })}.${base64url(payload)}`;
      return `${input}.${createHmac('sha256', client.clientSecret).update(input).digest('base64url')}`;
    }
    case 'rotated': {
      const key = controls.rotated.get(client.clientId);
      return es256({ ...header, kid: key.kid }, payload, key.privateKey);
    }
    default: return genuine;
  }
}

provider.use(async (ctx, next) => {
  if (ctx.path.startsWith('/test/')) {
    const clientId = ctx.query.client_id;
    if (ctx.method !== 'POST' || ctx.get('authorization') !== `Bearer ${registrationToken}` || typeof clientId !== 'string') {
      ctx.status = 403;
      return;
    }
    if (ctx.path === '/test/id-token' && typeof ctx.query.mode === 'string') {
      controls.modes.set(clientId, ctx.query.mode);
    } else if (ctx.path === '/test/rotate') {
      const kid = `rotated-${controls.published.length + 1}`;
      const { privateKey: rotatedKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      controls.rotated.set(clientId, { kid, privateKey: rotatedKey });
      controls.published.push({ ...publicKey.export({ format: 'jwk' }), kid, use: 'sig', alg: 'ES256' });
      controls.modes.set(clientId, 'rotated');
    } else {
      ctx.status = 404;
      return;
    }
    ctx.status = 204;
    return;
  }
  await next();
  if (ctx.method === 'POST' && ctx.path === '/token' && ctx.status === 200 && typeof ctx.body?.id_token === 'string') {
    const client = ctx.oidc.client;
    const genuine = ctx.body.id_token;
    ctx.body.id_token = misbehave(genuine, controls.modes.get(client.clientId), client);
    controls.previous.set(client.clientId, genuine);
  } else if (ctx.method === 'GET' && ctx.path === '/jwks' && ctx.status === 200 && controls.published.length > 0) {
    ctx.body = { keys: [...ctx.body.keys, ...controls.published] };
  }
});

provider.on('server_error', (ctx, error) => console.error('server_error', error));
provider.on('grant.error', (ctx, error) => console.log(`grant.error ${error.error}: ${error.error_description} (${error.error_detail ?? ""})`));
provider.on('authorization.error', (ctx, error) => console.log(`authorization.error ${error.error}: ${error.error_description} (${error.error_detail ?? ""})`));

const server = provider.listen(port, '127.0.0.1', () => console.log(`ready ${issuer}`));
server.on('error', (error) => { console.error(`listen failed: ${error.code ?? error.message}`); process.exit(3); });
