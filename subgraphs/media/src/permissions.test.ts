/**
 * Permissions of the media subgraph: a rule for every field, a logged-in
 * viewer for every root field (the subscription refused when it opens), and
 * MediaService's own refusals (NOT_FOUND for someone else's media, the
 * declared-limits refusal) passed through unchanged.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '@chat/common';
import {
  codeOf,
  createSubgraphTestkit,
  describePermissionCoverage,
  type SubgraphTestkit,
  type TestUser,
} from '@chat/common/testing';
import { createMediaSubgraph, MEDIA_MODELS, typeDefs, type MediaSubgraph } from './index.ts';
import { permissions } from './permissions.ts';
import { resolvers } from './resolvers/index.ts';

const CREATE = 'mutation ($input: CreateUploadInput!) { createUpload(input: $input) { mediaId uploadUrl } }';

describe('media permissions', () => {
  let kit: SubgraphTestkit<MediaSubgraph>;
  let dir: string;
  let users: Record<'ann' | 'eve', TestUser>;
  const ids = { ann: '501', eve: '502' } as const;

  const run = (query: string, variables: Record<string, unknown> = {}, as: keyof typeof users | null = null) =>
    kit.run(query, variables, as && users[as]);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'media-permissions-'));
    const config = loadConfig(MEDIA_MODELS, { MEDIA_DIR: dir });
    kit = await createSubgraphTestkit((runtime) =>
      createMediaSubgraph(runtime, { ...config, processing: { sweepMs: 3_600_000 } }),
    );
    users = await kit.seed.users(ids);
  });
  after(async () => {
    await kit.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describePermissionCoverage({ typeDefs, resolvers, permissions, anonymous: ['Query._service'] });

  it('refuses an anonymous caller with UNAUTHENTICATED, the subscription when it opens', async () => {
    const input = { fileName: 'a.png', contentType: 'image/png', size: 10, purpose: 'MESSAGE_ATTACHMENT' };
    assert.equal(codeOf(await run(CREATE, { input })), 'UNAUTHENTICATED');
    assert.equal(codeOf(await run('mutation { completeUpload(mediaId: "1") { id } }')), 'UNAUTHENTICATED');
    assert.equal(codeOf(await run('{ media(id: "1") { id } }')), 'UNAUTHENTICATED');
    const entities = await run('query ($r: [_Any!]!) { _entities(representations: $r) { ... on Media { url } } }', {
      r: [{ __typename: 'Media', id: '1' }],
    });
    assert.deepEqual([codeOf(entities), entities.data], ['UNAUTHENTICATED', null]);
    const stream = await kit.subscribe('subscription { mediaStatusChanged { id } }');
    assert.ok(!(Symbol.asyncIterator in stream));
    assert.equal(codeOf(stream), 'UNAUTHENTICATED');
  });

  it("passes the service's refusals through: limits, and someone else's upload is NOT_FOUND", async () => {
    const tooBig = await run(
      CREATE,
      {
        input: { fileName: 'a.png', contentType: 'image/png', size: 500 * 1024 * 1024, purpose: 'MESSAGE_ATTACHMENT' },
      },
      'ann',
    );
    assert.equal(codeOf(tooBig), 'BAD_USER_INPUT');
    assert.equal(tooBig.errors?.[0]?.extensions.reason, 'TOO_LARGE');
    const exe = await run(
      CREATE,
      {
        input: {
          fileName: 'setup.exe',
          contentType: 'application/x-msdownload',
          size: 100,
          purpose: 'MESSAGE_ATTACHMENT',
        },
      },
      'ann',
    );
    assert.equal(exe.errors?.[0]?.extensions.reason, 'UNSUPPORTED_TYPE');
    const created = await run(
      CREATE,
      { input: { fileName: '../../etc/a.png', contentType: 'image/png', size: 100, purpose: 'MESSAGE_ATTACHMENT' } },
      'ann',
    );
    assert.equal(created.errors, undefined, JSON.stringify(created.errors));
    const mediaId = (created.data as { createUpload: { mediaId: string } }).createUpload.mediaId;
    const own = await run('query ($id: ID!) { media(id: $id) { fileName status } }', { id: mediaId }, 'ann');
    assert.deepEqual(
      JSON.parse(JSON.stringify(own.data)),
      { media: { fileName: 'a.png', status: 'PENDING' } },
      'only the last path segment is kept',
    );
    assert.equal(codeOf(await run('query ($id: ID!) { media(id: $id) { id } }', { id: mediaId }, 'eve')), 'NOT_FOUND');
    assert.equal(
      codeOf(await run('mutation ($id: ID!) { completeUpload(mediaId: $id) { id } }', { id: mediaId }, 'eve')),
      'NOT_FOUND',
    );
    assert.equal(
      (await run('mutation ($id: ID!) { completeUpload(mediaId: $id) { id } }', { id: mediaId }, 'ann')).errors?.[0]
        ?.extensions.reason,
      'NOT_UPLOADED',
    );
  });
});
