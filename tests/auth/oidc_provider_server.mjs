// An independent OAuth 2.0 authorization server for the interoperability test: oidc-provider
// (npm), configured for client credentials with RFC 9068 JWT access tokens.
//
// Usage: node oidc_provider_server.mjs '<json>' where the JSON names
//   {"audience": "...", "clients": [{"client_id": "...", "client_secret": "...", "scope": "..."}],
//    "scopes": ["..."], "other_audiences": ["..."]}
// It listens on a free loopback port and prints one JSON line, {"issuer": "http://127.0.0.1:N"},
// when it serves. The resource indicator (RFC 8707) names the audience of a token; resources
// in `other_audiences` are accepted too, so the test can obtain a token for another API.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';

import Provider from 'oidc-provider';

const config = JSON.parse(process.argv[2] ?? '{}');
const audiences = new Set([config.audience, ...(config.other_audiences ?? [])]);
const allScopes = config.scopes.join(' ');

// RS256: the gateway's own issuer signs ES256, so this also covers the other pinned algorithm.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'interop-rs256', alg: 'RS256', use: 'sig' };

const server = createServer();
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: config.clients.map((client) => ({
    client_id: client.client_id,
    client_secret: client.client_secret,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: client.scope ?? allScopes,
  })),
  scopes: config.scopes,
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => config.audience,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, resourceIndicator) => {
        if (!audiences.has(resourceIndicator)) {
          throw new Provider.errors.InvalidTarget();
        }
        return {
          scope: allScopes,
          audience: resourceIndicator,
          accessTokenFormat: 'jwt',
          accessTokenTTL: 300,
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
});
provider.on('server_error', (ctx, error) => console.error('server_error', error));
server.on('request', provider.callback());

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
console.log(JSON.stringify({ issuer }));
