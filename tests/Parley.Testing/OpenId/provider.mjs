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
import { generateKeyPairSync, randomBytes } from 'node:crypto';
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
  alice: { name: 'Alice Liddell' },
  bob: { name: 'Bob Marley' },
  nameless: { preferred_username: 'nameless-nick' },
  mallory: { name: '\u202Egnp.exe\u0007  Mallory\n\t the   Evil ' + 'x'.repeat(200) },
};

const provider = new Provider(issuer, {
  jwks: { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'parley-test', use: 'sig', alg: 'ES256' }] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  pkce: { required: () => true },
  claims: { openid: ['sub'], profile: ['name', 'preferred_username'] },
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
    grant.addOIDCScope('openid profile');
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

provider.on('server_error', (ctx, error) => console.error('server_error', error));
provider.on('grant.error', (ctx, error) => console.log(`grant.error ${error.error}: ${error.error_description} (${error.error_detail ?? ""})`));
provider.on('authorization.error', (ctx, error) => console.log(`authorization.error ${error.error}: ${error.error_description} (${error.error_detail ?? ""})`));

const server = provider.listen(port, '127.0.0.1', () => console.log(`ready ${issuer}`));
server.on('error', (error) => { console.error(`listen failed: ${error.code ?? error.message}`); process.exit(3); });
