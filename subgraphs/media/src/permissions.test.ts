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
import { allow, buildFederatedSchema, createMemoryRuntime, executeSubgraph, loadConfig, openTestSession, permissionGaps, subscribeSubgraph, viewerOf, type Runtime, type Viewer } from '@chat/common';
import type { ExecutionResult } from 'graphql';
import { createMediaSubgraph, MEDIA_MODELS, typeDefs, type MediaSubgraph } from './index.ts';
import { permissions } from './permissions.ts';
import { resolvers } from './resolvers/index.ts';

const codeOf = (result: ExecutionResult) => result.errors?.[0]?.extensions.code;
const CREATE = 'mutation ($input: CreateUploadInput!) { createUpload(input: $input) { mediaId uploadUrl } }';

describe('media permissions', () => {
  let runtime: Runtime;
  let subgraph: MediaSubgraph;
  let dir: string;
  const viewers: Record<'ann' | 'eve', Viewer | null> = { ann: null, eve: null };
  const ids = { ann: '501', eve: '502' } as const;

  const run = (query: string, variables: Record<string, unknown> = {}, as: keyof typeof viewers | null = null) =>
    executeSubgraph(subgraph, { query, variables, viewer: as ? viewers[as] : null });

  before(async () => {
    runtime = await createMemoryRuntime();
    dir = mkdtempSync(join(tmpdir(), 'media-permissions-'));
    const config = loadConfig(MEDIA_MODELS, { MEDIA_DIR: dir });
    subgraph = createMediaSubgraph(runtime, { ...config, processing: { sweepMs: 3_600_000 } });
    for (const [username, id] of Object.entries(ids) as [keyof typeof ids, string][]) {
      await runtime.db.prisma.user.create({ data: { id: BigInt(id), username, displayName: username, passwordHash: 'x' } });
      viewers[username] = await viewerOf(runtime, await openTestSession(runtime, { id, username }));
    }
  });
  after(async () => {
    await subgraph.close();
    await runtime.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('names a rule for every field of every object type, and none for a field that does not exist', () => {
    assert.deepEqual(permissionGaps(buildFederatedSchema(typeDefs, resolvers), permissions), { withoutRule: [], withoutField: [] });
  });

  it('allows no root field to anonymous callers but the SDL', () => {
    const allowed = ['Query', 'Mutation', 'Subscription'].flatMap((root) =>
      Object.entries(permissions[root] ?? {}).flatMap(([field, rule]) => (rule === allow ? [`${root}.${field}`] : [])),
    );
    assert.deepEqual(allowed, ['Query._service']);
  });

  it('refuses an anonymous caller with UNAUTHENTICATED, the subscription when it opens', async () => {
    const input = { fileName: 'a.png', contentType: 'image/png', size: 10, purpose: 'MESSAGE_ATTACHMENT' };
    assert.equal(codeOf(await run(CREATE, { input })), 'UNAUTHENTICATED');
    assert.equal(codeOf(await run('mutation { completeUpload(mediaId: "1") { id } }')), 'UNAUTHENTICATED');
    assert.equal(codeOf(await run('{ media(id: "1") { id } }')), 'UNAUTHENTICATED');
    const entities = await run('query ($r: [_Any!]!) { _entities(representations: $r) { ... on Media { url } } }', { r: [{ __typename: 'Media', id: '1' }] });
    assert.deepEqual([codeOf(entities), entities.data], ['UNAUTHENTICATED', null]);
    const stream = await subscribeSubgraph(subgraph, { query: 'subscription { mediaStatusChanged { id } }', viewer: null });
    assert.ok(!(Symbol.asyncIterator in stream));
    assert.equal(codeOf(stream), 'UNAUTHENTICATED');
  });

  it("passes the service's refusals through: limits, and someone else's upload is NOT_FOUND", async () => {
    const tooBig = await run(CREATE, { input: { fileName: 'a.png', contentType: 'image/png', size: 500 * 1024 * 1024, purpose: 'MESSAGE_ATTACHMENT' } }, 'ann');
    assert.equal(codeOf(tooBig), 'BAD_USER_INPUT');
    assert.equal(tooBig.errors?.[0]?.extensions.reason, 'TOO_LARGE');
    const exe = await run(CREATE, { input: { fileName: 'setup.exe', contentType: 'application/x-msdownload', size: 100, purpose: 'MESSAGE_ATTACHMENT' } }, 'ann');
    assert.equal(exe.errors?.[0]?.extensions.reason, 'UNSUPPORTED_TYPE');
    const created = await run(CREATE, { input: { fileName: '../../etc/a.png', contentType: 'image/png', size: 100, purpose: 'MESSAGE_ATTACHMENT' } }, 'ann');
    assert.equal(created.errors, undefined, JSON.stringify(created.errors));
    const mediaId = (created.data as { createUpload: { mediaId: string } }).createUpload.mediaId;
    const own = await run('query ($id: ID!) { media(id: $id) { fileName status } }', { id: mediaId }, 'ann');
    assert.deepEqual(JSON.parse(JSON.stringify(own.data)), { media: { fileName: 'a.png', status: 'PENDING' } }, 'only the last path segment is kept');
    assert.equal(codeOf(await run('query ($id: ID!) { media(id: $id) { id } }', { id: mediaId }, 'eve')), 'NOT_FOUND');
    assert.equal(codeOf(await run('mutation ($id: ID!) { completeUpload(mediaId: $id) { id } }', { id: mediaId }, 'eve')), 'NOT_FOUND');
    assert.equal((await run('mutation ($id: ID!) { completeUpload(mediaId: $id) { id } }', { id: mediaId }, 'ann')).errors?.[0]?.extensions.reason, 'NOT_UPLOADED');
  });
});
