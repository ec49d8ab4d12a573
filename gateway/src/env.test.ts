import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, generateSecrets } from '@chat/common/config';
import { loadGatewayConfig } from './env.ts';

describe('the gateway configuration', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'chat-gateway-env-'));
  after(() => rmSync(dataDir, { recursive: true, force: true }));
  const base = { DATA_DIR: dataDir, ...generateSecrets() };

  it('reads the models of every subgraph it mounts, and of none it reaches by URL', () => {
    const embedded = loadGatewayConfig({ ...base, MEDIA_URL_TTL_SECONDS: '60' });
    assert.deepEqual(embedded.hosting.mounted, ['users', 'chats', 'messages', 'presence', 'media']);
    assert.equal(embedded.media?.downloadTtlSeconds, 60);
    assert.equal(embedded.presence?.sweepMs, 5_000);
    assert.throws(
      () => loadGatewayConfig({ ...base, CLAMD_ADDRESS: 'no port' }),
      (error: unknown) => error instanceof ConfigError && /CLAMD_ADDRESS/.test(error.message),
    );
    const remote = loadGatewayConfig({
      ...base,
      SUBGRAPH_MEDIA_URL: 'http://media:4005/graphql',
      CLAMD_ADDRESS: 'no port',
    });
    assert.deepEqual(remote.hosting.mounted, ['users', 'chats', 'messages', 'presence']);
    assert.equal(remote.media, undefined);
    assert.equal(remote.hosting.urls.media, 'http://media:4005/graphql');
  });

  it('holds neither signing keys nor pepper when the users subgraph runs elsewhere', () => {
    const config = loadGatewayConfig({ ...base, SUBGRAPH_USERS_URL: 'http://users:4001/graphql' });
    assert.equal(config.hosting.urls.users, 'http://users:4001/graphql');
    assert.equal(config.secrets.passwordPepper, undefined);
    assert.equal(config.secrets.jwtPrivateKeys, undefined);
  });
});
