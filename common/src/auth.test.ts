import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import { after, describe, it } from 'node:test';
import type { JSONWebKeySet, JWK } from 'jose';
import { TokenService } from './auth.ts';
import { InternalIdentity } from './identity.ts';

const key = (kid: string): JWK => ({
  ...(generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' }) as JWK),
  kid,
});
const viewer = { id: '42', username: 'ann', sessionId: '7' };
const code = (error: unknown) => (error as { extensions?: Record<string, unknown> }).extensions;

describe('access tokens: EdDSA with kid, JWKS, rotation', () => {
  const servers: ReturnType<typeof createServer>[] = [];
  after(() => servers.forEach((server) => server.close()));

  /** Serves whatever `jwks()` returns at /jwks, over real HTTP. */
  const serve = async (jwks: () => JSONWebKeySet): Promise<{ url: string; fetches: () => number }> => {
    let fetches = 0;
    const server = createServer((_request, response) => {
      fetches += 1;
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks()));
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address() as { port: number };
    return { url: `http://127.0.0.1:${address.port}/jwks`, fetches: () => fetches };
  };

  it('signs with the chosen key, names it in the header, and verifies with the public half only', async () => {
    const [k1, k2] = [key('k1'), key('k2')];
    const issuer = await TokenService.create({ signingKeys: { keys: [k1, k2] }, signingKeyId: 'k1' });
    const { token, expiresAt } = await issuer.issueAccessToken(viewer);
    const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString());
    assert.deepEqual(header, { alg: 'EdDSA', typ: 'JWT', kid: 'k1' });
    assert.ok(Math.abs(expiresAt.getTime() - (Date.now() + 900_000)) < 2_000);
    assert.deepEqual((await issuer.verifyAccessToken(token)).viewer, viewer);
    for (const published of issuer.publicJwks().keys) assert.equal(published.d, undefined);
    assert.deepEqual(
      issuer.publicJwks().keys.map((k) => k.kid),
      ['k1', 'k2'],
    );
    // Without signingKeyId the last key signs: add a key at the end to rotate.
    const rotated = await TokenService.create({ signingKeys: { keys: [k1, k2] } });
    const next = await rotated.issueAccessToken(viewer);
    assert.equal(JSON.parse(Buffer.from(next.token.split('.')[0]!, 'base64url').toString()).kid, 'k2');
    assert.deepEqual(
      (await issuer.verifyAccessToken(next.token)).viewer,
      viewer,
      'both keys verify while both are published',
    );
  });

  it('verifies through a JWKS URL, fetching again for a kid it has not seen (key rotation)', async () => {
    const [k1, k2] = [key('old'), key('new')];
    let published: JWK[] = [k1];
    const issuerOld = await TokenService.create({ signingKeys: { keys: [k1] } });
    const jwks = await serve(() => ({ keys: published.map(({ d: _d, ...pub }) => pub) }));
    const gateway = await TokenService.create({ jwksUrl: jwks.url, jwksCooldownMs: 0 });
    assert.equal(gateway.publicJwks().keys.length, 0);
    await assert.rejects(gateway.issueAccessToken(viewer), /no access-token signing key/);

    const old = await issuerOld.issueAccessToken(viewer);
    assert.deepEqual((await gateway.verifyAccessToken(old.token)).viewer, viewer);
    assert.equal(jwks.fetches(), 1);
    assert.deepEqual((await gateway.verifyAccessToken(old.token)).viewer, viewer);
    assert.equal(jwks.fetches(), 1, 'the key set is cached');

    // The issuer rotates: publishes both, signs with the new one.
    published = [k1, k2];
    const issuerNew = await TokenService.create({ signingKeys: { keys: [k1, k2] } });
    const fresh = await issuerNew.issueAccessToken(viewer);
    assert.deepEqual((await gateway.verifyAccessToken(fresh.token)).viewer, viewer);
    assert.equal(jwks.fetches(), 2, 'an unknown kid made it fetch again');
    assert.deepEqual(
      (await gateway.verifyAccessToken(old.token)).viewer,
      viewer,
      'old tokens keep working while their key is published',
    );

    // The old key is withdrawn: its tokens stop verifying once the set is fetched again.
    published = [k2];
    const stranger = await (
      await TokenService.create({ signingKeys: { keys: [key('other')] } })
    ).issueAccessToken(viewer);
    await assert.rejects(gateway.verifyAccessToken(stranger.token), (error) => code(error)?.reason === 'TOKEN_INVALID');
    await assert.rejects(gateway.verifyAccessToken(old.token), (error) => code(error)?.reason === 'TOKEN_INVALID');
  });

  it('answers UNAVAILABLE, not UNAUTHENTICATED, when the JWKS cannot be fetched', async () => {
    const issuer = await TokenService.create({ signingKeys: { keys: [key('k')] } });
    const { token } = await issuer.issueAccessToken(viewer);
    const gateway = await TokenService.create({ jwksUrl: 'http://127.0.0.1:9/jwks' });
    await assert.rejects(gateway.verifyAccessToken(token), (error) => code(error)?.code === 'UNAVAILABLE');
  });

  it('refuses expired, tampered, unsigned and wrong-algorithm tokens with a reason', async () => {
    const issuer = await TokenService.create({ signingKeys: { keys: [key('k')] }, accessTokenTtlSeconds: 10 });
    const { token } = await issuer.issueAccessToken(viewer);
    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const tampered = `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: '1' })).toString('base64url')}.${signature}`;
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', kid: 'k' })).toString('base64url')}.${payload}.`;
    const hs256 = `${Buffer.from(JSON.stringify({ alg: 'HS256', kid: 'k' })).toString('base64url')}.${payload}.${signature}`;
    for (const bad of [tampered, unsigned, hs256, 'a.b.c', '']) {
      await assert.rejects(
        issuer.verifyAccessToken(bad),
        (error) => code(error)?.reason === 'TOKEN_INVALID',
        bad.slice(0, 30),
      );
    }
    const expired = await TokenService.create({ signingKeys: { keys: [key('e')] }, accessTokenTtlSeconds: 10 });
    const past = Date.now;
    Date.now = () => past() - 60_000;
    const old = await expired.issueAccessToken(viewer).finally(() => (Date.now = past));
    await assert.rejects(expired.verifyAccessToken(old.token), (error) => code(error)?.reason === 'TOKEN_EXPIRED');
  });

  it('remembers a verified token no longer than it is valid', async () => {
    const issuer = await TokenService.create({ signingKeys: { keys: [key('m')] }, accessTokenTtlSeconds: 1 });
    const { token, expiresAt } = await issuer.issueAccessToken(viewer);
    assert.deepEqual((await issuer.verifyAccessToken(token)).viewer, viewer);
    assert.deepEqual((await issuer.verifyAccessToken(token)).viewer, viewer, 'the second time, as remembered');
    await new Promise((resolve) => setTimeout(resolve, expiresAt.getTime() - Date.now() + 1_100));
    await assert.rejects(issuer.verifyAccessToken(token), (error) => code(error)?.reason === 'TOKEN_EXPIRED');
  });

  it('signs internal identities per audience, and refuses them elsewhere or forged', async () => {
    const secret = new TextEncoder().encode('internal-secret-0123456789-0123456789');
    const identity = new InternalIdentity(secret);
    const token = await identity.sign(viewer, 'chats');
    assert.deepEqual(await identity.verify(token, 'chats'), viewer);
    assert.equal(await identity.verify(await identity.sign(null, 'chats'), 'chats'), null);
    await assert.rejects(identity.verify(token, 'users'), (error) => code(error)?.reason === 'INTERNAL_IDENTITY');
    await assert.rejects(identity.verify(undefined, 'chats'), (error) => code(error)?.reason === 'INTERNAL_IDENTITY');
    const forger = new InternalIdentity(new TextEncoder().encode('another-secret-0123456789-0123456789'));
    await assert.rejects(
      identity.verify(await forger.sign(viewer, 'chats'), 'chats'),
      (error) => code(error)?.reason === 'INTERNAL_IDENTITY',
    );
  });
});
